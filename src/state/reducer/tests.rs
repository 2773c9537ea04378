//! The reducer as a reader of the page sees it: each test feeds frames to a chat page (its signals
//! live natively inside a reactive owner) and checks what the page would show or send.

use futures::channel::mpsc;
use leptos::prelude::*;

use super::*;
use crate::protocol::{
    Account, ChatMessage, Member, MessageId, Reactor, Revision, Role, Room, RoomId, RoomKind, RoomPage, UserId,
};
use crate::state::timeline::{Line, LineStatus};

const ME: UserId = UserId(1);
const BOB: UserId = UserId(2);
const CAROL: UserId = UserId(3);
/// The page's room; `RANDOM` is another room of the user's.
const GENERAL: RoomId = crate::protocol::GENERAL_ROOM_ID;
const RANDOM: RoomId = RoomId(2);

fn me() -> Account {
    Account { id: ME, nickname: "me".into(), role: Role::Member, is_bot: false }
}

fn room(id: RoomId, name: &str) -> Room {
    Room::sample(id.get(), name)
}

fn member(user_id: UserId, nickname: &str) -> Member {
    Member { user_id, nickname: nickname.into(), is_bot: false }
}

fn online(user_id: UserId, nickname: &str) -> OnlineUser {
    OnlineUser { user_id, nickname: nickname.into(), idle: false }
}

fn message(id: i64, room_id: RoomId, author_id: UserId, body: &str) -> ChatMessage {
    let nickname = match author_id {
        ME => "me",
        BOB => "bob",
        _ => "carol",
    };
    ChatMessage::sample(id).in_room(room_id).by(author_id, nickname).saying(body).at(id * 1000)
}

/// A signed-in user on `#general`, with `#random` in the sidebar, before the socket opens.
struct Page {
    chat: ChatState,
    link: Link,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Kept for the test's length: the page's signals live in this owner's arena and go with it.
    _owner: Owner,
}

fn page() -> Page {
    let owner = Owner::new();
    owner.set();
    let chat = ChatState::new(RoomPage {
        me: Some(me()),
        room: Some(room(GENERAL, "general")),
        peer: None,
        joined: true,
        history: vec![message(1, GENERAL, BOB, "first")],
        members: vec![member(ME, "me"), member(BOB, "bob")],
        online: Vec::new(),
        rooms: vec![room(GENERAL, "general"), room(RANDOM, "random")],
        directory: Vec::new(),
        focus: None,
        has_older: false,
        has_newer: false,
        last_id: MessageId(1),
        last_change: Revision(0),
        zone_minutes: 0,
    });
    // A stand-in for the socket task: what the page asks it to do lands in `commands`.
    let (sender, commands) = mpsc::unbounded();
    chat.attach(sender);
    Page { chat, link: Link::default(), commands, _owner: owner }
}

fn welcome() -> ServerFrame {
    ServerFrame::Welcome {
        from: "Natter".into(),
        text: "Welcome!".into(),
        you: me(),
        online: vec![online(BOB, "bob"), online(ME, "me")],
        rooms: vec![room(GENERAL, "general"), room(RANDOM, "random")],
        last_id: MessageId(1),
        last_change: Revision(0),
    }
}

impl Page {
    fn apply(&mut self, frame: ServerFrame) -> Reaction {
        self.chat.apply(&mut self.link, frame, 0.0)
    }

    /// Opens a connection and gets its welcome, as after every (re)connect.
    fn connect(&mut self) -> Vec<ClientFrame> {
        let mut sent = self.chat.connected(&mut self.link);
        sent.extend(self.apply(welcome()).send);
        sent
    }

    fn commands(&mut self) -> Vec<Command> {
        std::iter::from_fn(|| self.commands.try_recv().ok()).collect()
    }

    /// The stored messages shown, in order.
    fn ids(&self) -> Vec<i64> {
        self.chat
            .timeline
            .with_untracked(|timeline| timeline.lines().iter().filter_map(|line| line.id.map(MessageId::get)).collect())
    }

    fn line(&self, id: i64) -> Line {
        self.chat.timeline.with_untracked(|timeline| {
            timeline.lines().iter().find(|line| line.id == Some(MessageId(id))).cloned().expect("the line is shown")
        })
    }

    fn notices(&self) -> Vec<String> {
        self.chat.timeline.with_untracked(|timeline| {
            timeline
                .lines()
                .iter()
                .filter(|line| line.status == LineStatus::Notice)
                .map(|line| line.body.clone())
                .collect()
        })
    }

    fn listed_room(&self, id: RoomId) -> Option<Room> {
        self.chat.rooms.with_untracked(|rooms| rooms.iter().find(|room| room.id == id).cloned())
    }

    fn member_names(&self) -> Vec<String> {
        self.chat.members.with_untracked(|members| members.iter().map(|member| member.nickname.clone()).collect())
    }

    fn online_names(&self) -> Vec<String> {
        self.chat.online.with_untracked(|online| online.iter().map(|user| user.nickname.clone()).collect())
    }
}

#[test]
fn the_hello_resumes_after_the_newest_message_the_page_shows() {
    let mut page = page();
    let opening = page.chat.connected(&mut page.link);
    assert_eq!(opening, [ClientFrame::Hello { since: Some(MessageId(1)), changes_since: Some(Revision(0)) }]);
}

#[test]
fn a_welcome_shows_who_i_am_who_is_online_and_my_rooms_and_greets_once_across_reconnects() {
    let mut page = page();
    page.chat.me.set(None);
    page.connect();
    assert_eq!(page.chat.me.get_untracked(), Some(me()));
    assert_eq!(page.chat.nickname.get_untracked(), "me");
    assert_eq!(page.online_names(), ["bob", "me"]);
    assert!(page.listed_room(RANDOM).is_some());
    assert!(page.chat.is_connected());
    assert!(page.link.welcomed());
    assert_eq!(page.notices(), ["Welcome!"]);

    page.chat.connection.set(SocketState::Connecting);
    page.connect();
    assert_eq!(page.notices(), ["Welcome!"], "a reconnect does not greet again");
    assert!(page.chat.is_connected());
}

#[test]
fn history_pages_append_in_id_order_and_a_repeated_page_adds_nothing() {
    let mut page = page();
    page.connect();
    let history = |ids: &[i64]| ServerFrame::History {
        messages: ids.iter().map(|&id| message(id, GENERAL, BOB, "caught up")).collect(),
        complete: true,
    };
    page.apply(history(&[3, 2]));
    page.apply(history(&[3, 4]));
    page.apply(ServerFrame::Message { message: message(4, GENERAL, BOB, "live copy") });
    assert_eq!(page.ids(), [1, 2, 3, 4]);
    assert_eq!(page.chat.resume_from(), MessageId(4), "a reconnect resumes after the newest");
}

#[test]
fn a_welcome_reports_the_room_read_when_i_can_see_it() {
    let mut page = page();
    page.connect();
    assert_eq!(page.commands(), [Command::Read { room_id: GENERAL, last_read_id: MessageId(1) }]);
}

#[test]
fn a_hidden_tab_reports_nothing_read_and_counts_what_arrives_here() {
    let mut page = page();
    page.chat.hidden.set(true);
    page.connect();
    page.apply(ServerFrame::Message { message: message(2, GENERAL, BOB, "hello") });
    page.apply(ServerFrame::Message { message: message(3, GENERAL, ME, "mine") });
    assert_eq!(page.commands(), []);
    assert_eq!(page.chat.unseen_here.get_untracked(), 1, "my own message is not unseen");
}

#[test]
fn a_message_in_another_room_counts_as_unread_there_and_as_a_mention_if_it_names_me() {
    let mut page = page();
    page.connect();
    page.apply(ServerFrame::Message { message: message(2, RANDOM, BOB, "lunch?") });
    page.apply(ServerFrame::Message { message: message(3, RANDOM, BOB, "@me lunch?") });
    page.apply(ServerFrame::Message { message: message(4, RANDOM, ME, "yes") });
    let random = page.listed_room(RANDOM).unwrap();
    assert_eq!((random.unread, random.mentions), (2, 1), "my own message is not unread");
    assert_eq!(page.ids(), [1], "nothing from another room joins this room's list");

    page.apply(ServerFrame::Read { room_id: RANDOM, last_read_id: MessageId(4) });
    let random = page.listed_room(RANDOM).unwrap();
    assert_eq!((random.unread, random.mentions, random.last_read_id.get()), (0, 0, 4), "read in another tab");
}

/// Writes a message on the page and returns the command the page gave the socket task.
fn write(page: &mut Page, body: &str) -> Command {
    assert!(page.chat.submit(body));
    let sends: Vec<_> = page.commands().into_iter().filter(|c| matches!(c, Command::Send { .. })).collect();
    sends.into_iter().next_back().expect("the page asked to send it")
}

fn sent(command: &Command) -> ClientFrame {
    let Command::Send { room_id, client_msg_id, body } = command.clone() else { panic!("not a send") };
    ClientFrame::Send { room_id, client_msg_id, body }
}

fn hello() -> ClientFrame {
    ClientFrame::Hello { since: Some(MessageId(1)), changes_since: Some(Revision(0)) }
}

#[test]
fn a_message_written_offline_goes_behind_the_next_hello_once_and_its_ack_stores_it() {
    let mut page = page();
    let send = write(&mut page, "hello");
    assert_eq!(page.chat.carry_out(&mut page.link, send.clone()), [], "no connection yet: the outbox keeps it");
    assert!(page.chat.timeline.with_untracked(|timeline| timeline.lines().last().unwrap().is_pending()));

    assert_eq!(page.connect(), [hello(), sent(&send)], "behind the hello, and not again after the welcome");
    assert_eq!(page.chat.carry_out(&mut page.link, send.clone()), [], "once per connection");

    let Command::Send { client_msg_id, .. } = send else { unreachable!() };
    page.apply(ServerFrame::Ack { client_msg_id, id: MessageId(7), sent_at: 7_000 });
    assert_eq!(page.line(7).status, LineStatus::Stored);
    assert_eq!(page.ids(), [1, 7], "the pending line became the stored one, not a second line");
    assert_eq!(
        page.connect(),
        [ClientFrame::Hello { since: Some(MessageId(1)), changes_since: Some(Revision(0)) }],
        "acked: not resent; and resumed after what was heard, not after the ack"
    );
}

#[test]
fn an_ack_that_overtakes_earlier_messages_does_not_move_the_resume_point_past_them() {
    let mut page = page();
    page.connect();
    page.apply(ServerFrame::Message { message: message(5, GENERAL, BOB, "heard") });
    let send = write(&mut page, "mine");
    let Command::Send { client_msg_id, .. } = send.clone() else { unreachable!() };
    page.chat.carry_out(&mut page.link, send);
    // 6 to 9 are still on their way when the ack of 10 arrives, and then the socket drops.
    page.apply(ServerFrame::Ack { client_msg_id, id: MessageId(10), sent_at: 10_000 });
    assert_eq!(page.chat.resume_from(), MessageId(5), "6 to 9 would be lost for good");
    let caught_up: Vec<ChatMessage> = (6..=9)
        .map(|id| message(id, GENERAL, BOB, "missed"))
        .chain([ChatMessage {
            client_msg_id: page.line(10).client_msg_id.clone().unwrap(),
            ..message(10, GENERAL, ME, "mine")
        }])
        .collect();
    page.apply(ServerFrame::History { messages: caught_up, complete: true });
    assert_eq!(page.ids(), [1, 5, 6, 7, 8, 9, 10], "each once, the acked line not doubled");
    assert_eq!(page.chat.resume_from(), MessageId(10));
}

#[test]
fn a_message_written_while_connected_goes_at_once_and_again_after_a_reconnect_until_stored() {
    let mut page = page();
    page.connect();
    let send = write(&mut page, "hello");
    assert_eq!(page.chat.carry_out(&mut page.link, send.clone()), [sent(&send)]);

    assert_eq!(page.connect(), [hello(), sent(&send)], "no ack came: the same client_msg_id goes again");

    let Command::Send { client_msg_id, .. } = send else { unreachable!() };
    let mut stored = message(8, GENERAL, ME, "hello");
    stored.client_msg_id = client_msg_id;
    page.apply(ServerFrame::History { messages: vec![stored], complete: true });
    assert_eq!(page.ids(), [1, 8]);
    assert_eq!(page.connect().len(), 1, "its stored copy settles it like an ack");
}

#[test]
fn a_refused_message_waits_for_retry_and_then_goes_again() {
    let mut page = page();
    page.connect();
    let send = write(&mut page, "hello");
    page.chat.carry_out(&mut page.link, send.clone());
    let Command::Send { client_msg_id, .. } = send.clone() else { unreachable!() };
    let refusal = ServerFrame::Error {
        code: ErrorCode::RateLimited,
        message: "Slow down".into(),
        client_msg_id: Some(client_msg_id.clone()),
    };
    page.apply(refusal);
    assert_eq!(page.connect(), [hello()], "a refused message is not resent by itself");

    page.chat.retry(client_msg_id.clone());
    let retry = page.commands().pop().expect("the page asked to retry");
    assert_eq!(retry, Command::Retry(client_msg_id));
    assert_eq!(page.chat.carry_out(&mut page.link, retry), [sent(&send)]);
    assert!(page.chat.timeline.with_untracked(|timeline| timeline.lines().last().unwrap().is_pending()));
}

#[test]
fn a_refused_message_is_marked_with_the_reason_and_other_refusals_show_where_they_belong() {
    let mut page = page();
    page.connect();
    assert!(page.chat.submit("hello"));
    let client_msg_id = page.chat.timeline.with_untracked(|t| t.lines().last().unwrap().client_msg_id.clone());
    let error =
        |code, message: &str, client_msg_id| ServerFrame::Error { code, message: message.into(), client_msg_id };

    page.apply(error(ErrorCode::RateLimited, "Slow down", client_msg_id));
    let last = page.chat.timeline.with_untracked(|t| t.lines().last().unwrap().status.clone());
    assert_eq!(last, LineStatus::Failed("Slow down".into()));
    assert_eq!(page.chat.alert.get_untracked(), None);

    page.apply(error(ErrorCode::NicknameTaken, "Taken", None));
    assert_eq!(page.chat.nickname_error.get_untracked().as_deref(), Some("Taken"));
    page.apply(error(ErrorCode::NotAMember, "Join first", None));
    assert_eq!(page.chat.alert.get_untracked().as_deref(), Some("Join first"));
}

#[test]
fn a_ban_stops_the_page_whatever_it_answers() {
    let mut page = page();
    page.connect();
    page.apply(ServerFrame::Error {
        code: ErrorCode::Banned,
        message: "Banned".into(),
        client_msg_id: Some("x".into()),
    });
    assert!(page.chat.banned.get_untracked());
    assert_eq!(page.chat.alert.get_untracked().as_deref(), Some("Banned"));
    assert!(page.online_names().is_empty());
    assert!(!page.chat.can_post());
}

#[test]
fn edits_reactions_and_deletions_show_unless_an_older_state_arrives_late() {
    let mut page = page();
    page.connect();
    let mut edited = message(1, GENERAL, BOB, "first, edited");
    edited.rev = Revision(2);
    edited.edited_at = Some(5_000);
    edited.reactions = vec![crate::protocol::Reaction {
        emoji: "👍".into(),
        users: vec![Reactor { user_id: ME, nickname: "me".into() }],
    }];
    page.apply(ServerFrame::MessageUpdated { message: edited });
    let line = page.line(1);
    assert_eq!((line.body.as_str(), line.edited, line.reactions.len()), ("first, edited", true, 1));
    assert_eq!(page.chat.resume_changes_from(), Revision(2));

    let mut stale = message(1, GENERAL, BOB, "first");
    stale.rev = Revision(1);
    page.apply(ServerFrame::MessageUpdated { message: stale });
    assert_eq!(page.line(1).body, "first, edited");

    let mut deleted = message(1, GENERAL, BOB, "");
    deleted.rev = Revision(3);
    deleted.deleted = true;
    page.apply(ServerFrame::MessageUpdated { message: deleted });
    assert!(page.line(1).deleted);
}

#[test]
fn rooms_joined_left_and_archived_change_the_sidebar_and_whether_i_may_post_here() {
    let mut page = page();
    page.connect();
    page.apply(ServerFrame::RoomJoined { room: room(RoomId(5), "art") });
    let names: Vec<String> = page.chat.rooms.with_untracked(|rooms| rooms.iter().map(|r| r.name.clone()).collect());
    assert_eq!(names, ["art", "general", "random"], "listed in name order");

    page.apply(ServerFrame::RoomLeft { room_id: RANDOM });
    assert!(page.listed_room(RANDOM).is_none());
    assert!(page.chat.can_post());

    page.apply(ServerFrame::RoomArchived { room_id: GENERAL });
    assert!(page.listed_room(GENERAL).unwrap().archived);
    assert!(!page.chat.can_post(), "an archived room takes no messages");

    page.apply(ServerFrame::RoomLeft { room_id: GENERAL });
    assert!(!page.chat.joined.get_untracked());
}

#[test]
fn a_fresh_room_list_replaces_the_sidebar_and_this_room_is_never_unread() {
    let mut page = page();
    page.connect();
    let mut general = room(GENERAL, "general");
    general.unread = 4;
    page.apply(ServerFrame::Rooms { rooms: vec![general, room(RoomId(9), "later")] });
    assert_eq!(page.listed_room(GENERAL).unwrap().unread, 0);
    assert!(page.listed_room(RoomId(9)).is_some());
    assert!(page.listed_room(RANDOM).is_none());
}

#[test]
fn members_joining_and_leaving_this_room_update_its_member_list_only() {
    let mut page = page();
    page.connect();
    page.apply(ServerFrame::MemberJoined { room_id: GENERAL, member: member(CAROL, "Carol") });
    page.apply(ServerFrame::MemberJoined { room_id: RANDOM, member: member(UserId(4), "dave") });
    assert_eq!(page.member_names(), ["bob", "Carol", "me"]);
    page.apply(ServerFrame::MemberLeft { room_id: GENERAL, user_id: BOB });
    page.apply(ServerFrame::MemberLeft { room_id: RANDOM, user_id: CAROL });
    assert_eq!(page.member_names(), ["Carol", "me"]);
}

#[test]
fn a_rename_relabels_lines_lists_and_conversations_with_a_notice() {
    let mut page = page();
    page.connect();
    let mut direct = room(RoomId(8), "bob");
    direct.kind = RoomKind::Direct;
    direct.peer_id = Some(BOB);
    page.apply(ServerFrame::RoomJoined { room: direct });
    page.apply(ServerFrame::UserRenamed { user_id: BOB, from: "bob".into(), to: "robert".into() });
    assert_eq!(page.line(1).nickname, "robert");
    assert_eq!(page.online_names(), ["me", "robert"], "still sorted");
    assert_eq!(page.member_names(), ["me", "robert"]);
    assert_eq!(page.listed_room(RoomId(8)).unwrap().name, "robert");
    assert_eq!(page.notices().last().map(String::as_str), Some("bob is now known as robert."));
    assert_eq!(page.chat.nickname.get_untracked(), "me", "someone else's rename leaves my field alone");

    page.apply(ServerFrame::UserRenamed { user_id: ME, from: "me".into(), to: "myself".into() });
    assert_eq!(page.chat.nickname.get_untracked(), "myself");
    assert_eq!(page.chat.me.get_untracked().unwrap().nickname, "myself");
}

#[test]
fn my_own_new_nickname_fills_the_field_and_clears_its_error() {
    let mut page = page();
    page.connect();
    page.chat.nickname_error.set(Some("Taken".into()));
    page.apply(ServerFrame::NickOk { nickname: "Me2".into() });
    assert_eq!(page.chat.nickname.get_untracked(), "Me2");
    assert_eq!(page.chat.me.get_untracked().unwrap().nickname, "Me2");
    assert_eq!(page.chat.nickname_error.get_untracked(), None);
}

#[test]
fn presence_frames_keep_the_online_list() {
    let mut page = page();
    page.connect();
    page.apply(ServerFrame::UserJoined { user_id: CAROL, nickname: "carol".into() });
    page.apply(ServerFrame::UserIdle { user_id: BOB, idle: true });
    assert_eq!(page.online_names(), ["bob", "carol", "me"]);
    assert!(page.chat.online.with_untracked(|online| online[0].idle));
    page.apply(ServerFrame::UserLeft { user_id: BOB, nickname: "bob".into() });
    assert_eq!(page.online_names(), ["carol", "me"]);
    page.apply(ServerFrame::Presence { online: vec![online(CAROL, "carol")] });
    assert_eq!(page.online_names(), ["carol"]);
}

#[test]
fn typing_here_shows_until_it_runs_out_or_the_typist_sends() {
    let mut page = page();
    page.connect();
    let typing = |room_id, user_id, nickname: &str| ServerFrame::Typing { room_id, user_id, nickname: nickname.into() };
    let reaction = page.chat.apply(&mut page.link, typing(GENERAL, BOB, "bob"), 1_000.0);
    assert!(reaction.expire_typing_after.is_some_and(|after| after.as_millis() as f64 > TYPING_SHOWN_MS));
    let reaction = page.chat.apply(&mut page.link, typing(RANDOM, CAROL, "carol"), 1_000.0);
    assert_eq!(reaction, Reaction::default(), "typing elsewhere is not shown");
    assert_eq!(page.chat.typing.with_untracked(|t| t.label()).as_deref(), Some("bob is typing…"));

    page.chat.expire_typing(1_000.0 + TYPING_SHOWN_MS + 50.0);
    assert_eq!(page.chat.typing.with_untracked(|t| t.label()), None);

    page.chat.apply(&mut page.link, typing(GENERAL, BOB, "bob"), 9_000.0);
    page.apply(ServerFrame::Message { message: message(2, GENERAL, BOB, "done") });
    assert_eq!(page.chat.typing.with_untracked(|t| t.label()), None, "the message ends the signal");
}

#[test]
fn typing_and_renames_and_read_marks_become_their_frames() {
    let mut page = page();
    page.connect();
    let carry_out = |page: &mut Page, command| page.chat.carry_out(&mut page.link, command);
    assert_eq!(carry_out(&mut page, Command::Typing), [ClientFrame::Typing { room_id: GENERAL }]);
    assert_eq!(carry_out(&mut page, Command::SetNickname("x".into())), [ClientFrame::Nick { nickname: "x".into() }]);
    assert_eq!(
        carry_out(&mut page, Command::Read { room_id: GENERAL, last_read_id: MessageId(3) }),
        [ClientFrame::Read { room_id: GENERAL, last_read_id: MessageId(3) }]
    );
}

#[test]
fn a_hidden_tab_notifies_of_mentions_but_never_of_my_own_messages() {
    let mut page = page();
    page.connect();
    let notice = |page: &mut Page, message| page.apply(ServerFrame::Message { message }).notify;
    assert_eq!(notice(&mut page, message(2, RANDOM, BOB, "@me look")), None, "the tab is visible");

    page.chat.hidden.set(true);
    assert_eq!(notice(&mut page, message(3, RANDOM, BOB, "no mention")), None, "rooms notify of mentions");
    assert_eq!(notice(&mut page, message(4, RANDOM, ME, "@me talking to myself")), None);
    assert_eq!(
        notice(&mut page, message(5, RANDOM, BOB, "@me **look**")),
        Some(Notice {
            title: "bob in #random".into(),
            text: "@me look".into(),
            tag: format!("natter-room-{RANDOM}"),
            target: "/r/random/m/5".into(),
        })
    );
}

#[test]
fn enter_in_the_nickname_field_asks_for_a_rename_once_until_the_server_answers() {
    let mut page = page();
    page.connect();
    page.commands();
    // Enter fires the field's change and the form's submit: both commit the nickname.
    page.chat.nickname.set("maria".into());
    page.chat.commit_nickname();
    page.chat.commit_nickname();
    let renames =
        |commands: Vec<Command>| commands.into_iter().filter(|c| matches!(c, Command::SetNickname(_))).count();
    assert_eq!(renames(page.commands()), 1);
    // Refused: the same name may be asked for again (the other person may have let it go).
    page.apply(ServerFrame::Error { code: ErrorCode::NicknameTaken, message: "taken".into(), client_msg_id: None });
    page.chat.commit_nickname();
    assert_eq!(renames(page.commands()), 1);
    page.apply(ServerFrame::NickOk { nickname: "maria".into() });
    page.chat.commit_nickname();
    assert_eq!(renames(page.commands()), 0, "already my name");
}
