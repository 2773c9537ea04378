//! Rooms and direct conversations through the real interfaces: who may create, join, invite, leave,
//! archive, read and post, and above all that nothing said in a private room reaches anyone outside it.

use crate::support::{code, create_room, post_json, settings_for, start, Client, TestServer};
use natter::server::cli::{self, AnnounceTo, CliError};
use serde_json::{json, Value};

/// Someone with an open socket: their session token, user id and socket.
struct Person {
    token: String,
    id: i64,
    socket: Client,
}

/// Registers `nickname` (the first one registered on a server is its admin) and connects them.
async fn person(server: &TestServer, nickname: &str) -> Person {
    let token = server.register(nickname).await;
    let (socket, welcome) = server.join_as(&token, None).await;
    Person { token, id: welcome["you"]["id"].as_i64().expect("an id"), socket }
}

async fn invite(server: &TestServer, token: &str, room_id: i64, nickname: &str) -> (u16, Value) {
    server.call("POST", "/api/invite", Some(token), &format!("room_id={room_id}&nickname={nickname}")).await
}

async fn history(server: &TestServer, token: Option<&str>, room_id: i64) -> (u16, Value) {
    server.call("GET", &format!("/api/history?room_id={room_id}&limit=200"), token, "").await
}

fn ids(messages: &Value) -> Vec<i64> {
    messages.as_array().expect("a list of messages").iter().map(|m| m["id"].as_i64().expect("an id")).collect()
}

fn room_ids(rooms: &Value) -> Vec<i64> {
    rooms.as_array().expect("a list of rooms").iter().map(|room| room["id"].as_i64().expect("an id")).collect()
}

/// Whether a frame is about `room_id` in any way: a message, typing, membership, deletion, a room.
fn mentions_room(frame: &Value, room_id: i64) -> bool {
    let listed =
        |list: &Value, field: &str| list.as_array().is_some_and(|items| items.iter().any(|i| i[field] == room_id));
    frame["room_id"] == room_id
        || frame["message"]["room_id"] == room_id
        || frame["room"]["id"] == room_id
        || listed(&frame["messages"], "room_id")
        || listed(&frame["rooms"], "id")
}

/// Everything `socket` receives up to and including the message with id `id`.
async fn frames_until_message(socket: &mut Client, id: &Value) -> Vec<Value> {
    socket.frames_until(|frame| frame["type"] == "message" && frame["message"]["id"] == *id).await
}

/// The next frame of type `kind` that `wanted` matches, skipping others.
async fn expect_where(socket: &mut Client, kind: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = socket.expect(kind).await;
        if wanted(&frame) {
            return frame;
        }
    }
}

/// Every message a `hello since` replays, across all its history pages.
async fn caught_up(socket: &mut Client) -> Vec<Value> {
    let mut messages = Vec::new();
    loop {
        let page = socket.expect("history").await;
        messages.extend(page["messages"].as_array().expect("messages").iter().cloned());
        if page["complete"] == true {
            return messages;
        }
    }
}

#[tokio::test]
async fn rooms_are_created_with_valid_unique_names() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let bob = server.register("bob").await;

    let (status, room) = server.call("POST", "/api/create_room", Some(&alice.token), "name=Rust+Talk").await;
    assert_eq!(status, 200, "{room}");
    assert_eq!(
        (room["name"].clone(), room["kind"].clone(), room["archived"].clone()),
        (json!("rust-talk"), json!("public"), json!(false))
    );
    let joined = alice.socket.expect("room_joined").await;
    assert_eq!(joined["room"], room, "the creator's tabs learn about it at once");

    let (status, private) = server.call("POST", "/api/create_room", Some(&bob), "name=plotting&private=on").await;
    assert_eq!(status, 200, "{private}");
    assert_eq!(private["kind"], "private");

    for bad in ["a", "caf%C3%A9", "-dash", "two%2Fparts", "dm%3A1%3A2", &"x".repeat(33)] {
        let (status, refused) = server.call("POST", "/api/create_room", Some(&bob), &format!("name={bad}")).await;
        assert_eq!((status, code(&refused)), (400, "invalid_room_name"), "{bad}");
    }
    for taken in ["rust-talk", "RUST+TALK", "general", "Plotting"] {
        let (status, refused) = server.call("POST", "/api/create_room", Some(&bob), &format!("name={taken}")).await;
        assert_eq!((status, code(&refused)), (409, "room_name_taken"), "{taken}");
    }
    let (status, refused) = server.call("POST", "/api/create_room", None, "name=anonymous").await;
    assert_eq!((status, code(&refused)), (401, "unauthenticated"));

    // The directory lists public rooms only, with their member counts.
    let (status, directory) = server.call("GET", "/api/rooms", None, "").await;
    assert_eq!(status, 200);
    let listed: Vec<(String, i64)> = directory
        .as_array()
        .unwrap()
        .iter()
        .map(|room| (room["name"].as_str().unwrap().to_owned(), room["members"].as_i64().unwrap()))
        .collect();
    assert_eq!(listed, [("general".to_owned(), 2), ("rust-talk".to_owned(), 1)]);
    server.stop().await;
}

#[tokio::test]
async fn anyone_joins_a_public_room_and_its_members_hear_about_it() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let mut bob = person(&server, "bob").await;
    let lounge = create_room(&server, &alice.token, "lounge", false).await;
    alice.socket.expect("room_joined").await;

    let (status, room) = server.call("POST", "/api/join_room", Some(&bob.token), &format!("room_id={lounge}")).await;
    assert_eq!(status, 200, "{room}");
    assert_eq!((room["id"].clone(), room["name"].clone()), (json!(lounge), json!("lounge")));
    assert_eq!(bob.socket.expect("room_joined").await["room"]["id"], lounge);
    // (alice's own membership was announced first, when she created the room.)
    let member = expect_where(&mut alice.socket, "member_joined", |frame| frame["member"]["user_id"] == bob.id).await;
    assert_eq!(
        member,
        json!({ "type": "member_joined", "room_id": lounge,
        "member": { "user_id": bob.id, "nickname": "bob", "is_bot": false } })
    );

    // Now bob posts there, and the room's members get it.
    let ack = bob.socket.post_to(lounge, "b-1", "hello lounge").await;
    let heard = alice.socket.expect("message").await["message"].clone();
    assert_eq!((heard["id"].clone(), heard["room_id"].clone()), (ack["id"].clone(), json!(lounge)));

    let (status, again) = server.call("POST", "/api/join_room", Some(&bob.token), &format!("room_id={lounge}")).await;
    assert_eq!(status, 200, "joining twice is harmless: {again}");
    let (status, refused) = server.call("POST", "/api/join_room", Some(&bob.token), "room_id=999").await;
    assert_eq!((status, code(&refused)), (404, "no_such_room"));
    let (status, members) = server.call("GET", &format!("/api/members?room_id={lounge}"), None, "").await;
    assert_eq!(status, 200, "a public room's members are public: {members}");
    let names: Vec<&str> = members.as_array().unwrap().iter().map(|m| m["nickname"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);
    let (status, online) = server.call("GET", &format!("/api/online?room_id={lounge}"), None, "").await;
    assert_eq!((status, online.as_array().unwrap().len()), (200, 2));
    server.stop().await;
}

#[tokio::test]
async fn a_private_room_is_entered_only_by_invitation_from_a_member() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let mut bob = person(&server, "bob").await;
    let carol = server.register("carol").await;
    server.register("dave").await;
    let secret = create_room(&server, &alice.token, "secret", true).await;
    alice.socket.expect("room_joined").await;

    let (status, refused) = server.call("POST", "/api/join_room", Some(&bob.token), &format!("room_id={secret}")).await;
    assert_eq!((status, code(&refused)), (403, "not_a_member"));
    let (status, refused) = invite(&server, &carol, secret, "dave").await;
    assert_eq!((status, code(&refused)), (403, "not_a_member"), "only members invite");
    let (status, refused) = invite(&server, &alice.token, secret, "nobody").await;
    assert_eq!((status, code(&refused)), (400, "invalid_request"), "{refused}");
    let (_, members) = server.call("GET", &format!("/api/members?room_id={secret}"), Some(&alice.token), "").await;
    assert_eq!(members.as_array().unwrap().len(), 1, "nothing changed: {members}");
    // Nor did bob hear of it: the next thing his socket gets is alice's message in general.
    let sentinel = alice.socket.post("a-1", "anyone?").await;
    let seen = frames_until_message(&mut bob.socket, &sentinel["id"]).await;
    assert!(seen.iter().all(|frame| !mentions_room(frame, secret)), "{seen:?}");

    let (status, invited) = invite(&server, &alice.token, secret, "BOB").await;
    assert_eq!(status, 200, "{invited}");
    assert_eq!(invited, json!({ "user_id": bob.id, "nickname": "bob", "is_bot": false }));
    let joined = bob.socket.expect("room_joined").await["room"].clone();
    assert_eq!((joined["id"].clone(), joined["kind"].clone()), (json!(secret), json!("private")));
    expect_where(&mut alice.socket, "member_joined", |frame| frame["member"]["user_id"] == bob.id).await;
    // Any member may invite, not only the creator.
    let (status, _) = invite(&server, &bob.token, secret, "carol").await;
    assert_eq!(status, 200);
    let (status, refused) = invite(&server, &bob.token, secret, "carol").await;
    assert_eq!((status, code(&refused)), (400, "invalid_request"), "already a member");
    let (status, history) = history(&server, Some(&carol), secret).await;
    assert_eq!(status, 200, "carol reads it now: {history}");
    server.stop().await;
}

#[tokio::test]
async fn members_leave_rooms_but_everyone_stays_in_general() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let mut bob = person(&server, "bob").await;
    let lounge = create_room(&server, &alice.token, "lounge", false).await;
    server.call("POST", "/api/join_room", Some(&bob.token), &format!("room_id={lounge}")).await;
    bob.socket.expect("room_joined").await;

    let (status, left) = server.call("POST", "/api/leave_room", Some(&bob.token), &format!("room_id={lounge}")).await;
    assert_eq!(status, 200, "{left}");
    assert_eq!(bob.socket.expect("room_left").await, json!({ "type": "room_left", "room_id": lounge }));
    assert_eq!(
        alice.socket.expect("member_left").await,
        json!({ "type": "member_left", "room_id": lounge, "user_id": bob.id })
    );
    bob.socket.send_to(lounge, "b-1", "still here?").await;
    let refused = bob.socket.expect("error").await;
    assert_eq!((refused["code"].clone(), refused["client_msg_id"].clone()), (json!("not_a_member"), json!("b-1")));

    let (status, refused) =
        server.call("POST", "/api/leave_room", Some(&bob.token), &format!("room_id={lounge}")).await;
    assert_eq!((status, code(&refused)), (403, "not_a_member"), "leaving twice");
    let (status, refused) = server.call("POST", "/api/leave_room", Some(&bob.token), "room_id=1").await;
    assert_eq!((status, code(&refused)), (400, "invalid_request"), "general cannot be left");
    let (_, welcome) = server.join_as(&bob.token, None).await;
    assert_eq!(room_ids(&welcome["rooms"]), [1]);
    server.stop().await;
}

#[tokio::test]
async fn only_admins_archive_and_an_archived_room_takes_no_new_messages() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await; // the first person: admin
    let mut bob = person(&server, "bob").await;
    let carol = server.register("carol").await;
    let lounge = create_room(&server, &bob.token, "lounge", false).await;
    bob.socket.expect("room_joined").await;
    server.call("POST", "/api/join_room", Some(&alice.token), &format!("room_id={lounge}")).await;
    alice.socket.expect("room_joined").await;
    let kept = bob.socket.post_to(lounge, "b-1", "before the archive").await;

    let (status, refused) =
        server.call("POST", "/api/archive_room", Some(&bob.token), &format!("room_id={lounge}")).await;
    assert_eq!((status, code(&refused)), (403, "forbidden"), "even its creator, if not an admin");
    let (status, refused) = server.call("POST", "/api/archive_room", Some(&alice.token), "room_id=1").await;
    assert_eq!((status, code(&refused)), (400, "invalid_request"), "general stays");
    let (status, archived) =
        server.call("POST", "/api/archive_room", Some(&alice.token), &format!("room_id={lounge}")).await;
    assert_eq!(status, 200, "{archived}");
    for member in [&mut alice, &mut bob] {
        assert_eq!(member.socket.expect("room_archived").await, json!({ "type": "room_archived", "room_id": lounge }));
    }

    bob.socket.send_to(lounge, "b-2", "after the archive").await;
    let refused = bob.socket.expect("error").await;
    assert_eq!((refused["code"].clone(), refused["client_msg_id"].clone()), (json!("room_archived"), json!("b-2")));
    bob.socket.send(json!({ "type": "typing", "room_id": lounge })).await;
    assert_eq!(bob.socket.expect("error").await["code"], "room_archived");
    let by_http = post_json(
        server.addr,
        "/api/bot/messages",
        Some(&bob.token),
        None,
        &json!({ "room_id": lounge, "client_msg_id": "b-3", "body": "over http" }),
    )
    .await;
    assert_eq!(by_http.status, 409, "{}", by_http.body);
    assert_eq!(serde_json::from_str::<Value>(&by_http.body).unwrap()["code"], "room_archived");
    let (status, messages) = history(&server, Some(&bob.token), lounge).await;
    assert_eq!(status, 200, "its history stays readable");
    assert_eq!(ids(&messages), [kept["id"].as_i64().unwrap()], "nothing new was stored");

    let (status, refused) = server.call("POST", "/api/join_room", Some(&carol), &format!("room_id={lounge}")).await;
    assert_eq!((status, code(&refused)), (409, "room_archived"));
    let (status, refused) = invite(&server, &bob.token, lounge, "carol").await;
    assert_eq!((status, code(&refused)), (409, "room_archived"));
    let (_, directory) = server.call("GET", "/api/rooms", None, "").await;
    assert_eq!(room_ids(&directory), [1], "archived rooms leave the directory");
    let (_, welcome) = server.join_as(&bob.token, None).await;
    let listed = welcome["rooms"].as_array().unwrap().iter().find(|room| room["id"] == lounge).cloned();
    assert_eq!(listed.map(|room| room["archived"].clone()), Some(json!(true)), "members still see it, archived");
    server.stop().await;
}

#[tokio::test]
async fn posting_or_typing_in_a_room_you_are_not_in_is_refused_and_stores_nothing() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let mut carol = person(&server, "carol").await;
    let secret = create_room(&server, &alice.token, "secret", true).await;
    let lounge = create_room(&server, &alice.token, "lounge", false).await;

    for (room_id, code) in [(secret, "not_a_member"), (lounge, "not_a_member"), (999, "no_such_room")] {
        carol.socket.send_to(room_id, &format!("c-{room_id}"), "let me in").await;
        let refused = carol.socket.expect("error").await;
        assert_eq!(refused["code"], code, "{refused}");
        assert_eq!(refused["client_msg_id"], format!("c-{room_id}"));
        carol.socket.send(json!({ "type": "typing", "room_id": room_id })).await;
        let refused = carol.socket.expect("error").await;
        assert_eq!(refused["code"], code, "typing: {refused}");
        assert!(refused.get("client_msg_id").is_none());
    }
    for room_id in [secret, lounge] {
        let (status, messages) = history(&server, Some(&alice.token), room_id).await;
        assert_eq!((status, messages), (200, json!([])), "nothing was stored");
    }
    // alice, in both rooms, heard nothing of it: not the messages, not the typing.
    let sentinel = carol.socket.post("c-ok", "in general").await;
    let seen = frames_until_message(&mut alice.socket, &sentinel["id"]).await;
    let before_sentinel = &seen[..seen.len() - 1];
    assert!(before_sentinel.iter().all(|frame| frame["type"] != "typing" && frame["type"] != "message"), "{seen:?}");
    server.stop().await;
}

#[tokio::test]
async fn direct_conversations_are_for_their_two_people_only() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let mut bob = person(&server, "bob").await;
    let mut carol = person(&server, "carol").await;

    let (status, room) = server.call("POST", "/api/direct", Some(&alice.token), &format!("user_id={}", bob.id)).await;
    assert_eq!(status, 200, "{room}");
    let direct = room["id"].as_i64().unwrap();
    assert_eq!(
        (room["kind"].clone(), room["name"].clone(), room["peer_id"].clone()),
        (json!("direct"), json!("bob"), json!(bob.id))
    );
    // Both learn about it live, each under the other's name.
    assert_eq!(alice.socket.expect("room_joined").await["room"], room);
    let bobs = bob.socket.expect("room_joined").await["room"].clone();
    assert_eq!(
        (bobs["id"].clone(), bobs["name"].clone(), bobs["peer_id"].clone()),
        (json!(direct), json!("alice"), json!(alice.id))
    );
    let (status, again) = server.call("POST", "/api/direct", Some(&bob.token), &format!("user_id={}", alice.id)).await;
    assert_eq!((status, again["id"].clone()), (200, json!(direct)), "one conversation per pair");

    let said = alice.socket.post_to(direct, "a-1", "just between us").await;
    assert_eq!(bob.socket.expect("message").await["message"]["id"], said["id"]);
    let sentinel = alice.socket.post("a-2", "hello everyone").await;
    let seen = frames_until_message(&mut carol.socket, &sentinel["id"]).await;
    assert!(seen.iter().all(|frame| !mentions_room(frame, direct)), "{seen:?}");

    let (status, refused) = history(&server, Some(&carol.token), direct).await;
    assert_eq!((status, code(&refused)), (403, "not_a_member"));
    carol.socket.send_to(direct, "c-1", "me too").await;
    assert_eq!(carol.socket.expect("error").await["code"], "not_a_member");
    // carol's page for alice is her own (not yet started) conversation with alice.
    let (status, page) = server.call("GET", &format!("/api/room_page?peer={}", alice.id), Some(&carol.token), "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!((page["room"].clone(), page["history"].clone()), (Value::Null, json!([])));

    let (status, refused) =
        server.call("POST", "/api/direct", Some(&alice.token), &format!("user_id={}", alice.id)).await;
    assert_eq!((status, code(&refused)), (400, "invalid_request"), "not with yourself");
    let (status, refused) = server.call("POST", "/api/direct", Some(&alice.token), "user_id=999").await;
    assert_eq!((status, code(&refused)), (404, "no_such_user"));
    let (status, refused) = invite(&server, &alice.token, direct, "carol").await;
    assert_eq!((status, code(&refused)), (400, "invalid_request"), "no third person");
    let (status, refused) =
        server.call("POST", "/api/leave_room", Some(&bob.token), &format!("room_id={direct}")).await;
    assert_eq!((status, code(&refused)), (400, "invalid_request"));
    server.stop().await;
}

#[tokio::test]
async fn unread_counts_arrive_in_the_welcome_and_reading_in_one_tab_reaches_the_others() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let bob = server.register("bob").await;
    let mut said = Vec::new();
    for i in 0..3 {
        said.push(alice.socket.post(&format!("a-{i}"), &format!("news {i}")).await["id"].as_i64().unwrap());
    }
    let (mut first_tab, welcome) = server.join_as(&bob, None).await;
    let general = &welcome["rooms"][0];
    assert_eq!(
        (general["id"].clone(), general["unread"].clone(), general["last_read_id"].clone()),
        (json!(1), json!(3), json!(0))
    );
    let (mut second_tab, _) = server.join_as(&bob, None).await;

    first_tab.send(json!({ "type": "read", "room_id": 1, "last_read_id": said[1] })).await;
    let read = json!({ "type": "read", "room_id": 1, "last_read_id": said[1] });
    assert_eq!(first_tab.expect("read").await, read);
    assert_eq!(second_tab.expect("read").await, read, "the other tab clears its count too");
    second_tab.send(json!({ "type": "read", "room_id": 1, "last_read_id": said[0] })).await;
    assert_eq!(second_tab.expect("read").await, read, "a stale tab cannot move the mark back");
    first_tab.post("b-1", "my own message is not unread").await;
    let (_, welcome) = server.join_as(&bob, None).await;
    assert_eq!(
        (welcome["rooms"][0]["unread"].clone(), welcome["rooms"][0]["last_read_id"].clone()),
        (json!(1), json!(said[1]))
    );

    let secret = create_room(&server, &alice.token, "secret", true).await;
    first_tab.send(json!({ "type": "read", "room_id": secret, "last_read_id": said[2] })).await;
    assert_eq!(first_tab.expect("error").await["code"], "not_a_member");
    // Read marks are bob's alone.
    let sentinel = first_tab.post("b-2", "done").await;
    let seen = frames_until_message(&mut alice.socket, &sentinel["id"]).await;
    assert!(seen.iter().all(|frame| frame["type"] != "read"), "{seen:?}");
    server.stop().await;
}

#[tokio::test]
async fn catch_up_after_a_reconnect_covers_only_the_users_rooms() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let bob = server.register("bob").await;
    let secret = create_room(&server, &alice.token, "secret", true).await;
    let lounge = create_room(&server, &alice.token, "lounge", false).await;
    server.call("POST", "/api/join_room", Some(&bob), &format!("room_id={lounge}")).await;
    for _ in 0..2 {
        alice.socket.expect("room_joined").await;
    }
    let in_general = alice.socket.post("g-1", "general").await["id"].as_i64().unwrap();
    let in_secret = alice.socket.post_to(secret, "s-1", "secret").await["id"].as_i64().unwrap();
    let in_lounge = alice.socket.post_to(lounge, "l-1", "lounge").await["id"].as_i64().unwrap();

    let (mut socket, _) = server.join_as(&bob, Some(0)).await;
    assert_eq!(ids(&Value::Array(caught_up(&mut socket).await)), [in_general, in_lounge]);
    invite(&server, &alice.token, secret, "bob").await;
    let (mut socket, _) = server.join_as(&bob, Some(0)).await;
    assert_eq!(
        ids(&Value::Array(caught_up(&mut socket).await)),
        [in_general, in_secret, in_lounge],
        "invited: all of it"
    );
    server.call("POST", "/api/leave_room", Some(&bob), &format!("room_id={lounge}")).await;
    let (mut socket, _) = server.join_as(&bob, Some(in_general)).await;
    assert_eq!(ids(&Value::Array(caught_up(&mut socket).await)), [in_secret]);
    server.stop().await;
}

/// alice and bob talk in a private room while carol, who is not in it, tries every way in.
#[tokio::test]
async fn a_private_room_leaks_nothing_to_someone_outside_it() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await; // admin
    let bob = server.register("bob").await;
    let carol = server.register("carol").await;
    let dave = server.register("dave").await;
    // carol listens from before the room exists until after everything happened in it.
    let (mut carols_socket, carols_welcome) = server.join_as(&carol, None).await;
    let (mut alices_socket, _) = server.join_as(&alice, None).await;
    let (mut bobs_socket, _) = server.join_as(&bob, None).await;

    let secret = create_room(&server, &alice, "secret", true).await;
    alices_socket.expect("room_joined").await;
    assert_eq!(invite(&server, &alice, secret, "bob").await.0, 200);
    bobs_socket.expect("room_joined").await;
    let first = alices_socket.post_to(secret, "s-1", "the password is swordfish").await["id"].clone();
    bobs_socket.send(json!({ "type": "typing", "room_id": secret })).await;
    assert_eq!(alices_socket.expect("typing").await["room_id"], secret);
    alices_socket.send(json!({ "type": "typing", "room_id": secret })).await;
    assert_eq!(bobs_socket.expect("typing").await["room_id"], secret);
    let second = bobs_socket.post_to(secret, "s-2", "swordfish, noted").await["id"].clone();
    let (status, _) = server.call("POST", "/api/delete_message", Some(&alice), &format!("id={second}")).await;
    assert_eq!(status, 200);
    alices_socket.expect("message_updated").await;
    assert_eq!(invite(&server, &alice, secret, "dave").await.0, 200);
    assert_eq!(server.call("POST", "/api/leave_room", Some(&dave), &format!("room_id={secret}")).await.0, 200);
    alices_socket.expect("member_left").await;
    alices_socket.send(json!({ "type": "read", "room_id": secret, "last_read_id": first })).await;
    alices_socket.expect("read").await;

    // The socket: carol's next message frame is alice's in general, and nothing came about the room.
    let sentinel = alices_socket.post("g-1", "back in general").await["id"].clone();
    let seen = frames_until_message(&mut carols_socket, &sentinel).await;
    for frame in &seen {
        assert!(!mentions_room(frame, secret), "carol received {frame}");
        assert!(!frame.to_string().contains("swordfish"), "carol received {frame}");
    }
    assert_eq!(seen.iter().filter(|frame| frame["type"] == "message").count(), 1, "{seen:?}");
    assert!(!room_ids(&carols_welcome["rooms"]).contains(&secret));
    frames_until_message(&mut bobs_socket, &sentinel).await;

    // Server functions, signed in as carol and as a visitor without a cookie.
    for token in [Some(carol.as_str()), None] {
        for path in [
            format!("/api/history?room_id={secret}"),
            format!("/api/history?room_id={secret}&before={sentinel}"),
            format!("/api/online?room_id={secret}"),
            format!("/api/members?room_id={secret}"),
            "/api/room_page?room=secret".to_owned(),
        ] {
            let (status, answer) = server.call("GET", &path, token, "").await;
            assert_eq!((status, code(&answer)), (403, "not_a_member"), "{path} as {token:?}");
            assert!(!answer.to_string().contains("swordfish"));
        }
        let (status, page) = server.call("GET", "/api/room_page", token, "").await;
        assert_eq!(status, 200, "{page}");
        assert!(!page.to_string().contains("swordfish") && !page.to_string().contains("secret"), "{page}");
        let page = crate::support::http(server.addr, "GET", "/", token, "").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("swordfish"));
    }
    let (_, directory) = server.call("GET", "/api/rooms", Some(&carol), "").await;
    assert!(!room_ids(&directory).contains(&secret));

    // Catch-up from the very beginning, on a new socket.
    let (mut replay, welcome) = server.join_as(&carol, Some(0)).await;
    assert!(!room_ids(&welcome["rooms"]).contains(&secret), "{welcome}");
    let replayed = caught_up(&mut replay).await;
    assert!(replayed.iter().all(|message| message["room_id"] == 1), "{replayed:?}");
    assert_eq!(ids(&Value::Array(replayed)), [sentinel.as_i64().unwrap()]);

    // Every way of getting in or posting is refused, and changes nothing.
    let (status, refused) = server.call("POST", "/api/join_room", Some(&carol), &format!("room_id={secret}")).await;
    assert_eq!((status, code(&refused)), (403, "not_a_member"));
    let (status, refused) = invite(&server, &carol, secret, "carol").await;
    assert_eq!((status, code(&refused)), (403, "not_a_member"));
    for (path, form) in [
        ("/api/delete_message", format!("id={first}")),
        ("/api/edit_message", format!("id={first}&body=mine+now")),
        ("/api/react", format!("id={first}&emoji=%F0%9F%91%8D")),
    ] {
        let (status, refused) = server.call("POST", path, Some(&carol), &form).await;
        assert_eq!((status, code(&refused)), (404, "no_such_message"), "{path}: not even its existence shows");
    }
    replay.send_to(secret, "c-1", "let me in").await;
    assert_eq!(replay.expect("error").await["code"], "not_a_member");
    replay.send(json!({ "type": "typing", "room_id": secret })).await;
    assert_eq!(replay.expect("error").await["code"], "not_a_member");
    replay.send(json!({ "type": "read", "room_id": secret, "last_read_id": first })).await;
    assert_eq!(replay.expect("error").await["code"], "not_a_member");
    let by_http = post_json(
        server.addr,
        "/api/bot/messages",
        None,
        Some(&carol),
        &json!({ "room_id": secret, "client_msg_id": "c-2", "body": "over http" }),
    )
    .await;
    assert_eq!(by_http.status, 403, "{}", by_http.body);
    let (_, bot_token) = cli::create_bot(&settings_for(&server), "snoopbot").await.unwrap();
    let by_bot = post_json(
        server.addr,
        "/api/bot/messages",
        Some(&bot_token),
        None,
        &json!({ "room_id": secret, "client_msg_id": "x-1", "body": "a bot is not a member either" }),
    )
    .await;
    assert_eq!(by_bot.status, 403, "{}", by_bot.body);
    assert_eq!(serde_json::from_str::<Value>(&by_bot.body).unwrap()["code"], "not_a_member");
    let mut bot_socket = Client::connect_bot(server.addr, &bot_token).await.unwrap();
    bot_socket.send(json!({ "type": "hello", "since": 0 })).await;
    assert!(!room_ids(&bot_socket.expect("welcome").await["rooms"]).contains(&secret));
    assert!(caught_up(&mut bot_socket).await.iter().all(|message| message["room_id"] == 1));

    let (_, messages) = history(&server, Some(&alice), secret).await;
    assert_eq!(ids(&messages), [first.as_i64().unwrap(), second.as_i64().unwrap()], "nothing was stored");
    let (_, members) = server.call("GET", &format!("/api/members?room_id={secret}"), Some(&bob), "").await;
    let names: Vec<&str> = members.as_array().unwrap().iter().map(|m| m["nickname"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);
    // And the members themselves saw none of carol's attempts.
    let sentinel = alices_socket.post("g-2", "still just us").await["id"].clone();
    let seen = frames_until_message(&mut bobs_socket, &sentinel).await;
    assert!(seen.iter().all(|frame| frame["type"] != "typing" && frame["type"] != "member_joined"), "{seen:?}");
    server.stop().await;
}

#[tokio::test]
async fn announcements_go_to_one_room_or_one_user_and_reach_only_them() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let mut bob = person(&server, "bob").await;
    let mut carol = person(&server, "carol").await;
    let lounge = create_room(&server, &alice.token, "lounge", false).await;
    server.call("POST", "/api/join_room", Some(&bob.token), &format!("room_id={lounge}")).await;
    bob.socket.expect("room_joined").await;

    let id = cli::announce(&settings_for(&server), AnnounceTo::Room("lounge"), "Lounge closes at ten").await.unwrap();
    let announced = bob.socket.expect("message").await["message"].clone();
    assert_eq!(announced["id"], id.get());
    assert_eq!((announced["room_id"].clone(), announced["nickname"].clone()), (json!(lounge), json!("Natter")));
    assert_eq!(announced["kind"], "announcement");
    assert_eq!(alice.socket.expect("message").await["message"]["id"], id.get());

    let to_carol =
        cli::announce(&settings_for(&server), AnnounceTo::User("Carol"), "Your account is verified").await.unwrap();
    // carol hears of her conversation with Natter and gets the announcement in it, and nothing of the
    // lounge; bob hears nothing of carol's announcement.
    let sentinel = alice.socket.post("a-1", "after the announcements").await["id"].clone();
    let carol_saw = frames_until_message(&mut carol.socket, &sentinel).await;
    assert!(carol_saw.iter().all(|frame| !mentions_room(frame, lounge)), "{carol_saw:?}");
    let conversation =
        carol_saw.iter().find(|frame| frame["type"] == "room_joined").expect("room_joined")["room"].clone();
    assert_eq!((conversation["kind"].clone(), conversation["name"].clone()), (json!("direct"), json!("Natter")));
    let received: Vec<&Value> =
        carol_saw.iter().filter(|frame| frame["type"] == "message").map(|frame| &frame["message"]).collect();
    assert_eq!(received.len(), 2, "the announcement and the sentinel: {carol_saw:?}");
    assert_eq!(
        (received[0]["id"].clone(), received[0]["room_id"].clone()),
        (json!(to_carol), conversation["id"].clone())
    );
    assert_eq!(received[0]["kind"], "announcement");
    let bob_saw = frames_until_message(&mut bob.socket, &sentinel).await;
    assert!(
        bob_saw.iter().all(|frame| frame["type"] != "message" || frame["message"]["id"] == sentinel),
        "{bob_saw:?}"
    );
    assert!(bob_saw.iter().all(|frame| frame["type"] != "room_joined"), "{bob_saw:?}");
    let (status, refused) = history(&server, Some(&bob.token), conversation["id"].as_i64().unwrap()).await;
    assert_eq!((status, code(&refused)), (403, "not_a_member"));

    for to in [AnnounceTo::Room("nowhere"), AnnounceTo::User("nobody")] {
        let refused = cli::announce(&settings_for(&server), to, "lost").await;
        assert!(matches!(refused, Err(CliError::Server { status: 400 | 404, .. })), "{to:?}: {refused:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_bot_posts_over_http_in_a_room_it_was_invited_to() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    let mut carol = person(&server, "carol").await;
    let lounge = create_room(&server, &alice.token, "lounge", false).await;
    let (_, token) = cli::create_bot(&settings_for(&server), "weatherbot").await.unwrap();
    let post =
        |client_msg_id: &str| json!({ "room_id": lounge, "client_msg_id": client_msg_id, "body": "Sunny, 21 °C" });

    let refused = post_json(server.addr, "/api/bot/messages", Some(&token), None, &post("wx-1")).await;
    assert_eq!(refused.status, 403, "not a member yet: {}", refused.body);
    assert_eq!(invite(&server, &alice.token, lounge, "weatherbot").await.0, 200);
    let posted = post_json(server.addr, "/api/bot/messages", Some(&token), None, &post("wx-2")).await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    let posted: Value = serde_json::from_str(&posted.body).unwrap();
    let seen = alice.socket.expect("message").await["message"].clone();
    assert_eq!(
        (seen["id"].clone(), seen["room_id"].clone(), seen["nickname"].clone()),
        (posted["id"].clone(), json!(lounge), json!("weatherbot"))
    );
    let sentinel = alice.socket.post("a-1", "thanks, bot").await["id"].clone();
    let carol_saw = frames_until_message(&mut carol.socket, &sentinel).await;
    assert!(carol_saw.iter().all(|frame| !mentions_room(frame, lounge)), "{carol_saw:?}");
    // Without room_id a bot posts in general, as before rooms.
    let general = post_json(
        server.addr,
        "/api/bot/messages",
        Some(&token),
        None,
        &json!({ "client_msg_id": "wx-3", "body": "hi" }),
    )
    .await;
    assert_eq!(general.status, 200, "{}", general.body);
    let (_, messages) = history(&server, None, 1).await;
    assert_eq!(messages.as_array().unwrap().last().unwrap()["nickname"], "weatherbot");
    // A bot reads history with its token: its rooms, and never a private room it is not in.
    let read = crate::support::get_bearer(server.addr, &format!("/api/history?room_id={lounge}"), &token).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(read.body.contains("Sunny, 21 °C"), "{}", read.body);
    let secret = create_room(&server, &alice.token, "secret", true).await;
    alice.socket.post_to(secret, "s-1", "not for bots").await;
    let refused = crate::support::get_bearer(server.addr, &format!("/api/history?room_id={secret}"), &token).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!refused.body.contains("not for bots"));
    server.stop().await;
}

/// A room created over HTTP takes messages at once, even from a socket busy with earlier frames
/// (whose room_joined frame is still queued behind them).
#[tokio::test]
async fn a_new_room_takes_messages_and_typing_at_once_even_from_a_busy_socket() {
    let (_dir, server) = start().await;
    let mut alice = person(&server, "alice").await;
    for round in 0..20 {
        let (addr, token) = (server.addr, alice.token.clone());
        let created = tokio::spawn(async move {
            crate::support::http(addr, "POST", "/api/create_room", Some(&token), &format!("name=room{round}")).await
        });
        // Writes queued behind the room's creation keep the socket busy while the HTTP answer arrives.
        for i in 0..3 {
            alice.socket.send_message(&format!("g-{round}-{i}"), "busy").await;
        }
        let created = created.await.unwrap();
        assert_eq!(created.status, 200, "{}", created.body);
        let room_id = serde_json::from_str::<Value>(&created.body).unwrap()["id"].as_i64().unwrap();
        alice.socket.send(json!({ "type": "typing", "room_id": room_id })).await;
        alice.socket.send_to(room_id, &format!("r-{round}"), "first words").await;
        let answer = alice.socket.frames_until(|frame| frame["client_msg_id"] == format!("r-{round}")).await;
        let refusals: Vec<&Value> = answer.iter().filter(|frame| frame["type"] == "error").collect();
        assert!(refusals.is_empty(), "round {round}: {refusals:?}");
    }
    server.stop().await;
}
