//! Room export through the real endpoint: JSON and self-contained HTML, every message in order across
//! pages, hostile text kept as text, and only for people who can read the room.

use crate::support::{create_room, get_bearer, start};
use serde_json::Value;

#[tokio::test]
async fn a_reader_exports_a_room_as_json_and_as_html_with_every_message_in_order() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await;
    let (mut socket, _) = server.join_as(&alice, None).await;
    let ops = create_room(&server, &alice, "ops", false).await;
    // More than one export page (500), so the download is stitched from several reads.
    for n in 0..620 {
        socket.post_to(ops, &format!("o-{n}"), &format!("ops note {n}")).await;
    }
    let hostile = "<script>alert(1)</script> **bold** </ol></body>";
    let last = socket.post_to(ops, "o-hostile", hostile).await["id"].clone();
    let form = format!("id={last}&emoji=%F0%9F%91%8D");
    assert_eq!(server.call("POST", "/api/react", Some(&alice), &form).await.0, 200);
    socket.post("g-1", "said in general, not in ops").await;

    let json = get_bearer(server.addr, &format!("/api/export?room_id={ops}&format=json"), &alice).await;
    assert_eq!(json.status, 200, "{}", json.body);
    assert!(
        json.head.to_ascii_lowercase().contains("content-disposition: attachment; filename=\"natter-ops-"),
        "{}",
        json.head
    );
    let export: Value = serde_json::from_str(&json.body).expect("the export is one JSON document");
    assert_eq!(export["room"]["name"], "ops");
    let messages = export["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 621);
    let bodies: Vec<&str> = messages.iter().map(|m| m["body"].as_str().expect("a body")).collect();
    assert_eq!(bodies[0], "ops note 0");
    assert_eq!(bodies[619], "ops note 619");
    assert_eq!(bodies[620], hostile);
    assert!(messages.windows(2).all(|pair| pair[0]["id"].as_i64() < pair[1]["id"].as_i64()), "in order, once each");
    assert_eq!(messages[620]["reactions"][0]["emoji"], "👍");

    let html = get_bearer(server.addr, &format!("/api/export?room_id={ops}&format=html"), &alice).await;
    assert_eq!(html.status, 200);
    assert!(html.head.to_ascii_lowercase().contains("content-type: text/html"));
    assert!(html.body.starts_with("<!DOCTYPE html>"));
    assert!(html.body.contains("default-src 'none'"), "a CSP that forbids scripts and remote content");
    assert_eq!(html.body.matches("<li id=\"m").count(), 621);
    assert!(html.body.contains("ops note 0") && html.body.contains("ops note 619"));
    assert!(!html.body.contains("<script"), "hostile text stays text");
    assert!(html.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.body.contains("<strong>bold</strong>"), "formatting as in the chat");
    assert!(!html.body.contains("said in general"));
    assert!(html.body.trim_end().ends_with("</html>"));
    server.stop().await;
}

#[tokio::test]
async fn only_readers_may_export_and_bad_requests_are_refused() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let (mut socket, _) = server.join_as(&alice, None).await;
    let secret = create_room(&server, &alice, "secret", true).await;
    socket.post_to(secret, "s-1", "swordfish").await;

    let refused = get_bearer(server.addr, &format!("/api/export?room_id={secret}&format=json"), &bob).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!refused.body.contains("swordfish"));
    let anonymous =
        crate::support::http(server.addr, "GET", &format!("/api/export?room_id={secret}&format=json"), None, "").await;
    assert_eq!(anonymous.status, 401);
    let public = get_bearer(server.addr, "/api/export?room_id=1&format=json", &bob).await;
    assert_eq!(public.status, 200, "anyone signed in reads general");
    for (path, status) in [
        ("/api/export?room_id=1&format=pdf".to_owned(), 400),
        ("/api/export?room_id=999&format=json".to_owned(), 404),
        ("/api/export?format=json".to_owned(), 400),
    ] {
        assert_eq!(get_bearer(server.addr, &path, &bob).await.status, status, "{path}");
    }
    server.stop().await;
}
