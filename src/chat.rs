//! The chat's reactive state, shared by every component through context. Components read signals and
//! call the methods here; the browser's socket task (`client`, hydrate only) turns commands into
//! frames and frames into signal updates. On the server the command queue is absent and the state
//! only renders the first paint.

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;

use crate::protocol::{validate_body, validate_nickname, Account, ChatMessage, OnlineUser};
use crate::timeline::Timeline;
use crate::typing::{Typing, TYPING_EVERY_MS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    /// Disconnected; the next attempt starts in this many seconds.
    Retrying {
        seconds: u32,
    },
}

/// What the page asks the socket task to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Send { body: String },
    SetNickname(String),
    Retry(String),
    Typing,
}

#[derive(Clone, Copy)]
pub struct ChatState {
    pub timeline: RwSignal<Timeline>,
    pub online: RwSignal<Vec<OnlineUser>>,
    pub connection: RwSignal<Connection>,
    /// The signed-in account; `None` for a visitor who has not picked a nickname.
    pub me: RwSignal<Option<Account>>,
    /// The nickname field's text.
    pub nickname: RwSignal<String>,
    pub nickname_error: RwSignal<Option<String>>,
    /// A problem to show near the composer (a refused frame not tied to one message).
    pub alert: RwSignal<Option<String>>,
    /// Who else is typing now.
    pub typing: RwSignal<Typing>,
    /// When this page last told the server its user is typing.
    last_typing_sent: StoredValue<f64>,
    commands: StoredValue<Option<UnboundedSender<Command>>>,
}

impl ChatState {
    pub fn new(history: Vec<ChatMessage>, online: Vec<OnlineUser>, me: Option<Account>) -> Self {
        Self {
            timeline: RwSignal::new(Timeline::from_history(history)),
            online: RwSignal::new(online),
            connection: RwSignal::new(Connection::Connecting),
            nickname: RwSignal::new(me.as_ref().map(|account| account.nickname.clone()).unwrap_or_default()),
            me: RwSignal::new(me),
            nickname_error: RwSignal::new(None),
            alert: RwSignal::new(None),
            typing: RwSignal::new(Typing::default()),
            last_typing_sent: StoredValue::new(f64::NEG_INFINITY),
            commands: StoredValue::new(None),
        }
    }

    /// Called once by the socket task when it starts.
    pub fn attach(&self, commands: UnboundedSender<Command>) {
        self.commands.set_value(Some(commands));
    }

    pub fn is_connected(&self) -> bool {
        self.connection.get() == Connection::Connected
    }

    /// Validates and queues a message; returns whether it was queued. When it was not, the reason
    /// is shown near the composer, which keeps the text.
    pub fn submit(&self, body: &str) -> bool {
        if self.me.get_untracked().is_none() {
            self.alert.set(Some("Choose a nickname and join first.".into()));
            return false;
        }
        let body = match validate_body(body) {
            Ok(body) => body,
            Err(refused) => {
                self.alert.set(Some(refused.message));
                return false;
            }
        };
        self.alert.set(None);
        // The message itself ends the typing signal for readers; the next keystroke starts anew.
        self.last_typing_sent.set_value(f64::NEG_INFINITY);
        self.command(Command::Send { body });
        true
    }

    /// The signed-in user committed an edit of the nickname field (blur or Enter): rename.
    pub fn commit_nickname(&self) {
        let Some(me) = self.me.get_untracked() else { return };
        match validate_nickname(&self.nickname.get_untracked()) {
            Ok(nickname) if nickname == me.nickname => self.nickname_error.set(None),
            Ok(nickname) => {
                self.nickname_error.set(None);
                self.command(Command::SetNickname(nickname));
            }
            Err(refused) => self.nickname_error.set(Some(refused.message)),
        }
    }

    /// The user typed in the composer at `now` (ms): tell others, at most every couple of seconds.
    pub fn typed(&self, now: f64) {
        if self.is_connected() && now - self.last_typing_sent.get_value() >= TYPING_EVERY_MS {
            self.last_typing_sent.set_value(now);
            self.command(Command::Typing);
        }
    }

    pub fn retry(&self, client_msg_id: String) {
        self.command(Command::Retry(client_msg_id));
    }

    pub fn discard(&self, client_msg_id: &str) {
        self.timeline.update(|timeline| timeline.discard(client_msg_id));
    }

    fn command(&self, command: Command) {
        self.commands.with_value(|commands| {
            if let Some(commands) = commands {
                let _ = commands.unbounded_send(command);
            }
        });
    }
}

/// Adds or updates someone in an online list kept sorted by nickname.
pub fn upsert_online(online: &mut Vec<OnlineUser>, user: OnlineUser) {
    online.retain(|other| other.user_id != user.user_id);
    let key = user.nickname.to_lowercase();
    let position = online.partition_point(|other| other.nickname.to_lowercase() < key);
    online.insert(position, user);
}

/// Milliseconds to wait before reconnect attempt number `failures` (1-based): doubling from half a
/// second up to 15 s, spread by `jitter` in [0, 1) so clients dropped together do not return together.
pub fn retry_delay_ms(failures: u32, jitter: f64) -> u32 {
    let base = 500u32.saturating_mul(1 << failures.saturating_sub(1).min(5)).min(15_000);
    (f64::from(base) * (0.5 + jitter.clamp(0.0, 1.0))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_online_list_stays_sorted_and_has_each_user_once() {
        let user = |user_id, nickname: &str| OnlineUser { user_id, nickname: nickname.into(), idle: false };
        let mut online = vec![];
        upsert_online(&mut online, user(2, "bob"));
        upsert_online(&mut online, user(1, "Alice"));
        upsert_online(&mut online, user(3, "carol"));
        upsert_online(&mut online, user(2, "zed"));
        let names: Vec<&str> = online.iter().map(|u| u.nickname.as_str()).collect();
        assert_eq!(names, ["Alice", "carol", "zed"]);
    }

    #[test]
    fn retry_delays_double_up_to_a_cap_and_are_jittered() {
        assert_eq!(retry_delay_ms(1, 0.5), 500);
        assert_eq!(retry_delay_ms(2, 0.5), 1_000);
        assert_eq!(retry_delay_ms(3, 0.5), 2_000);
        assert_eq!(retry_delay_ms(50, 0.5), 15_000);
        assert_eq!(retry_delay_ms(1, 0.0), 250);
        assert_eq!(retry_delay_ms(1, 0.999), 749);
    }
}
