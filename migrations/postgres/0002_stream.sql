-- The stream: one row per change that open screens must hear about, in commit order, so every
-- Natter on this database tells its screens the same changes in the same order (store/postgres/
-- stream.rs). Positions are handed out under the store's id lock and commit in that order, without
-- gaps; a Natter tails `pos > last` after a NOTIFY or a poll. Rows name what changed; the changed
-- rows themselves are read from their tables. Old rows are pruned: a Natter that is further behind
-- than that closes its sockets, and its clients catch up from the tables.
CREATE TABLE stream (
    pos        BIGINT PRIMARY KEY,
    kind       TEXT   NOT NULL CHECK (kind IN ('stored', 'updated', 'joined', 'left', 'archived')),
    room_id    BIGINT NOT NULL,
    user_id    BIGINT,           -- joined, left
    message_id BIGINT,           -- stored, updated
    rev        BIGINT,           -- updated: the revision this change made
    at         BIGINT NOT NULL   -- commit time, milliseconds since the Unix epoch: for pruning
);
