//! Route-level views.

pub mod chat;
pub mod search;
