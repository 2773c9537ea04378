//! How an [`AppError`] leaves the server: its HTTP status, the JSON body the bot API, uploads and
//! exports answer with, and the conversions that let `?` carry a store or task failure into it.
//!
//! One path for every error: a refusal (`AppError::Invalid`) says what to change and is sent as it
//! is; a failure (`AppError::Internal`) is logged here, with where it happened, and the client sees
//! only its log id.

use std::fmt::Display;
use std::panic::Location;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::AppError;
use crate::protocol::{ErrorCode, Rejection};
use crate::server::store::{ChangeRefused, DbError};

impl AppError {
    /// A refusal: nothing changed, and the message tells the user why.
    pub(crate) fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Rejection::new(code, message).into()
    }

    /// Logs an internal failure (with the caller's file and line) and returns the error the client
    /// may see.
    #[track_caller]
    pub(crate) fn internal(context: &str, error: &dyn Display) -> Self {
        let log_id = new_log_id();
        let at = Location::caller();
        tracing::error!(%log_id, context, %error, %at, "internal error");
        Self::Internal { log_id }
    }

    /// The code a client reads: the refusal's, or `internal` for a failure.
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid { code, .. } => *code,
            Self::Internal { .. } | Self::Transport(_) => ErrorCode::Internal,
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
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

/// The bot API's error body, `{"code", "message"}`, under the error's status. The response also
/// carries its code as an extension, for [`count_sent`].
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let Rejection { code, message, .. } = self.into_rejection();
        let mut response = (status, Json(json!({ "code": code, "message": message }))).into_response();
        response.extensions_mut().insert(SentCode(code));
        response
    }
}

/// The code of an error answer, left on the response by `into_response`.
#[derive(Clone, Copy)]
struct SentCode(ErrorCode);

/// Middleware: counts every error answer (from handlers, extractors such as `Authenticated`, and
/// the guards) in `natter_errors_sent_total` by code. Server functions answer through Leptos
/// instead and are counted in `context::respond`; sockets count their error frames themselves.
pub(crate) async fn count_sent(
    axum::extract::State(state): axum::extract::State<crate::server::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    if let Some(SentCode(code)) = response.extensions().get::<SentCode>() {
        state.metrics.error_sent(*code);
    }
    response
}

/// A store error through `?`: its refusals become the refusal a user reads, anything else a logged
/// failure. Callers that can say more (which room, which nickname) match the refusal first.
impl From<DbError> for AppError {
    #[track_caller]
    fn from(error: DbError) -> Self {
        match error {
            DbError::NicknameTaken => crate::server::identity::nickname_taken().into(),
            DbError::RoomNameTaken => {
                Self::refused(ErrorCode::RoomNameTaken, "There is already a room with this name.")
            }
            DbError::NotAllowed => Self::refused(ErrorCode::NotAMember, "You cannot post in this room."),
            DbError::ChangeRefused(why) => change_refused(why, "change").into(),
            failure => Self::internal("store", &failure),
        }
    }
}

/// A blocking task (password hashing) that panicked or was cancelled at shutdown.
impl From<tokio::task::JoinError> for AppError {
    #[track_caller]
    fn from(error: tokio::task::JoinError) -> Self {
        Self::internal("blocking task", &error)
    }
}

/// No randomness for a token or file id, or a password hash that failed: the server's fault.
impl From<crate::server::identity::SecretError> for AppError {
    #[track_caller]
    fn from(error: crate::server::identity::SecretError) -> Self {
        Self::internal("secret", &error)
    }
}

/// Why the store refused a change to a message, in words; `what` names the change ("edit").
pub(crate) fn change_refused(why: ChangeRefused, what: &str) -> Rejection {
    match why {
        ChangeRefused::NoSuchMessage => {
            Rejection::new(ErrorCode::NoSuchMessage, "There is no such message (or it was deleted).")
        }
        ChangeRefused::NotAuthor => {
            Rejection::new(ErrorCode::Forbidden, format!("Only the author or an admin can {what} this message."))
        }
        ChangeRefused::NotAMember => Rejection::new(ErrorCode::NotAMember, "Join the room first."),
        ChangeRefused::Archived => {
            Rejection::new(ErrorCode::RoomArchived, "This room is archived: its messages no longer change.")
        }
        ChangeRefused::TooManyReactions => Rejection::new(
            ErrorCode::TooManyReactions,
            format!(
                "A message carries at most {} different reactions; add to one of them.",
                crate::protocol::MAX_REACTIONS_PER_MESSAGE
            ),
        ),
    }
}

/// The same JSON shape for the websocket handshake's refusals, whose statuses (405, 426) no
/// `ErrorCode` maps to.
pub(crate) fn status_refusal(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        _ => ErrorCode::Internal,
    };
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

/// Short, unique enough to find one line in a day's log.
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

    #[test]
    fn store_refusals_stay_refusals_and_failures_hide_their_cause() {
        let taken = AppError::from(DbError::NicknameTaken);
        assert!(matches!(taken, AppError::Invalid { code: ErrorCode::NicknameTaken, .. }), "{taken:?}");
        assert_eq!(AppError::from(DbError::RoomNameTaken).status(), StatusCode::CONFLICT);
        let refused = AppError::from(DbError::ChangeRefused(ChangeRefused::NotAuthor));
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let failed = AppError::from(DbError::Closed);
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!failed.to_string().contains("shut down"), "{failed}");
    }

    #[tokio::test]
    async fn an_error_answers_with_its_status_and_a_code_and_message() {
        let response = AppError::refused(ErrorCode::NoSuchRoom, "There is no such room.").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body, json!({ "code": "no_such_room", "message": "There is no such room." }));
    }
}
