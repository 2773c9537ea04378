-- Files sent as messages. id is server-generated (random, 32 hex digits) and is also the file's name on
-- disk; the user's file name is only metadata. One file per message; deleting the message deletes it.
CREATE TABLE files (
    id           TEXT    PRIMARY KEY,
    message_id   INTEGER NOT NULL UNIQUE REFERENCES messages (id),
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    width        INTEGER,
    height       INTEGER,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;
