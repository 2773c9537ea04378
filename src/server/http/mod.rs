//! The plain-HTTP edges of the server beside pages and server functions: error responses, who is
//! signed in, security headers and same-site checks, static assets with their cache policy, the
//! websocket handshake, the bot API, uploads and exports.

pub mod assets;
pub mod auth;
pub mod bot_api;
pub mod error;
pub mod export;
pub mod guard;
pub mod socket;
pub mod uploads;
