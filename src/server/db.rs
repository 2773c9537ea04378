//! All SQL lives here. SQLite allows one writer at a time, so one thread owns the writing connection
//! and commits queued messages in groups (one transaction, one fsync, many messages); reads run on
//! a small pool of read-only connections on tokio's blocking threads. Nothing here blocks the async
//! runtime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::protocol::{
    Account, Attachment, ChatMessage, Member, MessageKind, NotifyLevel, Reaction, Reactor, Role, Room, RoomKind,
    GENERAL_ROOM_ID, MAX_REACTIONS_PER_MESSAGE, SERVER_NAME,
};
use crate::server::identity::Nickname;
use crate::server::search::SearchFilter;

/// One schema change: SQL, or Rust where the change needs our own logic.
enum Migration {
    Sql(&'static str),
    Code(fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>),
}

/// Migrations in order; `PRAGMA user_version` counts how many are applied.
const MIGRATIONS: &[Migration] = &[
    Migration::Sql(include_str!("../../migrations/0001_messages.sql")),
    Migration::Sql(include_str!("../../migrations/0002_users.sql")),
    Migration::Code(give_messages_authors),
    Migration::Sql(include_str!("../../migrations/0003_messages_by_author.sql")),
    Migration::Sql(include_str!("../../migrations/0004_message_kind.sql")),
    Migration::Sql(include_str!("../../migrations/0005_message_deletion.sql")),
    Migration::Sql(include_str!("../../migrations/0006_rooms.sql")),
    Migration::Sql(include_str!("../../migrations/0007_edits_and_reactions.sql")),
    Migration::Sql(include_str!("../../migrations/0008_search.sql")),
    Migration::Sql(include_str!("../../migrations/0009_mentions.sql")),
    Migration::Sql(include_str!("../../migrations/0010_notify.sql")),
    Migration::Sql(include_str!("../../migrations/0011_files.sql")),
];
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

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("the database is at schema version {found}, newer than this Natter knows ({known})")]
    TooNew { found: usize, known: usize },
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
    /// A change to a stored message was refused, checked in the changing transaction.
    #[error("change refused: {0:?}")]
    ChangeRefused(ChangeRefused),
}

/// A change to a stored message, by `actor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageChange {
    /// New body, already validated.
    Edit(String),
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
    pub user_id: i64,
    pub admin: bool,
}

/// A message to store, already validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub room_id: i64,
    pub author_id: i64,
    /// The author's nickname now; kept with the message as a record of the name it was sent under.
    pub nickname: String,
    pub body: String,
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

/// Called on the writer thread after each commit with the newly stored messages, in id order and
/// before any sender hears its ack: this is what keeps broadcast order equal to commit order.
pub type OnCommit = Box<dyn Fn(&[ChatMessage]) + Send + 'static>;

/// Any other write: runs on the writer thread in its own transaction, in queue order.
type WriteFn = Box<dyn FnOnce(&mut Connection) + Send>;

/// A room as stored, without any one user's view of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomRecord {
    pub id: i64,
    pub name: String,
    pub kind: RoomKind,
    pub archived: bool,
}

/// A user's rooms and the newest message id, read in one snapshot: a client that resumes from
/// `last_id` neither misses nor double-counts a message in the unread counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sidebar {
    pub rooms: Vec<Room>,
    pub last_id: i64,
    /// The newest message revision: changes after it are replayed on resume.
    pub last_change: i64,
}

enum Job {
    Insert(NewMessage, oneshot::Sender<Result<Inserted, DbError>>),
    Write(WriteFn),
    Shutdown(oneshot::Sender<()>),
}

/// A message's columns, in `message_from_row`'s order, from `messages m` joined with `users u` and
/// `files fl` (see `MESSAGE_JOINS`).
macro_rules! message_fields {
    () => {
        "m.id, m.room_id, m.author_id, coalesce(u.nickname, m.nickname), m.body, m.sent_at, m.client_msg_id,
         m.kind, m.deleted_at IS NOT NULL, m.edited_at, m.rev,
         fl.id, fl.name, fl.content_type, fl.size, fl.width, fl.height"
    };
}
macro_rules! message_joins {
    () => {
        "LEFT JOIN users u ON u.id = m.author_id LEFT JOIN files fl ON fl.message_id = m.id"
    };
}
const MESSAGE_COLUMNS: &str = concat!("SELECT ", message_fields!(), " FROM messages m ", message_joins!());
/// Search results: a message, its room as viewer `?1` sees it, and its snippet. Search words, when
/// given, come from `messages_fts f` (see `Store::search`); filters are `?2`…`?8`. CROSS JOIN fixes
/// the join order: statistics from when the database was small once led SQLite to walk the rooms
/// first and probe the full-text index per message, a minute per search over a million messages.
const SEARCH_FROM_ROOMS: &str = "CROSS JOIN rooms r ON r.id = m.room_id
     LEFT JOIN users peer ON r.kind = 'direct' AND peer.id =
         (SELECT other.user_id FROM memberships other WHERE other.room_id = r.id AND other.user_id != ?1)
     WHERE m.id < ?2 AND m.id > ?3 AND m.deleted_at IS NULL
       AND (r.kind = 'public' OR EXISTS (SELECT 1 FROM memberships mem WHERE mem.room_id = m.room_id AND mem.user_id = ?1))
       AND (?4 IS NULL OR m.author_id = (SELECT id FROM users WHERE nickname_key = ?4))
       AND (?5 IS NULL OR (r.name_key = ?5 AND r.kind != 'direct'))
       AND (NOT ?6 OR fl.id IS NOT NULL)";
/// A room as member `?1` sees it. A direct conversation is named after the other person.
const MEMBER_ROOM_COLUMNS: &str = "SELECT r.id, coalesce(peer.nickname, r.name), r.kind, r.archived_at IS NOT NULL,
            peer.id,
            (SELECT count(*) FROM (SELECT 1 FROM messages m WHERE m.room_id = r.id AND m.id > mem.last_read_id
                AND m.author_id != mem.user_id AND m.deleted_at IS NULL LIMIT 999)), -- protocol::MAX_UNREAD
            mem.last_read_id,
            (SELECT count(*) FROM (SELECT 1 FROM mentions mn JOIN messages m ON m.id = mn.message_id
                WHERE mn.user_id = mem.user_id AND mn.message_id > mem.last_read_id AND m.room_id = r.id
                AND m.deleted_at IS NULL LIMIT 999)),
            mem.notify
     FROM memberships mem JOIN rooms r ON r.id = mem.room_id
     LEFT JOIN users peer ON r.kind = 'direct' AND peer.id =
         (SELECT other.user_id FROM memberships other WHERE other.room_id = r.id AND other.user_id != mem.user_id)";
const ROOM_COLUMNS: &str = "SELECT id, name, kind, archived_at IS NOT NULL FROM rooms";
const ACCOUNT_COLUMNS: &str = "SELECT id, nickname, role, is_bot FROM users";

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    writer: mpsc::Sender<Job>,
    readers: Arc<ReadPool>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, applies migrations and starts the writer.
    pub fn open(path: &Path, on_commit: OnCommit) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir { path: dir.to_owned(), source })?;
        }
        let mut conn = Connection::open(path)?;
        configure_writer(&conn)?;
        migrate(&mut conn)?;
        let (writer, jobs) = mpsc::channel(WRITE_QUEUE);
        std::thread::Builder::new()
            .name("natter-db-writer".into())
            .spawn(move || Writer::new(conn, on_commit).run(jobs))
            .map_err(DbError::Thread)?;
        let readers = Arc::new(ReadPool { path: path.to_owned(), idle: Mutex::new(Vec::new()) });
        Ok(Self { writer, readers })
    }

    /// Stores a message and returns it with its id once the transaction has committed.
    pub async fn insert(&self, message: NewMessage) -> Result<Inserted, DbError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Job::Insert(message, reply)).await.map_err(|_| DbError::Closed)?;
        answer.await.map_err(|_| DbError::Closed)?
    }

    /// Up to `limit` messages of a room older than `before` (or the newest), oldest first.
    pub async fn history(&self, room_id: i64, before: Option<i64>, limit: u32) -> Result<Vec<ChatMessage>, DbError> {
        let before = before.unwrap_or(i64::MAX);
        self.read(move |conn| {
            let where_ = "m.room_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3";
            let mut page = query_messages(conn, where_, (room_id, before, limit))?;
            page.reverse();
            Ok(page)
        })
        .await
    }

    /// Up to `limit` messages matching `filter` in rooms `viewer` can read (public rooms, and the
    /// rooms they are in), with ids below `before`: newest first, each with its room and a snippet
    /// whose hits are marked with `search::HIT_START` / `HIT_END`.
    pub async fn search(
        &self,
        viewer: Option<i64>,
        filter: SearchFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Found>, DbError> {
        self.read(move |conn| {
            // Dates become id bounds (sent_at never decreases with id), so FTS5 walks only that range.
            let mut below = before.unwrap_or(i64::MAX);
            if let Some(instant) = filter.sent_before {
                // The first entry of the sent_at index (ordered by time, then id): one seek, where
                // min(id) over the range would read half the index.
                let first_after: Option<i64> = conn
                    .prepare_cached("SELECT id FROM messages WHERE sent_at >= ?1 ORDER BY sent_at, id LIMIT 1")?
                    .query_row([instant], |row| row.get(0))
                    .optional()?;
                below = below.min(first_after.unwrap_or(i64::MAX));
            }
            let above: i64 = match filter.sent_from {
                Some(instant) => conn
                    .prepare_cached(
                        "SELECT id FROM messages WHERE sent_at < ?1 ORDER BY sent_at DESC, id DESC LIMIT 1",
                    )?
                    .query_row([instant], |row| row.get(0))
                    .optional()?
                    .unwrap_or(0),
                None => 0,
            };
            let params = rusqlite::params![
                viewer.unwrap_or(0),
                below,
                above,
                filter.author_key,
                filter.room,
                filter.has_file,
                limit,
                filter.fts,
            ];
            let sql = search_sql(filter.fts.is_some());
            let mut found =
                conn.prepare_cached(&sql)?.query_map(params, found_from_row)?.collect::<Result<Vec<_>, _>>()?;
            let mut messages: Vec<ChatMessage> = found.iter().map(|f| f.message.clone()).collect();
            attach_reactions(conn, &mut messages)?;
            for (found, message) in found.iter_mut().zip(messages) {
                found.message = message;
            }
            Ok(found)
        })
        .await
    }

    /// Up to `limit` messages of a room newer than `after`, oldest first: paging forward from an older
    /// point (a permalink's context) towards the present.
    pub async fn newer(&self, room_id: i64, after: i64, limit: u32) -> Result<Vec<ChatMessage>, DbError> {
        self.read(move |conn| {
            query_messages(conn, "m.room_id = ?1 AND m.id > ?2 ORDER BY m.id LIMIT ?3", (room_id, after, limit))
        })
        .await
    }

    /// Sets when `user_id` is notified about a room they are in; `false` if they are not in it.
    pub async fn set_notify(&self, room_id: i64, user_id: i64, level: NotifyLevel) -> Result<bool, DbError> {
        let level = match level {
            NotifyLevel::All => "all",
            NotifyLevel::Mentions => "mentions",
            NotifyLevel::Nothing => "nothing",
        };
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE memberships SET notify = ?3 WHERE room_id = ?1 AND user_id = ?2",
                (room_id, user_id, level),
            )?;
            Ok(changed == 1)
        })
        .await
    }

    /// The id of the file sent as message `id`, if any.
    pub async fn message_file(&self, id: i64) -> Result<Option<String>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT id FROM files WHERE message_id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()
        })
        .await
    }

    /// A file with the room of its message, for serving it to that room's members.
    pub async fn file(&self, id: String) -> Result<Option<(Attachment, i64)>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT fl.id, fl.name, fl.content_type, fl.size, fl.width, fl.height, m.room_id
                 FROM files fl JOIN messages m ON m.id = fl.message_id WHERE fl.id = ?1 AND m.deleted_at IS NULL",
            )?
            .query_row([id], |row| {
                Ok((attachment_from_row(row, 0)?.ok_or(rusqlite::Error::InvalidQuery)?, row.get(6)?))
            })
            .optional()
        })
        .await
    }

    /// The room of message `id`, if there is such a message.
    pub async fn message_room(&self, id: i64) -> Result<Option<i64>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT room_id FROM messages WHERE id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()
        })
        .await
    }

    /// Up to `limit` messages newer than `after` in the rooms `user_id` is in, oldest first: what a
    /// reconnecting client missed.
    pub async fn since(&self, user_id: i64, after: i64, limit: u32) -> Result<Vec<ChatMessage>, DbError> {
        self.read(move |conn| {
            let where_ = "m.id > ?1 AND m.room_id IN (SELECT room_id FROM memberships WHERE user_id = ?2)
                          ORDER BY m.id LIMIT ?3";
            query_messages(conn, where_, (after, user_id, limit))
        })
        .await
    }

    /// Up to `limit` messages in the rooms `user_id` is in that changed after revision `after`, in
    /// revision order, each in its current state: the edits, deletions and reactions a reconnecting
    /// client missed.
    pub async fn changed_since(&self, user_id: i64, after: i64, limit: u32) -> Result<Vec<ChatMessage>, DbError> {
        self.read(move |conn| {
            // `m.rev > 0` lets SQLite use the partial index of changed messages.
            let where_ =
                "m.rev > ?1 AND m.rev > 0 AND m.room_id IN (SELECT room_id FROM memberships WHERE user_id = ?2)
                          ORDER BY m.rev LIMIT ?3";
            query_messages(conn, where_, (after, user_id, limit))
        })
        .await
    }

    /// The newest message revision (0 when nothing was ever changed).
    pub async fn last_change(&self) -> Result<i64, DbError> {
        self.read(last_change).await
    }

    /// Edits, deletes or reacts to a message, checking in the same transaction that `actor` may.
    /// Returns the message as it is now, or `None` when nothing changed (a reaction already there,
    /// an edit to the same text). `after_commit` runs on the writer thread with that result, so
    /// changes are announced in revision order.
    pub async fn change_message(
        &self,
        id: i64,
        change: MessageChange,
        actor: Actor,
        after_commit: impl FnOnce(&Option<ChatMessage>) + Send + 'static,
    ) -> Result<Option<ChatMessage>, DbError> {
        self.write_then(move |tx| apply_change(tx, id, &change, actor), after_commit).await
    }

    /// The rooms `user_id` is in (archived ones included) with unread counts, and the newest message
    /// id, from one snapshot.
    pub async fn sidebar(&self, user_id: i64) -> Result<Sidebar, DbError> {
        self.read(move |conn| {
            let snapshot = conn.unchecked_transaction()?;
            let last_id = snapshot.query_row("SELECT coalesce(max(id), 0) FROM messages", [], |row| row.get(0))?;
            let last_change = last_change(&snapshot)?;
            let rooms = snapshot
                .prepare_cached(&format!("{MEMBER_ROOM_COLUMNS} WHERE mem.user_id = ?1 ORDER BY r.kind = 'direct', 2"))?
                .query_map([user_id], room_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Sidebar { rooms, last_id, last_change })
        })
        .await
    }

    /// `user_id`'s view of a room, if they are a member.
    pub async fn member_room(&self, room_id: i64, user_id: i64) -> Result<Option<Room>, DbError> {
        self.read(move |conn| member_room(conn, room_id, user_id)).await
    }

    pub async fn room_by_id(&self, room_id: i64) -> Result<Option<RoomRecord>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!("{ROOM_COLUMNS} WHERE id = ?1"))?
                .query_row([room_id], record_from_row)
                .optional()
        })
        .await
    }

    /// A named room (never a direct conversation).
    pub async fn room_by_name(&self, name: String) -> Result<Option<RoomRecord>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!("{ROOM_COLUMNS} WHERE name_key = ?1 AND kind != 'direct'"))?
                .query_row([&name], record_from_row)
                .optional()
        })
        .await
    }

    /// The direct conversation between two users, if there is one.
    pub async fn direct_room_of(&self, user_id: i64, peer_id: i64) -> Result<Option<i64>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT id FROM rooms WHERE name_key = ?1")?
                .query_row([direct_key(user_id, peer_id)], |row| row.get(0))
                .optional()
        })
        .await
    }

    /// A room's members, by nickname.
    pub async fn members(&self, room_id: i64) -> Result<Vec<Member>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT u.id, u.nickname, u.is_bot FROM memberships mem JOIN users u ON u.id = mem.user_id
                 WHERE mem.room_id = ?1 ORDER BY lower(u.nickname)",
            )?
            .query_map([room_id], |row| {
                Ok(Member { user_id: row.get(0)?, nickname: row.get(1)?, is_bot: row.get(2)? })
            })?
            .collect()
        })
        .await
    }

    /// Public rooms that are not archived, by name, with their member counts: the room directory.
    pub async fn public_rooms(&self) -> Result<Vec<(RoomRecord, u32)>, DbError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT r.id, r.name, r.kind, r.archived_at IS NOT NULL,
                        (SELECT count(*) FROM memberships WHERE room_id = r.id)
                 FROM rooms r WHERE r.kind = 'public' AND r.archived_at IS NULL ORDER BY r.name",
            )?
            .query_map([], |row| Ok((record_from_row(row)?, row.get(4)?)))?
            .collect()
        })
        .await
    }

    /// A user by nickname key (bots included, banned users not).
    pub async fn user_by_key(&self, nickname_key: String) -> Result<Option<Account>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!("{ACCOUNT_COLUMNS} WHERE nickname_key = ?1 AND banned_at IS NULL"))?
                .query_row([&nickname_key], account_from_row)
                .optional()
        })
        .await
    }

    pub async fn user_by_id(&self, user_id: i64) -> Result<Option<Account>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!("{ACCOUNT_COLUMNS} WHERE id = ?1 AND banned_at IS NULL"))?
                .query_row([user_id], account_from_row)
                .optional()
        })
        .await
    }

    /// Creates a room with its creator as the first member. `after_commit` runs on the writer thread
    /// once it is stored, before any later write.
    pub async fn create_room(
        &self,
        name: String,
        kind: RoomKind,
        creator: i64,
        after_commit: impl FnOnce(&Room) + Send + 'static,
    ) -> Result<Room, DbError> {
        self.write_then(
            move |tx| {
                let id: i64 = tx
                    .query_row(
                        "INSERT INTO rooms (name, name_key, kind, created_by, created_at) VALUES (?1, ?1, ?2, ?3, ?4)
                         RETURNING id",
                        (&name, kind_name(kind), creator, now_millis()),
                        |row| row.get(0),
                    )
                    .map_err(|error| match error.sqlite_error_code() {
                        Some(rusqlite::ErrorCode::ConstraintViolation) => DbError::RoomNameTaken,
                        _ => DbError::Sqlite(error),
                    })?;
                add_member(tx, id, creator)?;
                Ok(member_room(tx, id, creator)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?)
            },
            after_commit,
        )
        .await
    }

    /// Makes `user_id` a member (everything said before counts as read). `None` if they already
    /// were; otherwise their view of the room and themselves as a member, passed to `after_commit`.
    pub async fn add_member(
        &self,
        room_id: i64,
        user_id: i64,
        after_commit: impl FnOnce(&Option<(Room, Member)>) + Send + 'static,
    ) -> Result<Option<(Room, Member)>, DbError> {
        self.write_then(
            move |tx| {
                if !add_member(tx, room_id, user_id)? {
                    return Ok(None);
                }
                let room = member_room(tx, room_id, user_id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                let member =
                    tx.query_row("SELECT id, nickname, is_bot FROM users WHERE id = ?1", [user_id], |row| {
                        Ok(Member { user_id: row.get(0)?, nickname: row.get(1)?, is_bot: row.get(2)? })
                    })?;
                Ok(Some((room, member)))
            },
            after_commit,
        )
        .await
    }

    /// Ends a membership; `false` if there was none.
    pub async fn remove_member(
        &self,
        room_id: i64,
        user_id: i64,
        after_commit: impl FnOnce(&bool) + Send + 'static,
    ) -> Result<bool, DbError> {
        self.write_then(
            move |tx| {
                let removed =
                    tx.execute("DELETE FROM memberships WHERE room_id = ?1 AND user_id = ?2", (room_id, user_id))?;
                Ok(removed == 1)
            },
            after_commit,
        )
        .await
    }

    /// Archives a room; `false` if it already was.
    pub async fn archive_room(
        &self,
        room_id: i64,
        after_commit: impl FnOnce(&bool) + Send + 'static,
    ) -> Result<bool, DbError> {
        self.write_then(
            move |tx| {
                let changed = tx.execute(
                    "UPDATE rooms SET archived_at = ?2 WHERE id = ?1 AND archived_at IS NULL",
                    (room_id, now_millis()),
                )?;
                Ok(changed == 1)
            },
            after_commit,
        )
        .await
    }

    /// The direct conversation between two users, created with both as members if it is new.
    /// `after_commit` gets each new member's view of it (empty when it already existed).
    pub async fn open_direct(
        &self,
        user_id: i64,
        peer_id: i64,
        after_commit: impl FnOnce(&Vec<(Room, Member)>) + Send + 'static,
    ) -> Result<i64, DbError> {
        let (room_id, _) = self
            .write_then(
                move |tx| {
                    let key = direct_key(user_id, peer_id);
                    let existing: Option<i64> = tx
                        .query_row("SELECT id FROM rooms WHERE name_key = ?1", [&key], |row| row.get(0))
                        .optional()?;
                    if let Some(id) = existing {
                        return Ok((id, Vec::new()));
                    }
                    let id: i64 = tx.query_row(
                        "INSERT INTO rooms (name, name_key, kind, created_by, created_at)
                         VALUES ('direct', ?1, 'direct', ?2, ?3) RETURNING id",
                        (&key, user_id, now_millis()),
                        |row| row.get(0),
                    )?;
                    let mut joined = Vec::new();
                    for (member, other) in [(user_id, peer_id), (peer_id, user_id)] {
                        add_member(tx, id, member)?;
                        let _ = other;
                    }
                    for member in [user_id, peer_id] {
                        let room = member_room(tx, id, member)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                        let who =
                            tx.query_row("SELECT id, nickname, is_bot FROM users WHERE id = ?1", [member], |row| {
                                Ok(Member { user_id: row.get(0)?, nickname: row.get(1)?, is_bot: row.get(2)? })
                            })?;
                        joined.push((room, who));
                    }
                    Ok((id, joined))
                },
                move |(_, joined)| after_commit(joined),
            )
            .await?;
        Ok(room_id)
    }

    /// Moves members' read marks (room, user, last read id) forward, never back and never past the
    /// newest message, in one transaction; marks of non-members change nothing.
    pub async fn save_read_marks(&self, marks: Vec<(i64, i64, i64)>) -> Result<(), DbError> {
        self.write(move |tx| {
            let mut update = tx.prepare_cached(
                "UPDATE memberships
                 SET last_read_id = max(last_read_id, min(?3, (SELECT coalesce(max(id), 0) FROM messages)))
                 WHERE room_id = ?1 AND user_id = ?2",
            )?;
            for mark in marks {
                update.execute(mark)?;
            }
            Ok(())
        })
        .await
    }

    /// The newest message id, 0 when there is none.
    pub async fn last_id(&self) -> Result<i64, DbError> {
        self.read(|conn| conn.query_row("SELECT coalesce(max(id), 0) FROM messages", [], |row| row.get(0))).await
    }

    /// Creates a user (the first person becomes admin) and a session for them, in one transaction.
    pub async fn create_user(
        &self,
        nickname: Nickname,
        session_hash: Vec<u8>,
        expires_at: i64,
    ) -> Result<Account, DbError> {
        self.write(move |tx| {
            let now = now_millis();
            let id: i64 = tx
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
    pub async fn session_account(&self, session_hash: Vec<u8>) -> Result<Option<Account>, DbError> {
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

    pub async fn create_session(&self, user_id: i64, session_hash: Vec<u8>, expires_at: i64) -> Result<(), DbError> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                (&session_hash, user_id, now_millis(), expires_at),
            )?;
            Ok(())
        })
        .await
    }

    pub async fn set_password_hash(&self, user_id: i64, password_hash: String) -> Result<(), DbError> {
        self.write(move |tx| {
            tx.execute("UPDATE users SET password_hash = ?1 WHERE id = ?2", (&password_hash, user_id))?;
            Ok(())
        })
        .await
    }

    /// The account with this nickname key and its password hash, unless banned or a bot.
    pub async fn credentials(&self, nickname_key: String) -> Result<Option<(Account, Option<String>)>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT id, nickname, role, is_bot, password_hash FROM users
                 WHERE nickname_key = ?1 AND banned_at IS NULL AND NOT is_bot",
            )?
            .query_row([&nickname_key], |row| Ok((account_from_row(row)?, row.get(4)?)))
            .optional()
        })
        .await
    }

    /// Bans a user: they can no longer sign in, and every session of theirs ends. Their nickname stays
    /// taken. `None` if there is no such user.
    pub async fn ban(&self, user_id: i64) -> Result<Option<Account>, DbError> {
        self.write(move |tx| {
            tx.execute("UPDATE users SET banned_at = coalesce(banned_at, ?2) WHERE id = ?1", (user_id, now_millis()))?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
            let account =
                tx.query_row(&format!("{ACCOUNT_COLUMNS} WHERE id = ?1"), [user_id], account_from_row).optional()?;
            Ok(account)
        })
        .await
    }

    /// Makes the user with this nickname key an admin; `None` if there is no such user.
    pub async fn make_admin(&self, nickname_key: String) -> Result<Option<Account>, DbError> {
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
    pub async fn create_bot(&self, nickname: Nickname, token_hash: Vec<u8>) -> Result<Account, DbError> {
        self.write(move |tx| {
            let now = now_millis();
            let id: i64 = tx
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
    pub async fn system_account(&self) -> Result<Account, DbError> {
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

    pub async fn end_session(&self, session_hash: Vec<u8>) -> Result<(), DbError> {
        self.write(move |tx| {
            tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [&session_hash])?;
            Ok(())
        })
        .await
    }

    /// Renames a user; `NicknameTaken` if another user's nickname looks the same.
    pub async fn rename(&self, user_id: i64, nickname: Nickname) -> Result<(), DbError> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE users SET nickname = ?1, nickname_key = ?2 WHERE id = ?3",
                (&nickname.display, &nickname.key, user_id),
            )
            .map_err(taken_if_unique)?;
            Ok(())
        })
        .await
    }

    /// Runs `change` in its own IMMEDIATE transaction on the writer thread, after every write
    /// queued before it.
    async fn write<T, F>(&self, change: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, DbError> + Send + 'static,
    {
        self.write_then(change, |_| {}).await
    }

    /// Like `write`, then runs `after_commit` with the result on the writer thread: whatever it
    /// broadcasts is ordered with the messages committed before and after.
    async fn write_then<T, F, A>(&self, change: F, after_commit: A) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, DbError> + Send + 'static,
        A: FnOnce(&T) + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: WriteFn = Box::new(move |conn| {
            let result =
                conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(DbError::from).and_then(|tx| {
                    let value = change(&tx)?;
                    tx.commit()?;
                    Ok(value)
                });
            if let Ok(value) = &result {
                after_commit(value);
            }
            let _ = reply.send(result);
        });
        self.writer.send(Job::Write(job)).await.map_err(|_| DbError::Closed)?;
        answer.await.map_err(|_| DbError::Closed)?
    }

    /// Finishes every write queued so far, then stops the writer. Later inserts fail with `Closed`.
    pub async fn shutdown(&self) {
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

/// Records whom a message mentions: `@nick`s (outside code) naming members of its room, by nickname
/// key, so `@ALICE` and look-alikes count as alice; never the author.
fn record_mentions(
    conn: &Connection,
    message_id: i64,
    room_id: i64,
    author_id: i64,
    body: &str,
) -> rusqlite::Result<()> {
    if !body.contains('@') {
        return Ok(());
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO mentions (user_id, message_id)
         SELECT u.id, ?1 FROM users u JOIN memberships mem ON mem.user_id = u.id AND mem.room_id = ?2
         WHERE u.nickname_key = ?3 AND u.id != ?4
         ON CONFLICT DO NOTHING",
    )?;
    for nick in crate::text::format::mentions(body) {
        if let Ok(nickname) = crate::server::identity::nickname(&nick) {
            insert.execute((message_id, room_id, nickname.key, author_id))?;
        }
    }
    Ok(())
}

fn last_change(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(rev), 0) FROM messages WHERE rev > 0")?.query_row([], |row| row.get(0))
}

/// What the changing transaction needs to know about a message and the actor's place in its room.
struct ChangeTarget {
    room_id: i64,
    author_id: i64,
    body: String,
    deleted: bool,
    archived: bool,
    member: bool,
    public: bool,
}

fn apply_change(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    change: &MessageChange,
    actor: Actor,
) -> Result<Option<ChatMessage>, DbError> {
    let refuse = |why| Err(DbError::ChangeRefused(why));
    let target = tx
        .prepare_cached(
            "SELECT m.room_id, m.author_id, m.body, m.deleted_at IS NOT NULL, r.archived_at IS NOT NULL,
                    EXISTS (SELECT 1 FROM memberships WHERE room_id = m.room_id AND user_id = ?2),
                    r.kind = 'public'
             FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id = ?1",
        )?
        .query_row((id, actor.user_id), |row| {
            Ok(ChangeTarget {
                room_id: row.get(0)?,
                author_id: row.get::<_, Option<i64>>(1)?.unwrap_or(0),
                body: row.get(2)?,
                deleted: row.get(3)?,
                archived: row.get(4)?,
                member: row.get(5)?,
                public: row.get(6)?,
            })
        })
        .optional()?;
    // Someone who cannot read the room learns nothing about its messages, not even that they exist.
    let visible = |target: &ChangeTarget| !target.deleted && (target.member || target.public || actor.admin);
    let Some(target) = target.filter(visible) else { return refuse(ChangeRefused::NoSuchMessage) };
    let author = target.author_id == actor.user_id;
    let now = now_millis();
    let rev = last_change(tx)? + 1;
    match change {
        MessageChange::Edit(body) => {
            if !(author && target.member || actor.admin) {
                return refuse(if author { ChangeRefused::NotAMember } else { ChangeRefused::NotAuthor });
            }
            if target.archived {
                return refuse(ChangeRefused::Archived);
            }
            if *body == target.body {
                return Ok(None);
            }
            tx.prepare_cached("UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1")?
                .execute((id, body, now))?;
            tx.prepare_cached("DELETE FROM mentions WHERE message_id = ?1")?.execute([id])?;
            record_mentions(tx, id, target.room_id, target.author_id, body)?;
        }
        MessageChange::Delete => {
            if !(author || actor.admin) {
                return refuse(ChangeRefused::NotAuthor);
            }
            tx.prepare_cached("UPDATE messages SET body = '', deleted_at = ?2 WHERE id = ?1")?.execute((id, now))?;
            tx.prepare_cached("DELETE FROM reactions WHERE message_id = ?1")?.execute([id])?;
            tx.prepare_cached("DELETE FROM mentions WHERE message_id = ?1")?.execute([id])?;
            // The file's bytes go once this commits (`messages::delete`).
            tx.prepare_cached("DELETE FROM files WHERE message_id = ?1")?.execute([id])?;
        }
        MessageChange::React(emoji, add) => {
            if !target.member {
                return refuse(ChangeRefused::NotAMember);
            }
            if target.archived {
                return refuse(ChangeRefused::Archived);
            }
            let changed = if *add {
                let (distinct, present): (i64, bool) = tx
                    .prepare_cached(
                        "SELECT count(DISTINCT emoji), coalesce(max(emoji = ?2), 0) FROM reactions WHERE message_id = ?1",
                    )?
                    .query_row((id, emoji), |row| Ok((row.get(0)?, row.get(1)?)))?;
                if !present && distinct >= MAX_REACTIONS_PER_MESSAGE as i64 {
                    return refuse(ChangeRefused::TooManyReactions);
                }
                tx.prepare_cached(
                    "INSERT INTO reactions (message_id, emoji, user_id, reacted_at, rev) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT DO NOTHING",
                )?
                .execute((id, emoji, actor.user_id, now, rev))?
            } else {
                tx.prepare_cached("DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3")?
                    .execute((id, emoji, actor.user_id))?
            };
            if changed == 0 {
                return Ok(None);
            }
        }
    }
    tx.prepare_cached("UPDATE messages SET rev = ?2 WHERE id = ?1")?.execute((id, rev))?;
    let mut message =
        tx.prepare_cached(&format!("{MESSAGE_COLUMNS} WHERE m.id = ?1"))?.query_row([id], message_from_row)?;
    debug_assert_eq!(message.room_id, target.room_id);
    attach_reactions(tx, std::slice::from_mut(&mut message))?;
    Ok(Some(message))
}

/// Fills in the reactions of `messages` (any order) with one range query.
fn attach_reactions(conn: &Connection, messages: &mut [ChatMessage]) -> rusqlite::Result<()> {
    let (Some(low), Some(high)) = (messages.iter().map(|m| m.id).min(), messages.iter().map(|m| m.id).max()) else {
        return Ok(());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT r.message_id, r.emoji, r.user_id, coalesce(u.nickname, '') FROM reactions r
         LEFT JOIN users u ON u.id = r.user_id
         WHERE r.message_id BETWEEN ?1 AND ?2 ORDER BY r.message_id, r.rev",
    )?;
    let mut rows = stmt.query((low, high))?;
    let by_id: std::collections::HashMap<i64, usize> =
        messages.iter().enumerate().map(|(index, m)| (m.id, index)).collect();
    while let Some(row) = rows.next()? {
        let Some(&index) = by_id.get(&row.get::<_, i64>(0)?) else { continue };
        let emoji: String = row.get(1)?;
        let reactor = Reactor { user_id: row.get(2)?, nickname: row.get(3)? };
        let reactions = &mut messages[index].reactions;
        match reactions.iter_mut().find(|reaction| reaction.emoji == emoji) {
            Some(reaction) => reaction.users.push(reactor),
            None => reactions.push(Reaction { emoji, users: vec![reactor] }),
        }
    }
    Ok(())
}

/// A search's SQL: with words, FTS5 drives (its matches come newest first, bounded by id); without,
/// messages are walked by id. The parameters are those of `SEARCH_FROM_ROOMS`, `?7` the page size and
/// `?8` the FTS5 expression.
fn search_sql(with_words: bool) -> String {
    if with_words {
        format!(
            "SELECT {}, r.id, r.name, r.kind, peer.id, peer.nickname,
                    snippet(messages_fts, 0, char(2), char(3), '…', 24)
             FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid {}
             {SEARCH_FROM_ROOMS} AND messages_fts MATCH ?8 AND f.rowid < ?2 AND f.rowid > ?3
             ORDER BY f.rowid DESC LIMIT ?7",
            message_fields!(),
            message_joins!()
        )
    } else {
        format!(
            "SELECT {}, r.id, r.name, r.kind, peer.id, peer.nickname, m.body
             FROM messages m {}
             {SEARCH_FROM_ROOMS} AND ?8 IS NULL
             ORDER BY m.id DESC LIMIT ?7",
            message_fields!(),
            message_joins!()
        )
    }
}

/// A search result as stored: the message, its room as the searcher sees it, and the marked snippet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub message: ChatMessage,
    pub room: Room,
    pub marked: String,
}

fn found_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Found> {
    let message = message_from_row(row)?;
    let kind = room_kind(row, 19)?;
    let peer_id: Option<i64> = row.get(20)?;
    let name = match (kind, row.get::<_, Option<String>>(21)?) {
        (RoomKind::Direct, Some(peer)) => peer,
        _ => row.get(18)?,
    };
    let room = Room {
        id: row.get(17)?,
        name,
        kind,
        archived: false,
        peer_id,
        unread: 0,
        last_read_id: 0,
        mentions: 0,
        notify: None,
    };
    Ok(Found { message, room, marked: row.get(22)? })
}

fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    Ok(ChatMessage {
        id: row.get(0)?,
        room_id: row.get(1)?,
        author_id: row.get::<_, Option<i64>>(2)?.unwrap_or(0),
        nickname: row.get(3)?,
        body: row.get(4)?,
        sent_at: row.get(5)?,
        client_msg_id: row.get(6)?,
        kind: if row.get_ref(7)?.as_str()? == "announcement" { MessageKind::Announcement } else { MessageKind::Chat },
        deleted: row.get(8)?,
        edited_at: row.get(9)?,
        rev: row.get(10)?,
        reactions: Vec::new(),
        file: attachment_from_row(row, 11)?,
    })
}

/// A file's six columns (id, name, content_type, size, width, height) from `first` on; `None` when
/// the id is NULL (a message without a file).
fn attachment_from_row(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Option<Attachment>> {
    let Some(id) = row.get::<_, Option<String>>(first)? else { return Ok(None) };
    Ok(Some(Attachment {
        id,
        name: row.get(first + 1)?,
        content_type: row.get(first + 2)?,
        size: row.get(first + 3)?,
        width: row.get(first + 4)?,
        height: row.get(first + 5)?,
    }))
}

/// Messages selected by `tail` (the WHERE clause and order after `MESSAGE_COLUMNS`), with reactions.
fn query_messages(conn: &Connection, tail: &str, params: impl rusqlite::Params) -> rusqlite::Result<Vec<ChatMessage>> {
    let mut page = conn
        .prepare_cached(&format!("{MESSAGE_COLUMNS} WHERE {tail}"))?
        .query_map(params, message_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    attach_reactions(conn, &mut page)?;
    Ok(page)
}

fn kind_name(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Public => "public",
        RoomKind::Private => "private",
        RoomKind::Direct => "direct",
    }
}

fn room_kind(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<RoomKind> {
    Ok(match row.get_ref(index)?.as_str()? {
        "private" => RoomKind::Private,
        "direct" => RoomKind::Direct,
        _ => RoomKind::Public,
    })
}

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RoomRecord> {
    Ok(RoomRecord { id: row.get(0)?, name: row.get(1)?, kind: room_kind(row, 2)?, archived: row.get(3)? })
}

fn room_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Room> {
    Ok(Room {
        id: row.get(0)?,
        name: row.get(1)?,
        kind: room_kind(row, 2)?,
        archived: row.get(3)?,
        peer_id: row.get(4)?,
        unread: row.get(5)?,
        last_read_id: row.get(6)?,
        mentions: row.get(7)?,
        notify: match row.get_ref(8)?.as_str_or_null()? {
            Some("all") => Some(NotifyLevel::All),
            Some("mentions") => Some(NotifyLevel::Mentions),
            Some("nothing") => Some(NotifyLevel::Nothing),
            _ => None,
        },
    })
}

fn member_room(conn: &Connection, room_id: i64, user_id: i64) -> rusqlite::Result<Option<Room>> {
    conn.prepare_cached(&format!("{MEMBER_ROOM_COLUMNS} WHERE mem.user_id = ?1 AND mem.room_id = ?2"))?
        .query_row((user_id, room_id), room_from_row)
        .optional()
}

/// Adds a membership with everything said so far counted as read; `false` if it existed.
fn add_member(conn: &Connection, room_id: i64, user_id: i64) -> rusqlite::Result<bool> {
    let added = conn.execute(
        "INSERT INTO memberships (room_id, user_id, joined_at, last_read_id)
         VALUES (?1, ?2, ?3, (SELECT coalesce(max(id), 0) FROM messages WHERE room_id = ?1))
         ON CONFLICT (room_id, user_id) DO NOTHING",
        (room_id, user_id, now_millis()),
    )?;
    Ok(added == 1)
}

fn direct_key(a: i64, b: i64) -> String {
    format!("dm:{}:{}", a.min(b), a.max(b))
}

fn account_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    let role = match row.get_ref(2)?.as_str()? {
        "admin" => Role::Admin,
        _ => Role::Member,
    };
    Ok(Account { id: row.get(0)?, nickname: row.get(1)?, role, is_bot: row.get(3)? })
}

/// A unique-constraint failure on users is a taken nickname; anything else stays an error.
fn taken_if_unique(error: rusqlite::Error) -> DbError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => DbError::NicknameTaken,
        _ => DbError::Sqlite(error),
    }
}

/// Migration step: every nickname that posted before accounts existed becomes a user, and its
/// messages get that author. Nicknames that now look alike merge into one user.
fn give_messages_authors(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let nicknames: Vec<String> = tx
        .prepare("SELECT nickname FROM messages GROUP BY nickname ORDER BY min(id)")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for legacy in nicknames {
        let key = crate::server::identity::nickname(&legacy).map_or_else(|_| format!("legacy:{legacy}"), |n| n.key);
        tx.execute(
            "INSERT INTO users (nickname, nickname_key, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (nickname_key) DO NOTHING",
            (&legacy, &key, now_millis()),
        )?;
        tx.execute(
            "UPDATE messages SET author_id = (SELECT id FROM users WHERE nickname_key = ?2) WHERE nickname = ?1",
            (&legacy, &key),
        )?;
    }
    Ok(())
}

/// Writes a consistent copy of the database at `db` to the new file `to` with `VACUUM INTO`, which
/// reads one snapshot (WAL mode lets it run beside a serving Natter) and never copies a half-written
/// page, as copying the live file could. Blocks: run it off the async runtime.
pub fn backup(db: &Path, to: &Path) -> Result<(), DbError> {
    // Never create the source: a mistyped --db must fail, not back up an empty new database.
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let target = to.to_str().ok_or(DbError::NotUtf8Path)?;
    conn.execute("VACUUM INTO ?1", [target])?;
    Ok(())
}

fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // WAL lets readers run while the writer commits; FULL syncs the WAL on every commit, so an acked
    // message survives a power cut, not only a crash.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Applies the migrations the database has not seen yet, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(DbError::TooNew { found: applied, known: MIGRATIONS.len() });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match migration {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::Code(step) => step(&tx)?,
        }
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

struct Writer {
    conn: Connection,
    on_commit: OnCommit,
    /// Timestamps never go backwards, even if the system clock does, so time order matches id order.
    last_sent_at: i64,
}

impl Writer {
    fn new(conn: Connection, on_commit: OnCommit) -> Self {
        Self { conn, on_commit, last_sent_at: 0 }
    }

    /// Takes jobs in queue order. Consecutive inserts are committed together; any other job ends
    /// the group, so writes never overtake one another.
    fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        let mut next = None;
        loop {
            let Some(job) = next.take().or_else(|| jobs.blocking_recv()) else { return };
            match job {
                Job::Insert(message, reply) => {
                    let mut group = vec![(message, reply)];
                    while group.len() < MAX_GROUP {
                        match jobs.try_recv() {
                            Ok(Job::Insert(message, reply)) => group.push((message, reply)),
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_group(group);
                }
                Job::Write(change) => change(&mut self.conn),
                Job::Shutdown(done) => {
                    let _ = self.conn.execute_batch("PRAGMA optimize");
                    let _ = done.send(());
                    return;
                }
            }
        }
    }

    /// Commits a group in one transaction. If that fails, each message is tried on its own so one
    /// bad row cannot fail its neighbours.
    fn commit_group(&mut self, group: Vec<(NewMessage, oneshot::Sender<Result<Inserted, DbError>>)>) {
        let messages: Vec<&NewMessage> = group.iter().map(|(message, _)| message).collect();
        match self.insert_all(&messages) {
            Ok(results) => {
                self.announce(&results);
                for ((_, reply), result) in group.into_iter().zip(results) {
                    let _ = reply.send(result.ok_or(DbError::NotAllowed));
                }
            }
            Err(error) if group.len() == 1 => {
                if let Some((_, reply)) = group.into_iter().next() {
                    let _ = reply.send(Err(error.into()));
                }
            }
            Err(_) => {
                for (message, reply) in group {
                    let result = self.insert_all(&[&message]).map(|mut one| one.remove(0));
                    if let Ok(inserted) = &result {
                        self.announce(std::slice::from_ref(inserted));
                    }
                    let _ = reply.send(result.map_err(DbError::from).and_then(|one| one.ok_or(DbError::NotAllowed)));
                }
            }
        }
    }

    /// Inserts a group in one transaction. `None` for a message its author may not post there.
    fn insert_all(&mut self, messages: &[&NewMessage]) -> rusqlite::Result<Vec<Option<Inserted>>> {
        let sent_at = now_millis().max(self.last_sent_at);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(messages.len());
        {
            // The right to post is checked in the same transaction as the insert, so a message can
            // never land after its author left the room or the room was archived.
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (author_id, nickname, body, sent_at, client_msg_id, kind, room_id)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
                 WHERE EXISTS (SELECT 1 FROM rooms r WHERE r.id = ?7 AND r.archived_at IS NULL)
                   AND (NOT ?8 OR EXISTS (SELECT 1 FROM memberships WHERE room_id = ?7 AND user_id = ?1))
                 ON CONFLICT (author_id, client_msg_id) DO NOTHING RETURNING id",
            )?;
            let mut existing =
                tx.prepare_cached(&format!("{MESSAGE_COLUMNS} WHERE m.author_id = ?1 AND m.client_msg_id = ?2"))?;
            for message in messages {
                let kind = match message.kind {
                    MessageKind::Chat => "chat",
                    MessageKind::Announcement => "announcement",
                };
                let params = (
                    message.author_id,
                    &message.nickname,
                    &message.body,
                    sent_at,
                    &message.client_msg_id,
                    kind,
                    message.room_id,
                    message.members_only,
                );
                let id: Option<i64> = insert.query_row(params, |row| row.get(0)).optional()?;
                if let Some(id) = id {
                    record_mentions(&tx, id, message.room_id, message.author_id, &message.body)?;
                    if let Some(file) = &message.file {
                        tx.prepare_cached(
                            "INSERT INTO files (id, message_id, name, content_type, size, width, height, created_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        )?
                        .execute(rusqlite::params![
                            file.id,
                            id,
                            file.name,
                            file.content_type,
                            file.size,
                            file.width,
                            file.height,
                            sent_at
                        ])?;
                    }
                }
                results.push(match id {
                    Some(id) => Some(Inserted {
                        message: ChatMessage {
                            id,
                            room_id: message.room_id,
                            author_id: message.author_id,
                            nickname: message.nickname.clone(),
                            body: message.body.clone(),
                            sent_at,
                            client_msg_id: message.client_msg_id.clone(),
                            kind: message.kind,
                            deleted: false,
                            edited_at: None,
                            rev: 0,
                            reactions: Vec::new(),
                            file: message.file.clone(),
                        },
                        duplicate: false,
                    }),
                    // A resend finds its original; nothing found means the insert was not allowed.
                    None => existing
                        .query_row((message.author_id, &message.client_msg_id), message_from_row)
                        .optional()?
                        .map(|message| Inserted { message, duplicate: true }),
                });
            }
        }
        tx.commit()?;
        self.last_sent_at = sent_at;
        Ok(results)
    }

    fn announce(&self, results: &[Option<Inserted>]) {
        let fresh: Vec<ChatMessage> =
            results.iter().flatten().filter(|r| !r.duplicate).map(|r| r.message.clone()).collect();
        if !fresh.is_empty() {
            (self.on_commit)(&fresh);
        }
    }
}

pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Read-only connections, opened on demand and kept for reuse.
struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn with_connection<T>(&self, query: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, DbError> {
        let reused = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let conn = match reused {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(BUSY_TIMEOUT)?;
                conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                conn
            }
        };
        let result = query(&conn)?;
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MAX_UNREAD;
    use std::sync::mpsc as std_mpsc;

    fn message(author: &Account, client_msg_id: &str, body: &str) -> NewMessage {
        message_in(GENERAL_ROOM_ID, author, client_msg_id, body)
    }

    fn message_in(room_id: i64, author: &Account, client_msg_id: &str, body: &str) -> NewMessage {
        NewMessage {
            room_id,
            author_id: author.id,
            nickname: author.nickname.clone(),
            body: body.into(),
            client_msg_id: client_msg_id.into(),
            kind: MessageKind::Chat,
            members_only: true,
            file: None,
        }
    }

    async fn room(store: &Store, name: &str, kind: RoomKind, creator: &Account) -> Room {
        store.create_room(name.into(), kind, creator.id, |_| {}).await.unwrap()
    }

    /// Every row in the messages table, whatever its room: to prove a refusal stored nothing.
    fn stored_bodies(path: &Path) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT body FROM messages ORDER BY id").unwrap();
        stmt.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    fn unread(sidebar: &Sidebar, room_id: i64) -> u32 {
        sidebar.rooms.iter().find(|room| room.id == room_id).expect("a member of the room").unread
    }

    async fn user(store: &Store, nickname: &str) -> Account {
        let nickname = crate::server::identity::nickname(nickname).unwrap();
        store.create_user(nickname.clone(), nickname.key.into_bytes(), i64::MAX).await.unwrap()
    }

    fn open(path: &Path) -> (Store, std_mpsc::Receiver<Vec<ChatMessage>>) {
        let (tx, rx) = std_mpsc::channel();
        let store = Store::open(
            path,
            Box::new(move |m: &[ChatMessage]| {
                let _ = tx.send(m.to_vec());
            }),
        )
        .unwrap();
        (store, rx)
    }

    #[tokio::test]
    async fn inserts_get_increasing_ids_and_page_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let alice = user(&store, "alice").await;
        for i in 0..120 {
            let inserted = store.insert(message(&alice, &format!("c{i}"), &format!("m{i}"))).await.unwrap();
            assert_eq!(inserted.message.id, i + 1);
            assert!(!inserted.duplicate);
        }
        let newest = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
        assert_eq!(newest.len(), 50);
        assert_eq!(newest.first().unwrap().body, "m70");
        assert_eq!(newest.last().unwrap().body, "m119");
        let older = store.history(GENERAL_ROOM_ID, Some(newest[0].id), 50).await.unwrap();
        assert_eq!(older.last().unwrap().id + 1, newest[0].id);
        let oldest = store.history(GENERAL_ROOM_ID, Some(older[0].id), 50).await.unwrap();
        assert_eq!(oldest.len(), 20);
        assert_eq!(oldest[0].body, "m0");
        assert_eq!(
            store.since(alice.id, 115, 50).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(),
            [116, 117, 118, 119, 120]
        );
        assert_eq!(store.last_id().await.unwrap(), 120);
    }

    #[tokio::test]
    async fn a_resend_returns_the_original_and_is_not_announced_twice() {
        let dir = tempfile::tempdir().unwrap();
        let (store, announced) = open(&dir.path().join("natter.db"));
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        let first = store.insert(message(&alice, "same", "hello")).await.unwrap();
        let again = store.insert(message(&alice, "same", "hello (edited in transit)")).await.unwrap();
        assert!(again.duplicate);
        assert_eq!(again.message, first.message);
        // Another author may use the same client id: it is only unique per author.
        let bob = store.insert(message(&bob, "same", "hi")).await.unwrap();
        assert!(!bob.duplicate);
        let announced: Vec<i64> = announced.try_iter().flatten().map(|m| m.id).collect();
        assert_eq!(announced, [first.message.id, bob.message.id]);
        assert_eq!(store.history(GENERAL_ROOM_ID, None, 50).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn concurrent_writers_are_announced_in_commit_order() {
        let dir = tempfile::tempdir().unwrap();
        let (store, announced) = open(&dir.path().join("natter.db"));
        let mut senders = Vec::new();
        for sender in 0..20 {
            senders.push(user(&store, &format!("s{sender}")).await);
        }
        let tasks: Vec<_> = senders
            .into_iter()
            .map(|sender| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..25 {
                        store.insert(message(&sender, &format!("{i}"), "x")).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let ids: Vec<i64> = announced.try_iter().flatten().map(|m| m.id).collect();
        assert_eq!(ids, (1..=500).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn data_survives_a_restart_and_shutdown_finishes_queued_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/natter.db");
        {
            let (store, _) = open(&path);
            let alice = user(&store, "alice").await;
            let pending: Vec<_> = (0..10)
                .map(|i| {
                    let (store, alice) = (store.clone(), alice.clone());
                    tokio::spawn(async move { store.insert(message(&alice, &format!("{i}"), "kept")).await })
                })
                .collect();
            for task in pending {
                task.await.unwrap().unwrap();
            }
            store.shutdown().await;
            assert!(matches!(store.insert(message(&alice, "late", "x")).await, Err(DbError::Closed)));
        }
        let (store, _) = open(&path);
        assert_eq!(store.history(GENERAL_ROOM_ID, None, 50).await.unwrap().len(), 10);
        let bob = user(&store, "bob").await;
        let next = store.insert(message(&bob, "b", "after restart")).await.unwrap();
        assert_eq!(next.message.id, 11);
    }

    #[tokio::test]
    async fn the_first_person_is_admin_and_lookalike_nicknames_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let alice = user(&store, "alice").await;
        assert_eq!(alice.role, Role::Admin);
        let cyrillic = crate::server::identity::nickname("\u{0430}lice").unwrap();
        let taken = store.create_user(cyrillic, b"s2".to_vec(), i64::MAX).await;
        assert!(matches!(taken, Err(DbError::NicknameTaken)));
        let bob = user(&store, "bob").await;
        assert_eq!(bob.role, Role::Member);
        assert!(matches!(
            store.rename(bob.id, crate::server::identity::nickname("ALICE").unwrap()).await,
            Err(DbError::NicknameTaken)
        ));
        store.rename(bob.id, crate::server::identity::nickname("robert").unwrap()).await.unwrap();
        let session = crate::server::identity::nickname("bob").unwrap().key.into_bytes();
        assert_eq!(store.session_account(session.clone()).await.unwrap().unwrap().nickname, "robert");
        store.end_session(session.clone()).await.unwrap();
        assert_eq!(store.session_account(session).await.unwrap(), None);
    }

    #[tokio::test]
    async fn expired_sessions_sign_nobody_in() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        store
            .create_user(crate::server::identity::nickname("old").unwrap(), b"stale".to_vec(), now_millis() - 1)
            .await
            .unwrap();
        assert_eq!(store.session_account(b"stale".to_vec()).await.unwrap(), None);
    }

    #[tokio::test]
    async fn messages_from_before_accounts_get_authors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(include_str!("../../migrations/0001_messages.sql")).unwrap();
            conn.execute_batch(
                "INSERT INTO messages (nickname, body, sent_at, client_msg_id) VALUES
                   ('alice', 'one', 1, 'a'), ('bob', 'two', 2, 'b'), ('ALICE', 'three', 3, 'c');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let (store, _) = open(&path);
        let history = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
        let authors: Vec<i64> = history.iter().map(|m| m.author_id).collect();
        assert_eq!(authors[0], authors[2], "alice and ALICE are one person now");
        assert_ne!(authors[0], authors[1]);
        assert!(authors.iter().all(|&id| id > 0));
        assert_eq!(history[2].nickname, "alice");
    }

    #[tokio::test]
    async fn posting_is_refused_to_non_members_and_in_archived_rooms_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let (store, announced) = open(&path);
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        let secret = room(&store, "secret", RoomKind::Private, &alice).await;
        let refused = store.insert(message_in(secret.id, &bob, "b-1", "let me in")).await;
        assert!(matches!(refused, Err(DbError::NotAllowed)), "{refused:?}");
        let nowhere = store.insert(message_in(999, &alice, "a-0", "no such room")).await;
        assert!(matches!(nowhere, Err(DbError::NotAllowed)), "{nowhere:?}");
        let kept = store.insert(message_in(secret.id, &alice, "a-1", "before the archive")).await.unwrap();

        assert!(store.archive_room(secret.id, |_| {}).await.unwrap());
        assert!(!store.archive_room(secret.id, |_| {}).await.unwrap(), "archiving twice changes nothing");
        let archived = store.insert(message_in(secret.id, &alice, "a-2", "after the archive")).await;
        assert!(matches!(archived, Err(DbError::NotAllowed)), "members cannot post in an archived room either");
        // Natter's announcements skip the membership check, but not the archive.
        let mut announcement = message_in(secret.id, &bob, "n-1", "announced");
        announcement.kind = MessageKind::Announcement;
        announcement.members_only = false;
        assert!(matches!(store.insert(announcement.clone()).await, Err(DbError::NotAllowed)));
        let open_room = room(&store, "lounge", RoomKind::Public, &alice).await;
        announcement.room_id = open_room.id;
        let announced_there = store.insert(announcement).await.unwrap();

        assert_eq!(stored_bodies(&path), ["before the archive", "announced"]);
        let ids: Vec<i64> = announced.try_iter().flatten().map(|m| m.id).collect();
        assert_eq!(ids, [kept.message.id, announced_there.message.id], "refusals are not broadcast");
    }

    #[tokio::test]
    async fn a_refused_message_does_not_fail_the_others_committed_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let (store, _) = open(&path);
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        let secret = room(&store, "secret", RoomKind::Private, &alice).await;
        // Queued together, so the writer is likely to commit them in one group.
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let (store, author) = (store.clone(), if i % 2 == 0 { alice.clone() } else { bob.clone() });
                tokio::spawn(async move { store.insert(message_in(secret.id, &author, &format!("{i}"), "x")).await })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let result = task.await.unwrap();
            assert_eq!(result.is_ok(), i % 2 == 0, "{i}: {result:?}");
        }
        assert_eq!(stored_bodies(&path).len(), 20);
    }

    #[tokio::test]
    async fn a_resend_returns_the_original_even_where_the_author_can_no_longer_post() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let (store, announced) = open(&path);
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        let lounge = room(&store, "lounge", RoomKind::Public, &alice).await;
        store.add_member(lounge.id, bob.id, |_| {}).await.unwrap().expect("bob was not a member");
        let bobs = store.insert(message_in(lounge.id, &bob, "b-1", "bye")).await.unwrap();
        assert!(store.remove_member(lounge.id, bob.id, |_| {}).await.unwrap());
        // The ack for a message stored before bob left must not turn into a refusal on retry.
        let again = store.insert(message_in(lounge.id, &bob, "b-1", "bye")).await.unwrap();
        assert!(again.duplicate);
        assert_eq!(again.message, bobs.message);
        assert!(matches!(store.insert(message_in(lounge.id, &bob, "b-2", "new")).await, Err(DbError::NotAllowed)));

        let alices = store.insert(message_in(lounge.id, &alice, "a-1", "last words")).await.unwrap();
        store.archive_room(lounge.id, |_| {}).await.unwrap();
        let again = store.insert(message_in(lounge.id, &alice, "a-1", "last words")).await.unwrap();
        assert_eq!((again.duplicate, again.message), (true, alices.message.clone()));

        assert_eq!(stored_bodies(&path), ["bye", "last words"]);
        let ids: Vec<i64> = announced.try_iter().flatten().map(|m| m.id).collect();
        assert_eq!(ids, [bobs.message.id, alices.message.id], "each broadcast once");
    }

    #[tokio::test]
    async fn unread_counts_others_messages_after_the_read_mark_but_not_own_or_deleted_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        let lounge = room(&store, "lounge", RoomKind::Public, &alice).await;
        let mut alices = Vec::new();
        for i in 0..4 {
            alices.push(store.insert(message(&alice, &format!("a-{i}"), "hi")).await.unwrap().message.id);
        }
        let own = store.insert(message(&bob, "b-1", "mine")).await.unwrap().message.id;
        store.insert(message_in(lounge.id, &alice, "l-1", "elsewhere")).await.unwrap();
        let deleted =
            store.change_message(alices[3], MessageChange::Delete, Actor { user_id: alice.id, admin: false }, |_| {});
        assert!(deleted.await.unwrap().is_some_and(|message| message.deleted));

        let sidebar = store.sidebar(bob.id).await.unwrap();
        assert_eq!(unread(&sidebar, GENERAL_ROOM_ID), 3, "alice's three, not bob's own or the deleted one");
        assert!(sidebar.rooms.iter().all(|room| room.id != lounge.id), "bob is not in the lounge");
        assert_eq!(sidebar.last_id, own + 1);
        let sidebar = store.sidebar(alice.id).await.unwrap();
        assert_eq!(unread(&sidebar, GENERAL_ROOM_ID), 1);
        assert_eq!(unread(&sidebar, lounge.id), 0, "her own message in the lounge");

        store.save_read_marks(vec![(GENERAL_ROOM_ID, bob.id, alices[1])]).await.unwrap();
        let general = store.member_room(GENERAL_ROOM_ID, bob.id).await.unwrap().unwrap();
        assert_eq!((general.unread, general.last_read_id), (1, alices[1]));
        // Someone who joins later has read everything said before.
        let carol = user(&store, "carol").await;
        assert_eq!(unread(&store.sidebar(carol.id).await.unwrap(), GENERAL_ROOM_ID), 0);
        store.add_member(lounge.id, carol.id, |_| {}).await.unwrap();
        assert_eq!(unread(&store.sidebar(carol.id).await.unwrap(), lounge.id), 0);
    }

    #[tokio::test]
    async fn unread_counts_stop_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        let tasks: Vec<_> = (0..MAX_UNREAD + 5)
            .map(|i| {
                let (store, alice) = (store.clone(), alice.clone());
                tokio::spawn(async move { store.insert(message(&alice, &format!("{i}"), "x")).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(unread(&store.sidebar(bob.id).await.unwrap(), GENERAL_ROOM_ID), MAX_UNREAD);
    }

    #[tokio::test]
    async fn the_read_mark_only_moves_forward_and_only_for_members() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        for i in 0..3 {
            store.insert(message(&alice, &format!("a-{i}"), "x")).await.unwrap();
        }
        let secret = room(&store, "secret", RoomKind::Private, &alice).await;
        let bobs_mark = |store: Store| async move {
            store.member_room(GENERAL_ROOM_ID, bob.id).await.unwrap().unwrap().last_read_id
        };
        store.save_read_marks(vec![(GENERAL_ROOM_ID, bob.id, 2)]).await.unwrap();
        assert_eq!(bobs_mark(store.clone()).await, 2);
        store.save_read_marks(vec![(GENERAL_ROOM_ID, bob.id, 1)]).await.unwrap();
        assert_eq!(bobs_mark(store.clone()).await, 2, "a stale tab cannot move the mark back");
        store.save_read_marks(vec![(GENERAL_ROOM_ID, bob.id, 1_000), (secret.id, bob.id, 3)]).await.unwrap();
        assert_eq!(bobs_mark(store.clone()).await, 3, "nor past the newest message");
        assert_eq!(store.member_room(secret.id, bob.id).await.unwrap(), None, "bob did not become a member");
    }

    #[tokio::test]
    async fn each_pair_of_users_has_one_direct_conversation() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let (alice, bob, carol) = (user(&store, "alice").await, user(&store, "bob").await, user(&store, "carol").await);
        let (told, heard) = std_mpsc::channel();
        let open_direct = |from: &Account, to: &Account| {
            let told = told.clone();
            store.open_direct(from.id, to.id, move |joined| told.send(joined.clone()).unwrap())
        };
        let first = open_direct(&alice, &bob).await.unwrap();
        assert_eq!(open_direct(&bob, &alice).await.unwrap(), first, "either may open it; it is the same one");
        assert_eq!(open_direct(&alice, &bob).await.unwrap(), first);
        let joined: Vec<Vec<(Room, Member)>> = heard.try_iter().collect();
        assert_eq!(joined.len(), 3);
        assert!(joined[1].is_empty() && joined[2].is_empty(), "nobody is told twice");
        let views: Vec<(i64, String, RoomKind, Option<i64>, i64)> = joined[0]
            .iter()
            .map(|(room, who)| (room.id, room.name.clone(), room.kind, room.peer_id, who.user_id))
            .collect();
        assert_eq!(
            views,
            [
                (first, "bob".into(), RoomKind::Direct, Some(bob.id), alice.id),
                (first, "alice".into(), RoomKind::Direct, Some(alice.id), bob.id),
            ],
            "each sees it under the other's name"
        );
        assert_eq!(store.direct_room_of(bob.id, alice.id).await.unwrap(), Some(first));
        assert_eq!(store.direct_room_of(alice.id, carol.id).await.unwrap(), None);
        let with_carol = open_direct(&alice, &carol).await.unwrap();
        assert_ne!(with_carol, first);
        let members: Vec<i64> = store.members(first).await.unwrap().iter().map(|m| m.user_id).collect();
        assert_eq!(members, [alice.id, bob.id]);
        assert!(store.sidebar(carol.id).await.unwrap().rooms.iter().all(|room| room.id != first));
        // Named rooms first, then conversations.
        let kinds: Vec<RoomKind> = store.sidebar(alice.id).await.unwrap().rooms.iter().map(|room| room.kind).collect();
        assert_eq!(kinds, [RoomKind::Public, RoomKind::Direct, RoomKind::Direct]);
        assert_eq!(store.room_by_name(direct_key(alice.id, bob.id)).await.unwrap(), None, "not reachable by name");
    }

    #[tokio::test]
    async fn a_database_from_before_rooms_puts_everyone_in_general_having_read_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let rooms_migration = MIGRATIONS
            .iter()
            .position(|migration| matches!(migration, Migration::Sql(sql) if sql.contains("CREATE TABLE rooms")));
        assert_eq!(rooms_migration, Some(6));
        {
            let mut conn = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..6] {
                let tx = conn.transaction().unwrap();
                match migration {
                    Migration::Sql(sql) => tx.execute_batch(sql).unwrap(),
                    Migration::Code(step) => step(&tx).unwrap(),
                }
                tx.commit().unwrap();
            }
            conn.execute_batch(
                "INSERT INTO users (id, nickname, nickname_key, role, is_bot, created_at) VALUES
                   (1, 'alice', 'alice', 'admin', 0, 1), (2, 'bob', 'bob', 'member', 0, 2),
                   (3, 'wxbot', 'wxbot', 'member', 1, 3), (4, 'Natter', 'natter', 'admin', 1, 4);
                 INSERT INTO messages (nickname, body, sent_at, client_msg_id, author_id, kind) VALUES
                   ('alice', 'one', 1, 'a', 1, 'chat'), ('bob', 'two', 2, 'b', 2, 'chat'),
                   ('Natter', 'three', 3, 'c', 4, 'announcement');
                 PRAGMA user_version = 6;",
            )
            .unwrap();
        }
        let (store, _) = open(&path);
        let history = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
        assert_eq!(
            history.iter().map(|m| (m.body.as_str(), m.room_id)).collect::<Vec<_>>(),
            [("one", 1), ("two", 1), ("three", 1)]
        );
        let members: Vec<String> =
            store.members(GENERAL_ROOM_ID).await.unwrap().into_iter().map(|m| m.nickname).collect();
        assert_eq!(members, ["alice", "bob", "wxbot"], "people and bots, not Natter itself");
        for user_id in [1, 2, 3] {
            let sidebar = store.sidebar(user_id).await.unwrap();
            assert_eq!(sidebar.rooms.len(), 1);
            let general = &sidebar.rooms[0];
            assert_eq!(
                (general.id, general.name.as_str(), general.kind),
                (GENERAL_ROOM_ID, "general", RoomKind::Public)
            );
            assert_eq!((general.unread, general.last_read_id), (0, 3), "what was said before counts as read");
        }
        assert!(store.sidebar(4).await.unwrap().rooms.is_empty());
        let bob = store.user_by_id(2).await.unwrap().unwrap();
        store.insert(message(&bob, "b-2", "after the upgrade")).await.unwrap();
        assert_eq!(unread(&store.sidebar(1).await.unwrap(), GENERAL_ROOM_ID), 1);
        let room_ids: Vec<i64> = store.since(1, 0, 50).await.unwrap().iter().map(|m| m.room_id).collect();
        assert_eq!(room_ids, [1, 1, 1, 1]);
    }

    #[tokio::test]
    async fn catch_up_only_covers_the_users_rooms() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        let secret = room(&store, "secret", RoomKind::Private, &alice).await;
        let public = store.insert(message(&alice, "a-1", "for everyone")).await.unwrap().message.id;
        store.insert(message_in(secret.id, &alice, "a-2", "for alice only")).await.unwrap();
        let bodies = |messages: Vec<ChatMessage>| messages.into_iter().map(|m| m.body).collect::<Vec<_>>();
        assert_eq!(bodies(store.since(bob.id, 0, 50).await.unwrap()), ["for everyone"]);
        assert_eq!(bodies(store.since(alice.id, public, 50).await.unwrap()), ["for alice only"]);
        assert_eq!(bodies(store.history(secret.id, None, 50).await.unwrap()), ["for alice only"]);
        assert_eq!(bodies(store.history(GENERAL_ROOM_ID, None, 50).await.unwrap()), ["for everyone"]);
    }

    #[tokio::test]
    async fn a_database_from_a_newer_natter_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        let error = Store::open(&path, Box::new(|_: &[ChatMessage]| {})).err().unwrap();
        assert!(matches!(error, DbError::TooNew { found: 99, .. }));
    }

    fn by(account: &Account) -> Actor {
        Actor { user_id: account.id, admin: false }
    }

    async fn change(
        store: &Store,
        id: i64,
        change: MessageChange,
        actor: Actor,
    ) -> Result<Option<ChatMessage>, DbError> {
        store.change_message(id, change, actor, |_| {}).await
    }

    fn react(emoji: &str) -> MessageChange {
        MessageChange::React(emoji.into(), true)
    }

    fn refused(result: Result<Option<ChatMessage>, DbError>) -> ChangeRefused {
        match result {
            Err(DbError::ChangeRefused(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn edits_are_the_authors_or_an_admins_and_each_change_takes_the_next_revision() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        let id = store.insert(message(&alice, "a-1", "helo")).await.unwrap().message.id;
        let other = store.insert(message(&bob, "b-1", "bob's")).await.unwrap().message.id;
        assert_eq!(store.last_change().await.unwrap(), 0);

        assert_eq!(
            refused(change(&store, id, MessageChange::Edit("mine now".into()), by(&bob)).await),
            ChangeRefused::NotAuthor
        );
        let edited = change(&store, id, MessageChange::Edit("hello".into()), by(&alice)).await.unwrap().unwrap();
        assert_eq!((edited.body.as_str(), edited.rev, edited.edited_at.is_some()), ("hello", 1, true));
        assert_eq!(
            change(&store, id, MessageChange::Edit("hello".into()), by(&alice)).await.unwrap(),
            None,
            "same text"
        );
        let moderated =
            change(&store, other, MessageChange::Edit("[removed link]".into()), Actor { admin: true, ..by(&alice) });
        assert_eq!(moderated.await.unwrap().unwrap().rev, 2);
        assert_eq!(store.last_change().await.unwrap(), 2);
        let history = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
        assert_eq!(
            history.iter().map(|m| (m.body.as_str(), m.rev)).collect::<Vec<_>>(),
            [("hello", 1), ("[removed link]", 2)]
        );
        assert_eq!(store.sidebar(bob.id).await.unwrap().last_change, 2);

        assert!(change(&store, id, MessageChange::Delete, by(&alice)).await.unwrap().unwrap().deleted);
        for what in [MessageChange::Edit("back".into()), MessageChange::Delete, react("👍")] {
            assert_eq!(refused(change(&store, id, what, by(&alice)).await), ChangeRefused::NoSuchMessage);
        }
        assert_eq!(refused(change(&store, 999, react("👍"), by(&alice)).await), ChangeRefused::NoSuchMessage);
    }

    #[tokio::test]
    async fn reactions_toggle_group_by_emoji_and_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
        let id = store.insert(message(&alice, "a-1", "lunch?")).await.unwrap().message.id;
        change(&store, id, react("👍"), by(&bob)).await.unwrap().unwrap();
        change(&store, id, react("🎉"), by(&alice)).await.unwrap().unwrap();
        let both = change(&store, id, react("👍"), by(&alice)).await.unwrap().unwrap();
        let shape = |m: &ChatMessage| -> Vec<(String, Vec<String>)> {
            m.reactions
                .iter()
                .map(|r| (r.emoji.clone(), r.users.iter().map(|u| u.nickname.clone()).collect()))
                .collect()
        };
        assert_eq!(
            shape(&both),
            [
                ("👍".to_owned(), vec!["bob".to_owned(), "alice".to_owned()]),
                ("🎉".to_owned(), vec!["alice".to_owned()])
            ]
        );
        assert_eq!(change(&store, id, react("👍"), by(&alice)).await.unwrap(), None, "twice is once");
        let taken_back = change(&store, id, MessageChange::React("👍".into(), false), by(&bob)).await.unwrap().unwrap();
        // Groups follow the earliest reaction still there: alice's 👍 came after her 🎉.
        assert_eq!(
            shape(&taken_back),
            [("🎉".to_owned(), vec!["alice".to_owned()]), ("👍".to_owned(), vec!["alice".to_owned()])]
        );
        assert_eq!(change(&store, id, MessageChange::React("👍".into(), false), by(&bob)).await.unwrap(), None);
        assert_eq!(shape(&store.history(GENERAL_ROOM_ID, None, 5).await.unwrap()[0]), shape(&taken_back));

        let emoji = [
            "😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "😚",
        ];
        for e in emoji.iter().take(MAX_REACTIONS_PER_MESSAGE - 2) {
            change(&store, id, react(e), by(&bob)).await.unwrap().unwrap();
        }
        assert_eq!(refused(change(&store, id, react("🙂"), by(&bob)).await), ChangeRefused::TooManyReactions);
        change(&store, id, react("😀"), by(&alice)).await.unwrap().expect("joining an existing one is fine");
        let deleted = change(&store, id, MessageChange::Delete, by(&alice)).await.unwrap().unwrap();
        assert!(deleted.reactions.is_empty() && deleted.body.is_empty(), "a deleted message keeps nothing");
    }

    #[tokio::test]
    async fn rooms_decide_who_may_change_what_and_whose_catch_up_includes_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(&dir.path().join("natter.db"));
        let (alice, bob, carol) = (user(&store, "alice").await, user(&store, "bob").await, user(&store, "carol").await);
        let public = room(&store, "lounge", RoomKind::Public, &alice).await;
        let secret = room(&store, "secret", RoomKind::Private, &alice).await;
        store.add_member(secret.id, bob.id, |_| {}).await.unwrap();
        let in_lounge = store.insert(message_in(public.id, &alice, "l-1", "public")).await.unwrap().message.id;
        let in_secret = store.insert(message_in(secret.id, &alice, "s-1", "private")).await.unwrap().message.id;
        let in_general = store.insert(message(&carol, "g-1", "general")).await.unwrap().message.id;

        // carol reads the lounge without joining it: she learns it exists, but joins to react.
        assert_eq!(refused(change(&store, in_lounge, react("👍"), by(&carol)).await), ChangeRefused::NotAMember);
        // The secret room's messages do not exist for her, whatever she tries.
        for what in [react("👍"), MessageChange::Edit("x".into()), MessageChange::Delete] {
            assert_eq!(refused(change(&store, in_secret, what, by(&carol)).await), ChangeRefused::NoSuchMessage);
        }
        change(&store, in_secret, react("🤫"), by(&bob)).await.unwrap().unwrap();
        change(&store, in_general, react("👋"), by(&bob)).await.unwrap().unwrap();
        change(&store, in_secret, MessageChange::Edit("still private".into()), by(&alice)).await.unwrap().unwrap();

        let revs = |page: Vec<ChatMessage>| page.iter().map(|m| (m.id, m.rev)).collect::<Vec<_>>();
        assert_eq!(revs(store.changed_since(bob.id, 0, 50).await.unwrap()), [(in_general, 2), (in_secret, 3)]);
        assert_eq!(revs(store.changed_since(bob.id, 2, 50).await.unwrap()), [(in_secret, 3)]);
        assert_eq!(revs(store.changed_since(carol.id, 0, 50).await.unwrap()), [(in_general, 2)], "not the secret room");
        assert_eq!(revs(store.changed_since(bob.id, 0, 1).await.unwrap()), [(in_general, 2)], "paged");

        // An archived room's messages no longer change, except that moderators may still delete.
        store.archive_room(secret.id, |_| {}).await.unwrap();
        assert_eq!(refused(change(&store, in_secret, react("👍"), by(&bob)).await), ChangeRefused::Archived);
        let edit = MessageChange::Edit("again".into());
        assert_eq!(refused(change(&store, in_secret, edit, by(&alice)).await), ChangeRefused::Archived);
        assert!(change(&store, in_secret, MessageChange::Delete, by(&alice)).await.unwrap().is_some());
    }

    /// The query plan of a search with words: FTS5 must drive, newest first, so a page costs as many
    /// matches as it takes to fill it (not every match in a million messages).
    fn search_plan(path: &Path, filter: &SearchFilter) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let sql = search_sql(filter.fts.is_some());
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let params = rusqlite::params![1, i64::MAX, 0, filter.author_key, filter.room, false, 21, filter.fts];
        stmt.query_map(params, |row| row.get::<_, String>(3)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    #[tokio::test]
    async fn searches_walk_the_index_newest_first_instead_of_sorting_or_scanning_messages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let (store, _) = open(&path);
        let alice = user(&store, "alice").await;
        for n in 0..50 {
            store.insert(message(&alice, &format!("c{n}"), &format!("deploy number {n}"))).await.unwrap();
        }
        for query in ["deploy", "deploy from:alice", "deploy in:general", "\"deploy number\" before:2030-01-01"] {
            let plan = search_plan(&path, &crate::server::search::parse(query).unwrap());
            assert!(plan[0].starts_with("SCAN f VIRTUAL TABLE"), "{query}: {plan:#?}");
            assert!(plan.iter().all(|step| !step.contains("TEMP B-TREE")), "{query}: {plan:#?}");
        }
        let plan = search_plan(&path, &crate::server::search::parse("from:alice").unwrap());
        assert!(plan[0].contains("SCAN m") || plan[0].contains("SEARCH m"), "{plan:#?}");
        assert!(plan.iter().all(|step| !step.contains("TEMP B-TREE")), "{plan:#?}");
    }
}
