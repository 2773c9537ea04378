//! The SQLite store's behaviour, on real database files in temp folders.

use std::path::Path;
use std::sync::mpsc as std_mpsc;

use rusqlite::Connection;

use super::migrate::Migration;
use super::migrate::MIGRATIONS;
use super::rooms::direct_key;
use super::search::search_sql;
use super::*;
use crate::server::search::SearchFilter;

fn message(author: &Account, client_msg_id: &str, body: &str) -> NewMessage {
    message_in(GENERAL_ROOM_ID, author, client_msg_id, body)
}

fn message_in(room_id: i64, author: &Account, client_msg_id: &str, body: &str) -> NewMessage {
    NewMessage {
        room_id,
        author_id: author.id,
        nickname: author.nickname.clone(),
        body: body.into(),
        client_msg_id: client_msg_id.into(),
        kind: MessageKind::Chat,
        members_only: true,
        file: None,
    }
}

async fn room(store: &Store, name: &str, kind: RoomKind, creator: &Account) -> Room {
    store.create_room(name.into(), kind, creator.id).await.unwrap()
}

/// Every row in the messages table, whatever its room: to prove a refusal stored nothing.
fn stored_bodies(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT body FROM messages ORDER BY id").unwrap();
    stmt.query_map([], |row| row.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn unread(sidebar: &Sidebar, room_id: i64) -> u32 {
    sidebar.rooms.iter().find(|room| room.id == room_id).expect("a member of the room").unread
}

async fn user(store: &Store, nickname: &str) -> Account {
    let nickname = crate::server::identity::nickname(nickname).unwrap();
    store.create_user(nickname.clone(), nickname.key.into_bytes(), i64::MAX).await.unwrap()
}

fn open(path: &Path) -> (Store, std_mpsc::Receiver<Vec<ChatMessage>>) {
    let (store, stored, _) = open_hearing_joins(path);
    (store, stored)
}

/// A store whose events are heard: the batches of stored messages, and each member who joined.
fn open_hearing_joins(
    path: &Path,
) -> (Store, std_mpsc::Receiver<Vec<ChatMessage>>, std_mpsc::Receiver<(Room, Member)>) {
    let (stored, heard_stored) = std_mpsc::channel();
    let (joined, heard_joined) = std_mpsc::channel();
    let store = Store::open(
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
async fn inserts_get_increasing_ids_and_page_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    let alice = user(&store, "alice").await;
    for i in 0..120 {
        let inserted = store.insert(message(&alice, &format!("c{i}"), &format!("m{i}"))).await.unwrap();
        assert_eq!(inserted.message.id, i + 1);
        assert!(!inserted.duplicate);
    }
    let newest = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
    assert_eq!(newest.len(), 50);
    assert_eq!(newest.first().unwrap().body, "m70");
    assert_eq!(newest.last().unwrap().body, "m119");
    let older = store.history(GENERAL_ROOM_ID, Some(newest[0].id), 50).await.unwrap();
    assert_eq!(older.last().unwrap().id + 1, newest[0].id);
    let oldest = store.history(GENERAL_ROOM_ID, Some(older[0].id), 50).await.unwrap();
    assert_eq!(oldest.len(), 20);
    assert_eq!(oldest[0].body, "m0");
    assert_eq!(
        store.since(alice.id, 115, 50).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(),
        [116, 117, 118, 119, 120]
    );
    assert_eq!(store.last_id().await.unwrap(), 120);
}

#[tokio::test]
async fn a_resend_returns_the_original_and_is_not_announced_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (store, announced) = open(&dir.path().join("natter.db"));
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    let first = store.insert(message(&alice, "same", "hello")).await.unwrap();
    let again = store.insert(message(&alice, "same", "hello (edited in transit)")).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message, first.message);
    // Another author may use the same client id: it is only unique per author.
    let bob = store.insert(message(&bob, "same", "hi")).await.unwrap();
    assert!(!bob.duplicate);
    let announced: Vec<i64> = announced.try_iter().flatten().map(|m| m.id).collect();
    assert_eq!(announced, [first.message.id, bob.message.id]);
    assert_eq!(store.history(GENERAL_ROOM_ID, None, 50).await.unwrap().len(), 2);
}

#[tokio::test]
async fn concurrent_writers_are_announced_in_commit_order() {
    let dir = tempfile::tempdir().unwrap();
    let (store, announced) = open(&dir.path().join("natter.db"));
    let mut senders = Vec::new();
    for sender in 0..20 {
        senders.push(user(&store, &format!("s{sender}")).await);
    }
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|sender| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    store.insert(message(&sender, &format!("{i}"), "x")).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let ids: Vec<i64> = announced.try_iter().flatten().map(|m| m.id).collect();
    assert_eq!(ids, (1..=500).collect::<Vec<_>>());
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
    assert_eq!(next.message.id, 11);
}

#[tokio::test]
async fn the_first_person_is_admin_and_lookalike_nicknames_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    let alice = user(&store, "alice").await;
    assert_eq!(alice.role, Role::Admin);
    let cyrillic = crate::server::identity::nickname("\u{0430}lice").unwrap();
    let taken = store.create_user(cyrillic, b"s2".to_vec(), i64::MAX).await;
    assert!(matches!(taken, Err(DbError::NicknameTaken)));
    let bob = user(&store, "bob").await;
    assert_eq!(bob.role, Role::Member);
    assert!(matches!(
        store.rename(bob.id, crate::server::identity::nickname("ALICE").unwrap()).await,
        Err(DbError::NicknameTaken)
    ));
    store.rename(bob.id, crate::server::identity::nickname("robert").unwrap()).await.unwrap();
    let session = crate::server::identity::nickname("bob").unwrap().key.into_bytes();
    assert_eq!(store.session_account(session.clone()).await.unwrap().unwrap().nickname, "robert");
    store.end_session(session.clone()).await.unwrap();
    assert_eq!(store.session_account(session).await.unwrap(), None);
}

#[tokio::test]
async fn expired_sessions_sign_nobody_in() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    store
        .create_user(crate::server::identity::nickname("old").unwrap(), b"stale".to_vec(), now_millis() - 1)
        .await
        .unwrap();
    assert_eq!(store.session_account(b"stale".to_vec()).await.unwrap(), None);
}

#[tokio::test]
async fn messages_from_before_accounts_get_authors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../../../migrations/0001_messages.sql")).unwrap();
        conn.execute_batch(
            "INSERT INTO messages (nickname, body, sent_at, client_msg_id) VALUES
               ('alice', 'one', 1, 'a'), ('bob', 'two', 2, 'b'), ('ALICE', 'three', 3, 'c');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let (store, _) = open(&path);
    let history = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
    let authors: Vec<i64> = history.iter().map(|m| m.author_id).collect();
    assert_eq!(authors[0], authors[2], "alice and ALICE are one person now");
    assert_ne!(authors[0], authors[1]);
    assert!(authors.iter().all(|&id| id > 0));
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
    let nowhere = store.insert(message_in(999, &alice, "a-0", "no such room")).await;
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
    let ids: Vec<i64> = announced.try_iter().flatten().map(|m| m.id).collect();
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
    let ids: Vec<i64> = announced.try_iter().flatten().map(|m| m.id).collect();
    assert_eq!(ids, [bobs.message.id, alices.message.id], "each broadcast once");
}

#[tokio::test]
async fn unread_counts_others_messages_after_the_read_mark_but_not_own_or_deleted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    let lounge = room(&store, "lounge", RoomKind::Public, &alice).await;
    let mut alices = Vec::new();
    for i in 0..4 {
        alices.push(store.insert(message(&alice, &format!("a-{i}"), "hi")).await.unwrap().message.id);
    }
    let own = store.insert(message(&bob, "b-1", "mine")).await.unwrap().message.id;
    store.insert(message_in(lounge.id, &alice, "l-1", "elsewhere")).await.unwrap();
    let deleted = store.change_message(alices[3], MessageChange::Delete, Actor { user_id: alice.id, admin: false });
    assert!(deleted.await.unwrap().is_some_and(|message| message.deleted));

    let sidebar = store.sidebar(bob.id).await.unwrap();
    assert_eq!(unread(&sidebar, GENERAL_ROOM_ID), 3, "alice's three, not bob's own or the deleted one");
    assert!(sidebar.rooms.iter().all(|room| room.id != lounge.id), "bob is not in the lounge");
    assert_eq!(sidebar.last_id, own + 1);
    let sidebar = store.sidebar(alice.id).await.unwrap();
    assert_eq!(unread(&sidebar, GENERAL_ROOM_ID), 1);
    assert_eq!(unread(&sidebar, lounge.id), 0, "her own message in the lounge");

    store.save_read_marks(vec![(GENERAL_ROOM_ID, bob.id, alices[1])]).await.unwrap();
    let general = store.member_room(GENERAL_ROOM_ID, bob.id).await.unwrap().unwrap();
    assert_eq!((general.unread, general.last_read_id), (1, alices[1]));
    // Someone who joins later has read everything said before.
    let carol = user(&store, "carol").await;
    assert_eq!(unread(&store.sidebar(carol.id).await.unwrap(), GENERAL_ROOM_ID), 0);
    store.add_member(lounge.id, carol.id).await.unwrap();
    assert_eq!(unread(&store.sidebar(carol.id).await.unwrap(), lounge.id), 0);
}

#[tokio::test]
async fn unread_counts_stop_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    let tasks: Vec<_> = (0..MAX_UNREAD + 5)
        .map(|i| {
            let (store, alice) = (store.clone(), alice.clone());
            tokio::spawn(async move { store.insert(message(&alice, &format!("{i}"), "x")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(unread(&store.sidebar(bob.id).await.unwrap(), GENERAL_ROOM_ID), MAX_UNREAD);
}

#[tokio::test]
async fn the_read_mark_only_moves_forward_and_only_for_members() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    for i in 0..3 {
        store.insert(message(&alice, &format!("a-{i}"), "x")).await.unwrap();
    }
    let secret = room(&store, "secret", RoomKind::Private, &alice).await;
    let bobs_mark =
        |store: Store| async move { store.member_room(GENERAL_ROOM_ID, bob.id).await.unwrap().unwrap().last_read_id };
    store.save_read_marks(vec![(GENERAL_ROOM_ID, bob.id, 2)]).await.unwrap();
    assert_eq!(bobs_mark(store.clone()).await, 2);
    store.save_read_marks(vec![(GENERAL_ROOM_ID, bob.id, 1)]).await.unwrap();
    assert_eq!(bobs_mark(store.clone()).await, 2, "a stale tab cannot move the mark back");
    store.save_read_marks(vec![(GENERAL_ROOM_ID, bob.id, 1_000), (secret.id, bob.id, 3)]).await.unwrap();
    assert_eq!(bobs_mark(store.clone()).await, 3, "nor past the newest message");
    assert_eq!(store.member_room(secret.id, bob.id).await.unwrap(), None, "bob did not become a member");
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
    let views: Vec<(i64, String, RoomKind, Option<i64>, i64)> = joined[0]
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
    let members: Vec<i64> = store.members(first).await.unwrap().iter().map(|m| m.user_id).collect();
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
        history.iter().map(|m| (m.body.as_str(), m.room_id)).collect::<Vec<_>>(),
        [("one", 1), ("two", 1), ("three", 1)]
    );
    let members: Vec<String> = store.members(GENERAL_ROOM_ID).await.unwrap().into_iter().map(|m| m.nickname).collect();
    assert_eq!(members, ["alice", "bob", "wxbot"], "people and bots, not Natter itself");
    for user_id in [1, 2, 3] {
        let sidebar = store.sidebar(user_id).await.unwrap();
        assert_eq!(sidebar.rooms.len(), 1);
        let general = &sidebar.rooms[0];
        assert_eq!((general.id, general.name.as_str(), general.kind), (GENERAL_ROOM_ID, "general", RoomKind::Public));
        assert_eq!((general.unread, general.last_read_id), (0, 3), "what was said before counts as read");
    }
    assert!(store.sidebar(4).await.unwrap().rooms.is_empty());
    let bob = store.user_by_id(2).await.unwrap().unwrap();
    store.insert(message(&bob, "b-2", "after the upgrade")).await.unwrap();
    assert_eq!(unread(&store.sidebar(1).await.unwrap(), GENERAL_ROOM_ID), 1);
    let room_ids: Vec<i64> = store.since(1, 0, 50).await.unwrap().iter().map(|m| m.room_id).collect();
    assert_eq!(room_ids, [1, 1, 1, 1]);
}

#[tokio::test]
async fn catch_up_only_covers_the_users_rooms() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    let secret = room(&store, "secret", RoomKind::Private, &alice).await;
    let public = store.insert(message(&alice, "a-1", "for everyone")).await.unwrap().message.id;
    store.insert(message_in(secret.id, &alice, "a-2", "for alice only")).await.unwrap();
    let bodies = |messages: Vec<ChatMessage>| messages.into_iter().map(|m| m.body).collect::<Vec<_>>();
    assert_eq!(bodies(store.since(bob.id, 0, 50).await.unwrap()), ["for everyone"]);
    assert_eq!(bodies(store.since(alice.id, public, 50).await.unwrap()), ["for alice only"]);
    assert_eq!(bodies(store.history(secret.id, None, 50).await.unwrap()), ["for alice only"]);
    assert_eq!(bodies(store.history(GENERAL_ROOM_ID, None, 50).await.unwrap()), ["for everyone"]);
}

#[tokio::test]
async fn a_database_from_a_newer_natter_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.db");
    Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let error = Store::open(&path, Box::new(|_| {})).err().unwrap();
    assert!(matches!(error, DbError::TooNew { found: 99, .. }));
}

fn by(account: &Account) -> Actor {
    Actor { user_id: account.id, admin: false }
}

async fn change(store: &Store, id: i64, change: MessageChange, actor: Actor) -> Result<Option<ChatMessage>, DbError> {
    store.change_message(id, change, actor).await
}

fn react(emoji: &str) -> MessageChange {
    MessageChange::React(emoji.into(), true)
}

fn refused(result: Result<Option<ChatMessage>, DbError>) -> ChangeRefused {
    match result {
        Err(DbError::ChangeRefused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn edits_are_the_authors_or_an_admins_and_each_change_takes_the_next_revision() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    let id = store.insert(message(&alice, "a-1", "helo")).await.unwrap().message.id;
    let other = store.insert(message(&bob, "b-1", "bob's")).await.unwrap().message.id;
    assert_eq!(store.last_change().await.unwrap(), 0);

    assert_eq!(
        refused(change(&store, id, MessageChange::Edit("mine now".into()), by(&bob)).await),
        ChangeRefused::NotAuthor
    );
    let edited = change(&store, id, MessageChange::Edit("hello".into()), by(&alice)).await.unwrap().unwrap();
    assert_eq!((edited.body.as_str(), edited.rev, edited.edited_at.is_some()), ("hello", 1, true));
    assert_eq!(change(&store, id, MessageChange::Edit("hello".into()), by(&alice)).await.unwrap(), None, "same text");
    let moderated =
        change(&store, other, MessageChange::Edit("[removed link]".into()), Actor { admin: true, ..by(&alice) });
    assert_eq!(moderated.await.unwrap().unwrap().rev, 2);
    assert_eq!(store.last_change().await.unwrap(), 2);
    let history = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
    assert_eq!(
        history.iter().map(|m| (m.body.as_str(), m.rev)).collect::<Vec<_>>(),
        [("hello", 1), ("[removed link]", 2)]
    );
    assert_eq!(store.sidebar(bob.id).await.unwrap().last_change, 2);

    assert!(change(&store, id, MessageChange::Delete, by(&alice)).await.unwrap().unwrap().deleted);
    for what in [MessageChange::Edit("back".into()), MessageChange::Delete, react("👍")] {
        assert_eq!(refused(change(&store, id, what, by(&alice)).await), ChangeRefused::NoSuchMessage);
    }
    assert_eq!(refused(change(&store, 999, react("👍"), by(&alice)).await), ChangeRefused::NoSuchMessage);
}

#[tokio::test]
async fn reactions_toggle_group_by_emoji_and_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    let (alice, bob) = (user(&store, "alice").await, user(&store, "bob").await);
    let id = store.insert(message(&alice, "a-1", "lunch?")).await.unwrap().message.id;
    change(&store, id, react("👍"), by(&bob)).await.unwrap().unwrap();
    change(&store, id, react("🎉"), by(&alice)).await.unwrap().unwrap();
    let both = change(&store, id, react("👍"), by(&alice)).await.unwrap().unwrap();
    let shape = |m: &ChatMessage| -> Vec<(String, Vec<String>)> {
        m.reactions.iter().map(|r| (r.emoji.clone(), r.users.iter().map(|u| u.nickname.clone()).collect())).collect()
    };
    assert_eq!(
        shape(&both),
        [("👍".to_owned(), vec!["bob".to_owned(), "alice".to_owned()]), ("🎉".to_owned(), vec!["alice".to_owned()])]
    );
    assert_eq!(change(&store, id, react("👍"), by(&alice)).await.unwrap(), None, "twice is once");
    let taken_back = change(&store, id, MessageChange::React("👍".into(), false), by(&bob)).await.unwrap().unwrap();
    // Groups follow the earliest reaction still there: alice's 👍 came after her 🎉.
    assert_eq!(
        shape(&taken_back),
        [("🎉".to_owned(), vec!["alice".to_owned()]), ("👍".to_owned(), vec!["alice".to_owned()])]
    );
    assert_eq!(change(&store, id, MessageChange::React("👍".into(), false), by(&bob)).await.unwrap(), None);
    assert_eq!(shape(&store.history(GENERAL_ROOM_ID, None, 5).await.unwrap()[0]), shape(&taken_back));

    let emoji =
        ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "😚"];
    for e in emoji.iter().take(MAX_REACTIONS_PER_MESSAGE - 2) {
        change(&store, id, react(e), by(&bob)).await.unwrap().unwrap();
    }
    assert_eq!(refused(change(&store, id, react("🙂"), by(&bob)).await), ChangeRefused::TooManyReactions);
    change(&store, id, react("😀"), by(&alice)).await.unwrap().expect("joining an existing one is fine");
    let deleted = change(&store, id, MessageChange::Delete, by(&alice)).await.unwrap().unwrap();
    assert!(deleted.reactions.is_empty() && deleted.body.is_empty(), "a deleted message keeps nothing");
}

#[tokio::test]
async fn rooms_decide_who_may_change_what_and_whose_catch_up_includes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("natter.db"));
    let (alice, bob, carol) = (user(&store, "alice").await, user(&store, "bob").await, user(&store, "carol").await);
    let public = room(&store, "lounge", RoomKind::Public, &alice).await;
    let secret = room(&store, "secret", RoomKind::Private, &alice).await;
    store.add_member(secret.id, bob.id).await.unwrap();
    let in_lounge = store.insert(message_in(public.id, &alice, "l-1", "public")).await.unwrap().message.id;
    let in_secret = store.insert(message_in(secret.id, &alice, "s-1", "private")).await.unwrap().message.id;
    let in_general = store.insert(message(&carol, "g-1", "general")).await.unwrap().message.id;

    // carol reads the lounge without joining it: she learns it exists, but joins to react.
    assert_eq!(refused(change(&store, in_lounge, react("👍"), by(&carol)).await), ChangeRefused::NotAMember);
    // The secret room's messages do not exist for her, whatever she tries.
    for what in [react("👍"), MessageChange::Edit("x".into()), MessageChange::Delete] {
        assert_eq!(refused(change(&store, in_secret, what, by(&carol)).await), ChangeRefused::NoSuchMessage);
    }
    change(&store, in_secret, react("🤫"), by(&bob)).await.unwrap().unwrap();
    change(&store, in_general, react("👋"), by(&bob)).await.unwrap().unwrap();
    change(&store, in_secret, MessageChange::Edit("still private".into()), by(&alice)).await.unwrap().unwrap();

    let revs = |page: Vec<ChatMessage>| page.iter().map(|m| (m.id, m.rev)).collect::<Vec<_>>();
    assert_eq!(revs(store.changed_since(bob.id, 0, 50).await.unwrap()), [(in_general, 2), (in_secret, 3)]);
    assert_eq!(revs(store.changed_since(bob.id, 2, 50).await.unwrap()), [(in_secret, 3)]);
    assert_eq!(revs(store.changed_since(carol.id, 0, 50).await.unwrap()), [(in_general, 2)], "not the secret room");
    assert_eq!(revs(store.changed_since(bob.id, 0, 1).await.unwrap()), [(in_general, 2)], "paged");

    // An archived room's messages no longer change, except that moderators may still delete.
    store.archive_room(secret.id).await.unwrap();
    assert_eq!(refused(change(&store, in_secret, react("👍"), by(&bob)).await), ChangeRefused::Archived);
    let edit = MessageChange::Edit("again".into());
    assert_eq!(refused(change(&store, in_secret, edit, by(&alice)).await), ChangeRefused::Archived);
    assert!(change(&store, in_secret, MessageChange::Delete, by(&alice)).await.unwrap().is_some());
}

/// The query plan of a search with words: FTS5 must drive, newest first, so a page costs as many
/// matches as it takes to fill it (not every match in a million messages).
fn search_plan(path: &Path, filter: &SearchFilter) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let sql = search_sql(filter.fts.is_some());
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let params = rusqlite::params![1, i64::MAX, 0, filter.author_key, filter.room, false, 21, filter.fts];
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
