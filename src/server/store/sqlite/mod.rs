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

/// The store's interface, answered by the methods of this folder's `impl SqliteStore` blocks.
impl Store for SqliteStore {
    fn changed_since(
        &self,
        user_id: UserId,
        after: Revision,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
        Box::pin(SqliteStore::changed_since(self, user_id, after, limit))
    }

    fn last_change(&self) -> BoxFuture<'_, Result<Revision, DbError>> {
        Box::pin(SqliteStore::last_change(self))
    }

    fn change_message(
        &self,
        id: MessageId,
        change: MessageChange,
        actor: Actor,
    ) -> BoxFuture<'_, Result<Option<ChatMessage>, DbError>> {
        Box::pin(SqliteStore::change_message(self, id, change, actor))
    }

    fn message_file(&self, id: MessageId) -> BoxFuture<'_, Result<Option<String>, DbError>> {
        Box::pin(SqliteStore::message_file(self, id))
    }

    fn file(&self, id: String) -> BoxFuture<'_, Result<Option<(Attachment, RoomId)>, DbError>> {
        Box::pin(SqliteStore::file(self, id))
    }

    fn insert(&self, message: NewMessage) -> BoxFuture<'_, Result<Inserted, DbError>> {
        Box::pin(SqliteStore::insert(self, message))
    }

    fn history(
        &self,
        room_id: RoomId,
        before: Option<MessageId>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
        Box::pin(SqliteStore::history(self, room_id, before, limit))
    }

    fn newer(&self, room_id: RoomId, after: MessageId, limit: u32) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
        Box::pin(SqliteStore::newer(self, room_id, after, limit))
    }

    fn since(&self, user_id: UserId, after: MessageId, limit: u32) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
        Box::pin(SqliteStore::since(self, user_id, after, limit))
    }

    fn last_id(&self) -> BoxFuture<'_, Result<MessageId, DbError>> {
        Box::pin(SqliteStore::last_id(self))
    }

    fn message_room(&self, id: MessageId) -> BoxFuture<'_, Result<Option<RoomId>, DbError>> {
        Box::pin(SqliteStore::message_room(self, id))
    }

    fn sidebar(&self, user_id: UserId) -> BoxFuture<'_, Result<Sidebar, DbError>> {
        Box::pin(SqliteStore::sidebar(self, user_id))
    }

    fn member_room(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<Option<Room>, DbError>> {
        Box::pin(SqliteStore::member_room(self, room_id, user_id))
    }

    fn room_by_id(&self, room_id: RoomId) -> BoxFuture<'_, Result<Option<RoomRecord>, DbError>> {
        Box::pin(SqliteStore::room_by_id(self, room_id))
    }

    fn room_by_name(&self, name: String) -> BoxFuture<'_, Result<Option<RoomRecord>, DbError>> {
        Box::pin(SqliteStore::room_by_name(self, name))
    }

    fn direct_room_of(&self, user_id: UserId, peer_id: UserId) -> BoxFuture<'_, Result<Option<RoomId>, DbError>> {
        Box::pin(SqliteStore::direct_room_of(self, user_id, peer_id))
    }

    fn members(&self, room_id: RoomId) -> BoxFuture<'_, Result<Vec<Member>, DbError>> {
        Box::pin(SqliteStore::members(self, room_id))
    }

    fn public_rooms(&self) -> BoxFuture<'_, Result<Vec<(RoomRecord, u32)>, DbError>> {
        Box::pin(SqliteStore::public_rooms(self))
    }

    fn create_room(&self, name: String, kind: RoomKind, creator: UserId) -> BoxFuture<'_, Result<Room, DbError>> {
        Box::pin(SqliteStore::create_room(self, name, kind, creator))
    }

    fn add_member(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<Option<(Room, Member)>, DbError>> {
        Box::pin(SqliteStore::add_member(self, room_id, user_id))
    }

    fn remove_member(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<bool, DbError>> {
        Box::pin(SqliteStore::remove_member(self, room_id, user_id))
    }

    fn archive_room(&self, room_id: RoomId) -> BoxFuture<'_, Result<bool, DbError>> {
        Box::pin(SqliteStore::archive_room(self, room_id))
    }

    fn open_direct(&self, user_id: UserId, peer_id: UserId) -> BoxFuture<'_, Result<RoomId, DbError>> {
        Box::pin(SqliteStore::open_direct(self, user_id, peer_id))
    }

    fn save_read_marks(&self, marks: Vec<ReadMark>) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(SqliteStore::save_read_marks(self, marks))
    }

    fn set_notify(&self, room_id: RoomId, user_id: UserId, level: NotifyLevel) -> BoxFuture<'_, Result<bool, DbError>> {
        Box::pin(SqliteStore::set_notify(self, room_id, user_id, level))
    }

    fn search(
        &self,
        viewer: Option<UserId>,
        filter: SearchFilter,
        before: Option<MessageId>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<Found>, DbError>> {
        Box::pin(SqliteStore::search(self, viewer, filter, before, limit))
    }

    fn user_by_key(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
        Box::pin(SqliteStore::user_by_key(self, nickname_key))
    }

    fn user_by_id(&self, user_id: UserId) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
        Box::pin(SqliteStore::user_by_id(self, user_id))
    }

    fn create_user(
        &self,
        nickname: Nickname,
        session_hash: Vec<u8>,
        expires_at: i64,
    ) -> BoxFuture<'_, Result<Account, DbError>> {
        Box::pin(SqliteStore::create_user(self, nickname, session_hash, expires_at))
    }

    fn session_account(&self, session_hash: Vec<u8>) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
        Box::pin(SqliteStore::session_account(self, session_hash))
    }

    fn create_session(
        &self,
        user_id: UserId,
        session_hash: Vec<u8>,
        expires_at: i64,
    ) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(SqliteStore::create_session(self, user_id, session_hash, expires_at))
    }

    fn set_password_hash(&self, user_id: UserId, password_hash: String) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(SqliteStore::set_password_hash(self, user_id, password_hash))
    }

    fn credentials(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Credentials>, DbError>> {
        Box::pin(SqliteStore::credentials(self, nickname_key))
    }

    fn ban(&self, user_id: UserId) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
        Box::pin(SqliteStore::ban(self, user_id))
    }

    fn make_admin(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
        Box::pin(SqliteStore::make_admin(self, nickname_key))
    }

    fn create_bot(&self, nickname: Nickname, token_hash: Vec<u8>) -> BoxFuture<'_, Result<Account, DbError>> {
        Box::pin(SqliteStore::create_bot(self, nickname, token_hash))
    }

    fn system_account(&self) -> BoxFuture<'_, Result<Account, DbError>> {
        Box::pin(SqliteStore::system_account(self))
    }

    fn end_session(&self, session_hash: Vec<u8>) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(SqliteStore::end_session(self, session_hash))
    }

    fn rename(&self, user_id: UserId, nickname: Nickname) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(SqliteStore::rename(self, user_id, nickname))
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(SqliteStore::shutdown(self))
    }
}
