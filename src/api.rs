//! Server functions: the request/response side of Natter (accounts, history pages, who is online).
//! Thin by design: validate, ask the store or hub, map errors. Live traffic goes over `/ws` instead.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::protocol::{Account, ChatMessage, DirectoryRoom, Member, OnlineUser, Room, RoomPage, SearchResults};
// The bodies below run only on the server; the browser build keeps just their signatures.
#[cfg(feature = "ssr")]
use crate::server::{context, identity, messages, rooms, search, store};

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
        use crate::protocol::{ErrorCode, Rejection};
        let invalid = |why: &str| Err(Rejection::new(ErrorCode::InvalidRequest, why).into());
        if before.is_some_and(|id| id < 1) {
            return invalid("before must be a message id (1 or more)");
        }
        if after.is_some_and(|id| id < 0) {
            return invalid("after must be a message id (0 or more)");
        }
        if before.is_some() && after.is_some() {
            return invalid("give before or after, not both");
        }
        let (state, viewer) = context::visitor_or_signed_in().await?;
        let room =
            rooms::readable(&state, viewer.as_ref(), room_id.unwrap_or(crate::protocol::GENERAL_ROOM_ID)).await?;
        let limit = crate::protocol::history_limit(limit);
        let page = match after {
            Some(after) => state.store.newer(room.id, after, limit).await,
            None => state.store.history(room.id, before, limit).await,
        };
        page.map_err(|error| AppError::internal("history", &error))
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
        let room =
            rooms::readable(&state, viewer.as_ref(), room_id.unwrap_or(crate::protocol::GENERAL_ROOM_ID)).await?;
        let members = state.store.members(room.id).await.map_err(|error| AppError::internal("online", &error))?;
        let members: std::collections::HashSet<i64> = members.iter().map(|member| member.user_id).collect();
        Ok(state.hub.online().into_iter().filter(|user| members.contains(&user.user_id)).collect())
    })
    .await
}

/// The members of a room, by nickname. Private rooms only for their members.
#[server(endpoint = "members", input = GetUrl)]
pub async fn get_members(room_id: i64) -> Result<Vec<Member>, AppError> {
    context::respond(async move {
        let (state, viewer) = context::visitor_or_signed_in().await?;
        let room = rooms::readable(&state, viewer.as_ref(), room_id).await?;
        state.store.members(room.id).await.map_err(|error| AppError::internal("members", &error))
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
        let failed = |error: store::DbError| AppError::internal("notification setting", &error);
        if state.store.set_notify(room_id, account.id, level).await.map_err(failed)? {
            Ok(())
        } else {
            let refused =
                crate::protocol::Rejection::new(crate::protocol::ErrorCode::NotAMember, "You are not in this room.");
            Err(refused.into())
        }
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
        let nickname = identity::nickname(&nickname)?;
        let session = context::NewSession::issue(&state)?;
        let account = match state.store.create_user(nickname, session.hash.clone(), session.expires_at).await {
            Ok(account) => account,
            Err(store::DbError::NicknameTaken) => return Err(identity::nickname_taken().into()),
            Err(error) => return Err(AppError::internal("create user", &error)),
        };
        session.send_cookie();
        tracing::info!(user_id = account.id, nickname = %account.nickname, "new user");
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
            state.store.end_session(session.clone()).await.map_err(|error| AppError::internal("sign out", &error))?;
            state.hub.end_session(&session);
        }
        context::set_cookie(identity::expired_cookie());
        Ok(())
    })
    .await
}

/// Sets (or replaces) the signed-in user's password, so they can sign in on other devices.
#[server(endpoint = "set_password")]
pub async fn set_password(password: String) -> Result<(), AppError> {
    context::respond(async move {
        crate::protocol::validate_password(&password)?;
        let (state, account) = context::signed_in().await?;
        let hash = tokio::task::spawn_blocking(move || identity::hash_password(&password))
            .await
            .map_err(|error| AppError::internal("hash password", &error))?
            .map_err(|error| AppError::internal("hash password", &error))?;
        state
            .store
            .set_password_hash(account.id, hash)
            .await
            .map_err(|error| AppError::internal("set password", &error))
    })
    .await
}

/// Signs this browser in as an existing user with a password. Failed attempts slow further tries of
/// that nickname from that address, and cut off an address guessing widely (429 with the wait).
#[server(endpoint = "sign_in")]
pub async fn sign_in(nickname: String, password: String) -> Result<Account, AppError> {
    context::respond(async move {
        use crate::protocol::{ErrorCode, Rejection};
        let state = context::app_state()?;
        let key = identity::nickname(&nickname).map(|n| n.key).unwrap_or(nickname);
        let address = context::client_address().map(|ip| ip.to_string()).unwrap_or_default();
        let throttle = &state.sign_in_throttle;
        if let Err(wait) = throttle.check(&key, &address) {
            let message =
                format!("Too many failed sign-ins from here. Try again in {}.", crate::text::time_format::wait(wait));
            return Err(Rejection::new(ErrorCode::RateLimited, message).into());
        }
        let credentials =
            state.store.credentials(key.clone()).await.map_err(|error| AppError::internal("sign in", &error))?;
        let verified = match credentials {
            Some(store::Credentials { account, password_hash: Some(hash) }) => {
                tokio::task::spawn_blocking(move || identity::verify_password(&password, &hash).then_some(account))
                    .await
                    .map_err(|error| AppError::internal("verify password", &error))?
            }
            _ => None,
        };
        let Some(account) = verified else {
            throttle.fail(&key, &address);
            return Err(Rejection::new(ErrorCode::SignInFailed, "Wrong nickname or password.").into());
        };
        throttle.succeed(&key, &address);
        let session = context::NewSession::issue(&state)?;
        state
            .store
            .create_session(account.id, session.hash.clone(), session.expires_at)
            .await
            .map_err(|error| AppError::internal("create session", &error))?;
        session.send_cookie();
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
        Ok(messages::edit(&state, &account, id, &body).await?)
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
        Ok(messages::react(&state, &account, id, &emoji, !remove.unwrap_or(false)).await?)
    })
    .await
}

/// Bans a user (admins only): their sessions end, their sockets close, and they cannot sign in again.
#[server(endpoint = "ban_user")]
pub async fn ban_user(user_id: i64) -> Result<(), AppError> {
    context::respond(async move {
        use crate::protocol::{ErrorCode, Rejection, Role};
        let (state, account) = context::signed_in().await?;
        if account.role != Role::Admin {
            return Err(Rejection::new(ErrorCode::Forbidden, "Only admins can ban.").into());
        }
        if user_id == account.id {
            return Err(Rejection::new(ErrorCode::InvalidRequest, "You cannot ban yourself.").into());
        }
        let failed = |error: store::DbError| AppError::internal("ban", &error);
        let natter = state.store.system_account().await.map_err(failed)?;
        if user_id == natter.id {
            return Err(Rejection::new(ErrorCode::InvalidRequest, "Natter itself cannot be banned.").into());
        }
        let Some(banned) = state.store.ban(user_id).await.map_err(failed)? else {
            return Err(Rejection::new(ErrorCode::InvalidRequest, "There is no such user.").into());
        };
        state.hub.end_user(user_id);
        tracing::info!(user_id, nickname = %banned.nickname, by = %account.nickname, "user banned");
        Ok(())
    })
    .await
}
