-- collect_data and schedule_appointment: the assistant settings they read, and the bookings table.

-- The fields collect_data asks for (a JSON list) and the working hours schedule_appointment
-- books in (a JSON object; null until the assistant is given hours).
ALTER TABLE assistants ADD COLUMN data_fields TEXT NOT NULL DEFAULT '[]';
ALTER TABLE assistants ADD COLUMN availability TEXT NOT NULL DEFAULT 'null';

CREATE TABLE bookings (
    id               BLOB PRIMARY KEY NOT NULL,
    workspace_id     BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    assistant_id     BLOB NOT NULL REFERENCES assistants(id),
    conversation_id  BLOB REFERENCES conversations(id),
    customer_id      BLOB REFERENCES customers(id),
    customer_name    TEXT,
    notes            TEXT,
    starts_at        INTEGER NOT NULL,
    ends_at          INTEGER NOT NULL CHECK (ends_at > starts_at),
    status           TEXT NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled')),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- No double booking, enforced by the database rather than by a check-then-insert race:
-- an assistant's slots are a fixed grid (working intervals cut into equal slots from their
-- opening time, see domain/src/availability.rs), so two of its bookings overlap exactly when
-- they start at the same instant. A unique index over the starts of live bookings therefore
-- refuses the second of two concurrent bookings (and a reschedule onto a taken slot), on
-- SQLite and PostgreSQL alike; a cancelled booking leaves the index and frees its slot.
-- (PostgreSQL could use an exclusion constraint on the time range instead, but that needs
-- the btree_gist extension for the assistant column, and SQLite has nothing like it.)
CREATE UNIQUE INDEX bookings_assistant_slot_key ON bookings (assistant_id, starts_at) WHERE status = 'booked';
-- The slots already taken in a date range.
CREATE INDEX bookings_assistant_starts_idx ON bookings (assistant_id, starts_at);
-- A customer's own bookings, and a conversation's.
CREATE INDEX bookings_customer_idx ON bookings (customer_id, starts_at);
CREATE INDEX bookings_conversation_idx ON bookings (conversation_id);
