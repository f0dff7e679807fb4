//! OIDC discovery and the JWKS as others read them: the document's contents, the issuer API
//! Gateway's requests fill in, and two independent verifiers (PyJWT's PyJWKClient and jose)
//! fetching our keys over HTTP for each algorithm and across a change of algorithm.

use std::net::SocketAddr;
use std::path::PathBuf;

use identity_shared::auth::jwk::{self, SigningAlg};
use identity_testkit::TestApp;
use identity_testkit::client;
use serde_json::{Value, json};

use crate::events::events_dir;
use crate::{PASSWORD, app, app_with};

#[tokio::test]
async fn discovery_names_the_issuer_its_keys_and_the_standard_members() {
    let app = app().await;
    let (access, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let res = app.get("/.well-known/openid-configuration", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("cache-control"), Some("public, max-age=3600"));
    let issuer = app.state.config().jwt_issuer.clone();
    let scopes: Vec<&str> = ["openid", "profile", "email", "offline_access"]
        .into_iter()
        .chain(identity_shared::models::Permission::ALL.iter().map(|p| p.as_str()))
        .collect();
    assert_eq!(
        res.json,
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
            "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
            "end_session_endpoint": format!("{issuer}/oauth2/logout"),
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            // One EdDSA key: it signs ID tokens too (an RS256 key would, were there one).
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login"],
            "authorization_response_iss_parameter_supported": true,
            "access_token_signing_alg_values_supported": ["EdDSA"],
            "claims_supported": ["auth_time", "nonce", "azp", "email_verified", "name", "org_name", "iss", "aud", "sub", "sid", "iat", "nbf", "exp", "jti", "email", "amr", "org_id", "roles", "permissions", "client_id", "scope"],
            "login_endpoint": format!("{issuer}/auth/login"),
            "refresh_endpoint": format!("{issuer}/auth/refresh"),
            "token_endpoint": format!("{issuer}/oauth2/token"),
            "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
            "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"],
            "scopes_supported": scopes,
        })
    );
    assert_eq!(app.state.jwt().verify(&access).unwrap().iss, issuer, "the document's issuer is the tokens' iss");
}

#[tokio::test]
async fn through_api_gateway_the_issuer_is_the_stage_url_of_the_invoking_api() {
    let app = app().await;
    app.user("ada@example.com", PASSWORD).await;
    let template = "https://{api_id}.execute-api.eu-west-1.amazonaws.com/prod";
    let lambda = app.lambda(identity_cli::routes(), |c| c.jwt_issuer = template.into());
    let event = |name: &str| std::fs::read_to_string(events_dir().join(format!("{name}.json"))).unwrap();
    // The sample events come from API abc123.
    let discovery = client::invoke(&lambda, &event("auth-openid-configuration")).await;
    let issuer = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod";
    assert_eq!(discovery.json["issuer"], issuer);
    assert_eq!(discovery.json["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    let login = client::invoke(&lambda, &event("auth-login")).await;
    assert_eq!(login.status, 200, "{}", login.json);
    let token = login.json["access_token"].as_str().unwrap();
    let me = event("users-me").replace("REPLACE_WITH_ACCESS_TOKEN", token);
    assert_eq!(client::invoke(&lambda, &me).await.status, 200);
    // Another API's functions (another issuer) refuse it.
    let other = app.lambda(identity_cli::routes(), |c| c.jwt_issuer = template.into());
    let from_elsewhere = me.replace("\"apiId\": \"abc123\"", "\"apiId\": \"zzz999\"");
    assert_eq!(client::invoke(&other, &from_elsewhere).await.status, 401);
}

/// An app on a real port whose issuer is its own address, as a customer's verifier finds it.
pub(crate) async fn served(overrides: &[(&str, &str)]) -> (TestApp, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut settings = overrides.to_vec();
    settings.push(("JWT_ISSUER", &issuer));
    let app = app_with(&settings).await;
    serve(&app, listener);
    (app, issuer)
}

fn serve(app: &TestApp, listener: tokio::net::TcpListener) {
    let service = app.router.clone().into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Verifier {
    PyJwt,
    Jose,
}

/// What `verifier` makes of `token`: its verdict's JSON (alg, claims), or why it refused.
pub(crate) async fn verify(verifier: Verifier, issuer: &str, audience: &str, token: &str) -> Result<Value, String> {
    let dir = PathBuf::from(
        std::env::var("JWT_VERIFIERS")
            .expect("set JWT_VERIFIERS to the verifiers scripts/lib/verifiers.sh installs (scripts/test exports it)"),
    );
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/verifiers");
    let mut command = match verifier {
        Verifier::PyJwt => {
            let mut c = std::process::Command::new(dir.join("venv/bin/python"));
            c.arg(scripts.join("verify.py"));
            c
        }
        Verifier::Jose => {
            let mut c = std::process::Command::new("node");
            c.arg(scripts.join("verify.mjs"));
            c
        }
    };
    command.args([issuer, audience, token]);
    let output = tokio::task::spawn_blocking(move || command.output().expect("the verifier runs")).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match output.status.success() {
        true => Ok(serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{verifier:?} printed {stdout}"))),
        false => Err(format!("{stdout}{}", String::from_utf8_lossy(&output.stderr))),
    }
}

/// Both verifiers accept `token` as signed with `alg` for the user `sub`.
async fn both_accept(issuer: &str, token: &str, alg: &str, sub: uuid::Uuid) {
    for verifier in [Verifier::PyJwt, Verifier::Jose] {
        let verdict = verify(verifier, issuer, "identity-api", token).await;
        let verdict = verdict.unwrap_or_else(|e| panic!("{verifier:?} refused a {alg} token: {e}"));
        assert_eq!(verdict["alg"], alg, "{verifier:?}");
        assert_eq!(verdict["claims"]["sub"], sub.to_string(), "{verifier:?}");
        assert_eq!(verdict["claims"]["iss"], issuer, "{verifier:?}");
    }
}

/// Both verifiers refuse `token`.
async fn both_refuse(issuer: &str, audience: &str, token: &str, why: &str) {
    for verifier in [Verifier::PyJwt, Verifier::Jose] {
        let verdict = verify(verifier, issuer, audience, token).await;
        assert!(verdict.is_err(), "{verifier:?} accepted {why}: {verdict:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_verifiers_accept_our_tokens_of_each_algorithm_and_refuse_forgeries() {
    for alg in [SigningAlg::EdDSA, SigningAlg::ES256] {
        let (private, _) = jwk::generate(alg);
        let (app, issuer) = served(&[("JWT_PRIVATE_KEY", &private)]).await;
        let (access, _) = app.signed_in("ada@example.com", PASSWORD).await;
        let sub = crate::user_id(&app, &access);
        both_accept(&issuer, &access, alg.name(), sub).await;

        both_refuse(&issuer, "another-api", &access, "a token for another audience").await;
        let mut claims = app.state.jwt().verify(&access).unwrap();
        claims.email = "mallory@example.com".into();
        let parts: Vec<&str> = access.split('.').collect();
        let resigned = app.state.jwt().sign(&claims).unwrap();
        let forged = format!("{}.{}.{}", parts[0], resigned.split('.').nth(1).unwrap(), parts[2]);
        both_refuse(&issuer, "identity-api", &forged, &format!("a {alg} token with a changed payload")).await;
        let (stranger_key, _) = jwk::generate(alg);
        let stranger = app.sibling(identity_cli::routes(), &[("JWT_PRIVATE_KEY", &stranger_key)]);
        let foreign = stranger.state.jwt().sign(&claims).unwrap();
        both_refuse(&issuer, "identity-api", &foreign, "a token signed by a key not in our JWKS").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_switching_from_eddsa_to_es256_both_verifiers_accept_old_and_new_tokens() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (ed_private, ed_public) = jwk::generate(SigningAlg::EdDSA);
    let before = app_with(&[("JWT_PRIVATE_KEY", &ed_private), ("JWT_ISSUER", &issuer)]).await;
    let (old_token, _) = before.signed_in("ada@example.com", PASSWORD).await;
    let sub = crate::user_id(&before, &old_token);

    let (es_private, _) = jwk::generate(SigningAlg::ES256);
    let after = before.sibling(
        identity_cli::routes(),
        &[("JWT_PRIVATE_KEY", &es_private), ("JWT_PREVIOUS_PUBLIC_KEYS", &ed_public), ("JWT_ISSUER", &issuer)],
    );
    serve(&after, listener);
    let (new_token, _) = after.login("ada@example.com", PASSWORD).await;

    let jwks = after.get("/.well-known/jwks.json", None).await.json;
    let published: Vec<(&str, &str)> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["alg"].as_str().unwrap(), k["use"].as_str().unwrap()))
        .collect();
    assert_eq!(published, [("ES256", "sig"), ("EdDSA", "sig")]);
    let discovery = after.get("/.well-known/openid-configuration", None).await.json;
    assert_eq!(discovery["access_token_signing_alg_values_supported"], json!(["ES256", "EdDSA"]));

    both_accept(&issuer, &new_token, "ES256", sub).await;
    both_accept(&issuer, &old_token, "EdDSA", sub).await;

    // Once the EdDSA key is dropped, its tokens verify nowhere.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let later = before.sibling(identity_cli::routes(), &[("JWT_PRIVATE_KEY", &es_private), ("JWT_ISSUER", &issuer)]);
    serve(&later, listener);
    let (newest, _) = later.login("ada@example.com", PASSWORD).await;
    both_accept(&issuer, &newest, "ES256", sub).await;
    let mut old_claims = before.state.jwt().verify(&old_token).unwrap();
    old_claims.iss = issuer.clone();
    let old_key_token = before.state.jwt().sign(&old_claims).unwrap();
    both_refuse(&issuer, "identity-api", &old_key_token, "a token of the dropped EdDSA key").await;
}

/// What `library` (see scripts/lib/verifiers/client_credentials.py) made of a client-credentials
/// exchange with the key `client_id`/`secret`, then using and revoking the token on `org`.
pub(crate) async fn client_credentials(
    issuer: &str,
    client_id: &str,
    secret: &str,
    library: &str,
    org: &str,
) -> Result<Value, String> {
    let dir = PathBuf::from(
        std::env::var("JWT_VERIFIERS")
            .expect("set JWT_VERIFIERS to the clients scripts/lib/verifiers.sh installs (scripts/test exports it)"),
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/verifiers/client_credentials.py");
    let mut command = std::process::Command::new(dir.join("venv/bin/python"));
    // Both libraries refuse plain HTTP unless told: the test server is on loopback.
    command.env("OAUTHLIB_INSECURE_TRANSPORT", "1").env("AUTHLIB_INSECURE_TRANSPORT", "1");
    command.arg(script).args([issuer, client_id, secret, library, org]);
    let output = tokio::task::spawn_blocking(move || command.output().expect("the client runs")).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match output.status.success() {
        true => Ok(serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{library} printed {stdout}"))),
        false => Err(format!("{stdout}{}", String::from_utf8_lossy(&output.stderr))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_oauth_clients_get_use_and_revoke_a_key_token() {
    let (app, issuer) = served(&[]).await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = crate::create_org(&app, &owner, "Acme").await.to_string();
    let key = app
        .call(
            axum::http::Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "m2m", "permissions": ["org:read", "members:read"]})),
            Some(&owner),
        )
        .await;
    let (id, secret) = (key.json["id"].as_str().unwrap(), key.json["value"].as_str().unwrap());
    for library in ["authlib-basic", "authlib-post", "requests-oauthlib"] {
        let seen =
            client_credentials(&issuer, id, secret, library, &org).await.unwrap_or_else(|e| panic!("{library}: {e}"));
        assert_eq!(seen["token"]["token_type"], "Bearer", "{library}: {seen}");
        // requests-oauthlib hands the scope back as a list, authlib as the string we sent.
        let scope = match &seen["token"]["scope"] {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "),
            other => other.as_str().unwrap_or_default().to_owned(),
        };
        assert_eq!(scope, "org:read members:read", "{library}");
        assert_eq!(seen["typ"], "at+jwt", "{library}");
        assert_eq!(seen["claims"]["client_id"], id, "{library}");
        assert_eq!(seen["claims"]["org_id"], org, "{library}");
        assert_eq!(
            (seen["before"].as_u64(), seen["revoked"].as_u64(), seen["after"].as_u64()),
            (Some(200), Some(200), Some(401)),
            "{library}: {seen}"
        );
    }
    // A wrong secret (well formed, another key's shape): each library reports the refusal.
    let wrong = crate::api_keys_value_of_another_shape(secret);
    for library in ["authlib-basic", "authlib-post", "requests-oauthlib"] {
        let refused = client_credentials(&issuer, id, &wrong, library, &org).await.unwrap_err();
        assert!(refused.contains("invalid_client"), "{library}: {refused}");
    }
}
