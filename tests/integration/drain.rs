//! Stopping behind a load balancer: on SIGTERM (`drain_secs` set) /healthz says `draining` while
//! everything else keeps working, then sockets close with 1001 as in any shutdown. In process first
//! (`TestServer::terminate`, the handle the signal calls), then the real `natter` binary sent real
//! SIGTERMs with `kill`.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::{join_at, register_at, relaxed_limits, TestServer, PATIENCE};
use natter::server::config::Settings;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

/// The real `natter` binary on the SQLite file `natter.db` in a folder, its stdout and stderr (the
/// log) written to a file there. Dropping it kills a still-running process with SIGKILL, so a failing
/// test leaves no server behind, and prints the log when the test is failing.
struct Binary {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Binary {
    /// Starts the binary on `dir`'s database with `--drain-secs drain_secs`, logging to `dir/<name>.log`,
    /// and waits until `/healthz` answers 200.
    async fn start(dir: &Path, drain_secs: u64, name: &str) -> Self {
        let log = dir.join(format!("{name}.log"));
        // The port is free when chosen but could be taken before natter binds it: then try another.
        for _ in 0..5 {
            let addr = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
            let out = File::create(&log).expect("create the log file");
            let child = Command::new(env!("CARGO_BIN_EXE_natter"))
                .arg("--addr")
                .arg(addr.to_string())
                .arg("--db")
                .arg(dir.join("natter.db"))
                .arg("--drain-secs")
                .arg(drain_secs.to_string())
                // Not the crate's Leptos.toml: only these flags and the defaults.
                .current_dir(dir)
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("the log file again"))
                .stderr(out)
                .spawn()
                .expect("natter runs");
            // Guarded from here on: a panic below must not leave the server running.
            let mut natter = Self { child, addr, log: log.clone() };
            let ready = tokio::time::timeout(PATIENCE, async {
                loop {
                    if health_or_none(addr).await.is_some_and(|(status, _)| status == 200) {
                        return true;
                    }
                    if natter.child.try_wait().expect("natter's status").is_some() {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("natter answers /healthz in time; its log:\n{}", natter.output()));
            if ready {
                return natter;
            }
        }
        panic!(
            "natter exited at start five times; its last log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// What the binary wrote to stdout and stderr so far.
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|error| format!("(no log: {error})"))
    }

    /// `kill -TERM <pid>`: what systemd, Kubernetes or a shell sends. The child is not yet reaped, so
    /// its pid cannot belong to anything else.
    fn sigterm(&self) {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("run kill");
        assert!(status.success(), "kill -TERM {}: {status}", self.child.id());
    }

    /// Waits until `/healthz` says `draining`: from outside, the only sign that the signal was handled.
    async fn until_draining(&mut self) {
        let addr = self.addr;
        let heard = tokio::time::timeout(PATIENCE, async {
            loop {
                match health_or_none(addr).await {
                    Some((503, status)) if status == "draining" => return Ok(()),
                    Some((200, _)) => {}
                    other => return Err(format!("/healthz answered {other:?}")),
                }
                if let Some(status) = self.child.try_wait().expect("natter's status") {
                    return Err(format!("exited with {status}"));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        match heard {
            Ok(Ok(())) => {}
            Ok(Err(what)) => panic!("after SIGTERM, expected 503 draining: {what}; log:\n{}", self.output()),
            Err(_) => panic!("SIGTERM not heard in time; log:\n{}", self.output()),
        }
    }

    /// Waits for the process to end (no later than `PATIENCE`) and returns how it ended.
    async fn exited(&mut self) -> ExitStatus {
        let ended = tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(status) = self.child.try_wait().expect("natter's status") {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        ended.unwrap_or_else(|_| panic!("natter did not exit in time; log:\n{}", self.output()))
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("natter's log ({}):\n{}", self.log.display(), self.output());
        }
    }
}

/// `/healthz`'s status and `status` field, or `None` when nothing answers (not yet, or no longer).
async fn health_or_none(addr: SocketAddr) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.write_all(format!("GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await.ok()?;
    let mut response = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response)).await.ok()?.ok()?;
    let response = String::from_utf8(response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body: Value = serde_json::from_str(response.split_once("\r\n\r\n")?.1).ok()?;
    Some((status, body["status"].as_str().unwrap_or_default().to_owned()))
}

/// Every message `token`'s rooms hold, through the protocol's catch-up: `hello` with `"since": 0`,
/// then `history` pages until `complete`.
async fn catch_up(addr: SocketAddr, token: &str) -> Vec<Value> {
    let (mut client, _) = join_at(addr, token, Some(0)).await;
    let mut messages = Vec::new();
    loop {
        let page = client.expect("history").await;
        messages.extend(page["messages"].as_array().expect("a history page has messages").iter().cloned());
        if page["complete"] == true {
            client.close().await;
            return messages;
        }
    }
}

/// Asserts that each ack names one message of `history`, with the acked id and `sent_at`.
fn assert_stored_as_acked(acks: &[Value], history: &[Value]) {
    for ack in acks {
        let stored: Vec<&Value> = history.iter().filter(|m| m["client_msg_id"] == ack["client_msg_id"]).collect();
        assert_eq!(stored.len(), 1, "acked, so stored once after the restart: {ack}; history: {history:?}");
        assert_eq!((&stored[0]["id"], &stored[0]["sent_at"]), (&ack["id"], &ack["sent_at"]), "stored as acked");
    }
}

#[tokio::test]
async fn the_binary_on_sigterm_drains_then_closes_sockets_going_away_exits_0_and_keeps_every_ack() {
    // Long enough for the steps below on a loaded machine (they take milliseconds), short for a test.
    const DRAIN: Duration = Duration::from_secs(3);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut natter = Binary::start(dir.path(), DRAIN.as_secs(), "draining").await;
    let addr = natter.addr;
    let alice_token = register_at(addr, "alice").await;
    let (mut alice, _) = join_at(addr, &alice_token, None).await;
    let mut acks = vec![alice.post("alice-before", "before the signal").await];
    assert_eq!(health_or_none(addr).await, Some((200, "ok".to_owned())), "healthy before the signal");

    let signalled = Instant::now();
    natter.sigterm();
    natter.until_draining().await;
    // The socket opened before the signal still posts and is acknowledged.
    acks.push(alice.post("alice-draining", "still here").await);
    // A new client still signs up, connects and joins, and posts.
    let bob_token = register_at(addr, "bob").await;
    let (mut bob, welcome) = join_at(addr, &bob_token, None).await;
    assert_eq!(welcome["you"]["nickname"], "bob", "{welcome}");
    acks.push(bob.post("bob-draining", "me too").await);
    for ack in &acks {
        assert!(ack["id"].as_i64().is_some(), "acked with an id: {ack}");
    }
    let step_two = signalled.elapsed();
    assert_eq!(
        health_or_none(addr).await,
        Some((503, "draining".to_owned())),
        "all of that happened during the drain ({step_two:?} after the signal); log:\n{}",
        natter.output()
    );

    // The drain ends by itself: every socket is told the server is going away, then the process ends.
    assert_eq!(alice.closed().await, Some(CloseCode::Away), "log:\n{}", natter.output());
    assert_eq!(bob.closed().await, Some(CloseCode::Away), "log:\n{}", natter.output());
    let closed_after = signalled.elapsed();
    assert!(closed_after >= DRAIN, "the sockets stayed open for the whole drain, closed after {closed_after:?}");
    let status = natter.exited().await;
    assert!(status.success(), "natter exits with status 0 after a drain, not {status}; log:\n{}", natter.output());
    eprintln!("drain: step 2 done {step_two:?} after SIGTERM, sockets closed after {closed_after:?}");

    // Nothing acknowledged is lost: the next start on the same file has it all, as acked.
    let natter = Binary::start(dir.path(), 0, "restarted").await;
    let history = catch_up(natter.addr, &alice_token).await;
    assert_stored_as_acked(&acks, &history);
}

#[tokio::test]
async fn a_second_sigterm_to_the_binary_ends_the_drain_at_once_and_it_exits_0() {
    // Far longer than the test: only the second signal can end it in time.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut natter = Binary::start(dir.path(), 3600, "second-signal").await;
    let addr = natter.addr;
    let alice_token = register_at(addr, "alice").await;
    let (mut alice, _) = join_at(addr, &alice_token, None).await;

    natter.sigterm();
    natter.until_draining().await;
    let acks = vec![alice.post("alice-draining", "before the second signal").await];
    natter.sigterm();
    // `closed` waits no longer than PATIENCE, a small part of the hour's drain.
    assert_eq!(alice.closed().await, Some(CloseCode::Away), "log:\n{}", natter.output());
    let status = natter.exited().await;
    assert!(status.success(), "natter exits with status 0 after a cut drain, not {status}; log:\n{}", natter.output());

    let natter = Binary::start(dir.path(), 0, "restarted").await;
    let history = catch_up(natter.addr, &alice_token).await;
    assert_stored_as_acked(&acks, &history);
}
