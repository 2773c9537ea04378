//! Messages the user wrote that the server has not acknowledged yet, kept in the browser's
//! `localStorage` so they survive a dropped connection, a closed tab and a reload: shown as pending
//! and sent once the socket is back. The server stores a resend once (same `client_msg_id`), so
//! sending again after any doubt is always safe. The queue itself is plain data, tested natively.

use crate::protocol::{RoomId, UserId};
use serde::{Deserialize, Serialize};

/// One queued message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// The room it was written in: any page of the user's sends it there, whichever room that
    /// page shows.
    pub room_id: RoomId,
    pub client_msg_id: String,
    pub body: String,
    /// Why the server refused it; a refused message waits for the user to retry or discard it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Keeps at most this many: a user offline for days should not fill the browser's storage.
const MAX_QUEUED: usize = 500;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbox {
    queued: Vec<Queued>,
}

impl Outbox {
    /// Damaged or foreign storage starts an empty queue rather than breaking the page.
    pub fn from_json(text: &str) -> Self {
        Self { queued: serde_json::from_str(text).unwrap_or_default() }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.queued).unwrap_or_else(|_| "[]".into())
    }

    /// As many messages wait as this browser keeps: the page refuses a new one (and says so)
    /// rather than dropping one already shown as "Sending…".
    pub fn is_full(&self) -> bool {
        self.queued.len() >= MAX_QUEUED
    }

    pub fn add(&mut self, room_id: RoomId, client_msg_id: &str, body: &str) {
        // One id is one message, however often it is queued; a full queue takes nothing more
        // (`is_full` is checked before a message is shown).
        if self.contains(client_msg_id) || self.is_full() {
            return;
        }
        self.queued.push(Queued {
            room_id,
            client_msg_id: client_msg_id.to_owned(),
            body: body.to_owned(),
            refused: None,
        });
    }

    fn contains(&self, client_msg_id: &str) -> bool {
        self.queued.iter().any(|queued| queued.client_msg_id == client_msg_id)
    }

    /// Stored or discarded: forget it. Returns whether it was queued.
    pub fn remove(&mut self, client_msg_id: &str) -> bool {
        let before = self.queued.len();
        self.queued.retain(|queued| queued.client_msg_id != client_msg_id);
        self.queued.len() != before
    }

    pub fn refuse(&mut self, client_msg_id: &str, reason: &str) {
        if let Some(queued) = self.queued.iter_mut().find(|queued| queued.client_msg_id == client_msg_id) {
            queued.refused = Some(reason.to_owned());
        }
    }

    pub fn retry(&mut self, client_msg_id: &str) {
        if let Some(queued) = self.queued.iter_mut().find(|queued| queued.client_msg_id == client_msg_id) {
            queued.refused = None;
        }
    }

    /// What to send when the socket is (back) up: everything not refused, oldest first.
    pub fn to_send(&self) -> impl Iterator<Item = &Queued> {
        self.queued.iter().filter(|queued| queued.refused.is_none())
    }

    /// Everything queued for one room, oldest first (to show on its page).
    pub fn in_room(&self, room_id: RoomId) -> impl Iterator<Item = &Queued> {
        self.queued.iter().filter(move |queued| queued.room_id == room_id)
    }
}

/// The outbox of one user in this browser (every tab of theirs shares it). Per user, so two people
/// sharing a browser never send each other's messages.
fn storage_key(user_id: UserId) -> String {
    format!("natter.outbox.{user_id}")
}

/// This user's outbox as the browser keeps it; empty on the server, which keeps nothing across
/// page loads.
pub fn load(user_id: UserId) -> Outbox {
    crate::dom::stored(&storage_key(user_id)).map(|text| Outbox::from_json(&text)).unwrap_or_default()
}

pub fn save(user_id: UserId, outbox: &Outbox) {
    crate::dom::store(&storage_key(user_id), &outbox.to_json());
}

/// A new message's `client_msg_id`: 128 random bits, so tabs and devices never collide.
pub fn new_client_msg_id() -> String {
    crate::dom::random_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_messages_survive_a_round_trip_through_storage_text() {
        let mut outbox = Outbox::default();
        outbox.add(RoomId(1), "a", "hello");
        outbox.add(RoomId(5), "b", "in a room");
        outbox.add(RoomId(1), "a", "hello again");
        outbox.refuse("b", "Slow down");
        let restored = Outbox::from_json(&outbox.to_json());
        assert_eq!(restored, outbox);
        assert_eq!(restored.to_send().map(|q| q.client_msg_id.as_str()).collect::<Vec<_>>(), ["a"]);
        assert_eq!(restored.in_room(RoomId(5)).count(), 1);
        assert_eq!(Outbox::from_json("not json"), Outbox::default(), "damaged storage starts empty");
    }

    #[test]
    fn stored_messages_leave_and_retried_ones_go_again() {
        let mut outbox = Outbox::default();
        outbox.add(RoomId(1), "a", "one");
        outbox.add(RoomId(1), "b", "two");
        outbox.refuse("b", "too long");
        assert!(outbox.remove("a"));
        assert!(!outbox.remove("a"));
        assert_eq!(outbox.to_send().count(), 0);
        outbox.retry("b");
        assert_eq!(outbox.to_send().map(|q| q.body.as_str()).collect::<Vec<_>>(), ["two"]);
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut outbox = Outbox::default();
        for i in 0..MAX_QUEUED + 10 {
            outbox.add(RoomId(1), &i.to_string(), "x");
        }
        assert!(outbox.is_full());
        assert_eq!(outbox.to_send().count(), MAX_QUEUED);
        assert_eq!(outbox.to_send().next().unwrap().client_msg_id, "0", "nothing queued is dropped");
    }
}
