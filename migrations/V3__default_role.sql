-- Each org grants a default role to invitees invited without roles (issue 12): `member` to
-- begin with, changed by whoever may manage roles. A role that is some org's default cannot
-- be deleted (the foreign key refuses; the service answers 409 first).
ALTER TABLE organizations
    ADD COLUMN default_role_id uuid NOT NULL DEFAULT '00000000-0000-7000-8000-000000000003' REFERENCES roles (id);
CREATE INDEX organizations_default_role_idx ON organizations (default_role_id);

-- Pending invitations made without roles would have created members with none.
UPDATE invitations SET role_ids = ARRAY['00000000-0000-7000-8000-000000000003'::uuid], updated_at = now()
    WHERE status = 'pending' AND role_ids = '{}';

-- Role paths take an id or a name; a name that reads as a UUID would be ambiguous.
ALTER TABLE roles ADD CONSTRAINT roles_name_not_uuid
    CHECK (name !~ '^([0-9a-f]{32}|(urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$') NOT VALID;
