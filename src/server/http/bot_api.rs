//! A small JSON HTTP API for bots and scripts, next to the websocket: post a message, and (for admins)
//! post an announcement. Credentials as for `/ws`: `Authorization: Bearer <token>` or the session
//! cookie. JSON bodies need `Content-Type: application/json`, which no cross-site form can send.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::protocol::{Account, ErrorCode, MessageKind, Rejection, Role, GENERAL_ROOM_ID};
use crate::server::context::authenticate;
use crate::server::AppState;
use crate::server::{messages, rooms};

#[derive(Deserialize)]
pub struct PostMessage {
    /// The room to post in; general when absent.
    room_id: Option<i64>,
    client_msg_id: String,
    body: String,
}

#[derive(Deserialize)]
pub struct Announcement {
    text: String,
    /// Lets a script retry safely; generated when absent.
    client_msg_id: Option<String>,
    /// A room's name: announce there instead of in general.
    room: Option<String>,
    /// A nickname: send it to this user alone, in their direct conversation with Natter.
    user: Option<String>,
}

/// Who is sending a message over HTTP (a bot's post, an upload), within their message rate: the
/// same limits as a socket's `send`.
pub async fn sender(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<Account, Response> {
    let (account, _) = authenticate(state, headers).await?;
    state.frame_limits.message(account.id, Some(peer.ip())).map_err(refusal)?;
    Ok(account)
}

/// `POST /api/bot/messages`: like a socket's `send`; answers with the ack.
pub async fn post_message(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(post): Json<PostMessage>,
) -> Response {
    let account = match sender(&state, peer, &headers).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    let room_id = post.room_id.unwrap_or(GENERAL_ROOM_ID);
    match messages::post(&state, &account, room_id, &post.client_msg_id, &post.body, MessageKind::Chat).await {
        Ok(stored) => {
            Json(json!({ "client_msg_id": stored.client_msg_id, "id": stored.id, "sent_at": stored.sent_at }))
                .into_response()
        }
        Err(refused) => refusal(refused),
    }
}

/// `POST /api/announce`: an admin posts an announcement, authored by the built-in Natter account.
pub async fn announce(State(state): State<AppState>, headers: HeaderMap, Json(post): Json<Announcement>) -> Response {
    let (account, _) = match authenticate(&state, &headers).await {
        Ok(signed_in) => signed_in,
        Err(refusal) => return refusal,
    };
    if account.role != Role::Admin {
        return refusal(Rejection::new(ErrorCode::Forbidden, "Only admins can make announcements."));
    }
    let natter = match state.store.system_account().await {
        Ok(natter) => natter,
        Err(error) => return refusal(AppError::internal("announce", &error).into_rejection()),
    };
    let room_id = match announcement_room(&state, &natter, &post).await {
        Ok(room_id) => room_id,
        Err(error) => return refusal(error.into_rejection()),
    };
    let client_msg_id = match post.client_msg_id {
        Some(id) => id,
        None => match crate::server::identity::new_token() {
            Ok(token) => format!("announce-{}", &token[..24]),
            Err(error) => return refusal(AppError::internal("announce", &error).into_rejection()),
        },
    };
    match messages::post(&state, &natter, room_id, &client_msg_id, &post.text, MessageKind::Announcement).await {
        Ok(stored) => {
            tracing::info!(by = %account.nickname, id = stored.id, "announcement");
            Json(json!({ "client_msg_id": stored.client_msg_id, "id": stored.id, "sent_at": stored.sent_at }))
                .into_response()
        }
        Err(refused) => refusal(refused),
    }
}

/// The room an announcement goes to: a named room, a user's conversation with Natter, or general.
async fn announcement_room(state: &AppState, natter: &Account, post: &Announcement) -> Result<i64, AppError> {
    match (&post.room, &post.user) {
        (Some(_), Some(_)) => {
            Err(Rejection::new(ErrorCode::InvalidRequest, "Announce to a room or to a user, not both.").into())
        }
        (Some(room), None) => Ok(rooms::by_name(state, room).await?.id),
        (None, Some(user)) => {
            let key = crate::server::identity::nickname(user)?.key;
            let Some(recipient) = state.store.user_by_key(key).await.map_err(|e| AppError::internal("announce", &e))?
            else {
                return Err(Rejection::new(ErrorCode::InvalidRequest, format!("There is nobody called {user}.")).into());
            };
            Ok(rooms::open_direct(state, natter, recipient.id).await?.id)
        }
        (None, None) => Ok(GENERAL_ROOM_ID),
    }
}

/// A refusal as JSON with its HTTP status.
pub fn refusal(refused: Rejection) -> Response {
    let status = AppError::from(refused.clone()).status();
    (status, Json(json!({ "code": refused.code, "message": refused.message }))).into_response()
}

/// The same JSON shape for refusals decided before any request body is read: authentication,
/// cross-site requests, connection caps.
pub fn json_refusal(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        _ => ErrorCode::Internal,
    };
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}
