//! One room's conversation: its header, the message list and each line (text, files, reactions,
//! edits, moderation), the members panel, and the dock below (typing, join bar, uploads, composer).

pub mod attachment;
pub mod composer;
pub mod join_bar;
pub mod message;
pub mod message_editor;
pub mod message_list;
pub mod moderation;
pub mod online_list;
pub mod reactions;
pub mod rich_text;
pub mod room_header;
pub mod typing_indicator;
pub mod upload_tray;
