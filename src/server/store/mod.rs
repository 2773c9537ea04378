//! The store: everything Natter keeps on disk, behind one handle. The types here are what the
//! services hand to the store and get back (domain types, never SQL); `sqlite` is the engine that
//! keeps them today.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::protocol::*;

mod sqlite;

pub use sqlite::{backup, Store};

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
        room_id: i64,
        user_id: i64,
    },
    RoomArchived {
        room_id: i64,
    },
}

/// Where the store tells its events (see [`StoreEvent`]).
pub type EventSink = Box<dyn Fn(StoreEvent<'_>) + Send + 'static>;

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
