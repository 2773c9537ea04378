//! Pages as browsers get them: every page load answered, with the page policy whose nonce its
//! scripts carry, however many arrive at once and however many visitors give up half way; static
//! files precompressed and cached for good, pages compressed and revalidated.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{TestServer, PATIENCE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Panics anywhere in this test binary (its tests are the only code running in it).
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
}

/// A raw HTTP/1.1 request, as a browser sends it for a page.
fn page_request(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> String {
    let cookie = token.map(|token| format!("Cookie: natter_session={token}\r\n")).unwrap_or_default();
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/html,application/xhtml+xml\r\n{cookie}Connection: close\r\n\r\n"
    )
}

/// What a complete page load must be: answered, HTML, with the page policy, and the nonce in that
/// policy the one every script of the page carries.
fn check_page(path: &str, response: &str) {
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{path}: no response: {response:?}"));
    let head = head.to_lowercase();
    assert!(head.starts_with("http/1.1 200") || head.starts_with("http/1.1 404"), "{path}: {head}");
    let policy = head.lines().find_map(|line| line.strip_prefix("content-security-policy: ")).expect("a policy");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("{path}: the page policy, with a nonce, not {policy}"));
    assert!(body.contains("</html>"), "{path}: the whole page");
    let scripts = body.matches("<script").count();
    assert!(scripts > 0, "{path}: the page has its scripts");
    assert_eq!(body.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{path}: every script has the nonce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_page_load_is_answered_with_its_policy_while_others_are_cancelled() {
    count_panics();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("natter.db")).await;
    let tokens = [server.register("alice").await, server.register("bob").await];
    let (mut poster, _) = server.join("carol", None).await;
    // Someone keeps talking, so pages render a changing room.
    let talking = tokio::spawn(async move {
        for n in 0.. {
            poster.send(serde_json::json!({ "type": "send", "room_id": 1, "client_msg_id": format!("p{n}"), "body": format!("line {n}") })).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let paths = ["/", "/r/general", "/search?q=line", "/no-such-page", "/favicon.svg", "/pkg/missing.js"];
    let answered = Arc::new(AtomicUsize::new(0));
    for round in 0..15 {
        let mut loads = Vec::new();
        for n in 0..40 {
            let path = paths[(round + n) % paths.len()];
            let token = (n % 3 != 0).then(|| tokens[n % 2].clone());
            let request = page_request(server.addr, path, token.as_deref());
            let addr = server.addr;
            let answered = Arc::clone(&answered);
            loads.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                stream.write_all(request.as_bytes()).await.expect("request");
                if n % 2 == 0 {
                    // The visitor navigates away once the status line is in.
                    let mut first = [0u8; 12];
                    let _ = stream.read_exact(&mut first).await;
                    return;
                }
                let mut response = Vec::new();
                tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response))
                    .await
                    .expect("in time")
                    .expect("read");
                let response = String::from_utf8_lossy(&response);
                if path.contains('.') {
                    assert!(response.starts_with("HTTP/1.1 "), "{path}: answered: {response:?}");
                } else {
                    check_page(path, &response);
                }
                answered.fetch_add(1, Ordering::SeqCst);
            }));
        }
        for load in loads {
            load.await.expect("every complete load checked");
        }
    }
    talking.abort();
    assert_eq!(answered.load(Ordering::SeqCst), 15 * 20);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "no panic anywhere in the server");
    server.stop().await;
}

/// A site root with one bundle file, precompressed the way `cargo leptos build --precompress` does.
fn built_site() -> tempfile::TempDir {
    let site = tempfile::tempdir().expect("test set-up");
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).expect("test set-up");
    std::fs::write(pkg.join("natter.AbC123.js"), "console.log('plain');".repeat(50)).expect("test set-up");
    std::fs::write(pkg.join("natter.AbC123.js.br"), b"brotli bytes").expect("test set-up");
    std::fs::write(pkg.join("natter.AbC123.js.gz"), b"gzip bytes").expect("test set-up");
    std::fs::write(site.path().join("favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>").expect("test set-up");
    site
}

async fn get(addr: std::net::SocketAddr, path: &str, accept_encoding: &str) -> (String, Vec<u8>) {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nAccept-Encoding: {accept_encoding}\r\nConnection: close\r\n\r\n"
    );
    let mut stream = TcpStream::connect(addr).await.expect("test set-up");
    stream.write_all(request.as_bytes()).await.expect("test set-up");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("test set-up");
    let split = response.windows(4).position(|window| window == b"\r\n\r\n").expect("a head") + 4;
    (String::from_utf8_lossy(&response[..split]).to_lowercase(), response[split..].to_vec())
}

#[tokio::test]
async fn the_bundle_is_served_precompressed_and_cached_for_good_and_pages_are_revalidated() {
    let dir = tempfile::tempdir().unwrap();
    let site = built_site();
    let server = TestServer::start_with_site(&dir.path().join("natter.db"), site.path()).await;

    let (head, body) = get(server.addr, "/pkg/natter.AbC123.js", "gzip, deflate, br").await;
    assert!(head.contains("content-encoding: br"), "{head}");
    assert_eq!(body, b"brotli bytes", "the file brotli made at build time");
    assert!(head.contains("cache-control: public, max-age=31536000, immutable"), "{head}");
    let (head, body) = get(server.addr, "/pkg/natter.AbC123.js", "gzip").await;
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert_eq!(body, b"gzip bytes");
    let (head, body) = get(server.addr, "/pkg/natter.AbC123.js", "identity").await;
    assert!(!head.contains("content-encoding"), "{head}");
    assert!(body.starts_with(b"console.log"));
    // A name that is not there is not cached for a year.
    let (head, _) = get(server.addr, "/pkg/natter.Old999.js", "br").await;
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert!(!head.contains("immutable"), "{head}");

    // Pages: compressed on the fly, always revalidated; so are server functions' JSON answers.
    let (head, body) = get(server.addr, "/", "br").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-encoding: br"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(body.len() > 100, "a compressed page");
    let (head, _) = get(server.addr, "/api/rooms", "gzip").await;
    assert!(head.starts_with("http/1.1 200") && head.contains("content-encoding: gzip"), "{head}");
    server.stop().await;
}
