//! Route-level views.

pub mod chat;
pub mod search;

use crate::error::AppError;

/// A refused request (a room that does not exist, a bad search) answers with its HTTP status
/// rather than 200, so the server-rendered page says to crawlers and scripts what it says to
/// people. The status belongs to the server's response; the browser renders no response.
#[cfg(feature = "ssr")]
fn answer_with_status(error: &AppError) {
    if let (Some(response), AppError::Invalid { .. }) =
        (leptos::prelude::use_context::<leptos_axum::ResponseOptions>(), error)
    {
        response.set_status(error.status());
    }
}

#[cfg(not(feature = "ssr"))]
fn answer_with_status(_error: &AppError) {}

/// An address no route knows answers 404, for the same reason.
#[cfg(feature = "ssr")]
pub(crate) fn answer_not_found() {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}

#[cfg(not(feature = "ssr"))]
pub(crate) fn answer_not_found() {}
