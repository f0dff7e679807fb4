//! The migrate function applies the schema once; running it again, or twice at once, is harmless.

use identity_shared::testkit::TestDatabase;

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
            "V4__one_live_token".to_owned()
        ]
    );
    let second = migrate_function::handle(&config).await.unwrap();
    assert!(applied(&second).is_empty(), "{second}");

    let mut client = identity_shared::db::connect(&config).await.unwrap();
    let roles = client.query("SELECT name FROM roles WHERE org_id IS NULL ORDER BY name", &[]).await.unwrap();
    let names: Vec<String> = roles.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, ["admin", "member", "owner"], "system roles seeded once");
    let again = identity_shared::db::migrate(&mut client).await.unwrap();
    assert!(again.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_apply_each_migration_once() {
    let db = TestDatabase::create_empty().await;
    let config = db.config(&[]);
    let (a, b) = tokio::join!(migrate_function::handle(&config), migrate_function::handle(&config));
    let mut all = applied(&a.unwrap());
    all.extend(applied(&b.unwrap()));
    all.sort();
    assert_eq!(
        all,
        vec![
            "V1__init".to_owned(),
            "V2__ip_limits".to_owned(),
            "V3__default_role".to_owned(),
            "V4__one_live_token".to_owned()
        ]
    );
}
