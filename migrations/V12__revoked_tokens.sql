-- Machine access, part two: access tokens a client revoked (RFC 7009) before they expired.
-- A machine token is checked against this list on every request; the mailer prunes a row once
-- the token it names has expired anyway.
CREATE TABLE revoked_tokens (
    jti         uuid PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);
