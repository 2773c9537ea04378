-- Rooms: public (anyone joins), private (members invite), and direct conversations between two
-- users. name_key is the unique name; a direct conversation's is 'dm:<lower user id>:<higher user id>'
-- (a colon never appears in a room name), so each pair has one conversation.
CREATE TABLE rooms (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    created_by  INTEGER REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    archived_at INTEGER
);

-- Who is in which room, and how far they have read (for unread counts and the unread marker).
CREATE TABLE memberships (
    room_id      INTEGER NOT NULL REFERENCES rooms (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    joined_at    INTEGER NOT NULL,
    last_read_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_by_user ON memberships (user_id, room_id);

-- Everything said before rooms existed was said in general, and everyone is in it, having read it.
INSERT INTO rooms (id, name, name_key, kind, created_at)
VALUES (1, 'general', 'general', 'public', CAST(unixepoch('subsec') * 1000 AS INTEGER));
INSERT INTO memberships (room_id, user_id, joined_at, last_read_id)
SELECT 1, id, created_at, (SELECT coalesce(max(id), 0) FROM messages) FROM users WHERE nickname_key != 'natter';
-- (No REFERENCES here: SQLite cannot add a foreign-key column with a non-NULL default.)
ALTER TABLE messages ADD COLUMN room_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX messages_by_room ON messages (room_id, id);
