-- 005_staff_portal: signed-in identity for the staff portal (issue 10).
-- The audit log records the signed-in user's stable id beside the actor's name, role and county.
ALTER TABLE audit_log ADD COLUMN actor_user_id text;
CREATE INDEX audit_log_user ON audit_log (actor_user_id) WHERE actor_user_id IS NOT NULL;

-- The embedded staff directory (production may use OpenID Connect instead). Passwords are argon2id
-- hashes; a user is disabled, never deleted, so the audit log's user ids always resolve.
CREATE TABLE staff_users (
    user_id       text        PRIMARY KEY,                           -- stable, never reused
    username      text        NOT NULL UNIQUE,
    display_name  text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('implementing_entity', 'county_department', 'city_bureau')),
    county        text,                                              -- county_department: required
    center_ids    text[]      NOT NULL DEFAULT '{}',                 -- implementing_entity: its center(s)
    email         text,
    password_hash text,                                              -- NULL: signs in through OIDC only
    demo          boolean     NOT NULL DEFAULT false,                -- seeded by `make run`
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    CHECK (role <> 'county_department' OR county IS NOT NULL)
);

-- Personal access tokens for the CLI (CENTERS_PORTAL_URL) and one-time invitations to set a
-- password (a registered center's contacts): only a SHA-256 of the token is kept.
CREATE TABLE staff_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES staff_users (user_id),
    purpose      text        NOT NULL DEFAULT 'api' CHECK (purpose IN ('api', 'invite')),
    label        text        NOT NULL,
    token_hash   text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX staff_tokens_user ON staff_tokens (user_id);
