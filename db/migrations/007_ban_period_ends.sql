-- PD10, PD7: a ban's end is counted as Chinese law counts a period. Its nominal last day is the day
-- 2 years after the delisting or revocation (that day not counted, so the corresponding day is the
-- last one), moved to the next working day when it is a rest day. The legal last day needs the
-- calendar of its year, usually not published when the ban is imposed: such a ban is recorded
-- with provisional = true and ends_on = its nominal last day, and the registry settles it each time
-- it is read (db/outcomes.py active_bans, activities/outcomes.py find_active_bans). Rows are still
-- never updated at run time.
ALTER TABLE bans
    ADD COLUMN nominal_ends_on date,
    ADD COLUMN provisional     boolean NOT NULL DEFAULT false;

-- Bans recorded before PD10 ended the day before the 2-year anniversary (add_years - 1 day). Their
-- nominal last day under PD10 is the anniversary itself; the reader settles the working-day move.
UPDATE bans SET nominal_ends_on = ends_on + 1, ends_on = ends_on + 1, provisional = true
WHERE nominal_ends_on IS NULL;

-- Provisional bans are read past their recorded end (the legal end may be later).
CREATE INDEX bans_provisional ON bans (credit_code) WHERE provisional;

-- PD10: the calendar years already announced to running lifecycles (workers/calendar_signal.py).
-- A worker that starts with data for a year not in this table claims it (one worker wins the
-- insert) and sends every running lifecycle one calendar_updated signal, so provisional period
-- ends settle after the yearly PD2 chore without any lifecycle scan on a schedule.
CREATE TABLE calendar_announcements (
    year         integer     PRIMARY KEY,
    announced_at timestamptz NOT NULL DEFAULT now()
);
