//! Edits, deletions and reactions: each change bumps the message's revision, and a client that
//! resumes replays the changes after the revision it last saw.

use rusqlite::{Connection, OptionalExtension};

use crate::protocol::{ChatMessage, MAX_REACTIONS_PER_MESSAGE};

use super::messages::{attach_reactions, record_mentions};
use super::rows::{message_from_row, query_messages, MESSAGE_COLUMNS};
use super::*;

pub(super) fn last_change(conn: &Connection) -> rusqlite::Result<Revision> {
    conn.prepare_cached("SELECT coalesce(max(rev), 0) FROM messages WHERE rev > 0")?.query_row([], |row| row.get(0))
}

/// What the changing transaction needs to know about a message and the actor's place in its room.
pub(super) struct ChangeTarget {
    room_id: RoomId,
    author_id: UserId,
    body: String,
    deleted: bool,
    archived: bool,
    member: bool,
    public: bool,
}

pub(super) fn apply_change(
    tx: &rusqlite::Transaction<'_>,
    id: MessageId,
    change: &MessageChange,
    actor: Actor,
) -> Result<Option<ChatMessage>, DbError> {
    let refuse = |why| Err(DbError::ChangeRefused(why));
    let target = tx
        .prepare_cached(
            "SELECT m.room_id, m.author_id, m.body, m.deleted_at IS NOT NULL, r.archived_at IS NOT NULL,
                    EXISTS (SELECT 1 FROM memberships WHERE room_id = m.room_id AND user_id = ?2),
                    r.kind = 'public'
             FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id = ?1",
        )?
        .query_row((id, actor.user_id), |row| {
            Ok(ChangeTarget {
                room_id: row.get(0)?,
                author_id: row.get::<_, Option<UserId>>(1)?.unwrap_or_default(),
                body: row.get(2)?,
                deleted: row.get(3)?,
                archived: row.get(4)?,
                member: row.get(5)?,
                public: row.get(6)?,
            })
        })
        .optional()?;
    // Someone who cannot read the room learns nothing about its messages, not even that they exist.
    let visible = |target: &ChangeTarget| !target.deleted && (target.member || target.public || actor.admin);
    let Some(target) = target.filter(visible) else { return refuse(ChangeRefused::NoSuchMessage) };
    let author = target.author_id == actor.user_id;
    let now = now_millis();
    let rev = last_change(tx)?.next();
    match change {
        MessageChange::Edit { body, mentions } => {
            if !(author && target.member || actor.admin) {
                return refuse(if author { ChangeRefused::NotAMember } else { ChangeRefused::NotAuthor });
            }
            if target.archived {
                return refuse(ChangeRefused::Archived);
            }
            if *body == target.body {
                return Ok(None);
            }
            tx.prepare_cached("UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1")?
                .execute((id, body, now))?;
            tx.prepare_cached("DELETE FROM mentions WHERE message_id = ?1")?.execute([id])?;
            record_mentions(tx, id, target.room_id, target.author_id, mentions)?;
        }
        MessageChange::Delete => {
            if !(author || actor.admin) {
                return refuse(ChangeRefused::NotAuthor);
            }
            tx.prepare_cached("UPDATE messages SET body = '', deleted_at = ?2 WHERE id = ?1")?.execute((id, now))?;
            tx.prepare_cached("DELETE FROM reactions WHERE message_id = ?1")?.execute([id])?;
            tx.prepare_cached("DELETE FROM mentions WHERE message_id = ?1")?.execute([id])?;
            // The file's bytes go once this commits (`messages::delete`).
            tx.prepare_cached("DELETE FROM files WHERE message_id = ?1")?.execute([id])?;
        }
        MessageChange::React(emoji, add) => {
            if !target.member {
                return refuse(ChangeRefused::NotAMember);
            }
            if target.archived {
                return refuse(ChangeRefused::Archived);
            }
            let changed = if *add {
                let (distinct, present): (i64, bool) = tx
                    .prepare_cached(
                        "SELECT count(DISTINCT emoji), coalesce(max(emoji = ?2), 0) FROM reactions WHERE message_id = ?1",
                    )?
                    .query_row((id, emoji), |row| Ok((row.get(0)?, row.get(1)?)))?;
                if !present && distinct >= MAX_REACTIONS_PER_MESSAGE as i64 {
                    return refuse(ChangeRefused::TooManyReactions);
                }
                tx.prepare_cached(
                    "INSERT INTO reactions (message_id, emoji, user_id, reacted_at, rev) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT DO NOTHING",
                )?
                .execute((id, emoji, actor.user_id, now, rev))?
            } else {
                tx.prepare_cached("DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_id = ?3")?
                    .execute((id, emoji, actor.user_id))?
            };
            if changed == 0 {
                return Ok(None);
            }
        }
    }
    tx.prepare_cached("UPDATE messages SET rev = ?2 WHERE id = ?1")?.execute((id, rev))?;
    let mut message =
        tx.prepare_cached(&format!("{MESSAGE_COLUMNS} WHERE m.id = ?1"))?.query_row([id], message_from_row)?;
    debug_assert_eq!(message.room_id, target.room_id);
    attach_reactions(tx, std::slice::from_mut(&mut message))?;
    Ok(Some(message))
}

impl SqliteStore {
    /// Up to `limit` messages in the rooms `user_id` is in that changed after revision `after`, in
    /// revision order, each in its current state: the edits, deletions and reactions a reconnecting
    /// client missed.
    pub(super) async fn changed_since(
        &self,
        user_id: UserId,
        after: Revision,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, DbError> {
        self.read(move |conn| {
            // `m.rev > 0` lets SQLite use the partial index of changed messages.
            let where_ =
                "m.rev > ?1 AND m.rev > 0 AND m.room_id IN (SELECT room_id FROM memberships WHERE user_id = ?2)
                          ORDER BY m.rev LIMIT ?3";
            query_messages(conn, where_, (after, user_id, limit))
        })
        .await
    }

    /// The newest message revision (0 when nothing was ever changed).
    pub(super) async fn last_change(&self) -> Result<Revision, DbError> {
        self.read(last_change).await
    }

    /// Edits, deletes or reacts to a message, checking in the same transaction that `actor` may.
    /// Returns the message as it is now, or `None` when nothing changed (a reaction already there,
    /// an edit to the same text). A change is told as `MessageUpdated`, so changes are announced in
    /// revision order.
    pub(super) async fn change_message(
        &self,
        id: MessageId,
        change: MessageChange,
        actor: Actor,
    ) -> Result<Option<ChatMessage>, DbError> {
        self.write_telling(
            move |tx| apply_change(tx, id, &change, actor),
            |changed, events| {
                if let Some(message) = changed {
                    events(StoreEvent::MessageUpdated(message));
                }
            },
        )
        .await
    }
}
