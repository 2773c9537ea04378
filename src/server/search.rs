//! Searching: reading a search box (words, quoted phrases, `word*` prefixes and the filters `from:nick`,
//! `in:room`, `has:file`, `before:YYYY-MM-DD` and `after:YYYY-MM-DD`) into a filter the store runs,
//! and turning the store's rows into a page of results. The filter holds words, prefixes and phrases
//! as plain text: each engine turns them into its own query language (SQLite's FTS5 quotes every
//! one), so nothing a user types is query syntax: `NEAR`, `OR`, `-` or a stray `"` are words like
//! any other, or a clear error.

use crate::error::AppError;
use crate::protocol::{Account, ErrorCode, MessageId, Rejection, SearchHit, SearchResults};
use crate::server::store::{SearchFilter, SearchTerm};
use crate::server::AppState;
use crate::text::time_format::utc_midnight_millis;

/// Longest search, in characters.
pub(crate) const MAX_QUERY_CHARS: usize = 256;
/// Most words and phrases in one search.
pub(crate) const MAX_TERMS: usize = 16;
const DAY_MILLIS: i64 = 86_400_000;

/// Results per search page.
pub(crate) const SEARCH_PAGE: u32 = 20;

/// One page of a search in the rooms `viewer` can read (visitors: public rooms).
pub(crate) async fn run(
    state: &AppState,
    viewer: Option<&Account>,
    query: &str,
    before: Option<MessageId>,
) -> Result<SearchResults, AppError> {
    let filter = parse(query)?;
    let viewer = viewer.map(|account| account.id);
    // One more than a page says whether another page exists.
    let mut found = state.store.search(viewer, filter, before, SEARCH_PAGE + 1).await?;
    let next_before = (found.len() > SEARCH_PAGE as usize).then(|| found[SEARCH_PAGE as usize - 1].message.id);
    found.truncate(SEARCH_PAGE as usize);
    let hits = found
        .into_iter()
        .map(|found| SearchHit {
            permalink: format!("{}/m/{}", found.room.path(), found.message.id),
            room_name: found.room.name,
            snippet: snippet_parts(&found.marked),
            message: found.message,
        })
        .collect();
    Ok(SearchResults { hits, next_before })
}

fn invalid(why: impl Into<String>) -> Rejection {
    Rejection::new(ErrorCode::InvalidSearch, why)
}

/// Reads a search. Errors say what to change.
pub fn parse(raw: &str) -> Result<SearchFilter, Rejection> {
    if raw.chars().count() > MAX_QUERY_CHARS {
        return Err(invalid(format!("Searches are at most {MAX_QUERY_CHARS} characters.")));
    }
    // SQLite ends a string at NUL, so one inside a quoted FTS5 term is a syntax error there: no
    // control character reaches the query (none can be typed into a search box anyway).
    if raw.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(invalid("Searches cannot contain control characters."));
    }
    let mut filter = SearchFilter::default();
    let mut terms = Vec::new();
    for token in tokens(raw)? {
        match token {
            Token::Phrase(text) => terms.push(SearchTerm::Phrase(text)),
            Token::Word(word) => match word.split_once(':') {
                Some((key, value)) if is_filter(key) => apply_filter(&mut filter, key, value)?,
                _ => terms.push(term(&word)),
            },
            Token::Filter(key, value) => apply_filter(&mut filter, &key, &value)?,
        }
    }
    if terms.len() > MAX_TERMS {
        return Err(invalid(format!("Search for at most {MAX_TERMS} words and phrases at once.")));
    }
    filter.terms = terms;
    if filter == SearchFilter::default() {
        return Err(invalid("Type something to search for."));
    }
    Ok(filter)
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Phrase(String),
    /// `key:"quoted value"`.
    Filter(String, String),
}

/// Splits on whitespace, keeping `"quoted phrases"` (and `key:"quoted values"`) whole.
fn tokens(raw: &str) -> Result<Vec<Token>, Rejection> {
    let mut tokens = Vec::new();
    let mut rest = raw.trim_start();
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let quote_at = rest[..end].find('"');
        match quote_at {
            Some(at) => {
                let (before, after) = (&rest[..at], &rest[at + 1..]);
                let close = after.find('"').ok_or_else(|| invalid("A quote is not closed: add the closing \"."))?;
                let quoted = after[..close].to_owned();
                match before.strip_suffix(':') {
                    Some(key) if is_filter(key) => tokens.push(Token::Filter(key.to_owned(), quoted)),
                    _ => {
                        if !before.is_empty() {
                            tokens.push(Token::Word(before.to_owned()));
                        }
                        tokens.push(Token::Phrase(quoted));
                    }
                }
                rest = after[close + 1..].trim_start();
            }
            None => {
                tokens.push(Token::Word(rest[..end].to_owned()));
                rest = rest[end..].trim_start();
            }
        }
    }
    Ok(tokens)
}

fn is_filter(key: &str) -> bool {
    matches!(key, "from" | "in" | "has" | "before" | "after")
}

fn apply_filter(filter: &mut SearchFilter, key: &str, value: &str) -> Result<(), Rejection> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(format!("{key}: needs a value, like {}", example(key))));
    }
    match key {
        "from" => {
            let nickname = crate::server::identity::nickname(value.strip_prefix('@').unwrap_or(value))
                .map_err(|_| invalid(format!("from: takes a nickname; \"{value}\" is not one.")))?;
            filter.author_key = Some(nickname.key);
        }
        "in" => {
            let room = crate::protocol::validate_room_name(value.strip_prefix('#').unwrap_or(value))
                .map_err(|_| invalid(format!("in: takes a room name; \"{value}\" is not one.")))?;
            filter.room = Some(room);
        }
        "has" if value.eq_ignore_ascii_case("file") => filter.has_file = true,
        "has" => return Err(invalid("has: takes file, as in has:file.")),
        "before" => filter.sent_before = Some(date(value)?),
        _ => filter.sent_from = Some(date(value)? + DAY_MILLIS),
    }
    Ok(())
}

fn example(key: &str) -> &'static str {
    match key {
        "from" => "from:alice",
        "in" => "in:general",
        "has" => "has:file",
        _ => "before:2026-11-24",
    }
}

fn date(value: &str) -> Result<i64, Rejection> {
    utc_midnight_millis(value)
        .ok_or_else(|| invalid(format!("Dates are YYYY-MM-DD, like 2026-11-24; not \"{value}\".")))
}

/// A word; a trailing `*` (after at least one character) makes it a prefix.
fn term(word: &str) -> SearchTerm {
    match word.strip_suffix('*').filter(|stem| !stem.is_empty() && !stem.ends_with('*')) {
        Some(stem) => SearchTerm::Prefix(stem.to_owned()),
        None => SearchTerm::Word(word.to_owned()),
    }
}

/// FTS5's `snippet()` marks hits with these; they cannot occur in a body (control characters are
/// refused when a message is stored).
pub(crate) const HIT_START: char = '\u{2}';
pub(crate) const HIT_END: char = '\u{3}';

/// Longest snippet of a filters-only result (its whole body, unmarked), in characters.
const MAX_PLAIN_SNIPPET: usize = 240;

/// Splits a marked snippet into plain and highlighted parts. An unmarked text (a filters-only
/// search shows the body) is cut to a snippet's length.
pub(crate) fn snippet_parts(marked: &str) -> Vec<crate::protocol::SnippetPart> {
    // Shown as the message reads, not as it was typed: `_export_` is "export". The hit markers are
    // plain characters to the formatter, so they survive in the text.
    let readable = crate::text::format::plain_text(&crate::text::format::parse(marked));
    let marked = readable.as_str();
    if !marked.contains(HIT_START) && marked.chars().count() > MAX_PLAIN_SNIPPET {
        let cut: String = marked.chars().take(MAX_PLAIN_SNIPPET).collect();
        return vec![crate::protocol::SnippetPart { text: format!("{cut}…"), hit: false }];
    }
    // Markers always pair up, but a snippet cut mid-hit must not invert the rest: show it plain.
    if marked.matches(HIT_START).count() != marked.matches(HIT_END).count() {
        let plain: String = marked.chars().filter(|c| *c != HIT_START && *c != HIT_END).collect();
        return vec![crate::protocol::SnippetPart { text: plain, hit: false }];
    }
    let mut parts = Vec::new();
    let mut hit = false;
    for piece in marked.split([HIT_START, HIT_END]) {
        if !piece.is_empty() {
            parts.push(crate::protocol::SnippetPart { text: piece.to_owned(), hit });
        }
        hit = !hit;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(raw: &str) -> Vec<SearchTerm> {
        parse(raw).unwrap().terms
    }

    fn refused(raw: &str) -> String {
        let rejection = parse(raw).unwrap_err();
        assert_eq!(rejection.code, ErrorCode::InvalidSearch);
        rejection.message
    }

    #[test]
    fn words_phrases_and_prefixes_are_read_as_text() {
        use SearchTerm::{Phrase, Prefix, Word};
        let word = |text: &str| Word(text.to_owned());
        assert_eq!(terms("deploy friday"), [word("deploy"), word("friday")]);
        assert_eq!(terms(r#"  "ship it"  now "#), [Phrase("ship it".into()), word("now")]);
        assert_eq!(terms("deplo*"), [Prefix("deplo".into())]);
        assert_eq!(terms("* ** a**"), [word("*"), word("**"), word("a**")]);
        // Query operators and stray syntax are only words.
        assert_eq!(terms("NEAR(a b) OR -x ^y"), ["NEAR(a", "b)", "OR", "-x", "^y"].map(word));
        assert_eq!(terms(r#"say"hi""#), [word("say"), Phrase("hi".into())]);
        assert_eq!(terms("http://example.com/a:b"), [word("http://example.com/a:b")]);
    }

    #[test]
    fn filters_are_read_and_normalised() {
        let filter = parse(r#"from:@Alice in:#General has:FILE before:2026-11-24 after:2026-11-01 report"#).unwrap();
        assert_eq!(filter.author_key.as_deref(), Some("alice"));
        assert_eq!(filter.room.as_deref(), Some("general"));
        assert!(filter.has_file);
        assert_eq!(filter.sent_before, utc_midnight_millis("2026-11-24"));
        assert_eq!(filter.sent_from, utc_midnight_millis("2026-11-02"), "after a day means from the next one");
        assert_eq!(filter.terms, [SearchTerm::Word("report".into())]);
        let quoted = parse(r#"from:"bob smith""#).unwrap();
        assert_eq!(quoted.author_key, crate::server::identity::nickname("bob smith").ok().map(|n| n.key));
        assert!(quoted.terms.is_empty(), "filters alone are a search");
    }

    #[test]
    fn mistakes_get_a_clear_error() {
        assert!(refused("").contains("Type something"));
        assert!(refused("   ").contains("Type something"));
        assert!(refused(r#"say "hello"#).contains("quote is not closed"));
        assert!(refused("from:").contains("from: needs a value"));
        assert!(refused("has:pdf").contains("has: takes file"));
        assert!(refused("before:yesterday").contains("YYYY-MM-DD"));
        assert!(refused("after:2026-02-30").contains("YYYY-MM-DD"));
        assert!(refused("in:../../etc").contains("in: takes a room name"));
        assert!(refused("from:Natter\u{202E}").contains("from: takes a nickname"));
        assert!(refused(&"x".repeat(MAX_QUERY_CHARS + 1)).contains("at most"));
        assert!(refused(&"w ".repeat(MAX_TERMS + 1)).contains("at most 16"));
        for nul in ["\0", "a\0b", "\"a\0b\"", "from:a\0"] {
            assert!(refused(nul).contains("control characters"), "{nul:?}");
        }
    }

    #[test]
    fn snippets_split_into_plain_and_highlighted_parts() {
        let parts = snippet_parts("…we \u{2}deploy\u{3} on \u{2}friday\u{3}");
        let shape: Vec<(&str, bool)> = parts.iter().map(|p| (p.text.as_str(), p.hit)).collect();
        assert_eq!(shape, [("…we ", false), ("deploy", true), (" on ", false), ("friday", true)]);
        let unbalanced = snippet_parts("a \u{2}b");
        assert_eq!(unbalanced.len(), 1);
        assert_eq!(unbalanced[0].text, "a b");
        let long = snippet_parts(&"é".repeat(1000));
        assert_eq!(long[0].text.chars().count(), MAX_PLAIN_SNIPPET + 1, "cut, with an ellipsis");
    }

    #[test]
    fn snippets_read_as_the_message_does_without_its_markup() {
        let parts = snippet_parts("please _\u{2}export\u{3}_ the **room** `now`");
        let shape: Vec<(&str, bool)> = parts.iter().map(|p| (p.text.as_str(), p.hit)).collect();
        assert_eq!(shape, [("please ", false), ("export", true), (" the room now", false)]);
    }
}
