//! The message box and Send button. Enter sends, Shift+Enter makes a new line.

use leptos::prelude::*;

use crate::chat::ChatState;
use crate::protocol::MAX_MESSAGE_CHARS;

/// Show how many characters are left once fewer than this remain.
const COUNTER_FROM: usize = 500;

#[component]
pub fn Composer() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let body = RwSignal::new(String::new());
    let remaining = move || MAX_MESSAGE_CHARS as i64 - body.with(|text| text.chars().count()) as i64;
    // Offline is fine: the message waits in the outbox until the socket is back.
    let can_send = move || {
        chat.me.with(Option::is_some)
            && chat.can_post()
            && !body.with(|text| text.trim().is_empty())
            && remaining() >= 0
    };
    let send = move || {
        if can_send() && chat.submit(&body.get_untracked()) {
            body.set(String::new());
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    let counter = move || {
        let left = remaining();
        (left < COUNTER_FROM as i64).then(|| {
            let text =
                if left >= 0 { format!("{left} characters left") } else { format!("{} characters too many", -left) };
            view! { <span class="counter" class:over=left < 0>{text}</span> }
        })
    };
    view! {
        <div class="field composer-field">
            <label for="message">"Message"</label>
            <textarea
                id="message"
                name="message"
                rows="2"
                placeholder="Write a message — Enter to send, Shift+Enter for a new line"
                aria-describedby="composer-status"
                bind:value=body
                on:keydown=on_keydown
                on:input=move |_| chat.typed(crate::time_format::now_millis())
            ></textarea>
        </div>
        <div class="send-row">
            <p id="composer-status" class="composer-status" role="alert">
                {move || chat.alert.get()}
                {counter}
            </p>
            <button type="button" class="send" disabled=move || !can_send() on:click=move |_| send()>
                "Send"
            </button>
        </div>
    }
}
