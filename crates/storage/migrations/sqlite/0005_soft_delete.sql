-- Assistants are deleted softly: conversations keep pointing at them, but a deleted assistant
-- is not found by the API, cannot be linked to a sender and answers nothing.
ALTER TABLE assistants ADD COLUMN deleted_at INTEGER;
