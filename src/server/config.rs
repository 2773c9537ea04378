//! Runtime settings: built-in defaults, then `Leptos.toml`, then environment variables, then flags.
//! Parsing is separate from reading files and the environment so each rule can be tested alone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use serde::Deserialize;

use crate::server::http::forwarded::IpRange;

const DEFAULT_CONFIG: &str = "Leptos.toml";
const MAX_DRAIN_SECS: u64 = 3600;

/// Natter: self-hosted real-time group chat.
///
/// Without a command, serves the chat. Settings come from Leptos.toml (or --config), overridden by
/// environment variables, overridden by these flags; the admin commands use the same settings to
/// find the database and the running server.
#[derive(Debug, Default, Parser)]
#[command(name = "natter", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address and port to listen on. The default accepts local connections only; use 0.0.0.0:8080
    /// to serve other machines. [default: 127.0.0.1:8080]
    #[arg(long, global = true, env = "NATTER_ADDR", value_name = "HOST:PORT")]
    pub addr: Option<SocketAddr>,
    /// SQLite database file, created with its folder when missing, or a PostgreSQL database as a
    /// postgres:// URL (uploads and the key file then stay in data/). [default: data/natter.db]
    #[arg(long, global = true, env = "NATTER_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Folder for the key file and uploads. Natters sharing one PostgreSQL database must share it
    /// too (a shared mount), so every node serves every upload. [default: the SQLite file's folder;
    /// data/ with PostgreSQL]
    #[arg(long, global = true, env = "NATTER_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log filter: error, warn, info, debug, trace, or per module (natter=debug). RUST_LOG wins
    /// over this. [default: info]
    #[arg(long, global = true, env = "NATTER_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Folder holding the built site (pkg/ with the WASM, and the public/ assets). [default: target/site]
    #[arg(long, global = true, env = "LEPTOS_SITE_ROOT", value_name = "DIR")]
    pub site_root: Option<String>,
    /// Runtime configuration file. A missing Leptos.toml in the working folder is fine (defaults
    /// apply); a file named here must exist. [default: Leptos.toml]
    #[arg(long, global = true, env = "NATTER_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// A load balancer or reverse proxy (an address or a CIDR range) whose Forwarded or
    /// X-Forwarded-For header names the client, for the per-address limits. Repeat for several;
    /// replaces server.trusted_proxies. [default: none, so those headers are ignored]
    #[arg(
        long = "trusted-proxy",
        global = true,
        env = "NATTER_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "ADDR[/BITS]"
    )]
    pub trusted_proxies: Vec<IpRange>,
    /// On SIGTERM, answer /healthz with 503 "draining" for this many seconds while serving on, so a
    /// load balancer sends new clients elsewhere; then shut down (a second SIGTERM or Ctrl-C stops
    /// at once). [default: 0, shut down at once]
    #[arg(long, global = true, env = "NATTER_DRAIN_SECS", value_name = "SECONDS")]
    pub drain_secs: Option<u64>,
    /// A Prometheus scraper (an address or a CIDR range) that may read /metrics besides loopback
    /// and the trusted proxies. Repeat for several; replaces server.metrics_allow. [default: none]
    #[arg(
        long = "metrics-allow",
        global = true,
        env = "NATTER_METRICS_ALLOW",
        value_delimiter = ',',
        value_name = "ADDR[/BITS]"
    )]
    pub metrics_allow: Vec<IpRange>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the chat (what plain `natter` does).
    Serve,
    /// Give a user the admin role (admins delete messages, ban users and manage rooms).
    Admin {
        /// The user's nickname (any spelling with the same letters, such as different case, works).
        nickname: String,
    },
    /// Manage bots: accounts that speak the protocol with a token instead of a cookie.
    Bot {
        #[command(subcommand)]
        action: BotCommand,
    },
    /// Send an announcement from "Natter" through the running server: to everyone (in general), to
    /// one room, or to one user (in a direct conversation).
    Announce {
        /// Announce in this room instead of general.
        #[arg(long, conflicts_with = "user")]
        room: Option<String>,
        /// Send it to this user alone.
        #[arg(long)]
        user: Option<String>,
        /// The announcement's text.
        text: String,
    },
    /// Write a consistent copy of the database to a new file, safely while the server runs (SQLite's
    /// VACUUM INTO; never copy the live file). Keep natter.key with it.
    Backup {
        /// The new file to write (it must not exist yet).
        path: PathBuf,
    },
    /// Move this SQLite install (the --db file) into an empty PostgreSQL database, to run Natter on
    /// several machines: every account, password hash, session, bot token, room, membership, read
    /// mark, message (same ids and revisions), reaction, mention and file record, in one
    /// transaction. Stop the server first. File bytes and natter.key stay in the data folder:
    /// copy or mount it for the new nodes yourself.
    MoveTo {
        /// The PostgreSQL database, as a postgres:// URL. Natter creates its tables there; a
        /// database that already holds Natter data is refused and left untouched.
        #[arg(value_name = "POSTGRES_URL")]
        url: String,
    },
    /// Load a running server with many websocket clients and report loss, throughput and latency
    /// (a benchmark tool; targets loopback unless --target names another address).
    Load(crate::server::load::LoadArgs),
}

#[derive(Debug, Subcommand)]
pub enum BotCommand {
    /// Create a bot and print its token (shown once; keep it secret).
    Create {
        /// The bot's nickname: unique like any other.
        name: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub addr: SocketAddr,
    pub db: PathBuf,
    /// Where the key file and uploads live, when not beside the database (see `data_folder`).
    pub data_dir: Option<PathBuf>,
    pub log: String,
    pub site_root: String,
    /// Peers whose forwarding headers are believed (see `http::forwarded`); empty: none.
    pub trusted_proxies: Vec<IpRange>,
    /// Seconds between a stop request and the shutdown, with /healthz answering `draining`.
    pub drain_secs: u64,
    /// Who may read /metrics besides loopback and `trusted_proxies` (see `http::scrape`).
    pub metrics_allow: Vec<IpRange>,
    pub limits: Limits,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_ws_message_bytes: usize,
    pub ping_interval_secs: u64,
    pub hello_timeout_secs: u64,
    pub broadcast_buffer: usize,
    /// How long a connection woken by live traffic waits for more before it writes, so that one
    /// wake-up and one write carry many frames in a busy room. 0 writes at once.
    pub write_linger_ms: u64,
    pub idle_after_secs: u64,
    /// Messages one user may post per second on average (socket and bot API together)...
    pub messages_per_second: u32,
    /// ...and at once.
    pub message_burst: u32,
    /// The same for everyone behind one client address together.
    pub address_messages_per_second: u32,
    pub address_message_burst: u32,
    /// Other frames (typing, read, nick) one user may send per second, and at once.
    pub frames_per_second: u32,
    pub frame_burst: u32,
    /// Open websockets allowed per user and per client address.
    pub connections_per_user: usize,
    pub connections_per_address: usize,
    /// Largest file one upload may send, in bytes (413 beyond).
    pub max_upload_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_ws_message_bytes: 1 << 20,
            ping_interval_secs: 25,
            hello_timeout_secs: 10,
            broadcast_buffer: 1024,
            write_linger_ms: 2,
            idle_after_secs: 300,
            messages_per_second: 10,
            message_burst: 30,
            address_messages_per_second: 30,
            address_message_burst: 90,
            frames_per_second: 20,
            frame_burst: 40,
            connections_per_user: 20,
            connections_per_address: 200,
            max_upload_bytes: 25 * 1024 * 1024,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: PathBuf::from("data/natter.db"),
            data_dir: None,
            log: "info".into(),
            site_root: "target/site".into(),
            trusted_proxies: Vec::new(),
            drain_secs: 0,
            metrics_allow: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// The file's shape: every key optional, unknown keys refused so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileSettings {
    server: FileServer,
    limits: Option<Limits>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileServer {
    addr: Option<SocketAddr>,
    db: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    log: Option<String>,
    site_root: Option<String>,
    trusted_proxies: Option<Vec<IpRange>>,
    drain_secs: Option<u64>,
    metrics_allow: Option<Vec<IpRange>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("invalid setting: {0}")]
    Invalid(String),
}

impl Settings {
    /// Where the store is, as `db` names it: a `postgres://` URL or a SQLite file.
    pub fn store(&self) -> crate::server::store::StoreLocation {
        crate::server::store::StoreLocation::parse(&self.db)
    }

    /// The folder of the key file and uploads: `data_dir`, or else the store's own folder.
    pub fn data_folder(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| self.store().folder())
    }

    /// Settings for this process: the file the CLI names (or ./Leptos.toml if present), then flags
    /// and environment variables, which clap has already merged into `cli`.
    pub fn load(cli: &Cli) -> Result<Self, ConfigError> {
        let text = match &cli.config {
            Some(path) => Some(read(path)?),
            None if Path::new(DEFAULT_CONFIG).exists() => Some(read(Path::new(DEFAULT_CONFIG))?),
            None => None,
        };
        let path = cli.config.clone().unwrap_or_else(|| DEFAULT_CONFIG.into());
        Self::resolve(text.as_deref(), &path, cli)
    }

    fn resolve(file: Option<&str>, path: &Path, cli: &Cli) -> Result<Self, ConfigError> {
        let file: FileSettings = match file {
            Some(text) => toml::from_str(text)
                .map_err(|source| ConfigError::Parse { path: path.to_owned(), source: Box::new(source) })?,
            None => FileSettings::default(),
        };
        let defaults = Settings::default();
        let settings = Settings {
            addr: cli.addr.or(file.server.addr).unwrap_or(defaults.addr),
            db: cli.db.clone().or(file.server.db).unwrap_or(defaults.db),
            data_dir: cli.data_dir.clone().or(file.server.data_dir),
            log: cli.log.clone().or(file.server.log).unwrap_or(defaults.log),
            site_root: cli.site_root.clone().or(file.server.site_root).unwrap_or(defaults.site_root),
            trusted_proxies: flags_or(&cli.trusted_proxies, file.server.trusted_proxies, defaults.trusted_proxies),
            drain_secs: cli.drain_secs.or(file.server.drain_secs).unwrap_or(defaults.drain_secs),
            metrics_allow: flags_or(&cli.metrics_allow, file.server.metrics_allow, defaults.metrics_allow),
            limits: file.limits.unwrap_or_default(),
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        // An hour is far longer than any balancer's health check needs; more is likely milliseconds.
        if self.drain_secs > MAX_DRAIN_SECS {
            return Err(ConfigError::Invalid(format!("server.drain_secs must be at most {MAX_DRAIN_SECS} (seconds)")));
        }
        let limits = &self.limits;
        if limits.max_ws_message_bytes < crate::protocol::MAX_FRAME_BYTES {
            return Err(ConfigError::Invalid(format!(
                "limits.max_ws_message_bytes must be at least {} (the protocol's frame limit)",
                crate::protocol::MAX_FRAME_BYTES
            )));
        }
        if limits.write_linger_ms > 1_000 {
            return Err(ConfigError::Invalid("limits.write_linger_ms must be at most 1000".into()));
        }
        let zero = [limits.ping_interval_secs, limits.hello_timeout_secs, limits.idle_after_secs].contains(&0);
        if zero || limits.broadcast_buffer == 0 || limits.max_upload_bytes == 0 {
            return Err(ConfigError::Invalid(
                "limits.ping_interval_secs, hello_timeout_secs, idle_after_secs, broadcast_buffer and max_upload_bytes \
                 must be above 0"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A list setting: the flags' list when they name any (it replaces the file's rather than adding
/// to it, so a flag can narrow what the file allows), else the file's, else the default.
fn flags_or(flags: &[IpRange], file: Option<Vec<IpRange>>, default: Vec<IpRange>) -> Vec<IpRange> {
    if flags.is_empty() {
        file.unwrap_or(default)
    } else {
        flags.to_vec()
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_leptos_toml_is_valid_and_matches_the_defaults() {
        let shipped = include_str!("../../Leptos.toml");
        let settings = Settings::resolve(Some(shipped), Path::new("Leptos.toml"), &Cli::default()).unwrap();
        assert_eq!(settings, Settings::default());
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let file = "[server]\naddr = \"127.0.0.1:9000\"\ndb = \"/tmp/file.db\"\ndrain_secs = 10\n[limits]\nping_interval_secs = 5\n";
        let cli = Cli { db: Some("/tmp/flag.db".into()), drain_secs: Some(20), ..Cli::default() };
        let settings = Settings::resolve(Some(file), Path::new("x.toml"), &cli).unwrap();
        assert_eq!(settings.addr.port(), 9000);
        assert_eq!(settings.db, PathBuf::from("/tmp/flag.db"));
        assert_eq!(settings.drain_secs, 20);
        assert_eq!(settings.limits.ping_interval_secs, 5);
        assert_eq!(settings.limits.hello_timeout_secs, Limits::default().hello_timeout_secs);
    }

    #[test]
    fn typos_and_impossible_limits_are_refused() {
        let typo = Settings::resolve(Some("[server]\nadress = \"x\"\n"), Path::new("x.toml"), &Cli::default());
        assert!(matches!(typo, Err(ConfigError::Parse { .. })));
        let tiny =
            Settings::resolve(Some("[limits]\nmax_ws_message_bytes = 10\n"), Path::new("x.toml"), &Cli::default());
        assert!(matches!(tiny, Err(ConfigError::Invalid(_))));
        let lazy = Settings::resolve(Some("[limits]\nwrite_linger_ms = 5000\n"), Path::new("x.toml"), &Cli::default());
        assert!(matches!(lazy, Err(ConfigError::Invalid(message)) if message.contains("write_linger_ms")));
        let endless = Settings::resolve(Some("[server]\ndrain_secs = 30000\n"), Path::new("x.toml"), &Cli::default());
        assert!(matches!(endless, Err(ConfigError::Invalid(message)) if message.contains("drain_secs")));
    }

    #[test]
    fn trusted_proxies_come_from_the_file_unless_flags_name_some_and_bad_ranges_are_refused() {
        let file = "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"fd00::1\"]\n";
        let settings = Settings::resolve(Some(file), Path::new("x.toml"), &Cli::default()).unwrap();
        let expected: Vec<IpRange> = vec!["10.0.0.0/8".parse().unwrap(), "fd00::1".parse().unwrap()];
        assert_eq!(settings.trusted_proxies, expected);
        let cli =
            Cli::try_parse_from(["natter", "--trusted-proxy", "192.0.2.1", "--trusted-proxy", "192.0.2.2"]).unwrap();
        let settings = Settings::resolve(Some(file), Path::new("x.toml"), &cli).unwrap();
        assert_eq!(settings.trusted_proxies.len(), 2, "the flags replace the file's list");
        assert!(settings.trusted_proxies[0].contains("192.0.2.1".parse().unwrap()));
        let slip = Settings::resolve(
            Some("[server]\ntrusted_proxies = [\"10.1.2.3/8\"]\n"),
            Path::new("x.toml"),
            &Cli::default(),
        );
        assert!(matches!(slip, Err(ConfigError::Parse { .. })));
        assert!(Cli::try_parse_from(["natter", "--trusted-proxy", "proxy.example"]).is_err());
    }

    #[test]
    fn metrics_scrapers_come_from_the_file_unless_flags_name_some() {
        let file = "[server]\nmetrics_allow = [\"10.0.5.0/24\"]\n";
        let settings = Settings::resolve(Some(file), Path::new("x.toml"), &Cli::default()).unwrap();
        assert!(settings.metrics_allow[0].contains("10.0.5.9".parse().unwrap()));
        let cli = Cli::try_parse_from(["natter", "--metrics-allow", "192.0.2.9"]).unwrap();
        let settings = Settings::resolve(Some(file), Path::new("x.toml"), &cli).unwrap();
        assert_eq!(settings.metrics_allow, vec!["192.0.2.9".parse::<IpRange>().unwrap()]);
    }

    #[test]
    fn a_named_config_file_must_exist() {
        let cli = Cli { config: Some("/nonexistent/natter.toml".into()), ..Cli::default() };
        assert!(matches!(Settings::load(&cli), Err(ConfigError::Read { .. })));
    }
}
