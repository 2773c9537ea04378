//! One websocket connection, from `hello` to close. The handler is generic over the socket's
//! `Sink`/`Stream` halves so tests can drive it with channels; `upgrade` plugs it into axum.
//!
//! Ordering rules that keep delivery exact: the connection subscribes to the hub before it reads the
//! database, and remembers the newest message id it delivered, so a message that arrives both from a
//! catch-up page and live is delivered once, and none committed in between is missed.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use crate::error::AppError;
use crate::protocol::{
    decode_client_frame, Account, ChatMessage, ClientFrame, ErrorCode, MessageId, MessageKind, Rejection, Revision,
    RoomId, ServerFrame, SERVER_NAME,
};
use crate::server::http::auth::{authenticate, Authenticated};
use crate::server::http::forwarded::ClientAddress;
use crate::server::hub::{Batch, Broadcast, ConnectionCaps, RoomChange};
use crate::server::store::{DbError, Sidebar, TypingSignal};
use crate::server::AppState;
use crate::server::{accounts, messages, rooms};

/// Messages per `history` frame during catch-up.
const CATCH_UP_PAGE: u32 = 200;
/// Live batches written before one flush: batching writes saves a syscall per frame under load.
const MAX_BURST: usize = 64;

/// Axum handler for `GET /ws`: only for signed-in users and bots, and only from our own pages.
pub(crate) async fn upgrade(
    socket: crate::server::http::socket::Upgrade,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
) -> Response {
    let Authenticated { account, session } = match authenticate(&state, &headers).await {
        Ok(signed_in) => signed_in,
        Err(refused) => return refused.into_response(),
    };
    let limits = &state.settings.limits;
    let caps = ConnectionCaps { per_user: limits.connections_per_user, per_address: limits.connections_per_address };
    // Registered before the upgrade, so the cap holds however many arrive at once.
    let Some(registration) = state.hub.register(session.clone(), account.id, Some(address), caps) else {
        let too_many = "too many open connections for this user or address; close some tabs";
        return AppError::refused(ErrorCode::RateLimited, too_many).into_response();
    };
    let limit = limits.max_ws_message_bytes;
    let config = WebSocketConfig::default()
        // tungstenite zero-fills its read buffer before every read, and keeps it for the life of the
        // socket: client frames are small, so a small one costs less per wake-up and per connection.
        .read_buffer_size(1024)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    socket.on_upgrade(config, move |socket| async move {
        // Held while the connection lives so shutdown can wait for its close frame.
        let _alive = state.tracker.token();
        let _counted = state.metrics.socket_opened();
        // A sign-out or ban between the check above and this registration found no socket to
        // close: look again now that it would, and end it as that would have (with its close frame).
        if !matches!(state.store.session_account(session).await, Ok(Some(_))) {
            registration.closed.cancel();
        }
        let (sink, stream) = socket.split();
        serve(state, account, Some(address), registration.closed.clone(), sink, stream).await;
    })
}

/// Serves one signed-in connection until the client leaves, the transport fails, its session ends
/// (sign-out or ban: `session_ended`) or the server shuts down.
pub(crate) async fn serve<S, R>(
    state: AppState,
    account: Account,
    address: Option<IpAddr>,
    session_ended: CancellationToken,
    sink: S,
    mut stream: R,
) where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, WsError>> + Unpin,
{
    let write_deadline = Duration::from_secs(state.settings.limits.ping_interval_secs) * 2;
    let write_linger = Duration::from_millis(state.settings.limits.write_linger_ms);
    let mut connection = SocketSession {
        sink,
        state,
        account,
        address,
        session_ended,
        joined: false,
        rooms: HashSet::new(),
        last_delivered: MessageId(0),
        last_change_delivered: Revision(0),
        must_resync: false,
        last_heard: Instant::now(),
        write_deadline,
        write_linger,
    };
    if let Ok(mut live) = connection.start(&mut stream).await {
        let _ = connection.run(&mut stream, &mut live).await;
    }
    if connection.joined {
        connection.state.hub.leave(connection.account.id);
    }
}

/// The connection is over; whatever ended it has been handled.
struct Gone;

/// One client's socket as the server serves it: who it is, what it takes, how far it has been sent.
/// (Not a database connection, nor the page's connection status: those are `rusqlite::Connection`
/// and `state::SocketState`.)
struct SocketSession<S> {
    sink: S,
    state: AppState,
    /// Who speaks on this connection: from the session, never from a frame.
    account: Account,
    /// The client's address, for the per-address message limit.
    address: Option<IpAddr>,
    session_ended: CancellationToken,
    /// Whether this connection counts in presence.
    joined: bool,
    /// The rooms whose traffic this connection takes: its user's rooms, minus archived ones.
    rooms: HashSet<RoomId>,
    /// The newest message id this client has been sent.
    last_delivered: MessageId,
    /// The highest message revision sent to this connection (changes are replayed or live).
    last_change_delivered: Revision,
    /// The hub asked every connection to refill from the database (`StoreEvent::Resync`).
    must_resync: bool,
    last_heard: Instant,
    /// How long one write may wait for the peer to take data: as long as a silent peer may last.
    write_deadline: Duration,
    /// How long a connection woken by live traffic waits for more before writing.
    write_linger: Duration,
}

/// Waits for one write, but not forever. A write waits while the peer takes no data (it stopped
/// reading, or vanished without closing), and while it waits nothing else here runs: not the ping
/// that would reap the peer, not shutdown. So a write the peer has not taken within the deadline
/// ends the connection; a live client reconnects and catches up from its last id.
async fn within<T, E>(deadline: Duration, write: impl std::future::Future<Output = Result<T, E>>) -> Result<T, Gone> {
    match tokio::time::timeout(deadline, write).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(_)) => Err(Gone),
        Err(_) => {
            tracing::warn!(?deadline, "websocket peer took no data in time; closing the connection");
            Err(Gone)
        }
    }
}

impl<S: Sink<Message> + Unpin> SocketSession<S> {
    /// Waits for `hello`, then subscribes, greets and catches the client up.
    async fn start<R>(&mut self, stream: &mut R) -> Result<broadcast::Receiver<Batch>, Gone>
    where
        R: Stream<Item = Result<Message, WsError>> + Unpin,
    {
        let timeout = Duration::from_secs(self.state.settings.limits.hello_timeout_secs);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let (since, changes_since) = loop {
            let incoming = tokio::select! {
                incoming = stream.next() => incoming,
                () = &mut deadline => return Err(self.close(CloseCode::Policy, "no hello frame in time").await),
                () = self.state.shutdown.cancelled() => return Err(self.close(CloseCode::Away, "server shutting down").await),
                () = self.session_ended.cancelled() => return Err(self.session_over().await),
            };
            match self.read(incoming).await? {
                Some(ClientFrame::Hello { since, changes_since }) => break (since, changes_since),
                Some(other) => {
                    let refused = Rejection::new(ErrorCode::HelloRequired, r#"send {"type":"hello"} first"#);
                    self.send(&refused.into_frame(client_msg_id_of(&other))).await?;
                }
                None => {}
            }
        };

        let live = self.state.hub.subscribe();
        self.state.hub.join(self.account.id, &self.account.nickname);
        self.joined = true;
        let sidebar = self.load_rooms().await?;
        let (last_id, last_change) = (sidebar.last_id, sidebar.last_change);
        self.send(&self.welcome(sidebar)).await?;
        match since {
            Some(since) => self.catch_up(since).await?,
            None => self.last_delivered = last_id,
        }
        match changes_since {
            Some(changes_since) => self.catch_up_changes(changes_since).await?,
            None => self.last_change_delivered = last_change,
        }
        Ok(live)
    }

    /// Reads the user's rooms (after subscribing, so no membership change is missed in between).
    async fn load_rooms(&mut self) -> Result<Sidebar, Gone> {
        // Unread counts must include every read mark reported so far.
        rooms::flush_read_marks(&self.state).await;
        match self.state.store.sidebar(self.account.id).await {
            Ok(sidebar) => {
                self.rooms = sidebar.rooms.iter().filter(|room| !room.archived).map(|room| room.id).collect();
                Ok(sidebar)
            }
            Err(error) => {
                let failure = AppError::internal("rooms", &error).into_rejection();
                self.send(&failure.into_frame(None)).await?;
                Err(self.close(CloseCode::Error, "cannot load rooms; reconnect").await)
            }
        }
    }

    fn welcome(&self, Sidebar { rooms, last_id, last_change }: Sidebar) -> ServerFrame {
        let online = self.state.hub.online();
        let company = match online.len().saturating_sub(1) {
            0 => "Nobody else is here yet.".to_owned(),
            1 => "1 other person is here.".to_owned(),
            n => format!("{n} other people are here."),
        };
        let text = format!("Welcome to {SERVER_NAME}, {}! {company}", self.account.nickname);
        ServerFrame::Welcome {
            from: SERVER_NAME.to_owned(),
            text,
            you: self.account.clone(),
            online,
            rooms,
            last_id,
            last_change,
        }
    }

    async fn run<R>(&mut self, stream: &mut R, live: &mut broadcast::Receiver<Batch>) -> Result<(), Gone>
    where
        R: Stream<Item = Result<Message, WsError>> + Unpin,
    {
        let ping_every = Duration::from_secs(self.state.settings.limits.ping_interval_secs);
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        // Waited on across the loop: a fresh `cancelled()` per wake-up would register with (and
        // unregister from) each token's lock on every delivery. Polling a token takes its lock, so
        // each connection waits on a child of the server's token rather than all on the one lock.
        let shutdown = self.state.shutdown.child_token().cancelled_owned();
        let session_ended = self.session_ended.clone().cancelled_owned();
        tokio::pin!(shutdown, session_ended);
        loop {
            tokio::select! {
                () = &mut shutdown => {
                    return Err(self.close(CloseCode::Away, "server shutting down").await);
                }
                () = &mut session_ended => return Err(self.session_over().await),
                incoming = stream.next() => {
                    if let Some(frame) = self.read(incoming).await? {
                        self.handle(frame, live).await?;
                    }
                }
                received = live.recv() => match received {
                    Ok(first) => self.deliver_burst(first, live).await?,
                    Err(RecvError::Lagged(missed)) => self.resync(missed).await?,
                    Err(RecvError::Closed) => return Err(Gone),
                },
                _ = ping.tick() => {
                    // A peer that answered nothing for two intervals is half-open: free its resources.
                    if self.last_heard.elapsed() > ping_every * 2 {
                        return Err(self.close(CloseCode::Policy, "no answer to ping").await);
                    }
                    within(self.write_deadline, self.sink.send(Message::Ping(Default::default()))).await?;
                }
            }
        }
    }

    /// Turns one transport event into a client frame, answering whatever is not one.
    async fn read(&mut self, incoming: Option<Result<Message, WsError>>) -> Result<Option<ClientFrame>, Gone> {
        let message = match incoming {
            None | Some(Ok(Message::Close(_))) => return Err(Gone),
            Some(Err(WsError::Capacity(_))) => return Err(self.close(CloseCode::Size, "message too big").await),
            Some(Err(WsError::Utf8(_))) => {
                return Err(self.close(CloseCode::Invalid, "text frames must be valid UTF-8").await);
            }
            Some(Err(_)) => return Err(Gone),
            Some(Ok(message)) => message,
        };
        self.last_heard = Instant::now();
        match message {
            Message::Text(text) => match decode_client_frame(text.as_str()) {
                Ok(frame) => Ok(Some(frame)),
                Err(refused) => {
                    self.send(&refused.into_frame(None)).await?;
                    Ok(None)
                }
            },
            Message::Binary(_) => {
                let refused = Rejection::new(ErrorCode::MalformedFrame, "frames are JSON text, not binary");
                self.send(&refused.into_frame(None)).await?;
                Ok(None)
            }
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => Ok(None),
        }
    }

    async fn handle(&mut self, frame: ClientFrame, live: &mut broadcast::Receiver<Batch>) -> Result<(), Gone> {
        // Anything the user does (not what the browser does for them, like pings) counts as activity.
        if !matches!(frame, ClientFrame::Hello { .. }) {
            self.state.hub.touch(self.account.id);
        }
        let allowed = match &frame {
            ClientFrame::Send { .. } => self.state.frame_limits.message(self.account.id, self.address),
            ClientFrame::Hello { .. } => Ok(()),
            ClientFrame::Nick { .. } | ClientFrame::Typing { .. } | ClientFrame::Read { .. } => {
                self.state.frame_limits.frame(self.account.id)
            }
        };
        if let Err(refused) = allowed {
            return self.send(&refused.into_frame(client_msg_id_of(&frame))).await;
        }
        match frame {
            ClientFrame::Hello { .. } => {
                let refused = Rejection::new(ErrorCode::InvalidRequest, "hello was already received");
                self.send(&refused.into_frame(None)).await
            }
            ClientFrame::Nick { nickname } => {
                let answer = match accounts::rename(&self.state, &self.account, &nickname).await {
                    Ok(nickname) => {
                        self.account.nickname.clone_from(&nickname);
                        ServerFrame::NickOk { nickname }
                    }
                    Err(refused) => Rejection::from(refused).into_frame(None),
                };
                self.send(&answer).await
            }
            ClientFrame::Typing { room_id } => {
                // The room set may lag a join that committed a moment ago (see `send`): when it
                // does not know the room, the store decides.
                if self.rooms.contains(&room_id) || self.may_post(room_id).await {
                    let (user_id, nickname) = (self.account.id, &self.account.nickname);
                    if self.state.hub.typing(room_id, user_id, nickname) {
                        let signal = TypingSignal { room_id, user_id, nickname: nickname.clone() };
                        self.state.store.share_typing(signal);
                    }
                    Ok(())
                } else {
                    let refused = Rejection::from(rooms::why_not_postable(&self.state, room_id).await);
                    self.send(&refused.into_frame(None)).await
                }
            }
            ClientFrame::Send { room_id, client_msg_id, body } => {
                // Not checked against the room set: a room joined a moment ago (over HTTP, or in
                // another tab) is missing from it until its room_joined frame, queued behind the
                // frame being handled, passes this connection. The store checks membership in the
                // inserting transaction, and says why it refused.
                let posted =
                    messages::post(&self.state, &self.account, room_id, &client_msg_id, &body, MessageKind::Chat).await;
                let answer = match posted {
                    Ok(stored) => {
                        // The store told every message committed up to this one before answering:
                        // pass them on first, so an ack never overtakes the live copy of a message
                        // stored before it (a client may resume from the newest id it has).
                        self.deliver_waiting(live).await?;
                        ServerFrame::Ack { client_msg_id, id: stored.id, sent_at: stored.sent_at }
                    }
                    Err(refused) => Rejection::from(refused).into_frame(Some(client_msg_id)),
                };
                self.send(&answer).await
            }
            ClientFrame::Read { room_id, last_read_id } => {
                // As for typing, the room set may lag a join that committed a moment ago.
                if self.rooms.contains(&room_id) || self.is_member(room_id).await {
                    // Nobody has read past what they were sent.
                    let last_read_id = last_read_id.min(self.last_delivered);
                    rooms::mark_read(&self.state, &self.account, room_id, last_read_id);
                    Ok(())
                } else {
                    let refused = Rejection::new(ErrorCode::NotAMember, "You are not in this room.");
                    self.send(&refused.into_frame(None)).await
                }
            }
        }
    }

    /// Whether the store has this user in `room_id`.
    async fn is_member(&self, room_id: RoomId) -> bool {
        matches!(self.state.store.member_room(room_id, self.account.id).await, Ok(Some(_)))
    }

    /// Whether the store has this user in `room_id`, and the room takes messages.
    async fn may_post(&self, room_id: RoomId) -> bool {
        matches!(self.state.store.member_room(room_id, self.account.id).await, Ok(Some(room)) if !room.archived)
    }

    /// Sends every stored message after `since`, in pages, and moves the delivery mark past them.
    async fn catch_up(&mut self, since: MessageId) -> Result<(), Gone> {
        let mut after = since.max(self.last_delivered);
        loop {
            let read = self.state.store.since(self.account.id, after, CATCH_UP_PAGE).await;
            let page = self.caught_up_or_close("catch-up", read).await?;
            let complete = page.len() < CATCH_UP_PAGE as usize;
            if let Some(last) = page.last() {
                after = last.id;
            }
            self.send(&ServerFrame::History { messages: page, complete }).await?;
            self.state.metrics.catch_up_page();
            if complete {
                self.last_delivered = after;
                return Ok(());
            }
        }
    }

    /// Sends every message in the user's rooms changed after revision `since` (in its current
    /// state), in pages, and moves the change mark past them.
    async fn catch_up_changes(&mut self, since: Revision) -> Result<(), Gone> {
        let mut after = since.max(self.last_change_delivered);
        loop {
            let read = self.state.store.changed_since(self.account.id, after, CATCH_UP_PAGE).await;
            let page = self.caught_up_or_close("catch-up of changes", read).await?;
            let complete = page.len() < CATCH_UP_PAGE as usize;
            for message in page {
                after = message.rev;
                self.send(&ServerFrame::MessageUpdated { message }).await?;
            }
            self.state.metrics.catch_up_page();
            if complete {
                self.last_change_delivered = after;
                return Ok(());
            }
        }
    }

    /// A catch-up page, or (when the store failed) an error frame and the connection closed: the
    /// client reconnects and asks again, rather than carrying on with a gap.
    async fn caught_up_or_close(
        &mut self,
        what: &str,
        read: Result<Vec<ChatMessage>, DbError>,
    ) -> Result<Vec<ChatMessage>, Gone> {
        match read {
            Ok(page) => Ok(page),
            Err(error) => {
                let failure = AppError::internal(what, &error).into_rejection();
                self.send(&failure.into_frame(None)).await?;
                Err(self.close(CloseCode::Error, "catch-up failed; reconnect").await)
            }
        }
    }

    /// This connection fell behind the hub and frames were dropped for it: never skip silently,
    /// refill what it missed from the database and refresh its rooms and presence.
    async fn resync(&mut self, missed: u64) -> Result<(), Gone> {
        tracing::warn!(missed, "slow websocket reader lagged; resyncing it from the database");
        let sidebar = self.load_rooms().await?;
        self.send(&ServerFrame::Rooms { rooms: sidebar.rooms }).await?;
        self.catch_up(self.last_delivered).await?;
        self.catch_up_changes(self.last_change_delivered).await?;
        self.send(&ServerFrame::Presence { online: self.state.hub.online() }).await
    }

    /// Writes one live batch and whatever else is already waiting, then flushes once. One deadline
    /// covers the whole burst: a timer per frame would cost more than writing the frame.
    async fn deliver_burst(&mut self, first: Batch, live: &mut broadcast::Receiver<Batch>) -> Result<(), Gone> {
        // Let what follows within the linger join this write: one wake-up and one syscall for many
        // frames is what keeps a busy room cheap (docs/benchmarks.md).
        if !self.write_linger.is_zero() {
            tokio::time::sleep(self.write_linger).await;
        }
        match within(self.write_deadline, self.write_burst(first, live)).await? {
            Some(missed) => self.resync(missed).await,
            None if std::mem::take(&mut self.must_resync) => self.resync(0).await,
            None => Ok(()),
        }
    }

    /// Writes every live batch already waiting, without lingering for more.
    async fn deliver_waiting(&mut self, live: &mut broadcast::Receiver<Batch>) -> Result<(), Gone> {
        loop {
            match live.try_recv() {
                Ok(first) => {
                    if let Some(missed) = within(self.write_deadline, self.write_burst(first, live)).await? {
                        return self.resync(missed).await;
                    }
                }
                Err(TryRecvError::Lagged(missed)) => return self.resync(missed).await,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if std::mem::take(&mut self.must_resync) {
            return self.resync(0).await;
        }
        Ok(())
    }

    /// Feeds `first` and up to `MAX_BURST` waiting batches, flushes, and says how many batches
    /// were missed if the channel ran past this connection meanwhile.
    async fn write_burst(&mut self, first: Batch, live: &mut broadcast::Receiver<Batch>) -> Result<Option<u64>, Gone> {
        let mut written = self.feed_batch(&first).await?;
        let mut lagged = None;
        for _ in 1..MAX_BURST {
            match live.try_recv() {
                Ok(next) => written += self.feed_batch(&next).await?,
                Err(TryRecvError::Lagged(missed)) => {
                    lagged = Some(missed);
                    break;
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        self.sink.flush().await.map_err(|_| Gone)?;
        // Once per burst, not per frame: every connection shares the one counter.
        self.state.metrics.frames_delivered(written);
        Ok(lagged)
    }

    /// Feeds a batch's frames meant for this connection; how many that was.
    async fn feed_batch(&mut self, batch: &Batch) -> Result<u64, Gone> {
        let mut written = 0;
        for frame in batch.iter() {
            written += u64::from(self.feed(frame).await?);
        }
        Ok(written)
    }

    /// Feeds one live frame if it is meant for this connection and new to it; whether it was.
    async fn feed(&mut self, frame: &Broadcast) -> Result<bool, Gone> {
        if frame.resync {
            // After this burst's flush (`deliver_burst`), so what came before goes out first.
            self.must_resync = true;
            return Ok(false);
        }
        let wanted = frame.is_for(self.account.id, |room| self.rooms.contains(&room));
        match frame.room_change {
            Some(RoomChange::Joined { user_id, room_id }) if user_id == self.account.id => {
                self.rooms.insert(room_id);
            }
            Some(RoomChange::Left { user_id, room_id }) if user_id == self.account.id => {
                self.rooms.remove(&room_id);
            }
            Some(RoomChange::Archived { room_id }) => {
                self.rooms.remove(&room_id);
            }
            _ => {}
        }
        if !wanted {
            return Ok(false);
        }
        // Renamed in another tab: speak under the new name here too.
        if let Some((user_id, nickname)) = &frame.renamed {
            if *user_id == self.account.id {
                self.account.nickname.clone_from(nickname);
            }
        }
        if let Some(id) = frame.message_id {
            if id <= self.last_delivered {
                return Ok(false); // already sent during catch-up
            }
            self.last_delivered = id;
        }
        if let Some(rev) = frame.change_rev {
            if rev <= self.last_change_delivered {
                return Ok(false); // already sent during catch-up
            }
            self.last_change_delivered = rev;
        }
        // Within the burst's deadline (`deliver_burst`).
        self.sink.feed(Message::Text(frame.text.clone())).await.map_err(|_| Gone)?;
        Ok(true)
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Gone> {
        if let ServerFrame::Error { code, .. } = frame {
            self.state.metrics.error_sent(*code);
        }
        let text: Utf8Bytes = frame.to_json().into();
        within(self.write_deadline, self.sink.send(Message::Text(text))).await?;
        self.state.metrics.frames_delivered(1);
        Ok(())
    }

    /// Sends a close frame; the connection is over whether or not the peer still listens.
    /// The session ended (sign-out elsewhere, or a ban). A banned user is told so before the socket
    /// closes: their page would otherwise just fall back to "not joined" with no word why.
    async fn session_over(&mut self) -> Gone {
        if let Ok(None) = self.state.store.user_by_id(self.account.id).await {
            let banned = Rejection::new(ErrorCode::Banned, "An admin has banned you from this server.");
            if self.send(&banned.into_frame(None)).await.is_ok() {
                return self.close(CloseCode::Policy, "banned").await;
            }
            return Gone;
        }
        self.close(CloseCode::Policy, "session ended").await
    }

    async fn close(&mut self, code: CloseCode, reason: &'static str) -> Gone {
        let frame = CloseFrame { code, reason: reason.into() };
        let _ = within(self.write_deadline, self.sink.send(Message::Close(Some(frame)))).await;
        Gone
    }
}

fn client_msg_id_of(frame: &ClientFrame) -> Option<String> {
    match frame {
        ClientFrame::Send { client_msg_id, .. } => Some(client_msg_id.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
