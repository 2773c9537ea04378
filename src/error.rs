//! The one error type that crosses the wire from server functions. Internal failures are logged with
//! a log id on the server; the client sees only that id, never SQL, paths or library messages. How
//! the server logs, maps and answers it is in `server::http::error`, beside the rest of the server.

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

/// The socket speaks `Rejection`s: the same refusal, or a failure's log id, in an error frame.
impl From<AppError> for Rejection {
    fn from(error: AppError) -> Self {
        error.into_rejection()
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(error: ServerFnErrorErr) -> Self {
        mark_bad_arguments(&error);
        Self::Transport(error.to_string())
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

/// In the browser a transport error has no response to mark.
#[cfg(not(feature = "ssr"))]
fn mark_bad_arguments(_: &ServerFnErrorErr) {}
