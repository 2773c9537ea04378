//! Golden JSON for every frame, and the validation rules at their edges.

use super::*;
use serde_json::json;

fn sample_message() -> ChatMessage {
    ChatMessage::sample(42).by(UserId(7), "alice").saying("hi <b>there</b>").at(1_764_000_000_000).client_id("c-1")
}

fn general() -> Room {
    Room {
        id: GENERAL_ROOM_ID,
        name: GENERAL_ROOM.into(),
        kind: RoomKind::Public,
        archived: false,
        peer_id: None,
        unread: 3,
        last_read_id: MessageId(38),
        mentions: 1,
        notify: None,
    }
}

fn general_json() -> serde_json::Value {
    json!({"id":1,"name":"general","kind":"public","archived":false,"unread":3,"last_read_id":38,"mentions":1})
}

/// A direct conversation carries the other person's id and is named after them.
fn direct() -> Room {
    Room {
        id: RoomId(9),
        name: "bob".into(),
        kind: RoomKind::Direct,
        archived: false,
        peer_id: Some(UserId(8)),
        unread: 0,
        last_read_id: MessageId(41),
        mentions: 0,
        notify: None,
    }
}

fn direct_json() -> serde_json::Value {
    json!({"id":9,"name":"bob","kind":"direct","archived":false,"peer_id":8,"unread":0,"last_read_id":41,"mentions":0})
}

#[test]
fn client_frames_decode_from_their_documented_json() {
    let cases = [
        (r#"{"type":"hello","since":41}"#, ClientFrame::Hello { since: Some(MessageId(41)), changes_since: None }),
        (
            r#"{"type":"hello","since":41,"changes_since":7}"#,
            ClientFrame::Hello { since: Some(MessageId(41)), changes_since: Some(Revision(7)) },
        ),
        (r#"{"type":"hello"}"#, ClientFrame::Hello { since: None, changes_since: None }),
        // Frames that name no room mean general, so clients from before rooms keep working.
        (r#"{"type":"typing"}"#, ClientFrame::Typing { room_id: GENERAL_ROOM_ID }),
        (r#"{"type":"typing","room_id":5}"#, ClientFrame::Typing { room_id: RoomId(5) }),
        // A frame cannot choose its author: such fields are ignored.
        (
            r#"{"type":"send","client_msg_id":"c-2","body":"hi","nickname":"mallory","author_id":1}"#,
            ClientFrame::Send { room_id: GENERAL_ROOM_ID, client_msg_id: "c-2".into(), body: "hi".into() },
        ),
        (r#"{"type":"nick","nickname":"bob"}"#, ClientFrame::Nick { nickname: "bob".into() }),
        (
            r#"{"type":"send","client_msg_id":"c-1","body":"hello"}"#,
            ClientFrame::Send { room_id: GENERAL_ROOM_ID, client_msg_id: "c-1".into(), body: "hello".into() },
        ),
        (
            r#"{"type":"send","room_id":5,"client_msg_id":"c-3","body":"in a room"}"#,
            ClientFrame::Send { room_id: RoomId(5), client_msg_id: "c-3".into(), body: "in a room".into() },
        ),
        (
            r#"{"type":"read","room_id":5,"last_read_id":42}"#,
            ClientFrame::Read { room_id: RoomId(5), last_read_id: MessageId(42) },
        ),
    ];
    for (text, frame) in cases {
        assert_eq!(decode_client_frame(text).unwrap(), frame, "{text}");
    }
}

#[test]
fn client_frames_encode_with_their_room() {
    let send = ClientFrame::Send { room_id: RoomId(5), client_msg_id: "c-1".into(), body: "hi".into() };
    let encoded: serde_json::Value = serde_json::from_str(&send.to_json()).unwrap();
    assert_eq!(encoded, json!({"type":"send","room_id":5,"client_msg_id":"c-1","body":"hi"}));
    let read = ClientFrame::Read { room_id: RoomId(5), last_read_id: MessageId(42) }.to_json();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&read).unwrap(),
        json!({"type":"read","room_id":5,"last_read_id":42})
    );
}

#[test]
fn server_frames_encode_to_their_documented_json() {
    let cases = [
        (
            ServerFrame::Welcome {
                from: "Natter".into(),
                text: "Welcome, alice!".into(),
                you: Account { id: UserId(7), nickname: "alice".into(), role: Role::Admin, is_bot: false },
                online: vec![OnlineUser { user_id: UserId(7), nickname: "alice".into(), idle: false }],
                rooms: vec![general(), direct()],
                last_id: MessageId(41),
                last_change: Revision(9),
            },
            json!({"type":"welcome","from":"Natter","text":"Welcome, alice!",
                "you":{"id":7,"nickname":"alice","role":"admin","is_bot":false},
                "online":[{"user_id":7,"nickname":"alice","idle":false}],
                "rooms":[general_json(), direct_json()],"last_id":41,"last_change":9}),
        ),
        (
            ServerFrame::Message { message: sample_message() },
            json!({"type":"message","message":{"id":42,"room_id":1,"author_id":7,"nickname":"alice","body":"hi <b>there</b>",
                "sent_at":1_764_000_000_000_i64,"client_msg_id":"c-1","kind":"chat","deleted":false}}),
        ),
        (
            ServerFrame::History { messages: vec![], complete: true },
            json!({"type":"history","messages":[],"complete":true}),
        ),
        (
            ServerFrame::Ack { client_msg_id: "c-1".into(), id: MessageId(42), sent_at: 7 },
            json!({"type":"ack","client_msg_id":"c-1","id":42,"sent_at":7}),
        ),
        (ServerFrame::NickOk { nickname: "bob".into() }, json!({"type":"nick_ok","nickname":"bob"})),
        (
            ServerFrame::MessageUpdated {
                message: ChatMessage {
                    body: "hi **there**".into(),
                    edited_at: Some(1_764_000_001_000),
                    rev: Revision(9),
                    reactions: vec![Reaction {
                        emoji: "👍".into(),
                        users: vec![Reactor { user_id: UserId(8), nickname: "bob".into() }],
                    }],
                    ..sample_message()
                },
            },
            json!({"type":"message_updated","message":{"id":42,"room_id":1,"author_id":7,"nickname":"alice",
                "body":"hi **there**","sent_at":1_764_000_000_000_i64,"client_msg_id":"c-1","kind":"chat",
                "deleted":false,"edited_at":1_764_000_001_000_i64,"rev":9,
                "reactions":[{"emoji":"👍","users":[{"user_id":8,"nickname":"bob"}]}]}}),
        ),
        (
            ServerFrame::Typing { room_id: RoomId(1), user_id: UserId(7), nickname: "alice".into() },
            json!({"type":"typing","room_id":1,"user_id":7,"nickname":"alice"}),
        ),
        (ServerFrame::RoomJoined { room: direct() }, json!({"type":"room_joined","room":direct_json()})),
        (ServerFrame::RoomLeft { room_id: RoomId(5) }, json!({"type":"room_left","room_id":5})),
        (ServerFrame::RoomArchived { room_id: RoomId(5) }, json!({"type":"room_archived","room_id":5})),
        (
            ServerFrame::MemberJoined {
                room_id: RoomId(5),
                member: Member { user_id: UserId(8), nickname: "bob".into(), is_bot: false },
            },
            json!({"type":"member_joined","room_id":5,"member":{"user_id":8,"nickname":"bob","is_bot":false}}),
        ),
        (
            ServerFrame::MemberLeft { room_id: RoomId(5), user_id: UserId(8) },
            json!({"type":"member_left","room_id":5,"user_id":8}),
        ),
        (
            ServerFrame::Read { room_id: RoomId(5), last_read_id: MessageId(42) },
            json!({"type":"read","room_id":5,"last_read_id":42}),
        ),
        (ServerFrame::Rooms { rooms: vec![general()] }, json!({"type":"rooms","rooms":[general_json()]})),
        (
            ServerFrame::UserRenamed { user_id: UserId(7), from: "dave".into(), to: "david".into() },
            json!({"type":"user_renamed","user_id":7,"from":"dave","to":"david"}),
        ),
        (
            ServerFrame::UserJoined { user_id: UserId(8), nickname: "bob".into() },
            json!({"type":"user_joined","user_id":8,"nickname":"bob"}),
        ),
        (
            ServerFrame::UserLeft { user_id: UserId(8), nickname: "bob".into() },
            json!({"type":"user_left","user_id":8,"nickname":"bob"}),
        ),
        (
            ServerFrame::Presence {
                online: vec![OnlineUser { user_id: UserId(8), nickname: "bob".into(), idle: true }],
            },
            json!({"type":"presence","online":[{"user_id":8,"nickname":"bob","idle":true}]}),
        ),
        (ServerFrame::UserIdle { user_id: UserId(8), idle: true }, json!({"type":"user_idle","user_id":8,"idle":true})),
        (
            Rejection::new(ErrorCode::EmptyMessage, "Type a message first.").into_frame(Some("c-1".into())),
            json!({"type":"error","code":"empty_message","message":"Type a message first.","client_msg_id":"c-1"}),
        ),
        (
            Rejection::new(ErrorCode::MalformedFrame, "x").into_frame(None),
            json!({"type":"error","code":"malformed_frame","message":"x"}),
        ),
        (
            Rejection::new(ErrorCode::NotAMember, "x").into_frame(Some("c-9".into())),
            json!({"type":"error","code":"not_a_member","message":"x","client_msg_id":"c-9"}),
        ),
    ];
    for (frame, expected) in cases {
        let encoded: serde_json::Value = serde_json::from_str(&frame.to_json()).unwrap();
        assert_eq!(encoded, expected);
        let decoded: ServerFrame = serde_json::from_value(expected).unwrap();
        assert_eq!(decoded, frame);
    }
}

#[test]
fn bad_frames_get_distinct_codes() {
    let code = |text: &str| decode_client_frame(text).unwrap_err().code;
    assert_eq!(code("not json"), ErrorCode::MalformedFrame);
    assert_eq!(code("[1,2]"), ErrorCode::MalformedFrame);
    assert_eq!(code(r#"{"type":3}"#), ErrorCode::MalformedFrame);
    assert_eq!(code(r#"{"type":"shout","body":"x"}"#), ErrorCode::UnknownFrameType);
    assert_eq!(code(r#"{"type":"send","body":"x"}"#), ErrorCode::MalformedFrame);
    assert_eq!(
        code(r#"{"type":"send","room_id":"general","client_msg_id":"a","body":"x"}"#),
        ErrorCode::MalformedFrame
    );
    assert_eq!(code(r#"{"type":"read","room_id":1}"#), ErrorCode::MalformedFrame);
    let huge = format!(r#"{{"type":"send","client_msg_id":"a","body":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
    assert_eq!(code(&huge), ErrorCode::FrameTooLarge);
}

#[test]
fn nicknames_are_trimmed_and_bounded() {
    assert_eq!(validate_nickname("  alice ").unwrap(), "alice");
    assert_eq!(validate_nickname(&"é".repeat(32)).unwrap().chars().count(), 32);
    for bad in
        ["", "   ", &"a".repeat(33), "al\u{200B}ice", "ali\u{202E}ce", "a\u{0007}b", "line\nbreak", "natter", "NATTER"]
    {
        assert_eq!(validate_nickname(bad).unwrap_err().code, ErrorCode::InvalidNickname, "{bad:?}");
    }
}

#[test]
fn bodies_keep_their_text_and_lose_surrounding_blank_lines() {
    assert_eq!(validate_body("\n\nhello\r\nworld\n\n").unwrap(), "hello\nworld");
    assert_eq!(validate_body("    indented code").unwrap(), "    indented code");
    assert_eq!(validate_body("\n \n\tfn main() {}\n").unwrap(), "\tfn main() {}");
    assert_eq!(validate_body("<script>alert(1)</script>").unwrap(), "<script>alert(1)</script>");
    assert_eq!(validate_body(&"x".repeat(MAX_MESSAGE_CHARS)).unwrap().len(), MAX_MESSAGE_CHARS);
    let padded = format!("\n\n{}  \n\n", "x".repeat(MAX_MESSAGE_CHARS));
    assert_eq!(body_chars(&padded), MAX_MESSAGE_CHARS, "the counter counts what is kept");
    assert!(validate_body(&padded).is_ok(), "and the server takes it");
    assert_eq!(body_chars(" \n\t "), 0);
    assert_eq!(body_chars("\n  indented"), "  indented".chars().count());
}

#[test]
fn bad_bodies_are_refused_with_their_reason() {
    let code = |body: &str| validate_body(body).unwrap_err().code;
    assert_eq!(code(""), ErrorCode::EmptyMessage);
    assert_eq!(code(" \n\t \r\n "), ErrorCode::EmptyMessage);
    assert_eq!(code(&"x".repeat(MAX_MESSAGE_CHARS + 1)), ErrorCode::MessageTooLong);
    assert_eq!(code("nul\u{0}byte"), ErrorCode::InvalidCharacters);
}

#[test]
fn room_names_are_lowercase_ascii_slugs() {
    assert_eq!(validate_room_name("  Rust Talk ").unwrap(), "rust-talk");
    assert_eq!(validate_room_name("off_topic-2").unwrap(), "off_topic-2");
    assert_eq!(validate_room_name("42").unwrap(), "42");
    assert_eq!(validate_room_name(&"a".repeat(MAX_ROOM_NAME_CHARS)).unwrap().len(), MAX_ROOM_NAME_CHARS);
    for bad in [
        "",
        "   ",
        "a",
        &"a".repeat(MAX_ROOM_NAME_CHARS + 1),
        "-dash-first",
        "_underscore",
        "café",
        "r\u{0430}st", // a Cyrillic а that looks like a Latin one
        "dm:1:2",      // the shape of a direct conversation's key
        "a/b",
        "zero\u{200B}width",
    ] {
        assert_eq!(validate_room_name(bad).unwrap_err().code, ErrorCode::InvalidRoomName, "{bad:?}");
    }
}

#[test]
fn rooms_live_at_their_name_and_conversations_at_the_peer() {
    assert_eq!(general().path(), "/r/general");
    assert_eq!(direct().path(), "/dm/8");
}

#[test]
fn passwords_must_be_long_enough_and_not_absurdly_long() {
    assert!(validate_password("correct horse").is_ok());
    assert!(validate_password("çççççççç").is_ok());
    for bad in ["", "short", &"x".repeat(257)] {
        assert_eq!(validate_password(bad).unwrap_err().code, ErrorCode::InvalidPassword);
    }
}

#[test]
fn client_msg_ids_are_short_and_plain() {
    assert!(validate_client_msg_id("0b6f2c9e-8d0c-4a5e-9a43-2d1f7c1e9b10").is_ok());
    for bad in ["", "has space", "<x>", &"a".repeat(65)] {
        assert!(validate_client_msg_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn history_limits_are_clamped() {
    assert_eq!(history_limit(None), HISTORY_PAGE);
    assert_eq!(history_limit(Some(0)), 1);
    assert_eq!(history_limit(Some(10_000)), MAX_HISTORY_PAGE);
}

mod properties {
    //! Any input at all: the checks never panic, and what they accept they accept again unchanged.
    //! `scripts/fuzz.sh` runs these for much longer than the test suite does.
    use super::super::*;
    use proptest::prelude::*;

    fn any_client_frame() -> impl Strategy<Value = ClientFrame> {
        prop_oneof![
            (proptest::option::of(any::<i64>()), proptest::option::of(any::<i64>())).prop_map(
                |(since, changes_since)| ClientFrame::Hello {
                    since: since.map(MessageId),
                    changes_since: changes_since.map(Revision)
                }
            ),
            any::<String>().prop_map(|nickname| ClientFrame::Nick { nickname }),
            (any::<i64>(), any::<String>(), any::<String>()).prop_map(|(room_id, client_msg_id, body)| {
                ClientFrame::Send { room_id: RoomId(room_id), client_msg_id, body }
            }),
            any::<i64>().prop_map(|room_id| ClientFrame::Typing { room_id: RoomId(room_id) }),
            (any::<i64>(), any::<i64>()).prop_map(|(room_id, last_read_id)| ClientFrame::Read {
                room_id: RoomId(room_id),
                last_read_id: MessageId(last_read_id)
            }),
        ]
    }

    /// Text that looks like frames: JSON punctuation, frame words and odd characters.
    fn frame_like_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("\"type\":".to_owned()),
            Just("\"send\"".to_owned()),
            Just("\"hello\"".to_owned()),
            Just("\"body\":".to_owned()),
            Just("\"client_msg_id\":".to_owned()),
            Just("\"room_id\":".to_owned()),
            Just(",".to_owned()),
            Just("null".to_owned()),
            Just("1e999".to_owned()),
            Just("-9223372036854775809".to_owned()),
            any::<String>(),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn decoding_never_panics(text in prop_oneof![any::<String>(), frame_like_text()]) {
            let _ = decode_client_frame(&text);
        }

        #[test]
        fn every_frame_decodes_to_itself(frame in any_client_frame()) {
            prop_assert_eq!(decode_client_frame(&frame.to_json()).unwrap(), frame);
        }

        #[test]
        fn an_accepted_body_is_accepted_again_unchanged(raw in any::<String>()) {
            if let Ok(body) = validate_body(&raw) {
                prop_assert_eq!(validate_body(&body), Ok(body.clone()));
                prop_assert!(body.chars().count() <= MAX_MESSAGE_CHARS);
                prop_assert!(!body.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
            }
        }

        #[test]
        fn an_accepted_nickname_is_accepted_again_unchanged(raw in any::<String>()) {
            if let Ok(nickname) = validate_nickname(&raw) {
                prop_assert_eq!(validate_nickname(&nickname), Ok(nickname.clone()));
                prop_assert!(!nickname.chars().any(char::is_control));
            }
        }

        #[test]
        fn an_accepted_room_name_is_plain_and_stable(raw in any::<String>()) {
            if let Ok(name) = validate_room_name(&raw) {
                prop_assert_eq!(validate_room_name(&name), Ok(name.clone()));
                prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
            }
        }
    }
}

#[test]
fn a_reaction_is_exactly_one_emoji() {
    for emoji in ["👍", "❤️", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "🇫🇷", "1️⃣", "✅", "☕", "🫠", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", " 🎉 "]
    {
        assert_eq!(validate_reaction(emoji).as_deref(), Ok(emoji.trim()), "{emoji:?}");
    }
    for bad in [
        "",
        " ",
        "a",
        "+1",
        ":)",
        "👍👍",
        "👍 x",
        "<b>",
        "\u{200D}",
        "👍\u{200D}",
        "\u{1F3FB}",
        "\u{FE0F}",
        "1",
        "🎉\u{202E}",
        "🇫",
        "🇫🇷🇫",
        &"👍".repeat(9),
    ] {
        let refused = validate_reaction(bad).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidReaction, "{bad:?}");
    }
}

#[test]
fn notifications_default_to_everything_in_conversations_and_mentions_elsewhere() {
    let (room, conversation) = (general(), direct());
    assert!(!room.notifies(false) && room.notifies(true));
    assert!(conversation.notifies(false));
    let chosen = |notify| Room { notify: Some(notify), ..general() };
    assert!(chosen(NotifyLevel::All).notifies(false));
    assert!(!chosen(NotifyLevel::Nothing).notifies(true));
    assert!(!Room { notify: Some(NotifyLevel::Mentions), ..direct() }.notifies(false));
}
