//! The stream: how every Natter on one database tells its screens every change, whichever Natter
//! made it, once and in one order. The database is the log: each transaction that changes what
//! open screens show appends rows to the `stream` table (migrations/postgres/0002_stream.sql)
//! under the id lock, so positions commit in the order they are handed out, with no gaps. Each
//! Natter keeps the position it has told its hub up to and tails `pos > told` from there.
//!
//! `NOTIFY` is only a wake-up hint: it is sent after the commit (never inside the transaction,
//! where it would take PostgreSQL's global notify lock at commit), batched (one per burst of
//! commits, with the newest position), and may be lost when the listening connection drops. So each
//! Natter also polls every second, and reads the stream again every time its `LISTEN` connection
//! comes back. A Natter tells its own commits at once, on the writer task, after first reading
//! whatever other Natters committed before them: its senders still see their message before its
//! ack, and its screens still see the database's order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::GenericClient;
use futures::StreamExt;
use tokio::sync::{mpsc, watch, Mutex, Notify};
use tokio_postgres::AsyncMessage;
use tokio_util::sync::CancellationToken;

use crate::protocol::{Member, Room};
use crate::server::metrics::Metrics;

use super::messages::attach_reactions;
use super::presence::{Presence, PRESENCE_CHANNEL, TYPING_CHANNEL};
use super::rooms::{member, member_room};
use super::rows::{message_from_row, message_select, query, query_one};
use super::*;

/// The channel every Natter listens on and notifies.
const CHANNEL: &str = "natter_stream";
/// How often the stream is read even without a notification: the bound on how late a change
/// arrives when a notification is lost.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Rows read per query when catching up.
const PAGE: i64 = 1_000;
/// How long rows are kept. A Natter further behind than this (cut off from the database for that
/// long) cannot tell what it missed, so it has every screen refill from the tables instead.
const KEEP_FOR: Duration = Duration::from_secs(10 * 60);
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// The longest wait between attempts to get the `LISTEN` connection back.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A place in the stream; the first row is at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Position(i64);

impl Position {
    fn after(self, count: usize) -> Self {
        Self(self.0 + i64::try_from(count).unwrap_or(i64::MAX))
    }
}

/// One change as this Natter's screens are told it, and as one stream row records it.
#[derive(Clone, Debug)]
pub(super) enum Told {
    Stored(ChatMessage),
    Updated(ChatMessage),
    Joined(Room, Member),
    Left(RoomId, UserId),
    Archived(RoomId),
    Renamed {
        user_id: UserId,
        from: String,
        to: String,
    },
    Banned(UserId),
    /// The session token's hash.
    SessionEnded(Vec<u8>),
    /// Told to the other Natters only: the one that stored it told its screens as it was made.
    Read(ReadMark),
}

/// A stream row's columns: kind, room, user, message, revision, detail.
struct RowValues {
    kind: &'static str,
    room_id: Option<RoomId>,
    user_id: Option<UserId>,
    message_id: Option<MessageId>,
    rev: Option<Revision>,
    detail: Option<String>,
}

impl RowValues {
    fn of(kind: &'static str) -> Self {
        Self { kind, room_id: None, user_id: None, message_id: None, rev: None, detail: None }
    }
}

impl Told {
    fn row(&self) -> RowValues {
        let row = RowValues::of;
        match self {
            Told::Stored(message) => {
                RowValues { room_id: Some(message.room_id), message_id: Some(message.id), ..row("stored") }
            }
            Told::Updated(message) => RowValues {
                room_id: Some(message.room_id),
                message_id: Some(message.id),
                rev: Some(message.rev),
                ..row("updated")
            },
            Told::Joined(room, member) => {
                RowValues { room_id: Some(room.id), user_id: Some(member.user_id), ..row("joined") }
            }
            Told::Left(room_id, user_id) => {
                RowValues { room_id: Some(*room_id), user_id: Some(*user_id), ..row("left") }
            }
            Told::Archived(room_id) => RowValues { room_id: Some(*room_id), ..row("archived") },
            Told::Renamed { user_id, from, to } => {
                RowValues { user_id: Some(*user_id), detail: serde_json::to_string(&[from, to]).ok(), ..row("renamed") }
            }
            Told::Banned(user_id) => RowValues { user_id: Some(*user_id), ..row("banned") },
            Told::SessionEnded(hash) => {
                RowValues { detail: Some(crate::server::identity::encode_hex(hash)), ..row("session_ended") }
            }
            Told::Read(mark) => RowValues {
                room_id: Some(mark.room_id),
                user_id: Some(mark.user_id),
                message_id: Some(mark.last_read_id),
                ..row("read")
            },
        }
    }
}

/// Appends `told` (not empty), by the Natter `origin`, to the stream inside the caller's transaction, and returns the
/// position of its first row. Takes the id lock (again, if the transaction holds it already:
/// advisory locks nest), so positions commit in the order they are handed out.
pub(super) async fn append(tx: &Transaction<'_>, told: &[Told], origin: &str) -> Result<Position, DbError> {
    execute_lock(tx).await?;
    let rows: Vec<RowValues> = told.iter().map(Told::row).collect();
    let kinds: Vec<&str> = rows.iter().map(|row| row.kind).collect();
    let rooms: Vec<Option<i64>> = rows.iter().map(|row| row.room_id.map(RoomId::get)).collect();
    let users: Vec<Option<i64>> = rows.iter().map(|row| row.user_id.map(UserId::get)).collect();
    let messages: Vec<Option<i64>> = rows.iter().map(|row| row.message_id.map(MessageId::get)).collect();
    let revs: Vec<Option<i64>> = rows.iter().map(|row| row.rev.map(Revision::get)).collect();
    let details: Vec<Option<&str>> = rows.iter().map(|row| row.detail.as_deref()).collect();
    let first = query_one(
        tx,
        "WITH added AS (
             INSERT INTO stream (pos, kind, room_id, user_id, message_id, rev, detail, at, origin)
             SELECT base.last + e.n, e.kind, e.room_id, e.user_id, e.message_id, e.rev, e.detail, $7, $8
             FROM (SELECT coalesce(max(pos), 0) AS last FROM stream) AS base,
                  unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[])
                      WITH ORDINALITY AS e(kind, room_id, user_id, message_id, rev, detail, n)
             RETURNING pos)
         SELECT min(pos) FROM added",
        &[&kinds, &rooms, &users, &messages, &revs, &details, &now_millis(), &origin],
    )
    .await?
    .try_get(0)?;
    Ok(Position(first))
}

async fn execute_lock(tx: &Transaction<'_>) -> Result<(), DbError> {
    super::rows::execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&ID_LOCK]).await?;
    Ok(())
}

/// The newest position in the stream (0 when it is empty).
pub(super) async fn newest<C: GenericClient>(conn: &C) -> Result<Position, DbError> {
    Ok(Position(query_one(conn, "SELECT coalesce(max(pos), 0) FROM stream", &[]).await?.try_get(0)?))
}

/// What this Natter has told its hub, and the hub's ear. One lock orders the writer's own commits
/// with what the tail reads of other Natters' commits.
struct Heard {
    told_up_to: Position,
    events: EventSink,
}

/// Tells the hub every stream row once, in position order: this Natter's own commits from the
/// writer task, everyone else's from the tail.
pub(super) struct Sequencer {
    /// This Natter's id among those on the database (random at each start).
    node: Arc<str>,
    heard: Mutex<Heard>,
    readers: Pool,
    /// The newest position this Natter committed, for the notifier.
    committed: watch::Sender<Position>,
    /// Wakes the tail: a notification arrived, or the `LISTEN` connection came back.
    wake: Notify,
    /// Where notification lag goes (`natter_notify_lag_seconds`), if anywhere.
    metrics: Option<Arc<Metrics>>,
    /// `heard.told_up_to`, readable without the lock, so a notification of what was told already
    /// (this Natter's own, mostly) wakes nobody.
    told: AtomicI64,
}

impl Sequencer {
    /// Starts telling after `from` (the stream's newest position when this Natter opened the
    /// database: screens that connect later catch up from the tables, not the stream).
    pub(super) fn new(
        node: Arc<str>,
        from: Position,
        events: EventSink,
        readers: Pool,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        Self {
            node,
            heard: Mutex::new(Heard { told_up_to: from, events }),
            readers,
            committed: watch::Sender::new(from),
            wake: Notify::new(),
            told: AtomicI64::new(from.0),
            metrics,
        }
    }

    /// This Natter's id, which its stream rows carry as their origin.
    pub(super) fn node(&self) -> &str {
        &self.node
    }

    /// Tells the hub something that is not in the stream (presence, typing): whenever it comes,
    /// between two of the stream's events, never inside one.
    pub(super) async fn tell_aside(&self, event: StoreEvent<'_>) {
        let heard = self.heard.lock().await;
        (heard.events)(event);
    }

    /// Wakes the tail for a notification, unless it names a position told already.
    fn hint(&self, payload: &str) {
        let position = payload.split(':').next().and_then(|position| position.parse::<i64>().ok());
        if position.is_none_or(|position| position > self.told.load(Ordering::Acquire)) {
            self.wake.notify_one();
        }
    }

    fn told_up_to(&self, heard: &mut Heard, position: Position) {
        heard.told_up_to = position;
        self.told.store(position.0, Ordering::Release);
    }

    /// Tells this Natter's own committed rows, which start at `first`: first whatever other
    /// Natters committed before them and the tail has not told yet (they are committed: this
    /// transaction held the id lock after them), then these, skipping any the tail already told.
    /// If the earlier rows cannot be read now, nothing is told here and the tail tells it all in
    /// order once it can.
    pub(super) async fn tell_own(&self, first: Position, told: Vec<Told>) {
        let last = first.after(told.len().saturating_sub(1));
        let mut heard = self.heard.lock().await;
        if heard.told_up_to < Position(first.0 - 1) {
            if let Err(error) = self.read_into(&mut heard, Position(first.0 - 1)).await {
                tracing::warn!(%error, "cannot read other servers' changes now; the stream tail will tell them");
            }
        }
        let untold = if heard.told_up_to == Position(first.0 - 1) {
            Some(0)
        } else if heard.told_up_to < last && heard.told_up_to >= first {
            Some(usize::try_from(heard.told_up_to.0 - first.0 + 1).unwrap_or(usize::MAX))
        } else {
            None
        };
        if let Some(skip) = untold {
            // This Natter's screens heard its read marks as they were made.
            let fresh = told.into_iter().skip(skip).filter(|told| !matches!(told, Told::Read(_)));
            tell(&heard.events, fresh);
            self.told_up_to(&mut heard, last);
        }
        drop(heard);
        self.committed.send_replace(last);
    }

    /// Tells everything committed after what was told so far.
    pub(super) async fn catch_up(&self) -> Result<(), DbError> {
        let mut heard = self.heard.lock().await;
        self.read_into(&mut heard, Position(i64::MAX)).await
    }

    /// Reads and tells the rows after `heard.told_up_to` up to `up_to`, a page at a time. A row
    /// that is gone (pruned before this Natter read it) cannot be told: every screen is asked to
    /// refill from the tables instead, which hold everything the rows named.
    async fn read_into(&self, heard: &mut Heard, up_to: Position) -> Result<(), DbError> {
        loop {
            let conn = self.readers.get().await?;
            let rows = query(
                &conn,
                "SELECT pos, kind, room_id, user_id, message_id, rev, detail, origin FROM stream
                 WHERE pos > $1 AND pos <= $2 ORDER BY pos LIMIT $3",
                &[&heard.told_up_to.0, &up_to.0, &PAGE],
            )
            .await?;
            let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                return Ok(());
            };
            let (first, last) = (Position(first.try_get(0)?), Position(last.try_get(0)?));
            if first != heard.told_up_to.after(1) {
                tracing::warn!(
                    told = heard.told_up_to.0,
                    next = first.0,
                    "stream rows were pruned before this server read them; every screen refills from the database"
                );
                (heard.events)(StoreEvent::Resync);
            }
            let posted_elsewhere = self.stored_elsewhere(&rows)?;
            let told = materialise(&conn, &rows).await?;
            let authors: Vec<UserId> = told
                .iter()
                .filter_map(|told| match told {
                    Told::Stored(message) if posted_elsewhere.contains(&message.id) => Some(message.author_id),
                    _ => None,
                })
                .collect();
            // Before the messages: a screen that sees them can rely on their authors' limits
            // here having counted them.
            if !authors.is_empty() {
                (heard.events)(StoreEvent::PostedElsewhere(&authors));
            }
            tell(&heard.events, told);
            self.told_up_to(heard, last);
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < PAGE {
                return Ok(());
            }
        }
    }
}

impl Sequencer {
    /// The messages among `rows` that another Natter stored.
    fn stored_elsewhere(&self, rows: &[tokio_postgres::Row]) -> Result<std::collections::HashSet<MessageId>, DbError> {
        let mut ids = std::collections::HashSet::new();
        for row in rows {
            let (kind, message_id, origin): (&str, Option<MessageId>, Option<&str>) =
                (row.try_get(1)?, row.try_get(4)?, row.try_get(7)?);
            if kind == "stored" && origin != Some(self.node()) {
                ids.extend(message_id);
            }
        }
        Ok(ids)
    }
}

/// A stream row as read back.
struct StreamRow {
    kind: String,
    room_id: Option<RoomId>,
    user_id: Option<UserId>,
    message_id: Option<MessageId>,
    rev: Option<Revision>,
    detail: Option<String>,
}

/// What the screens are told for `rows`, read from the tables in their current state. A change
/// overtaken by a later one is left out: its later row tells the newer state.
async fn materialise<C: GenericClient>(conn: &C, rows: &[tokio_postgres::Row]) -> Result<Vec<Told>, DbError> {
    let rows = rows
        .iter()
        .map(|row| {
            Ok(StreamRow {
                kind: row.try_get(1)?,
                room_id: row.try_get(2)?,
                user_id: row.try_get(3)?,
                message_id: row.try_get(4)?,
                rev: row.try_get(5)?,
                detail: row.try_get(6)?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let messages = messages_named(conn, &rows).await?;
    let mut told = Vec::with_capacity(rows.len());
    for row in rows {
        let message = row.message_id.and_then(|id| messages.get(&id));
        match (row.kind.as_str(), row.room_id, row.user_id) {
            ("stored", _, _) => told.extend(message.cloned().map(Told::Stored)),
            ("updated", _, _) => {
                if let Some(message) = message.filter(|message| Some(message.rev) <= row.rev) {
                    told.push(Told::Updated(message.clone()));
                }
            }
            // Left since: the row that says so follows.
            ("joined", Some(room_id), Some(user_id)) => {
                if let Some(room) = member_room(conn, room_id, user_id).await? {
                    told.push(Told::Joined(room, member(conn, user_id).await?));
                }
            }
            ("left", Some(room_id), Some(user_id)) => told.push(Told::Left(room_id, user_id)),
            ("archived", Some(room_id), _) => told.push(Told::Archived(room_id)),
            ("renamed", _, Some(user_id)) => {
                let names = row.detail.as_deref().and_then(|names| serde_json::from_str::<[String; 2]>(names).ok());
                match names {
                    Some([from, to]) => told.push(Told::Renamed { user_id, from, to }),
                    None => tracing::error!(detail = ?row.detail, "a rename in the stream without its names"),
                }
            }
            ("banned", _, Some(user_id)) => told.push(Told::Banned(user_id)),
            ("session_ended", _, _) => match row.detail.as_deref().and_then(crate::server::identity::decode_hex) {
                Some(hash) => told.push(Told::SessionEnded(hash)),
                None => tracing::error!(detail = ?row.detail, "an ended session in the stream without its hash"),
            },
            ("read", Some(room_id), Some(user_id)) => {
                let last_read_id = row.message_id.unwrap_or_default();
                told.push(Told::Read(ReadMark { room_id, user_id, last_read_id }));
            }
            (kind, room, user) => tracing::error!(kind, ?room, ?user, "a stream row this server cannot read"),
        }
    }
    Ok(told)
}

/// The messages that stream rows name, in their current state, by id.
async fn messages_named<C: GenericClient>(
    conn: &C,
    rows: &[StreamRow],
) -> Result<HashMap<MessageId, ChatMessage>, DbError> {
    let ids: Vec<i64> = rows.iter().filter_map(|row| row.message_id.map(MessageId::get)).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("{} WHERE m.id = ANY($1)", message_select());
    let mut messages =
        query(conn, &sql, &[&ids]).await?.iter().map(message_from_row).collect::<Result<Vec<_>, DbError>>()?;
    attach_reactions(conn, &mut messages).await?;
    Ok(messages.into_iter().map(|message| (message.id, message)).collect())
}

/// Tells `told` in order; consecutive new messages go as one batch, as a group commit's do.
fn tell(events: &EventSink, told: impl IntoIterator<Item = Told>) {
    let mut stored = Vec::new();
    for told in told {
        if let Told::Stored(message) = told {
            stored.push(message);
            continue;
        }
        if !stored.is_empty() {
            events(StoreEvent::MessagesStored(&stored));
            stored.clear();
        }
        match &told {
            Told::Updated(message) => events(StoreEvent::MessageUpdated(message)),
            Told::Joined(room, member) => events(StoreEvent::MemberJoined { room, member }),
            Told::Left(room_id, user_id) => events(StoreEvent::MemberLeft { room_id: *room_id, user_id: *user_id }),
            Told::Archived(room_id) => events(StoreEvent::RoomArchived { room_id: *room_id }),
            Told::Renamed { user_id, from, to } => events(StoreEvent::UserRenamed { user_id: *user_id, from, to }),
            Told::Banned(user_id) => events(StoreEvent::UserBanned { user_id: *user_id }),
            Told::SessionEnded(hash) => events(StoreEvent::SessionEnded { session_hash: hash }),
            Told::Read(mark) => events(StoreEvent::ReadMarked(mark)),
            Told::Stored(_) => {}
        }
    }
    if !stored.is_empty() {
        events(StoreEvent::MessagesStored(&stored));
    }
}

/// Reads the stream when woken, every `POLL_EVERY` anyway, and prunes old rows, until `stop`.
pub(super) async fn follow(sequencer: Arc<Sequencer>, stop: CancellationToken) {
    let mut poll = tokio::time::interval(POLL_EVERY);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = sequencer.wake.notified() => {}
            _ = poll.tick() => {}
            _ = prune.tick() => {
                if let Err(error) = prune_old_rows(&sequencer.readers).await {
                    tracing::warn!(%error, "cannot prune the stream");
                }
                continue;
            }
        }
        if let Err(error) = sequencer.catch_up().await {
            tracing::warn!(%error, "cannot read the stream; trying again");
        }
    }
}

/// Deletes rows older than `KEEP_FOR`, always keeping the newest: the next position is counted
/// from it.
async fn prune_old_rows(readers: &Pool) -> Result<(), DbError> {
    let conn = readers.get().await?;
    let before = now_millis() - i64::try_from(KEEP_FOR.as_millis()).unwrap_or(i64::MAX);
    super::rows::execute(&conn, "DELETE FROM stream WHERE at < $1 AND pos < (SELECT max(pos) FROM stream)", &[&before])
        .await?;
    Ok(())
}

/// Sends one `NOTIFY` per burst of this Natter's commits, with the newest position and the time
/// it was sent, after the commits and outside their transactions, until `stop`.
pub(super) async fn announce(sequencer: Arc<Sequencer>, stop: CancellationToken) {
    let mut committed = sequencer.committed.subscribe();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            changed = committed.changed() => if changed.is_err() { return },
        }
        let position = *committed.borrow_and_update();
        let payload = format!("{}:{}", position.0, now_millis());
        let sent = async {
            let conn = sequencer.readers.get().await?;
            super::rows::execute(&conn, "SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]).await
        };
        if let Err(error) = sent.await {
            // Not fatal: the other Natters' polls find the change within `POLL_EVERY`.
            tracing::warn!(%error, "cannot notify the other servers");
        }
    }
}

/// Holds a `LISTEN` connection of its own, waking the tail on every notification and whenever the
/// connection comes back (what was committed while it was away is read then), until `stop`. The
/// same connection hears presence changes and typing signals (`presence.rs`).
pub(super) async fn listen(
    config: tokio_postgres::Config,
    sequencer: Arc<Sequencer>,
    presence: Arc<Presence>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            ended = listen_once(&config, &sequencer, &presence, &mut backoff) => match ended {
                Ok(()) => tracing::warn!("the database ended the LISTEN connection; listening again"),
                Err(error) => tracing::warn!(%error, "no LISTEN connection to the database; trying again"),
            },
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One `LISTEN` connection, until it ends.
async fn listen_once(
    config: &tokio_postgres::Config,
    sequencer: &Sequencer,
    presence: &Presence,
    backoff: &mut Duration,
) -> Result<(), DbError> {
    let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
    let (heard, mut hearing) = mpsc::unbounded_channel();
    // The connection must be polled for notifications to arrive; it ends when the server closes it.
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(notification) = message {
                let heard_now = (notification.channel().to_owned(), notification.payload().to_owned());
                if heard.send(heard_now).is_err() {
                    return;
                }
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {PRESENCE_CHANNEL}; LISTEN {TYPING_CHANNEL}")).await?;
    *backoff = Duration::from_millis(100);
    // Whatever happened while nobody listened is read now.
    sequencer.wake.notify_one();
    presence.wake.notify_one();
    while let Some((channel, payload)) = hearing.recv().await {
        match channel.as_str() {
            CHANNEL => {
                if let (Some(lag), Some(metrics)) = (notify_lag(&payload), &sequencer.metrics) {
                    metrics.record_notify_lag(lag.as_secs_f64());
                }
                sequencer.hint(&payload);
            }
            PRESENCE_CHANNEL => presence.wake.notify_one(),
            TYPING_CHANNEL => presence.heard_typing(&payload).await,
            _ => {}
        }
    }
    driver.abort();
    Ok(())
}

/// How long a notification (`<position>:<sent at, ms>`) took to arrive, if it says when it was
/// sent and the clocks agree that it was in the past.
fn notify_lag(payload: &str) -> Option<Duration> {
    let sent_at: i64 = payload.split_once(':')?.1.parse().ok()?;
    u64::try_from(now_millis() - sent_at).ok().map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_says_how_late_it_is_and_odd_payloads_say_nothing() {
        let sent = format!("42:{}", now_millis() - 250);
        assert!(notify_lag(&sent).is_some_and(|lag| lag >= Duration::from_millis(250)));
        assert_eq!(notify_lag("42"), None);
        assert_eq!(notify_lag("42:soon"), None);
        assert_eq!(notify_lag(&format!("42:{}", now_millis() + 60_000)), None, "a clock ahead of ours");
    }

    #[test]
    fn positions_count_rows() {
        assert_eq!(Position(7).after(0), Position(7));
        assert_eq!(Position(7).after(3), Position(10));
    }
}
