-- Verified domains: an organization claims a domain, proves it with a TXT record, and may
-- then let people whose verified email is at that domain join (or find an invitation)
-- without being invited one by one.
CREATE TABLE org_domains (
    id                 uuid PRIMARY KEY,
    org_id             uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- Normalised: lower-case ASCII (IDNA), no trailing dot.
    domain             text NOT NULL CHECK (domain = lower(domain) AND domain NOT LIKE '%.'),
    state              text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'verified', 'failed')),
    -- Published in DNS by the claimant, so not a secret; random so that no one else's record
    -- proves this claim.
    verification_token text NOT NULL,
    enrollment_mode    text NOT NULL DEFAULT 'manual' CHECK (enrollment_mode IN ('manual', 'invitation', 'auto_join')),
    -- A pending claim's end; none once verified.
    expires_at         timestamptz,
    verified_at        timestamptz,
    last_checked_at    timestamptz,
    -- Why the last check did not verify it (shown to the claimant).
    last_error         text,
    created_by         uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'verified') = (verified_at IS NOT NULL)),
    CHECK (state <> 'pending' OR expires_at IS NOT NULL)
);
-- One claim per organization and domain.
CREATE UNIQUE INDEX org_domains_claim_idx ON org_domains (org_id, domain);
-- The first organization to prove a domain has it: a second verification meets this index.
-- Enrollment finds a verified email's domain by it too.
CREATE UNIQUE INDEX org_domains_verified_idx ON org_domains (domain) WHERE state = 'verified';
-- The scheduled re-check walks pending claims, least recently checked first.
CREATE INDEX org_domains_pending_idx ON org_domains (last_checked_at NULLS FIRST) WHERE state = 'pending';

-- An invitation a verified domain made for someone whose email is at it: no inviter, no mail;
-- it stands while the domain stays verified and offers invitations.
ALTER TABLE invitations ADD COLUMN invited_by_domain uuid REFERENCES org_domains (id) ON DELETE SET NULL;

-- Managing an organization's domains is its own permission, held by owners and admins.
INSERT INTO role_permissions (role_id, permission) VALUES
    ('00000000-0000-7000-8000-000000000001', 'domains:manage'),
    ('00000000-0000-7000-8000-000000000002', 'domains:manage');

-- Someone who left an organization, or was removed, is not brought back by its domain: found
-- by this index at their sign-in rather than by reading the organization's log.
CREATE INDEX audit_log_removals_idx ON audit_log (target_id, org_id) WHERE action = 'member.removed';
