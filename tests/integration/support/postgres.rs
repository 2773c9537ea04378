//! PostgreSQL for the cluster tests: one throw-away server per test process, started on first use
//! by the same code the store's own tests use, and a new database for every test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

#[path = "../../../src/server/store/postgres/throwaway.rs"]
mod throwaway;

static SERVER: LazyLock<Result<tokio_postgres::Config, String>> = LazyLock::new(throwaway::start);
static DATABASES: AtomicU64 = AtomicU64::new(0);

/// A new, empty database: its `postgres://` URL, as an operator would give it to Natter.
pub async fn new_database() -> String {
    let admin = SERVER.as_ref().unwrap_or_else(|why| panic!("no PostgreSQL for tests: {why}")).clone();
    let name = format!("it_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
    let (client, connection) = admin.connect(tokio_postgres::NoTls).await.expect("connect to the test server");
    let driver = tokio::spawn(connection);
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create a test database");
    drop(client);
    let _ = driver.await;
    let host = match &admin.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(host) => host.clone(),
        other => panic!("the test server is reached over TCP, not {other:?}"),
    };
    let user = admin.get_user().unwrap_or("postgres");
    let password = admin.get_password().map(|p| format!(":{}", String::from_utf8_lossy(p))).unwrap_or_default();
    format!("postgres://{user}{password}@{host}:{}/{name}", admin.get_ports()[0])
}

/// Runs one query on the database `url` names and returns its first column as numbers.
pub async fn numbers(url: &str, sql: &str) -> Vec<i64> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    let driver = tokio::spawn(connection);
    let rows = client.query(sql, &[]).await.expect("query");
    drop(client);
    let _ = driver.await;
    rows.iter().map(|row| row.get(0)).collect()
}
