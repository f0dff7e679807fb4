//! The migrate function applies the schema once; running it again, or twice at once, is harmless.

use identity_testkit::TestDatabase;

fn applied(answer: &serde_json::Value) -> Vec<String> {
    answer["applied"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn running_twice_is_harmless() {
    let db = TestDatabase::create_empty().await;
    let config = db.config(&[]);
    let first = migrate_function::handle(&config).await.unwrap();
    assert_eq!(
        applied(&first),
        vec![
            "V1__init".to_owned(),
            "V2__ip_limits".to_owned(),
            "V3__default_role".to_owned(),
            "V4__one_live_token".to_owned(),
            "V5__access_views".to_owned(),
            "V6__member_access_columns".to_owned(),
            "V7__accounts_and_limits".to_owned(),
            "V8__mfa".to_owned(),
            "V9__security_stamp".to_owned(),
            "V10__quotas".to_owned(),
            "V11__api_keys".to_owned(),
            "V12__revoked_tokens".to_owned(),
            "V13__oauth_clients".to_owned(),
            "V14__request_counters".to_owned(),
            "V15__events".to_owned(),
            "V16__webhooks".to_owned(),
            "V17__domains".to_owned(),
            "V18__openid_provider".to_owned(),
            "V19__sso".to_owned()
        ]
    );
    let second = migrate_function::handle(&config).await.unwrap();
    assert!(applied(&second).is_empty(), "{second}");

    let mut client = identity_shared::db::connect(&config).await.unwrap();
    let roles = client.query("SELECT name FROM roles WHERE org_id IS NULL ORDER BY name", &[]).await.unwrap();
    let names: Vec<String> = roles.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, ["admin", "member", "owner"], "system roles seeded once");
    let again = identity_shared::db::migrate(&mut client, config.database_statement_timeout).await.unwrap();
    assert!(again.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_apply_each_migration_once() {
    let db = TestDatabase::create_empty().await;
    let config = db.config(&[]);
    let (a, b) = tokio::join!(migrate_function::handle(&config), migrate_function::handle(&config));
    let mut all = applied(&a.unwrap());
    all.extend(applied(&b.unwrap()));
    // In version order (V10 after V9).
    all.sort_by_key(|name| name[1..].split("__").next().and_then(|v| v.parse::<u32>().ok()));
    assert_eq!(
        all,
        vec![
            "V1__init".to_owned(),
            "V2__ip_limits".to_owned(),
            "V3__default_role".to_owned(),
            "V4__one_live_token".to_owned(),
            "V5__access_views".to_owned(),
            "V6__member_access_columns".to_owned(),
            "V7__accounts_and_limits".to_owned(),
            "V8__mfa".to_owned(),
            "V9__security_stamp".to_owned(),
            "V10__quotas".to_owned(),
            "V11__api_keys".to_owned(),
            "V12__revoked_tokens".to_owned(),
            "V13__oauth_clients".to_owned(),
            "V14__request_counters".to_owned(),
            "V15__events".to_owned(),
            "V16__webhooks".to_owned(),
            "V17__domains".to_owned(),
            "V18__openid_provider".to_owned(),
            "V19__sso".to_owned()
        ]
    );
}

#[tokio::test]
async fn migrating_sets_the_session_defaults_for_later_sessions_without_startup_options() {
    let db = TestDatabase::create_empty().await;
    let config = db.config(&[("DATABASE_STATEMENT_TIMEOUT_MS", "300")]);
    migrate_function::handle(&config).await.unwrap();
    // A new session of the same role in this database, through the pool (which sends no
    // startup options: RDS Proxy refuses them).
    let pool = identity_shared::db::create_pool(&config).unwrap();
    let client = identity_shared::db::client(&pool).await.unwrap();
    let shown: String = client.query_one("SHOW statement_timeout", &[]).await.unwrap().get(0);
    assert_eq!(shown, "300ms");
    let plans: String = client.query_one("SHOW plan_cache_mode", &[]).await.unwrap().get(0);
    assert_eq!(plans, "force_generic_plan");
    let slow = identity_shared::repositories::cached::query(&client, "SELECT pg_sleep(2)", &[]).await.unwrap_err();
    assert!(
        matches!(slow, identity_shared::db::DbError::Unavailable(_)),
        "a statement over the limit is cut: {slow:?}"
    );
}
