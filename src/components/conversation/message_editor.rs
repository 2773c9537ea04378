//! Editing a message in place: its text in a textarea, saved with Enter (Shift+Enter for a new line)
//! or the Save button, abandoned with Escape or Cancel. The server's answer replaces the line.

use leptos::html::Textarea;
use leptos::prelude::*;

use crate::api::edit_message;
use crate::protocol::MessageId;
use crate::state::ChatState;

/// The editor that takes a line's body's place while `editing` is set, starting from the body the
/// line was drawn with, or from the draft of an edit in progress. Any update of the message
/// meanwhile (an edit elsewhere, a reaction) gives it a new revision, which is part of the list's
/// key: the line is drawn afresh, and its new editor resumes from the draft kept in `ChatState`.
#[component]
pub fn MessageEditor(id: MessageId, body: String, editing: RwSignal<bool>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let resumed = chat.edit_draft_of(id);
    let draft = RwSignal::new(resumed.clone().unwrap_or(body));
    chat.edit_draft.set_value(Some((id, draft.get_untracked())));
    // A refusal shows beside the buttons as an alert: the draft stays open, and the writer hears
    // why it was not saved.
    let error = RwSignal::new(None::<String>);
    let field = NodeRef::<Textarea>::new();
    // Into the editor as it opens, so Edit and then typing works from the keyboard alone. A line
    // redrawn under a writer takes focus back only if the redraw took it away, with the caret at
    // the end of the draft, so typing goes on where it was.
    Effect::new(move |_| {
        if let Some(field) = field.get() {
            if resumed.is_none() || crate::dom::focus_was_lost() {
                let _ = field.focus();
                let end = draft.with_untracked(|text| text.encode_utf16().count()) as u32;
                let _ = field.set_selection_range(end, end);
            }
        }
    });
    // Leaving gives focus back to the line's Edit button (see `Moderation`), where it was
    // before editing: otherwise the textarea vanishes under the keyboard and focus falls to the
    // page itself.
    let close = move || {
        chat.edit_draft.set_value(None);
        chat.edit_returns_to.set_value(Some(id));
        editing.set(false);
    };
    // A server function, not a socket frame: the answer (a refusal such as an empty or too long
    // body) belongs to this editor, while the change itself reaches every screen as
    // `message_updated`.
    // The draft is let go as the edit leaves: the server's `message_updated` may arrive before
    // this answer and redraw the line, which must then show the saved text, not reopen the editor,
    // and give focus to its Edit button.
    let save = move || {
        let body = draft.get_untracked();
        chat.edit_draft.set_value(None);
        chat.edit_returns_to.set_value(Some(id));
        leptos::task::spawn_local(async move {
            match edit_message(id, body.clone()).await {
                // The line shows the edit when the server's update arrives, as on every screen; a
                // refused edit keeps the draft open to fix.
                Ok(()) => close(),
                Err(refused) => {
                    chat.edit_returns_to.set_value(None);
                    chat.edit_draft.set_value(Some((id, body)));
                    error.set(Some(refused.to_string()));
                }
            }
        });
    };
    // The composer's keys, so editing feels like writing: Enter saves, Shift+Enter is a new line.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" if !ev.shift_key() && !ev.is_composing() => {
            ev.prevent_default();
            save();
        }
        "Escape" => close(),
        _ => {}
    };
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        chat.edit_draft.set_value(Some((id, text.clone())));
        draft.set(text);
    };
    view! {
        <div class="editor">
            <textarea
                node_ref=field
                aria-label="Edit message"
                rows="2"
                prop:value=move || draft.get()
                on:input=on_input
                on:keydown=on_keydown
            ></textarea>
            <div class="editor-actions">
                <button type="button" on:click=move |_| save()>"Save"</button>
                <button type="button" class="link" on:click=move |_| close()>"Cancel"</button>
                {move || error.get().map(|message| view! { <span class="state" role="alert">{message}</span> })}
            </div>
        </div>
    }
}
