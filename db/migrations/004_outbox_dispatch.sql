-- 004_outbox_dispatch (issue 9): mail leaves the outbox on its own path, never holding up a
-- lifecycle, and the status board counts what is overdue (M5).

-- A sender leases rows (claimed_until) in a short transaction and talks SMTP outside it, so a slow
-- server never holds a database connection. A temporary failure backs off (next_attempt_at); a
-- message that cannot be built, or that every recipient refuses permanently (5xx), is failed for
-- good (failed_at) and shown to staff instead of being retried forever.
ALTER TABLE outbox ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE outbox ADD COLUMN claimed_until timestamptz;
ALTER TABLE outbox ADD COLUMN failed_at timestamptz;
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Dispatchers LISTEN on 'outbox' and deliver as soon as a step commits its mail.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- M5: the snapshot's next_deadline_at leaves overdue deadlines out; count them here.
ALTER TABLE centers ADD COLUMN overdue_count integer NOT NULL DEFAULT 0 CHECK (overdue_count >= 0);
ALTER TABLE centers ADD COLUMN oldest_overdue_at timestamptz;
