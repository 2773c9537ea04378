//! A throw-away PostgreSQL 15 for tests, started by the test process itself and stopped when it
//! ends, however it ends. Shared, by `#[path]`, with the integration tests (tests/integration/
//! support/), so it uses nothing of this crate: only std and tokio-postgres.
//!
//! Stopping it: statics are never dropped, and a guard in a test's scope would stop the server
//! under the tests still running. So the server is started together with a small watchdog shell
//! that polls this process's pid and, once the process is gone (however it ended: success,
//! failure, a panic, a kill), stops the server with `pg_ctl stop -m immediate` and removes its
//! folder. That needs neither `unsafe` (forbidden here) nor an exit hook.

use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = "/usr/lib/postgresql/15/bin";

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

/// Starts a server (or names the one `NATTER_TEST_POSTGRES` gives) and returns its admin
/// connection's settings (database `postgres`), or why there is none.
pub fn start() -> Result<tokio_postgres::Config, String> {
    if let Ok(url) = std::env::var("NATTER_TEST_POSTGRES") {
        return url.parse().map_err(|error| format!("NATTER_TEST_POSTGRES: {error}"));
    }
    Server::start().map(|server| server.config)
}

/// A server of a test's own, for tests that restart it.
pub struct Server {
    /// The admin connection's settings (database `postgres`).
    pub config: tokio_postgres::Config,
    data: std::path::PathBuf,
    log: std::path::PathBuf,
    options: String,
}

impl Server {
    /// Restarts the server (a fast shutdown: sessions are ended, as in an operator's restart)
    /// and waits until it accepts connections again.
    pub fn restart(&self) -> Result<(), String> {
        run(tool("pg_ctl").arg("-D").arg(&self.data).arg("-l").arg(&self.log).args([
            "-w",
            "-m",
            "fast",
            "-o",
            &self.options,
            "restart",
        ]))
    }

    pub fn start() -> Result<Self, String> {
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
        let log = dir.join("log");
        run(tool("pg_ctl").arg("-D").arg(&data).arg("-l").arg(&log).args(["-w", "-o", &options, "start"]))?;
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(port).user("natter").dbname("postgres");
        Ok(Self { config, data, log, options })
    }
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
