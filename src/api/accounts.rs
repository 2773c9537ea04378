//! Server functions about accounts: who is signed in, joining, passwords, signing in and out, bans.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::protocol::{Account, FirstSend, RoomId, UserId};
#[cfg(feature = "ssr")]
use crate::server::{accounts, context};

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
        context::give_session(&state, &session);
        Ok(account)
    })
    .await
}

/// A visitor's first send: creates the account, signs the browser in and posts the message, in one
/// request (see `accounts::join_and_send`). A resend with the same `client_msg_id` cannot repeat it:
/// the nickname is taken by then.
#[server(endpoint = "join_and_send")]
pub async fn join_and_send(
    nickname: String,
    room_id: RoomId,
    client_msg_id: String,
    body: String,
) -> Result<FirstSend, AppError> {
    context::respond(async move {
        let state = context::app_state()?;
        let first = accounts::FirstMessage { room_id, client_msg_id: &client_msg_id, body: &body };
        let address = context::client_address(&state);
        let (sent, session) = accounts::join_and_send(&state, &nickname, first, address).await?;
        context::give_session(&state, &session);
        Ok(sent)
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
        let address = context::client_address(&state).map(|ip| ip.to_string()).unwrap_or_default();
        let (account, session) = accounts::sign_in(&state, &nickname, password, &address).await?;
        context::give_session(&state, &session);
        Ok(account)
    })
    .await
}

/// Bans a user (admins only): their sessions end, their sockets close, and they cannot sign in again.
#[server(endpoint = "ban_user")]
pub async fn ban_user(user_id: UserId) -> Result<(), AppError> {
    context::respond(async move {
        let (state, account) = context::signed_in().await?;
        accounts::ban(&state, &account, user_id).await
    })
    .await
}
