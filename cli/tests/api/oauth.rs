//! The token endpoint with an API key as the client (RFC 6749 §4.4), its errors in RFC 6749's
//! words, the tokens it issues acting on the key's organization until the key or the token is
//! revoked, and the metadata OAuth libraries read.

use axum::body::Body;
use axum::http::{Method, Request, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use identity_testkit::TestApp;
use identity_testkit::client::TestResponse;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{PASSWORD, app, create_org};

/// POSTs a form, with HTTP Basic credentials if given.
pub(crate) async fn form(app: &TestApp, path: &str, body: &str, basic: Option<(&str, &str)>) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        request = request.header(header::AUTHORIZATION, format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))));
    }
    app.send(request.body(Body::from(body.to_owned())).unwrap()).await
}

/// An org with an owner and a key holding `permissions`: (owner's token, org, key id, key value).
async fn keyed(app: &TestApp, permissions: &[&str]) -> (String, Uuid, String, String) {
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(app, &owner, "Acme").await;
    let key = app
        .call(
            Method::POST,
            &format!("/orgs/{org}/api-keys"),
            Some(json!({"name": "m2m", "permissions": permissions})),
            Some(&owner),
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.json);
    (owner, org, key.json["id"].as_str().unwrap().to_owned(), key.json["value"].as_str().unwrap().to_owned())
}

pub(crate) fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_key_is_a_client_credential_and_its_token_acts_with_what_it_was_granted() {
    let app = app().await;
    let (_, org, id, secret) = keyed(&app, &["org:read", "members:read"]).await;
    // client_secret_basic, all the key's permissions.
    let res = form(&app, "/oauth2/token", "grant_type=client_credentials", Some((&id, &secret))).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.json["token_type"], "Bearer");
    assert_eq!(res.json["scope"], "org:read members:read");
    assert!(res.json.get("refresh_token").is_none());
    let token = res.json["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!((c["sub"].as_str(), c["client_id"].as_str()), (Some(id.as_str()), Some(id.as_str())));
    assert_eq!(c["org_id"], org.to_string());
    assert_eq!(c["permissions"], json!(["org:read", "members:read"]));
    assert!(c.get("sid").is_none() && c.get("email").is_none());
    assert_eq!(app.get(&format!("/orgs/{org}/members"), Some(token)).await.status, 200);

    // client_secret_post with a narrower scope: the token has only that.
    let body = format!("grant_type=client_credentials&scope=org%3Aread&client_id={id}&client_secret={secret}");
    let narrow = form(&app, "/oauth2/token", &body, None).await;
    assert_eq!(narrow.status, 200, "{}", narrow.json);
    assert_eq!(narrow.json["scope"], "org:read");
    let narrow = narrow.json["access_token"].as_str().unwrap();
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(narrow)).await.status, 200);
    assert_eq!(app.get(&format!("/orgs/{org}/members"), Some(narrow)).await.status, 403);

    // A machine token reaches no account route and no other organization.
    assert_eq!(app.get("/me", Some(token)).await.status, 401);
    let (stranger, _) = app.signed_in("stranger@example.com", PASSWORD).await;
    let other = create_org(&app, &stranger, "Other").await;
    assert_eq!(app.get(&format!("/orgs/{other}"), Some(token)).await.status, 404);
}

#[tokio::test]
async fn the_token_endpoint_refuses_in_rfc_6749_words_and_never_a_5xx() {
    let app = app().await;
    let (_, _, id, secret) = keyed(&app, &["org:read"]).await;
    let cc = "grant_type=client_credentials";
    let cases: Vec<(TestResponse, u16, &str)> = vec![
        (
            form(&app, "/oauth2/token", cc, Some((&id, "idn_ak_wrongwrongwrongwrongwrongwrong000000"))).await,
            401,
            "invalid_client",
        ),
        (form(&app, "/oauth2/token", cc, Some((&Uuid::now_v7().to_string(), &secret))).await, 401, "invalid_client"),
        (form(&app, "/oauth2/token", cc, None).await, 401, "invalid_client"),
        (
            form(&app, "/oauth2/token", "grant_type=password&username=a&password=b", Some((&id, &secret))).await,
            400,
            "unsupported_grant_type",
        ),
        (form(&app, "/oauth2/token", "", Some((&id, &secret))).await, 400, "invalid_request"),
        (
            form(
                &app,
                "/oauth2/token",
                "grant_type=client_credentials&grant_type=client_credentials",
                Some((&id, &secret)),
            )
            .await,
            400,
            "invalid_request",
        ),
        (
            form(&app, "/oauth2/token", "grant_type=client_credentials&scope=members%3Aread", Some((&id, &secret)))
                .await,
            400,
            "invalid_scope",
        ),
        (
            form(&app, "/oauth2/token", "grant_type=client_credentials&scope=nonsense", Some((&id, &secret))).await,
            400,
            "invalid_scope",
        ),
        (
            form(&app, "/oauth2/token", &format!("{cc}&client_id={id}&client_secret={secret}"), Some((&id, &secret)))
                .await,
            400,
            "invalid_request",
        ),
    ];
    for (i, (res, status, error)) in cases.iter().enumerate() {
        assert_eq!(res.status, *status, "case {i}: {}", res.json);
        assert_eq!(res.json["error"], *error, "case {i}: {}", res.json);
        assert!(res.json["error_description"].is_string(), "case {i}");
        assert_eq!(res.header("content-type"), Some("application/json"), "case {i}");
    }
    // A parameter OAuth does not define is ignored, even repeated (RFC 6749 §3.1).
    let extra = form(&app, "/oauth2/token", "grant_type=client_credentials&x=1&x=2&=3", Some((&id, &secret))).await;
    assert_eq!(extra.status, 200, "{}", extra.json);
    // A 401 after HTTP Basic names the scheme.
    assert!(cases[0].0.header("www-authenticate").is_some_and(|v| v.starts_with("Basic")));
    // A JSON body is not a form.
    let json_body = app.post("/oauth2/token", json!({"grant_type": "client_credentials"})).await;
    assert_eq!((json_body.status.as_u16(), json_body.json["error"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn wrong_secrets_lock_the_client_as_wrong_passwords_lock_an_email() {
    let app = app().await;
    let (_, _, id, secret) = keyed(&app, &["org:read"]).await;
    let wrong = crate::api_keys_value_of_another_shape(&secret);
    for _ in 0..10 {
        let res = form(&app, "/oauth2/token", "grant_type=client_credentials", Some((&id, &wrong))).await;
        assert_eq!(res.status, 401, "{}", res.json);
    }
    let locked = form(&app, "/oauth2/token", "grant_type=client_credentials", Some((&id, &secret))).await;
    assert_eq!(locked.status, 429, "{}", locked.json);
    assert_eq!(locked.json["error"], "invalid_client");
    assert!(locked.header("retry-after").is_some());
}

#[tokio::test]
async fn revoking_the_key_or_the_token_ends_the_token_on_its_next_request() {
    let app = app().await;
    let (owner, org, id, secret) = keyed(&app, &["org:read"]).await;
    let issue = || async {
        form(&app, "/oauth2/token", "grant_type=client_credentials", Some((&id, &secret))).await.json["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (first, second) = (issue().await, issue().await);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&first)).await.status, 200);
    // RFC 7009: the client revokes its first token; the second still works.
    let revoked =
        form(&app, "/oauth2/revoke", &format!("token={first}&token_type_hint=access_token"), Some((&id, &secret)))
            .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&first)).await.status, 401);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&second)).await.status, 200);
    // Revoking what is no token of this client answers the same and changes nothing.
    assert_eq!(form(&app, "/oauth2/revoke", "token=nonsense", Some((&id, &secret))).await.status, 200);
    // The key revoked: every token it got ends too.
    let gone = app.call(Method::DELETE, &format!("/orgs/{org}/api-keys/{id}"), None, Some(&owner)).await;
    assert_eq!(gone.status, 204);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&second)).await.status, 401);
    let again = form(&app, "/oauth2/token", "grant_type=client_credentials", Some((&id, &secret))).await;
    assert_eq!((again.status.as_u16(), again.json["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn a_narrowed_key_narrows_the_tokens_it_already_got() {
    let app = app().await;
    let (owner, org, id, secret) = keyed(&app, &["org:read", "members:read"]).await;
    let token = form(&app, "/oauth2/token", "grant_type=client_credentials", Some((&id, &secret))).await;
    let token = token.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/orgs/{org}/members"), Some(&token)).await.status, 200);
    let narrowed = app
        .call(
            Method::PATCH,
            &format!("/orgs/{org}/api-keys/{id}"),
            Some(json!({"permissions": ["org:read"]})),
            Some(&owner),
        )
        .await;
    assert_eq!(narrowed.status, 200);
    assert_eq!(app.get(&format!("/orgs/{org}/members"), Some(&token)).await.status, 403);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&token)).await.status, 200);
}

#[tokio::test]
async fn the_metadata_names_the_endpoints_methods_and_scopes() {
    let app = app().await;
    let meta = app.get("/.well-known/oauth-authorization-server", None).await;
    assert_eq!(meta.status, 200);
    let issuer = meta.json["issuer"].as_str().unwrap();
    assert_eq!(meta.json["token_endpoint"], format!("{issuer}/oauth2/token"));
    assert_eq!(meta.json["revocation_endpoint"], format!("{issuer}/oauth2/revoke"));
    assert_eq!(meta.json["introspection_endpoint"], format!("{issuer}/oauth2/introspect"));
    assert_eq!(meta.json["authorization_endpoint"], format!("{issuer}/oauth2/authorize"));
    assert_eq!(
        meta.json["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(meta.json["code_challenge_methods_supported"], json!(["S256"]));
    let methods = json!(["client_secret_basic", "client_secret_post", "private_key_jwt"]);
    assert_eq!(
        meta.json["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
    );
    assert_eq!(meta.json["introspection_endpoint_auth_methods_supported"], methods);
    assert!(
        meta.json["token_endpoint_auth_signing_alg_values_supported"].as_array().unwrap().contains(&json!("ES256"))
    );
    assert!(meta.json["scopes_supported"].as_array().unwrap().contains(&json!("api_keys:manage")));
    let oidc = app.get("/.well-known/openid-configuration", None).await;
    assert_eq!(oidc.json["token_endpoint"], meta.json["token_endpoint"]);
    assert_eq!(oidc.json["issuer"], meta.json["issuer"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_grants_of_one_client_never_lock_it() {
    let app = std::sync::Arc::new(app().await);
    let (_, _, id, secret) = keyed(&app, &["org:read"]).await;
    let mut grants = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (app, id, secret) = (app.clone(), id.clone(), secret.clone());
        grants.spawn(async move {
            form(&app, "/oauth2/token", "grant_type=client_credentials", Some((&id, &secret))).await.status.as_u16()
        });
    }
    let statuses = grants.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[tokio::test]
async fn forged_and_misused_machine_tokens_are_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let app = app().await;
    let (_, org, id, secret) = keyed(&app, &["org:read"]).await;
    let token = form(&app, "/oauth2/token", "grant_type=client_credentials", Some((&id, &secret))).await;
    let token = token.json["access_token"].as_str().unwrap().to_owned();
    let keys = app.state.jwt();
    let genuine = serde_json::to_value(keys.verify_machine(&token).unwrap()).unwrap();
    let kid = keys.jwks().keys[0].kid.clone();
    let body = token.split('.').nth(1).unwrap();
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let resign = |f: &dyn Fn(&mut Value)| {
        let mut claims = genuine.clone();
        f(&mut claims);
        keys.sign(&claims).unwrap()
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.typ = Some("at+jwt".into());
    hs256.kid = Some(kid.clone());
    let public = URL_SAFE_NO_PAD.decode(keys.jwks().keys[0].x.as_ref().unwrap()).unwrap();
    let attacks = [
        ("alg none", format!("{}.{body}.", b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})))),
        (
            "HS256 keyed with the public key",
            jsonwebtoken::encode(&hs256, &genuine, &EncodingKey::from_secret(&public)).unwrap(),
        ),
        ("an audience array", resign(&|c| c["aud"] = json!(["identity-api", "another-api"]))),
        ("another audience", resign(&|c| c["aud"] = json!("another-api"))),
        ("expired", resign(&|c| c["exp"] = json!(now - 3600))),
        ("another organization's id", resign(&|c| c["org_id"] = json!(Uuid::now_v7()))),
        (
            "an unknown client",
            resign(&|c| {
                let other = Uuid::now_v7().to_string();
                c["client_id"] = json!(other);
                c["sub"] = json!(other);
            }),
        ),
        ("a session's claims missing", resign(&|c| c["client_id"] = Value::Null)),
    ];
    for (what, forged) in attacks {
        let res = app.get(&format!("/orgs/{org}"), Some(&forged)).await;
        assert_eq!(res.status, 401, "{what}: {}", res.json);
    }
    // Permissions written into a genuinely signed token count only as far as the key holds them.
    let escalated = resign(&|c| {
        c["permissions"] = json!(["org:read", "org:delete"]);
        c["scope"] = json!("org:read org:delete");
    });
    assert_eq!(app.call(Method::DELETE, &format!("/orgs/{org}"), None, Some(&escalated)).await.status, 403);
    assert_eq!(app.get(&format!("/orgs/{org}"), Some(&token)).await.status, 200, "the genuine token still works");
}
