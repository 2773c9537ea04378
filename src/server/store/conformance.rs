//! The store's conformance suite: every behaviour the services rely on (idempotent insert by client
//! id, commit order, pages, catch-up and changes since, read marks and unread counts, memberships
//! and direct conversations, edits and reactions, mentions, search, files, accounts and sessions),
//! written against the
//! [`Store`] interface alone. Each engine runs the same checks with `store_conformance!(fresh)`,
//! where `fresh()` opens an empty store of that engine.

use std::sync::mpsc as std_mpsc;
use std::sync::Arc;

use crate::protocol::*;
use crate::server::search::{HIT_END, HIT_START};
use crate::server::store::*;

/// An empty store for one check, the batches of messages it told as stored, and whatever must live
/// as long as the store (a temp folder, a scratch database).
pub(crate) struct Fresh {
    pub store: Arc<dyn Store>,
    pub stored: std_mpsc::Receiver<Vec<ChatMessage>>,
    pub _keep: Box<dyn std::any::Any>,
}

/// Runs every check of the suite as a `#[tokio::test]` against the stores `$fresh()` opens. A check
/// left off this list is never called, and the dead-code lint (denied in CI) says so.
macro_rules! store_conformance {
    ($fresh:path) => {
        $crate::server::store::conformance::store_conformance!(@each $fresh;
        inserts_get_increasing_ids_and_page_back_in_order,
        a_resend_returns_the_original_and_is_not_announced_twice,
        concurrent_writers_are_announced_in_commit_order,
        the_first_person_is_admin_and_lookalike_nicknames_are_refused,
        expired_sessions_sign_nobody_in,
        unread_counts_others_messages_after_the_read_mark_but_not_own_or_deleted_ones,
        unread_counts_stop_at_the_cap,
        the_read_mark_only_moves_forward_and_only_for_members,
        catch_up_only_covers_the_users_rooms,
        edits_are_the_authors_or_an_admins_and_each_change_takes_the_next_revision,
        reactions_toggle_group_by_emoji_and_are_bounded,
        rooms_decide_who_may_change_what_and_whose_catch_up_includes_it,
        mentions_count_for_members_named_never_the_author_and_follow_edits,
        search_finds_words_prefixes_and_phrases_newest_first_in_readable_rooms_only,
        search_filters_by_author_room_file_and_date_and_pages_by_id,
        files_belong_to_their_message_and_go_with_its_deletion,
        );
    };
    (@each $fresh:path; $($check:ident,)*) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::server::store::conformance::$check($fresh()).await;
            }
        )*
    };
}
pub(crate) use store_conformance;

pub(crate) fn message(author: &Account, client_msg_id: &str, body: &str) -> NewMessage {
    message_in(GENERAL_ROOM_ID, author, client_msg_id, body)
}

pub(crate) fn message_in(room_id: RoomId, author: &Account, client_msg_id: &str, body: &str) -> NewMessage {
    NewMessage {
        room_id,
        author_id: author.id,
        nickname: author.nickname.clone(),
        body: body.into(),
        mentions: crate::server::messages::mention_keys(body),
        client_msg_id: client_msg_id.into(),
        kind: MessageKind::Chat,
        members_only: true,
        file: None,
    }
}

pub(crate) async fn room(store: &dyn Store, name: &str, kind: RoomKind, creator: &Account) -> Room {
    store.create_room(name.into(), kind, creator.id).await.unwrap()
}

pub(crate) fn unread(sidebar: &Sidebar, room_id: RoomId) -> u32 {
    sidebar.rooms.iter().find(|room| room.id == room_id).expect("a member of the room").unread
}

pub(crate) async fn user(store: &dyn Store, nickname: &str) -> Account {
    let nickname = crate::server::identity::nickname(nickname).unwrap();
    store.create_user(nickname.clone(), nickname.key.into_bytes(), i64::MAX).await.unwrap()
}

pub(crate) fn mark(room_id: RoomId, user_id: UserId, last_read_id: MessageId) -> ReadMark {
    ReadMark { room_id, user_id, last_read_id }
}

pub(crate) fn by(account: &Account) -> Actor {
    Actor { user_id: account.id, admin: false }
}

pub(crate) fn edit(body: &str) -> MessageChange {
    MessageChange::Edit { body: body.into(), mentions: crate::server::messages::mention_keys(body) }
}

pub(crate) fn react(emoji: &str) -> MessageChange {
    MessageChange::React(emoji.into(), true)
}

pub(crate) fn refused(result: Result<Option<ChatMessage>, DbError>) -> ChangeRefused {
    match result {
        Err(DbError::ChangeRefused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub(crate) async fn inserts_get_increasing_ids_and_page_back_in_order(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let alice = user(store, "alice").await;
    for i in 0..120 {
        let inserted = store.insert(message(&alice, &format!("c{i}"), &format!("m{i}"))).await.unwrap();
        assert_eq!(inserted.message.id, MessageId(i + 1));
        assert!(!inserted.duplicate);
    }
    let newest = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
    assert_eq!(newest.len(), 50);
    assert_eq!(newest.first().unwrap().body, "m70");
    assert_eq!(newest.last().unwrap().body, "m119");
    let older = store.history(GENERAL_ROOM_ID, Some(newest[0].id), 50).await.unwrap();
    assert_eq!(older.last().unwrap().id.get() + 1, newest[0].id.get());
    let oldest = store.history(GENERAL_ROOM_ID, Some(older[0].id), 50).await.unwrap();
    assert_eq!(oldest.len(), 20);
    assert_eq!(oldest[0].body, "m0");
    assert_eq!(
        store.since(alice.id, MessageId(115), 50).await.unwrap().iter().map(|m| m.id.get()).collect::<Vec<_>>(),
        [116, 117, 118, 119, 120]
    );
    assert_eq!(store.last_id().await.unwrap(), MessageId(120));
}

pub(crate) async fn a_resend_returns_the_original_and_is_not_announced_twice(fresh: Fresh) {
    let Fresh { store, stored: announced, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    let first = store.insert(message(&alice, "same", "hello")).await.unwrap();
    let again = store.insert(message(&alice, "same", "hello (edited in transit)")).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message, first.message);
    // Another author may use the same client id: it is only unique per author.
    let bob = store.insert(message(&bob, "same", "hi")).await.unwrap();
    assert!(!bob.duplicate);
    let announced: Vec<MessageId> = announced.try_iter().flatten().map(|m| m.id).collect();
    assert_eq!(announced, [first.message.id, bob.message.id]);
    assert_eq!(store.history(GENERAL_ROOM_ID, None, 50).await.unwrap().len(), 2);
}

pub(crate) async fn concurrent_writers_are_announced_in_commit_order(fresh: Fresh) {
    let Fresh { store: shared, stored: announced, .. } = &fresh;
    let store = shared.as_ref();
    let mut senders = Vec::new();
    for sender in 0..20 {
        senders.push(user(store, &format!("s{sender}")).await);
    }
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|sender| {
            let store = Arc::clone(shared);
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
    let ids: Vec<i64> = announced.try_iter().flatten().map(|m| m.id.get()).collect();
    assert_eq!(ids, (1..=500).collect::<Vec<_>>());
}

pub(crate) async fn the_first_person_is_admin_and_lookalike_nicknames_are_refused(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let alice = user(store, "alice").await;
    assert_eq!(alice.role, Role::Admin);
    let cyrillic = crate::server::identity::nickname("\u{0430}lice").unwrap();
    let taken = store.create_user(cyrillic, b"s2".to_vec(), i64::MAX).await;
    assert!(matches!(taken, Err(DbError::NicknameTaken)));
    let bob = user(store, "bob").await;
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

pub(crate) async fn expired_sessions_sign_nobody_in(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    store
        .create_user(crate::server::identity::nickname("old").unwrap(), b"stale".to_vec(), now_millis() - 1)
        .await
        .unwrap();
    assert_eq!(store.session_account(b"stale".to_vec()).await.unwrap(), None);
}

pub(crate) async fn unread_counts_others_messages_after_the_read_mark_but_not_own_or_deleted_ones(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    let lounge = room(store, "lounge", RoomKind::Public, &alice).await;
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
    assert_eq!(sidebar.last_id.get(), own.get() + 1);
    let sidebar = store.sidebar(alice.id).await.unwrap();
    assert_eq!(unread(&sidebar, GENERAL_ROOM_ID), 1);
    assert_eq!(unread(&sidebar, lounge.id), 0, "her own message in the lounge");

    store.save_read_marks(vec![mark(GENERAL_ROOM_ID, bob.id, alices[1])]).await.unwrap();
    let general = store.member_room(GENERAL_ROOM_ID, bob.id).await.unwrap().unwrap();
    assert_eq!((general.unread, general.last_read_id), (1, alices[1]));
    // Someone who joins later has read everything said before.
    let carol = user(store, "carol").await;
    assert_eq!(unread(&store.sidebar(carol.id).await.unwrap(), GENERAL_ROOM_ID), 0);
    store.add_member(lounge.id, carol.id).await.unwrap();
    assert_eq!(unread(&store.sidebar(carol.id).await.unwrap(), lounge.id), 0);
}

pub(crate) async fn unread_counts_stop_at_the_cap(fresh: Fresh) {
    let Fresh { store: shared, .. } = &fresh;
    let store = shared.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    let tasks: Vec<_> = (0..MAX_UNREAD + 5)
        .map(|i| {
            let (store, alice) = (Arc::clone(shared), alice.clone());
            tokio::spawn(async move { store.insert(message(&alice, &format!("{i}"), "x")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(unread(&store.sidebar(bob.id).await.unwrap(), GENERAL_ROOM_ID), MAX_UNREAD);
}

pub(crate) async fn the_read_mark_only_moves_forward_and_only_for_members(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    for i in 0..3 {
        store.insert(message(&alice, &format!("a-{i}"), "x")).await.unwrap();
    }
    let secret = room(store, "secret", RoomKind::Private, &alice).await;
    let bob_id = bob.id;
    let bobs_mark = || async move { store.member_room(GENERAL_ROOM_ID, bob_id).await.unwrap().unwrap().last_read_id };
    store.save_read_marks(vec![mark(GENERAL_ROOM_ID, bob.id, MessageId(2))]).await.unwrap();
    assert_eq!(bobs_mark().await, MessageId(2));
    store.save_read_marks(vec![mark(GENERAL_ROOM_ID, bob.id, MessageId(1))]).await.unwrap();
    assert_eq!(bobs_mark().await, MessageId(2), "a stale tab cannot move the mark back");
    store
        .save_read_marks(vec![mark(GENERAL_ROOM_ID, bob.id, MessageId(1_000)), mark(secret.id, bob.id, MessageId(3))])
        .await
        .unwrap();
    assert_eq!(bobs_mark().await, MessageId(3), "nor past the newest message");
    assert_eq!(store.member_room(secret.id, bob.id).await.unwrap(), None, "bob did not become a member");
}

pub(crate) async fn catch_up_only_covers_the_users_rooms(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    let secret = room(store, "secret", RoomKind::Private, &alice).await;
    let public = store.insert(message(&alice, "a-1", "for everyone")).await.unwrap().message.id;
    store.insert(message_in(secret.id, &alice, "a-2", "for alice only")).await.unwrap();
    let bodies = |messages: Vec<ChatMessage>| messages.into_iter().map(|m| m.body).collect::<Vec<_>>();
    assert_eq!(bodies(store.since(bob.id, MessageId(0), 50).await.unwrap()), ["for everyone"]);
    assert_eq!(bodies(store.since(alice.id, public, 50).await.unwrap()), ["for alice only"]);
    assert_eq!(bodies(store.history(secret.id, None, 50).await.unwrap()), ["for alice only"]);
    assert_eq!(bodies(store.history(GENERAL_ROOM_ID, None, 50).await.unwrap()), ["for everyone"]);
}

pub(crate) async fn edits_are_the_authors_or_an_admins_and_each_change_takes_the_next_revision(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    let id = store.insert(message(&alice, "a-1", "helo")).await.unwrap().message.id;
    let other = store.insert(message(&bob, "b-1", "bob's")).await.unwrap().message.id;
    assert_eq!(store.last_change().await.unwrap(), Revision(0));

    assert_eq!(refused(store.change_message(id, edit("mine now"), by(&bob)).await), ChangeRefused::NotAuthor);
    let edited = store.change_message(id, edit("hello"), by(&alice)).await.unwrap().unwrap();
    assert_eq!((edited.body.as_str(), edited.rev, edited.edited_at.is_some()), ("hello", Revision(1), true));
    assert_eq!(store.change_message(id, edit("hello"), by(&alice)).await.unwrap(), None, "same text");
    let moderated = store.change_message(other, edit("[removed link]"), Actor { admin: true, ..by(&alice) });
    assert_eq!(moderated.await.unwrap().unwrap().rev, Revision(2));
    assert_eq!(store.last_change().await.unwrap(), Revision(2));
    let history = store.history(GENERAL_ROOM_ID, None, 50).await.unwrap();
    assert_eq!(
        history.iter().map(|m| (m.body.as_str(), m.rev.get())).collect::<Vec<_>>(),
        [("hello", 1), ("[removed link]", 2)]
    );
    assert_eq!(store.sidebar(bob.id).await.unwrap().last_change, Revision(2));

    assert!(store.change_message(id, MessageChange::Delete, by(&alice)).await.unwrap().unwrap().deleted);
    for what in [edit("back"), MessageChange::Delete, react("👍")] {
        assert_eq!(refused(store.change_message(id, what, by(&alice)).await), ChangeRefused::NoSuchMessage);
    }
    assert_eq!(
        refused(store.change_message(MessageId(999), react("👍"), by(&alice)).await),
        ChangeRefused::NoSuchMessage
    );
}

pub(crate) async fn reactions_toggle_group_by_emoji_and_are_bounded(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    let id = store.insert(message(&alice, "a-1", "lunch?")).await.unwrap().message.id;
    store.change_message(id, react("👍"), by(&bob)).await.unwrap().unwrap();
    store.change_message(id, react("🎉"), by(&alice)).await.unwrap().unwrap();
    let both = store.change_message(id, react("👍"), by(&alice)).await.unwrap().unwrap();
    let shape = |m: &ChatMessage| -> Vec<(String, Vec<String>)> {
        m.reactions.iter().map(|r| (r.emoji.clone(), r.users.iter().map(|u| u.nickname.clone()).collect())).collect()
    };
    assert_eq!(
        shape(&both),
        [("👍".to_owned(), vec!["bob".to_owned(), "alice".to_owned()]), ("🎉".to_owned(), vec!["alice".to_owned()])]
    );
    assert_eq!(store.change_message(id, react("👍"), by(&alice)).await.unwrap(), None, "twice is once");
    let taken_back =
        store.change_message(id, MessageChange::React("👍".into(), false), by(&bob)).await.unwrap().unwrap();
    // Groups follow the earliest reaction still there: alice's 👍 came after her 🎉.
    assert_eq!(
        shape(&taken_back),
        [("🎉".to_owned(), vec!["alice".to_owned()]), ("👍".to_owned(), vec!["alice".to_owned()])]
    );
    assert_eq!(store.change_message(id, MessageChange::React("👍".into(), false), by(&bob)).await.unwrap(), None);
    assert_eq!(shape(&store.history(GENERAL_ROOM_ID, None, 5).await.unwrap()[0]), shape(&taken_back));

    let emoji =
        ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "😚"];
    for e in emoji.iter().take(MAX_REACTIONS_PER_MESSAGE - 2) {
        store.change_message(id, react(e), by(&bob)).await.unwrap().unwrap();
    }
    assert_eq!(refused(store.change_message(id, react("🙂"), by(&bob)).await), ChangeRefused::TooManyReactions);
    store.change_message(id, react("😀"), by(&alice)).await.unwrap().expect("joining an existing one is fine");
    let deleted = store.change_message(id, MessageChange::Delete, by(&alice)).await.unwrap().unwrap();
    assert!(deleted.reactions.is_empty() && deleted.body.is_empty(), "a deleted message keeps nothing");
}

pub(crate) async fn rooms_decide_who_may_change_what_and_whose_catch_up_includes_it(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob, carol) = (user(store, "alice").await, user(store, "bob").await, user(store, "carol").await);
    let public = room(store, "lounge", RoomKind::Public, &alice).await;
    let secret = room(store, "secret", RoomKind::Private, &alice).await;
    store.add_member(secret.id, bob.id).await.unwrap();
    let in_lounge = store.insert(message_in(public.id, &alice, "l-1", "public")).await.unwrap().message.id;
    let in_secret = store.insert(message_in(secret.id, &alice, "s-1", "private")).await.unwrap().message.id;
    let in_general = store.insert(message(&carol, "g-1", "general")).await.unwrap().message.id;

    // carol reads the lounge without joining it: she learns it exists, but joins to react.
    assert_eq!(refused(store.change_message(in_lounge, react("👍"), by(&carol)).await), ChangeRefused::NotAMember);
    // The secret room's messages do not exist for her, whatever she tries.
    for what in [react("👍"), edit("x"), MessageChange::Delete] {
        assert_eq!(refused(store.change_message(in_secret, what, by(&carol)).await), ChangeRefused::NoSuchMessage);
    }
    store.change_message(in_secret, react("🤫"), by(&bob)).await.unwrap().unwrap();
    store.change_message(in_general, react("👋"), by(&bob)).await.unwrap().unwrap();
    store.change_message(in_secret, edit("still private"), by(&alice)).await.unwrap().unwrap();

    let revs = |page: Vec<ChatMessage>| page.iter().map(|m| (m.id, m.rev.get())).collect::<Vec<_>>();
    assert_eq!(revs(store.changed_since(bob.id, Revision(0), 50).await.unwrap()), [(in_general, 2), (in_secret, 3)]);
    assert_eq!(revs(store.changed_since(bob.id, Revision(2), 50).await.unwrap()), [(in_secret, 3)]);
    assert_eq!(
        revs(store.changed_since(carol.id, Revision(0), 50).await.unwrap()),
        [(in_general, 2)],
        "not the secret room"
    );
    assert_eq!(revs(store.changed_since(bob.id, Revision(0), 1).await.unwrap()), [(in_general, 2)], "paged");

    // An archived room's messages no longer change, except that moderators may still delete.
    store.archive_room(secret.id).await.unwrap();
    assert_eq!(refused(store.change_message(in_secret, react("👍"), by(&bob)).await), ChangeRefused::Archived);
    let again = edit("again");
    assert_eq!(refused(store.change_message(in_secret, again, by(&alice)).await), ChangeRefused::Archived);
    assert!(store.change_message(in_secret, MessageChange::Delete, by(&alice)).await.unwrap().is_some());
}

fn mentions(sidebar: &Sidebar, room_id: RoomId) -> u32 {
    sidebar.rooms.iter().find(|room| room.id == room_id).expect("a member of the room").mentions
}

pub(crate) async fn mentions_count_for_members_named_never_the_author_and_follow_edits(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob, carol) = (user(store, "alice").await, user(store, "bob").await, user(store, "carol").await);
    let secret = room(store, "secret", RoomKind::Private, &alice).await;
    store.add_member(secret.id, bob.id).await.unwrap();
    let named = store.insert(message_in(secret.id, &alice, "a-1", "@bob @BOB @carol @alice look")).await.unwrap();
    store.insert(message_in(secret.id, &alice, "a-2", "`@bob` in code is not a mention")).await.unwrap();
    assert_eq!(mentions(&store.sidebar(bob.id).await.unwrap(), secret.id), 1, "once, however often named");
    assert_eq!(mentions(&store.sidebar(alice.id).await.unwrap(), secret.id), 0, "never the author");
    let carols = store.sidebar(carol.id).await.unwrap();
    assert!(carols.rooms.iter().all(|room| room.id != secret.id && room.mentions == 0), "not a member");
    store.change_message(named.message.id, edit("nobody named now"), by(&alice)).await.unwrap();
    assert_eq!(mentions(&store.sidebar(bob.id).await.unwrap(), secret.id), 0, "an edit takes the mention back");
    store.insert(message(&carol, "c-1", "@Bob in general")).await.unwrap();
    assert_eq!(mentions(&store.sidebar(bob.id).await.unwrap(), GENERAL_ROOM_ID), 1, "by nickname key");
}

fn words(text: &str) -> SearchFilter {
    let terms = text.split_whitespace().map(|word| SearchTerm::Word(word.into())).collect();
    SearchFilter { terms, ..SearchFilter::default() }
}

fn found_bodies(found: &[Found]) -> Vec<&str> {
    found.iter().map(|found| found.message.body.as_str()).collect()
}

pub(crate) async fn search_finds_words_prefixes_and_phrases_newest_first_in_readable_rooms_only(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    let secret = room(store, "secret", RoomKind::Private, &alice).await;
    store.insert(message(&alice, "a-1", "we ship on friday")).await.unwrap();
    store.insert(message(&bob, "b-1", "shipping friday is brave")).await.unwrap();
    store.insert(message_in(secret.id, &alice, "a-2", "ship the secret plan")).await.unwrap();
    let gone = store.insert(message(&bob, "b-2", "ship it now")).await.unwrap().message.id;
    store.change_message(gone, MessageChange::Delete, by(&bob)).await.unwrap();

    let visitor = store.search(None, words("ship"), None, 20).await.unwrap();
    assert_eq!(found_bodies(&visitor), ["we ship on friday"], "public rooms only, no deleted messages");
    let member = store.search(Some(alice.id), words("ship"), None, 20).await.unwrap();
    assert_eq!(found_bodies(&member), ["ship the secret plan", "we ship on friday"], "newest first");
    assert_eq!(member[0].room.id, secret.id);
    assert!(member[0].marked.contains(&format!("{HIT_START}ship{HIT_END}")), "{:?}", member[0].marked);
    let bob_sees = store.search(Some(bob.id), words("ship"), None, 20).await.unwrap();
    assert_eq!(found_bodies(&bob_sees), ["we ship on friday"], "not a member of secret");

    let prefix = SearchFilter { terms: vec![SearchTerm::Prefix("ship".into())], ..SearchFilter::default() };
    let prefixed = store.search(None, prefix, None, 20).await.unwrap();
    assert_eq!(found_bodies(&prefixed), ["shipping friday is brave", "we ship on friday"]);
    let phrase = SearchFilter { terms: vec![SearchTerm::Phrase("ship on".into())], ..SearchFilter::default() };
    assert_eq!(found_bodies(&store.search(None, phrase, None, 20).await.unwrap()), ["we ship on friday"]);
    assert_eq!(
        found_bodies(&store.search(None, words("friday brave"), None, 20).await.unwrap()),
        ["shipping friday is brave"]
    );
    let syntax = store.search(None, words("NEAR(ship OR \"x"), None, 20).await.unwrap();
    assert!(syntax.is_empty(), "what users type is text, never query syntax");
    // An edit is found by its new words, no longer by its old ones.
    let first = visitor[0].message.id;
    store.change_message(first, edit("we sail on monday"), by(&alice)).await.unwrap();
    assert!(store.search(None, words("friday ship"), None, 20).await.unwrap().is_empty());
    assert_eq!(found_bodies(&store.search(None, words("sail"), None, 20).await.unwrap()), ["we sail on monday"]);
}

pub(crate) async fn search_filters_by_author_room_file_and_date_and_pages_by_id(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let (alice, bob) = (user(store, "alice").await, user(store, "bob").await);
    let lounge = room(store, "lounge", RoomKind::Public, &bob).await;
    for n in 0..5 {
        store.insert(message(&alice, &format!("a-{n}"), &format!("report {n}"))).await.unwrap();
    }
    store.insert(message_in(lounge.id, &bob, "b-1", "report from the lounge")).await.unwrap();
    let mut with_file = message(&bob, "b-2", "the report as a file");
    with_file.file = Some(attachment("f0000000000000000000000000000001"));
    store.insert(with_file).await.unwrap();

    let filter = |change: fn(&mut SearchFilter)| {
        let mut filter = words("report");
        change(&mut filter);
        filter
    };
    let by_bob = store.search(None, filter(|f| f.author_key = Some("bob".into())), None, 20).await.unwrap();
    assert_eq!(found_bodies(&by_bob), ["the report as a file", "report from the lounge"]);
    let in_lounge = store.search(None, filter(|f| f.room = Some("lounge".into())), None, 20).await.unwrap();
    assert_eq!(found_bodies(&in_lounge), ["report from the lounge"]);
    let files = store.search(None, filter(|f| f.has_file = true), None, 20).await.unwrap();
    assert_eq!(found_bodies(&files), ["the report as a file"]);
    let filters_only = SearchFilter { has_file: true, ..SearchFilter::default() };
    assert_eq!(found_bodies(&store.search(None, filters_only, None, 20).await.unwrap()), ["the report as a file"]);
    // Everything here was sent just now: before a later instant, none from then on.
    let later = now_millis() + 86_400_000;
    let before_later = SearchFilter { sent_before: Some(later), ..words("report") };
    assert_eq!(store.search(None, before_later, None, 20).await.unwrap().len(), 7);
    let from_later = SearchFilter { sent_from: Some(later), ..words("report") };
    assert!(store.search(None, from_later, None, 20).await.unwrap().is_empty());
    let earlier = now_millis() - 86_400_000;
    let before_earlier = SearchFilter { sent_before: Some(earlier), ..words("report") };
    assert!(store.search(None, before_earlier, None, 20).await.unwrap().is_empty());

    let first = store.search(None, words("report"), None, 3).await.unwrap();
    let rest = store.search(None, words("report"), Some(first[2].message.id), 20).await.unwrap();
    let ids: Vec<i64> = first.iter().chain(&rest).map(|found| found.message.id.get()).collect();
    assert_eq!(ids, [7, 6, 5, 4, 3, 2, 1], "pages continue below the last id, newest first, none twice");
}

fn attachment(id: &str) -> Attachment {
    let content_type = "image/png".to_owned();
    Attachment { id: id.into(), name: "plan.png".into(), content_type, size: 1234, width: Some(64), height: Some(48) }
}

pub(crate) async fn files_belong_to_their_message_and_go_with_its_deletion(fresh: Fresh) {
    let Fresh { store, .. } = &fresh;
    let store = store.as_ref();
    let alice = user(store, "alice").await;
    let secret = room(store, "secret", RoomKind::Private, &alice).await;
    let file = attachment("f0000000000000000000000000000002");
    let mut sent = message_in(secret.id, &alice, "a-1", "");
    sent.file = Some(file.clone());
    let stored = store.insert(sent).await.unwrap().message;
    assert_eq!(stored.file.as_ref(), Some(&file), "the message carries its file");
    assert_eq!(store.history(secret.id, None, 10).await.unwrap()[0].file.as_ref(), Some(&file));
    assert_eq!(store.file(file.id.clone()).await.unwrap(), Some((file.clone(), secret.id)), "with its room");
    assert_eq!(store.message_file(stored.id).await.unwrap(), Some(file.id.clone()));
    let plain = store.insert(message(&alice, "a-2", "no file here")).await.unwrap().message;
    assert_eq!(store.message_file(plain.id).await.unwrap(), None);
    assert_eq!(store.file("f0000000000000000000000000000009".into()).await.unwrap(), None);

    store.change_message(stored.id, MessageChange::Delete, by(&alice)).await.unwrap();
    assert_eq!(store.file(file.id.clone()).await.unwrap(), None, "deleted with its message");
    assert_eq!(store.message_file(stored.id).await.unwrap(), None);
}
