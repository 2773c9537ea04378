//! Pieces every area uses: avatars, menus, dialogs, confirmations, panels, times, shortcuts and the
//! connection status.
//!
//! Each works without JavaScript first (menus are `<details>`, dialogs and panels open by a link
//! to their fragment and the stylesheet's `:target`) and, once hydrated, adds what only script can
//! do: moving focus in and giving it back, keeping Tab inside, closing on Escape.

pub mod avatar;
pub mod confirm;
pub mod connection_status;
pub mod keyboard;
pub mod local_time;
pub mod menu;
pub mod modal;
pub mod panels;
