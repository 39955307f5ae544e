-- 006_subsidy_lapse: S3 and PD11 per center across lifecycles (docs/money.md).
-- A 'lapse' row (amount 0) records that the center was not designated within 2 years of its first
-- advance: reserve_advance refuses every later advance of that center, whatever its lifecycle.
ALTER TABLE subsidy_ledger DROP CONSTRAINT subsidy_ledger_kind_check;
ALTER TABLE subsidy_ledger ADD CONSTRAINT subsidy_ledger_kind_check
    CHECK (kind IN ('advance', 'settlement', 'clawback', 'repayment', 'lapse'));
ALTER TABLE subsidy_ledger DROP CONSTRAINT subsidy_ledger_check;
ALTER TABLE subsidy_ledger ADD CONSTRAINT subsidy_ledger_amount_check
    CHECK (kind IN ('settlement', 'lapse') OR amount_yuan > 0);
-- PD11: a center's advances are read under the year lock on every advance.
CREATE INDEX subsidy_ledger_center_kind ON subsidy_ledger (center_id, kind, year);
