//! Route-level views.

pub mod chat;
