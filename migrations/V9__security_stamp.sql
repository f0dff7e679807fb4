-- Issue 31: a credential change ends all the old credential could still do.
--
-- Each account has a security stamp, a random value replaced by every credential or status
-- change. Sessions, one-time links and waiting second-factor sign-ins record the stamp they
-- were issued under and are dead once it is not the account's any more: whatever was in
-- flight when the change committed, in whatever order, dies with it.

ALTER TABLE users ADD COLUMN security_stamp uuid NOT NULL DEFAULT gen_random_uuid();

-- The columns that are credentials or gate them: the password, the sign-in address, the
-- account's status, and the first proof of the address (whoever proves it owns the account,
-- so what was done before it is void). Replaced here so that no path can change one without
-- the other. Factor changes live in other tables: their services replace the stamp.
CREATE FUNCTION users_replace_security_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.password_hash IS DISTINCT FROM OLD.password_hash
       OR NEW.email IS DISTINCT FROM OLD.email
       OR NEW.status IS DISTINCT FROM OLD.status
       OR (OLD.email_verified_at IS NULL AND NEW.email_verified_at IS NOT NULL) THEN
        NEW.security_stamp := gen_random_uuid();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_security_stamp BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_replace_security_stamp();

-- What each artifact was issued under. Existing rows take the account's stamp as it is now.
ALTER TABLE sessions ADD COLUMN security_stamp uuid;
UPDATE sessions s SET security_stamp = u.security_stamp FROM users u WHERE u.id = s.user_id;
ALTER TABLE sessions ALTER COLUMN security_stamp SET NOT NULL;

ALTER TABLE one_time_tokens ADD COLUMN security_stamp uuid;
UPDATE one_time_tokens t SET security_stamp = u.security_stamp FROM users u WHERE u.id = t.user_id;
ALTER TABLE one_time_tokens ALTER COLUMN security_stamp SET NOT NULL;

ALTER TABLE mfa_challenges ADD COLUMN security_stamp uuid;
UPDATE mfa_challenges c SET security_stamp = u.security_stamp FROM users u WHERE u.id = c.user_id;
ALTER TABLE mfa_challenges ALTER COLUMN security_stamp SET NOT NULL;

-- An email change can be cancelled from the old address: the notice carries a second token,
-- stored as its hash beside the change's own.
ALTER TABLE one_time_tokens ADD COLUMN cancel_token_hash bytea UNIQUE,
    ADD CONSTRAINT one_time_tokens_cancel_only_for_change CHECK (cancel_token_hash IS NULL OR purpose = 'change_email');
