//! The one error type that crosses the wire from server functions. Internal failures are logged with
//! a log id on the server; the client sees only that id, never SQL, paths or library messages.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::protocol::{ErrorCode, Rejection};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request was refused; nothing changed.
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    /// The server failed; details are in its log under `log_id`.
    #[error("Something went wrong on the server (log id {log_id}). Please try again.")]
    Internal { log_id: String },
    /// The request never reached the function (network, encoding): reported by the framework.
    #[error("{0}")]
    Transport(String),
}

impl From<Rejection> for AppError {
    fn from(rejection: Rejection) -> Self {
        Self::Invalid { code: rejection.code, message: rejection.message }
    }
}

impl AppError {
    /// The error as a websocket rejection, for the same refusal on either path.
    pub fn into_rejection(self) -> Rejection {
        match self {
            Self::Invalid { code, message } => Rejection::new(code, message),
            other => Rejection::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(error: ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        mark_bad_arguments(&error);
        Self::Transport(error.to_string())
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Logs an internal failure and returns the error the client may see.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        let log_id = new_log_id();
        tracing::error!(%log_id, context, %error, "internal error");
        Self::Internal { log_id }
    }

    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::Invalid { code: ErrorCode::Unauthenticated | ErrorCode::SignInFailed, .. } => {
                StatusCode::UNAUTHORIZED
            }
            Self::Invalid { code: ErrorCode::RateLimited, .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Invalid { code: ErrorCode::FileTooLarge, .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Invalid { code: ErrorCode::UnsupportedFile, .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid { code: ErrorCode::Forbidden | ErrorCode::NotAMember, .. } => StatusCode::FORBIDDEN,
            Self::Invalid {
                code: ErrorCode::NoSuchRoom | ErrorCode::NoSuchUser | ErrorCode::NoSuchMessage, ..
            } => StatusCode::NOT_FOUND,
            Self::Invalid {
                code: ErrorCode::RoomArchived | ErrorCode::RoomNameTaken | ErrorCode::TooManyReactions,
                ..
            } => StatusCode::CONFLICT,
            Self::Invalid { .. } | Self::Transport(_) => StatusCode::BAD_REQUEST,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Arguments that do not decode are the client's mistake: answer 400, not the framework's 500.
#[cfg(feature = "ssr")]
fn mark_bad_arguments(error: &ServerFnErrorErr) {
    use ServerFnErrorErr::{Args, Deserialization, MissingArg};
    if matches!(error, Args(_) | MissingArg(_) | Deserialization(_)) {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::BAD_REQUEST);
        }
    }
}

/// Short, unique enough to find one line in a day's log.
#[cfg(feature = "ssr")]
fn new_log_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{:08x}{:04x}", nanos, COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_show_only_a_log_id() {
        let error = AppError::internal("test", &"disk I/O error at /var/lib/natter/natter.db");
        let shown = error.to_string();
        assert!(shown.contains("log id"));
        assert!(!shown.contains("/var/lib"), "{shown}");
        let wire = serde_json::to_string(&error).unwrap();
        assert!(!wire.contains("disk"), "{wire}");
    }
}
