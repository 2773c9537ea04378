//! The nickname field. Remembered in the browser; committed to the server on blur or Enter.

use leptos::prelude::*;

use crate::chat::ChatState;
use crate::protocol::MAX_NICKNAME_CHARS;

#[component]
pub fn NicknameField() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let commit = move || chat.commit_nickname();
    view! {
        <div class="field nickname">
            <label for="nickname">"Nickname"</label>
            <input
                id="nickname"
                name="nickname"
                type="text"
                autocomplete="nickname"
                maxlength=MAX_NICKNAME_CHARS
                aria-invalid=move || chat.nickname_error.get().is_some().to_string()
                aria-describedby="nickname-error"
                bind:value=chat.nickname
                on:change=move |_| commit()
            />
            <p id="nickname-error" class="field-error" role="alert">{move || chat.nickname_error.get()}</p>
        </div>
    }
}
