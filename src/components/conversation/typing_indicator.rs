//! "alice is typing…" under the conversation. Never about yourself: the server does not send you
//! your own typing signals.

use leptos::prelude::*;

use crate::state::ChatState;

#[component]
pub fn TypingIndicator() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    view! { <p class="typing" aria-live="polite">{move || chat.typing.with(|typing| typing.label())}</p> }
}
