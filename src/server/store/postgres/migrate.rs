//! The schema: migrations (SQL under `migrations/postgres/`) applied in order at start-up, counted
//! in the one-row table `schema_version`.

use super::*;

/// Migrations in order; `schema_version.version` counts how many are applied.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../../../migrations/postgres/0001_schema.sql"),
    include_str!("../../../../migrations/postgres/0002_stream.sql"),
    include_str!("../../../../migrations/postgres/0003_stream_accounts.sql"),
    include_str!("../../../../migrations/postgres/0004_presence.sql"),
];

/// Held while migrating, so two Natters starting at once do not both apply the same migration.
const MIGRATE_LOCK: i64 = ID_LOCK + 1;

/// Applies the migrations the database has not seen yet, in one transaction: PostgreSQL's DDL is
/// transactional, so a failed start leaves the schema as it was.
pub(super) async fn migrate(conn: &mut deadpool_postgres::Client) -> Result<(), DbError> {
    let tx = conn.transaction().await?;
    migrate_in(&tx).await?;
    tx.commit().await?;
    Ok(())
}

/// `migrate` inside the caller's transaction, which holds the migration lock from here to its end
/// (`natter move-to` migrates and fills the target in one transaction).
pub(super) async fn migrate_in(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK]).await?;
    // Looked up rather than `CREATE TABLE IF NOT EXISTS`, whose notice would be logged at every start.
    let known: bool = tx.query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[]).await?.try_get(0)?;
    if !known {
        tx.batch_execute(
            "CREATE TABLE schema_version (version BIGINT NOT NULL); INSERT INTO schema_version VALUES (0);",
        )
        .await?;
    }
    let applied: i64 = tx.query_one("SELECT version FROM schema_version", &[]).await?.try_get(0)?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(DbError::TooNew { found: applied, known: MIGRATIONS.len() });
    }
    for sql in &MIGRATIONS[applied..] {
        tx.batch_execute(sql).await?;
    }
    let version = MIGRATIONS.len() as i64;
    tx.execute("UPDATE schema_version SET version = $1", &[&version]).await?;
    Ok(())
}
