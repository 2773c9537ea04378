//! Scrollback and permalinks through the real server functions: paging back and forward with
//! cursors, and a page opened at one message with context, never from a room the reader cannot read.

use crate::support::{code, create_room, start};
use serde_json::Value;

fn bodies(messages: &Value) -> Vec<String> {
    messages.as_array().expect("messages").iter().map(|m| m["body"].as_str().expect("a body").to_owned()).collect()
}

fn expected(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("m{n}")).collect()
}

#[tokio::test]
async fn history_pages_back_and_forward_from_any_message_without_gaps_or_overlap() {
    let (_dir, server) = start().await;
    let token = server.register("alice").await;
    let (mut alice, _) = server.join_as(&token, None).await;
    let mut ids = Vec::new();
    for n in 0..130 {
        ids.push(alice.post(&format!("c{n}"), &format!("m{n}")).await["id"].as_i64().unwrap());
    }

    let (status, newest) = server.call("GET", "/api/history", None, "").await;
    assert_eq!(status, 200);
    assert_eq!(bodies(&newest), expected(80..130));
    let (_, older) = server.call("GET", &format!("/api/history?before={}", ids[80]), None, "").await;
    assert_eq!(bodies(&older), expected(30..80));
    let (_, oldest) = server.call("GET", &format!("/api/history?before={}", ids[30]), None, "").await;
    assert_eq!(bodies(&oldest), expected(0..30), "the last page is short: nothing older");
    let (_, forward) = server.call("GET", &format!("/api/history?after={}&limit=20", ids[9]), None, "").await;
    assert_eq!(bodies(&forward), expected(10..30));
    let (_, present) = server.call("GET", &format!("/api/history?after={}", ids[120]), None, "").await;
    assert_eq!(bodies(&present), expected(121..130));

    for bad in ["before=0", "after=-1", "before=5&after=2"] {
        let (status, refused) = server.call("GET", &format!("/api/history?{bad}"), None, "").await;
        assert_eq!((status, code(&refused)), (400, "invalid_request"), "{bad}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_permalink_opens_the_room_at_its_message_with_context_and_only_for_readers() {
    let (_dir, server) = start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let (mut socket, _) = server.join_as(&alice, None).await;
    let mut ids = Vec::new();
    for n in 0..100 {
        ids.push(socket.post(&format!("c{n}"), &format!("m{n}")).await["id"].as_i64().unwrap());
    }
    let secret = create_room(&server, &alice, "secret", true).await;
    let hidden = socket.post_to(secret, "s-1", "swordfish").await["id"].as_i64().unwrap();

    let (status, page) = server.call("GET", &format!("/api/room_page?room=general&at={}", ids[50]), None, "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(bodies(&page["history"]), expected(25..76), "25 before, the message, 25 after");
    assert_eq!(
        (page["focus"].clone(), page["has_older"].clone(), page["has_newer"].clone()),
        (ids[50].into(), true.into(), true.into())
    );
    let (_, near_start) = server.call("GET", &format!("/api/room_page?room=general&at={}", ids[3]), None, "").await;
    assert_eq!(bodies(&near_start["history"]), expected(0..29));
    assert_eq!(near_start["has_older"], false);
    let (_, newest) = server.call("GET", "/api/room_page?room=general", None, "").await;
    assert_eq!((newest["has_older"].clone(), newest["has_newer"].clone()), (true.into(), false.into()));
    assert_eq!(bodies(&newest["history"]), expected(50..100));

    // The HTML page: the message is there and marked, in the first response.
    let (status, html) = server.get(&format!("/r/general/m/{}", ids[50])).await;
    assert_eq!(status, 200);
    // (Its class goes on with the line's other marks: one of a run is "message focus continued".)
    let marked = format!(r#"data-id="{}" class="message focus"#, ids[50]);
    assert!(html.contains(&marked), "highlighted in the HTML: {}", &html[html.find("data-id").unwrap_or(0)..][..300]);

    // A message of another room, of a room bob cannot read, or no message at all: 404, nothing shown.
    for (path, token) in [
        (format!("/api/room_page?room=general&at={hidden}"), Some(&bob)),
        (format!("/api/room_page?room=general&at={hidden}"), Some(&alice)),
        ("/api/room_page?room=general&at=99999".to_owned(), Some(&bob)),
    ] {
        let (status, refused) = server.call("GET", &path, token.map(String::as_str), "").await;
        assert_eq!((status, code(&refused)), (404, "no_such_message"), "{path}");
    }
    let (status, refused) =
        server.call("GET", &format!("/api/room_page?room=secret&at={hidden}"), Some(&bob), "").await;
    assert_eq!((status, code(&refused)), (403, "not_a_member"));
    assert!(!refused.to_string().contains("swordfish"));
    for path in ["/r/general/m/abc".to_owned(), format!("/r/secret/m/{hidden}")] {
        let page = crate::support::http(server.addr, "GET", &path, Some(&bob), "").await;
        assert!(matches!(page.status, 403 | 404), "{path}: {}", page.status);
        assert!(!page.body.contains("swordfish"));
    }
    let (status, page) = server.call("GET", &format!("/api/room_page?room=secret&at={hidden}"), Some(&alice), "").await;
    assert_eq!((status, bodies(&page["history"])), (200, vec!["swordfish".to_owned()]));
    server.stop().await;
}
