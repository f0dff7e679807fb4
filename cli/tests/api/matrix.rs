//! Cross-tenant matrix: every org route and method, and every user route that names another
//! user's account or session, called as owner, admin and member of org A, owner of org B, with
//! no token, with a garbage token, with API keys of org A (reading only) and org B (every
//! permission), and with tokens of M2M clients of org A and org B holding the same permissions
//! as those keys (they must answer as the keys do). Each cell runs on a world of its own, so a
//! cell that succeeds cannot change what the next one sees.

use axum::http::Method;
use identity_testkit::TestApp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, app, create_org, user_id};

/// Who calls.
#[derive(Clone, Copy, Debug)]
enum As {
    OwnerA,
    AdminA,
    MemberA,
    OwnerB,
    NoToken,
    Garbage,
    KeyA,
    KeyB,
    ClientTokenA,
    ClientTokenB,
}

const CALLERS: [As; 10] = [
    As::OwnerA,
    As::AdminA,
    As::MemberA,
    As::OwnerB,
    As::NoToken,
    As::Garbage,
    As::KeyA,
    As::KeyB,
    As::ClientTokenA,
    As::ClientTokenB,
];

/// What org A's key may do: read, like a member, but not the audit log.
const KEY_A_PERMISSIONS: [&str; 3] = ["org:read", "members:read", "roles:read"];

struct World {
    app: TestApp,
    org_a: Uuid,
    org_b: Uuid,
    victim: Uuid,
    victim_session: Uuid,
    victim_token: String,
    owner_b: Uuid,
    tokens: [String; 4],
    /// Org A's and org B's keys: (id, value).
    keys: [(String, String); 2],
    /// Org A's and org B's clients: (client_id, its secret's id, a token it got).
    clients: [(String, String, String); 2],
    /// Org A's and org B's webhook endpoints: (id, the id of a failed delivery to it).
    webhooks: [(String, String); 2],
    /// Org A's and org B's pending domain claims.
    domains: [String; 2],
    /// Org A's and org B's SSO connections.
    connections: [Uuid; 2],
}

async fn world() -> World {
    world_where_a_requires_mfa(false).await
}

/// The world; with `mfa`, org A requires a second factor, which its owner and admin have
/// enrolled from the sessions they call with, and its member and the victim have not.
async fn world_where_a_requires_mfa(mfa: bool) -> World {
    let app = app().await;
    let (owner_a, _) = app.signed_in("owner-a@example.com", PASSWORD).await;
    let (admin_a, _) = app.signed_in("admin-a@example.com", PASSWORD).await;
    let (member_a, _) = app.signed_in("member-a@example.com", PASSWORD).await;
    let (owner_b, _) = app.signed_in("owner-b@example.com", PASSWORD).await;
    let (victim_token, _) = app.signed_in("victim-a@example.com", PASSWORD).await;
    let victim_claims = app.state.jwt().verify(&victim_token).unwrap();
    let victim = victim_claims.sub;
    let org_a = create_org(&app, &owner_a, "Org A").await;
    let org_b = create_org(&app, &owner_b, "Org B").await;
    app.add_member(org_a, user_id(&app, &admin_a), &["admin"]).await;
    app.add_member(org_a, user_id(&app, &member_a), &["member"]).await;
    app.add_member(org_a, victim, &["member"]).await;
    let role = app
        .call(
            Method::POST,
            &format!("/orgs/{org_a}/roles"),
            Some(json!({"name": "support", "permissions": ["members:read"]})),
            Some(&owner_a),
        )
        .await;
    assert_eq!(role.status, 201, "{}", role.json);
    if mfa {
        app.enrol_totp(&owner_a, PASSWORD).await;
        app.enrol_totp(&admin_a, PASSWORD).await;
        let on = app
            .call(Method::PATCH, &format!("/orgs/{org_a}"), Some(json!({"require_mfa": true})), Some(&owner_a))
            .await;
        assert_eq!(on.status, 200, "{}", on.json);
    }
    let owner_b_id = user_id(&app, &owner_b);
    let key = |org: Uuid, token: String, permissions: Vec<&'static str>| {
        let app = &app;
        async move {
            let body = json!({"name": "matrix", "permissions": permissions});
            let res = app.call(Method::POST, &format!("/orgs/{org}/api-keys"), Some(body), Some(&token)).await;
            assert_eq!(res.status, 201, "{}", res.json);
            (res.json["id"].as_str().unwrap().to_owned(), res.json["value"].as_str().unwrap().to_owned())
        }
    };
    let all: Vec<&str> = identity_shared::models::Permission::ALL.iter().map(|p| p.as_str()).collect();
    let keys =
        [key(org_a, owner_a.clone(), KEY_A_PERMISSIONS.to_vec()).await, key(org_b, owner_b.clone(), all.clone()).await];
    let client = |org: Uuid, token: String, permissions: Vec<&'static str>| {
        let app = &app;
        async move {
            let body = json!({"name": "matrix", "permissions": permissions});
            let res = app.call(Method::POST, &format!("/orgs/{org}/clients"), Some(body), Some(&token)).await;
            assert_eq!(res.status, 201, "{}", res.json);
            let (id, secret) = (res.json["client_id"].as_str().unwrap(), res.json["client_secret"].as_str().unwrap());
            let granted =
                crate::oauth::form(app, "/oauth2/token", "grant_type=client_credentials", Some((id, secret))).await;
            assert_eq!(granted.status, 200, "{}", granted.json);
            let token = granted.json["access_token"].as_str().unwrap().to_owned();
            (id.to_owned(), res.json["secrets"][0]["id"].as_str().unwrap().to_owned(), token)
        }
    };
    let clients =
        [client(org_a, owner_a.clone(), KEY_A_PERMISSIONS.to_vec()).await, client(org_b, owner_b.clone(), all).await];
    let webhook = |org: Uuid, token: String| {
        let app = &app;
        async move {
            let body = json!({"url": "https://hooks.example.com/matrix"});
            let res = app.call(Method::POST, &format!("/orgs/{org}/webhooks"), Some(body), Some(&token)).await;
            assert_eq!(res.status, 201, "{}", res.json);
            let id = res.json["id"].as_str().unwrap().to_owned();
            let test = app.call(Method::POST, &format!("/orgs/{org}/webhooks/{id}/test"), None, Some(&token)).await;
            assert_eq!(test.status, 202, "{}", test.json);
            (id, test.json["id"].as_str().unwrap().to_owned())
        }
    };
    let webhooks = [webhook(org_a, owner_a.clone()).await, webhook(org_b, owner_b.clone()).await];
    let domain = |org: Uuid, token: String, name: &'static str| {
        let app = &app;
        async move {
            let body = json!({"domain": name});
            let res = app.call(Method::POST, &format!("/orgs/{org}/domains"), Some(body), Some(&token)).await;
            assert_eq!(res.status, 201, "{}", res.json);
            res.json["id"].as_str().unwrap().to_owned()
        }
    };
    let domains = [
        domain(org_a, owner_a.clone(), "org-a.example.com").await,
        domain(org_b, owner_b.clone(), "org-b.example.com").await,
    ];
    // An SSO connection of each (written directly: its provider is asked only when one is
    // created, and the matrix reaches no provider).
    let connection = |org: Uuid| {
        let app = &app;
        async move {
            let id = Uuid::now_v7();
            app.sql(&format!(
                "INSERT INTO sso_connections (id, org_id, name, issuer, client_id, client_secret_sealed, scopes,
                     authorization_endpoint, token_endpoint, jwks_uri, id_token_algs, token_auth_methods)
                 VALUES ('{id}', '{org}', 'Okta', 'https://org.okta.com', 'app', '\\x00', ARRAY['openid'],
                     'https://org.okta.com/authorize', 'https://org.okta.com/token', 'https://org.okta.com/keys',
                     ARRAY['RS256'], ARRAY['client_secret_basic'])"
            ))
            .await;
            id
        }
    };
    let connections = [connection(org_a).await, connection(org_b).await];
    // Finished deliveries, so that one can be retried.
    app.sql("UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL").await;
    World {
        app,
        org_a,
        org_b,
        victim,
        victim_session: victim_claims.sid,
        victim_token,
        owner_b: owner_b_id,
        tokens: [owner_a, admin_a, member_a, owner_b],
        keys,
        clients,
        webhooks,
        domains,
        connections,
    }
}

impl World {
    fn token(&self, who: As) -> Option<String> {
        match who {
            As::OwnerA => Some(self.tokens[0].clone()),
            As::AdminA => Some(self.tokens[1].clone()),
            As::MemberA => Some(self.tokens[2].clone()),
            As::OwnerB => Some(self.tokens[3].clone()),
            As::NoToken => None,
            As::Garbage => Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".into()),
            As::KeyA => Some(self.keys[0].1.clone()),
            As::KeyB => Some(self.keys[1].1.clone()),
            As::ClientTokenA => Some(self.clients[0].2.clone()),
            As::ClientTokenB => Some(self.clients[1].2.clone()),
        }
    }

    fn path(&self, template: &str) -> String {
        template
            .replace("{A}", &self.org_a.to_string())
            .replace("{B}", &self.org_b.to_string())
            .replace("{victimSession}", &self.victim_session.to_string())
            .replace("{victim}", &self.victim.to_string())
            .replace("{ownerB}", &self.owner_b.to_string())
            .replace("{random}", &Uuid::now_v7().to_string())
            .replace("{keyA}", &self.keys[0].0)
            .replace("{keyB}", &self.keys[1].0)
            .replace("{clientA}", &self.clients[0].0)
            .replace("{clientB}", &self.clients[1].0)
            .replace("{secretA}", &self.clients[0].1)
            .replace("{webhookA}", &self.webhooks[0].0)
            .replace("{webhookB}", &self.webhooks[1].0)
            .replace("{deliveryA}", &self.webhooks[0].1)
            .replace("{deliveryB}", &self.webhooks[1].1)
            .replace("{domainA}", &self.domains[0])
            .replace("{domainB}", &self.domains[1])
            .replace("{ssoA}", &self.connections[0].to_string())
            .replace("{ssoB}", &self.connections[1].to_string())
    }
}

/// (method, path, body, statuses for OwnerA, AdminA, MemberA, OwnerB, NoToken, Garbage, KeyA, KeyB);
/// the client tokens of A and B answer as the keys of A and B do.
fn table() -> Vec<(Method, &'static str, Option<Value>, [u16; 8])> {
    let get = Method::GET;
    vec![
        (get.clone(), "/orgs/{A}", None, [200, 200, 200, 404, 401, 401, 200, 404]),
        (Method::PATCH, "/orgs/{A}", Some(json!({"name": "Renamed"})), [200, 200, 403, 404, 401, 401, 403, 404]),
        (Method::DELETE, "/orgs/{A}", None, [204, 403, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{A}/members", None, [200, 200, 200, 404, 401, 401, 200, 404]),
        (get.clone(), "/orgs/{A}/members/{victim}", None, [200, 200, 200, 404, 401, 401, 200, 404]),
        (Method::DELETE, "/orgs/{A}/members/{victim}", None, [204, 204, 403, 404, 401, 401, 403, 404]),
        (
            Method::PUT,
            "/orgs/{A}/members/{victim}/roles",
            Some(json!({"roles": ["admin"]})),
            [200, 200, 403, 404, 401, 401, 403, 404],
        ),
        (get.clone(), "/orgs/{A}/roles", None, [200, 200, 200, 404, 401, 401, 200, 404]),
        (
            Method::POST,
            "/orgs/{A}/roles",
            Some(json!({"name": "auditor", "permissions": ["audit:read"]})),
            [201, 201, 403, 404, 401, 401, 403, 404],
        ),
        (
            Method::PATCH,
            "/orgs/{A}/roles/support",
            Some(json!({"description": "Helps"})),
            [200, 200, 403, 404, 401, 401, 403, 404],
        ),
        (Method::DELETE, "/orgs/{A}/roles/support", None, [204, 204, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{A}/audit-log", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        // API keys: managed by owners and admins; A's reading key manages none, B's reaches none of A's.
        (get.clone(), "/orgs/{A}/api-keys", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (
            Method::POST,
            "/orgs/{A}/api-keys",
            Some(json!({"name": "n", "permissions": ["org:read"]})),
            [201, 201, 403, 404, 401, 401, 403, 404],
        ),
        (get.clone(), "/orgs/{A}/api-keys/{keyA}", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (
            Method::PATCH,
            "/orgs/{A}/api-keys/{keyA}",
            Some(json!({"name": "renamed"})),
            [200, 200, 403, 404, 401, 401, 403, 404],
        ),
        (Method::POST, "/orgs/{A}/api-keys/{keyA}/rotate", None, [201, 201, 403, 404, 401, 401, 403, 404]),
        (Method::DELETE, "/orgs/{A}/api-keys/{keyA}", None, [204, 204, 403, 404, 401, 401, 403, 404]),
        // B's key through A's path, and A's key through B's: no such key, whoever asks.
        (get.clone(), "/orgs/{A}/api-keys/{keyB}", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (Method::DELETE, "/orgs/{A}/api-keys/{keyB}", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{B}/api-keys/{keyA}", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        // M2M clients: managing them is api_keys:manage, as keys are.
        (get.clone(), "/orgs/{A}/clients", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (
            Method::POST,
            "/orgs/{A}/clients",
            Some(json!({"name": "x", "permissions": ["org:read"]})),
            [201, 201, 403, 404, 401, 401, 403, 404],
        ),
        (get.clone(), "/orgs/{A}/clients/{clientA}", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (
            Method::PATCH,
            "/orgs/{A}/clients/{clientA}",
            Some(json!({"name": "renamed"})),
            [200, 200, 403, 404, 401, 401, 403, 404],
        ),
        (Method::POST, "/orgs/{A}/clients/{clientA}/secrets", None, [201, 201, 403, 404, 401, 401, 403, 404]),
        (
            Method::DELETE,
            "/orgs/{A}/clients/{clientA}/secrets/{secretA}",
            None,
            [409, 409, 403, 404, 401, 401, 403, 404],
        ),
        (Method::DELETE, "/orgs/{A}/clients/{clientA}", None, [204, 204, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{A}/clients/{clientB}", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (Method::DELETE, "/orgs/{A}/clients/{clientB}", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{B}/clients/{clientA}", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        // Webhook endpoints: webhooks:manage (owners and admins); the platform's are admins'.
        (get.clone(), "/orgs/{A}/webhooks", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (
            Method::POST,
            "/orgs/{A}/webhooks",
            Some(json!({"url": "https://hooks.example.com/new"})),
            [201, 201, 403, 404, 401, 401, 403, 404],
        ),
        (get.clone(), "/orgs/{A}/webhooks/{webhookA}", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (
            Method::PATCH,
            "/orgs/{A}/webhooks/{webhookA}",
            Some(json!({"description": "renamed"})),
            [200, 200, 403, 404, 401, 401, 403, 404],
        ),
        (Method::POST, "/orgs/{A}/webhooks/{webhookA}/rotate-secret", None, [201, 201, 403, 404, 401, 401, 403, 404]),
        (Method::POST, "/orgs/{A}/webhooks/{webhookA}/test", None, [202, 202, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{A}/webhooks/{webhookA}/deliveries", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (
            Method::POST,
            "/orgs/{A}/webhooks/{webhookA}/deliveries/{deliveryA}/retry",
            None,
            [202, 202, 403, 404, 401, 401, 403, 404],
        ),
        (Method::DELETE, "/orgs/{A}/webhooks/{webhookA}", None, [204, 204, 403, 404, 401, 401, 403, 404]),
        // B's endpoint or delivery through A's path, and A's through B's: no such thing.
        (get.clone(), "/orgs/{A}/webhooks/{webhookB}", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (Method::POST, "/orgs/{A}/webhooks/{webhookB}/test", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{A}/webhooks/{webhookB}/deliveries", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (
            Method::POST,
            "/orgs/{A}/webhooks/{webhookA}/deliveries/{deliveryB}/retry",
            None,
            [404, 404, 403, 404, 401, 401, 403, 404],
        ),
        (get.clone(), "/orgs/{B}/webhooks/{webhookA}", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        (Method::DELETE, "/orgs/{B}/webhooks/{webhookA}", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        (get.clone(), "/webhooks", None, [403, 403, 403, 403, 401, 401, 401, 401]),
        (get.clone(), "/webhooks/{webhookA}", None, [403, 403, 403, 403, 401, 401, 401, 401]),
        // Domains: read with org:read, managed with domains:manage (owners and admins).
        (get.clone(), "/orgs/{A}/domains", None, [200, 200, 200, 404, 401, 401, 200, 404]),
        (
            Method::POST,
            "/orgs/{A}/domains",
            Some(json!({"domain": "new.example.com"})),
            [201, 201, 403, 404, 401, 401, 403, 404],
        ),
        (get.clone(), "/orgs/{A}/domains/{domainA}", None, [200, 200, 200, 404, 401, 401, 200, 404]),
        (
            Method::PATCH,
            "/orgs/{A}/domains/{domainA}",
            Some(json!({"enrollment_mode": "auto_join"})),
            [200, 200, 403, 404, 401, 401, 403, 404],
        ),
        (Method::POST, "/orgs/{A}/domains/{domainA}/verify", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (Method::DELETE, "/orgs/{A}/domains/{domainA}", None, [204, 204, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{A}/domains/{domainB}", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        (Method::POST, "/orgs/{A}/domains/{domainB}/verify", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (Method::DELETE, "/orgs/{A}/domains/{domainB}", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{B}/domains/{domainA}", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        // SSO connections: sso:manage (owners and admins) for every route, reads too. A new
        // connection's issuer resolves nowhere here: 422 once the caller may create one.
        (get.clone(), "/orgs/{A}/sso/connections", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (
            Method::POST,
            "/orgs/{A}/sso/connections",
            Some(json!({"issuer": "https://idp.example.com", "client_id": "app", "client_secret": "s"})),
            [422, 422, 403, 404, 401, 401, 403, 404],
        ),
        (get.clone(), "/orgs/{A}/sso/connections/{ssoA}", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (
            Method::PATCH,
            "/orgs/{A}/sso/connections/{ssoA}",
            Some(json!({"name": "Okta EU"})),
            [200, 200, 403, 404, 401, 401, 403, 404],
        ),
        (Method::POST, "/orgs/{A}/sso/connections/{ssoA}/test", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (Method::DELETE, "/orgs/{A}/sso/connections/{ssoA}", None, [204, 204, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{A}/sso/connections/{ssoB}", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (Method::DELETE, "/orgs/{A}/sso/connections/{ssoB}", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (Method::POST, "/orgs/{A}/sso/connections/{ssoB}/test", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{B}/sso/connections/{ssoA}", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        // The events feed: events:read (owners and admins); the platform's feed is admins'.
        (get.clone(), "/orgs/{A}/events", None, [200, 200, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{B}/events", None, [404, 404, 404, 200, 401, 401, 404, 200]),
        // Keys and org clients' tokens are valid credentials of an organization, not the platform's.
        (get.clone(), "/events", None, [403, 403, 403, 403, 401, 401, 403, 403]),
        // The platform's clients are platform admins' alone.
        (get.clone(), "/oauth2/clients", None, [403, 403, 403, 403, 401, 401, 401, 401]),
        (get.clone(), "/oauth2/clients/{clientA}", None, [403, 403, 403, 403, 401, 401, 401, 401]),
        // Objects of B reached through A's path, and orgs that do not exist.
        (get.clone(), "/orgs/{A}/members/{ownerB}", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        (Method::DELETE, "/orgs/{A}/members/{ownerB}", None, [404, 404, 403, 404, 401, 401, 403, 404]),
        (get.clone(), "/orgs/{random}", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        (get.clone(), "/orgs/not-a-uuid/members", None, [404, 404, 404, 404, 401, 401, 404, 404]),
        (Method::PATCH, "/orgs/{B}", Some(json!({"name": "Hijacked"})), [404, 404, 404, 200, 401, 401, 404, 200]),
        (Method::DELETE, "/orgs/{B}", None, [404, 404, 404, 204, 401, 401, 404, 204]),
        (get.clone(), "/orgs/{B}/audit-log", None, [404, 404, 404, 200, 401, 401, 404, 200]),
        // Member limits are the platform's to set: no org role reaches them, and the answer is
        // the same for a member's org and another's, so it tells nothing.
        (Method::PUT, "/orgs/{A}/limits", Some(json!({"max_members": 10})), [403, 403, 403, 403, 401, 401, 401, 401]),
        (Method::PUT, "/orgs/{B}/limits", Some(json!({"max_members": 10})), [403, 403, 403, 403, 401, 401, 401, 401]),
        // Another user's session is no session of the caller's: 404, whoever asks.
        (Method::DELETE, "/me/sessions/{victimSession}", None, [404, 404, 404, 404, 401, 401, 401, 401]),
        (Method::DELETE, "/me/sessions/{random}", None, [404, 404, 404, 404, 401, 401, 401, 401]),
        // Other users' accounts and sessions: platform admins only.
        (get.clone(), "/users/{victim}/sessions", None, [403, 403, 403, 403, 401, 401, 401, 401]),
        (Method::DELETE, "/users/{victim}/sessions/{victimSession}", None, [403, 403, 403, 403, 401, 401, 401, 401]),
        (Method::DELETE, "/users/{victim}", None, [403, 403, 403, 403, 401, 401, 401, 401]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_org_route_answers_each_caller_correctly() {
    let cells = run_matrix(false, table()).await;
    identity_testkit::figure(format!(
        "{cells} cross-tenant cells (each org route and other-user route x owner, admin and member of org A, owner of org B, no token, a garbage token, an API key of A and one of B, an M2M client token of A and one of B), 0 leaks, 0 wrong answers"
    ));
}

/// The same table where org A requires MFA: its enrolled owner and admin answer as before, its
/// member without a factor gets the `mfa-required` 403 on every route of A (before any object
/// lookup), and strangers still get A's 404: the policy leaks nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_org_a_requiring_mfa_only_its_unenrolled_member_changes_answer() {
    let rows = table()
        .into_iter()
        .map(|(method, template, body, mut expected)| {
            if template.starts_with("/orgs/{A}") && !template.ends_with("/limits") {
                expected[2] = 403;
            }
            (method, template, body, expected)
        })
        .collect();
    let cells = run_matrix(true, rows).await;
    identity_testkit::figure(format!("{cells} cross-tenant cells with org A requiring MFA, 0 leaks, 0 wrong answers"));
}

async fn run_matrix(mfa: bool, rows: Vec<(Method, &'static str, Option<Value>, [u16; 8])>) -> usize {
    let mut tasks = vec![];
    // A dozen rows at a time: each cell's world holds connections, and the server's limit is
    // shared with every other test running.
    let rows_at_once = std::sync::Arc::new(tokio::sync::Semaphore::new(12));
    for (row, (method, template, body, expected)) in rows.into_iter().enumerate() {
        let rows_at_once = rows_at_once.clone();
        tasks.push(tokio::spawn(async move {
            let _turn = rows_at_once.acquire_owned().await.unwrap();
            let mut failures = vec![];
            let expected: Vec<u16> = expected.iter().chain(&expected[6..8]).copied().collect();
            for (who, want) in CALLERS.into_iter().zip(expected) {
                let world = world_where_a_requires_mfa(mfa).await;
                let path = world.path(template);
                let res = world.app.call(method.clone(), &path, body.clone(), world.token(who).as_deref()).await;
                if res.status.as_u16() != want {
                    failures.push(format!(
                        "row {row}: {method} {template} as {who:?}: want {want}, got {} {}",
                        res.status, res.json
                    ));
                } else if want >= 400 {
                    res.assert_problem(want);
                }
                let mfa_cell = mfa && matches!(who, As::MemberA) && template.starts_with("/orgs/{A}") && want == 403;
                let typed_mfa = res.json["type"] == "urn:identity-api:problem:mfa-required";
                if mfa_cell != typed_mfa && !template.ends_with("/limits") {
                    failures
                        .push(format!("row {row}: {method} {template} as {who:?}: problem type {}", res.json["type"]));
                }
                // No cell signs the victim out: their account and session outlive every refusal.
                let victim = world.app.get("/me", Some(&world.victim_token)).await;
                if victim.status != 200 {
                    failures.push(format!("row {row}: {method} {template} as {who:?} ended the victim's session"));
                }
            }
            failures
        }));
    }
    let mut failures = vec![];
    let mut cells = 0;
    for task in tasks {
        failures.extend(task.await.unwrap());
        cells += CALLERS.len();
    }
    assert!(failures.is_empty(), "{} of {cells} cells wrong:\n{}", failures.len(), failures.join("\n"));
    cells
}

#[tokio::test]
async fn a_404_for_a_non_member_reads_the_same_as_for_no_org() {
    let world = world().await;
    let owner_b = world.token(As::OwnerB);
    let real = world.app.get(&world.path("/orgs/{A}"), owner_b.as_deref()).await;
    let missing = world.app.get(&world.path("/orgs/{random}"), owner_b.as_deref()).await;
    assert_eq!(real.status, 404);
    assert_eq!(real.body, missing.body);
}

#[tokio::test]
async fn lists_show_only_the_callers_organizations() {
    let world = world().await;
    for (who, expected) in [(As::OwnerA, vec!["Org A"]), (As::MemberA, vec!["Org A"]), (As::OwnerB, vec!["Org B"])] {
        for path in ["/orgs", "/me/organizations"] {
            let res = world.app.get(path, world.token(who).as_deref()).await;
            assert_eq!(res.status, 200);
            let names: Vec<&str> =
                res.json["items"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
            assert_eq!(names, expected, "{who:?} {path}");
        }
    }
    world.app.get("/orgs", None).await.assert_problem(401);
    world.app.get("/me/organizations", Some("garbage")).await.assert_problem(401);
}
