-- When each member wants a browser notification from a room: 'all' messages, 'mentions' of them, or
-- 'nothing'. NULL is the default for the room's kind (all for direct conversations, mentions
-- elsewhere), so a change of default reaches everyone who never chose.
ALTER TABLE memberships ADD COLUMN notify TEXT CHECK (notify IN ('all', 'mentions', 'nothing'));
