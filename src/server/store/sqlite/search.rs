//! Full-text search over messages a viewer may read (FTS5), with `from:`, `in:`, date and file
//! filters.

use rusqlite::OptionalExtension;

use crate::protocol::ChatMessage;
use crate::server::search::SearchFilter;

use super::messages::attach_reactions;
use super::rows::{found_from_row, SEARCH_FROM_ROOMS};
use super::*;

/// A search's SQL: with words, FTS5 drives (its matches come newest first, bounded by id); without,
/// messages are walked by id. The parameters are those of `SEARCH_FROM_ROOMS`, `?7` the page size and
/// `?8` the FTS5 expression.
pub(super) fn search_sql(with_words: bool) -> String {
    if with_words {
        format!(
            "SELECT {}, r.id, r.name, r.kind, peer.id, peer.nickname,
                    snippet(messages_fts, 0, char(2), char(3), '…', 24)
             FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid {}
             {SEARCH_FROM_ROOMS} AND messages_fts MATCH ?8 AND f.rowid < ?2 AND f.rowid > ?3
             ORDER BY f.rowid DESC LIMIT ?7",
            message_fields!(),
            message_joins!()
        )
    } else {
        format!(
            "SELECT {}, r.id, r.name, r.kind, peer.id, peer.nickname, m.body
             FROM messages m {}
             {SEARCH_FROM_ROOMS} AND ?8 IS NULL
             ORDER BY m.id DESC LIMIT ?7",
            message_fields!(),
            message_joins!()
        )
    }
}

impl SqliteStore {
    /// Up to `limit` messages matching `filter` in rooms `viewer` can read (public rooms, and the
    /// rooms they are in), with ids below `before`: newest first, each with its room and a snippet
    /// whose hits are marked with `search::HIT_START` / `HIT_END`.
    pub(super) async fn search(
        &self,
        viewer: Option<i64>,
        filter: SearchFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Found>, DbError> {
        self.read(move |conn| {
            // Dates become id bounds (sent_at never decreases with id), so FTS5 walks only that range.
            let mut below = before.unwrap_or(i64::MAX);
            if let Some(instant) = filter.sent_before {
                // The first entry of the sent_at index (ordered by time, then id): one seek, where
                // min(id) over the range would read half the index.
                let first_after: Option<i64> = conn
                    .prepare_cached("SELECT id FROM messages WHERE sent_at >= ?1 ORDER BY sent_at, id LIMIT 1")?
                    .query_row([instant], |row| row.get(0))
                    .optional()?;
                below = below.min(first_after.unwrap_or(i64::MAX));
            }
            let above: i64 = match filter.sent_from {
                Some(instant) => conn
                    .prepare_cached(
                        "SELECT id FROM messages WHERE sent_at < ?1 ORDER BY sent_at DESC, id DESC LIMIT 1",
                    )?
                    .query_row([instant], |row| row.get(0))
                    .optional()?
                    .unwrap_or(0),
                None => 0,
            };
            let params = rusqlite::params![
                viewer.unwrap_or(0),
                below,
                above,
                filter.author_key,
                filter.room,
                filter.has_file,
                limit,
                filter.fts,
            ];
            let sql = search_sql(filter.fts.is_some());
            let mut found =
                conn.prepare_cached(&sql)?.query_map(params, found_from_row)?.collect::<Result<Vec<_>, _>>()?;
            let mut messages: Vec<ChatMessage> = found.iter().map(|f| f.message.clone()).collect();
            attach_reactions(conn, &mut messages)?;
            for (found, message) in found.iter_mut().zip(messages) {
                found.message = message;
            }
            Ok(found)
        })
        .await
    }
}
