//! Column lists, row mapping (how a row becomes a message, a room, a member or an account), the
//! id newtypes as SQL values, and the few query helpers every file here uses.

use std::error::Error;

use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::private::BytesMut;
use tokio_postgres::types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::Row;

use crate::protocol::{
    Account, Attachment, ChatMessage, Member, MessageId, MessageKind, NotifyLevel, Revision, Role, Room, RoomId,
    RoomKind, UserId,
};

use super::messages::attach_reactions;
use crate::server::store::{DbError, Found, RoomRecord};

/// A message's columns, in `message_from_row`'s order, from `messages m` joined with `users u` and
/// `files fl`.
pub(super) const MESSAGE_FIELDS: &str =
    "m.id, m.room_id, m.author_id, coalesce(u.nickname, m.nickname), m.body, m.sent_at, m.client_msg_id,
     m.kind, m.deleted_at IS NOT NULL, m.edited_at, m.rev,
     fl.id, fl.name, fl.content_type, fl.size, fl.width, fl.height";
pub(super) const MESSAGE_JOINS: &str =
    "LEFT JOIN users u ON u.id = m.author_id LEFT JOIN files fl ON fl.message_id = m.id";

/// `SELECT <message fields> FROM messages m <joins>`, for a WHERE clause to follow.
pub(super) fn message_select() -> String {
    format!("SELECT {MESSAGE_FIELDS} FROM messages m {MESSAGE_JOINS}")
}

/// A room as member `$1` sees it. A direct conversation is named after the other person. Unread
/// and mention counts stop at `protocol::MAX_UNREAD` (999).
pub(super) const MEMBER_ROOM_COLUMNS: &str =
    "SELECT r.id, coalesce(peer.nickname, r.name), r.kind, r.archived_at IS NOT NULL,
            peer.id,
            (SELECT count(*) FROM (SELECT 1 FROM messages m WHERE m.room_id = r.id AND m.id > mem.last_read_id
                AND m.author_id != mem.user_id AND m.deleted_at IS NULL LIMIT 999) AS capped),
            mem.last_read_id,
            (SELECT count(*) FROM (SELECT 1 FROM mentions mn JOIN messages m ON m.id = mn.message_id
                WHERE mn.user_id = mem.user_id AND mn.message_id > mem.last_read_id AND m.room_id = r.id
                AND m.deleted_at IS NULL LIMIT 999) AS capped),
            mem.notify
     FROM memberships mem JOIN rooms r ON r.id = mem.room_id
     LEFT JOIN users peer ON r.kind = 'direct' AND peer.id =
         (SELECT other.user_id FROM memberships other WHERE other.room_id = r.id AND other.user_id != mem.user_id
          LIMIT 1)";
pub(super) const ROOM_COLUMNS: &str = "SELECT id, name, kind, archived_at IS NOT NULL FROM rooms";
pub(super) const ACCOUNT_COLUMNS: &str = "SELECT id, nickname, role, is_bot FROM users";

/// Ids are stored as the BIGINT they wrap, so SQL compares and orders them as before; these let a
/// typed id be bound as a parameter and read from a column without unwrapping it at every call.
macro_rules! id_column {
    ($($id:ident),*) => {$(
        impl ToSql for $id {
            fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
                self.get().to_sql(ty, out)
            }

            accepts!(INT8);
            to_sql_checked!();
        }

        impl<'a> FromSql<'a> for $id {
            fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
                i64::from_sql(ty, raw).map($id)
            }

            accepts!(INT8);
        }
    )*};
}
id_column!(RoomId, UserId, MessageId, Revision);

/// Parameters as tokio-postgres takes them.
pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Rows of `sql`, prepared once per connection (the pool and the writer keep a statement cache).
pub(super) async fn query<C: GenericClient>(conn: &C, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, DbError> {
    let statement = conn.prepare_cached(sql).await?;
    Ok(conn.query(&statement, params).await?)
}

pub(super) async fn query_opt<C: GenericClient>(
    conn: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Option<Row>, DbError> {
    let statement = conn.prepare_cached(sql).await?;
    Ok(conn.query_opt(&statement, params).await?)
}

pub(super) async fn query_one<C: GenericClient>(conn: &C, sql: &str, params: &Params<'_>) -> Result<Row, DbError> {
    let statement = conn.prepare_cached(sql).await?;
    Ok(conn.query_one(&statement, params).await?)
}

/// How many rows `sql` changed.
pub(super) async fn execute<C: GenericClient>(conn: &C, sql: &str, params: &Params<'_>) -> Result<u64, DbError> {
    let statement = conn.prepare_cached(sql).await?;
    Ok(conn.execute(&statement, params).await?)
}

/// A count as the protocol carries it; counts here are capped far below `u32::MAX`.
fn count(row: &Row, index: usize) -> Result<u32, DbError> {
    Ok(u32::try_from(row.try_get::<_, i64>(index)?).unwrap_or(u32::MAX))
}

pub(super) fn message_from_row(row: &Row) -> Result<ChatMessage, DbError> {
    Ok(ChatMessage {
        id: row.try_get(0)?,
        room_id: row.try_get(1)?,
        author_id: row.try_get::<_, Option<UserId>>(2)?.unwrap_or_default(),
        nickname: row.try_get(3)?,
        body: row.try_get(4)?,
        sent_at: row.try_get(5)?,
        client_msg_id: row.try_get(6)?,
        kind: if row.try_get::<_, &str>(7)? == "announcement" { MessageKind::Announcement } else { MessageKind::Chat },
        deleted: row.try_get(8)?,
        edited_at: row.try_get(9)?,
        rev: row.try_get(10)?,
        reactions: Vec::new(),
        file: attachment_from_row(row, 11)?,
    })
}

/// A file's six columns (id, name, content_type, size, width, height) from `first` on; `None` when
/// the id is NULL (a message without a file).
pub(super) fn attachment_from_row(row: &Row, first: usize) -> Result<Option<Attachment>, DbError> {
    let Some(id) = row.try_get::<_, Option<String>>(first)? else { return Ok(None) };
    let pixels = |index| -> Result<Option<u32>, DbError> {
        Ok(row.try_get::<_, Option<i64>>(index)?.and_then(|n| u32::try_from(n).ok()))
    };
    Ok(Some(Attachment {
        id,
        name: row.try_get(first + 1)?,
        content_type: row.try_get(first + 2)?,
        size: row.try_get(first + 3)?,
        width: pixels(first + 4)?,
        height: pixels(first + 5)?,
    }))
}

/// Messages selected by `tail` (the WHERE clause and order after the message columns), with reactions.
pub(super) async fn query_messages<C: GenericClient>(
    conn: &C,
    tail: &str,
    params: &Params<'_>,
) -> Result<Vec<ChatMessage>, DbError> {
    let sql = format!("{} WHERE {tail}", message_select());
    let mut page = query(conn, &sql, params).await?.iter().map(message_from_row).collect::<Result<Vec<_>, _>>()?;
    attach_reactions(conn, &mut page).await?;
    Ok(page)
}

pub(super) fn kind_name(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Public => "public",
        RoomKind::Private => "private",
        RoomKind::Direct => "direct",
    }
}

pub(super) fn room_kind(row: &Row, index: usize) -> Result<RoomKind, DbError> {
    Ok(match row.try_get::<_, &str>(index)? {
        "private" => RoomKind::Private,
        "direct" => RoomKind::Direct,
        _ => RoomKind::Public,
    })
}

pub(super) fn record_from_row(row: &Row) -> Result<RoomRecord, DbError> {
    Ok(RoomRecord { id: row.try_get(0)?, name: row.try_get(1)?, kind: room_kind(row, 2)?, archived: row.try_get(3)? })
}

pub(super) fn room_from_row(row: &Row) -> Result<Room, DbError> {
    Ok(Room {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        kind: room_kind(row, 2)?,
        archived: row.try_get(3)?,
        peer_id: row.try_get(4)?,
        unread: count(row, 5)?,
        last_read_id: row.try_get(6)?,
        mentions: count(row, 7)?,
        notify: match row.try_get::<_, Option<&str>>(8)? {
            Some("all") => Some(NotifyLevel::All),
            Some("mentions") => Some(NotifyLevel::Mentions),
            Some("nothing") => Some(NotifyLevel::Nothing),
            _ => None,
        },
    })
}

/// A member from `id, nickname, is_bot` of `users`.
pub(super) fn member_from_row(row: &Row) -> Result<Member, DbError> {
    Ok(Member { user_id: row.try_get(0)?, nickname: row.try_get(1)?, is_bot: row.try_get(2)? })
}

pub(super) fn account_from_row(row: &Row) -> Result<Account, DbError> {
    let role = match row.try_get::<_, &str>(2)? {
        "admin" => Role::Admin,
        _ => Role::Member,
    };
    Ok(Account { id: row.try_get(0)?, nickname: row.try_get(1)?, role, is_bot: row.try_get(3)? })
}

/// Whether an error is a unique-constraint failure (a refusal, such as a taken name).
pub(super) fn is_unique_violation(error: &DbError) -> bool {
    matches!(error, DbError::Postgres(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION))
}

/// A unique-constraint failure on users is a taken nickname; anything else stays an error.
pub(super) fn taken_if_unique(error: DbError) -> DbError {
    if is_unique_violation(&error) {
        DbError::NicknameTaken
    } else {
        error
    }
}

/// A search result: the message's columns, then the room's (17…21) and the snippet (22).
pub(super) fn found_from_row(row: &Row) -> Result<Found, DbError> {
    let message = message_from_row(row)?;
    let kind = room_kind(row, 19)?;
    let peer_id: Option<UserId> = row.try_get(20)?;
    let name = match (kind, row.try_get::<_, Option<String>>(21)?) {
        (RoomKind::Direct, Some(peer)) => peer,
        _ => row.try_get(18)?,
    };
    let room = Room {
        id: row.try_get(17)?,
        name,
        kind,
        archived: false,
        peer_id,
        unread: 0,
        last_read_id: MessageId::NONE,
        mentions: 0,
        notify: None,
    };
    Ok(Found { message, room, marked: row.try_get(22)? })
}
