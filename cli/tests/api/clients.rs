//! OAuth clients: registered by an organization or the platform, authenticating at the token
//! endpoint with a secret (two at most, rotated without downtime) or a signed assertion
//! (RFC 7523, single-use), their tokens acting until the client is deleted, and introspection
//! (RFC 7662) for the platform's own clients.

use axum::http::Method;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use identity_shared::auth::jwk::{self, PublicKey, SigningAlg};
use identity_testkit::TestApp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::oauth::{claims, form};
use crate::{PASSWORD, app, app_with, create_org};

/// An org with an owner: (owner's token, org).
async fn org(app: &TestApp) -> (String, Uuid) {
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(app, &owner, "Acme").await;
    (owner, org)
}

/// Registers a client of `org` as `token`; the answer's JSON.
async fn register(app: &TestApp, token: &str, org: Uuid, body: Value) -> Value {
    let res = app.call(Method::POST, &format!("/orgs/{org}/clients"), Some(body), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    res.json
}

/// A token for the client with this id and secret (client_secret_basic); the answer.
async fn grant(app: &TestApp, id: &str, secret: &str) -> identity_testkit::client::TestResponse {
    form(app, "/oauth2/token", "grant_type=client_credentials", Some((id, secret))).await
}

#[tokio::test]
async fn an_org_client_gets_tokens_that_act_with_its_permissions_until_it_is_deleted() {
    let app = app().await;
    let (owner, org) = org(&app).await;
    let made = register(
        &app,
        &owner,
        org,
        json!({"name": "billing", "permissions": ["org:read", "members:read", "roles:read", "invitations:create"],
               "access_token_ttl_seconds": 300}),
    )
    .await;
    let id = made["client_id"].as_str().unwrap();
    let secret = made["client_secret"].as_str().unwrap();
    assert!(secret.starts_with("idn_cs_"), "{secret}");
    assert_eq!(made["kind"], "m2m");
    assert_eq!(made["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(made["secrets"].as_array().unwrap().len(), 1);
    // Reads never show a secret again.
    let read = app.get(&format!("/orgs/{org}/clients/{id}"), Some(&owner)).await;
    assert_eq!(read.status, 200);
    assert!(!read.json.to_string().contains(secret));
    assert!(read.json.get("client_secret").is_none());
    let list = app.get(&format!("/orgs/{org}/clients"), Some(&owner)).await;
    assert_eq!(list.json["items"][0]["client_id"], id);
    assert!(!list.json.to_string().contains(secret));

    let res = grant(&app, id, secret).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["expires_in"], 300);
    let token = res.json["access_token"].as_str().unwrap().to_owned();
    let c = claims(&token);
    assert_eq!((c["sub"].as_str(), c["client_id"].as_str()), (Some(id), Some(id)));
    assert_eq!(c["org_id"], org.to_string());
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 300);
    // It acts with its permissions, and no further.
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&token)).await.status, 200);
    app.get(&format!("/orgs/{org}/audit-log"), Some(&token)).await.assert_problem(403);
    let other = create_org(&app, &owner, "Other").await;
    app.get(&format!("/orgs/{other}"), Some(&token)).await.assert_problem(404);
    app.get("/me", Some(&token)).await.assert_problem(401);
    // The audit log names the client as the actor of what its token does.
    let invited = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/invitations"),
            Some(json!({"email": "new@example.com", "roles": ["member"]})),
            Some(&token),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.json);
    let log = app.get(&format!("/orgs/{org}/audit-log"), Some(&owner)).await;
    let entry = log.json["items"].as_array().unwrap().iter().find(|e| e["action"] == "invitation.created").unwrap();
    assert_eq!((entry["actor_type"].as_str(), entry["actor_id"].as_str()), (Some("client"), Some(id)));
    // Deleted: its secret fails at once, its token on its next request.
    let deleted = app.call(Method::DELETE, &format!("/orgs/{org}/clients/{id}"), None, Some(&owner)).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(grant(&app, id, secret).await.json["error"], "invalid_client");
    app.get(&format!("/orgs/{org}"), Some(&token)).await.assert_problem(401);
}

#[tokio::test]
async fn a_client_authenticates_only_by_the_method_it_registered() {
    let app = app().await;
    let (owner, org) = org(&app).await;
    let basic = register(&app, &owner, org, json!({"name": "b", "permissions": ["org:read"]})).await;
    let post = register(
        &app,
        &owner,
        org,
        json!({"name": "p", "permissions": ["org:read"], "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    let (bid, bsecret) = (basic["client_id"].as_str().unwrap(), basic["client_secret"].as_str().unwrap());
    let (pid, psecret) = (post["client_id"].as_str().unwrap(), post["client_secret"].as_str().unwrap());
    let body = format!("grant_type=client_credentials&client_id={bid}&client_secret={bsecret}");
    let wrong = form(&app, "/oauth2/token", &body, None).await;
    assert_eq!((wrong.status.as_u16(), wrong.json["error"].as_str()), (401, Some("invalid_client")));
    assert!(wrong.json["error_description"].as_str().unwrap().contains("client_secret_basic"));
    let body = format!("grant_type=client_credentials&client_id={pid}&client_secret={psecret}");
    assert_eq!(form(&app, "/oauth2/token", &body, None).await.status, 200);
    let wrong = grant(&app, pid, psecret).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.header("www-authenticate"), Some("Basic realm=\"identity-api\""));
    // One secret cannot serve as another client's.
    assert_eq!(grant(&app, pid, bsecret).await.json["error"], "invalid_client");
}

#[tokio::test]
async fn secrets_rotate_without_downtime_two_at_most_and_never_the_last_removed() {
    let app = app().await;
    let (owner, org) = org(&app).await;
    let made = register(&app, &owner, org, json!({"name": "r", "permissions": ["org:read"]})).await;
    let id = made["client_id"].as_str().unwrap();
    let old = made["client_secret"].as_str().unwrap();
    let old_id = made["secrets"][0]["id"].as_str().unwrap();
    let secrets = format!("/orgs/{org}/clients/{id}/secrets");
    let only = app.call(Method::DELETE, &format!("{secrets}/{old_id}"), None, Some(&owner)).await;
    only.assert_problem(409);
    // Two adds at once beside one secret: the client's lock lets exactly one through.
    let (a, b) = tokio::join!(
        app.call(Method::POST, &secrets, None, Some(&owner)),
        app.call(Method::POST, &secrets, None, Some(&owner))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} {}", a.json, b.json);
    let added = if a.status == 201 { a } else { b };
    assert_eq!(added.header("cache-control"), Some("no-store"));
    let new = added.json["client_secret"].as_str().unwrap();
    // Both work while the new one is deployed.
    assert_eq!(grant(&app, id, old).await.status, 200);
    assert_eq!(grant(&app, id, new).await.status, 200);
    app.call(Method::POST, &secrets, None, Some(&owner)).await.assert_problem(409);
    let removed = app.call(Method::DELETE, &format!("{secrets}/{old_id}"), None, Some(&owner)).await;
    assert_eq!(removed.status, 204);
    assert_eq!(grant(&app, id, old).await.json["error"], "invalid_client");
    assert_eq!(grant(&app, id, new).await.status, 200);
    let log = app.get(&format!("/orgs/{org}/audit-log"), Some(&owner)).await;
    let actions: Vec<&str> =
        log.json["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["client.created", "client.secret_added", "client.secret_removed"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(!log.json.to_string().contains(new) && !log.json.to_string().contains(old));
}

#[tokio::test]
async fn registration_is_checked_and_never_grants_more_than_the_registrar_holds() {
    let app = app().await;
    let (owner, org) = org(&app).await;
    let path = format!("/orgs/{org}/clients");
    let bad = [
        (json!({"name": "w", "permissions": [], "kind": "spa"}), "kind"),
        (json!({"name": "w", "permissions": ["nope"]}), "permissions[0]"),
        (json!({"name": "w", "permissions": [], "access_token_ttl_seconds": 5}), "access_token_ttl_seconds"),
        (json!({"name": "w", "permissions": [], "token_endpoint_auth_method": "none"}), "token_endpoint_auth_method"),
        (json!({"name": "w", "permissions": [], "token_endpoint_auth_method": "private_key_jwt"}), "jwks"),
        (json!({"name": "w", "permissions": [], "jwks": {"keys": []}}), "jwks"),
        (
            json!({"name": "w", "permissions": [], "token_endpoint_auth_method": "private_key_jwt",
                   "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
            "jwks",
        ),
        (json!({"name": "", "permissions": []}), "name"),
    ];
    for (body, field) in bad {
        let res = app.call(Method::POST, &path, Some(body.clone()), Some(&owner)).await;
        let problem = res.assert_problem(422);
        assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{body}: {problem}");
    }
    // A member who may manage machines but not read members cannot make a client that does.
    let (admin_token, _) = app.signed_in("ops@example.com", PASSWORD).await;
    let ops = crate::user_id(&app, &admin_token);
    let role = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/roles"),
            Some(json!({"name": "machines", "permissions": ["api_keys:manage", "org:read"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(role.status, 201, "{}", role.json);
    app.add_member(org, ops, &["machines"]).await;
    let wider = json!({"name": "x", "permissions": ["members:read"]});
    app.call(Method::POST, &path, Some(wider), Some(&admin_token)).await.assert_problem(403);
    let (stranger, _) = app.signed_in("stranger@example.com", PASSWORD).await;
    app.call(Method::POST, &path, Some(json!({"name": "x", "permissions": []})), Some(&stranger))
        .await
        .assert_problem(404);
    assert_eq!(app.sql("SELECT 1 FROM oauth_clients").await.len(), 0, "nothing was half-written");
}

/// A P-256 key pair: (signing key, its public JWK with a kid).
fn es256_key() -> (EncodingKey, Value) {
    let (pkcs8, public) = jwk::generate(SigningAlg::ES256);
    let key = EncodingKey::from_ec_der(&STANDARD.decode(pkcs8).unwrap());
    let jwk = serde_json::to_value(PublicKey::parse(&public).unwrap().jwk()).unwrap();
    (key, jwk)
}

/// An assertion for `client` signed with `key`, with these claims over the defaults.
fn assertion(key: &EncodingKey, kid: &str, client: &str, aud: &str, extra: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"iss": client, "sub": client, "aud": aud, "iat": now, "exp": now + 60,
                            "jti": Uuid::now_v7().to_string()});
    claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn assertion_form(assertion: &str) -> String {
    format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
    )
}

#[tokio::test]
async fn a_signed_assertion_is_a_credential_once() {
    let app = app().await;
    let (owner, org) = org(&app).await;
    let (key, public) = es256_key();
    let kid = public["kid"].as_str().unwrap().to_owned();
    let made = register(
        &app,
        &owner,
        org,
        json!({"name": "signer", "permissions": ["org:read"], "token_endpoint_auth_method": "private_key_jwt",
               "jwks": {"keys": [public]}}),
    )
    .await;
    assert!(made.get("client_secret").is_none(), "{made}");
    let id = made["client_id"].as_str().unwrap();
    let issuer = app.state.config().jwt_issuer.clone();
    let endpoint = format!("{issuer}/oauth2/token");
    let signed = assertion(&key, &kid, id, &endpoint, json!({}));
    let res = form(&app, "/oauth2/token", &assertion_form(&signed), None).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(claims(res.json["access_token"].as_str().unwrap())["client_id"], id);
    // The issuer itself is an audience too (what openid-client sends).
    let to_issuer = assertion(&key, &kid, id, &issuer, json!({}));
    assert_eq!(form(&app, "/oauth2/token", &assertion_form(&to_issuer), None).await.status, 200);
    // Replayed, even at once and in parallel: refused.
    let replay = form(&app, "/oauth2/token", &assertion_form(&signed), None).await;
    assert_eq!((replay.status.as_u16(), replay.json["error"].as_str()), (401, Some("invalid_client")));
    let fresh = assertion(&key, &kid, id, &endpoint, json!({}));
    let body = assertion_form(&fresh);
    let (a, b) = tokio::join!(form(&app, "/oauth2/token", &body, None), form(&app, "/oauth2/token", &body, None));
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 401], "one use of one assertion");
    // Wrong audience, expired, too long-lived, another's key, a secret instead: refused.
    let (stranger_key, _) = es256_key();
    let now = chrono::Utc::now().timestamp();
    for refused in [
        assertion(&key, &kid, id, "https://elsewhere.example", json!({})),
        assertion(&key, &kid, id, &endpoint, json!({"exp": now - 120, "iat": now - 300})),
        assertion(&key, &kid, id, &endpoint, json!({"exp": now + 7200})),
        assertion(&stranger_key, &kid, id, &endpoint, json!({})),
        assertion(&key, &kid, id, &endpoint, json!({"sub": Uuid::now_v7().to_string()})),
    ] {
        let res = form(&app, "/oauth2/token", &assertion_form(&refused), None).await;
        assert_eq!((res.status.as_u16(), res.json["error"].as_str()), (401, Some("invalid_client")), "{}", res.json);
    }
    // HS256 keyed with the public key's bytes: refused.
    let hmac_key = EncodingKey::from_secret(public.to_string().as_bytes());
    let now = chrono::Utc::now().timestamp();
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"iss": id, "sub": id, "aud": endpoint, "exp": now + 60, "jti": "x"}),
        &hmac_key,
    )
    .unwrap();
    assert_eq!(form(&app, "/oauth2/token", &assertion_form(&forged), None).await.status, 401);
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(json!({"iss": id, "sub": id, "aud": endpoint, "exp": now + 60, "jti": "y"}).to_string())
    );
    assert_eq!(form(&app, "/oauth2/token", &assertion_form(&unsigned), None).await.status, 401);
    // A signing client has no secrets to add.
    let add = app.call(Method::POST, &format!("/orgs/{org}/clients/{id}/secrets"), None, Some(&owner)).await;
    add.assert_problem(409);
}

#[tokio::test]
async fn introspection_answers_the_platforms_clients_for_every_kind_of_bearer() {
    let app = app().await;
    let admin = crate::platform_admin(&app).await;
    let res = app
        .call(Method::POST, "/oauth2/clients", Some(json!({"name": "backend", "permissions": []})), Some(&admin))
        .await;
    assert_eq!(res.status, 201, "{}", res.json);
    assert_eq!(res.json["org_id"], Value::Null);
    let (pid, psecret) = (res.json["client_id"].as_str().unwrap(), res.json["client_secret"].as_str().unwrap());
    let introspect = |token: String| {
        let app = &app;
        async move { form(app, "/oauth2/introspect", &format!("token={token}"), Some((pid, psecret))).await }
    };
    let (owner, org) = org(&app).await;
    let made = register(&app, &owner, org, json!({"name": "c", "permissions": ["org:read"]})).await;
    let (cid, csecret) = (made["client_id"].as_str().unwrap(), made["client_secret"].as_str().unwrap());
    let token = grant(&app, cid, csecret).await.json["access_token"].as_str().unwrap().to_owned();
    let answer = introspect(token.clone()).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.json["active"], true);
    assert_eq!((answer.json["client_id"].as_str(), answer.json["scope"].as_str()), (Some(cid), Some("org:read")));
    assert_eq!(answer.json["org_id"], org.to_string());
    assert_eq!(answer.json["subject_type"], "client");
    // A user's token and an API key are answered too.
    let user = introspect(owner.clone()).await;
    assert_eq!(
        (user.json["active"].as_bool(), user.json["username"].as_str()),
        (Some(true), Some("owner@example.com"))
    );
    let key = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "k", "permissions": ["org:read"]})),
            Some(&owner),
        )
        .await;
    let key_value = key.json["value"].as_str().unwrap().to_owned();
    assert_eq!(introspect(key_value.clone()).await.json["subject_type"], "api_key");
    // Revoked, garbage, a secret: inactive, and nothing more said.
    let revoked = form(&app, "/oauth2/revoke", &format!("token={token}"), Some((cid, csecret))).await;
    assert_eq!(revoked.status, 200);
    for dead in [token, "garbage".to_owned(), csecret.to_owned()] {
        assert_eq!(introspect(dead).await.json, json!({"active": false}));
    }
    // An org's client (or a key) may not introspect.
    let refused = form(&app, "/oauth2/introspect", &format!("token={key_value}"), Some((cid, csecret))).await;
    assert_eq!((refused.status.as_u16(), refused.json["error"].as_str()), (403, Some("access_denied")));
    // A platform client's token acts in no organization.
    let platform_token = grant(&app, pid, psecret).await.json["access_token"].as_str().unwrap().to_owned();
    assert!(claims(&platform_token).get("org_id").is_none_or(Value::is_null));
    app.get(&format!("/orgs/{org}"), Some(&platform_token)).await.assert_problem(404);
    // Only platform admins manage platform clients.
    app.get("/oauth2/clients", Some(&owner)).await.assert_problem(403);
    assert_eq!(app.get("/oauth2/clients", Some(&admin)).await.json["items"][0]["client_id"], pid);
}

#[tokio::test]
async fn token_requests_and_token_use_are_limited_per_client() {
    let app =
        app_with(&[("QUOTA_CLIENT_TOKEN_REQUESTS_PER_MINUTE", "2"), ("QUOTA_CLIENT_REQUESTS_PER_MINUTE", "2")]).await;
    let (owner, org) = org(&app).await;
    let made = register(&app, &owner, org, json!({"name": "c", "permissions": ["org:read"]})).await;
    let (id, secret) = (made["client_id"].as_str().unwrap(), made["client_secret"].as_str().unwrap());
    let token = grant(&app, id, secret).await.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(grant(&app, id, secret).await.status, 200);
    let third = grant(&app, id, secret).await;
    assert_eq!((third.status.as_u16(), third.json["error"].as_str()), (429, Some("temporarily_unavailable")));
    assert!(third.header("retry-after").is_some());
    // A wrong secret is not counted toward the limit, nor does the limit answer it.
    let wrong = identity_shared::auth::machine_secret::generate(
        identity_shared::auth::machine_secret::SecretKind::ClientSecret,
    );
    assert_eq!(grant(&app, id, &wrong).await.status, 401);
    for _ in 0..2 {
        assert_eq!(app.get(&format!("/orgs/{org}"), Some(&token)).await.status, 200);
    }
    let over = app.get(&format!("/orgs/{org}"), Some(&token)).await;
    over.assert_problem(429);
    assert!(over.header("retry-after").is_some());
}

#[tokio::test]
async fn the_mailers_schedule_forgets_expired_revocations_and_assertions_only() {
    let app = app().await;
    let (owner, org) = org(&app).await;
    let (_, public) = es256_key();
    let made = register(
        &app,
        &owner,
        org,
        json!({"name": "s", "permissions": [], "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [public]}}),
    )
    .await;
    let id = made["client_id"].as_str().unwrap();
    app.sql(&format!(
        "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES
           ('{id}', 'old', now() - interval '1 minute'), ('{id}', 'live', now() + interval '1 minute')"
    ))
    .await;
    app.sql(
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES
           (gen_random_uuid(), now() - interval '1 minute'), (gen_random_uuid(), now() + interval '1 minute')",
    )
    .await;
    let db = identity_shared::db::client(app.state.pool()).await.unwrap();
    assert_eq!(identity_shared::services::oauth::prune(&db).await.unwrap(), 2);
    let left = app.sql("SELECT (SELECT count(*) FROM client_assertions) + (SELECT count(*) FROM revoked_tokens)").await;
    assert_eq!(left[0].get::<_, i64>(0), 2, "what can still matter stays");
}
