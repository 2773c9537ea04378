//! Rooms, memberships, notification levels and read marks.

use deadpool_postgres::GenericClient;
use tokio_postgres::IsolationLevel;

use crate::protocol::{Member, NotifyLevel, Room, RoomKind};

use super::changes::last_change;
use super::rows::{
    execute, is_unique_violation, kind_name, member_from_row, query, query_one, query_opt, record_from_row,
    room_from_row, MEMBER_ROOM_COLUMNS, ROOM_COLUMNS,
};
use super::*;

/// A user as a member of a room is shown.
pub(super) async fn member<C: GenericClient>(conn: &C, user_id: UserId) -> Result<Member, DbError> {
    member_from_row(&query_one(conn, "SELECT id, nickname, is_bot FROM users WHERE id = $1", &[&user_id]).await?)
}

pub(super) async fn member_room<C: GenericClient>(
    conn: &C,
    room_id: RoomId,
    user_id: UserId,
) -> Result<Option<Room>, DbError> {
    let sql = format!("{MEMBER_ROOM_COLUMNS} WHERE mem.user_id = $1 AND mem.room_id = $2");
    query_opt(conn, &sql, &[&user_id, &room_id]).await?.map(|row| room_from_row(&row)).transpose()
}

/// `member_room` for a membership the same transaction just made: it must be there.
async fn joined_room<C: GenericClient>(conn: &C, room_id: RoomId, user_id: UserId) -> Result<Room, DbError> {
    let sql = format!("{MEMBER_ROOM_COLUMNS} WHERE mem.user_id = $1 AND mem.room_id = $2");
    room_from_row(&query_one(conn, &sql, &[&user_id, &room_id]).await?)
}

/// Adds a membership with everything said so far counted as read; `false` if it existed.
pub(super) async fn add_member<C: GenericClient>(conn: &C, room_id: RoomId, user_id: UserId) -> Result<bool, DbError> {
    let added = execute(
        conn,
        "INSERT INTO memberships (room_id, user_id, joined_at, last_read_id)
         VALUES ($1, $2, $3, (SELECT coalesce(max(id), 0) FROM messages WHERE room_id = $1))
         ON CONFLICT (room_id, user_id) DO NOTHING",
        &[&room_id, &user_id, &now_millis()],
    )
    .await?;
    Ok(added == 1)
}

pub(super) fn direct_key(a: UserId, b: UserId) -> String {
    format!("dm:{}:{}", a.min(b), a.max(b))
}

impl PostgresStore {
    /// The rooms `user_id` is in (archived ones included) with unread counts, and the newest message
    /// id, from one snapshot.
    pub(super) async fn sidebar(&self, user_id: UserId) -> Result<Sidebar, DbError> {
        let mut conn = self.reader().await?;
        // REPEATABLE READ: every statement of the transaction sees the same snapshot.
        let snapshot =
            conn.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await?;
        let last_id = query_one(&snapshot, "SELECT coalesce(max(id), 0) FROM messages", &[]).await?.try_get(0)?;
        let last_change = last_change(&snapshot).await?;
        let sql = format!("{MEMBER_ROOM_COLUMNS} WHERE mem.user_id = $1 ORDER BY r.kind = 'direct', 2");
        let rooms = query(&snapshot, &sql, &[&user_id]).await?.iter().map(room_from_row).collect::<Result<_, _>>()?;
        snapshot.commit().await?;
        Ok(Sidebar { rooms, last_id, last_change })
    }

    /// `user_id`'s view of a room, if they are a member.
    pub(super) async fn member_room(&self, room_id: RoomId, user_id: UserId) -> Result<Option<Room>, DbError> {
        let conn = self.reader().await?;
        member_room(&conn, room_id, user_id).await
    }

    pub(super) async fn room_by_id(&self, room_id: RoomId) -> Result<Option<RoomRecord>, DbError> {
        let conn = self.reader().await?;
        let sql = format!("{ROOM_COLUMNS} WHERE id = $1");
        query_opt(&conn, &sql, &[&room_id]).await?.map(|row| record_from_row(&row)).transpose()
    }

    /// A named room (never a direct conversation).
    pub(super) async fn room_by_name(&self, name: String) -> Result<Option<RoomRecord>, DbError> {
        let conn = self.reader().await?;
        let sql = format!("{ROOM_COLUMNS} WHERE name_key = $1 AND kind != 'direct'");
        query_opt(&conn, &sql, &[&name]).await?.map(|row| record_from_row(&row)).transpose()
    }

    /// The direct conversation between two users, if there is one.
    pub(super) async fn direct_room_of(&self, user_id: UserId, peer_id: UserId) -> Result<Option<RoomId>, DbError> {
        let conn = self.reader().await?;
        let row =
            query_opt(&conn, "SELECT id FROM rooms WHERE name_key = $1", &[&direct_key(user_id, peer_id)]).await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// A room's members, by nickname.
    pub(super) async fn members(&self, room_id: RoomId) -> Result<Vec<Member>, DbError> {
        let conn = self.reader().await?;
        let rows = query(
            &conn,
            "SELECT u.id, u.nickname, u.is_bot FROM memberships mem JOIN users u ON u.id = mem.user_id
             WHERE mem.room_id = $1 ORDER BY lower(u.nickname)",
            &[&room_id],
        )
        .await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Public rooms that are not archived, by name, with their member counts: the room directory.
    pub(super) async fn public_rooms(&self) -> Result<Vec<(RoomRecord, u32)>, DbError> {
        let conn = self.reader().await?;
        let rows = query(
            &conn,
            "SELECT r.id, r.name, r.kind, r.archived_at IS NOT NULL,
                    (SELECT count(*) FROM memberships WHERE room_id = r.id)
             FROM rooms r WHERE r.kind = 'public' AND r.archived_at IS NULL ORDER BY r.name",
            &[],
        )
        .await?;
        rows.iter()
            .map(|row| Ok((record_from_row(row)?, u32::try_from(row.try_get::<_, i64>(4)?).unwrap_or(u32::MAX))))
            .collect()
    }

    /// Creates a room with its creator as the first member (told as `MemberJoined`).
    pub(super) async fn create_room(&self, name: String, kind: RoomKind, creator: UserId) -> Result<Room, DbError> {
        let (room, _) = self
            .write_telling(
                move |tx| {
                    Box::pin(async move {
                        let id: RoomId = query_one(
                            tx,
                            "INSERT INTO rooms (name, name_key, kind, created_by, created_at)
                             VALUES ($1, $1, $2, $3, $4) RETURNING id",
                            &[&name, &kind_name(kind), &creator, &now_millis()],
                        )
                        .await
                        .map_err(|error| if is_unique_violation(&error) { DbError::RoomNameTaken } else { error })?
                        .try_get(0)?;
                        add_member(tx, id, creator).await?;
                        let room = joined_room(tx, id, creator).await?;
                        Ok((room, member(tx, creator).await?))
                    })
                },
                |(room, member)| vec![Told::Joined(room.clone(), member.clone())],
            )
            .await?;
        Ok(room)
    }

    /// Makes `user_id` a member (everything said before counts as read). `None` if they already
    /// were; otherwise their view of the room and themselves as a member (told as `MemberJoined`).
    pub(super) async fn add_member(&self, room_id: RoomId, user_id: UserId) -> Result<Option<(Room, Member)>, DbError> {
        self.write_telling(
            move |tx| {
                Box::pin(async move {
                    if !add_member(tx, room_id, user_id).await? {
                        return Ok(None);
                    }
                    let room = joined_room(tx, room_id, user_id).await?;
                    Ok(Some((room, member(tx, user_id).await?)))
                })
            },
            |added| added.iter().map(|(room, member)| Told::Joined(room.clone(), member.clone())).collect(),
        )
        .await
    }

    /// Ends a membership (told as `MemberLeft`); `false` if there was none.
    pub(super) async fn remove_member(&self, room_id: RoomId, user_id: UserId) -> Result<bool, DbError> {
        self.write_telling(
            move |tx| {
                Box::pin(async move {
                    let sql = "DELETE FROM memberships WHERE room_id = $1 AND user_id = $2";
                    Ok(execute(tx, sql, &[&room_id, &user_id]).await? == 1)
                })
            },
            move |&removed| if removed { vec![Told::Left(room_id, user_id)] } else { Vec::new() },
        )
        .await
    }

    /// Archives a room (told as `RoomArchived`); `false` if it already was.
    pub(super) async fn archive_room(&self, room_id: RoomId) -> Result<bool, DbError> {
        self.write_telling(
            move |tx| {
                Box::pin(async move {
                    let sql = "UPDATE rooms SET archived_at = $2 WHERE id = $1 AND archived_at IS NULL";
                    Ok(execute(tx, sql, &[&room_id, &now_millis()]).await? == 1)
                })
            },
            move |&archived| if archived { vec![Told::Archived(room_id)] } else { Vec::new() },
        )
        .await
    }

    /// The direct conversation between two users, created with both as members if it is new.
    /// Each new member is told as `MemberJoined`, with their view of it.
    pub(super) async fn open_direct(&self, user_id: UserId, peer_id: UserId) -> Result<RoomId, DbError> {
        let (room_id, _) = self
            .write_telling(
                move |tx| {
                    Box::pin(async move {
                        let key = direct_key(user_id, peer_id);
                        // Another Natter may create the same conversation at once: the unique key
                        // lets one insert win, and the other finds its row below.
                        let created = query_opt(
                            tx,
                            "INSERT INTO rooms (name, name_key, kind, created_by, created_at)
                             VALUES ('direct', $1, 'direct', $2, $3) ON CONFLICT (name_key) DO NOTHING RETURNING id",
                            &[&key, &user_id, &now_millis()],
                        )
                        .await?;
                        let Some(created) = created else {
                            let row = query_one(tx, "SELECT id FROM rooms WHERE name_key = $1", &[&key]).await?;
                            return Ok((row.try_get(0)?, Vec::new()));
                        };
                        let id: RoomId = created.try_get(0)?;
                        let mut joined = Vec::new();
                        for member in [user_id, peer_id] {
                            add_member(tx, id, member).await?;
                        }
                        for member in [user_id, peer_id] {
                            let room = joined_room(tx, id, member).await?;
                            joined.push((room, self::member(tx, member).await?));
                        }
                        Ok((id, joined))
                    })
                },
                |(_, joined)| joined.iter().map(|(room, member)| Told::Joined(room.clone(), member.clone())).collect(),
            )
            .await?;
        Ok(room_id)
    }

    /// Moves members' read marks forward, never back and never past the newest message, in one
    /// transaction; marks of non-members change nothing.
    pub(super) async fn save_read_marks(&self, marks: Vec<ReadMark>) -> Result<(), DbError> {
        self.write_telling(
            move |tx| {
                Box::pin(async move {
                    let sql = "UPDATE memberships
                         SET last_read_id = greatest(last_read_id, least($3, (SELECT coalesce(max(id), 0) FROM messages)))
                         WHERE room_id = $1 AND user_id = $2
                         RETURNING last_read_id";
                    let mut saved = Vec::with_capacity(marks.len());
                    for ReadMark { room_id, user_id, last_read_id } in marks {
                        let Some(row) = query_opt(tx, sql, &[&room_id, &user_id, &last_read_id]).await? else {
                            continue;
                        };
                        saved.push(ReadMark { room_id, user_id, last_read_id: row.try_get(0)? });
                    }
                    Ok(saved)
                })
            },
            // The other Natters' screens hear them; this one's heard them as they were made.
            |saved| saved.iter().copied().map(Told::Read).collect(),
        )
        .await
        .map(drop)
    }

    /// Sets when `user_id` is notified about a room they are in; `false` if they are not in it.
    pub(super) async fn set_notify(
        &self,
        room_id: RoomId,
        user_id: UserId,
        level: NotifyLevel,
    ) -> Result<bool, DbError> {
        let level = match level {
            NotifyLevel::All => "all",
            NotifyLevel::Mentions => "mentions",
            NotifyLevel::Nothing => "nothing",
        };
        self.write(move |tx| {
            Box::pin(async move {
                let sql = "UPDATE memberships SET notify = $3 WHERE room_id = $1 AND user_id = $2";
                Ok(execute(tx, sql, &[&room_id, &user_id, &level]).await? == 1)
            })
        })
        .await
    }
}
