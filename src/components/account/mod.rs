//! Who the reader is: nickname, password, signing in and out, desktop notifications, and the user
//! menu that holds them.
//!
//! The page never sees a session token (the cookie is `HttpOnly`): it learns the account only from
//! the server's answers (the page data, `join_chat`, `sign_in`, the socket's `welcome`), and the
//! socket starts once `ChatState::me` holds one.

pub mod nickname;
pub mod notifications;
pub mod password;
pub mod sign_in;
pub mod sign_out;
pub mod user_menu;
