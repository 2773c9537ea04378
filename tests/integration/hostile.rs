//! Abuse through the real interfaces: floods, too many sockets, cross-site requests, oversized
//! bodies, and the security headers every response carries.

use crate::support::{exchange, relaxed_limits, Client, TestServer};
use natter::server::config::Limits;
use serde_json::{json, Value};

async fn start(limits: Limits) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(&dir.path().join("natter.db"), limits).await;
    (dir, server)
}

async fn stored_count(server: &TestServer) -> usize {
    let (status, messages) = server.call("GET", "/api/history?limit=200", None, "").await;
    assert_eq!(status, 200);
    messages.as_array().expect("a list").len()
}

/// Reads frames until every one of `sent` messages got an ack or an error; returns (acks, refusals).
async fn outcomes(client: &mut Client, sent: usize) -> (Vec<Value>, Vec<Value>) {
    let (mut acks, mut refusals) = (Vec::new(), Vec::new());
    while acks.len() + refusals.len() < sent {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("ack") => acks.push(frame),
            Some("error") => refusals.push(frame),
            _ => {}
        }
    }
    (acks, refusals)
}

#[tokio::test]
async fn a_flood_is_refused_beyond_the_limit_and_stores_nothing_extra_while_others_post() {
    // Per-user limits as shipped; the address limit out of the way, since every test client shares one.
    let limits =
        Limits { address_messages_per_second: 1_000_000, address_message_burst: 1_000_000, ..Limits::default() };
    let (burst, rate) = (limits.message_burst as usize, limits.messages_per_second as usize);
    let (_dir, server) = start(limits).await;
    let (mut flooder, _) = server.join("flooder", None).await;
    let (mut bystander, _) = server.join("bystander", None).await;

    let started = std::time::Instant::now();
    for i in 0..1_000 {
        flooder.send_message(&format!("f-{i}"), "spam").await;
    }
    // Someone else is unaffected while the flood is being refused.
    let ack = bystander.post("b-1", "still here").await;
    assert!(ack["id"].as_i64().is_some(), "{ack}");
    let (acks, refusals) = outcomes(&mut flooder, 1_000).await;
    let allowed = burst + (started.elapsed().as_secs_f64() * rate as f64).ceil() as usize;
    assert!(acks.len() >= burst && acks.len() <= allowed, "{} acks, at most {allowed} allowed", acks.len());
    assert!(refusals.iter().all(|r| r["code"] == "rate_limited" && r["client_msg_id"].is_string()), "{refusals:?}");
    assert_eq!(acks.len() + refusals.len(), 1_000);
    assert_eq!(stored_count(&server).await, 200.min(acks.len() + 1), "a row per ack, and bystander's");
    server.stop().await;
}

#[tokio::test]
async fn people_behind_one_address_share_its_message_limit() {
    let limits = Limits { address_message_burst: 10, address_messages_per_second: 1, ..relaxed_limits() };
    let (_dir, server) = start(limits).await;
    let (mut alice, _) = server.join("alice", None).await;
    let (mut bob, _) = server.join("bob", None).await;
    for i in 0..6 {
        alice.send_message(&format!("a-{i}"), "hi").await;
        bob.send_message(&format!("b-{i}"), "hi").await;
    }
    let (alice_acks, alice_refused) = outcomes(&mut alice, 6).await;
    let (bob_acks, bob_refused) = outcomes(&mut bob, 6).await;
    assert_eq!(alice_acks.len() + bob_acks.len(), 10, "the address's burst, shared");
    assert_eq!(alice_refused.len() + bob_refused.len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn typing_floods_are_refused_with_an_error_frame() {
    let limits = Limits { frame_burst: 5, frames_per_second: 1, ..relaxed_limits() };
    let (_dir, server) = start(limits).await;
    let (mut alice, _) = server.join("alice", None).await;
    for _ in 0..8 {
        alice.send(json!({ "type": "typing" })).await;
    }
    let refused = alice.expect("error").await;
    assert_eq!(refused["code"], "rate_limited");
    server.stop().await;
}

#[tokio::test]
async fn sockets_are_capped_per_user_with_429() {
    let limits = Limits { connections_per_user: 2, ..relaxed_limits() };
    let (_dir, server) = start(limits).await;
    let token = server.register("alice").await;
    let first = server.client(&token).await;
    let _second = server.client(&token).await;
    assert_eq!(Client::connect(server.addr, Some(&token), None).await.err(), Some(429));
    // Another user is not affected, and closing a socket frees a place.
    let bob = server.register("bob").await;
    assert!(Client::connect(server.addr, Some(&bob), None).await.is_ok());
    first.close().await;
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(client) = Client::connect(server.addr, Some(&token), None).await {
            reopened = Some(client);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reopened.is_some(), "a place opened up");
    server.stop().await;
}

#[tokio::test]
async fn cross_site_requests_change_nothing() {
    let (_dir, server) = start(relaxed_limits()).await;
    let token = server.register("alice").await;
    let addr = server.addr;
    let form = "name=forged";
    let post = |extra: &str| {
        format!(
            "POST /api/create_room HTTP/1.0\r\nHost: {addr}\r\nCookie: natter_session={token}\r\n{extra}\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        )
    };
    for forged in ["Origin: http://evil.example\r\n", "Sec-Fetch-Site: cross-site\r\n", "Sec-Fetch-Site: same-site\r\n"]
    {
        let refused = exchange(addr, &post(forged)).await;
        assert_eq!(refused.status, 403, "{forged}: {}", refused.body);
        assert_eq!(serde_json::from_str::<Value>(&refused.body).unwrap()["code"], "forbidden");
    }
    let (_, rooms) = server.call("GET", "/api/rooms", None, "").await;
    assert!(!rooms.to_string().contains("forged"), "{rooms}");
    // The same request from our own page goes through.
    let own = exchange(addr, &post(&format!("Origin: http://{addr}\r\nSec-Fetch-Site: same-origin\r\n"))).await;
    assert_eq!(own.status, 200, "{}", own.body);
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let (_dir, server) = start(relaxed_limits()).await;
    let nickname = "x".repeat(100 * 1024);
    let refused = server.try_register(&nickname).await;
    assert_eq!(refused.status, 413, "{}", refused.body);
    let (status, _) = server.call("GET", "/api/online", None, "").await;
    assert_eq!(status, 200, "the server is fine");
    server.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_pages_a_nonce_policy() {
    let (_dir, server) = start(relaxed_limits()).await;
    let addr = server.addr;
    for path in ["/", "/r/general", "/api/online", "/healthz", "/no-such-page", "/favicon.svg"] {
        let response = exchange(addr, &format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")).await;
        let head = response.head.to_ascii_lowercase();
        for header in ["x-content-type-options: nosniff", "referrer-policy: same-origin", "x-frame-options: deny"] {
            assert!(head.contains(header), "{path}: no {header} in\n{head}");
        }
        assert!(head.contains("frame-ancestors 'none'"), "{path}: {head}");
        assert!(!head.contains("unsafe-inline"), "{path}: {head}");
    }
    let page = exchange(addr, &format!("GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n")).await;
    let policy = page
        .head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().starts_with("content-security-policy:").then(|| line.to_owned()))
        .expect("a policy");
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(page.body.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries the nonce");
    let again = exchange(addr, &format!("GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n")).await;
    assert!(!again.head.contains(nonce), "a fresh nonce per page");
    server.stop().await;
}

#[tokio::test]
async fn a_client_writing_an_oversized_message_before_reading_still_learns_why_it_was_closed() {
    let (_dir, server) = start(relaxed_limits()).await;
    let (mut bot, _) = server.join("chatty-bot", None).await;
    // A simple bot: writes all 2 MiB (over the 1 MiB limit) in small pieces, and only then reads.
    // Without a lingering close the server's early close turns into a reset that loses the close frame.
    bot.write_raw_frame(1, &vec![b'z'; 2 << 20], 16 * 1024).await.expect("the server takes the whole message");
    assert_eq!(bot.closed().await, Some(tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Size));
    server.stop().await;
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let (_dir, server) = start(relaxed_limits()).await;
    let (mut bot, _) = server.join("garbled-bot", None).await;
    bot.write_raw_frame(1, &[b'{', 0xFF, 0xFE, b'}'], 64).await.expect("written");
    let (code, reason) = bot.closed_with_reason().await.expect("a close frame");
    assert_eq!(code, tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Invalid);
    assert!(reason.contains("UTF-8"), "{reason}");
    server.stop().await;
}
