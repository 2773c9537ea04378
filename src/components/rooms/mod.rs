//! Finding and choosing rooms: the sidebar, the create-room form and search.

pub mod new_room;
pub mod search_box;
pub mod sidebar;
