//! What the chat page's server functions answer: one room's page and the public room directory.

use serde::{Deserialize, Serialize};

use super::*;

/// Everything the chat page needs for one room, read so that resuming the socket from `last_id`
/// neither misses a message nor counts one twice as unread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomPage {
    pub me: Option<Account>,
    /// The room shown; `None` on a direct-conversation page before its first message.
    pub room: Option<Room>,
    /// For a direct-conversation page: the other person.
    pub peer: Option<Member>,
    /// Whether the viewer is a member (and so may post).
    pub joined: bool,
    pub history: Vec<ChatMessage>,
    pub members: Vec<Member>,
    /// Everyone online on the server; the page shows those who are members here.
    pub online: Vec<OnlineUser>,
    /// The viewer's rooms with unread counts.
    pub rooms: Vec<Room>,
    /// Public rooms anyone may join.
    pub directory: Vec<DirectoryRoom>,
    /// The message the page opened at (a permalink), shown highlighted with context around it.
    pub focus: Option<MessageId>,
    /// Whether older messages than `history`'s first exist (scrolling up loads them).
    pub has_older: bool,
    /// Whether newer messages than `history`'s last exist: true when opened at an older message.
    pub has_newer: bool,
    pub last_id: MessageId,
    /// The newest message revision when the page was read: the socket replays changes after it.
    pub last_change: Revision,
    /// The reader's time zone the server drew day separators in (minutes east of UTC); the
    /// browser hydrates with the same, then uses its own.
    #[serde(default)]
    pub zone_minutes: i32,
}

/// A public room in the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryRoom {
    pub id: RoomId,
    pub name: String,
    pub members: u32,
}

/// What a visitor's first send answers: the account made for them, and what became of the message
/// they typed with it. Joining and posting in one request spares a phone the round trips of opening
/// a socket before its first message is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstSend {
    pub account: Account,
    /// The public room they joined to post there; `None` in general, where everyone is.
    pub room: Option<Room>,
    /// The message as stored, or why it was not: the account exists either way (the browser is
    /// signed in), and the text stays in the message box to send again.
    pub posted: Result<ChatMessage, String>,
}
