-- A deleted message keeps its row (ids are never reused, and readers show a placeholder) but loses
-- its text.
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
