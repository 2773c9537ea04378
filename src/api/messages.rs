//! Server functions about messages: history pages, search, edits, deletions and reactions.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::protocol::{ChatMessage, MessageId, RoomId, SearchResults};
#[cfg(feature = "ssr")]
use crate::server::{context, messages, search as searching};

/// Up to `limit` messages (default 50, at most 200) of a room (general by default), oldest first:
/// older than the message id `before`, newer than `after`, or (with neither) the newest ones.
/// Private rooms only for their members.
#[server(endpoint = "history", input = GetUrl)]
pub async fn get_history(
    room_id: Option<RoomId>,
    before: Option<MessageId>,
    after: Option<MessageId>,
    limit: Option<u32>,
) -> Result<Vec<ChatMessage>, AppError> {
    context::respond(async move {
        let (state, viewer) = context::visitor_or_signed_in().await?;
        let room_id = room_id.unwrap_or(crate::protocol::GENERAL_ROOM_ID);
        messages::history(&state, viewer.as_ref(), room_id, messages::HistoryQuery { before, after, limit }).await
    })
    .await
}

/// Messages matching a search (words, "phrases", `prefix*`, `from:nick`, `in:room`, `has:file`,
/// `before:`/`after:YYYY-MM-DD`) in the rooms the viewer can read, newest first, 20 at a time;
/// `before` continues from a previous page's `next_before`.
#[server(endpoint = "search", input = GetUrl)]
pub async fn search(q: String, before: Option<MessageId>) -> Result<SearchResults, AppError> {
    context::respond(async move {
        let (state, viewer) = context::visitor_or_signed_in().await?;
        searching::run(&state, viewer.as_ref(), &q, before).await
    })
    .await
}

/// Replaces a message's text: the author may (while in the room), and so may any admin. Everyone
/// sees the new text, marked edited.
#[server(endpoint = "edit_message")]
pub async fn edit_message(id: MessageId, body: String) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        messages::edit(&state, &account, id, &body).await
    })
    .await
}

/// Deletes a message: its author may, and so may any admin. Everyone sees a placeholder from then on.
#[server(endpoint = "delete_message")]
pub async fn delete_message(id: MessageId) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        messages::delete(&state, &account, id).await?;
        tracing::info!(id = id.get(), by = %account.nickname, "message deleted");
        Ok(())
    })
    .await
}

/// Adds the signed-in user's reaction `emoji` to a message in a room they are in, or with
/// `remove` set takes it back. Doing either twice changes nothing.
#[server(endpoint = "react")]
pub async fn react(id: MessageId, emoji: String, remove: Option<bool>) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        messages::react(&state, &account, id, &emoji, !remove.unwrap_or(false)).await
    })
    .await
}
