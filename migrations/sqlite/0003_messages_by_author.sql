-- A resend is recognised per author rather than per nickname, so renaming cannot defeat it.
DROP INDEX messages_by_client_id;
CREATE UNIQUE INDEX messages_by_author_client_id ON messages (author_id, client_msg_id);
