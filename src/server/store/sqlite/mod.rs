//! SQLite, the embedded store; all SQL lives under this folder. SQLite allows one writer at a time,
//! so one thread owns the writing connection and commits queued messages in groups (one transaction,
//! one fsync, many messages); reads run on a small pool of read-only connections on tokio's blocking
//! threads. Nothing here blocks the async runtime.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::server::identity::Nickname;
use crate::server::store::SearchFilter;
use crate::server::store::*;

mod changes;
mod files;
mod migrate;
// `search` builds its SQL from the column macros of `rows`, so `rows` comes before it.
#[macro_use]
mod rows;
mod messages;
mod read_pool;
mod rooms;
mod search;
#[cfg(test)]
mod tests;
pub(super) mod transfer;
mod users;
mod writer;

pub use migrate::backup;
use migrate::migrate;
use read_pool::ReadPool;
use writer::{configure_writer, Writer};

/// How many queued writes one transaction may take: large enough to amortise the fsync under load,
/// small enough that the first message in a group does not wait long for the last.
const MAX_GROUP: usize = 256;
/// Prepared statements kept per connection. rusqlite keeps 16 by default, fewer than the distinct
/// statements a connection runs, so a page load kept evicting and parsing some of them again.
const STATEMENT_CACHE: usize = 64;
/// Queued writes before senders wait; bounds memory when the disk is slower than the clients.
const WRITE_QUEUE: usize = 4_096;
/// Idle read connections kept open for reuse.
const IDLE_READERS: usize = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Any other write: runs on the writer thread in its own transaction, in queue order.
type WriteFn = Box<dyn FnOnce(&mut Connection, &EventSink) + Send>;

// Inserts are nearly every job and each is moved once into the channel: boxing the message would
// add an allocation per message to save a couple of hundred bytes per queue slot.
#[allow(clippy::large_enum_variant)]
enum Job {
    Insert(NewMessage, oneshot::Sender<Result<Inserted, DbError>>),
    Write(WriteFn),
    Shutdown(oneshot::Sender<()>),
}

/// A handle to the database; cheap to clone. Its methods (in this folder's files) are reached from
/// outside through the [`Store`] trait only.
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<Job>,
    readers: Arc<ReadPool>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, applies migrations and starts the writer.
    pub(crate) fn open(path: &Path, events: EventSink) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir { path: dir.to_owned(), source })?;
        }
        let mut conn = Connection::open(path)?;
        configure_writer(&conn)?;
        migrate(&mut conn)?;
        let (writer, jobs) = mpsc::channel(WRITE_QUEUE);
        std::thread::Builder::new()
            .name("natter-db-writer".into())
            .spawn(move || Writer::new(conn, events).run(jobs))
            .map_err(DbError::Thread)?;
        let readers = Arc::new(ReadPool::new(path));
        Ok(Self { writer, readers })
    }

    /// Runs `change` in its own IMMEDIATE transaction on the writer thread, after every write
    /// queued before it.
    async fn write<T, F>(&self, change: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    {
        self.write_telling(change, |_, _| {}).await
    }

    /// Like `write`, then `tell` gives the events of the committed result to the sink, still on
    /// the writer thread, so they are ordered with the messages committed before and after.
    async fn write_telling<T, F, A>(&self, change: F, tell: A) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, DbError> + Send + 'static,
        A: FnOnce(&T, &EventSink) + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: WriteFn = Box::new(move |conn, events| {
            let result =
                conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(DbError::from).and_then(|tx| {
                    let value = change(&tx)?;
                    tx.commit()?;
                    Ok(value)
                });
            if let Ok(value) = &result {
                tell(value, events);
            }
            let _ = reply.send(result);
        });
        self.writer.send(Job::Write(job)).await.map_err(|_| DbError::Closed)?;
        answer.await.map_err(|_| DbError::Closed)?
    }

    /// Nobody else opens this file while this Natter has it: there is no one to tell.
    async fn share_presence(&self, _here: Vec<Present>) -> Result<(), DbError> {
        Ok(())
    }

    /// As for presence: no other Natter to pass it to.
    fn share_typing(&self, _signal: TypingSignal) {}

    /// Finishes every write queued so far, then stops the writer. Later inserts fail with `Closed`.
    async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.writer.send(Job::Shutdown(done)).await.is_ok() {
            let _ = finished.await;
        }
    }

    async fn read<T, F>(&self, query: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || readers.with_connection(query)).await?
    }
}

// The store's interface, answered by the methods of this folder's `impl SqliteStore` blocks.
crate::server::store::store_answered_by_inherent_methods!(SqliteStore);
