-- Issue 18: sessions say how they began, org member limits, and email changes by mailed link.

-- How a session began and which factors it proved (RFC 8176 amr values). Sessions opened
-- before this migration were all password sign-ins.
ALTER TABLE sessions
    ADD COLUMN method text NOT NULL DEFAULT 'password' CHECK (method IN ('password', 'invitation')),
    ADD COLUMN amr text[] NOT NULL DEFAULT '{pwd}';
-- A user's sessions, newest first (GET /me/sessions).
CREATE INDEX sessions_user_live_idx ON sessions (user_id, id DESC) WHERE revoked_at IS NULL;
DROP INDEX sessions_user_idx;

-- Seats: NULL is no limit. Lowering it below the current count keeps everyone; only new
-- members are refused.
ALTER TABLE organizations ADD COLUMN max_members integer CHECK (max_members IS NULL OR max_members BETWEEN 1 AND 1000000);

-- An email change waits on a link mailed to the new address: the token row holds the
-- address and the session that asked (which stays signed in when the others end).
ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_purpose_check;
ALTER TABLE one_time_tokens
    ADD CONSTRAINT one_time_tokens_purpose_check CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    ADD COLUMN new_email text CHECK (length(new_email) BETWEEN 3 AND 254),
    ADD COLUMN session_id uuid REFERENCES sessions (id) ON DELETE SET NULL,
    ADD CONSTRAINT one_time_tokens_change_has_address CHECK ((purpose = 'change_email') = (new_email IS NOT NULL));

-- Erasing an account scrubs the address from the audit metadata that names it (invitation
-- rows): this index finds those rows without reading the whole log.
CREATE INDEX audit_log_email_idx ON audit_log ((metadata ->> 'email')) WHERE metadata ? 'email';
-- ... and the rows it acted in, whose client addresses go with it.
CREATE INDEX audit_log_actor_ip_idx ON audit_log (actor_id) WHERE ip IS NOT NULL;
