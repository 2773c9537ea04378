//! Sending files: the Attach button (a file input, inside the composer), and for each file on its
//! way a progress bar, or the reason it was refused with a Dismiss button. Drag-and-drop and paste (in `pages/chat` and the
//! composer) end up here too.

use leptos::prelude::*;

use crate::components::conversation::attachment::human_size;
use crate::state::ChatState;

/// The composer's paper clip: picks files to send to this room.
#[component]
pub fn AttachButton() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // The file input sits inside the label, visually hidden but not `display: none`: clicking the
    // icon opens the browser's picker, and the input stays in the tab order and named for screen
    // readers. Shown only to someone who may post here, as the upload would be refused otherwise.
    // The input is emptied after each pick (in `dom`), so picking the same file again still sends.
    let on_pick = move |ev: leptos::ev::Event| crate::dom::send_picked_files(chat, &ev);
    view! {
        <Show when=move || chat.me.with(Option::is_some) && chat.can_post()>
            <label class="attach icon-button" title="Attach file">
                <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
                    <path d="M16.5 6.5 8.6 14.4a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.6-5.6l-8 8a6 6 0 0 0 8.5 8.5l7-7"/>
                </svg>
                <span class="visually-hidden">"Attach file" <input type="file" multiple on:change=on_pick/></span>
            </label>
        </Show>
    }
}

/// Files on their way, above the composer. A file that arrives becomes a message like any other
/// (through the socket's broadcast) and leaves this list; a refused one stays, with its reason,
/// until dismissed, so the user learns what happened to it.
#[component]
pub fn UploadTray() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // Keyed by progress too: a row is drawn again on each progress event, which is all a
    // `progress` element needs. A refusal is an alert: the upload ran in the background, and a
    // screen reader user would not otherwise learn that the file never went. An empty file has
    // nothing to wait for: its bar shows it done rather than dividing by zero.
    view! {
        <div class="uploads">
            <ul class="upload-list" aria-label="Files being sent">
                <For
                    each=move || chat.uploads.get()
                    key=|upload| (upload.key.clone(), upload.sent, upload.error.clone())
                    children=move |upload| {
                        let key = upload.key.clone();
                        let percent = (upload.sent * 100).checked_div(upload.size).unwrap_or(100).min(100);
                        let label = format!("Sending {}", upload.name);
                        match upload.error {
                            None => view! {
                                <li class="upload">
                                    <span>{upload.name.clone()} " · " {human_size(upload.size as i64)}</span>
                                    <progress max="100" value=percent aria-label=label>{percent} "%"</progress>
                                </li>
                            }
                            .into_any(),
                            Some(reason) => view! {
                                <li class="upload failed">
                                    <span role="alert">{format!("{} was not sent: {reason}", upload.name)}</span>
                                    <button
                                        type="button"
                                        class="link"
                                        on:click=move |_| chat.uploads.update(|uploads| uploads.retain(|u| u.key != key))
                                    >
                                        "Dismiss"
                                    </button>
                                </li>
                            }
                            .into_any(),
                        }
                    }
                />
            </ul>
        </div>
    }
}
