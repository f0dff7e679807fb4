//! Register, login, refresh, logout, /me and JWKS: the happy paths and their refusals.

use axum::http::Method;
use serde_json::json;

use crate::{PASSWORD, app, app_with};

#[tokio::test]
async fn register_creates_an_unverified_user_and_ignores_privileged_fields() {
    let app = app().await;
    let res = app
        .post(
            "/auth/register",
            json!({"email": "Ada@Example.com", "password": PASSWORD, "name": " Ada ",
                   "is_platform_admin": true, "email_verified": true, "status": "disabled", "id": "00000000-0000-0000-0000-000000000001"}),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.json);
    assert!(!String::from_utf8_lossy(&res.body).contains("argon2"));
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    let me = app.get("/me", login.json["access_token"].as_str()).await;
    let user = &me.json;
    assert_eq!(user["email"], "ada@example.com", "stored in its canonical, lower-case form");
    assert_eq!(user["name"], "Ada");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["is_platform_admin"], false);
    assert_eq!(user["status"], "active");
    assert_ne!(user["id"], "00000000-0000-0000-0000-000000000001");
    assert!(user.get("password_hash").is_none());
    let rows = app.sql("SELECT is_platform_admin, email_verified_at IS NULL, password_hash FROM users").await;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].get::<_, bool>(0));
    assert!(rows[0].get::<_, bool>(1));
    assert!(rows[0].get::<_, String>(2).starts_with("$argon2id$"));
}

#[tokio::test]
async fn registering_a_taken_email_answers_as_a_new_one_and_changes_nothing() {
    let app = crate::app_with_ses().await;
    let email = crate::unique("ada");
    let first = app.post("/auth/register", json!({"email": email, "password": PASSWORD, "name": "Ada"})).await;
    let again = app
        .post("/auth/register", json!({"email": email.to_uppercase(), "password": "another password", "name": "Eve"}))
        .await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (202, 202));
    assert_eq!(first.body, again.body, "the answer does not tell whether the email had an account");
    assert_eq!(app.sql("SELECT 1 FROM users").await.len(), 1);
    let kept = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(kept.status, 200, "the first password still works");
    let mails = identity_testkit::ses::mails_to(&email).await;
    let subjects: Vec<&str> = mails.iter().filter_map(|m| m["subject"].as_str()).collect();
    assert_eq!(subjects, ["Confirm your email address", "You already have an account"]);
    let notice = mails[1]["body"]["text"].as_str().unwrap();
    assert!(notice.contains("Hello Ada,") && notice.contains("/forgot-password"), "{notice}");
}

#[tokio::test]
async fn login_returns_tokens_that_open_me() {
    let app = app().await;
    let id = app.user("ada@example.com", PASSWORD).await;
    let res = app.post("/auth/login", json!({"email": "ADA@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["token_type"], "Bearer");
    assert_eq!(res.json["expires_in"], 900);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let access = res.json["access_token"].as_str().unwrap();
    assert_eq!(res.json["refresh_token"].as_str().unwrap().len(), 43);
    let claims = app.state.jwt().verify(access).unwrap();
    assert_eq!(claims.sub, id);
    assert_eq!(claims.email, "ada@example.com");

    let me = app.get("/me", Some(access)).await;
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(me.json["id"], id.to_string());
    assert_eq!(me.json["email"], "ada@example.com");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = app().await;
    app.user("ada@example.com", PASSWORD).await;
    let wrong = app.post("/auth/login", json!({"email": "ada@example.com", "password": "not the password"})).await;
    let unknown = app.post("/auth/login", json!({"email": "bob@example.com", "password": "not the password"})).await;
    wrong.assert_problem(401);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.header("www-authenticate"), unknown.header("www-authenticate"));
}

#[tokio::test]
async fn real_argon2_cost_end_to_end() {
    let app =
        app_with(&[("ARGON2_MEMORY_KIB", "19456"), ("ARGON2_ITERATIONS", "2"), ("ARGON2_PARALLELISM", "1")]).await;
    let res =
        app.post("/auth/register", json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"})).await;
    assert_eq!(res.status, 202);
    let hash: String = app.sql("SELECT password_hash FROM users").await[0].get(0);
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    assert_eq!(login.status, 200);
}

#[tokio::test]
async fn passwords_are_checked_exactly_as_received() {
    let app = app().await;
    let spaced = "  spaced out  ";
    let res = app.post("/auth/register", json!({"email": "ada@example.com", "password": spaced, "name": "Ada"})).await;
    assert_eq!(res.status, 202);
    let trimmed = app.post("/auth/login", json!({"email": "ada@example.com", "password": spaced.trim()})).await;
    trimmed.assert_problem(401);
    let exact = app.post("/auth/login", json!({"email": "ada@example.com", "password": spaced})).await;
    assert_eq!(exact.status, 200);
}

#[tokio::test]
async fn disabled_users_cannot_sign_in_and_lose_their_sessions() {
    let app = app().await;
    let (access, refresh) = app.signed_in("ada@example.com", PASSWORD).await;
    app.sql("UPDATE users SET status = 'disabled'").await;
    app.get("/me", Some(&access)).await.assert_problem(401);
    app.post("/auth/refresh", json!({"refresh_token": refresh})).await.assert_problem(401);
    app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await.assert_problem(403);
    // A wrong password still answers like any wrong password.
    app.post("/auth/login", json!({"email": "ada@example.com", "password": "wrong password"}))
        .await
        .assert_problem(401);
}

#[tokio::test]
async fn me_refuses_missing_garbage_foreign_and_expired_tokens() {
    let app = app().await;
    let (access, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let missing = app.get("/me", None).await;
    missing.assert_problem(401);
    assert!(missing.header("www-authenticate").unwrap().starts_with("Bearer"));
    app.get("/me", Some("garbage")).await.assert_problem(401);
    app.call(Method::GET, "/me", None, Some(&"a".repeat(10_000))).await.assert_problem(401);

    let claims = app.state.jwt().verify(&access).unwrap();
    let mut expired = claims.clone();
    expired.exp = expired.iat - 3600;
    app.get("/me", Some(&app.state.jwt().sign(&expired).unwrap())).await.assert_problem(401);

    let (other_key, _) = identity_shared::auth::jwt::generate_key();
    let other = app_with(&[("JWT_PRIVATE_KEY", &other_key)]).await;
    app.get("/me", Some(&other.state.jwt().sign(&claims).unwrap())).await.assert_problem(401);

    // A token for a user or session that does not exist in this database.
    let mut ghost = claims.clone();
    ghost.sid = uuid::Uuid::now_v7();
    app.get("/me", Some(&app.state.jwt().sign(&ghost).unwrap())).await.assert_problem(401);
}

#[tokio::test]
async fn jwks_publishes_the_signing_key() {
    let app = app().await;
    let (access, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let res = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("cache-control"), Some("public, max-age=300"));
    let keys = res.json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(Some(keys[0]["kid"].as_str().unwrap()), header.kid.as_deref());
    assert!(keys[0].get("d").is_none(), "no private part");
}

#[tokio::test]
async fn rotated_keys_keep_old_tokens_valid() {
    let (old_private, old_public) = identity_shared::auth::jwt::generate_key();
    let app = app_with(&[("JWT_PRIVATE_KEY", &old_private)]).await;
    let (old_token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let (new_private, _) = identity_shared::auth::jwt::generate_key();
    let rotated = app.sibling(
        identity_cli::routes(),
        &[("JWT_PRIVATE_KEY", &new_private), ("JWT_PREVIOUS_PUBLIC_KEYS", &old_public)],
    );
    assert_eq!(rotated.get("/me", Some(&old_token)).await.status, 200);
    assert_eq!(rotated.get("/.well-known/jwks.json", None).await.json["keys"].as_array().unwrap().len(), 2);
    // Without the previous key listed, the old token stops verifying.
    let forgotten = app.sibling(identity_cli::routes(), &[("JWT_PRIVATE_KEY", &new_private)]);
    forgotten.get("/me", Some(&old_token)).await.assert_problem(401);
}
