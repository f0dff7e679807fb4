//! The auth Lambda's own router: its routes and nothing else.

use identity_testkit::TestApp;
use serde_json::json;

#[tokio::test]
async fn serves_auth_routes_only() {
    let app = TestApp::new(auth_function::router(), &[]).await;
    let res =
        app.post("/auth/register", json!({"email": "a@example.com", "password": "long enough", "name": "A"})).await;
    assert_eq!(res.status, 202);
    assert_eq!(app.get("/.well-known/jwks.json", None).await.status, 200);
    // Another group's route is not this function's: API Gateway never sends it here.
    app.get("/health", None).await.assert_problem(404);
}
