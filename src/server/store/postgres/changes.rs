//! Edits, deletions and reactions: each change bumps the message's revision, and a client that
//! resumes replays the changes after the revision it last saw.

use deadpool_postgres::GenericClient;

use crate::protocol::{ChatMessage, MAX_REACTIONS_PER_MESSAGE};

use super::messages::{attach_reactions, record_mentions};
use super::rows::{execute, message_from_row, message_select, query_messages, query_one, query_opt};
use super::*;

pub(super) async fn last_change<C: GenericClient>(conn: &C) -> Result<Revision, DbError> {
    let row = query_one(conn, "SELECT coalesce(max(rev), 0) FROM messages WHERE rev > 0", &[]).await?;
    Ok(row.try_get(0)?)
}

/// What the changing transaction needs to know about a message and the actor's place in its room.
struct ChangeTarget {
    room_id: RoomId,
    author_id: UserId,
    body: String,
    deleted: bool,
    archived: bool,
    member: bool,
    public: bool,
}

pub(super) async fn apply_change(
    tx: &Transaction<'_>,
    id: MessageId,
    change: &MessageChange,
    actor: Actor,
) -> Result<Option<ChatMessage>, DbError> {
    let refuse = |why| Err(DbError::ChangeRefused(why));
    // The next revision is read, and committed, under the id lock (see mod.rs): revisions commit in
    // order, so a client resuming after revision N never misses a smaller one that landed later.
    execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&ID_LOCK]).await?;
    let row = query_opt(
        tx,
        "SELECT m.room_id, m.author_id, m.body, m.deleted_at IS NOT NULL, r.archived_at IS NOT NULL,
                EXISTS (SELECT 1 FROM memberships WHERE room_id = m.room_id AND user_id = $2),
                r.kind = 'public'
         FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id = $1",
        &[&id, &actor.user_id],
    )
    .await?;
    let target = match row {
        Some(row) => Some(ChangeTarget {
            room_id: row.try_get(0)?,
            author_id: row.try_get::<_, Option<UserId>>(1)?.unwrap_or_default(),
            body: row.try_get(2)?,
            deleted: row.try_get(3)?,
            archived: row.try_get(4)?,
            member: row.try_get(5)?,
            public: row.try_get(6)?,
        }),
        None => None,
    };
    // Someone who cannot read the room learns nothing about its messages, not even that they exist.
    let visible = |target: &ChangeTarget| !target.deleted && (target.member || target.public || actor.admin);
    let Some(target) = target.filter(visible) else { return refuse(ChangeRefused::NoSuchMessage) };
    let author = target.author_id == actor.user_id;
    let now = now_millis();
    let rev = last_change(tx).await?.next();
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
            execute(tx, "UPDATE messages SET body = $2, edited_at = $3 WHERE id = $1", &[&id, body, &now]).await?;
            execute(tx, "DELETE FROM mentions WHERE message_id = $1", &[&id]).await?;
            record_mentions(tx, id, target.room_id, target.author_id, mentions).await?;
        }
        MessageChange::Delete => {
            if !(author || actor.admin) {
                return refuse(ChangeRefused::NotAuthor);
            }
            execute(tx, "UPDATE messages SET body = '', deleted_at = $2 WHERE id = $1", &[&id, &now]).await?;
            execute(tx, "DELETE FROM reactions WHERE message_id = $1", &[&id]).await?;
            execute(tx, "DELETE FROM mentions WHERE message_id = $1", &[&id]).await?;
            // The file's bytes go once this commits (`messages::delete`).
            execute(tx, "DELETE FROM files WHERE message_id = $1", &[&id]).await?;
        }
        MessageChange::React(emoji, add) => {
            if !target.member {
                return refuse(ChangeRefused::NotAMember);
            }
            if target.archived {
                return refuse(ChangeRefused::Archived);
            }
            let changed = if *add {
                let row = query_one(
                    tx,
                    "SELECT count(DISTINCT emoji), coalesce(bool_or(emoji = $2), false)
                     FROM reactions WHERE message_id = $1",
                    &[&id, emoji],
                )
                .await?;
                let (distinct, present): (i64, bool) = (row.try_get(0)?, row.try_get(1)?);
                if !present && distinct >= MAX_REACTIONS_PER_MESSAGE as i64 {
                    return refuse(ChangeRefused::TooManyReactions);
                }
                execute(
                    tx,
                    "INSERT INTO reactions (message_id, emoji, user_id, reacted_at, rev) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT DO NOTHING",
                    &[&id, emoji, &actor.user_id, &now, &rev],
                )
                .await?
            } else {
                execute(
                    tx,
                    "DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3",
                    &[&id, emoji, &actor.user_id],
                )
                .await?
            };
            if changed == 0 {
                return Ok(None);
            }
        }
    }
    execute(tx, "UPDATE messages SET rev = $2 WHERE id = $1", &[&id, &rev]).await?;
    let row = query_one(tx, &format!("{} WHERE m.id = $1", message_select()), &[&id]).await?;
    let mut message = message_from_row(&row)?;
    debug_assert_eq!(message.room_id, target.room_id);
    attach_reactions(tx, std::slice::from_mut(&mut message)).await?;
    Ok(Some(message))
}

impl PostgresStore {
    /// Up to `limit` messages in the rooms `user_id` is in that changed after revision `after`, in
    /// revision order, each in its current state: the edits, deletions and reactions a reconnecting
    /// client missed.
    pub(super) async fn changed_since(
        &self,
        user_id: UserId,
        after: Revision,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, DbError> {
        let conn = self.reader().await?;
        // `m.rev > 0` lets PostgreSQL use the partial index of changed messages.
        let tail = "m.rev > $1 AND m.rev > 0 AND m.room_id IN (SELECT room_id FROM memberships WHERE user_id = $2)
                    ORDER BY m.rev LIMIT $3";
        query_messages(&conn, tail, &[&after, &user_id, &i64::from(limit)]).await
    }

    /// The newest message revision (0 when nothing was ever changed).
    pub(super) async fn last_change(&self) -> Result<Revision, DbError> {
        let conn = self.reader().await?;
        last_change(&conn).await
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
            move |tx| Box::pin(async move { apply_change(tx, id, &change, actor).await }),
            |changed| changed.iter().map(|message| Told::Updated(message.clone())).collect(),
        )
        .await
    }
}
