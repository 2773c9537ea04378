//! Messages: idempotent insert by client id (through the writer's group commit), pages of a room,
//! catch-up after an id, and the mentions recorded with each.

use deadpool_postgres::GenericClient;
use tokio::sync::oneshot;

use crate::protocol::{ChatMessage, Reaction, Reactor};

use super::rows::{query, query_messages, query_one, query_opt};
use super::*;

/// Records whom a message mentions (nickname keys parsed before the transaction), keeping those
/// that name members of its room; never the author.
pub(super) async fn record_mentions<C: GenericClient>(
    conn: &C,
    message_id: MessageId,
    room_id: RoomId,
    author_id: UserId,
    keys: &[String],
) -> Result<(), DbError> {
    if keys.is_empty() {
        return Ok(());
    }
    let sql = "INSERT INTO mentions (user_id, message_id)
               SELECT u.id, $1 FROM users u JOIN memberships mem ON mem.user_id = u.id AND mem.room_id = $2
               WHERE u.nickname_key = $3 AND u.id != $4
               ON CONFLICT DO NOTHING";
    for key in keys {
        super::rows::execute(conn, sql, &[&message_id, &room_id, key, &author_id]).await?;
    }
    Ok(())
}

/// Fills in the reactions of `messages` (any order) with one range query.
pub(super) async fn attach_reactions<C: GenericClient>(conn: &C, messages: &mut [ChatMessage]) -> Result<(), DbError> {
    let (Some(low), Some(high)) = (messages.iter().map(|m| m.id).min(), messages.iter().map(|m| m.id).max()) else {
        return Ok(());
    };
    let rows = query(
        conn,
        "SELECT r.message_id, r.emoji, r.user_id, coalesce(u.nickname, '') FROM reactions r
         LEFT JOIN users u ON u.id = r.user_id
         WHERE r.message_id BETWEEN $1 AND $2 ORDER BY r.message_id, r.rev",
        &[&low, &high],
    )
    .await?;
    let by_id: std::collections::HashMap<MessageId, usize> =
        messages.iter().enumerate().map(|(index, m)| (m.id, index)).collect();
    for row in rows {
        let Some(&index) = by_id.get(&row.try_get::<_, MessageId>(0)?) else { continue };
        let emoji: String = row.try_get(1)?;
        let reactor = Reactor { user_id: row.try_get(2)?, nickname: row.try_get(3)? };
        let reactions = &mut messages[index].reactions;
        match reactions.iter_mut().find(|reaction| reaction.emoji == emoji) {
            Some(reaction) => reaction.users.push(reactor),
            None => reactions.push(Reaction { emoji, users: vec![reactor] }),
        }
    }
    Ok(())
}

impl PostgresStore {
    /// Stores a message and returns it with its id once the transaction has committed.
    pub(super) async fn insert(&self, message: NewMessage) -> Result<Inserted, DbError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Job::Insert(message, reply)).await.map_err(|_| DbError::Closed)?;
        answer.await.map_err(|_| DbError::Closed)?
    }

    /// Up to `limit` messages of a room older than `before` (or the newest), oldest first.
    pub(super) async fn history(
        &self,
        room_id: RoomId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, DbError> {
        let before = before.unwrap_or(MessageId(i64::MAX));
        let conn = self.reader().await?;
        let tail = "m.room_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3";
        let mut page = query_messages(&conn, tail, &[&room_id, &before, &i64::from(limit)]).await?;
        page.reverse();
        Ok(page)
    }

    /// Up to `limit` messages of a room newer than `after`, oldest first: paging forward from an older
    /// point (a permalink's context) towards the present.
    pub(super) async fn newer(
        &self,
        room_id: RoomId,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, DbError> {
        let conn = self.reader().await?;
        let tail = "m.room_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3";
        query_messages(&conn, tail, &[&room_id, &after, &i64::from(limit)]).await
    }

    /// Up to `limit` messages newer than `after` in the rooms `user_id` is in, oldest first: what a
    /// reconnecting client missed.
    pub(super) async fn since(
        &self,
        user_id: UserId,
        after: MessageId,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, DbError> {
        let conn = self.reader().await?;
        let tail = "m.id > $1 AND m.room_id IN (SELECT room_id FROM memberships WHERE user_id = $2)
                    ORDER BY m.id LIMIT $3";
        query_messages(&conn, tail, &[&after, &user_id, &i64::from(limit)]).await
    }

    /// The newest message id, 0 when there is none.
    pub(super) async fn last_id(&self) -> Result<MessageId, DbError> {
        let conn = self.reader().await?;
        let row = query_one(&conn, "SELECT coalesce(max(id), 0) FROM messages", &[]).await?;
        Ok(row.try_get(0)?)
    }

    /// The room of message `id`, if there is such a message.
    pub(super) async fn message_room(&self, id: MessageId) -> Result<Option<RoomId>, DbError> {
        let conn = self.reader().await?;
        let row = query_opt(&conn, "SELECT room_id FROM messages WHERE id = $1", &[&id]).await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }
}
