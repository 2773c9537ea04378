-- Full-text search over message bodies. An external-content FTS5 index: the text lives once, in
-- messages, and triggers keep the index in step with inserts, edits and deletions (a deleted
-- message's body is '' and so matches nothing). unicode61 folds case and diacritics, so "cafe" finds
-- "Café"; the prefix indexes make "deplo*" fast.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

-- "from:nick" and date filters without search words list a room's or an author's messages by id.
CREATE INDEX IF NOT EXISTS messages_by_sent_at ON messages (sent_at);
