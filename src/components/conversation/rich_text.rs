//! A message body, formatted: the typed spans of `format::parse` become elements built by Leptos,
//! so every piece of user text is a text node and only http(s) URLs ever become links.

use leptos::prelude::*;

use crate::text::format::{self, Block, Inline};

/// Links leave Natter without telling the target where they came from, and carry no ranking.
const LINK_REL: &str = "noopener noreferrer nofollow";

#[component]
/// `me` is the reader's nickname: mentions of them stand out. Used by the export too (rendered to
/// HTML on the server), so a body is escaped there exactly as on screen.
pub fn RichText(body: String, me: Option<String>) -> impl IntoView {
    format::parse(&body).into_iter().map(|block| render_block(block, me.as_deref())).collect_view()
}

fn render_block(block: Block, me: Option<&str>) -> AnyView {
    match block {
        Block::Paragraph(inlines) => view! { <span class="para">{render_inlines(inlines, me)}</span> }.into_any(),
        Block::CodeBlock { language, code } => {
            view! { <pre class="code-block" data-language=language><code>{code}</code></pre> }.into_any()
        }
    }
}

fn render_inlines(inlines: Vec<Inline>, me: Option<&str>) -> Vec<AnyView> {
    inlines.into_iter().map(|inline| render_inline(inline, me)).collect()
}

fn render_inline(inline: Inline, me: Option<&str>) -> AnyView {
    match inline {
        // A `String` view is a text node: whatever the user typed, `<b>` included, stays text.
        Inline::Text(text) => text.into_any(),
        Inline::Bold(inner) => view! { <strong>{render_inlines(inner, me)}</strong> }.into_any(),
        Inline::Italic(inner) => view! { <em>{render_inlines(inner, me)}</em> }.into_any(),
        Inline::Code(code) => view! { <code>{code}</code> }.into_any(),
        // `target="_blank"`: a link opens in a new tab, and the chat (with its socket) stays open.
        Inline::Link { href, text } => view! { <a href=href rel=LINK_REL target="_blank">{text}</a> }.into_any(),
        Inline::Mention(nick) => {
            // The same comparison as `format::mentions_nickname`, which bumps a room's live
            // mention count: what is highlighted here is what was counted in the sidebar.
            let class = if me.is_some_and(|me| me.eq_ignore_ascii_case(&nick)) { "mention me" } else { "mention" };
            view! { <span class=class>"@" {nick}</span> }.into_any()
        }
    }
}
