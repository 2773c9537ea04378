//! One line of the conversation. Text is always inserted as text nodes, never as HTML; the body's
//! formatting comes from typed spans (`RichText`).

use leptos::prelude::*;

use crate::chat::ChatState;
use crate::components::local_time::LocalTime;
use crate::components::moderation::Moderation;
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
    let time = line.sent_at.map(|millis| view! { <LocalTime millis/> });
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
    // Stored, live messages can be moderated; announcements only deleted (their author is Natter).
    let moderation = match (line.id, line.author_id, line.deleted) {
        (Some(id), Some(author_id), false) if line.status == LineStatus::Stored => {
            Some(view! { <Moderation id author_id nickname=line.nickname.clone()/> })
        }
        _ => None,
    };
    let body = if line.deleted {
        view! { <p class="body deleted">"Message deleted"</p> }.into_any()
    } else {
        // Read once: the same on the server and at hydration, so the markup matches.
        let me = chat.me.get_untracked().map(|account| account.nickname);
        view! { <div class="body"><RichText body=line.body me/></div> }.into_any()
    };
    view! {
        <li class=class data-id=line.id>
            <div class="meta">
                <span class="nick">{line.nickname}</span>
                {(line.kind == MessageKind::Announcement).then(|| view! { <span class="tag">"Announcement"</span> })}
                {time}
                {state}
                {moderation}
            </div>
            {body}
        </li>
    }
}
