//! For a visitor who already has an account elsewhere: the nickname above plus its password.

use leptos::prelude::*;

use crate::api::sign_in;
use crate::state::ChatState;

/// The password half of signing in: the nickname is the one typed in the nickname field beside it,
/// so a visitor types their name once whether they join or sign in. `autocomplete` lets password
/// managers fill it.
#[component]
pub fn SignInForm() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let nickname = chat.nickname.get_untracked();
        if nickname.trim().is_empty() {
            error.set(Some("Type your nickname above first.".into()));
            return;
        }
        // One attempt at a time: every failed one makes the server's sign-in throttle wait longer.
        busy.set(true);
        leptos::task::spawn_local(async move {
            match sign_in(nickname, password.get_untracked()).await {
                // The password is forgotten at once, and the field takes the account's own
                // spelling of the nickname (as the server normalised it).
                Ok(account) => {
                    error.set(None);
                    password.set(String::new());
                    chat.nickname_error.set(None);
                    chat.nickname.set(account.nickname.clone());
                    // Enough to go live: the chat page starts the socket once it has an account.
                    chat.me.set(Some(account));
                }
                Err(refused) => error.set(Some(refused.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        <Show when=move || chat.me.with(Option::is_none)>
            <details class="account-form">
                <summary>"Already have a password? Sign in"</summary>
                <form on:submit=on_submit>
                    <div class="field">
                        <label for="sign-in-password">"Password"</label>
                        <div class="inline">
                            <input
                                id="sign-in-password"
                                type="password"
                                autocomplete="current-password"
                                aria-describedby="sign-in-error"
                                bind:value=password
                            />
                            <button type="submit" class="join" disabled=move || busy.get()>"Sign in"</button>
                        </div>
                        <p id="sign-in-error" class="field-error" role="alert">{move || error.get()}</p>
                    </div>
                </form>
            </details>
        </Show>
    }
}
