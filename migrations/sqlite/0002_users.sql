-- People and bots. nickname_key is the confusable skeleton of the case-folded NFKC nickname
-- (computed in Rust): two nicknames that look alike share a key, so the second is refused.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    nickname      TEXT    NOT NULL,
    nickname_key  TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')),
    is_bot        INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT,             -- argon2id PHC string; NULL until the user sets a password
    banned_at     INTEGER,
    created_at    INTEGER NOT NULL
);

-- Browser sessions and bot tokens, stored only as HMAC-SHA256 of the token under the server secret.
CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER           -- NULL for bot tokens, which last until revoked
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);

-- The author is now a user; messages.nickname stays as the nickname at the time of sending.
ALTER TABLE messages ADD COLUMN author_id INTEGER REFERENCES users (id);
