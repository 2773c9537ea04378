//! `GET /metrics`: Prometheus text that moves as people chat, readable from the server's own
//! machine and never through a proxy.

use std::net::{IpAddr, Ipv4Addr};

use crate::support::{exchange, exchange_from, start, Client, TestServer};

async fn scrape(server: &TestServer) -> String {
    let response = exchange(server.addr, &format!("GET /metrics HTTP/1.0\r\nHost: {}\r\n\r\n", server.addr)).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response.head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"),
        "{}",
        response.head
    );
    response.body
}

/// The value of the sample `series` (a name, with its labels if it has any), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.trim().parse().unwrap_or_else(|_| panic!("{series}: {value:?}")))
}

#[tokio::test]
async fn a_scrape_after_messages_and_errors_finds_the_counters_moved() {
    let (_dir, server) = start().await;
    let before = scrape(&server).await;
    assert_eq!(sample(&before, "natter_messages_committed_total"), 0.0);
    assert!(before.contains("# TYPE natter_notify_lag_seconds histogram"), "registered, though not fed yet");

    let (mut alice, _) = server.join("alice", Some(0)).await;
    let (mut bob, _) = server.join("bob", None).await;
    alice.post("m-1", "hello bob").await;
    assert_eq!(bob.expect("message").await["message"]["body"], "hello bob");
    // The same message again is its original's ack, not a second commit.
    alice.post("m-1", "hello bob").await;
    alice.send_message("m-2", "   ").await;
    assert_eq!(alice.expect("error").await["code"], "empty_message");
    assert_eq!(Client::connect(server.addr, None, None).await.err(), Some(401));
    assert_eq!(server.try_register("al\u{200B}ice").await.status, 400);

    let after = scrape(&server).await;
    assert_eq!(sample(&after, "natter_messages_committed_total"), 1.0, "{after}");
    assert_eq!(sample(&after, "natter_message_commit_seconds_count"), 1.0);
    assert!(sample(&after, "natter_message_commit_seconds_sum") > 0.0);
    assert_eq!(sample(&after, "natter_websocket_connections"), 2.0);
    // Welcomes, history, acks, bob's copy of the message, the error: far more than a handful.
    assert!(sample(&after, "natter_frames_delivered_total") >= 6.0, "{after}");
    assert!(sample(&after, "natter_catch_up_pages_total") >= 1.0, "alice said hello with since");
    assert_eq!(sample(&after, "natter_errors_sent_total{code=\"empty_message\"}"), 1.0, "a socket's error frame");
    assert_eq!(sample(&after, "natter_errors_sent_total{code=\"unauthenticated\"}"), 1.0, "an HTTP refusal");
    assert_eq!(sample(&after, "natter_errors_sent_total{code=\"invalid_nickname\"}"), 1.0, "a server function's");

    alice.close().await;
    bob.close().await;
    for _ in 0..100 {
        if sample(&scrape(&server).await, "natter_websocket_connections") == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(sample(&scrape(&server).await, "natter_websocket_connections"), 0.0, "closed sockets are let go");
    server.stop().await;
}

#[tokio::test]
async fn a_scrape_relayed_by_a_proxy_gets_404_even_from_loopback() {
    let (_dir, server) = start().await;
    let addr = server.addr;
    for header in ["X-Forwarded-For: 203.0.113.9", "Forwarded: for=127.0.0.1"] {
        let request = format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n{header}\r\n\r\n");
        let relayed = exchange_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), addr, &request).await;
        assert_eq!(relayed.status, 404, "{header}");
        assert!(!relayed.body.contains("natter_"), "{}", relayed.body);
    }
    server.stop().await;
}
