//! The SQLite side of `natter move-to`: every table read from one snapshot (one read transaction,
//! so rows written meanwhile by a server that is still running are all left out, never half), in
//! batches, on the caller's thread. Blocks: run it off the async runtime.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::server::store::transfer::{Kind, MoveError, Reading, Row, Snapshot, Table, Value, TABLES};

use super::migrate::{migrate, MIGRATIONS};
use super::writer::configure_writer;
use super::BUSY_TIMEOUT;

/// Reads the Natter database at `path` and hands `tell` the snapshot's sizes, then every table's
/// rows in batches of `batch`, then `Done`; stops early (without an error) when `tell` answers
/// `false`, as it does once nobody is listening. A database an older Natter wrote is migrated
/// first, as starting this Natter on it would; anything that is not a Natter database is refused.
pub(crate) fn read(path: &Path, batch: usize, tell: &mut dyn FnMut(Reading) -> bool) -> Result<(), MoveError> {
    // Never create the source: a mistyped --db must fail, not move an empty new database.
    if !path.is_file() {
        return Err(MoveError::NoSource(path.to_owned()));
    }
    let not_natter = |why: &str| MoveError::NotNatter { path: path.to_owned(), why: why.to_owned() };
    let mut conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let version: i64 = match conn.pragma_query_value(None, "user_version", |row| row.get(0)) {
        Ok(version) => version,
        Err(error) if error.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            return Err(not_natter("it is not a SQLite database"))
        }
        Err(error) => return Err(error.into()),
    };
    let version = usize::try_from(version).unwrap_or(0);
    // Every Natter schema has had a messages table since the first migration.
    if version == 0 || !has_table(&conn, "messages")? {
        return Err(not_natter("it has no Natter schema"));
    }
    let upgraded_from = (version < MIGRATIONS.len()).then_some(version);
    if upgraded_from.is_some() {
        configure_writer(&conn)?;
        migrate(&mut conn)?;
    }
    for table in TABLES {
        if !has_table(&conn, table.name)? {
            return Err(not_natter(&format!("it has no {} table", table.name)));
        }
    }
    // A deferred transaction: its snapshot is taken at the first read and holds for every read after.
    let tx = conn.transaction()?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let count: i64 = tx.query_row(&format!("SELECT count(*) FROM {}", table.name), [], |row| row.get(0))?;
        counts.push(u64::try_from(count).unwrap_or(0));
    }
    let counters = tx
        .prepare("SELECT name, seq FROM sqlite_sequence")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<Vec<(String, i64)>, _>>()?;
    if !tell(Reading::Snapshot(Snapshot { counts, counters, upgraded_from })) {
        return Ok(());
    }
    for (index, table) in TABLES.iter().enumerate() {
        if !read_table(&tx, index, table, batch.max(1), tell)? {
            return Ok(());
        }
    }
    tell(Reading::Done);
    Ok(())
}

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)", [name], |row| {
        row.get(0)
    })
}

/// One table's rows, in batches; `false` when `tell` stopped listening.
fn read_table(
    conn: &Connection,
    index: usize,
    table: &'static Table,
    batch: usize,
    tell: &mut dyn FnMut(Reading) -> bool,
) -> Result<bool, MoveError> {
    let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let sql = format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), table.name, table.order);
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query([])?;
    let mut pending: Vec<Row> = Vec::with_capacity(batch);
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(table.columns.len());
        for (at, (column, kind)) in table.columns.iter().enumerate() {
            values.push(value(table.name, column, *kind, row.get_ref(at)?)?);
        }
        pending.push(values);
        if pending.len() == batch && !tell(Reading::Rows { table: index, rows: std::mem::take(&mut pending) }) {
            return Ok(false);
        }
    }
    Ok(pending.is_empty() || tell(Reading::Rows { table: index, rows: pending }))
}

/// A stored value as the column's kind carries it. SQLite keeps whatever it is given, so a value of
/// another storage class than Natter writes there is refused rather than guessed at.
fn value(table: &'static str, column: &'static str, kind: Kind, stored: ValueRef<'_>) -> Result<Value, MoveError> {
    let unexpected = |found: String| MoveError::Unexpected { table, column, found };
    Ok(match (kind, stored) {
        (_, ValueRef::Null) => Value::Null,
        (Kind::Int, ValueRef::Integer(n)) => Value::Int(n),
        (Kind::Bool, ValueRef::Integer(n)) => Value::Bool(n != 0),
        (Kind::Text, ValueRef::Text(text)) => {
            Value::Text(String::from_utf8(text.to_vec()).map_err(|_| unexpected("text that is not UTF-8".into()))?)
        }
        (Kind::Bytes, ValueRef::Blob(bytes)) => Value::Bytes(bytes.to_vec()),
        (_, other) => return Err(unexpected(format!("a value of type {}", other.data_type()))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_meaning_and_odd_storage_classes_are_refused() {
        let value = |kind, stored| value("users", "x", kind, stored);
        assert_eq!(value(Kind::Bool, ValueRef::Integer(1)).unwrap(), Value::Bool(true));
        assert_eq!(value(Kind::Bool, ValueRef::Integer(0)).unwrap(), Value::Bool(false));
        assert_eq!(value(Kind::Int, ValueRef::Integer(-7)).unwrap(), Value::Int(-7));
        assert_eq!(value(Kind::Text, ValueRef::Null).unwrap(), Value::Null);
        assert_eq!(value(Kind::Bytes, ValueRef::Blob(&[0, 255])).unwrap(), Value::Bytes(vec![0, 255]));
        assert_eq!(value(Kind::Text, ValueRef::Text("Café".as_bytes())).unwrap(), Value::Text("Café".into()));
        assert!(matches!(value(Kind::Int, ValueRef::Text(b"12")), Err(MoveError::Unexpected { .. })));
        assert!(matches!(value(Kind::Text, ValueRef::Real(1.5)), Err(MoveError::Unexpected { .. })));
        assert!(matches!(value(Kind::Text, ValueRef::Text(&[0xff, 0xfe])), Err(MoveError::Unexpected { .. })));
    }
}
