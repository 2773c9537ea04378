//! Pieces every area uses: avatars, menus, dialogs, confirmations, panels, times, shortcuts and the
//! connection status.

pub mod avatar;
pub mod confirm;
pub mod connection_status;
pub mod keyboard;
pub mod local_time;
pub mod menu;
pub mod modal;
pub mod panels;
