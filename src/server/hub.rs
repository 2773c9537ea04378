//! Fan-out and presence. Every frame is encoded once here and its bytes shared by all sockets
//! (`Utf8Bytes` clones are reference counts), so a message to a thousand readers costs one
//! serialisation, not a thousand. Each frame names its audience (everyone, a room's members, one
//! user); every connection knows its user's rooms and passes on only what that user may see.
//!
//! Frames travel in batches: the messages of one group commit go out as one item, so a thousand
//! readers are woken once per commit, not once per message, and each writes the whole batch with
//! one flush. Under load that is what keeps the cost of a delivery falling as the rate rises.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use crate::protocol::{ChatMessage, Member, MessageId, OnlineUser, Revision, Room, RoomId, ServerFrame, UserId};
use crate::server::store::{Present, StoreEvent, TypingSignal};

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

/// A user's sockets on this Natter.
struct Online {
    nickname: String,
    connections: usize,
    last_active: Instant,
    idle: bool,
}

/// What the screens were told about an online user: online under this nickname, idle or not.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shown {
    nickname: String,
    idle: bool,
}

/// Who is online: here (counted from this Natter's sockets), elsewhere (as the other Natters on
/// the database last said), and what the screens were told of the two together. Every change
/// to either side is followed by `settle`, which announces only what changed in the union, so a
/// person on three Natters is online once and leaves when their last socket anywhere closes.
#[derive(Default)]
struct Presence {
    here: BTreeMap<UserId, Online>,
    elsewhere: HashMap<UserId, Present>,
    shown: BTreeMap<UserId, Shown>,
}

impl Presence {
    /// What the screens should show of `user_id` now.
    fn union(&self, user_id: UserId) -> Option<Shown> {
        match (self.here.get(&user_id), self.elsewhere.get(&user_id)) {
            (Some(here), elsewhere) => Some(Shown {
                nickname: here.nickname.clone(),
                idle: here.idle && elsewhere.is_none_or(|elsewhere| elsewhere.idle),
            }),
            (None, Some(elsewhere)) => Some(Shown { nickname: elsewhere.nickname.clone(), idle: elsewhere.idle }),
            (None, None) => None,
        }
    }

    /// Announces what changed for `user_id` since the screens were last told; returns whether
    /// anything did.
    fn settle(&mut self, user_id: UserId, publish: &impl Fn(Broadcast)) -> bool {
        let before = self.shown.get(&user_id);
        let mut now = self.union(user_id);
        if let (Some(before), Some(now)) = (before, now.as_mut()) {
            // A nickname changes only by a rename, which `Hub::rename` tells; another server's
            // view of it may lag.
            now.nickname.clone_from(&before.nickname);
        }
        if before == now.as_ref() {
            return false;
        }
        let announce = |frame: &ServerFrame| publish(Broadcast::new(Audience::Everyone, frame));
        match (before, &now) {
            (None, Some(shown)) => {
                announce(&ServerFrame::UserJoined { user_id, nickname: shown.nickname.clone() });
                if shown.idle {
                    announce(&ServerFrame::UserIdle { user_id, idle: true });
                }
            }
            (Some(gone), None) => announce(&ServerFrame::UserLeft { user_id, nickname: gone.nickname.clone() }),
            (Some(was), Some(shown)) if was.idle != shown.idle => {
                announce(&ServerFrame::UserIdle { user_id, idle: shown.idle });
            }
            _ => {}
        }
        match now {
            Some(shown) => self.shown.insert(user_id, shown),
            None => self.shown.remove(&user_id),
        };
        true
    }
}

/// An open socket, so it can be closed from elsewhere (sign-out).
struct Registered {
    session: Vec<u8>,
    user_id: UserId,
    address: Option<IpAddr>,
    closer: CancellationToken,
}

/// How many sockets one user, and one client address, may have open at once.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionCaps {
    pub per_user: usize,
    pub per_address: usize,
}

/// Every open socket, with running counts per user and per address so the caps cost nothing per
/// connection however many are open.
#[derive(Default)]
struct Registry {
    open: HashMap<u64, Registered>,
    per_user: HashMap<UserId, usize>,
    per_address: HashMap<IpAddr, usize>,
}

impl Registry {
    fn remove(&mut self, id: u64) {
        let Some(gone) = self.open.remove(&id) else { return };
        uncount(&mut self.per_user, gone.user_id);
        if let Some(address) = gone.address {
            uncount(&mut self.per_address, address);
        }
    }
}

fn uncount<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: K) {
    if let std::collections::hash_map::Entry::Occupied(mut count) = counts.entry(key) {
        *count.get_mut() -= 1;
        if *count.get() == 0 {
            count.remove();
        }
    }
}

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

/// Unregisters its connection when dropped.
pub struct ConnectionGuard {
    hub: Arc<Hub>,
    id: u64,
    /// Cancelled when the connection's session ends.
    pub closed: CancellationToken,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        lock(&self.hub.connections).remove(self.id);
    }
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

    /// Counts a connection of a user; announces the user when they were not online before.
    pub fn join(&self, user_id: UserId, nickname: &str) {
        let mut presence = lock(&self.presence);
        let entry = presence.here.entry(user_id).or_insert_with(|| Online {
            nickname: nickname.to_owned(),
            connections: 0,
            last_active: Instant::now(),
            idle: false,
        });
        entry.connections += 1;
        let first_here = entry.connections == 1;
        let woke = std::mem::replace(&mut entry.idle, false);
        entry.last_active = Instant::now();
        // Published under the lock so join and leave announcements keep the order of the counts.
        self.settle_here(&mut presence, user_id, first_here || woke);
    }

    /// Uncounts a connection; announces the user's departure when it was their last one anywhere.
    pub fn leave(&self, user_id: UserId) {
        let mut presence = lock(&self.presence);
        let Some(entry) = presence.here.get_mut(&user_id) else { return };
        entry.connections -= 1;
        let last_here = entry.connections == 0;
        if last_here {
            presence.here.remove(&user_id);
        }
        self.settle_here(&mut presence, user_id, last_here);
    }

    /// Announces a change here to the screens; the other Natters hear it at once when it changed
    /// what they show, or `here_changed` (the user came, went or changed idleness here, which
    /// matters to them even when this Natter's screens see no difference).
    fn settle_here(&self, presence: &mut Presence, user_id: UserId, here_changed: bool) {
        if presence.settle(user_id, &|frame| self.publish(frame)) || here_changed {
            self.presence_changed.notify_one();
        }
    }

    /// Tells everyone a user's new nickname (they are shown under it from now on, online or not).
    pub fn rename(&self, user_id: UserId, from: &str, to: &str) {
        let mut presence = lock(&self.presence);
        if let Some(entry) = presence.here.get_mut(&user_id) {
            entry.nickname = to.to_owned();
        }
        if let Some(entry) = presence.elsewhere.get_mut(&user_id) {
            entry.nickname = to.to_owned();
        }
        if let Some(entry) = presence.shown.get_mut(&user_id) {
            entry.nickname = to.to_owned();
        }
        let frame = ServerFrame::UserRenamed { user_id, from: from.to_owned(), to: to.to_owned() };
        self.publish(Broadcast {
            renamed: Some((user_id, to.to_owned())),
            ..Broadcast::new(Audience::Everyone, &frame)
        });
    }

    /// Everyone online now, here or on another Natter, sorted by nickname: what the screens were told.
    pub fn online(&self) -> Vec<OnlineUser> {
        let mut everyone: Vec<OnlineUser> = lock(&self.presence)
            .shown
            .iter()
            .map(|(&user_id, shown)| OnlineUser { user_id, nickname: shown.nickname.clone(), idle: shown.idle })
            .collect();
        everyone.sort_by_key(|user| user.nickname.to_lowercase());
        everyone
    }

    /// Who is online on this Natter's own sockets, for the other Natters (`Store::share_presence`).
    pub fn here(&self) -> Vec<Present> {
        lock(&self.presence)
            .here
            .iter()
            .map(|(&user_id, online)| Present {
                user_id,
                nickname: online.nickname.clone(),
                idle: online.idle,
                connections: u32::try_from(online.connections).unwrap_or(u32::MAX),
            })
            .collect()
    }

    /// Resolves when who is online here changed in a way other Natters should hear before the
    /// next heartbeat (someone came, went, or went idle or active).
    pub async fn presence_changed(&self) {
        self.presence_changed.notified().await;
    }

    /// Takes who the other Natters say is online (all of them, replacing what they said before)
    /// and announces whoever came, went, or changed idleness in the union.
    pub fn elsewhere(&self, present: &[Present]) {
        let mut merged: HashMap<UserId, Present> = HashMap::with_capacity(present.len());
        for one in present {
            merged
                .entry(one.user_id)
                .and_modify(|seen| {
                    seen.connections = seen.connections.saturating_add(one.connections);
                    seen.idle &= one.idle;
                })
                .or_insert_with(|| one.clone());
        }
        let mut presence = lock(&self.presence);
        let old = std::mem::replace(&mut presence.elsewhere, merged);
        let concerned: std::collections::BTreeSet<UserId> =
            old.keys().chain(presence.elsewhere.keys()).copied().collect();
        for user_id in concerned {
            presence.settle(user_id, &|frame| self.publish(frame));
        }
    }

    /// The user did something (sent, typed, renamed): they are active, and no longer idle.
    pub fn touch(&self, user_id: UserId) {
        let mut presence = lock(&self.presence);
        if let Some(entry) = presence.here.get_mut(&user_id) {
            entry.last_active = Instant::now();
            if entry.idle {
                entry.idle = false;
                self.settle_here(&mut presence, user_id, true);
            }
        }
    }

    /// Marks everyone inactive here for `after` as idle, announcing each; run periodically.
    pub fn sweep_idle(&self, after: Duration) {
        let mut presence = lock(&self.presence);
        let tired: Vec<UserId> = presence
            .here
            .iter_mut()
            .filter(|(_, entry)| !entry.idle && entry.last_active.elapsed() >= after)
            .map(|(&user_id, entry)| {
                entry.idle = true;
                user_id
            })
            .collect();
        for user_id in tired {
            self.settle_here(&mut presence, user_id, true);
        }
    }

    /// Registers a socket of `session` about to open; its token is cancelled when the session ends.
    /// `None` when the user or the address already has as many open as `caps` allows.
    pub fn register(
        self: &Arc<Self>,
        session: Vec<u8>,
        user_id: UserId,
        address: Option<IpAddr>,
        caps: ConnectionCaps,
    ) -> Option<ConnectionGuard> {
        // Sockets on other Natters count too, as they last said (within a heartbeat).
        let elsewhere = lock(&self.presence).elsewhere.get(&user_id).map_or(0, |present| present.connections);
        let mut registry = lock(&self.connections);
        let by_user =
            registry.per_user.get(&user_id).copied().unwrap_or(0) + usize::try_from(elsewhere).unwrap_or(usize::MAX);
        let by_address = address.and_then(|address| registry.per_address.get(&address).copied()).unwrap_or(0);
        if by_user >= caps.per_user || by_address >= caps.per_address {
            return None;
        }
        *registry.per_user.entry(user_id).or_default() += 1;
        if let Some(address) = address {
            *registry.per_address.entry(address).or_default() += 1;
        }
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let closer = CancellationToken::new();
        registry.open.insert(id, Registered { session, user_id, address, closer: closer.clone() });
        Some(ConnectionGuard { hub: Arc::clone(self), id, closed: closer })
    }

    /// Closes every socket of a user (after a ban).
    pub fn end_user(&self, user_id: UserId) {
        for registered in lock(&self.connections).open.values().filter(|r| r.user_id == user_id) {
            registered.closer.cancel();
        }
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

    /// Closes every socket of a session (after sign-out).
    pub fn end_session(&self, session: &[u8]) {
        for registered in lock(&self.connections).open.values().filter(|r| r.session == session) {
            registered.closer.cancel();
        }
    }

    fn publish(&self, broadcast: Broadcast) {
        // An error only means nobody is connected, which is fine: nothing is lost by that.
        let _ = self.sender.send(Arc::new([broadcast]));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    fn message(id: i64) -> ChatMessage {
        ChatMessage::sample(id).by(UserId(1), "a").client_id(&id.to_string())
    }

    fn drain_batches(receiver: &mut broadcast::Receiver<Batch>) -> Vec<Batch> {
        let mut batches = Vec::new();
        loop {
            match receiver.try_recv() {
                Ok(batch) => batches.push(batch),
                Err(TryRecvError::Empty) => return batches,
                Err(other) => panic!("{other:?}"),
            }
        }
    }

    fn drain(receiver: &mut broadcast::Receiver<Batch>) -> Vec<Broadcast> {
        drain_batches(receiver).iter().flat_map(|batch| batch.iter().cloned()).collect()
    }

    #[test]
    fn every_subscriber_gets_every_message_in_order_sharing_one_encoding() {
        let hub = Hub::new(64);
        let mut receivers: Vec<_> = (0..100).map(|_| hub.subscribe()).collect();
        hub.publish_messages(&[message(1), message(2), message(3)]);
        let first: Vec<_> = receivers.iter_mut().map(drain_batches).collect();
        for batches in &first {
            // One commit's messages are one batch: a reader is woken once for all three.
            assert_eq!(batches.len(), 1);
            assert_eq!(
                batches[0].iter().map(|f| f.message_id.map(MessageId::get)).collect::<Vec<_>>(),
                [Some(1), Some(2), Some(3)]
            );
            // The same allocation for everyone: encoded once.
            assert!(Arc::ptr_eq(&batches[0], &first[0][0]));
        }
        let decoded: ServerFrame = serde_json::from_str(first[0][0][1].text.as_str()).unwrap();
        assert_eq!(decoded, ServerFrame::Message { message: message(2) });
        // A message goes to its room's members only.
        let mut elsewhere = message(4);
        elsewhere.room_id = RoomId(5);
        hub.publish_messages(&[elsewhere]);
        assert_eq!(drain(&mut receivers[0])[0].audience, Audience::Room(RoomId(5)));
        assert_eq!(first[0][0][0].audience, Audience::Room(crate::protocol::GENERAL_ROOM_ID));
    }

    #[test]
    fn presence_counts_connections_and_announces_only_first_join_and_last_leave() {
        let hub = Hub::new(64);
        let mut watcher = hub.subscribe();
        let names = |hub: &Hub| hub.online().into_iter().map(|user| user.nickname).collect::<Vec<_>>();
        hub.join(UserId(2), "bob");
        hub.join(UserId(1), "alice");
        hub.join(UserId(1), "alice");
        assert_eq!(names(&hub), ["alice", "bob"]);
        hub.leave(UserId(1));
        assert_eq!(names(&hub), ["alice", "bob"]);
        hub.leave(UserId(1));
        hub.leave(UserId(99));
        assert_eq!(names(&hub), ["bob"]);
        hub.rename(UserId(2), "bob", "Bobby");
        assert_eq!(names(&hub), ["Bobby"]);
        let frames: Vec<ServerFrame> =
            drain(&mut watcher).iter().map(|f| serde_json::from_str(f.text.as_str()).unwrap()).collect();
        assert_eq!(
            frames,
            [
                ServerFrame::UserJoined { user_id: UserId(2), nickname: "bob".into() },
                ServerFrame::UserJoined { user_id: UserId(1), nickname: "alice".into() },
                ServerFrame::UserLeft { user_id: UserId(1), nickname: "alice".into() },
                ServerFrame::UserRenamed { user_id: UserId(2), from: "bob".into(), to: "Bobby".into() },
            ]
        );
    }

    fn present(user_id: i64, nickname: &str, idle: bool, connections: u32) -> Present {
        Present { user_id: UserId(user_id), nickname: nickname.into(), idle, connections }
    }

    fn frames(receiver: &mut broadcast::Receiver<Batch>) -> Vec<ServerFrame> {
        drain(receiver).iter().map(|f| serde_json::from_str(f.text.as_str()).unwrap()).collect()
    }

    #[test]
    fn a_user_here_and_on_other_servers_is_online_once_and_leaves_with_their_last_socket_anywhere() {
        let hub = Hub::new(64);
        let mut watcher = hub.subscribe();
        let (alice, bob) = (UserId(1), UserId(2));
        hub.elsewhere(&[present(1, "alice", false, 1)]);
        hub.join(alice, "alice");
        hub.elsewhere(&[]);
        assert_eq!(hub.online().len(), 1, "still here");
        hub.leave(alice);
        // Two other servers: idle on one, active on the other is active.
        hub.elsewhere(&[present(2, "bob", true, 1), present(2, "bob", false, 2)]);
        assert_eq!(hub.online(), [OnlineUser { user_id: bob, nickname: "bob".into(), idle: false }]);
        hub.elsewhere(&[present(2, "bob", true, 1)]);
        hub.elsewhere(&[present(2, "bob", true, 1)]);
        hub.elsewhere(&[]);
        assert!(hub.online().is_empty());
        assert_eq!(
            frames(&mut watcher),
            [
                ServerFrame::UserJoined { user_id: alice, nickname: "alice".into() },
                ServerFrame::UserLeft { user_id: alice, nickname: "alice".into() },
                ServerFrame::UserJoined { user_id: bob, nickname: "bob".into() },
                ServerFrame::UserIdle { user_id: bob, idle: true },
                ServerFrame::UserLeft { user_id: bob, nickname: "bob".into() },
            ],
            "each change once, whichever server it happened on"
        );
    }

    #[test]
    fn someone_idle_everywhere_arrives_idle_and_is_idle_here_only_when_idle_there_too() {
        let hub = Hub::new(64);
        let mut watcher = hub.subscribe();
        hub.elsewhere(&[present(3, "carol", true, 1)]);
        hub.join(UserId(3), "carol");
        hub.sweep_idle(Duration::ZERO);
        assert!(hub.online()[0].idle);
        assert_eq!(
            frames(&mut watcher),
            [
                ServerFrame::UserJoined { user_id: UserId(3), nickname: "carol".into() },
                ServerFrame::UserIdle { user_id: UserId(3), idle: true },
                ServerFrame::UserIdle { user_id: UserId(3), idle: false },
                ServerFrame::UserIdle { user_id: UserId(3), idle: true },
            ]
        );
        assert_eq!(hub.here(), [present(3, "carol", true, 1)], "what the other servers are told");
    }

    #[test]
    fn a_rename_renames_a_user_online_elsewhere_without_a_second_arrival() {
        let hub = Hub::new(64);
        hub.elsewhere(&[present(4, "dave", false, 1)]);
        let mut watcher = hub.subscribe();
        hub.rename(UserId(4), "dave", "David");
        // The other server still says "dave" until its next heartbeat.
        hub.elsewhere(&[present(4, "dave", false, 1)]);
        assert_eq!(hub.online()[0].nickname, "David");
        assert_eq!(
            frames(&mut watcher),
            [ServerFrame::UserRenamed { user_id: UserId(4), from: "dave".into(), to: "David".into() }]
        );
    }

    #[test]
    fn the_cap_per_user_counts_their_sockets_on_other_servers() {
        let hub = Arc::new(Hub::new(4));
        let caps = ConnectionCaps { per_user: 3, per_address: 10 };
        hub.elsewhere(&[present(1, "alice", false, 1), present(1, "alice", false, 1)]);
        let here = hub.register(vec![1], UserId(1), None, caps);
        assert!(here.is_some());
        assert!(hub.register(vec![1], UserId(1), None, caps).is_none(), "two elsewhere and one here");
        hub.elsewhere(&[present(1, "alice", false, 1)]);
        assert!(hub.register(vec![1], UserId(1), None, caps).is_some());
    }

    #[test]
    fn typing_elsewhere_reaches_the_room_but_not_the_typist_and_is_not_thinned_again() {
        let hub = Hub::new(16);
        let mut watcher = hub.subscribe();
        let signal = TypingSignal { room_id: RoomId(5), user_id: UserId(7), nickname: "alice".into() };
        hub.typing_elsewhere(&signal);
        hub.apply(StoreEvent::TypingElsewhere(&signal));
        let heard = drain(&mut watcher);
        assert_eq!(heard.len(), 2, "the other server thinned them");
        assert_eq!(heard[0].audience, Audience::RoomExcept(RoomId(5), UserId(7)));
    }

    #[test]
    fn inactive_users_go_idle_and_come_back_on_activity() {
        let hub = Hub::new(16);
        hub.join(UserId(1), "alice");
        hub.join(UserId(2), "bob");
        let mut watcher = hub.subscribe();
        std::thread::sleep(Duration::from_millis(30));
        hub.touch(UserId(2));
        hub.sweep_idle(Duration::from_millis(20));
        hub.sweep_idle(Duration::from_millis(20));
        let idle: Vec<(String, bool)> = hub.online().into_iter().map(|u| (u.nickname, u.idle)).collect();
        assert_eq!(idle, [("alice".into(), true), ("bob".into(), false)]);
        hub.touch(UserId(1));
        assert!(!hub.online()[0].idle);
        let frames: Vec<ServerFrame> =
            drain(&mut watcher).iter().map(|f| serde_json::from_str(f.text.as_str()).unwrap()).collect();
        assert_eq!(
            frames,
            [
                ServerFrame::UserIdle { user_id: UserId(1), idle: true },
                ServerFrame::UserIdle { user_id: UserId(1), idle: false }
            ],
            "announced once each way"
        );
    }

    #[test]
    fn typing_signals_are_thinned_and_go_to_the_room_but_not_the_typist() {
        let hub = Hub::new(16);
        let mut watcher = hub.subscribe();
        assert!(hub.typing(RoomId(5), UserId(7), "alice"));
        assert!(!hub.typing(RoomId(5), UserId(7), "alice"), "a second signal within the interval is not passed on");
        assert!(hub.typing(RoomId(5), UserId(8), "bob"), "other users are not held back");
        let frames = drain(&mut watcher);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].audience, Audience::RoomExcept(RoomId(5), UserId(7)));
        let decoded: ServerFrame = serde_json::from_str(frames[0].text.as_str()).unwrap();
        assert_eq!(decoded, ServerFrame::Typing { room_id: RoomId(5), user_id: UserId(7), nickname: "alice".into() });
        let mut sent = message(1);
        sent.author_id = UserId(7);
        hub.publish_messages(&[sent]);
        assert!(hub.typing(RoomId(5), UserId(7), "alice"), "after sending, typing again is passed on at once");
    }

    #[test]
    fn each_audience_reaches_exactly_its_users() {
        let frame = |audience| Broadcast::new(audience, &ServerFrame::RoomLeft { room_id: RoomId(5) });
        // User 1 is in general and room 5, user 2 only in general, user 3 in nothing.
        let rooms_of = |user_id: UserId| {
            move |room: RoomId| {
                (user_id != UserId(3) && room == RoomId(1)) || (user_id == UserId(1) && room == RoomId(5))
            }
        };
        let reached = |broadcast: &Broadcast| {
            (1..=3).map(UserId).filter(|&u| broadcast.is_for(u, rooms_of(u))).map(UserId::get).collect::<Vec<_>>()
        };
        assert_eq!(reached(&frame(Audience::Everyone)), [1, 2, 3]);
        assert_eq!(reached(&frame(Audience::Room(RoomId(1)))), [1, 2]);
        assert_eq!(reached(&frame(Audience::Room(RoomId(5)))), [1]);
        assert_eq!(reached(&frame(Audience::Room(RoomId(6)))), Vec::<i64>::new());
        assert_eq!(
            reached(&frame(Audience::RoomExcept(RoomId(1), UserId(1)))),
            [2],
            "not the typist, not a non-member"
        );
        assert_eq!(reached(&frame(Audience::RoomExcept(RoomId(5), UserId(1)))), Vec::<i64>::new());
        assert_eq!(reached(&frame(Audience::User(UserId(3)))), [3], "a user's own frames need no room");
        assert_eq!(reached(&frame(Audience::User(UserId(2)))), [2]);
    }

    #[test]
    fn room_changes_travel_with_the_frames_that_announce_them() {
        let hub = Hub::new(16);
        let mut watcher = hub.subscribe();
        let room = Room::sample(5, "lounge");
        let member = Member { user_id: UserId(8), nickname: "bob".into(), is_bot: false };
        hub.member_joined(&room, &member);
        hub.member_left(RoomId(5), UserId(8));
        hub.room_archived(RoomId(5));
        hub.read(UserId(8), RoomId(5), MessageId(42));
        hub.publish_updated(&ChatMessage {
            room_id: RoomId(5),
            rev: Revision(7),
            deleted: true,
            body: String::new(),
            ..message(42)
        });
        let routes: Vec<(Audience, Option<RoomChange>, ServerFrame)> = drain(&mut watcher)
            .iter()
            .map(|f| (f.audience, f.room_change, serde_json::from_str(f.text.as_str()).unwrap()))
            .collect();
        assert_eq!(
            routes,
            [
                (
                    Audience::User(UserId(8)),
                    Some(RoomChange::Joined { user_id: UserId(8), room_id: RoomId(5) }),
                    ServerFrame::RoomJoined { room: room.clone() }
                ),
                (
                    Audience::Room(RoomId(5)),
                    None,
                    ServerFrame::MemberJoined { room_id: RoomId(5), member: member.clone() }
                ),
                (
                    Audience::User(UserId(8)),
                    Some(RoomChange::Left { user_id: UserId(8), room_id: RoomId(5) }),
                    ServerFrame::RoomLeft { room_id: RoomId(5) }
                ),
                (Audience::Room(RoomId(5)), None, ServerFrame::MemberLeft { room_id: RoomId(5), user_id: UserId(8) }),
                (
                    Audience::Room(RoomId(5)),
                    Some(RoomChange::Archived { room_id: RoomId(5) }),
                    ServerFrame::RoomArchived { room_id: RoomId(5) }
                ),
                (
                    Audience::User(UserId(8)),
                    None,
                    ServerFrame::Read { room_id: RoomId(5), last_read_id: MessageId(42) }
                ),
                (
                    Audience::Room(RoomId(5)),
                    None,
                    ServerFrame::MessageUpdated {
                        message: ChatMessage {
                            room_id: RoomId(5),
                            rev: Revision(7),
                            deleted: true,
                            body: String::new(),
                            ..message(42)
                        }
                    }
                ),
            ]
        );
    }

    const CAPS: ConnectionCaps = ConnectionCaps { per_user: 10, per_address: 10 };

    #[test]
    fn connections_are_capped_per_user_and_per_address() {
        let hub = Arc::new(Hub::new(4));
        let caps = ConnectionCaps { per_user: 2, per_address: 3 };
        let home: Option<IpAddr> = Some([10, 0, 0, 1].into());
        let alice = [hub.register(vec![1], UserId(1), home, caps), hub.register(vec![1], UserId(1), home, caps)];
        assert!(alice.iter().all(Option::is_some));
        assert!(hub.register(vec![1], UserId(1), Some([10, 0, 0, 2].into()), caps).is_none(), "a third for alice");
        let bob = hub.register(vec![2], UserId(2), home, caps);
        assert!(bob.is_some());
        assert!(hub.register(vec![3], UserId(3), home, caps).is_none(), "a fourth from one address");
        assert!(hub.register(vec![3], UserId(3), None, caps).is_some(), "an unknown address is not counted");
        drop(bob);
        assert!(hub.register(vec![3], UserId(3), home, caps).is_some(), "a closed socket frees its place");
    }

    #[test]
    fn ending_a_session_closes_only_its_connections() {
        let hub = Arc::new(Hub::new(4));
        let register = |session: &[u8], user_id| hub.register(session.to_vec(), user_id, None, CAPS).unwrap();
        let first = register(b"one", UserId(1));
        let second = register(b"one", UserId(1));
        let other_session = register(b"two", UserId(1));
        let other_user = register(b"three", UserId(2));
        hub.end_session(b"one");
        assert!(first.closed.is_cancelled() && second.closed.is_cancelled());
        assert!(!other_session.closed.is_cancelled());
        hub.end_user(UserId(1));
        assert!(other_session.closed.is_cancelled(), "a ban closes every session of the user");
        assert!(!other_user.closed.is_cancelled());
        drop(first);
        assert_eq!(lock(&hub.connections).open.len(), 3);
    }

    #[test]
    fn a_slow_subscriber_is_told_it_lagged_instead_of_silently_missing_frames() {
        let hub = Hub::new(4);
        let mut slow = hub.subscribe();
        for id in 1..=10 {
            hub.publish_messages(&[message(id)]);
        }
        assert!(matches!(slow.try_recv(), Err(TryRecvError::Lagged(6))));
    }

    #[test]
    fn changes_lost_on_their_way_have_every_connection_refill_in_order_with_the_rest() {
        let hub = Hub::new(8);
        let mut receiver = hub.subscribe();
        hub.publish_messages(&[message(1)]);
        hub.apply(StoreEvent::Resync);
        hub.publish_messages(&[message(3)]);
        let frames = drain(&mut receiver);
        let resyncs: Vec<bool> = frames.iter().map(|frame| frame.resync).collect();
        assert_eq!(resyncs, [false, true, false]);
        assert!(frames[1].is_for(UserId(42), |_| false), "every connection, whatever its rooms");
        assert!(frames[1].text.is_empty(), "it is not a frame for the client");
    }
}
