-- Single sign-on per organization: an organization connects its own OpenID Provider (Okta,
-- Entra ID, Google Workspace); people at its verified domains sign in there.

-- A connection: what the organization's IT admin entered, and what the provider's discovery
-- document said when it was fetched (checked: its issuer is the one entered).
CREATE TABLE sso_connections (
    id                      uuid PRIMARY KEY,
    org_id                  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    type                    text NOT NULL DEFAULT 'oidc' CHECK (type = 'oidc'),
    name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    issuer                  text NOT NULL CHECK (length(issuer) <= 2048),
    client_id               text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 512),
    -- Sealed like TOTP secrets (the sealer's key id travels inside).
    client_secret_sealed    bytea NOT NULL,
    scopes                  text[] NOT NULL,
    authorization_endpoint  text NOT NULL,
    token_endpoint          text NOT NULL,
    jwks_uri                text NOT NULL,
    -- The provider's advertised ID token algorithms and token endpoint client auth methods.
    id_token_algs           text[] NOT NULL,
    token_auth_methods      text[] NOT NULL,
    -- The provider's keys as last fetched: a callback refetches them once on an unknown kid.
    jwks                    jsonb,
    jwks_fetched_at         timestamptz,
    -- Password sign-in is refused at the organization's domains.
    sso_required            boolean NOT NULL DEFAULT false,
    -- The provider makes everyone prove a second factor: its sign-in counts as MFA.
    idp_enforces_mfa        boolean NOT NULL DEFAULT false,
    status                  text NOT NULL DEFAULT 'inactive' CHECK (status IN ('active', 'inactive')),
    created_by              uuid,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sso_connections_org_idx ON sso_connections (org_id, id);
-- One active connection per organization: a second activation meets this index.
CREATE UNIQUE INDEX sso_connections_one_active_idx ON sso_connections (org_id) WHERE status = 'active';

-- Who a provider says someone is: (connection, sub), never the email.
CREATE TABLE user_identities (
    connection_id  uuid NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    subject        text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The email the provider sent when the link was made (it is never read back as identity).
    email          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, subject)
);
CREATE INDEX user_identities_user_idx ON user_identities (user_id);

-- A sign-in sent to a provider, waiting for its callback: the `state` (hashed) names it, and it
-- is taken once. The nonce and PKCE verifier are ours. Ten minutes at most.
CREATE TABLE sso_sign_ins (
    state_hash      bytea PRIMARY KEY,
    connection_id   uuid NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    -- The authorization request it signs in for; none for an admin's test of the connection.
    request_id      uuid REFERENCES authorization_requests (id) ON DELETE CASCADE,
    purpose         text NOT NULL CHECK (purpose IN ('sign_in', 'test')),
    -- A hash of the secret in the browser's `identity_sso` cookie (SameSite=Lax, so it comes
    -- back with the provider's redirect). A test signs no one in and has none.
    browser_binding bytea,
    nonce           text NOT NULL,
    code_verifier   text NOT NULL,
    -- The address typed at the hosted sign-in, if any (a hint sent to the provider).
    login_hint      text,
    created_by      uuid,
    expires_at      timestamptz NOT NULL,
    CHECK ((purpose = 'sign_in') = (request_id IS NOT NULL)),
    CHECK ((purpose = 'sign_in') = (browser_binding IS NOT NULL))
);
CREATE INDEX sso_sign_ins_expires_idx ON sso_sign_ins (expires_at);

-- A provider's sign-in waiting for the account's own second factor.
ALTER TABLE mfa_challenges DROP CONSTRAINT mfa_challenges_purpose_check;
ALTER TABLE mfa_challenges
    ADD CONSTRAINT mfa_challenges_purpose_check CHECK (purpose IN ('login', 'invitation', 'sso_login'));

-- Managing an organization's connections is its own permission, held by owners and admins.
INSERT INTO role_permissions (role_id, permission) VALUES
    ('00000000-0000-7000-8000-000000000001', 'sso:manage'),
    ('00000000-0000-7000-8000-000000000002', 'sso:manage');
