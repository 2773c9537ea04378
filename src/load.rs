//! `natter load`: a load generator that speaks Natter's own protocol. It signs up a few accounts,
//! opens many websocket clients in `general` (ramped), makes some of them post at a steady rate, and
//! measures what every client receives: loss, deliveries per second, post-to-ack and
//! post-to-all-received latency, and (given the server's pid) the server's peak memory and CPU time.
//! It targets loopback unless an address is given explicitly, stops by itself, and ends with one
//! JSON line for scripts (`bench/`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// What to run; see `natter load --help`.
#[derive(Clone, Debug, clap::Args)]
pub struct LoadArgs {
    /// The server to load. Without it, the configured address, which must be a loopback one.
    #[arg(long, value_name = "HOST:PORT")]
    pub target: Option<SocketAddr>,
    /// Websocket clients to open, all in `general`.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// How many of them post.
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Messages per second per sender.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
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
    /// The server's process id, to report its peak memory and CPU time (Linux /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// After the senders stop, how long to wait for the last deliveries, in seconds.
    #[arg(long, default_value_t = 10)]
    pub drain: u64,
    /// Extra clients that connect and then never read again (slow readers the room must not wait for).
    #[arg(long, default_value_t = 0)]
    pub stalled: usize,
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
}

/// Shared counters: written by every client task, read once at the end.
struct Tally {
    started: Instant,
    /// Per message (by sequence number): when it was sent, in µs since `started` (0: not sent).
    sent_at: Vec<AtomicU64>,
    /// Per message: the latest delivery to any client, in µs after sending.
    slowest_delivery: Vec<AtomicU64>,
    /// Per message: ack latency in µs (0: no ack).
    ack_after: Vec<AtomicU64>,
    next_seq: AtomicUsize,
    deliveries: AtomicU64,
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
    let target = match args.target {
        Some(target) => target,
        None if configured.ip().is_loopback() || configured.ip().is_unspecified() => {
            SocketAddr::from(([127, 0, 0, 1], configured.port()))
        }
        None => return Err(LoadError::NotLoopback(configured)),
    };
    if args.clients == 0 || args.senders > args.clients || args.accounts == 0 || args.rate <= 0.0 {
        return Err(LoadError::Invalid("need clients ≥ senders, at least one account, and a positive rate"));
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
        tokens.push(sign_up(target, &format!("load-{run_id}-{i}")).await?);
    }

    let capacity = (args.senders as f64 * args.rate * args.seconds as f64).ceil() as usize + args.senders;
    let tally = Arc::new(Tally {
        started: Instant::now(),
        sent_at: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        slowest_delivery: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        ack_after: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        next_seq: AtomicUsize::new(0),
        deliveries: AtomicU64::new(0),
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
        tokio::spawn(async move {
            let _ = ready.send(Client::open(target, &token).await).await;
        });
        tokio::time::sleep(gap).await;
    }
    drop(ready_tx);
    let mut clients = Vec::with_capacity(args.clients);
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
        if let Some(client) = Client::open(target, &tokens[i % accounts]).await {
            stalled.push(client);
        }
    }

    // The server's CPU time from here on is what the messages cost (not sign-ups and connections).
    let server_before = args.server_pid.and_then(cpu_seconds);
    // Every client reads; the first `senders` also post.
    let stop_sending = tally.micros() + args.seconds * 1_000_000;
    let body_pad = args.bytes;
    let mut readers = Vec::new();
    for (index, client) in clients.into_iter().enumerate() {
        let (sink, mut stream) = client.socket.split();
        let tally_for_reader = Arc::clone(&tally);
        let is_sender = index < args.senders;
        // A reader keeps its writing half (so the socket stays whole) unless it lends it to a sender.
        let (mut sink, kept) = if is_sender { (Some(sink), None) } else { (None, Some(sink)) };
        readers.push(tokio::spawn(async move {
            let _kept = kept;
            while let Some(Ok(frame)) = stream.next().await {
                if let Message::Text(text) = frame {
                    tally_for_reader.record(text.as_str());
                }
            }
        }));
        if let Some(mut sink) = sink.take() {
            let tally = Arc::clone(&tally);
            let (rate, run_id) = (args.rate, run_id.clone());
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    if tally.micros() >= stop_sending {
                        break;
                    }
                    let seq = tally.next_seq.fetch_add(1, Ordering::Relaxed);
                    let Some(sent_at) = tally.sent_at.get(seq) else { break };
                    let mut body = format!("{MARK}{seq}:");
                    while body.len() < body_pad {
                        body.push('x');
                    }
                    sent_at.store(tally.micros().max(1), Ordering::Relaxed);
                    let frame = json!({ "type": "send", "client_msg_id": format!("{run_id}-{seq}"), "body": body });
                    if sink.send(Message::text(frame.to_string())).await.is_err() {
                        break;
                    }
                }
                // Keep the socket open (and reading) until the run ends.
                std::future::pending::<()>().await;
            });
        }
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
    let sending_secs = args.seconds as f64;
    for reader in readers {
        reader.abort();
    }
    let mut report = tally.report(sent, receivers, connect_secs, sending_secs, args.server_pid, server_before);
    report["clients"]["stalled"] = json!(stalled.len());
    drop(stalled);
    Ok(report)
}

impl Tally {
    /// Counts one frame a client received.
    fn record(&self, text: &str) {
        let now = self.micros();
        let Ok(frame) = serde_json::from_str::<Value>(text) else { return };
        match frame["type"].as_str() {
            Some("message") => {
                let Some(seq) = frame["message"]["body"].as_str().and_then(sequence) else { return };
                let Some(sent_at) = self.sent_at.get(seq).map(|at| at.load(Ordering::Relaxed)) else { return };
                self.deliveries.fetch_add(1, Ordering::Relaxed);
                self.slowest_delivery[seq].fetch_max(now.saturating_sub(sent_at).max(1), Ordering::Relaxed);
            }
            Some("ack") => {
                let seq = frame["client_msg_id"].as_str().and_then(|id| id.rsplit('-').next()?.parse::<usize>().ok());
                if let Some(seq) = seq.filter(|&seq| seq < self.sent_at.len()) {
                    let sent_at = self.sent_at[seq].load(Ordering::Relaxed);
                    self.ack_after[seq].store(now.saturating_sub(sent_at).max(1), Ordering::Relaxed);
                }
            }
            Some("error") => {
                self.refusals.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    fn report(
        &self,
        sent: usize,
        receivers: u64,
        connect_secs: f64,
        sending_secs: f64,
        server_pid: Option<u32>,
        server_before: Option<f64>,
    ) -> Value {
        let acks: Vec<u64> =
            self.ack_after[..sent].iter().map(|a| a.load(Ordering::Relaxed)).filter(|&a| a > 0).collect();
        let to_all: Vec<u64> =
            self.slowest_delivery[..sent].iter().map(|d| d.load(Ordering::Relaxed)).filter(|&d| d > 0).collect();
        let acked = acks.len() as u64;
        let expected = acked * receivers;
        let delivered = self.deliveries.load(Ordering::Relaxed);
        let server_cpu = server_pid.and_then(cpu_seconds).zip(server_before).map(|(after, before)| after - before);
        json!({
            "clients": { "connected": self.connected.load(Ordering::Relaxed), "failed": self.failed.load(Ordering::Relaxed), "connect_secs": round(connect_secs) },
            "messages": { "sent": sent, "acked": acked, "refused": self.refusals.load(Ordering::Relaxed) },
            "deliveries": {
                "expected": expected,
                "received": delivered,
                "lost": expected.saturating_sub(delivered),
                "per_second": round(delivered as f64 / sending_secs),
            },
            "post_to_ack_ms": percentiles(acks),
            "post_to_all_received_ms": percentiles(to_all),
            "server": {
                "peak_rss_mb": server_pid.and_then(peak_rss_kb).map(|kb| round(kb as f64 / 1024.0)),
                "cpu_secs": server_cpu.map(round),
                "cpu_us_per_delivery": server_cpu.filter(|_| delivered > 0).map(|cpu| round(cpu * 1e6 / delivered as f64)),
            },
        })
    }
}

/// The sequence number in a load message's body.
fn sequence(body: &str) -> Option<usize> {
    body.strip_prefix(MARK)?.split(':').next()?.parse().ok()
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

/// The peak resident memory of a process in KiB (VmHWM), from /proc (Linux).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("VmHWM:")?.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Signs up an account through the join server function; returns its session token.
async fn sign_up(addr: SocketAddr, nickname: &str) -> Result<String, LoadError> {
    let failed = |reason: String| LoadError::SignUp { addr, reason };
    let form = format!("nickname={nickname}");
    let accept = "Accept: application/json\r\n";
    let response = crate::cli::http_post(addr, "/api/join", accept, "application/x-www-form-urlencoded", &form)
        .await
        .map_err(|e| failed(e.to_string()))?;
    response
        .lines()
        .filter_map(|line| line.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie")))
        .find_map(|(_, cookie)| cookie.trim().strip_prefix("natter_session=")?.split(';').next().map(str::to_owned))
        .ok_or_else(|| failed(response.lines().next().unwrap_or("no answer").to_owned()))
}

struct Client {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects with a session, says hello and waits for the welcome; `None` on any failure.
    async fn open(addr: SocketAddr, token: &str) -> Option<Self> {
        let mut request = format!("ws://{addr}/ws").into_client_request().ok()?;
        request.headers_mut().insert("cookie", format!("natter_session={token}").parse().ok()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.ok()?;
        socket.send(Message::text(json!({ "type": "hello" }).to_string())).await.ok()?;
        let deadline = tokio::time::sleep(Duration::from_secs(30));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => return None,
                frame = socket.next() => match frame? {
                    Ok(Message::Text(text)) if text.as_str().contains("\"type\":\"welcome\"") => return Some(Self { socket }),
                    Ok(_) => {}
                    Err(_) => return None,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_come_back_out_of_bodies() {
        assert_eq!(sequence("load:42:xxxx"), Some(42));
        assert_eq!(sequence("hello"), None);
        assert_eq!(sequence("load:x:"), None);
    }

    #[test]
    fn percentiles_are_read_off_the_sorted_samples_in_milliseconds() {
        let summary = percentiles((1..=100).map(|ms| ms * 1000).collect());
        assert_eq!(summary, json!({ "p50": 51.0, "p90": 90.0, "p99": 99.0, "max": 100.0 }));
        assert_eq!(percentiles(vec![]), Value::Null);
    }
}
