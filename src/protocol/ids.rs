//! The ids that name rows: one type per kind, so a room id can never be passed where a message id is
//! expected. On the wire each is the plain JSON number it always was (`#[serde(transparent)]`), so
//! the protocol and every bot stay unchanged; in URLs and logs each prints as that number.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares an id newtype over the database's `i64` with what every id needs: ordering (ids are
/// handed out in commit order, so comparing them is meaningful), hashing, the wire form, `Display`
/// for URLs and `FromStr` for route parameters.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The number as stored and sent.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }
    };
}

id_type!(
    /// A room or direct conversation. `GENERAL_ROOM_ID` is the one everybody is in.
    RoomId
);
id_type!(
    /// An account, person or bot: stable across renames.
    UserId
);
id_type!(
    /// A stored message: assigned in commit order, strictly increasing across all rooms, never
    /// reused. A catch-up asks for every id after the last one a client saw.
    MessageId
);
id_type!(
    /// A point in the server-wide sequence of message changes (edits, deletions, reactions): each
    /// change takes the next value, so a client resumes changes after the highest one it has seen.
    /// 0 is a message as sent, never changed.
    Revision
);

impl Revision {
    /// A message as sent: no change has touched it.
    pub const UNCHANGED: Revision = Revision(0);

    /// The revision the next change takes.
    pub const fn next(self) -> Revision {
        Revision(self.0 + 1)
    }
}

impl MessageId {
    /// Before the first message: a catch-up from here returns everything.
    pub const NONE: MessageId = MessageId(0);
}
