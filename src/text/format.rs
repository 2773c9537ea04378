//! Message formatting: bodies are parsed into a tree of typed spans that our own components render, so users get a
//! small, predictable markup subset and nothing a user types can ever reach the DOM as raw HTML.
//!
//! The grammar is deliberately tiny (fenced code, bold, italic, inline code, http(s) autolinks, mentions). Anything
//! that is not properly closed falls back to literal text, so a stray marker never swallows the rest of a message.
//! Bodies come from other users, so every step is near-linear in the input and never panics, whatever the input.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

/// Deeper emphasis is shown as literal markers. Real messages never need more, and the cap keeps the recursive
/// rendering, cloning, comparing and dropping of the tree safe from stack exhaustion on hostile input.
const MAX_NESTING: usize = 8;
const MAX_NICK_CHARS: usize = 32;
const MAX_LANGUAGE_CHARS: usize = 20;
const FENCE: &str = "```";

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
    Text(String),
    Bold(Vec<Inline>),
    Italic(Vec<Inline>),
    Code(String),
    /// Only ever an `http://` or `https://` URL, exactly as written.
    Link {
        href: String,
        text: String,
    },
    /// The nickname, without the `@`.
    Mention(String),
}

/// Parses a message body into blocks. Never fails: whatever is not valid markup is kept as text.
#[must_use]
pub fn parse(body: &str) -> Vec<Block> {
    // Fences must match exactly, so CRLF bodies (pasted from other tools) would otherwise never open one.
    let normalised: Cow<'_, str> =
        if body.contains('\r') { Cow::Owned(body.replace("\r\n", "\n")) } else { Cow::Borrowed(body) };
    let body = normalised.as_ref();

    let mut blocks = Vec::new();
    let mut paragraph_start: Option<usize> = None;
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
pub fn mentions_nickname(body: &str, nickname: &str) -> bool {
    body.contains('@') && mentions(body).iter().any(|mentioned| mentioned.eq_ignore_ascii_case(nickname))
}

/// The text a notification or search snippet shows: markers removed, code kept, links as their text.
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

/// `Some(language)` when `line` opens a fence. The language is restricted because it ends up in a CSS class.
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

fn parse_inlines(text: &str) -> Vec<Inline> {
    let mut tokens = tokenize(text);
    match_delimiters(&mut tokens);
    build_tree(text, tokens)
}

/// Byte ranges into the paragraph text, so tokenizing allocates nothing per character.
enum Token {
    Text(Range<usize>),
    Code(Range<usize>),
    Link(Range<usize>),
    Mention(Range<usize>),
    Delimiter(Delimiter),
}

/// A run of `*` or `_` that may open and/or close emphasis. Openers give up characters from their right end and
/// closers from their left end, so a run like `***` can be bold and italic at once.
struct Delimiter {
    marker: char,
    len: usize,
    used: usize,
    can_open: bool,
    can_close: bool,
    /// Widths (1 = italic, 2 = bold) of the spans this run opens, innermost first.
    opens: Vec<usize>,
    /// Widths of the spans this run closes, innermost first.
    closes: Vec<usize>,
}

impl Delimiter {
    fn remaining(&self) -> usize {
        self.len.saturating_sub(self.used)
    }
}

enum Step {
    /// A construct that ends at the given byte offset.
    Token(Token, usize),
    /// Literal text up to the given byte offset.
    Literal(usize),
}

/// Splits a paragraph into atoms. Code spans, links and mentions are resolved here, left to right, so that markers
/// inside them are never seen by the emphasis matcher.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut literal_start = 0;
    let mut pos = 0;
    let mut prev: Option<char> = None;
    // Once a backtick finds no partner no later one can, so lone backticks do not each rescan the rest.
    let mut backticks_exhausted = false;
    while let Some(c) = text.get(pos..).and_then(|rest| rest.chars().next()) {
        let at_word_start = !prev.is_some_and(char::is_alphanumeric);
        let step = match c {
            '`' if !backticks_exhausted => match text.get(pos + 1..).and_then(|rest| rest.find('`')) {
                None => {
                    backticks_exhausted = true;
                    Step::Literal(pos + 1)
                }
                // An empty pair is literal, and consuming both keeps the second from opening a new span.
                Some(0) => Step::Literal(pos + 2),
                Some(len) => Step::Token(Token::Code(pos + 1..pos + 1 + len), pos + 2 + len),
            },
            '*' | '_' => delimiter_run(text, pos, c, prev),
            '@' if at_word_start => match mention_end(text, pos) {
                Some(end) => Step::Token(Token::Mention(pos + 1..end), end),
                None => Step::Literal(pos + 1),
            },
            'h' | 'H' if at_word_start => match link_end(text, pos) {
                Some(end) => Step::Token(Token::Link(pos..end), end),
                None => Step::Literal(pos + 1),
            },
            _ => Step::Literal(pos + c.len_utf8()),
        };
        let end = match step {
            Step::Token(token, end) => {
                if literal_start < pos {
                    tokens.push(Token::Text(literal_start..pos));
                }
                tokens.push(token);
                literal_start = end;
                end
            }
            Step::Literal(end) => end,
        };
        prev = text.get(..end).and_then(|before| before.chars().next_back());
        pos = end;
    }
    if literal_start < text.len() {
        tokens.push(Token::Text(literal_start..text.len()));
    }
    tokens
}

fn delimiter_run(text: &str, start: usize, marker: char, prev: Option<char>) -> Step {
    let len = text.get(start..).map_or(0, |rest| rest.chars().take_while(|&c| c == marker).count()).max(1);
    let end = start + len;
    let next = text.get(end..).and_then(|rest| rest.chars().next());
    // Flanking whitespace keeps arithmetic like `2 * 3 * 4` literal.
    let mut can_open = next.is_some_and(|c| !c.is_whitespace());
    let mut can_close = prev.is_some_and(|c| !c.is_whitespace());
    if marker == '_' {
        // Underscores live inside identifiers (snake_case_name, __init__), so only a single one at a word edge counts.
        can_open &= len == 1 && !prev.is_some_and(char::is_alphanumeric);
        can_close &= len == 1 && !next.is_some_and(char::is_alphanumeric);
    }
    if !can_open && !can_close {
        return Step::Literal(end);
    }
    let run = Delimiter { marker, len, used: 0, can_open, can_close, opens: Vec::new(), closes: Vec::new() };
    Step::Token(Token::Delimiter(run), end)
}

pub fn is_nick_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// End of the mention whose `@` is at `at`, if the nickname is valid.
fn mention_end(text: &str, at: usize) -> Option<usize> {
    let rest = text.get(at + 1..)?;
    let run = rest.find(|c: char| !is_nick_char(c)).unwrap_or(rest.len());
    // A trailing dot ends the sentence, not the nickname.
    let nick = rest.get(..run)?.trim_end_matches('.');
    // An over-long run is rejected rather than truncated, so we never notify someone who was not meant.
    let chars = nick.chars().count();
    (1..=MAX_NICK_CHARS).contains(&chars).then_some(at + 1 + nick.len())
}

fn is_url_terminator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '<' | '>' | '"')
}

/// End of the http(s) URL starting at `start`, if there is one. Other schemes (`javascript:`, `data:`) are never
/// links, which is the point: a link is the one span whose content the browser acts on.
fn link_end(text: &str, start: usize) -> Option<usize> {
    let rest = text.get(start..)?;
    let scheme_len = ["https://", "http://"]
        .into_iter()
        .find(|scheme| rest.get(..scheme.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme)))?
        .len();
    let after_scheme = rest.get(scheme_len..)?;
    // Checking the host before scanning the whole URL keeps repeated hostless `http://` prefixes linear.
    let host = after_scheme.split(|c: char| is_url_terminator(c) || matches!(c, '/' | '?' | '#')).next()?;
    if !host.chars().any(char::is_alphanumeric) {
        return None;
    }
    let len = after_scheme.find(is_url_terminator).unwrap_or(after_scheme.len());
    let mut url = rest.get(..scheme_len + len)?;
    // The host holds an alphanumeric character, so trimming can never reach back into it.
    let opening = url.matches('(').count();
    let mut closing = url.matches(')').count();
    loop {
        if let Some(shorter) = url.strip_suffix(|c: char| matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '\'')) {
            url = shorter;
        } else if let Some(shorter) = url.strip_suffix(')').filter(|_| closing > opening) {
            // "(see https://x.com/a)" – the parenthesis belongs to the sentence, while "wiki/Rust_(language)" keeps it.
            url = shorter;
            closing -= 1;
        } else {
            break;
        }
    }
    Some(start + url.len())
}

/// Pairs emphasis runs with a delimiter stack. Everything between a matched pair is dropped from the stack, so spans
/// never cross; `floor` remembers, per marker, how deep a failed search already looked, so marker soup such as
/// `**_**_` repeated stays linear instead of rescanning the stack for every closer.
fn match_delimiters(tokens: &mut [Token]) {
    let mut openers: Vec<usize> = Vec::new();
    let mut floor = [0_usize; 2];
    for index in 0..tokens.len() {
        let Some(Token::Delimiter(run)) = tokens.get(index) else { continue };
        let (marker, can_open, can_close) = (run.marker, run.can_open, run.can_close);
        let slot = usize::from(marker == '_');
        while can_close && remaining(tokens, index) > 0 {
            let found = (floor[slot]..openers.len())
                .rev()
                .find(|&depth| openers.get(depth).and_then(|&opener| marker_at(tokens, opener)) == Some(marker));
            let Some((depth, opener)) = found.and_then(|depth| Some((depth, *openers.get(depth)?))) else {
                floor[slot] = openers.len();
                break;
            };
            let available = remaining(tokens, opener).min(remaining(tokens, index));
            let width = if marker == '*' && available >= 2 { 2 } else { 1 };
            if let Some(Token::Delimiter(run)) = tokens.get_mut(opener) {
                run.used += width;
                run.opens.push(width);
            }
            if let Some(Token::Delimiter(run)) = tokens.get_mut(index) {
                run.used += width;
                run.closes.push(width);
            }
            openers.truncate(if remaining(tokens, opener) > 0 { depth + 1 } else { depth });
            for level in &mut floor {
                *level = (*level).min(openers.len());
            }
        }
        if can_open && remaining(tokens, index) > 0 {
            openers.push(index);
        }
    }
}

fn remaining(tokens: &[Token], index: usize) -> usize {
    match tokens.get(index) {
        Some(Token::Delimiter(run)) => run.remaining(),
        _ => 0,
    }
}

fn marker_at(tokens: &[Token], index: usize) -> Option<char> {
    match tokens.get(index) {
        Some(Token::Delimiter(run)) => Some(run.marker),
        _ => None,
    }
}

fn build_tree(text: &str, tokens: Vec<Token>) -> Vec<Inline> {
    let mut tree = TreeBuilder::default();
    for token in tokens {
        match token {
            Token::Text(range) => tree.push_text(text.get(range).unwrap_or_default()),
            Token::Code(range) => tree.push(Inline::Code(text.get(range).unwrap_or_default().to_owned())),
            Token::Link(range) => {
                let url = text.get(range).unwrap_or_default().to_owned();
                tree.push(Inline::Link { href: url.clone(), text: url });
            }
            Token::Mention(range) => tree.push(Inline::Mention(text.get(range).unwrap_or_default().to_owned())),
            Token::Delimiter(run) => {
                for &width in &run.closes {
                    tree.close(run.marker, width);
                }
                tree.push_markers(run.marker, run.remaining());
                for &width in run.opens.iter().rev() {
                    tree.open(run.marker, width);
                }
            }
        }
    }
    tree.finish()
}

struct Frame {
    marker: char,
    width: usize,
    children: Vec<Inline>,
}

#[derive(Default)]
struct TreeBuilder {
    root: Vec<Inline>,
    frames: Vec<Frame>,
    /// One entry per currently open match: whether it got a frame or was flattened to literal markers by
    /// `MAX_NESTING`, so its closing side is treated the same way.
    open_matches: Vec<bool>,
}

impl TreeBuilder {
    fn children(&mut self) -> &mut Vec<Inline> {
        match self.frames.last_mut() {
            Some(frame) => &mut frame.children,
            None => &mut self.root,
        }
    }

    fn push(&mut self, inline: Inline) {
        match inline {
            Inline::Text(text) => self.push_text(&text),
            other => self.children().push(other),
        }
    }

    /// The text node new text merges into, so adjacent text always ends up in one node.
    fn text_tail(&mut self) -> Option<&mut String> {
        let children = self.children();
        if !matches!(children.last(), Some(Inline::Text(_))) {
            children.push(Inline::Text(String::new()));
        }
        match children.last_mut() {
            Some(Inline::Text(tail)) => Some(tail),
            _ => None,
        }
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(tail) = self.text_tail() {
            tail.push_str(text);
        }
    }

    /// Markers that did not become formatting are shown exactly as typed.
    fn push_markers(&mut self, marker: char, count: usize) {
        if count == 0 {
            return;
        }
        if let Some(tail) = self.text_tail() {
            tail.extend(std::iter::repeat_n(marker, count));
        }
    }

    fn open(&mut self, marker: char, width: usize) {
        if self.frames.len() < MAX_NESTING {
            self.frames.push(Frame { marker, width, children: Vec::new() });
            self.open_matches.push(true);
        } else {
            self.push_markers(marker, width);
            self.open_matches.push(false);
        }
    }

    fn close(&mut self, marker: char, width: usize) {
        let frame = if self.open_matches.pop() == Some(true) { self.frames.pop() } else { None };
        match frame {
            Some(frame) => self.attach(frame),
            None => self.push_markers(marker, width),
        }
    }

    fn attach(&mut self, frame: Frame) {
        let Frame { marker, width, children } = frame;
        if children.is_empty() {
            // Cannot come out of the matcher, but an empty span would render as nothing, so show what was typed.
            self.push_markers(marker, width * 2);
        } else if width == 2 {
            self.push(Inline::Bold(children));
        } else {
            self.push(Inline::Italic(children));
        }
    }

    fn finish(mut self) -> Vec<Inline> {
        // Every opening has a matching closing, so this only guards against a matcher bug losing text.
        while let Some(Frame { marker, width, children }) = self.frames.pop() {
            self.push_markers(marker, width);
            for child in children {
                self.push(child);
            }
        }
        self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Inline {
        Inline::Text(s.to_owned())
    }

    fn para(inlines: Vec<Inline>) -> Block {
        Block::Paragraph(inlines)
    }

    fn link(url: &str) -> Inline {
        Inline::Link { href: url.to_owned(), text: url.to_owned() }
    }

    fn mention(nick: &str) -> Inline {
        Inline::Mention(nick.to_owned())
    }

    fn code_block(language: Option<&str>, code: &str) -> Block {
        Block::CodeBlock { language: language.map(str::to_owned), code: code.to_owned() }
    }

    fn assert_literal(body: &str) {
        assert_eq!(parse(body), vec![para(vec![text(body)])], "{body:?} should stay literal");
    }

    #[test]
    fn empty_body_has_no_blocks() {
        assert_eq!(parse(""), Vec::<Block>::new());
        assert_eq!(parse("  \n \n"), Vec::<Block>::new());
    }

    #[test]
    fn plain_words_are_one_text_paragraph() {
        assert_literal("hello there, friend");
    }

    #[test]
    fn newlines_stay_inside_one_paragraph() {
        assert_eq!(
            parse("line one\nline **two**\n\nline three"),
            vec![para(vec![text("line one\nline "), Inline::Bold(vec![text("two")]), text("\n\nline three")])]
        );
    }

    #[test]
    fn bold_and_both_italic_markers() {
        assert_eq!(
            parse("**bold** and *it* and _it_"),
            vec![para(vec![
                Inline::Bold(vec![text("bold")]),
                text(" and "),
                Inline::Italic(vec![text("it")]),
                text(" and "),
                Inline::Italic(vec![text("it")]),
            ])]
        );
    }

    #[test]
    fn bold_and_italic_nest_both_ways() {
        assert_eq!(
            parse("**a _b_ c**"),
            vec![para(vec![Inline::Bold(vec![text("a "), Inline::Italic(vec![text("b")]), text(" c")])])]
        );
        assert_eq!(
            parse("_a **b** c_"),
            vec![para(vec![Inline::Italic(vec![text("a "), Inline::Bold(vec![text("b")]), text(" c")])])]
        );
    }

    #[test]
    fn triple_star_is_bold_inside_italic() {
        assert_eq!(parse("***x***"), vec![para(vec![Inline::Italic(vec![Inline::Bold(vec![text("x")])])])]);
    }

    #[test]
    fn snake_case_words_are_not_italic() {
        assert_literal("use snake_case_name and __init__ here");
    }

    #[test]
    fn underscores_inside_an_italic_word_stay_literal() {
        assert_eq!(parse("_snake_case_"), vec![para(vec![Inline::Italic(vec![text("snake_case")])])]);
    }

    #[test]
    fn unclosed_markers_stay_literal() {
        assert_literal("**bold and *it and _more");
        assert_literal("x _y");
    }

    #[test]
    fn empty_markers_are_literal() {
        assert_literal("****");
        assert_literal("__");
        assert_literal("``");
        assert_literal("a ** b");
    }

    #[test]
    fn spaced_stars_are_literal() {
        assert_literal("2 * 3 * 4");
    }

    #[test]
    fn emphasis_does_not_cross_code_blocks() {
        assert_eq!(
            parse("*a\n```\ncode\n```\nb*"),
            vec![para(vec![text("*a")]), code_block(None, "code"), para(vec![text("b*")])]
        );
    }

    #[test]
    fn inline_code_keeps_markers_literal() {
        assert_eq!(
            parse("run `**not bold** <b> @bob https://x.com`"),
            vec![para(vec![text("run "), Inline::Code("**not bold** <b> @bob https://x.com".to_owned())])]
        );
    }

    #[test]
    fn code_span_wins_over_emphasis_it_overlaps() {
        assert_eq!(
            parse("**a `b** c` d**"),
            vec![para(vec![Inline::Bold(vec![text("a "), Inline::Code("b** c".to_owned()), text(" d")])])]
        );
    }

    #[test]
    fn lone_backtick_is_literal() {
        assert_literal("it`s fine");
    }

    #[test]
    fn fenced_code_block_keeps_language_and_content() {
        assert_eq!(parse("```rust\nfn main() {}\n```"), vec![code_block(Some("rust"), "fn main() {}")]);
    }

    #[test]
    fn fence_content_is_not_parsed() {
        assert_eq!(
            parse("```\n**x** _y_ @bob https://a.b <i>\n\n```"),
            vec![code_block(None, "**x** _y_ @bob https://a.b <i>\n")]
        );
    }

    #[test]
    fn fence_with_invalid_language_is_text() {
        assert_literal("```c#\nx");
        assert_literal("``` rust\nx");
        assert_literal(&format!("```{}\nx", "a".repeat(21)));
    }

    #[test]
    fn unclosed_fence_runs_to_the_end() {
        assert_eq!(
            parse("look:\n```py\ndef f():\n    **still code**\n"),
            vec![para(vec![text("look:")]), code_block(Some("py"), "def f():\n    **still code**\n")]
        );
        assert_eq!(parse("```"), vec![code_block(None, "")]);
    }

    #[test]
    fn text_around_fences_forms_separate_paragraphs() {
        assert_eq!(
            parse("before\n```\na\n```\n```js\nb\n```\nafter"),
            vec![
                para(vec![text("before")]),
                code_block(None, "a"),
                code_block(Some("js"), "b"),
                para(vec![text("after")])
            ]
        );
    }

    #[test]
    fn crlf_fences_are_recognised() {
        assert_eq!(parse("hi\r\n```sh\r\nls\r\n```\r\n"), vec![para(vec![text("hi")]), code_block(Some("sh"), "ls")]);
    }

    #[test]
    fn http_and_https_urls_become_links() {
        assert_eq!(
            parse("see http://example.com/a?b=c#d and HTTPS://Example.org"),
            vec![para(vec![
                text("see "),
                link("http://example.com/a?b=c#d"),
                text(" and "),
                link("HTTPS://Example.org"),
            ])]
        );
    }

    #[test]
    fn javascript_urls_stay_text() {
        assert_literal("javascript:alert(1) data:text/html,<b>x</b> ftp://x.com www.x.com vbscript:x");
    }

    #[test]
    fn trailing_period_is_not_part_of_a_link() {
        assert_eq!(
            parse("go to https://example.com/a. Or https://x.io/b?!"),
            vec![para(vec![
                text("go to "),
                link("https://example.com/a"),
                text(". Or "),
                link("https://x.io/b"),
                text("?!"),
            ])]
        );
    }

    #[test]
    fn only_unbalanced_closing_parenthesis_is_dropped() {
        assert_eq!(
            parse("(see https://en.wikipedia.org/wiki/Rust_(language))"),
            vec![para(vec![text("(see "), link("https://en.wikipedia.org/wiki/Rust_(language)"), text(")")])]
        );
    }

    #[test]
    fn urls_end_at_angle_brackets_and_quotes() {
        assert_eq!(
            parse("<https://a.com>\"https://b.com\""),
            vec![para(vec![text("<"), link("https://a.com"), text(">\""), link("https://b.com"), text("\"")])]
        );
    }

    #[test]
    fn url_without_host_stays_text() {
        assert_literal("http:// and https:///path and http://... and https://?q");
    }

    #[test]
    fn url_glued_to_a_word_stays_text() {
        assert_literal("xhttp://example.com");
    }

    #[test]
    fn markers_inside_urls_are_not_emphasis() {
        assert_eq!(parse("https://x.com/a_b_/*c*"), vec![para(vec![link("https://x.com/a_b_/*c*")])]);
    }

    #[test]
    fn links_can_be_emphasised() {
        assert_eq!(
            parse("**https://x.com ok**"),
            vec![para(vec![Inline::Bold(vec![link("https://x.com"), text(" ok")])])]
        );
    }

    #[test]
    fn mention_is_recognised() {
        assert_eq!(parse("hi @alice!"), vec![para(vec![text("hi "), mention("alice"), text("!")])]);
        assert_eq!(parse("(@bob-2_x.y)"), vec![para(vec![text("("), mention("bob-2_x.y"), text(")")])]);
    }

    #[test]
    fn mention_trailing_period_is_excluded() {
        assert_eq!(parse("thanks @bob..."), vec![para(vec![text("thanks "), mention("bob"), text("...")])]);
    }

    #[test]
    fn unicode_nicknames_are_mentions() {
        assert_eq!(parse("😀@José, hi"), vec![para(vec![text("😀"), mention("José"), text(", hi")])]);
    }

    #[test]
    fn email_addresses_are_not_mentions() {
        assert_literal("mail bob@example.com");
        assert_eq!(mentions("bob@example.com"), Vec::<String>::new());
    }

    #[test]
    fn nickname_length_is_limited() {
        let longest = format!("@{}", "a".repeat(MAX_NICK_CHARS));
        assert_eq!(parse(&longest), vec![para(vec![mention(&"a".repeat(MAX_NICK_CHARS))])]);
        assert_literal(&format!("@{}", "a".repeat(MAX_NICK_CHARS + 1)));
        assert_literal("@ alone and @. too");
    }

    #[test]
    fn mentions_inside_code_do_not_count() {
        assert_eq!(mentions("`@carol` @dave\n```\n@erin\n```\n"), vec!["dave".to_owned()]);
    }

    #[test]
    fn mentions_inside_urls_do_not_count() {
        assert_eq!(mentions("https://x.com/@frank"), Vec::<String>::new());
    }

    #[test]
    fn mentions_are_distinct_in_order_of_first_appearance() {
        assert_eq!(mentions("@b hi @a, **@b** _@c_ @a"), vec!["b".to_owned(), "a".to_owned(), "c_".to_owned()]);
    }

    #[test]
    fn html_is_just_text() {
        assert_literal("<script>alert(1)</script>");
        assert_literal("<img src=x onerror=\"alert(1)\"> &amp; &lt;");
    }

    #[test]
    fn multibyte_text_is_kept_intact() {
        assert_eq!(parse("é😀 **ü** ñ"), vec![para(vec![text("é😀 "), Inline::Bold(vec![text("ü")]), text(" ñ")])]);
    }

    #[test]
    fn plain_text_drops_markers_and_keeps_code_and_links() {
        let blocks = parse("**Hi** @bob, see `x` at https://a.com.\n```\ncode\n```");
        assert_eq!(plain_text(&blocks), "Hi @bob, see x at https://a.com.\ncode");
    }

    #[test]
    fn nesting_is_capped() {
        let body = format!("{}x{}", "*a ".repeat(30), " b*".repeat(30));
        let blocks = parse(&body);
        assert!(blocks.iter().all(|block| block_depth(block) <= MAX_NESTING));
        assert_eq!(plain_text(&blocks).chars().filter(|&c| c == '*').count(), 60 - 2 * MAX_NESTING);
    }

    fn depth(inlines: &[Inline]) -> usize {
        inlines
            .iter()
            .map(|inline| match inline {
                Inline::Bold(children) | Inline::Italic(children) => 1 + depth(children),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    fn block_depth(block: &Block) -> usize {
        match block {
            Block::Paragraph(inlines) => depth(inlines),
            Block::CodeBlock { .. } => 0,
        }
    }

    /// Structural invariants the renderer relies on.
    fn check_inlines(inlines: &[Inline]) {
        for pair in inlines.windows(2) {
            assert!(!matches!(pair, [Inline::Text(_), Inline::Text(_)]), "adjacent text nodes: {inlines:?}");
        }
        for inline in inlines {
            match inline {
                Inline::Text(s) | Inline::Code(s) => assert!(!s.is_empty()),
                Inline::Bold(children) | Inline::Italic(children) => {
                    assert!(!children.is_empty());
                    check_inlines(children);
                }
                Inline::Link { href, text } => {
                    assert_eq!(href, text);
                    assert!(href.to_ascii_lowercase().starts_with("http"));
                }
                Inline::Mention(nick) => {
                    assert!((1..=MAX_NICK_CHARS).contains(&nick.chars().count()));
                    assert!(nick.chars().all(is_nick_char) && !nick.ends_with('.'));
                }
            }
        }
    }

    #[test]
    fn generated_inputs_never_panic_and_never_grow() {
        const PIECES: &[&str] = &[
            "*",
            "**",
            "_",
            "__",
            "`",
            "```",
            "```rust",
            "\n",
            "\r\n",
            " ",
            "@",
            "@bob",
            "http://",
            "https://",
            "x.com",
            "é",
            "😀",
            "a",
            "Z",
            "(",
            ")",
            ".",
            "!",
            "<",
            "\"",
            "snake_case",
            "ü_",
            "_ü",
            "\t",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let pieces = next() % 40;
            let mut body = String::new();
            for _ in 0..pieces {
                let choice = usize::try_from(next() % PIECES.len() as u64).unwrap_or(0);
                body.push_str(PIECES.get(choice).copied().unwrap_or_default());
            }
            let blocks = parse(&body);
            for block in &blocks {
                assert!(block_depth(block) <= MAX_NESTING);
                if let Block::Paragraph(inlines) = block {
                    assert!(!inlines.is_empty());
                    check_inlines(inlines);
                }
            }
            assert!(plain_text(&blocks).chars().count() <= body.chars().count(), "grew: {body:?}");
            let _ = mentions(&body);
        }
    }

    #[test]
    fn adversarial_64k_bodies_parse() {
        let size = 64 * 1024;
        let patterns = [
            "**_**_**_",
            "*a _b ",
            "_*",
            "`",
            "http://",
            "http:///",
            "@",
            "@a",
            "(",
            "*",
            "a_",
            "**a",
            "https://x.com/)",
        ];
        for pattern in patterns {
            let body = pattern.repeat(size / pattern.len() + 1);
            let blocks = parse(&body);
            assert!(plain_text(&blocks).len() <= body.len());
            let _ = mentions(&body);
        }
        let nested = format!("{}{}", "*a ".repeat(size / 6), " b*".repeat(size / 6));
        assert!(parse(&nested).iter().all(|block| block_depth(block) <= MAX_NESTING));
    }

    #[test]
    fn a_body_mentions_a_nickname_whatever_its_case_but_not_in_code() {
        assert!(mentions_nickname("lunch, @Alice?", "alice"));
        assert!(!mentions_nickname("lunch, `@alice`?", "alice"));
        assert!(!mentions_nickname("lunch, @alicia?", "alice"));
        assert!(!mentions_nickname("mail alice@example.com", "alice"));
    }
}
