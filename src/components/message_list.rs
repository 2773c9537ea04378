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
    view! {
        <div class="messages" role="log" aria-label="Messages" tabindex="0" node_ref=list on:scroll=on_scroll>
            <ol>
                <For
                    each=lines
                    key=|line| (line.key.clone(), line.status.clone(), line.id, line.nickname.clone(), line.deleted)
                    children=|line| view! { <MessageLine line/> }
                />
            </ol>
        </div>
    }
}
