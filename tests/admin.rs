//! Bots, admins and announcements: the `natter` admin commands against a running server.

mod support;

use natter::cli::{self, CliError};
use serde_json::{json, Value};
use support::{post_json, settings_for, Client, TestServer};

async fn start() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(&dir.path().join("natter.db")).await;
    (dir, server)
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

    let id = cli::announce(&settings_for(&server), "Maintenance at 18:00 UTC").await.unwrap();
    let announced = reader.expect("message").await["message"].clone();
    assert_eq!(announced["id"], id);
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
