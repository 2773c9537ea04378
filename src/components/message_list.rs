//! The conversation. Follows new messages only while the reader is at the bottom, so scrolling up to
//! read is never interrupted; scrolling near the top loads older messages without moving what the
//! reader is looking at; "Jump to latest" appears whenever the newest message is out of sight. A page
//! opened at a permalink starts at that message, highlighted.

use leptos::html::Div;
use leptos::prelude::*;

use crate::chat::ChatState;
use crate::components::message::MessageLine;

/// How close to the bottom (in pixels) still counts as "at the bottom".
const STICKY_MARGIN: i32 = 48;
/// How close to the top (or, above older history, to the bottom) a page of history starts loading.
const LOAD_MARGIN: i32 = 300;

#[component]
pub fn MessageList() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let list = NodeRef::<Div>::new();
    // A permalink page starts at its message, not at the bottom.
    let at_bottom = RwSignal::new(chat.focus.get_value().is_none());
    Effect::new(move |_| {
        chat.timeline.track();
        if let (Some(list), true) = (list.get(), at_bottom.get_untracked()) {
            list.set_scroll_top(list.scroll_height());
        }
    });
    // The list is shorter or taller when something below or above it changes (after joining, the
    // upload button appears under it): a reader at the bottom stays at the bottom.
    Effect::new(move |_| {
        if let Some(element) = list.get() {
            let element: leptos::web_sys::Element = (*element).clone().into();
            let scrolled = element.clone();
            crate::dom::on_resize(&element, move || {
                if at_bottom.get_untracked() {
                    scrolled.set_scroll_top(scrolled.scroll_height());
                }
            });
        }
    });
    Effect::new(move |_| {
        if let (Some(_), Some(id)) = (list.get(), chat.focus.get_value()) {
            scroll_to_message(id);
        }
    });
    let load_older = move || {
        let Some(element) = list.get_untracked() else { return };
        let height = element.scroll_height();
        leptos::task::spawn_local(async move {
            let loaded = chat.load_older().await;
            // The lines are in the DOM by the next frame: move down by what was added above, so
            // what the reader was looking at stays where it was. By then the "Load older" button
            // is gone if the start was reached: focus it had stays in the list.
            request_animation_frame(move || {
                let Some(element) = list.get_untracked() else { return };
                if loaded {
                    element.set_scroll_top(element.scroll_top() + element.scroll_height() - height);
                }
                if crate::dom::focus_was_lost() {
                    let _ = element.focus();
                }
            });
        });
    };
    let on_scroll = move |_| {
        let Some(element) = list.get() else { return };
        let distance = element.scroll_height() - element.scroll_top() - element.client_height();
        at_bottom.set(distance <= STICKY_MARGIN && !chat.has_newer.get_untracked());
        if element.scroll_top() < LOAD_MARGIN && chat.has_older.get_untracked() && !chat.loading.get_untracked() {
            load_older();
        }
        if distance < LOAD_MARGIN && chat.has_newer.get_untracked() && !chat.loading.get_untracked() {
            leptos::task::spawn_local(chat.load_newer());
        }
    };
    let jump_to_latest = move |_| {
        if chat.has_newer.get_untracked() {
            // Far back in an older stretch: the room's own page is the quickest way to the present.
            if let Some(path) = chat.room.with_untracked(|room| room.as_ref().map(|room| room.path())) {
                crate::chat::go_to(&path);
            }
        } else if let Some(element) = list.get_untracked() {
            at_bottom.set(true);
            element.set_scroll_top(element.scroll_height());
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
        <div class="messages-frame">
            <div class="messages" role="log" aria-label="Messages" tabindex="0" node_ref=list on:scroll=on_scroll>
                <Show when=move || chat.has_older.get()>
                    <p class="history-edge">
                        // Not `disabled` while loading: a focused button that is disabled drops
                        // focus to the page, and a keyboard user loses their place.
                        <button type="button" class="link" aria-disabled=move || chat.loading.get().to_string() on:click=move |_| load_older()>
                            {move || if chat.loading.get() { "Loading older messages…" } else { "Load older messages" }}
                        </button>
                    </p>
                </Show>
                <ol>
                    <For
                        each=lines
                        key=|line| (line.key.clone(), line.status.clone(), line.id, line.nickname.clone(), line.rev)
                        children=move |line| {
                            let id = line.id;
                            view! {
                                <Show when=move || id.is_some() && first_unread.get() == id>
                                    // A plain item holding the separator: a list may hold only items.
                                    <li class="unread-marker">
                                        <span role="separator" aria-label="New messages">"New messages"</span>
                                    </li>
                                </Show>
                                <MessageLine line/>
                            }
                        }
                    />
                </ol>
                <Show when=move || chat.has_newer.get()>
                    <p class="history-edge">
                        <button type="button" class="link" disabled=move || chat.loading.get() on:click=move |_| leptos::task::spawn_local(chat.load_newer())>
                            "Load newer messages"
                        </button>
                    </p>
                </Show>
            </div>
            <Show when=move || !at_bottom.get() || chat.has_newer.get()>
                <button type="button" class="jump-to-latest" on:click=jump_to_latest>"Jump to latest ↓"</button>
            </Show>
        </div>
    }
}

/// Brings a message into the middle of the view.
fn scroll_to_message(id: i64) {
    #[cfg(feature = "hydrate")]
    {
        let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
        if let Ok(Some(line)) = document.query_selector(&format!(".messages li[data-id=\"{id}\"]")) {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            line.scroll_into_view_with_scroll_into_view_options(&options);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}
