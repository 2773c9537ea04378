//! Who is typing, as a reader sees it. Each "typing" signal lasts a few seconds unless renewed;
//! a message from the typist ends it at once. Pure, so the rules are tested natively.
use crate::protocol::UserId;

/// How long one typing signal is shown. Clients resend at most every 2 s while typing, so 5 s
/// bridges a missed signal without lingering long after someone stops.
pub const TYPING_SHOWN_MS: f64 = 5_000.0;
/// How often a typing client tells the server: the protocol's "at most every 2 s". The server
/// passes on one signal per 1.5 s per user in any case.
pub const TYPING_EVERY_MS: f64 = 2_000.0;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Typing {
    /// (user id, nickname, shown until), in the order they started typing.
    typists: Vec<(UserId, String, f64)>,
}

impl Typing {
    /// `user_id` is typing as of `now` (milliseconds on any monotonic clock).
    pub fn note(&mut self, user_id: UserId, nickname: &str, now: f64) {
        let until = now + TYPING_SHOWN_MS;
        match self.typists.iter_mut().find(|(id, _, _)| *id == user_id) {
            // Renewed with the nickname the frame carries, so a rename mid-sentence shows.
            Some(typist) => {
                typist.1 = nickname.to_owned();
                typist.2 = until;
            }
            None => self.typists.push((user_id, nickname.to_owned(), until)),
        }
    }

    /// The user sent their message (or left): no longer typing.
    pub fn clear(&mut self, user_id: UserId) {
        self.typists.retain(|(id, _, _)| *id != user_id);
    }

    /// Forgets signals that ran out; returns whether anything changed.
    pub fn expire(&mut self, now: f64) -> bool {
        let before = self.typists.len();
        self.typists.retain(|(_, _, until)| *until > now);
        self.typists.len() != before
    }

    /// What to show: "alice is typing…", "alice and bob are typing…", "Several people are typing…".
    pub fn label(&self) -> Option<String> {
        match self.typists.as_slice() {
            [] => None,
            [(_, one, _)] => Some(format!("{one} is typing…")),
            [(_, one, _), (_, two, _)] => Some(format!("{one} and {two} are typing…")),
            _ => Some("Several people are typing…".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typists_are_named_until_their_signal_runs_out_or_they_send() {
        let mut typing = Typing::default();
        assert_eq!(typing.label(), None);
        typing.note(UserId(1), "alice", 0.0);
        assert_eq!(typing.label().as_deref(), Some("alice is typing…"));
        typing.note(UserId(2), "bob", 1_000.0);
        assert_eq!(typing.label().as_deref(), Some("alice and bob are typing…"));
        typing.note(UserId(3), "carol", 1_500.0);
        assert_eq!(typing.label().as_deref(), Some("Several people are typing…"));
        typing.clear(UserId(3));
        assert!(typing.expire(5_500.0), "alice's signal from 0 s ran out at 5 s");
        assert_eq!(typing.label().as_deref(), Some("bob is typing…"));
        typing.note(UserId(2), "bob", 5_900.0);
        assert!(!typing.expire(10_000.0), "renewed, bob is still typing");
        typing.clear(UserId(2));
        assert_eq!(typing.label(), None);
    }
}
