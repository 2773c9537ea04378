//! Edits, deletions and reactions: who may make them, that every open screen sees them live, and
//! that a client which was away gets each changed message once, in its latest state, on reconnect.

use crate::support::{code, form_encode, start, Client, TestServer};
use serde_json::{json, Value};

async fn edit(server: &TestServer, token: &str, id: &Value, body: &str) -> (u16, Value) {
    server.call("POST", "/api/edit_message", Some(token), &format!("id={id}&body={}", form_encode(body))).await
}

async fn react(server: &TestServer, token: &str, id: &Value, emoji: &str, remove: bool) -> (u16, Value) {
    let form = format!("id={id}&emoji={}&remove={remove}", form_encode(emoji));
    server.call("POST", "/api/react", Some(token), &form).await
}

/// Connects with `hello {since, changes_since}` and returns the client after its welcome.
async fn resume(server: &TestServer, token: &str, since: i64, changes_since: i64) -> (Client, Value) {
    let mut client = server.client(token).await;
    client.send(json!({ "type": "hello", "since": since, "changes_since": changes_since })).await;
    let welcome = client.expect("welcome").await;
    (client, welcome)
}

/// The frames a resumed client gets up to and including its last history page.
async fn replay(client: &mut Client) -> Vec<Value> {
    client.frames_until(|frame| frame["type"] == "history" && frame["complete"] == true).await
}

async fn history_message(server: &TestServer, id: &Value) -> Value {
    let (_, history) = server.call("GET", "/api/history", None, "").await;
    history.as_array().expect("a list").iter().find(|m| m["id"] == *id).cloned().expect("in the history")
}

#[tokio::test]
async fn edits_and_reactions_reach_every_screen_live_and_only_the_allowed_may_make_them() {
    let (_dir, server) = start().await;
    let admin = server.register("alice").await;
    let bob = server.register("bob").await;
    let carol = server.register("carol").await;
    let (mut bobs, _) = server.join_as(&bob, None).await;
    let (mut carols, _) = server.join_as(&carol, None).await;
    let id = bobs.post("b-1", "lunch at noon?").await["id"].clone();

    let (status, answer) = edit(&server, &bob, &id, "lunch at **one**?").await;
    assert_eq!(status, 200, "{answer}");
    for socket in [&mut bobs, &mut carols] {
        let updated = socket.expect("message_updated").await["message"].clone();
        assert_eq!((updated["id"].clone(), updated["body"].clone()), (id.clone(), json!("lunch at **one**?")));
        assert!(updated["edited_at"].is_i64() && updated["rev"] == 1, "{updated}");
    }

    // Someone else's message: refused, nothing changes, nobody hears of it.
    let (status, refused) = edit(&server, &carol, &id, "carol was here").await;
    assert_eq!((status, code(&refused)), (403, "forbidden"));
    let (status, refused) = edit(&server, &bob, &id, "   ").await;
    assert_eq!((status, code(&refused)), (400, "empty_message"));
    let (status, refused) = edit(&server, &bob, &json!(9999), "nothing there").await;
    assert_eq!((status, code(&refused)), (404, "no_such_message"));
    let signed_out = server.call("POST", "/api/edit_message", None, &format!("id={id}&body=x")).await;
    assert_eq!(signed_out.0, 401);
    assert_eq!(history_message(&server, &id).await["body"], "lunch at **one**?");

    // Reactions: carol and bob both 👍, carol takes hers back; doing it twice is harmless.
    assert_eq!(react(&server, &carol, &id, "👍", false).await.0, 200);
    assert_eq!(react(&server, &carol, &id, "👍", false).await.0, 200);
    assert_eq!(react(&server, &bob, &id, "👍", false).await.0, 200);
    let updated = bobs.expect("message_updated").await;
    assert_eq!(updated["message"]["reactions"], json!([{"emoji":"👍","users":[{"user_id":3,"nickname":"carol"}]}]));
    let updated = bobs.expect("message_updated").await;
    assert_eq!(updated["message"]["reactions"][0]["users"].as_array().unwrap().len(), 2, "{updated}");
    assert_eq!(react(&server, &carol, &id, "👍", true).await.0, 200);
    let updated = carols.frames_until(|f| f["type"] == "message_updated" && f["message"]["rev"] == 4).await;
    assert_eq!(
        updated.last().unwrap()["message"]["reactions"],
        json!([{"emoji":"👍","users":[{"user_id":2,"nickname":"bob"}]}])
    );
    for (bad, expected) in [("", "invalid_reaction"), ("+1", "invalid_reaction"), ("<img>", "invalid_reaction")] {
        let (status, refused) = react(&server, &carol, &id, bad, false).await;
        assert_eq!((status, code(&refused)), (400, expected), "{bad:?}");
    }

    // An admin may edit anyone's message (to remove a leaked password, say).
    let (status, answer) = edit(&server, &admin, &id, "lunch at one? [edited by an admin]").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(history_message(&server, &id).await["rev"], 5);
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_was_away_gets_each_changed_message_once_in_its_latest_state() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let (mut alices, _) = server.join_as(&alice, None).await;
    let first = alices.post("a-1", "first").await["id"].clone();
    let second = alices.post("a-2", "second").await["id"].clone();
    let third = alices.post("a-3", "third").await["id"].clone();

    // Bob saw everything so far, then went away.
    let (bobs, welcome) = server.join_as(&bob, None).await;
    let (last_id, last_change) = (welcome["last_id"].as_i64().unwrap(), welcome["last_change"].as_i64().unwrap());
    assert_eq!((last_id, last_change), (third.as_i64().unwrap(), 0));
    bobs.close().await;

    // While he is away: an edit twice over, a deletion, a reaction, and a new message that is edited.
    edit(&server, &alice, &first, "first, edited").await;
    edit(&server, &alice, &first, "first, edited again").await;
    server.call("POST", "/api/delete_message", Some(&alice), &format!("id={second}")).await;
    react(&server, &alice, &third, "🎉", false).await;
    let fourth = alices.post("a-4", "fourth").await["id"].clone();
    edit(&server, &alice, &fourth, "fourth, fixed").await;

    let (mut back, _) = resume(&server, &bob, last_id, last_change).await;
    let mut frames = replay(&mut back).await;
    // Changes follow the missed messages; collect until the last change is in.
    frames.extend(
        back.frames_until(|frame| frame["type"] == "message_updated" && frame["message"]["id"] == fourth).await,
    );
    let missed: Vec<&Value> =
        frames.iter().filter(|f| f["type"] == "history").flat_map(|f| f["messages"].as_array().unwrap()).collect();
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0]["body"], "fourth, fixed", "a missed message arrives in its current state");
    let updates: Vec<(Value, Value)> = frames
        .iter()
        .filter(|f| f["type"] == "message_updated")
        .map(|f| (f["message"]["id"].clone(), f["message"]["body"].clone()))
        .collect();
    assert_eq!(
        updates,
        [
            (first.clone(), json!("first, edited again")),
            (second.clone(), json!("")),
            (third.clone(), json!("third")),
            (fourth.clone(), json!("fourth, fixed")),
        ],
        "each changed message once, in revision order, latest state"
    );
    let deleted = frames.iter().find(|f| f["type"] == "message_updated" && f["message"]["id"] == second).unwrap();
    assert_eq!(deleted["message"]["deleted"], true);

    // From here on, live: a change made now arrives once, not again from the replay.
    react(&server, &alice, &first, "👍", false).await;
    let live = back.expect("message_updated").await;
    assert_eq!((live["message"]["id"].clone(), live["message"]["rev"].clone()), (first.clone(), json!(6)));
    let sentinel = alices.post("a-5", "sentinel").await["id"].clone();
    let rest = back.frames_until(|f| f["type"] == "message" && f["message"]["id"] == sentinel).await;
    assert!(rest.iter().all(|f| f["type"] != "message_updated"), "no duplicates: {rest:?}");

    // A client that resumes from an older change sees only what is newer, in the current state.
    let (mut partial, _) = resume(&server, &bob, sentinel.as_i64().unwrap(), 4).await;
    replay(&mut partial).await;
    let newer = partial.frames_until(|f| f["type"] == "message_updated" && f["message"]["rev"] == 6).await;
    let ids: Vec<Value> =
        newer.iter().filter(|f| f["type"] == "message_updated").map(|f| f["message"]["id"].clone()).collect();
    assert_eq!(ids, [fourth, first], "revisions 5 and 6 only");
    server.stop().await;
}
