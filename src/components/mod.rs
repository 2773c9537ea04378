//! The page's components, grouped by area; one component (with its small helpers) a file.

pub mod account;
pub mod common;
pub mod conversation;
pub mod rooms;
