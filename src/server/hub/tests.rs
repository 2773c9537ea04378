//! The hub's tests, one file for all its parts: most of them watch frames from several parts
//! at once (a join, its presence frame, the cap it counts towards).

use std::net::IpAddr;

use tokio::sync::broadcast::error::TryRecvError;

use super::*;
use crate::protocol::OnlineUser;
use crate::server::store::Present;

fn message(id: i64) -> ChatMessage {
    ChatMessage::sample(id).by(UserId(1), "a").client_id(&id.to_string())
}

fn drain_batches(receiver: &mut broadcast::Receiver<Batch>) -> Vec<Batch> {
    let mut batches = Vec::new();
    loop {
        match receiver.try_recv() {
            Ok(batch) => batches.push(batch),
            Err(TryRecvError::Empty) => return batches,
            Err(other) => panic!("{other:?}"),
        }
    }
}

fn drain(receiver: &mut broadcast::Receiver<Batch>) -> Vec<Broadcast> {
    drain_batches(receiver).iter().flat_map(|batch| batch.iter().cloned()).collect()
}

#[test]
fn every_subscriber_gets_every_message_in_order_sharing_one_encoding() {
    let hub = Hub::new(64);
    let mut receivers: Vec<_> = (0..100).map(|_| hub.subscribe()).collect();
    hub.publish_messages(&[message(1), message(2), message(3)]);
    let first: Vec<_> = receivers.iter_mut().map(drain_batches).collect();
    for batches in &first {
        // One commit's messages are one batch: a reader is woken once for all three.
        assert_eq!(batches.len(), 1);
        assert_eq!(
            batches[0].iter().map(|f| f.message_id.map(MessageId::get)).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3)]
        );
        // The same allocation for everyone: encoded once.
        assert!(Arc::ptr_eq(&batches[0], &first[0][0]));
    }
    let decoded: ServerFrame = serde_json::from_str(first[0][0][1].text.as_str()).unwrap();
    assert_eq!(decoded, ServerFrame::Message { message: message(2) });
    // A message goes to its room's members only.
    let mut elsewhere = message(4);
    elsewhere.room_id = RoomId(5);
    hub.publish_messages(&[elsewhere]);
    assert_eq!(drain(&mut receivers[0])[0].audience, Audience::Room(RoomId(5)));
    assert_eq!(first[0][0][0].audience, Audience::Room(crate::protocol::GENERAL_ROOM_ID));
}

#[test]
fn presence_counts_connections_and_announces_only_first_join_and_last_leave() {
    let hub = Hub::new(64);
    let mut watcher = hub.subscribe();
    let names = |hub: &Hub| hub.online().into_iter().map(|user| user.nickname).collect::<Vec<_>>();
    hub.join(UserId(2), "bob");
    hub.join(UserId(1), "alice");
    hub.join(UserId(1), "alice");
    assert_eq!(names(&hub), ["alice", "bob"]);
    hub.leave(UserId(1));
    assert_eq!(names(&hub), ["alice", "bob"]);
    hub.leave(UserId(1));
    hub.leave(UserId(99));
    assert_eq!(names(&hub), ["bob"]);
    hub.rename(UserId(2), "bob", "Bobby");
    assert_eq!(names(&hub), ["Bobby"]);
    let frames: Vec<ServerFrame> =
        drain(&mut watcher).iter().map(|f| serde_json::from_str(f.text.as_str()).unwrap()).collect();
    assert_eq!(
        frames,
        [
            ServerFrame::UserJoined { user_id: UserId(2), nickname: "bob".into() },
            ServerFrame::UserJoined { user_id: UserId(1), nickname: "alice".into() },
            ServerFrame::UserLeft { user_id: UserId(1), nickname: "alice".into() },
            ServerFrame::UserRenamed { user_id: UserId(2), from: "bob".into(), to: "Bobby".into() },
        ]
    );
}

fn present(user_id: i64, nickname: &str, idle: bool, connections: u32) -> Present {
    Present { user_id: UserId(user_id), nickname: nickname.into(), idle, connections }
}

fn frames(receiver: &mut broadcast::Receiver<Batch>) -> Vec<ServerFrame> {
    drain(receiver).iter().map(|f| serde_json::from_str(f.text.as_str()).unwrap()).collect()
}

#[test]
fn a_user_here_and_on_other_servers_is_online_once_and_leaves_with_their_last_socket_anywhere() {
    let hub = Hub::new(64);
    let mut watcher = hub.subscribe();
    let (alice, bob) = (UserId(1), UserId(2));
    hub.elsewhere(&[present(1, "alice", false, 1)]);
    hub.join(alice, "alice");
    hub.elsewhere(&[]);
    assert_eq!(hub.online().len(), 1, "still here");
    hub.leave(alice);
    // Two other servers: idle on one, active on the other is active.
    hub.elsewhere(&[present(2, "bob", true, 1), present(2, "bob", false, 2)]);
    assert_eq!(hub.online(), [OnlineUser { user_id: bob, nickname: "bob".into(), idle: false }]);
    hub.elsewhere(&[present(2, "bob", true, 1)]);
    hub.elsewhere(&[present(2, "bob", true, 1)]);
    hub.elsewhere(&[]);
    assert!(hub.online().is_empty());
    assert_eq!(
        frames(&mut watcher),
        [
            ServerFrame::UserJoined { user_id: alice, nickname: "alice".into() },
            ServerFrame::UserLeft { user_id: alice, nickname: "alice".into() },
            ServerFrame::UserJoined { user_id: bob, nickname: "bob".into() },
            ServerFrame::UserIdle { user_id: bob, idle: true },
            ServerFrame::UserLeft { user_id: bob, nickname: "bob".into() },
        ],
        "each change once, whichever server it happened on"
    );
}

#[test]
fn someone_idle_everywhere_arrives_idle_and_is_idle_here_only_when_idle_there_too() {
    let hub = Hub::new(64);
    let mut watcher = hub.subscribe();
    hub.elsewhere(&[present(3, "carol", true, 1)]);
    hub.join(UserId(3), "carol");
    hub.sweep_idle(Duration::ZERO);
    assert!(hub.online()[0].idle);
    assert_eq!(
        frames(&mut watcher),
        [
            ServerFrame::UserJoined { user_id: UserId(3), nickname: "carol".into() },
            ServerFrame::UserIdle { user_id: UserId(3), idle: true },
            ServerFrame::UserIdle { user_id: UserId(3), idle: false },
            ServerFrame::UserIdle { user_id: UserId(3), idle: true },
        ]
    );
    assert_eq!(hub.here(), [present(3, "carol", true, 1)], "what the other servers are told");
}

#[test]
fn a_rename_renames_a_user_online_elsewhere_without_a_second_arrival() {
    let hub = Hub::new(64);
    hub.elsewhere(&[present(4, "dave", false, 1)]);
    let mut watcher = hub.subscribe();
    hub.rename(UserId(4), "dave", "David");
    // The other server still says "dave" until its next heartbeat.
    hub.elsewhere(&[present(4, "dave", false, 1)]);
    assert_eq!(hub.online()[0].nickname, "David");
    assert_eq!(
        frames(&mut watcher),
        [ServerFrame::UserRenamed { user_id: UserId(4), from: "dave".into(), to: "David".into() }]
    );
}

#[test]
fn the_cap_per_user_counts_their_sockets_on_other_servers() {
    let hub = Arc::new(Hub::new(4));
    let caps = ConnectionCaps { per_user: 3, per_address: 10 };
    hub.elsewhere(&[present(1, "alice", false, 1), present(1, "alice", false, 1)]);
    let here = hub.register(vec![1], UserId(1), None, caps);
    assert!(here.is_some());
    assert!(hub.register(vec![1], UserId(1), None, caps).is_none(), "two elsewhere and one here");
    hub.elsewhere(&[present(1, "alice", false, 1)]);
    assert!(hub.register(vec![1], UserId(1), None, caps).is_some());
}

#[test]
fn typing_elsewhere_reaches_the_room_but_not_the_typist_and_is_not_thinned_again() {
    let hub = Hub::new(16);
    let mut watcher = hub.subscribe();
    let signal = TypingSignal { room_id: RoomId(5), user_id: UserId(7), nickname: "alice".into() };
    hub.typing_elsewhere(&signal);
    hub.apply(StoreEvent::TypingElsewhere(&signal));
    let heard = drain(&mut watcher);
    assert_eq!(heard.len(), 2, "the other server thinned them");
    assert_eq!(heard[0].audience, Audience::RoomExcept(RoomId(5), UserId(7)));
}

#[test]
fn inactive_users_go_idle_and_come_back_on_activity() {
    let hub = Hub::new(16);
    hub.join(UserId(1), "alice");
    hub.join(UserId(2), "bob");
    let mut watcher = hub.subscribe();
    std::thread::sleep(Duration::from_millis(30));
    hub.touch(UserId(2));
    hub.sweep_idle(Duration::from_millis(20));
    hub.sweep_idle(Duration::from_millis(20));
    let idle: Vec<(String, bool)> = hub.online().into_iter().map(|u| (u.nickname, u.idle)).collect();
    assert_eq!(idle, [("alice".into(), true), ("bob".into(), false)]);
    hub.touch(UserId(1));
    assert!(!hub.online()[0].idle);
    let frames: Vec<ServerFrame> =
        drain(&mut watcher).iter().map(|f| serde_json::from_str(f.text.as_str()).unwrap()).collect();
    assert_eq!(
        frames,
        [
            ServerFrame::UserIdle { user_id: UserId(1), idle: true },
            ServerFrame::UserIdle { user_id: UserId(1), idle: false }
        ],
        "announced once each way"
    );
}

#[test]
fn typing_signals_are_thinned_and_go_to_the_room_but_not_the_typist() {
    let hub = Hub::new(16);
    let mut watcher = hub.subscribe();
    assert!(hub.typing(RoomId(5), UserId(7), "alice"));
    assert!(!hub.typing(RoomId(5), UserId(7), "alice"), "a second signal within the interval is not passed on");
    assert!(hub.typing(RoomId(5), UserId(8), "bob"), "other users are not held back");
    let frames = drain(&mut watcher);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].audience, Audience::RoomExcept(RoomId(5), UserId(7)));
    let decoded: ServerFrame = serde_json::from_str(frames[0].text.as_str()).unwrap();
    assert_eq!(decoded, ServerFrame::Typing { room_id: RoomId(5), user_id: UserId(7), nickname: "alice".into() });
    let mut sent = message(1);
    sent.author_id = UserId(7);
    hub.publish_messages(&[sent]);
    assert!(hub.typing(RoomId(5), UserId(7), "alice"), "after sending, typing again is passed on at once");
}

#[test]
fn each_audience_reaches_exactly_its_users() {
    let frame = |audience| Broadcast::new(audience, &ServerFrame::RoomLeft { room_id: RoomId(5) });
    // User 1 is in general and room 5, user 2 only in general, user 3 in nothing.
    let rooms_of = |user_id: UserId| {
        move |room: RoomId| (user_id != UserId(3) && room == RoomId(1)) || (user_id == UserId(1) && room == RoomId(5))
    };
    let reached = |broadcast: &Broadcast| {
        (1..=3).map(UserId).filter(|&u| broadcast.is_for(u, rooms_of(u))).map(UserId::get).collect::<Vec<_>>()
    };
    assert_eq!(reached(&frame(Audience::Everyone)), [1, 2, 3]);
    assert_eq!(reached(&frame(Audience::Room(RoomId(1)))), [1, 2]);
    assert_eq!(reached(&frame(Audience::Room(RoomId(5)))), [1]);
    assert_eq!(reached(&frame(Audience::Room(RoomId(6)))), Vec::<i64>::new());
    assert_eq!(reached(&frame(Audience::RoomExcept(RoomId(1), UserId(1)))), [2], "not the typist, not a non-member");
    assert_eq!(reached(&frame(Audience::RoomExcept(RoomId(5), UserId(1)))), Vec::<i64>::new());
    assert_eq!(reached(&frame(Audience::User(UserId(3)))), [3], "a user's own frames need no room");
    assert_eq!(reached(&frame(Audience::User(UserId(2)))), [2]);
}

#[test]
fn room_changes_travel_with_the_frames_that_announce_them() {
    let hub = Hub::new(16);
    let mut watcher = hub.subscribe();
    let room = Room::sample(5, "lounge");
    let member = Member { user_id: UserId(8), nickname: "bob".into(), is_bot: false };
    hub.member_joined(&room, &member);
    hub.member_left(RoomId(5), UserId(8));
    hub.room_archived(RoomId(5));
    hub.read(UserId(8), RoomId(5), MessageId(42));
    hub.publish_updated(&ChatMessage {
        room_id: RoomId(5),
        rev: Revision(7),
        deleted: true,
        body: String::new(),
        ..message(42)
    });
    let routes: Vec<(Audience, Option<RoomChange>, ServerFrame)> = drain(&mut watcher)
        .iter()
        .map(|f| (f.audience, f.room_change, serde_json::from_str(f.text.as_str()).unwrap()))
        .collect();
    assert_eq!(
        routes,
        [
            (
                Audience::User(UserId(8)),
                Some(RoomChange::Joined { user_id: UserId(8), room_id: RoomId(5) }),
                ServerFrame::RoomJoined { room: room.clone() }
            ),
            (Audience::Room(RoomId(5)), None, ServerFrame::MemberJoined { room_id: RoomId(5), member: member.clone() }),
            (
                Audience::User(UserId(8)),
                Some(RoomChange::Left { user_id: UserId(8), room_id: RoomId(5) }),
                ServerFrame::RoomLeft { room_id: RoomId(5) }
            ),
            (Audience::Room(RoomId(5)), None, ServerFrame::MemberLeft { room_id: RoomId(5), user_id: UserId(8) }),
            (
                Audience::Room(RoomId(5)),
                Some(RoomChange::Archived { room_id: RoomId(5) }),
                ServerFrame::RoomArchived { room_id: RoomId(5) }
            ),
            (Audience::User(UserId(8)), None, ServerFrame::Read { room_id: RoomId(5), last_read_id: MessageId(42) }),
            (
                Audience::Room(RoomId(5)),
                None,
                ServerFrame::MessageUpdated {
                    message: ChatMessage {
                        room_id: RoomId(5),
                        rev: Revision(7),
                        deleted: true,
                        body: String::new(),
                        ..message(42)
                    }
                }
            ),
        ]
    );
}

const CAPS: ConnectionCaps = ConnectionCaps { per_user: 10, per_address: 10 };

#[test]
fn connections_are_capped_per_user_and_per_address() {
    let hub = Arc::new(Hub::new(4));
    let caps = ConnectionCaps { per_user: 2, per_address: 3 };
    let home: Option<IpAddr> = Some([10, 0, 0, 1].into());
    let alice = [hub.register(vec![1], UserId(1), home, caps), hub.register(vec![1], UserId(1), home, caps)];
    assert!(alice.iter().all(Option::is_some));
    assert!(hub.register(vec![1], UserId(1), Some([10, 0, 0, 2].into()), caps).is_none(), "a third for alice");
    let bob = hub.register(vec![2], UserId(2), home, caps);
    assert!(bob.is_some());
    assert!(hub.register(vec![3], UserId(3), home, caps).is_none(), "a fourth from one address");
    assert!(hub.register(vec![3], UserId(3), None, caps).is_some(), "an unknown address is not counted");
    drop(bob);
    assert!(hub.register(vec![3], UserId(3), home, caps).is_some(), "a closed socket frees its place");
}

#[test]
fn ending_a_session_closes_only_its_connections() {
    let hub = Arc::new(Hub::new(4));
    let register = |session: &[u8], user_id| hub.register(session.to_vec(), user_id, None, CAPS).unwrap();
    let first = register(b"one", UserId(1));
    let second = register(b"one", UserId(1));
    let other_session = register(b"two", UserId(1));
    let other_user = register(b"three", UserId(2));
    hub.end_session(b"one");
    assert!(first.closed.is_cancelled() && second.closed.is_cancelled());
    assert!(!other_session.closed.is_cancelled());
    hub.end_user(UserId(1));
    assert!(other_session.closed.is_cancelled(), "a ban closes every session of the user");
    assert!(!other_user.closed.is_cancelled());
    drop(first);
    assert_eq!(lock(&hub.connections).open.len(), 3);
}

#[test]
fn a_slow_subscriber_is_told_it_lagged_instead_of_silently_missing_frames() {
    let hub = Hub::new(4);
    let mut slow = hub.subscribe();
    for id in 1..=10 {
        hub.publish_messages(&[message(id)]);
    }
    assert!(matches!(slow.try_recv(), Err(TryRecvError::Lagged(6))));
}

#[test]
fn changes_lost_on_their_way_have_every_connection_refill_in_order_with_the_rest() {
    let hub = Hub::new(8);
    let mut receiver = hub.subscribe();
    hub.publish_messages(&[message(1)]);
    hub.apply(StoreEvent::Resync);
    hub.publish_messages(&[message(3)]);
    let frames = drain(&mut receiver);
    let resyncs: Vec<bool> = frames.iter().map(|frame| frame.resync).collect();
    assert_eq!(resyncs, [false, true, false]);
    assert!(frames[1].is_for(UserId(42), |_| false), "every connection, whatever its rooms");
    assert!(frames[1].text.is_empty(), "it is not a frame for the client");
}
