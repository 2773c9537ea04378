//! Hostile input over the whole HTTP surface of a running server: generated requests to every page,
//! server function and API with odd values (NUL and other control characters, quotes, broken
//! percent-escapes, huge numbers, stray Unicode), as a visitor and as a signed-in admin. Whatever
//! comes in, the answer is a clear refusal or an answer, never a 5xx, and nothing panics.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{exchange, http, TestServer};
use proptest::prelude::*;

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Values people and programs send on purpose or by accident.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\0".to_owned()),
        Just("a\0b".to_owned()),
        Just("\"a\0b\"".to_owned()),
        Just("-1".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("1e309".to_owned()),
        Just("../../etc/passwd".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("from:\0 in:\u{202E}x before:2026-02-30".to_owned()),
        Just("\u{FEFF}\u{200B}\u{0301}".to_owned()),
        "[\\x00-\\x1f\"'%&=:*()\\\\ a-z0-9]{0,24}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
}

/// Percent-encodes every byte, so the value arrives exactly as generated.
fn encode(value: &str) -> String {
    value.bytes().map(|byte| format!("%{byte:02X}")).collect()
}

/// A request somewhere on the surface: (method, path with query, form body).
fn request() -> impl Strategy<Value = (String, String, String)> {
    let get_fns = prop_oneof![
        Just(("history", vec!["room_id", "before", "after", "limit"])),
        Just(("search", vec!["q", "before"])),
        Just(("online", vec!["room_id"])),
        Just(("members", vec!["room_id"])),
        Just(("room_page", vec!["room", "peer", "at"])),
        Just(("rooms", vec![])),
        Just(("me", vec![])),
    ];
    let post_fns = prop_oneof![
        Just(("set_notify", vec!["room_id", "level"])),
        Just(("create_room", vec!["name", "private"])),
        Just(("join_room", vec!["room_id"])),
        Just(("leave_room", vec!["room_id"])),
        Just(("invite", vec!["room_id", "nickname"])),
        Just(("archive_room", vec!["room_id"])),
        Just(("direct", vec!["user_id"])),
        Just(("join", vec!["nickname"])),
        Just(("set_password", vec!["password"])),
        Just(("sign_in", vec!["nickname", "password"])),
        Just(("edit_message", vec!["id", "body"])),
        Just(("delete_message", vec!["id"])),
        Just(("react", vec!["id", "emoji", "remove"])),
        Just(("ban_user", vec!["user_id"])),
    ];
    let fields = || proptest::collection::vec(hostile(), 4);
    prop_oneof![
        (get_fns, fields()).prop_map(|((name, keys), values)| {
            let query: Vec<String> = keys.iter().zip(&values).map(|(k, v)| format!("{k}={}", encode(v))).collect();
            ("GET".to_owned(), format!("/api/{name}?{}", query.join("&")), String::new())
        }),
        (post_fns, fields()).prop_map(|((name, keys), values)| {
            let form: Vec<String> = keys.iter().zip(&values).map(|(k, v)| format!("{k}={}", encode(v))).collect();
            ("POST".to_owned(), format!("/api/{name}"), form.join("&"))
        }),
        (hostile(), hostile()).prop_map(|(a, b)| {
            let paths = [
                format!("/r/{}", encode(&a)),
                format!("/dm/{}", encode(&a)),
                format!("/r/{}/m/{}", encode(&a), encode(&b)),
                format!("/search?q={}&before={}", encode(&a), encode(&b)),
                format!("/files/{}", encode(&a)),
                format!("/api/export?room_id={}&format={}", encode(&a), encode(&b)),
                format!("/api/announce?room={}", encode(&a)),
                format!("/{}", encode(&a)),
            ];
            ("GET".to_owned(), paths[a.len() % paths.len()].clone(), String::new())
        }),
        // Escapes a decoder must refuse rather than choke on.
        "[a-z%0-9]{0,12}".prop_map(|raw| ("GET".to_owned(), format!("/api/search?q={raw}%zz%0%%00"), String::new())),
    ]
}

/// A JSON body to the bot API, well-formed or not.
fn json_body() -> impl Strategy<Value = String> {
    prop_oneof![
        hostile(),
        hostile().prop_map(|text| serde_json::json!({ "text": text }).to_string()),
        (hostile(), hostile()).prop_map(|(room, text)| serde_json::json!({ "room": room, "text": text }).to_string()),
        Just("{\"text\": \"\\u0000\"}".to_owned()),
        Just("{\"text\": 5, \"room\": null}".to_owned()),
    ]
}

async fn post_json_raw(addr: SocketAddr, path: &str, token: &str, body: &str) -> u16 {
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nCookie: natter_session={token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, &request).await.status
}

#[test]
fn no_input_anywhere_gets_a_server_error_or_a_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, admin, member) = runtime.block_on(async {
        let server = TestServer::start(&dir.path().join("natter.db")).await;
        // The first to join is the admin: every admin-only path is reached too.
        let admin = server.register("fuzz-admin").await;
        let member = server.register("fuzz-member").await;
        (server, admin, member)
    });
    let addr = server.addr;
    let config = ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |((method, path, form) in request(), who in 0..3u8, body in json_body(), file in hostile())| {
        let token = [None, Some(admin.as_str()), Some(member.as_str())][who as usize];
        let status = runtime.block_on(http(addr, &method, &path, token, &form)).status;
        prop_assert!(status < 500, "{method} {path} [{form}] as {who}: {status}");
        let bot = runtime.block_on(post_json_raw(addr, "/api/bot/messages", &member, &body));
        prop_assert!(bot < 500, "bot API with {body:?}: {bot}");
        let upload = format!("/api/upload?room_id={}&client_msg_id={}&name={}", encode(&file), encode(&body), encode(&file));
        let uploaded = runtime.block_on(crate::support::post_bytes(addr, &upload, &member, file.as_bytes())).status;
        prop_assert!(uploaded < 500, "upload {upload}: {uploaded}");
    });
    runtime.block_on(async {
        let (status, _) = server.get("/healthz").await;
        assert_eq!(status, 200, "still serving");
        server.stop().await;
    });
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "no panic anywhere in the server");
}
