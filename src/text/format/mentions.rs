//! Mentions: who a message names (`@nick`, never inside code), for notifications and the highlight.

use std::collections::HashSet;

use super::{parse, Block, Inline};

/// Longest nickname a mention can name; the same limit as nicknames themselves.
pub(super) const MAX_NICK_CHARS: usize = 32;

/// Distinct mentioned nicknames in order of first appearance. Mentions quoted inside code do not notify anyone.
#[must_use]
pub fn mentions(body: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for block in parse(body) {
        if let Block::Paragraph(inlines) = block {
            collect_mentions(inlines, &mut seen, &mut found);
        }
    }
    found
}

/// Whether `body` mentions `nickname` (outside code), compared as the page highlights mentions.
#[must_use]
/// It runs for every live message in the user's other rooms, so a body without `@` is answered
/// without being parsed.
pub fn mentions_nickname(body: &str, nickname: &str) -> bool {
    body.contains('@') && mentions(body).iter().any(|mentioned| mentioned.eq_ignore_ascii_case(nickname))
}

fn collect_mentions(inlines: Vec<Inline>, seen: &mut HashSet<String>, found: &mut Vec<String>) {
    for inline in inlines {
        match inline {
            Inline::Mention(nick) => {
                if seen.insert(nick.clone()) {
                    found.push(nick);
                }
            }
            Inline::Bold(children) | Inline::Italic(children) => collect_mentions(children, seen, found),
            Inline::Text(_) | Inline::Code(_) | Inline::Link { .. } => {}
        }
    }
}

/// The characters a mention can spell. A nickname with others (a space, say) is allowed, but
/// cannot be mentioned, and completion does not offer it.
pub fn is_nick_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// End of the mention whose `@` is at `at`, if the nickname is valid.
pub(super) fn mention_end(text: &str, at: usize) -> Option<usize> {
    let rest = text.get(at + 1..)?;
    let run = rest.find(|c: char| !is_nick_char(c)).unwrap_or(rest.len());
    // A trailing dot ends the sentence, not the nickname.
    let nick = rest.get(..run)?.trim_end_matches('.');
    // An over-long run is rejected rather than truncated, so we never notify someone who was not meant.
    let chars = nick.chars().count();
    (1..=MAX_NICK_CHARS).contains(&chars).then_some(at + 1 + nick.len())
}
