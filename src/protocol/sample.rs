//! Builders for the messages and rooms tests need, so each test says only what matters to it (who wrote it,
//! where, what it says) instead of repeating every field of the wire type.

use super::{ChatMessage, MessageId, MessageKind, Revision, Room, RoomId, RoomKind, UserId, GENERAL_ROOM_ID};

impl ChatMessage {
    /// Stored chat message number `id` (a plain number, so tests stay short) in general by user 1, "alice", saying `m{id}`, client id `c{id}`,
    /// sent at 0: never edited, deleted or reacted to, with no file.
    pub(crate) fn sample(id: i64) -> Self {
        Self {
            id: MessageId(id),
            room_id: GENERAL_ROOM_ID,
            author_id: UserId(1),
            nickname: "alice".into(),
            body: format!("m{id}"),
            sent_at: 0,
            client_msg_id: format!("c{id}"),
            kind: MessageKind::Chat,
            deleted: false,
            edited_at: None,
            rev: Revision::UNCHANGED,
            reactions: Vec::new(),
            file: None,
        }
    }

    pub(crate) fn by(self, author_id: UserId, nickname: &str) -> Self {
        Self { author_id, nickname: nickname.into(), ..self }
    }

    pub(crate) fn in_room(self, room_id: RoomId) -> Self {
        Self { room_id, ..self }
    }

    pub(crate) fn saying(self, body: &str) -> Self {
        Self { body: body.into(), ..self }
    }

    /// Sent at `millis` since the epoch.
    pub(crate) fn at(self, millis: i64) -> Self {
        Self { sent_at: millis, ..self }
    }

    pub(crate) fn client_id(self, client_msg_id: &str) -> Self {
        Self { client_msg_id: client_msg_id.into(), ..self }
    }
}

impl Room {
    /// Public room `id` called `name`, as a member with nothing unread sees it in the sidebar.
    pub(crate) fn sample(id: i64, name: &str) -> Self {
        Self {
            id: RoomId(id),
            name: name.into(),
            kind: RoomKind::Public,
            archived: false,
            peer_id: None,
            unread: 0,
            last_read_id: MessageId::NONE,
            mentions: 0,
            notify: None,
        }
    }
}
