//! The one writing connection, on a thread of its own: queued inserts commit in groups (one
//! transaction, one fsync, many messages), other writes run in order between them.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::protocol::{ChatMessage, MessageKind};

use super::messages::record_mentions;
use super::rows::{message_from_row, MESSAGE_COLUMNS};
use super::BUSY_TIMEOUT;
use super::MAX_GROUP;
use super::STATEMENT_CACHE;
use super::*;

pub(super) fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // WAL lets readers run while the writer commits; FULL syncs the WAL on every commit, so an acked
    // message survives a power cut, not only a crash.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

pub(super) struct Writer {
    conn: Connection,
    events: EventSink,
    /// Timestamps never go backwards, even if the system clock does, so time order matches id order.
    last_sent_at: i64,
}

impl Writer {
    pub(super) fn new(conn: Connection, events: EventSink) -> Self {
        Self { conn, events, last_sent_at: 0 }
    }

    /// Takes jobs in queue order. Consecutive inserts are committed together; any other job ends
    /// the group, so writes never overtake one another.
    pub(super) fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        let mut next = None;
        loop {
            let Some(job) = next.take().or_else(|| jobs.blocking_recv()) else { return };
            match job {
                Job::Insert(message, reply) => {
                    let mut group = vec![(message, reply)];
                    while group.len() < MAX_GROUP {
                        match jobs.try_recv() {
                            Ok(Job::Insert(message, reply)) => group.push((message, reply)),
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_group(group);
                }
                Job::Write(change) => change(&mut self.conn, &self.events),
                Job::Shutdown(done) => {
                    let _ = self.conn.execute_batch("PRAGMA optimize");
                    let _ = done.send(());
                    return;
                }
            }
        }
    }

    /// Commits a group in one transaction. If that fails, each message is tried on its own so one
    /// bad row cannot fail its neighbours.
    fn commit_group(&mut self, group: Vec<(NewMessage, oneshot::Sender<Result<Inserted, DbError>>)>) {
        let messages: Vec<&NewMessage> = group.iter().map(|(message, _)| message).collect();
        match self.insert_all(&messages) {
            Ok(results) => {
                self.announce(&results);
                for ((_, reply), result) in group.into_iter().zip(results) {
                    let _ = reply.send(result.ok_or(DbError::NotAllowed));
                }
            }
            Err(error) if group.len() == 1 => {
                if let Some((_, reply)) = group.into_iter().next() {
                    let _ = reply.send(Err(error.into()));
                }
            }
            Err(_) => {
                for (message, reply) in group {
                    let result = self.insert_all(&[&message]).map(|mut one| one.remove(0));
                    if let Ok(inserted) = &result {
                        self.announce(std::slice::from_ref(inserted));
                    }
                    let _ = reply.send(result.map_err(DbError::from).and_then(|one| one.ok_or(DbError::NotAllowed)));
                }
            }
        }
    }

    /// Inserts a group in one transaction. `None` for a message its author may not post there.
    fn insert_all(&mut self, messages: &[&NewMessage]) -> rusqlite::Result<Vec<Option<Inserted>>> {
        let sent_at = now_millis().max(self.last_sent_at);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(messages.len());
        {
            // The right to post is checked in the same transaction as the insert, so a message can
            // never land after its author left the room or the room was archived.
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (author_id, nickname, body, sent_at, client_msg_id, kind, room_id)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
                 WHERE EXISTS (SELECT 1 FROM rooms r WHERE r.id = ?7 AND r.archived_at IS NULL)
                   AND (NOT ?8 OR EXISTS (SELECT 1 FROM memberships WHERE room_id = ?7 AND user_id = ?1))
                 ON CONFLICT (author_id, client_msg_id) DO NOTHING RETURNING id",
            )?;
            let mut existing =
                tx.prepare_cached(&format!("{MESSAGE_COLUMNS} WHERE m.author_id = ?1 AND m.client_msg_id = ?2"))?;
            for message in messages {
                let kind = match message.kind {
                    MessageKind::Chat => "chat",
                    MessageKind::Announcement => "announcement",
                };
                let params = (
                    message.author_id,
                    &message.nickname,
                    &message.body,
                    sent_at,
                    &message.client_msg_id,
                    kind,
                    message.room_id,
                    message.members_only,
                );
                let id: Option<MessageId> = insert.query_row(params, |row| row.get(0)).optional()?;
                if let Some(id) = id {
                    record_mentions(&tx, id, message.room_id, message.author_id, &message.mentions)?;
                    if let Some(file) = &message.file {
                        tx.prepare_cached(
                            "INSERT INTO files (id, message_id, name, content_type, size, width, height, created_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        )?
                        .execute(rusqlite::params![
                            file.id,
                            id,
                            file.name,
                            file.content_type,
                            file.size,
                            file.width,
                            file.height,
                            sent_at
                        ])?;
                    }
                }
                results.push(match id {
                    Some(id) => Some(Inserted {
                        message: ChatMessage {
                            id,
                            room_id: message.room_id,
                            author_id: message.author_id,
                            nickname: message.nickname.clone(),
                            body: message.body.clone(),
                            sent_at,
                            client_msg_id: message.client_msg_id.clone(),
                            kind: message.kind,
                            deleted: false,
                            edited_at: None,
                            rev: Revision::UNCHANGED,
                            reactions: Vec::new(),
                            file: message.file.clone(),
                        },
                        duplicate: false,
                    }),
                    // A resend finds its original; nothing found means the insert was not allowed.
                    None => existing
                        .query_row((message.author_id, &message.client_msg_id), message_from_row)
                        .optional()?
                        .map(|message| Inserted { message, duplicate: true }),
                });
            }
        }
        tx.commit()?;
        self.last_sent_at = sent_at;
        Ok(results)
    }

    fn announce(&self, results: &[Option<Inserted>]) {
        let fresh: Vec<ChatMessage> =
            results.iter().flatten().filter(|r| !r.duplicate).map(|r| r.message.clone()).collect();
        if !fresh.is_empty() {
            (self.events)(StoreEvent::MessagesStored(&fresh));
        }
    }
}
