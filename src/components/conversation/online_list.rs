//! Who is online in this room (members who have the chat open; a user with several tabs counts
//! once); people without activity for a while are marked idle. "Message" opens a direct
//! conversation with them.

use leptos::prelude::*;

use crate::api::start_direct;
use crate::components::common::avatar::Avatar;
use crate::dom::go_to;
use crate::protocol::UserId;
use crate::state::ChatState;

/// The members panel's list of who is here now. It is built from two lists the socket keeps
/// current separately (everyone online, and this room's members), so it follows presence and
/// membership frames alike.
#[component]
pub fn OnlineList() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let here = move || chat.online_here();
    let count = move || here().len();
    // Nobody is offered a conversation with themselves (the server refuses one as
    // `invalid_request`), and a visitor has no account to start one with.
    let me = move || chat.me.with(|me| me.as_ref().map(|me| me.id));
    // `start_direct` answers the pair's conversation, starting it only if there is none: pressing
    // Message again (or from the other side) always leads to the same room.
    let message = move |user_id: UserId| {
        leptos::task::spawn_local(async move {
            match start_direct(user_id).await {
                // The conversation is a page of its own, with its own history and socket.
                Ok(room) => go_to(&room.path()),
                Err(error) => chat.alert.set(Some(error.to_string())),
            }
        });
    };
    // Each "Message" button's accessible name carries the person's name: a screen reader listing
    // the page's buttons would otherwise hear "Message" once per row.
    view! {
        <section class="online" aria-labelledby="online-heading">
            <h2 id="online-heading">"Online here " <span class="count">"(" {count} ")"</span></h2>
            <ul aria-label="Online users">
                <For
                    each=here
                    // A row renders once per key: a rename or going idle is a new row.
                    key=|user| (user.user_id, user.nickname.clone(), user.idle)
                    children=move |user| {
                        let user_id = user.user_id;
                        let label = format!("Message {}", user.nickname);
                        view! {
                            <li class:idle=user.idle>
                                <Avatar nickname=user.nickname.clone() user_id=Some(user_id)/>
                                <span class="name">{user.nickname}</span>
                                {user.idle.then(|| view! { <span class="idle-tag">" (idle)"</span> })}
                                <Show when=move || me().is_some_and(|me| me != user_id)>
                                    <button type="button" class="link message-user" aria-label=label.clone() on:click=move |_| message(user_id)>
                                        "Message"
                                    </button>
                                </Show>
                            </li>
                        }
                    }
                />
            </ul>
        </section>
    }
}
