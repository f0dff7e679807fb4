//! Secrets read at run time from Secrets Manager (the real SDK client against moto's server),
//! as the functions do on Lambda: nothing secret in the environment, each function given only
//! what it uses, and an outage at start a 503 that a later request recovers from.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::to_bytes;
use identity_shared::Config;
use identity_shared::http::lambda::{LazyApp, TokenKeys};
use identity_testkit::{TestDatabase, secrets};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::PASSWORD;

/// Sends one request through the app as lambda_http hands it over.
async fn call(app: &LazyApp, method: &str, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = http::Request::builder().method(method).uri(path).header("content-type", "application/json");
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(lambda_http::Body::from(body.to_string())).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").is_some();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let mut json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status == 503 {
        assert!(retry_after, "a 503 says when to retry: {json}");
        json["retry-after"] = json!(true);
    }
    (status, json)
}

/// An app that loads its settings from `env` (shared, so a test can change it) when first needed.
fn lazy(
    router: axum::Router<identity_shared::AppState>,
    keys: TokenKeys,
    env: Arc<Mutex<HashMap<String, String>>>,
) -> LazyApp {
    LazyApp::new(
        router,
        keys,
        Arc::new(move || {
            let env = env.lock().unwrap().clone();
            Box::pin(Config::load_from(env))
        }),
    )
}

fn base_env(endpoint: &str) -> HashMap<String, String> {
    let mut env: HashMap<String, String> =
        secrets::settings(endpoint).into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    env.insert("ARGON2_MEMORY_KIB".into(), "64".into());
    env.insert("ARGON2_ITERATIONS".into(), "1".into());
    env
}

/// Host, port and database name of a test database's URL.
fn parts(db: &TestDatabase) -> (String, u16, String) {
    let url = url::Url::parse(&db.url).unwrap();
    (url.host_str().unwrap().to_owned(), url.port().unwrap_or(5432), db.name.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_start_from_secrets_and_each_holds_only_the_keys_it_uses() {
    let db = TestDatabase::create().await;
    let (host, port, dbname) = parts(&db);
    // The user the secret names, so the test can see that the secret's credentials were used.
    let user = format!("from_secret_{}", uuid::Uuid::now_v7().simple());
    let admin = db.config(&[]);
    let client = identity_shared::db::connect(&admin).await.unwrap();
    client.batch_execute(&format!("CREATE ROLE {user} LOGIN SUPERUSER PASSWORD 'pw:@/'")).await.unwrap();

    // RDS's own secret shape: user, password, host, port and name; the URL adds only TLS words.
    let database_arn = secrets::create(
        &json!({"username": user, "password": "pw:@/", "engine": "postgres", "host": host, "port": port, "dbname": dbname})
            .to_string(),
    )
    .await;
    let (private, public) = identity_shared::auth::jwt::generate_key();
    let jwt_arn = secrets::create(&json!({ "private_key": private }).to_string()).await;

    let endpoint = secrets::url();
    let mut signing = base_env(&endpoint);
    signing.insert("DATABASE_URL".into(), "postgres:///?sslmode=disable".into());
    signing.insert("DATABASE_SECRET_ARN".into(), database_arn.clone());
    signing.insert("JWT_PRIVATE_KEY_SECRET_ARN".into(), jwt_arn);
    let auth = lazy(identity_cli::routes(), TokenKeys::Sign, Arc::new(Mutex::new(signing)));

    let (status, body) = call(
        &auth,
        "POST",
        "/auth/register",
        None,
        json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let (status, tokens) =
        call(&auth, "POST", "/auth/login", None, json!({"email": "ada@example.com", "password": PASSWORD})).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let connected: i64 = client
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND datname = $2", &[&user, &dbname])
        .await
        .unwrap()
        .get(0);
    assert!(connected >= 1, "the pool connected as the secret's user to the secret's database");

    // A function that only verifies: the database secret and the public key, no private key.
    let mut verifying = base_env(&endpoint);
    verifying.insert("DATABASE_URL".into(), "postgres:///?sslmode=disable".into());
    verifying.insert("DATABASE_SECRET_ARN".into(), database_arn);
    verifying.insert("JWT_PUBLIC_KEY".into(), public);
    let users = lazy(identity_cli::routes(), TokenKeys::Verify, Arc::new(Mutex::new(verifying.clone())));
    let (status, me) = call(&users, "GET", "/me", Some(access), Value::Null).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "ada@example.com");
    // Asked to issue a token, it cannot: a 500 that names the misconfiguration in the log only.
    let (status, body) =
        call(&users, "POST", "/auth/login", None, json!({"email": "ada@example.com", "password": PASSWORD})).await;
    assert_eq!(status, 500, "{body}");
    assert!(!body.to_string().contains("JWT"), "{body}");

    // A function that must sign refuses to start on a public key alone.
    let misdeployed = lazy(identity_cli::routes(), TokenKeys::Sign, Arc::new(Mutex::new(verifying)));
    let (status, body) = call(&misdeployed, "GET", "/health", None, Value::Null).await;
    assert_eq!(status, 500, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_out_at_start_is_a_503_and_the_next_request_tries_again() {
    let db = TestDatabase::create().await;
    let database_arn = secrets::create(&json!({ "url": db.url }).to_string()).await;
    let jwt_arn = secrets::create(&identity_shared::auth::jwt::generate_key().0).await;
    // Nothing listens on this port: as if Secrets Manager were unreachable from the subnet.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut env = base_env(&format!("http://{closed}"));
    env.insert("DATABASE_SECRET_ARN".into(), database_arn);
    env.insert("JWT_PRIVATE_KEY_SECRET_ARN".into(), jwt_arn);
    let env = Arc::new(Mutex::new(env));
    let app = lazy(identity_cli::routes(), TokenKeys::Sign, env.clone());

    let (status, body) = call(&app, "GET", "/health", None, Value::Null).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "urn:identity-api:problem:unavailable");

    env.lock().unwrap().insert("AWS_ENDPOINT_URL_SECRETS_MANAGER".into(), secrets::url());
    let (status, body) = call(&app, "GET", "/health", None, Value::Null).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_malformed_secret_stops_the_function_without_echoing_the_secret() {
    let db = TestDatabase::create().await;
    let good_key = identity_shared::auth::jwt::generate_key().0;
    let malformed = secrets::create(&json!({"user": "x", "passwd": "hunter2"}).to_string()).await;
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:not-there-AbCdEf".to_owned();
    for arn in [malformed, missing] {
        let mut env = base_env(&secrets::url());
        env.insert("DATABASE_URL".into(), db.url.clone());
        env.insert("DATABASE_SECRET_ARN".into(), arn);
        env.insert("JWT_PRIVATE_KEY".into(), good_key.clone());
        let err = Config::load_from(env.clone()).await.unwrap_err();
        assert!(!err.is_unavailable(), "{err}");
        assert!(err.to_string().contains("DATABASE_SECRET_ARN") && !err.to_string().contains("hunter2"), "{err}");
        let app = lazy(identity_cli::routes(), TokenKeys::Sign, Arc::new(Mutex::new(env)));
        let (status, body) = call(&app, "GET", "/health", None, Value::Null).await;
        assert_eq!(status, 500, "{body}");
        assert!(!body.to_string().contains("hunter2"), "{body}");
    }
}
