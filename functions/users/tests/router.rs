//! The users Lambda's own router: its routes and nothing else.

use identity_testkit::TestApp;

#[tokio::test]
async fn serves_users_routes_only() {
    let app = TestApp::new(users_function::router(), &[]).await;
    let res = app.get("/health", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json["database"], "ok");
    let (access, _) = app.signed_in("a@example.com", "long enough").await;
    assert_eq!(app.get("/me", Some(&access)).await.json["email"], "a@example.com");
    app.get("/auth/login", None).await.assert_problem(404);
}
