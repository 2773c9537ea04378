//! Helpers for `#[server]` function bodies: the state and request they run in (from Leptos's
//! context), who is signed in, cookies, form redirects, and the HTTP status of an error.

use std::future::Future;

use crate::error::AppError;
use crate::protocol::Account;
use crate::server::state::AppState;

/// The state inside a server function (provided as context by `router`).
pub(crate) fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::internal("server function", &"AppState missing from context"))
}

/// The signed-in account and its session hash, from the cookie (or bearer token) of the request a
/// server function is answering.
pub(crate) async fn current_session(state: &AppState) -> Result<Option<(Account, Vec<u8>)>, AppError> {
    let Some(parts) = leptos::prelude::use_context::<axum::http::request::Parts>() else { return Ok(None) };
    let Some(token) = crate::server::identity::token_from_headers(&parts.headers) else { return Ok(None) };
    let session = state.secret.token_hash(&token);
    let account = state.store.session_account(session.clone()).await?;
    Ok(account.map(|account| (account, session)))
}

/// The state and the signed-in account, if any, for a server function that visitors may call too.
pub(crate) async fn visitor_or_signed_in() -> Result<(AppState, Option<Account>), AppError> {
    let state = app_state()?;
    let viewer = current_session(&state).await?.map(|(account, _)| account);
    Ok((state, viewer))
}

/// The reader's time zone as the page's first script reports it (the `tz` cookie, minutes east of
/// UTC), so the server draws day separators where the reader's browser will; UTC when unknown.
pub(crate) fn reader_zone_minutes() -> i32 {
    const WIDEST: i32 = 14 * 60;
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| crate::server::identity::cookie(&parts.headers, crate::text::time_format::ZONE_COOKIE))
        .and_then(|value| value.parse::<i32>().ok())
        .map_or(0, |minutes| minutes.clamp(-WIDEST, WIDEST))
}

/// The address the current request came from: the client a trusted proxy names, or the peer
/// (`http::forwarded`, the same rule as for sockets and uploads).
pub(crate) fn client_address(state: &AppState) -> Option<std::net::IpAddr> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    crate::server::http::forwarded::of_request(&parts, &state.settings.trusted_proxies)
}

/// Whether the current request came over https (for the cookie's Secure flag).
pub(crate) fn request_is_https(state: &AppState) -> bool {
    leptos::prelude::use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        let peer = crate::server::http::forwarded::peer(&parts);
        crate::server::identity::is_https(&parts.headers, peer, &state.settings.trusted_proxies)
    })
}

/// Gives the browser the cookie of a session just stored.
pub(crate) fn give_session(state: &AppState, session: &crate::server::accounts::NewSession) {
    set_cookie(session.cookie(request_is_https(state)));
}

/// The state and the signed-in account for a server function that needs one (401 otherwise).
pub(crate) async fn signed_in() -> Result<(AppState, Account), AppError> {
    let state = app_state()?;
    let (account, _) = current_session(&state).await?.ok_or_else(sign_in_first)?;
    Ok((state, account))
}

pub(crate) fn sign_in_first() -> AppError {
    AppError::refused(crate::protocol::ErrorCode::Unauthenticated, "Sign in first.")
}

/// After a server function succeeds, a plain HTML form post (before the page has hydrated, or
/// without JavaScript) goes on to `path`; the hydrated page navigates by itself.
pub(crate) fn redirect_forms_to(path: &str) {
    let is_form = leptos::prelude::use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    });
    if is_form {
        leptos_axum::redirect(path);
    }
}

/// Adds a Set-Cookie header to a server function's response.
pub(crate) fn set_cookie(value: axum::http::HeaderValue) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(axum::http::header::SET_COOKIE, value);
    }
}

/// Runs a server function body and gives its error the right HTTP status (400 for a refusal,
/// 500 for a failure) instead of the framework's blanket 500, counting it among the errors sent.
pub(crate) async fn respond<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let result = body.await;
    if let Err(error) = &result {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(error.status());
        }
        if let Some(state) = leptos::prelude::use_context::<AppState>() {
            state.metrics.error_sent(error.code());
        }
    }
    result
}
