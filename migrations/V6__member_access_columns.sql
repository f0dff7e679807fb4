-- What a membership grants, kept on the membership (issue 17). Every org request checks the
-- caller's roles and permissions; aggregating member_roles, roles and role_permissions for it
-- made the check 1.6 times as costly as reading one row (pgbench, prepared, 2 clients: 18,400
-- against 29,600 a second; GET /me's statement 37,000). The triggers below keep the two
-- columns equal to that aggregate on every change, in the changing transaction, so readers
-- read one row. A role edit rewrites the rows of the members who hold the role.

ALTER TABLE memberships
    ADD COLUMN roles        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN permissions  text[] NOT NULL DEFAULT '{}';

-- Recounts the roles (names in byte order, whatever the database's locale, as the API sorts
-- them) and permissions (sorted, distinct) of the memberships
-- (orgs[i], users[i]). The rows are locked first, in key order, in a statement of their own:
-- a concurrent change to one of them has then committed before the recount's snapshot is
-- taken, so the recount sees it (an UPDATE alone would wait for the row but count from the
-- snapshot it took before waiting, and lose that change). NO KEY UPDATE, as the UPDATE
-- itself takes: it does not wait for the key-share locks of inserts into member_roles.
CREATE FUNCTION refresh_member_access(orgs uuid[], users uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM memberships m
     WHERE (m.org_id, m.user_id) IN (SELECT * FROM unnest(orgs, users))
     ORDER BY m.org_id, m.user_id
       FOR NO KEY UPDATE;
    UPDATE memberships m
       SET roles = COALESCE((SELECT array_agg(r.name ORDER BY r.name COLLATE "C")
                               FROM member_roles mr JOIN roles r ON r.id = mr.role_id
                              WHERE mr.org_id = m.org_id AND mr.user_id = m.user_id), '{}'),
           permissions = COALESCE((SELECT array_agg(DISTINCT rp.permission ORDER BY rp.permission)
                                     FROM member_roles mr JOIN role_permissions rp ON rp.role_id = mr.role_id
                                    WHERE mr.org_id = m.org_id AND mr.user_id = m.user_id), '{}')
     WHERE (m.org_id, m.user_id) IN (SELECT * FROM unnest(orgs, users));
END $$;

-- Roles granted or taken away: the memberships in the statement's rows.
CREATE FUNCTION member_roles_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_member_access(array_agg(org_id), array_agg(user_id))
       FROM (SELECT DISTINCT org_id, user_id FROM changed) c;
    RETURN NULL;
END $$;

-- Recounts every membership holding one of the roles.
CREATE FUNCTION refresh_role_holders(role_ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_member_access(array_agg(org_id), array_agg(user_id))
       FROM (SELECT DISTINCT mr.org_id, mr.user_id FROM member_roles mr WHERE mr.role_id = ANY (role_ids)) c;
END $$;

-- A role's permissions changed.
CREATE FUNCTION role_permissions_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_role_holders(ARRAY(SELECT DISTINCT role_id FROM changed));
    RETURN NULL;
END $$;

-- A role renamed (a description edit changes nothing here).
CREATE FUNCTION roles_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_role_holders(ARRAY(SELECT n.id FROM changed n JOIN before b ON b.id = n.id
                                        WHERE n.name IS DISTINCT FROM b.name));
    RETURN NULL;
END $$;

-- One trigger per event: a trigger with transition tables may have only one.
CREATE TRIGGER member_roles_inserted AFTER INSERT ON member_roles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION member_roles_changed();
CREATE TRIGGER member_roles_deleted AFTER DELETE ON member_roles
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION member_roles_changed();
-- Nothing updates member_roles today; should anything, the rows before and after both count.
CREATE TRIGGER member_roles_updated_from AFTER UPDATE ON member_roles
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION member_roles_changed();
CREATE TRIGGER member_roles_updated_to AFTER UPDATE ON member_roles
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION member_roles_changed();
CREATE TRIGGER role_permissions_inserted AFTER INSERT ON role_permissions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION role_permissions_changed();
CREATE TRIGGER role_permissions_deleted AFTER DELETE ON role_permissions
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION role_permissions_changed();
CREATE TRIGGER roles_updated AFTER UPDATE ON roles
    REFERENCING OLD TABLE AS before NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION roles_renamed();

SELECT refresh_member_access(array_agg(org_id), array_agg(user_id)) FROM memberships;

-- The view keeps its columns; it reads them from the row now.
CREATE OR REPLACE VIEW member_access AS
SELECT m.org_id, m.user_id, m.joined_at, m.roles, m.permissions FROM memberships m;
