-- What a customer's message does once their conversation has ended: start a new conversation
-- (the default) or reopen the last ended one.
ALTER TABLE assistants ADD COLUMN after_end TEXT NOT NULL DEFAULT 'new_conversation'
    CHECK (after_end IN ('new_conversation', 'reopen'));
