//! "alice is typing…" under the conversation. Never about yourself: the server does not send you
//! your own typing signals.

use leptos::prelude::*;

use crate::state::ChatState;

/// The typing line. The paragraph is always there, empty when nobody types: a live region must
/// exist before its text changes for screen readers to announce the change, and `polite` waits
/// for them to finish what they are reading.
#[component]
pub fn TypingIndicator() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    view! { <p class="typing" aria-live="polite">{move || chat.typing.with(|typing| typing.label())}</p> }
}
