//! The user's rooms and direct conversations with unread counts, a form for a new room, and the
//! public rooms to browse. Links are ordinary page loads (`rel="external"`): each page has its own
//! socket, resumed from where the last one stopped.

use leptos::html::Nav;
use leptos::prelude::*;

use crate::components::account::user_menu::UserMenu;
use crate::components::common::keyboard::ShortcutsButton;
use crate::components::common::modal::{Modal, ModalLink};
use crate::components::common::panels::{overlay_keys, Panels, SIDEBAR};
use crate::components::rooms::new_room::NewRoomForm;
use crate::components::rooms::search_box::SearchBox;
use crate::protocol::{Room, RoomId, RoomKind};
use crate::state::ChatState;

/// The sidebar: a `<nav>`, so screen reader users can jump to it as a landmark; on a phone the same
/// element is the rooms drawer. A visitor sees the public rooms and Browse, but has no direct
/// conversations and cannot create a room.
#[component]
pub fn Sidebar() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let panels = expect_context::<Panels>();
    // Tracked: on a direct page the room only exists once the conversation starts, and its link
    // then becomes the current page.
    let here = move || chat.room.with(|room| room.as_ref().map(|room| room.id));
    let listed = move |direct: bool| {
        chat.rooms.with(|rooms| {
            rooms
                .iter()
                // Archived rooms take no messages, so they leave the places to talk; their pages
                // still open by address.
                .filter(|room| (room.kind == RoomKind::Direct) == direct && !room.archived)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let signed_in = move || chat.me.with(Option::is_some);
    let creating = RwSignal::new(false);
    let browsing = RwSignal::new(false);
    // Opening the list asks again, so rooms created since the page loaded are there.
    Effect::new(move |_| {
        if browsing.get() {
            refresh_directory(chat);
        }
    });
    let nav = NodeRef::<Nav>::new();
    // As a drawer on a phone: Escape closes it back to the ☰ button, Tab stays inside.
    let on_keydown = overlay_keys(panels, ".drawer-button", move || nav.get_untracked().map(Into::into));
    // The dialogs sit after the `<nav>`, not in it: inside, a closed drawer on a phone would hide
    // them along with itself.
    view! {
        <nav id=SIDEBAR class="sidebar" aria-label="Rooms and conversations" node_ref=nav on:keydown=on_keydown>
            <div class="sidebar-head">
                <a class="brand" href="/" rel="external">"Natter"</a>
                <a
                    id="sidebar-close"
                    role="button"
                    class="icon-button drawer-close"
                    href="#"
                    on:click=move |ev| {
                        ev.prevent_default();
                        panels.drawer.set(false);
                        // Back to the button that opened the drawer, not lost on a hidden element.
                        crate::dom::focus_selector(".drawer-button");
                    }
                >
                    <span aria-hidden="true">"×"</span>
                    <span class="visually-hidden">"Close rooms"</span>
                </a>
            </div>
            <SearchBox/>
            <div class="sidebar-scroll">
                <div class="section-head">
                    <h2 id="rooms-heading">"Rooms"</h2>
                    <Show when=signed_in>
                        <ModalLink target="new-room-dialog" open=creating class="icon-button add-room">
                            <span aria-hidden="true">"+"</span>
                            <span class="visually-hidden">"Create a room"</span>
                        </ModalLink>
                    </Show>
                </div>
                <ul class="room-list" aria-labelledby="rooms-heading">
                    // A row renders once per key, so every field it shows is in the key: a new
                    // unread count is a new row.
                    <For
                        each=move || listed(false)
                        key=|room: &Room| (room.id, room.name.clone(), room.unread, room.mentions, room.kind)
                        children=move |room| view! { <li>{room_link(room, here)}</li> }
                    />
                </ul>
                <ModalLink target="browse-dialog" open=browsing class="browse-link">"Browse rooms"</ModalLink>
                <Show when=signed_in>
                    <div class="section-head">
                        <h2 id="direct-heading">"Direct messages"</h2>
                    </div>
                    <ul class="room-list" aria-labelledby="direct-heading">
                        <For
                            each=move || listed(true)
                            key=|room: &Room| (room.id, room.name.clone(), room.unread, room.mentions)
                            children=move |room| view! { <li>{room_link(room, here)}</li> }
                        />
                    </ul>
                </Show>
            </div>
            <div class="sidebar-foot">
                <UserMenu/>
                <ShortcutsButton/>
            </div>
        </nav>
        <Show when=signed_in>
            <Modal id="new-room-dialog" title="Create a room" open=creating>
                <NewRoomForm/>
            </Modal>
        </Show>
        <Modal id="browse-dialog" title="Browse rooms" open=browsing>
            <BrowseRooms/>
        </Modal>
    }
}

/// The public rooms this user is not in yet, with how many people are in each.
#[component]
fn BrowseRooms() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // Rooms the user is in are in the sidebar already: the directory offers only the others.
    let browsable = move || {
        let mine: Vec<RoomId> = chat.rooms.with(|rooms| rooms.iter().map(|room| room.id).collect());
        chat.directory
            .with(|directory| directory.iter().filter(|room| !mine.contains(&room.id)).cloned().collect::<Vec<_>>())
    };
    view! {
        <ul class="browse-list" aria-label="Public rooms">
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
        <Show when=move || browsable().is_empty()>
            <p class="muted">"You are in every public room. Create one with + beside Rooms."</p>
        </Show>
    }
}

/// Reads the public rooms anew; on failure the list keeps what it had, since a list a little out of
/// date (offline, say) still leads somewhere, where an empty one would say there is nothing.
fn refresh_directory(chat: ChatState) {
    leptos::task::spawn_local(async move {
        if let Ok(rooms) = crate::api::get_public_rooms().await {
            chat.directory.set(rooms);
        }
    });
}

/// One room in the list: its name, a lock when private, its unread count and how many of those
/// mention you.
fn room_link(room: Room, here: impl Fn() -> Option<RoomId> + Copy + Send + Sync + 'static) -> impl IntoView {
    let id = room.id;
    let label = match room.kind {
        RoomKind::Direct => room.name.clone(),
        _ => format!("#{}", room.name),
    };
    // Each badge's bare number is for the eye; a hidden phrase beside it says what it counts, as
    // part of the link's name (an `aria-label` on a plain span is ignored by many screen readers).
    // The server counts unread messages up to `MAX_UNREAD` only, so a count there may be more:
    // "999+", said as "more than 999 unread".
    let unread = (room.unread > 0).then(|| {
        let (count, spoken) = if room.unread >= crate::protocol::MAX_UNREAD {
            (format!("{}+", room.unread), format!(", more than {} unread", room.unread))
        } else {
            (room.unread.to_string(), format!(", {} unread", room.unread))
        };
        view! {
            <span class="unread" aria-hidden="true">{count}</span>
            <span class="visually-hidden">{spoken}</span>
        }
    });
    let mentions = (room.mentions > 0).then(|| {
        let spoken =
            if room.mentions == 1 { ", 1 mention".to_owned() } else { format!(", {} mentions", room.mentions) };
        view! {
            <span class="mentions" aria-hidden="true" title="Mentions of you">"@" {room.mentions}</span>
            <span class="visually-hidden">{spoken}</span>
        }
    });
    // `aria-current="page"` tells a screen reader which of the rooms this page is.
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
