//! Fan-out and presence. Every frame meant for everyone is encoded once here and its bytes shared
//! by all sockets (`Utf8Bytes` clones are reference counts), so a message to a thousand readers costs
//! one serialisation, not a thousand.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;

use crate::protocol::{ChatMessage, ServerFrame};

/// One frame for every connection, already encoded.
#[derive(Debug)]
pub struct Broadcast {
    /// The id of the chat message inside, so a connection that already delivered it from the
    /// database during catch-up can skip the live copy.
    pub message_id: Option<i64>,
    pub text: Utf8Bytes,
}

impl Broadcast {
    fn new(message_id: Option<i64>, frame: &ServerFrame) -> Arc<Self> {
        Arc::new(Self { message_id, text: frame.to_json().into() })
    }
}

pub struct Hub {
    sender: broadcast::Sender<Arc<Broadcast>>,
    /// Open connections per nickname: a person with three tabs is online once.
    online: Mutex<BTreeMap<String, usize>>,
}

impl Hub {
    /// `capacity` frames may wait for the slowest connection before it lags and must resync.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self { sender, online: Mutex::new(BTreeMap::new()) }
    }

    /// Subscribe before reading anything from the database, so nothing committed in between is missed.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Broadcast>> {
        self.sender.subscribe()
    }

    /// Sends freshly committed messages to every connection, in the order given.
    pub fn publish_messages(&self, messages: &[ChatMessage]) {
        for message in messages {
            let frame = ServerFrame::Message { message: message.clone() };
            self.publish(Broadcast::new(Some(message.id), &frame));
        }
    }

    /// Counts a connection as `nickname`; announces the nickname when it was not online before.
    pub fn join(&self, nickname: &str) {
        let mut online = self.lock_online();
        let connections = online.entry(nickname.to_owned()).or_insert(0);
        *connections += 1;
        if *connections == 1 {
            // Published under the lock so join and leave announcements keep the order of the counts.
            self.publish(Broadcast::new(None, &ServerFrame::UserJoined { nickname: nickname.to_owned() }));
        }
    }

    /// Uncounts a connection; announces the nickname's departure when it was the last one.
    pub fn leave(&self, nickname: &str) {
        let mut online = self.lock_online();
        let Some(connections) = online.get_mut(nickname) else { return };
        *connections -= 1;
        if *connections == 0 {
            online.remove(nickname);
            self.publish(Broadcast::new(None, &ServerFrame::UserLeft { nickname: nickname.to_owned() }));
        }
    }

    /// Nicknames online now, sorted.
    pub fn online(&self) -> Vec<String> {
        self.lock_online().keys().cloned().collect()
    }

    fn publish(&self, broadcast: Arc<Broadcast>) {
        // An error only means nobody is connected, which is fine: messages are already stored.
        let _ = self.sender.send(broadcast);
    }

    fn lock_online(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, usize>> {
        self.online.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    fn message(id: i64) -> ChatMessage {
        ChatMessage { id, nickname: "a".into(), body: format!("m{id}"), sent_at: 0, client_msg_id: format!("{id}") }
    }

    fn drain(receiver: &mut broadcast::Receiver<Arc<Broadcast>>) -> Vec<Arc<Broadcast>> {
        let mut frames = Vec::new();
        loop {
            match receiver.try_recv() {
                Ok(frame) => frames.push(frame),
                Err(TryRecvError::Empty) => return frames,
                Err(other) => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn every_subscriber_gets_every_message_in_order_sharing_one_encoding() {
        let hub = Hub::new(64);
        let mut receivers: Vec<_> = (0..100).map(|_| hub.subscribe()).collect();
        hub.publish_messages(&[message(1), message(2), message(3)]);
        let first: Vec<_> = receivers.iter_mut().map(drain).collect();
        for frames in &first {
            assert_eq!(frames.iter().map(|f| f.message_id).collect::<Vec<_>>(), [Some(1), Some(2), Some(3)]);
            // The same allocation for everyone: encoded once.
            assert!(Arc::ptr_eq(&frames[0], &first[0][0]));
        }
        let decoded: ServerFrame = serde_json::from_str(first[0][1].text.as_str()).unwrap();
        assert_eq!(decoded, ServerFrame::Message { message: message(2) });
    }

    #[test]
    fn presence_counts_connections_and_announces_only_first_join_and_last_leave() {
        let hub = Hub::new(64);
        let mut watcher = hub.subscribe();
        hub.join("bob");
        hub.join("alice");
        hub.join("alice");
        assert_eq!(hub.online(), ["alice", "bob"]);
        hub.leave("alice");
        assert_eq!(hub.online(), ["alice", "bob"]);
        hub.leave("alice");
        hub.leave("nobody");
        assert_eq!(hub.online(), ["bob"]);
        let frames: Vec<ServerFrame> =
            drain(&mut watcher).iter().map(|f| serde_json::from_str(f.text.as_str()).unwrap()).collect();
        assert_eq!(
            frames,
            [
                ServerFrame::UserJoined { nickname: "bob".into() },
                ServerFrame::UserJoined { nickname: "alice".into() },
                ServerFrame::UserLeft { nickname: "alice".into() },
            ]
        );
    }

    #[test]
    fn a_slow_subscriber_is_told_it_lagged_instead_of_silently_missing_frames() {
        let hub = Hub::new(4);
        let mut slow = hub.subscribe();
        hub.publish_messages(&(1..=10).map(message).collect::<Vec<_>>());
        assert!(matches!(slow.try_recv(), Err(TryRecvError::Lagged(6))));
    }
}
