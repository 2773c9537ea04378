//! Stopping behind a load balancer: on SIGTERM (`drain_secs` set) /healthz says `draining` while
//! everything else keeps working, then sockets close with 1001 as in any shutdown.

use std::net::SocketAddr;

use crate::support::{relaxed_limits, TestServer};
use natter::server::config::Settings;
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn start(drain_secs: u64) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        db: dir.path().join("natter.db"),
        drain_secs,
        limits: relaxed_limits(),
        ..Settings::default()
    };
    (dir, TestServer::start_with_settings(settings).await)
}

async fn health(server: &TestServer) -> (u16, String) {
    let (status, body) = server.get("/healthz").await;
    let body: Value = serde_json::from_str(&body).expect("JSON");
    (status, body["status"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn during_the_drain_healthz_says_draining_while_sockets_and_pages_work_then_sockets_close_going_away() {
    // Far longer than the test: the second signal is what ends it.
    let (_dir, server) = start(3600).await;
    let (mut alice, _) = server.join("alice", None).await;
    assert_eq!(health(&server).await, (200, "ok".to_owned()));

    server.terminate();
    assert_eq!(health(&server).await, (503, "draining".to_owned()));
    let ack = alice.post("during-drain", "still here").await;
    assert!(ack["id"].as_i64().is_some(), "{ack}");
    let (mut bob, _) = server.join("bob", None).await;
    let heard = bob.post("bob-1", "me too").await;
    assert!(heard["id"].as_i64().is_some(), "a new client can still join and post: {heard}");
    assert_eq!(server.get("/r/general").await.0, 200, "pages are served");
    assert_eq!(health(&server).await.1, "draining");

    // A second SIGTERM: the rest of the hour is skipped and the usual shutdown runs.
    server.terminate();
    assert_eq!(alice.closed().await, Some(CloseCode::Away));
    assert_eq!(bob.closed().await, Some(CloseCode::Away));
    server.stop().await;
}

#[tokio::test]
async fn without_a_drain_sigterm_closes_sockets_going_away_at_once() {
    let (_dir, server) = start(0).await;
    let (mut alice, _) = server.join("alice", None).await;
    server.terminate();
    assert_eq!(alice.closed().await, Some(CloseCode::Away));
    server.stop().await;
}
