//! The PostgreSQL side of `natter move-to`: in one transaction, migrate the target (the store's own
//! migrations), lock it and refuse it if it holds Natter data, copy every batch the SQLite reader
//! sends with binary `COPY`, continue the id counters after the copied rows, and commit. Any
//! failure, a refusal included, rolls all of it back: the target is left as it was.
//!
//! The stream (`stream.rs`) stays empty. It names changes for the Natters that are running when
//! they commit; the moved rows are history, which screens read from the tables (`hello` with
//! `since`, history pages). A Natter that starts on the target tells from the stream's newest
//! position, 0, and the first change after the move is row 1: nothing old is told, nothing new
//! is missed. Search needs no step of its own: `messages.search` is a generated column, computed
//! (and indexed) as each row arrives.

use std::error::Error;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures::pin_mut;
use tokio::sync::mpsc;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::private::BytesMut;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::NoTls;

use crate::server::store::transfer::{Kind, MoveError, Progress, Reading, Row, Snapshot, Table, Value, TABLES};

use super::migrate::migrate_in;
use super::rows::{execute, query_one};
use super::*;

/// Tables that must be empty besides the ones that move: the stream only ever names moved rows.
const ALSO_EMPTY: &[&str] = &["stream"];

/// Fills the target that `config` names from `readings` (the reader's batches after its snapshot)
/// in one transaction, telling `progress` after each batch.
pub(crate) async fn fill(
    config: tokio_postgres::Config,
    snapshot: &Snapshot,
    readings: &mut mpsc::Receiver<Result<Reading, MoveError>>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), MoveError> {
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = Pool::builder(manager).max_size(1).build().map_err(DbError::PoolBuild)?;
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    migrate_in(&tx).await?;
    refuse_unless_empty(&tx).await?;
    // The migrations' own general room (id 1) makes way for the source's, which everyone is in.
    execute(&tx, "DELETE FROM rooms", &[]).await?;
    progress(Progress::TargetReady);
    let mut copied = vec![0_u64; TABLES.len()];
    loop {
        match readings.recv().await {
            Some(Ok(Reading::Rows { table, rows })) => {
                let Some(spec) = TABLES.get(table) else { return Err(MoveError::ReaderStopped) };
                copy(&tx, spec, &rows).await?;
                copied[table] += rows.len() as u64;
                let total = snapshot.counts.get(table).copied().unwrap_or_default();
                progress(Progress::Copied { table: spec.name, copied: copied[table], total });
            }
            Some(Ok(Reading::Done)) => break,
            Some(Err(error)) => return Err(error),
            Some(Ok(Reading::Snapshot(_))) | None => return Err(MoveError::ReaderStopped),
        }
    }
    for ((table, copied), expected) in TABLES.iter().zip(copied).zip(&snapshot.counts) {
        if copied != *expected {
            return Err(MoveError::Incomplete { table: table.name, copied, expected: *expected });
        }
    }
    progress(Progress::Committing);
    continue_counters(&tx, &snapshot.counters).await?;
    // Fresh statistics, so the first searches and catch-ups plan for the moved rows, not an empty table.
    let names: Vec<&str> = TABLES.iter().map(|table| table.name).collect();
    tx.batch_execute(&format!("ANALYZE {}", names.join(", "))).await?;
    tx.commit().await?;
    Ok(())
}

/// Locks every table against writers until the commit, then refuses a target that holds any
/// Natter data (the migrations' general room aside), naming what it holds.
async fn refuse_unless_empty(tx: &Transaction<'_>) -> Result<(), MoveError> {
    // The id lock first, as every id-assigning transaction takes it first: no deadlock with a
    // Natter that is running on the target.
    execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&ID_LOCK]).await?;
    let names: Vec<&str> = TABLES.iter().map(|table| table.name).chain(ALSO_EMPTY.iter().copied()).collect();
    tx.batch_execute(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", names.join(", "))).await?;
    let mut held = Vec::new();
    for name in names {
        let except_general = if name == "rooms" { " WHERE id <> 1" } else { "" };
        let rows: i64 =
            query_one(tx, &format!("SELECT count(*) FROM {name}{except_general}"), &[]).await?.try_get(0)?;
        if rows > 0 {
            held.push(format!("{name}: {rows} rows"));
        }
    }
    match held.is_empty() {
        true => Ok(()),
        false => Err(MoveError::TargetNotEmpty(held.join(", "))),
    }
}

/// Copies one batch into `table` with binary `COPY` (which also takes the `GENERATED ALWAYS`
/// message ids as given).
async fn copy(tx: &Transaction<'_>, table: &Table, rows: &[Row]) -> Result<(), MoveError> {
    let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let types: Vec<Type> = table.columns.iter().map(|(_, kind)| column_type(*kind)).collect();
    let sink = tx.copy_in(&format!("COPY {} ({}) FROM STDIN (FORMAT binary)", table.name, columns.join(", "))).await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for row in rows {
        let values: Vec<&(dyn ToSql + Sync)> = row.iter().map(|value| value as &(dyn ToSql + Sync)).collect();
        writer.as_mut().write(&values).await?;
    }
    writer.finish().await?;
    Ok(())
}

fn column_type(kind: Kind) -> Type {
    match kind {
        Kind::Int => Type::INT8,
        Kind::Text => Type::TEXT,
        Kind::Bytes => Type::BYTEA,
        Kind::Bool => Type::BOOL,
    }
}

/// Sets each counting table's identity past its highest copied id and past the highest id the
/// source ever handed out, so new ids continue after every moved one and none is reused.
async fn continue_counters(tx: &Transaction<'_>, counters: &[(String, i64)]) -> Result<(), MoveError> {
    for table in TABLES.iter().filter(|table| table.counter) {
        let handed_out = counters.iter().find(|(name, _)| name == table.name).map_or(0, |(_, seq)| *seq);
        let name = table.name;
        // `setval(…, n, false)` makes n the next id: 1 for a table without rows.
        execute(
            tx,
            &format!(
                "SELECT setval(pg_get_serial_sequence('{name}', 'id'), top + 1, false)
                 FROM (SELECT greatest(coalesce(max(id), 0), $1::bigint) AS top FROM {name}) AS t"
            ),
            &[&handed_out],
        )
        .await?;
    }
    Ok(())
}

/// A value as the `COPY` writer sends it; each kind only into its own column type.
impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(n), &Type::INT8) => n.to_sql(ty, out),
            (Value::Text(text), &Type::TEXT) => text.to_sql(ty, out),
            (Value::Bytes(bytes), &Type::BYTEA) => bytes.to_sql(ty, out),
            (Value::Bool(flag), &Type::BOOL) => flag.to_sql(ty, out),
            (value, ty) => Err(format!("{value:?} cannot go into a {ty} column").into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::TEXT | Type::BYTEA | Type::BOOL)
    }

    to_sql_checked!();
}
