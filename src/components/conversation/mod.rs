//! One room's conversation: its header, the message list and each line (text, files, reactions,
//! edits, moderation), the members panel, and the dock below (typing, join bar, uploads, composer).
//!
//! The list follows the timeline; a line does not. Each line is drawn once from its `Line`, and
//! the list's key for it holds everything drawn, so any change to a message (stored, edited,
//! reacted to, renamed) draws that line afresh. Changes go to the server (a socket frame or a
//! server function) and come back as frames for every screen alike: nothing here edits a line in
//! place ahead of the server, except a pending message's own line.

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
