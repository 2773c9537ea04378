//! The load tool against a real server: it must report exactly what happened.

use crate::support::TestServer;
use natter::server::load::{run, LoadArgs, Protocol};

#[tokio::test]
async fn a_small_load_run_reports_every_message_delivered_to_every_client() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(&dir.path().join("natter.db")).await;
    let args = LoadArgs {
        target: vec![server.addr],
        clients: 12,
        senders: 3,
        rate: 20.0,
        window: 0,
        seconds: 1,
        bytes: 64,
        accounts: 4,
        ramp: 1_000,
        nofile: None,
        server_pid: vec![std::process::id()],
        postgres_pid: None,
        upload_storage: None,
        upload_dir: None,
        drain: 10,
        stalled: 1,
        protocol: Protocol::Natter,
        source_addrs: 2,
    };
    let report = run(args, server.addr).await.expect("the run completes");
    assert_eq!(report["clients"]["connected"], 12, "{report}");
    assert_eq!(report["clients"]["failed"], 0);
    assert_eq!(report["clients"]["stalled"], 1, "a client that stops reading is not waited for");
    let sent = report["messages"]["sent"].as_u64().expect("a count");
    assert!(sent >= 3, "{report}");
    assert_eq!(report["messages"]["acked"], sent, "{report}");
    assert_eq!(report["messages"]["refused"], 0);
    assert_eq!(report["deliveries"]["expected"], sent * 12);
    assert_eq!(report["deliveries"]["lost"], 0, "{report}");
    assert_eq!(report["deliveries"]["received"], sent * 12);
    assert!(report["post_to_all_received_ms"]["p99"].as_f64().is_some());
    assert!(report["server"]["peak_rss_mb"].as_f64().is_some(), "read from /proc");
    server.stop().await;
}

#[tokio::test]
async fn the_tool_refuses_a_configured_address_that_is_not_loopback() {
    let args = LoadArgs {
        target: vec![],
        clients: 1,
        senders: 1,
        rate: 1.0,
        window: 0,
        seconds: 1,
        bytes: 10,
        accounts: 1,
        ramp: 1,
        nofile: None,
        server_pid: vec![],
        postgres_pid: None,
        upload_storage: None,
        upload_dir: None,
        drain: 1,
        stalled: 0,
        protocol: Protocol::Natter,
        source_addrs: 1,
    };
    let refused = run(args, "192.0.2.1:8080".parse().expect("an address")).await;
    assert!(matches!(refused, Err(natter::server::load::LoadError::NotLoopback(_))), "{refused:?}");
}
