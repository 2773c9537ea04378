//! An inline "are you sure?" for actions that affect other people (a ban, archiving a room): the
//! question, a danger button and Cancel, shown while `open` is set.

use leptos::prelude::*;

/// Inline, not a dialog: the question appears where the action was (in a menu or on a line), so
/// the user's place is kept, and Cancel is one Tab away. The group is named by the question, so a
/// screen reader reaching the buttons hears what "Yes" answers.
#[component]
pub fn Confirm(
    question: String,
    yes: &'static str,
    open: RwSignal<bool>,
    #[prop(into)] on_yes: Callback<()>,
) -> impl IntoView {
    view! {
        <Show when=move || open.get()>
            <span role="group" aria-label=question.clone()>
                {question.clone()}
                " "
                <button
                    type="button"
                    class="link danger"
                    on:click=move |_| {
                        open.set(false);
                        on_yes.run(());
                    }
                >
                    {yes}
                </button>
                " "
                <button type="button" class="link" on:click=move |_| open.set(false)>"Cancel"</button>
            </span>
        </Show>
    }
}
