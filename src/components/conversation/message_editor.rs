//! Editing a message in place: its text in a textarea, saved with Enter (Shift+Enter for a new line)
//! or the Save button, abandoned with Escape or Cancel. The server's answer replaces the line.

use leptos::html::Textarea;
use leptos::prelude::*;

use crate::api::edit_message;
use crate::protocol::MessageId;

/// The editor that takes a line's body's place while `editing` is set, starting from the body the
/// line was drawn with. Any update of the message meanwhile (an edit elsewhere, a reaction) gives
/// it a new revision, which is part of the list's key: the line is drawn afresh, and this editor
/// closes with it.
#[component]
pub fn MessageEditor(id: MessageId, body: String, editing: RwSignal<bool>) -> impl IntoView {
    let draft = RwSignal::new(body);
    // A refusal shows beside the buttons as an alert: the draft stays open, and the writer hears
    // why it was not saved.
    let error = RwSignal::new(None::<String>);
    let field = NodeRef::<Textarea>::new();
    // Into the editor as it opens, so Edit and then typing works from the keyboard alone.
    Effect::new(move |_| {
        if let Some(field) = field.get() {
            let _ = field.focus();
        }
    });
    // A server function, not a socket frame: the answer (a refusal such as an empty or too long
    // body) belongs to this editor, while the change itself reaches every screen as
    // `message_updated`.
    let save = move || {
        let body = draft.get_untracked();
        leptos::task::spawn_local(async move {
            match edit_message(id, body).await {
                // The line shows the edit when the server's update arrives, as on every screen; a
                // refused edit keeps the draft open to fix.
                Ok(()) => editing.set(false),
                Err(refused) => error.set(Some(refused.to_string())),
            }
        });
    };
    // The composer's keys, so editing feels like writing: Enter saves, Shift+Enter is a new line.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" if !ev.shift_key() => {
            ev.prevent_default();
            save();
        }
        "Escape" => editing.set(false),
        _ => {}
    };
    view! {
        <div class="editor">
            <textarea
                node_ref=field
                aria-label="Edit message"
                rows="2"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=on_keydown
            ></textarea>
            <div class="editor-actions">
                <button type="button" on:click=move |_| save()>"Save"</button>
                <button type="button" class="link" on:click=move |_| editing.set(false)>"Cancel"</button>
                {move || error.get().map(|message| view! { <span class="state" role="alert">{message}</span> })}
            </div>
        </div>
    }
}
