//! Sign out: ends this browser's session (its sockets close) and starts over as a visitor.

use leptos::prelude::*;

use crate::api::sign_out;
use crate::state::ChatState;

/// Signing out reloads the page rather than clearing its state: the account, its outbox, the
/// socket and the rooms all go at once, and the server renders the visitor's page afresh.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let signing_out = RwSignal::new(false);
    let on_click = move |_| {
        signing_out.set(true);
        leptos::task::spawn_local(async move {
            match sign_out().await {
                Ok(()) => crate::dom::reload(),
                Err(error) => {
                    chat.alert.set(Some(error.to_string()));
                    signing_out.set(false);
                }
            }
        });
    };
    view! {
        <Show when=move || chat.me.with(Option::is_some)>
            <button type="button" class="link sign-out" disabled=move || signing_out.get() on:click=on_click>
                "Sign out"
            </button>
        </Show>
    }
}
