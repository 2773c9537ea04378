//! The chat through its real interfaces: websocket clients, server functions, the rendered page.

use crate::support::TestServer;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("natter.db");
    (dir, db)
}

async fn online_names(server: &TestServer) -> Vec<String> {
    let (status, body) = server.get("/api/online").await;
    assert_eq!(status, 200, "{body}");
    let online: Vec<Value> = serde_json::from_str(&body).expect("a JSON list");
    online.iter().map(|user| user["nickname"].as_str().expect("nickname").to_owned()).collect()
}

async fn history(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.get("/api/history?limit=200").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("history is a JSON list")
}

#[tokio::test]
async fn a_message_reaches_every_client_and_its_sender_gets_an_ack() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut alice, welcome) = server.join("alice", None).await;
    assert_eq!(welcome["from"], "Natter");
    assert!(welcome["text"].as_str().unwrap().contains("alice"), "{welcome}");
    let (mut bob, _) = server.join("bob", None).await;

    alice.send_message("c-1", "hello bob").await;
    let mut frames = alice.frames_until(|frame| frame["type"] == "ack").await;
    let ack = frames.pop().expect("the ack");
    let id = ack["id"].as_i64().expect("ack carries the stored id");
    assert_eq!(ack["client_msg_id"], "c-1");

    let received = bob.expect("message").await["message"].clone();
    assert_eq!(received["id"], id);
    assert_eq!(received["nickname"], "alice");
    assert_eq!(received["body"], "hello bob");
    assert_eq!(received["client_msg_id"], "c-1");
    assert_eq!(received["sent_at"], ack["sent_at"]);
    // The sender gets the same copy, before the ack, and recognises it by its client_msg_id.
    let own: Vec<&Value> = frames.iter().filter(|frame| frame["type"] == "message").collect();
    assert_eq!(own.len(), 1, "{frames:?}");
    assert_eq!(own[0]["message"], received);
    server.stop().await;
}

#[tokio::test]
async fn the_welcome_is_addressed_to_the_new_client_only() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut alice, alices_welcome) = server.join("alice", None).await;
    let (_bob, welcome) = server.join("bob", None).await;
    let (alice_id, bob_id) = (alices_welcome["you"]["id"].clone(), welcome["you"]["id"].clone());
    assert_eq!(
        welcome["online"],
        json!([{ "user_id": alice_id, "nickname": "alice", "idle": false },
               { "user_id": bob_id, "nickname": "bob", "idle": false }])
    );
    assert!(welcome["text"].as_str().unwrap().contains("1 other person"), "{welcome}");
    // alice hears that bob joined, but not bob's welcome.
    assert_eq!(alice.next().await, json!({ "type": "user_joined", "user_id": alice_id, "nickname": "alice" }));
    assert_eq!(alice.next().await, json!({ "type": "user_joined", "user_id": bob_id, "nickname": "bob" }));
    alice.assert_quiet().await;
    server.stop().await;
}

#[tokio::test]
async fn presence_follows_joins_renames_and_leaves_counting_tabs_once() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut watcher, _) = server.join("watcher", None).await;
    watcher.expect("user_joined").await; // itself
    let carol = server.register("carol").await;
    let (carol_tab_1, _) = server.join_as(&carol, None).await;
    assert_eq!(watcher.expect("user_joined").await["nickname"], "carol");
    let (carol_tab_2, _) = server.join_as(&carol, None).await;
    carol_tab_1.close().await;
    assert_eq!(online_names(&server).await, ["carol", "watcher"]);
    carol_tab_2.close().await;
    assert_eq!(watcher.expect("user_left").await["nickname"], "carol");

    let (mut dave, _) = server.join("dave", None).await;
    assert_eq!(watcher.expect("user_joined").await["nickname"], "dave");
    let before = dave.post("d-0", "as dave").await;
    dave.send(json!({ "type": "nick", "nickname": "ｄａｖｉｄ" })).await;
    assert_eq!(dave.expect("nick_ok").await["nickname"], "david", "stored in NFKC form");
    let renamed = watcher.expect("user_renamed").await;
    assert_eq!(renamed["from"], "dave");
    assert_eq!(renamed["to"], "david");
    assert_eq!(online_names(&server).await, ["david", "watcher"]);
    let ack = dave.post("d-1", "renamed").await;
    let stored = history(&server).await;
    assert_eq!(stored.last().unwrap()["id"], ack["id"]);
    assert_eq!(stored.last().unwrap()["nickname"], "david");
    // Earlier messages show the new name too: the author is a user, not a string.
    let earlier = stored.iter().find(|m| m["id"] == before["id"]).unwrap();
    assert_eq!(earlier["nickname"], "david");
    assert_eq!(earlier["author_id"], renamed["user_id"]);
    server.stop().await;
}

#[tokio::test]
async fn a_late_client_gets_history_from_the_server_function_and_catch_up() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut alice, _) = server.join("alice", None).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(alice.post(&format!("c-{i}"), &format!("message {i}")).await["id"].as_i64().unwrap());
    }
    let page = history(&server).await;
    assert_eq!(page.iter().map(|m| m["id"].as_i64().unwrap()).collect::<Vec<_>>(), ids);

    let (status, body) = server.get(&format!("/api/history?before={}&limit=2", ids[3])).await;
    assert_eq!(status, 200);
    let older: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(older.iter().map(|m| m["id"].as_i64().unwrap()).collect::<Vec<_>>(), &ids[1..3]);

    // A client that has seen up to ids[1] gets exactly what came after.
    let (mut carol, welcome) = server.join("carol", Some(ids[1])).await;
    assert_eq!(welcome["last_id"], ids[4]);
    let caught_up = carol.expect("history").await;
    assert_eq!(caught_up["complete"], true);
    let bodies: Vec<&str> =
        caught_up["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["message 2", "message 3", "message 4"]);
    server.stop().await;
}

#[tokio::test]
async fn a_reconnecting_client_receives_exactly_what_it_missed() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut alice, _) = server.join("alice", None).await;
    let bob_session = server.register("bob").await;
    let (bob, _) = server.join_as(&bob_session, None).await;
    let seen = alice.post("a-0", "before the drop").await["id"].as_i64().unwrap();
    bob.close().await;
    let mut missed = Vec::new();
    for i in 1..=3 {
        missed.push(alice.post(&format!("a-{i}"), &format!("while away {i}")).await["id"].as_i64().unwrap());
    }
    let (mut bob, _) = server.join_as(&bob_session, Some(seen)).await;
    let caught_up = bob.expect("history").await;
    let ids: Vec<i64> = caught_up["messages"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, missed);
    // Live traffic continues after the catch-up, without repeating it.
    let next = alice.post("a-4", "welcome back").await["id"].clone();
    let live = bob.expect("message").await;
    assert_eq!(live["message"]["id"], next);
    server.stop().await;
}

#[tokio::test]
async fn catch_up_larger_than_a_page_arrives_complete_and_in_order() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut alice, _) = server.join("alice", None).await;
    for i in 0..450 {
        alice.send_message(&format!("bulk-{i}"), &format!("bulk {i}")).await;
    }
    for _ in 0..450 {
        alice.expect("ack").await;
    }
    let (mut late, _) = server.join("late", Some(0)).await;
    let mut ids = Vec::new();
    loop {
        let page = late.expect("history").await;
        ids.extend(page["messages"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()));
        if page["complete"] == true {
            break;
        }
    }
    assert_eq!(ids, (1..=450).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn a_resent_message_is_stored_once_and_acked_with_the_original_id() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let session = server.register("alice").await;
    let (mut alice, _) = server.join_as(&session, None).await;
    let first = alice.post("same-id", "only once").await;
    alice.close().await;
    for _ in 0..4 {
        let (mut again, _) = server.join_as(&session, None).await;
        assert_eq!(again.post("same-id", "only once").await, first);
        again.close().await;
    }
    assert_eq!(history(&server).await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn history_survives_a_restart_on_the_same_database() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut alice, _) = server.join("alice", None).await;
    for i in 0..3 {
        alice.post(&format!("r-{i}"), &format!("kept {i}")).await;
    }
    let before = history(&server).await;
    server.stop().await;

    let server = TestServer::start(&db).await;
    assert_eq!(history(&server).await, before);
    let (mut bob, _) = server.join("bob", None).await;
    let ack = bob.post("b-1", "after restart").await;
    assert_eq!(ack["id"], before.last().unwrap()["id"].as_i64().unwrap() + 1);
    server.stop().await;
}

#[tokio::test]
async fn bad_frames_get_error_frames_store_nothing_and_keep_the_socket() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut eve, _) = server.join("eve", None).await;
    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "malformed_frame"),
        (json!({ "type": "shout", "body": "hi" }).to_string(), "unknown_frame_type"),
        (json!({ "type": "send", "body": "no id" }).to_string(), "malformed_frame"),
        (json!({ "type": "send", "client_msg_id": "e-1", "body": "  \n\t " }).to_string(), "empty_message"),
        (json!({ "type": "send", "client_msg_id": "e-2", "body": "x".repeat(4_001) }).to_string(), "message_too_long"),
        (json!({ "type": "send", "client_msg_id": "has space", "body": "x" }).to_string(), "invalid_client_msg_id"),
        (json!({ "type": "send", "client_msg_id": "e-3", "body": "nul\u{0}" }).to_string(), "invalid_characters"),
        (json!({ "type": "nick", "nickname": "" }).to_string(), "invalid_nickname"),
        (json!({ "type": "nick", "nickname": "x".repeat(33) }).to_string(), "invalid_nickname"),
        (json!({ "type": "nick", "nickname": "ev\u{200B}e" }).to_string(), "invalid_nickname"),
        (json!({ "type": "nick", "nickname": "Natter" }).to_string(), "invalid_nickname"),
        (json!({ "type": "hello" }).to_string(), "invalid_request"),
        (json!({ "type": "send", "client_msg_id": "e-4", "body": "y".repeat(70_000) }).to_string(), "frame_too_large"),
    ];
    for (frame, code) in cases {
        eve.send_text(frame.clone()).await;
        let error = eve.expect("error").await;
        assert_eq!(error["code"], code, "for {}", &frame[..frame.len().min(80)]);
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    assert!(history(&server).await.is_empty(), "nothing was stored");
    // The socket is still usable, and eve is still eve.
    let ack = eve.post("e-ok", "still here").await;
    assert_eq!(ack["client_msg_id"], "e-ok");
    assert_eq!(history(&server).await[0]["nickname"], "eve");
    server.stop().await;
}

#[tokio::test]
async fn frames_before_hello_are_refused_and_a_silent_client_is_closed() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let session = server.register("early").await;
    let mut early = server.client(&session).await;
    early.send_message("too-early", "hi").await;
    let refused = early.expect("error").await;
    assert_eq!(refused["code"], "hello_required");
    assert_eq!(refused["client_msg_id"], "too-early");
    // The test server allows 1 s for hello.
    let mut silent = server.client(&session).await;
    assert_eq!(silent.closed().await, Some(CloseCode::Policy));
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_websocket_message_closes_that_socket_with_1009_only() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut bystander, _) = server.join("bystander", None).await;
    let (mut flooder, _) = server.join("flooder", None).await;
    flooder.send_text("z".repeat(2 << 20)).await;
    assert_eq!(flooder.closed().await, Some(CloseCode::Size));
    let ack = bystander.post("b-1", "unaffected").await;
    assert!(ack["id"].is_i64());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_sends_every_socket_a_going_away_close_frame() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut client, _) = server.join("alice", None).await;
    let ack = client.post("s-1", "stored before shutdown").await;
    let stopping = tokio::spawn(server.stop());
    assert_eq!(client.closed().await, Some(CloseCode::Away));
    stopping.await.unwrap();
    let server = TestServer::start(&_dir.path().join("natter.db")).await;
    assert_eq!(history(&server).await[0]["id"], ack["id"]);
    server.stop().await;
}

#[tokio::test]
async fn health_check_answers() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({ "status": "ok" }));
    server.stop().await;
}

#[tokio::test]
async fn server_functions_refuse_bad_arguments_with_400_and_a_reason() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (status, body) = server.get("/api/history?before=0").await;
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["Invalid"]["code"], "invalid_request", "{body}");
    let (status, _) = server.get("/api/history?limit=lots").await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn the_page_contains_recent_history_as_escaped_text() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut mallory, _) = server.join("<b>mallory</b>", None).await;
    mallory.post("p-1", "<script>alert(1)</script>").await;
    mallory.post("p-2", "<img src=x onerror=alert(1)>").await;
    let (status, page) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("&lt;b&gt;mallory&lt;/b&gt;"));
    assert!(!page.contains("<script>alert(1)"));
    assert!(!page.contains("<img src=x"));
    assert!(page.contains(r#"role="log""#));
    // Playwright's "JavaScript disabled" still parses <noscript> as if scripts ran, so check it here.
    assert!(page.contains("<noscript><p class=\"noscript\">Natter needs JavaScript to send messages"));
    let (status, _) = server.get("/no-such-page").await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn a_reader_that_falls_behind_is_resynced_and_misses_nothing() {
    const WRITERS: usize = 10;
    const EACH: usize = 40;
    let (_dir, db) = temp_db();
    // A one-frame buffer: a commit group published back to back makes readers lag, which forces the
    // resync-from-database path.
    let limits = natter::server::config::Limits { broadcast_buffer: 1, ..crate::support::relaxed_limits() };
    let server = TestServer::start_with(&db, limits).await;
    let (mut reader, _) = server.join("reader", None).await;
    let body = "x".repeat(3_000);
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (mut writer, _) = server.join(&format!("writer{w}"), None).await;
        let body = body.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                writer.send_message(&format!("w{w}-{i}"), &body).await;
            }
            for _ in 0..EACH {
                writer.expect("ack").await;
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let total = (WRITERS * EACH) as i64;
    let (mut ids, mut resyncs) = (Vec::new(), 0);
    while (ids.len() as i64) < total {
        let frame = reader.next().await;
        match frame["type"].as_str().unwrap() {
            "message" => ids.push(frame["message"]["id"].as_i64().unwrap()),
            "history" => {
                resyncs += 1;
                ids.extend(frame["messages"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()));
            }
            _ => {}
        }
    }
    assert_eq!(ids, (1..=total).collect::<Vec<_>>(), "every message once, in order");
    eprintln!("resyncs: {resyncs}");
    assert!(resyncs > 0, "the bursts should have made the reader lag and resync");
    server.stop().await;
}

#[tokio::test]
async fn typing_reaches_everyone_but_the_typist_and_is_thinned() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let alice = server.register("alice").await;
    let (mut typist, welcome) = server.join_as(&alice, None).await;
    let (mut typists_other_tab, _) = server.join_as(&alice, None).await;
    let (mut reader, _) = server.join("reader", None).await;
    for _ in 0..10 {
        typist.send(json!({ "type": "typing" })).await;
    }
    let typing = reader.expect("typing").await;
    // A typing frame without room_id means general, and says so on the way out.
    assert_eq!(typing, json!({ "type": "typing", "room_id": 1, "user_id": welcome["you"]["id"], "nickname": "alice" }));
    // A message marks where the flood of typing frames ended: exactly one typing frame came before it.
    typist.send_message("t-1", "done typing").await;
    let typists_frames = typist.frames_until(|frame| frame["type"] == "ack").await;
    let ack = typists_frames.last().expect("the ack").clone();
    loop {
        let frame = reader.next().await;
        assert_ne!(frame["type"], "typing", "ten quick signals are passed on once");
        if frame["type"] == "message" && frame["message"]["id"] == ack["id"] {
            break;
        }
    }
    assert!(typists_frames.iter().all(|frame| frame["type"] != "typing"), "nobody sees their own typing");
    assert!(typists_frames.iter().any(|frame| frame["type"] == "message"), "its own message, before the ack");
    loop {
        let frame = typists_other_tab.next().await;
        assert_ne!(frame["type"], "typing", "nobody sees their own typing");
        if frame["type"] == "message" {
            break;
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn people_without_activity_go_idle_and_come_back_when_they_act() {
    let (_dir, db) = temp_db();
    let limits = natter::server::config::Limits { idle_after_secs: 1, ..crate::support::relaxed_limits() };
    let server = TestServer::start_with(&db, limits).await;
    let (mut dozer, welcome) = server.join("dozer", None).await;
    let dozer_id = welcome["you"]["id"].clone();
    let (mut watcher, _) = server.join("watcher", None).await;
    // The watcher keeps typing, so only the dozer goes idle.
    let gone_idle = loop {
        watcher.send(json!({ "type": "typing" })).await;
        match tokio::time::timeout(std::time::Duration::from_millis(300), watcher.expect("user_idle")).await {
            Ok(frame) => break frame,
            Err(_) => continue,
        }
    };
    assert_eq!(gone_idle, json!({ "type": "user_idle", "user_id": dozer_id, "idle": true }));
    let (_, body) = server.get("/api/online").await;
    let online: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(online.iter().find(|u| u["nickname"] == "dozer").unwrap()["idle"], true);

    dozer.post("z-1", "I'm back").await;
    assert_eq!(watcher.expect("user_idle").await, json!({ "type": "user_idle", "user_id": dozer_id, "idle": false }));
    server.stop().await;
}

#[tokio::test]
async fn an_ack_comes_after_every_message_stored_before_it() {
    let (_dir, db) = temp_db();
    let server = TestServer::start(&db).await;
    let (mut bot, _) = server.join("bot", None).await;
    let (mut chatter, _) = server.join("chatter", None).await;
    let chatting = tokio::spawn(async move {
        for m in 0..400 {
            chatter.send_message(&format!("c{m}"), "meanwhile").await;
        }
        chatter
    });
    let mut seen = std::collections::BTreeSet::new();
    for m in 0..100 {
        bot.send_message(&format!("b{m}"), "beep").await;
        loop {
            let frame = bot.next().await;
            match frame["type"].as_str() {
                Some("message") => {
                    seen.insert(frame["message"]["id"].as_i64().expect("an id"));
                }
                Some("ack") => {
                    let acked = frame["id"].as_i64().expect("an id");
                    let first = *seen.first().expect("its own message came first");
                    let missing: Vec<i64> = (first..=acked).filter(|id| !seen.contains(id)).collect();
                    assert!(missing.is_empty(), "the ack of {acked} overtook {missing:?}");
                    break;
                }
                _ => {}
            }
        }
    }
    chatting.await.expect("chatter");
}
