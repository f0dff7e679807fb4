//! The OAuth endpoints judged by clients no one here wrote, against a server on loopback:
//! panva's openid-client (discovery, client credentials with both secret methods,
//! introspection, revocation), authlib's private_key_jwt with an ES256 key (RFC 7523), and
//! oauth4webapi's RFC 9068 `validateJwtAccessToken` over every kind of token this API issues.

use std::io::Write;
use std::path::PathBuf;

use axum::http::Method;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity_shared::auth::jwk::{self, PublicKey, SigningAlg};
use identity_shared::auth::machine_secret::{self, SecretKind};
use identity_testkit::TestApp;
use serde_json::{Value, json};

use crate::discovery::{Verifier, client_credentials, served, verify};
use crate::oauth::{claims, form};
use crate::{PASSWORD, create_org};

/// Runs a Node script of scripts/lib/verifiers with `args` and `stdin`; its JSON, or why not.
async fn node(script: &str, args: Vec<String>, stdin: String) -> Result<Value, String> {
    let dir = PathBuf::from(
        std::env::var("JWT_VERIFIERS")
            .expect("set JWT_VERIFIERS to the clients scripts/lib/verifiers.sh installs (scripts/test exports it)"),
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/verifiers").join(script);
    let output = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new("node")
            .arg(script)
            .args(args)
            .env("JWT_VERIFIERS", &dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("node runs");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match output.status.success() {
        true => serde_json::from_str(&stdout).map_err(|_| format!("printed {stdout}")),
        false => Err(format!("{stdout}{}", String::from_utf8_lossy(&output.stderr))),
    }
}

/// Registers a client of `org` (or of the platform when `org` is None) as `token`.
async fn register(app: &TestApp, token: &str, org: Option<&str>, body: Value) -> Value {
    let path = org.map_or("/oauth2/clients".to_owned(), |org| format!("/orgs/{org}/clients"));
    let res = app.call(Method::POST, &path, Some(body), Some(token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    res.json
}

fn id_and_secret(client: &Value) -> (String, String) {
    (client["client_id"].as_str().unwrap().to_owned(), client["client_secret"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_discovers_gets_introspects_and_revokes() {
    let (app, issuer) = served(&[]).await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await.to_string();
    let basic =
        register(&app, &owner, Some(&org), json!({"name": "b", "permissions": ["org:read", "members:read"]})).await;
    let post = register(
        &app,
        &owner,
        Some(&org),
        json!({"name": "p", "permissions": ["org:read"], "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    let platform =
        register(&app, &crate::platform_admin(&app).await, None, json!({"name": "backend", "permissions": []})).await;
    let ((id, secret), (post_id, post_secret), (platform_id, platform_secret)) =
        (id_and_secret(&basic), id_and_secret(&post), id_and_secret(&platform));
    let wrong = machine_secret::generate(SecretKind::ClientSecret);
    let args = vec![
        issuer.clone(),
        id.clone(),
        secret,
        post_id,
        post_secret,
        platform_id,
        platform_secret,
        org.clone(),
        wrong,
    ];
    let seen = node("openid_client.mjs", args, String::new()).await.unwrap_or_else(|e| panic!("openid-client: {e}"));
    assert_eq!(seen["endpoints"]["introspection"], format!("{issuer}/oauth2/introspect"), "{seen}");
    assert_eq!(seen["token"]["token_type"], "bearer", "{seen}");
    assert_eq!(seen["token"]["scope"], "org:read", "{seen}");
    assert_eq!(seen["posted"], "org:read", "{seen}");
    assert_eq!((seen["before"].as_u64(), seen["after"].as_u64()), (Some(200), Some(401)), "{seen}");
    assert_eq!(seen["introspection"], json!({"active": true, "client_id": id, "scope": "org:read", "org_id": org}));
    assert_eq!(seen["after_introspection"], false, "{seen}");
    assert_eq!(seen["wrong_secret"], "invalid_client", "{seen}");
}

/// A P-256 key: (PKCS#8 PEM, its public JWK).
fn es256_pem() -> (String, Value) {
    let (pkcs8, public) = jwk::generate(SigningAlg::ES256);
    let lines: Vec<String> = pkcs8.as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
    (pem, serde_json::to_value(PublicKey::parse(&public).unwrap().jwk()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_signs_its_way_in_with_an_es256_key() {
    let (app, issuer) = served(&[]).await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await.to_string();
    let (pem, public) = es256_pem();
    let signer = register(
        &app,
        &owner,
        Some(&org),
        json!({"name": "signer", "permissions": ["org:read"], "token_endpoint_auth_method": "private_key_jwt",
               "jwks": {"keys": [public]}}),
    )
    .await;
    let id = signer["client_id"].as_str().unwrap();
    let seen = client_credentials(&issuer, id, &pem, "authlib-private-key-jwt", &org)
        .await
        .unwrap_or_else(|e| panic!("authlib private_key_jwt: {e}"));
    assert_eq!(seen["typ"], "at+jwt", "{seen}");
    assert_eq!(seen["claims"]["client_id"], id, "{seen}");
    assert_eq!(
        (seen["before"].as_u64(), seen["revoked"].as_u64(), seen["after"].as_u64()),
        (Some(200), Some(200), Some(401)),
        "{seen}"
    );
    // Each request authlib made spent its own assertion.
    let spent = app.sql("SELECT count(*) FROM client_assertions").await;
    assert_eq!(spent[0].get::<_, i64>(0), 2, "one for the token, one for the revocation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth4webapi_accepts_every_kind_of_token_this_api_issues() {
    let (app, issuer) = served(&[]).await;
    let (owner, refresh) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let mut tokens = vec![("a user's access token", owner.clone())];
    let refreshed = app.post("/auth/refresh", json!({"refresh_token": refresh, "org_id": org})).await;
    tokens.push(("an org-scoped refreshed token", refreshed.json["access_token"].as_str().unwrap().to_owned()));
    let key = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "k", "permissions": ["org:read"]})),
            Some(&owner),
        )
        .await;
    let (key_id, key_value) = (key.json["id"].as_str().unwrap(), key.json["value"].as_str().unwrap());
    let grant = |id: String, secret: String| {
        let app = &app;
        async move {
            let res = form(app, "/oauth2/token", "grant_type=client_credentials", Some((&id, &secret))).await;
            assert_eq!(res.status, 200, "{}", res.json);
            res.json["access_token"].as_str().unwrap().to_owned()
        }
    };
    tokens.push(("an API key's token", grant(key_id.to_owned(), key_value.to_owned()).await));
    let org_s = org.to_string();
    let client = register(&app, &owner, Some(&org_s), json!({"name": "c", "permissions": ["org:read"]})).await;
    let (id, secret) = id_and_secret(&client);
    tokens.push(("an org client's token", grant(id, secret).await));
    let platform =
        register(&app, &crate::platform_admin(&app).await, None, json!({"name": "p", "permissions": []})).await;
    let (id, secret) = id_and_secret(&platform);
    tokens.push(("a platform client's token", grant(id, secret).await));
    let verdicts = node(
        "at_jwt.mjs",
        vec![issuer.clone(), "identity-api".into()],
        json!(tokens.iter().map(|t| &t.1).collect::<Vec<_>>()).to_string(),
    )
    .await
    .unwrap_or_else(|e| panic!("oauth4webapi: {e}"));
    for ((what, _), verdict) in tokens.iter().zip(verdicts.as_array().unwrap()) {
        assert_eq!(verdict["ok"], true, "{what}: {verdict}");
    }
    // jose and PyJWT, through the JWKS, verify the machines' tokens as they do users'.
    for (what, token) in &tokens[2..] {
        for verifier in [Verifier::Jose, Verifier::PyJwt] {
            let verdict = verify(verifier, &issuer, "identity-api", token).await;
            let verdict = verdict.unwrap_or_else(|e| panic!("{verifier:?} refused {what}: {e}"));
            assert_eq!(verdict["claims"]["client_id"], claims(token)["client_id"], "{verifier:?} {what}");
        }
    }
    // And it refuses what no key of ours signed.
    let payload = owner.split('.').nth(1).unwrap();
    let unsigned = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#));
    let jwks = app.get("/.well-known/jwks.json", None).await.json;
    let hmac = jsonwebtoken::EncodingKey::from_secret(jwks["keys"][0].to_string().as_bytes());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let forged = jsonwebtoken::encode(&header, &claims, &hmac).unwrap();
    let verdicts =
        node("at_jwt.mjs", vec![issuer, "identity-api".into()], json!([unsigned, forged]).to_string()).await.unwrap();
    assert!(verdicts.as_array().unwrap().iter().all(|v| v["ok"] == false), "{verdicts}");
}
