//! The wire format: every frame that crosses the websocket, the message type server functions return,
//! and the limits and validation rules both ends apply. The server and the WASM client compile this same
//! module, so a rule checked in the browser is the rule enforced on the server. `docs/protocol.md`
//! documents every frame; the golden tests at the bottom pin the JSON.

use serde::{Deserialize, Serialize};

/// Longest message body, in Unicode scalar values (what a person counts as characters).
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Longest nickname, in Unicode scalar values.
pub const MAX_NICKNAME_CHARS: usize = 32;
/// Password length bounds, in characters: long enough to resist guessing, short enough to hash cheaply.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest `client_msg_id`; long enough for a UUID or a bot's own scheme.
pub const MAX_CLIENT_MSG_ID_CHARS: usize = 64;
/// Largest text frame the server reads and answers with an error frame. A maximal message is at most
/// 4,000 characters × 6 bytes of JSON escaping = 24 KB, so 64 KiB leaves room for the envelope.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Messages the page shows on first load, and the default history page size.
pub const HISTORY_PAGE: u32 = 50;
/// Largest history page a client may ask for.
pub const MAX_HISTORY_PAGE: u32 = 200;
/// The author name of everything the server itself says. Nobody may take it as a nickname.
pub const SERVER_NAME: &str = "Natter";
/// The room everyone is in: created with the database, never left or archived. Frames that name no
/// room mean this one.
pub const GENERAL_ROOM_ID: i64 = 1;
pub const GENERAL_ROOM: &str = "general";
/// Unread counts stop at this many: the sidebar says "999+" and counting costs nothing more.
pub const MAX_UNREAD: u32 = 999;
/// Room name length bounds, in characters.
pub const MIN_ROOM_NAME_CHARS: usize = 2;
pub const MAX_ROOM_NAME_CHARS: usize = 32;
/// Different emoji one message may carry; enough for any real conversation, bounded for the frame.
pub const MAX_REACTIONS_PER_MESSAGE: usize = 20;
/// Longest reaction, in bytes: room for a family or flag sequence joined with ZWJ and modifiers.
pub const MAX_REACTION_BYTES: usize = 32;
/// The reactions the page offers at one click; any other emoji may be typed.
pub const QUICK_REACTIONS: [&str; 8] = ["👍", "❤️", "😂", "🎉", "😮", "😢", "👀", "✅"];

fn general_room() -> i64 {
    GENERAL_ROOM_ID
}

/// A stored chat message as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Assigned by the server in commit order: strictly increasing across all rooms, never reused.
    pub id: i64,
    pub room_id: i64,
    /// The author's user id: stable across renames.
    pub author_id: i64,
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
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rev: i64,
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

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// One emoji on a message and who reacted with it, earliest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub users: Vec<Reactor>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactor {
    pub user_id: i64,
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
    pub next_before: Option<i64>,
}

/// Who a signed-in client is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: i64,
    pub nickname: String,
    pub role: Role,
    pub is_bot: bool,
}

/// Someone online: their first connection opened and their last has not closed. `idle` after a
/// while without activity (messages, typing, renames).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineUser {
    pub user_id: i64,
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
    pub id: i64,
    /// The room's name; for a direct conversation, the other person's nickname.
    pub name: String,
    pub kind: RoomKind,
    /// Archived rooms keep their history but take no new messages.
    pub archived: bool,
    /// For a direct conversation: the other person's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<i64>,
    /// Messages by others after `last_read_id`, not counting deleted ones.
    pub unread: u32,
    /// The newest message id this user has read here.
    pub last_read_id: i64,
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
    pub user_id: i64,
    pub nickname: String,
    pub is_bot: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
}

/// Frames a client sends. Unknown fields are ignored: in particular a frame cannot choose its
/// author, which is always the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The first frame on every connection. `since` asks for every message with a larger id
    /// (catch-up after a reconnect); without it the client gets live traffic only.
    Hello {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<i64>,
        /// Asks for every message in the user's rooms edited, deleted or reacted to after this
        /// revision (see `ChatMessage::rev`), each once in its current state.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changes_since: Option<i64>,
    },
    /// Change the signed-in user's nickname.
    Nick { nickname: String },
    /// Post a message to a room the user is a member of (`general` when `room_id` is absent).
    /// Sending the same `client_msg_id` again returns the original ack.
    Send {
        #[serde(default = "general_room")]
        room_id: i64,
        client_msg_id: String,
        body: String,
    },
    /// The user is typing in a room; send at most every 2 s while they type.
    Typing {
        #[serde(default = "general_room")]
        room_id: i64,
    },
    /// The user has read a room up to this message id (moves their unread marker).
    Read { room_id: i64, last_read_id: i64 },
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
        last_id: i64,
        /// The newest message revision (0 when nothing was ever changed): resume changes from here.
        #[serde(default)]
        last_change: i64,
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
        id: i64,
        sent_at: i64,
    },
    /// Your nickname is now `nickname` (normalised).
    NickOk {
        nickname: String,
    },
    /// Someone (never you) is typing in a room; show it for a few seconds unless renewed.
    Typing {
        room_id: i64,
        user_id: i64,
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
        room_id: i64,
    },
    /// An admin archived a room you are in: its history stays, new messages are refused.
    RoomArchived {
        room_id: i64,
    },
    /// Someone became a member of a room you are in.
    MemberJoined {
        room_id: i64,
        member: Member,
    },
    /// Someone left a room you are in.
    MemberLeft {
        room_id: i64,
        user_id: i64,
    },
    /// You read a room up to `last_read_id` (in this or another tab).
    Read {
        room_id: i64,
        last_read_id: i64,
    },
    /// A user changed nickname; their messages now show the new one.
    UserRenamed {
        user_id: i64,
        from: String,
        to: String,
    },
    UserJoined {
        user_id: i64,
        nickname: String,
    },
    UserLeft {
        user_id: i64,
        nickname: String,
    },
    /// A user went idle (no activity for a while) or became active again.
    UserIdle {
        user_id: i64,
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

/// Characters that render as nothing or reorder text around them: allowed in a nickname they let one
/// person pass for another.
fn is_invisible_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Checks a nickname and returns it trimmed.
/// Names nobody may take, so nothing a user says reads as the server speaking: its own name and the
/// words chat software uses for itself. The server also refuses every look-alike of these (the same
/// confusable-skeleton rule that keeps one user from passing for another: see `identity`).
pub const RESERVED_NICKNAMES: &[&str] =
    &[SERVER_NAME, "The Server", "Server", "System", "Admin", "Administrator", "Moderator"];

/// Why a reserved nickname was refused.
pub fn reserved_nickname(reserved: &str) -> String {
    if reserved == SERVER_NAME {
        format!("\"{SERVER_NAME}\" is the server's own name.")
    } else {
        format!("\"{reserved}\" is reserved: pick a name of your own.")
    }
}

pub fn validate_nickname(raw: &str) -> Result<String, Rejection> {
    let nickname = raw.trim();
    let invalid = |why: &str| Rejection::new(ErrorCode::InvalidNickname, why);
    if nickname.is_empty() {
        return Err(invalid("Choose a nickname first."));
    }
    if nickname.chars().count() > MAX_NICKNAME_CHARS {
        return Err(invalid(&format!("Nicknames are at most {MAX_NICKNAME_CHARS} characters.")));
    }
    if nickname.chars().any(|c| c.is_control() || is_invisible_or_bidi(c)) {
        return Err(invalid("Nicknames cannot contain control or invisible characters."));
    }
    if let Some(reserved) = RESERVED_NICKNAMES.iter().find(|reserved| nickname.eq_ignore_ascii_case(reserved)) {
        return Err(invalid(&reserved_nickname(reserved)));
    }
    Ok(nickname.to_owned())
}

/// Checks a room name and returns its stored form: lowercase ASCII letters, digits, `-` and `_`
/// (spaces become `-`), starting with a letter or digit. ASCII only, so two names never look alike
/// and every name is its own URL path segment.
pub fn validate_room_name(raw: &str) -> Result<String, Rejection> {
    let name: String = raw.trim().to_lowercase().split_whitespace().collect::<Vec<_>>().join("-");
    let invalid = |why: String| Rejection::new(ErrorCode::InvalidRoomName, why);
    let chars = name.chars().count();
    if !(MIN_ROOM_NAME_CHARS..=MAX_ROOM_NAME_CHARS).contains(&chars) {
        return Err(invalid(format!("Room names are {MIN_ROOM_NAME_CHARS} to {MAX_ROOM_NAME_CHARS} characters.")));
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return Err(invalid("Room names use only letters a-z, digits, - and _.".into()));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid("Room names start with a letter or digit.".into()));
    }
    Ok(name)
}

/// Checks a new password's length (any characters are fine: it is only ever hashed).
pub fn validate_password(password: &str) -> Result<(), Rejection> {
    let chars = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(Rejection::new(
            ErrorCode::InvalidPassword,
            format!("Passwords are {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters."),
        ))
    }
}

/// Checks a message body and returns what is stored: line breaks normalised to `\n`, blank lines
/// around the text removed (indentation inside it is kept, for code).
pub fn validate_body(raw: &str) -> Result<String, Rejection> {
    let normalised = raw.replace("\r\n", "\n").replace('\r', "\n");
    let Some(first_visible) = normalised.find(|c: char| !c.is_whitespace()) else {
        return Err(Rejection::new(ErrorCode::EmptyMessage, "Type a message first."));
    };
    let first_line_start = normalised[..first_visible].rfind('\n').map_or(0, |i| i + 1);
    let body = normalised[first_line_start..].trim_end();
    let chars = body.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(Rejection::new(
            ErrorCode::MessageTooLong,
            format!("Messages are at most {MAX_MESSAGE_CHARS} characters; this one has {chars}."),
        ));
    }
    if body.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Rejection::new(ErrorCode::InvalidCharacters, "Messages cannot contain control characters."));
    }
    Ok(body.to_owned())
}

/// Checks a client's message id: short, printable ASCII without spaces, so it is safe in logs.
pub fn validate_client_msg_id(id: &str) -> Result<(), Rejection> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CLIENT_MSG_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(Rejection::new(
            ErrorCode::InvalidClientMsgId,
            format!("client_msg_id must be 1 to {MAX_CLIENT_MSG_ID_CHARS} characters of A-Z a-z 0-9 - _ . :"),
        ))
    }
}

/// Checks a reaction: one emoji (a pictograph, optionally with skin tone, variation selector, keycap
/// or ZWJ sequence, or a flag), nothing else. Returns it trimmed.
pub fn validate_reaction(raw: &str) -> Result<String, Rejection> {
    let emoji = raw.trim();
    let invalid = || Rejection::new(ErrorCode::InvalidReaction, "A reaction is one emoji.");
    if emoji.is_empty() || emoji.len() > MAX_REACTION_BYTES {
        return Err(invalid());
    }
    let mut pictographs = 0;
    let mut after_joiner = true;
    // A regional indicator waiting for the second letter of its flag.
    let mut open_flag = false;
    let mut keycap_base = false;
    for c in emoji.chars() {
        match emoji_part(c) {
            EmojiPart::RegionalIndicator if open_flag => open_flag = false,
            EmojiPart::RegionalIndicator if after_joiner => {
                pictographs += 1;
                after_joiner = false;
                open_flag = true;
            }
            part @ (EmojiPart::Pictograph | EmojiPart::KeycapBase) if after_joiner => {
                pictographs += 1;
                after_joiner = false;
                keycap_base |= matches!(part, EmojiPart::KeycapBase);
            }
            EmojiPart::Joiner if !after_joiner && !open_flag => after_joiner = true,
            EmojiPart::Modifier if !after_joiner && !open_flag => {}
            _ => return Err(invalid()),
        }
    }
    // A digit, `#` or `*` is an emoji only as a keycap.
    if pictographs == 0 || after_joiner || open_flag || keycap_base && !emoji.contains('\u{20E3}') {
        return Err(invalid());
    }
    Ok(emoji.to_owned())
}

enum EmojiPart {
    Pictograph,
    /// A digit, `#` or `*`: the base of a keycap emoji.
    KeycapBase,
    /// One letter of a two-letter flag.
    RegionalIndicator,
    /// Zero-width joiner: glues two pictographs into one emoji.
    Joiner,
    /// Changes the emoji before it: variation selector, skin tone, keycap or tag.
    Modifier,
    Other,
}

/// Which part of an emoji `c` can be. The ranges cover Unicode's emoji blocks (Extended_Pictographic
/// and the symbols with emoji presentation); digits, `#` and `*` count only as keycap bases.
fn emoji_part(c: char) -> EmojiPart {
    match c {
        '\u{200D}' => EmojiPart::Joiner,
        '\u{FE0F}' | '\u{20E3}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}' => EmojiPart::Modifier,
        '0'..='9' | '#' | '*' => EmojiPart::KeycapBase,
        '\u{1F1E6}'..='\u{1F1FF}' => EmojiPart::RegionalIndicator,
        '\u{1F000}'..='\u{1FAFF}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2300}'..='\u{23FF}'
        | '\u{2B00}'..='\u{2BFF}'
        | '\u{2190}'..='\u{21FF}'
        | '\u{25A0}'..='\u{25FF}'
        | '\u{2900}'..='\u{297F}'
        | '\u{00A9}'
        | '\u{00AE}'
        | '\u{203C}'
        | '\u{2049}'
        | '\u{2122}'
        | '\u{2139}'
        | '\u{24C2}'
        | '\u{3030}'
        | '\u{303D}'
        | '\u{3297}'
        | '\u{3299}' => EmojiPart::Pictograph,
        _ => EmojiPart::Other,
    }
}

/// Clamps a requested history page size to what the server serves.
pub fn history_limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(HISTORY_PAGE).clamp(1, MAX_HISTORY_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample_message() -> ChatMessage {
        ChatMessage {
            id: 42,
            room_id: 1,
            author_id: 7,
            nickname: "alice".into(),
            body: "hi <b>there</b>".into(),
            sent_at: 1_764_000_000_000,
            client_msg_id: "c-1".into(),
            kind: MessageKind::Chat,
            deleted: false,
            edited_at: None,
            rev: 0,
            reactions: Vec::new(),
            file: None,
        }
    }

    fn general() -> Room {
        Room {
            id: GENERAL_ROOM_ID,
            name: GENERAL_ROOM.into(),
            kind: RoomKind::Public,
            archived: false,
            peer_id: None,
            unread: 3,
            last_read_id: 38,
            mentions: 1,
            notify: None,
        }
    }

    fn general_json() -> serde_json::Value {
        json!({"id":1,"name":"general","kind":"public","archived":false,"unread":3,"last_read_id":38,"mentions":1})
    }

    /// A direct conversation carries the other person's id and is named after them.
    fn direct() -> Room {
        Room {
            id: 9,
            name: "bob".into(),
            kind: RoomKind::Direct,
            archived: false,
            peer_id: Some(8),
            unread: 0,
            last_read_id: 41,
            mentions: 0,
            notify: None,
        }
    }

    fn direct_json() -> serde_json::Value {
        json!({"id":9,"name":"bob","kind":"direct","archived":false,"peer_id":8,"unread":0,"last_read_id":41,"mentions":0})
    }

    #[test]
    fn client_frames_decode_from_their_documented_json() {
        let cases = [
            (r#"{"type":"hello","since":41}"#, ClientFrame::Hello { since: Some(41), changes_since: None }),
            (
                r#"{"type":"hello","since":41,"changes_since":7}"#,
                ClientFrame::Hello { since: Some(41), changes_since: Some(7) },
            ),
            (r#"{"type":"hello"}"#, ClientFrame::Hello { since: None, changes_since: None }),
            // Frames that name no room mean general, so clients from before rooms keep working.
            (r#"{"type":"typing"}"#, ClientFrame::Typing { room_id: GENERAL_ROOM_ID }),
            (r#"{"type":"typing","room_id":5}"#, ClientFrame::Typing { room_id: 5 }),
            // A frame cannot choose its author: such fields are ignored.
            (
                r#"{"type":"send","client_msg_id":"c-2","body":"hi","nickname":"mallory","author_id":1}"#,
                ClientFrame::Send { room_id: GENERAL_ROOM_ID, client_msg_id: "c-2".into(), body: "hi".into() },
            ),
            (r#"{"type":"nick","nickname":"bob"}"#, ClientFrame::Nick { nickname: "bob".into() }),
            (
                r#"{"type":"send","client_msg_id":"c-1","body":"hello"}"#,
                ClientFrame::Send { room_id: GENERAL_ROOM_ID, client_msg_id: "c-1".into(), body: "hello".into() },
            ),
            (
                r#"{"type":"send","room_id":5,"client_msg_id":"c-3","body":"in a room"}"#,
                ClientFrame::Send { room_id: 5, client_msg_id: "c-3".into(), body: "in a room".into() },
            ),
            (r#"{"type":"read","room_id":5,"last_read_id":42}"#, ClientFrame::Read { room_id: 5, last_read_id: 42 }),
        ];
        for (text, frame) in cases {
            assert_eq!(decode_client_frame(text).unwrap(), frame, "{text}");
        }
    }

    #[test]
    fn client_frames_encode_with_their_room() {
        let send = ClientFrame::Send { room_id: 5, client_msg_id: "c-1".into(), body: "hi".into() };
        let encoded: serde_json::Value = serde_json::from_str(&send.to_json()).unwrap();
        assert_eq!(encoded, json!({"type":"send","room_id":5,"client_msg_id":"c-1","body":"hi"}));
        let read = ClientFrame::Read { room_id: 5, last_read_id: 42 }.to_json();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&read).unwrap(),
            json!({"type":"read","room_id":5,"last_read_id":42})
        );
    }

    #[test]
    fn server_frames_encode_to_their_documented_json() {
        let cases = [
            (
                ServerFrame::Welcome {
                    from: "Natter".into(),
                    text: "Welcome, alice!".into(),
                    you: Account { id: 7, nickname: "alice".into(), role: Role::Admin, is_bot: false },
                    online: vec![OnlineUser { user_id: 7, nickname: "alice".into(), idle: false }],
                    rooms: vec![general(), direct()],
                    last_id: 41,
                    last_change: 9,
                },
                json!({"type":"welcome","from":"Natter","text":"Welcome, alice!",
                    "you":{"id":7,"nickname":"alice","role":"admin","is_bot":false},
                    "online":[{"user_id":7,"nickname":"alice","idle":false}],
                    "rooms":[general_json(), direct_json()],"last_id":41,"last_change":9}),
            ),
            (
                ServerFrame::Message { message: sample_message() },
                json!({"type":"message","message":{"id":42,"room_id":1,"author_id":7,"nickname":"alice","body":"hi <b>there</b>",
                    "sent_at":1_764_000_000_000_i64,"client_msg_id":"c-1","kind":"chat","deleted":false}}),
            ),
            (
                ServerFrame::History { messages: vec![], complete: true },
                json!({"type":"history","messages":[],"complete":true}),
            ),
            (
                ServerFrame::Ack { client_msg_id: "c-1".into(), id: 42, sent_at: 7 },
                json!({"type":"ack","client_msg_id":"c-1","id":42,"sent_at":7}),
            ),
            (ServerFrame::NickOk { nickname: "bob".into() }, json!({"type":"nick_ok","nickname":"bob"})),
            (
                ServerFrame::MessageUpdated {
                    message: ChatMessage {
                        body: "hi **there**".into(),
                        edited_at: Some(1_764_000_001_000),
                        rev: 9,
                        reactions: vec![Reaction {
                            emoji: "👍".into(),
                            users: vec![Reactor { user_id: 8, nickname: "bob".into() }],
                        }],
                        ..sample_message()
                    },
                },
                json!({"type":"message_updated","message":{"id":42,"room_id":1,"author_id":7,"nickname":"alice",
                    "body":"hi **there**","sent_at":1_764_000_000_000_i64,"client_msg_id":"c-1","kind":"chat",
                    "deleted":false,"edited_at":1_764_000_001_000_i64,"rev":9,
                    "reactions":[{"emoji":"👍","users":[{"user_id":8,"nickname":"bob"}]}]}}),
            ),
            (
                ServerFrame::Typing { room_id: 1, user_id: 7, nickname: "alice".into() },
                json!({"type":"typing","room_id":1,"user_id":7,"nickname":"alice"}),
            ),
            (ServerFrame::RoomJoined { room: direct() }, json!({"type":"room_joined","room":direct_json()})),
            (ServerFrame::RoomLeft { room_id: 5 }, json!({"type":"room_left","room_id":5})),
            (ServerFrame::RoomArchived { room_id: 5 }, json!({"type":"room_archived","room_id":5})),
            (
                ServerFrame::MemberJoined {
                    room_id: 5,
                    member: Member { user_id: 8, nickname: "bob".into(), is_bot: false },
                },
                json!({"type":"member_joined","room_id":5,"member":{"user_id":8,"nickname":"bob","is_bot":false}}),
            ),
            (ServerFrame::MemberLeft { room_id: 5, user_id: 8 }, json!({"type":"member_left","room_id":5,"user_id":8})),
            (ServerFrame::Read { room_id: 5, last_read_id: 42 }, json!({"type":"read","room_id":5,"last_read_id":42})),
            (ServerFrame::Rooms { rooms: vec![general()] }, json!({"type":"rooms","rooms":[general_json()]})),
            (
                ServerFrame::UserRenamed { user_id: 7, from: "dave".into(), to: "david".into() },
                json!({"type":"user_renamed","user_id":7,"from":"dave","to":"david"}),
            ),
            (
                ServerFrame::UserJoined { user_id: 8, nickname: "bob".into() },
                json!({"type":"user_joined","user_id":8,"nickname":"bob"}),
            ),
            (
                ServerFrame::UserLeft { user_id: 8, nickname: "bob".into() },
                json!({"type":"user_left","user_id":8,"nickname":"bob"}),
            ),
            (
                ServerFrame::Presence { online: vec![OnlineUser { user_id: 8, nickname: "bob".into(), idle: true }] },
                json!({"type":"presence","online":[{"user_id":8,"nickname":"bob","idle":true}]}),
            ),
            (ServerFrame::UserIdle { user_id: 8, idle: true }, json!({"type":"user_idle","user_id":8,"idle":true})),
            (
                Rejection::new(ErrorCode::EmptyMessage, "Type a message first.").into_frame(Some("c-1".into())),
                json!({"type":"error","code":"empty_message","message":"Type a message first.","client_msg_id":"c-1"}),
            ),
            (
                Rejection::new(ErrorCode::MalformedFrame, "x").into_frame(None),
                json!({"type":"error","code":"malformed_frame","message":"x"}),
            ),
            (
                Rejection::new(ErrorCode::NotAMember, "x").into_frame(Some("c-9".into())),
                json!({"type":"error","code":"not_a_member","message":"x","client_msg_id":"c-9"}),
            ),
        ];
        for (frame, expected) in cases {
            let encoded: serde_json::Value = serde_json::from_str(&frame.to_json()).unwrap();
            assert_eq!(encoded, expected);
            let decoded: ServerFrame = serde_json::from_value(expected).unwrap();
            assert_eq!(decoded, frame);
        }
    }

    #[test]
    fn bad_frames_get_distinct_codes() {
        let code = |text: &str| decode_client_frame(text).unwrap_err().code;
        assert_eq!(code("not json"), ErrorCode::MalformedFrame);
        assert_eq!(code("[1,2]"), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"type":3}"#), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"type":"shout","body":"x"}"#), ErrorCode::UnknownFrameType);
        assert_eq!(code(r#"{"type":"send","body":"x"}"#), ErrorCode::MalformedFrame);
        assert_eq!(
            code(r#"{"type":"send","room_id":"general","client_msg_id":"a","body":"x"}"#),
            ErrorCode::MalformedFrame
        );
        assert_eq!(code(r#"{"type":"read","room_id":1}"#), ErrorCode::MalformedFrame);
        let huge = format!(r#"{{"type":"send","client_msg_id":"a","body":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
        assert_eq!(code(&huge), ErrorCode::FrameTooLarge);
    }

    #[test]
    fn nicknames_are_trimmed_and_bounded() {
        assert_eq!(validate_nickname("  alice ").unwrap(), "alice");
        assert_eq!(validate_nickname(&"é".repeat(32)).unwrap().chars().count(), 32);
        for bad in [
            "",
            "   ",
            &"a".repeat(33),
            "al\u{200B}ice",
            "ali\u{202E}ce",
            "a\u{0007}b",
            "line\nbreak",
            "natter",
            "NATTER",
        ] {
            assert_eq!(validate_nickname(bad).unwrap_err().code, ErrorCode::InvalidNickname, "{bad:?}");
        }
    }

    #[test]
    fn bodies_keep_their_text_and_lose_surrounding_blank_lines() {
        assert_eq!(validate_body("\n\nhello\r\nworld\n\n").unwrap(), "hello\nworld");
        assert_eq!(validate_body("    indented code").unwrap(), "    indented code");
        assert_eq!(validate_body("\n \n\tfn main() {}\n").unwrap(), "\tfn main() {}");
        assert_eq!(validate_body("<script>alert(1)</script>").unwrap(), "<script>alert(1)</script>");
        assert_eq!(validate_body(&"x".repeat(MAX_MESSAGE_CHARS)).unwrap().len(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn bad_bodies_are_refused_with_their_reason() {
        let code = |body: &str| validate_body(body).unwrap_err().code;
        assert_eq!(code(""), ErrorCode::EmptyMessage);
        assert_eq!(code(" \n\t \r\n "), ErrorCode::EmptyMessage);
        assert_eq!(code(&"x".repeat(MAX_MESSAGE_CHARS + 1)), ErrorCode::MessageTooLong);
        assert_eq!(code("nul\u{0}byte"), ErrorCode::InvalidCharacters);
    }

    #[test]
    fn room_names_are_lowercase_ascii_slugs() {
        assert_eq!(validate_room_name("  Rust Talk ").unwrap(), "rust-talk");
        assert_eq!(validate_room_name("off_topic-2").unwrap(), "off_topic-2");
        assert_eq!(validate_room_name("42").unwrap(), "42");
        assert_eq!(validate_room_name(&"a".repeat(MAX_ROOM_NAME_CHARS)).unwrap().len(), MAX_ROOM_NAME_CHARS);
        for bad in [
            "",
            "   ",
            "a",
            &"a".repeat(MAX_ROOM_NAME_CHARS + 1),
            "-dash-first",
            "_underscore",
            "café",
            "r\u{0430}st", // a Cyrillic а that looks like a Latin one
            "dm:1:2",      // the shape of a direct conversation's key
            "a/b",
            "zero\u{200B}width",
        ] {
            assert_eq!(validate_room_name(bad).unwrap_err().code, ErrorCode::InvalidRoomName, "{bad:?}");
        }
    }

    #[test]
    fn rooms_live_at_their_name_and_conversations_at_the_peer() {
        assert_eq!(general().path(), "/r/general");
        assert_eq!(direct().path(), "/dm/8");
    }

    #[test]
    fn passwords_must_be_long_enough_and_not_absurdly_long() {
        assert!(validate_password("correct horse").is_ok());
        assert!(validate_password("çççççççç").is_ok());
        for bad in ["", "short", &"x".repeat(257)] {
            assert_eq!(validate_password(bad).unwrap_err().code, ErrorCode::InvalidPassword);
        }
    }

    #[test]
    fn client_msg_ids_are_short_and_plain() {
        assert!(validate_client_msg_id("0b6f2c9e-8d0c-4a5e-9a43-2d1f7c1e9b10").is_ok());
        for bad in ["", "has space", "<x>", &"a".repeat(65)] {
            assert!(validate_client_msg_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn history_limits_are_clamped() {
        assert_eq!(history_limit(None), HISTORY_PAGE);
        assert_eq!(history_limit(Some(0)), 1);
        assert_eq!(history_limit(Some(10_000)), MAX_HISTORY_PAGE);
    }

    mod properties {
        //! Any input at all: the checks never panic, and what they accept they accept again unchanged.
        //! `scripts/fuzz.sh` runs these for much longer than the test suite does.
        use super::super::*;
        use proptest::prelude::*;

        fn any_client_frame() -> impl Strategy<Value = ClientFrame> {
            prop_oneof![
                (proptest::option::of(any::<i64>()), proptest::option::of(any::<i64>()))
                    .prop_map(|(since, changes_since)| ClientFrame::Hello { since, changes_since }),
                any::<String>().prop_map(|nickname| ClientFrame::Nick { nickname }),
                (any::<i64>(), any::<String>(), any::<String>())
                    .prop_map(|(room_id, client_msg_id, body)| ClientFrame::Send { room_id, client_msg_id, body }),
                any::<i64>().prop_map(|room_id| ClientFrame::Typing { room_id }),
                (any::<i64>(), any::<i64>())
                    .prop_map(|(room_id, last_read_id)| ClientFrame::Read { room_id, last_read_id }),
            ]
        }

        /// Text that looks like frames: JSON punctuation, frame words and odd characters.
        fn frame_like_text() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("{".to_owned()),
                Just("}".to_owned()),
                Just("\"type\":".to_owned()),
                Just("\"send\"".to_owned()),
                Just("\"hello\"".to_owned()),
                Just("\"body\":".to_owned()),
                Just("\"client_msg_id\":".to_owned()),
                Just("\"room_id\":".to_owned()),
                Just(",".to_owned()),
                Just("null".to_owned()),
                Just("1e999".to_owned()),
                Just("-9223372036854775809".to_owned()),
                any::<String>(),
            ];
            proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #[test]
            fn decoding_never_panics(text in prop_oneof![any::<String>(), frame_like_text()]) {
                let _ = decode_client_frame(&text);
            }

            #[test]
            fn every_frame_decodes_to_itself(frame in any_client_frame()) {
                prop_assert_eq!(decode_client_frame(&frame.to_json()).unwrap(), frame);
            }

            #[test]
            fn an_accepted_body_is_accepted_again_unchanged(raw in any::<String>()) {
                if let Ok(body) = validate_body(&raw) {
                    prop_assert_eq!(validate_body(&body), Ok(body.clone()));
                    prop_assert!(body.chars().count() <= MAX_MESSAGE_CHARS);
                    prop_assert!(!body.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
                }
            }

            #[test]
            fn an_accepted_nickname_is_accepted_again_unchanged(raw in any::<String>()) {
                if let Ok(nickname) = validate_nickname(&raw) {
                    prop_assert_eq!(validate_nickname(&nickname), Ok(nickname.clone()));
                    prop_assert!(!nickname.chars().any(char::is_control));
                }
            }

            #[test]
            fn an_accepted_room_name_is_plain_and_stable(raw in any::<String>()) {
                if let Ok(name) = validate_room_name(&raw) {
                    prop_assert_eq!(validate_room_name(&name), Ok(name.clone()));
                    prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
                }
            }
        }
    }

    #[test]
    fn a_reaction_is_exactly_one_emoji() {
        for emoji in ["👍", "❤️", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "🇫🇷", "1️⃣", "✅", "☕", "🫠", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", " 🎉 "]
        {
            assert_eq!(validate_reaction(emoji).as_deref(), Ok(emoji.trim()), "{emoji:?}");
        }
        for bad in [
            "",
            " ",
            "a",
            "+1",
            ":)",
            "👍👍",
            "👍 x",
            "<b>",
            "\u{200D}",
            "👍\u{200D}",
            "\u{1F3FB}",
            "\u{FE0F}",
            "1",
            "🎉\u{202E}",
            "🇫",
            "🇫🇷🇫",
            &"👍".repeat(9),
        ] {
            let refused = validate_reaction(bad).unwrap_err();
            assert_eq!(refused.code, ErrorCode::InvalidReaction, "{bad:?}");
        }
    }

    #[test]
    fn notifications_default_to_everything_in_conversations_and_mentions_elsewhere() {
        let (room, conversation) = (general(), direct());
        assert!(!room.notifies(false) && room.notifies(true));
        assert!(conversation.notifies(false));
        let chosen = |notify| Room { notify: Some(notify), ..general() };
        assert!(chosen(NotifyLevel::All).notifies(false));
        assert!(!chosen(NotifyLevel::Nothing).notifies(true));
        assert!(!Room { notify: Some(NotifyLevel::Mentions), ..direct() }.notifies(false));
    }
}
