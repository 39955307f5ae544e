-- A center may start a new lifecycle after one ended (rejected, withdrawn, delisted, ...).
-- The report row follows the newest lifecycle: compare (opened_at, revision), not revision alone.
ALTER TABLE centers ADD COLUMN opened_at timestamptz NOT NULL DEFAULT 'epoch';
ALTER TABLE centers ALTER COLUMN opened_at DROP DEFAULT;
