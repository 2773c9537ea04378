//! What stands where the composer would be when this person cannot write here yet: a visitor picks
//! a nickname (or signs in); a signed-in reader of a public room joins it; on a direct page, the
//! conversation starts.

use leptos::prelude::*;

use crate::api::{join_room, start_direct};
use crate::components::conversation::composer::MESSAGE_FIELD;
use crate::components::{account::nickname::NicknameField, account::sign_in::SignInForm};
use crate::protocol::RoomKind;
use crate::state::ChatState;

/// The dock's way in, for whoever cannot write here yet. The server renders the same choice the
/// page hydrates with (it knows the session), so a reader never sees a join form flash and go.
#[component]
pub fn JoinBar() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let signed_in = move || chat.me.with(Option::is_some);
    let room = move || chat.room.get();
    let title = move || chat.place_name();
    // A signed-in reader who may join by themselves: private rooms take invitations only, and an
    // archived room takes nobody new.
    let reading = move || {
        signed_in() && !chat.joined.get() && room().is_some_and(|room| room.kind == RoomKind::Public && !room.archived)
    };
    let joined = move |result: Result<crate::protocol::Room, crate::error::AppError>| match result {
        // Applied at once, not left to the socket's room_joined (which also comes, and changes
        // nothing more): the composer appears under the reader's click, and is focused on the next
        // frame, once it is there.
        Ok(room) => {
            chat.room_joined(room);
            request_animation_frame(|| crate::dom::focus(MESSAGE_FIELD));
        }
        Err(error) => chat.alert.set(Some(error.to_string())),
    };
    let join = move |_| {
        let Some(room_id) = chat.room_id() else { return };
        leptos::task::spawn_local(async move { joined(join_room(room_id).await) });
    };
    // A `/dm/USER_ID` page for someone with no conversation yet: the room is made by this click,
    // not by merely opening the address.
    let start = move |_| {
        let Some(peer) = chat.peer.with_value(|peer| peer.as_ref().map(|peer| peer.user_id)) else { return };
        leptos::task::spawn_local(async move { joined(start_direct(peer).await) });
    };
    view! {
        // A banned user is told so by the composer's alert; joining again is not offered.
        <Show when=move || !signed_in() && !chat.banned.get()>
            <div class="join-bar visitor">
                <NicknameField/>
                <SignInForm/>
            </div>
        </Show>
        <Show when=reading>
            <div class="join-bar">
                <p>"You are reading " {title} "."</p>
                <button type="button" class="join-room primary" on:click=join>{move || format!("Join {}", title())}</button>
            </div>
        </Show>
        <Show when=move || signed_in() && room().is_none()>
            <div class="join-bar">
                <button type="button" class="start-direct primary" on:click=start>
                    {move || format!("Start a conversation with {}", title())}
                </button>
            </div>
        </Show>
    }
}
