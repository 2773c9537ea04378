//! Block parsing: a body becomes paragraphs and fenced code blocks; and blocks become plain text again.

use std::borrow::Cow;

use super::inline::parse_inlines;
use super::{Block, Inline};

/// A fence's language is a styling hint; a longer word is no language, and the line stays text.
const MAX_LANGUAGE_CHARS: usize = 20;
/// Exactly three backticks: a closing fence is this alone on its line, so a line of code that
/// merely starts with backticks does not end the block.
const FENCE: &str = "```";

/// Parses a message body into blocks. Never fails: whatever is not valid markup is kept as text.
#[must_use]
pub fn parse(body: &str) -> Vec<Block> {
    // Fences must match exactly, so CRLF bodies (pasted from other tools) would otherwise never open one.
    let normalised: Cow<'_, str> =
        if body.contains('\r') { Cow::Owned(body.replace("\r\n", "\n")) } else { Cow::Borrowed(body) };
    let body = normalised.as_ref();

    let mut blocks = Vec::new();
    // Byte offsets into `body`, so blocks are sliced out of it rather than built line by line.
    let mut paragraph_start: Option<usize> = None;
    // The fence being read: its language, and where its content starts.
    let mut open_fence: Option<(Option<String>, usize)> = None;
    let mut line_start = 0;
    for line in body.split('\n') {
        let line_end = line_start + line.len();
        // Paragraphs and code stop before the newline that precedes a fence line; `max` covers an empty range.
        let before_line = line_start.saturating_sub(1);
        if let Some((language, content_start)) = open_fence.take() {
            if line == FENCE {
                let code = body.get(content_start..before_line.max(content_start)).unwrap_or_default();
                blocks.push(Block::CodeBlock { language, code: code.to_owned() });
            } else {
                open_fence = Some((language, content_start));
            }
        } else if let Some(language) = opening_fence(line) {
            if let Some(start) = paragraph_start.take() {
                push_paragraph(&mut blocks, body.get(start..before_line.max(start)).unwrap_or_default());
            }
            open_fence = Some((language, line_end + 1));
        } else if paragraph_start.is_none() {
            paragraph_start = Some(line_start);
        }
        line_start = line_end + 1;
    }
    if let Some((language, content_start)) = open_fence {
        // An unclosed fence runs to the end: the sender clearly meant code, and reparsing it as markup would mangle it.
        let code = body.get(content_start..).unwrap_or_default();
        blocks.push(Block::CodeBlock { language, code: code.to_owned() });
    }
    if let Some(start) = paragraph_start {
        push_paragraph(&mut blocks, body.get(start..).unwrap_or_default());
    }
    blocks
}

/// The text a notification or search snippet shows: markers removed, code kept, links as their text.
/// Mentions keep their `@`, so they still read as mentions where no highlight can be drawn.
#[must_use]
pub fn plain_text(blocks: &[Block]) -> String {
    let mut out = String::new();
    for (index, block) in blocks.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        match block {
            Block::Paragraph(inlines) => push_plain(&mut out, inlines),
            Block::CodeBlock { code, .. } => out.push_str(code),
        }
    }
    out
}

fn push_plain(out: &mut String, inlines: &[Inline]) {
    for inline in inlines {
        match inline {
            Inline::Text(text) | Inline::Code(text) | Inline::Link { text, .. } => out.push_str(text),
            Inline::Bold(children) | Inline::Italic(children) => push_plain(out, children),
            Inline::Mention(nick) => {
                out.push('@');
                out.push_str(nick);
            }
        }
    }
}

/// `Some(language)` when `line` opens a fence. The language is restricted because it ends up in the
/// page, as the code block's `data-language` attribute.
fn opening_fence(line: &str) -> Option<Option<String>> {
    let language = line.strip_prefix(FENCE)?;
    if language.is_empty() {
        return Some(None);
    }
    let valid = language.len() <= MAX_LANGUAGE_CHARS
        && language.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'));
    valid.then(|| Some(language.to_owned()))
}

fn push_paragraph(blocks: &mut Vec<Block>, text: &str) {
    // Blank stretches only separate fences; rendering them would just add empty boxes.
    if !text.trim().is_empty() {
        blocks.push(Block::Paragraph(parse_inlines(text)));
    }
}
