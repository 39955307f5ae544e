#!/bin/sh
# Temporal's schemas on its own PostgreSQL (temporalio/samples-server compose/scripts/setup-postgres.sh).
# Idempotent: `create` fails harmlessly on a second run, setup-schema -v 0.0 is a no-op on a set-up
# database, and update-schema brings both schemas up to this server version (run after an upgrade).
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
echo 'waiting for PostgreSQL'
until nc -z -w 10 "$POSTGRES_SEEDS" "${DB_PORT:-5432}"; do sleep 1; done
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "${DB_PORT:-5432}" "$@"; }
for db in temporal temporal_visibility; do
  tool --db "$db" create || true
done
tool --db temporal setup-schema -v 0.0
tool --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned
tool --db temporal_visibility setup-schema -v 0.0
tool --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned
echo 'temporal and temporal_visibility schemas are current'
