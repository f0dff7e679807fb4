-- What roles grant, written once (issue 16): the role-name and permission aggregations that
-- seven queries each spelled out are these views. PostgreSQL inlines a view into the query
-- that reads it, so a lookup by key still reads only that key's rows.

-- A role with its permissions; `system` roles belong to no org.
CREATE VIEW role_details AS
SELECT r.id, r.org_id, r.name, r.description, r.org_id IS NULL AS system, r.created_at, r.updated_at,
       COALESCE((SELECT array_agg(rp.permission ORDER BY rp.permission)
                 FROM role_permissions rp WHERE rp.role_id = r.id), '{}') AS permissions
FROM roles r;

-- A membership with the names of the roles held (sorted) and every permission they grant.
CREATE VIEW member_access AS
SELECT m.org_id, m.user_id, m.joined_at,
       COALESCE((SELECT array_agg(r.name ORDER BY r.name)
                 FROM member_roles mr JOIN roles r ON r.id = mr.role_id
                 WHERE mr.org_id = m.org_id AND mr.user_id = m.user_id), '{}') AS roles,
       COALESCE((SELECT array_agg(DISTINCT rp.permission ORDER BY rp.permission)
                 FROM member_roles mr JOIN role_permissions rp ON rp.role_id = mr.role_id
                 WHERE mr.org_id = m.org_id AND mr.user_id = m.user_id), '{}') AS permissions
FROM memberships m;

-- An invitation as the API shows it: the names of the roles it grants, and a pending one past
-- its expiry read as expired.
CREATE VIEW invitation_details AS
SELECT i.id, i.org_id, i.email, i.invited_by, i.expires_at, i.accepted_by, i.accepted_at, i.created_at,
       i.updated_at, i.token_hash,
       CASE WHEN i.status = 'pending' AND i.expires_at <= now() THEN 'expired' ELSE i.status END AS status,
       COALESCE((SELECT array_agg(r.name ORDER BY r.name) FROM roles r WHERE r.id = ANY (i.role_ids)), '{}') AS roles
FROM invitations i;
