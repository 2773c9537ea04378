//! What the store tells after each commit, and what Natters on one database tell each other
//! (presence, typing). Apart from the trait because these travel the other way: from the store to
//! its listener (the hub), not from the services to the store.

use super::ReadMark;
use crate::protocol::{ChatMessage, Member, Room, RoomId, UserId};

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
