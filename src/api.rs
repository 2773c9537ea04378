//! Server functions: the request/response side of Natter (accounts, history pages, who is online).
//! Thin by design: validate, ask the store or hub, map errors. Live traffic goes over `/ws` instead.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::protocol::{Account, ChatMessage};

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

/// Nicknames online now, sorted.
#[server(endpoint = "online", input = GetUrl)]
pub async fn get_online() -> Result<Vec<String>, AppError> {
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
        let token = identity::new_token().map_err(|error| AppError::internal("new session", &error))?;
        let expires_at = crate::db::now_millis() + identity::SESSION_DAYS * 24 * 3600 * 1000;
        let account = match state.store.create_user(nickname, state.secret.token_hash(&token), expires_at).await {
            Ok(account) => account,
            Err(crate::db::DbError::NicknameTaken) => return Err(identity::nickname_taken().into()),
            Err(error) => return Err(AppError::internal("create user", &error)),
        };
        crate::server::set_cookie(identity::session_cookie(&token, crate::server::request_is_https()));
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
