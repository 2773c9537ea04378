//! PostgreSQL, the second engine behind [`Store`]; all its SQL lives under this folder. Like the
//! SQLite engine, one writer task owns a connection and commits queued messages in groups (one
//! transaction, one WAL flush, many messages) and runs every other write between them, in queue
//! order; reads take connections from a pool and await them, so nothing blocks the async runtime.
//!
//! Commit order is id order. A reader that tails `id > last` (a reconnecting client, the hub)
//! would skip a row for good if a smaller id committed after a larger one it had already seen. An
//! identity column alone does not prevent that: two transactions take ids 7 and 8, 8 commits first,
//! a reader sees 8 and resumes after it, and 7 lands unseen. So every transaction that hands out
//! message ids or revisions first takes `pg_advisory_xact_lock(ID_LOCK)` and takes its ids inside
//! it; the lock is held until commit, so the next transaction's ids come, and commit, after this
//! one's. The single writer task already orders this process's writes; the lock is what keeps the
//! promise when another process (a second Natter, an admin command) writes to the same database.
//!
//! Several Natters may share one database: each tells its screens every change, its own and the
//! others', in the database's order, through the stream (`stream.rs`).

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::NoTls;
use tokio_util::sync::CancellationToken;

use crate::server::identity::Nickname;
use crate::server::metrics::Metrics;
use crate::server::store::*;

mod changes;
mod files;
mod messages;
mod migrate;
mod presence;
mod rooms;
mod rows;
mod search;
mod stream;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod throwaway;
pub(super) mod transfer;
mod users;
mod writer;

use presence::Presence;
use stream::{Sequencer, Told};
use writer::Writer;

/// The advisory lock every id- or revision-assigning transaction takes (see the module comment).
/// Any constant works as long as every Natter uses the same one; this is "natter" in ASCII.
pub(super) const ID_LOCK: i64 = 0x6e61_7474_6572;
/// How many queued inserts one transaction may take: large enough to amortise the commit's WAL
/// flush under load, small enough that the first message in a group does not wait long for the last.
const MAX_GROUP: usize = 256;
/// Queued writes before senders wait; bounds memory when the database is slower than the clients.
const WRITE_QUEUE: usize = 4_096;
/// Connections the read pool keeps open at most.
const READERS: usize = 8;

/// Any write but an insert: runs on the writer task in its own transaction, in queue order, and
/// tells what it changed through the stream.
type WriteFn = Box<dyn for<'a> FnOnce(&'a mut deadpool_postgres::Client, &'a Sequencer) -> BoxFuture<'a, ()> + Send>;

/// Gives a write closure its higher-ranked type (closures only infer one from a bound like this).
fn write_fn<F>(f: F) -> WriteFn
where
    F: for<'a> FnOnce(&'a mut deadpool_postgres::Client, &'a Sequencer) -> BoxFuture<'a, ()> + Send + 'static,
{
    Box::new(f)
}

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
pub struct PostgresStore {
    writer: mpsc::Sender<Job>,
    readers: Pool,
    presence: Arc<Presence>,
    /// Stops the stream's tail, notifier and listener at shutdown.
    stop: CancellationToken,
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://…`), applies migrations and starts the
    /// writer task.
    pub(crate) async fn open(url: &str, events: EventSink, metrics: Option<Arc<Metrics>>) -> Result<Self, DbError> {
        let config: tokio_postgres::Config = url.parse()?;
        Self::open_config(config, events, metrics).await
    }

    pub(crate) async fn open_config(
        config: tokio_postgres::Config,
        events: EventSink,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Self, DbError> {
        // Fast recycling: a connection back from a read is reused without a test query; a broken
        // one is found by its closed flag and replaced.
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        // One connection is the writer's for good; the rest serve reads.
        let readers = Pool::builder(manager).max_size(READERS + 1).build().map_err(DbError::PoolBuild)?;
        let mut conn = readers.get().await?;
        migrate::migrate(&mut conn).await?;
        let from = stream::newest(&conn).await?;
        let node = new_node_id()?;
        tracing::info!(node = &*node, "this server's id among those on the database");
        let sequencer = Arc::new(Sequencer::new(Arc::clone(&node), from, events, readers.clone(), metrics));
        let (presence, typing) = Presence::new(node, readers.clone(), Arc::clone(&sequencer));
        let stop = CancellationToken::new();
        tokio::spawn(stream::follow(Arc::clone(&sequencer), stop.clone()));
        tokio::spawn(stream::announce(Arc::clone(&sequencer), stop.clone()));
        tokio::spawn(stream::listen(config, Arc::clone(&sequencer), Arc::clone(&presence), stop.clone()));
        tokio::spawn(presence::follow(Arc::clone(&presence), stop.clone()));
        tokio::spawn(presence::announce_typing(Arc::clone(&presence), typing, stop.clone()));
        let (writer, jobs) = mpsc::channel(WRITE_QUEUE);
        tokio::spawn(Writer::new(conn, readers.clone(), sequencer).run(jobs));
        Ok(Self { writer, readers, presence, stop })
    }

    /// Runs `change` in its own transaction on the writer task, after every write queued before it.
    async fn write<T, F>(&self, change: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, DbError>> + Send + 'static,
    {
        self.write_telling(change, |_| Vec::new()).await
    }

    /// Like `write`, then `tell` names what the committed result changed for open screens: those
    /// rows join the stream in the same transaction, and are told (on the writer task, so in order
    /// with the messages committed before and after) once it has committed.
    async fn write_telling<T, F, A>(&self, change: F, tell: A) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> BoxFuture<'t, Result<T, DbError>> + Send + 'static,
        A: FnOnce(&T) -> Vec<Told> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = write_fn(move |conn, sequencer| {
            Box::pin(async move {
                let result = async {
                    let tx = conn.transaction().await?;
                    let value = change(&tx).await?;
                    let told = tell(&value);
                    let first = match told.is_empty() {
                        true => None,
                        false => Some(stream::append(&tx, &told, sequencer.node()).await?),
                    };
                    tx.commit().await?;
                    Ok((value, first.map(|first| (first, told))))
                }
                .await;
                let result = match result {
                    Ok((value, Some((first, told)))) => {
                        sequencer.tell_own(first, told).await;
                        Ok(value)
                    }
                    Ok((value, None)) => Ok(value),
                    Err(error) => Err(error),
                };
                let _ = reply.send(result);
            })
        });
        self.writer.send(Job::Write(job)).await.map_err(|_| DbError::Closed)?;
        answer.await.map_err(|_| DbError::Closed)?
    }

    /// Finishes every write queued so far, then stops the writer. Later inserts fail with `Closed`.
    /// The other Natters hear at once that this one's users are gone.
    async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.writer.send(Job::Shutdown(done)).await.is_ok() {
            let _ = finished.await;
        }
        self.stop.cancel();
        self.presence.leave().await;
    }

    async fn share_presence(&self, here: Vec<Present>) -> Result<(), DbError> {
        self.presence.share(here).await
    }

    fn share_typing(&self, signal: TypingSignal) {
        self.presence.share_typing(signal);
    }

    /// A pooled connection for reads.
    async fn reader(&self) -> Result<deadpool_postgres::Client, DbError> {
        Ok(self.readers.get().await?)
    }
}

/// A random id for this Natter among those on the database, new at every start: 16 hex digits.
fn new_node_id() -> Result<Arc<str>, DbError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(DbError::Random)?;
    Ok(crate::server::identity::encode_hex(&bytes).into())
}

// The store's interface, answered by the methods of this folder's `impl PostgresStore` blocks.
crate::server::store::store_answered_by_inherent_methods!(PostgresStore);
