//! Who is online, and who is typing, across every Natter on one database. Unlike the stream,
//! none of it is history: a screen that missed a typing signal has lost nothing, and presence is
//! a state that each Natter restates on every heartbeat. So it takes the cheapest path that heals
//! itself:
//!
//! - Each Natter keeps one row in `presence` (migrations/postgres/0004_presence.sql): who is
//!   online on its sockets, and when it last said so, by the database's clock (so the Natters'
//!   clocks need not agree). It rewrites the row when that changes and touches it every
//!   heartbeat; a `NOTIFY` tells the others to read it at once.
//! - Each Natter reads the others' rows on that hint and every heartbeat, and tells its hub the
//!   union (`PresenceElsewhere`). A row not touched for `PRESENCE_EXPIRY` is of a Natter that died
//!   or lost the database: it is left out, so its users go offline everywhere unless they are
//!   online on another Natter. A Natter that cannot read the rows for that long forgets them too.
//! - Typing signals travel in a `NOTIFY` payload only: at most once, never stored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, Mutex, Notify};
use tokio_util::sync::CancellationToken;

use super::rows::{execute, query};
use super::stream::Sequencer;
use super::*;

/// The channel a Natter notifies when its row changed (payload: its node id).
pub(super) const PRESENCE_CHANNEL: &str = "natter_presence";
/// The channel typing signals travel on (payload: a JSON [`Heard`]).
pub(super) const TYPING_CHANNEL: &str = "natter_typing";
/// Typing signals waiting for their `NOTIFY`; beyond this they are dropped (they are hints).
const TYPING_QUEUE: usize = 256;
/// Rows of Natters silent this long are deleted (anyone may: they are dead).
const FORGET_AFTER_SECS: f64 = 60.0;

/// A typing signal as it travels, with the Natter it came from (which does not hear its own).
#[derive(serde::Serialize, serde::Deserialize)]
struct Heard {
    node: String,
    signal: TypingSignal,
}

/// This Natter's side of presence: its row, what it last wrote there, and its ear for the others.
pub(super) struct Presence {
    node: Arc<str>,
    readers: Pool,
    sequencer: Arc<Sequencer>,
    written: Mutex<Written>,
    /// Wakes the reader: another Natter's row changed, or the `LISTEN` connection came back.
    pub(super) wake: Notify,
    typing: mpsc::Sender<TypingSignal>,
}

/// What this Natter last wrote in its row.
#[derive(Default)]
struct Written {
    version: i64,
    /// `None` until the first write, and after a write that may not have happened.
    online: Option<Vec<Present>>,
}

impl Presence {
    /// This Natter's presence, and the receiving end of its typing queue (for [`announce_typing`]).
    pub(super) fn new(
        node: Arc<str>,
        readers: Pool,
        sequencer: Arc<Sequencer>,
    ) -> (Arc<Self>, mpsc::Receiver<TypingSignal>) {
        let (typing, queued) = mpsc::channel(TYPING_QUEUE);
        let presence = Self { node, readers, sequencer, written: Mutex::default(), wake: Notify::new(), typing };
        (Arc::new(presence), queued)
    }

    /// Writes who is online here: the whole row when it changed (and tells the others), else only
    /// the heartbeat.
    pub(super) async fn share(&self, mut here: Vec<Present>) -> Result<(), DbError> {
        here.sort_by_key(|present| present.user_id);
        let mut written = self.written.lock().await;
        let conn = self.readers.get().await?;
        if written.online.as_ref() == Some(&here) {
            let touched =
                execute(&conn, "UPDATE presence SET seen_at = now() WHERE node = $1", &[&&*self.node]).await?;
            // Gone (deleted as dead after a long outage): written afresh below.
            if touched == 1 {
                return Ok(());
            }
        }
        written.online = None;
        let version = written.version + 1;
        let online = serde_json::to_string(&here)?;
        execute(
            &conn,
            "INSERT INTO presence (node, version, seen_at, online) VALUES ($1, $2, now(), $3)
             ON CONFLICT (node) DO UPDATE SET version = $2, seen_at = now(), online = $3",
            &[&&*self.node, &version, &online],
        )
        .await?;
        *written = Written { version, online: Some(here) };
        drop(written);
        execute(&conn, "SELECT pg_notify($1, $2)", &[&PRESENCE_CHANNEL, &&*self.node]).await?;
        Ok(())
    }

    /// Queues a typing signal for the other Natters; dropped when the queue is full.
    pub(super) fn share_typing(&self, signal: TypingSignal) {
        let _ = self.typing.try_send(signal);
    }

    /// A typing signal another Natter sent; this Natter's own come back too and are ignored.
    pub(super) async fn heard_typing(&self, payload: &str) {
        match serde_json::from_str::<Heard>(payload) {
            Ok(heard) if *heard.node != *self.node => {
                self.sequencer.tell_aside(StoreEvent::TypingElsewhere(&heard.signal)).await;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "a typing signal this server cannot read"),
        }
    }

    /// Deletes this Natter's row at shutdown, so the others see its users leave at once rather
    /// than after the expiry.
    pub(super) async fn leave(&self) {
        let left = async {
            let conn = self.readers.get().await?;
            execute(&conn, "DELETE FROM presence WHERE node = $1", &[&&*self.node]).await?;
            execute(&conn, "SELECT pg_notify($1, $2)", &[&PRESENCE_CHANNEL, &&*self.node]).await
        };
        if let Err(error) = left.await {
            tracing::warn!(%error, "cannot tell the other servers that this one's users left");
        }
    }
}

/// The other Natters' rows as last read: per node, its version and users.
type Others = HashMap<String, (i64, Vec<Present>)>;

/// Reads the other Natters' rows on every hint and every heartbeat, and tells the hub whenever
/// the union changed (a Natter's users changed, it fell silent, or it came back), until `stop`.
pub(super) async fn follow(presence: Arc<Presence>, stop: CancellationToken) {
    let mut every = tokio::time::interval(PRESENCE_HEARTBEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut others = Others::new();
    let mut last_read = Instant::now();
    let mut forget = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = presence.wake.notified() => {}
            _ = every.tick() => {}
            _ = forget.tick() => {
                if let Err(error) = forget_long_gone(&presence.readers).await {
                    tracing::warn!(%error, "cannot delete the presence of servers long gone");
                }
                continue;
            }
        }
        match read_others(&presence, &others).await {
            Ok(Some(now)) => {
                last_read = Instant::now();
                others = now;
                tell(&presence, &others).await;
            }
            Ok(None) => last_read = Instant::now(),
            Err(error) => {
                tracing::warn!(%error, "cannot read who is online on the other servers");
                // Whoever they said was online may have left since: after the expiry, nobody
                // can vouch for them.
                if last_read.elapsed() >= PRESENCE_EXPIRY && !others.is_empty() {
                    others.clear();
                    tell(&presence, &others).await;
                }
            }
        }
    }
}

/// Deletes the rows of Natters silent for `FORGET_AFTER_SECS`: they are dead.
async fn forget_long_gone(readers: &Pool) -> Result<(), DbError> {
    let conn = readers.get().await?;
    let sql = "DELETE FROM presence WHERE seen_at < now() - make_interval(secs => $1)";
    execute(&conn, sql, &[&FORGET_AFTER_SECS]).await?;
    Ok(())
}

/// The other Natters' live rows, or `None` when nothing changed since `known`. Only rows whose
/// version changed are read whole.
async fn read_others(presence: &Presence, known: &Others) -> Result<Option<Others>, DbError> {
    let conn = presence.readers.get().await?;
    let expiry = PRESENCE_EXPIRY.as_secs_f64();
    let live = query(
        &conn,
        "SELECT node, version FROM presence WHERE node <> $1 AND seen_at > now() - make_interval(secs => $2)",
        &[&&*presence.node, &expiry],
    )
    .await?;
    let live: Vec<(String, i64)> =
        live.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<Result<_, DbError>>()?;
    let unchanged = live.len() == known.len()
        && live.iter().all(|(node, version)| known.get(node).is_some_and(|(known, _)| known == version));
    if unchanged {
        return Ok(None);
    }
    let stale: Vec<&str> = live
        .iter()
        .filter(|(node, version)| known.get(node).is_none_or(|(known, _)| known != version))
        .map(|(node, _)| node.as_str())
        .collect();
    let mut now: Others =
        live.iter().filter_map(|(node, _)| known.get(node).map(|entry| (node.clone(), entry.clone()))).collect();
    for row in query(&conn, "SELECT node, version, online FROM presence WHERE node = ANY($1)", &[&stale]).await? {
        let (node, version, online): (String, i64, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        match serde_json::from_str::<Vec<Present>>(&online) {
            Ok(users) => {
                now.insert(node, (version, users));
            }
            Err(error) => tracing::error!(%error, node, "a presence row this server cannot read"),
        }
    }
    Ok(Some(now))
}

async fn tell(presence: &Presence, others: &Others) {
    let everyone: Vec<Present> = others.values().flat_map(|(_, users)| users.iter().cloned()).collect();
    presence.sequencer.tell_aside(StoreEvent::PresenceElsewhere(&everyone)).await;
}

/// Sends each queued typing signal as a `NOTIFY`, until `stop`. A signal that cannot be sent is
/// dropped: by the time the database is back, nobody is still typing it.
pub(super) async fn announce_typing(
    presence: Arc<Presence>,
    mut queued: mpsc::Receiver<TypingSignal>,
    stop: CancellationToken,
) {
    loop {
        let signal = tokio::select! {
            () = stop.cancelled() => return,
            signal = queued.recv() => match signal { Some(signal) => signal, None => return },
        };
        let heard = Heard { node: presence.node.to_string(), signal };
        let sent = async {
            let payload = serde_json::to_string(&heard)?;
            let conn = presence.readers.get().await?;
            execute(&conn, "SELECT pg_notify($1, $2)", &[&TYPING_CHANNEL, &payload]).await
        };
        if let Err(error) = sent.await {
            tracing::debug!(%error, "a typing signal did not reach the other servers");
        }
    }
}
