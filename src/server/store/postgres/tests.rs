//! The PostgreSQL store's behaviour, against a throw-away PostgreSQL (see `test_support`).

use std::sync::mpsc as std_mpsc;
use std::sync::Arc;

use super::rooms::direct_key;
use super::test_support::{self, hearing_stored, new_database, on_runtime};
use super::*;
use crate::protocol::{Account, Member, MessageKind, Room, RoomKind, GENERAL_ROOM_ID};
use crate::server::store::conformance::{self, *};

/// An empty PostgreSQL store in a database of its own, for the conformance suite.
fn fresh() -> Fresh {
    let (sink, stored) = hearing_stored();
    let store = test_support::open(&new_database(), sink);
    Fresh { store: Arc::new(store), stored, _keep: Box::new(()) }
}

conformance::store_conformance!(fresh);

/// Runs one statement on the database `config` names, outside any store.
fn sql(config: &tokio_postgres::Config, statement: &str) {
    on_runtime(async {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        client.batch_execute(statement).await.unwrap();
        drop(client);
        let _ = driver.await;
    });
}

/// Every row in the messages table, whatever its room: to prove a refusal stored nothing.
fn stored_bodies(config: &tokio_postgres::Config) -> Vec<String> {
    on_runtime(async {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        let rows = client.query("SELECT body FROM messages ORDER BY id", &[]).await.unwrap();
        drop(client);
        let _ = driver.await;
        rows.iter().map(|row| row.get(0)).collect()
    })
}

/// The ids in the messages table, in order.
fn stored_ids(config: &tokio_postgres::Config) -> Vec<i64> {
    on_runtime(async {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        let rows = client.query("SELECT id FROM messages ORDER BY id", &[]).await.unwrap();
        drop(client);
        let _ = driver.await;
        rows.iter().map(|row| row.get(0)).collect()
    })
}

/// A store whose events are heard: the batches of stored messages, and each member who joined.
fn open_hearing_joins(
    config: &tokio_postgres::Config,
) -> (PostgresStore, std_mpsc::Receiver<Vec<ChatMessage>>, std_mpsc::Receiver<(Room, Member)>) {
    let (stored, heard_stored) = std_mpsc::channel();
    let (joined, heard_joined) = std_mpsc::channel();
    let store = test_support::open(
        config,
        Box::new(move |event| match event {
            StoreEvent::MessagesStored(messages) => {
                let _ = stored.send(messages.to_vec());
            }
            StoreEvent::MemberJoined { room, member } => {
                let _ = joined.send((room.clone(), member.clone()));
            }
            _ => {}
        }),
    );
    (store, heard_stored, heard_joined)
}

#[tokio::test]
async fn shutdown_finishes_queued_writes_and_later_ones_are_refused() {
    let db = new_database();
    let store = test_support::open(&db, Box::new(|_| {}));
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
    let store = test_support::open(&db, Box::new(|_| {}));
    assert_eq!(store.history(GENERAL_ROOM_ID, None, 50).await.unwrap().len(), 10);
    let bob = user(&store, "bob").await;
    assert_eq!(store.insert(message(&bob, "b", "after restart")).await.unwrap().message.id, MessageId(11));
}

#[tokio::test]
async fn posting_is_refused_to_non_members_and_in_archived_rooms_and_stores_nothing() {
    let db = new_database();
    let (sink, announced) = hearing_stored();
    let store = test_support::open(&db, sink);
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
    assert_eq!(announced_there.message.kind, MessageKind::Announcement);
    assert_eq!(stored_bodies(&db), ["before the archive", "announced"]);
    let ids: Vec<MessageId> = announced.try_iter().flatten().map(|m| m.id).collect();
    assert_eq!(ids, [kept.message.id, announced_there.message.id], "refusals are not broadcast");
}

#[tokio::test]
async fn a_refused_message_does_not_fail_the_others_committed_with_it() {
    let db = new_database();
    let store = test_support::open(&db, Box::new(|_| {}));
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
    assert_eq!(stored_bodies(&db).len(), 20);
}

#[tokio::test]
async fn a_resend_returns_the_original_even_where_the_author_can_no_longer_post() {
    let db = new_database();
    let (sink, announced) = hearing_stored();
    let store = test_support::open(&db, sink);
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
    assert_eq!(stored_bodies(&db), ["bye", "last words"]);
    let ids: Vec<MessageId> = announced.try_iter().flatten().map(|m| m.id).collect();
    assert_eq!(ids, [bobs.message.id, alices.message.id], "each broadcast once");
}

#[tokio::test]
async fn each_pair_of_users_has_one_direct_conversation() {
    let (store, _, heard_joined) = open_hearing_joins(&new_database());
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
async fn reopening_keeps_the_data_and_applies_no_migration_twice() {
    let db = new_database();
    let store = test_support::open(&db, Box::new(|_| {}));
    let alice = user(&store, "alice").await;
    store.insert(message(&alice, "a-1", "kept")).await.unwrap();
    store.shutdown().await;
    for _ in 0..2 {
        let again = test_support::open(&db, Box::new(|_| {}));
        let history = again.history(GENERAL_ROOM_ID, None, 10).await.unwrap();
        assert_eq!(history.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["kept"]);
        assert_eq!(again.user_by_key("alice".into()).await.unwrap().map(|a| a.id), Some(alice.id));
        again.shutdown().await;
    }
    sql(&db, "UPDATE schema_version SET version = 99");
    let config = db.clone();
    let refused = on_runtime(PostgresStore::open_config(config, Box::new(|_| {}), None)).err();
    assert!(matches!(refused, Some(DbError::TooNew { found: 99, .. })), "{refused:?}");
}

/// Two stores on one database are two writers, as two Natter processes would be. Together they
/// take every id once, a reader tailing `id > last` while they write sees every message, in order
/// (ids commit in the order they are handed out), and each store tells all of them in that order.
#[tokio::test]
async fn two_writers_commit_in_id_order_and_a_tailing_reader_misses_nothing() {
    const EACH: i64 = 150;
    let db = new_database();
    let (sink_a, told_a) = hearing_stored();
    let (sink_b, told_b) = hearing_stored();
    let a = Arc::new(test_support::open(&db, sink_a));
    let b = Arc::new(test_support::open(&db, sink_b));
    let (alice, bob) = (user(a.as_ref(), "alice").await, user(b.as_ref(), "bob").await);
    let burst = |store: Arc<PostgresStore>, author: crate::protocol::Account| {
        tokio::spawn(async move {
            for i in 0..EACH {
                store.insert(message(&author, &format!("{i}"), "x")).await.unwrap();
            }
        })
    };
    let writers = [burst(Arc::clone(&a), alice.clone()), burst(Arc::clone(&b), bob)];
    let reader = test_support::open(&db, Box::new(|_| {}));
    let mut seen = Vec::new();
    while seen.len() < (2 * EACH) as usize {
        let after = seen.last().copied().unwrap_or(MessageId::NONE);
        seen.extend(reader.since(alice.id, after, 50).await.unwrap().iter().map(|m| m.id));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(seen.iter().map(|id| id.get()).collect::<Vec<_>>(), (1..=2 * EACH).collect::<Vec<_>>());
    // Each store tells every message, its own writer's and the other's, once, in id order (the
    // other's reach it through the stream, so they may still be on their way).
    for told in [told_a, told_b] {
        let mut ids: Vec<i64> = Vec::new();
        while ids.len() < (2 * EACH) as usize {
            let batch = told.recv_timeout(std::time::Duration::from_secs(10)).expect("every message is told");
            ids.extend(batch.iter().map(|m| m.id.get()));
        }
        assert_eq!(ids, (1..=2 * EACH).collect::<Vec<_>>(), "no id twice, none missing, in id order");
    }
}

#[tokio::test]
async fn what_users_type_is_never_tsquery_syntax() {
    let store = test_support::open(&new_database(), Box::new(|_| {}));
    let alice = user(&store, "alice").await;
    store.insert(message(&alice, "a-1", "it's a plain sentence")).await.unwrap();
    for typed in ["'", "''", "\\", "\\'", "a:*", "&", "|", "!x", "(a", "<->", "a <-> b", ":*", "*", "'); drop"] {
        let Ok(filter) = crate::server::search::parse(typed) else { continue };
        store.search(None, filter, None, 20).await.unwrap_or_else(|error| panic!("{typed:?}: {error}"));
    }
    let found = store.search(None, crate::server::search::parse("it's").unwrap(), None, 20).await.unwrap();
    assert_eq!(found.len(), 1, "an apostrophe is part of the text");
}

#[tokio::test]
async fn the_writer_reconnects_after_the_server_closed_its_connection() {
    let db = new_database();
    let store = test_support::open(&db, Box::new(|_| {}));
    let alice = user(&store, "alice").await;
    store.insert(message(&alice, "a-1", "before")).await.unwrap();
    sql(
        &db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid != pg_backend_pid()",
    );
    // The write under way when the connection went may fail; later ones get a new connection.
    let mut stored = None;
    for attempt in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if let Ok(inserted) = store.insert(message(&alice, &format!("a-2-{attempt}"), "after")).await {
            stored = Some(inserted);
            break;
        }
    }
    assert!(stored.is_some(), "no write succeeded after the connection was closed");
    let bodies: Vec<String> =
        store.history(GENERAL_ROOM_ID, None, 10).await.unwrap().into_iter().map(|m| m.body).collect();
    assert_eq!(bodies, ["before", "after"]);
}

// Several Natters on one database: each hears every change, its own and the others', once and in
// the database's order (stream.rs).

/// A store whose every event is heard as one line, in the order told.
fn open_hearing_all(config: &tokio_postgres::Config) -> (PostgresStore, std_mpsc::Receiver<String>) {
    let (heard, hearing) = std_mpsc::channel();
    let store = test_support::open(
        config,
        Box::new(move |event| {
            let lines = match event {
                StoreEvent::MessagesStored(messages) => messages.iter().map(|m| format!("stored {}", m.id)).collect(),
                StoreEvent::MessageUpdated(message) => vec![format!("updated {} rev {}", message.id, message.rev)],
                StoreEvent::MemberJoined { room, member } => vec![format!("joined {} {}", room.id, member.user_id)],
                StoreEvent::MemberLeft { room_id, user_id } => vec![format!("left {room_id} {user_id}")],
                StoreEvent::RoomArchived { room_id } => vec![format!("archived {room_id}")],
                StoreEvent::UserRenamed { user_id, from, to } => vec![format!("renamed {user_id} {from} {to}")],
                StoreEvent::UserBanned { user_id } => vec![format!("banned {user_id}")],
                StoreEvent::SessionEnded { session_hash } => {
                    vec![format!("session ended {}", String::from_utf8_lossy(session_hash))]
                }
                StoreEvent::ReadMarked(mark) => {
                    vec![format!("read {} {} {}", mark.room_id, mark.user_id, mark.last_read_id)]
                }
                StoreEvent::Resync => vec!["resync".to_owned()],
                // Not the stream's: see `open_hearing_aside`.
                StoreEvent::PresenceElsewhere(_) | StoreEvent::TypingElsewhere(_) | StoreEvent::PostedElsewhere(_) => {
                    vec![]
                }
            };
            for line in lines {
                let _ = heard.send(line);
            }
        }),
    );
    (store, hearing)
}

/// The next `count` lines heard, waiting as long as a loaded machine may need.
fn next_lines(hearing: &std_mpsc::Receiver<String>, count: usize) -> Vec<String> {
    let mut lines = Vec::with_capacity(count);
    while lines.len() < count {
        match hearing.recv_timeout(std::time::Duration::from_secs(10)) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("heard only {} of {count} events: {lines:?}", lines.len()),
        }
    }
    lines
}

#[tokio::test]
async fn two_servers_on_one_database_hear_every_change_once_in_the_databases_order() {
    let db = new_database();
    let (a, heard_by_a) = open_hearing_all(&db);
    let (b, heard_by_b) = open_hearing_all(&db);
    let (alice, bob) = (user(&a, "alice").await, user(&b, "bob").await);
    // Both write at once, each through its own writer.
    let writers: Vec<_> = [(a.clone(), alice.clone()), (b.clone(), bob.clone())]
        .into_iter()
        .map(|(store, author)| {
            tokio::spawn(async move {
                for n in 0..60 {
                    store.insert(message(&author, &format!("{n}"), "hello")).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let lounge = room(&a, "lounge", RoomKind::Public, &alice).await;
    let (_, _) = b.add_member(lounge.id, bob.id).await.unwrap().expect("bob joins");
    let first = a.history(GENERAL_ROOM_ID, None, 1).await.unwrap().remove(0);
    let reacted = b.change_message(first.id, react("🎉"), by(&bob)).await.unwrap().expect("a reaction");
    assert!(a.remove_member(lounge.id, bob.id).await.unwrap());
    assert!(b.archive_room(lounge.id).await.unwrap());

    let expected = 120 + 5;
    let (by_a, by_b) = (next_lines(&heard_by_a, expected), next_lines(&heard_by_b, expected));
    assert_eq!(by_a, by_b, "both servers tell the same changes in the same order");
    let stored: Vec<i64> = by_a.iter().filter_map(|line| line.strip_prefix("stored ")?.parse().ok()).collect();
    let in_the_database = stored_ids(&db);
    assert_eq!(stored, in_the_database, "every message once, in id order");
    assert_eq!(
        by_a[120..],
        [
            format!("joined {} {}", lounge.id, alice.id),
            format!("joined {} {}", lounge.id, bob.id),
            format!("updated {} rev {}", first.id, reacted.rev),
            format!("left {} {}", lounge.id, bob.id),
            format!("archived {}", lounge.id),
        ]
    );
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    assert!(heard_by_a.try_recv().is_err() && heard_by_b.try_recv().is_err(), "nothing is told twice");
}

#[tokio::test]
async fn renames_bans_ended_sessions_and_read_marks_reach_the_other_servers() {
    let db = new_database();
    let (a, heard_by_a) = open_hearing_all(&db);
    let (_b, heard_by_b) = open_hearing_all(&db);
    let (alice, bob) = (user(&a, "alice").await, user(&a, "bob").await);
    let said = a.insert(message(&alice, "1", "hello")).await.unwrap();
    a.rename(alice.id, crate::server::identity::nickname("Alicia").unwrap()).await.unwrap();
    // `user()` makes each session's hash its nickname key.
    a.end_session(b"alice".to_vec()).await.unwrap();
    a.save_read_marks(vec![mark(GENERAL_ROOM_ID, bob.id, said.message.id)]).await.unwrap();
    assert!(a.ban(bob.id).await.unwrap().is_some());
    a.save_read_marks(vec![mark(GENERAL_ROOM_ID, alice.id, MessageId(999))]).await.unwrap();

    let changes = [
        format!("renamed {} alice Alicia", alice.id),
        "session ended alice".to_owned(),
        format!("read {GENERAL_ROOM_ID} {} {}", bob.id, said.message.id),
        format!("banned {}", bob.id),
        // Never past the newest message, as stored.
        format!("read {GENERAL_ROOM_ID} {} {}", alice.id, said.message.id),
    ];
    let told_by_b = next_lines(&heard_by_b, 1 + changes.len());
    assert_eq!(told_by_b[1..], changes, "after the message, in order");
    let told_by_a = next_lines(&heard_by_a, 1 + 3);
    assert_eq!(
        told_by_a[1..],
        changes[..4].iter().filter(|line| !line.starts_with("read")).cloned().collect::<Vec<_>>(),
        "a server's own read marks were told as they were made, not again when stored"
    );
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    assert!(heard_by_a.try_recv().is_err() && heard_by_b.try_recv().is_err(), "nothing is told twice");
}

#[tokio::test]
async fn a_server_whose_listen_connection_is_cut_still_hears_everything() {
    let db = new_database();
    let (a, _) = open_hearing_all(&db);
    let (_b, heard_by_b) = open_hearing_all(&db);
    let alice = user(&a, "alice").await;
    a.insert(message(&alice, "1", "before the cut")).await.unwrap();
    assert_eq!(next_lines(&heard_by_b, 1), ["stored 1"]);
    for round in 0..3 {
        sql(&db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");
        for n in 0..5 {
            a.insert(message(&alice, &format!("{round}-{n}"), "during and after the cut")).await.unwrap();
        }
    }
    let heard = next_lines(&heard_by_b, 15);
    let expected: Vec<String> = (2..=16).map(|id| format!("stored {id}")).collect();
    assert_eq!(heard, expected);
}

#[tokio::test]
async fn a_server_further_behind_than_the_stream_keeps_has_every_screen_refill() {
    let db = new_database();
    let (a, heard_by_a) = open_hearing_all(&db);
    let alice = user(&a, "alice").await;
    a.insert(message(&alice, "1", "told")).await.unwrap();
    assert_eq!(next_lines(&heard_by_a, 1), ["stored 1"]);
    // Another server commits two changes, and both rows are gone before this one reads them: it
    // must not pretend nothing happened.
    sql(
        &db,
        "INSERT INTO stream (pos, kind, room_id, message_id, at) VALUES (2, 'stored', 1, 1, 0), (3, 'stored', 1, 1, 0);
         DELETE FROM stream WHERE pos = 2;",
    );
    assert_eq!(next_lines(&heard_by_a, 2), ["resync", "stored 1"]);
}

#[tokio::test]
async fn a_postgresql_restart_under_load_loses_nothing_and_every_server_hears_everything_after() {
    const MESSAGES: usize = 150;
    let server = super::throwaway::Server::start().expect("a PostgreSQL of this test's own");
    let db = test_support::new_database_on(&server.config);
    let (a, heard_by_a) = open_hearing_all(&db);
    let (_b, heard_by_b) = open_hearing_all(&db);
    let alice = user(&a, "alice").await;
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing = {
        let (a, acked) = (a.clone(), Arc::clone(&acked));
        tokio::spawn(async move {
            for n in 0..MESSAGES {
                // As a browser's outbox does: a failed send is sent again under the same client id.
                let mut attempts = 0;
                while a.insert(message(&alice, &format!("{n}"), "through a restart")).await.is_err() {
                    attempts += 1;
                    assert!(attempts < 400, "message {n} never stored after the restart");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                acked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    while acked.load(std::sync::atomic::Ordering::Relaxed) < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tokio::task::spawn_blocking(move || server.restart().map(|()| server)).await.unwrap().expect("PostgreSQL restarts");
    writing.await.unwrap();
    // A transaction cut by the restart may have used up an id: compare with what was stored.
    let stored = stored_ids(&db);
    assert_eq!(stored.len(), MESSAGES, "each message stored once, resends included");
    let expected: Vec<String> = stored.iter().map(|id| format!("stored {id}")).collect();
    for heard in [heard_by_a, heard_by_b] {
        assert_eq!(next_lines(&heard, MESSAGES), expected, "every message once, in order, on both servers");
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(heard.try_recv().is_err(), "nothing told twice");
    }
}

/// A store whose events are recorded as lines, but only what is not the stream: who is online
/// elsewhere, typing, and whose messages other servers stored.
fn open_hearing_aside(config: &tokio_postgres::Config) -> (PostgresStore, std_mpsc::Receiver<String>) {
    let (heard, hearing) = std_mpsc::channel();
    let store = test_support::open(
        config,
        Box::new(move |event| {
            let line = match event {
                StoreEvent::PresenceElsewhere(present) => {
                    let mut users: Vec<String> = present
                        .iter()
                        .map(|p| format!("{}{}×{}", p.nickname, if p.idle { " (idle)" } else { "" }, p.connections))
                        .collect();
                    users.sort();
                    format!("online: {}", users.join(", "))
                }
                StoreEvent::TypingElsewhere(signal) => format!("typing in {}: {}", signal.room_id, signal.nickname),
                StoreEvent::PostedElsewhere(authors) => {
                    format!("posted by {}", authors.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" "))
                }
                _ => return,
            };
            let _ = heard.send(line);
        }),
    );
    (store, hearing)
}

fn present(user_id: UserId, nickname: &str, idle: bool, connections: u32) -> Present {
    Present { user_id, nickname: nickname.into(), idle, connections }
}

#[test]
fn who_is_online_on_one_server_reaches_the_others_until_it_falls_silent_or_stops() {
    let db = new_database();
    let (a, heard_by_a) = open_hearing_aside(&db);
    let (b, heard_by_b) = open_hearing_aside(&db);
    let alice = vec![present(UserId(1), "alice", false, 2)];
    // On the stores' runtime: a connection the pool opens is driven where it was opened, and this
    // test's runtime stops while it waits for what the stores hear.
    let share = |store: &PostgresStore, here: Vec<Present>| on_runtime(store.share_presence(here)).unwrap();
    share(&a, alice.clone());
    share(&b, vec![present(UserId(2), "bob", true, 1)]);
    assert_eq!(next_lines(&heard_by_b, 1), ["online: alice×2"]);
    assert_eq!(next_lines(&heard_by_a, 1), ["online: bob (idle)×1"], "each hears the other, not itself");
    // A heartbeat with nothing new tells nobody anything.
    share(&a, alice.clone());
    // `a` falls silent (as if it died): after the expiry, its users are gone.
    let silent = std::time::Instant::now();
    let gone = heard_by_b.recv_timeout(PRESENCE_EXPIRY * 3).expect("alice is forgotten");
    assert_eq!(gone, "online: ");
    assert!(silent.elapsed() >= PRESENCE_EXPIRY - PRESENCE_HEARTBEAT, "not before the expiry");
    // It comes back, then stops: its users leave at once, not after the expiry.
    share(&a, alice);
    assert_eq!(next_lines(&heard_by_b, 1), ["online: alice×2"]);
    let stopping = std::time::Instant::now();
    on_runtime(a.shutdown());
    assert_eq!(next_lines(&heard_by_b, 1), ["online: "]);
    assert!(stopping.elapsed() < PRESENCE_EXPIRY, "told, not expired");
}

#[tokio::test]
async fn typing_and_who_posted_reach_the_other_servers_only() {
    let db = new_database();
    let (a, heard_by_a) = open_hearing_aside(&db);
    let (_b, heard_by_b) = open_hearing_aside(&db);
    let alice = user(&a, "alice").await;
    // A signal sent before `b`'s `LISTEN` connection is up is lost, as it may be: send until heard.
    let typing = |store: &PostgresStore| {
        store.share_typing(TypingSignal { room_id: GENERAL_ROOM_ID, user_id: alice.id, nickname: "alice".into() });
    };
    let waiting = std::time::Instant::now();
    let heard = loop {
        typing(&a);
        match heard_by_b.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(line) => break line,
            Err(_) => assert!(waiting.elapsed() < std::time::Duration::from_secs(10), "typing never arrives"),
        }
    };
    assert_eq!(heard, format!("typing in {GENERAL_ROOM_ID}: alice"));
    while heard_by_b.recv_timeout(std::time::Duration::from_millis(300)).is_ok() {}
    a.insert(message(&alice, "1", "one")).await.unwrap();
    a.insert(message(&alice, "2", "two")).await.unwrap();
    let mut posted = Vec::new();
    while posted.len() < 2 {
        let line = next_lines(&heard_by_b, 1).remove(0);
        posted.extend(line.strip_prefix("posted by ").expect("a post").split(' ').map(str::to_owned));
    }
    assert_eq!(posted, [alice.id.to_string(), alice.id.to_string()]);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    assert!(heard_by_a.try_recv().is_err(), "a server does not hear its own typing or count its own posts twice");
    assert!(heard_by_b.try_recv().is_err());
}
