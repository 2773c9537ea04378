//! `natter move-to`: a SQLite install, populated through the server's public interfaces, moved into
//! a throw-away PostgreSQL; every table compared row by row, then a Natter on PostgreSQL serves the
//! moved history, sessions, passwords, search and files as the old one did.

use std::path::{Path, PathBuf};

use crate::support::postgres::new_database;
use crate::support::{form_encode, get_bytes, http, post_bytes, relaxed_limits, settings_for, start, TestServer};
use natter::server::cli::{self, CliError};
use natter::server::config::Settings;
use natter::server::store::{MoveError, Progress};
use serde_json::{json, Value};

/// Every column of every table that moves, as both schemas name them.
const TABLES: &[(&str, &[&str], &str)] = &[
    ("users", &["id", "nickname", "nickname_key", "role", "is_bot", "password_hash", "banned_at", "created_at"], "id"),
    ("sessions", &["token_hash", "user_id", "created_at", "expires_at"], "token_hash"),
    ("rooms", &["id", "name", "name_key", "kind", "created_by", "created_at", "archived_at"], "id"),
    ("memberships", &["room_id", "user_id", "joined_at", "last_read_id", "notify"], "room_id, user_id"),
    (
        "messages",
        &[
            "id",
            "room_id",
            "author_id",
            "nickname",
            "body",
            "sent_at",
            "client_msg_id",
            "kind",
            "deleted_at",
            "edited_at",
            "rev",
        ],
        "id",
    ),
    ("reactions", &["message_id", "emoji", "user_id", "reacted_at", "rev"], "message_id, emoji, user_id"),
    ("mentions", &["user_id", "message_id"], "user_id, message_id"),
    ("files", &["id", "message_id", "name", "content_type", "size", "width", "height", "created_at"], "id"),
];

type Rows = Vec<Vec<Option<String>>>;

/// A table's rows from the SQLite file, each value as text (blobs as hex, booleans as 0/1).
fn sqlite_rows(db: &Path, table: &str, columns: &[&str], order: &str) -> Rows {
    let conn = rusqlite::Connection::open(db).expect("open the SQLite file");
    let shown: Vec<String> = columns
        .iter()
        .map(|c| if *c == "token_hash" { format!("hex({c})") } else { format!("CAST({c} AS TEXT)") })
        .collect();
    let mut statement =
        conn.prepare(&format!("SELECT {} FROM {table} ORDER BY {order}", shown.join(", "))).expect("a SQLite query");
    statement
        .query_map([], |row| (0..columns.len()).map(|i| row.get::<_, Option<String>>(i)).collect())
        .expect("SQLite rows")
        .collect::<Result<_, _>>()
        .expect("SQLite values")
}

/// The same from PostgreSQL, shown the same way.
async fn postgres_rows(client: &tokio_postgres::Client, table: &str, columns: &[&str], order: &str) -> Rows {
    let shown: Vec<String> = columns
        .iter()
        .map(|c| match *c {
            "token_hash" => format!("upper(encode({c}, 'hex'))"),
            "is_bot" => format!("{c}::int::text"),
            _ => format!("{c}::text"),
        })
        .collect();
    // Text keys in byte order, as SQLite sorts them.
    let order: Vec<String> = order
        .split(", ")
        .map(|key| match key {
            "id" if table == "files" => "id COLLATE \"C\"".to_owned(),
            "emoji" => "emoji COLLATE \"C\"".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    let sql = format!("SELECT {} FROM {table} ORDER BY {}", shown.join(", "), order.join(", "));
    let rows = client.query(&sql, &[]).await.expect("a PostgreSQL query");
    rows.iter().map(|row| (0..columns.len()).map(|i| row.get::<_, Option<String>>(i)).collect()).collect()
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

fn form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect::<Vec<_>>().join("&")
}

/// What signing in and catching up need to know of one person.
struct Person {
    token: String,
    id: i64,
}

async fn person(server: &TestServer, nickname: &str) -> Person {
    let token = server.register(nickname).await;
    let (client, welcome) = server.join_as(&token, None).await;
    client.close().await;
    Person { token, id: welcome["you"]["id"].as_i64().expect("an id") }
}

/// Every message a client is sent after `hello` with `since`, until the last history page.
async fn catch_up(server: &TestServer, token: &str, since: i64) -> Vec<(i64, i64)> {
    let (mut client, _) = server.join_as(token, Some(since)).await;
    let mut seen = Vec::new();
    loop {
        let page = client.expect("history").await;
        for message in page["messages"].as_array().expect("messages") {
            seen.push((message["id"].as_i64().expect("an id"), message["rev"].as_i64().unwrap_or(0)));
        }
        if page["complete"] == true {
            client.close().await;
            return seen;
        }
    }
}

#[tokio::test]
async fn a_moved_install_keeps_every_row_and_its_clients_catch_up_sign_in_and_search_on_postgres() {
    let (dir, server) = start().await;
    let alice = person(&server, "alice").await;
    let bob = person(&server, "bob").await;
    let set =
        http(server.addr, "POST", "/api/set_password", Some(&alice.token), &form(&[("password", "correct horse")]))
            .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let (_bot, bot_token) = cli::create_bot(&settings_for(&server), "wxbot").await.unwrap();
    let ops = crate::support::create_room(&server, &alice.token, "ops", false).await;
    let secret = crate::support::create_room(&server, &alice.token, "secret", true).await;
    let (status, _) =
        server.call("POST", "/api/invite", Some(&alice.token), &format!("room_id={secret}&nickname=bob")).await;
    assert_eq!(status, 200);
    let (status, direct) = server.call("POST", "/api/direct", Some(&alice.token), &format!("user_id={}", bob.id)).await;
    assert_eq!(status, 200, "{direct}");
    let direct = direct["id"].as_i64().unwrap();

    let (mut talk, _) = server.join_as(&alice.token, None).await;
    let mut ids = Vec::new();
    for (n, room) in [1, ops, secret, direct, 1, 1].into_iter().enumerate() {
        let body = format!("moving note {n}: deploy on friday, @bob");
        ids.push(talk.post_to(room, &format!("m-{n}"), &body).await["id"].as_i64().unwrap());
    }
    let edit = form(&[("id", &ids[0].to_string()), ("body", "rewritten before the move")]);
    assert_eq!(server.call("POST", "/api/edit_message", Some(&alice.token), &edit).await.0, 200);
    assert_eq!(server.call("POST", "/api/delete_message", Some(&alice.token), &format!("id={}", ids[1])).await.0, 200);
    let react = format!("id={}&emoji=%F0%9F%91%8D", ids[2]);
    assert_eq!(server.call("POST", "/api/react", Some(&bob.token), &react).await.0, 200);
    let notify = format!("room_id={ops}&level=all");
    assert_eq!(server.call("POST", "/api/set_notify", Some(&alice.token), &notify).await.0, 200);
    let upload = format!("/api/upload?room_id=1&client_msg_id=f-1&name={}", form_encode("notes.txt"));
    let uploaded = post_bytes(server.addr, &upload, &alice.token, b"the plan, in plain text\n").await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    let file_id = serde_json::from_str::<Value>(&uploaded.body).unwrap()["file"]["id"].as_str().unwrap().to_owned();
    let (mut reader, _) = server.join_as(&bob.token, None).await;
    reader.send(json!({ "type": "read", "room_id": 1, "last_read_id": ids[4] })).await;
    reader.expect("read").await;
    reader.close().await;
    talk.close().await;
    let db = server.db.clone();
    let settings = settings_for(&server);
    server.stop().await;

    let url = new_database().await;
    let mut steps = Vec::new();
    let moved = cli::move_to(&settings, &url, &mut |step| steps.push(step)).await.expect("the move");
    assert!(steps.contains(&Progress::Copied { table: "messages", copied: 7, total: 7 }), "{steps:?}");
    assert_eq!(moved.tables.iter().find(|(table, _)| *table == "messages"), Some(&("messages", 7)));

    // Every table, row by row, and no table or column left out of the comparison.
    let pg = connect(&url).await;
    for (table, columns, order) in TABLES {
        let before = sqlite_rows(&db, table, columns, order);
        assert!(!before.is_empty(), "{table} should have rows to compare");
        assert_eq!(postgres_rows(&pg, table, columns, order).await, before, "{table} moved unchanged");
        let pg_columns: Vec<String> = pg
            .query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1 AND column_name <> 'search'
                 ORDER BY column_name",
                &[table],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut listed: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        listed.sort();
        assert_eq!(pg_columns, listed, "every column of {table} is compared");
    }
    let pg_tables: Vec<String> = pg
        .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut expected: Vec<String> = TABLES
        .iter()
        .map(|(t, _, _)| t.to_string())
        .chain(["presence", "schema_version", "stream"].map(String::from))
        .collect();
    expected.sort();
    assert_eq!(
        pg_tables, expected,
        "every table is compared (presence, stream and schema_version are PostgreSQL's own)"
    );

    // A Natter on PostgreSQL, with the old data folder (the key file and files/) mounted.
    let node = TestServer::start_with_settings(Settings {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        db: PathBuf::from(&url),
        data_dir: Some(dir.path().to_owned()),
        limits: relaxed_limits(),
        ..Settings::default()
    })
    .await;
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut in_alices_rooms = conn
        .prepare(
            "SELECT id, rev FROM messages WHERE room_id IN (SELECT room_id FROM memberships WHERE user_id = ?1) ORDER BY id",
        )
        .unwrap();
    let old: Vec<(i64, i64)> = in_alices_rooms
        .query_map([alice.id], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(catch_up(&node, &alice.token, 0).await, old, "the old session catches up on every moved message");
    let since = ids[2];
    let newer: Vec<(i64, i64)> = old.iter().copied().filter(|(id, _)| *id > since).collect();
    assert_eq!(catch_up(&node, &alice.token, since).await, newer, "and resumes after the last id it saw");

    let mut bot = crate::support::Client::connect_bot(node.addr, &bot_token).await.expect("the old bot token");
    bot.send(json!({ "type": "hello" })).await;
    assert_eq!(bot.expect("welcome").await["you"]["nickname"], "wxbot");
    bot.close().await;
    let signed_in =
        http(node.addr, "POST", "/api/sign_in", None, &form(&[("nickname", "alice"), ("password", "correct horse")]))
            .await;
    assert_eq!(signed_in.status, 200, "the old password: {}", signed_in.body);
    let (status, found) = node.call("GET", "/api/search?q=rewritten", Some(&alice.token), "").await;
    assert_eq!(status, 200);
    assert_eq!(found["hits"][0]["message"]["id"], ids[0], "search finds moved text: {found}");
    let (file, bytes) = get_bytes(node.addr, &format!("/files/{file_id}"), Some(&alice.token)).await;
    assert_eq!((file.status, bytes), (200, b"the plan, in plain text\n".to_vec()));

    let (mut talk, _) = node.join_as(&alice.token, None).await;
    let newest = old.iter().map(|(id, _)| *id).max().unwrap();
    let after = talk.post("after", "the first word on PostgreSQL").await["id"].as_i64().unwrap();
    assert!(after > newest, "{after} continues after {newest}");
    talk.close().await;
    node.stop().await;

    // The target now holds Natter data: a second move is refused and changes nothing.
    let again = cli::move_to(&settings, &url, &mut |_| {}).await;
    assert!(matches!(again, Err(CliError::Move(MoveError::TargetNotEmpty(_)))), "{again:?}");
    let count = pg.query_one("SELECT count(*) FROM messages", &[]).await.unwrap().get::<_, i64>(0);
    assert_eq!(count, 8);
}
