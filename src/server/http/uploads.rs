//! Files over HTTP: `POST /api/upload` takes a file's bytes as the request body and sends it as a
//! message; `GET /files/{id}` serves it to members of its room. A plain request rather than a server
//! function, so the browser can report upload progress and the body streams to disk under the size
//! limit instead of being held in memory. The bytes decide the type (`files::sniff`); the user's file
//! name is only metadata; the file on disk is named by a random id.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::error::AppError;
use crate::protocol::{Attachment, ErrorCode, RoomId, GENERAL_ROOM_ID};
use crate::server::config::Settings;
use crate::server::files::{clean_name, content_disposition, image_size, sniff, Sniffed, HEAD_BYTES};
use crate::server::http::auth::Authenticated;
use crate::server::http::forwarded::ClientAddress;
use crate::server::AppState;

/// Where uploaded files live: `files/` beside the database (for PostgreSQL, in `data/`: the bytes
/// stay on local disk for now, see `StoreLocation::folder`).
pub(crate) fn files_dir(settings: &Settings) -> PathBuf {
    settings.data_folder().join("files")
}

/// Deletes a file's bytes (after its message was deleted). A file already gone is fine.
pub(crate) async fn remove(settings: &Settings, id: &str) {
    if !is_file_id(id) {
        return;
    }
    match tokio::fs::remove_file(files_dir(settings).join(id)).await {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => tracing::error!(%error, id, "cannot delete an uploaded file"),
    }
}

/// Ours are 32 lowercase hex digits; nothing else is ever looked up or joined into a path.
fn is_file_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[derive(Deserialize)]
pub(crate) struct UploadQuery {
    room_id: Option<RoomId>,
    client_msg_id: String,
    /// The user's file name: kept as metadata only.
    name: String,
    caption: Option<String>,
}

/// `POST /api/upload?room_id=R&client_msg_id=C&name=N[&caption=T]` with the file as the body.
/// Answers like a message's ack, with the stored file.
pub(crate) async fn upload(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Query(query): Query<UploadQuery>,
    body: Body,
) -> Result<Response, AppError> {
    let account = crate::server::http::bot_api::sender(&state, address, &headers).await?;
    crate::protocol::validate_client_msg_id(&query.client_msg_id)?;
    let max = state.settings.limits.max_upload_bytes;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max) {
        return Err(too_large(max));
    }
    let received = receive(&state.settings, body, max).await?;
    let attachment = Attachment {
        id: received.id.clone(),
        name: clean_name(&query.name),
        content_type: received.content_type.to_owned(),
        size: received.size as i64,
        width: received.dimensions.map(|(width, _)| width),
        height: received.dimensions.map(|(_, height)| height),
    };
    let room_id = query.room_id.unwrap_or(GENERAL_ROOM_ID);
    let caption = query.caption.unwrap_or_default();
    match crate::server::messages::post_file(&state, &account, room_id, &query.client_msg_id, &caption, attachment)
        .await
    {
        Ok(stored) => {
            // A resend: the original message keeps its own file, and this copy goes.
            if stored.file.as_ref().is_none_or(|file| file.id != received.id) {
                remove(&state.settings, &received.id).await;
            }
            tracing::info!(id = stored.id.get(), size = received.size, by = %account.nickname, "file sent");
            let ack = json!({ "client_msg_id": stored.client_msg_id, "id": stored.id, "sent_at": stored.sent_at, "file": stored.file });
            Ok(Json(ack).into_response())
        }
        Err(refused) => {
            remove(&state.settings, &received.id).await;
            Err(refused)
        }
    }
}

fn too_large(max: u64) -> AppError {
    let megabytes = max as f64 / (1024.0 * 1024.0);
    AppError::refused(ErrorCode::FileTooLarge, format!("Files are at most {megabytes:.0} MB; this one is larger."))
}

/// A file received in full and checked, on disk under `id`.
struct Received {
    id: String,
    size: u64,
    content_type: &'static str,
    dimensions: Option<(u32, u32)>,
}

/// Streams the body to a temporary file, never more than `max` bytes, then checks the bytes and
/// moves the file into place. Anything refused or failed leaves nothing behind.
async fn receive(settings: &Settings, body: Body, max: u64) -> Result<Received, AppError> {
    // Logged with the id the client is shown, like every other internal error.
    let failed = |what: &str, error: &dyn std::fmt::Display| AppError::internal(what, error);
    let dir = files_dir(settings);
    tokio::fs::create_dir_all(&dir).await.map_err(|e| failed("cannot create the files folder", &e))?;
    let id = crate::server::identity::new_file_id()?;
    let partial = dir.join(format!("{id}.part"));
    let outcome = write_checked(&partial, body, max).await;
    let checked = match outcome {
        Ok(checked) => checked,
        Err(refused) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(refused);
        }
    };
    if let Err(error) = tokio::fs::rename(&partial, dir.join(&id)).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(failed("cannot move the file into place", &error));
    }
    Ok(Received { id, size: checked.0, content_type: checked.1, dimensions: checked.2 })
}

type Checked = (u64, &'static str, Option<(u32, u32)>);

/// Writes the body to `path` (synced to disk) and sniffs it: a refusal for the sender's mistakes, a
/// logged failure for the server's.
async fn write_checked(path: &Path, body: Body, max: u64) -> Result<Checked, AppError> {
    let failed = |error: std::io::Error| AppError::internal("cannot store the file", &error);
    let mut file = tokio::fs::File::create(path).await.map_err(failed)?;
    let mut head = Vec::with_capacity(4096);
    let mut size: u64 = 0;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|error| {
            AppError::refused(ErrorCode::InvalidRequest, format!("The upload was interrupted: {error}"))
        })?;
        size += chunk.len() as u64;
        if size > max {
            return Err(too_large(max));
        }
        if head.len() < HEAD_BYTES {
            let wanted = (HEAD_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..wanted]);
        }
        file.write_all(&chunk).await.map_err(failed)?;
    }
    if size == 0 {
        return Err(AppError::refused(ErrorCode::InvalidRequest, "The file is empty."));
    }
    let sniffed = sniff(&head);
    if let Sniffed::Refused(reason) = sniffed {
        return Err(AppError::refused(ErrorCode::UnsupportedFile, reason));
    }
    file.sync_all().await.map_err(failed)?;
    let dimensions = match sniffed {
        Sniffed::Image(content_type) => image_size(content_type, &head),
        _ => None,
    };
    Ok((size, sniffed.content_type(), dimensions))
}

/// `GET /files/{id}`: the file, to members of its room only (anyone else gets 404, as if it did not
/// exist). Served with the sniffed type, `nosniff`, a sandboxing policy, and as a download unless it
/// is an image.
pub(crate) async fn serve(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Authenticated { account, .. }: Authenticated,
) -> Result<Response, AppError> {
    let not_found = || AppError::refused(ErrorCode::NoSuchMessage, "There is no such file.");
    if !is_file_id(&id) {
        return Err(not_found());
    }
    let (file, room_id) = state.store.file(id).await?.ok_or_else(not_found)?;
    if state.store.member_room(room_id, account.id).await?.is_none() {
        return Err(not_found());
    }
    let opened = match tokio::fs::File::open(files_dir(&state.settings).join(&file.id)).await {
        Ok(opened) => opened,
        Err(error) => {
            tracing::error!(%error, id = file.id, "a stored file is missing from disk");
            return Err(not_found());
        }
    };
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(opened)).into_response();
    let headers = response.headers_mut();
    let image = file.is_image();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, &file.content_type);
    set(header::CONTENT_LENGTH, &file.size.to_string());
    set(header::CONTENT_DISPOSITION, &content_disposition(&file.name, image));
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Opened directly, a file is a sandboxed document that may load nothing and run nothing.
    set(header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'");
    set(header::CACHE_CONTROL, "private, max-age=86400");
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}
