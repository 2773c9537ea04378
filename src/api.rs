//! Server functions: the request/response side of Natter (accounts, history pages, who is online).
//! Thin by design: find the caller's state and account, call a service, hand back its answer. Live traffic goes over `/ws` instead.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::protocol::{Account, ChatMessage, DirectoryRoom, Member, OnlineUser, Room, RoomPage, SearchResults};
// The bodies below run only on the server; the browser build keeps just their signatures.
#[cfg(feature = "ssr")]
use crate::server::{accounts, context, messages, rooms, search};

/// Up to `limit` messages (default 50, at most 200) of a room (general by default), oldest first:
/// older than the message id `before`, newer than `after`, or (with neither) the newest ones.
/// Private rooms only for their members.
#[server(endpoint = "history", input = GetUrl)]
pub async fn get_history(
    room_id: Option<i64>,
    before: Option<i64>,
    after: Option<i64>,
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
pub async fn search(q: String, before: Option<i64>) -> Result<SearchResults, AppError> {
    context::respond(async move {
        let (state, viewer) = context::visitor_or_signed_in().await?;
        search::run(&state, viewer.as_ref(), &q, before).await
    })
    .await
}

/// The members of a room (general by default) who are online now, sorted by nickname, with whether
/// they are idle. Private rooms only for their members.
#[server(endpoint = "online", input = GetUrl)]
pub async fn get_online(room_id: Option<i64>) -> Result<Vec<OnlineUser>, AppError> {
    context::respond(async move {
        let (state, viewer) = context::visitor_or_signed_in().await?;
        rooms::online_in(&state, viewer.as_ref(), room_id.unwrap_or(crate::protocol::GENERAL_ROOM_ID)).await
    })
    .await
}

/// The members of a room, by nickname. Private rooms only for their members.
#[server(endpoint = "members", input = GetUrl)]
pub async fn get_members(room_id: i64) -> Result<Vec<Member>, AppError> {
    context::respond(async move {
        let (state, viewer) = context::visitor_or_signed_in().await?;
        let room = rooms::readable(&state, viewer.as_ref(), room_id).await?;
        Ok(state.store.members(room.id).await?)
    })
    .await
}

/// The chat page's data for the room named `room`, or for the direct conversation with user `peer`;
/// with `at`, opened at that message with context around it.
#[server(endpoint = "room_page", input = GetUrl)]
pub async fn get_room_page(room: Option<String>, peer: Option<i64>, at: Option<i64>) -> Result<RoomPage, AppError> {
    context::respond(rooms::page(room, peer, at)).await
}

/// Sets when the signed-in user gets a browser notification from a room they are in: `all`,
/// `mentions` or `nothing`.
#[server(endpoint = "set_notify")]
pub async fn set_notify(room_id: i64, level: crate::protocol::NotifyLevel) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        rooms::set_notify(&state, &account, room_id, level).await
    })
    .await
}

/// Public rooms anyone may join.
#[server(endpoint = "rooms", input = GetUrl)]
pub async fn get_public_rooms() -> Result<Vec<DirectoryRoom>, AppError> {
    context::respond(async move {
        let state = context::app_state()?;
        rooms::directory(&state).await
    })
    .await
}

/// Creates a room (public unless `private` is set) with the signed-in user as its first member.
#[server(endpoint = "create_room")]
pub async fn create_room(name: String, private: Option<String>) -> Result<Room, AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        let room = rooms::create(&state, &account, &name, private.is_some_and(|p| p != "false")).await?;
        context::redirect_forms_to(&room.path());
        Ok(room)
    })
    .await
}

/// Joins a public room.
#[server(endpoint = "join_room")]
pub async fn join_room(room_id: i64) -> Result<Room, AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        let room = rooms::join(&state, &account, room_id).await?;
        context::redirect_forms_to(&room.path());
        Ok(room)
    })
    .await
}

/// Leaves a room (not general, not a direct conversation).
#[server(endpoint = "leave_room")]
pub async fn leave_room(room_id: i64) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        rooms::leave(&state, &account, room_id).await?;
        context::redirect_forms_to("/");
        Ok(())
    })
    .await
}

/// Adds a user to a room the signed-in user is in (the way into a private room).
#[server(endpoint = "invite")]
pub async fn invite(room_id: i64, nickname: String) -> Result<Member, AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        rooms::invite(&state, &account, room_id, &nickname).await
    })
    .await
}

/// Archives a room (admins only).
#[server(endpoint = "archive_room")]
pub async fn archive_room(room_id: i64) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        rooms::archive(&state, &account, room_id).await
    })
    .await
}

/// Starts (or finds) the direct conversation with another user.
#[server(endpoint = "direct")]
pub async fn start_direct(user_id: i64) -> Result<Room, AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        let room = rooms::open_direct(&state, &account, user_id).await?;
        context::redirect_forms_to(&room.path());
        Ok(room)
    })
    .await
}

/// The signed-in account, or `None` for a visitor.
#[server(endpoint = "me", input = GetUrl)]
pub async fn get_me() -> Result<Option<Account>, AppError> {
    context::respond(async move {
        let state = context::app_state()?;
        Ok(context::current_session(&state).await?.map(|(account, _)| account))
    })
    .await
}

/// Creates an account with this nickname and signs the browser in (an HttpOnly session cookie).
#[server(endpoint = "join")]
pub async fn join_chat(nickname: String) -> Result<Account, AppError> {
    context::respond(async move {
        let state = context::app_state()?;
        let (account, session) = accounts::join(&state, &nickname).await?;
        context::give_session(&session);
        Ok(account)
    })
    .await
}

/// Ends this browser's session and closes its sockets.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    context::respond(async move {
        let state = context::app_state()?;
        if let Some((_, session)) = context::current_session(&state).await? {
            accounts::sign_out(&state, session).await?;
        }
        context::set_cookie(crate::server::identity::expired_cookie());
        Ok(())
    })
    .await
}

/// Sets (or replaces) the signed-in user's password, so they can sign in on other devices.
#[server(endpoint = "set_password")]
pub async fn set_password(password: String) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        accounts::set_password(&state, &account, password).await
    })
    .await
}

/// Signs this browser in as an existing user with a password. Failed attempts slow further tries of
/// that nickname from that address, and cut off an address guessing widely (429 with the wait).
#[server(endpoint = "sign_in")]
pub async fn sign_in(nickname: String, password: String) -> Result<Account, AppError> {
    context::respond(async move {
        let state = context::app_state()?;
        let address = context::client_address().map(|ip| ip.to_string()).unwrap_or_default();
        let (account, session) = accounts::sign_in(&state, &nickname, password, &address).await?;
        context::give_session(&session);
        Ok(account)
    })
    .await
}

/// Replaces a message's text: the author may (while in the room), and so may any admin. Everyone
/// sees the new text, marked edited.
#[server(endpoint = "edit_message")]
pub async fn edit_message(id: i64, body: String) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        messages::edit(&state, &account, id, &body).await
    })
    .await
}

/// Deletes a message: its author may, and so may any admin. Everyone sees a placeholder from then on.
#[server(endpoint = "delete_message")]
pub async fn delete_message(id: i64) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        messages::delete(&state, &account, id).await?;
        tracing::info!(id, by = %account.nickname, "message deleted");
        Ok(())
    })
    .await
}

/// Adds the signed-in user's reaction `emoji` to a message in a room they are in, or with
/// `remove` set takes it back. Doing either twice changes nothing.
#[server(endpoint = "react")]
pub async fn react(id: i64, emoji: String, remove: Option<bool>) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        messages::react(&state, &account, id, &emoji, !remove.unwrap_or(false)).await
    })
    .await
}

/// Bans a user (admins only): their sessions end, their sockets close, and they cannot sign in again.
#[server(endpoint = "ban_user")]
pub async fn ban_user(user_id: i64) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        accounts::ban(&state, &account, user_id).await
    })
    .await
}
