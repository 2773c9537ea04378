//! The wire format: every frame that crosses the websocket, the message type server functions return,
//! and the limits and validation rules both ends apply. The server and the WASM client compile this same
//! module, so a rule checked in the browser is the rule enforced on the server. `docs/protocol.md`
//! documents every frame; the golden tests in `tests.rs` pin the JSON. No `cfg` here: both builds
//! compile every line.

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
pub const GENERAL_ROOM_ID: RoomId = RoomId(1);
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

/// Frames that name no room mean general (the protocol before rooms existed).
fn general_room() -> RoomId {
    GENERAL_ROOM_ID
}

mod frames;
mod ids;
mod model;
mod page;
mod rules;
#[cfg(test)]
mod sample;
#[cfg(test)]
mod tests;

pub use frames::*;
pub use ids::*;
pub use model::*;
pub use page::*;
pub use rules::*;
