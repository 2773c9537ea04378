//! One line of the conversation. Text is always inserted as text nodes, never as HTML; the body's
//! formatting comes from typed spans (`RichText`).

use leptos::prelude::*;

use crate::chat::ChatState;
use crate::components::attachment::AttachmentView;
use crate::components::local_time::LocalTime;
use crate::components::message_editor::MessageEditor;
use crate::components::moderation::Moderation;
use crate::components::reactions::{ReactButton, Reactions};
use crate::components::rich_text::RichText;
use crate::protocol::MessageKind;
use crate::timeline::{Line, LineStatus};

#[component]
pub fn MessageLine(line: Line) -> impl IntoView {
    let chat = expect_context::<ChatState>();
    let class = match &line.status {
        LineStatus::Stored if line.kind == MessageKind::Announcement => "message announcement",
        LineStatus::Stored => "message",
        LineStatus::Pending => "message pending",
        LineStatus::Failed(_) => "message failed",
        LineStatus::Notice => "message notice",
    };
    // A stored message's time links to it: the permalink opens the room at this message.
    let permalink = line
        .id
        .and_then(|id| chat.room.with_untracked(|room| room.as_ref().map(|room| format!("{}/m/{id}", room.path()))));
    let time = line.sent_at.map(|millis| match permalink {
        Some(href) => view! {
            <a class="permalink" href=href rel="external" title="Link to this message"><LocalTime millis/></a>
        }
        .into_any(),
        None => view! { <LocalTime millis/> }.into_any(),
    });
    let focused = line.id.is_some() && line.id == chat.focus.get_value();
    let class = if focused { format!("{class} focus") } else { class.to_owned() };
    let state = match line.status.clone() {
        LineStatus::Pending => Some(view! { <span class="state">"Sending…"</span> }.into_any()),
        LineStatus::Failed(reason) => {
            let client_msg_id = line.client_msg_id.clone().unwrap_or_default();
            let retry_id = client_msg_id.clone();
            Some(
                view! {
                    <span class="state" role="alert">"Not sent: " {reason}</span>
                    <button type="button" class="link" on:click=move |_| chat.retry(retry_id.clone())>"Retry"</button>
                    <button type="button" class="link" on:click=move |_| chat.discard(&client_msg_id)>"Discard"</button>
                }
                .into_any(),
            )
        }
        LineStatus::Stored | LineStatus::Notice => None,
    };
    let editing = RwSignal::new(false);
    // Stored, live messages can be edited, reacted to and moderated.
    let live = match (line.id, line.author_id, line.deleted) {
        (Some(id), Some(author_id), false) if line.status == LineStatus::Stored => Some((id, author_id)),
        _ => None,
    };
    let moderation =
        live.map(|(id, author_id)| view! { <Moderation id author_id nickname=line.nickname.clone() editing/> });
    let picking = RwSignal::new(false);
    let react_button = live.map(|_| view! { <ReactButton picking/> });
    let reactions = live.map(|(id, _)| view! { <Reactions id reactions=line.reactions.clone() picking/> });
    let attachment = line.file.clone().filter(|_| !line.deleted).map(|file| view! { <AttachmentView file/> });
    let edited = (line.edited && !line.deleted).then(|| view! { <span class="edited">"(edited)"</span> });
    let body = if line.deleted {
        view! { <p class="body deleted">"Message deleted"</p> }.into_any()
    } else {
        // Read once: the same on the server and at hydration, so the markup matches.
        let me = chat.me.get_untracked().map(|account| account.nickname);
        let text = line.body.clone();
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
    view! {
        <li class=class data-id=line.id>
            <div class="meta">
                <span class="nick">{line.nickname}</span>
                {(line.kind == MessageKind::Announcement).then(|| view! { <span class="tag">"Announcement"</span> })}
                {time}
                {edited}
                {state}
                {react_button}
                {moderation}
            </div>
            {body}
            {attachment}
            {reactions}
        </li>
    }
}
