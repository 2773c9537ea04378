//! A throw-away PostgreSQL 15 for tests: one server per test process, started on first use, and a
//! new database for every store a test opens, so checks run in parallel without sharing state.
//! `NATTER_TEST_POSTGRES` (a URL to an existing server whose user may create databases) is used
//! instead when set. Starting and stopping the server is `throwaway.rs`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::LazyLock;

use crate::protocol::ChatMessage;
use crate::server::store::{EventSink, StoreEvent};

use super::PostgresStore;

/// The admin connection's settings (database `postgres`), or why there is no server.
static SERVER: LazyLock<Result<tokio_postgres::Config, String>> = LazyLock::new(super::throwaway::start);

/// The runtime that runs every test store's writer task and its connection. Each test has a
/// runtime of its own that ends with it, but `fresh()` is called from inside that runtime, where
/// it cannot block on opening a store; this one lives as long as the process and is driven from
/// a helper thread instead.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a test runtime")
});

static DATABASES: AtomicU64 = AtomicU64::new(0);

/// Runs `work` to completion on the shared runtime, from a helper thread, so that it can be called
/// from inside another runtime.
pub(crate) fn on_runtime<T: Send>(work: impl Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| scope.spawn(|| RUNTIME.block_on(work)).join().expect("the helper thread"))
}

/// A new, empty database on the test server; its settings.
pub(crate) fn new_database() -> tokio_postgres::Config {
    let admin = SERVER.as_ref().unwrap_or_else(|why| panic!("no PostgreSQL for tests: {why}"));
    new_database_on(admin)
}

/// A new, empty database on the server `admin` names; its settings.
pub(crate) fn new_database_on(admin: &tokio_postgres::Config) -> tokio_postgres::Config {
    let name = format!("t_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
    on_runtime(async {
        let (client, connection) = admin.connect(tokio_postgres::NoTls).await.expect("connect to the test server");
        let driver = tokio::spawn(connection);
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create a test database");
        drop(client);
        let _ = driver.await;
    });
    let mut config = admin.clone();
    config.dbname(&name);
    config
}

/// A sink that forwards every batch of stored messages.
pub(crate) fn hearing_stored() -> (EventSink, std_mpsc::Receiver<Vec<ChatMessage>>) {
    let (stored, heard) = std_mpsc::channel();
    let sink: EventSink = Box::new(move |event| {
        if let StoreEvent::MessagesStored(messages) = event {
            let _ = stored.send(messages.to_vec());
        }
    });
    (sink, heard)
}

/// Opens a store on the database `config` names, its writer on the shared runtime.
pub(crate) fn open(config: &tokio_postgres::Config, events: EventSink) -> PostgresStore {
    let config = config.clone();
    on_runtime(PostgresStore::open_config(config, events, None)).expect("open the PostgreSQL store")
}
