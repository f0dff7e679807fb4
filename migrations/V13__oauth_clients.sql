-- Machine access, part three: OAuth clients. One table for every kind of client, so that web,
-- single-page and native applications (authorization code with PKCE) join it later as rows of
-- another `kind` with their redirect URIs, not as a new table. Today every client is `m2m`
-- (client credentials). A client belongs to an organization (its tokens carry `org_id`) or,
-- when `org_id` is NULL, to the platform (the product's own back end; platform admins manage
-- those). Its `id` is the client_id.
CREATE TABLE oauth_clients (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL DEFAULT 'm2m' CHECK (kind IN ('m2m', 'web', 'spa', 'native')),
    org_id          uuid REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- How the client proves itself at the token endpoint (RFC 7591's names).
    auth_method     text NOT NULL
        CHECK (auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt')),
    -- private_key_jwt's registered public keys (a JWK Set); NULL for the secret methods.
    jwks            jsonb CHECK ((auth_method = 'private_key_jwt') = (jwks IS NOT NULL)),
    -- The permissions (scopes) the client may ask for.
    permissions     text[] NOT NULL,
    token_ttl_secs  integer NOT NULL CHECK (token_ttl_secs BETWEEN 60 AND 86400),
    grant_types     text[] NOT NULL DEFAULT '{client_credentials}',
    -- For the kinds to come; empty for m2m.
    redirect_uris             text[] NOT NULL DEFAULT '{}',
    post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz
);
-- An org's clients a page at a time; the platform's (org_id NULL) likewise.
CREATE INDEX oauth_clients_org_idx ON oauth_clients (org_id, id);

-- A client's secrets: at most two live at once (the service counts them under the owner's
-- lock), so a secret is rotated by adding the new one, deploying it, then removing the old.
CREATE TABLE oauth_client_secrets (
    id           uuid PRIMARY KEY,
    client_id    uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    secret_hash  bytea NOT NULL,
    hint         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX oauth_client_secrets_hash_key ON oauth_client_secrets (secret_hash);
CREATE INDEX oauth_client_secrets_client_idx ON oauth_client_secrets (client_id);

-- private_key_jwt assertions already used (RFC 7523 §3: a `jti` is single-use), kept until
-- they expire; the mailer prunes the rest.
CREATE TABLE client_assertions (
    client_id   uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    jti         text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertions_expires_idx ON client_assertions (expires_at);

-- A client acts too: the audit log names it, and it answers for the invitations it sends.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_type_check
    CHECK (actor_type IN ('user', 'api_key', 'client'));
ALTER TABLE invitations ADD COLUMN invited_by_client uuid REFERENCES oauth_clients (id) ON DELETE SET NULL;
