//! Accounts and sessions: joining with a nickname, passwords, signing in and out, renaming, banning.
//! Server functions and the socket both come here, so each rule (the nickname's confusable key, the
//! sign-in throttle, who may ban whom) lives once. What reaches the browser (the session cookie) is
//! the caller's job: this module only decides and stores.

use crate::error::AppError;
use std::net::IpAddr;

use crate::protocol::{
    validate_body, validate_client_msg_id, validate_password, Account, ChatMessage, ErrorCode, FirstSend, MessageKind,
    Role, Room, RoomId, UserId, GENERAL_ROOM_ID,
};
use crate::server::store::Credentials;
use crate::server::AppState;
use crate::server::{identity, messages, rooms};

/// A session about to be stored: the token goes to the browser, its hash to the database.
pub(crate) struct NewSession {
    token: String,
    pub hash: Vec<u8>,
    pub expires_at: i64,
}

impl NewSession {
    pub(crate) fn issue(state: &AppState) -> Result<Self, AppError> {
        let token = identity::new_token()?;
        let expires_at = crate::server::store::now_millis() + identity::SESSION_DAYS * 24 * 3600 * 1000;
        Ok(Self { hash: state.secret.token_hash(&token), token, expires_at })
    }

    /// The cookie that carries the token; `secure` when the request came over https.
    pub(crate) fn cookie(&self, secure: bool) -> axum::http::HeaderValue {
        identity::session_cookie(&self.token, secure)
    }
}

/// Creates an account with this nickname and a session for it.
pub(crate) async fn join(state: &AppState, nickname: &str) -> Result<(Account, NewSession), AppError> {
    let nickname = identity::nickname(nickname)?;
    let session = NewSession::issue(state)?;
    let account = state.store.create_user(nickname, session.hash.clone(), session.expires_at).await?;
    tracing::info!(user_id = account.id.get(), nickname = %account.nickname, "new user");
    Ok((account, session))
}

/// A visitor's first message, typed with the nickname that makes their account.
pub(crate) struct FirstMessage<'a> {
    pub room_id: RoomId,
    pub client_msg_id: &'a str,
    pub body: &'a str,
}

/// Creates an account and posts its first message in one step, the gesture of the page Natter grew
/// from. What can be refused without an account is checked first, so a refused message makes no
/// account; once the account exists the answer carries it even if posting then fails, because the
/// browser is signed in by then and must know as whom.
pub(crate) async fn join_and_send(
    state: &AppState,
    nickname: &str,
    first: FirstMessage<'_>,
    address: Option<IpAddr>,
) -> Result<(FirstSend, NewSession), AppError> {
    validate_body(first.body)?;
    validate_client_msg_id(first.client_msg_id)?;
    // Everyone is in general from the start; any other room must be one a visitor may join.
    let joins_room = first.room_id != GENERAL_ROOM_ID;
    if joins_room {
        rooms::joinable(state, first.room_id).await?;
    }
    let (account, session) = join(state, nickname).await?;
    let (room, posted) = post_first(state, &account, &first, joins_room, address).await;
    let posted = posted.map_err(|refused| refused.to_string());
    Ok((FirstSend { account, room, posted }, session))
}

/// Joins the room if it must and posts there, within the same message limits as a socket's `send`.
async fn post_first(
    state: &AppState,
    account: &Account,
    first: &FirstMessage<'_>,
    joins_room: bool,
    address: Option<IpAddr>,
) -> (Option<Room>, Result<ChatMessage, AppError>) {
    let room = if joins_room {
        match rooms::join(state, account, first.room_id).await {
            Ok(room) => Some(room),
            Err(refused) => return (None, Err(refused)),
        }
    } else {
        None
    };
    let posted = match state.frame_limits.message(account.id, address) {
        Ok(()) => {
            messages::post(state, account, first.room_id, first.client_msg_id, first.body, MessageKind::Chat).await
        }
        Err(too_fast) => Err(too_fast.into()),
    };
    (room, posted)
}

/// Checks a nickname and password and opens a session. Failed attempts slow further tries of that
/// nickname from that `address`, and cut off an address guessing widely (429 with the wait), without
/// letting a stranger lock the owner out from elsewhere.
pub(crate) async fn sign_in(
    state: &AppState,
    nickname: &str,
    password: String,
    address: &str,
) -> Result<(Account, NewSession), AppError> {
    let key = identity::nickname(nickname).map_or_else(|_| nickname.to_owned(), |n| n.key);
    let throttle = &state.sign_in_throttle;
    if let Err(wait) = throttle.check(&key, address) {
        let wait = crate::text::time_format::wait(wait);
        return Err(AppError::refused(
            ErrorCode::RateLimited,
            format!("Too many failed sign-ins from here. Try again in {wait}."),
        ));
    }
    let verified = match state.store.credentials(key.clone()).await? {
        // Argon2 takes tens of milliseconds of CPU: off the async runtime.
        Some(Credentials { account, password_hash: Some(hash) }) => {
            tokio::task::spawn_blocking(move || identity::verify_password(&password, &hash).then_some(account)).await?
        }
        _ => None,
    };
    let Some(account) = verified else {
        throttle.fail(&key, address);
        return Err(AppError::refused(ErrorCode::SignInFailed, "Wrong nickname or password."));
    };
    throttle.succeed(&key, address);
    let session = NewSession::issue(state)?;
    state.store.create_session(account.id, session.hash.clone(), session.expires_at).await?;
    Ok((account, session))
}

/// Ends a session and closes the sockets opened with it.
pub(crate) async fn sign_out(state: &AppState, session: Vec<u8>) -> Result<(), AppError> {
    // The store tells every Natter's hub to close the session's sockets.
    Ok(state.store.end_session(session).await?)
}

/// Sets (or replaces) an account's password, so its owner can sign in on other devices.
pub(crate) async fn set_password(state: &AppState, account: &Account, password: String) -> Result<(), AppError> {
    validate_password(&password)?;
    let hash = tokio::task::spawn_blocking(move || identity::hash_password(&password)).await??;
    Ok(state.store.set_password_hash(account.id, hash).await?)
}

/// Renames an account everywhere (its other tabs and every reader learn it from the store's
/// `UserRenamed`, on every Natter); returns the name as it will be shown.
pub(crate) async fn rename(state: &AppState, account: &Account, requested: &str) -> Result<String, AppError> {
    let nickname = identity::nickname(requested)?;
    if nickname.display == account.nickname {
        return Ok(nickname.display);
    }
    let display = nickname.display.clone();
    state.store.rename(account.id, nickname).await?;
    Ok(display)
}

/// An admin bans a user: their sessions end, their sockets close, and they cannot sign in again.
pub(crate) async fn ban(state: &AppState, admin: &Account, user_id: UserId) -> Result<(), AppError> {
    if admin.role != Role::Admin {
        return Err(AppError::refused(ErrorCode::Forbidden, "Only admins can ban."));
    }
    if user_id == admin.id {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "You cannot ban yourself."));
    }
    if user_id == state.store.system_account().await?.id {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "Natter itself cannot be banned."));
    }
    let Some(banned) = state.store.ban(user_id).await? else {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "There is no such user."));
    };
    tracing::info!(user_id = user_id.get(), nickname = %banned.nickname, by = %admin.nickname, "user banned");
    Ok(())
}
