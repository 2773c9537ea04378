//! Uploaded files' metadata (their bytes live in the uploads folder).

use rusqlite::OptionalExtension;

use crate::protocol::Attachment;

use super::rows::attachment_from_row;
use super::*;

impl SqliteStore {
    /// The id of the file sent as message `id`, if any.
    pub(super) async fn message_file(&self, id: MessageId) -> Result<Option<String>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT id FROM files WHERE message_id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()
        })
        .await
    }

    /// A file with the room of its message, for serving it to that room's members.
    pub(super) async fn file(&self, id: String) -> Result<Option<(Attachment, RoomId)>, DbError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT fl.id, fl.name, fl.content_type, fl.size, fl.width, fl.height, m.room_id
                 FROM files fl JOIN messages m ON m.id = fl.message_id WHERE fl.id = ?1 AND m.deleted_at IS NULL",
            )?
            .query_row([id], |row| {
                Ok((attachment_from_row(row, 0)?.ok_or(rusqlite::Error::InvalidQuery)?, row.get(6)?))
            })
            .optional()
        })
        .await
    }
}
