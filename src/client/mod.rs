//! The browser's side of the socket, transport only: connect, send what the chat state's reducer
//! (`state::reducer`) says, decode server frames and hand them to it, and reconnect with backoff
//! and jitter. The session cookie identifies the user; the task ends when the session does.

mod notify;
mod upload;

pub use upload::{files_of, send_files};

use std::pin::pin;

use futures::channel::mpsc;
use futures::{stream, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use leptos::prelude::*;

use crate::protocol::{ClientFrame, ServerFrame};
use crate::state::reducer::{Link, Reaction};
use crate::state::{retry_delay_ms, ChatState, Command, SocketState};

/// Starts the socket task for a signed-in page, after hydration.
pub fn start(chat: ChatState) {
    // Read here, after hydration: the server's render had no permission to read, and the first
    // render in the browser had to match it.
    chat.notify_permission.set(notify::permission());
    // Unbounded: commands come from the user's own clicks and keys, few and small, and none may be
    // dropped while the socket is away; they wait here until it is back.
    let (commands, queue) = mpsc::unbounded();
    chat.attach(commands);
    // Before the socket opens: what was written offline (here, or in a tab since closed) shows as
    // pending at once, and the first connection finds it in the outbox to send.
    chat.restore_outbox();
    leptos::task::spawn_local(run(chat, queue));
}

/// What a connection waits for: a frame, the socket's end, or a command from the page, merged into
/// one stream so that one loop serves them one at a time, in order.
enum Event {
    Frame(String),
    Closed,
    Command(Command),
}

async fn run(chat: ChatState, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut failures = 0;
    // One for the page's life: the greeting shows once however often the socket comes back.
    let mut link = Link::default();
    loop {
        chat.connection.set(SocketState::Connecting);
        if let Some(url) = socket_url() {
            if let Ok(socket) = WebSocket::open(&url) {
                let mut session = Session { chat, link: &mut link };
                if session.serve(socket, &mut commands).await.is_break() {
                    return;
                }
                // Only a connection that got its welcome resets the backoff: a server that accepts
                // sockets and drops them at once is still retried ever more slowly.
                if link.welcomed() {
                    failures = 0;
                }
            }
        }
        // Refused or dropped: if the session is gone (signed out elsewhere, expired), stop trying
        // and show the join form again. An error here (the server unreachable) is no answer at
        // all: keep retrying.
        if let Ok(None) = crate::api::get_me().await {
            chat.session_ended();
            return;
        }
        failures += 1;
        wait_before_retry(chat, failures).await;
    }
}

/// Counts down to the next attempt so the user sees when it will happen, in steps of a second so
/// the status line's number changes as the clock does.
async fn wait_before_retry(chat: ChatState, failures: u32) {
    let mut left = retry_delay_ms(failures, js_sys::Math::random());
    while left > 0 {
        chat.connection.set(SocketState::Retrying { seconds: left.div_ceil(1000) });
        let step = left.min(1000);
        gloo_timers::future::TimeoutFuture::new(step).await;
        left -= step;
    }
}

/// One connection's transport: the page's [`Link`] goes from connection to connection.
struct Session<'a> {
    chat: ChatState,
    link: &'a mut Link,
}

type Sink = futures::stream::SplitSink<WebSocket, Message>;

impl Session<'_> {
    /// Runs one connection. `Break` means the page is going away and the task should end.
    async fn serve(
        &mut self,
        socket: WebSocket,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> std::ops::ControlFlow<()> {
        let (mut sink, frames) = socket.split();
        // A read error ends the connection like a close. The end is its own event because the
        // merged stream below never ends by itself: the command queue outlives every connection
        // (commands given while reconnecting wait in it).
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

        let opening = self.chat.connected(self.link);
        // A socket that closes before its hello is out is a dropped connection like any other.
        if send_all(&mut sink, opening).await.is_err() {
            return std::ops::ControlFlow::Continue(());
        }
        while let Some(event) = events.next().await {
            let delivered = match event {
                Event::Frame(text) => self.on_frame(&text, &mut sink).await,
                Event::Command(command) => send_all(&mut sink, self.chat.carry_out(self.link, command)).await,
                Event::Closed => break,
            };
            // A failed write means the socket is gone: reconnect rather than write more into it.
            // A message whose `send` was lost is still in the outbox; the next connection sends it.
            if delivered.is_err() {
                break;
            }
        }
        std::ops::ControlFlow::Continue(())
    }

    /// Decodes a frame, lets the state apply it, and does what it asks.
    async fn on_frame(&mut self, text: &str, sink: &mut Sink) -> Result<(), ()> {
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
            // A frame from a newer server is skipped, not fatal: the rest of the connection still works.
            leptos::logging::warn!("ignoring a frame this page does not understand: {text}");
            return Ok(());
        };
        let Reaction { send, notify, expire_typing_after } = self.chat.apply(self.link, frame, js_sys::Date::now());
        if let Some(notice) = notify {
            notify::show(&notice);
        }
        // A timer, not a wait: the loop must go on reading frames meanwhile.
        if let Some(after) = expire_typing_after {
            let chat = self.chat;
            leptos::prelude::set_timeout(move || chat.expire_typing(js_sys::Date::now()), after);
        }
        send_all(sink, send).await
    }
}

async fn send_all(sink: &mut Sink, frames: Vec<ClientFrame>) -> Result<(), ()> {
    for frame in &frames {
        send(sink, frame).await?;
    }
    Ok(())
}

async fn send(sink: &mut Sink, frame: &ClientFrame) -> Result<(), ()> {
    sink.send(Message::Text(frame.to_json())).await.map_err(|_| ())
}

/// The page's own host, so the session cookie goes along and the server's Origin rule passes; `wss`
/// under https, since browsers refuse a plain socket from a secure page.
fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

/// Asks the browser for permission to show notifications (call from a click).
pub fn request_notifications(chat: ChatState) {
    notify::request(chat);
}
