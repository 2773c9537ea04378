//! Uploaded files' metadata (their bytes live in the uploads folder on disk, as with SQLite).

use crate::protocol::Attachment;

use super::rows::{attachment_from_row, query_opt};
use super::*;

impl PostgresStore {
    /// The id of the file sent as message `id`, if any.
    pub(super) async fn message_file(&self, id: MessageId) -> Result<Option<String>, DbError> {
        let conn = self.reader().await?;
        let row = query_opt(&conn, "SELECT id FROM files WHERE message_id = $1", &[&id]).await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// A file with the room of its message, for serving it to that room's members.
    pub(super) async fn file(&self, id: String) -> Result<Option<(Attachment, RoomId)>, DbError> {
        let conn = self.reader().await?;
        let row = query_opt(
            &conn,
            "SELECT fl.id, fl.name, fl.content_type, fl.size, fl.width, fl.height, m.room_id
             FROM files fl JOIN messages m ON m.id = fl.message_id WHERE fl.id = $1 AND m.deleted_at IS NULL",
            &[&id],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        // The query joins on the file's row, so its id is never NULL and the attachment is there.
        let Some(file) = attachment_from_row(&row, 0)? else { return Ok(None) };
        Ok(Some((file, row.try_get(6)?)))
    }
}
