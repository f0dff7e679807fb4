-- Webhook endpoints: an organization's (its events only) or, org_id NULL, the platform's
-- (every event). An empty type list means every type, including types added later.
CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    org_id          uuid REFERENCES organizations (id) ON DELETE CASCADE,
    url             text NOT NULL,
    description     text NOT NULL DEFAULT '',
    event_types     text[] NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    -- Why it is disabled: 'manual', 'gone' (the receiver answered 410) or 'failing' (five days
    -- without a delivered attempt).
    disabled_reason text CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
    -- When the run of failed attempts that has not ended since began.
    failing_since   timestamptz,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (enabled = (disabled_reason IS NULL))
);
CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints (org_id, id DESC);

-- Signing secrets, sealed as TOTP secrets are (AES-256-GCM bound to the row's id). One current
-- (expires_at NULL); a rotation gives the old one an end, and until then both sign.
CREATE TABLE webhook_secrets (
    id          uuid PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    sealed      bytea NOT NULL,
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_secrets_endpoint_idx ON webhook_secrets (endpoint_id);

-- Time-ordered ids (UUIDv7) for rows PostgreSQL writes itself: the deliveries an event fans out to.
CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
        FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

-- The outbox: one row per event and endpoint, written in the transaction that writes the event
-- (see the audit log's statements), and gone with the event when events are pruned (30 days). A sender claims due rows with SKIP LOCKED and leases them by
-- moving next_attempt_at past its timeout, so a sender that dies mid-send leaves the row to be
-- sent again once the lease ends.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT uuid_v7(),
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    last_attempt_at  timestamptz,
    last_http_status integer,
    last_error       text,
    last_duration_ms integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- Managing an organization's webhook endpoints is its own permission, held by owners and admins.
INSERT INTO role_permissions (role_id, permission) VALUES
    ('00000000-0000-7000-8000-000000000001', 'webhooks:manage'),
    ('00000000-0000-7000-8000-000000000002', 'webhooks:manage');

-- A user event carries the account's email; deleting the account takes it out of the events,
-- found by this index rather than by reading 30 days of them.
CREATE INDEX events_email_idx ON events ((data ->> 'email')) WHERE data ? 'email';
