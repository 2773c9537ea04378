//! The message list as the page holds it: stored messages in id order, then the user's own messages
//! still waiting for their ack, plus notices from the server. Pure data and rules, so the merging of
//! history, live frames, acks and resends is tested natively; components only render it.

use crate::protocol::{Attachment, ChatMessage, MessageId, MessageKind, Reaction, Revision, UserId};

/// Hashable because a line's status is part of its key in the message list: a line that changes
/// status is drawn afresh.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LineStatus {
    Stored,
    /// Sent (or queued to send) and not yet acknowledged.
    Pending,
    /// Refused by the server; the user may retry or discard it.
    Failed(String),
    /// Said by the server to this client alone; not stored.
    Notice,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Stable across the pending → stored change: the ack and the live copy both find the same
    /// line by it, whichever comes first.
    pub key: String,
    pub id: Option<MessageId>,
    /// The author's user id; `None` for notices from the server.
    pub author_id: Option<UserId>,
    pub nickname: String,
    pub body: String,
    pub sent_at: Option<i64>,
    pub client_msg_id: Option<String>,
    pub kind: MessageKind,
    /// Deleted by its author or an admin: shown as a placeholder.
    pub deleted: bool,
    pub edited: bool,
    /// The stored message's revision: an update applies only if it is newer.
    pub rev: Revision,
    pub reactions: Vec<Reaction>,
    /// A file sent as this message.
    pub file: Option<Attachment>,
    pub status: LineStatus,
    /// Stored lines sort by id; pending ones after all stored ones; notices after the stored line
    /// that was newest when they arrived.
    order: (MessageId, u64),
    /// The stored message itself reached the page (live, in catch-up or in a page of history), not
    /// only its ack: an ack can overtake the live copies of messages stored before it, so an id
    /// known from an ack alone says nothing about what came before it.
    heard: bool,
}

impl Line {
    pub fn is_pending(&self) -> bool {
        self.status == LineStatus::Pending
    }

    /// What an update may change. The id, author, time and kind of a stored message never do.
    fn take_changes(&mut self, message: ChatMessage) {
        self.body = message.body;
        self.deleted = message.deleted;
        self.edited = message.edited_at.is_some();
        self.rev = message.rev;
        self.reactions = message.reactions;
        self.file = message.file;
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    lines: Vec<Line>,
    sequence: u64,
}

/// Author and `client_msg_id`: the server's own unique key for a message (a resend finds its
/// original by it), so the page matches lines the same way.
fn message_key(author_id: UserId, client_msg_id: &str) -> String {
    format!("m:{author_id}:{client_msg_id}")
}

impl Timeline {
    pub fn from_history(messages: Vec<ChatMessage>) -> Self {
        let mut timeline = Self::default();
        timeline.add_history(messages);
        timeline
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Whether a message of `author_id` with this `client_msg_id` is shown as stored.
    pub fn has_stored(&self, author_id: UserId, client_msg_id: &str) -> bool {
        let key = message_key(author_id, client_msg_id);
        self.lines.iter().any(|line| line.key == key && line.id.is_some())
    }

    /// Whether the stored message `id` is shown.
    pub fn has(&self, id: MessageId) -> bool {
        self.lines.iter().any(|line| line.id == Some(id))
    }

    /// The oldest stored id shown: where loading older history continues.
    pub fn first_id(&self) -> Option<MessageId> {
        self.lines.iter().filter_map(|line| line.id).min()
    }

    /// A page of stored messages from anywhere in the room's history (scrolling up, or down from a
    /// permalink): each added once, in its place.
    pub fn add_history(&mut self, messages: Vec<ChatMessage>) {
        for message in messages {
            self.apply_message(message);
        }
    }

    /// The newest stored id the page has heard (not only seen acknowledged): what to resume from
    /// after a reconnect.
    pub fn last_id(&self) -> MessageId {
        self.lines.iter().filter(|line| line.heard).filter_map(|line| line.id).max().unwrap_or(MessageId(0))
    }

    /// Messages the server has not acknowledged, oldest first: resent after every reconnect (the
    /// server answers a resend with the original ack, so nothing is stored twice).
    pub fn unacknowledged(&self) -> Vec<(String, String)> {
        self.lines
            .iter()
            .filter(|line| line.is_pending())
            .filter_map(|line| Some((line.client_msg_id.clone()?, line.body.clone())))
            .collect()
    }

    pub fn add_pending(&mut self, author_id: UserId, nickname: &str, body: &str, client_msg_id: &str) {
        // After every stored line, in the order written, until an id gives it its place.
        let order = (MessageId(i64::MAX), self.next_sequence());
        self.lines.push(Line {
            key: message_key(author_id, client_msg_id),
            id: None,
            author_id: Some(author_id),
            nickname: nickname.to_owned(),
            body: body.to_owned(),
            sent_at: None,
            client_msg_id: Some(client_msg_id.to_owned()),
            kind: MessageKind::Chat,
            deleted: false,
            edited: false,
            rev: Revision(0),
            reactions: Vec::new(),
            file: None,
            status: LineStatus::Pending,
            order,
            heard: false,
        });
    }

    /// A stored message, from history, catch-up or live: added once, or confirms the pending copy.
    pub fn apply_message(&mut self, message: ChatMessage) {
        if let Some(line) = self.lines.iter_mut().find(|line| line.id == Some(message.id)) {
            line.heard = true;
            // Catch-up may bring a newer state of a message already shown.
            self.apply_update(message);
            return;
        }
        let key = message_key(message.author_id, &message.client_msg_id);
        match self.lines.iter_mut().find(|line| line.key == key) {
            Some(line) => {
                line.id = Some(message.id);
                line.sent_at = Some(message.sent_at);
                line.status = LineStatus::Stored;
                line.order = (message.id, 0);
                line.heard = true;
                line.take_changes(message);
            }
            None => self.lines.push(Line {
                key,
                id: Some(message.id),
                author_id: Some(message.author_id),
                order: (message.id, 0),
                heard: true,
                nickname: message.nickname,
                body: message.body,
                sent_at: Some(message.sent_at),
                client_msg_id: Some(message.client_msg_id),
                kind: message.kind,
                deleted: message.deleted,
                edited: message.edited_at.is_some(),
                rev: message.rev,
                reactions: message.reactions,
                file: message.file,
                status: LineStatus::Stored,
            }),
        }
        self.sort();
    }

    /// The server stored one of our pending messages.
    pub fn apply_ack(&mut self, client_msg_id: &str, id: MessageId, sent_at: i64) {
        if let Some(line) = self.own_line(client_msg_id) {
            line.id = Some(id);
            line.sent_at = Some(sent_at);
            line.status = LineStatus::Stored;
            line.order = (id, 0);
        }
        // Our live copy may have arrived first and been added as a separate line: keep one.
        let mut seen = false;
        self.lines.retain(|line| {
            let same = line.id == Some(id);
            let keep = !(same && seen);
            seen |= same;
            keep
        });
        self.sort();
    }

    pub fn fail(&mut self, client_msg_id: &str, reason: &str) {
        if let Some(line) = self.own_line(client_msg_id) {
            line.status = LineStatus::Failed(reason.to_owned());
        }
    }

    /// Puts a failed message back in the queue; returns its body to send again.
    pub fn retry(&mut self, client_msg_id: &str) -> Option<String> {
        let line = self.own_line(client_msg_id)?;
        line.status = LineStatus::Pending;
        Some(line.body.clone())
    }

    /// Only a line without an id goes: if the message was stored after all, it stays.
    pub fn discard(&mut self, client_msg_id: &str) {
        self.lines.retain(|line| line.id.is_some() || line.client_msg_id.as_deref() != Some(client_msg_id));
    }

    pub fn add_notice(&mut self, from: &str, text: &str) {
        let sequence = self.next_sequence();
        let after = self.last_id();
        self.lines.push(Line {
            key: format!("n:{sequence}"),
            id: None,
            author_id: None,
            nickname: from.to_owned(),
            body: text.to_owned(),
            sent_at: None,
            client_msg_id: None,
            kind: MessageKind::Chat,
            deleted: false,
            edited: false,
            rev: Revision(0),
            reactions: Vec::new(),
            file: None,
            status: LineStatus::Notice,
            order: (after, sequence),
            heard: false,
        });
        self.sort();
    }

    /// A shown message changed (edited, deleted, reactions): take its new state unless the line
    /// already has a newer one. Messages not shown are ignored; they load in their current state.
    pub fn apply_update(&mut self, message: ChatMessage) {
        if let Some(line) = self.lines.iter_mut().find(|line| line.id == Some(message.id)) {
            if message.rev > line.rev {
                line.take_changes(message);
            }
        }
    }

    /// Shows every line by a user under their new nickname.
    pub fn rename_author(&mut self, author_id: UserId, nickname: &str) {
        for line in self.lines.iter_mut().filter(|line| line.author_id == Some(author_id)) {
            line.nickname = nickname.to_owned();
        }
    }

    /// A message of ours that has no id yet (pending or failed).
    fn own_line(&mut self, client_msg_id: &str) -> Option<&mut Line> {
        self.lines.iter_mut().find(|line| line.id.is_none() && line.client_msg_id.as_deref() == Some(client_msg_id))
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn sort(&mut self) {
        self.lines.sort_by_key(|line| line.order);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users in these tests: "me" is 1, "a" 2, "b" 3, "c" 4, "other" 5.
    fn author(nickname: &str) -> UserId {
        UserId(["me", "a", "b", "c", "other"].iter().position(|n| *n == nickname).unwrap() as i64 + 1)
    }

    fn stored(id: i64, nickname: &str, client_msg_id: &str) -> ChatMessage {
        let message = ChatMessage::sample(id).by(author(nickname), nickname).saying(&format!("body {id}"));
        message.at(id * 1000).client_id(client_msg_id)
    }

    fn ids(timeline: &Timeline) -> Vec<Option<i64>> {
        timeline.lines().iter().map(|line| line.id.map(MessageId::get)).collect()
    }

    #[test]
    fn history_and_live_copies_of_a_message_show_once_in_id_order() {
        let mut timeline = Timeline::from_history(vec![stored(1, "a", "x1"), stored(3, "b", "x3")]);
        timeline.apply_message(stored(2, "c", "x2"));
        timeline.apply_message(stored(3, "b", "x3"));
        assert_eq!(ids(&timeline), [Some(1), Some(2), Some(3)]);
        assert_eq!(timeline.last_id(), MessageId(3));
    }

    #[test]
    fn a_pending_message_is_confirmed_in_place_by_its_ack_then_its_live_copy() {
        let mut timeline = Timeline::from_history(vec![stored(1, "a", "x1")]);
        timeline.add_pending(UserId(1), "me", "hello", "c1");
        assert!(timeline.lines()[1].is_pending());
        assert_eq!(timeline.unacknowledged(), [("c1".to_owned(), "hello".to_owned())]);
        timeline.apply_ack("c1", MessageId(2), 2000);
        timeline.apply_message(stored(2, "me", "c1"));
        assert_eq!(ids(&timeline), [Some(1), Some(2)]);
        assert_eq!(timeline.lines()[1].status, LineStatus::Stored);
        assert_eq!(timeline.lines()[1].key, "m:1:c1");
        assert!(timeline.unacknowledged().is_empty());
    }

    #[test]
    fn a_live_copy_arriving_before_the_ack_still_leaves_one_line() {
        let mut timeline = Timeline::default();
        timeline.add_pending(UserId(1), "me", "hello", "c1");
        timeline.apply_message(stored(7, "me", "c1"));
        timeline.apply_ack("c1", MessageId(7), 7000);
        assert_eq!(ids(&timeline), [Some(7)]);
    }

    #[test]
    fn someone_elses_message_with_the_same_client_id_is_not_taken_for_ours() {
        let mut timeline = Timeline::default();
        timeline.add_pending(UserId(1), "me", "mine", "c1");
        timeline.apply_message(stored(4, "other", "c1"));
        assert_eq!(ids(&timeline), [Some(4), None]);
        assert!(timeline.lines()[1].is_pending());
    }

    #[test]
    fn stored_messages_sort_before_pending_ones_and_notices_stay_where_they_arrived() {
        let mut timeline = Timeline::from_history(vec![stored(1, "a", "x1")]);
        timeline.add_pending(UserId(1), "me", "waiting", "c9");
        timeline.add_notice("Natter", "Welcome!");
        timeline.apply_message(stored(2, "b", "x2"));
        let bodies: Vec<&str> = timeline.lines().iter().map(|line| line.body.as_str()).collect();
        assert_eq!(bodies, ["body 1", "Welcome!", "body 2", "waiting"]);
    }

    #[test]
    fn a_deleted_message_keeps_its_place_without_its_text() {
        let mut timeline = Timeline::from_history(vec![stored(1, "a", "x1"), stored(2, "b", "x2")]);
        timeline.apply_update(ChatMessage {
            deleted: true,
            body: String::new(),
            rev: Revision(1),
            ..stored(1, "a", "x1")
        });
        timeline.apply_update(ChatMessage { deleted: true, rev: Revision(2), ..stored(99, "a", "x99") });
        assert!(timeline.lines()[0].deleted);
        assert_eq!(timeline.lines()[0].body, "");
        assert!(!timeline.lines()[1].deleted);
        assert_eq!(ids(&timeline), [Some(1), Some(2)], "an update to a message not shown adds nothing");
    }

    #[test]
    fn updates_apply_newest_revision_first_whatever_order_they_arrive_in() {
        let mut timeline = Timeline::from_history(vec![stored(1, "a", "x1")]);
        let edited = |rev: Revision, body: &str| ChatMessage {
            body: body.into(),
            edited_at: Some(5),
            rev,
            ..stored(1, "a", "x1")
        };
        timeline.apply_update(edited(Revision(3), "third"));
        timeline.apply_update(edited(Revision(2), "second (late)"));
        assert_eq!((timeline.lines()[0].body.as_str(), timeline.lines()[0].edited), ("third", true));
        // Catch-up brings the message again, newer still: the shown copy takes it.
        timeline.apply_message(edited(Revision(4), "fourth"));
        assert_eq!(timeline.lines()[0].body, "fourth");
        timeline.apply_message(stored(1, "a", "x1"));
        assert_eq!(timeline.lines()[0].body, "fourth", "an older copy never wins");
        assert_eq!(timeline.lines().len(), 1);
    }

    #[test]
    fn failed_messages_can_be_retried_or_discarded() {
        let mut timeline = Timeline::default();
        timeline.add_pending(UserId(1), "me", "one", "c1");
        timeline.add_pending(UserId(1), "me", "two", "c2");
        timeline.fail("c1", "Messages are at most 4000 characters");
        assert_eq!(timeline.lines()[0].status, LineStatus::Failed("Messages are at most 4000 characters".into()));
        assert_eq!(timeline.unacknowledged().len(), 1);
        assert_eq!(timeline.retry("c1").as_deref(), Some("one"));
        assert_eq!(timeline.unacknowledged().len(), 2);
        timeline.discard("c2");
        assert_eq!(timeline.lines().len(), 1);
    }
}

#[cfg(test)]
mod rename_tests {
    use super::*;

    #[test]
    fn a_rename_relabels_every_line_by_that_author_and_no_other() {
        let message = |id: i64, author_id: UserId, nickname: &str| {
            ChatMessage::sample(id).by(author_id, nickname).saying("x").client_id(&id.to_string())
        };
        let mut timeline = Timeline::from_history(vec![
            message(1, UserId(7), "dave"),
            message(2, UserId(8), "erin"),
            message(3, UserId(7), "dave"),
        ]);
        timeline.add_pending(UserId(7), "dave", "pending", "p1");
        timeline.rename_author(UserId(7), "david");
        let names: Vec<&str> = timeline.lines().iter().map(|line| line.nickname.as_str()).collect();
        assert_eq!(names, ["david", "erin", "david", "david"]);
    }
}
