//! Every open socket, so that sign-out and bans can close them from outside and the caps per
//! user and per address hold. Apart from the fan-out because closing a socket is a different road
//! from sending it frames: a token cancelled, not a frame in the channel.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{lock, Hub};
use crate::protocol::UserId;

/// An open socket, so it can be closed from elsewhere (sign-out).
pub(super) struct Registered {
    session: Vec<u8>,
    user_id: UserId,
    address: Option<IpAddr>,
    closer: CancellationToken,
}

/// How many sockets one user, and one client address, may have open at once.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionCaps {
    pub per_user: usize,
    pub per_address: usize,
}

/// Every open socket, with running counts per user and per address so the caps cost nothing per
/// connection however many are open.
#[derive(Default)]
pub(super) struct Registry {
    pub(super) open: HashMap<u64, Registered>,
    per_user: HashMap<UserId, usize>,
    per_address: HashMap<IpAddr, usize>,
}

impl Registry {
    fn remove(&mut self, id: u64) {
        let Some(gone) = self.open.remove(&id) else { return };
        uncount(&mut self.per_user, gone.user_id);
        if let Some(address) = gone.address {
            uncount(&mut self.per_address, address);
        }
    }
}

fn uncount<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: K) {
    if let Entry::Occupied(mut count) = counts.entry(key) {
        *count.get_mut() -= 1;
        if *count.get() == 0 {
            count.remove();
        }
    }
}

/// Unregisters its connection when dropped.
pub struct ConnectionGuard {
    hub: Arc<Hub>,
    id: u64,
    /// Cancelled when the connection's session ends.
    pub closed: CancellationToken,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        lock(&self.hub.connections).remove(self.id);
    }
}

impl Hub {
    /// Registers a socket of `session` about to open; its token is cancelled when the session ends.
    /// `None` when the user or the address already has as many open as `caps` allows.
    pub fn register(
        self: &Arc<Self>,
        session: Vec<u8>,
        user_id: UserId,
        address: Option<IpAddr>,
        caps: ConnectionCaps,
    ) -> Option<ConnectionGuard> {
        // Sockets on other Natters count too, as they last said (within a heartbeat).
        let elsewhere = self.connections_elsewhere(user_id);
        let mut registry = lock(&self.connections);
        let by_user =
            registry.per_user.get(&user_id).copied().unwrap_or(0) + usize::try_from(elsewhere).unwrap_or(usize::MAX);
        let by_address = address.and_then(|address| registry.per_address.get(&address).copied()).unwrap_or(0);
        if by_user >= caps.per_user || by_address >= caps.per_address {
            return None;
        }
        *registry.per_user.entry(user_id).or_default() += 1;
        if let Some(address) = address {
            *registry.per_address.entry(address).or_default() += 1;
        }
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let closer = CancellationToken::new();
        registry.open.insert(id, Registered { session, user_id, address, closer: closer.clone() });
        Some(ConnectionGuard { hub: Arc::clone(self), id, closed: closer })
    }

    /// Closes every socket of a user (after a ban).
    pub fn end_user(&self, user_id: UserId) {
        for registered in lock(&self.connections).open.values().filter(|r| r.user_id == user_id) {
            registered.closer.cancel();
        }
    }

    /// Closes every socket of a session (after sign-out).
    pub fn end_session(&self, session: &[u8]) {
        for registered in lock(&self.connections).open.values().filter(|r| r.session == session) {
            registered.closer.cancel();
        }
    }
}
