//! Helpers for `#[server]` function bodies: the state and request they run in (from Leptos's
//! context), who is signed in, cookies, form redirects, and the HTTP status of an error.

use std::future::Future;
use std::net::SocketAddr;

use axum::http::StatusCode;

use crate::server::state::AppState;

/// The state inside a server function (provided as context by `router`).
pub fn app_state() -> Result<AppState, crate::error::AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| crate::error::AppError::internal("server function", &"AppState missing from context"))
}

/// The signed-in account and its session hash, from the cookie (or bearer token) of the request a
/// server function is answering.
pub async fn current_session(
    state: &AppState,
) -> Result<Option<(crate::protocol::Account, Vec<u8>)>, crate::error::AppError> {
    let Some(parts) = leptos::prelude::use_context::<axum::http::request::Parts>() else { return Ok(None) };
    let Some(token) = crate::server::identity::token_from_headers(&parts.headers) else { return Ok(None) };
    let session = state.secret.token_hash(&token);
    let account = state
        .store
        .session_account(session.clone())
        .await
        .map_err(|error| crate::error::AppError::internal("session", &error))?;
    Ok(account.map(|account| (account, session)))
}

/// The state and the signed-in account, if any, for a server function that visitors may call too.
pub async fn visitor_or_signed_in() -> Result<(AppState, Option<crate::protocol::Account>), crate::error::AppError> {
    let state = app_state()?;
    let viewer = current_session(&state).await?.map(|(account, _)| account);
    Ok((state, viewer))
}

/// The reader's time zone as the page's first script reports it (the `tz` cookie, minutes east of
/// UTC), so the server draws day separators where the reader's browser will; UTC when unknown.
pub fn reader_zone_minutes() -> i32 {
    const WIDEST: i32 = 14 * 60;
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| crate::server::identity::cookie(&parts.headers, crate::text::time_format::ZONE_COOKIE))
        .and_then(|value| value.parse::<i32>().ok())
        .map_or(0, |minutes| minutes.clamp(-WIDEST, WIDEST))
}

/// The address the current request came from (the proxy's, behind a reverse proxy).
pub fn client_address() -> Option<std::net::IpAddr> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

/// Who is making a request to `/ws` or the bot API: a same-site browser with a session cookie, or a
/// program with a bearer token. Refusals are ready responses: 403 for a foreign Origin, 401 for a
/// missing, unknown, expired or banned credential.
pub async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<(crate::protocol::Account, Vec<u8>), axum::response::Response> {
    use crate::server::http::bot_api::json_refusal;
    if !crate::server::identity::same_origin(headers) {
        return Err(json_refusal(StatusCode::FORBIDDEN, "requests from other sites are refused"));
    }
    let Some(token) = crate::server::identity::token_from_headers(headers) else {
        return Err(json_refusal(StatusCode::UNAUTHORIZED, "sign in first: no session cookie or bearer token"));
    };
    let session = state.secret.token_hash(&token);
    match state.store.session_account(session.clone()).await {
        Ok(Some(account)) => Ok((account, session)),
        Ok(None) => Err(json_refusal(StatusCode::UNAUTHORIZED, "the session or token is not valid")),
        Err(error) => {
            let failure = crate::error::AppError::internal("sign-in", &error);
            Err(json_refusal(StatusCode::INTERNAL_SERVER_ERROR, &failure.to_string()))
        }
    }
}

/// Whether the current request came over https (for the cookie's Secure flag).
pub fn request_is_https() -> bool {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .is_some_and(|parts| crate::server::identity::is_https(&parts.headers))
}

/// A session about to be stored: the token goes to the browser, its hash to the database.
pub struct NewSession {
    token: String,
    pub hash: Vec<u8>,
    pub expires_at: i64,
}

impl NewSession {
    pub fn issue(state: &AppState) -> Result<Self, crate::error::AppError> {
        use crate::server::identity;
        let token = identity::new_token().map_err(|error| crate::error::AppError::internal("new session", &error))?;
        let expires_at = crate::server::store::now_millis() + identity::SESSION_DAYS * 24 * 3600 * 1000;
        Ok(Self { hash: state.secret.token_hash(&token), token, expires_at })
    }

    /// Gives the browser its cookie; call once the session is stored.
    pub fn send_cookie(self) {
        set_cookie(crate::server::identity::session_cookie(&self.token, request_is_https()));
    }
}

/// The state and the signed-in account for a server function that needs one (401 otherwise).
pub async fn signed_in() -> Result<(AppState, crate::protocol::Account), crate::error::AppError> {
    let state = app_state()?;
    let (account, _) = current_session(&state).await?.ok_or_else(sign_in_first)?;
    Ok((state, account))
}

pub fn sign_in_first() -> crate::error::AppError {
    crate::protocol::Rejection::new(crate::protocol::ErrorCode::Unauthenticated, "Sign in first.").into()
}

/// After a server function succeeds, a plain HTML form post (before the page has hydrated, or
/// without JavaScript) goes on to `path`; the hydrated page navigates by itself.
pub fn redirect_forms_to(path: &str) {
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
pub fn set_cookie(value: axum::http::HeaderValue) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(axum::http::header::SET_COOKIE, value);
    }
}

/// Runs a server function body and gives its error the right HTTP status (400 for a refusal,
/// 500 for a failure) instead of the framework's blanket 500.
pub async fn respond<T>(
    body: impl Future<Output = Result<T, crate::error::AppError>>,
) -> Result<T, crate::error::AppError> {
    let result = body.await;
    if let Err(error) = &result {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(error.status());
        }
    }
    result
}
