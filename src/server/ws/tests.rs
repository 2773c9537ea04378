//! The socket handler driven through channels instead of a TCP socket (it is generic over
//! `Sink`/`Stream`), against a real store in a temp folder: what a client sends, what it is told.

use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use crate::protocol::{Account, RoomId};
use crate::server::config::Settings;
use crate::server::AppState;

/// How long a test waits for one frame before it fails (never reached when the handler works).
const PATIENCE: Duration = Duration::from_secs(10);

/// One client of `serve`, speaking through channels.
struct Client {
    to_server: mpsc::UnboundedSender<Result<Message, WsError>>,
    from_server: mpsc::UnboundedReceiver<Message>,
    session_ended: CancellationToken,
    served: tokio::task::JoinHandle<()>,
}

impl Client {
    fn connect(state: &AppState, account: Account) -> Self {
        let (to_server, incoming) = mpsc::unbounded();
        let (outgoing, from_server) = mpsc::unbounded();
        let session_ended = CancellationToken::new();
        let served =
            tokio::spawn(super::serve(state.clone(), account, None, session_ended.clone(), outgoing, incoming));
        Self { to_server, from_server, session_ended, served }
    }

    fn say(&self, frame: Value) {
        self.to_server.unbounded_send(Ok(Message::Text(frame.to_string().into()))).unwrap();
    }

    fn send_raw(&self, message: Message) {
        self.to_server.unbounded_send(Ok(message)).unwrap();
    }

    async fn next(&mut self) -> Message {
        tokio::time::timeout(PATIENCE, self.from_server.next()).await.expect("a frame in time").expect("open")
    }

    /// The next JSON frame, skipping pings.
    async fn frame(&mut self) -> Value {
        loop {
            if let Message::Text(text) = self.next().await {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    async fn frame_of(&mut self, kind: &str) -> Value {
        self.frame_where(|frame| frame["type"] == kind).await
    }

    async fn frame_where(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let frame = self.frame().await;
            if wanted(&frame) {
                return frame;
            }
        }
    }

    async fn hello(&mut self) -> Value {
        self.say(json!({ "type": "hello" }));
        self.frame_of("welcome").await
    }
}

async fn open() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings { db: dir.path().join("natter.db"), ..Settings::default() };
    (dir, AppState::open(settings).await.unwrap())
}

async fn account(state: &AppState, nickname: &str) -> Account {
    let nickname = crate::server::identity::nickname(nickname).unwrap();
    state.store.create_user(nickname.clone(), nickname.key.into_bytes(), i64::MAX).await.unwrap()
}

#[tokio::test]
async fn hello_is_answered_with_a_welcome_and_a_send_with_its_ack_and_the_message() {
    let (_dir, state) = open().await;
    let mut alice = Client::connect(&state, account(&state, "alice").await);
    let welcome = alice.hello().await;
    assert_eq!(welcome["you"]["nickname"], "alice");
    assert_eq!(welcome["from"], "Natter");
    alice.say(json!({ "type": "send", "client_msg_id": "c-1", "body": "hello, world" }));
    let (mut ack, mut message) = (None, None);
    while ack.is_none() || message.is_none() {
        let frame = alice.frame().await;
        match frame["type"].as_str() {
            Some("ack") => ack = Some(frame),
            Some("message") => message = Some(frame),
            _ => {}
        }
    }
    let (ack, message) = (ack.unwrap(), message.unwrap());
    assert_eq!(ack["client_msg_id"], "c-1");
    assert_eq!(message["message"]["id"], ack["id"], "the ack names the stored message");
    assert_eq!(message["message"]["body"], "hello, world");
    assert_eq!(state.store.history(RoomId(1), None, 10).await.unwrap().len(), 1, "stored once");
}

#[tokio::test]
async fn a_frame_before_hello_is_refused_and_names_the_message_it_refused() {
    let (_dir, state) = open().await;
    let mut alice = Client::connect(&state, account(&state, "alice").await);
    alice.say(json!({ "type": "send", "client_msg_id": "early", "body": "too soon" }));
    let refused = alice.frame_of("error").await;
    assert_eq!(refused["code"], "hello_required");
    assert_eq!(refused["client_msg_id"], "early");
    alice.hello().await;
    assert!(state.store.history(RoomId(1), None, 10).await.unwrap().is_empty(), "nothing stored before hello");
}

#[tokio::test]
async fn bad_frames_get_an_error_frame_and_the_connection_carries_on() {
    let (_dir, state) = open().await;
    let mut alice = Client::connect(&state, account(&state, "alice").await);
    alice.hello().await;
    alice.send_raw(Message::Text("not json".into()));
    assert_eq!(alice.frame_of("error").await["code"], "malformed_frame");
    alice.send_raw(Message::Binary(vec![1, 2, 3].into()));
    assert_eq!(alice.frame_of("error").await["code"], "malformed_frame");
    alice.say(json!({ "type": "send", "client_msg_id": "c-2", "body": "" }));
    let empty = alice.frame_of("error").await;
    assert_eq!(empty["client_msg_id"], "c-2");
    alice.say(json!({ "type": "send", "client_msg_id": "c-3", "body": "still here" }));
    assert_eq!(alice.frame_of("ack").await["client_msg_id"], "c-3");
}

#[tokio::test]
async fn a_second_client_hears_the_first_and_sees_it_leave_when_its_stream_ends() {
    let (_dir, state) = open().await;
    let mut alice = Client::connect(&state, account(&state, "alice").await);
    alice.hello().await;
    let bob_account = account(&state, "bob").await;
    let bob_id = bob_account.id;
    let mut bob = Client::connect(&state, bob_account);
    bob.hello().await;
    // Everyone hears a join, the one who joined too.
    alice.frame_where(|frame| frame["type"] == "user_joined" && frame["nickname"] == "bob").await;
    bob.say(json!({ "type": "send", "client_msg_id": "b-1", "body": "hi alice" }));
    assert_eq!(alice.frame_of("message").await["message"]["body"], "hi alice");
    // The client goes away: its stream ends, the handler returns and presence forgets it.
    drop(bob.to_server);
    tokio::time::timeout(PATIENCE, bob.served).await.expect("the handler ends").unwrap();
    let left = alice.frame_of("user_left").await;
    assert_eq!(left["user_id"], bob_id.get());
    assert!(state.hub.online().iter().all(|user| user.user_id != bob_id));
}

#[tokio::test]
async fn an_ended_session_closes_the_socket_with_a_policy_close_frame() {
    let (_dir, state) = open().await;
    let mut alice = Client::connect(&state, account(&state, "alice").await);
    alice.hello().await;
    alice.session_ended.cancel();
    let closed = loop {
        if let Message::Close(frame) = alice.next().await {
            break frame.expect("a close frame with a reason");
        }
    };
    assert_eq!(closed.code, CloseCode::Policy);
    assert_eq!(closed.reason.as_str(), "session ended");
    tokio::time::timeout(PATIENCE, alice.served).await.expect("the handler ends").unwrap();
}

#[tokio::test]
async fn when_the_store_lost_changes_on_their_way_the_socket_refills_its_rooms_and_presence() {
    let (_dir, state) = open().await;
    let mut alice = Client::connect(&state, account(&state, "alice").await);
    alice.hello().await;
    alice.say(json!({ "type": "send", "client_msg_id": "a-1", "body": "before" }));
    alice.frame_of("message").await;
    state.hub.apply(crate::server::store::StoreEvent::Resync);
    let rooms = alice.frame_of("rooms").await;
    assert_eq!(rooms["rooms"][0]["name"], "general");
    assert_eq!(alice.frame_of("presence").await["online"][0]["nickname"], "alice");
    // Nothing it was sent already comes again, and it carries on live.
    alice.say(json!({ "type": "send", "client_msg_id": "a-2", "body": "after" }));
    assert_eq!(alice.frame_of("message").await["message"]["body"], "after");
}
