//! Bots, admins and announcements: the `natter` admin commands against a running server.

use crate::support::{post_json, settings_for, start, Client, TestServer};
use natter::server::cli::{self, AnnounceTo, CliError};
use natter::server::config::Settings;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn a_backup_taken_while_the_server_runs_is_a_consistent_copy_and_never_overwrites() {
    let (dir, server) = start().await;
    let (mut author, _) = server.join("archivist", None).await;
    for n in 0..20 {
        author.post(&format!("b-{n}"), &format!("worth keeping {n}")).await;
    }
    let settings = settings_for(&server);
    let copy = dir.path().join("backups").join("natter-copy.db");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    // Writes keep arriving while the copy is taken.
    let writing = tokio::spawn(async move {
        for n in 20..60 {
            author.post(&format!("b-{n}"), &format!("worth keeping {n}")).await;
        }
    });
    let bytes = cli::backup(&settings, &copy).await.expect("a backup beside the running server");
    assert!(bytes > 0);
    writing.await.unwrap();

    let conn = rusqlite::Connection::open(&copy).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM messages WHERE body LIKE 'worth keeping %'", [], |row| row.get(0))
        .unwrap();
    assert!((20..=60).contains(&kept), "a snapshot from between the writes, got {kept}");
    // The copy is a prefix of the history: no message after a gap.
    let last: i64 = conn.query_row("SELECT max(id) FROM messages", [], |row| row.get(0)).unwrap();
    let count: i64 = conn.query_row("SELECT count(*) FROM messages", [], |row| row.get(0)).unwrap();
    let first: i64 = conn.query_row("SELECT min(id) FROM messages", [], |row| row.get(0)).unwrap();
    assert_eq!(last - first + 1, count);

    let again = cli::backup(&settings, &copy).await;
    assert!(matches!(again, Err(CliError::BackupExists(_))), "{again:?}");
    let missing = Settings { db: dir.path().join("no-such.db"), ..settings };
    assert!(cli::backup(&missing, &dir.path().join("other.db")).await.is_err(), "a mistyped --db fails");
    assert!(!dir.path().join("no-such.db").exists(), "and creates nothing");
    server.stop().await;
}

#[tokio::test]
async fn a_bot_created_on_the_command_line_chats_over_the_socket_and_http() {
    let (_dir, server) = start().await;
    let (mut reader, _) = server.join("reader", None).await;
    let (bot, token) = cli::create_bot(&settings_for(&server), "weatherbot").await.unwrap();
    assert!(bot.is_bot);
    assert_eq!(token.len(), 64);

    let mut socket = Client::connect_bot(server.addr, &token).await.expect("a bot token opens the socket");
    socket.send(json!({ "type": "hello" })).await;
    let welcome = socket.expect("welcome").await;
    assert_eq!(welcome["you"]["nickname"], "weatherbot");
    assert_eq!(welcome["you"]["is_bot"], true);
    let ack = socket.post("wx-1", "Sunny, 21 °C").await;
    assert_eq!(reader.expect("message").await["message"]["id"], ack["id"]);

    let posted = post_json(
        server.addr,
        "/api/bot/messages",
        Some(&token),
        None,
        &json!({ "client_msg_id": "wx-2", "body": "Rain later" }),
    )
    .await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    let posted: Value = serde_json::from_str(&posted.body).unwrap();
    let seen = reader.expect("message").await["message"].clone();
    assert_eq!((seen["id"].clone(), seen["nickname"].clone()), (posted["id"].clone(), json!("weatherbot")));

    let refused = post_json(
        server.addr,
        "/api/bot/messages",
        Some(&token),
        None,
        &json!({ "client_msg_id": "wx-3", "body": " " }),
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(serde_json::from_str::<Value>(&refused.body).unwrap()["code"], "empty_message");
    let forged = post_json(
        server.addr,
        "/api/bot/messages",
        Some(&"f".repeat(64)),
        None,
        &json!({ "client_msg_id": "x", "body": "hi" }),
    )
    .await;
    assert_eq!(forged.status, 401);
    assert!(matches!(cli::create_bot(&settings_for(&server), "WeatherBot").await, Err(CliError::Refused(_))));
    server.stop().await;
}

#[tokio::test]
async fn announcements_come_from_natter_and_only_admins_may_make_them() {
    let (_dir, server) = start().await;
    let admin = server.register("alice").await;
    let member = server.register("bob").await;
    let (mut reader, _) = server.join_as(&member, None).await;

    let refused =
        post_json(server.addr, "/api/announce", None, Some(&member), &json!({ "text": "I am in charge" })).await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    let id = cli::announce(&settings_for(&server), AnnounceTo::Everyone, "Maintenance at 18:00 UTC").await.unwrap();
    let announced = reader.expect("message").await["message"].clone();
    assert_eq!(announced["id"], id.get());
    assert_eq!(announced["nickname"], "Natter");
    assert_eq!(announced["kind"], "announcement");

    let by_admin =
        post_json(server.addr, "/api/announce", None, Some(&admin), &json!({ "text": "Welcome, everyone" })).await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.body);
    let (_, body) = server.get("/api/history").await;
    let history: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|m| m["kind"] == "announcement" && m["nickname"] == "Natter"));

    // The announcement's short-lived token is gone once the command returns.
    let (_, body) = server.get("/api/online").await;
    assert!(!body.contains("Natter"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn the_admin_command_promotes_a_user() {
    let (_dir, server) = start().await;
    server.register("alice").await;
    let bob = server.register("bob").await;
    let promoted = cli::make_admin(&settings_for(&server), "BOB").await.unwrap();
    assert_eq!(promoted.role, natter::protocol::Role::Admin);
    let announced = post_json(server.addr, "/api/announce", None, Some(&bob), &json!({ "text": "hello" })).await;
    assert_eq!(announced.status, 200, "{}", announced.body);
    assert!(matches!(cli::make_admin(&settings_for(&server), "nobody").await, Err(CliError::NoSuchUser(_))));
    server.stop().await;
}

fn id_form(name: &str, id: &Value) -> String {
    format!("{name}={id}")
}

#[tokio::test]
async fn authors_and_admins_delete_messages_and_everyone_sees_a_placeholder() {
    let (_dir, server) = start().await;
    let admin = server.register("alice").await;
    let (mut bob, _) = server.join("bob", None).await;
    let carol_token = server.register("carol").await;
    let (mut carol, _) = server.join_as(&carol_token, None).await;
    let bobs = bob.post("b-1", "bob's secret").await["id"].clone();
    let carols = carol.post("c-1", "carol's words").await["id"].clone();
    let regretted = carol.post("c-2", "carol regrets this").await["id"].clone();
    let own = crate::support::http(
        server.addr,
        "POST",
        "/api/delete_message",
        Some(&carol_token),
        &id_form("id", &regretted),
    )
    .await;
    assert_eq!(own.status, 200, "authors delete their own: {}", own.body);
    assert_eq!(bob.expect("message_updated").await["message"]["id"], regretted);
    assert_eq!(carol.expect("message_updated").await["message"]["id"], regretted);

    let not_the_author =
        crate::support::http(server.addr, "POST", "/api/delete_message", None, &id_form("id", &bobs)).await;
    assert_eq!(not_the_author.status, 401, "signed out: {}", not_the_author.body);
    // A member who is neither the author nor an admin may not delete it.
    let dave = server.register("dave").await;
    let forbidden =
        crate::support::http(server.addr, "POST", "/api/delete_message", Some(&dave), &id_form("id", &bobs)).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);

    let by_admin =
        crate::support::http(server.addr, "POST", "/api/delete_message", Some(&admin), &id_form("id", &bobs)).await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.body);
    assert_eq!(carol.expect("message_updated").await["message"]["id"], bobs);
    let again =
        crate::support::http(server.addr, "POST", "/api/delete_message", Some(&admin), &id_form("id", &bobs)).await;
    assert_eq!(again.status, 404, "deleting twice is refused: {}", again.body);

    let (_, body) = server.get("/api/history").await;
    let history: Vec<Value> = serde_json::from_str(&body).unwrap();
    let deleted = history.iter().find(|m| m["id"] == bobs).unwrap();
    assert_eq!((deleted["deleted"].clone(), deleted["body"].clone()), (json!(true), json!("")));
    let kept = history.iter().find(|m| m["id"] == carols).unwrap();
    assert_eq!(kept["body"], "carol's words");
    let (_, page) = server.get("/").await;
    assert!(!page.contains("bob&#x27;s secret") && !page.contains("bob's secret"), "gone from the page too");
    server.stop().await;
}

#[tokio::test]
async fn a_ban_closes_every_socket_of_the_user_and_keeps_them_out() {
    let (_dir, server) = start().await;
    let admin = server.register("alice").await;
    let mallory = server.register("mallory").await;
    http_set_password(&server, &mallory, "mallory's password").await;
    let (mut first, welcome) = server.join_as(&mallory, None).await;
    let mallory_id = welcome["you"]["id"].clone();
    let (mut second, _) = server.join_as(&mallory, None).await;
    let (mut watcher, _) = server.join("watcher", None).await;

    let by_member =
        crate::support::http(server.addr, "POST", "/api/ban_user", Some(&mallory), &id_form("user_id", &mallory_id))
            .await;
    assert_eq!(by_member.status, 403, "{}", by_member.body);
    let (_admin_socket, admin_welcome) = server.join_as(&admin, None).await;
    let admin_id = admin_welcome["you"]["id"].clone();
    let self_ban =
        crate::support::http(server.addr, "POST", "/api/ban_user", Some(&admin), &id_form("user_id", &admin_id)).await;
    assert_eq!(self_ban.status, 400);

    let banned =
        crate::support::http(server.addr, "POST", "/api/ban_user", Some(&admin), &id_form("user_id", &mallory_id))
            .await;
    assert_eq!(banned.status, 200, "{}", banned.body);
    assert_eq!(first.closed().await, Some(CloseCode::Policy));
    assert_eq!(second.closed().await, Some(CloseCode::Policy));
    assert_eq!(watcher.expect("user_left").await["nickname"], "mallory");
    assert_eq!(Client::connect(server.addr, Some(&mallory), None).await.err(), Some(401));
    let sign_in = crate::support::http(
        server.addr,
        "POST",
        "/api/sign_in",
        None,
        "nickname=mallory&password=mallory%27s+password",
    )
    .await;
    assert_eq!(sign_in.status, 401, "a banned user cannot sign in: {}", sign_in.body);
    assert_eq!(server.try_register("MALLORY").await.status, 400, "the nickname stays taken");
    server.stop().await;
}

async fn http_set_password(server: &TestServer, token: &str, password: &str) {
    let form = format!("password={}", password.replace(' ', "+").replace('\'', "%27"));
    let response = crate::support::http(server.addr, "POST", "/api/set_password", Some(token), &form).await;
    assert_eq!(response.status, 200, "{}", response.body);
}
