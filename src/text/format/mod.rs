//! Message formatting: bodies are parsed into a tree of typed spans that our own components render, so users get a
//! small, predictable markup subset and nothing a user types can ever reach the DOM as raw HTML.
//!
//! The grammar is deliberately tiny (fenced code, bold, italic, inline code, http(s) autolinks, mentions). Anything
//! that is not properly closed falls back to literal text, so a stray marker never swallows the rest of a message.
//! Bodies come from other users, so every step is near-linear in the input and never panics, whatever the input.
//!
//! The work is split by job: `blocks` cuts a body into paragraphs and fenced code (and back into plain text),
//! `inline` turns a paragraph into spans (tokens, then emphasis matching), `tree` nests the matched spans, and
//! `mentions` finds who a message names.

mod blocks;
mod inline;
mod mentions;
mod tree;

pub use blocks::{parse, plain_text};
pub use mentions::{is_nick_char, mentions, mentions_nickname};

/// A top-level piece of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// Consecutive non-fence lines. Newlines stay inside the text because the renderer uses `white-space: pre-wrap`.
    Paragraph(Vec<Inline>),
    /// Verbatim content of a fenced block; `language` is only a hint for styling.
    CodeBlock { language: Option<String>, code: String },
}

/// A span inside a paragraph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    /// Literal text: rendered as a text node, so even `<b>` in it stays four characters.
    Text(String),
    Bold(Vec<Inline>),
    Italic(Vec<Inline>),
    Code(String),
    /// Only ever an `http://` or `https://` URL, exactly as written. The text is the URL itself:
    /// a link never shows words that hide where it goes.
    Link {
        href: String,
        text: String,
    },
    /// The nickname, without the `@`, as typed: matching it to a user is the reader's (the
    /// highlight) and the server's (mention counts, by nickname key), not the parser's.
    Mention(String),
}

#[cfg(test)]
mod tests;
