//! Moves between a real SQLite file and a throw-away PostgreSQL (`postgres/test_support.rs`): the
//! rows, the counters after them, the refusals.

use std::path::Path;
use std::time::Instant;

use rusqlite::Connection;

use super::*;
use crate::protocol::{ChatMessage, MessageId, Revision, RoomKind};
use crate::server::store::conformance::{message, user};
use crate::server::store::postgres::test_support::{self, new_database, on_runtime};
use crate::server::store::{Actor, MessageChange, SearchFilter, SearchTerm, SqliteStore, Store};

const MESSAGES: i64 = 12_000;

/// A Natter SQLite database with three users, three rooms, `MESSAGES` messages (one edited, one
/// deleted, one reacted to, one mentioning, one with a file), and a message counter that handed out
/// five more ids than the table holds (as AUTOINCREMENT may).
fn populated(path: &Path) {
    drop(SqliteStore::open(path, Box::new(|_| {})).expect("a new SQLite store"));
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO users (id, nickname, nickname_key, role, is_bot, password_hash, created_at) VALUES
             (1, 'alice', 'alice', 'admin', 0, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', 1000),
             (2, 'wxbot', 'wxbot', 'member', 1, NULL, 1001),
             (3, 'Carol', 'carol', 'member', 0, NULL, 1002);
         UPDATE users SET banned_at = 5000 WHERE id = 2;
         INSERT INTO sessions VALUES (x'0102', 1, 1000, 99999999999999), (x'ff00', 2, 1001, NULL);
         INSERT INTO rooms (id, name, name_key, kind, created_by, created_at, archived_at) VALUES
             (2, 'ops', 'ops', 'public', 1, 1100, 7000), (3, 'dm:1:3', 'dm:1:3', 'direct', 1, 1200, NULL);
         INSERT INTO memberships (room_id, user_id, joined_at, last_read_id, notify) VALUES
             (1, 1, 1000, 40, NULL), (1, 2, 1001, 0, 'nothing'), (1, 3, 1002, 3, 'all'), (2, 1, 1100, 0, NULL),
             (3, 1, 1200, 0, NULL), (3, 3, 1200, 9, 'mentions');
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MESSAGES})
         INSERT INTO messages (nickname, body, sent_at, client_msg_id, author_id, room_id, kind)
             SELECT 'alice', 'note ' || i || ' deploy friday', 2000 + i, 'c' || i, 1, 1 + i % 3,
                    CASE i WHEN 4 THEN 'announcement' ELSE 'chat' END FROM n;
         UPDATE messages SET body = 'rewritten plans', edited_at = 90000, rev = 1 WHERE id = 5;
         UPDATE messages SET body = '', deleted_at = 90001, rev = 2 WHERE id = 6;
         INSERT INTO reactions VALUES (7, '👍', 3, 90002, 3);
         UPDATE messages SET rev = 3 WHERE id = 7;
         INSERT INTO mentions VALUES (3, 8);
         INSERT INTO files VALUES ('0123456789abcdef0123456789abcdef', 9, 'plan.png', 'image/png', 10, 2, 3, 2009);
         UPDATE sqlite_sequence SET seq = seq + 5 WHERE name = 'messages';"
    ))
    .unwrap();
}

async fn move_into(
    source: &Path,
    target: &tokio_postgres::Config,
    batch: usize,
) -> (Result<Moved, MoveError>, Vec<Progress>) {
    let mut steps = Vec::new();
    let moved = move_in_batches(source, target.clone(), batch, &mut |step| steps.push(step)).await;
    (moved, steps)
}

/// The first column of every row `sql` answers on the database `config` names.
fn numbers(config: &tokio_postgres::Config, sql: &str) -> Vec<i64> {
    on_runtime(async {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        let rows = client.query(sql, &[]).await.unwrap();
        drop(client);
        let _ = driver.await;
        rows.iter().map(|row| row.get(0)).collect()
    })
}

#[tokio::test]
async fn many_messages_move_in_batches_and_new_ids_and_revisions_continue_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("natter.db");
    populated(&source);
    let target = new_database();
    let started = Instant::now();
    let (moved, steps) = move_into(&source, &target, 1_000).await;
    let moved = moved.expect("the move");
    eprintln!("moved {MESSAGES} messages in {:.2} s", started.elapsed().as_secs_f64());
    let expected = [
        ("users", 3),
        ("sessions", 2),
        ("rooms", 3),
        ("memberships", 6),
        ("messages", MESSAGES as u64),
        ("reactions", 1),
        ("mentions", 1),
        ("files", 1),
    ];
    assert_eq!(moved.tables, expected);
    assert_eq!(moved.upgraded_from, None);
    let copied: Vec<u64> = steps
        .iter()
        .filter_map(|step| match step {
            Progress::Copied { table: "messages", copied, total } => Some((*copied, *total)),
            _ => None,
        })
        .map(|(copied, total)| {
            assert_eq!(total, MESSAGES as u64);
            copied
        })
        .collect();
    assert_eq!(copied, (1..=MESSAGES as u64 / 1_000).map(|n| n * 1_000).collect::<Vec<_>>(), "one report per batch");
    assert!(matches!(steps.first(), Some(Progress::Counted { .. })));
    assert_eq!(steps.last(), Some(&Progress::Committing));

    assert_eq!(numbers(&target, "SELECT count(*) FROM messages"), [MESSAGES]);
    assert_eq!(numbers(&target, "SELECT count(*) FROM stream"), [0], "the stream starts empty");
    assert_eq!(numbers(&target, "SELECT id FROM users WHERE is_bot AND banned_at = 5000"), [2]);

    let store: Box<dyn Store> = Box::new(test_support::open(&target, Box::new(|_| {})));
    let alice = store.user_by_id(crate::protocol::UserId(1)).await.unwrap().expect("alice moved");
    assert_eq!(store.last_id().await.unwrap(), MessageId(MESSAGES));
    assert_eq!(store.last_change().await.unwrap(), Revision(3));
    let found = store
        .search(
            Some(alice.id),
            SearchFilter { terms: vec![SearchTerm::Word("rewritten".into())], ..SearchFilter::default() },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|found| found.message.id).collect::<Vec<_>>(),
        [MessageId(5)],
        "search reads moved text"
    );
    let new: ChatMessage =
        store.insert(message(&alice, "after", "the first word on PostgreSQL")).await.unwrap().message;
    assert_eq!(new.id, MessageId(MESSAGES + 5 + 1), "after every id SQLite ever handed out");
    assert!(new.sent_at > 2000 + MESSAGES);
    let edited = store.change_message(new.id, MessageChange::Delete, Actor { user_id: alice.id, admin: true });
    assert_eq!(edited.await.unwrap().expect("deleted").rev, Revision(4));
    let dana = user(store.as_ref(), "dana").await;
    assert_eq!(dana.id.get(), 4);
    let room = store.create_room("later".into(), RoomKind::Public, dana.id).await.unwrap();
    assert_eq!(room.id.get(), 4);
    store.shutdown().await;
}

#[tokio::test]
async fn a_target_holding_natter_data_is_refused_and_left_as_it_was_but_a_merely_migrated_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("natter.db");
    populated(&source);

    let used = new_database();
    let store: Box<dyn Store> = Box::new(test_support::open(&used, Box::new(|_| {})));
    let someone = user(store.as_ref(), "someone").await;
    store.insert(message(&someone, "x", "already here")).await.unwrap();
    store.shutdown().await;
    let (moved, _) = move_into(&source, &used, BATCH).await;
    let Err(MoveError::TargetNotEmpty(held)) = moved else { panic!("not refused: {moved:?}") };
    assert!(held.contains("users: 1 rows") && held.contains("messages: 1 rows"), "{held}");
    assert_eq!(numbers(&used, "SELECT count(*) FROM messages"), [1], "nothing written");
    assert_eq!(numbers(&used, "SELECT count(*) FROM users"), [1]);

    // A database a Natter once started on (migrated, its general room) but nobody used is empty.
    let migrated = new_database();
    let store: Box<dyn Store> = Box::new(test_support::open(&migrated, Box::new(|_| {})));
    store.shutdown().await;
    let (moved, _) = move_into(&source, &migrated, BATCH).await;
    assert_eq!(moved.expect("moved into a migrated database").tables[4], ("messages", MESSAGES as u64));
}

#[tokio::test]
async fn a_failed_move_leaves_the_target_without_even_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("natter.db");
    populated(&source);
    // A message whose room does not exist (SQLite's room_id has no foreign key): PostgreSQL's does.
    Connection::open(&source).unwrap().execute("UPDATE messages SET room_id = 99 WHERE id = 11000", []).unwrap();
    let target = new_database();
    let (moved, _) = move_into(&source, &target, 1_000).await;
    assert!(matches!(moved, Err(MoveError::Db(_))), "{moved:?}");
    assert_eq!(numbers(&target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), [0]);
}

#[tokio::test]
async fn a_source_that_is_not_a_natter_database_is_refused_and_a_missing_one_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let target = new_database();
    let missing = dir.path().join("typo.db");
    let (moved, _) = move_into(&missing, &target, BATCH).await;
    assert!(matches!(moved, Err(MoveError::NoSource(_))), "{moved:?}");
    assert!(!missing.exists());

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database, just some words that fill a page of text ".repeat(100)).unwrap();
    let (moved, _) = move_into(&text, &target, BATCH).await;
    assert!(matches!(&moved, Err(MoveError::NotNatter { why, .. }) if why.contains("not a SQLite")), "{moved:?}");

    let other = dir.path().join("other.db");
    Connection::open(&other).unwrap().execute_batch("CREATE TABLE things (id INTEGER PRIMARY KEY);").unwrap();
    let (moved, _) = move_into(&other, &target, BATCH).await;
    assert!(matches!(&moved, Err(MoveError::NotNatter { why, .. }) if why.contains("no Natter schema")), "{moved:?}");
    assert_eq!(numbers(&target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), [0], "target untouched");
}
