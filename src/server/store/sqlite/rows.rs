//! Column lists and row mapping: how a row becomes a message, a room, a member or an account.

use rusqlite::Connection;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::protocol::{
    Account, Attachment, ChatMessage, MessageId, MessageKind, NotifyLevel, Revision, Role, Room, RoomId, RoomKind,
    UserId,
};

use super::messages::attach_reactions;
use super::*;

/// A message's columns, in `message_from_row`'s order, from `messages m` joined with `users u` and
/// `files fl` (see `MESSAGE_JOINS`).
macro_rules! message_fields {
    () => {
        "m.id, m.room_id, m.author_id, coalesce(u.nickname, m.nickname), m.body, m.sent_at, m.client_msg_id,
         m.kind, m.deleted_at IS NOT NULL, m.edited_at, m.rev,
         fl.id, fl.name, fl.content_type, fl.size, fl.width, fl.height"
    };
}
macro_rules! message_joins {
    () => {
        "LEFT JOIN users u ON u.id = m.author_id LEFT JOIN files fl ON fl.message_id = m.id"
    };
}
pub(super) const MESSAGE_COLUMNS: &str = concat!("SELECT ", message_fields!(), " FROM messages m ", message_joins!());
/// Search results: a message, its room as viewer `?1` sees it, and its snippet. Search words, when
/// given, come from `messages_fts f` (see `Store::search`); filters are `?2`…`?8`. CROSS JOIN fixes
/// the join order: statistics from when the database was small once led SQLite to walk the rooms
/// first and probe the full-text index per message, a minute per search over a million messages.
pub(super) const SEARCH_FROM_ROOMS: &str = "CROSS JOIN rooms r ON r.id = m.room_id
     LEFT JOIN users peer ON r.kind = 'direct' AND peer.id =
         (SELECT other.user_id FROM memberships other WHERE other.room_id = r.id AND other.user_id != ?1)
     WHERE m.id < ?2 AND m.id > ?3 AND m.deleted_at IS NULL
       AND (r.kind = 'public' OR EXISTS (SELECT 1 FROM memberships mem WHERE mem.room_id = m.room_id AND mem.user_id = ?1))
       AND (?4 IS NULL OR m.author_id = (SELECT id FROM users WHERE nickname_key = ?4))
       AND (?5 IS NULL OR (r.name_key = ?5 AND r.kind != 'direct'))
       AND (NOT ?6 OR fl.id IS NOT NULL)";
/// A room as member `?1` sees it. A direct conversation is named after the other person.
pub(super) const MEMBER_ROOM_COLUMNS: &str =
    "SELECT r.id, coalesce(peer.nickname, r.name), r.kind, r.archived_at IS NOT NULL,
            peer.id,
            (SELECT count(*) FROM (SELECT 1 FROM messages m WHERE m.room_id = r.id AND m.id > mem.last_read_id
                AND m.author_id != mem.user_id AND m.deleted_at IS NULL LIMIT 999)), -- protocol::MAX_UNREAD
            mem.last_read_id,
            (SELECT count(*) FROM (SELECT 1 FROM mentions mn JOIN messages m ON m.id = mn.message_id
                WHERE mn.user_id = mem.user_id AND mn.message_id > mem.last_read_id AND m.room_id = r.id
                AND m.deleted_at IS NULL LIMIT 999)),
            mem.notify
     FROM memberships mem JOIN rooms r ON r.id = mem.room_id
     LEFT JOIN users peer ON r.kind = 'direct' AND peer.id =
         (SELECT other.user_id FROM memberships other WHERE other.room_id = r.id AND other.user_id != mem.user_id)";
pub(super) const ROOM_COLUMNS: &str = "SELECT id, name, kind, archived_at IS NOT NULL FROM rooms";
pub(super) const ACCOUNT_COLUMNS: &str = "SELECT id, nickname, role, is_bot FROM users";

/// Ids are stored as the INTEGER they wrap, so SQL compares and orders them as before; these let
/// a typed id be bound as a parameter and read from a column without unwrapping it at every call.
macro_rules! id_column {
    ($($id:ident),*) => {$(
        impl ToSql for $id {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.get()))
            }
        }

        impl FromSql for $id {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($id)
            }
        }
    )*};
}
id_column!(RoomId, UserId, MessageId, Revision);

pub(super) fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    Ok(ChatMessage {
        id: row.get(0)?,
        room_id: row.get(1)?,
        author_id: row.get::<_, Option<UserId>>(2)?.unwrap_or_default(),
        nickname: row.get(3)?,
        body: row.get(4)?,
        sent_at: row.get(5)?,
        client_msg_id: row.get(6)?,
        kind: if row.get_ref(7)?.as_str()? == "announcement" { MessageKind::Announcement } else { MessageKind::Chat },
        deleted: row.get(8)?,
        edited_at: row.get(9)?,
        rev: row.get(10)?,
        reactions: Vec::new(),
        file: attachment_from_row(row, 11)?,
    })
}

/// A file's six columns (id, name, content_type, size, width, height) from `first` on; `None` when
/// the id is NULL (a message without a file).
pub(super) fn attachment_from_row(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Option<Attachment>> {
    let Some(id) = row.get::<_, Option<String>>(first)? else { return Ok(None) };
    Ok(Some(Attachment {
        id,
        name: row.get(first + 1)?,
        content_type: row.get(first + 2)?,
        size: row.get(first + 3)?,
        width: row.get(first + 4)?,
        height: row.get(first + 5)?,
    }))
}

/// Messages selected by `tail` (the WHERE clause and order after `MESSAGE_COLUMNS`), with reactions.
pub(super) fn query_messages(
    conn: &Connection,
    tail: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<ChatMessage>> {
    let mut page = conn
        .prepare_cached(&format!("{MESSAGE_COLUMNS} WHERE {tail}"))?
        .query_map(params, message_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    attach_reactions(conn, &mut page)?;
    Ok(page)
}

pub(super) fn kind_name(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Public => "public",
        RoomKind::Private => "private",
        RoomKind::Direct => "direct",
    }
}

pub(super) fn room_kind(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<RoomKind> {
    Ok(match row.get_ref(index)?.as_str()? {
        "private" => RoomKind::Private,
        "direct" => RoomKind::Direct,
        _ => RoomKind::Public,
    })
}

pub(super) fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RoomRecord> {
    Ok(RoomRecord { id: row.get(0)?, name: row.get(1)?, kind: room_kind(row, 2)?, archived: row.get(3)? })
}

pub(super) fn room_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Room> {
    Ok(Room {
        id: row.get(0)?,
        name: row.get(1)?,
        kind: room_kind(row, 2)?,
        archived: row.get(3)?,
        peer_id: row.get(4)?,
        unread: row.get(5)?,
        last_read_id: row.get(6)?,
        mentions: row.get(7)?,
        notify: match row.get_ref(8)?.as_str_or_null()? {
            Some("all") => Some(NotifyLevel::All),
            Some("mentions") => Some(NotifyLevel::Mentions),
            Some("nothing") => Some(NotifyLevel::Nothing),
            _ => None,
        },
    })
}

/// A member from `id, nickname, is_bot` of `users`.
pub(super) fn member_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member { user_id: row.get(0)?, nickname: row.get(1)?, is_bot: row.get(2)? })
}

pub(super) fn account_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    let role = match row.get_ref(2)?.as_str()? {
        "admin" => Role::Admin,
        _ => Role::Member,
    };
    Ok(Account { id: row.get(0)?, nickname: row.get(1)?, role, is_bot: row.get(3)? })
}

/// A unique-constraint failure on users is a taken nickname; anything else stays an error.
pub(super) fn taken_if_unique(error: rusqlite::Error) -> DbError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => DbError::NicknameTaken,
        _ => DbError::Sqlite(error),
    }
}

pub(super) fn found_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Found> {
    let message = message_from_row(row)?;
    let kind = room_kind(row, 19)?;
    let peer_id: Option<UserId> = row.get(20)?;
    let name = match (kind, row.get::<_, Option<String>>(21)?) {
        (RoomKind::Direct, Some(peer)) => peer,
        _ => row.get(18)?,
    };
    let room = Room {
        id: row.get(17)?,
        name,
        kind,
        archived: false,
        peer_id,
        unread: 0,
        last_read_id: MessageId::NONE,
        mentions: 0,
        notify: None,
    };
    Ok(Found { message, room, marked: row.get(22)? })
}
