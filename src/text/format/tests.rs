//! The markup as writers and readers meet it: what each body shows, and that hostile bodies stay cheap.

use super::mentions::MAX_NICK_CHARS;
use super::tree::MAX_NESTING;
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
        vec![para(vec![text("before")]), code_block(None, "a"), code_block(Some("js"), "b"), para(vec![text("after")])]
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
        vec![para(vec![text("see "), link("http://example.com/a?b=c#d"), text(" and "), link("HTTPS://Example.org"),])]
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
    assert_eq!(parse("**https://x.com ok**"), vec![para(vec![Inline::Bold(vec![link("https://x.com"), text(" ok")])])]);
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
    // The parser's triggers and the characters its rules look at (word edges, multi-byte, CR), so
    // random bodies reach the corners nobody would think to write by hand.
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
    // A fixed xorshift seed: the same bodies on every run, so a failure reproduces, and no
    // dependency just for tests.
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
        // The parser only keeps or drops what was typed: longer plain text would mean invented or
        // doubled text.
        assert!(plain_text(&blocks).chars().count() <= body.chars().count(), "grew: {body:?}");
        let _ = mentions(&body);
    }
}

#[test]
fn adversarial_64k_bodies_parse() {
    // Sixteen times the body limit, repeating the patterns that would go quadratic without the
    // parser's shortcuts (lone backticks, hostless URLs, marker soup): slow parsing shows here.
    let size = 64 * 1024;
    let patterns =
        ["**_**_**_", "*a _b ", "_*", "`", "http://", "http:///", "@", "@a", "(", "*", "a_", "**a", "https://x.com/)"];
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
