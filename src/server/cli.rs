//! The admin commands of the `natter` binary. They use the same settings as the server to find its
//! database (and, for announcements, the running server itself), so they work beside a running
//! Natter: SQLite lets them write while it serves.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::protocol::{Account, MessageId, Rejection};
use crate::server::config::Settings;
use crate::server::identity::{self, Secret, SecretError};
use crate::server::store::{self, now_millis, DbError, MoveError, Moved, Progress, Store, StoreLocation};

/// An announcement's admin token lives only this long.
const ANNOUNCE_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("{0}")]
    Refused(#[from] Rejection),
    #[error("there is no user called {0:?}")]
    NoSuchUser(String),
    #[error("cannot reach the running server at {addr}: {source} (is it running? use --addr)")]
    Unreachable { addr: SocketAddr, source: std::io::Error },
    #[error("the server refused: HTTP {status}: {body}")]
    Server { status: u16, body: String },
    #[error("load: {0}")]
    Load(#[from] crate::server::load::LoadError),
    #[error("{0} already exists: name a new file for the backup")]
    BackupExists(std::path::PathBuf),
    /// A command that works on a SQLite file, given a PostgreSQL `--db`.
    #[error("`natter {command}` works on a SQLite database only; for PostgreSQL use {instead}")]
    SqliteOnly { command: &'static str, instead: &'static str },
    #[error("`natter move-to` needs a postgres:// (or postgresql://) URL, not {0:?}")]
    NotPostgres(String),
    #[error("{0}")]
    Move(#[from] MoveError),
}

async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, CliError> {
    Ok(store::open(&settings.store(), Box::new(|_| {})).await?)
}

/// `natter admin NICKNAME`
pub async fn make_admin(settings: &Settings, nickname: &str) -> Result<Account, CliError> {
    let key = identity::nickname(nickname)?.key;
    let store = open_store(settings).await?;
    let account = store.make_admin(key).await?;
    store.shutdown().await;
    account.ok_or_else(|| CliError::NoSuchUser(nickname.to_owned()))
}

/// `natter bot create NAME`: the bot's account and its token (shown once, stored only hashed).
pub async fn create_bot(settings: &Settings, name: &str) -> Result<(Account, String), CliError> {
    let nickname = identity::nickname(name)?;
    let secret = Secret::load(&settings.data_folder())?;
    let token = identity::new_token()?;
    let store = open_store(settings).await?;
    let created = store.create_bot(nickname, secret.token_hash(&token)).await;
    store.shutdown().await;
    match created {
        Ok(account) => Ok((account, token)),
        Err(DbError::NicknameTaken) => Err(identity::nickname_taken().into()),
        Err(error) => Err(error.into()),
    }
}

/// `natter backup PATH`: a consistent copy of the database in a new file, taken while the server may
/// be running (see `store::backup`). Returns the copy's size in bytes.
pub async fn backup(settings: &Settings, to: &std::path::Path) -> Result<u64, CliError> {
    let StoreLocation::Sqlite(db) = settings.store() else {
        return Err(CliError::SqliteOnly { command: "backup", instead: "pg_dump" });
    };
    if to.exists() {
        return Err(CliError::BackupExists(to.to_owned()));
    }
    let target = to.to_owned();
    tokio::task::spawn_blocking(move || store::backup(&db, &target)).await.map_err(DbError::from)??;
    Ok(std::fs::metadata(to).map(|meta| meta.len()).unwrap_or(0))
}

/// `natter move-to URL`: moves the SQLite database `--db` names into the empty PostgreSQL
/// database `url` names (see `store::move_to_postgres`), telling `progress` as it goes.
pub async fn move_to(
    settings: &Settings,
    url: &str,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Moved, CliError> {
    let StoreLocation::Sqlite(db) = settings.store() else {
        return Err(CliError::SqliteOnly { command: "move-to", instead: "pg_dump and pg_restore" });
    };
    if !matches!(StoreLocation::parse(std::path::Path::new(url)), StoreLocation::Postgres(_)) {
        return Err(CliError::NotPostgres(url.to_owned()));
    }
    Ok(store::move_to_postgres(&db, url, progress).await?)
}

/// How `natter move-to` shows a step on stderr: the source's sizes, then `messages 50000/120000`.
pub fn progress_line(step: &Progress) -> String {
    match step {
        Progress::Counted { tables, upgraded_from } => {
            let upgraded = upgraded_from
                .map(|version| format!(" (its schema was brought up to date from version {version} first)"))
                .unwrap_or_default();
            format!("Read one snapshot of the SQLite database{upgraded}: {}", counts(tables))
        }
        Progress::TargetReady => "The PostgreSQL database is migrated, locked and empty; copying.".into(),
        Progress::Copied { table, copied, total } => format!("{table} {copied}/{total}"),
        Progress::Committing => "Every row is copied; setting the id counters and committing.".into(),
    }
}

/// What `natter move-to` says once the move has committed, including what the operator still moves.
pub fn moved_report(settings: &Settings, url: &str, moved: &Moved) -> String {
    let target = StoreLocation::parse(std::path::Path::new(url));
    format!(
        "Moved {} to {target} in {:.1} s: {}.\n\
         Uploaded files and the key file are not in the database: copy (or mount) the data folder {} \
         (files/ and natter.key) as the new nodes' data_dir, or sessions end and files are missing. \
         Then start the nodes with --db {target}.",
        settings.db.display(),
        moved.elapsed.as_secs_f64(),
        counts(&moved.tables),
        settings.data_folder().display(),
    )
}

fn counts(tables: &[(&str, u64)]) -> String {
    tables.iter().map(|(table, rows)| format!("{table} {rows}")).collect::<Vec<_>>().join(", ")
}

/// Where an announcement goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnounceTo<'a> {
    /// Everyone: the general room, which everyone is in.
    Everyone,
    Room(&'a str),
    User(&'a str),
}

impl<'a> AnnounceTo<'a> {
    pub fn from_flags(room: Option<&'a str>, user: Option<&'a str>) -> Self {
        match (room, user) {
            (Some(room), _) => Self::Room(room),
            (None, Some(user)) => Self::User(user),
            (None, None) => Self::Everyone,
        }
    }
}

/// `natter announce [--room R | --user U] TEXT`: mints a short-lived token for the built-in Natter
/// admin account and posts the announcement through the running server, so open screens get it live.
pub async fn announce(settings: &Settings, to: AnnounceTo<'_>, text: &str) -> Result<MessageId, CliError> {
    let secret = Secret::load(&settings.data_folder())?;
    let token = identity::new_token()?;
    let store = open_store(settings).await?;
    let natter = store.system_account().await?;
    let expires_at = now_millis() + ANNOUNCE_TOKEN_LIFETIME.as_millis() as i64;
    store.create_session(natter.id, secret.token_hash(&token), expires_at).await?;
    let body = match to {
        AnnounceTo::Everyone => serde_json::json!({ "text": text }),
        AnnounceTo::Room(room) => serde_json::json!({ "text": text, "room": room }),
        AnnounceTo::User(user) => serde_json::json!({ "text": text, "user": user }),
    }
    .to_string();
    let posted = post_json(server_address(settings.addr), "/api/announce", &token, &body).await;
    store.end_session(secret.token_hash(&token)).await?;
    store.shutdown().await;
    let (status, answer) = posted?;
    if status != 200 {
        return Err(CliError::Server { status, body: answer });
    }
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    Ok(MessageId(answer["id"].as_i64().unwrap_or_default()))
}

/// Where to reach the server from this machine: a wildcard listen address means loopback.
fn server_address(listen: SocketAddr) -> SocketAddr {
    if listen.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], listen.port()))
    } else {
        listen
    }
}

/// A JSON POST with a bearer token: its status and body.
async fn post_json(addr: SocketAddr, path: &str, token: &str, body: &str) -> Result<(u16, String), CliError> {
    let auth = format!("Authorization: Bearer {token}\r\n");
    let response = http_post(addr, path, &auth, "application/json", body)
        .await
        .map_err(|source| CliError::Unreachable { addr, source })?;
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// One HTTP/1.0 POST to our own server (`headers` are extra lines, each ending in CRLF); returns the
/// whole response. Enough for the admin commands and the load tool, without an HTTP client dependency.
pub(crate) async fn http_post(
    addr: SocketAddr,
    path: &str,
    headers: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}Content-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}
