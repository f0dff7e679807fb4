-- The OpenID Provider: applications (web, spa, native) on the client table, a browser session
-- at the provider, pending sign-ins and single-use authorization codes.

-- Applications are platform clients of kind web (confidential: a secret or private_key_jwt)
-- or spa / native (public: `none`, PKCE only).
ALTER TABLE oauth_clients DROP CONSTRAINT oauth_clients_auth_method_check;
ALTER TABLE oauth_clients
    ADD CONSTRAINT oauth_clients_auth_method_check
        CHECK (auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    ADD CONSTRAINT oauth_clients_public_kinds CHECK ((auth_method = 'none') = (kind IN ('spa', 'native'))),
    ADD CONSTRAINT oauth_clients_apps_are_the_platforms CHECK (kind = 'm2m' OR org_id IS NULL),
    -- The OpenID scopes an application may ask for (openid profile email offline_access).
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{}',
    -- Whether the hosted sign-in offers sign-up.
    ADD COLUMN allow_sign_up boolean NOT NULL DEFAULT false,
    -- Whether a user must have verified their email before the application gets tokens.
    ADD COLUMN require_verified_email boolean NOT NULL DEFAULT false;

-- An organization's logo, on its invitation and its members' sign-in (an https image).
ALTER TABLE organizations ADD COLUMN logo_url text CHECK (length(logo_url) <= 2000);

-- A browser's session at the provider (the cookie holds the token whose hash is here): lets a
-- second application sign in without a password until it ends. It lives only while the
-- account is active and keeps the stamp it was opened under: a credential change ends it.
CREATE TABLE browser_sessions (
    id              uuid PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    security_stamp  uuid NOT NULL,
    amr             text[] NOT NULL,
    auth_time       timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    user_agent      text CHECK (length(user_agent) <= 512),
    ip              inet
);
CREATE INDEX browser_sessions_user_idx ON browser_sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX browser_sessions_expires_idx ON browser_sessions (expires_at);

-- Sessions an application opened with a code name it and the browser session they came from
-- (signing out there ends them too).
ALTER TABLE sessions DROP CONSTRAINT sessions_method_check;
ALTER TABLE sessions
    ADD CONSTRAINT sessions_method_check CHECK (method IN ('password', 'invitation', 'authorization_code')),
    ADD COLUMN client_id uuid REFERENCES oauth_clients (id) ON DELETE CASCADE,
    ADD COLUMN browser_session_id uuid REFERENCES browser_sessions (id) ON DELETE SET NULL,
    -- What the application was granted, and when the user proved who they are.
    ADD COLUMN scopes text[],
    ADD COLUMN auth_time timestamptz,
    ADD CONSTRAINT sessions_app_columns CHECK ((client_id IS NULL) = (scopes IS NULL AND auth_time IS NULL));
CREATE INDEX sessions_browser_idx ON sessions (browser_session_id) WHERE browser_session_id IS NOT NULL;

-- An authorization request between /oauth2/authorize and its code: what the application
-- asked for, checked once, while the hosted pages sign the user in (ten minutes at most).
CREATE TABLE authorization_requests (
    id              uuid PRIMARY KEY,
    client_id       uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    redirect_uri    text NOT NULL,
    scopes          text[] NOT NULL,
    state           text,
    nonce           text,
    code_challenge  text NOT NULL,
    -- An organization's id, or 'select' to let the user pick.
    organization    text,
    login_hint      text,
    max_age         integer,
    -- prompt=login: a sign-in older than the request does not count.
    fresh_login     boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX authorization_requests_expires_idx ON authorization_requests (expires_at);

-- A code: single-use, 60 seconds, bound to its client, redirect URI and PKCE challenge. Spent
-- codes stay until they expire, naming the session they opened, so that a replay ends it.
CREATE TABLE authorization_codes (
    code_hash           bytea PRIMARY KEY,
    client_id           uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    browser_session_id  uuid NOT NULL REFERENCES browser_sessions (id) ON DELETE CASCADE,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri        text NOT NULL,
    code_challenge      text NOT NULL,
    scopes              text[] NOT NULL,
    nonce               text,
    org_id              uuid REFERENCES organizations (id) ON DELETE CASCADE,
    expires_at          timestamptz NOT NULL,
    spent_at            timestamptz,
    session_id          uuid REFERENCES sessions (id) ON DELETE SET NULL
);
CREATE INDEX authorization_codes_expires_idx ON authorization_codes (expires_at);
