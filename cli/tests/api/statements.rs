//! Round trips: each statement text is prepared once per connection and run from the cache.

use crate::{PASSWORD, app_with, create_org};

#[tokio::test]
async fn a_repeated_read_reuses_its_prepared_statements() {
    // One connection, so every request below runs on the connection inspected afterwards.
    let app = app_with(&[("DATABASE_POOL_SIZE", "1")]).await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Acme").await;
    for _ in 0..10 {
        assert_eq!(app.get(&format!("/orgs/{org}"), Some(&token)).await.status, 200);
    }

    let client = app.state.pool().get().await.unwrap();
    let rows =
        client.query("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements", &[]).await.unwrap();
    let runs = |needle: &str| -> Vec<i64> {
        rows.iter().filter(|r| r.get::<_, String>(0).contains(needle)).map(|r| r.get(1)).collect()
    };
    // Prepared once (one named statement), executed once per request: the read costs one
    // round trip per statement instead of a parse round trip before each.
    assert_eq!(runs("FROM organizations o WHERE o.id = $1"), [10], "{rows:?}");
    // The organization and its creator's membership were written once; their statements
    // were prepared once too, not once per use.
    let texts: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let distinct: std::collections::HashSet<&String> = texts.iter().collect();
    assert_eq!(distinct.len(), texts.len(), "a statement text was prepared twice: {texts:?}");
}
