//! Behind a load balancer: the per-address limits count the client that a trusted proxy names in
//! `Forwarded` or `X-Forwarded-For`, and nobody else is believed. Every test client is on loopback;
//! 127.0.0.2 plays the trusted proxy and 127.0.0.3 a stranger that sends the same headers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::support::{exchange_from, relaxed_limits, Client, TestServer};
use natter::server::config::{Limits, Settings};

const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const STRANGER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

async fn start(limits: Limits, trusted_proxies: &[&str]) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        db: dir.path().join("natter.db"),
        trusted_proxies: trusted_proxies.iter().map(|range| range.parse().expect("a range")).collect(),
        limits,
        ..Settings::default()
    };
    (dir, TestServer::start_with_settings(settings).await)
}

/// A socket for the holder of `token`, opened from `from` with one forwarding header.
async fn socket(server: &TestServer, from: IpAddr, token: &str, header: (&'static str, &str)) -> Result<Client, u16> {
    let headers = [("cookie", format!("natter_session={token}")), (header.0, header.1.to_owned())];
    Client::connect_from(Some(from), server.addr, &headers).await
}

/// `POST /api/bot/messages` from `from` with one forwarding header; the status.
async fn post(server: &TestServer, from: IpAddr, token: &str, header: &str, n: u32) -> u16 {
    let body = format!(r#"{{"client_msg_id":"m-{n}","body":"hello {n}"}}"#);
    let request = format!(
        "POST /api/bot/messages HTTP/1.0\r\nHost: {}\r\nCookie: natter_session={token}\r\n{header}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    exchange_from(from, server.addr, &request).await.status
}

#[tokio::test]
async fn sockets_are_capped_per_forwarded_client_behind_a_trusted_proxy_and_per_peer_otherwise() {
    let limits = Limits { connections_per_address: 1, ..relaxed_limits() };
    let (_dir, server) = start(limits, &["127.0.0.2"]).await;
    let token = server.register("alice").await;

    // Through the trusted proxy, two clients: one socket each.
    let _first = socket(&server, PROXY, &token, ("x-forwarded-for", "203.0.113.1")).await.expect("first client");
    let second = ("forwarded", r#"for="[2001:db8::2]:4711";proto=https"#);
    let _second = socket(&server, PROXY, &token, second).await.expect("second client, another address");
    // The first client again is over its cap, whatever it wrote on the left of the list.
    let spoofed = socket(&server, PROXY, &token, ("x-forwarded-for", "198.51.100.7, 203.0.113.1")).await;
    assert_eq!(spoofed.err(), Some(429), "the right-most entry, the one the proxy added, counts");
    let again = socket(&server, PROXY, &token, ("forwarded", "for=198.51.100.7, for=203.0.113.1")).await;
    assert_eq!(again.err(), Some(429));

    // A peer that is not a trusted proxy is one address, whatever its headers claim.
    let _stranger = socket(&server, STRANGER, &token, ("x-forwarded-for", "192.0.2.1")).await.expect("a place");
    let claimed = socket(&server, STRANGER, &token, ("x-forwarded-for", "192.0.2.2")).await;
    assert_eq!(claimed.err(), Some(429), "its headers are ignored");
    server.stop().await;
}

#[tokio::test]
async fn the_message_limit_per_address_counts_forwarded_clients_only_through_a_trusted_proxy() {
    // One message per address, refilled far more slowly than the test runs.
    let limits = Limits { address_message_burst: 1, address_messages_per_second: 0, ..relaxed_limits() };
    let (_dir, server) = start(limits, &["127.0.0.0/31", "127.0.0.2/32"]).await;
    let token = server.register("bot-owner").await;

    assert_eq!(post(&server, PROXY, &token, "X-Forwarded-For: 203.0.113.1", 1).await, 200);
    assert_eq!(post(&server, PROXY, &token, "Forwarded: for=203.0.113.2", 2).await, 200, "another client");
    assert_eq!(post(&server, PROXY, &token, "X-Forwarded-For: 203.0.113.1", 3).await, 429, "the first again");
    // 127.0.0.3 is in neither range: its claims are ignored and it has one message like anyone.
    assert_eq!(post(&server, STRANGER, &token, "X-Forwarded-For: 192.0.2.1", 4).await, 200);
    assert_eq!(post(&server, STRANGER, &token, "X-Forwarded-For: 192.0.2.2", 5).await, 429);
    server.stop().await;
}

#[tokio::test]
async fn the_secure_cookie_flag_believes_only_trusted_proxies_once_some_are_configured() {
    let join = |from: IpAddr, server: &TestServer, nickname: &str| {
        let form = format!("nickname={nickname}");
        let request = format!(
            "POST /api/join HTTP/1.0\r\nHost: {}\r\nAccept: */*\r\nX-Forwarded-Proto: https\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            server.addr,
            form.len()
        );
        let addr = server.addr;
        async move {
            let response = exchange_from(from, addr, &request).await;
            assert_eq!(response.status, 200, "{}", response.body);
            let cookie = response.head.lines().find(|line| line.to_lowercase().starts_with("set-cookie:"));
            cookie.expect("a session cookie").contains("Secure")
        }
    };
    let (_dir, server) = start(relaxed_limits(), &["127.0.0.2"]).await;
    assert!(join(PROXY, &server, "alice").await, "the proxy says the client came over https");
    assert!(!join(STRANGER, &server, "bob").await, "someone else is not believed");
    server.stop().await;

    // With no proxies configured, the header is believed as it always was.
    let (_dir, server) = start(relaxed_limits(), &[]).await;
    assert!(join(STRANGER, &server, "carol").await);
    server.stop().await;
}
