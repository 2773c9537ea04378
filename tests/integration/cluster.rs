//! Several Natters on one PostgreSQL database, as behind a load balancer: every node serves every
//! client, every screen on every node sees one order (the database's), and a client that moves to
//! another node resumes with exactly what it missed.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::delivery::{config_without_rate_limits, Natter};
use crate::support::postgres::{new_database, numbers};
use crate::support::{join_at, relaxed_limits, Client, TestServer, PATIENCE};
use natter::server::config::{Limits, Settings};
use natter::server::store::{PRESENCE_EXPIRY, PRESENCE_HEARTBEAT};
use serde_json::{json, Value};

/// `count` nodes on one new database, sharing one data folder (the key file, uploads).
async fn cluster(count: usize) -> (tempfile::TempDir, String, Vec<TestServer>) {
    cluster_with(count, relaxed_limits()).await
}

async fn cluster_with(count: usize, limits: Limits) -> (tempfile::TempDir, String, Vec<TestServer>) {
    let url = new_database().await;
    let data = tempfile::tempdir().expect("temp dir");
    let mut nodes = Vec::new();
    for _ in 0..count {
        let settings = Settings {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            db: PathBuf::from(&url),
            data_dir: Some(data.path().to_owned()),
            limits: limits.clone(),
            ..Settings::default()
        };
        nodes.push(TestServer::start_with_settings(settings).await);
    }
    (data, url, nodes)
}

/// The ids of the next `count` chat messages a client is sent, live or in catch-up pages.
async fn message_ids(client: &mut Client, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    while ids.len() < count {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("message") => ids.push(frame["message"]["id"].as_i64().expect("an id")),
            Some("history") => ids.extend(
                frame["messages"].as_array().expect("messages").iter().map(|m| m["id"].as_i64().expect("an id")),
            ),
            _ => {}
        }
    }
    ids
}

/// Asserts that no further chat message arrives for a short while (presence may: it is not news).
async fn assert_no_more_messages(client: &mut Client) {
    let quiet = tokio::time::sleep(std::time::Duration::from_millis(500));
    tokio::pin!(quiet);
    loop {
        tokio::select! {
            () = &mut quiet => return,
            frame = client.next() => {
                assert!(frame["type"] != "message" && frame["type"] != "history", "told twice: {frame}");
            }
        }
    }
}

#[tokio::test]
async fn fifty_senders_over_three_nodes_and_every_reader_on_every_node_sees_the_databases_order() {
    const SENDERS: usize = 50;
    const EACH: usize = 4;
    let (_data, url, nodes) = cluster(3).await;
    let mut readers = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        readers.push(node.join(&format!("reader{n}"), None).await.0);
    }
    // Each sender signs up on one node and talks through the next: a session is good on every node.
    let mut sessions = Vec::new();
    for s in 0..SENDERS {
        let token = nodes[s % 3].register(&format!("sender{s}")).await;
        sessions.push((nodes[(s + 1) % 3].addr, token));
    }
    let senders: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(s, (addr, token))| {
            tokio::spawn(async move {
                let mut client = Client::connect(addr, Some(&token), None).await.expect("connects");
                client.send(serde_json::json!({ "type": "hello" })).await;
                client.expect("welcome").await;
                let mut acked = Vec::new();
                for m in 0..EACH {
                    acked.push(
                        client.post(&format!("{s}-{m}"), &format!("from sender {s}, {m}")).await["id"]
                            .as_i64()
                            .unwrap(),
                    );
                }
                acked
            })
        })
        .collect();
    let mut acked = Vec::new();
    for sender in senders {
        acked.extend(sender.await.unwrap());
    }
    let in_the_database = numbers(&url, "SELECT id FROM messages ORDER BY id").await;
    assert_eq!(in_the_database.len(), SENDERS * EACH, "every acked message stored once");
    acked.sort_unstable();
    assert_eq!(acked, in_the_database, "each ack names its own stored message");
    for (n, reader) in readers.iter_mut().enumerate() {
        let seen = message_ids(reader, SENDERS * EACH).await;
        assert_eq!(seen, in_the_database, "the reader on node {n} sees the database's order");
        assert_no_more_messages(reader).await;
    }
    // Every node heard the others' commits through notifications, and says how late they came.
    for node in &nodes {
        let (status, metrics) = node.get("/metrics").await;
        assert_eq!(status, 200);
        let heard = metrics
            .lines()
            .find_map(|line| line.strip_prefix("natter_notify_lag_seconds_count "))
            .and_then(|count| count.trim().parse::<u64>().ok());
        assert!(heard.is_some_and(|count| count > 0), "no notification lag recorded:\n{metrics}");
    }
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test]
async fn a_reader_whose_node_stops_mid_stream_resumes_on_another_with_no_gap_and_no_duplicate() {
    const MESSAGES: usize = 120;
    let (_data, url, mut nodes) = cluster(3).await;
    let reader_token = nodes[0].register("reader").await;
    let (mut reader, _) = nodes[0].join_as(&reader_token, None).await;
    let (mut writer, _) = nodes[1].join("writer", None).await;
    let writing = tokio::spawn(async move {
        for m in 0..MESSAGES {
            writer.post(&format!("w-{m}"), &format!("message {m}")).await;
        }
        writer
    });
    let mut seen = message_ids(&mut reader, 30).await;
    // The reader's node goes away under load: its socket is closed, going away.
    nodes.remove(0).stop().await;
    loop {
        let frame = reader.next_or_closed().await;
        match frame {
            Some(frame) if frame["type"] == "message" => seen.push(frame["message"]["id"].as_i64().unwrap()),
            Some(_) => {}
            None => break,
        }
    }
    // It comes back through another node, from the last message it saw.
    let last = *seen.last().unwrap();
    let (mut reader, _) = nodes[1].join_as(&reader_token, Some(last)).await;
    let rest = message_ids(&mut reader, MESSAGES - seen.len()).await;
    seen.extend(rest);
    writing.await.unwrap();
    let in_the_database = numbers(&url, "SELECT id FROM messages ORDER BY id").await;
    assert_eq!(in_the_database.len(), MESSAGES);
    assert_eq!(seen, in_the_database, "no gap, no duplicate, in order");
    assert_no_more_messages(&mut reader).await;
    for node in nodes {
        node.stop().await;
    }
}

/// Who one client sees online: its welcome's list, then every arrival and departure announced.
struct Roster {
    online: BTreeSet<String>,
    arrivals: HashMap<String, usize>,
    departures: HashMap<String, usize>,
}

impl Roster {
    fn from_welcome(welcome: &Value) -> Self {
        let online = welcome["online"].as_array().expect("online").iter();
        let online = online.map(|user| user["nickname"].as_str().expect("a nickname").to_owned()).collect();
        Self { online, arrivals: HashMap::new(), departures: HashMap::new() }
    }

    fn hear(&mut self, frame: &Value) {
        let nickname = || frame["nickname"].as_str().expect("a nickname").to_owned();
        match frame["type"].as_str() {
            Some("user_joined") => {
                self.online.insert(nickname());
                *self.arrivals.entry(nickname()).or_default() += 1;
            }
            Some("user_left") => {
                self.online.remove(&nickname());
                *self.departures.entry(nickname()).or_default() += 1;
            }
            _ => {}
        }
    }

    /// Reads `client`'s frames until it sees exactly `expected` online; the other frames read.
    async fn until(&mut self, client: &mut Client, expected: &[&str], within: Duration) -> Vec<Value> {
        let expected: BTreeSet<String> = expected.iter().map(|name| (*name).to_owned()).collect();
        let mut others = Vec::new();
        let waited = tokio::time::timeout(within, async {
            while self.online != expected {
                let frame = client.next().await;
                self.hear(&frame);
                others.push(frame);
            }
        })
        .await;
        assert!(waited.is_ok(), "saw {:?} online, waiting for {expected:?}", self.online);
        others
    }
}

#[tokio::test]
async fn a_node_that_dies_takes_its_users_offline_everywhere_but_not_those_online_on_another() {
    let (data, url, mut nodes) = cluster(2).await;
    let config = config_without_rate_limits(data.path());
    let mut doomed = Natter::start_on(std::ffi::OsStr::new(&url), data.path(), &config).await;
    let (alice, carol) = (nodes[0].register("alice").await, nodes[0].register("carol").await);
    // Bob watches from node 0; alice is only on the doomed node; carol on it and on node 1.
    let (mut bob, welcome) = nodes[0].join("bob", None).await;
    let mut roster = Roster::from_welcome(&welcome);
    let (mut alice_on_doomed, _) = join_at(doomed.addr, &alice, None).await;
    let (_carol_on_doomed, _) = join_at(doomed.addr, &carol, None).await;
    let (_carol_on_1, _) = nodes[1].join_as(&carol, None).await;
    roster.until(&mut bob, &["alice", "bob", "carol"], PATIENCE).await;
    assert_eq!(roster.arrivals["carol"], 1, "online on two nodes, announced once");

    // Typing on one node reaches the room on another. A signal is a hint and may be lost (say,
    // before a node's `LISTEN` connection is up), so alice keeps typing as a person would.
    let typing = tokio::time::timeout(PATIENCE, async {
        let mut keystrokes = tokio::time::interval(Duration::from_millis(1_600));
        loop {
            tokio::select! {
                _ = keystrokes.tick() => alice_on_doomed.send(json!({ "type": "typing" })).await,
                frame = bob.next() => {
                    roster.hear(&frame);
                    if frame["type"] == "typing" {
                        return frame;
                    }
                }
            }
        }
    })
    .await
    .expect("alice's typing reaches bob's node");
    assert_eq!(typing["nickname"], "alice");

    let killed = Instant::now();
    doomed.sigkill();
    // Nobody said goodbye: the others notice when its heartbeats stop.
    roster.until(&mut bob, &["bob", "carol"], PRESENCE_EXPIRY + PRESENCE_HEARTBEAT * 2 + PATIENCE).await;
    assert!(killed.elapsed() >= PRESENCE_EXPIRY - PRESENCE_HEARTBEAT, "not before its heartbeats expired");
    // Carol's sockets on the dead node went with it, but she is still on node 1: she stays.
    let settle = tokio::time::sleep(PRESENCE_HEARTBEAT * 2);
    tokio::pin!(settle);
    loop {
        tokio::select! {
            () = &mut settle => break,
            frame = bob.next() => roster.hear(&frame),
        }
    }
    assert_eq!(roster.online, BTreeSet::from(["bob".to_owned(), "carol".to_owned()]));
    assert_eq!(roster.departures.get("carol"), None, "carol never looked gone");
    assert_eq!(roster.departures["alice"], 1);
    // A node that stops properly takes its users along at once, without waiting for the expiry.
    let stopping = Instant::now();
    nodes.remove(1).stop().await;
    roster.until(&mut bob, &["bob"], PATIENCE).await;
    assert!(stopping.elapsed() < PRESENCE_EXPIRY, "told, not expired");
}

#[tokio::test]
async fn one_persons_message_budget_is_shared_by_every_node() {
    let limits = Limits { messages_per_second: 0, message_burst: 3, ..relaxed_limits() };
    let (_data, _url, nodes) = cluster_with(2, limits).await;
    let token = nodes[0].register("alice").await;
    let (mut on_0, _) = nodes[0].join_as(&token, None).await;
    let (mut on_1, _) = nodes[1].join_as(&token, None).await;
    for m in 0..3 {
        let ack = on_0.post(&format!("m{m}"), "through node 0").await;
        assert!(ack["id"].as_i64().is_some(), "{ack}");
    }
    // Once node 1 has the three messages, it has counted them too.
    message_ids(&mut on_1, 3).await;
    on_1.send_message("m3", "through node 1").await;
    let refused = on_1.expect("error").await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
}
