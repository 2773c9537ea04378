//! The PostgreSQL store's behaviour, against a throw-away PostgreSQL (see `test_support`).

use std::sync::Arc;

use super::test_support::{self, hearing_stored, new_database, on_runtime};
use super::*;
use crate::protocol::GENERAL_ROOM_ID;
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
    let refused = on_runtime(PostgresStore::open_config(config, Box::new(|_| {}))).err();
    assert!(matches!(refused, Some(DbError::TooNew { found: 99, .. })), "{refused:?}");
}

/// Two stores on one database are two writers, as two Natter processes would be. Each tells its
/// own messages in id order, together they take every id once, and a reader tailing `id > last`
/// while they write sees every message, in order: ids commit in the order they are handed out.
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
    let mut all = Vec::new();
    for told in [told_a, told_b] {
        let ids: Vec<i64> = told.try_iter().flatten().map(|m| m.id.get()).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "each store tells in id order: {ids:?}");
        assert_eq!(ids.len(), EACH as usize);
        all.extend(ids);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=2 * EACH).collect::<Vec<_>>(), "no id twice, none missing");
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
