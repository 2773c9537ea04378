//! The schema: migrations applied in order at start-up (counted by `PRAGMA user_version`), and
//! online backups.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::*;

/// One schema change: SQL, or Rust where the change needs our own logic.
pub(super) enum Migration {
    Sql(&'static str),
    Code(fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>),
}

/// Migrations in order; `PRAGMA user_version` counts how many are applied.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration::Sql(include_str!("../../../../migrations/sqlite/0001_messages.sql")),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0002_users.sql")),
    Migration::Code(give_messages_authors),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0003_messages_by_author.sql")),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0004_message_kind.sql")),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0005_message_deletion.sql")),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0006_rooms.sql")),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0007_edits_and_reactions.sql")),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0008_search.sql")),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0009_mentions.sql")),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0010_notify.sql")),
    Migration::Sql(include_str!("../../../../migrations/sqlite/0011_files.sql")),
];

/// Migration step: every nickname that posted before accounts existed becomes a user, and its
/// messages get that author. Nicknames that now look alike merge into one user.
pub(super) fn give_messages_authors(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let nicknames: Vec<String> = tx
        .prepare("SELECT nickname FROM messages GROUP BY nickname ORDER BY min(id)")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for legacy in nicknames {
        let key = crate::server::identity::nickname(&legacy).map_or_else(|_| format!("legacy:{legacy}"), |n| n.key);
        tx.execute(
            "INSERT INTO users (nickname, nickname_key, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (nickname_key) DO NOTHING",
            (&legacy, &key, now_millis()),
        )?;
        tx.execute(
            "UPDATE messages SET author_id = (SELECT id FROM users WHERE nickname_key = ?2) WHERE nickname = ?1",
            (&legacy, &key),
        )?;
    }
    Ok(())
}

/// Applies the migrations the database has not seen yet, each in its own transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(DbError::TooNew { found: applied, known: MIGRATIONS.len() });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match migration {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::Code(step) => step(&tx)?,
        }
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Writes a consistent copy of the database at `db` to the new file `to` with `VACUUM INTO`, which
/// reads one snapshot (WAL mode lets it run beside a serving Natter) and never copies a half-written
/// page, as copying the live file could. Blocks: run it off the async runtime.
pub fn backup(db: &Path, to: &Path) -> Result<(), DbError> {
    // Never create the source: a mistyped --db must fail, not back up an empty new database.
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let target = to.to_str().ok_or(DbError::NotUtf8Path)?;
    conn.execute("VACUUM INTO ?1", [target])?;
    Ok(())
}
