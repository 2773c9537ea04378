//! `natter load`: a load generator that speaks Natter's own protocol. It signs up a few accounts,
//! opens many websocket clients in `general` (ramped), makes some of them post at a steady rate, and
//! measures what every client receives: loss, deliveries per second, post-to-ack and
//! post-to-all-received latency, its own CPU time, and (given the server's pid) the server's peak
//! memory and CPU time. It targets loopback unless an address is given explicitly, stops by itself,
//! and ends with one JSON line for scripts (`bench/`).
//!
//! For side-by-side runs it also speaks to the peers under `bench/peers/`: `--protocol bare` (the
//! storage-free broadcast baseline, Natter's frames without sign-up or hello) and `--protocol
//! socketio` (a Socket.IO v4 chat, Engine.IO over a websocket). Frames are recognised by a scan of
//! their text rather than parsed, so the tool spends its CPU on sockets, not on JSON.
//!
//! Several nodes of one database (`--target a,b,c`): clients are dealt round-robin over them
//! (senders too, since the first clients send), so every node has readers, and the report adds the
//! post-to-all latency over the readers on other nodes than the sender's. `--server-pid` then takes
//! every node's pid (CPU and memory summed), and `--postgres-pid` the PostgreSQL server's, whose
//! processes' CPU is reported beside the nodes'.
//!
//! `--upload-storage URL` measures something else: storing and reading uploads in a folder (as
//! Natter does: written, synced, renamed) against as `bytea` rows in that PostgreSQL database
//! (bench/cluster.sh, docs/benchmarks.md).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Which server the tool is talking to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Natter: sign-up, a session cookie, `hello`, then `send` frames in `general`.
    #[default]
    Natter,
    /// The storage-free broadcast peer (`bench/peers/broadcast.rs`): Natter's `send`, `ack` and
    /// `message` frames on `/`, with no sign-up and no hello.
    Bare,
    /// A Socket.IO v4 chat (`bench/peers/socketio/server.js`): "chat message" events with acks.
    Socketio,
}

impl Protocol {
    fn path(self) -> &'static str {
        match self {
            Self::Natter => "/ws",
            Self::Bare => "/",
            Self::Socketio => "/socket.io/?EIO=4&transport=websocket",
        }
    }

    /// Whether `text` from the server means the client has been taken in (Natter's `welcome`;
    /// Engine.IO's `40{...}`, answering the client's `40` namespace join). The bare peer has no
    /// handshake.
    fn admits(self, text: &str) -> bool {
        match self {
            Self::Natter => text.contains(r#""type":"welcome""#),
            Self::Bare => true,
            Self::Socketio => text.starts_with("40"),
        }
    }

    /// What the client says after the server's own opening frame, if anything: Engine.IO opens
    /// with `0{...}`, which the client answers by joining the default namespace.
    fn answer_to_open(self, text: &str) -> Option<&'static str> {
        (self == Self::Socketio && text.starts_with('0')).then_some("40")
    }

    fn classify(self, text: &str) -> Seen {
        match self {
            Self::Natter | Self::Bare => classify_natter(text),
            Self::Socketio => classify_socketio(text),
        }
    }
}

/// What to run; see `natter load --help`.
#[derive(Clone, Debug, clap::Args)]
pub struct LoadArgs {
    /// The server to load, or several nodes of one database separated by commas (clients are dealt
    /// round-robin over them). Without it, the configured address, which must be a loopback one.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT...]", value_delimiter = ',')]
    pub target: Vec<SocketAddr>,
    /// Websocket clients to open, all in `general`.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// How many of them post.
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Messages per second per sender.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Messages a sender may have sent and not yet had acknowledged (0: no limit, the rate alone
    /// decides). With a window and a high rate, senders post as fast as the server acks: the
    /// highest rate one room takes, without an ever-growing queue.
    #[arg(long, default_value_t = 0)]
    pub window: usize,
    /// How long the senders post, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 100)]
    pub bytes: usize,
    /// Accounts the clients share (a person with many tabs): fewer accounts, less presence traffic.
    #[arg(long, default_value_t = 100)]
    pub accounts: usize,
    /// Connections opened per second while ramping up.
    #[arg(long, default_value_t = 2_000)]
    pub ramp: u64,
    /// Raise this process's open-file limit to this many (each client is one socket).
    #[arg(long)]
    pub nofile: Option<u64>,
    /// The server's process id, to report its peak memory and CPU time (Linux /proc); several
    /// nodes' ids separated by commas are summed.
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
    /// The PostgreSQL server's (postmaster's) process id: the CPU time of it and its children (the
    /// backends serving the nodes, the WAL writer, the checkpointer) is reported as the database's.
    #[arg(long)]
    pub postgres_pid: Option<u32>,
    /// Instead of a chat load: time storing and reading uploads in a folder (written, synced and
    /// renamed, as Natter stores them) and as `bytea` rows in this PostgreSQL database.
    #[arg(long, value_name = "POSTGRES_URL")]
    pub upload_storage: Option<String>,
    /// The folder `--upload-storage` writes its files in (by default the system's temp folder).
    #[arg(long, value_name = "DIR")]
    pub upload_dir: Option<PathBuf>,
    /// After the senders stop, how long to wait for the last deliveries, in seconds.
    #[arg(long, default_value_t = 10)]
    pub drain: u64,
    /// Extra clients that connect and then never read again (slow readers the room must not wait for).
    #[arg(long, default_value_t = 0)]
    pub stalled: usize,
    /// The server's protocol: Natter itself, or one of the peers under `bench/peers/`.
    #[arg(long, value_enum, default_value_t = Protocol::Natter)]
    pub protocol: Protocol,
    /// Loopback source addresses to spread the clients over (127.0.0.1, 127.0.0.2, …): one address
    /// has about 28,000 ephemeral ports towards one server port, so 100,000 clients need four or more.
    #[arg(long, default_value_t = 1)]
    pub source_addrs: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0} is not a loopback address: name the target explicitly with --target")]
    NotLoopback(SocketAddr),
    #[error("cannot sign up load accounts at {addr}: {reason}")]
    SignUp { addr: SocketAddr, reason: String },
    #[error("cannot raise the open-file limit: {0}")]
    Nofile(std::io::Error),
    #[error("{0}")]
    Invalid(&'static str),
    #[error("upload storage measurement: {0}")]
    Storage(String),
}

/// What a client made of one frame it received.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// A load message, by its sequence number.
    Delivery(usize),
    /// The server took the sender's message with this sequence number.
    Ack(usize),
    Refusal,
    /// Socket.IO's keep-alive: answer it or be dropped.
    Ping,
    Other,
}

/// Shared counters: written by every client task, read once at the end.
struct Tally {
    started: Instant,
    /// Per message (by sequence number): when it was sent, in µs since `started` (0: not sent).
    sent_at: Vec<AtomicU64>,
    /// Per message: the latest delivery to any client, in µs after sending.
    slowest_delivery: Vec<AtomicU64>,
    /// Per message: the node (target index) its sender talks to.
    sender_node: Vec<AtomicUsize>,
    /// Per message: the latest delivery to a client on another node than the sender's, in µs.
    slowest_elsewhere: Vec<AtomicU64>,
    /// Per message: ack latency in µs (0: no ack).
    ack_after: Vec<AtomicU64>,
    next_seq: AtomicUsize,
    deliveries: AtomicU64,
    /// When the last delivery arrived, in µs since `started`.
    last_delivery: AtomicU64,
    refusals: AtomicU64,
    connected: AtomicUsize,
    failed: AtomicUsize,
}

impl Tally {
    fn micros(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }
}

/// Marks a load message's body, so a client can tell it from anything else said in the room.
const MARK: &str = "load:";

pub async fn run(args: LoadArgs, configured: SocketAddr) -> Result<Value, LoadError> {
    if let Some(url) = &args.upload_storage {
        let dir = args.upload_dir.clone().unwrap_or_else(std::env::temp_dir);
        return upload_storage(url, &dir).await;
    }
    let targets = if !args.target.is_empty() {
        args.target.clone()
    } else if configured.ip().is_loopback() || configured.ip().is_unspecified() {
        vec![SocketAddr::from(([127, 0, 0, 1], configured.port()))]
    } else {
        return Err(LoadError::NotLoopback(configured));
    };
    let nodes = targets.len();
    if args.clients == 0 || args.senders > args.clients || args.accounts == 0 || args.rate <= 0.0 {
        return Err(LoadError::Invalid("need clients ≥ senders, at least one account, and a positive rate"));
    }
    if args.source_addrs == 0 || (args.source_addrs > 1 && !targets.iter().all(|t| t.ip().is_loopback())) {
        return Err(LoadError::Invalid(
            "--source-addrs spreads clients over loopback addresses: 1 or more, loopback only",
        ));
    }
    if let Some(nofile) = args.nofile {
        rlimit::increase_nofile_limit(nofile).map_err(LoadError::Nofile)?;
    }
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
    );
    let accounts = args.accounts.min(args.clients);
    let mut tokens = Vec::with_capacity(accounts);
    for i in 0..accounts {
        tokens.push(match args.protocol {
            // Round-robin too: a session made on one node is good on every node of its database.
            Protocol::Natter => sign_up(targets[i % nodes], &format!("load-{run_id}-{i}")).await?,
            Protocol::Bare | Protocol::Socketio => String::new(),
        });
    }
    let own_before = cpu_seconds(std::process::id());
    let server_rss_before = sum_over(&args.server_pid, |pid| status_kb(pid, "VmRSS:"));

    let capacity = (args.senders as f64 * args.rate * args.seconds as f64).ceil() as usize + args.senders;
    let tally = Arc::new(Tally {
        started: Instant::now(),
        sent_at: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        slowest_delivery: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        sender_node: (0..capacity).map(|_| AtomicUsize::new(0)).collect(),
        slowest_elsewhere: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        ack_after: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        next_seq: AtomicUsize::new(0),
        deliveries: AtomicU64::new(0),
        last_delivery: AtomicU64::new(0),
        refusals: AtomicU64::new(0),
        connected: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
    });

    // Ramp up: open every client, each says hello and waits for its welcome.
    let connect_started = Instant::now();
    let gap = Duration::from_secs_f64(1.0 / args.ramp.max(1) as f64);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Option<Client>>(args.clients);
    for i in 0..args.clients {
        let (token, ready) = (tokens[i % accounts].clone(), ready_tx.clone());
        let (protocol, source) = (args.protocol, source_address(i, args.source_addrs));
        let (node, target) = (i % nodes, targets[i % nodes]);
        tokio::spawn(async move {
            let opened = Client::open(protocol, target, node, source, &token).await;
            let _ = ready.send(opened.map(|client| Client { index: i, ..client })).await;
        });
        tokio::time::sleep(gap).await;
    }
    drop(ready_tx);
    let mut clients: Vec<Client> = Vec::with_capacity(args.clients);
    while let Some(opened) = ready_rx.recv().await {
        match opened {
            Some(client) => {
                tally.connected.fetch_add(1, Ordering::Relaxed);
                clients.push(client);
            }
            None => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    // Held open, never read: their frames pile up in the server until it makes them resync.
    let mut stalled = Vec::with_capacity(args.stalled);
    for i in 0..args.stalled {
        let source = source_address(args.clients + i, args.source_addrs);
        let node = (args.clients + i) % nodes;
        if let Some(client) = Client::open(args.protocol, targets[node], node, source, &tokens[i % accounts]).await {
            stalled.push(client);
        }
    }

    // The server's CPU time from here on is what the messages cost (not sign-ups and connections).
    let server_before = sum_over(&args.server_pid, cpu_seconds);
    let database_before = args.postgres_pid.map(process_tree_cpu);
    let server_rss_connected = sum_over(&args.server_pid, |pid| status_kb(pid, "VmRSS:"));
    let own_connected = cpu_seconds(std::process::id());
    // Every client reads; the first `senders` also post (dealt over the nodes as they were opened,
    // so the senders are spread over the nodes as evenly as the readers).
    clients.sort_by_key(|client| client.index);
    let mut per_node = vec![0usize; nodes];
    for client in &clients {
        per_node[client.node] += 1;
    }
    let stop_sending = tally.micros() + args.seconds * 1_000_000;
    let mut tasks = Vec::with_capacity(clients.len());
    for (index, client) in clients.into_iter().enumerate() {
        let sending = (index < args.senders).then(|| Sending {
            every: Duration::from_secs_f64(1.0 / args.rate),
            window: args.window,
            until: stop_sending,
            bytes: args.bytes,
            run_id: run_id.clone(),
        });
        tasks.push(tokio::spawn(client.drive(args.protocol, Arc::clone(&tally), sending)));
    }

    tokio::time::sleep(Duration::from_micros(stop_sending.saturating_sub(tally.micros()))).await;
    let receivers = tally.connected.load(Ordering::Relaxed) as u64;
    let drain_until = Instant::now() + Duration::from_secs(args.drain);
    let mut sent;
    loop {
        // Read each time: a sender past its last tick may still be sending its last message.
        sent = tally.next_seq.load(Ordering::Relaxed).min(capacity);
        let acked = tally.ack_after[..sent].iter().filter(|a| a.load(Ordering::Relaxed) > 0).count() as u64;
        let settled = acked == sent as u64 && tally.deliveries.load(Ordering::Relaxed) >= acked * receivers;
        if settled || Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Rates are over the time the deliveries really took: from the first send to the last delivery
    // when the server (or this tool) fell behind, never over the sending time alone.
    let send_start = stop_sending.saturating_sub(args.seconds * 1_000_000);
    let busy_until = tally.last_delivery.load(Ordering::Relaxed).max(stop_sending);
    let sending_secs = (busy_until - send_start) as f64 / 1e6;
    for task in tasks {
        task.abort();
    }
    let mut report = tally.report(sent, receivers, connect_secs, sending_secs, &args.server_pid, server_before);
    report["clients"]["stalled"] = json!(stalled.len());
    let delivered = tally.deliveries.load(Ordering::Relaxed);
    if nodes > 1 {
        let elsewhere: Vec<u64> =
            tally.slowest_elsewhere[..sent].iter().map(|d| d.load(Ordering::Relaxed)).filter(|&d| d > 0).collect();
        report["nodes"] = json!({
            "targets": targets.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "clients_per_node": per_node,
            "post_to_all_other_nodes_ms": percentiles(elsewhere),
        });
    }
    if let Some((postmaster, before)) = args.postgres_pid.zip(database_before) {
        let after = process_tree_cpu(postmaster);
        let cpu: f64 = after.iter().map(|(pid, now)| now - before.get(pid).copied().unwrap_or(0.0)).sum();
        let per_delivery = |cpu: f64| (delivered > 0).then(|| round(cpu * 1e6 / delivered as f64));
        let server_cpu = report["server"]["cpu_secs"].as_f64();
        report["database"] = json!({
            "processes": after.len(),
            "cpu_secs": round(cpu),
            "cpu_us_per_delivery": per_delivery(cpu),
            "with_server_cpu_us_per_delivery": server_cpu.and_then(|server| per_delivery(server + cpu)),
        });
    }
    let connections = (tally.connected.load(Ordering::Relaxed) + stalled.len()).max(1) as f64;
    report["server"]["rss_before_connecting_mb"] = json!(server_rss_before.map(|kb| round(kb as f64 / 1024.0)));
    report["server"]["rss_connected_mb"] = json!(server_rss_connected.map(|kb| round(kb as f64 / 1024.0)));
    report["server"]["kb_per_connection"] = json!(server_rss_before
        .zip(server_rss_connected)
        .map(|(before, after)| round(after.saturating_sub(before) as f64 / connections)));
    report["protocol"] = json!(format!("{:?}", args.protocol).to_lowercase());
    let own_now = cpu_seconds(std::process::id());
    let own_messages = own_now.zip(own_connected).map(|(now, then)| now - then);
    report["load_tool"] = json!({
        "cpu_secs": own_now.zip(own_before).map(|(now, then)| round(now - then)),
        "cpu_secs_sending": own_messages.map(round),
        "cpu_us_per_delivery": own_messages.filter(|_| delivered > 0).map(|cpu| round(cpu * 1e6 / delivered as f64)),
    });
    drop(stalled);
    Ok(report)
}

/// What `--upload-storage` stores: (bytes, how many), a photo from a phone's share sheet, a document,
/// a large file near what `limits.max_upload_bytes` allows.
const UPLOAD_SIZES: [(usize, usize); 3] = [(100 * 1024, 200), (5 * 1024 * 1024, 20), (20 * 1024 * 1024, 10)];

/// The chunk size the folder side writes in (what an upload's body arrives in, about).
const UPLOAD_CHUNK: usize = 64 * 1024;

/// Times storing and reading uploads, one at a time, both ways Natter could keep them: in a folder
/// as `uploads.rs` does (write the body in chunks to `<id>.part`, `sync_all`, rename to `<id>`;
/// read the whole file back), and as a `bytea` row in PostgreSQL through tokio-postgres (a
/// prepared `INSERT` with the bytes as a binary parameter, committed with the server's
/// `synchronous_commit`; a prepared `SELECT` by id), with the WAL and table bytes each byte
/// stored costs. The bytes are random (uploads are mostly compressed formats already). Reads
/// follow the writes, so both sides read from memory (the page cache, shared buffers).
async fn upload_storage(url: &str, dir: &std::path::Path) -> Result<Value, LoadError> {
    fn failed(error: impl std::fmt::Display) -> LoadError {
        LoadError::Storage(error.to_string())
    }
    let (db, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.map_err(failed)?;
    let connection = tokio::spawn(connection);
    db.batch_execute(
        "DROP TABLE IF EXISTS upload_probe; CREATE TABLE upload_probe (id BIGINT PRIMARY KEY, bytes BYTEA NOT NULL)",
    )
    .await
    .map_err(failed)?;
    let insert = db.prepare("INSERT INTO upload_probe (id, bytes) VALUES ($1, $2)").await.map_err(failed)?;
    let select = db.prepare("SELECT bytes FROM upload_probe WHERE id = $1").await.map_err(failed)?;
    let wal = || async {
        let row = db.query_one("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint", &[]).await.map_err(failed)?;
        Ok::<i64, LoadError>(row.get(0))
    };
    let table = || async {
        let row = db.query_one("SELECT pg_total_relation_size('upload_probe')", &[]).await.map_err(failed)?;
        Ok::<i64, LoadError>(row.get(0))
    };
    let folder = dir.join(format!("natter-upload-probe-{}", std::process::id()));
    tokio::fs::create_dir_all(&folder).await.map_err(failed)?;
    let mut sizes = Vec::new();
    let mut id: i64 = 0;
    for (size, count) in UPLOAD_SIZES {
        let mut bytes = vec![0u8; size];
        getrandom::fill(&mut bytes).map_err(failed)?;
        let first = id;
        let (mut written, mut read, mut inserted, mut selected) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let timed = |started: Instant| started.elapsed().as_micros() as u64;
        for _ in 0..count {
            id += 1;
            // Each upload differs from the last (nothing could be shared or deduplicated).
            bytes[..8].copy_from_slice(&id.to_le_bytes());
            let started = Instant::now();
            let partial = folder.join(format!("{id}.part"));
            let mut file = tokio::fs::File::create(&partial).await.map_err(failed)?;
            for chunk in bytes.chunks(UPLOAD_CHUNK) {
                tokio::io::AsyncWriteExt::write_all(&mut file, chunk).await.map_err(failed)?;
            }
            file.sync_all().await.map_err(failed)?;
            drop(file);
            tokio::fs::rename(&partial, folder.join(id.to_string())).await.map_err(failed)?;
            written.push(timed(started));
        }
        for n in 1..=count as i64 {
            let started = Instant::now();
            let back = tokio::fs::read(folder.join((first + n).to_string())).await.map_err(failed)?;
            read.push(timed(started));
            if back.len() != size {
                return Err(LoadError::Storage(format!("file {} has {} bytes, not {size}", first + n, back.len())));
            }
        }
        let (wal_before, table_before) = (wal().await?, table().await?);
        for n in 1..=count as i64 {
            bytes[..8].copy_from_slice(&(first + n).to_le_bytes());
            let started = Instant::now();
            db.execute(&insert, &[&(first + n), &bytes.as_slice()]).await.map_err(failed)?;
            inserted.push(timed(started));
        }
        let (wal_after, table_after) = (wal().await?, table().await?);
        for n in 1..=count as i64 {
            let started = Instant::now();
            let row = db.query_one(&select, &[&(first + n)]).await.map_err(failed)?;
            let back: &[u8] = row.get(0);
            selected.push(timed(started));
            if back.len() != size {
                return Err(LoadError::Storage(format!("row {} has {} bytes, not {size}", first + n, back.len())));
            }
        }
        let stored = (size * count) as f64;
        // Megabytes (10^6 bytes) a second, one upload after another.
        let mb_per_s = |micros: &[u64]| round(stored / micros.iter().sum::<u64>().max(1) as f64);
        sizes.push(json!({
            "bytes": size,
            "count": count,
            "folder": {
                "write_mb_per_s": mb_per_s(&written), "write_ms": percentiles(written),
                "read_mb_per_s": mb_per_s(&read), "read_ms": percentiles(read),
            },
            "postgres": {
                "insert_mb_per_s": mb_per_s(&inserted), "insert_ms": percentiles(inserted),
                "select_mb_per_s": mb_per_s(&selected), "select_ms": percentiles(selected),
                "wal_bytes_per_byte": round((wal_after - wal_before) as f64 / stored),
                "table_bytes_per_byte": round((table_after - table_before) as f64 / stored),
            },
        }));
    }
    let table_bytes = table().await?;
    drop(db);
    let _ = connection.await;
    tokio::fs::remove_dir_all(&folder).await.map_err(failed)?;
    Ok(json!({ "upload_storage": sizes, "postgres_table_bytes": table_bytes, "folder": folder.display().to_string() }))
}

/// The loopback address client `index` connects from, when the clients are spread over several.
fn source_address(index: usize, spread: u8) -> Option<IpAddr> {
    (spread > 1).then(|| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (index % usize::from(spread)) as u8)))
}

/// What a sending client posts, and until when.
struct Sending {
    every: Duration,
    /// Unacknowledged messages allowed at once (0: any number).
    window: usize,
    /// In µs on the tally's clock.
    until: u64,
    bytes: usize,
    run_id: String,
}

impl Sending {
    /// The frame for message `seq`: its body starts with the sequence number the readers look for.
    fn frame(&self, protocol: Protocol, seq: usize) -> String {
        let mut body = format!("{MARK}{seq}:");
        while body.len() < self.bytes {
            body.push('x');
        }
        match protocol {
            Protocol::Natter | Protocol::Bare => {
                json!({ "type": "send", "client_msg_id": format!("{}-{seq}", self.run_id), "body": body }).to_string()
            }
            // An event with an acknowledgement id: `42<id>["event",data]`, answered by `43<id>[]`.
            Protocol::Socketio => format!("42{seq}{}", json!(["chat message", body])),
        }
    }
}

impl Tally {
    /// Counts one frame a client received.
    /// Counts one frame a client on node `node` received.
    fn record(&self, seen: &Seen, node: usize) {
        let now = self.micros();
        match *seen {
            Seen::Delivery(seq) => {
                let Some(sent_at) = self.sent_at.get(seq).map(|at| at.load(Ordering::Relaxed)) else { return };
                self.deliveries.fetch_add(1, Ordering::Relaxed);
                self.last_delivery.fetch_max(now, Ordering::Relaxed);
                let after = now.saturating_sub(sent_at).max(1);
                self.slowest_delivery[seq].fetch_max(after, Ordering::Relaxed);
                if self.sender_node[seq].load(Ordering::Relaxed) != node {
                    self.slowest_elsewhere[seq].fetch_max(after, Ordering::Relaxed);
                }
            }
            Seen::Ack(seq) => {
                if let Some(sent_at) = self.sent_at.get(seq).map(|at| at.load(Ordering::Relaxed)) {
                    self.ack_after[seq].store(now.saturating_sub(sent_at).max(1), Ordering::Relaxed);
                }
            }
            Seen::Refusal => {
                self.refusals.fetch_add(1, Ordering::Relaxed);
            }
            Seen::Ping | Seen::Other => {}
        }
    }

    fn report(
        &self,
        sent: usize,
        receivers: u64,
        connect_secs: f64,
        sending_secs: f64,
        server_pids: &[u32],
        server_before: Option<f64>,
    ) -> Value {
        let acks: Vec<u64> =
            self.ack_after[..sent].iter().map(|a| a.load(Ordering::Relaxed)).filter(|&a| a > 0).collect();
        let to_all: Vec<u64> =
            self.slowest_delivery[..sent].iter().map(|d| d.load(Ordering::Relaxed)).filter(|&d| d > 0).collect();
        let acked = acks.len() as u64;
        let expected = acked * receivers;
        let delivered = self.deliveries.load(Ordering::Relaxed);
        let server_cpu = sum_over(server_pids, cpu_seconds).zip(server_before).map(|(after, before)| after - before);
        json!({
            "clients": { "connected": self.connected.load(Ordering::Relaxed), "failed": self.failed.load(Ordering::Relaxed), "connect_secs": round(connect_secs) },
            "messages": { "sent": sent, "acked": acked, "refused": self.refusals.load(Ordering::Relaxed), "per_second": round(acked as f64 / sending_secs) },
            "deliveries": {
                "expected": expected,
                "received": delivered,
                "lost": expected.saturating_sub(delivered),
                "per_second": round(delivered as f64 / sending_secs),
            },
            "post_to_ack_ms": percentiles(acks),
            "post_to_all_received_ms": percentiles(to_all),
            "server": {
                "peak_rss_mb": sum_over(server_pids, |pid| status_kb(pid, "VmHWM:")).map(|kb| round(kb as f64 / 1024.0)),
                "cpu_secs": server_cpu.map(round),
                "cpu_us_per_delivery": server_cpu.filter(|_| delivered > 0).map(|cpu| round(cpu * 1e6 / delivered as f64)),
            },
        })
    }
}

/// The sequence number at the start of `text`, if it is a load message's body.
fn sequence(text: &str) -> Option<usize> {
    let digits = text.strip_prefix(MARK)?;
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Recognises a Natter (or bare peer) frame by its leading type tag, without parsing the JSON.
fn classify_natter(text: &str) -> Seen {
    if text.starts_with(r#"{"type":"message""#) {
        let Some(at) = text.find(r#""body":""#) else { return Seen::Other };
        return sequence(&text[at + 8..]).map_or(Seen::Other, Seen::Delivery);
    }
    if text.starts_with(r#"{"type":"ack""#) {
        let Some(at) = text.find(r#""client_msg_id":""#) else { return Seen::Other };
        let id = text[at + 17..].split('"').next().unwrap_or_default();
        return id.rsplit('-').next().and_then(|seq| seq.parse().ok()).map_or(Seen::Other, Seen::Ack);
    }
    if text.starts_with(r#"{"type":"error""#) {
        return Seen::Refusal;
    }
    Seen::Other
}

/// Recognises an Engine.IO/Socket.IO packet: `2` ping, `42[...]` event, `43<id>[...]` ack.
fn classify_socketio(text: &str) -> Seen {
    if text == "2" {
        return Seen::Ping;
    }
    if let Some(event) = text.strip_prefix("42[") {
        let Some(at) = event.find(&format!("\"{MARK}")) else { return Seen::Other };
        return sequence(&event[at + 1..]).map_or(Seen::Other, Seen::Delivery);
    }
    if let Some(ack) = text.strip_prefix("43") {
        let end = ack.find('[').unwrap_or(ack.len());
        return ack[..end].parse().map_or(Seen::Other, Seen::Ack);
    }
    if text.starts_with("44") {
        return Seen::Refusal;
    }
    Seen::Other
}

fn percentiles(mut micros: Vec<u64>) -> Value {
    if micros.is_empty() {
        return Value::Null;
    }
    micros.sort_unstable();
    let at = |p: f64| round(micros[((micros.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0);
    json!({ "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0) })
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// User plus system CPU seconds of a process, from /proc (Linux).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The sum of a /proc figure over processes: `None` without processes or when one cannot be read.
fn sum_over<T: std::iter::Sum<T>>(pids: &[u32], figure: impl Fn(u32) -> Option<T>) -> Option<T> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&pid| figure(pid)).sum()
}

/// CPU seconds of a process and of each of its children by pid, from /proc (Linux): PostgreSQL's
/// postmaster and the processes it forks (a backend per connection, the WAL writer, …). A child
/// that ends between two readings takes its CPU time with it.
fn process_tree_cpu(parent: u32) -> HashMap<u32, f64> {
    let mut tree = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return tree };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if pid == parent || ppid == Some(parent) {
            if let Some(cpu) = cpu_seconds(pid) {
                tree.insert(pid, cpu);
            }
        }
    }
    tree
}

/// A memory figure of a process in KiB from /proc (Linux): `VmHWM:` is the peak resident size,
/// `VmRSS:` the current one.
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix(field)?.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Signs up an account through the join server function; returns its session token.
async fn sign_up(addr: SocketAddr, nickname: &str) -> Result<String, LoadError> {
    let failed = |reason: String| LoadError::SignUp { addr, reason };
    let form = format!("nickname={nickname}");
    let accept = "Accept: application/json\r\n";
    let response = crate::server::cli::http_post(addr, "/api/join", accept, "application/x-www-form-urlencoded", &form)
        .await
        .map_err(|e| failed(e.to_string()))?;
    response
        .lines()
        .filter_map(|line| line.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie")))
        .find_map(|(_, cookie)| cookie.trim().strip_prefix("natter_session=")?.split(';').next().map(str::to_owned))
        .ok_or_else(|| failed(response.lines().next().unwrap_or("no answer").to_owned()))
}

type Socket = WebSocketStream<TcpStream>;

struct Client {
    socket: Socket,
    /// Which target (node) it is connected to.
    node: usize,
    /// Its place in the order clients were opened in.
    index: usize,
}

impl Client {
    /// Connects, signs in as the protocol wants and waits until the server has taken the client in;
    /// `None` on any failure.
    async fn open(
        protocol: Protocol,
        addr: SocketAddr,
        node: usize,
        source: Option<IpAddr>,
        token: &str,
    ) -> Option<Self> {
        let mut request = format!("ws://{addr}{}", protocol.path()).into_client_request().ok()?;
        if protocol == Protocol::Natter {
            request.headers_mut().insert("cookie", format!("natter_session={token}").parse().ok()?);
        }
        let stream = connect_from(addr, source).await.ok()?;
        // tungstenite allocates (and zero-fills) its read buffer per connection: keep it small, or
        // 100,000 clients would need 12 GB for buffers alone.
        let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
        let (mut socket, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await.ok()?;
        match protocol {
            Protocol::Natter => socket.send(Message::text(r#"{"type":"hello"}"#)).await.ok()?,
            Protocol::Bare => return Some(Self { socket, node, index: 0 }),
            Protocol::Socketio => {}
        }
        let deadline = tokio::time::sleep(Duration::from_secs(30));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => return None,
                frame = socket.next() => match frame? {
                    Ok(Message::Text(text)) if protocol.admits(text.as_str()) => {
                        return Some(Self { socket, node, index: 0 });
                    }
                    Ok(Message::Text(text)) => {
                        if let Some(answer) = protocol.answer_to_open(text.as_str()) {
                            socket.send(Message::text(answer)).await.ok()?;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return None,
                },
            }
        }
    }

    /// Reads every frame until aborted, answering keep-alives, and posts on schedule if `sending`.
    async fn drive(mut self, protocol: Protocol, tally: Arc<Tally>, sending: Option<Sending>) {
        let mut every = tokio::time::interval(sending.as_ref().map_or(Duration::from_secs(3600), |s| s.every));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut posting = sending.is_some();
        let window = sending.as_ref().map_or(0, |s| s.window);
        // Sent by this client and not yet answered (acked or refused).
        let mut unanswered = 0usize;
        loop {
            let open = window == 0 || unanswered < window;
            tokio::select! {
                frame = self.socket.next() => {
                    let Some(Ok(frame)) = frame else { return };
                    let Message::Text(text) = frame else { continue };
                    let seen = protocol.classify(text.as_str());
                    if seen == Seen::Ping && self.socket.send(Message::text("3")).await.is_err() {
                        return;
                    }
                    if matches!(seen, Seen::Ack(_) | Seen::Refusal) {
                        unanswered = unanswered.saturating_sub(1);
                    }
                    tally.record(&seen, self.node);
                }
                _ = every.tick(), if posting && open => {
                    let Some(sending) = &sending else { continue };
                    if tally.micros() >= sending.until {
                        posting = false;
                        continue;
                    }
                    let seq = tally.next_seq.fetch_add(1, Ordering::Relaxed);
                    let Some(sent_at) = tally.sent_at.get(seq) else {
                        posting = false;
                        continue;
                    };
                    let frame = sending.frame(protocol, seq);
                    tally.sender_node[seq].store(self.node, Ordering::Relaxed);
                    sent_at.store(tally.micros().max(1), Ordering::Relaxed);
                    if self.socket.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                    unanswered += 1;
                }
            }
        }
    }
}

/// A TCP connection to `addr`, from a chosen local address when given.
async fn connect_from(addr: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let stream = match source {
        None => TcpStream::connect(addr).await?,
        Some(source) => {
            let socket = if source.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            socket.bind(SocketAddr::new(source, 0))?;
            socket.connect(addr).await?
        }
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatMessage, ClientFrame, ErrorCode, MessageId, Rejection, ServerFrame, UserId};

    #[test]
    fn sequence_numbers_come_back_out_of_bodies() {
        assert_eq!(sequence("load:42:xxxx"), Some(42));
        assert_eq!(sequence("hello"), None);
        assert_eq!(sequence("load:x:"), None);
    }

    #[test]
    fn natter_frames_are_recognised_by_their_type_tag() {
        let message = ServerFrame::Message {
            message: ChatMessage::sample(9).by(UserId(2), "load-1").saying("load:17:xxxx").at(1).client_id("run-17"),
        };
        assert_eq!(classify_natter(&message.to_json()), Seen::Delivery(17));
        let ack = ServerFrame::Ack { client_msg_id: "abc-run-23".into(), id: MessageId(9), sent_at: 1 };
        assert_eq!(classify_natter(&ack.to_json()), Seen::Ack(23));
        let refused = Rejection::new(ErrorCode::RateLimited, "slow down").into_frame(Some("run-3".into()));
        assert_eq!(classify_natter(&refused.to_json()), Seen::Refusal);
        assert_eq!(classify_natter(r#"{"type":"typing","room_id":1}"#), Seen::Other);
    }

    #[test]
    fn the_bare_peer_and_the_tools_frames_agree() {
        let sending = Sending { every: Duration::from_secs(1), window: 0, until: 0, bytes: 20, run_id: "r".into() };
        let frame = sending.frame(Protocol::Bare, 5);
        let decoded = crate::protocol::decode_client_frame(&frame).expect("a valid send frame");
        assert!(matches!(decoded, ClientFrame::Send { ref client_msg_id, ref body, .. }
            if client_msg_id == "r-5" && body.len() == 20 && sequence(body) == Some(5)));
    }

    #[test]
    fn socketio_packets_are_recognised() {
        let sending = Sending { every: Duration::from_secs(1), window: 0, until: 0, bytes: 12, run_id: "r".into() };
        assert_eq!(sending.frame(Protocol::Socketio, 31), r#"4231["chat message","load:31:xxxx"]"#);
        assert_eq!(classify_socketio(r#"42["chat message","load:31:xxxx"]"#), Seen::Delivery(31));
        assert_eq!(classify_socketio("4331[]"), Seen::Ack(31));
        assert_eq!(classify_socketio("2"), Seen::Ping);
        assert_eq!(classify_socketio(r#"40{"sid":"x"}"#), Seen::Other);
    }

    #[test]
    fn clients_spread_over_loopback_addresses_only_when_asked() {
        assert_eq!(source_address(5, 1), None);
        assert_eq!(source_address(5, 4), Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
    }

    #[test]
    fn percentiles_are_read_off_the_sorted_samples_in_milliseconds() {
        let summary = percentiles((1..=100).map(|ms| ms * 1000).collect());
        assert_eq!(summary, json!({ "p50": 51.0, "p90": 90.0, "p99": 99.0, "max": 100.0 }));
        assert_eq!(percentiles(vec![]), Value::Null);
    }
}
