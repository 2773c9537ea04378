//! Nobody speaks as someone else: accounts, sessions, lookalike nicknames, authenticated sockets.

use crate::support::{form_encode, http, http_from, start, Client, TestServer};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn me(server: &TestServer, token: Option<&str>) -> Value {
    let response = http(server.addr, "GET", "/api/me", token, "").await;
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).expect("JSON")
}

#[tokio::test]
async fn joining_creates_an_account_and_an_http_only_session_cookie() {
    let (_dir, server) = start().await;
    let response = server.try_register("alice").await;
    assert_eq!(response.status, 200, "{}", response.body);
    let cookie = response.head.lines().find(|line| line.to_lowercase().starts_with("set-cookie:")).unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http gets no Secure flag: {cookie}");
    let token = response.session_token().unwrap();
    assert_eq!(token.len(), 64);
    let account = me(&server, Some(&token)).await;
    assert_eq!(account["nickname"], "alice");
    assert_eq!(account["role"], "admin", "the first person is the admin");
    assert_eq!(me(&server, None).await, Value::Null);
    let bob = server.register("bob").await;
    assert_eq!(me(&server, Some(&bob)).await["role"], "member");
    server.stop().await;
}

#[tokio::test]
async fn lookalike_and_invalid_nicknames_are_refused() {
    let (_dir, server) = start().await;
    server.register("alice").await;
    for lookalike in ["ALICE", "\u{0430}lice", "ａｌｉｃｅ", " alice "] {
        let response = server.try_register(lookalike).await;
        assert_eq!(response.status, 400, "{lookalike:?}: {}", response.body);
        let error: Value = serde_json::from_str(&response.body).unwrap();
        assert_eq!(error["Invalid"]["code"], "nickname_taken", "{lookalike:?}");
        assert!(response.session_token().is_none());
    }
    for invalid in ["", "al\u{200B}ice", "evil\u{202E}gnp", "Natter", &"x".repeat(33)] {
        let response = server.try_register(invalid).await;
        assert_eq!(response.status, 400, "{invalid:?}");
        let error: Value = serde_json::from_str(&response.body).unwrap();
        assert_eq!(error["Invalid"]["code"], "invalid_nickname", "{invalid:?}");
    }
    // Renaming into someone else's lookalike is refused too, and changes nothing.
    let (mut bob, _) = server.join("bob", None).await;
    bob.send(json!({ "type": "nick", "nickname": "Alice" })).await;
    assert_eq!(bob.expect("error").await["code"], "nickname_taken");
    bob.send(json!({ "type": "nick", "nickname": "b\u{200B}ob" })).await;
    assert_eq!(bob.expect("error").await["code"], "invalid_nickname");
    let ack = bob.post("b-1", "still bob").await;
    let (_, body) = server.get("/api/history").await;
    let history: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(history[0]["id"], ack["id"]);
    assert_eq!(history[0]["nickname"], "bob");
    server.stop().await;
}

#[tokio::test]
async fn the_websocket_refuses_missing_forged_and_cross_site_credentials() {
    let (_dir, server) = start().await;
    assert_eq!(Client::connect(server.addr, None, None).await.err(), Some(401));
    assert_eq!(Client::connect(server.addr, Some(&"0".repeat(64)), None).await.err(), Some(401));
    let token = server.register("alice").await;
    let evil = Client::connect(server.addr, Some(&token), Some("https://evil.example")).await;
    assert_eq!(evil.err(), Some(403));
    let own_origin = format!("http://{}", server.addr);
    assert!(Client::connect(server.addr, Some(&token), Some(&own_origin)).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn a_frame_naming_another_author_is_stored_under_the_real_one() {
    let (_dir, server) = start().await;
    let (mut victim, welcome) = server.join("victim", None).await;
    let victim_id = welcome["you"]["id"].clone();
    let (mut mallory, welcome) = server.join("mallory", None).await;
    let mallory_id = welcome["you"]["id"].clone();
    mallory
        .send(json!({ "type": "send", "client_msg_id": "m-1", "body": "I am the victim",
                      "nickname": "victim", "author_id": victim_id, "author": "victim" }))
        .await;
    let ack = mallory.expect("ack").await;
    let seen = victim.expect("message").await["message"].clone();
    assert_eq!(seen["id"], ack["id"]);
    assert_eq!(seen["nickname"], "mallory");
    assert_eq!(seen["author_id"], mallory_id);
    let (_, body) = server.get("/api/history").await;
    let history: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(history[0]["author_id"], mallory_id);
    server.stop().await;
}

#[tokio::test]
async fn signing_out_closes_the_sessions_sockets_and_ends_the_session() {
    let (_dir, server) = start().await;
    let token = server.register("alice").await;
    let (mut first_tab, _) = server.join_as(&token, None).await;
    let (mut second_tab, _) = server.join_as(&token, None).await;
    let (mut other_person, _) = server.join("bob", None).await;

    let response = http(server.addr, "POST", "/api/sign_out", Some(&token), "").await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.head.contains("natter_session=;"), "the cookie is cleared: {}", response.head);
    assert_eq!(first_tab.closed().await, Some(CloseCode::Policy));
    assert_eq!(second_tab.closed().await, Some(CloseCode::Policy));
    assert_eq!(other_person.expect("user_left").await["nickname"], "alice");
    assert!(other_person.post("b-1", "bob is unaffected").await["id"].is_i64());

    assert_eq!(Client::connect(server.addr, Some(&token), None).await.err(), Some(401));
    assert_eq!(me(&server, Some(&token)).await, Value::Null);
    server.stop().await;
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("natter.db");
    let server = TestServer::start(&db).await;
    let token = server.register("alice").await;
    server.stop().await;
    assert!(dir.path().join("natter.key").exists(), "the generated secret is kept beside the database");
    let server = TestServer::start(&db).await;
    let (_, welcome) = server.join_as(&token, None).await;
    assert_eq!(welcome["you"]["nickname"], "alice");
    server.stop().await;
}

fn form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(name, value)| format!("{name}={}", value.replace(' ', "+"))).collect::<Vec<_>>().join("&")
}

#[tokio::test]
async fn a_password_lets_the_same_user_sign_in_on_another_device() {
    let (_dir, server) = start().await;
    let laptop = server.register("alice").await;
    let alice_id = me(&server, Some(&laptop)).await["id"].clone();

    let no_session = http(server.addr, "POST", "/api/set_password", None, &form(&[("password", "long enough")])).await;
    assert_eq!(no_session.status, 401, "{}", no_session.body);
    let too_short =
        http(server.addr, "POST", "/api/set_password", Some(&laptop), &form(&[("password", "short")])).await;
    assert_eq!(too_short.status, 400);
    assert!(too_short.body.contains("invalid_password"), "{}", too_short.body);
    let set =
        http(server.addr, "POST", "/api/set_password", Some(&laptop), &form(&[("password", "correct horse")])).await;
    assert_eq!(set.status, 200, "{}", set.body);

    let wrong =
        http(server.addr, "POST", "/api/sign_in", None, &form(&[("nickname", "alice"), ("password", "wrong horse")]))
            .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("sign_in_failed"), "{}", wrong.body);
    assert!(wrong.session_token().is_none());

    // Any way of writing the nickname that is the same key signs in as the same user.
    let phone =
        http(server.addr, "POST", "/api/sign_in", None, &form(&[("nickname", "ALICE"), ("password", "correct horse")]))
            .await;
    assert_eq!(phone.status, 200, "{}", phone.body);
    let phone = phone.session_token().expect("a new session cookie");
    assert_ne!(phone, laptop);
    assert_eq!(me(&server, Some(&phone)).await["id"], alice_id);
    let (mut on_phone, _) = server.join_as(&phone, None).await;
    let (mut on_laptop, _) = server.join_as(&laptop, None).await;
    let ack = on_phone.post("p-1", "from my phone").await;
    let seen = on_laptop.expect("message").await["message"].clone();
    assert_eq!((seen["id"].clone(), seen["author_id"].clone()), (ack["id"].clone(), alice_id));

    // Signing out on the phone leaves the laptop signed in.
    http(server.addr, "POST", "/api/sign_out", Some(&phone), "").await;
    assert_eq!(me(&server, Some(&laptop)).await["nickname"], "alice");
    server.stop().await;
}

#[tokio::test]
async fn password_guessing_slows_the_guesser_but_never_locks_the_owner_out() {
    let (_dir, server) = start().await;
    let token = server.register("bob").await;
    http(server.addr, "POST", "/api/set_password", Some(&token), &form(&[("password", "the real one")])).await;
    let guesser = Some("127.0.0.66".parse().unwrap());
    let sign_in_from = |from, password: &str| {
        let body = form(&[("nickname", "bob"), ("password", password)]);
        let addr = server.addr;
        async move { http_from(from, addr, "POST", "/api/sign_in", None, &body).await }
    };
    for attempt in 0..4 {
        let response = sign_in_from(guesser, &format!("guess{attempt}xx")).await;
        assert_eq!(response.status, 401, "attempt {attempt}");
    }
    // From the guesser's address, even the right password now waits (and says for how long).
    let blocked = sign_in_from(guesser, "the real one").await;
    assert_eq!(blocked.status, 429, "{}", blocked.body);
    assert!(blocked.body.contains("rate_limited") && blocked.body.contains("second"), "{}", blocked.body);
    assert!(blocked.session_token().is_none());
    // The owner, on a new device elsewhere, signs in at once.
    let owner = sign_in_from(Some("127.0.0.77".parse().unwrap()), "the real one").await;
    assert_eq!(owner.status, 200, "{}", owner.body);
    assert!(owner.session_token().is_some());
    // Users without a password cannot be signed into at all.
    server.register("carol").await;
    let carol = http(
        server.addr,
        "POST",
        "/api/sign_in",
        None,
        &form(&[("nickname", "carol"), ("password", "anything at all")]),
    )
    .await;
    assert_eq!(carol.status, 401);
    server.stop().await;
}

#[tokio::test]
async fn a_socket_still_waiting_for_hello_closes_when_its_session_ends() {
    let dir = tempfile::tempdir().unwrap();
    // A long hello timeout, so only the sign-out can close the socket within the test.
    let limits = natter::server::config::Limits { hello_timeout_secs: 60, ..crate::support::relaxed_limits() };
    let server = TestServer::start_with(&dir.path().join("natter.db"), limits).await;
    let token = server.register("alice").await;
    let mut waiting = server.client(&token).await;
    http(server.addr, "POST", "/api/sign_out", Some(&token), "").await;
    assert_eq!(waiting.closed_with_reason().await, Some((CloseCode::Policy, "session ended".to_owned())));
    server.stop().await;
}

#[tokio::test]
async fn joining_works_as_a_plain_form_post_before_the_page_has_hydrated() {
    let (_dir, server) = start().await;
    // What a browser sends for <form method="post" action="/api/join"> without JavaScript.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let body = "nickname=early";
    let request = format!(
        "POST /api/join HTTP/1.0\r\nHost: {}\r\nAccept: text/html\r\nReferer: http://{}/\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr,
        server.addr,
        body.len()
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.0 302") || response.starts_with("HTTP/1.1 302"), "{response}");
    assert!(response.to_lowercase().contains(&format!("location: http://{}/", server.addr)), "{response}");
    let cookie = response.lines().find(|line| line.to_lowercase().starts_with("set-cookie: natter_session=")).unwrap();
    let token = cookie.split_once('=').unwrap().1.split(';').next().unwrap();
    assert_eq!(me(&server, Some(token)).await["nickname"], "early");
    server.stop().await;
}

/// POSTs a visitor's first send, as the composer does.
async fn join_and_send(
    server: &TestServer,
    nickname: &str,
    room_id: i64,
    client_msg_id: &str,
    body: &str,
) -> (u16, Value, Option<String>) {
    let form = format!(
        "nickname={}&room_id={room_id}&client_msg_id={client_msg_id}&body={}",
        form_encode(nickname),
        form_encode(body)
    );
    let response = http(server.addr, "POST", "/api/join_and_send", None, &form).await;
    let answer = serde_json::from_str(&response.body).expect("JSON");
    (response.status, answer, response.session_token())
}

#[tokio::test]
async fn a_visitors_first_send_joins_and_posts_in_one_request_and_the_socket_never_repeats_it() {
    let (_dir, server) = start().await;
    let (mut watcher, _) = server.join("watcher", None).await;
    let (status, sent, token) = join_and_send(&server, "newcomer", 1, "first-1", "hello from a phone").await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["account"]["nickname"], "newcomer");
    assert_eq!(sent["room"], Value::Null, "everyone is in general already");
    let id = sent["posted"]["Ok"]["id"].as_i64().expect("stored, with its id");
    let live = watcher.expect("message").await["message"].clone();
    assert_eq!((live["id"].as_i64(), live["body"].as_str()), (Some(id), Some("hello from a phone")));
    // Signed in by the same answer: the socket catches up with the message once, and a resend of
    // it from the outbox (same client id) is answered with the original, not stored again.
    let token = token.expect("the answer signs the browser in");
    assert_eq!(me(&server, Some(&token)).await["nickname"], "newcomer");
    let (mut newcomer, _) = server.join_as(&token, Some(0)).await;
    let caught_up = newcomer.expect("history").await;
    let ids: Vec<i64> = caught_up["messages"].as_array().unwrap().iter().filter_map(|m| m["id"].as_i64()).collect();
    assert_eq!(ids, vec![id]);
    let ack = newcomer.post("first-1", "hello from a phone").await;
    assert_eq!(ack["id"].as_i64(), Some(id));
    let (_, body) = server.get("/api/history").await;
    let history: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(history.iter().filter(|message| message["client_msg_id"] == "first-1").count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_first_send_that_would_be_refused_makes_no_account() {
    let (_dir, server) = start().await;
    let owner = server.register("owner").await;
    let private = crate::support::create_room(&server, &owner, "hidden", true).await;
    for (room_id, client_msg_id, body, expected) in [
        (1, "c-1", "   ", "empty_message"),
        (1, "", "hello", "invalid_client_msg_id"),
        (private, "c-2", "hello", "not_a_member"),
        (9999, "c-3", "hello", "no_such_room"),
    ] {
        let (status, answer, token) = join_and_send(&server, "hopeful", room_id, client_msg_id, body).await;
        assert!((400..500).contains(&status), "{status} {answer}");
        assert_eq!(crate::support::code(&answer), expected, "{answer}");
        assert!(token.is_none(), "a refused first send signs nobody in");
    }
    // The nickname is still free, and the public room path joins as it posts.
    let public = crate::support::create_room(&server, &owner, "open", false).await;
    let (status, sent, _) = join_and_send(&server, "hopeful", public, "c-4", "made it").await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["room"]["id"].as_i64(), Some(public));
    assert_eq!(sent["posted"]["Ok"]["room_id"].as_i64(), Some(public));
    server.stop().await;
}
