//! Finding and choosing rooms: the sidebar, the create-room form and search.
//!
//! Going to another room is always a page load (links with `rel="external"`, `dom::go_to`), never
//! a client-side route change: each page's state and socket start from the server's view of that
//! room, with its history in the first HTML.

pub mod new_room;
pub mod search_box;
pub mod sidebar;
