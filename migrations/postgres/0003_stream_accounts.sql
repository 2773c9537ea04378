-- The stream also carries what happens to accounts and read marks, so every Natter's screens hear
-- it: a rename (detail: the names, as a JSON array [from, to]), a ban and an ended session (detail:
-- the session token's hash, hex) close sockets on every Natter, and a read mark reaches the user's
-- tabs on other Natters. These rows name no room, or (read) the room read.
ALTER TABLE stream ALTER COLUMN room_id DROP NOT NULL;
ALTER TABLE stream DROP CONSTRAINT stream_kind_check;
ALTER TABLE stream ADD CONSTRAINT stream_kind_check CHECK (kind IN (
    'stored', 'updated', 'joined', 'left', 'archived', 'renamed', 'banned', 'session_ended', 'read'));
ALTER TABLE stream ADD COLUMN detail TEXT;
