//! The websocket frames in both directions, the error codes they carry, and the decoder that tells
//! an oversized, malformed or unknown client frame apart.

use serde::{Deserialize, Serialize};

use super::*;

/// Frames a client sends. Unknown fields are ignored: in particular a frame cannot choose its
/// author, which is always the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The first frame on every connection. `since` asks for every message with a larger id
    /// (catch-up after a reconnect); without it the client gets live traffic only.
    Hello {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<MessageId>,
        /// Asks for every message in the user's rooms edited, deleted or reacted to after this
        /// revision (see `ChatMessage::rev`), each once in its current state.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changes_since: Option<Revision>,
    },
    /// Change the signed-in user's nickname.
    Nick { nickname: String },
    /// Post a message to a room the user is a member of (`general` when `room_id` is absent).
    /// Sending the same `client_msg_id` again returns the original ack.
    Send {
        #[serde(default = "general_room")]
        room_id: RoomId,
        client_msg_id: String,
        body: String,
    },
    /// The user is typing in a room; send at most every 2 s while they type.
    Typing {
        #[serde(default = "general_room")]
        room_id: RoomId,
    },
    /// The user has read a room up to this message id (moves their unread marker).
    Read { room_id: RoomId, last_read_id: MessageId },
}

/// The `type` names of [`ClientFrame`], to tell an unknown frame type from a malformed known one.
const CLIENT_FRAME_TYPES: [&str; 5] = ["hello", "nick", "send", "typing", "read"];

/// Frames the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to `hello`, addressed to this connection alone.
    Welcome {
        from: String,
        text: String,
        /// Who this connection speaks as.
        you: Account,
        /// Everyone online now, sorted by nickname.
        online: Vec<OnlineUser>,
        /// The rooms and direct conversations this user is in, with unread counts.
        rooms: Vec<Room>,
        /// The newest stored message id (0 when there is none).
        last_id: MessageId,
        /// The newest message revision (0 when nothing was ever changed): resume changes from here.
        #[serde(default)]
        last_change: Revision,
    },
    /// Messages the client missed, oldest first, in pages. `complete` is true on the last page.
    History {
        messages: Vec<ChatMessage>,
        complete: bool,
    },
    /// A message committed just now.
    Message {
        message: ChatMessage,
    },
    /// The sender's own message is stored.
    Ack {
        client_msg_id: String,
        id: MessageId,
        sent_at: i64,
    },
    /// Your nickname is now `nickname` (normalised).
    NickOk {
        nickname: String,
    },
    /// Someone (never you) is typing in a room; show it for a few seconds unless renewed.
    Typing {
        room_id: RoomId,
        user_id: UserId,
        nickname: String,
    },
    /// A stored message changed (edited, deleted, or its reactions): replace your copy with this
    /// one unless yours has a higher `rev`. Sent live and, after `hello` with `changes_since`, once
    /// per message changed since.
    MessageUpdated {
        message: ChatMessage,
    },
    /// You are now in this room (you joined, were invited, or someone opened a conversation with you).
    RoomJoined {
        room: Room,
    },
    /// You are no longer in this room (you left it in some tab).
    RoomLeft {
        room_id: RoomId,
    },
    /// An admin archived a room you are in: its history stays, new messages are refused.
    RoomArchived {
        room_id: RoomId,
    },
    /// Someone became a member of a room you are in.
    MemberJoined {
        room_id: RoomId,
        member: Member,
    },
    /// Someone left a room you are in.
    MemberLeft {
        room_id: RoomId,
        user_id: UserId,
    },
    /// You read a room up to `last_read_id` (in this or another tab).
    Read {
        room_id: RoomId,
        last_read_id: MessageId,
    },
    /// A user changed nickname; their messages now show the new one.
    UserRenamed {
        user_id: UserId,
        from: String,
        to: String,
    },
    UserJoined {
        user_id: UserId,
        nickname: String,
    },
    UserLeft {
        user_id: UserId,
        nickname: String,
    },
    /// A user went idle (no activity for a while) or became active again.
    UserIdle {
        user_id: UserId,
        idle: bool,
    },
    /// Your rooms now, with unread counts; sent when a connection fell behind and may have missed
    /// room changes.
    Rooms {
        rooms: Vec<Room>,
    },
    /// Everyone online now; sent when a connection fell behind and may have missed join/leave frames.
    Presence {
        online: Vec<OnlineUser>,
    },
    /// A request was refused; nothing was stored. `client_msg_id` names the refused message, if any.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
    },
}

/// Machine-readable reasons for an error frame or a refused request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedFrame,
    UnknownFrameType,
    FrameTooLarge,
    HelloRequired,
    EmptyMessage,
    MessageTooLong,
    InvalidCharacters,
    InvalidClientMsgId,
    InvalidNickname,
    NicknameTaken,
    Unauthenticated,
    InvalidPassword,
    SignInFailed,
    RateLimited,
    Forbidden,
    NoSuchRoom,
    NoSuchUser,
    NotAMember,
    RoomArchived,
    InvalidRoomName,
    RoomNameTaken,
    InvalidRequest,
    NoSuchMessage,
    InvalidReaction,
    TooManyReactions,
    InvalidSearch,
    FileTooLarge,
    UnsupportedFile,
    /// An admin banned this user: their sessions ended and they cannot sign in again.
    Banned,
    Internal,
}

/// A refused input: what went wrong, for machines and for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    pub code: ErrorCode,
    pub message: String,
}

impl Rejection {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// The error frame that tells a client about this rejection.
    pub fn into_frame(self, client_msg_id: Option<String>) -> ServerFrame {
        ServerFrame::Error { code: self.code, message: self.message, client_msg_id }
    }
}

/// Reads one client text frame, telling apart oversized, malformed and unknown frames so each gets
/// its own error code.
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, Rejection> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(Rejection::new(ErrorCode::FrameTooLarge, format!("frames are limited to {MAX_FRAME_BYTES} bytes")));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Rejection::new(ErrorCode::MalformedFrame, format!("not valid JSON: {e}")))?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()).map(str::to_owned) else {
        return Err(Rejection::new(ErrorCode::MalformedFrame, "a frame must be a JSON object with a string \"type\""));
    };
    if !CLIENT_FRAME_TYPES.contains(&kind.as_str()) {
        return Err(Rejection::new(
            ErrorCode::UnknownFrameType,
            format!("unknown frame type {kind:?}; expected one of {CLIENT_FRAME_TYPES:?}"),
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| Rejection::new(ErrorCode::MalformedFrame, format!("bad \"{kind}\" frame: {e}")))
}

impl ServerFrame {
    /// The JSON text of this frame. Serialising these types cannot fail (no maps with non-string
    /// keys, no custom serialisers), so a failure is a bug worth a loud panic in tests.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialise")
    }
}

impl ClientFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialise")
    }
}
