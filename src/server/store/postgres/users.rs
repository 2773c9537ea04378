//! Accounts, sessions, bots, roles and renames.

use crate::protocol::{Account, GENERAL_ROOM_ID, SERVER_NAME};
use crate::server::identity::Nickname;

use super::rooms::add_member;
use super::rows::{account_from_row, execute, query_one, query_opt, taken_if_unique, ACCOUNT_COLUMNS};
use super::*;

impl PostgresStore {
    /// A user by nickname key (bots included, banned users not).
    pub(super) async fn user_by_key(&self, nickname_key: String) -> Result<Option<Account>, DbError> {
        let conn = self.reader().await?;
        let sql = format!("{ACCOUNT_COLUMNS} WHERE nickname_key = $1 AND banned_at IS NULL");
        query_opt(&conn, &sql, &[&nickname_key]).await?.map(|row| account_from_row(&row)).transpose()
    }

    pub(super) async fn user_by_id(&self, user_id: UserId) -> Result<Option<Account>, DbError> {
        let conn = self.reader().await?;
        let sql = format!("{ACCOUNT_COLUMNS} WHERE id = $1 AND banned_at IS NULL");
        query_opt(&conn, &sql, &[&user_id]).await?.map(|row| account_from_row(&row)).transpose()
    }

    /// Creates a user (the first person becomes admin) and a session for them, in one transaction.
    pub(super) async fn create_user(
        &self,
        nickname: Nickname,
        session_hash: Vec<u8>,
        expires_at: i64,
    ) -> Result<Account, DbError> {
        self.write(move |tx| {
            Box::pin(async move {
                let now = now_millis();
                let id: UserId = query_one(
                    tx,
                    "INSERT INTO users (nickname, nickname_key, role, created_at)
                     VALUES ($1, $2, CASE WHEN EXISTS (SELECT 1 FROM users WHERE NOT is_bot) THEN 'member' ELSE 'admin' END, $3)
                     RETURNING id",
                    &[&nickname.display, &nickname.key, &now],
                )
                .await
                .map_err(taken_if_unique)?
                .try_get(0)?;
                execute(
                    tx,
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                    &[&session_hash, &id, &now, &expires_at],
                )
                .await?;
                add_member(tx, GENERAL_ROOM_ID, id).await?;
                account_from_row(&query_one(tx, &format!("{ACCOUNT_COLUMNS} WHERE id = $1"), &[&id]).await?)
            })
        })
        .await
    }

    /// The account behind a session token hash, if the session exists, has not expired, and its
    /// user is not banned.
    pub(super) async fn session_account(&self, session_hash: Vec<u8>) -> Result<Option<Account>, DbError> {
        let conn = self.reader().await?;
        let sql = format!(
            "{ACCOUNT_COLUMNS} WHERE banned_at IS NULL AND id = (SELECT user_id FROM sessions
             WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2))"
        );
        query_opt(&conn, &sql, &[&session_hash, &now_millis()]).await?.map(|row| account_from_row(&row)).transpose()
    }

    pub(super) async fn create_session(
        &self,
        user_id: UserId,
        session_hash: Vec<u8>,
        expires_at: i64,
    ) -> Result<(), DbError> {
        self.write(move |tx| {
            Box::pin(async move {
                execute(
                    tx,
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                    &[&session_hash, &user_id, &now_millis(), &expires_at],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    pub(super) async fn set_password_hash(&self, user_id: UserId, password_hash: String) -> Result<(), DbError> {
        self.write(move |tx| {
            Box::pin(async move {
                execute(tx, "UPDATE users SET password_hash = $1 WHERE id = $2", &[&password_hash, &user_id]).await?;
                Ok(())
            })
        })
        .await
    }

    /// The account with this nickname key and its password hash, unless banned or a bot.
    pub(super) async fn credentials(&self, nickname_key: String) -> Result<Option<Credentials>, DbError> {
        let conn = self.reader().await?;
        let row = query_opt(
            &conn,
            "SELECT id, nickname, role, is_bot, password_hash FROM users
             WHERE nickname_key = $1 AND banned_at IS NULL AND NOT is_bot",
            &[&nickname_key],
        )
        .await?;
        row.map(|row| Ok(Credentials { account: account_from_row(&row)?, password_hash: row.try_get(4)? })).transpose()
    }

    /// Bans a user: they can no longer sign in, and every session of theirs ends. Their nickname stays
    /// taken. `None` if there is no such user.
    pub(super) async fn ban(&self, user_id: UserId) -> Result<Option<Account>, DbError> {
        self.write_telling(
            move |tx| {
                Box::pin(async move {
                    let sql = "UPDATE users SET banned_at = coalesce(banned_at, $2) WHERE id = $1";
                    execute(tx, sql, &[&user_id, &now_millis()]).await?;
                    execute(tx, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await?;
                    let sql = format!("{ACCOUNT_COLUMNS} WHERE id = $1");
                    query_opt(tx, &sql, &[&user_id]).await?.map(|row| account_from_row(&row)).transpose()
                })
            },
            move |account| account.iter().map(|_| Told::Banned(user_id)).collect(),
        )
        .await
    }

    /// Makes the user with this nickname key an admin; `None` if there is no such user.
    pub(super) async fn make_admin(&self, nickname_key: String) -> Result<Option<Account>, DbError> {
        self.write(move |tx| {
            Box::pin(async move {
                let sql = "UPDATE users SET role = 'admin' WHERE nickname_key = $1 AND NOT is_bot";
                execute(tx, sql, &[&nickname_key]).await?;
                let sql = format!("{ACCOUNT_COLUMNS} WHERE nickname_key = $1");
                query_opt(tx, &sql, &[&nickname_key]).await?.map(|row| account_from_row(&row)).transpose()
            })
        })
        .await
    }

    /// Creates a bot user with a token session that does not expire.
    pub(super) async fn create_bot(&self, nickname: Nickname, token_hash: Vec<u8>) -> Result<Account, DbError> {
        self.write(move |tx| {
            Box::pin(async move {
                let now = now_millis();
                let id: UserId = query_one(
                    tx,
                    "INSERT INTO users (nickname, nickname_key, is_bot, created_at) VALUES ($1, $2, true, $3)
                     RETURNING id",
                    &[&nickname.display, &nickname.key, &now],
                )
                .await
                .map_err(taken_if_unique)?
                .try_get(0)?;
                execute(
                    tx,
                    "INSERT INTO sessions (token_hash, user_id, created_at) VALUES ($1, $2, $3)",
                    &[&token_hash, &id, &now],
                )
                .await?;
                add_member(tx, GENERAL_ROOM_ID, id).await?;
                account_from_row(&query_one(tx, &format!("{ACCOUNT_COLUMNS} WHERE id = $1"), &[&id]).await?)
            })
        })
        .await
    }

    /// The built-in "Natter" account that authors announcements; created on first use. Nobody can
    /// take its nickname (it is reserved) or sign in as it with a password.
    pub(super) async fn system_account(&self) -> Result<Account, DbError> {
        self.write(|tx| {
            Box::pin(async move {
                execute(
                    tx,
                    "INSERT INTO users (nickname, nickname_key, role, is_bot, created_at)
                     VALUES ($1, 'natter', 'admin', true, $2)
                     ON CONFLICT (nickname_key) DO NOTHING",
                    &[&SERVER_NAME, &now_millis()],
                )
                .await?;
                let sql = format!("{ACCOUNT_COLUMNS} WHERE nickname_key = 'natter'");
                account_from_row(&query_one(tx, &sql, &[]).await?)
            })
        })
        .await
    }

    pub(super) async fn end_session(&self, session_hash: Vec<u8>) -> Result<(), DbError> {
        self.write_telling(
            move |tx| {
                Box::pin(async move {
                    execute(tx, "DELETE FROM sessions WHERE token_hash = $1", &[&session_hash]).await?;
                    Ok(session_hash)
                })
            },
            |session_hash| vec![Told::SessionEnded(session_hash.clone())],
        )
        .await
        .map(drop)
    }

    /// Renames a user; `NicknameTaken` if another user's nickname looks the same.
    pub(super) async fn rename(&self, user_id: UserId, nickname: Nickname) -> Result<(), DbError> {
        self.write_telling(
            move |tx| {
                Box::pin(async move {
                    let from: String =
                        query_one(tx, "SELECT nickname FROM users WHERE id = $1 FOR UPDATE", &[&user_id])
                            .await?
                            .try_get(0)?;
                    execute(
                        tx,
                        "UPDATE users SET nickname = $1, nickname_key = $2 WHERE id = $3",
                        &[&nickname.display, &nickname.key, &user_id],
                    )
                    .await
                    .map_err(taken_if_unique)?;
                    Ok((from, nickname.display))
                })
            },
            move |(from, to)| vec![Told::Renamed { user_id, from: from.clone(), to: to.clone() }],
        )
        .await
        .map(drop)
    }
}
