//! The browser's side of the socket: connect, say hello with the last id seen, resend what was not
//! acknowledged, apply server frames to the chat state, and reconnect with backoff and jitter.

mod storage;

use std::pin::pin;

use futures::channel::mpsc;
use futures::{stream, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use leptos::prelude::*;

use crate::chat::{retry_delay_ms, ChatState, Command, Connection};
use crate::protocol::{validate_nickname, ClientFrame, ErrorCode, ServerFrame};

/// Starts the socket task for this page. Call once, after hydration.
pub fn start(chat: ChatState) {
    if let Some(nickname) = storage::load_nickname() {
        chat.nickname.set(nickname);
    }
    let (commands, queue) = mpsc::unbounded();
    chat.attach(commands);
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
                let mut session = Session { chat, greeted, sent_nickname: None };
                if session.serve(socket, &mut commands).await.is_break() {
                    return;
                }
                if session.greeted {
                    failures = 0;
                }
                greeted = session.greeted;
            }
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
    /// The nickname last sent to the server on this connection.
    sent_nickname: Option<String>,
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

        let nickname = validate_nickname(&self.chat.nickname.get_untracked()).ok();
        let since = Some(self.chat.timeline.with_untracked(|timeline| timeline.last_id()));
        self.sent_nickname = nickname.clone();
        if send(&mut sink, &ClientFrame::Hello { nickname, since }).await.is_err() {
            return std::ops::ControlFlow::Continue(());
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
            ServerFrame::Welcome { from, text, online, .. } => {
                if !self.greeted {
                    chat.timeline.update(|timeline| timeline.add_notice(&from, &text));
                    self.greeted = true;
                }
                if let Some(nickname) = &self.sent_nickname {
                    chat.confirmed_nickname.set(Some(nickname.clone()));
                    storage::save_nickname(nickname);
                }
                chat.online.set(online);
                chat.connection.set(Connection::Connected);
                // Anything not acknowledged before the last disconnect goes again; the server
                // recognises a resend by its client_msg_id and stores it once.
                for (client_msg_id, body) in chat.timeline.with_untracked(|timeline| timeline.unacknowledged()) {
                    send(sink, &ClientFrame::Send { client_msg_id, body }).await?;
                }
            }
            ServerFrame::History { messages, .. } => chat.timeline.update(|timeline| {
                for message in messages {
                    timeline.apply_message(message);
                }
            }),
            ServerFrame::Message { message } => chat.timeline.update(|timeline| timeline.apply_message(message)),
            ServerFrame::Ack { client_msg_id, id, sent_at } => {
                chat.timeline.update(|timeline| timeline.apply_ack(&client_msg_id, id, sent_at));
            }
            ServerFrame::NickOk { nickname } => {
                storage::save_nickname(&nickname);
                chat.nickname_error.set(None);
                chat.confirmed_nickname.set(Some(nickname));
            }
            ServerFrame::UserJoined { nickname } => chat.online.update(|online| {
                if let Err(position) = online.binary_search(&nickname) {
                    online.insert(position, nickname);
                }
            }),
            ServerFrame::UserLeft { nickname } => chat.online.update(|online| online.retain(|name| *name != nickname)),
            ServerFrame::Presence { online } => chat.online.set(online),
            ServerFrame::Error { code, message, client_msg_id } => match (client_msg_id, code) {
                (Some(client_msg_id), _) => chat.timeline.update(|timeline| timeline.fail(&client_msg_id, &message)),
                (None, ErrorCode::InvalidNickname) => {
                    self.sent_nickname = None;
                    chat.confirmed_nickname.set(None);
                    chat.nickname_error.set(Some(message));
                }
                (None, _) => chat.alert.set(Some(message)),
            },
        }
        Ok(())
    }

    async fn on_command(&mut self, command: Command, sink: &mut Sink) -> Result<(), ()> {
        match command {
            Command::Send { nickname, body } => {
                self.ensure_nickname(&nickname, sink).await?;
                let client_msg_id = new_client_msg_id();
                self.chat.timeline.update(|timeline| timeline.add_pending(&nickname, &body, &client_msg_id));
                send(sink, &ClientFrame::Send { client_msg_id, body }).await
            }
            Command::SetNickname(nickname) => self.ensure_nickname(&nickname, sink).await,
            Command::Retry(client_msg_id) => {
                let Some(body) = self.chat.timeline.try_update(|timeline| timeline.retry(&client_msg_id)).flatten()
                else {
                    return Ok(());
                };
                send(sink, &ClientFrame::Send { client_msg_id, body }).await
            }
        }
    }

    /// Frames are handled in order, so a `nick` sent before a `send` applies to it.
    async fn ensure_nickname(&mut self, nickname: &str, sink: &mut Sink) -> Result<(), ()> {
        if self.sent_nickname.as_deref() == Some(nickname) {
            return Ok(());
        }
        self.sent_nickname = Some(nickname.to_owned());
        send(sink, &ClientFrame::Nick { nickname: nickname.to_owned() }).await
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

/// 128 random bits as hex. `crypto.getRandomValues` works on plain-http LAN addresses too, where
/// `crypto.randomUUID` does not exist.
fn new_client_msg_id() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|window| window.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    if bytes == [0; 16] {
        let fallback = (js_sys::Math::random() * 2f64.powi(52)) as u64 ^ js_sys::Date::now() as u64;
        bytes[..8].copy_from_slice(&fallback.to_le_bytes());
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
