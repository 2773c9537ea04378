//! Who is making a request to `/ws`, the bot API, uploads, files or exports: a same-site browser
//! with its session cookie, or a program with a bearer token. An extractor, so a handler that takes
//! [`Authenticated`] cannot run for anyone else.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::error::AppError;
use crate::protocol::{Account, ErrorCode};
use crate::server::{identity, AppState};

/// The signed-in account and the hash of the session (or token) it came with.
pub(crate) struct Authenticated {
    pub account: Account,
    pub session: Vec<u8>,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(state, &parts.headers).await
    }
}

/// 403 for a foreign Origin (a cookie alone must not let another site act as the user), 401 for a
/// missing, unknown, expired or banned credential.
pub(crate) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Authenticated, AppError> {
    if !identity::same_origin(headers) {
        return Err(AppError::refused(ErrorCode::Forbidden, "requests from other sites are refused"));
    }
    let Some(token) = identity::token_from_headers(headers) else {
        return Err(AppError::refused(ErrorCode::Unauthenticated, "sign in first: no session cookie or bearer token"));
    };
    let session = state.secret.token_hash(&token);
    match state.store.session_account(session.clone()).await? {
        Some(account) => Ok(Authenticated { account, session }),
        None => Err(AppError::refused(ErrorCode::Unauthenticated, "the session or token is not valid")),
    }
}
