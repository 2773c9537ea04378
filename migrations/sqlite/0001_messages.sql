-- Messages in commit order. AUTOINCREMENT so an id is never reused, even after the newest row is
-- deleted: clients resume from the last id they saw.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    nickname      TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    sent_at       INTEGER NOT NULL, -- milliseconds since the Unix epoch, UTC
    client_msg_id TEXT    NOT NULL
);

-- A resent message (after a reconnect or a double click) finds its original instead of a second row.
CREATE UNIQUE INDEX messages_by_client_id ON messages (nickname, client_msg_id);
