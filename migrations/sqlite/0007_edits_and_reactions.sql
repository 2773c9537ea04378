-- Edits, deletions and reactions change a stored message after it was sent. Each change stamps the
-- message with the next revision from one server-wide sequence, so a reconnecting client asks for
-- "every message changed after revision N" and gets each changed message once, in its latest state.
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
-- Only changed messages are indexed: most messages are never changed.
CREATE INDEX messages_by_rev ON messages (rev) WHERE rev > 0;

-- One row per person per emoji per message; the message's reactions are grouped from these, in the
-- order of `rev` (the message revision the reaction made: unique, unlike a timestamp).
CREATE TABLE reactions (
    message_id INTEGER NOT NULL REFERENCES messages (id),
    emoji      TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    reacted_at INTEGER NOT NULL,
    rev        INTEGER NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
) WITHOUT ROWID;
