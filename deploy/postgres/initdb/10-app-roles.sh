#!/bin/sh
# Runs once on a fresh app-database volume (postgres image entrypoint, as the superuser).
set -eu
: "${CENTERS_OWNER_PASSWORD:?set CENTERS_OWNER_PASSWORD in .env}"
: "${CENTERS_APP_PASSWORD:?set CENTERS_APP_PASSWORD in .env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f /app-roles.sql
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$CENTERS_OWNER_PASSWORD" -v app_password="$CENTERS_APP_PASSWORD" <<'SQL'
ALTER ROLE centers_owner PASSWORD :'owner_password';
ALTER ROLE centers_app PASSWORD :'app_password';
SQL
