//! Who is online, for the screens and for the other Natters: counted from this Natter's sockets,
//! merged with what the other Natters on the database say, and announced only when the union
//! changes. Kept apart from the fan-out because it is the hub's one piece of state with rules of
//! its own (idleness, renames, a person on several Natters being online once).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::{lock, Audience, Broadcast, Hub};
use crate::protocol::{OnlineUser, ServerFrame, UserId};
use crate::server::store::Present;

/// A user's sockets on this Natter.
struct Online {
    nickname: String,
    connections: usize,
    last_active: Instant,
    idle: bool,
}

/// What the screens were told about an online user: online under this nickname, idle or not.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shown {
    nickname: String,
    idle: bool,
}

/// Who is online: here (counted from this Natter's sockets), elsewhere (as the other Natters on
/// the database last said), and what the screens were told of the two together. Every change
/// to either side is followed by `settle`, which announces only what changed in the union, so a
/// person on three Natters is online once and leaves when their last socket anywhere closes.
#[derive(Default)]
pub(super) struct Presence {
    here: BTreeMap<UserId, Online>,
    elsewhere: HashMap<UserId, Present>,
    shown: BTreeMap<UserId, Shown>,
}

impl Presence {
    /// What the screens should show of `user_id` now.
    fn union(&self, user_id: UserId) -> Option<Shown> {
        match (self.here.get(&user_id), self.elsewhere.get(&user_id)) {
            (Some(here), elsewhere) => Some(Shown {
                nickname: here.nickname.clone(),
                idle: here.idle && elsewhere.is_none_or(|elsewhere| elsewhere.idle),
            }),
            (None, Some(elsewhere)) => Some(Shown { nickname: elsewhere.nickname.clone(), idle: elsewhere.idle }),
            (None, None) => None,
        }
    }

    /// Announces what changed for `user_id` since the screens were last told; returns whether
    /// anything did.
    fn settle(&mut self, user_id: UserId, publish: &impl Fn(Broadcast)) -> bool {
        let before = self.shown.get(&user_id);
        let mut now = self.union(user_id);
        if let (Some(before), Some(now)) = (before, now.as_mut()) {
            // A nickname changes only by a rename, which `Hub::rename` tells; another server's
            // view of it may lag.
            now.nickname.clone_from(&before.nickname);
        }
        if before == now.as_ref() {
            return false;
        }
        let announce = |frame: &ServerFrame| publish(Broadcast::new(Audience::Everyone, frame));
        match (before, &now) {
            (None, Some(shown)) => {
                announce(&ServerFrame::UserJoined { user_id, nickname: shown.nickname.clone() });
                if shown.idle {
                    announce(&ServerFrame::UserIdle { user_id, idle: true });
                }
            }
            (Some(gone), None) => announce(&ServerFrame::UserLeft { user_id, nickname: gone.nickname.clone() }),
            (Some(was), Some(shown)) if was.idle != shown.idle => {
                announce(&ServerFrame::UserIdle { user_id, idle: shown.idle });
            }
            _ => {}
        }
        match now {
            Some(shown) => self.shown.insert(user_id, shown),
            None => self.shown.remove(&user_id),
        };
        true
    }
}

impl Hub {
    /// Counts a connection of a user; announces the user when they were not online before.
    pub fn join(&self, user_id: UserId, nickname: &str) {
        let mut presence = lock(&self.presence);
        let entry = presence.here.entry(user_id).or_insert_with(|| Online {
            nickname: nickname.to_owned(),
            connections: 0,
            last_active: Instant::now(),
            idle: false,
        });
        entry.connections += 1;
        let first_here = entry.connections == 1;
        let woke = std::mem::replace(&mut entry.idle, false);
        entry.last_active = Instant::now();
        // Published under the lock so join and leave announcements keep the order of the counts.
        self.settle_here(&mut presence, user_id, first_here || woke);
    }

    /// Uncounts a connection; announces the user's departure when it was their last one anywhere.
    pub fn leave(&self, user_id: UserId) {
        let mut presence = lock(&self.presence);
        let Some(entry) = presence.here.get_mut(&user_id) else { return };
        entry.connections -= 1;
        let last_here = entry.connections == 0;
        if last_here {
            presence.here.remove(&user_id);
        }
        self.settle_here(&mut presence, user_id, last_here);
    }

    /// Announces a change here to the screens; the other Natters hear it at once when it changed
    /// what they show, or `here_changed` (the user came, went or changed idleness here, which
    /// matters to them even when this Natter's screens see no difference).
    fn settle_here(&self, presence: &mut Presence, user_id: UserId, here_changed: bool) {
        if presence.settle(user_id, &|frame| self.publish(frame)) || here_changed {
            self.presence_changed.notify_one();
        }
    }

    /// Tells everyone a user's new nickname (they are shown under it from now on, online or not).
    pub fn rename(&self, user_id: UserId, from: &str, to: &str) {
        let mut presence = lock(&self.presence);
        if let Some(entry) = presence.here.get_mut(&user_id) {
            entry.nickname = to.to_owned();
        }
        if let Some(entry) = presence.elsewhere.get_mut(&user_id) {
            entry.nickname = to.to_owned();
        }
        if let Some(entry) = presence.shown.get_mut(&user_id) {
            entry.nickname = to.to_owned();
        }
        let frame = ServerFrame::UserRenamed { user_id, from: from.to_owned(), to: to.to_owned() };
        self.publish(Broadcast {
            renamed: Some((user_id, to.to_owned())),
            ..Broadcast::new(Audience::Everyone, &frame)
        });
    }

    /// Everyone online now, here or on another Natter, sorted by nickname: what the screens were told.
    pub fn online(&self) -> Vec<OnlineUser> {
        let mut everyone: Vec<OnlineUser> = lock(&self.presence)
            .shown
            .iter()
            .map(|(&user_id, shown)| OnlineUser { user_id, nickname: shown.nickname.clone(), idle: shown.idle })
            .collect();
        everyone.sort_by_key(|user| user.nickname.to_lowercase());
        everyone
    }

    /// Who is online on this Natter's own sockets, for the other Natters (`Store::share_presence`).
    pub fn here(&self) -> Vec<Present> {
        lock(&self.presence)
            .here
            .iter()
            .map(|(&user_id, online)| Present {
                user_id,
                nickname: online.nickname.clone(),
                idle: online.idle,
                connections: u32::try_from(online.connections).unwrap_or(u32::MAX),
            })
            .collect()
    }

    /// Resolves when who is online here changed in a way other Natters should hear before the
    /// next heartbeat (someone came, went, or went idle or active).
    pub async fn presence_changed(&self) {
        self.presence_changed.notified().await;
    }

    /// Takes who the other Natters say is online (all of them, replacing what they said before)
    /// and announces whoever came, went, or changed idleness in the union.
    pub fn elsewhere(&self, present: &[Present]) {
        let mut merged: HashMap<UserId, Present> = HashMap::with_capacity(present.len());
        for one in present {
            merged
                .entry(one.user_id)
                .and_modify(|seen| {
                    seen.connections = seen.connections.saturating_add(one.connections);
                    seen.idle &= one.idle;
                })
                .or_insert_with(|| one.clone());
        }
        let mut presence = lock(&self.presence);
        let old = std::mem::replace(&mut presence.elsewhere, merged);
        let concerned: BTreeSet<UserId> = old.keys().chain(presence.elsewhere.keys()).copied().collect();
        for user_id in concerned {
            presence.settle(user_id, &|frame| self.publish(frame));
        }
    }

    /// The user did something (sent, typed, renamed): they are active, and no longer idle.
    pub fn touch(&self, user_id: UserId) {
        let mut presence = lock(&self.presence);
        if let Some(entry) = presence.here.get_mut(&user_id) {
            entry.last_active = Instant::now();
            if entry.idle {
                entry.idle = false;
                self.settle_here(&mut presence, user_id, true);
            }
        }
    }

    /// Marks everyone inactive here for `after` as idle, announcing each; run periodically.
    pub fn sweep_idle(&self, after: Duration) {
        let mut presence = lock(&self.presence);
        let tired: Vec<UserId> = presence
            .here
            .iter_mut()
            .filter(|(_, entry)| !entry.idle && entry.last_active.elapsed() >= after)
            .map(|(&user_id, entry)| {
                entry.idle = true;
                user_id
            })
            .collect();
        for user_id in tired {
            self.settle_here(&mut presence, user_id, true);
        }
    }

    /// The sockets `user_id` has open on the other Natters, as they last said.
    pub(super) fn connections_elsewhere(&self, user_id: UserId) -> u32 {
        lock(&self.presence).elsewhere.get(&user_id).map_or(0, |present| present.connections)
    }
}
