//! Natter: self-hosted real-time group chat. One crate, two builds: `ssr` (the axum server, SQLite,
//! server-side rendering) and `hydrate` (the same components compiled to WASM for the browser).
// Leptos views are nested types; the chat page is deep enough to need more than the default 128.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod dom;
pub mod error;
pub mod pages;
pub mod protocol;
pub mod state;
pub mod text;

#[cfg(feature = "hydrate")]
mod client;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry point: attach the WASM components to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
