//! A throw-away PostgreSQL 15 for tests: one server per test process, started on first use, and a
//! new database for every store a test opens, so checks run in parallel without sharing state.
//! `NATTER_TEST_POSTGRES` (a URL to an existing server whose user may create databases) is used
//! instead when set.
//!
//! Stopping it: statics are never dropped, and a guard in a test's scope would stop the server
//! under the tests still running. So the server is started together with a small watchdog shell
//! that polls this process's pid and, once the process is gone (however it ended: success,
//! failure, a panic, a kill), stops the server with `pg_ctl stop -m immediate` and removes its
//! folder. That needs neither `unsafe` (forbidden here) nor an exit hook.

use std::future::Future;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::LazyLock;

use crate::protocol::ChatMessage;
use crate::server::store::{EventSink, StoreEvent};

use super::PostgresStore;

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// The admin connection's settings (database `postgres`), or why there is no server.
static SERVER: LazyLock<Result<tokio_postgres::Config, String>> = LazyLock::new(start);

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

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A PostgreSQL tool, as user `postgres` when we are root (initdb refuses to run as root).
fn tool(name: &str) -> Command {
    let program = Path::new(BIN).join(name);
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command.stdin(Stdio::null()).output().map_err(|error| format!("{command:?}: {error}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn start() -> Result<tokio_postgres::Config, String> {
    if let Ok(url) = std::env::var("NATTER_TEST_POSTGRES") {
        return url.parse().map_err(|error| format!("NATTER_TEST_POSTGRES: {error}"));
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("natter-pg-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    if running_as_root() {
        run(Command::new("chown").arg("postgres").arg(&dir))?;
    }
    let data = dir.join("data");
    // The C locale, like SQLite's byte order; no fsync: the data is thrown away.
    run(tool("initdb").arg("-D").arg(&data).args([
        "-A",
        "trust",
        "-U",
        "natter",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]))?;
    // A free port: the OS picks one, and we hand it to PostgreSQL right after.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| format!("no free port: {error}"))?
        .port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200",
        dir.display()
    );
    watch(&dir, &data)?;
    run(tool("pg_ctl").arg("-D").arg(&data).arg("-l").arg(dir.join("log")).args(["-w", "-o", &options, "start"]))?;
    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(port).user("natter").dbname("postgres");
    Ok(config)
}

/// Starts the watchdog that stops the server and removes `dir` once this process is gone.
fn watch(dir: &Path, data: &Path) -> Result<(), String> {
    let stop = if running_as_root() { "runuser -u postgres -- " } else { "" };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {stop}{BIN}/pg_ctl -D '{data}' stop -m immediate; rm -rf '{dir}'",
        pid = std::process::id(),
        data = data.display(),
        dir = dir.display(),
    );
    // Deliberately never waited for: it must outlive this process (it is then reaped by init).
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start the watchdog: {error}"))?;
    Ok(())
}

/// A new, empty database on the test server; its settings.
pub(crate) fn new_database() -> tokio_postgres::Config {
    let admin = SERVER.as_ref().unwrap_or_else(|why| panic!("no PostgreSQL for tests: {why}")).clone();
    let name = format!("t_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed));
    on_runtime(async {
        let (client, connection) = admin.connect(tokio_postgres::NoTls).await.expect("connect to the test server");
        let driver = tokio::spawn(connection);
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create a test database");
        drop(client);
        let _ = driver.await;
    });
    let mut config = admin;
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
    on_runtime(PostgresStore::open_config(config, events)).expect("open the PostgreSQL store")
}
