//! Inline spans: a paragraph's text becomes tokens (code, links, mentions, emphasis runs), the runs are
//! paired, and the tree builder nests the result.

use std::ops::Range;

use super::mentions::mention_end;
use super::tree::TreeBuilder;
use super::Inline;

/// One paragraph's spans.
pub(super) fn parse_inlines(text: &str) -> Vec<Inline> {
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
        // Mentions and links start only at a word's start: `mail@host` is no mention, and
        // `xhttp://` no link.
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

/// Where a URL ends: `<`, `>` and `"` cannot stand unescaped in one, and in prose they usually
/// wrap it.
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
            // Only `*` makes bold: an underscore run counts only as a single `_` (`delimiter_run`).
            let width = if marker == '*' && available >= 2 { 2 } else { 1 };
            if let Some(Token::Delimiter(run)) = tokens.get_mut(opener) {
                run.used += width;
                run.opens.push(width);
            }
            if let Some(Token::Delimiter(run)) = tokens.get_mut(index) {
                run.used += width;
                run.closes.push(width);
            }
            // An opener with characters left stays open (`***a*` leaves `**` waiting for a closer).
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
            // In the run's own order: its closing characters are its leftmost, its opening ones its
            // rightmost, and any left over lie between. Opens were recorded innermost first (as
            // closers found them), so they are opened in reverse, outermost first.
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
