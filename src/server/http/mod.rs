//! The plain-HTTP edges of the server beside pages and server functions: error responses, who is
//! signed in, security headers and same-site checks, static assets with their cache policy, the
//! websocket handshake, the bot API, uploads and exports, the client's address behind proxies, and
//! the metrics endpoint.

pub mod assets;
pub mod auth;
pub mod bot_api;
pub mod error;
pub mod export;
pub mod forwarded;
pub mod guard;
pub mod scrape;
pub mod socket;
pub mod uploads;
