//! Bad input on every route: 400, 404, 405, 413, 415, 422, each as problem+json.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;

use crate::{PASSWORD, app};

const JSON_ROUTES: [&str; 3] = ["/auth/register", "/auth/login", "/auth/refresh"];

fn raw(path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::post(path);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(body.into()).unwrap()
}

#[tokio::test]
async fn malformed_json_is_400_on_every_json_route() {
    let app = app().await;
    for path in JSON_ROUTES {
        for body in ["{", "", "[1,", "{\"email\": \"a\"} {}", "\u{0}"] {
            let res = app.send(raw(path, Some("application/json"), body)).await;
            res.assert_problem(400);
        }
    }
}

#[tokio::test]
async fn non_json_content_types_are_415() {
    let app = app().await;
    for path in JSON_ROUTES {
        for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data")] {
            let res = app.send(raw(path, ct, r#"{"email":"a@example.com"}"#)).await;
            res.assert_problem(415);
        }
    }
    // Parameters and +json types are fine.
    let res = app
        .send(raw(
            "/auth/login",
            Some("application/json; charset=utf-8"),
            json!({"email": "a@example.com", "password": "x"}).to_string(),
        ))
        .await;
    res.assert_problem(401);
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let app = app().await;
    let big = json!({"email": "a@example.com", "password": "p".repeat(70 * 1024), "name": "A"}).to_string();
    for path in JSON_ROUTES {
        app.send(raw(path, Some("application/json"), big.clone())).await.assert_problem(413);
    }
    assert!(app.sql("SELECT 1 FROM users").await.is_empty());
}

#[tokio::test]
async fn invalid_fields_are_422_with_each_field_named() {
    let app = app().await;
    let cases = [
        (json!({"email": "a@example.com\r\nBcc: x@example.com", "password": PASSWORD, "name": "A"}), vec!["email"]),
        (json!({"email": "a\u{200B}@example.com", "password": PASSWORD, "name": "A"}), vec!["email"]),
        (json!({"email": "a\u{0007}@example.com", "password": PASSWORD, "name": "A"}), vec!["email"]),
        (json!({"email": "not-an-email", "password": "short", "name": ""}), vec!["email", "password", "name"]),
        (json!({"email": "a@example.com", "password": "x".repeat(1025), "name": "A"}), vec!["password"]),
        (json!({"email": "a@example.com", "password": PASSWORD}), vec!["name"]),
        (json!({"email": 42, "password": PASSWORD, "name": "A"}), vec!["email"]),
        (json!({"email": "a@example.com", "password": PASSWORD, "name": "A\u{0000}"}), vec!["name"]),
    ];
    for (body, fields) in cases {
        let res = app.post("/auth/register", body.clone()).await;
        let problem = res.assert_problem(422);
        let named: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(named, fields, "{body}");
        assert!(problem["errors"][0]["message"].as_str().unwrap().len() > 3);
    }
    assert!(app.sql("SELECT 1 FROM users").await.is_empty(), "nothing half-written");
    let exactly_1024 =
        app.post("/auth/register", json!({"email": "a@example.com", "password": "x".repeat(1024), "name": "A"})).await;
    assert_eq!(exactly_1024.status, 202);
    let login = app.post("/auth/login", json!({"email": "a@example.com", "password": "x".repeat(1025)})).await;
    login.assert_problem(422);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = app().await;
    for path in ["/", "/nope", "/auth", "/auth/register/extra", "/me/unknown"] {
        app.get(path, None).await.assert_problem(404);
    }
    app.get("/auth/login", None).await.assert_problem(405);
    app.call(Method::PUT, "/me", None, None).await.assert_problem(405);
    app.call(Method::POST, "/.well-known/jwks.json", Some(json!({})), None).await.assert_problem(405);
}

#[tokio::test]
async fn errors_never_leak_internals() {
    let app = app().await;
    let res = app.post("/auth/register", json!({"email": "a@example.com", "password": "pw"})).await;
    let text = String::from_utf8_lossy(&res.body);
    for leak in ["SELECT", "postgres", "panicked", "src/"] {
        assert!(!text.contains(leak), "{text}");
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = app().await;
    let res = app.get("/nope", None).await;
    assert!(res.header("x-request-id").is_some_and(|id| id.len() >= 32));
    let req = Request::get("/health").header("x-request-id", "trace-me-123").body(Body::empty()).unwrap();
    assert_eq!(app.send(req).await.header("x-request-id"), Some("trace-me-123"));
}
