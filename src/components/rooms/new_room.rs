//! Create a room: a name and whether it is private. A real form, so it works before hydration; once
//! hydrated the page calls the server function and opens the new room.

use leptos::prelude::*;

use crate::api::create_room;
use crate::dom::go_to;
use crate::protocol::{validate_room_name, MAX_ROOM_NAME_CHARS};

/// The create-room form. Without JavaScript it posts to the server function itself, which answers a
/// browser's form post by redirecting to the new room's page.
#[component]
pub fn NewRoomForm() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let private = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // Create stays disabled while the request is out: a second click would try the same name
    // again and be told `room_name_taken` about the room just made.
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // The shared rule first: a bad name is refused at once, in the server's own words.
        let checked = match validate_room_name(&name.get_untracked()) {
            Ok(checked) => checked,
            Err(refused) => return error.set(Some(refused.message)),
        };
        busy.set(true);
        // The checkbox as a form posts it ("on" or nothing): the server function is the same one
        // the form reaches without JavaScript.
        let private = private.get_untracked().then(|| "on".to_owned());
        leptos::task::spawn_local(async move {
            match create_room(checked, private).await {
                // Still busy: the page is on its way to the new room.
                Ok(room) => go_to(&room.path()),
                Err(refused) => {
                    error.set(Some(refused.to_string()));
                    busy.set(false);
                }
            }
        });
    };
    // The error paragraph describes the field and `aria-invalid` marks it, so a screen reader on
    // the field hears what is wrong with it, not only the alert as it appears.
    view! {
        <form class="new-room" method="post" action="/api/create_room" on:submit=on_submit>
            <label for="new-room-name">"New room"</label>
            <div class="inline">
                <input
                    id="new-room-name"
                    name="name"
                    type="text"
                    placeholder="room-name"
                    maxlength=MAX_ROOM_NAME_CHARS
                    aria-describedby="new-room-error"
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    bind:value=name
                />
                <button type="submit" disabled=move || busy.get()>"Create"</button>
            </div>
            <label class="check">
                <input type="checkbox" name="private" value="on" bind:checked=private/>
                " Private (members invite others)"
            </label>
            <p id="new-room-error" class="field-error" role="alert">{move || error.get()}</p>
        </form>
    }
}
