//! The SQLite store's behaviour, on real database files in temp folders.

use std::path::Path;
use std::sync::mpsc as std_mpsc;

use rusqlite::Connection;

use super::migrate::{Migration, MIGRATIONS};
use super::rooms::direct_key;
use super::search::{fts_expression, search_sql};
use super::*;
use crate::server::store::conformance::{self, *};
use crate::server::store::SearchFilter;

/// Every row in the messages table, whatever its room: to prove a refusal stored nothing.
fn stored_bodies(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT body FROM messages ORDER BY id").unwrap();
    stmt.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn open(path: &Path) -> (SqliteStore, std_mpsc::Receiver<Vec<ChatMessage>>) {
    let (store, stored, _) = open_hearing_joins(path);
    (store, stored)
}

/// A store whose events are heard: the batches of stored messages, and each member who joined.
fn open_hearing_joins(
    path: &Path,
) -> (SqliteStore, std_mpsc::Receiver<Vec<ChatMessage>>, std_mpsc::Receiver<(Room, Member)>) {
    let (stored, heard_stored) = std_mpsc::channel();
    let (joined, heard_joined) = std_mpsc::channel();
    let store = SqliteStore::open(
        path,
        Box::new(move |event| match event {
            StoreEvent::MessagesStored(messages) => {
                let _ = stored.send(messages.to_vec());
            }
            StoreEvent::MemberJoined { room, member } => {
                let _ = joined.send((room.clone(), member.clone()));
            }
            _ => {}
        }),
    )
    .unwrap();
    (store, heard_stored, heard_joined)
}

#[tokio::test]
async fn data_survives_a_restart_and_shutdown_finishes_queued_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/natter.db");
    {
        let (store, _) = open(&path);
        let alice = user(&store, "alice").await;
        let pending: Vec<_> = (0..10)
            .map(|i| {
                let (store, alice) = (store.clone(), alice.clone());
                tokio::spawn(async move { store.insert(message(&alice, &format!("{i}"), "kept")).await })
            })
            .collect();
        for task in pending {
            task.await.unwrap().unwrap();
        }
        store.shutdown().await;
        assert!(matches!(store.insert(message(&alice, "late", "x")).await, Err(DbError::Closed)));
    }
    let (store, _) = open(&path);
    assert_eq!(store.history(GENERAL_ROOM_ID, None, 50).await.unwrap().len(), 10);
    let bob = user(&store, "bob").await;
    let next = store.insert(message(&bob, "b", "after restart")).await.unwrap();
    assert_eq!(next.message.id, MessageId(11));
}

#[tokio::test]
async fn messages_from_before_accounts_get_authors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../../../migrations/sqlite/0001_messages.sql")).unwrap();
        conn.execute_batch(
            "INSERT INTO messages (nickname, body, sent_at, client_msg_id) VALUES
               ('alice', 'one', 1, 'a'), ('bob', 'two', 2, 'b'), ('ALICE', 'three', 3, 'c');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let (store, _) = open(&path);
    let history = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
    let authors: Vec<UserId> = history.iter().map(|m| m.author_id).collect();
    assert_eq!(authors[0], authors[2], "alice and ALICE are one person now");
    assert_ne!(authors[0], authors[1]);
    assert!(authors.iter().all(|&id| id > UserId(0)));
    assert_eq!(history[2].nickname, "alice");
}

#[tokio::test]
async fn posting_is_refused_to_non_members_and_in_archived_rooms_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.db");
    let (store, announced) = open(&path);
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    let secret = room(&store, "secret", RoomKind::Private, &alice).await;
    let refused = store.insert(message_in(secret.id, &bob, "b-1", "let me in")).await;
    assert!(matches!(refused, Err(DbError::NotAllowed)), "{refused:?}");
    let nowhere = store.insert(message_in(RoomId(999), &alice, "a-0", "no such room")).await;
    assert!(matches!(nowhere, Err(DbError::NotAllowed)), "{nowhere:?}");
    let kept = store.insert(message_in(secret.id, &alice, "a-1", "before the archive")).await.unwrap();

    assert!(store.archive_room(secret.id).await.unwrap());
    assert!(!store.archive_room(secret.id).await.unwrap(), "archiving twice changes nothing");
    let archived = store.insert(message_in(secret.id, &alice, "a-2", "after the archive")).await;
    assert!(matches!(archived, Err(DbError::NotAllowed)), "members cannot post in an archived room either");
    // Natter's announcements skip the membership check, but not the archive.
    let mut announcement = message_in(secret.id, &bob, "n-1", "announced");
    announcement.kind = MessageKind::Announcement;
    announcement.members_only = false;
    assert!(matches!(store.insert(announcement.clone()).await, Err(DbError::NotAllowed)));
    let open_room = room(&store, "lounge", RoomKind::Public, &alice).await;
    announcement.room_id = open_room.id;
    let announced_there = store.insert(announcement).await.unwrap();

    assert_eq!(stored_bodies(&path), ["before the archive", "announced"]);
    let ids: Vec<MessageId> = announced.try_iter().flatten().map(|m| m.id).collect();
    assert_eq!(ids, [kept.message.id, announced_there.message.id], "refusals are not broadcast");
}

#[tokio::test]
async fn a_refused_message_does_not_fail_the_others_committed_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.db");
    let (store, _) = open(&path);
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    let secret = room(&store, "secret", RoomKind::Private, &alice).await;
    // Queued together, so the writer is likely to commit them in one group.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (store, author) = (store.clone(), if i % 2 == 0 { alice.clone() } else { bob.clone() });
            tokio::spawn(async move { store.insert(message_in(secret.id, &author, &format!("{i}"), "x")).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        assert_eq!(result.is_ok(), i % 2 == 0, "{i}: {result:?}");
    }
    assert_eq!(stored_bodies(&path).len(), 20);
}

#[tokio::test]
async fn a_resend_returns_the_original_even_where_the_author_can_no_longer_post() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.db");
    let (store, announced) = open(&path);
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    let lounge = room(&store, "lounge", RoomKind::Public, &alice).await;
    store.add_member(lounge.id, bob.id).await.unwrap().expect("bob was not a member");
    let bobs = store.insert(message_in(lounge.id, &bob, "b-1", "bye")).await.unwrap();
    assert!(store.remove_member(lounge.id, bob.id).await.unwrap());
    // The ack for a message stored before bob left must not turn into a refusal on retry.
    let again = store.insert(message_in(lounge.id, &bob, "b-1", "bye")).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message, bobs.message);
    assert!(matches!(store.insert(message_in(lounge.id, &bob, "b-2", "new")).await, Err(DbError::NotAllowed)));

    let alices = store.insert(message_in(lounge.id, &alice, "a-1", "last words")).await.unwrap();
    store.archive_room(lounge.id).await.unwrap();
    let again = store.insert(message_in(lounge.id, &alice, "a-1", "last words")).await.unwrap();
    assert_eq!((again.duplicate, again.message), (true, alices.message.clone()));

    assert_eq!(stored_bodies(&path), ["bye", "last words"]);
    let ids: Vec<MessageId> = announced.try_iter().flatten().map(|m| m.id).collect();
    assert_eq!(ids, [bobs.message.id, alices.message.id], "each broadcast once");
}

#[tokio::test]
async fn each_pair_of_users_has_one_direct_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, heard_joined) = open_hearing_joins(&dir.path().join("natter.db"));
    let (alice, bob, carol) = (user(&store, "alice").await, user(&store, "bob").await, user(&store, "carol").await);
    // What each opening told, one list per call.
    let (told, heard) = std_mpsc::channel();
    let open_direct = |from: &Account, to: &Account| {
        let (told, store, heard_joined, from, to) = (told.clone(), &store, &heard_joined, from.id, to.id);
        async move {
            let opened = store.open_direct(from, to).await;
            told.send(heard_joined.try_iter().collect::<Vec<_>>()).unwrap();
            opened
        }
    };
    let first = open_direct(&alice, &bob).await.unwrap();
    assert_eq!(open_direct(&bob, &alice).await.unwrap(), first, "either may open it; it is the same one");
    assert_eq!(open_direct(&alice, &bob).await.unwrap(), first);
    let joined: Vec<Vec<(Room, Member)>> = heard.try_iter().collect();
    assert_eq!(joined.len(), 3);
    assert!(joined[1].is_empty() && joined[2].is_empty(), "nobody is told twice");
    let views: Vec<(RoomId, String, RoomKind, Option<UserId>, UserId)> = joined[0]
        .iter()
        .map(|(room, who)| (room.id, room.name.clone(), room.kind, room.peer_id, who.user_id))
        .collect();
    assert_eq!(
        views,
        [
            (first, "bob".into(), RoomKind::Direct, Some(bob.id), alice.id),
            (first, "alice".into(), RoomKind::Direct, Some(alice.id), bob.id),
        ],
        "each sees it under the other's name"
    );
    assert_eq!(store.direct_room_of(bob.id, alice.id).await.unwrap(), Some(first));
    assert_eq!(store.direct_room_of(alice.id, carol.id).await.unwrap(), None);
    let with_carol = open_direct(&alice, &carol).await.unwrap();
    assert_ne!(with_carol, first);
    let members: Vec<UserId> = store.members(first).await.unwrap().iter().map(|m| m.user_id).collect();
    assert_eq!(members, [alice.id, bob.id]);
    assert!(store.sidebar(carol.id).await.unwrap().rooms.iter().all(|room| room.id != first));
    // Named rooms first, then conversations.
    let kinds: Vec<RoomKind> = store.sidebar(alice.id).await.unwrap().rooms.iter().map(|room| room.kind).collect();
    assert_eq!(kinds, [RoomKind::Public, RoomKind::Direct, RoomKind::Direct]);
    assert_eq!(store.room_by_name(direct_key(alice.id, bob.id)).await.unwrap(), None, "not reachable by name");
}

#[tokio::test]
async fn a_database_from_before_rooms_puts_everyone_in_general_having_read_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.db");
    let rooms_migration = MIGRATIONS
        .iter()
        .position(|migration| matches!(migration, Migration::Sql(sql) if sql.contains("CREATE TABLE rooms")));
    assert_eq!(rooms_migration, Some(6));
    {
        let mut conn = Connection::open(&path).unwrap();
        for migration in &MIGRATIONS[..6] {
            let tx = conn.transaction().unwrap();
            match migration {
                Migration::Sql(sql) => tx.execute_batch(sql).unwrap(),
                Migration::Code(step) => step(&tx).unwrap(),
            }
            tx.commit().unwrap();
        }
        conn.execute_batch(
            "INSERT INTO users (id, nickname, nickname_key, role, is_bot, created_at) VALUES
               (1, 'alice', 'alice', 'admin', 0, 1), (2, 'bob', 'bob', 'member', 0, 2),
               (3, 'wxbot', 'wxbot', 'member', 1, 3), (4, 'Natter', 'natter', 'admin', 1, 4);
             INSERT INTO messages (nickname, body, sent_at, client_msg_id, author_id, kind) VALUES
               ('alice', 'one', 1, 'a', 1, 'chat'), ('bob', 'two', 2, 'b', 2, 'chat'),
               ('Natter', 'three', 3, 'c', 4, 'announcement');
             PRAGMA user_version = 6;",
        )
        .unwrap();
    }
    let (store, _) = open(&path);
    let history = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
    assert_eq!(
        history.iter().map(|m| (m.body.as_str(), m.room_id.get())).collect::<Vec<_>>(),
        [("one", 1), ("two", 1), ("three", 1)]
    );
    let members: Vec<String> = store.members(GENERAL_ROOM_ID).await.unwrap().into_iter().map(|m| m.nickname).collect();
    assert_eq!(members, ["alice", "bob", "wxbot"], "people and bots, not Natter itself");
    for user_id in [1, 2, 3].map(UserId) {
        let sidebar = store.sidebar(user_id).await.unwrap();
        assert_eq!(sidebar.rooms.len(), 1);
        let general = &sidebar.rooms[0];
        assert_eq!((general.id, general.name.as_str(), general.kind), (GENERAL_ROOM_ID, "general", RoomKind::Public));
        assert_eq!((general.unread, general.last_read_id), (0, MessageId(3)), "what was said before counts as read");
    }
    assert!(store.sidebar(UserId(4)).await.unwrap().rooms.is_empty());
    let bob = store.user_by_id(UserId(2)).await.unwrap().unwrap();
    store.insert(message(&bob, "b-2", "after the upgrade")).await.unwrap();
    assert_eq!(unread(&store.sidebar(UserId(1)).await.unwrap(), GENERAL_ROOM_ID), 1);
    let room_ids: Vec<i64> =
        store.since(UserId(1), MessageId(0), 50).await.unwrap().iter().map(|m| m.room_id.get()).collect();
    assert_eq!(room_ids, [1, 1, 1, 1]);
}

#[tokio::test]
async fn a_database_from_a_newer_natter_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.db");
    Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let error = SqliteStore::open(&path, Box::new(|_| {})).err().unwrap();
    assert!(matches!(error, DbError::TooNew { found: 99, .. }));
}

/// The query plan of a search with words: FTS5 must drive, newest first, so a page costs as many
/// matches as it takes to fill it (not every match in a million messages).
fn search_plan(path: &Path, filter: &SearchFilter) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let fts = fts_expression(&filter.terms);
    let sql = search_sql(fts.is_some());
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let params = rusqlite::params![1, i64::MAX, 0, filter.author_key, filter.room, false, 21, fts];
    stmt.query_map(params, |row| row.get::<_, String>(3)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn searches_walk_the_index_newest_first_instead_of_sorting_or_scanning_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.db");
    let (store, _) = open(&path);
    let alice = user(&store, "alice").await;
    for n in 0..50 {
        store.insert(message(&alice, &format!("c{n}"), &format!("deploy number {n}"))).await.unwrap();
    }
    for query in ["deploy", "deploy from:alice", "deploy in:general", "\"deploy number\" before:2030-01-01"] {
        let plan = search_plan(&path, &crate::server::search::parse(query).unwrap());
        assert!(plan[0].starts_with("SCAN f VIRTUAL TABLE"), "{query}: {plan:#?}");
        assert!(plan.iter().all(|step| !step.contains("TEMP B-TREE")), "{query}: {plan:#?}");
    }
    let plan = search_plan(&path, &crate::server::search::parse("from:alice").unwrap());
    assert!(plan[0].contains("SCAN m") || plan[0].contains("SEARCH m"), "{plan:#?}");
    assert!(plan.iter().all(|step| !step.contains("TEMP B-TREE")), "{plan:#?}");
}

/// An empty SQLite store in a temp folder of its own, for the conformance suite.
fn fresh() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let (store, stored) = open(&dir.path().join("natter.db"));
    Fresh { store: std::sync::Arc::new(store), stored, _keep: Box::new(dir) }
}

conformance::store_conformance!(fresh);
