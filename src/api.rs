//! Server functions: the request/response side of Natter (history pages, who is online). Thin by
//! design: validate, ask the store or hub, map errors. Live traffic goes over `/ws` instead.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::protocol::ChatMessage;

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
