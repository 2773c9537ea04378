//! The chat's reactive state, shared by every component through context. Components read signals and
//! call the methods here; `reducer` applies server frames and turns commands into frames, and the
//! browser's socket task (`client`, hydrate only) carries them. On the server the command queue is absent and the state
//! only renders the first paint.
//!
//! Signals hold what the page draws from. `StoredValue`s hold the rest: values fixed when the page
//! is built (`focus`, `peer`, `read_before`) and the socket's bookkeeping (resume points, read
//! reports, the held messages), which nothing redraws from, so changing them wakes no view.

mod joining;
pub mod outbox;
pub mod reducer;
pub mod timeline;
pub mod typing;

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;

use crate::protocol::{
    validate_body, validate_nickname, Account, ChatMessage, Member, MessageId, OnlineUser, Revision, Room, RoomId,
    RoomKind, UserId,
};
use crate::protocol::{DirectoryRoom, RoomPage};
use outbox::{Outbox, Queued};
use timeline::Timeline;
use typing::{Typing, TYPING_EVERY_MS};

/// Where the page's socket stands, for the status line and for whether Send can go at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketState {
    Connecting,
    Connected,
    /// Disconnected; the next attempt starts in this many seconds.
    Retrying {
        seconds: u32,
    },
}

/// What the page asks the socket task to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A new message, already shown as pending and queued in the outbox.
    Send {
        room_id: RoomId,
        client_msg_id: String,
        body: String,
    },
    /// Rename: answered by `nick_ok` or a nickname error, both shown by the nickname field.
    SetNickname(String),
    /// Send a refused message again, under the same `client_msg_id`.
    Retry(String),
    Typing,
    /// Tell the server (and this user's other tabs) the room is read up to this id.
    Read {
        room_id: RoomId,
        last_read_id: MessageId,
    },
}

/// A file being sent: how far along, or why it was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    /// The upload's `client_msg_id`, which also names its row in the tray.
    pub key: String,
    pub name: String,
    pub sent: u64,
    pub size: u64,
    pub error: Option<String>,
}

/// `Copy`, since every field is an arena handle: each closure in each component holds its own
/// copy, and all of them name the same state.
#[derive(Clone, Copy)]
pub struct ChatState {
    pub timeline: RwSignal<Timeline>,
    pub online: RwSignal<Vec<OnlineUser>>,
    pub connection: RwSignal<SocketState>,
    /// The signed-in account; `None` for a visitor who has not picked a nickname.
    pub me: RwSignal<Option<Account>>,
    /// The nickname field's text.
    pub nickname: RwSignal<String>,
    pub nickname_error: RwSignal<Option<String>>,
    /// A problem to show near the composer (a refused frame not tied to one message).
    pub alert: RwSignal<Option<String>>,
    /// The browser's notification permission: "default", "granted" or "denied"; `None` before
    /// hydration and where notifications do not exist.
    pub notify_permission: RwSignal<Option<String>>,
    /// Files on their way to the server, and refused ones until dismissed.
    pub uploads: RwSignal<Vec<Upload>>,
    /// Who else is typing now.
    pub typing: RwSignal<Typing>,
    /// The room on this page; `None` on a direct-conversation page before its first message.
    pub room: RwSignal<Option<Room>>,
    /// On a direct-conversation page: the other person.
    pub peer: StoredValue<Option<Member>>,
    /// Whether the signed-in user is a member of this page's room (and so may post).
    pub joined: RwSignal<bool>,
    /// This room's members; with `online` they make its presence list.
    pub members: RwSignal<Vec<Member>>,
    /// The user's rooms and direct conversations with unread counts (the sidebar).
    pub rooms: RwSignal<Vec<Room>>,
    /// Public rooms to browse (fetched again each time the list is opened).
    pub directory: RwSignal<Vec<DirectoryRoom>>,
    /// The unread marker goes before the first message by someone else with a larger id.
    pub read_before: StoredValue<Option<MessageId>>,
    /// Whether the tab is hidden: messages here are then unread until the user looks.
    pub hidden: RwSignal<bool>,
    /// Messages in this room that arrived while the tab was hidden.
    pub unseen_here: RwSignal<u32>,
    /// Messages up to this id are already counted in `rooms`' unread counts.
    counted_through: StoredValue<MessageId>,
    /// The newest message id seen in any of the user's rooms: where the socket resumes.
    last_seen: StoredValue<MessageId>,
    /// The newest message revision applied: where the socket resumes changes.
    last_change: StoredValue<Revision>,
    /// The newest id of this room already reported read, and when.
    reported_read: StoredValue<(MessageId, f64)>,
    /// A report is scheduled: read marks go at most every `READ_EVERY_MS`, however busy the room.
    read_scheduled: StoredValue<bool>,
    /// When this page last told the server its user is typing.
    last_typing_sent: StoredValue<f64>,
    commands: StoredValue<Option<UnboundedSender<Command>>>,
    /// The message the page opened at (a permalink): highlighted and scrolled to.
    pub focus: StoredValue<Option<MessageId>>,
    /// The edit in progress, if any: the message and the text typed so far. Kept here, not in the
    /// editor, because any update of that message (someone's reaction, an edit elsewhere) draws its
    /// line afresh, and the new line's editor must open with the draft instead of losing it.
    pub edit_draft: StoredValue<Option<(MessageId, String)>>,
    /// The message whose editor just closed: its Edit button takes focus back, even when the saved
    /// edit redraws the line after the editor has gone.
    pub edit_returns_to: StoredValue<Option<MessageId>>,
    /// A rename asked for and not yet answered: Enter in the nickname field fires both its change
    /// and its submit, and neither may ask twice for the same name.
    rename_asked: StoredValue<Option<String>>,
    /// Messages older than the first one shown exist: scrolling up loads them.
    pub has_older: RwSignal<bool>,
    /// The page shows an older stretch of the room (opened at a permalink): newer messages load as
    /// the reader scrolls down, and live ones wait in `held` until the page reaches the present.
    pub has_newer: RwSignal<bool>,
    held: StoredValue<Vec<ChatMessage>>,
    /// A page of history is on its way.
    pub loading: RwSignal<bool>,
    /// An admin banned the signed-in user while this page was open: the page says so and stops.
    pub banned: RwSignal<bool>,
    /// The reader's time zone, minutes east of UTC, for day separators: the server's guess (from
    /// the page's cookie) until the page is live, then the browser's own.
    pub zone_minutes: RwSignal<i32>,
}

impl ChatState {
    pub fn new(page: RoomPage) -> Self {
        let RoomPage {
            me,
            room,
            peer,
            joined,
            history,
            members,
            online,
            mut rooms,
            directory,
            focus,
            has_older,
            has_newer,
            last_id,
            last_change,
            zone_minutes,
        } = page;
        // Only a member has a read mark here: a reader who has not joined gets no marker.
        let read_before = room.as_ref().filter(|_| joined).map(|room| room.last_read_id);
        // This room is being read now: its badge shows nothing, and the page reports it read once
        // it is live.
        if let Some(here) = &room {
            rooms
                .iter_mut()
                .filter(|listed| listed.id == here.id)
                .for_each(|listed| (listed.unread, listed.mentions) = (0, 0));
        }
        Self {
            timeline: RwSignal::new(Timeline::from_history(history)),
            focus: StoredValue::new(focus),
            edit_draft: StoredValue::new(None),
            edit_returns_to: StoredValue::new(None),
            rename_asked: StoredValue::new(None),
            has_older: RwSignal::new(has_older),
            has_newer: RwSignal::new(has_newer),
            held: StoredValue::new(Vec::new()),
            loading: RwSignal::new(false),
            banned: RwSignal::new(false),
            room: RwSignal::new(room),
            peer: StoredValue::new(peer),
            joined: RwSignal::new(joined),
            members: RwSignal::new(members),
            rooms: RwSignal::new(rooms),
            directory: RwSignal::new(directory),
            read_before: StoredValue::new(read_before),
            hidden: RwSignal::new(false),
            unseen_here: RwSignal::new(0),
            // The server read the sidebar's counts and `last_id` in one snapshot: what the socket's
            // catch-up brings up to there is counted already.
            counted_through: StoredValue::new(last_id),
            last_seen: StoredValue::new(last_id),
            last_change: StoredValue::new(last_change),
            // Never reported: the first report may go at once.
            reported_read: StoredValue::new((MessageId(0), f64::NEG_INFINITY)),
            read_scheduled: StoredValue::new(false),
            online: RwSignal::new(online),
            connection: RwSignal::new(SocketState::Connecting),
            nickname: RwSignal::new(me.as_ref().map(|account| account.nickname.clone()).unwrap_or_default()),
            me: RwSignal::new(me),
            nickname_error: RwSignal::new(None),
            alert: RwSignal::new(None),
            notify_permission: RwSignal::new(None),
            uploads: RwSignal::new(Vec::new()),
            typing: RwSignal::new(Typing::default()),
            last_typing_sent: StoredValue::new(f64::NEG_INFINITY),
            commands: StoredValue::new(None),
            zone_minutes: RwSignal::new(zone_minutes),
        }
    }

    /// Called once by the socket task when it starts.
    pub fn attach(&self, commands: UnboundedSender<Command>) {
        self.commands.set_value(Some(commands));
    }

    pub fn is_connected(&self) -> bool {
        self.connection.get() == SocketState::Connected
    }

    /// This page's room id, if the room exists yet.
    /// The draft of an edit in progress on message `id`.
    pub fn edit_draft_of(&self, id: MessageId) -> Option<String> {
        self.edit_draft.with_value(|draft| draft.as_ref().filter(|(of, _)| *of == id).map(|(_, text)| text.clone()))
    }

    pub fn room_id(&self) -> Option<RoomId> {
        self.room.with_untracked(|room| room.as_ref().map(|room| room.id))
    }

    /// What this page's conversation is called: `#room`, or the other person's name.
    pub fn place_name(&self) -> String {
        self.room.with(|room| match room {
            Some(room) if room.kind == RoomKind::Direct => room.name.clone(),
            Some(room) => format!("#{}", room.name),
            None => self.peer.with_value(|peer| peer.as_ref().map(|peer| peer.nickname.clone()).unwrap_or_default()),
        })
    }

    /// Who is online in this room (everyone is in general, including people who signed up after
    /// this page loaded).
    pub fn online_here(&self) -> Vec<OnlineUser> {
        let everyone =
            self.room.with(|room| room.as_ref().map(|room| room.id)) == Some(crate::protocol::GENERAL_ROOM_ID);
        let members: Vec<UserId> = self.members.with(|members| members.iter().map(|member| member.user_id).collect());
        self.online
            .with(|online| online.iter().filter(|user| everyone || members.contains(&user.user_id)).cloned().collect())
    }

    /// Whether the user may post here now: a member of a room that is not archived.
    pub fn can_post(&self) -> bool {
        self.joined.get() && self.room.with(|room| room.as_ref().is_some_and(|room| !room.archived))
    }

    /// Where the socket resumes after a (re)connect: nothing up to here is missing from the page.
    /// The timeline can be ahead of `last_seen`: pages loaded over HTTP (scrolling down from a
    /// permalink) do not pass through `receive`.
    pub fn resume_from(&self) -> MessageId {
        self.last_seen.get_value().max(self.timeline.with_untracked(Timeline::last_id))
    }

    /// Where the socket resumes changes (edits, deletions, reactions) after a (re)connect.
    pub fn resume_changes_from(&self) -> Revision {
        self.last_change.get_value()
    }

    /// A stored message changed: the page shows its new state if it shows the message.
    pub fn updated(&self, message: ChatMessage) {
        // Any room's change moves the resume point: `changes_since` covers all of the user's rooms.
        self.last_change.update_value(|seen| *seen = (*seen).max(message.rev));
        if Some(message.room_id) == self.room_id() {
            self.timeline.update(|timeline| timeline.apply_update(message));
        }
    }

    /// A stored message from the socket: shown if it belongs here, counted as unread otherwise.
    pub fn receive(&self, message: ChatMessage) {
        self.last_seen.update_value(|seen| *seen = (*seen).max(message.id));
        let mine = self.me.with_untracked(|me| me.as_ref().is_some_and(|me| me.id == message.author_id));
        // Mine, from whichever room: it leaves the outbox, which every page of this user shares.
        if mine {
            self.settle(&message.client_msg_id);
        }
        // Counted once: up to `counted_through` it is in the sidebar's counts already, and the
        // user's own messages are never unread.
        let fresh = message.id > self.counted_through.get_value() && !mine;
        if Some(message.room_id) == self.room_id() {
            self.typing.update(|typing| typing.clear(message.author_id));
            // Catch-up can repeat a message the page shows: that one was seen already.
            let known = self.timeline.with_untracked(|timeline| timeline.has(message.id));
            if fresh && !known && self.hidden.get_untracked() {
                self.unseen_here.update(|unseen| *unseen += 1);
            }
            if self.has_newer.get_untracked() {
                // The page shows an older stretch: this one joins when the reader gets here.
                self.held.update_value(|held| held.push(message));
            } else {
                self.timeline.update(|timeline| timeline.apply_message(message));
            }
        } else if fresh {
            let mentioned = self.mentions_me(&message);
            self.rooms.update(|rooms| {
                if let Some(room) = rooms.iter_mut().find(|room| room.id == message.room_id) {
                    room.unread = room.unread.saturating_add(1);
                    if mentioned {
                        room.mentions = room.mentions.saturating_add(1);
                    }
                }
            });
        }
    }

    /// Whether a message by someone else mentions this user.
    pub fn mentions_me(&self, message: &ChatMessage) -> bool {
        self.me.with_untracked(|me| {
            me.as_ref().is_some_and(|me| {
                me.id != message.author_id && crate::text::format::mentions_nickname(&message.body, &me.nickname)
            })
        })
    }

    /// Loads the page of messages before the first one shown. `false` if nothing was loaded (all
    /// shown already, a load under way, or the request failed: the alert says why).
    pub async fn load_older(self) -> bool {
        let Some(room_id) = self.room_id() else { return false };
        if !self.has_older.get_untracked() || self.loading.get_untracked() {
            return false;
        }
        let first = self.timeline.with_untracked(Timeline::first_id);
        self.loading.set(true);
        let page = crate::api::get_history(Some(room_id), first, None, Some(crate::protocol::HISTORY_PAGE)).await;
        self.loading.set(false);
        match page {
            // A full page may have more behind it; a short one reached the room's start.
            Ok(messages) => {
                self.has_older.set(messages.len() == crate::protocol::HISTORY_PAGE as usize);
                let loaded = !messages.is_empty();
                self.timeline.update(|timeline| timeline.add_history(messages));
                loaded
            }
            Err(error) => {
                self.alert.set(Some(error.to_string()));
                false
            }
        }
    }

    /// Loads the page of messages after the last one shown, for a page opened at an older message;
    /// once it reaches the present, live messages held meanwhile join the list.
    pub async fn load_newer(self) {
        let Some(room_id) = self.room_id() else { return };
        if !self.has_newer.get_untracked() || self.loading.get_untracked() {
            return;
        }
        let last = self.timeline.with_untracked(Timeline::last_id);
        self.loading.set(true);
        let page = crate::api::get_history(Some(room_id), None, Some(last), Some(crate::protocol::HISTORY_PAGE)).await;
        self.loading.set(false);
        match page {
            Ok(messages) => {
                let reached_present = messages.len() < crate::protocol::HISTORY_PAGE as usize;
                self.timeline.update(|timeline| timeline.add_history(messages));
                if reached_present {
                    let held = self.held.try_update_value(std::mem::take).unwrap_or_default();
                    self.timeline.update(|timeline| timeline.add_history(held));
                    self.has_newer.set(false);
                    // The reader is at the present now, looking at the room's newest lines.
                    self.mark_read();
                }
            }
            Err(error) => self.alert.set(Some(error.to_string())),
        }
    }

    /// The socket's fresh view of the user's rooms (on welcome, and after a resync).
    pub fn set_rooms(&self, mut rooms: Vec<Room>, counted_through: Option<MessageId>) {
        let here = self.room_id();
        rooms.iter_mut().filter(|room| Some(room.id) == here).for_each(|room| (room.unread, room.mentions) = (0, 0));
        if let Some(last_id) = counted_through {
            self.counted_through.set_value(last_id);
        }
        // Whether the user may post here follows the server's list: a room left or archived in
        // another tab while this one was offline shows at the next welcome.
        self.joined.set(here.is_some_and(|here| rooms.iter().any(|room| room.id == here && !room.archived)));
        self.rooms.set(rooms);
    }

    /// The user is now in `room`: list it, and if it is this page's, let them post.
    pub fn room_joined(&self, room: Room) {
        // A direct page waiting for its conversation: the room just started (by the other person,
        // or in another tab) becomes this page's room.
        let waiting_peer = self.peer.with_value(|peer| peer.as_ref().map(|peer| peer.user_id));
        if self.room_id().is_none() && room.kind == RoomKind::Direct && room.peer_id == waiting_peer {
            self.room.set(Some(room.clone()));
        }
        if Some(room.id) == self.room_id() {
            self.joined.set(true);
        }
        self.rooms.update(|rooms| {
            rooms.retain(|listed| listed.id != room.id);
            rooms.push(room);
            // Named rooms by name, then conversations: the order the server's `welcome` uses.
            rooms.sort_by(|a, b| (a.kind == RoomKind::Direct, &a.name).cmp(&(b.kind == RoomKind::Direct, &b.name)));
        });
    }

    pub fn room_left(&self, room_id: RoomId) {
        self.rooms.update(|rooms| rooms.retain(|room| room.id != room_id));
        if Some(room_id) == self.room_id() {
            self.joined.set(false);
        }
    }

    pub fn room_archived(&self, room_id: RoomId) {
        let archive = |room: &mut Room| {
            if room.id == room_id {
                room.archived = true;
            }
        };
        self.rooms.update(|rooms| rooms.iter_mut().for_each(archive));
        self.room.update(|room| room.iter_mut().for_each(archive));
    }

    pub fn member_joined(&self, room_id: RoomId, member: Member) {
        if Some(room_id) == self.room_id() {
            self.members.update(|members| {
                members.retain(|known| known.user_id != member.user_id);
                members.push(member);
                members.sort_by_key(|member| member.nickname.to_lowercase());
            });
        }
    }

    pub fn member_left(&self, room_id: RoomId, user_id: UserId) {
        if Some(room_id) == self.room_id() {
            self.members.update(|members| members.retain(|member| member.user_id != user_id));
        }
    }

    /// A user's new nickname in this room's member list and as the name of a conversation with them.
    pub fn renamed(&self, user_id: UserId, nickname: &str) {
        self.members.update(|members| {
            members
                .iter_mut()
                .filter(|member| member.user_id == user_id)
                .for_each(|member| member.nickname = nickname.into())
        });
        let rename = |room: &mut Room| {
            if room.kind == RoomKind::Direct && room.peer_id == Some(user_id) {
                room.name = nickname.to_owned();
            }
        };
        self.rooms.update(|rooms| rooms.iter_mut().for_each(rename));
        self.room.update(|room| room.iter_mut().for_each(rename));
    }

    /// The user read a room up to `last_read_id` (here or in another tab).
    pub fn read(&self, room_id: RoomId, last_read_id: MessageId) {
        self.rooms.update(|rooms| {
            if let Some(room) = rooms.iter_mut().find(|room| room.id == room_id) {
                // Forward only, like the server's mark: an older echo never moves it back.
                room.last_read_id = room.last_read_id.max(last_read_id);
                room.unread = 0;
                room.mentions = 0;
            }
        });
    }

    /// Reports this room read up to its newest message, when the user can see it: at once if the
    /// last report is old enough, otherwise once the interval has passed.
    pub fn mark_read(&self) {
        // Only a member's read counts (the server answers others `not_a_member`), and only while
        // the tab is visible: a hidden tab is not being read.
        let (Some(room_id), true, false) = (self.room_id(), self.joined.get_untracked(), self.hidden.get_untracked())
        else {
            return;
        };
        self.unseen_here.set(0);
        let newest = self.timeline.with_untracked(Timeline::last_id);
        let (reported, at) = self.reported_read.get_value();
        // Offline, the report waits: the next welcome calls this again.
        if newest <= reported || !self.is_connected() || self.read_scheduled.get_value() {
            return;
        }
        let now = crate::dom::now_millis();
        let wait = at + READ_EVERY_MS - now;
        if wait <= 0.0 {
            self.reported_read.set_value((newest, now));
            self.command(Command::Read { room_id, last_read_id: newest });
        } else {
            self.read_scheduled.set_value(true);
            let chat = *self;
            // A millisecond past the interval, so the second call finds it over, not a hair short.
            crate::dom::after(std::time::Duration::from_millis(wait as u64 + 1), move || {
                chat.read_scheduled.set_value(false);
                chat.mark_read();
            });
        }
    }

    /// Unread messages everywhere, for the window title.
    pub fn total_unread(&self) -> u32 {
        let here = self.room.with(|room| room.as_ref().map(|room| room.id));
        let elsewhere: u32 =
            self.rooms.with(|rooms| rooms.iter().filter(|room| Some(room.id) != here).map(|room| room.unread).sum());
        // This room's badge is always zero: its share is what arrived while the tab was hidden.
        elsewhere + self.unseen_here.get()
    }

    /// An admin banned this user: the page says so (instead of silently showing the join form
    /// again) and forgets who was online, since it no longer hears about it.
    pub fn banned_by_admin(&self, message: String) {
        self.banned.set(true);
        self.alert.set(Some(message));
        self.online.set(Vec::new());
        self.joined.set(false);
    }

    /// Whether a visitor who has not joined yet could post here once they pick a nickname.
    pub fn visitor_could_post(&self) -> bool {
        self.me.with(Option::is_none)
            && !self.banned.get()
            && self.room.with(|room| room.as_ref().is_some_and(|room| room.kind == RoomKind::Public && !room.archived))
    }

    /// Validates and queues a message; returns whether it was queued. When it was not, the reason
    /// is shown near the composer, which keeps the text.
    pub fn submit(&self, body: &str) -> bool {
        if self.me.get_untracked().is_none() {
            self.alert.set(Some("Choose a nickname and join first.".into()));
            return false;
        }
        if !self.can_post() {
            self.alert.set(Some("You cannot post in this room.".into()));
            return false;
        }
        let body = match validate_body(body) {
            Ok(body) => body,
            Err(refused) => {
                self.alert.set(Some(refused.message));
                return false;
            }
        };
        let (Some(me), Some(room_id)) = (self.me.get_untracked(), self.room_id()) else { return false };
        if outbox::load(me.id).is_full() {
            self.alert
                .set(Some("Too many messages are waiting to be sent. Wait for the connection, then send.".into()));
            return false;
        }
        self.alert.set(None);
        // The message itself ends the typing signal for readers; the next keystroke starts anew.
        self.last_typing_sent.set_value(f64::NEG_INFINITY);
        // Shown, then written to the outbox, then handed to the socket task: if the socket is away
        // the outbox has it, and the next hello sends it.
        let client_msg_id = outbox::new_client_msg_id();
        self.timeline.update(|timeline| timeline.add_pending(me.id, &me.nickname, &body, &client_msg_id));
        self.change_outbox(|outbox| outbox.add(room_id, &client_msg_id, &body));
        self.command(Command::Send { room_id, client_msg_id, body });
        true
    }

    /// Shows what this user's outbox holds for this room (after a reload, or from another tab) and
    /// forgets what the page already shows as stored.
    pub fn restore_outbox(&self) {
        let Some(me) = self.me.get_untracked() else { return };
        let mut restored = outbox::load(me.id);
        let here = self.room_id();
        let queued: Vec<_> = here.map(|room_id| restored.in_room(room_id).cloned().collect()).unwrap_or_default();
        self.timeline.update(|timeline| {
            for message in queued {
                // Stored while no page of this user heard the ack (a reload, a closed tab): the
                // outbox forgets it rather than showing it pending again.
                if timeline.has_stored(me.id, &message.client_msg_id) {
                    restored.remove(&message.client_msg_id);
                    continue;
                }
                timeline.add_pending(me.id, &me.nickname, &message.body, &message.client_msg_id);
                if let Some(reason) = &message.refused {
                    timeline.fail(&message.client_msg_id, reason);
                }
            }
        });
        outbox::save(me.id, &restored);
    }

    /// The server stored one of this user's messages: it leaves the outbox.
    pub fn settle(&self, client_msg_id: &str) {
        self.change_outbox(|outbox| {
            outbox.remove(client_msg_id);
        });
    }

    /// The server refused one of this user's messages: it waits for a retry or a discard.
    pub fn refused(&self, client_msg_id: &str, reason: &str) {
        self.timeline.update(|timeline| timeline.fail(client_msg_id, reason));
        self.change_outbox(|outbox| outbox.refuse(client_msg_id, reason));
    }

    /// Changes the stored outbox. Read again first: the user's other tabs share it.
    fn change_outbox(&self, change: impl FnOnce(&mut Outbox)) {
        let Some(me) = self.me.get_untracked() else { return };
        let before = outbox::load(me.id);
        let mut current = before.clone();
        change(&mut current);
        if current != before {
            outbox::save(me.id, &current);
        }
    }

    /// Everything waiting to be sent, from this tab or any other of this user's (after a reload,
    /// or from a tab closed while offline).
    pub fn queued_to_send(&self) -> Vec<Queued> {
        let Some(me) = self.me.get_untracked() else { return Vec::new() };
        outbox::load(me.id).to_send().cloned().collect()
    }

    /// The signed-in user committed an edit of the nickname field (blur or Enter): rename.
    pub fn commit_nickname(&self) {
        let Some(me) = self.me.get_untracked() else { return };
        match validate_nickname(&self.nickname.get_untracked()) {
            Ok(nickname) if nickname == me.nickname => self.nickname_error.set(None),
            Ok(nickname) if self.rename_asked.with_value(|asked| asked.as_ref() == Some(&nickname)) => {}
            Ok(nickname) => {
                self.nickname_error.set(None);
                self.rename_asked.set_value(Some(nickname.clone()));
                self.command(Command::SetNickname(nickname));
            }
            Err(refused) => self.nickname_error.set(Some(refused.message)),
        }
    }

    /// The server answered the rename in flight (taken or refused names may be asked for again).
    pub(crate) fn rename_answered(&self) {
        self.rename_asked.set_value(None);
    }

    /// The user typed in the composer at `now` (ms): tell others, at most every couple of seconds.
    pub fn typed(&self, now: f64) {
        // Only where the user may post: the server refuses typing anywhere else.
        if self.is_connected() && self.can_post() && now - self.last_typing_sent.get_value() >= TYPING_EVERY_MS {
            self.last_typing_sent.set_value(now);
            self.command(Command::Typing);
        }
    }

    /// Sends a refused message again, under the same id: if it was stored after all, the server
    /// answers with the original ack and stores nothing new.
    pub fn retry(&self, client_msg_id: String) {
        self.timeline.update(|timeline| {
            timeline.retry(&client_msg_id);
        });
        self.change_outbox(|outbox| outbox.retry(&client_msg_id));
        self.command(Command::Retry(client_msg_id));
    }

    /// Drops a refused message from the page and the outbox; nothing goes to the server.
    pub fn discard(&self, client_msg_id: &str) {
        self.timeline.update(|timeline| timeline.discard(client_msg_id));
        self.change_outbox(|outbox| {
            outbox.remove(client_msg_id);
        });
    }

    /// Hands a command to the socket task. Without one (the server's render, a visitor's page)
    /// there is nobody to tell, and nothing is lost: messages wait in the outbox for the hello.
    fn command(&self, command: Command) {
        self.commands.with_value(|commands| {
            if let Some(commands) = commands {
                let _ = commands.unbounded_send(command);
            }
        });
    }
}

/// Adds or updates someone in an online list kept sorted by nickname.
pub fn upsert_online(online: &mut Vec<OnlineUser>, user: OnlineUser) {
    online.retain(|other| other.user_id != user.user_id);
    let key = user.nickname.to_lowercase();
    let position = online.partition_point(|other| other.nickname.to_lowercase() < key);
    online.insert(position, user);
}

/// The nickname field's element id: the way in for a visitor, focused when a nickname is needed.
pub const NICKNAME_FIELD: &str = "nickname";

/// Read marks go to the server at most this often (ms): each is a database write.
const READ_EVERY_MS: f64 = 2_000.0;

/// Milliseconds to wait before reconnect attempt number `failures` (1-based): doubling from half a
/// second up to 15 s, spread by `jitter` in [0, 1) so clients dropped together do not return together.
pub fn retry_delay_ms(failures: u32, jitter: f64) -> u32 {
    // The shift is capped before it is taken: 500 ms × 2⁵ is past 15 s already, and a larger
    // shift would overflow.
    let base = 500u32.saturating_mul(1 << failures.saturating_sub(1).min(5)).min(15_000);
    (f64::from(base) * (0.5 + jitter.clamp(0.0, 1.0))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_online_list_stays_sorted_and_has_each_user_once() {
        let user = |user_id, nickname: &str| OnlineUser { user_id, nickname: nickname.into(), idle: false };
        let mut online = vec![];
        upsert_online(&mut online, user(UserId(2), "bob"));
        upsert_online(&mut online, user(UserId(1), "Alice"));
        upsert_online(&mut online, user(UserId(3), "carol"));
        upsert_online(&mut online, user(UserId(2), "zed"));
        let names: Vec<&str> = online.iter().map(|u| u.nickname.as_str()).collect();
        assert_eq!(names, ["Alice", "carol", "zed"]);
    }

    #[test]
    fn retry_delays_double_up_to_a_cap_and_are_jittered() {
        assert_eq!(retry_delay_ms(1, 0.5), 500);
        assert_eq!(retry_delay_ms(2, 0.5), 1_000);
        assert_eq!(retry_delay_ms(3, 0.5), 2_000);
        assert_eq!(retry_delay_ms(50, 0.5), 15_000);
        assert_eq!(retry_delay_ms(1, 0.0), 250);
        assert_eq!(retry_delay_ms(1, 0.999), 749);
    }
}
