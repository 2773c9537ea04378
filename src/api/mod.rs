//! Server functions: the request/response side of Natter, by area. Thin by design: each finds the
//! caller's state and account, calls a service and hands back its answer; live traffic goes over
//! `/ws` instead. Their bodies run only on the server (the services are imported under
//! `cfg(feature = "ssr")`); the browser build keeps just their signatures, and calls them by these
//! paths.

mod accounts;
mod messages;
mod rooms;

pub use accounts::{ban_user, get_me, join_and_send, join_chat, set_password, sign_in, sign_out};
pub use messages::{delete_message, edit_message, get_history, react, search};
pub use rooms::{
    archive_room, create_room, get_members, get_online, get_public_rooms, get_room_page, invite, join_room, leave_room,
    set_notify, start_direct,
};
