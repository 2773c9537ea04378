//! The user's rooms and direct conversations with unread counts, a form for a new room, and the
//! public rooms to browse. Links are ordinary page loads (`rel="external"`): each page has its own
//! socket, resumed from where the last one stopped.

use leptos::prelude::*;

use crate::chat::ChatState;
use crate::components::new_room::NewRoomForm;
use crate::protocol::{Room, RoomKind};

#[component]
pub fn Sidebar() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let here = move || chat.room.with(|room| room.as_ref().map(|room| room.id));
    let listed = move |direct: bool| {
        chat.rooms.with(|rooms| {
            rooms
                .iter()
                .filter(|room| (room.kind == RoomKind::Direct) == direct && !room.archived)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let browsable = move || {
        let mine: Vec<i64> = chat.rooms.with(|rooms| rooms.iter().map(|room| room.id).collect());
        chat.directory
            .with(|directory| directory.iter().filter(|room| !mine.contains(&room.id)).cloned().collect::<Vec<_>>())
    };
    let signed_in = move || chat.me.with(Option::is_some);
    view! {
        <nav class="sidebar" aria-label="Rooms and conversations">
            <h2 id="rooms-heading">"Rooms"</h2>
            <ul class="room-list" aria-labelledby="rooms-heading">
                <For
                    each=move || listed(false)
                    key=|room: &Room| (room.id, room.name.clone(), room.unread, room.mentions, room.kind)
                    children=move |room| view! { <li>{room_link(room, here)}</li> }
                />
            </ul>
            <Show when=signed_in>
                <NewRoomForm/>
            </Show>
            // Opening the list asks again, so rooms created since the page loaded are there.
            <details class="browse" on:toggle=move |_| refresh_directory(chat)>
                <summary>"Browse public rooms"</summary>
                <ul aria-label="Public rooms">
                    <For
                        each=browsable
                        key=|room| room.id
                        children=|room| {
                            let members = if room.members == 1 { "1 member".to_owned() } else { format!("{} members", room.members) };
                            view! {
                                <li>
                                    <a href=format!("/r/{}", room.name) rel="external">{format!("#{}", room.name)}</a>
                                    " " <span class="muted">{members}</span>
                                </li>
                            }
                        }
                    />
                </ul>
            </details>
            <Show when=signed_in>
                <h2 id="direct-heading">"Direct messages"</h2>
                <ul class="room-list" aria-labelledby="direct-heading">
                    <For
                        each=move || listed(true)
                        key=|room: &Room| (room.id, room.name.clone(), room.unread, room.mentions)
                        children=move |room| view! { <li>{room_link(room, here)}</li> }
                    />
                </ul>
            </Show>
        </nav>
    }
}

/// Reads the public rooms anew; on failure the list keeps what it had.
fn refresh_directory(chat: ChatState) {
    leptos::task::spawn_local(async move {
        if let Ok(rooms) = crate::api::get_public_rooms().await {
            chat.directory.set(rooms);
        }
    });
}

/// One room in the list: its name, a lock when private, its unread count and how many of those
/// mention you.
fn room_link(room: Room, here: impl Fn() -> Option<i64> + Copy + Send + Sync + 'static) -> impl IntoView {
    let id = room.id;
    let label = match room.kind {
        RoomKind::Direct => room.name.clone(),
        _ => format!("#{}", room.name),
    };
    let unread = (room.unread > 0).then(|| {
        let count = if room.unread >= crate::protocol::MAX_UNREAD {
            format!("{}+", room.unread)
        } else {
            room.unread.to_string()
        };
        view! { <span class="unread" aria-label=format!("{} unread", room.unread)>{count}</span> }
    });
    let mentions = (room.mentions > 0).then(|| {
        let label = if room.mentions == 1 { "1 mention".to_owned() } else { format!("{} mentions", room.mentions) };
        view! { <span class="mentions" aria-label=label title="Mentions of you">"@" {room.mentions}</span> }
    });
    view! {
        <a
            href=room.path()
            rel="external"
            class="room-link"
            aria-current=move || (here() == Some(id)).then_some("page")
        >
            <span class="room-name">{label}</span>
            {(room.kind == RoomKind::Private).then(|| view! { <span class="private-tag">" (private)"</span> })}
            {mentions}
            {unread}
        </a>
    }
}
