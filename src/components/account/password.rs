//! Setting a password, so the signed-in user can keep their nickname on other devices.

use leptos::prelude::*;

use crate::api::set_password;
use crate::protocol::validate_password;
use crate::state::ChatState;

/// Offered to people only: a bot's account is reached by its token (`natter bot create`), never by
/// nickname and password.
#[component]
pub fn PasswordForm() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let password = RwSignal::new(String::new());
    // Saved or refused, in the words to show: the two are styled apart, and told politely
    // (`role="status"`) as the answer to the user's own click.
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = password.get_untracked();
        // The server's own rule, checked here too: a password it would refuse costs no round trip.
        if let Err(refused) = validate_password(&chosen) {
            outcome.set(Some(Err(refused.message)));
            return;
        }
        leptos::task::spawn_local(async move {
            match set_password(chosen).await {
                // Emptied once saved: the password need not sit in the page any longer.
                Ok(()) => {
                    password.set(String::new());
                    outcome.set(Some(Ok("Password saved. Sign in with it on your other devices.".into())));
                }
                Err(error) => outcome.set(Some(Err(error.to_string()))),
            }
        });
    };
    view! {
        <Show when=move || chat.me.with(|me| me.as_ref().is_some_and(|me| !me.is_bot))>
            <details class="account-form">
                <summary>"Use this nickname on other devices"</summary>
                <form on:submit=on_submit>
                    <div class="field">
                        <label for="new-password">"New password"</label>
                        <div class="inline">
                            <input
                                id="new-password"
                                type="password"
                                autocomplete="new-password"
                                aria-describedby="password-outcome"
                                bind:value=password
                            />
                            <button type="submit" class="join">"Set password"</button>
                        </div>
                        <p id="password-outcome" class="field-note" role="status">
                            {move || match outcome.get() {
                                Some(Ok(note)) => view! { <span class="ok">{note}</span> }.into_any(),
                                Some(Err(problem)) => view! { <span class="field-error">{problem}</span> }.into_any(),
                                None => ().into_any(),
                            }}
                        </p>
                    </div>
                </form>
            </details>
        </Show>
    }
}
