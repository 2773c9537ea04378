-- Announcements are stored like messages but shown apart; their author is the built-in Natter user.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat' CHECK (kind IN ('chat', 'announcement'));
