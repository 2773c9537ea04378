//! `@nick` completion in the message box: which partial mention the cursor is in, which members
//! match it, and the text after choosing one. Pure, so the rules are tested natively; the composer
//! only wires keys and clicks to them.

use crate::text::format::is_nick_char;

/// Suggestions shown at once.
pub const MAX_SUGGESTIONS: usize = 6;

/// The partial mention ending at `cursor` (a byte offset): where its `@` is and what follows it.
/// `None` unless the `@` starts a word and only nickname characters lie between it and the cursor.
pub fn partial_mention(text: &str, cursor: usize) -> Option<(usize, &str)> {
    let before = text.get(..cursor)?;
    let at = before.rfind('@')?;
    let typed = &before[at + 1..];
    let starts_word = before[..at].chars().next_back().is_none_or(|c| c.is_whitespace() || c == '(');
    (starts_word && typed.chars().all(is_nick_char)).then_some((at, typed))
}

/// Nicknames that complete `typed` (case-insensitively, prefix first), without `me`, at most
/// `MAX_SUGGESTIONS`. Nicknames a mention cannot spell (spaces, symbols) are left out.
pub fn suggestions<'a>(typed: &str, nicknames: impl IntoIterator<Item = &'a str>, me: Option<&str>) -> Vec<String> {
    let typed = typed.to_lowercase();
    let mut found: Vec<(bool, String)> = nicknames
        .into_iter()
        .filter(|nick| !nick.is_empty() && nick.chars().all(is_nick_char))
        .filter(|nick| me.is_none_or(|me| !me.eq_ignore_ascii_case(nick)))
        .filter_map(|nick| {
            let lower = nick.to_lowercase();
            if lower.starts_with(&typed) {
                Some((true, nick.to_owned()))
            } else if typed.len() >= 2 && lower.contains(&typed) {
                Some((false, nick.to_owned()))
            } else {
                None
            }
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.to_lowercase().cmp(&b.1.to_lowercase())));
    found.dedup_by(|a, b| a.1 == b.1);
    found.into_iter().take(MAX_SUGGESTIONS).map(|(_, nick)| nick).collect()
}

/// The text with the partial mention at `at`..`cursor` replaced by `@nickname ` and the cursor
/// (a byte offset) just after it.
pub fn complete(text: &str, at: usize, cursor: usize, nickname: &str) -> (String, usize) {
    let rest = &text[cursor..];
    let inserted = format!("@{nickname} ");
    // Do not double a space the text already has.
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    (format!("{}{inserted}{rest}", &text[..at]), at + inserted.len())
}

/// A UTF-16 offset (what a textarea's `selectionStart` counts) as a byte offset into `text`.
/// An offset inside a surrogate pair rounds up to the character's end, so the result is always a
/// boundary `text` can be sliced at.
pub fn byte_offset(text: &str, utf16: usize) -> usize {
    let mut units = 0;
    for (index, c) in text.char_indices() {
        if units >= utf16 {
            return index;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// A byte offset as the UTF-16 offset a textarea's `setSelectionRange` takes.
pub fn utf16_offset(text: &str, bytes: usize) -> usize {
    text[..bytes.min(text.len())].encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_must_sit_in_a_mention_that_starts_a_word() {
        assert_eq!(partial_mention("hi @al", 6), Some((3, "al")));
        assert_eq!(partial_mention("@", 1), Some((0, "")));
        assert_eq!(partial_mention("(@bo", 4), Some((1, "bo")));
        assert_eq!(partial_mention("hi @al there", 6), Some((3, "al")), "only up to the cursor counts");
        assert_eq!(partial_mention("mail a@b", 8), None, "an address is not a mention");
        assert_eq!(partial_mention("hi @al x", 8), None, "a space ends it");
        assert_eq!(partial_mention("no at sign", 5), None);
        assert_eq!(partial_mention("é@", 3), None);
        assert_eq!(partial_mention("é", 1), None, "not a char boundary");
    }

    #[test]
    fn suggestions_prefer_prefixes_skip_me_and_unmentionable_names() {
        let members = ["alice", "Alfred", "bob", "malice", "al capone", "me", "Ålex"];
        assert_eq!(suggestions("al", members, Some("me")), ["Alfred", "alice", "malice"]);
        assert_eq!(suggestions("", members, Some("me")), ["Alfred", "alice", "bob", "malice", "Ålex"]);
        assert_eq!(suggestions("å", members, None), ["Ålex"]);
        assert!(suggestions("zz", members, None).is_empty());
        let many: Vec<String> = (0..20).map(|n| format!("user{n}")).collect();
        assert_eq!(suggestions("u", many.iter().map(String::as_str), None).len(), MAX_SUGGESTIONS);
    }

    #[test]
    fn completing_replaces_the_partial_mention_and_places_the_cursor_after_it() {
        assert_eq!(complete("hi @al", 3, 6, "alice"), ("hi @alice ".to_owned(), 10));
        assert_eq!(complete("hi @al there", 3, 6, "alice"), ("hi @alice there".to_owned(), 10));
        assert_eq!(complete("@", 0, 1, "bob"), ("@bob ".to_owned(), 5));
    }

    #[test]
    fn offsets_convert_between_utf16_and_bytes() {
        let text = "é😀@al";
        assert_eq!(byte_offset(text, 3), "é😀".len());
        assert_eq!(utf16_offset(text, "é😀".len()), 3);
        assert_eq!(byte_offset(text, 99), text.len());
        assert_eq!(byte_offset(text, 2), "é😀".len(), "inside a surrogate pair rounds up");
    }
}
