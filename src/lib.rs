//! Natter: self-hosted real-time group chat. One crate, two builds: `ssr` (the axum server, SQLite,
//! server-side rendering) and `hydrate` (the same components compiled to WASM for the browser).
// Leptos views are nested types; the chat page is deep enough to need more than the default 128.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod autocomplete;
pub mod chat;
pub mod components;
pub mod dom;
pub mod error;
pub mod format;
pub mod outbox;
pub mod pages;
pub mod protocol;
pub mod time_format;
pub mod timeline;
pub mod typing;
pub mod url_encoding;

#[cfg(feature = "ssr")]
pub mod assets;
#[cfg(feature = "ssr")]
pub mod bot_api;
#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "hydrate")]
mod client;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod files;
#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod identity;
#[cfg(feature = "ssr")]
pub mod load;
#[cfg(feature = "ssr")]
pub mod messages;
#[cfg(feature = "ssr")]
pub mod rooms;
#[cfg(feature = "ssr")]
pub mod search;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod socket;
#[cfg(feature = "ssr")]
pub mod throttle;
#[cfg(feature = "ssr")]
pub mod uploads;
#[cfg(feature = "ssr")]
pub mod ws;

/// The browser entry point: attach the WASM components to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
