//! Posting and changing messages, whichever way the request arrives: a socket's `send`, a bot's HTTP
//! call, an admin's announcement, a page's edit, delete or reaction. One path means one set of rules:
//! the same validation, the same author stamping from the account, the same commit-then-broadcast.

use crate::error::AppError;
use crate::protocol::{
    history_limit, validate_body, validate_client_msg_id, validate_reaction, Account, Attachment, ChatMessage,
    ErrorCode, MessageId, MessageKind, Role, RoomId,
};
use crate::server::http::error::change_refused;
use crate::server::store::{Actor, DbError, MessageChange, NewMessage};
use crate::server::AppState;

/// Which page of a room's history to read: older than the message `before`, newer than `after`, or
/// (with neither) the newest; up to `limit` messages (50 by default, at most 200).
pub(crate) struct HistoryQuery {
    pub before: Option<MessageId>,
    pub after: Option<MessageId>,
    pub limit: Option<u32>,
}

/// A page of a room's history, oldest first, if `viewer` may read the room.
pub(crate) async fn history(
    state: &AppState,
    viewer: Option<&Account>,
    room_id: RoomId,
    HistoryQuery { before, after, limit }: HistoryQuery,
) -> Result<Vec<ChatMessage>, AppError> {
    let invalid = |why: &str| Err(AppError::refused(ErrorCode::InvalidRequest, why));
    if before.is_some_and(|id| id < MessageId(1)) {
        return invalid("before must be a message id (1 or more)");
    }
    if after.is_some_and(|id| id < MessageId(0)) {
        return invalid("after must be a message id (0 or more)");
    }
    if before.is_some() && after.is_some() {
        return invalid("give before or after, not both");
    }
    let room = crate::server::rooms::readable(state, viewer, room_id).await?;
    let limit = history_limit(limit);
    Ok(match after {
        Some(after) => state.store.newer(room.id, after, limit).await?,
        None => state.store.history(room.id, before, limit).await?,
    })
}

/// Whom a body mentions, as nickname keys: `@nick`s outside code, so `@ALICE` and look-alikes
/// count as alice. Parsed here, before the store, so that the writer's transaction only writes.
pub(crate) fn mention_keys(body: &str) -> Vec<String> {
    if !body.contains('@') {
        return Vec::new();
    }
    let mut keys: Vec<String> = crate::text::format::mentions(body)
        .iter()
        .filter_map(|nick| crate::server::identity::nickname(nick).ok())
        .map(|nickname| nickname.key)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Validates and commits a message by `author` in a room; the hub broadcasts it once committed. A
/// resend with the same `client_msg_id` returns the original. The author must be a member of the
/// room (checked when committing), except for Natter's own announcements.
pub(crate) async fn post(
    state: &AppState,
    author: &Account,
    room_id: RoomId,
    client_msg_id: &str,
    body: &str,
    kind: MessageKind,
) -> Result<ChatMessage, AppError> {
    let body = validate_body(body)?;
    store(state, author, room_id, client_msg_id, body, kind, None).await
}

/// Stores a file (already on disk under its id) as a message with an optional caption. A resend
/// with the same `client_msg_id` returns the original, whose file is not this one: the caller then
/// removes the new copy.
pub(crate) async fn post_file(
    state: &AppState,
    author: &Account,
    room_id: RoomId,
    client_msg_id: &str,
    caption: &str,
    file: Attachment,
) -> Result<ChatMessage, AppError> {
    let caption = if caption.trim().is_empty() { String::new() } else { validate_body(caption)? };
    store(state, author, room_id, client_msg_id, caption, MessageKind::Chat, Some(file)).await
}

async fn store(
    state: &AppState,
    author: &Account,
    room_id: RoomId,
    client_msg_id: &str,
    body: String,
    kind: MessageKind,
    file: Option<Attachment>,
) -> Result<ChatMessage, AppError> {
    validate_client_msg_id(client_msg_id)?;
    let message = NewMessage {
        room_id,
        author_id: author.id,
        nickname: author.nickname.clone(),
        mentions: mention_keys(&body),
        body,
        client_msg_id: client_msg_id.to_owned(),
        kind,
        members_only: kind == MessageKind::Chat,
        file,
    };
    let handed_over = std::time::Instant::now();
    match state.store.insert(message).await {
        Ok(inserted) => {
            // A resend found its original: nothing was committed this time.
            if !inserted.duplicate {
                state.metrics.message_committed(handed_over.elapsed());
            }
            Ok(inserted.message)
        }
        Err(DbError::NotAllowed) => Err(crate::server::rooms::why_not_postable(state, room_id).await),
        Err(error) => Err(error.into()),
    }
}

/// Replaces the text of a message: its author's own (while in the room), or any as an admin.
pub(crate) async fn edit(state: &AppState, actor: &Account, id: MessageId, body: &str) -> Result<(), AppError> {
    let body = validate_body(body)?;
    let mentions = mention_keys(&body);
    change(state, actor, id, MessageChange::Edit { body, mentions }).await
}

/// Deletes a message: its author's own, or any as an admin. The row stays as a placeholder; a file
/// sent as the message is deleted from disk once the deletion is committed.
pub(crate) async fn delete(state: &AppState, actor: &Account, id: MessageId) -> Result<(), AppError> {
    let file = state.store.message_file(id).await?;
    change(state, actor, id, MessageChange::Delete).await?;
    if let Some(file) = file {
        crate::server::http::uploads::remove(&state.settings, &file).await;
    }
    Ok(())
}

/// Adds (or with `add` false, takes back) the actor's reaction; doing either twice changes nothing.
pub(crate) async fn react(
    state: &AppState,
    actor: &Account,
    id: MessageId,
    emoji: &str,
    add: bool,
) -> Result<(), AppError> {
    let emoji = validate_reaction(emoji)?;
    change(state, actor, id, MessageChange::React(emoji, add)).await
}

/// Commits a change and, on the writer thread right after the commit, tells the message's room.
async fn change(state: &AppState, actor: &Account, id: MessageId, change: MessageChange) -> Result<(), AppError> {
    let who = Actor { user_id: actor.id, admin: actor.role == Role::Admin };
    let what = match &change {
        MessageChange::Edit { .. } => "edit",
        MessageChange::Delete => "delete",
        MessageChange::React(..) => "react",
    };
    match state.store.change_message(id, change, who).await {
        Ok(Some(_)) => {
            tracing::debug!(id = id.get(), by = %actor.nickname, what, "message changed");
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(DbError::ChangeRefused(why)) => Err(change_refused(why, what).into()),
        Err(error) => Err(error.into()),
    }
}
