//! One component per file.

pub mod attachment;
pub mod composer;
pub mod confirm;
pub mod connection_status;
pub mod keyboard;
pub mod local_time;
pub mod message;
pub mod message_editor;
pub mod message_list;
pub mod moderation;
pub mod new_room;
pub mod nickname;
pub mod notifications;
pub mod online_list;
pub mod password;
pub mod reactions;
pub mod rich_text;
pub mod room_header;
pub mod search_box;
pub mod sidebar;
pub mod sign_in;
pub mod sign_out;
pub mod typing_indicator;
pub mod upload_tray;
