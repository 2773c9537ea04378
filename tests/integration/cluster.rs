//! Several Natters on one PostgreSQL database, as behind a load balancer: every node serves every
//! client, every screen on every node sees one order (the database's), and a client that moves to
//! another node resumes with exactly what it missed.

use std::path::PathBuf;

use crate::support::postgres::{new_database, numbers};
use crate::support::{relaxed_limits, Client, TestServer};
use natter::server::config::Settings;

/// `count` nodes on one new database, sharing one data folder (the key file, uploads).
async fn cluster(count: usize) -> (tempfile::TempDir, String, Vec<TestServer>) {
    let url = new_database().await;
    let data = tempfile::tempdir().expect("temp dir");
    let mut nodes = Vec::new();
    for _ in 0..count {
        let settings = Settings {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            db: PathBuf::from(&url),
            data_dir: Some(data.path().to_owned()),
            limits: relaxed_limits(),
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
