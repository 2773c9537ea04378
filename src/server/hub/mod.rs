//! Fan-out and presence. Every frame is encoded once here and its bytes shared by all sockets
//! (`Utf8Bytes` clones are reference counts), so a message to a thousand readers costs one
//! serialisation, not a thousand. Each frame names its audience (everyone, a room's members, one
//! user); every connection knows its user's rooms and passes on only what that user may see.
//!
//! Frames travel in batches: the messages of one group commit go out as one item, so a thousand
//! readers are woken once per commit, not once per message, and each writes the whole batch with
//! one flush. Under load that is what keeps the cost of a delivery falling as the rate rises.
//!
//! Who is online lives in `presence` and the open sockets with their caps in `connections`; this
//! file is the channel and the frames that go through it.

mod connections;
mod presence;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::protocol::{ChatMessage, Member, MessageId, Revision, Room, RoomId, ServerFrame, UserId};
use crate::server::store::{StoreEvent, TypingSignal};

use connections::Registry;
pub use connections::{ConnectionCaps, ConnectionGuard};
use presence::Presence;

/// Who a frame is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    /// The room's members.
    Room(RoomId),
    /// The room's members but one user (their own typing signal).
    RoomExcept(RoomId, UserId),
    /// One user's connections.
    User(UserId),
}

/// A change to which rooms a connection's user is in, applied by the connection as the frame
/// passes, so it is ordered with the messages around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomChange {
    Joined {
        user_id: UserId,
        room_id: RoomId,
    },
    Left {
        user_id: UserId,
        room_id: RoomId,
    },
    /// Every connection stops taking the room's traffic (after delivering this frame).
    Archived {
        room_id: RoomId,
    },
}

/// What the hub's channel carries: frames in the order they happened, shared by every connection.
pub type Batch = Arc<[Broadcast]>;

/// One frame, already encoded, with what a connection needs to route it.
#[derive(Clone, Debug)]
pub struct Broadcast {
    /// The id of the chat message inside, so a connection that already delivered it from the
    /// database during catch-up can skip the live copy.
    pub message_id: Option<MessageId>,
    /// The revision of the changed message inside, so a connection that already replayed it from
    /// the database can skip the live copy.
    pub change_rev: Option<Revision>,
    pub audience: Audience,
    /// A user's new nickname, so that user's other connections adopt it.
    pub renamed: Option<(UserId, String)>,
    pub room_change: Option<RoomChange>,
    /// Instead of a frame: the connection refills from the database (see `StoreEvent::Resync`).
    pub resync: bool,
    pub text: Utf8Bytes,
}

impl Broadcast {
    fn new(audience: Audience, frame: &ServerFrame) -> Self {
        Self {
            message_id: None,
            change_rev: None,
            audience,
            renamed: None,
            room_change: None,
            resync: false,
            text: frame.to_json().into(),
        }
    }

    /// Whether a connection of `user_id`, in `rooms`, passes this frame on.
    pub fn is_for(&self, user_id: UserId, in_room: impl Fn(RoomId) -> bool) -> bool {
        match self.audience {
            Audience::Everyone => true,
            Audience::Room(room) => in_room(room),
            Audience::RoomExcept(room, except) => except != user_id && in_room(room),
            Audience::User(user) => user == user_id,
        }
    }
}

/// A user's typing signals are passed on at most this often, however fast a client sends them.
const TYPING_INTERVAL: Duration = Duration::from_millis(1_500);

pub struct Hub {
    sender: broadcast::Sender<Batch>,
    /// Open connections per user, here and on other Natters: a person with three tabs is online once.
    presence: Mutex<Presence>,
    /// Woken when who is online here changes in a way the other Natters should hear at once.
    presence_changed: tokio::sync::Notify,
    connections: Mutex<Registry>,
    next_connection: AtomicU64,
    /// When each user's last typing signal was passed on.
    typing: Mutex<HashMap<UserId, Instant>>,
}

impl Hub {
    /// `capacity` batches may wait for the slowest connection before it lags and must resync.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self {
            sender,
            presence: Mutex::default(),
            presence_changed: tokio::sync::Notify::new(),
            connections: Mutex::default(),
            next_connection: AtomicU64::new(0),
            typing: Mutex::new(HashMap::new()),
        }
    }

    /// Subscribe before reading anything from the database, so nothing committed in between is missed.
    pub fn subscribe(&self) -> broadcast::Receiver<Batch> {
        self.sender.subscribe()
    }

    /// Takes one of the store's events to the screens it concerns: the store calls this on its
    /// writer thread right after each commit (see `AppState::open`), so fan-out keeps commit order.
    pub fn apply(&self, event: StoreEvent<'_>) {
        match event {
            StoreEvent::MessagesStored(messages) => self.publish_messages(messages),
            StoreEvent::MessageUpdated(message) => self.publish_updated(message),
            StoreEvent::MemberJoined { room, member } => self.member_joined(room, member),
            StoreEvent::MemberLeft { room_id, user_id } => self.member_left(room_id, user_id),
            StoreEvent::RoomArchived { room_id } => self.room_archived(room_id),
            StoreEvent::UserRenamed { user_id, from, to } => self.rename(user_id, from, to),
            StoreEvent::UserBanned { user_id } => self.end_user(user_id),
            StoreEvent::SessionEnded { session_hash } => self.end_session(session_hash),
            StoreEvent::ReadMarked(mark) => self.read(mark.user_id, mark.room_id, mark.last_read_id),
            StoreEvent::PresenceElsewhere(present) => self.elsewhere(present),
            StoreEvent::TypingElsewhere(signal) => self.typing_elsewhere(signal),
            // Limits, not screens: see `FrameLimits::posted_elsewhere`.
            StoreEvent::PostedElsewhere(_) => {}
            StoreEvent::Resync => self.resync_everyone(),
        }
    }

    /// Sends freshly committed messages to every connection, in the order given, as one batch.
    pub fn publish_messages(&self, messages: &[ChatMessage]) {
        if messages.is_empty() {
            return;
        }
        let mut typing = lock(&self.typing);
        for message in messages {
            // A message ends its author's typing: their next keystroke is news again at once.
            typing.remove(&message.author_id);
        }
        drop(typing);
        let batch: Batch = messages
            .iter()
            .map(|message| Broadcast {
                message_id: Some(message.id),
                ..Broadcast::new(Audience::Room(message.room_id), &ServerFrame::Message { message: message.clone() })
            })
            .collect();
        // An error only means nobody is connected, which is fine: messages are already stored.
        let _ = self.sender.send(batch);
    }

    /// Tells the room's members but the typist that a user is typing, at most once per
    /// `TYPING_INTERVAL`. Returns whether this signal was passed on.
    pub fn typing(&self, room_id: RoomId, user_id: UserId, nickname: &str) -> bool {
        let mut last = lock(&self.typing);
        if last.get(&user_id).is_some_and(|at| at.elapsed() < TYPING_INTERVAL) {
            return false;
        }
        last.insert(user_id, Instant::now());
        if last.len() > 10_000 {
            last.retain(|_, at| at.elapsed() < TYPING_INTERVAL);
        }
        drop(last);
        self.typing_elsewhere(&TypingSignal { room_id, user_id, nickname: nickname.to_owned() });
        true
    }

    /// Passes on a typing signal already thinned: here by `typing`, or by another Natter.
    pub fn typing_elsewhere(&self, signal: &TypingSignal) {
        let TypingSignal { room_id, user_id, nickname } = signal.clone();
        let frame = ServerFrame::Typing { room_id, user_id, nickname };
        self.publish(Broadcast::new(Audience::RoomExcept(room_id, user_id), &frame));
    }

    /// Tells the message's room that it changed (edited, deleted, reactions). Called on the writer
    /// thread after the commit, so updates go out in revision order.
    pub fn publish_updated(&self, message: &ChatMessage) {
        let frame = ServerFrame::MessageUpdated { message: message.clone() };
        self.publish(Broadcast {
            change_rev: Some(message.rev),
            ..Broadcast::new(Audience::Room(message.room_id), &frame)
        });
    }

    /// `member` is now in `room` (their view of it): their connections start taking its traffic,
    /// and the room's members learn about them.
    pub fn member_joined(&self, room: &Room, member: &Member) {
        let (user_id, room_id) = (member.user_id, room.id);
        self.publish(Broadcast {
            room_change: Some(RoomChange::Joined { user_id, room_id }),
            ..Broadcast::new(Audience::User(user_id), &ServerFrame::RoomJoined { room: room.clone() })
        });
        let frame = ServerFrame::MemberJoined { room_id, member: member.clone() };
        self.publish(Broadcast::new(Audience::Room(room_id), &frame));
    }

    /// `user_id` left `room_id`: their connections stop taking its traffic, and its members learn it.
    pub fn member_left(&self, room_id: RoomId, user_id: UserId) {
        self.publish(Broadcast {
            room_change: Some(RoomChange::Left { user_id, room_id }),
            ..Broadcast::new(Audience::User(user_id), &ServerFrame::RoomLeft { room_id })
        });
        self.publish(Broadcast::new(Audience::Room(room_id), &ServerFrame::MemberLeft { room_id, user_id }));
    }

    /// Tells a room's members it is archived; their connections stop taking its traffic.
    pub fn room_archived(&self, room_id: RoomId) {
        self.publish(Broadcast {
            room_change: Some(RoomChange::Archived { room_id }),
            ..Broadcast::new(Audience::Room(room_id), &ServerFrame::RoomArchived { room_id })
        });
    }

    /// Has every connection refill from the database, in order with the frames around it: changes
    /// were lost on their way here, though not from the database.
    pub fn resync_everyone(&self) {
        self.publish(Broadcast {
            resync: true,
            text: Utf8Bytes::from_static(""),
            ..Broadcast::new(Audience::Everyone, &ServerFrame::Presence { online: Vec::new() })
        });
    }

    /// Tells all of a user's tabs how far they have read a room.
    pub fn read(&self, user_id: UserId, room_id: RoomId, last_read_id: MessageId) {
        self.publish(Broadcast::new(Audience::User(user_id), &ServerFrame::Read { room_id, last_read_id }));
    }

    fn publish(&self, broadcast: Broadcast) {
        // An error only means nobody is connected, which is fine: nothing is lost by that.
        let _ = self.sender.send(Arc::new([broadcast]));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
