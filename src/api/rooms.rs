//! Server functions about rooms: the chat page's data, who is in and online, the directory, and
//! creating, joining, leaving, inviting to, archiving and notifications from rooms.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::protocol::{DirectoryRoom, Member, MessageId, OnlineUser, Room, RoomId, RoomPage, UserId};
#[cfg(feature = "ssr")]
use crate::server::{context, rooms};

/// The members of a room (general by default) who are online now, sorted by nickname, with whether
/// they are idle. Private rooms only for their members.
#[server(endpoint = "online", input = GetUrl)]
pub async fn get_online(room_id: Option<RoomId>) -> Result<Vec<OnlineUser>, AppError> {
    context::respond(async move {
        let (state, viewer) = context::visitor_or_signed_in().await?;
        rooms::online_in(&state, viewer.as_ref(), room_id.unwrap_or(crate::protocol::GENERAL_ROOM_ID)).await
    })
    .await
}

/// The members of a room, by nickname. Private rooms only for their members.
#[server(endpoint = "members", input = GetUrl)]
pub async fn get_members(room_id: RoomId) -> Result<Vec<Member>, AppError> {
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
pub async fn get_room_page(
    room: Option<String>,
    peer: Option<UserId>,
    at: Option<MessageId>,
) -> Result<RoomPage, AppError> {
    context::respond(rooms::page(room, peer, at)).await
}

/// Sets when the signed-in user gets a browser notification from a room they are in: `all`,
/// `mentions` or `nothing`.
#[server(endpoint = "set_notify")]
pub async fn set_notify(room_id: RoomId, level: crate::protocol::NotifyLevel) -> Result<(), AppError> {
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
pub async fn join_room(room_id: RoomId) -> Result<Room, AppError> {
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
pub async fn leave_room(room_id: RoomId) -> Result<(), AppError> {
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
pub async fn invite(room_id: RoomId, nickname: String) -> Result<Member, AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        rooms::invite(&state, &account, room_id, &nickname).await
    })
    .await
}

/// Archives a room (admins only).
#[server(endpoint = "archive_room")]
pub async fn archive_room(room_id: RoomId) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        rooms::archive(&state, &account, room_id).await
    })
    .await
}

/// Starts (or finds) the direct conversation with another user.
#[server(endpoint = "direct")]
pub async fn start_direct(user_id: UserId) -> Result<Room, AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        let room = rooms::open_direct(&state, &account, user_id).await?;
        context::redirect_forms_to(&room.path());
        Ok(room)
    })
    .await
}
