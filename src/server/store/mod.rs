//! The store: everything Natter keeps on disk, behind the [`Store`] trait, which takes and
//! returns domain types (never SQL). `sqlite` is the embedded engine (the default); `postgres`
//! keeps the same data in a PostgreSQL database. Both pass the same conformance suite.
//!
//! This file is the contract: the trait, its error, and the small records it passes. The larger
//! families of types sit beside it, each with its own reason to change: `messages` (what a write
//! hands in and gets back), `search` (what to look for, what was found), `events` (what a commit
//! tells, and what Natters tell each other), `location` (which engine, where), and `inherent`
//! (the one `Store` impl every engine gets from its own methods).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::protocol::*;
use crate::server::identity::Nickname;

#[cfg(test)]
pub(crate) mod conformance;
mod events;
mod inherent;
mod location;
mod messages;
mod postgres;
mod search;
mod sqlite;
mod transfer;

pub use events::{EventSink, Present, StoreEvent, TypingSignal, PRESENCE_EXPIRY, PRESENCE_HEARTBEAT};
pub(crate) use inherent::store_answered_by_inherent_methods;
pub use location::{open, open_measured, StoreLocation};
pub use messages::{Actor, ChangeRefused, Inserted, MessageChange, NewMessage};
pub use postgres::PostgresStore;
pub use search::{Found, SearchFilter, SearchTerm};
pub use sqlite::{backup, SqliteStore};
pub use transfer::{move_to_postgres, MoveError, Moved, Progress};

/// A boxed future, so that `Store` can be used as `dyn Store` whatever engine is behind it.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Everything the services ask of the store, in domain types (never SQL or driver types), so a
/// second engine is a second implementation of this trait. Writes commit before their future
/// resolves and tell their `StoreEvent`s on the way; reads never block the async runtime.
pub trait Store: Send + Sync + 'static {
    // Messages: insert (idempotent by client id), pages and catch-up.

    /// Stores a message and returns it with its id once the transaction has committed.
    fn insert(&self, message: NewMessage) -> BoxFuture<'_, Result<Inserted, DbError>>;

    /// Up to `limit` messages of a room older than `before` (or the newest), oldest first.
    fn history(
        &self,
        room_id: RoomId,
        before: Option<MessageId>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>>;

    /// Up to `limit` messages of a room newer than `after`, oldest first: paging forward from an older
    /// point (a permalink's context) towards the present.
    fn newer(&self, room_id: RoomId, after: MessageId, limit: u32) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>>;

    /// Up to `limit` messages newer than `after` in the rooms `user_id` is in, oldest first: what a
    /// reconnecting client missed.
    fn since(&self, user_id: UserId, after: MessageId, limit: u32) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>>;

    /// The newest message id, 0 when there is none.
    fn last_id(&self) -> BoxFuture<'_, Result<MessageId, DbError>>;

    /// The room of message `id`, if there is such a message.
    fn message_room(&self, id: MessageId) -> BoxFuture<'_, Result<Option<RoomId>, DbError>>;

    // Edits, deletions and reactions, and the changes a resuming client missed.

    /// Edits, deletes or reacts to a message, checking in the same transaction that `actor` may.
    /// Returns the message as it is now, or `None` when nothing changed (a reaction already there,
    /// an edit to the same text). A change is told as `MessageUpdated`, so changes are announced in
    /// revision order.
    fn change_message(
        &self,
        id: MessageId,
        change: MessageChange,
        actor: Actor,
    ) -> BoxFuture<'_, Result<Option<ChatMessage>, DbError>>;

    /// The newest message revision (0 when nothing was ever changed).
    fn last_change(&self) -> BoxFuture<'_, Result<Revision, DbError>>;

    /// Up to `limit` messages in the rooms `user_id` is in that changed after revision `after`, in
    /// revision order, each in its current state: the edits, deletions and reactions a reconnecting
    /// client missed.
    fn changed_since(
        &self,
        user_id: UserId,
        after: Revision,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>>;

    // Rooms, memberships, notification levels and read marks.

    /// The rooms `user_id` is in (archived ones included) with unread counts, and the newest message
    /// id, from one snapshot.
    fn sidebar(&self, user_id: UserId) -> BoxFuture<'_, Result<Sidebar, DbError>>;

    /// `user_id`'s view of a room, if they are a member.
    fn member_room(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<Option<Room>, DbError>>;

    fn room_by_id(&self, room_id: RoomId) -> BoxFuture<'_, Result<Option<RoomRecord>, DbError>>;

    /// A named room (never a direct conversation).
    fn room_by_name(&self, name: String) -> BoxFuture<'_, Result<Option<RoomRecord>, DbError>>;

    /// The direct conversation between two users, if there is one.
    fn direct_room_of(&self, user_id: UserId, peer_id: UserId) -> BoxFuture<'_, Result<Option<RoomId>, DbError>>;

    /// A room's members, by nickname.
    fn members(&self, room_id: RoomId) -> BoxFuture<'_, Result<Vec<Member>, DbError>>;

    /// Public rooms that are not archived, by name, with their member counts: the room directory.
    fn public_rooms(&self) -> BoxFuture<'_, Result<Vec<(RoomRecord, u32)>, DbError>>;

    /// Creates a room with its creator as the first member (told as `MemberJoined`).
    fn create_room(&self, name: String, kind: RoomKind, creator: UserId) -> BoxFuture<'_, Result<Room, DbError>>;

    /// Makes `user_id` a member (everything said before counts as read). `None` if they already
    /// were; otherwise their view of the room and themselves as a member (told as `MemberJoined`).
    fn add_member(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<Option<(Room, Member)>, DbError>>;

    /// Ends a membership (told as `MemberLeft`); `false` if there was none.
    fn remove_member(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<bool, DbError>>;

    /// Archives a room (told as `RoomArchived`); `false` if it already was.
    fn archive_room(&self, room_id: RoomId) -> BoxFuture<'_, Result<bool, DbError>>;

    /// The direct conversation between two users, created with both as members if it is new.
    /// Each new member is told as `MemberJoined`, with their view of it.
    fn open_direct(&self, user_id: UserId, peer_id: UserId) -> BoxFuture<'_, Result<RoomId, DbError>>;

    /// Moves members' read marks (room, user, last read id) forward, never back and never past the
    /// newest message, in one transaction; marks of non-members change nothing. Told as
    /// `ReadMarked` to other Natters on the same database only.
    fn save_read_marks(&self, marks: Vec<ReadMark>) -> BoxFuture<'_, Result<(), DbError>>;

    /// Sets when `user_id` is notified about a room they are in; `false` if they are not in it.
    fn set_notify(&self, room_id: RoomId, user_id: UserId, level: NotifyLevel) -> BoxFuture<'_, Result<bool, DbError>>;

    // Accounts, sessions, bots and roles.

    /// A user by nickname key (bots included, banned users not).
    fn user_by_key(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Account>, DbError>>;

    fn user_by_id(&self, user_id: UserId) -> BoxFuture<'_, Result<Option<Account>, DbError>>;

    /// Creates a user (the first person becomes admin) and a session for them, in one transaction.
    fn create_user(
        &self,
        nickname: Nickname,
        session_hash: Vec<u8>,
        expires_at: i64,
    ) -> BoxFuture<'_, Result<Account, DbError>>;

    /// The account behind a session token hash, if the session exists, has not expired, and its
    /// user is not banned.
    fn session_account(&self, session_hash: Vec<u8>) -> BoxFuture<'_, Result<Option<Account>, DbError>>;

    fn create_session(
        &self,
        user_id: UserId,
        session_hash: Vec<u8>,
        expires_at: i64,
    ) -> BoxFuture<'_, Result<(), DbError>>;

    fn set_password_hash(&self, user_id: UserId, password_hash: String) -> BoxFuture<'_, Result<(), DbError>>;

    /// The account with this nickname key and its password hash, unless banned or a bot.
    fn credentials(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Credentials>, DbError>>;

    /// Bans a user: they can no longer sign in, and every session of theirs ends (told as
    /// `UserBanned`). Their nickname stays taken. `None` if there is no such user.
    fn ban(&self, user_id: UserId) -> BoxFuture<'_, Result<Option<Account>, DbError>>;

    /// Makes the user with this nickname key an admin; `None` if there is no such user.
    fn make_admin(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Account>, DbError>>;

    /// Creates a bot user with a token session that does not expire.
    fn create_bot(&self, nickname: Nickname, token_hash: Vec<u8>) -> BoxFuture<'_, Result<Account, DbError>>;

    /// The built-in "Natter" account that authors announcements; created on first use. Nobody can
    /// take its nickname (it is reserved) or sign in as it with a password.
    fn system_account(&self) -> BoxFuture<'_, Result<Account, DbError>>;

    /// Ends a session (told as `SessionEnded`, so its sockets close on every Natter).
    fn end_session(&self, session_hash: Vec<u8>) -> BoxFuture<'_, Result<(), DbError>>;

    /// Renames a user (told as `UserRenamed`); `NicknameTaken` if another user's nickname looks the same.
    fn rename(&self, user_id: UserId, nickname: Nickname) -> BoxFuture<'_, Result<(), DbError>>;

    // Search and files.

    /// Up to `limit` messages matching `filter` in rooms `viewer` can read (public rooms, and the
    /// rooms they are in), with ids below `before`: newest first, each with its room and a snippet
    /// whose hits are marked with `search::HIT_START` / `HIT_END`.
    fn search(
        &self,
        viewer: Option<UserId>,
        filter: SearchFilter,
        before: Option<MessageId>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<Found>, DbError>>;

    /// The id of the file sent as message `id`, if any.
    fn message_file(&self, id: MessageId) -> BoxFuture<'_, Result<Option<String>, DbError>>;

    /// A file with the room of its message, for serving it to that room's members.
    fn file(&self, id: String) -> BoxFuture<'_, Result<Option<(Attachment, RoomId)>, DbError>>;

    // Presence and typing: what other Natters on the same database need to hear at once, and
    // may miss (nothing here is stored for long or replayed).

    /// Tells the other Natters on this database who is online here, replacing what this Natter
    /// said before. It is also this Natter's heartbeat: say it every [`PRESENCE_HEARTBEAT`] at
    /// least, or the others forget it (as they do when it dies) after [`PRESENCE_EXPIRY`]. They
    /// hear it as `PresenceElsewhere`. A store only one Natter uses (SQLite) has nobody to tell.
    fn share_presence(&self, here: Vec<Present>) -> BoxFuture<'_, Result<(), DbError>>;

    /// Passes a typing signal on to the other Natters on this database (`TypingElsewhere`): at
    /// most once, and not at all while the database is away; it is only a hint.
    fn share_typing(&self, signal: TypingSignal);

    // The store itself.

    /// Finishes every write queued so far, then stops the writer. Later inserts fail with `Closed`.
    /// Other Natters forget who was online here at once.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("cannot set up the postgres connection pool: {0}")]
    PoolBuild(deadpool_postgres::BuildError),
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("the database is at schema version {found}, newer than this Natter knows ({known})")]
    TooNew { found: usize, known: usize },
    #[error("no randomness for this server's id: {0}")]
    Random(getrandom::Error),
    #[error("cannot start the writer thread: {0}")]
    Thread(std::io::Error),
    #[error("the store is shut down")]
    Closed,
    /// The nickname's key is taken: a refusal, not a failure.
    #[error("nickname taken")]
    NicknameTaken,
    /// Another room has this name: a refusal.
    #[error("room name taken")]
    RoomNameTaken,
    /// The author may not post there (not a member, the room is archived or does not exist),
    /// checked in the inserting transaction: a refusal.
    #[error("not allowed to post in this room")]
    NotAllowed,
    #[error("a database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the path is not valid UTF-8")]
    NotUtf8Path,
    /// What Natters tell each other through the database (presence, typing) as JSON.
    #[error("cannot encode or decode JSON for the database: {0}")]
    Json(#[from] serde_json::Error),
    /// A change to a stored message was refused, checked in the changing transaction.
    #[error("change refused: {0:?}")]
    ChangeRefused(ChangeRefused),
}

/// What signing in checks: an account that may sign in with a password, and its hash (none until
/// the user sets a password).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub account: Account,
    pub password_hash: Option<String>,
}

/// A room as stored, without any one user's view of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomRecord {
    pub id: RoomId,
    pub name: String,
    pub kind: RoomKind,
    pub archived: bool,
}

/// A user's rooms and the newest message id, read in one snapshot: a client that resumes from
/// `last_id` neither misses nor double-counts a message in the unread counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sidebar {
    pub rooms: Vec<Room>,
    pub last_id: MessageId,
    /// The newest message revision: changes after it are replayed on resume.
    pub last_change: Revision,
}

/// How far a member has read a room: every message up to `last_read_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadMark {
    pub room_id: RoomId,
    pub user_id: UserId,
    pub last_read_id: MessageId,
}

pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
