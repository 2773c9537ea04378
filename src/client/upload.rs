//! Sending files: each goes to `POST /api/upload` by XMLHttpRequest, whose upload progress events
//! (which fetch does not have) drive the progress bar. The message itself arrives over the socket like
//! any other; a refusal (too large, not accepted) stays in the tray with the server's reason.

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

use crate::protocol::RoomId;
use crate::state::{ChatState, Upload};

/// Sends each file as its own message in this page's room.
pub fn send_files(chat: ChatState, files: Vec<File>) {
    let Some(room_id) = chat.room_id() else { return };
    // The server refuses these too; asking first spares sending megabytes only to hear no.
    if !chat.can_post() {
        chat.alert.set(Some("You cannot post in this room.".into()));
        return;
    }
    for file in files {
        send_file(chat, room_id, file);
    }
}

fn send_file(chat: ChatState, room_id: RoomId, file: File) {
    // Like a typed message, a file carries a client_msg_id, so the server stores a resend once; it
    // also keys the file's row in the tray.
    let client_msg_id = crate::state::outbox::new_client_msg_id();
    let key = client_msg_id.clone();
    chat.uploads.update(|uploads| {
        uploads.push(Upload { key: key.clone(), name: file.name(), sent: 0, size: file.size() as u64, error: None })
    });
    // The body is the file's bytes as they are, so everything else travels in the query. The name
    // is the user's own: encoded, so a `&` or `#` in it cannot break the query.
    let url = format!(
        "/api/upload?room_id={room_id}&client_msg_id={client_msg_id}&name={}",
        String::from(js_sys::encode_uri_component(&file.name()))
    );
    let Ok(request) = XmlHttpRequest::new() else { return fail(chat, &key, "This browser cannot upload files.") };
    if request.open("POST", &url).is_err() {
        return fail(chat, &key, "The upload could not start.");
    }
    let progress_key = key.clone();
    let on_progress = Closure::<dyn Fn(ProgressEvent)>::new(move |event: ProgressEvent| {
        let sent = event.loaded() as u64;
        chat.uploads.update(|uploads| {
            if let Some(upload) = uploads.iter_mut().find(|upload| upload.key == progress_key) {
                upload.sent = sent;
            }
        });
    });
    if let Ok(upload) = request.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let done_key = key.clone();
    let answered = request.clone();
    let on_done = Closure::<dyn Fn()>::new(move || match answered.status() {
        // The message itself arrives over the socket like any other; the tray only follows the bytes.
        Ok(200) => chat.uploads.update(|uploads| uploads.retain(|upload| upload.key != done_key)),
        // Status 0: no answer at all (the network went, or the request was cut off).
        Ok(0) | Err(_) => fail(chat, &done_key, "The connection was lost; try again."),
        Ok(_) => {
            // The server's refusal body is `{"code","message"}`, its message written for people.
            let reason = answered
                .response_text()
                .ok()
                .flatten()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .and_then(|answer| answer["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "The server refused the file.".to_owned());
            fail(chat, &done_key, &reason);
        }
    });
    // `loadend` comes once whatever the outcome (loaded, failed, aborted), so every upload either
    // leaves the tray or says why it did not go.
    request.set_onloadend(Some(on_done.as_ref().unchecked_ref()));
    if request.send_with_opt_blob(Some(&file)).is_err() {
        fail(chat, &key, "The upload could not start.");
    }
    // The request owns its handlers until it ends.
    on_progress.forget();
    on_done.forget();
}

/// Marks an upload refused: it stays in the tray with the reason until the user dismisses it.
fn fail(chat: ChatState, key: &str, reason: &str) {
    chat.uploads.update(|uploads| {
        if let Some(upload) = uploads.iter_mut().find(|upload| upload.key == key) {
            upload.error = Some(reason.to_owned());
        }
    });
}

/// The files of a file input, a drop or a paste.
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|index| list.get(index)).collect()
}
