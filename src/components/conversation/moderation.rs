//! Edit, delete and ban controls on a message line: Edit and Delete for its author and admins, Ban
//! for admins (with a confirmation step, since a ban signs someone out everywhere).

use leptos::prelude::*;

use crate::api::{ban_user, delete_message};
use crate::components::common::confirm::Confirm;
use crate::protocol::{MessageId, Role, UserId};
use crate::state::ChatState;

/// A line's edit, delete and ban buttons. Which ones show is a courtesy only: the server checks
/// every change again (author or admin, member, room not archived) and refuses the rest, so a
/// stale page cannot do more than its user may.
#[component]
pub fn Moderation(id: MessageId, author_id: UserId, nickname: String, editing: RwSignal<bool>) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let confirming_ban = RwSignal::new(false);
    let me = move || chat.me.get();
    let may_delete = move || me().is_some_and(|me| me.id == author_id || me.role == Role::Admin);
    // The author edits while still in the room; the room must still take changes.
    let may_edit = move || {
        chat.room.with(|room| room.as_ref().is_some_and(|room| !room.archived))
            && me().is_some_and(|me| me.id == author_id && chat.joined.get() || me.role == Role::Admin)
    };
    // An admin is not offered to ban themselves: it would sign them out everywhere at once.
    let may_ban = move || me().is_some_and(|me| me.role == Role::Admin && me.id != author_id);
    let report = move |result: Result<(), crate::error::AppError>| {
        if let Err(error) = result {
            chat.alert.set(Some(error.to_string()));
        }
    };
    // Nothing changes here on success: the server's `message_updated` redraws the line, on this
    // screen as on every other, so all of them agree.
    let delete = move |_| leptos::task::spawn_local(async move { report(delete_message(id).await) });
    let ban = move || leptos::task::spawn_local(async move { report(ban_user(author_id).await) });
    // The Edit button takes focus back when this message's editor closes (Cancel, Escape, or a
    // save whose redraw came first), only if focus went nowhere else. When a save's answer comes
    // before its redraw, the mark is spent on the old line and the redraw drops focus: known gap.
    let edit_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = edit_button.get() {
            if chat.edit_returns_to.get_value() == Some(id) && crate::dom::focus_was_lost() {
                chat.edit_returns_to.set_value(None);
                let _ = button.focus();
            }
        }
    });
    let ban_label = format!("Ban {nickname}");
    let confirm_label = format!("Ban {nickname} everywhere?");
    view! {
        <span class="moderation">
            <Show when=move || may_edit() && !editing.get()>
                <button type="button" class="link" node_ref=edit_button on:click=move |_| editing.set(true)>"Edit"</button>
            </Show>
            <Show when=may_delete>
                <button type="button" class="link" on:click=delete>"Delete"</button>
            </Show>
            <Show when=move || may_ban() && !confirming_ban.get()>
                <button type="button" class="link" on:click=move |_| confirming_ban.set(true)>{ban_label.clone()}</button>
            </Show>
            <Confirm question=confirm_label yes="Yes, ban" open=confirming_ban on_yes=ban/>
        </span>
    }
}
