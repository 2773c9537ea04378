//! Which engine the `--db` setting names, and opening it. Apart from the trait because it is the
//! one place that knows both engines by name: everything after `open` sees only `dyn Store`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{DbError, EventSink, PostgresStore, SqliteStore, Store};

/// Where the store keeps its data, as the `--db` setting names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file, created with its folder when missing.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its `postgres://` (or `postgresql://`) URL.
    Postgres(String),
}

impl StoreLocation {
    /// A `postgres://` or `postgresql://` URL selects PostgreSQL; anything else is a SQLite path, so
    /// every `--db` that worked before still means the same file.
    pub fn parse(setting: &Path) -> Self {
        match setting.to_str() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Self::Postgres(url.to_owned())
            }
            _ => Self::Sqlite(setting.to_owned()),
        }
    }

    /// The folder Natter keeps its other files in (the key file, uploads): the SQLite file's
    /// folder, or for PostgreSQL `data/` in the working folder (the default database's folder), as
    /// uploads stay on local disk for now.
    pub fn folder(&self) -> PathBuf {
        match self {
            Self::Sqlite(path) => {
                path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned()
            }
            Self::Postgres(_) => PathBuf::from("data"),
        }
    }
}

/// For logs and messages: a PostgreSQL URL without its password or parameters, which may hold
/// secrets.
impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => path.display().fmt(f),
            Self::Postgres(url) => {
                let url = url.split('?').next().unwrap_or_default();
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.rsplit_once('@') {
                    Some((user, host)) => {
                        let user = user.split(':').next().unwrap_or_default();
                        write!(f, "{scheme}://{user}@{host}")
                    }
                    None => write!(f, "{scheme}://{rest}"),
                }
            }
        }
    }
}

/// Opens the store the settings name, with migrations applied and the writer started; `events`
/// hears every commit's changes.
pub async fn open(location: &StoreLocation, events: EventSink) -> Result<Arc<dyn Store>, DbError> {
    open_measured(location, events, None).await
}

/// `open`, with the store's own figures (how late notifications from other Natters arrive) going
/// to `metrics`.
pub async fn open_measured(
    location: &StoreLocation,
    events: EventSink,
    metrics: Option<Arc<crate::server::metrics::Metrics>>,
) -> Result<Arc<dyn Store>, DbError> {
    match location {
        StoreLocation::Sqlite(path) => {
            // Opening a SQLite file blocks (and may migrate it): off the async runtime.
            let path = path.clone();
            Ok(Arc::new(tokio::task::spawn_blocking(move || SqliteStore::open(&path, events)).await??))
        }
        StoreLocation::Postgres(url) => Ok(Arc::new(PostgresStore::open(url, events, metrics).await?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_selects_postgres_and_anything_else_is_a_sqlite_file() {
        let url = "postgres://natter:secret@db.example:5432/natter?sslmode=disable";
        assert_eq!(StoreLocation::parse(Path::new(url)), StoreLocation::Postgres(url.into()));
        let other = "postgresql://natter@localhost/natter";
        assert_eq!(StoreLocation::parse(Path::new(other)), StoreLocation::Postgres(other.into()));
        for path in ["data/natter.db", "natter.db", "/var/lib/natter/postgres.db", "postgres:/x"] {
            assert_eq!(StoreLocation::parse(Path::new(path)), StoreLocation::Sqlite(path.into()));
        }
        assert_eq!(StoreLocation::parse(Path::new("natter.db")).folder(), PathBuf::from("."));
        assert_eq!(StoreLocation::parse(Path::new("data/natter.db")).folder(), PathBuf::from("data"));
        assert_eq!(StoreLocation::parse(Path::new(url)).folder(), PathBuf::from("data"));
    }

    #[test]
    fn a_postgres_url_is_shown_without_its_password_or_parameters() {
        let shown = StoreLocation::Postgres("postgres://natter:secret@db.example:5432/natter?password=x".into());
        assert_eq!(shown.to_string(), "postgres://natter@db.example:5432/natter");
        let plain = StoreLocation::Postgres("postgresql://localhost/natter".into());
        assert_eq!(plain.to_string(), "postgresql://localhost/natter");
    }
}
