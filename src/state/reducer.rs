//! The one place a server frame changes the page: [`ChatState::apply`] takes each decoded frame and
//! returns, as plain data, what the socket task must do next (frames to send, a notification to
//! show, when to look at the typing list again). Commands from the page become frames here too. The
//! socket task (`client`) only opens, reads, writes and waits, so every rule about frames lives in
//! `state/` and is tested natively.

use std::collections::HashSet;
use std::time::Duration;

use leptos::prelude::*;

use super::typing::TYPING_SHOWN_MS;
use super::{upsert_online, ChatState, Command, SocketState};
use crate::protocol::{ChatMessage, ClientFrame, ErrorCode, OnlineUser, RoomKind, ServerFrame, UserId, SERVER_NAME};

/// Longest notification text, in characters: a notification shows a line or two, and a long
/// message is cut rather than filling the screen.
const MAX_NOTICE_TEXT: usize = 200;

/// What the page knows about its socket between frames. The socket task keeps one for the page's
/// life and hands it to every call here; only this module changes it.
#[derive(Debug, Default)]
pub struct Link {
    /// Whether any connection of this page was welcomed: the greeting is shown once, not after
    /// every reconnect.
    greeted: bool,
    /// Whether the current connection was welcomed.
    welcomed: bool,
    /// Messages sent on the current connection, so each goes once per connection (the outbox pass
    /// behind the hello and the one after the welcome overlap).
    sent: HashSet<String>,
}

impl Link {
    /// Whether the current connection got as far as its welcome (the socket task then starts its
    /// backoff afresh).
    pub fn welcomed(&self) -> bool {
        self.welcomed
    }
}

/// What the socket task must do after a frame.
#[derive(Debug, Default, PartialEq)]
pub struct Reaction {
    /// Frames to send, in order.
    pub send: Vec<ClientFrame>,
    /// A browser notification to show, if the user allowed them.
    pub notify: Option<Notice>,
    /// Call [`ChatState::expire_typing`] after this long: someone's typing signal runs out then.
    pub expire_typing_after: Option<Duration>,
}

/// A browser notification for a live message, as plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub text: String,
    /// One notification per room: a newer one with the same tag replaces the last.
    pub tag: String,
    /// The message's permalink, opened when the notification is clicked.
    pub target: String,
}

impl ChatState {
    /// A connection opened: what to say first. The hello resumes where the page is; what waits in
    /// the outbox goes right behind it, not a round trip later after the welcome (the server reads
    /// frames in order, so it handles them once it has greeted us).
    pub fn connected(&self, link: &mut Link) -> Vec<ClientFrame> {
        // A new connection has sent nothing yet: everything in the outbox may go again, since the
        // server stores a resend once.
        link.welcomed = false;
        link.sent.clear();
        // A rename asked on the connection that ended may never have arrived: it may be asked again.
        self.rename_answered();
        let hello =
            ClientFrame::Hello { since: Some(self.resume_from()), changes_since: Some(self.resume_changes_from()) };
        let mut frames = vec![hello];
        frames.extend(self.unsent(link));
        frames
    }

    /// Applies one frame from the server to the page. `now` is the browser's clock (ms), for
    /// typing signals.
    pub fn apply(&self, link: &mut Link, frame: ServerFrame, now: f64) -> Reaction {
        let mut reaction = Reaction::default();
        match frame {
            ServerFrame::Welcome { from, text, you, online, rooms, last_id, .. } => {
                if !link.greeted {
                    self.timeline.update(|timeline| timeline.add_notice(&from, &text));
                    link.greeted = true;
                }
                link.welcomed = true;
                // The server's account is the truth: a rename made while this page was offline
                // shows now.
                self.nickname.set(you.nickname.clone());
                self.me.set(Some(you));
                self.online.set(online);
                self.set_rooms(rooms, Some(last_id));
                self.connection.set(SocketState::Connected);
                self.mark_read();
                // Everything in the outbox goes now if it did not go behind the hello (written
                // since); the server recognises a resend by its client_msg_id and stores it once.
                reaction.send = self.unsent(link);
            }
            ServerFrame::History { messages, .. } => {
                for message in messages {
                    self.receive(message);
                }
                self.mark_read();
            }
            ServerFrame::Message { message } => {
                // Decided before the message counts as unread: the notice is about this message.
                reaction.notify = self.notice_for(&message);
                self.receive(message);
                self.mark_read();
            }
            ServerFrame::Typing { room_id, user_id, nickname } if Some(room_id) == self.room_id() => {
                self.typing.update(|typing| typing.note(user_id, &nickname, now));
                // A little after the signal runs out, so the check finds it expired.
                reaction.expire_typing_after = Some(Duration::from_millis(TYPING_SHOWN_MS as u64 + 50));
            }
            // Typing in another room: this page does not show it.
            ServerFrame::Typing { .. } => {}
            // The ack may come before or after our live copy; either one confirms the pending line.
            ServerFrame::Ack { client_msg_id, id, sent_at } => {
                self.timeline.update(|timeline| timeline.apply_ack(&client_msg_id, id, sent_at));
                self.settle(&client_msg_id);
            }
            ServerFrame::NickOk { nickname } => {
                self.rename_answered();
                self.nickname_error.set(None);
                self.nickname.set(nickname.clone());
                self.me.update(|me| {
                    if let Some(me) = me {
                        me.nickname = nickname;
                    }
                });
            }
            ServerFrame::MessageUpdated { message } => self.updated(message),
            ServerFrame::RoomJoined { room } => self.room_joined(room),
            ServerFrame::RoomLeft { room_id } => self.room_left(room_id),
            ServerFrame::RoomArchived { room_id } => self.room_archived(room_id),
            ServerFrame::MemberJoined { room_id, member } => self.member_joined(room_id, member),
            ServerFrame::MemberLeft { room_id, user_id } => self.member_left(room_id, user_id),
            ServerFrame::Read { room_id, last_read_id } => self.read(room_id, last_read_id),
            ServerFrame::Rooms { rooms } => self.set_rooms(rooms, None),
            ServerFrame::UserRenamed { user_id, from, to } => self.user_renamed(user_id, &from, to),
            ServerFrame::UserJoined { user_id, nickname } => {
                self.online.update(|online| upsert_online(online, OnlineUser { user_id, nickname, idle: false }));
            }
            ServerFrame::UserLeft { user_id, .. } => {
                self.online.update(|online| online.retain(|user| user.user_id != user_id))
            }
            ServerFrame::UserIdle { user_id, idle } => self.online.update(|online| {
                if let Some(user) = online.iter_mut().find(|user| user.user_id == user_id) {
                    user.idle = idle;
                }
            }),
            ServerFrame::Presence { online } => self.online.set(online),
            ServerFrame::Error { code, message, client_msg_id } => match (client_msg_id, code) {
                // A ban ends everything, whatever frame it answers.
                (_, ErrorCode::Banned) => self.banned_by_admin(message),
                // About one message: its line shows the reason and waits for Retry or Discard.
                (Some(client_msg_id), _) => self.refused(&client_msg_id, &message),
                // The answer to a rename: shown by the nickname field, where it was typed.
                (None, ErrorCode::InvalidNickname | ErrorCode::NicknameTaken) => {
                    self.rename_answered();
                    self.nickname_error.set(Some(message));
                }
                (None, _) => self.alert.set(Some(message)),
            },
        }
        reaction
    }

    /// Turns a command from the page into the frames to send on the current connection.
    pub fn carry_out(&self, link: &mut Link, command: Command) -> Vec<ClientFrame> {
        match command {
            Command::Send { room_id, client_msg_id, body } if link.welcomed => {
                // Once per connection: the welcome's outbox pass may have sent it already.
                if link.sent.insert(client_msg_id.clone()) {
                    vec![ClientFrame::Send { room_id, client_msg_id, body }]
                } else {
                    Vec::new()
                }
            }
            // Before the welcome, the welcome's outbox pass sends it.
            Command::Send { .. } => Vec::new(),
            Command::SetNickname(nickname) => vec![ClientFrame::Nick { nickname }],
            Command::Typing => self.room_id().map(|room_id| ClientFrame::Typing { room_id }).into_iter().collect(),
            Command::Read { room_id, last_read_id } => vec![ClientFrame::Read { room_id, last_read_id }],
            Command::Retry(client_msg_id) if link.welcomed => {
                let queued = self.queued_to_send().into_iter().find(|queued| queued.client_msg_id == client_msg_id);
                let Some(message) = queued else { return Vec::new() };
                // Refused on this connection already: this time it goes again.
                link.sent.insert(message.client_msg_id.clone());
                vec![ClientFrame::Send {
                    room_id: message.room_id,
                    client_msg_id: message.client_msg_id,
                    body: message.body,
                }]
            }
            // Before the welcome: the outbox pass sends it, since a retry puts it back in the queue.
            Command::Retry(_) => Vec::new(),
        }
    }

    /// Forgets typing signals that ran out by `now` (ms).
    pub fn expire_typing(&self, now: f64) {
        self.typing.update(|typing| {
            typing.expire(now);
        });
    }

    /// The server says this browser is no longer signed in (signed out elsewhere, expired): the
    /// page offers the join form again.
    /// The status line then reads "Not joined yet" (no account), not a countdown for a socket that
    /// is not coming back.
    pub fn session_ended(&self) {
        self.me.set(None);
        self.connection.set(SocketState::Connecting);
    }

    /// The browser notification a live message deserves: only while the tab is hidden, never for
    /// the user's own message, and as the room's setting asks (mentions by default, everything
    /// from a conversation).
    pub fn notice_for(&self, message: &ChatMessage) -> Option<Notice> {
        if !self.hidden.get_untracked() {
            return None;
        }
        let mine = self.me.with_untracked(|me| me.as_ref().is_some_and(|me| me.id == message.author_id));
        // The room's level is read from the sidebar's copy, which `room_header` keeps current when
        // the user changes it (no frame tells of that).
        let room = self.rooms.with_untracked(|rooms| rooms.iter().find(|room| room.id == message.room_id).cloned());
        let room = room.filter(|room| !mine && room.notifies(self.mentions_me(message)))?;
        let title = match room.kind {
            RoomKind::Direct => message.nickname.clone(),
            _ => format!("{} in #{}", message.nickname, room.name),
        };
        // Notifications take plain text only: the markup's markers would show as typed.
        let text = crate::text::format::plain_text(&crate::text::format::parse(&message.body));
        Some(Notice {
            title,
            text: text.chars().take(MAX_NOTICE_TEXT).collect(),
            tag: format!("natter-room-{}", room.id),
            target: format!("{}/m/{}", room.path(), message.id),
        })
    }

    /// A user changed nickname: the online list, member list, conversation names and their lines
    /// show the new one, with a notice saying so; if it is this user, the nickname field too.
    fn user_renamed(&self, user_id: UserId, from: &str, to: String) {
        // Upserted, not edited in place: the new name may belong elsewhere in the sorted list.
        self.online.update(|online| {
            if let Some(user) = online.iter().find(|user| user.user_id == user_id).cloned() {
                upsert_online(online, OnlineUser { nickname: to.clone(), ..user });
            }
        });
        self.renamed(user_id, &to);
        self.timeline.update(|timeline| {
            timeline.rename_author(user_id, &to);
            timeline.add_notice(SERVER_NAME, &format!("{from} is now known as {to}."));
        });
        if self.me.with_untracked(|me| me.as_ref().is_some_and(|me| me.id == user_id)) {
            self.nickname.set(to.clone());
            self.me.update(|me| {
                if let Some(me) = me {
                    me.nickname = to;
                }
            });
        }
    }

    /// The outbox's messages not yet sent on this connection, as frames, marked as sent.
    fn unsent(&self, link: &mut Link) -> Vec<ClientFrame> {
        self.queued_to_send()
            .into_iter()
            .filter(|message| link.sent.insert(message.client_msg_id.clone()))
            .map(|message| ClientFrame::Send {
                room_id: message.room_id,
                client_msg_id: message.client_msg_id,
                body: message.body,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
