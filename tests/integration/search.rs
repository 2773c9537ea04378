//! Search through the real server function: words, phrases, prefixes and filters against a real
//! FTS5 index, edits and deletions reflected, paging, errors, and above all never a message from a
//! room the searcher cannot read.

use crate::support::{code, create_room, form_encode, start, TestServer};
use serde_json::Value;

async fn search(server: &TestServer, token: Option<&str>, query: &str) -> (u16, Value) {
    server.call("GET", &format!("/api/search?q={}", form_encode(query)), token, "").await
}

/// The bodies found, newest first.
async fn found(server: &TestServer, token: Option<&str>, query: &str) -> Vec<String> {
    let (status, answer) = search(server, token, query).await;
    assert_eq!(status, 200, "{query}: {answer}");
    answer["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["message"]["body"].as_str().expect("a body").to_owned())
        .collect()
}

fn date_offset(days: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    natter::text::time_format::iso_utc(now + days * 86_400_000)[..10].to_owned()
}

#[tokio::test]
async fn words_phrases_prefixes_and_filters_find_what_they_say() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let (mut alices, _) = server.join_as(&alice, None).await;
    let (mut bobs, _) = server.join_as(&bob, None).await;
    let ops = create_room(&server, &alice, "ops", false).await;
    alices.post("a-1", "the quick brown fox").await;
    alices.post("a-2", "brown and quick, not the phrase").await;
    bobs.post("b-1", "deploying on Friday at the Café").await;
    alices.post_to(ops, "a-3", "deploy failed in ops").await;

    assert_eq!(found(&server, None, "quick brown").await, ["brown and quick, not the phrase", "the quick brown fox"]);
    assert_eq!(found(&server, None, "\"quick brown\"").await, ["the quick brown fox"]);
    assert_eq!(found(&server, None, "deplo*").await, ["deploy failed in ops", "deploying on Friday at the Café"]);
    assert_eq!(found(&server, None, "cafe FRIDAY").await, ["deploying on Friday at the Café"], "case and accents fold");
    assert_eq!(found(&server, None, "deplo* from:bob").await, ["deploying on Friday at the Café"]);
    assert_eq!(found(&server, None, "deplo* in:ops").await, ["deploy failed in ops"]);
    assert_eq!(found(&server, None, "from:@alice in:#ops").await, ["deploy failed in ops"], "filters alone");
    assert_eq!(found(&server, None, "quick from:nobody").await, Vec::<String>::new());
    assert_eq!(found(&server, None, "NEAR(quick brown) OR").await, Vec::<String>::new(), "operators are words");
    // Dates are whole UTC days: before: a day excludes it, after: a day excludes it.
    assert_eq!(found(&server, None, &format!("fox before:{}", date_offset(1))).await.len(), 1);
    assert_eq!(found(&server, None, &format!("fox before:{}", date_offset(0))).await.len(), 0);
    assert_eq!(found(&server, None, &format!("fox after:{}", date_offset(-1))).await.len(), 1);
    assert_eq!(found(&server, None, &format!("fox after:{}", date_offset(0))).await.len(), 0);
    assert_eq!(found(&server, None, "fox has:file").await.len(), 0, "no message has a file yet");

    // The snippet marks what matched; the hit links to the message in context.
    let (_, answer) = search(&server, None, "fox").await;
    let hit = &answer["hits"][0];
    assert_eq!(hit["room_name"], "general");
    assert!(hit["permalink"].as_str().expect("a link").starts_with("/r/general/m/"));
    let marked: Vec<&Value> = hit["snippet"].as_array().expect("parts").iter().filter(|p| p["hit"] == true).collect();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0]["text"], "fox");

    for (query, expected) in [
        ("\"unclosed", "quote is not closed"),
        ("", "Type something"),
        ("before:soon", "YYYY-MM-DD"),
        ("has:gif", "has: takes file"),
    ] {
        let (status, refused) = search(&server, None, query).await;
        assert_eq!((status, code(&refused)), (400, "invalid_search"), "{query}");
        assert!(refused["Invalid"]["message"].as_str().expect("a message").contains(expected), "{refused}");
    }
    server.stop().await;
}

#[tokio::test]
async fn search_never_shows_a_message_from_a_room_the_searcher_cannot_read() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let carol = server.register("carol").await;
    let (mut alices, _) = server.join_as(&alice, None).await;
    let secret = create_room(&server, &alice, "secret", true).await;
    alices.post_to(secret, "s-1", "swordfish in the secret room").await;
    let (status, dm) = server.call("POST", "/api/direct", Some(&alice), "user_id=2").await;
    assert_eq!(status, 200, "{dm}");
    alices.post_to(dm["id"].as_i64().expect("a room"), "d-1", "swordfish for bob only").await;
    alices.post("g-1", "swordfish for everyone").await;

    assert_eq!(found(&server, Some(&alice), "swordfish").await.len(), 3);
    assert_eq!(found(&server, Some(&bob), "swordfish").await, ["swordfish for everyone", "swordfish for bob only"]);
    assert_eq!(found(&server, Some(&carol), "swordfish").await, ["swordfish for everyone"]);
    assert_eq!(found(&server, None, "swordfish").await, ["swordfish for everyone"]);
    for token in [Some(carol.as_str()), None] {
        assert!(found(&server, token, "swordfish in:secret").await.is_empty());
        assert!(found(&server, token, "from:alice").await.iter().all(|body| body == "swordfish for everyone"));
    }
    // A direct conversation is named after the other person, and links to its own path.
    let (_, answer) = search(&server, Some(&bob), "\"bob only\"").await;
    assert_eq!(answer["hits"][0]["room_name"], "alice");
    assert!(answer["hits"][0]["permalink"].as_str().expect("a link").starts_with("/dm/1/m/"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn edits_and_deletions_are_searched_as_they_are_now_and_results_page() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await;
    let (mut socket, _) = server.join_as(&alice, None).await;
    let typo = socket.post("t-1", "meeting at noon in the libary").await["id"].clone();
    let gone = socket.post("t-2", "regrettable library remark").await["id"].clone();
    let form = format!("id={typo}&body={}", form_encode("meeting at noon in the library"));
    assert_eq!(server.call("POST", "/api/edit_message", Some(&alice), &form).await.0, 200);
    assert_eq!(server.call("POST", "/api/delete_message", Some(&alice), &format!("id={gone}")).await.0, 200);
    assert!(found(&server, None, "libary").await.is_empty(), "the old text is gone from the index");
    assert_eq!(found(&server, None, "library").await, ["meeting at noon in the library"], "deleted ones never match");

    for n in 0..25 {
        socket.post(&format!("p-{n}"), &format!("paging {n}")).await;
    }
    let (_, first) = search(&server, None, "paging").await;
    assert_eq!(first["hits"].as_array().expect("hits").len(), 20);
    assert_eq!(first["hits"][0]["message"]["body"], "paging 24", "newest first");
    let next = first["next_before"].as_i64().expect("another page");
    let (_, second) = server.call("GET", &format!("/api/search?q=paging&before={next}"), None, "").await;
    let bodies: Vec<&str> = second["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["message"]["body"].as_str().expect("a body"))
        .collect();
    assert_eq!(bodies, ["paging 4", "paging 3", "paging 2", "paging 1", "paging 0"]);
    assert!(second.get("next_before").is_none());

    // The page renders results on the server, and errors with a 400.
    let (status, html) = server.get("/search?q=library").await;
    assert_eq!(status, 200);
    assert!(html.contains("<mark>library</mark>"), "{html}");
    let (status, html) = server.get("/search?q=%22oops").await;
    assert_eq!(status, 400);
    assert!(html.contains("quote is not closed"));
    server.stop().await;
}
