-- Machine access, part one: an organization's API keys. A key is a caller on its
-- organization's routes with the permissions it was given (never more than its creator held
-- then). Only the SHA-256 of its value is kept, with a hint a list can show (the kind and
-- four random characters). Rotation makes a new key and keeps the old one working until
-- `expires_at`, the overlap its rotator chose; `replaced_by` says which key took its place.
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    permissions   text[] NOT NULL,
    secret_hash   bytea NOT NULL,
    hint          text NOT NULL,
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    replaced_by   uuid REFERENCES api_keys (id) ON DELETE SET NULL
);
-- A presented key is found by its hash alone (the per-request check).
CREATE UNIQUE INDEX api_keys_secret_hash_key ON api_keys (secret_hash);
-- An org's keys, newest first, a page at a time.
CREATE INDEX api_keys_org_idx ON api_keys (org_id, id);

-- Who acted: a user (actor_id is the user's id) or an API key (actor_id is the key's id).
ALTER TABLE audit_log ADD COLUMN actor_type text NOT NULL DEFAULT 'user'
    CHECK (actor_type IN ('user', 'api_key'));

-- An invitation an API key sent: the key answers for it at accept, as a member inviter does.
ALTER TABLE invitations ADD COLUMN invited_by_key uuid REFERENCES api_keys (id) ON DELETE SET NULL;

-- Managing API keys is its own permission, held by owners and admins. Adding it recounts the
-- permissions of every membership holding those roles (the V6 triggers).
INSERT INTO role_permissions (role_id, permission) VALUES
    ('00000000-0000-7000-8000-000000000001', 'api_keys:manage'),
    ('00000000-0000-7000-8000-000000000002', 'api_keys:manage');
