//! One line of the conversation. Text is always inserted as text nodes, never as HTML; the body's
//! formatting comes from typed spans (`RichText`).

use leptos::prelude::*;

use crate::components::common::avatar::Avatar;
use crate::components::common::local_time::LocalTime;
use crate::components::conversation::attachment::AttachmentView;
use crate::components::conversation::message_editor::MessageEditor;
use crate::components::conversation::moderation::Moderation;
use crate::components::conversation::reactions::{ReactButton, Reactions};
use crate::components::conversation::rich_text::RichText;
use crate::protocol::MessageKind;
use crate::state::timeline::{Line, LineStatus};
use crate::state::ChatState;

/// One line of the list, drawn once from its `Line`: the list's key changes whenever something
/// drawn here does, so nothing below needs to follow the timeline.
#[component]
pub fn MessageLine(
    line: Line,
    /// The line continues a run by the same author: no name and avatar again, its time beside it.
    #[prop(optional)]
    continued: bool,
) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let class = match &line.status {
        LineStatus::Stored if line.kind == MessageKind::Announcement => "message announcement",
        LineStatus::Stored => "message",
        LineStatus::Pending => "message pending",
        LineStatus::Failed(_) => "message failed",
        LineStatus::Notice => "message notice",
    };
    // A stored message's time links to it: the permalink opens the room at this message, as a page
    // load of its own (the page then holds the stretch of history around it).
    // Untracked: a room's path never changes (names are fixed, and a conversation's path is the
    // other person's id, which survives their renames).
    let permalink = line
        .id
        .and_then(|id| chat.room.with_untracked(|room| room.as_ref().map(|room| format!("{}/m/{id}", room.path()))));
    let link = permalink.clone();
    let time = line.sent_at.map(|millis| match permalink {
        Some(href) => view! {
            <a class="permalink" href=href rel="external" title="Link to this message"><LocalTime millis/></a>
        }
        .into_any(),
        None => view! { <LocalTime millis/> }.into_any(),
    });
    // The permalink's message is marked from a stored value, the same in the server's HTML and at
    // hydration.
    let focused = line.id.is_some() && line.id == chat.focus.get_value();
    // The server's notices and the admins' announcements speak for Natter: its mark, not a
    // person's avatar.
    let system = line.author_id.is_none() || line.kind == MessageKind::Announcement;
    let class = [
        Some(class),
        focused.then_some("focus"),
        continued.then_some("continued"),
        (line.author_id.is_none()).then_some("system"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    // In words, not only a style: whoever does not see the dimming still learns the line is
    // not stored yet.
    let state = match line.status.clone() {
        LineStatus::Pending => Some(view! { <span class="state">"Sending…"</span> }.into_any()),
        LineStatus::Failed(reason) => {
            // Retry and Discard name the message by its `client_msg_id`: a refused message has no
            // server id, and a retry must resend under the same one so the server can recognise
            // a copy it already stored.
            let client_msg_id = line.client_msg_id.clone().unwrap_or_default();
            let retry_id = client_msg_id.clone();
            Some(
                view! {
                    // An alert: the writer believes the message went, so a screen reader says at once
                    // that it did not.
                    <span class="state" role="alert">"Not sent: " {reason}</span>
                    <button type="button" class="link" on:click=move |_| chat.retry(retry_id.clone())>"Retry"</button>
                    <button type="button" class="link" on:click=move |_| chat.discard(&client_msg_id)>"Discard"</button>
                }
                .into_any(),
            )
        }
        LineStatus::Stored | LineStatus::Notice => None,
    };
    // Stored, live messages can be edited, reacted to and moderated; a pending, failed or deleted
    // line has nothing on the server to act on (yet, or any more).
    let live = match (line.id, line.author_id, line.deleted) {
        (Some(id), Some(author_id), false) if line.status == LineStatus::Stored => Some((id, author_id)),
        _ => None,
    };
    // Shared by the Edit button (in `Moderation`) and the editor's Save and Cancel, which sit in
    // different parts of the line. A line drawn afresh while its message was being edited (a
    // reaction arrived) opens with the editor and its draft.
    let editing = RwSignal::new(live.is_some_and(|(id, _)| chat.edit_draft_of(id).is_some()));
    let moderation =
        live.map(|(id, author_id)| view! { <Moderation id author_id nickname=line.nickname.clone() editing/> });
    // The React button lives in the toolbar and the picker under the body: one signal joins them.
    let picking = RwSignal::new(false);
    let react_button = live.map(|_| view! { <ReactButton picking/> });
    let copy_link = live.and(link).map(|link| view! { <CopyLink path=link/> });
    let reactions = live.map(|(id, _)| view! { <Reactions id reactions=line.reactions.clone() picking/> });
    // Deleting a message deletes its file on the server too: no link to bytes that are gone.
    let attachment = line.file.clone().filter(|_| !line.deleted).map(|file| view! { <AttachmentView file/> });
    let edited = (line.edited && !line.deleted).then(|| view! { <span class="edited">"(edited)"</span> });
    let body = if line.deleted {
        view! { <p class="body deleted">"Message deleted"</p> }.into_any()
    } else {
        // Read once: the same on the server and at hydration, so the markup matches.
        let me = chat.me.get_untracked().map(|account| account.nickname);
        let text = line.body.clone();
        // A closure, because `Show` draws its fallback afresh each time editing ends.
        let shown = move || view! { <div class="body"><RichText body=text.clone() me=me.clone()/></div> };
        match live {
            Some((id, _)) => {
                let body = line.body.clone();
                view! {
                    <Show when=move || editing.get() fallback=shown>
                        <MessageEditor id body=body.clone() editing/>
                    </Show>
                }
                .into_any()
            }
            None => shown().into_any(),
        }
    };
    let nickname = line.nickname.clone();
    let (gutter, meta) = if continued {
        (
            view! { <span class="gutter-time">{time}</span> }.into_any(),
            // Read out, not shown: each line still says who wrote it.
            view! { <div class="meta visually-hidden"><span class="nick">{nickname}</span></div> }.into_any(),
        )
    } else {
        let avatar = if system {
            view! { <span class="avatar server" aria-hidden="true">"!"</span> }.into_any()
        } else {
            view! { <Avatar nickname=line.nickname.clone() user_id=line.author_id/> }.into_any()
        };
        // Announcements say so in words as well as style: the protocol asks clients to show them
        // apart from what people say.
        let tag = (line.kind == MessageKind::Announcement).then(|| view! { <span class="tag">"Announcement"</span> });
        (avatar, view! { <div class="meta"><span class="nick">{nickname}</span>{tag}{time}</div> }.into_any())
    };
    // No toolbar for a line with nothing to act on: an empty `role="group"` is still announced.
    let has_actions = react_button.is_some() || moderation.is_some();
    // `data-id` is how a permalink finds its line (`scroll_to_message`).
    view! {
        <li class=class data-id=line.id.map(|id| id.to_string())>
            {gutter}
            <div class="content">
                {meta}
                {body}
                {(edited.is_some() || state.is_some()).then(|| view! { <div class="line-state">{edited}{state}</div> })}
                {attachment}
                {reactions}
            </div>
            {has_actions.then(|| view! {
                <div class="actions" role="group" aria-label="Message actions">
                    {react_button}
                    {copy_link}
                    {moderation}
                </div>
            })}
        </li>
    }
}

/// Copies a message's permalink, and says so for a moment. The button's own text is the
/// confirmation, where the user's eyes and focus already are.
#[component]
fn CopyLink(path: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    // The permalink is a path; pasted anywhere else it needs the site's address in front.
    let copy = move |_| {
        let origin = window().location().origin().unwrap_or_default();
        crate::dom::copy_text(&format!("{origin}{path}"));
        copied.set(true);
        set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
    };
    view! {
        <button type="button" class="link" on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy link" }}
        </button>
    }
}
