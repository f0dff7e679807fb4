-- Events: every change the audit log records also writes an event, in the same statement and
-- so the same transaction (a rolled-back change leaves none). A reader of the feed must never
-- skip one that commits late, so an event records the id of the transaction that wrote it,
-- and the feed serves, in (transaction, sequence) order, only events whose transaction is
-- older than every transaction still running (the snapshot's xmin): any event not yet visible
-- belongs to a transaction at or past that horizon, so it sorts after everything served.
CREATE TABLE events (
    id          text PRIMARY KEY,
    seq         bigint NOT NULL,
    xact_id     xid8 NOT NULL,
    type        text NOT NULL,
    org_id      uuid,
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'm2m_client', 'system')),
    actor_id    uuid,
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE events_seq AS bigint;
-- The transaction id is taken before the sequence number, in this order, by the trigger.
CREATE FUNCTION events_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.xact_id := pg_current_xact_id();
    NEW.seq := nextval('events_seq');
    RETURN NEW;
END $$;
CREATE TRIGGER events_stamp BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_stamp();
-- The feed's order, for one organization and for the platform.
CREATE INDEX events_org_position_idx ON events (org_id, xact_id, seq);
CREATE INDEX events_position_idx ON events (xact_id, seq);
-- Kept 30 days: the mailer's schedule prunes by age.
CREATE INDEX events_created_idx ON events (created_at);

-- Reading an organization's events is its own permission, held by owners and admins.
INSERT INTO role_permissions (role_id, permission) VALUES
    ('00000000-0000-7000-8000-000000000001', 'events:read'),
    ('00000000-0000-7000-8000-000000000002', 'events:read');
