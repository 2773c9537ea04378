//! The one writing connection, owned by a task of its own: queued inserts commit in groups (one
//! transaction, one WAL flush, many messages), other writes run in order between them. Each commit
//! appends its changes to the stream and tells them (`stream::Sequencer::tell_own`) before the next
//! job, so listeners hear commits in commit order, this Natter's and every other's.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::protocol::{ChatMessage, MessageKind};

use super::messages::record_mentions;
use super::rows::{execute, message_from_row, message_select, query_one, query_opt};
use super::stream::{self, Position, Sequencer, Told};
use super::*;

type Reply = oneshot::Sender<Result<Inserted, DbError>>;

pub(super) struct Writer {
    conn: deadpool_postgres::Client,
    /// Where a new connection comes from when the server closed this one.
    pool: Pool,
    stream: Arc<Sequencer>,
}

/// A committed group: each message's outcome, and the new ones as the stream got them.
struct Committed {
    results: Vec<Option<Inserted>>,
    told: Option<(Position, Vec<Told>)>,
}

impl Writer {
    pub(super) fn new(conn: deadpool_postgres::Client, pool: Pool, stream: Arc<Sequencer>) -> Self {
        Self { conn, pool, stream }
    }

    /// Replaces a connection the server closed (a restart, a failover) before the next job, so one
    /// outage fails the writes made during it, not every write after it. If no new connection can
    /// be had yet, the job fails on the closed one and the next job tries again.
    async fn reconnect_if_closed(&mut self) {
        if self.conn.is_closed() {
            match self.pool.get().await {
                Ok(conn) => self.conn = conn,
                Err(error) => tracing::error!(%error, "the database writer cannot reconnect"),
            }
        }
    }

    /// Takes jobs in queue order. Consecutive inserts are committed together; any other job ends
    /// the group, so writes never overtake one another.
    pub(super) async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        let mut next = None;
        loop {
            let job = match next.take() {
                Some(job) => job,
                None => match jobs.recv().await {
                    Some(job) => job,
                    None => return,
                },
            };
            self.reconnect_if_closed().await;
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
                    self.commit_group(group).await;
                }
                Job::Write(change) => change(&mut self.conn, &self.stream).await,
                Job::Shutdown(done) => {
                    let _ = done.send(());
                    return;
                }
            }
        }
    }

    /// Commits a group in one transaction. If that fails, each message is tried on its own so one
    /// bad row cannot fail its neighbours.
    async fn commit_group(&mut self, group: Vec<(NewMessage, Reply)>) {
        let messages: Vec<&NewMessage> = group.iter().map(|(message, _)| message).collect();
        match self.insert_all(&messages).await {
            Ok(committed) => {
                let results = self.announce(committed).await;
                for ((_, reply), result) in group.into_iter().zip(results) {
                    let _ = reply.send(result.ok_or(DbError::NotAllowed));
                }
            }
            Err(error) if group.len() == 1 => {
                if let Some((_, reply)) = group.into_iter().next() {
                    let _ = reply.send(Err(error));
                }
            }
            Err(_) => {
                for (message, reply) in group {
                    let result = match self.insert_all(&[&message]).await {
                        Ok(committed) => Ok(self.announce(committed).await.remove(0)),
                        Err(error) => Err(error),
                    };
                    let _ = reply.send(result.and_then(|one| one.ok_or(DbError::NotAllowed)));
                }
            }
        }
    }

    /// Inserts a group in one transaction. `None` for a message its author may not post there.
    async fn insert_all(&mut self, messages: &[&NewMessage]) -> Result<Committed, DbError> {
        let tx = self.conn.transaction().await?;
        // Ids are handed out, and committed, under the id lock: see the module comment in mod.rs.
        execute(&tx, "SELECT pg_advisory_xact_lock($1)", &[&ID_LOCK]).await?;
        // Timestamps never go backwards, even if a clock does (this one or another Natter's), so
        // time order matches id order; the newest sent_at is one step down its index.
        let sent_at: i64 =
            query_one(&tx, "SELECT greatest($1::bigint, (SELECT max(sent_at) FROM messages))", &[&now_millis()])
                .await?
                .try_get(0)?;
        let mut results = Vec::with_capacity(messages.len());
        // The right to post is checked in the same transaction as the insert, so a message can
        // never land after its author left the room or the room was archived.
        let insert = "INSERT INTO messages (author_id, nickname, body, sent_at, client_msg_id, kind, room_id)
             SELECT $1::bigint, $2::text, $3::text, $4::bigint, $5::text, $6::text, $7::bigint
             WHERE EXISTS (SELECT 1 FROM rooms r WHERE r.id = $7 AND r.archived_at IS NULL)
               AND (NOT $8::bool OR EXISTS (SELECT 1 FROM memberships WHERE room_id = $7 AND user_id = $1))
             ON CONFLICT (author_id, client_msg_id) DO NOTHING RETURNING id";
        let existing = format!("{} WHERE m.author_id = $1 AND m.client_msg_id = $2", message_select());
        for message in messages {
            let kind = match message.kind {
                MessageKind::Chat => "chat",
                MessageKind::Announcement => "announcement",
            };
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
                &message.author_id,
                &message.nickname,
                &message.body,
                &sent_at,
                &message.client_msg_id,
                &kind,
                &message.room_id,
                &message.members_only,
            ];
            let id: Option<MessageId> = query_opt(&tx, insert, &params).await?.map(|row| row.try_get(0)).transpose()?;
            if let Some(id) = id {
                record_mentions(&tx, id, message.room_id, message.author_id, &message.mentions).await?;
                if let Some(file) = &message.file {
                    let (width, height) = (file.width.map(i64::from), file.height.map(i64::from));
                    execute(
                        &tx,
                        "INSERT INTO files (id, message_id, name, content_type, size, width, height, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        &[&file.id, &id, &file.name, &file.content_type, &file.size, &width, &height, &sent_at],
                    )
                    .await?;
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
                None => query_opt(&tx, &existing, &[&message.author_id, &message.client_msg_id])
                    .await?
                    .map(|row| message_from_row(&row))
                    .transpose()?
                    .map(|message| Inserted { message, duplicate: true }),
            });
        }
        let fresh: Vec<Told> =
            results.iter().flatten().filter(|r| !r.duplicate).map(|r| Told::Stored(r.message.clone())).collect();
        let told = match fresh.is_empty() {
            true => None,
            false => Some((stream::append(&tx, &fresh, self.stream.node()).await?, fresh)),
        };
        tx.commit().await?;
        Ok(Committed { results, told })
    }

    /// Tells the group's new messages, then hands back each message's outcome.
    async fn announce(&self, committed: Committed) -> Vec<Option<Inserted>> {
        if let Some((first, told)) = committed.told {
            self.stream.tell_own(first, told).await;
        }
        committed.results
    }
}
