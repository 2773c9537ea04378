//! The conversation's compact header: the room's name, kind and size, the connection, the members
//! panel's button, and a menu of what the user can do with the room: leave, choose its
//! notifications, export it, invite someone, and (admins) archive. Archived rooms say so.

use leptos::prelude::*;

use crate::api::{archive_room, invite, leave_room, set_notify};
use crate::components::common::confirm::Confirm;
use crate::components::common::connection_status::ConnectionStatus;
use crate::components::common::menu::Menu;
use crate::components::common::panels::{DrawerButton, MembersButton};
use crate::dom::go_to;
use crate::error::AppError;
use crate::protocol::{NotifyLevel, Role, Room, RoomId, RoomKind, GENERAL_ROOM_ID};
use crate::state::ChatState;

/// The conversation's header. The room actions are server functions, not socket frames: each
/// answers its caller with a refusal to show here, while what it changes reaches every page (this
/// one too) as a frame; only the notification level, the user's own setting, has none.
#[component]
pub fn RoomHeader() -> impl IntoView {
    let chat = expect_context::<ChatState>();
    // Answers to the menu's actions are shown in the header, not the composer's alert: a reader
    // who has not joined the room has no composer.
    let notice = RwSignal::new(None::<String>);
    // Only refusals need words: a success shows itself as the frames arrive.
    let report = move |result: Result<(), AppError>| {
        if let Err(error) = result {
            notice.set(Some(error.to_string()));
        }
    };
    let room = move || chat.room.get();
    let kind = move || room().map(|room| room.kind);
    let signed_in = move || chat.me.with(Option::is_some);
    // Decides only what is offered: the server checks the role again.
    let is_admin = move || chat.me.with(|me| me.as_ref().is_some_and(|me| me.role == Role::Admin));
    // General is everyone's and a direct conversation is its two people's: neither is left,
    // invited to or archived.
    let manageable = move || room().is_some_and(|room| room.id != GENERAL_ROOM_ID && room.kind != RoomKind::Direct);
    let title = move || chat.place_name();
    // No room yet means a direct page whose conversation has not started: still direct messages.
    let kind_label = move || match kind() {
        Some(RoomKind::Public) => "Public room",
        Some(RoomKind::Private) => "Private room",
        _ => "Direct messages",
    };
    // Everyone is in general, including people who signed up after this page loaded.
    let member_count = move || match chat.members.with(Vec::len) {
        _ if chat.room_id() == Some(GENERAL_ROOM_ID) => "everyone".to_owned(),
        1 => "1 member".to_owned(),
        n => format!("{n} members"),
    };

    let leave = move |_| {
        let Some(room_id) = chat.room_id() else { return };
        leptos::task::spawn_local(async move {
            match leave_room(room_id).await {
                // This page was the room's (its state, its socket): a fresh load of general starts
                // from the server's view of what the user is in now.
                Ok(()) => go_to("/"),
                Err(error) => notice.set(Some(error.to_string())),
            }
        });
    };
    let confirming_archive = RwSignal::new(false);
    // Nothing changes here on success: `room_archived` marks the room on every page, this one too.
    let archive = move || {
        let Some(room_id) = chat.room_id() else { return };
        leptos::task::spawn_local(async move { report(archive_room(room_id).await) });
    };
    let invitee = RwSignal::new(String::new());
    let on_invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(room_id), nickname) = (chat.room_id(), invitee.get_untracked()) else { return };
        leptos::task::spawn_local(async move {
            match invite(room_id, nickname).await {
                // The member list learns of them from `member_joined`, like every other page.
                // The field is emptied for the next invitation; a refusal keeps it, to fix a typo.
                Ok(member) => {
                    notice.set(Some(format!("{} was added to the room.", member.nickname)));
                    invitee.set(String::new());
                }
                Err(error) => notice.set(Some(error.to_string())),
            }
        });
    };

    let set_level = move |value: String| {
        // Anything unexpected is the default outside conversations, mentions, as `notify_value`
        // reads it back.
        let level = match value.as_str() {
            "all" => NotifyLevel::All,
            "nothing" => NotifyLevel::Nothing,
            _ => NotifyLevel::Mentions,
        };
        let Some(room_id) = chat.room_id() else { return };
        leptos::task::spawn_local(async move {
            match set_notify(room_id, level).await {
                // The level is this user's own setting and no frame tells of it, so the page keeps
                // both copies itself: `room` for this select, `rooms` for the notifications the
                // socket's messages raise.
                Ok(()) => {
                    let choose = |room: &mut Room| {
                        if room.id == room_id {
                            room.notify = Some(level);
                        }
                    };
                    chat.room.update(|room| room.iter_mut().for_each(choose));
                    chat.rooms.update(|rooms| rooms.iter_mut().for_each(choose));
                }
                Err(error) => chat.alert.set(Some(error.to_string())),
            }
        });
    };
    let export_link = move |format: &str| {
        // 0 only while there is no room, and then the menu holding these links is not shown.
        let room_id = chat.room.with(|room| room.as_ref().map_or(RoomId::default(), |room| room.id));
        format!("/api/export?room_id={room_id}&format={format}")
    };
    let online = Signal::derive(move || chat.online_here().len());
    view! {
        <header class="room-header">
            <DrawerButton/>
            <div class="room-title">
                <h1 id="room-heading">{title}</h1>
                <span class="room-sub">{kind_label} " · " {member_count}</span>
            </div>
            <div class="room-tools">
                <ConnectionStatus/>
                <MembersButton online/>
                <Show when=move || signed_in() && room().is_some()>
                    <Menu class="room-menu" button=|| view! {
                        <span aria-hidden="true">"⋯"</span>
                        <span class="visually-hidden">"Room options"</span>
                    }>
                        <Show when=move || chat.joined.get() && manageable()>
                            <button type="button" class="menu-item" on:click=leave>"Leave room"</button>
                        </Show>
                        <Show when=move || chat.joined.get()>
                            <label class="menu-field notify-level">
                                "Notify me of"
                                <select
                                    aria-label="Notifications from this room"
                                    prop:value=move || notify_value(room().map(|room| room.notify_level()))
                                    on:change=move |ev| set_level(event_target_value(&ev))
                                >
                                    // `selected` as well as the property: the server's HTML shows the level
                                    // itself, so nothing changes when the page hydrates.
                                    {[("all", "All messages"), ("mentions", "Mentions"), ("nothing", "Nothing")]
                                        .into_iter()
                                        .map(|(value, label)| {
                                            let selected = move || notify_value(room().map(|room| room.notify_level())) == value;
                                            view! { <option value=value selected=selected>{label}</option> }
                                        })
                                        .collect_view()}
                                </select>
                            </label>
                        </Show>
                        // `rel="external"`: the router leaves these to the browser, which downloads.
                        <span class="menu-field export" role="group" aria-label="Export this room">
                            "Export as "
                            <a href=move || export_link("json") download rel="external">"JSON"</a>
                            " · "
                            <a href=move || export_link("html") download rel="external">"HTML"</a>
                        </span>
                        <Show when=move || chat.joined.get() && manageable() && room().is_some_and(|room| !room.archived)>
                            <form class="invite" on:submit=on_invite>
                                <label for="invitee">"Invite"</label>
                                <div class="inline">
                                    <input id="invitee" type="text" placeholder="nickname" bind:value=invitee autocomplete="off"/>
                                    <button type="submit">"Add to room"</button>
                                </div>
                            </form>
                        </Show>
                        <Show when=move || is_admin() && manageable() && room().is_some_and(|room| !room.archived)>
                            <Show when=move || !confirming_archive.get()>
                                <button type="button" class="menu-item danger" on:click=move |_| confirming_archive.set(true)>
                                    "Archive room"
                                </button>
                            </Show>
                            <Confirm question="Archive for everyone?".to_owned() yes="Yes, archive" open=confirming_archive on_yes=archive/>
                        </Show>
                    </Menu>
                </Show>
            </div>
            <Show when=move || room().is_some_and(|room| room.archived)>
                <p class="archived-note">"This room is archived: its history stays, and it takes no new messages."</p>
            </Show>
            <p class="room-notice" aria-live="polite">{move || notice.get()}</p>
        </header>
    }
}

/// The select's value for a level; `None` only while there is no room, when the select is hidden.
fn notify_value(level: Option<NotifyLevel>) -> &'static str {
    match level {
        Some(NotifyLevel::All) => "all",
        Some(NotifyLevel::Nothing) => "nothing",
        _ => "mentions",
    }
}
