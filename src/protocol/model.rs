//! What the server stores and shows: messages, attachments, reactions, search results, accounts,
//! rooms and members, as both builds see them.

use serde::{Deserialize, Serialize};

use super::{MessageId, Revision, RoomId, UserId};

/// A stored chat message as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Assigned by the server in commit order: strictly increasing across all rooms, never reused.
    pub id: MessageId,
    pub room_id: RoomId,
    /// The author's user id: stable across renames.
    pub author_id: UserId,
    /// The author's current nickname.
    pub nickname: String,
    pub body: String,
    /// Milliseconds since the Unix epoch, UTC, taken when the server stored the message.
    pub sent_at: i64,
    /// The sender's own id for this message, so the sender recognises its copy.
    pub client_msg_id: String,
    /// Ordinary chat, or an announcement from the server's admins.
    #[serde(default)]
    pub kind: MessageKind,
    /// Deleted by its author or an admin: the body is empty and readers show a placeholder.
    #[serde(default)]
    pub deleted: bool,
    /// When the body was last edited (milliseconds since the epoch); absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    /// The message's revision: 0 as sent; each edit, deletion or reaction change gives it the next
    /// value of one server-wide sequence. Of two copies of a message, the higher `rev` is newer.
    #[serde(default, skip_serializing_if = "is_unchanged")]
    pub rev: Revision,
    /// Reactions, grouped by emoji in the order each emoji was first used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// A file sent as this message (its `body` is then an optional caption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Attachment>,
}

/// A file sent as a message, served at `/files/{id}` to members of its room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Server-generated; the user's file name is only `name`.
    pub id: String,
    pub name: String,
    /// As sniffed from the bytes.
    pub content_type: String,
    pub size: i64,
    /// For images: their size in pixels, so the page reserves the space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl Attachment {
    pub fn url(&self) -> String {
        format!("/files/{}", self.id)
    }

    pub fn is_image(&self) -> bool {
        matches!(self.content_type.as_str(), "image/png" | "image/jpeg" | "image/gif" | "image/webp")
    }
}

fn is_unchanged(rev: &Revision) -> bool {
    *rev == Revision::UNCHANGED
}

/// One emoji on a message and who reacted with it, earliest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub users: Vec<Reactor>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactor {
    pub user_id: UserId,
    pub nickname: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    #[default]
    Chat,
    Announcement,
}

/// One search result: the message, where it was said, and the part of its text that matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub message: ChatMessage,
    /// The room's name as the searcher sees it (for a direct conversation, the other person).
    pub room_name: String,
    /// Where the message opens in context: `/r/room/m/ID` or `/dm/USER/m/ID`.
    pub permalink: String,
    /// The matching part of the body, hits marked.
    pub snippet: Vec<SnippetPart>,
}

/// A piece of a search snippet: text, highlighted when it is what matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hit: bool,
}

/// A page of search results, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<MessageId>,
}

/// Who a signed-in client is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: UserId,
    pub nickname: String,
    pub role: Role,
    pub is_bot: bool,
}

/// Someone online: their first connection opened and their last has not closed. `idle` after a
/// while without activity (messages, typing, renames).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineUser {
    pub user_id: UserId,
    pub nickname: String,
    pub idle: bool,
}

/// Who may read and post in a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Anyone signed in may read it and join it.
    Public,
    /// Only members read it; a member invites others.
    Private,
    /// A conversation between two people.
    Direct,
}

/// A room as one user sees it in their sidebar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: RoomId,
    /// The room's name; for a direct conversation, the other person's nickname.
    pub name: String,
    pub kind: RoomKind,
    /// Archived rooms keep their history but take no new messages.
    pub archived: bool,
    /// For a direct conversation: the other person's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<UserId>,
    /// Messages by others after `last_read_id`, not counting deleted ones.
    pub unread: u32,
    /// The newest message id this user has read here.
    pub last_read_id: MessageId,
    /// Unread messages here that mention this user (`@nick`), not counting deleted ones.
    #[serde(default)]
    pub mentions: u32,
    /// When this user wants a browser notification from here; absent means the default for the
    /// room's kind (see `Room::notify_level`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyLevel>,
}

/// Which messages of a room raise a browser notification while the tab is hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyLevel {
    All,
    Mentions,
    Nothing,
}

impl Room {
    /// The notification setting in force: the member's choice, or everything from a direct
    /// conversation and mentions elsewhere.
    pub fn notify_level(&self) -> NotifyLevel {
        self.notify.unwrap_or(if self.kind == RoomKind::Direct { NotifyLevel::All } else { NotifyLevel::Mentions })
    }

    /// Whether a message by someone else here should raise a notification.
    pub fn notifies(&self, mentions_me: bool) -> bool {
        match self.notify_level() {
            NotifyLevel::All => true,
            NotifyLevel::Mentions => mentions_me,
            NotifyLevel::Nothing => false,
        }
    }

    /// Where the room lives in the web app.
    pub fn path(&self) -> String {
        match self.peer_id {
            Some(peer) if self.kind == RoomKind::Direct => format!("/dm/{peer}"),
            _ => format!("/r/{}", self.name),
        }
    }
}

/// A member of a room, for its member list (presence per room is members ∩ online).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: UserId,
    pub nickname: String,
    pub is_bot: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
}
