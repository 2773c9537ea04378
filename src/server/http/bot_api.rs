//! A small JSON HTTP API for bots and scripts, next to the websocket: post a message, and (for admins)
//! post an announcement. Credentials as for `/ws`: `Authorization: Bearer <token>` or the session
//! cookie. JSON bodies need `Content-Type: application/json`, which no cross-site form can send.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::protocol::{Account, ChatMessage, ErrorCode, MessageKind, Role, RoomId, GENERAL_ROOM_ID};
use crate::server::http::auth::{authenticate, Authenticated};
use crate::server::http::forwarded::ClientAddress;
use crate::server::AppState;
use crate::server::{messages, rooms};

#[derive(Deserialize)]
pub(crate) struct PostMessage {
    /// The room to post in; general when absent.
    room_id: Option<RoomId>,
    client_msg_id: String,
    body: String,
}

#[derive(Deserialize)]
pub(crate) struct Announcement {
    text: String,
    /// Lets a script retry safely; generated when absent.
    client_msg_id: Option<String>,
    /// A room's name: announce there instead of in general.
    room: Option<String>,
    /// A nickname: send it to this user alone, in their direct conversation with Natter.
    user: Option<String>,
}

/// Who is sending a message over HTTP (a bot's post, an upload), within their message rate: the
/// same limits as a socket's `send`, `address` being the client's ([`ClientAddress`]).
pub(crate) async fn sender(state: &AppState, address: IpAddr, headers: &HeaderMap) -> Result<Account, AppError> {
    let Authenticated { account, .. } = authenticate(state, headers).await?;
    state.frame_limits.message(account.id, Some(address))?;
    Ok(account)
}

/// The answer to a message posted over HTTP: what a socket's `ack` carries.
fn ack(stored: &ChatMessage) -> Response {
    Json(json!({ "client_msg_id": stored.client_msg_id, "id": stored.id, "sent_at": stored.sent_at })).into_response()
}

/// `POST /api/bot/messages`: like a socket's `send`; answers with the ack.
pub(crate) async fn post_message(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Json(post): Json<PostMessage>,
) -> Result<Response, AppError> {
    let account = sender(&state, address, &headers).await?;
    let room_id = post.room_id.unwrap_or(GENERAL_ROOM_ID);
    let stored = messages::post(&state, &account, room_id, &post.client_msg_id, &post.body, MessageKind::Chat).await?;
    Ok(ack(&stored))
}

/// `POST /api/announce`: an admin posts an announcement, authored by the built-in Natter account.
pub(crate) async fn announce(
    State(state): State<AppState>,
    Authenticated { account, .. }: Authenticated,
    Json(post): Json<Announcement>,
) -> Result<Response, AppError> {
    if account.role != Role::Admin {
        return Err(AppError::refused(ErrorCode::Forbidden, "Only admins can make announcements."));
    }
    let natter = state.store.system_account().await?;
    let room_id = announcement_room(&state, &natter, &post).await?;
    let client_msg_id = match post.client_msg_id {
        Some(id) => id,
        None => format!("announce-{}", &crate::server::identity::new_token()?[..24]),
    };
    let stored =
        messages::post(&state, &natter, room_id, &client_msg_id, &post.text, MessageKind::Announcement).await?;
    tracing::info!(by = %account.nickname, id = stored.id.get(), "announcement");
    Ok(ack(&stored))
}

/// The room an announcement goes to: a named room, a user's conversation with Natter, or general.
async fn announcement_room(state: &AppState, natter: &Account, post: &Announcement) -> Result<RoomId, AppError> {
    match (&post.room, &post.user) {
        (Some(_), Some(_)) => {
            Err(AppError::refused(ErrorCode::InvalidRequest, "Announce to a room or to a user, not both."))
        }
        (Some(room), None) => Ok(rooms::by_name(state, room).await?.id),
        (None, Some(user)) => {
            let key = crate::server::identity::nickname(user)?.key;
            let Some(recipient) = state.store.user_by_key(key).await? else {
                return Err(AppError::refused(ErrorCode::InvalidRequest, format!("There is nobody called {user}.")));
            };
            Ok(rooms::open_direct(state, natter, recipient.id).await?.id)
        }
        (None, None) => Ok(GENERAL_ROOM_ID),
    }
}
