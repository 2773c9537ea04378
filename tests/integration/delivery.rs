//! The delivery promises of docs/reliability.md, one test each, end to end: a real server (in-process,
//! or the real binary for the crash test), a real SQLite file, real sockets. Randomness only moves
//! timing (when the network is cut, when the server is killed); each such test prints its seed, which
//! the harness shows when it fails.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::{TestServer, PATIENCE};
use futures::{SinkExt, StreamExt};
use natter::server::config::Limits;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("natter.db");
    (dir, db)
}

/// Every stored message id, oldest first, read from the file itself rather than through the server.
fn stored_ids(db: &Path) -> Vec<i64> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the database");
    let mut ids = conn.prepare("SELECT id FROM messages ORDER BY id").expect("query ids");
    let ids = ids.query_map([], |row| row.get(0)).expect("read ids").collect::<Result<Vec<i64>, _>>();
    ids.expect("ids are integers")
}

/// Every message the server's history API gives, newest page first, keyed by `client_msg_id`.
async fn history_by_client_msg_id(server: &TestServer) -> HashMap<String, Value> {
    let mut stored = HashMap::new();
    let mut before = String::new();
    loop {
        let (status, body) = server.get(&format!("/api/history?limit=200{before}")).await;
        assert_eq!(status, 200, "{body}");
        let page: Vec<Value> = serde_json::from_str(&body).expect("history is a JSON list");
        let Some(oldest) = page.first() else { return stored };
        before = format!("&before={}", oldest["id"]);
        for message in page {
            let client_msg_id = message["client_msg_id"].as_str().expect("client_msg_id").to_owned();
            assert!(stored.insert(client_msg_id, message).is_none(), "a client_msg_id is stored twice");
        }
    }
}

/// xorshift64: enough randomness for cut and kill moments without a new dependency.
struct Rng(u64);

impl Rng {
    /// Seeded from the clock, or from `NATTER_TEST_SEED` to replay a failing run's schedule.
    fn new(test: &str) -> Self {
        let clock = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        let seed = std::env::var("NATTER_TEST_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or(clock);
        eprintln!("{test}: seed {seed} (NATTER_TEST_SEED={seed} replays these timings)");
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.next() % (high - low + 1))
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/ws` as the holder of `token` and says hello. Unlike `crate::support::Client`, a refused or cut
/// connection is an error for the caller to handle, since these tests cut and kill on purpose.
async fn hello(addr: SocketAddr, token: &str, since: Option<i64>) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://{addr}/ws").into_client_request()?;
    request.headers_mut().insert("cookie", format!("natter_session={token}").parse().expect("cookie header"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let mut hello = json!({ "type": "hello" });
    if let Some(since) = since {
        hello["since"] = json!(since);
    }
    socket.send(Message::text(hello.to_string())).await?;
    Ok(socket)
}

/// `hello`, then waits for the welcome: from here on the socket takes every new message.
async fn joined(addr: SocketAddr, token: &str, since: Option<i64>) -> Socket {
    let mut socket = hello(addr, token, since).await.expect("websocket opens");
    loop {
        match next_event(&mut socket).await {
            Event::Frame(frame) if frame["type"] == "welcome" => return socket,
            Event::Frame(_) => {}
            Event::Closed(code) => panic!("closed ({code:?}) before the welcome"),
        }
    }
}

enum Event {
    Frame(Value),
    /// The socket ended: with the server's close code, or none if the connection just died.
    Closed(Option<CloseCode>),
}

async fn next_event(socket: &mut Socket) -> Event {
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await.expect("a frame in time") {
            Some(Ok(Message::Text(text))) => {
                return Event::Frame(serde_json::from_str(text.as_str()).expect("frames are JSON"))
            }
            Some(Ok(Message::Close(frame))) => return Event::Closed(frame.map(|frame| frame.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Event::Closed(None),
        }
    }
}

/// The message ids a frame delivers: one live `message`, or a catch-up or resync `history` page.
fn delivered_ids(frame: &Value) -> Vec<i64> {
    let id = |message: &Value| message["id"].as_i64().expect("a message has an id");
    match frame["type"].as_str() {
        Some("message") => vec![id(&frame["message"])],
        Some("history") => frame["messages"].as_array().expect("a page of messages").iter().map(id).collect(),
        _ => Vec::new(),
    }
}

/// Asserts a socket delivered exactly the stored ids, in order, once each; names the first difference.
fn assert_delivered_exactly(who: &str, delivered: &[i64], stored: &[i64]) {
    if delivered == stored {
        return;
    }
    let at = delivered.iter().zip(stored).position(|(got, want)| got != want);
    let at = at.unwrap_or(delivered.len().min(stored.len()));
    let around = |ids: &[i64]| ids[at.saturating_sub(2)..(at + 3).min(ids.len())].to_vec();
    panic!(
        "{who} delivered {} ids where the database has {}; they part at position {at}: delivered {:?}, stored {:?}",
        delivered.len(),
        stored.len(),
        around(delivered),
        around(stored)
    );
}

/// Whether a reader has delivered the newest message, once the test knows which that is.
fn reached(last: &mut watch::Receiver<Option<i64>>, ids: &[i64]) -> bool {
    matches!((*last.borrow_and_update(), ids.last()), (Some(goal), Some(&seen)) if seen >= goal)
}

/// Reads a socket, live frames and resync pages alike, until it has delivered the message `last`
/// (known once the writers are done). Returns every id in delivery order, without deduplicating, so
/// a duplicate or a reordering shows.
async fn read_until(mut socket: Socket, mut last: watch::Receiver<Option<i64>>) -> Vec<i64> {
    let mut ids = Vec::new();
    while !reached(&mut last, &ids) {
        tokio::select! {
            event = next_event(&mut socket) => match event {
                Event::Frame(frame) => ids.extend(delivered_ids(&frame)),
                Event::Closed(code) => panic!("a reader was closed ({code:?}) after {} messages", ids.len()),
            },
            changed = last.changed() => changed.expect("the test keeps the sender until readers finish"),
        }
    }
    ids
}

/// What a writer got: its acks in order, and its socket's close code if the server closed it.
struct Posted {
    acks: Vec<Value>,
    closed: Option<Option<CloseCode>>,
}

/// Posts up to `count` messages (`{prefix}-{n}`), `batch` at a time: writes a batch, then reads until
/// every message in it is acked, dropping the socket's other traffic so the server never waits on
/// this client. Stops early if the socket closes. Counts acks in `acked` for tests that wait on load.
async fn post_in_batches(
    socket: &mut Socket,
    prefix: &str,
    count: usize,
    batch: usize,
    body: &str,
    acked: &AtomicUsize,
) -> Posted {
    let mut posted = Posted { acks: Vec::new(), closed: None };
    let mut sent = 0;
    while sent < count {
        let size = batch.min(count - sent);
        let mut waiting = 0;
        let mut broken = false;
        for _ in 0..size {
            let frame = json!({ "type": "send", "client_msg_id": format!("{prefix}-{sent}"), "body": body });
            if socket.send(Message::text(frame.to_string())).await.is_err() {
                // The server is going: its close frame may still be waiting to be read.
                broken = true;
                break;
            }
            sent += 1;
            waiting += 1;
        }
        while waiting > 0 || broken {
            match next_event(socket).await {
                Event::Frame(frame) if frame["type"] == "ack" => {
                    posted.acks.push(frame);
                    acked.fetch_add(1, Ordering::Relaxed);
                    waiting -= 1;
                }
                Event::Frame(frame) if frame["type"] == "error" => panic!("{prefix}: a message was refused: {frame}"),
                Event::Frame(_) => {}
                Event::Closed(code) => {
                    posted.closed = Some(code);
                    return posted;
                }
            }
        }
    }
    posted
}

#[tokio::test]
async fn a_message_resent_five_times_across_reconnects_is_stored_once_and_acked_alike() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut bystander, _) = server.join("bystander", None).await;
    let alice = server.register("alice").await;
    let (mut first, _) = server.join_as(&alice, None).await;
    let seen = first.post("before", "seen before the trouble").await["id"].as_i64().expect("id");
    first.close().await;

    let mut acks = Vec::new();
    for attempt in 0..5 {
        // Each time the client believes its message may never have arrived: it reconnects from the
        // last id it saw and sends it again with the same client_msg_id. The echo of a read mark,
        // which follows every frame the send caused, ends what this connection says about it;
        // nothing else is said in between, so a second announcement could not hide behind a newer id.
        let (mut socket, _) = server.join_as(&alice, Some(seen)).await;
        socket.send_message("resent", "said once").await;
        socket.send(json!({ "type": "read", "room_id": 1, "last_read_id": seen })).await;
        let frames = socket.frames_until(|frame| frame["type"] == "read").await;
        let resent_acks: Vec<&Value> = frames.iter().filter(|frame| frame["type"] == "ack").collect();
        assert_eq!(resent_acks.len(), 1, "attempt {attempt}: one ack per send: {frames:?}");
        acks.push(resent_acks[0].clone());
        let id = resent_acks[0]["id"].as_i64().expect("ack id");
        // Live on the first connection, from catch-up on the later ones: once either way.
        let copies = frames.iter().flat_map(delivered_ids).filter(|&delivered| delivered == id).count();
        assert_eq!(copies, 1, "attempt {attempt}: the sender's connection shows the message once: {frames:?}");
        socket.close().await;
    }

    assert!(acks.iter().all(|ack| *ack == acks[0]), "five identical acks (same id and sent_at): {acks:?}");
    let id = acks[0]["id"].as_i64().expect("ack id");
    let (mut last, _) = server.join_as(&alice, None).await;
    last.post("after", "after the resends").await;
    let seen_by_bystander =
        bystander.frames_until(|f| f["type"] == "message" && f["message"]["client_msg_id"] == "after").await;
    let copies = seen_by_bystander.iter().flat_map(delivered_ids).filter(|&delivered| delivered == id).count();
    assert_eq!(copies, 1, "others receive the message once: {seen_by_bystander:?}");

    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the database");
    let (rows, stored_id, sent_at): (i64, i64, i64) = conn
        .query_row("SELECT count(*), min(id), min(sent_at) FROM messages WHERE client_msg_id = 'resent'", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .expect("count the resent message");
    assert_eq!((rows, stored_id, sent_at), (1, id, acks[0]["sent_at"].as_i64().expect("sent_at")), "one row");
    assert_eq!(stored_ids(&db).len(), 3, "before, resent and after");
    server.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_senders_and_every_receiver_sees_exactly_the_database_order() {
    const SENDERS: usize = 50;
    const EACH: usize = 20;
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (last_tx, last) = watch::channel(None);
    let mut receivers = Vec::new();
    for r in 0..3 {
        let socket = joined(server.addr, &server.register(&format!("receiver{r}")).await, None).await;
        receivers.push(tokio::spawn(read_until(socket, last.clone())));
    }
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        senders.push(joined(server.addr, &server.register(&format!("sender{s}")).await, None).await);
    }
    // Everyone is connected before anyone sends, so all fifty really send at once.
    let start = Arc::new(tokio::sync::Barrier::new(SENDERS));
    let acked = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(s, mut socket)| {
            let (start, acked) = (Arc::clone(&start), Arc::clone(&acked));
            tokio::spawn(async move {
                start.wait().await;
                post_in_batches(&mut socket, &format!("s{s}"), EACH, EACH, "in order", &acked).await
            })
        })
        .collect();
    for sender in senders {
        assert_eq!(sender.await.expect("sender").acks.len(), EACH);
    }

    let stored = stored_ids(&db);
    assert_eq!(stored, (1..=(SENDERS * EACH) as i64).collect::<Vec<_>>(), "every message stored once");
    last_tx.send(stored.last().copied()).expect("receivers are listening");
    for (r, receiver) in receivers.into_iter().enumerate() {
        let ids = receiver.await.expect("receiver");
        assert_delivered_exactly(&format!("receiver {r}"), &ids, &stored);
    }
    server.stop().await;
}

/// A TCP proxy in front of the server that cuts every connection through it at once, and refuses
/// new ones until healed: a flaky network.
struct FlakyProxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    cuts: broadcast::Sender<()>,
    accepting: JoinHandle<()>,
}

impl FlakyProxy {
    async fn start(server: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = broadcast::channel(1);
        let accepting = tokio::spawn({
            let (up, cuts) = (Arc::clone(&up), cuts.clone());
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    // Subscribed before looking at `up`, so a cut in between still reaches it.
                    let mut cut = cuts.subscribe();
                    if !up.load(Ordering::SeqCst) {
                        continue; // dropped: the client's handshake fails and it retries
                    }
                    tokio::spawn(async move {
                        let Ok(mut outbound) = TcpStream::connect(server).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut.recv() => {}
                        }
                    });
                }
            }
        });
        Self { addr, up, cuts, accepting }
    }

    /// Drops every connection, mid-frame or not, and refuses new ones until `heal`.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        let _ = self.cuts.send(());
    }

    fn heal(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        let _ = self.cuts.send(());
    }
}

/// How a reader behind the flaky proxy fared.
struct Resumed {
    ids: Vec<i64>,
    /// Welcomes received: connections that got as far as the server.
    sessions: usize,
    /// Messages that came in catch-up pages rather than live.
    caught_up: usize,
}

/// A reader as a client should be written: whenever its connection dies it reconnects (retrying
/// while refused) with `hello {since: last id seen}`, and takes catch-up pages and live messages
/// alike, until it has delivered the message `last`.
async fn resuming_reader(addr: SocketAddr, token: String, mut last: watch::Receiver<Option<i64>>) -> Resumed {
    let mut resumed = Resumed { ids: Vec::new(), sessions: 0, caught_up: 0 };
    loop {
        let since = resumed.ids.last().copied().unwrap_or(0);
        let Ok(mut socket) = hello(addr, &token, Some(since)).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        loop {
            if reached(&mut last, &resumed.ids) {
                return resumed;
            }
            tokio::select! {
                event = next_event(&mut socket) => match event {
                    Event::Frame(frame) => {
                        match frame["type"].as_str() {
                            Some("welcome") => resumed.sessions += 1,
                            Some("history") => resumed.caught_up += delivered_ids(&frame).len(),
                            _ => {}
                        }
                        resumed.ids.extend(delivered_ids(&frame));
                    }
                    Event::Closed(_) => break,
                },
                changed = last.changed() => changed.expect("the test keeps the sender until readers finish"),
            }
        }
    }
}

#[tokio::test]
async fn readers_behind_a_connection_cutting_proxy_end_with_exactly_the_database() {
    const LONG_CUT: Duration = Duration::from_secs(30);
    let mut rng = Rng::new("flaky network");
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let proxy = FlakyProxy::start(server.addr).await;
    let (last_tx, last) = watch::channel(None);
    let mut readers = Vec::new();
    for r in 0..3 {
        let token = server.register(&format!("reader{r}")).await;
        readers.push(tokio::spawn(resuming_reader(proxy.addr, token, last.clone())));
    }
    let writing = Arc::new(AtomicBool::new(true));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (mut writer, _) = server.join(&format!("writer{w}"), None).await;
        let writing = Arc::clone(&writing);
        writers.push(tokio::spawn(async move {
            let mut count = 0;
            while writing.load(Ordering::SeqCst) {
                writer.post(&format!("w{w}-{count}"), "steady").await;
                count += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            count
        }));
    }

    // Short drops, and one as long as a train going through a tunnel: enough missed messages that
    // the readers come back through many catch-up pages.
    let outages = [rng.millis(100, 2_000), rng.millis(100, 2_000), rng.millis(100, 2_000), LONG_CUT];
    for outage in outages {
        tokio::time::sleep(rng.millis(200, 800)).await;
        proxy.cut();
        tokio::time::sleep(outage).await;
        proxy.heal();
    }
    writing.store(false, Ordering::SeqCst);
    let mut posted = 0;
    for writer in writers {
        posted += writer.await.expect("writer");
    }

    let stored = stored_ids(&db);
    assert_eq!(stored.len(), posted, "every acked message is stored");
    last_tx.send(stored.last().copied()).expect("readers are listening");
    let mut caught_up = 0;
    for (r, reader) in readers.into_iter().enumerate() {
        let resumed = tokio::time::timeout(PATIENCE, reader).await.expect("reader catches up in time").expect("reader");
        assert_delivered_exactly(&format!("reader {r}"), &resumed.ids, &stored);
        assert!(resumed.sessions > 1, "reader {r} was cut off and came back");
        eprintln!("reader {r}: {} connections, {} messages from catch-up", resumed.sessions, resumed.caught_up);
        caught_up += resumed.caught_up;
    }
    assert!(caught_up > 0, "some messages were missed while cut off and came back in catch-up pages");
    server.stop().await;
}

#[tokio::test]
async fn a_reader_that_stops_reading_slows_nobody_and_ends_complete() {
    const WRITERS: usize = 4;
    const EACH: usize = 800;
    let (_dir, db) = temp_db();
    let server = TestServer::start_with(&db, Limits { broadcast_buffer: 16, ..crate::support::relaxed_limits() }).await;
    // Connected, then not read until the end. Its connection stalls once the socket buffers are full
    // (Linux lets a send buffer grow to 4 MiB by default, net.ipv4.tcp_wmem), and it drops far behind
    // the 16 frames the hub keeps for it: the writers below post about 10 MB.
    let mut slow = joined(server.addr, &server.register("slow").await, None).await;
    let (last_tx, last) = watch::channel(None);
    let mut readers = Vec::new();
    for r in 0..2 {
        let socket = joined(server.addr, &server.register(&format!("reader{r}")).await, None).await;
        readers.push(tokio::spawn(read_until(socket, last.clone())));
    }
    let body = "x".repeat(3_000);
    let acked = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mut socket = joined(server.addr, &server.register(&format!("writer{w}")).await, None).await;
        let (body, acked) = (body.clone(), Arc::clone(&acked));
        writers.push(tokio::spawn(async move {
            post_in_batches(&mut socket, &format!("w{w}"), EACH, 20, &body, &acked).await.acks.len()
        }));
    }
    // Every writer finishes and every reader gets everything while the slow client still reads
    // nothing: had it held the room back, this would never complete.
    for writer in writers {
        assert_eq!(writer.await.expect("writer"), EACH);
    }
    let stored = stored_ids(&db);
    assert_eq!(stored.len(), WRITERS * EACH);
    last_tx.send(stored.last().copied()).expect("readers are listening");
    for (r, reader) in readers.into_iter().enumerate() {
        let ids = reader.await.expect("reader");
        assert_delivered_exactly(&format!("reader {r}"), &ids, &stored);
    }

    let (mut ids, mut resyncs) = (Vec::new(), 0);
    while ids.last() != stored.last() {
        match next_event(&mut slow).await {
            Event::Frame(frame) => {
                resyncs += usize::from(frame["type"] == "rooms");
                ids.extend(delivered_ids(&frame));
            }
            Event::Closed(code) => panic!("the slow reader was closed ({code:?})"),
        }
    }
    assert_delivered_exactly("the slow reader", &ids, &stored);
    eprintln!("the slow reader was resynced {resyncs} times");
    assert!(resyncs > 0, "the slow reader really fell behind and was resynced from the database");
    server.stop().await;
}

/// Limits with a one-second ping, so a silent peer is reaped within a few seconds.
fn quick_ping() -> Limits {
    Limits { ping_interval_secs: 1, ..crate::support::relaxed_limits() }
}

#[tokio::test]
async fn a_peer_that_answers_no_ping_is_closed_and_leaves() {
    let (_dir, db) = temp_db();
    let server = TestServer::start_with(&db, quick_ping()).await;
    let (mut watcher, _) = server.join("watcher", None).await;
    // Never polled again, so its websocket library answers no ping: a laptop that went to sleep.
    let mut silent = joined(server.addr, &server.register("silent").await, None).await;
    watcher.frames_until(|frame| frame["type"] == "user_joined" && frame["nickname"] == "silent").await;

    watcher.frames_until(|frame| frame["type"] == "user_left" && frame["nickname"] == "silent").await;
    loop {
        match next_event(&mut silent).await {
            Event::Frame(_) => {}
            Event::Closed(code) => {
                assert_eq!(code, Some(CloseCode::Policy), "told why: no answer to ping");
                break;
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_peer_that_takes_no_data_is_closed_even_while_it_keeps_talking() {
    let (_dir, db) = temp_db();
    let server = TestServer::start_with(&db, quick_ping()).await;
    let (mut watcher, _) = server.join("watcher", None).await;
    let stalled = joined(server.addr, &server.register("stalled").await, None).await;
    watcher.frames_until(|frame| frame["type"] == "user_joined" && frame["nickname"] == "stalled").await;
    // It keeps sending heartbeats, so it never looks silent, but reads nothing: once the socket
    // buffers are full the server's write to it waits, and only the write deadline ends that.
    let (mut talking, _not_reading) = stalled.split();
    let heartbeats = tokio::spawn(async move {
        while talking.send(Message::Pong(Default::default())).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let writing = Arc::new(AtomicBool::new(true));
    let mut writers = Vec::new();
    for w in 0..2 {
        let mut socket = joined(server.addr, &server.register(&format!("writer{w}")).await, None).await;
        let writing = Arc::clone(&writing);
        writers.push(tokio::spawn(async move {
            // About 3 MB a round: a few rounds fill the stalled socket's kernel buffers.
            let body = "x".repeat(3_000);
            let acked = AtomicUsize::new(0);
            let mut round = 0;
            while writing.load(Ordering::SeqCst) {
                post_in_batches(&mut socket, &format!("w{w}-r{round}"), 1_000, 50, &body, &acked).await;
                round += 1;
            }
        }));
    }

    let left = watcher.frames_until(|frame| frame["type"] == "user_left" && frame["nickname"] == "stalled");
    // Not PATIENCE: before any write can wait, the writers must fill the kernel's socket buffers
    // (megabytes on loopback), and how long that takes is the machine's speed, not Natter's: under
    // a loaded debug build it passed ten seconds. The promise under test is that the close comes.
    let fill_and_deadline = Duration::from_secs(90);
    tokio::time::timeout(fill_and_deadline, left)
        .await
        .expect("the stalled peer is closed once a write waits too long");
    writing.store(false, Ordering::SeqCst);
    for writer in writers {
        writer.await.expect("writer");
    }
    heartbeats.abort();
    server.stop().await;
}

#[tokio::test]
async fn a_graceful_stop_under_load_keeps_every_acked_message_and_says_going_away() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let mut observers = Vec::new();
    for o in 0..2 {
        let mut socket = joined(server.addr, &server.register(&format!("observer{o}")).await, None).await;
        observers.push(tokio::spawn(async move {
            loop {
                if let Event::Closed(code) = next_event(&mut socket).await {
                    return code;
                }
            }
        }));
    }
    let acked = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut socket = joined(server.addr, &server.register(&format!("writer{w}")).await, None).await;
        let acked = Arc::clone(&acked);
        writers.push(tokio::spawn(async move {
            post_in_batches(&mut socket, &format!("w{w}"), usize::MAX, 16, "until the server stops", &acked).await
        }));
    }
    tokio::time::timeout(PATIENCE, async {
        while acked.load(Ordering::Relaxed) < 200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the writers get going");

    server.stop().await; // as on SIGTERM, with every writer mid-stream
    let mut acks = Vec::new();
    for (w, writer) in writers.into_iter().enumerate() {
        let posted = writer.await.expect("writer");
        assert_eq!(posted.closed, Some(Some(CloseCode::Away)), "writer {w} is told the server is going away");
        acks.extend(posted.acks);
    }
    for (o, observer) in observers.into_iter().enumerate() {
        assert_eq!(observer.await.expect("observer"), Some(CloseCode::Away), "observer {o} too");
    }

    let server = TestServer::start(&db).await;
    let stored = history_by_client_msg_id(&server).await;
    for ack in &acks {
        let message = stored.get(ack["client_msg_id"].as_str().expect("client_msg_id"));
        let message = message.unwrap_or_else(|| panic!("acked but not stored after the restart: {ack}"));
        assert_eq!((&message["id"], &message["sent_at"]), (&ack["id"], &ack["sent_at"]), "stored as acked");
    }
    eprintln!("{} messages acked before the stop, {} stored", acks.len(), stored.len());
    server.stop().await;
}

/// The real `natter` binary serving a database in `dir`. Dropping it kills it with SIGKILL, so a
/// failing test leaves no server behind.
pub(crate) struct Natter {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Natter {
    /// Starts the binary on the SQLite file `natter.db` in `dir` and waits until `/healthz` answers 200.
    async fn start(dir: &Path, config: &Path) -> Self {
        Self::start_on(dir.join("natter.db").as_os_str(), dir, config).await
    }

    /// Starts the binary on the database `db` (a SQLite file or a `postgres://` URL), with `dir` as
    /// its data folder and site root, and waits until `/healthz` answers 200.
    pub(crate) async fn start_on(db: &std::ffi::OsStr, dir: &Path, config: &Path) -> Self {
        // The port is free when chosen but could be taken before natter binds it: then try another.
        for _ in 0..5 {
            let addr = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
            let child = Command::new(env!("CARGO_BIN_EXE_natter"))
                .arg("--addr")
                .arg(addr.to_string())
                .arg("--db")
                .arg(db)
                .arg("--data-dir")
                .arg(dir)
                .arg("--site-root")
                .arg(dir)
                .arg("--config")
                .arg(config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("natter runs");
            // Guarded from here on: a panic below must not leave the server running.
            let mut natter = Self { child, addr };
            let ready = tokio::time::timeout(PATIENCE, async {
                loop {
                    if healthy(addr).await {
                        return true;
                    }
                    if natter.child.try_wait().expect("natter's status").is_some() {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
            .await
            .expect("natter answers /healthz in time");
            if ready {
                return natter;
            }
        }
        panic!("natter exited at start five times");
    }

    pub(crate) fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Natter {
    fn drop(&mut self) {
        self.sigkill();
    }
}

async fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else { return false };
    let request = format!("GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut response = Vec::new();
    stream.write_all(request.as_bytes()).await.is_ok()
        && stream.read_to_end(&mut response).await.is_ok()
        && response.split(|&byte| byte == b' ').nth(1) == Some(b"200")
}

/// One crash-test client, carried across server lifetimes like a browser tab's outbox.
struct Outbox {
    name: String,
    token: String,
    next: usize,
    /// Sent without an ack yet: resent with the same client_msg_id after the restart.
    pending: Vec<String>,
    /// `(client_msg_id, id)` of every ack received.
    acked: Vec<(String, i64)>,
}

impl Outbox {
    /// Signs `nickname` up through `addr`: an empty outbox with its session.
    async fn sign_up(addr: SocketAddr, nickname: &str) -> Self {
        let joined = crate::support::http(addr, "POST", "/api/join", None, &format!("nickname={nickname}")).await;
        assert_eq!(joined.status, 200, "{}", joined.body);
        let token = joined.session_token().expect("join sets the session cookie");
        Self { name: nickname.to_owned(), token, next: 0, pending: Vec::new(), acked: Vec::new() }
    }

    /// An ack arrived: that message is no longer pending.
    fn take_ack(&mut self, frame: &Value) {
        let client_msg_id = frame["client_msg_id"].as_str().expect("client_msg_id").to_owned();
        self.pending.retain(|pending| *pending != client_msg_id);
        self.acked.push((client_msg_id, frame["id"].as_i64().expect("id")));
    }
}

/// A config file in `dir` with the message rate limits out of the way (every client shares one
/// address and sends as fast as it can).
pub(crate) fn config_without_rate_limits(dir: &Path) -> PathBuf {
    let config = dir.join("natter.toml");
    let plenty = 1_000_000;
    std::fs::write(
        &config,
        format!(
            "[limits]\nmessages_per_second = {plenty}\nmessage_burst = {plenty}\n\
             address_messages_per_second = {plenty}\naddress_message_burst = {plenty}\n"
        ),
    )
    .expect("write the config");
    config
}

/// Resends what is pending, then sends 10 new messages every 40 ms (about 250 a second), each batch
/// awaited before the next, until the server dies.
async fn send_until_killed(addr: SocketAddr, mut outbox: Outbox, acked: Arc<AtomicUsize>) -> Outbox {
    let mut socket = match hello(addr, &outbox.token, None).await {
        Ok(socket) => socket,
        // A lost session would be a lost write: refusing the upgrade is a failure, not a crash.
        Err(tungstenite::Error::Http(response)) => panic!("{}: refused with {}", outbox.name, response.status()),
        Err(_) => return outbox,
    };
    let mut pace = tokio::time::interval(Duration::from_millis(40));
    loop {
        pace.tick().await;
        while outbox.pending.len() < 10 {
            outbox.pending.push(format!("{}-{}", outbox.name, outbox.next));
            outbox.next += 1;
        }
        for client_msg_id in &outbox.pending {
            let frame = json!({ "type": "send", "client_msg_id": client_msg_id, "body": client_msg_id });
            if socket.send(Message::text(frame.to_string())).await.is_err() {
                return outbox;
            }
        }
        while !outbox.pending.is_empty() {
            match next_event(&mut socket).await {
                Event::Frame(frame) if frame["type"] == "ack" => {
                    outbox.take_ack(&frame);
                    acked.fetch_add(1, Ordering::Relaxed);
                }
                Event::Frame(frame) if frame["type"] == "error" => panic!("{}: refused: {frame}", outbox.name),
                Event::Frame(_) => {}
                Event::Closed(_) => return outbox,
            }
        }
    }
}

/// Starts `send_until_killed` for each outbox against `addr` and returns once `at_least` messages
/// are acknowledged: the senders, and the count of acks so far (it keeps growing).
async fn load(
    addr: SocketAddr,
    outboxes: impl Iterator<Item = Outbox>,
    at_least: usize,
) -> (Vec<JoinHandle<Outbox>>, Arc<AtomicUsize>) {
    let acked = Arc::new(AtomicUsize::new(0));
    let senders = outboxes.map(|outbox| tokio::spawn(send_until_killed(addr, outbox, Arc::clone(&acked)))).collect();
    tokio::time::timeout(PATIENCE, async {
        while acked.load(Ordering::Relaxed) < at_least {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the senders get going");
    (senders, acked)
}

#[tokio::test]
async fn crash_by_sigkill_under_load_loses_no_acked_message_and_stores_none_twice() {
    const CLIENTS: usize = 4;
    let rounds: usize = std::env::var("NATTER_CRASH_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(3);
    let mut rng = Rng::new("crash");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_without_rate_limits(dir.path());

    let mut outboxes = Vec::new();
    let (mut under_load, mut acked_in_rounds) = (Duration::ZERO, 0);
    for round in 0..rounds {
        let mut natter = Natter::start(dir.path(), &config).await;
        if round == 0 {
            for c in 0..CLIENTS {
                outboxes.push(Outbox::sign_up(natter.addr, &format!("crash{c}")).await);
            }
        }
        let started = Instant::now();
        // Killed at a random moment once the load is flowing.
        let (clients, acked) = load(natter.addr, outboxes.drain(..), 100).await;
        tokio::time::sleep(rng.millis(0, 1_000)).await;
        natter.sigkill();
        under_load += started.elapsed();
        acked_in_rounds += acked.load(Ordering::Relaxed);
        for client in clients {
            outboxes.push(client.await.expect("client"));
        }
    }

    // Read straight from the file the last SIGKILL left behind, as the next start would find it.
    let conn = Connection::open(dir.path().join("natter.db")).expect("open the database");
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).expect("integrity_check");
    assert_eq!(integrity, "ok");
    let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
    let mut rows = conn.prepare("SELECT client_msg_id, id FROM messages").expect("query messages");
    for row in rows.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).expect("read messages") {
        let (client_msg_id, id): (String, i64) = row.expect("a message row");
        stored.entry(client_msg_id).or_default().push(id);
    }
    let acks: Vec<&(String, i64)> = outboxes.iter().flat_map(|outbox| &outbox.acked).collect();
    for (client_msg_id, id) in &acks {
        assert_eq!(stored.get(client_msg_id), Some(&vec![*id]), "{client_msg_id} acked as {id}, stored once as that");
    }
    assert!(stored.values().all(|ids| ids.len() == 1), "no message is stored twice");
    println!(
        "crash test: {rounds} rounds of SIGKILL under load, {} messages acked (about {:.0}/s), all present once, \
         integrity_check ok",
        acks.len(),
        acked_in_rounds as f64 / under_load.as_secs_f64()
    );
}

/// Resends an outbox's unacknowledged messages through `addr` and waits for their acks.
async fn resend_pending(addr: SocketAddr, outbox: &mut Outbox) {
    let mut socket = hello(addr, &outbox.token, None).await.expect("the other node takes the session");
    for client_msg_id in &outbox.pending {
        let frame = json!({ "type": "send", "client_msg_id": client_msg_id, "body": client_msg_id });
        socket.send(Message::text(frame.to_string())).await.expect("send");
    }
    while !outbox.pending.is_empty() {
        match next_event(&mut socket).await {
            Event::Frame(frame) if frame["type"] == "ack" => outbox.take_ack(&frame),
            Event::Frame(frame) if frame["type"] == "error" => panic!("{}: refused: {frame}", outbox.name),
            Event::Frame(_) => {}
            Event::Closed(code) => panic!("{}: closed while resending ({code:?})", outbox.name),
        }
    }
}

/// Message ids a reader is sent, live or in catch-up pages, until `count` or the socket ends.
async fn read_ids(socket: &mut Socket, seen: &mut Vec<i64>, count: usize) {
    while seen.len() < count {
        match next_event(socket).await {
            Event::Frame(frame) if frame["type"] == "message" => {
                seen.push(frame["message"]["id"].as_i64().expect("id"))
            }
            Event::Frame(frame) if frame["type"] == "history" => seen
                .extend(frame["messages"].as_array().expect("messages").iter().map(|m| m["id"].as_i64().expect("id"))),
            Event::Frame(_) => {}
            Event::Closed(_) => return,
        }
    }
}

#[tokio::test]
async fn a_cluster_node_killed_under_load_loses_no_acked_message_and_its_readers_resume_elsewhere() {
    const CLIENTS: usize = 4;
    let url = crate::support::postgres::new_database().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_without_rate_limits(dir.path());
    let db = std::ffi::OsString::from(&url);
    let mut doomed = Natter::start_on(&db, dir.path(), &config).await;
    let other = Natter::start_on(&db, dir.path(), &config).await;
    let mut outboxes = Vec::new();
    for c in 0..CLIENTS {
        outboxes.push(Outbox::sign_up(other.addr, &format!("node{c}")).await);
    }
    // Two readers: one on the node that dies (it resumes on the other), one on the node that lives.
    let reader_token = Outbox::sign_up(other.addr, "reader").await.token;
    let mut moving = joined(doomed.addr, &reader_token, None).await;
    // Read as it arrives: once the node is killed, what was not read yet may be lost with the socket.
    let mover = tokio::spawn(async move {
        let mut seen = Vec::new();
        read_ids(&mut moving, &mut seen, usize::MAX).await;
        seen
    });
    let mut staying = joined(other.addr, &Outbox::sign_up(other.addr, "watcher").await.token, None).await;

    let (senders, _) = load(doomed.addr, outboxes.drain(..), 200).await;
    doomed.sigkill();
    for sender in senders {
        outboxes.push(sender.await.expect("sender"));
    }
    // The senders' browsers resend what was not acknowledged, through the node that lives.
    for outbox in &mut outboxes {
        resend_pending(other.addr, outbox).await;
    }
    let stored = crate::support::postgres::numbers(&url, "SELECT id FROM messages ORDER BY id").await;
    let acks: Vec<&(String, i64)> = outboxes.iter().flat_map(|outbox| &outbox.acked).collect();
    let mut acked_ids: Vec<i64> = acks.iter().map(|(_, id)| *id).collect();
    acked_ids.sort_unstable();
    acked_ids.dedup();
    assert_eq!(acked_ids.len(), acks.len(), "no two acks name one message");
    assert_eq!(acked_ids, stored, "every acked message stored once under its acked id, nothing else");

    // The mover read on the dead node until it died, then resumes on the other from its last id.
    let mut seen_by_mover = mover.await.expect("the mover's reader");
    let mut moved = joined(other.addr, &reader_token, Some(seen_by_mover.last().copied().unwrap_or(0))).await;
    read_ids(&mut moved, &mut seen_by_mover, stored.len()).await;
    assert_eq!(seen_by_mover, stored, "the moved reader: no gap, no duplicate, the database's order");
    let mut seen_by_watcher = Vec::new();
    read_ids(&mut staying, &mut seen_by_watcher, stored.len()).await;
    assert_eq!(seen_by_watcher, stored, "the reader on the living node saw the dead node's messages in order");
    println!("cluster crash: {} messages acked, all stored once, both readers complete", acks.len());
}
