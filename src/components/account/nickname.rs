//! The nickname field. For a visitor it is the way in ("Join" creates the account and signs this
//! browser in); for a signed-in user, editing it and pressing Enter or leaving the field renames them.

use leptos::prelude::*;

use crate::protocol::MAX_NICKNAME_CHARS;
use crate::state::{ChatState, NICKNAME_FIELD};

/// Shown in the join bar to a visitor and in the user menu once signed in, never both at once: the
/// element id is shared, so focusing it and reading what was typed before hydration find the one
/// on screen.
#[component]
pub fn NicknameField() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // Join is disabled while the account is made: a second click would ask for another account
    // with the same nickname, and be told it is taken.
    let joining = RwSignal::new(false);
    let signed_in = move || chat.me.with(Option::is_some);
    // A nickname typed before the page hydrated is kept (see `dom::typed_before_hydration`).
    if let Some(typed) = crate::dom::typed_before_hydration(NICKNAME_FIELD) {
        chat.nickname.set(typed);
    }
    let join = move || {
        joining.set(true);
        leptos::task::spawn_local(async move {
            if chat.join().await {
                // The join bar goes: the message box is where the visitor goes next.
                request_animation_frame(|| crate::dom::focus(crate::components::conversation::composer::MESSAGE_FIELD));
            }
            joining.set(false);
        });
    };
    // Enter in the field submits: Join for a visitor, a rename for a member. Leaving the field
    // (`on:change`) renames too, so a rename needs no button of its own.
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if signed_in() {
            chat.commit_nickname();
        } else {
            join();
        }
    };
    // `maxlength` stops typing at the protocol's length, so a name too long is never typed in full
    // only to be refused.
    view! {
        // A real form, so Join works before the WASM has loaded (or without it): the server function
        // creates the account, sets the cookie and redirects back. Once hydrated, on_submit does it
        // in the page instead.
        <form class="identity" method="post" action="/api/join" on:submit=on_submit>
            <div class="field nickname">
                <label for="nickname">"Nickname"</label>
                <div class="inline">
                    <input
                        id=NICKNAME_FIELD
                        name="nickname"
                        // In the server's HTML too, so a signed-in user's name shows before hydration.
                        value=chat.nickname.get_untracked()
                        type="text"
                        autocomplete="nickname"
                        maxlength=MAX_NICKNAME_CHARS
                        aria-invalid=move || chat.nickname_error.get().is_some().to_string()
                        aria-describedby="nickname-error"
                        bind:value=chat.nickname
                        on:change=move |_| chat.commit_nickname()
                    />
                    <Show when=move || !signed_in()>
                        <button type="submit" class="join" disabled=move || joining.get()>"Join"</button>
                    </Show>
                </div>
                <p id="nickname-error" class="field-error" role="alert">{move || chat.nickname_error.get()}</p>
            </div>
        </form>
    }
}
