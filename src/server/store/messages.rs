//! What a write of a message hands the store and gets back: a new message, a change to one, who
//! makes it and why it may be refused. Apart from the trait because the message services build
//! these, and every engine's insert and change paths read them.

use crate::protocol::{Attachment, ChatMessage, MessageKind, RoomId, UserId};

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
