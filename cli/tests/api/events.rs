//! Every events/ sample, parsed by lambda_http as on AWS, reaches its handler.

use std::collections::BTreeMap;
use std::path::PathBuf;

use identity_shared::testkit::TestApp;

use crate::{PASSWORD, app};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// Each event's expected status once its placeholders hold real tokens.
fn expected() -> BTreeMap<&'static str, u16> {
    BTreeMap::from([
        ("auth-register", 201),
        ("auth-login", 200),
        ("auth-refresh", 200),
        ("auth-logout", 204),
        ("auth-jwks", 200),
        ("users-me", 200),
        ("users-health", 200),
    ])
}

async fn invoke(app: &TestApp, raw: &str) -> identity_shared::testkit::TestResponse {
    let request = lambda_http::request::from_str(raw).expect("event parses as an API Gateway request");
    app.send(request.map(axum::body::Body::new)).await
}

#[tokio::test]
async fn every_event_reaches_its_handler() {
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".json").map(String::from))
        .collect();
    files.sort();
    let expected = expected();
    assert_eq!(files, expected.keys().map(|k| k.to_string()).collect::<Vec<_>>(), "events/ and this table differ");

    for (name, status) in expected {
        let app = app().await;
        let (mut access, mut refresh) = (String::new(), String::new());
        if name != "auth-register" {
            // The other events act as the user auth-register creates.
            (access, refresh) = app.signed_in("ada@example.com", PASSWORD).await;
        }
        let raw = std::fs::read_to_string(events_dir().join(format!("{name}.json")))
            .unwrap()
            .replace("REPLACE_WITH_ACCESS_TOKEN", &access)
            .replace("REPLACE_WITH_REFRESH_TOKEN", &refresh);
        let res = invoke(&app, &raw).await;
        assert_eq!(res.status.as_u16(), status, "{name}: {}", res.json);
    }
}

#[tokio::test]
async fn api_gateway_source_ip_is_recorded_on_the_session() {
    let app = app().await;
    app.user("ada@example.com", PASSWORD).await;
    let raw = std::fs::read_to_string(events_dir().join("auth-login.json")).unwrap();
    assert_eq!(invoke(&app, &raw).await.status, 200);
    let rows = app.sql("SELECT host(ip), user_agent FROM sessions").await;
    assert_eq!(rows[0].get::<_, String>(0), "203.0.113.10");
    assert_eq!(rows[0].get::<_, String>(1), "curl/8.5.0");
}

#[tokio::test]
async fn unknown_paths_in_events_get_problem_json() {
    let app = app().await;
    let raw = std::fs::read_to_string(events_dir().join("users-health.json")).unwrap().replace("/health", "/nowhere");
    invoke(&app, &raw).await.assert_problem(404);
}
