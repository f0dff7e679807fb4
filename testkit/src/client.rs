//! Drives a router in-process, as API Gateway or the local server would, without sockets.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use std::sync::Arc;

use super::database::TestDatabase;
use identity_shared::config::Config;
use identity_shared::http::lambda::{LazyApp, TokenKeys};
use identity_shared::state::AppState;

/// The password of the accounts the helpers make for themselves.
const HELPER_PASSWORD: &str = "correct horse battery";

/// A router with its own fresh database.
pub struct TestApp {
    /// The state the router runs with.
    pub state: AppState,
    /// The router, state applied.
    pub router: Router,
    /// The test's database; dropped with the last app on it.
    pub db: Arc<TestDatabase>,
}

/// An answer, its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as JSON, or Null when empty or not JSON.
    pub json: Value,
    /// Raw body.
    pub body: Vec<u8>,
}

/// Sends an API Gateway (HTTP API, payload 2.0) event to a function's Lambda entry, parsed
/// by lambda_http as the runtime does.
pub async fn invoke(app: &LazyApp, event: &str) -> TestResponse {
    let request = lambda_http::request::from_str(event).expect("event parses as an API Gateway request");
    TestResponse::read(app.clone().oneshot(request).await.expect("the entry is infallible")).await
}

impl TestResponse {
    async fn read(response: axum::response::Response) -> TestResponse {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        TestResponse { status, headers, json, body }
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status, and returns it.
    pub fn assert_problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.json);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{:?}", self.headers);
        assert_eq!(self.json["status"], status, "{}", self.json);
        assert!(self.json["type"].is_string() && self.json["title"].is_string(), "{}", self.json);
        assert!(self.json["detail"].is_string(), "{}", self.json);
        &self.json
    }
}

/// The tests' resolver for outbound requests: loopback only, so that no test's lookup leaves
/// the machine (a test of the refusals fakes its own).
fn loopback() -> identity_shared::egress::resolver::SharedResolver {
    Arc::new(identity_shared::egress::resolver::LoopbackOnly)
}

impl TestApp {
    /// A fresh database and a state on it, with optional setting overrides.
    pub async fn new(routes: Router<AppState>, overrides: &[(&str, &str)]) -> TestApp {
        TestApp::on(routes, TestDatabase::create().await, overrides)
    }

    /// An app on a database the caller made, with optional setting overrides.
    pub fn on(routes: Router<AppState>, db: TestDatabase, overrides: &[(&str, &str)]) -> TestApp {
        // Log lines (a 500's reason among them) show with a failing test's output.
        let _ = tracing_subscriber::registry()
            .with(identity_shared::telemetry::filter(Some("warn")))
            .with(tracing_subscriber::fmt::layer().with_test_writer())
            .try_init();
        let db = Arc::new(db);
        let state = AppState::with_resolver(db.config(overrides), loopback()).expect("test state");
        TestApp { router: identity_shared::http::with_state(routes, state.clone()), state, db }
    }

    /// A fresh database and a state whose outbound requests (identity providers' discovery,
    /// keys and token endpoints) resolve names with `resolver`, faked in the process.
    pub async fn with_resolver(
        routes: Router<AppState>,
        overrides: &[(&str, &str)],
        resolver: identity_shared::egress::resolver::SharedResolver,
    ) -> TestApp {
        let db = Arc::new(TestDatabase::create().await);
        let state = AppState::with_resolver(db.config(overrides), resolver).expect("test state");
        TestApp { router: identity_shared::http::with_state(routes, state.clone()), state, db }
    }

    /// Another app on the same database with other settings, as after a redeploy.
    pub fn sibling(&self, routes: Router<AppState>, overrides: &[(&str, &str)]) -> TestApp {
        let state = AppState::with_resolver(self.db.config(overrides), loopback()).expect("test state");
        TestApp { router: identity_shared::http::with_state(routes, state.clone()), state, db: self.db.clone() }
    }

    /// Sends a request.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        TestResponse::read(self.router.clone().oneshot(request).await.expect("router is infallible")).await
    }

    /// The Lambda entry of a function serving `routes` with this app's settings (`edit`ed),
    /// as `main` builds it: events sent to it go through the stage and base-path handling.
    pub fn lambda(&self, routes: Router<AppState>, edit: impl FnOnce(&mut Config)) -> LazyApp {
        let mut config = self.state.config().clone();
        edit(&mut config);
        LazyApp::new(routes, TokenKeys::Sign, Arc::new(move || Box::pin(std::future::ready(Ok(config.clone())))))
    }

    /// Sends a JSON request (or none when `body` is None), with a bearer token if given.
    pub async fn call(
        &self,
        method: Method,
        path: impl Into<String>,
        body: Option<Value>,
        bearer: Option<&str>,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path.into());
        if let Some(token) = bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(json) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&json).expect("json"))),
            None => builder.body(Body::empty()),
        };
        self.send(request.expect("request")).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(body), None).await
    }

    /// GET with a bearer token.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> TestResponse {
        self.call(Method::GET, path, None, bearer).await
    }

    /// Registers an account through the service layer and marks its address proven, as most
    /// accounts are (an unproven one may not enrol a factor or change its address); its id.
    pub async fn user(&self, email: &str, password: &str) -> uuid::Uuid {
        let id = self.unverified_user(email, password).await;
        self.sql(&format!("UPDATE users SET email_verified_at = now() WHERE id = '{id}'")).await;
        id
    }

    /// Registers an account through the service layer, its address not yet proven; its id.
    pub async fn unverified_user(&self, email: &str, password: &str) -> uuid::Uuid {
        let req = identity_shared::api::auth::RegisterRequest {
            email: email.into(),
            password: password.into(),
            name: email.split('@').next().unwrap_or("user").into(),
        };
        let req = req.parse().expect("a valid test sign-up");
        identity_shared::services::account::register(&self.state, req, Default::default())
            .await
            .expect("registering a test user");
        let client = identity_shared::db::client(self.state.pool()).await.expect("test db client");
        let found =
            identity_shared::repositories::users::find_credentials(&client, email).await.expect("finding the new user");
        found.expect("the registered user").user.id
    }

    /// Registers an account and signs it in; returns (access token, refresh token).
    pub async fn signed_in(&self, email: &str, password: &str) -> (String, String) {
        self.user(email, password).await;
        self.login(email, password).await
    }

    /// Registers an account, its address not yet proven, and signs it in.
    pub async fn unverified_signed_in(&self, email: &str, password: &str) -> (String, String) {
        self.unverified_user(email, password).await;
        self.login(email, password).await
    }

    /// Signs an existing account in through the service layer.
    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let req =
            identity_shared::api::auth::LoginRequest { email: email.into(), password: password.into(), org_id: None };
        let req = req.parse().expect("valid test credentials");
        let answer =
            identity_shared::services::sign_in::login(&self.state, req, Default::default()).await.expect("signing in");
        match answer {
            identity_shared::models::SignInAnswer::Tokens(pair) => (pair.access_token, pair.refresh_token),
            identity_shared::models::SignInAnswer::MfaRequired(_) => {
                panic!("{email} has a second factor: login_with_code")
            }
        }
    }

    /// Makes a user a member of an org with these roles, as an accepted invitation would.
    pub async fn add_member(&self, org_id: uuid::Uuid, user_id: uuid::Uuid, roles: &[&str]) {
        use identity_shared::repositories::{memberships, roles as role_repo};
        let client = identity_shared::db::client(self.state.pool()).await.expect("test db client");
        memberships::insert(&client, org_id, user_id).await.expect("adding member");
        let names: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let found = role_repo::find_by_names(&client, org_id, &names).await.expect("finding roles");
        assert_eq!(found.len(), names.len(), "unknown role among {names:?}");
        let ids: Vec<uuid::Uuid> = found.iter().map(|r| r.id).collect();
        memberships::set_roles(&client, org_id, user_id, &ids).await.expect("setting roles");
    }

    /// A new owner, Ada Lovelace, whose new org "Acme Corp" invites `email` with `roles`
    /// through the API; the owner's access token and the org's id.
    pub async fn invited_to_acme(&self, email: &str, roles: Value) -> (String, uuid::Uuid) {
        let owner_email = format!("owner.{}@example.com", uuid::Uuid::now_v7().simple());
        let (owner, _) = self.signed_in(&owner_email, HELPER_PASSWORD).await;
        self.sql(&format!("UPDATE users SET name = 'Ada Lovelace' WHERE email = '{owner_email}'")).await;
        let org = self.call(Method::POST, "/orgs", Some(serde_json::json!({"name": "Acme Corp"})), Some(&owner)).await;
        assert_eq!(org.status, StatusCode::CREATED, "{}", org.json);
        let org: uuid::Uuid = org.json["id"].as_str().and_then(|id| id.parse().ok()).expect("the org's id");
        let body = serde_json::json!({"email": email, "roles": roles});
        let res = self.call(Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&owner)).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.json);
        (owner, org)
    }

    /// Runs one SQL statement against the test database, for setup and checks.
    pub async fn sql(&self, query: &str) -> Vec<tokio_postgres::Row> {
        let client = identity_shared::db::client(self.state.pool()).await.expect("test db client");
        client.query(query, &[]).await.unwrap_or_else(|e| panic!("{query}: {e}"))
    }
}
