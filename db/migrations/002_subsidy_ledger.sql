-- 002_subsidy_ledger: the subsidy ledger and the yearly city budget (S1-S3, PD5, PD6).
-- Columns mirror models/subsidy.py LedgerEntry; decisions in docs/money.md.

-- Every advance, settlement, clawback and repayment, one append-only row each. Balances are
-- derived from these rows (db/ledger.py), never stored. Amounts are exact: numeric(14, 2) yuan,
-- fen precision; floats never touch them.
CREATE TABLE subsidy_ledger (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order
    key         text          NOT NULL UNIQUE,                    -- idempotency: a retry adds nothing
    center_id   text          NOT NULL,
    year        integer       NOT NULL CHECK (year BETWEEN 2000 AND 9999),  -- the subsidy year
    kind        text          NOT NULL CHECK (kind IN ('advance', 'settlement', 'clawback', 'repayment')),
    amount_yuan numeric(14, 2) NOT NULL CHECK (amount_yuan >= 0),
    actor       text          NOT NULL,
    rule_id     text          NOT NULL,
    at          timestamptz   NOT NULL,                           -- workflow time of the entry
    reference   text,
    recorded_at timestamptz   NOT NULL DEFAULT now(),             -- wall-clock time of the write
    CHECK (kind = 'settlement' OR amount_yuan > 0)                -- only an amount found due may be 0
);

CREATE INDEX subsidy_ledger_center ON subsidy_ledger (center_id, year, id);
-- PD6: the sum of a year's advances is read under the budget row lock on every advance.
CREATE INDEX subsidy_ledger_year_kind ON subsidy_ledger (year, kind);

-- Money is evidence like the audit log: no row may change or vanish, whoever connects. A
-- correction is a new entry.
CREATE TRIGGER subsidy_ledger_no_update_delete
    BEFORE UPDATE OR DELETE ON subsidy_ledger
    FOR EACH ROW EXECUTE FUNCTION refuse_change_append_only();

CREATE TRIGGER subsidy_ledger_no_truncate
    BEFORE TRUNCATE ON subsidy_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_append_only();


-- PD6: one row per calendar (subsidy) year. Every advance locks its year's row with
-- SELECT ... FOR UPDATE, sums the year's advances and inserts its entry in the same transaction,
-- so two advances racing for the last headroom are serialised and can never both pass. The row
-- holds no running total (the ledger is the only truth); cap_yuan is the cap the latest advance
-- was checked against (each center's frozen policy, PD8), kept for the reports.
CREATE TABLE subsidy_budget (
    year        integer        PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
    cap_yuan    numeric(14, 2) NOT NULL CHECK (cap_yuan > 0),
    created_at  timestamptz    NOT NULL DEFAULT now(),
    updated_at  timestamptz    NOT NULL DEFAULT now()
);
