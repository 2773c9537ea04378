//! The conversation. Follows new messages only while the reader is at the bottom, so scrolling up to
//! read is never interrupted.

use leptos::html::Div;
use leptos::prelude::*;

use crate::chat::ChatState;
use crate::components::message::MessageLine;

/// How close to the bottom (in pixels) still counts as "at the bottom".
const STICKY_MARGIN: i32 = 48;

#[component]
pub fn MessageList() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let list = NodeRef::<Div>::new();
    let at_bottom = StoredValue::new(true);
    Effect::new(move |_| {
        chat.timeline.track();
        if let (Some(list), true) = (list.get(), at_bottom.get_value()) {
            list.set_scroll_top(list.scroll_height());
        }
    });
    let on_scroll = move |_| {
        if let Some(list) = list.get() {
            let distance = list.scroll_height() - list.scroll_top() - list.client_height();
            at_bottom.set_value(distance <= STICKY_MARGIN);
        }
    };
    let lines = move || chat.timeline.with(|timeline| timeline.lines().to_vec());
    // The first message by someone else that was unread when the page opened: the marker goes above it.
    let first_unread = Memo::new(move |_| {
        let read_before = chat.read_before.get_value()?;
        let me = chat.me.with(|me| me.as_ref().map(|me| me.id));
        chat.timeline.with(|timeline| {
            timeline
                .lines()
                .iter()
                .filter(|line| line.author_id != me)
                .find_map(|line| line.id.filter(|&id| id > read_before))
        })
    });
    view! {
        <div class="messages" role="log" aria-label="Messages" tabindex="0" node_ref=list on:scroll=on_scroll>
            <ol>
                <For
                    each=lines
                    key=|line| (line.key.clone(), line.status.clone(), line.id, line.nickname.clone(), line.rev)
                    children=move |line| {
                        let id = line.id;
                        view! {
                            <Show when=move || id.is_some() && first_unread.get() == id>
                                <li class="unread-marker" role="separator" aria-label="New messages">
                                    <span>"New messages"</span>
                                </li>
                            </Show>
                            <MessageLine line/>
                        }
                    }
                />
            </ol>
        </div>
    }
}
