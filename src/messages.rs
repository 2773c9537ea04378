//! Posting a message, whichever way it arrives: a socket's `send`, a bot's HTTP call, or an admin's
//! announcement. One path means one set of rules: the same validation, the same author stamping from
//! the account, the same commit-then-broadcast.

use crate::db::{DbError, NewMessage};
use crate::error::AppError;
use crate::protocol::{validate_body, validate_client_msg_id, Account, ChatMessage, MessageKind, Rejection};
use crate::server::AppState;

/// Validates and commits a message by `author` in a room; the hub broadcasts it once committed. A
/// resend with the same `client_msg_id` returns the original. The author must be a member of the
/// room (checked when committing), except for Natter's own announcements.
pub async fn post(
    state: &AppState,
    author: &Account,
    room_id: i64,
    client_msg_id: &str,
    body: &str,
    kind: MessageKind,
) -> Result<ChatMessage, Rejection> {
    validate_client_msg_id(client_msg_id)?;
    let body = validate_body(body)?;
    let message = NewMessage {
        room_id,
        author_id: author.id,
        nickname: author.nickname.clone(),
        body,
        client_msg_id: client_msg_id.to_owned(),
        kind,
        members_only: kind == MessageKind::Chat,
    };
    match state.store.insert(message).await {
        Ok(inserted) => Ok(inserted.message),
        Err(DbError::NotAllowed) => Err(crate::rooms::why_not_postable(state, room_id).await),
        Err(error) => Err(AppError::internal("storing a message", &error).into_rejection()),
    }
}
