//! Accounts, sessions, bots, roles and renames.

use rusqlite::OptionalExtension;

use crate::protocol::{Account, GENERAL_ROOM_ID, SERVER_NAME};
use crate::server::identity::Nickname;

use super::rooms::add_member;
use super::rows::{account_from_row, taken_if_unique, ACCOUNT_COLUMNS};
use super::*;

impl SqliteStore {
    /// A user by nickname key (bots included, banned users not).
    pub(super) async fn user_by_key(&self, nickname_key: String) -> Result<Option<Account>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!("{ACCOUNT_COLUMNS} WHERE nickname_key = ?1 AND banned_at IS NULL"))?
                .query_row([&nickname_key], account_from_row)
                .optional()
        })
        .await
    }

    pub(super) async fn user_by_id(&self, user_id: UserId) -> Result<Option<Account>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!("{ACCOUNT_COLUMNS} WHERE id = ?1 AND banned_at IS NULL"))?
                .query_row([user_id], account_from_row)
                .optional()
        })
        .await
    }

    /// Creates a user (the first person becomes admin) and a session for them, in one transaction.
    pub(super) async fn create_user(
        &self,
        nickname: Nickname,
        session_hash: Vec<u8>,
        expires_at: i64,
    ) -> Result<Account, DbError> {
        self.write(move |tx| {
            let now = now_millis();
            let id: UserId = tx
                .query_row(
                    "INSERT INTO users (nickname, nickname_key, role, created_at)
                     VALUES (?1, ?2, CASE WHEN EXISTS (SELECT 1 FROM users WHERE NOT is_bot) THEN 'member' ELSE 'admin' END, ?3)
                     RETURNING id",
                    (&nickname.display, &nickname.key, now),
                    |row| row.get(0),
                )
                .map_err(taken_if_unique)?;
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                (&session_hash, id, now, expires_at),
            )?;
            add_member(tx, GENERAL_ROOM_ID, id)?;
            Ok(tx.query_row(&format!("{ACCOUNT_COLUMNS} WHERE id = ?1"), [id], account_from_row)?)
        })
        .await
    }

    /// The account behind a session token hash, if the session exists, has not expired, and its
    /// user is not banned.
    pub(super) async fn session_account(&self, session_hash: Vec<u8>) -> Result<Option<Account>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "{ACCOUNT_COLUMNS} WHERE banned_at IS NULL AND id = (SELECT user_id FROM sessions
                 WHERE token_hash = ?1 AND (expires_at IS NULL OR expires_at > ?2))"
            ))?
            .query_row((&session_hash, now_millis()), account_from_row)
            .optional()
        })
        .await
    }

    pub(super) async fn create_session(
        &self,
        user_id: UserId,
        session_hash: Vec<u8>,
        expires_at: i64,
    ) -> Result<(), DbError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                (&session_hash, user_id, now_millis(), expires_at),
            )?;
            Ok(())
        })
        .await
    }

    pub(super) async fn set_password_hash(&self, user_id: UserId, password_hash: String) -> Result<(), DbError> {
        self.write(move |tx| {
            tx.execute("UPDATE users SET password_hash = ?1 WHERE id = ?2", (&password_hash, user_id))?;
            Ok(())
        })
        .await
    }

    /// The account with this nickname key and its password hash, unless banned or a bot.
    pub(super) async fn credentials(&self, nickname_key: String) -> Result<Option<Credentials>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT id, nickname, role, is_bot, password_hash FROM users
                 WHERE nickname_key = ?1 AND banned_at IS NULL AND NOT is_bot",
            )?
            .query_row([&nickname_key], |row| {
                Ok(Credentials { account: account_from_row(row)?, password_hash: row.get(4)? })
            })
            .optional()
        })
        .await
    }

    /// Bans a user: they can no longer sign in, and every session of theirs ends. Their nickname stays
    /// taken. `None` if there is no such user.
    pub(super) async fn ban(&self, user_id: UserId) -> Result<Option<Account>, DbError> {
        self.write_telling(
            move |tx| {
                tx.execute(
                    "UPDATE users SET banned_at = coalesce(banned_at, ?2) WHERE id = ?1",
                    (user_id, now_millis()),
                )?;
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
                let account = tx
                    .query_row(&format!("{ACCOUNT_COLUMNS} WHERE id = ?1"), [user_id], account_from_row)
                    .optional()?;
                Ok(account)
            },
            move |account, events| {
                if account.is_some() {
                    events(StoreEvent::UserBanned { user_id });
                }
            },
        )
        .await
    }

    /// Makes the user with this nickname key an admin; `None` if there is no such user.
    pub(super) async fn make_admin(&self, nickname_key: String) -> Result<Option<Account>, DbError> {
        self.write(move |tx| {
            tx.execute("UPDATE users SET role = 'admin' WHERE nickname_key = ?1 AND NOT is_bot", [&nickname_key])?;
            let account = tx
                .query_row(&format!("{ACCOUNT_COLUMNS} WHERE nickname_key = ?1"), [&nickname_key], account_from_row)
                .optional()?;
            Ok(account)
        })
        .await
    }

    /// Creates a bot user with a token session that does not expire.
    pub(super) async fn create_bot(&self, nickname: Nickname, token_hash: Vec<u8>) -> Result<Account, DbError> {
        self.write(move |tx| {
            let now = now_millis();
            let id: UserId = tx
                .query_row(
                    "INSERT INTO users (nickname, nickname_key, is_bot, created_at) VALUES (?1, ?2, 1, ?3) RETURNING id",
                    (&nickname.display, &nickname.key, now),
                    |row| row.get(0),
                )
                .map_err(taken_if_unique)?;
            tx.execute("INSERT INTO sessions (token_hash, user_id, created_at) VALUES (?1, ?2, ?3)", (&token_hash, id, now))?;
            add_member(tx, GENERAL_ROOM_ID, id)?;
            Ok(tx.query_row(&format!("{ACCOUNT_COLUMNS} WHERE id = ?1"), [id], account_from_row)?)
        })
        .await
    }

    /// The built-in "Natter" account that authors announcements; created on first use. Nobody can
    /// take its nickname (it is reserved) or sign in as it with a password.
    pub(super) async fn system_account(&self) -> Result<Account, DbError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO users (nickname, nickname_key, role, is_bot, created_at) VALUES (?1, 'natter', 'admin', 1, ?2)
                 ON CONFLICT (nickname_key) DO NOTHING",
                (SERVER_NAME, now_millis()),
            )?;
            Ok(tx.query_row(&format!("{ACCOUNT_COLUMNS} WHERE nickname_key = 'natter'"), [], account_from_row)?)
        })
        .await
    }

    pub(super) async fn end_session(&self, session_hash: Vec<u8>) -> Result<(), DbError> {
        self.write_telling(
            move |tx| {
                tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [&session_hash])?;
                Ok(session_hash)
            },
            |session_hash, events| events(StoreEvent::SessionEnded { session_hash }),
        )
        .await
        .map(drop)
    }

    /// Renames a user; `NicknameTaken` if another user's nickname looks the same.
    pub(super) async fn rename(&self, user_id: UserId, nickname: Nickname) -> Result<(), DbError> {
        self.write_telling(
            move |tx| {
                let from: String =
                    tx.query_row("SELECT nickname FROM users WHERE id = ?1", [user_id], |row| row.get(0))?;
                tx.execute(
                    "UPDATE users SET nickname = ?1, nickname_key = ?2 WHERE id = ?3",
                    (&nickname.display, &nickname.key, user_id),
                )
                .map_err(taken_if_unique)?;
                Ok((from, nickname.display))
            },
            move |(from, to), events| events(StoreEvent::UserRenamed { user_id, from, to }),
        )
        .await
        .map(drop)
    }
}
