//! The store: everything Natter keeps on disk, behind the [`Store`] trait. The types here are what
//! the services hand to the store and get back (domain types, never SQL), and the [`StoreEvent`]s
//! it tells after each commit. `sqlite` is the embedded engine (the default); `postgres` keeps the
//! same data in a PostgreSQL database. Both pass the same conformance suite.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::protocol::*;
use crate::server::identity::Nickname;

#[cfg(test)]
pub(crate) mod conformance;
mod postgres;
mod sqlite;
mod transfer;

pub use postgres::PostgresStore;
pub use sqlite::{backup, SqliteStore};
pub use transfer::{move_to_postgres, MoveError, Moved, Progress};

/// A boxed future, so that `Store` can be used as `dyn Store` whatever engine is behind it.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the store keeps its data, as the `--db` setting names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file, created with its folder when missing.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its `postgres://` (or `postgresql://`) URL.
    Postgres(String),
}

impl StoreLocation {
    /// A `postgres://` or `postgresql://` URL selects PostgreSQL; anything else is a SQLite path, so
    /// every `--db` that worked before still means the same file.
    pub fn parse(setting: &Path) -> Self {
        match setting.to_str() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Self::Postgres(url.to_owned())
            }
            _ => Self::Sqlite(setting.to_owned()),
        }
    }

    /// The folder Natter keeps its other files in (the key file, uploads): the SQLite file's
    /// folder, or for PostgreSQL `data/` in the working folder (the default database's folder), as
    /// uploads stay on local disk for now.
    pub fn folder(&self) -> PathBuf {
        match self {
            Self::Sqlite(path) => {
                path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned()
            }
            Self::Postgres(_) => PathBuf::from("data"),
        }
    }
}

/// For logs and messages: a PostgreSQL URL without its password or parameters, which may hold
/// secrets.
impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => path.display().fmt(f),
            Self::Postgres(url) => {
                let url = url.split('?').next().unwrap_or_default();
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.rsplit_once('@') {
                    Some((user, host)) => {
                        let user = user.split(':').next().unwrap_or_default();
                        write!(f, "{scheme}://{user}@{host}")
                    }
                    None => write!(f, "{scheme}://{rest}"),
                }
            }
        }
    }
}

/// Opens the store the settings name, with migrations applied and the writer started; `events`
/// hears every commit's changes.
pub async fn open(location: &StoreLocation, events: EventSink) -> Result<Arc<dyn Store>, DbError> {
    open_measured(location, events, None).await
}

/// `open`, with the store's own figures (how late notifications from other Natters arrive) going
/// to `metrics`.
pub async fn open_measured(
    location: &StoreLocation,
    events: EventSink,
    metrics: Option<Arc<crate::server::metrics::Metrics>>,
) -> Result<Arc<dyn Store>, DbError> {
    match location {
        StoreLocation::Sqlite(path) => {
            // Opening a SQLite file blocks (and may migrate it): off the async runtime.
            let path = path.clone();
            Ok(Arc::new(tokio::task::spawn_blocking(move || SqliteStore::open(&path, events)).await??))
        }
        StoreLocation::Postgres(url) => Ok(Arc::new(PostgresStore::open(url, events, metrics).await?)),
    }
}

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

/// How often a Natter tells the others on its database who is online on it (`share_presence`).
pub const PRESENCE_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(2);
/// How long after its last heartbeat a Natter's users are taken for gone: it died, or cannot reach
/// the database. Three missed heartbeats, so one slow write does not flap everyone offline.
pub const PRESENCE_EXPIRY: std::time::Duration = std::time::Duration::from_secs(7);

/// A user online on one Natter, as it tells the others.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Present {
    pub user_id: UserId,
    pub nickname: String,
    /// Idle on every socket there.
    pub idle: bool,
    /// Their open sockets there, so caps per user hold across Natters.
    pub connections: u32,
}

/// Someone is typing in a room.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TypingSignal {
    pub room_id: RoomId,
    pub user_id: UserId,
    pub nickname: String,
}

/// The `Store` impl of an engine whose inherent async methods have the trait's names and
/// arguments: each trait method boxes the engine's own. One list for every engine, so a new
/// method is written here once and the compiler asks each engine for its inherent method.
/// The engine's module must have the trait's argument and result types in scope.
macro_rules! store_answered_by_inherent_methods {
    ($engine:ident) => {
        impl $crate::server::store::Store for $engine {
            fn changed_since(
                &self,
                user_id: UserId,
                after: Revision,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
                Box::pin($engine::changed_since(self, user_id, after, limit))
            }

            fn last_change(&self) -> BoxFuture<'_, Result<Revision, DbError>> {
                Box::pin($engine::last_change(self))
            }

            fn change_message(
                &self,
                id: MessageId,
                change: MessageChange,
                actor: Actor,
            ) -> BoxFuture<'_, Result<Option<ChatMessage>, DbError>> {
                Box::pin($engine::change_message(self, id, change, actor))
            }

            fn message_file(&self, id: MessageId) -> BoxFuture<'_, Result<Option<String>, DbError>> {
                Box::pin($engine::message_file(self, id))
            }

            fn file(&self, id: String) -> BoxFuture<'_, Result<Option<(Attachment, RoomId)>, DbError>> {
                Box::pin($engine::file(self, id))
            }

            fn insert(&self, message: NewMessage) -> BoxFuture<'_, Result<Inserted, DbError>> {
                Box::pin($engine::insert(self, message))
            }

            fn history(
                &self,
                room_id: RoomId,
                before: Option<MessageId>,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
                Box::pin($engine::history(self, room_id, before, limit))
            }

            fn newer(
                &self,
                room_id: RoomId,
                after: MessageId,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
                Box::pin($engine::newer(self, room_id, after, limit))
            }

            fn since(
                &self,
                user_id: UserId,
                after: MessageId,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<ChatMessage>, DbError>> {
                Box::pin($engine::since(self, user_id, after, limit))
            }

            fn last_id(&self) -> BoxFuture<'_, Result<MessageId, DbError>> {
                Box::pin($engine::last_id(self))
            }

            fn message_room(&self, id: MessageId) -> BoxFuture<'_, Result<Option<RoomId>, DbError>> {
                Box::pin($engine::message_room(self, id))
            }

            fn sidebar(&self, user_id: UserId) -> BoxFuture<'_, Result<Sidebar, DbError>> {
                Box::pin($engine::sidebar(self, user_id))
            }

            fn member_room(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<Option<Room>, DbError>> {
                Box::pin($engine::member_room(self, room_id, user_id))
            }

            fn room_by_id(&self, room_id: RoomId) -> BoxFuture<'_, Result<Option<RoomRecord>, DbError>> {
                Box::pin($engine::room_by_id(self, room_id))
            }

            fn room_by_name(&self, name: String) -> BoxFuture<'_, Result<Option<RoomRecord>, DbError>> {
                Box::pin($engine::room_by_name(self, name))
            }

            fn direct_room_of(
                &self,
                user_id: UserId,
                peer_id: UserId,
            ) -> BoxFuture<'_, Result<Option<RoomId>, DbError>> {
                Box::pin($engine::direct_room_of(self, user_id, peer_id))
            }

            fn members(&self, room_id: RoomId) -> BoxFuture<'_, Result<Vec<Member>, DbError>> {
                Box::pin($engine::members(self, room_id))
            }

            fn public_rooms(&self) -> BoxFuture<'_, Result<Vec<(RoomRecord, u32)>, DbError>> {
                Box::pin($engine::public_rooms(self))
            }

            fn create_room(
                &self,
                name: String,
                kind: RoomKind,
                creator: UserId,
            ) -> BoxFuture<'_, Result<Room, DbError>> {
                Box::pin($engine::create_room(self, name, kind, creator))
            }

            fn add_member(
                &self,
                room_id: RoomId,
                user_id: UserId,
            ) -> BoxFuture<'_, Result<Option<(Room, Member)>, DbError>> {
                Box::pin($engine::add_member(self, room_id, user_id))
            }

            fn remove_member(&self, room_id: RoomId, user_id: UserId) -> BoxFuture<'_, Result<bool, DbError>> {
                Box::pin($engine::remove_member(self, room_id, user_id))
            }

            fn archive_room(&self, room_id: RoomId) -> BoxFuture<'_, Result<bool, DbError>> {
                Box::pin($engine::archive_room(self, room_id))
            }

            fn open_direct(&self, user_id: UserId, peer_id: UserId) -> BoxFuture<'_, Result<RoomId, DbError>> {
                Box::pin($engine::open_direct(self, user_id, peer_id))
            }

            fn save_read_marks(&self, marks: Vec<ReadMark>) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::save_read_marks(self, marks))
            }

            fn set_notify(
                &self,
                room_id: RoomId,
                user_id: UserId,
                level: NotifyLevel,
            ) -> BoxFuture<'_, Result<bool, DbError>> {
                Box::pin($engine::set_notify(self, room_id, user_id, level))
            }

            fn search(
                &self,
                viewer: Option<UserId>,
                filter: SearchFilter,
                before: Option<MessageId>,
                limit: u32,
            ) -> BoxFuture<'_, Result<Vec<Found>, DbError>> {
                Box::pin($engine::search(self, viewer, filter, before, limit))
            }

            fn user_by_key(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::user_by_key(self, nickname_key))
            }

            fn user_by_id(&self, user_id: UserId) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::user_by_id(self, user_id))
            }

            fn create_user(
                &self,
                nickname: Nickname,
                session_hash: Vec<u8>,
                expires_at: i64,
            ) -> BoxFuture<'_, Result<Account, DbError>> {
                Box::pin($engine::create_user(self, nickname, session_hash, expires_at))
            }

            fn session_account(&self, session_hash: Vec<u8>) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::session_account(self, session_hash))
            }

            fn create_session(
                &self,
                user_id: UserId,
                session_hash: Vec<u8>,
                expires_at: i64,
            ) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::create_session(self, user_id, session_hash, expires_at))
            }

            fn set_password_hash(&self, user_id: UserId, password_hash: String) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::set_password_hash(self, user_id, password_hash))
            }

            fn credentials(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Credentials>, DbError>> {
                Box::pin($engine::credentials(self, nickname_key))
            }

            fn ban(&self, user_id: UserId) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::ban(self, user_id))
            }

            fn make_admin(&self, nickname_key: String) -> BoxFuture<'_, Result<Option<Account>, DbError>> {
                Box::pin($engine::make_admin(self, nickname_key))
            }

            fn create_bot(&self, nickname: Nickname, token_hash: Vec<u8>) -> BoxFuture<'_, Result<Account, DbError>> {
                Box::pin($engine::create_bot(self, nickname, token_hash))
            }

            fn system_account(&self) -> BoxFuture<'_, Result<Account, DbError>> {
                Box::pin($engine::system_account(self))
            }

            /// Ends a session (told as `SessionEnded`, so its sockets close on every Natter).
            fn end_session(&self, session_hash: Vec<u8>) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::end_session(self, session_hash))
            }

            fn rename(&self, user_id: UserId, nickname: Nickname) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::rename(self, user_id, nickname))
            }

            fn share_presence(&self, here: Vec<Present>) -> BoxFuture<'_, Result<(), DbError>> {
                Box::pin($engine::share_presence(self, here))
            }

            fn share_typing(&self, signal: TypingSignal) {
                $engine::share_typing(self, signal)
            }

            fn shutdown(&self) -> BoxFuture<'_, ()> {
                Box::pin($engine::shutdown(self))
            }
        }
    };
}
pub(crate) use store_answered_by_inherent_methods;

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

/// A change to a stored message, by `actor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageChange {
    /// New body, already validated, with whom it mentions (nickname keys, as for a new message).
    Edit {
        body: String,
        mentions: Vec<String>,
    },
    Delete,
    /// Add (`true`) or take back (`false`) a reaction, already validated.
    React(String, bool),
}

/// Why a change to a message was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeRefused {
    /// No such message, or it is deleted.
    NoSuchMessage,
    /// Only the author or an admin may edit or delete it.
    NotAuthor,
    /// Reacting (and editing) needs membership of the message's room.
    NotAMember,
    /// The room is archived: its messages no longer change, except deletion by moderators.
    Archived,
    TooManyReactions,
}

/// Who is changing a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub admin: bool,
}

/// A message to store, already validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub room_id: RoomId,
    pub author_id: UserId,
    /// The author's nickname now; kept with the message as a record of the name it was sent under.
    pub nickname: String,
    pub body: String,
    /// Whom the body mentions, as nickname keys (see `messages::mention_keys`); the store records
    /// those naming members of the room, never the author.
    pub mentions: Vec<String>,
    pub client_msg_id: String,
    pub kind: MessageKind,
    /// Whether the author must be a member of the room; only Natter's own announcements skip this.
    pub members_only: bool,
    /// A file sent as this message, already on disk under `file.id`.
    pub file: Option<Attachment>,
}

/// The outcome of an insert: the stored message, and whether it was stored earlier under the same
/// `(author_id, client_msg_id)` (a resend).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inserted {
    pub message: ChatMessage,
    pub duplicate: bool,
}

/// What one commit changed. The store tells each event on its writer thread right after the commit
/// and before it takes the next job, so a listener sees changes in commit order, and new messages
/// before any sender hears its ack: that is what keeps broadcast order equal to commit order. The
/// hub is the listener (`Hub::apply`); this type is the one link from the disk to every screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreEvent<'a> {
    /// Newly stored messages, in id order (a resend of a stored message is not told again).
    MessagesStored(&'a [ChatMessage]),
    /// A message edited, deleted or reacted to, whole, at its new revision.
    MessageUpdated(&'a ChatMessage),
    /// Someone became a member of a room; the room as they see it.
    MemberJoined {
        room: &'a Room,
        member: &'a Member,
    },
    MemberLeft {
        room_id: RoomId,
        user_id: UserId,
    },
    RoomArchived {
        room_id: RoomId,
    },
    /// A user's new nickname: they are shown under it from now on, online or not.
    UserRenamed {
        user_id: UserId,
        from: &'a str,
        to: &'a str,
    },
    /// A user was banned: every socket of theirs closes.
    UserBanned {
        user_id: UserId,
    },
    /// A session ended (its user signed out): the sockets opened with it close.
    SessionEnded {
        session_hash: &'a [u8],
    },
    /// How far a user has read a room, as another Natter on this database stored it: this
    /// Natter's own read marks reach its screens as they are made, before they are stored, so a
    /// one-machine store never tells this.
    ReadMarked(&'a ReadMark),
    /// Who is online on the other Natters on this database, all of them together (one entry per
    /// user and Natter), replacing what was told before: told when it changes, and when a Natter
    /// falls silent (its users are then gone). A one-machine store never tells this.
    PresenceElsewhere(&'a [Present]),
    /// A typing signal passed on by another Natter on this database.
    TypingElsewhere(&'a TypingSignal),
    /// Messages other Natters on this database stored, by author, told just before they are told
    /// as `MessagesStored`: so limits on how fast one person posts hold across Natters.
    PostedElsewhere(&'a [UserId]),
    /// Some changes could not be told: this Natter fell further behind the other Natters on its
    /// database than the database keeps their changes for. Every screen refills from the tables,
    /// which hold everything. A one-machine store never tells this.
    Resync,
}

/// Where the store tells its events (see [`StoreEvent`]).
pub type EventSink = Box<dyn Fn(StoreEvent<'_>) + Send + 'static>;

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

/// What to look for, as the store needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// The words, prefixes and phrases, all of which must match; none when the search is filters only.
    pub terms: Vec<SearchTerm>,
    /// The author's nickname key (`from:`).
    pub author_key: Option<String>,
    /// A room's name (`in:`).
    pub room: Option<String>,
    /// Only messages with a file (`has:file`).
    pub has_file: bool,
    /// Only messages stored before this instant (`before:`, midnight UTC starting that day).
    pub sent_before: Option<i64>,
    /// Only messages stored from this instant on (`after:`, midnight UTC ending that day).
    pub sent_from: Option<i64>,
}

/// One thing a search looks for in a message's text, as the user typed it (never query syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchTerm {
    Word(String),
    /// `deplo*`: words starting with this.
    Prefix(String),
    /// `"ship it"`: these words, in this order.
    Phrase(String),
}

/// How far a member has read a room: every message up to `last_read_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadMark {
    pub room_id: RoomId,
    pub user_id: UserId,
    pub last_read_id: MessageId,
}

/// A search result as stored: the message, its room as the searcher sees it, and the marked snippet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub message: ChatMessage,
    pub room: Room,
    pub marked: String,
}

pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_selects_postgres_and_anything_else_is_a_sqlite_file() {
        let url = "postgres://natter:secret@db.example:5432/natter?sslmode=disable";
        assert_eq!(StoreLocation::parse(Path::new(url)), StoreLocation::Postgres(url.into()));
        let other = "postgresql://natter@localhost/natter";
        assert_eq!(StoreLocation::parse(Path::new(other)), StoreLocation::Postgres(other.into()));
        for path in ["data/natter.db", "natter.db", "/var/lib/natter/postgres.db", "postgres:/x"] {
            assert_eq!(StoreLocation::parse(Path::new(path)), StoreLocation::Sqlite(path.into()));
        }
        assert_eq!(StoreLocation::parse(Path::new("natter.db")).folder(), PathBuf::from("."));
        assert_eq!(StoreLocation::parse(Path::new("data/natter.db")).folder(), PathBuf::from("data"));
        assert_eq!(StoreLocation::parse(Path::new(url)).folder(), PathBuf::from("data"));
    }

    #[test]
    fn a_postgres_url_is_shown_without_its_password_or_parameters() {
        let shown = StoreLocation::Postgres("postgres://natter:secret@db.example:5432/natter?password=x".into());
        assert_eq!(shown.to_string(), "postgres://natter@db.example:5432/natter");
        let plain = StoreLocation::Postgres("postgresql://localhost/natter".into());
        assert_eq!(plain.to_string(), "postgresql://localhost/natter");
    }
}
