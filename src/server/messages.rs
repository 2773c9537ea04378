//! Posting and changing messages, whichever way the request arrives: a socket's `send`, a bot's HTTP
//! call, an admin's announcement, a page's edit, delete or reaction. One path means one set of rules:
//! the same validation, the same author stamping from the account, the same commit-then-broadcast.

use crate::error::AppError;
use crate::protocol::{
    validate_body, validate_client_msg_id, validate_reaction, Account, Attachment, ChatMessage, ErrorCode, MessageKind,
    Rejection, Role,
};
use crate::server::store::{Actor, ChangeRefused, DbError, MessageChange, NewMessage};
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
    let body = validate_body(body)?;
    store(state, author, room_id, client_msg_id, body, kind, None).await
}

/// Stores a file (already on disk under its id) as a message with an optional caption. A resend
/// with the same `client_msg_id` returns the original, whose file is not this one: the caller then
/// removes the new copy.
pub async fn post_file(
    state: &AppState,
    author: &Account,
    room_id: i64,
    client_msg_id: &str,
    caption: &str,
    file: Attachment,
) -> Result<ChatMessage, Rejection> {
    let caption = if caption.trim().is_empty() { String::new() } else { validate_body(caption)? };
    store(state, author, room_id, client_msg_id, caption, MessageKind::Chat, Some(file)).await
}

async fn store(
    state: &AppState,
    author: &Account,
    room_id: i64,
    client_msg_id: &str,
    body: String,
    kind: MessageKind,
    file: Option<Attachment>,
) -> Result<ChatMessage, Rejection> {
    validate_client_msg_id(client_msg_id)?;
    let message = NewMessage {
        room_id,
        author_id: author.id,
        nickname: author.nickname.clone(),
        body,
        client_msg_id: client_msg_id.to_owned(),
        kind,
        members_only: kind == MessageKind::Chat,
        file,
    };
    match state.store.insert(message).await {
        Ok(inserted) => Ok(inserted.message),
        Err(DbError::NotAllowed) => Err(crate::server::rooms::why_not_postable(state, room_id).await),
        Err(error) => Err(AppError::internal("storing a message", &error).into_rejection()),
    }
}

/// Replaces the text of a message: its author's own (while in the room), or any as an admin.
pub async fn edit(state: &AppState, actor: &Account, id: i64, body: &str) -> Result<(), Rejection> {
    let body = validate_body(body)?;
    change(state, actor, id, MessageChange::Edit(body)).await
}

/// Deletes a message: its author's own, or any as an admin. The row stays as a placeholder; a file
/// sent as the message is deleted from disk once the deletion is committed.
pub async fn delete(state: &AppState, actor: &Account, id: i64) -> Result<(), Rejection> {
    let file =
        state.store.message_file(id).await.map_err(|error| AppError::internal("delete", &error).into_rejection())?;
    change(state, actor, id, MessageChange::Delete).await?;
    if let Some(file) = file {
        crate::server::http::uploads::remove(&state.settings, &file).await;
    }
    Ok(())
}

/// Adds (or with `add` false, takes back) the actor's reaction; doing either twice changes nothing.
pub async fn react(state: &AppState, actor: &Account, id: i64, emoji: &str, add: bool) -> Result<(), Rejection> {
    let emoji = validate_reaction(emoji)?;
    change(state, actor, id, MessageChange::React(emoji, add)).await
}

/// Commits a change and, on the writer thread right after the commit, tells the message's room.
async fn change(state: &AppState, actor: &Account, id: i64, change: MessageChange) -> Result<(), Rejection> {
    let who = Actor { user_id: actor.id, admin: actor.role == Role::Admin };
    let what = match &change {
        MessageChange::Edit(_) => "edit",
        MessageChange::Delete => "delete",
        MessageChange::React(..) => "react",
    };
    match state.store.change_message(id, change, who).await {
        Ok(Some(_)) => {
            tracing::debug!(id, by = %actor.nickname, what, "message changed");
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(DbError::ChangeRefused(why)) => Err(refusal(why, what)),
        Err(error) => Err(AppError::internal("changing a message", &error).into_rejection()),
    }
}

fn refusal(why: ChangeRefused, what: &str) -> Rejection {
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
