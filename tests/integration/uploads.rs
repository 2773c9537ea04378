//! Files through the real endpoints: types decided by content, names kept only as metadata, the size
//! limit, markup refused, files served safely and only to members, and deleted with their message.

use crate::support::{create_room, form_encode, get_bytes, post_bytes, relaxed_limits, TestServer};
use natter::server::config::Limits;
use serde_json::Value;

async fn start() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let limits = Limits { max_upload_bytes: 64 * 1024, ..relaxed_limits() };
    let server = TestServer::start_with(&dir.path().join("natter.db"), limits).await;
    (dir, server)
}

/// A valid 3×2 PNG (IHDR, one IDAT, IEND): enough for a browser to show.
fn png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 3, 0, 0, 0, 2,
        8, 2, 0, 0, 0, 0x12, 0x16, 0xF1, 0x4D, 0, 0, 0, 0x0F, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF,
        0xC0, 0x00, 0x45, 0x60, 0x18, 0, 0, 0x4F, 0xE2, 0x06, 0xFA, 0x5E, 0x6C, 0x8E, 0x35, 0, 0, 0, 0, 0x49, 0x45,
        0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}

async fn upload(server: &TestServer, token: &str, room: i64, id: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
    let path = format!("/api/upload?room_id={room}&client_msg_id={id}&name={}", form_encode(name));
    let response = post_bytes(server.addr, &path, token, bytes).await;
    (response.status, serde_json::from_str(&response.body).unwrap_or(Value::Null))
}

fn header(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|line| {
            line.split_once(": ").filter(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_owned())
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_image_is_stored_under_its_own_id_broadcast_and_served_only_to_members() {
    let (dir, server) = start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let (mut bobs, _) = server.join_as(&bob, None).await;

    let (status, ack) = upload(&server, &alice, 1, "f-1", "../../etc/holiday.png", &png()).await;
    assert_eq!(status, 200, "{ack}");
    let file = ack["file"].clone();
    assert_eq!(file["name"], "holiday.png", "only the last part of the name is kept");
    assert_eq!(
        (file["content_type"].clone(), file["width"].clone(), file["height"].clone()),
        ("image/png".into(), 3.into(), 2.into())
    );
    let id = file["id"].as_str().expect("an id").to_owned();
    assert_eq!(id.len(), 32);
    let on_disk: Vec<String> = std::fs::read_dir(dir.path().join("files"))
        .expect("the files folder")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(on_disk, std::slice::from_ref(&id), "named by id only; no temporary file left");
    let live = bobs.expect("message").await;
    assert_eq!(live["message"]["file"]["id"], id.as_str());

    let (served, bytes) = get_bytes(server.addr, &format!("/files/{id}"), Some(&bob)).await;
    assert_eq!(served.status, 200);
    assert_eq!(bytes, png());
    assert_eq!(header(&served.head, "content-type"), "image/png");
    assert_eq!(header(&served.head, "x-content-type-options"), "nosniff");
    assert!(header(&served.head, "content-disposition").starts_with("inline; "));
    assert!(header(&served.head, "content-security-policy").starts_with("sandbox"));

    // A resend with the same client_msg_id stores nothing new and keeps the original file.
    let (status, again) = upload(&server, &alice, 1, "f-1", "holiday.png", &png()).await;
    assert_eq!((status, again["id"].clone()), (200, ack["id"].clone()));
    assert_eq!(std::fs::read_dir(dir.path().join("files")).expect("files").count(), 1);

    // A private room's file: not for outsiders, not for visitors, whatever the id.
    let secret = create_room(&server, &alice, "secret", true).await;
    let (_, private) = upload(&server, &alice, secret, "f-2", "plan.txt", b"the plan").await;
    let private_id = private["file"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(private["file"]["content_type"], "text/plain; charset=utf-8");
    let (refused, _) = get_bytes(server.addr, &format!("/files/{private_id}"), Some(&bob)).await;
    assert_eq!(refused.status, 404);
    let (anonymous, _) = get_bytes(server.addr, &format!("/files/{id}"), None).await;
    assert_eq!(anonymous.status, 401);
    for bad in ["../natter.db", "..%2Fnatter.db", "0123", "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"] {
        let (response, _) = get_bytes(server.addr, &format!("/files/{bad}"), Some(&alice)).await;
        assert_eq!(response.status, 404, "{bad}");
    }
    let (mine, _) = get_bytes(server.addr, &format!("/files/{private_id}"), Some(&alice)).await;
    assert_eq!(mine.status, 200);
    assert!(header(&mine.head, "content-disposition").starts_with("attachment; filename=\"plan.txt\""));

    // Deleting the message deletes the file.
    let message = private["id"].clone();
    assert_eq!(server.call("POST", "/api/delete_message", Some(&alice), &format!("id={message}")).await.0, 200);
    let (gone, _) = get_bytes(server.addr, &format!("/files/{private_id}"), Some(&alice)).await;
    assert_eq!(gone.status, 404);
    assert!(!dir.path().join("files").join(&private_id).exists());
    // has:file finds the one that is left.
    let (_, found) = server.call("GET", "/api/search?q=has%3Afile", Some(&alice), "").await;
    assert_eq!(found["hits"].as_array().expect("hits").len(), 1, "{found}");
    server.stop().await;
}

#[tokio::test]
async fn oversized_markup_empty_and_misplaced_uploads_are_refused_and_leave_nothing() {
    let (dir, server) = start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let secret = create_room(&server, &alice, "secret", true).await;

    let cases: [(&str, Vec<u8>, u16, &str); 5] = [
        ("big.bin", vec![7u8; 64 * 1024 + 1], 413, "file_too_large"),
        ("cat.png", b"<!DOCTYPE html><script>alert(1)</script>".to_vec(), 415, "unsupported_file"),
        (
            "logo.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
            415,
            "unsupported_file",
        ),
        ("empty.txt", Vec::new(), 400, "invalid_request"),
        ("fine.png", png(), 403, "not_a_member"),
    ];
    for (name, bytes, status, code) in cases {
        let room = if name == "fine.png" { secret } else { 1 };
        let token = if name == "fine.png" { &bob } else { &alice };
        let (got, answer) = upload(&server, token, room, &format!("x-{status}"), name, &bytes).await;
        assert_eq!((got, answer["code"].as_str().unwrap_or_default()), (status, code), "{name}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "a clear message: {answer}");
    }
    let left = std::fs::read_dir(dir.path().join("files")).map(|files| files.count()).unwrap_or(0);
    assert_eq!(left, 0, "nothing refused stays on disk");
    let (_, history) = server.call("GET", "/api/history", Some(&alice), "").await;
    assert!(history.as_array().expect("history").iter().all(|m| m.get("file").is_none()), "nothing stored");
    let (status, _) = upload(&server, &alice, 1, "bad id!", "a.txt", b"text").await;
    assert_eq!(status, 400);
    server.stop().await;
}
