-- Data for scripts/bench (identity-bench run fills :'hash'; psql -v hash=... would too): 1,000 users in 100 orgs of 100 members each
-- (10,000 memberships, every user in 10 orgs), plus for the growth test an org of 1,000 members
-- ("mid") and one of 100,000 ("big"), drawn from 100,000 more users. User n's id ends in n's
-- hex digits, org k's likewise; user 1 owns org 1, "mid" and "big". Every password is the same
-- (:'hash', made at the production cost).
-- A bulk load: migrate's statement timeout is for the API's statements, and granting 111,000
-- roles makes V6's trigger recount 111,000 memberships in one statement.
SET statement_timeout = 0;
BEGIN;
INSERT INTO users (id, email, email_verified_at, password_hash, name)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'user' || n || '@bench.example', now(),
       :'hash', 'User ' || n
FROM generate_series(1, 101000) AS n;

INSERT INTO organizations (id, name, slug, created_by)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(k), 12, '0'))::uuid,
       CASE k WHEN 101 THEN 'Mid' WHEN 102 THEN 'Big' ELSE 'Org ' || k END,
       CASE k WHEN 101 THEN 'mid' WHEN 102 THEN 'big' ELSE 'org-' || k END,
       '00000000-0000-4000-8000-000000000001'::uuid
FROM generate_series(1, 102) AS k;

CREATE TEMP TABLE seed_members (org_n int, user_n int, owner boolean) ON COMMIT DROP;
INSERT INTO seed_members
SELECT k, ((k - 1) * 10 + j) % 1000 + 1, j = 0 FROM generate_series(1, 100) AS k, generate_series(0, 99) AS j;
INSERT INTO seed_members SELECT 101, 1, true UNION ALL SELECT 101, n, false FROM generate_series(1001, 1999) AS n;
INSERT INTO seed_members SELECT 102, 1, true UNION ALL SELECT 102, n, false FROM generate_series(1001, 100999) AS n;

INSERT INTO memberships (org_id, user_id, joined_at)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(org_n), 12, '0'))::uuid,
       ('00000000-0000-4000-8000-' || lpad(to_hex(user_n), 12, '0'))::uuid,
       now() - interval '1 day' + user_n * interval '1 ms'
FROM seed_members;

INSERT INTO member_roles (org_id, user_id, role_id)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(org_n), 12, '0'))::uuid,
       ('00000000-0000-4000-8000-' || lpad(to_hex(user_n), 12, '0'))::uuid,
       (SELECT id FROM roles WHERE org_id IS NULL AND name = CASE WHEN owner THEN 'owner' ELSE 'member' END)
FROM seed_members;
COMMIT;
-- Settle before measuring: statistics and the visibility map now, and the seed's writes
-- flushed, so no autovacuum or checkpoint lands in the middle of a measurement.
VACUUM ANALYZE;
CHECKPOINT;
