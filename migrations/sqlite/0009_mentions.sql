-- Who each message mentions (@nick, resolved to members of its room when stored or edited), for the
-- per-room mention counts in the sidebar. Keyed by user first: a user's mentions since their read
-- mark are one range.
CREATE TABLE mentions (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    message_id INTEGER NOT NULL REFERENCES messages (id),
    PRIMARY KEY (user_id, message_id)
) WITHOUT ROWID;
CREATE INDEX mentions_by_message ON mentions (message_id);
