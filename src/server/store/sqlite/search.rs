//! Full-text search over messages a viewer may read (FTS5), with `from:`, `in:`, date and file
//! filters.

use rusqlite::OptionalExtension;

use crate::protocol::ChatMessage;
use crate::server::store::{SearchFilter, SearchTerm};

use super::messages::attach_reactions;
use super::rows::{found_from_row, SEARCH_FROM_ROOMS};
use super::*;

/// The terms as one FTS5 expression (all must match), each a quoted string, so that whatever a user
/// typed is text, never FTS5 syntax; `None` for a search by filters alone.
pub(super) fn fts_expression(terms: &[SearchTerm]) -> Option<String> {
    let quoted: Vec<String> = terms
        .iter()
        .map(|term| match term {
            SearchTerm::Word(word) => quote(word),
            SearchTerm::Prefix(stem) => format!("{}*", quote(stem)),
            SearchTerm::Phrase(phrase) => quote(phrase),
        })
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" "))
}

/// An FTS5 string: whatever is inside is text, never syntax.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

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
        viewer: Option<UserId>,
        filter: SearchFilter,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Found>, DbError> {
        let fts = fts_expression(&filter.terms);
        self.read(move |conn| {
            // Dates become id bounds (sent_at never decreases with id), so FTS5 walks only that range.
            let mut below = before.unwrap_or(MessageId(i64::MAX));
            if let Some(instant) = filter.sent_before {
                // The first entry of the sent_at index (ordered by time, then id): one seek, where
                // min(id) over the range would read half the index.
                let first_after: Option<MessageId> = conn
                    .prepare_cached("SELECT id FROM messages WHERE sent_at >= ?1 ORDER BY sent_at, id LIMIT 1")?
                    .query_row([instant], |row| row.get(0))
                    .optional()?;
                below = below.min(first_after.unwrap_or(MessageId(i64::MAX)));
            }
            let above: MessageId = match filter.sent_from {
                Some(instant) => conn
                    .prepare_cached(
                        "SELECT id FROM messages WHERE sent_at < ?1 ORDER BY sent_at DESC, id DESC LIMIT 1",
                    )?
                    .query_row([instant], |row| row.get(0))
                    .optional()?
                    .unwrap_or(MessageId::NONE),
                None => MessageId::NONE,
            };
            let params = rusqlite::params![
                viewer.unwrap_or(UserId(0)),
                below,
                above,
                filter.author_key,
                filter.room,
                filter.has_file,
                limit,
                fts,
            ];
            let sql = search_sql(fts.is_some());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::search::parse;

    fn fts(raw: &str) -> Option<String> {
        fts_expression(&parse(raw).unwrap().terms)
    }

    #[test]
    fn words_phrases_and_prefixes_become_quoted_fts5_strings() {
        assert_eq!(fts("deploy friday").as_deref(), Some(r#""deploy" "friday""#));
        assert_eq!(fts(r#"  "ship it"  now "#).as_deref(), Some(r#""ship it" "now""#));
        assert_eq!(fts("deplo*").as_deref(), Some(r#""deplo"*"#));
        assert_eq!(fts("* ** a**").as_deref(), Some(r#""*" "**" "a**""#));
        // FTS5 operators and stray syntax are only words.
        assert_eq!(fts("NEAR(a b) OR -x ^y").as_deref(), Some(r#""NEAR(a" "b)" "OR" "-x" "^y""#));
        assert_eq!(fts(r#"say"hi""#).as_deref(), Some(r#""say" "hi""#));
        assert_eq!(fts("http://example.com/a:b").as_deref(), Some(r#""http://example.com/a:b""#));
        assert_eq!(fts("from:alice"), None, "filters alone are a search without FTS5");
    }

    #[test]
    fn no_input_panics_and_every_expression_is_balanced() {
        let alphabet = ['a', ' ', '"', ':', '*', '-', 'é', '\u{2}', '(', 'f', 'r', 'o', 'm', 'i', 'n'];
        let mut seed = 0x2545_f491_u64;
        for _ in 0..20_000 {
            let len = (seed % 24) as usize;
            let query: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            if let Some(fts) = parse(&query).ok().and_then(|filter| fts_expression(&filter.terms)) {
                assert_eq!(fts.matches('"').count() % 2, 0, "{query:?} gave {fts:?}");
            }
        }
    }
}
