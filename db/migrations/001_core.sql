-- 001_core: the outcome tables every lifecycle step writes (INTERFACE.md, "PostgreSQL").
-- Every writable table has a unique idempotency `key`, so an activity retry that inserts with
-- ON CONFLICT (key) DO NOTHING adds nothing (DESIGN.md, "Side effects exactly once").
-- Columns mirror models/effects.py; rename there and here together, through a new migration.

-- Audit log: every accepted or rejected action and every automatic transition.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order, for ties on `at`
    key          text        NOT NULL UNIQUE,
    center_id    text        NOT NULL,
    at           timestamptz NOT NULL,                             -- workflow time of the event
    action       text        NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'automatic')),
    actor_name   text,
    actor_role   text,
    actor_county text,
    request_id   text,
    rule_ids     text[]      NOT NULL DEFAULT '{}',
    phase_before text,
    phase_after  text,
    summary      text        NOT NULL,
    detail       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at  timestamptz NOT NULL DEFAULT now()                -- wall-clock time of the write
);

CREATE INDEX audit_log_center_at ON audit_log (center_id, at, id);

-- The log is evidence: no row may change or vanish, whoever connects. A trigger (not only a
-- REVOKE) so that the owner role the service runs as is bound too. Shared by every append-only
-- table (the subsidy ledger too).
CREATE FUNCTION refuse_change_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a new entry instead of changing an old one.';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change_append_only();

-- TRUNCATE bypasses row triggers, so it gets its own statement-level guard.
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_append_only();


-- Centers: one row per center for reports (status board, D2 coverage). Written by upsert that
-- only takes a newer revision, so a late retry of an old step never rolls a center back.
CREATE TABLE centers (
    center_id        text        PRIMARY KEY,
    revision         bigint      NOT NULL,
    name             text        NOT NULL,
    county           text        NOT NULL,
    field            text        NOT NULL,
    route            text        NOT NULL,
    phase            text        NOT NULL,
    credit_code      text        NOT NULL,
    lead_unit        text        NOT NULL,
    designated_on    date,
    last_grade       text,
    next_deadline_at timestamptz,
    updated_at       timestamptz NOT NULL,                         -- workflow time of the snapshot
    recorded_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX centers_phase ON centers (phase);
CREATE INDEX centers_field ON centers (field);


-- Bans registry (PD7): delisting (M2) bars the implementing entity from any center; revocation
-- (M4) bars the lead unit from the same type (field). Ban rows are never updated.
CREATE TABLE bans (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key          text        NOT NULL UNIQUE,
    center_id    text        NOT NULL,                             -- the center that caused it
    subject_kind text        NOT NULL CHECK (subject_kind IN ('implementing_entity', 'lead_unit')),
    credit_code  text        NOT NULL,
    subject_name text        NOT NULL,
    scope        text        NOT NULL CHECK (scope IN ('any', 'same_type')),
    field        text,
    rule_id      text        NOT NULL,
    starts_on    date        NOT NULL,
    ends_on      date        NOT NULL,                             -- last barred day, inclusive
    reason       text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on >= starts_on),
    CHECK (scope = 'any' OR field IS NOT NULL)                     -- 'same_type' needs its type
);

-- Applications look bans up by credit code (D4); ends_on second so expired bans are cheap to skip.
CREATE INDEX bans_credit_code ON bans (credit_code, ends_on);


-- Notification outbox: a row per message, keyed like the activity that wrote it. The mailer
-- locks a row, sends it, and sets sent_at as soon as the SMTP server accepts, so a sent row is
-- never sent again; message_id is derived from key, so a resend after a crash between "accepted"
-- and "marked" carries the same Message-ID and can be recognised downstream.
CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text        NOT NULL UNIQUE,
    center_id   text        NOT NULL,
    recipients  text[]      NOT NULL CHECK (cardinality(recipients) > 0),
    subject     text        NOT NULL,
    body        text        NOT NULL,
    rule_id     text,
    message_id  text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,                                       -- NULL until the server accepted it
    attempts    integer     NOT NULL DEFAULT 0,                    -- SMTP attempts, failed or not
    last_error  text
);

CREATE INDEX outbox_center ON outbox (center_id, created_at);
-- The delivery sweep only ever looks at unsent rows; keep that index tiny.
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
