//! Full-text search over messages a viewer may read, with PostgreSQL's own text search: each
//! message's `search` column is `to_tsvector('simple', body)` (kept by PostgreSQL, GIN-indexed),
//! and the terms become one `tsquery`. Filters are `from:`, `in:`, `has:file` and dates.

use crate::protocol::ChatMessage;
use crate::server::search::{HIT_END, HIT_START};
use crate::server::store::{SearchFilter, SearchTerm};

use super::messages::attach_reactions;
use super::rows::{found_from_row, query, MESSAGE_FIELDS, MESSAGE_JOINS};
use super::*;

/// The terms as one `to_tsquery` text (all must match: `&`), each a quoted lexeme, so that whatever
/// a user typed is text, never tsquery syntax. Inside quotes, `to_tsquery` still splits the text
/// into words with the `simple` parser: a phrase becomes its words in order (`<->`), `ship:*` a
/// prefix. `None` for a search by filters alone.
pub(super) fn tsquery_text(terms: &[SearchTerm]) -> Option<String> {
    let quoted: Vec<String> = terms
        .iter()
        .map(|term| match term {
            SearchTerm::Word(word) => quote(word),
            SearchTerm::Prefix(stem) => format!("{}:*", quote(stem)),
            SearchTerm::Phrase(phrase) => quote(phrase),
        })
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" & "))
}

/// A quoted tsquery lexeme: a quote inside is doubled and a backslash escaped, so nothing inside
/// can end it.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// `ts_headline`'s options: hits marked as `snippet_parts` expects, about as long as SQLite's
/// 24-token snippets, and short words kept at the edges.
fn headline_options() -> String {
    format!("StartSel={HIT_START}, StopSel={HIT_END}, MaxWords=24, MinWords=12, ShortWord=0")
}

/// A search's SQL. `$1` the viewer (0 for nobody), `$2` the id bound, `$3` an author key, `$4` a
/// room name, `$5` files only, `$6`/`$7` the date bounds, `$8` the page size; with words, `$9` the
/// tsquery text and `$10` the headline options. Newest first by id, so a page costs as many matches
/// as it takes to fill it.
pub(super) fn search_sql(with_words: bool) -> String {
    let (query, snippet, matching) = if with_words {
        ("CROSS JOIN to_tsquery('simple', $9) AS q", "ts_headline('simple', m.body, q, $10)", "AND m.search @@ q")
    } else {
        ("", "m.body", "")
    };
    format!(
        "SELECT {MESSAGE_FIELDS}, r.id, r.name, r.kind, peer.id, peer.nickname, {snippet}
         FROM messages m {MESSAGE_JOINS} {query}
         JOIN rooms r ON r.id = m.room_id
         LEFT JOIN users peer ON r.kind = 'direct' AND peer.id =
             (SELECT other.user_id FROM memberships other WHERE other.room_id = r.id AND other.user_id != $1 LIMIT 1)
         WHERE m.id < $2 AND m.deleted_at IS NULL {matching}
           AND (r.kind = 'public'
                OR EXISTS (SELECT 1 FROM memberships mem WHERE mem.room_id = m.room_id AND mem.user_id = $1))
           AND ($3::text IS NULL OR m.author_id = (SELECT id FROM users WHERE nickname_key = $3))
           AND ($4::text IS NULL OR (r.name_key = $4 AND r.kind != 'direct'))
           AND (NOT $5::bool OR fl.id IS NOT NULL)
           AND ($6::bigint IS NULL OR m.sent_at < $6)
           AND ($7::bigint IS NULL OR m.sent_at >= $7)
         ORDER BY m.id DESC LIMIT $8"
    )
}

impl PostgresStore {
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
        let conn = self.reader().await?;
        let words = tsquery_text(&filter.terms);
        let viewer = viewer.unwrap_or(UserId(0));
        let below = before.unwrap_or(MessageId(i64::MAX));
        let limit = i64::from(limit);
        let options = headline_options();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &viewer,
            &below,
            &filter.author_key,
            &filter.room,
            &filter.has_file,
            &filter.sent_before,
            &filter.sent_from,
            &limit,
        ];
        if let Some(words) = &words {
            params.push(words);
            params.push(&options);
        }
        let rows = query(&conn, &search_sql(words.is_some()), &params).await?;
        let mut found = rows.iter().map(found_from_row).collect::<Result<Vec<_>, _>>()?;
        let mut messages: Vec<ChatMessage> = found.iter().map(|f| f.message.clone()).collect();
        attach_reactions(&conn, &mut messages).await?;
        for (found, message) in found.iter_mut().zip(messages) {
            found.message = message;
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::search::parse;

    fn text(raw: &str) -> Option<String> {
        tsquery_text(&parse(raw).unwrap().terms)
    }

    #[test]
    fn words_phrases_and_prefixes_become_quoted_lexemes() {
        assert_eq!(text("deploy friday").as_deref(), Some("'deploy' & 'friday'"));
        assert_eq!(text(r#"  "ship it"  now "#).as_deref(), Some("'ship it' & 'now'"));
        assert_eq!(text("deplo*").as_deref(), Some("'deplo':*"));
        assert_eq!(text(r"it's a\'b").as_deref(), Some(r"'it''s' & 'a\\''b'"));
        assert_eq!(text("from:alice"), None, "filters alone are a search without words");
    }
}
