//! Rooms, memberships, notification levels and read marks.

use rusqlite::{Connection, OptionalExtension};

use crate::protocol::{Member, NotifyLevel, Room, RoomKind};

use super::changes::last_change;
use super::rows::{kind_name, member_from_row, record_from_row, room_from_row, MEMBER_ROOM_COLUMNS, ROOM_COLUMNS};
use super::*;

/// A user as a member of a room is shown.
fn member(conn: &Connection, user_id: UserId) -> rusqlite::Result<Member> {
    conn.query_row("SELECT id, nickname, is_bot FROM users WHERE id = ?1", [user_id], member_from_row)
}

pub(super) fn member_room(conn: &Connection, room_id: RoomId, user_id: UserId) -> rusqlite::Result<Option<Room>> {
    conn.prepare_cached(&format!("{MEMBER_ROOM_COLUMNS} WHERE mem.user_id = ?1 AND mem.room_id = ?2"))?
        .query_row((user_id, room_id), room_from_row)
        .optional()
}

/// Adds a membership with everything said so far counted as read; `false` if it existed.
pub(super) fn add_member(conn: &Connection, room_id: RoomId, user_id: UserId) -> rusqlite::Result<bool> {
    let added = conn.execute(
        "INSERT INTO memberships (room_id, user_id, joined_at, last_read_id)
         VALUES (?1, ?2, ?3, (SELECT coalesce(max(id), 0) FROM messages WHERE room_id = ?1))
         ON CONFLICT (room_id, user_id) DO NOTHING",
        (room_id, user_id, now_millis()),
    )?;
    Ok(added == 1)
}

pub(super) fn direct_key(a: UserId, b: UserId) -> String {
    format!("dm:{}:{}", a.min(b), a.max(b))
}

impl SqliteStore {
    /// The rooms `user_id` is in (archived ones included) with unread counts, and the newest message
    /// id, from one snapshot.
    pub(super) async fn sidebar(&self, user_id: UserId) -> Result<Sidebar, DbError> {
        self.read(move |conn| {
            let snapshot = conn.unchecked_transaction()?;
            let last_id = snapshot.query_row("SELECT coalesce(max(id), 0) FROM messages", [], |row| row.get(0))?;
            let last_change = last_change(&snapshot)?;
            let rooms = snapshot
                .prepare_cached(&format!("{MEMBER_ROOM_COLUMNS} WHERE mem.user_id = ?1 ORDER BY r.kind = 'direct', 2"))?
                .query_map([user_id], room_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Sidebar { rooms, last_id, last_change })
        })
        .await
    }

    /// `user_id`'s view of a room, if they are a member.
    pub(super) async fn member_room(&self, room_id: RoomId, user_id: UserId) -> Result<Option<Room>, DbError> {
        self.read(move |conn| member_room(conn, room_id, user_id)).await
    }

    pub(super) async fn room_by_id(&self, room_id: RoomId) -> Result<Option<RoomRecord>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!("{ROOM_COLUMNS} WHERE id = ?1"))?
                .query_row([room_id], record_from_row)
                .optional()
        })
        .await
    }

    /// A named room (never a direct conversation).
    pub(super) async fn room_by_name(&self, name: String) -> Result<Option<RoomRecord>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!("{ROOM_COLUMNS} WHERE name_key = ?1 AND kind != 'direct'"))?
                .query_row([&name], record_from_row)
                .optional()
        })
        .await
    }

    /// The direct conversation between two users, if there is one.
    pub(super) async fn direct_room_of(&self, user_id: UserId, peer_id: UserId) -> Result<Option<RoomId>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT id FROM rooms WHERE name_key = ?1")?
                .query_row([direct_key(user_id, peer_id)], |row| row.get(0))
                .optional()
        })
        .await
    }

    /// A room's members, by nickname.
    pub(super) async fn members(&self, room_id: RoomId) -> Result<Vec<Member>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT u.id, u.nickname, u.is_bot FROM memberships mem JOIN users u ON u.id = mem.user_id
                 WHERE mem.room_id = ?1 ORDER BY lower(u.nickname)",
            )?
            .query_map([room_id], member_from_row)?
            .collect()
        })
        .await
    }

    /// Public rooms that are not archived, by name, with their member counts: the room directory.
    pub(super) async fn public_rooms(&self) -> Result<Vec<(RoomRecord, u32)>, DbError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT r.id, r.name, r.kind, r.archived_at IS NOT NULL,
                        (SELECT count(*) FROM memberships WHERE room_id = r.id)
                 FROM rooms r WHERE r.kind = 'public' AND r.archived_at IS NULL ORDER BY r.name",
            )?
            .query_map([], |row| Ok((record_from_row(row)?, row.get(4)?)))?
            .collect()
        })
        .await
    }

    /// Creates a room with its creator as the first member (told as `MemberJoined`).
    pub(super) async fn create_room(&self, name: String, kind: RoomKind, creator: UserId) -> Result<Room, DbError> {
        let (room, _) = self
            .write_telling(
                move |tx| {
                    let id: RoomId = tx
                    .query_row(
                        "INSERT INTO rooms (name, name_key, kind, created_by, created_at) VALUES (?1, ?1, ?2, ?3, ?4)
                         RETURNING id",
                        (&name, kind_name(kind), creator, now_millis()),
                        |row| row.get(0),
                    )
                    .map_err(|error| match error.sqlite_error_code() {
                        Some(rusqlite::ErrorCode::ConstraintViolation) => DbError::RoomNameTaken,
                        _ => DbError::Sqlite(error),
                    })?;
                    add_member(tx, id, creator)?;
                    let room = member_room(tx, id, creator)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                    Ok((room, member(tx, creator)?))
                },
                |(room, member), events| events(StoreEvent::MemberJoined { room, member }),
            )
            .await?;
        Ok(room)
    }

    /// Makes `user_id` a member (everything said before counts as read). `None` if they already
    /// were; otherwise their view of the room and themselves as a member (told as `MemberJoined`).
    pub(super) async fn add_member(&self, room_id: RoomId, user_id: UserId) -> Result<Option<(Room, Member)>, DbError> {
        self.write_telling(
            move |tx| {
                if !add_member(tx, room_id, user_id)? {
                    return Ok(None);
                }
                let room = member_room(tx, room_id, user_id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                Ok(Some((room, member(tx, user_id)?)))
            },
            |added, events| {
                if let Some((room, member)) = added {
                    events(StoreEvent::MemberJoined { room, member });
                }
            },
        )
        .await
    }

    /// Ends a membership (told as `MemberLeft`); `false` if there was none.
    pub(super) async fn remove_member(&self, room_id: RoomId, user_id: UserId) -> Result<bool, DbError> {
        self.write_telling(
            move |tx| {
                let removed =
                    tx.execute("DELETE FROM memberships WHERE room_id = ?1 AND user_id = ?2", (room_id, user_id))?;
                Ok(removed == 1)
            },
            move |&removed, events| {
                if removed {
                    events(StoreEvent::MemberLeft { room_id, user_id });
                }
            },
        )
        .await
    }

    /// Archives a room (told as `RoomArchived`); `false` if it already was.
    pub(super) async fn archive_room(&self, room_id: RoomId) -> Result<bool, DbError> {
        self.write_telling(
            move |tx| {
                let changed = tx.execute(
                    "UPDATE rooms SET archived_at = ?2 WHERE id = ?1 AND archived_at IS NULL",
                    (room_id, now_millis()),
                )?;
                Ok(changed == 1)
            },
            move |&archived, events| {
                if archived {
                    events(StoreEvent::RoomArchived { room_id });
                }
            },
        )
        .await
    }

    /// The direct conversation between two users, created with both as members if it is new.
    /// Each new member is told as `MemberJoined`, with their view of it.
    pub(super) async fn open_direct(&self, user_id: UserId, peer_id: UserId) -> Result<RoomId, DbError> {
        let (room_id, _) = self
            .write_telling(
                move |tx| {
                    let key = direct_key(user_id, peer_id);
                    let existing: Option<RoomId> = tx
                        .query_row("SELECT id FROM rooms WHERE name_key = ?1", [&key], |row| row.get(0))
                        .optional()?;
                    if let Some(id) = existing {
                        return Ok((id, Vec::new()));
                    }
                    let id: RoomId = tx.query_row(
                        "INSERT INTO rooms (name, name_key, kind, created_by, created_at)
                         VALUES ('direct', ?1, 'direct', ?2, ?3) RETURNING id",
                        (&key, user_id, now_millis()),
                        |row| row.get(0),
                    )?;
                    let mut joined = Vec::new();
                    for member in [user_id, peer_id] {
                        add_member(tx, id, member)?;
                    }
                    for member in [user_id, peer_id] {
                        let room = member_room(tx, id, member)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                        joined.push((room, self::member(tx, member)?));
                    }
                    Ok((id, joined))
                },
                |(_, joined), events| {
                    for (room, member) in joined {
                        events(StoreEvent::MemberJoined { room, member });
                    }
                },
            )
            .await?;
        Ok(room_id)
    }

    /// Moves members' read marks forward, never back and never past the
    /// newest message, in one transaction; marks of non-members change nothing.
    pub(super) async fn save_read_marks(&self, marks: Vec<ReadMark>) -> Result<(), DbError> {
        self.write(move |tx| {
            let mut update = tx.prepare_cached(
                "UPDATE memberships
                 SET last_read_id = max(last_read_id, min(?3, (SELECT coalesce(max(id), 0) FROM messages)))
                 WHERE room_id = ?1 AND user_id = ?2",
            )?;
            for ReadMark { room_id, user_id, last_read_id } in marks {
                update.execute((room_id, user_id, last_read_id))?;
            }
            Ok(())
        })
        .await
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
            let changed = tx.execute(
                "UPDATE memberships SET notify = ?3 WHERE room_id = ?1 AND user_id = ?2",
                (room_id, user_id, level),
            )?;
            Ok(changed == 1)
        })
        .await
    }
}
