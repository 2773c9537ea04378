//! Server functions: the request/response side of Natter (accounts, history pages, who is online).
//! Thin by design: validate, ask the store or hub, map errors. Live traffic goes over `/ws` instead.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::protocol::{Account, ChatMessage, OnlineUser};

/// Up to `limit` messages (default 50, at most 200) older than the message id `before`, or the
/// newest ones; oldest first.
#[server(endpoint = "history", input = GetUrl)]
pub async fn get_history(before: Option<i64>, limit: Option<u32>) -> Result<Vec<ChatMessage>, AppError> {
    crate::server::respond(async move {
        if before.is_some_and(|id| id < 1) {
            let refused = crate::protocol::Rejection::new(
                crate::protocol::ErrorCode::InvalidRequest,
                "before must be a message id (1 or more)",
            );
            return Err(refused.into());
        }
        let state = crate::server::app_state()?;
        let limit = crate::protocol::history_limit(limit);
        state.store.history(before, limit).await.map_err(|error| AppError::internal("history", &error))
    })
    .await
}

/// Everyone online now, sorted by nickname, with whether they are idle.
#[server(endpoint = "online", input = GetUrl)]
pub async fn get_online() -> Result<Vec<OnlineUser>, AppError> {
    crate::server::respond(async move { Ok(crate::server::app_state()?.hub.online()) }).await
}

/// The signed-in account, or `None` for a visitor.
#[server(endpoint = "me", input = GetUrl)]
pub async fn get_me() -> Result<Option<Account>, AppError> {
    crate::server::respond(async move {
        let state = crate::server::app_state()?;
        Ok(crate::server::current_session(&state).await?.map(|(account, _)| account))
    })
    .await
}

/// Creates an account with this nickname and signs the browser in (an HttpOnly session cookie).
#[server(endpoint = "join")]
pub async fn join_chat(nickname: String) -> Result<Account, AppError> {
    crate::server::respond(async move {
        use crate::identity;
        let state = crate::server::app_state()?;
        let nickname = identity::nickname(&nickname)?;
        let session = crate::server::NewSession::issue(&state)?;
        let account = match state.store.create_user(nickname, session.hash.clone(), session.expires_at).await {
            Ok(account) => account,
            Err(crate::db::DbError::NicknameTaken) => return Err(identity::nickname_taken().into()),
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
    crate::server::respond(async move {
        let state = crate::server::app_state()?;
        if let Some((_, session)) = crate::server::current_session(&state).await? {
            state.store.end_session(session.clone()).await.map_err(|error| AppError::internal("sign out", &error))?;
            state.hub.end_session(&session);
        }
        crate::server::set_cookie(crate::identity::expired_cookie());
        Ok(())
    })
    .await
}

/// Sets (or replaces) the signed-in user's password, so they can sign in on other devices.
#[server(endpoint = "set_password")]
pub async fn set_password(password: String) -> Result<(), AppError> {
    crate::server::respond(async move {
        crate::protocol::validate_password(&password)?;
        let (state, account) = crate::server::signed_in().await?;
        let hash = tokio::task::spawn_blocking(move || crate::identity::hash_password(&password))
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

/// Signs this browser in as an existing user with a password. Failed attempts are limited per
/// nickname and per address (429 with the wait when exceeded).
#[server(endpoint = "sign_in")]
pub async fn sign_in(nickname: String, password: String) -> Result<Account, AppError> {
    crate::server::respond(async move {
        use crate::protocol::{ErrorCode, Rejection};
        let state = crate::server::app_state()?;
        let key = crate::identity::nickname(&nickname).map(|n| n.key).unwrap_or(nickname);
        let address = crate::server::client_address().map(|ip| ip.to_string()).unwrap_or_default();
        let throttle = &state.sign_in_throttle;
        if let Err(wait) = throttle.by_nickname.check(&key).and(throttle.by_address.check(&address)) {
            let minutes = wait.as_secs().div_ceil(60);
            let message = format!("Too many failed sign-ins. Try again in {minutes} minute(s).");
            return Err(Rejection::new(ErrorCode::RateLimited, message).into());
        }
        let credentials =
            state.store.credentials(key.clone()).await.map_err(|error| AppError::internal("sign in", &error))?;
        let verified = match credentials {
            Some((account, Some(hash))) => tokio::task::spawn_blocking(move || {
                crate::identity::verify_password(&password, &hash).then_some(account)
            })
            .await
            .map_err(|error| AppError::internal("verify password", &error))?,
            _ => None,
        };
        let Some(account) = verified else {
            throttle.by_nickname.fail(&key);
            throttle.by_address.fail(&address);
            return Err(Rejection::new(ErrorCode::SignInFailed, "Wrong nickname or password.").into());
        };
        throttle.by_nickname.clear(&key);
        let session = crate::server::NewSession::issue(&state)?;
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

/// Deletes a message: its author may, and so may any admin. Everyone sees a placeholder from then on.
#[server(endpoint = "delete_message")]
pub async fn delete_message(id: i64) -> Result<(), AppError> {
    crate::server::respond(async move {
        use crate::protocol::{ErrorCode, Rejection, Role};
        let (state, account) = crate::server::signed_in().await?;
        let failed = |error: crate::db::DbError| AppError::internal("delete message", &error);
        let Some(author) = state.store.message_author(id).await.map_err(failed)? else {
            return Err(Rejection::new(
                ErrorCode::InvalidRequest,
                "There is no such message (or it is already deleted).",
            )
            .into());
        };
        if author != account.id && account.role != Role::Admin {
            return Err(
                Rejection::new(ErrorCode::Forbidden, "Only the author or an admin can delete a message.").into()
            );
        }
        if state.store.delete_message(id).await.map_err(failed)? {
            state.hub.publish_deleted(id);
            tracing::info!(id, by = %account.nickname, "message deleted");
        }
        Ok(())
    })
    .await
}

/// Bans a user (admins only): their sessions end, their sockets close, and they cannot sign in again.
#[server(endpoint = "ban_user")]
pub async fn ban_user(user_id: i64) -> Result<(), AppError> {
    crate::server::respond(async move {
        use crate::protocol::{ErrorCode, Rejection, Role};
        let (state, account) = crate::server::signed_in().await?;
        if account.role != Role::Admin {
            return Err(Rejection::new(ErrorCode::Forbidden, "Only admins can ban.").into());
        }
        if user_id == account.id {
            return Err(Rejection::new(ErrorCode::InvalidRequest, "You cannot ban yourself.").into());
        }
        let failed = |error: crate::db::DbError| AppError::internal("ban", &error);
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
