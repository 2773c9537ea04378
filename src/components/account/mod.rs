//! Who the reader is: nickname, password, signing in and out, desktop notifications, and the user
//! menu that holds them.

pub mod nickname;
pub mod notifications;
pub mod password;
pub mod sign_in;
pub mod sign_out;
pub mod user_menu;
