//! Connected, connecting, or reconnecting with a countdown.

use leptos::prelude::*;

use crate::state::{ChatState, SocketState};

/// The header's connection line. `role="status"` makes it a polite live region: a screen reader
/// hears the socket drop and come back without losing its place.
#[component]
pub fn ConnectionStatus() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // Banned and not-joined come first: such a page has no socket, whatever state it last showed.
    let label = move || match chat.connection.get() {
        _ if chat.banned.get() => "Banned".to_owned(),
        _ if chat.me.with(Option::is_none) => "Not joined yet".to_owned(),
        SocketState::Connecting => "Connecting…".to_owned(),
        SocketState::Connected => "Connected".to_owned(),
        SocketState::Retrying { seconds: 0 } => "Reconnecting…".to_owned(),
        SocketState::Retrying { seconds } => format!("Disconnected — retrying in {seconds} s"),
    };
    // While the countdown ticks, the live region holds a sentence that does not change each second,
    // and the ticking numbers are hidden from assistive technology: otherwise a screen reader would
    // announce "retrying in 4 s", "3 s", "2 s" over whatever its user is reading.
    let counting_down = move || {
        !chat.banned.get()
            && chat.me.with(Option::is_some)
            && matches!(chat.connection.get(), SocketState::Retrying { seconds } if seconds > 0)
    };
    // The dot's colour is the stylesheet's, keyed by `data-state`; the words say the same for
    // whoever does not see colour.
    let state = move || match chat.connection.get() {
        _ if chat.banned.get() || chat.me.with(Option::is_none) => "offline",
        SocketState::Connecting => "connecting",
        SocketState::Connected => "connected",
        SocketState::Retrying { .. } => "retrying",
    };
    view! {
        <p class="connection" data-state=state role="status">
            <span class="dot" aria-hidden="true"></span>
            <span aria-hidden=move || counting_down().then_some("true")>{label}</span>
            <Show when=counting_down>
                <span class="visually-hidden">"Disconnected — retrying soon"</span>
            </Show>
        </p>
    }
}
