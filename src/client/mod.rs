//! The browser's side of the socket: connect, say hello with the last id seen, resend what was not
//! acknowledged, apply server frames to the chat state, and reconnect with backoff and jitter. The
//! session cookie identifies the user; the task ends when the session does.

mod notify;
mod upload;

pub use upload::{files_of, send_files};

use std::collections::HashSet;
use std::pin::pin;

use futures::channel::mpsc;
use futures::{stream, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use leptos::prelude::*;

use crate::protocol::{ClientFrame, ErrorCode, OnlineUser, ServerFrame};
use crate::state::{retry_delay_ms, upsert_online, ChatState, Command, Connection};

/// Starts the socket task for a signed-in page, after hydration.
pub fn start(chat: ChatState) {
    chat.notify_permission.set(notify::permission());
    let (commands, queue) = mpsc::unbounded();
    chat.attach(commands);
    chat.restore_outbox();
    leptos::task::spawn_local(run(chat, queue));
}

enum Event {
    Frame(String),
    Closed,
    Command(Command),
}

async fn run(chat: ChatState, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut failures = 0;
    let mut greeted = false;
    loop {
        chat.connection.set(Connection::Connecting);
        if let Some(url) = socket_url() {
            if let Ok(socket) = WebSocket::open(&url) {
                let mut session = Session { chat, greeted, welcomed: false, sent: HashSet::new() };
                if session.serve(socket, &mut commands).await.is_break() {
                    return;
                }
                if session.welcomed {
                    failures = 0;
                }
                greeted = session.greeted;
            }
        }
        // Refused or dropped: if the session is gone (signed out elsewhere, expired), stop trying
        // and show the join form again.
        if let Ok(None) = crate::api::get_me().await {
            chat.me.set(None);
            chat.connection.set(Connection::Connecting);
            return;
        }
        failures += 1;
        wait_before_retry(chat, failures).await;
    }
}

/// Counts down to the next attempt so the user sees when it will happen.
async fn wait_before_retry(chat: ChatState, failures: u32) {
    let mut left = retry_delay_ms(failures, js_sys::Math::random());
    while left > 0 {
        chat.connection.set(Connection::Retrying { seconds: left.div_ceil(1000) });
        let step = left.min(1000);
        gloo_timers::future::TimeoutFuture::new(step).await;
        left -= step;
    }
}

struct Session {
    chat: ChatState,
    /// Whether any connection of this page was welcomed (the greeting is shown once).
    greeted: bool,
    /// Whether this connection was welcomed.
    welcomed: bool,
    /// Messages sent on this connection, so each goes once per connection.
    sent: HashSet<String>,
}

type Sink = futures::stream::SplitSink<WebSocket, Message>;

impl Session {
    /// Runs one connection. `Break` means the page is going away and the task should end.
    async fn serve(
        &mut self,
        socket: WebSocket,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> std::ops::ControlFlow<()> {
        let (mut sink, frames) = socket.split();
        let frames = frames
            .take_while(|frame| std::future::ready(frame.is_ok()))
            .filter_map(|frame| async move {
                match frame {
                    Ok(Message::Text(text)) => Some(Event::Frame(text)),
                    _ => None,
                }
            })
            .chain(stream::once(async { Event::Closed }));
        let mut events = pin!(stream::select(frames, commands.by_ref().map(Event::Command)));

        let hello = ClientFrame::Hello {
            since: Some(self.chat.resume_from()),
            changes_since: Some(self.chat.resume_changes_from()),
        };
        if send(&mut sink, &hello).await.is_err() {
            return std::ops::ControlFlow::Continue(());
        }
        // What waits in the outbox goes right behind the hello, not a round trip later after the
        // welcome: the server reads frames in order, so it handles them once it has greeted us.
        for message in self.chat.queued_to_send() {
            if self.send_message(&mut sink, message.room_id, message.client_msg_id, message.body).await.is_err() {
                return std::ops::ControlFlow::Continue(());
            }
        }
        while let Some(event) = events.next().await {
            let delivered = match event {
                Event::Frame(text) => self.on_frame(&text, &mut sink).await,
                Event::Command(command) => self.on_command(command, &mut sink).await,
                Event::Closed => break,
            };
            if delivered.is_err() {
                break;
            }
        }
        std::ops::ControlFlow::Continue(())
    }

    async fn on_frame(&mut self, text: &str, sink: &mut Sink) -> Result<(), ()> {
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
            leptos::logging::warn!("ignoring a frame this page does not understand: {text}");
            return Ok(());
        };
        let chat = self.chat;
        match frame {
            ServerFrame::Welcome { from, text, you, online, rooms, last_id, .. } => {
                if !self.greeted {
                    chat.timeline.update(|timeline| timeline.add_notice(&from, &text));
                    self.greeted = true;
                }
                self.welcomed = true;
                chat.nickname.set(you.nickname.clone());
                chat.me.set(Some(you));
                chat.online.set(online);
                chat.set_rooms(rooms, Some(last_id));
                chat.connection.set(Connection::Connected);
                chat.mark_read();
                // Everything in the outbox goes now if it did not go behind the hello (written
                // since); the server recognises a resend by its client_msg_id and stores it once.
                let queued = chat.queued_to_send();
                for message in queued {
                    self.send_message(sink, message.room_id, message.client_msg_id, message.body).await?;
                }
            }
            ServerFrame::History { messages, .. } => {
                for message in messages {
                    chat.receive(message);
                }
                chat.mark_read();
            }
            ServerFrame::Message { message } => {
                notify::on_message(chat, &message);
                chat.receive(message);
                chat.mark_read();
            }
            ServerFrame::Typing { room_id, user_id, nickname } if Some(room_id) == chat.room_id() => {
                chat.typing.update(|typing| typing.note(user_id, &nickname, js_sys::Date::now()));
                let expire = move || {
                    chat.typing.update(|typing| {
                        typing.expire(js_sys::Date::now());
                    })
                };
                leptos::prelude::set_timeout(
                    expire,
                    std::time::Duration::from_millis(crate::state::typing::TYPING_SHOWN_MS as u64 + 50),
                );
            }
            ServerFrame::Ack { client_msg_id, id, sent_at } => {
                chat.timeline.update(|timeline| timeline.apply_ack(&client_msg_id, id, sent_at));
                chat.settle(&client_msg_id);
            }
            ServerFrame::NickOk { nickname } => {
                chat.nickname_error.set(None);
                chat.nickname.set(nickname.clone());
                chat.me.update(|me| {
                    if let Some(me) = me {
                        me.nickname = nickname;
                    }
                });
            }
            ServerFrame::Typing { .. } => {}
            ServerFrame::MessageUpdated { message } => chat.updated(message),
            ServerFrame::RoomJoined { room } => chat.room_joined(room),
            ServerFrame::RoomLeft { room_id } => chat.room_left(room_id),
            ServerFrame::RoomArchived { room_id } => chat.room_archived(room_id),
            ServerFrame::MemberJoined { room_id, member } => chat.member_joined(room_id, member),
            ServerFrame::MemberLeft { room_id, user_id } => chat.member_left(room_id, user_id),
            ServerFrame::Read { room_id, last_read_id } => chat.read(room_id, last_read_id),
            ServerFrame::Rooms { rooms } => chat.set_rooms(rooms, None),
            ServerFrame::UserRenamed { user_id, from, to } => {
                chat.online.update(|online| {
                    if let Some(user) = online.iter().find(|user| user.user_id == user_id).cloned() {
                        upsert_online(online, OnlineUser { nickname: to.clone(), ..user });
                    }
                });
                chat.renamed(user_id, &to);
                chat.timeline.update(|timeline| {
                    timeline.rename_author(user_id, &to);
                    timeline.add_notice(crate::protocol::SERVER_NAME, &format!("{from} is now known as {to}."));
                });
                if chat.me.with_untracked(|me| me.as_ref().is_some_and(|me| me.id == user_id)) {
                    chat.nickname.set(to.clone());
                    chat.me.update(|me| {
                        if let Some(me) = me {
                            me.nickname = to;
                        }
                    });
                }
            }
            ServerFrame::UserJoined { user_id, nickname } => {
                chat.online.update(|online| upsert_online(online, OnlineUser { user_id, nickname, idle: false }));
            }
            ServerFrame::UserLeft { user_id, .. } => {
                chat.online.update(|online| online.retain(|user| user.user_id != user_id))
            }
            ServerFrame::UserIdle { user_id, idle } => chat.online.update(|online| {
                if let Some(user) = online.iter_mut().find(|user| user.user_id == user_id) {
                    user.idle = idle;
                }
            }),
            ServerFrame::Presence { online } => chat.online.set(online),
            ServerFrame::Error { code, message, client_msg_id } => match (client_msg_id, code) {
                (_, ErrorCode::Banned) => chat.banned_by_admin(message),
                (Some(client_msg_id), _) => chat.refused(&client_msg_id, &message),
                (None, ErrorCode::InvalidNickname | ErrorCode::NicknameTaken) => {
                    chat.nickname_error.set(Some(message));
                }
                (None, _) => chat.alert.set(Some(message)),
            },
        }
        Ok(())
    }

    async fn on_command(&mut self, command: Command, sink: &mut Sink) -> Result<(), ()> {
        match command {
            // Before the welcome, the welcome's outbox pass sends it.
            Command::Send { room_id, client_msg_id, body } if self.welcomed => {
                self.send_message(sink, room_id, client_msg_id, body).await
            }
            Command::Send { .. } => Ok(()),
            Command::SetNickname(nickname) => send(sink, &ClientFrame::Nick { nickname }).await,
            Command::Typing => match self.chat.room_id() {
                Some(room_id) => send(sink, &ClientFrame::Typing { room_id }).await,
                None => Ok(()),
            },
            Command::Read { room_id, last_read_id } => send(sink, &ClientFrame::Read { room_id, last_read_id }).await,
            Command::Retry(client_msg_id) if self.welcomed => {
                let queued =
                    self.chat.queued_to_send().into_iter().find(|queued| queued.client_msg_id == client_msg_id);
                let Some(message) = queued else { return Ok(()) };
                // Refused on this connection already: this time it goes again.
                self.sent.remove(&message.client_msg_id);
                self.send_message(sink, message.room_id, message.client_msg_id, message.body).await
            }
            Command::Retry(_) => Ok(()),
        }
    }

    /// Sends a message unless this connection already did.
    async fn send_message(
        &mut self,
        sink: &mut Sink,
        room_id: i64,
        client_msg_id: String,
        body: String,
    ) -> Result<(), ()> {
        if !self.sent.insert(client_msg_id.clone()) {
            return Ok(());
        }
        send(sink, &ClientFrame::Send { room_id, client_msg_id, body }).await
    }
}

async fn send(sink: &mut Sink, frame: &ClientFrame) -> Result<(), ()> {
    sink.send(Message::Text(frame.to_json())).await.map_err(|_| ())
}

fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

/// Asks the browser for permission to show notifications (call from a click).
pub fn request_notifications(chat: ChatState) {
    notify::request(chat);
}
