-- The app database's roles (docker-compose.yml runs this once, as the superuser, on a fresh volume).
--   centers_owner  owns the database and its schema; only the `migrate` job logs in as it.
--   centers_app    what the workers, the portal and the CLI use: read and write rows, nothing else
--                  (no DDL, no DELETE, no TRUNCATE; the audit log and the ledger are append-only
--                  by trigger as well).
-- Passwords are set by initdb/10-app-roles.sh from the environment, never here.
\set ON_ERROR_STOP on

CREATE ROLE centers_owner LOGIN;
CREATE ROLE centers_app LOGIN;
CREATE DATABASE centers OWNER centers_owner;
REVOKE ALL ON DATABASE centers FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE centers TO centers_app;

\connect centers
-- PostgreSQL 15+: schema public belongs to the database owner; nobody else may create in it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO centers_app;
-- Every table and sequence the owner's migrations create, now and later.
ALTER DEFAULT PRIVILEGES FOR ROLE centers_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE ON TABLES TO centers_app;
ALTER DEFAULT PRIVILEGES FOR ROLE centers_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO centers_app;
