-- Who is online on each Natter, as it last said: one row per running Natter (its node id, random
-- at each start), its users as a JSON array of {user_id, nickname, idle, connections}. `version`
-- grows when the users change; `seen_at` is touched every heartbeat, by the database's clock.
-- A row not touched for a few seconds is of a Natter that died or lost the database: the others
-- leave it out, and delete it after a minute. Nothing here is history: `natter move-to` does not
-- move it, and a backup need not keep it.
CREATE TABLE presence (
    node TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,
    online TEXT NOT NULL
);

-- Which Natter appended each stream row, so the others count the messages it stored against their
-- authors' limits (a person posting through three Natters gets one person's rate).
ALTER TABLE stream ADD COLUMN origin TEXT;
