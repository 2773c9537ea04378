//! Moving a SQLite install into an empty PostgreSQL database (`natter move-to`): what moves, and the
//! plumbing between the two engines. The SQLite side (`sqlite/transfer.rs`) reads one snapshot on a
//! thread of its own, table by table in batches; the PostgreSQL side (`postgres/transfer.rs`)
//! migrates the target, refuses one that holds Natter data, and copies every batch with binary
//! `COPY`, all in one transaction, so a failure leaves the target as it was. Rows keep their ids,
//! revisions, times, hashes and tokens; only the shape of a value changes (SQLite's 0/1 becomes a
//! boolean), never its meaning.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::DbError;

/// Rows per batch: one `COPY` each, and what the reader may run ahead of the writer (times
/// `READ_AHEAD`). Big enough that a round trip per batch costs nothing, small enough to report
/// progress often and keep memory flat.
pub(crate) const BATCH: usize = 5_000;
/// Batches the reader may have read that the writer has not copied yet.
const READ_AHEAD: usize = 4;

/// How a column's values travel: the SQLite storage class the reader expects, and the PostgreSQL
/// type the writer sends (`BIGINT`, `TEXT`, `BYTEA`, `BOOLEAN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Text,
    Bytes,
    /// An INTEGER 0/1 in SQLite, a BOOLEAN in PostgreSQL.
    Bool,
}

/// One table that moves: its columns (every column both schemas have; PostgreSQL's generated
/// `search` is computed from `body` as rows arrive), the order it is read in, and whether its `id`
/// is handed out by a counter that must continue past the copied rows.
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    pub order: &'static str,
    pub counter: bool,
}

use Kind::{Bool, Bytes, Int, Text};

/// Every table of Natter's data, parents before children, so each foreign key finds its row. The
/// PostgreSQL-only `stream` and `schema_version` do not move: the migrations make the second, and
/// the first starts empty (see `postgres/transfer.rs`).
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ("id", Int),
            ("nickname", Text),
            ("nickname_key", Text),
            ("role", Text),
            ("is_bot", Bool),
            ("password_hash", Text),
            ("banned_at", Int),
            ("created_at", Int),
        ],
        order: "id",
        counter: true,
    },
    Table {
        name: "sessions",
        columns: &[("token_hash", Bytes), ("user_id", Int), ("created_at", Int), ("expires_at", Int)],
        order: "token_hash",
        counter: false,
    },
    Table {
        name: "rooms",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("name_key", Text),
            ("kind", Text),
            ("created_by", Int),
            ("created_at", Int),
            ("archived_at", Int),
        ],
        order: "id",
        counter: true,
    },
    Table {
        name: "memberships",
        columns: &[("room_id", Int), ("user_id", Int), ("joined_at", Int), ("last_read_id", Int), ("notify", Text)],
        order: "room_id, user_id",
        counter: false,
    },
    Table {
        name: "messages",
        columns: &[
            ("id", Int),
            ("room_id", Int),
            ("author_id", Int),
            ("nickname", Text),
            ("body", Text),
            ("sent_at", Int),
            ("client_msg_id", Text),
            ("kind", Text),
            ("deleted_at", Int),
            ("edited_at", Int),
            ("rev", Int),
        ],
        order: "id",
        counter: true,
    },
    Table {
        name: "reactions",
        columns: &[("message_id", Int), ("emoji", Text), ("user_id", Int), ("reacted_at", Int), ("rev", Int)],
        order: "message_id, emoji, user_id",
        counter: false,
    },
    Table {
        name: "mentions",
        columns: &[("user_id", Int), ("message_id", Int)],
        order: "user_id, message_id",
        counter: false,
    },
    Table {
        name: "files",
        columns: &[
            ("id", Text),
            ("message_id", Int),
            ("name", Text),
            ("content_type", Text),
            ("size", Int),
            ("width", Int),
            ("height", Int),
            ("created_at", Int),
        ],
        order: "id",
        counter: false,
    },
];

/// One column's value on its way from one engine to the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// One row, in its table's column order.
pub(crate) type Row = Vec<Value>;

/// What the reader tells the writer, in this order: the snapshot's sizes, then every table's rows
/// in batches (tables in `TABLES` order), then `Done`.
pub(crate) enum Reading {
    Snapshot(Snapshot),
    Rows { table: usize, rows: Vec<Row> },
    Done,
}

/// The source as the read transaction sees it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Snapshot {
    /// Rows per table, in `TABLES` order.
    pub counts: Vec<u64>,
    /// The highest id each counting table has ever handed out (SQLite's `sqlite_sequence`), which
    /// may be above its highest row: ids are never reused, so the target continues after it.
    pub counters: Vec<(String, i64)>,
    /// The schema version the source had, when it was older than this Natter's and was brought up
    /// to date first (as starting this Natter on it would have).
    pub upgraded_from: Option<usize>,
}

/// What a move reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The source's snapshot is open: rows per table, and the schema version it was upgraded from.
    Counted { tables: Vec<(&'static str, u64)>, upgraded_from: Option<usize> },
    /// The target is migrated, locked and empty; copying starts.
    TargetReady,
    /// `copied` of `total` rows of `table` are in the target (not yet committed).
    Copied { table: &'static str, copied: u64, total: u64 },
    /// Every row is copied; the id counters are set and the transaction commits.
    Committing,
}

/// A finished move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// Rows moved per table, in the order they were copied.
    pub tables: Vec<(&'static str, u64)>,
    pub elapsed: Duration,
    pub upgraded_from: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("there is no SQLite database at {0}")]
    NoSource(PathBuf),
    #[error("{path} is not a Natter database: {why}")]
    NotNatter { path: PathBuf, why: String },
    #[error("{table}.{column} holds {found}, which Natter never stores there: is this a Natter database?")]
    Unexpected { table: &'static str, column: &'static str, found: String },
    /// The target already holds Natter data; nothing was written.
    #[error(
        "the PostgreSQL database already holds Natter data ({0}); nothing was written. Move into a new, empty \
         database (createdb), or drop this one's tables if its data is not needed"
    )]
    TargetNotEmpty(String),
    #[error("the SQLite reader stopped before it read everything")]
    ReaderStopped,
    #[error("copied {copied} rows of {table} but the snapshot has {expected}; nothing was committed")]
    Incomplete { table: &'static str, copied: u64, expected: u64 },
    #[error("cannot start the SQLite reader thread: {0}")]
    Thread(std::io::Error),
}

impl From<rusqlite::Error> for MoveError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Db(error.into())
    }
}

impl From<tokio_postgres::Error> for MoveError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Db(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for MoveError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Self::Db(error.into())
    }
}

/// Moves the SQLite database at `source` into the PostgreSQL database `target` (a `postgres://`
/// URL) that holds no Natter data yet, telling `progress` how far it is. Nothing is committed to
/// the target unless everything is; the source is only read (or first migrated, if an older
/// Natter wrote it).
pub async fn move_to_postgres(
    source: &Path,
    target: &str,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Moved, MoveError> {
    move_in_batches(source, target.parse().map_err(DbError::from)?, BATCH, progress).await
}

/// `move_to_postgres` with the batch size chosen (tests move several batches of few rows).
pub(crate) async fn move_in_batches(
    source: &Path,
    target: tokio_postgres::Config,
    batch: usize,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Moved, MoveError> {
    let started = Instant::now();
    let (send, mut readings) = mpsc::channel(READ_AHEAD);
    let path = source.to_owned();
    // rusqlite blocks: the reader gets a thread of its own, and waits on the channel when it is
    // ahead of the writer (a blocking send, off the runtime).
    let reader = std::thread::Builder::new()
        .name("natter-move-reader".into())
        .spawn(move || {
            let mut tell = |reading| send.blocking_send(Ok(reading)).is_ok();
            if let Err(error) = super::sqlite::transfer::read(&path, batch, &mut tell) {
                let _ = send.blocking_send(Err(error));
            }
        })
        .map_err(MoveError::Thread)?;
    let snapshot = match readings.recv().await {
        Some(Ok(Reading::Snapshot(snapshot))) => snapshot,
        Some(Err(error)) => return Err(error),
        Some(Ok(_)) | None => return Err(MoveError::ReaderStopped),
    };
    let tables: Vec<(&'static str, u64)> =
        TABLES.iter().zip(&snapshot.counts).map(|(table, count)| (table.name, *count)).collect();
    progress(Progress::Counted { tables: tables.clone(), upgraded_from: snapshot.upgraded_from });
    let filled = super::postgres::transfer::fill(target, &snapshot, &mut readings, progress).await;
    // Dropping the receiver first unblocks a reader that is still sending (after a failure here).
    drop(readings);
    let _ = tokio::task::spawn_blocking(move || reader.join()).await;
    filled?;
    Ok(Moved { tables, elapsed: started.elapsed(), upgraded_from: snapshot.upgraded_from })
}

#[cfg(test)]
mod tests;
