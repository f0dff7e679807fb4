-- Issue 20: TOTP factors, recovery codes, the sign-in step between password and code, and
-- an org policy requiring a second factor.

-- A TOTP authenticator. Its secret is sealed (AES-256-GCM, key from the environment, the
-- factor's id as associated data), never stored in the clear. `last_used_step` is the RFC
-- 6238 time step of the last code accepted: a code is accepted once (no replay).
CREATE TABLE mfa_factors (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind             text NOT NULL DEFAULT 'totp' CHECK (kind IN ('totp')),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active')),
    secret_sealed    bytea NOT NULL,
    last_used_step   bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    activated_at     timestamptz,
    last_used_at     timestamptz,
    CHECK ((status = 'active') = (activated_at IS NOT NULL))
);
-- One authenticator of each kind at a time; pending ones are replaced by a new enrolment.
CREATE UNIQUE INDEX mfa_factors_one_active_idx ON mfa_factors (user_id, kind) WHERE status = 'active';
CREATE INDEX mfa_factors_user_idx ON mfa_factors (user_id);

-- Single-use recovery codes, SHA-256 of the normalised code (each holds 50 random bits).
CREATE TABLE mfa_recovery_codes (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   bytea NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, code_hash)
);

-- A sign-in that proved the password and waits for the second factor: the mfa_token's hash,
-- bound to its user and to what the sign-in asked (an org scope, or an invitation to accept).
CREATE TABLE mfa_challenges (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    purpose     text NOT NULL CHECK (purpose IN ('login', 'invitation')),
    org_id      uuid,
    attempts    integer NOT NULL DEFAULT 0,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);

-- Members of an org that requires MFA reach its routes, and get its org-scoped tokens, only
-- from a session that proved a second factor.
ALTER TABLE organizations ADD COLUMN require_mfa boolean NOT NULL DEFAULT false;
