//! Mention counts: `@nick` in a message counts for that member of the room until they read past it,
//! whatever the case or look-alike spelling, never inside code, never for non-members, and edits and
//! deletions change the count.

use crate::support::{create_room, form_encode, start, TestServer};
use serde_json::Value;

/// The mention count of a room in someone's sidebar, as a fresh page load reads it.
async fn mentions(server: &TestServer, token: &str, room_id: i64) -> u64 {
    let (status, page) = server.call("GET", "/api/room_page", Some(token), "").await;
    assert_eq!(status, 200, "{page}");
    let rooms = page["rooms"].as_array().expect("rooms");
    let room: &Value = rooms.iter().find(|room| room["id"] == room_id).expect("in the sidebar");
    room["mentions"].as_u64().expect("a count")
}

#[tokio::test]
async fn mentions_count_per_member_until_read_and_follow_edits_and_deletions() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let carol = server.register("carol").await;
    let (mut socket, _) = server.join_as(&alice, None).await;
    let secret = create_room(&server, &alice, "secret", true).await;

    let first = socket.post("a-1", "@bob look at this").await["id"].clone();
    socket.post("a-2", "@BOB and @carol, again").await;
    socket.post("a-3", "quoting `@bob` in code does not count").await;
    let last = socket.post("a-4", "@alice talking to myself").await["id"].clone();
    socket.post_to(secret, "s-1", "@bob is not in here").await;

    assert_eq!(mentions(&server, &bob, 1).await, 2);
    assert_eq!(mentions(&server, &carol, 1).await, 1);
    assert_eq!(mentions(&server, &alice, 1).await, 0, "your own mentions of yourself do not count");

    let form = format!("id={first}&body={}", form_encode("look at this"));
    assert_eq!(server.call("POST", "/api/edit_message", Some(&alice), &form).await.0, 200);
    assert_eq!(mentions(&server, &bob, 1).await, 1, "an edit that drops the mention drops the count");
    let form = format!("id={first}&body={}", form_encode("look at this, @carol"));
    assert_eq!(server.call("POST", "/api/edit_message", Some(&alice), &form).await.0, 200);
    assert_eq!(mentions(&server, &carol, 1).await, 2, "an edit that adds one adds it");

    // Reading the room clears the count.
    let (mut bobs, _) = server.join_as(&bob, None).await;
    bobs.send(serde_json::json!({ "type": "read", "room_id": 1, "last_read_id": last })).await;
    bobs.expect("read").await;
    assert_eq!(mentions(&server, &bob, 1).await, 0);
    let deleted = socket.post("a-5", "@carol one more").await["id"].clone();
    assert_eq!(mentions(&server, &carol, 1).await, 3);
    assert_eq!(server.call("POST", "/api/delete_message", Some(&alice), &format!("id={deleted}")).await.0, 200);
    assert_eq!(mentions(&server, &carol, 1).await, 2, "a deleted message mentions nobody");
    server.stop().await;
}

#[tokio::test]
async fn the_notification_setting_is_per_member_and_only_for_rooms_they_are_in() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let secret = create_room(&server, &alice, "secret", true).await;
    let notify = |room: i64, level: &str| format!("room_id={room}&level={level}");

    assert_eq!(server.call("POST", "/api/set_notify", Some(&alice), &notify(1, "all")).await.0, 200);
    let (_, page) = server.call("GET", "/api/room_page", Some(&alice), "").await;
    let general = page["rooms"].as_array().expect("rooms").iter().find(|room| room["id"] == 1).cloned();
    assert_eq!(general.expect("general")["notify"], "all");
    let (_, page) = server.call("GET", "/api/room_page", Some(&bob), "").await;
    let general = page["rooms"].as_array().expect("rooms").iter().find(|room| room["id"] == 1).cloned();
    assert!(general.expect("general").get("notify").is_none(), "bob keeps the default");

    let (status, refused) = server.call("POST", "/api/set_notify", Some(&bob), &notify(secret, "all")).await;
    assert_eq!((status, crate::support::code(&refused)), (403, "not_a_member"));
    let (status, _) = server.call("POST", "/api/set_notify", Some(&bob), &notify(1, "loud")).await;
    assert_eq!(status, 400);
    let signed_out = crate::support::http(server.addr, "POST", "/api/set_notify", None, &notify(1, "all")).await;
    assert_eq!(signed_out.status, 401);
    server.stop().await;
}
