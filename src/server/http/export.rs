//! `GET /api/export?room_id=R&format=json|html`: a room someone can read, as a download they keep.
//! JSON is the messages exactly as the protocol describes them; HTML is one self-contained page
//! (inline styles, no scripts, a CSP that allows nothing else) rendered by the same components as the
//! chat, so message text is only ever escaped text. Both stream page by page, so a room of a million
//! messages costs the server one page of memory, and stop at the newest message when the export
//! began.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};
use leptos::prelude::*;
use serde::Deserialize;

use crate::components::conversation::rich_text::RichText;
use crate::error::AppError;
use crate::protocol::{ChatMessage, ErrorCode, MessageId, RoomId, RoomKind};
use crate::server::http::auth::Authenticated;
use crate::server::store::RoomRecord;
use crate::server::AppState;
use crate::text::time_format::iso_utc;

/// Messages read from the store per chunk of the download.
const EXPORT_PAGE: u32 = 500;

#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    room_id: RoomId,
    format: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Html,
}

pub(crate) async fn export_room(
    State(state): State<AppState>,
    Query(query): Query<ExportQuery>,
    Authenticated { account, .. }: Authenticated,
) -> Result<Response, AppError> {
    let format = match query.format.as_str() {
        "json" => Format::Json,
        "html" => Format::Html,
        _ => return Err(AppError::refused(ErrorCode::InvalidRequest, "format is json or html")),
    };
    let room = crate::server::rooms::readable(&state, Some(&account), query.room_id).await?;
    let end = state.store.last_id().await?;
    tracing::info!(room = room.id.get(), by = %account.nickname, "room exported");
    let exported_at = crate::server::store::now_millis();
    let name = file_stem(&room);
    let (extension, content_type) = match format {
        Format::Json => ("json", "application/json"),
        Format::Html => ("html", "text/html; charset=utf-8"),
    };
    let disposition = format!("attachment; filename=\"natter-{name}-{}.{extension}\"", &iso_utc(exported_at)[..10]);
    // Fused: the compression layer may poll the body once more after its end, and an unfold
    // panics when polled past its end.
    let body = Body::from_stream(futures::StreamExt::fuse(chunks(state, room, format, end, exported_at)));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    // If a browser shows the download instead of saving it: styles inline, nothing else.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A file name part: a named room's name (ASCII by the room name rules), or the room id.
fn file_stem(room: &RoomRecord) -> String {
    match room.kind {
        RoomKind::Direct => format!("conversation-{}", room.id),
        _ => room.name.clone(),
    }
}

enum Step {
    Start,
    After(MessageId),
    Done,
}

/// The download: a head, one chunk per page of messages up to `end`, a tail. A failure mid-way ends
/// the stream with an error, so the client sees a broken download rather than a short one.
fn chunks(
    state: AppState,
    room: RoomRecord,
    format: Format,
    end: MessageId,
    exported_at: i64,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    stream::unfold(Step::Start, move |step| {
        let (state, room) = (state.clone(), room.clone());
        async move {
            let (after, first) = match step {
                Step::Start => {
                    return Some((Ok(Bytes::from(head(&room, format, exported_at))), Step::After(MessageId::NONE)))
                }
                Step::After(after) => (after, after == MessageId::NONE),
                Step::Done => return None,
            };
            let page = match state.store.newer(room.id, after, EXPORT_PAGE).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(%error, room = room.id.get(), "export failed");
                    return Some((Err(std::io::Error::other("export failed")), Step::Done));
                }
            };
            let page: Vec<ChatMessage> = page.into_iter().filter(|message| message.id <= end).collect();
            let last = page.last().map(|message| message.id);
            let mut chunk = match format {
                Format::Json => json_messages(&page, first),
                Format::Html => html_messages(page),
            };
            match last {
                Some(last) if last < end => Some((Ok(Bytes::from(chunk)), Step::After(last))),
                _ => {
                    chunk.push_str(tail(format));
                    Some((Ok(Bytes::from(chunk)), Step::Done))
                }
            }
        }
    })
}

fn head(room: &RoomRecord, format: Format, exported_at: i64) -> String {
    match format {
        Format::Json => {
            let room = serde_json::json!({ "id": room.id, "name": room.name, "kind": room.kind });
            format!(r#"{{"room":{room},"exported_at":{exported_at},"messages":["#)
        }
        Format::Html => {
            let title = match room.kind {
                RoomKind::Direct => "Conversation".to_owned(),
                _ => format!("#{}", room.name),
            };
            let page_title = format!("{title} · Natter export");
            let title_tag = render(move || view! { <title>{page_title}</title> });
            let header = render(move || {
                view! { <header><h1>{title}</h1><p>"Exported from Natter on " {iso_utc(exported_at)}</p></header> }
            });
            format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
                 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <style>{EXPORT_STYLE}</style>{title_tag}</head><body>{header}<ol class=\"messages\">\n"
            )
        }
    }
}

fn tail(format: Format) -> &'static str {
    match format {
        Format::Json => "]}",
        Format::Html => "</ol></body></html>\n",
    }
}

fn json_messages(page: &[ChatMessage], first: bool) -> String {
    let mut chunk = String::new();
    for (index, message) in page.iter().enumerate() {
        if !(first && index == 0) {
            chunk.push(',');
        }
        chunk.push_str(&serde_json::to_string(message).unwrap_or_default());
    }
    chunk
}

fn html_messages(page: Vec<ChatMessage>) -> String {
    page.into_iter().map(|message| render(move || view! { <ExportedMessage message/> }) + "\n").collect()
}

/// Renders a view to HTML outside any request (Leptos escapes every text node and attribute). The
/// file is never hydrated, so the hydration markers (`<!>`) go; text cannot contain one, since every
/// `<` in text is escaped.
fn render<V: IntoView + 'static>(build: impl FnOnce() -> V) -> String {
    Owner::new().with(|| build().to_html()).replace("<!>", "")
}

#[component]
fn ExportedMessage(message: ChatMessage) -> impl IntoView {
    let reactions: Vec<String> = message
        .reactions
        .iter()
        .map(|reaction| {
            let names: Vec<&str> = reaction.users.iter().map(|user| user.nickname.as_str()).collect();
            format!("{} {} ({})", reaction.emoji, reaction.users.len(), names.join(", "))
        })
        .collect();
    let body = if message.deleted {
        view! { <p class="deleted">"Message deleted"</p> }.into_any()
    } else {
        view! { <div class="body"><RichText body=message.body.clone() me=None/></div> }.into_any()
    };
    view! {
        <li id=format!("m{}", message.id)>
            <p class="meta">
                <strong>{message.nickname.clone()}</strong>
                " "
                <time datetime=iso_utc(message.sent_at)>{iso_utc(message.sent_at)}</time>
                {message.edited_at.map(|_| " (edited)")}
            </p>
            {body}
            {(!reactions.is_empty()).then(|| view! { <p class="reactions">{reactions.join(" · ")}</p> })}
        </li>
    }
}

const EXPORT_STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;\
color:#1a1d23}h1{margin:0}header p{color:#4b5563;margin:.2rem 0 1.5rem}ol{list-style:none;padding:0}\
li{padding:.4rem 0;border-bottom:1px solid #e5e7eb}.meta{margin:0;color:#4b5563;font-size:.85rem}\
.meta strong{color:#1a1d23}.body{white-space:pre-wrap;overflow-wrap:anywhere}.para{display:block}\
code{background:#f1f3f5;border-radius:4px;padding:0 .2rem}pre{background:#f1f3f5;padding:.5rem;overflow:auto}\
.deleted{font-style:italic;color:#6b7280;margin:0}.reactions{font-size:.85rem;color:#4b5563;margin:.2rem 0 0}\
.mention{font-weight:600}";
