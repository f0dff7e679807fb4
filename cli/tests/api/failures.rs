//! How failures are classified and what they cost: 503 only when the database cannot be
//! reached, 500 with the operation for everything else, no password hash for a forged token,
//! a full hashing queue shed at once, and path parameters checked before bodies.

use std::sync::Arc;

use axum::http::Method;
use identity_shared::AppError;
use identity_shared::db::{self, DbError};
use identity_shared::repositories::cached;
use serde_json::json;

use crate::{PASSWORD, app, app_with, app_with_ses, create_org, unique};

#[tokio::test]
async fn a_database_error_with_no_outage_behind_it_is_a_500_naming_its_operation() {
    let app = app().await;
    let client = db::client(app.state.pool()).await.unwrap();
    // A wrong row count and a parameter of the wrong type: bugs, not unavailability.
    let rows = cached::query_one(&client, "SELECT 1 WHERE false", &[]).await.unwrap_err();
    let rows_line = line!() - 1;
    let types = cached::query(&client, "SELECT $1::int", &[&"seven"]).await.unwrap_err();
    let types_line = line!() - 1;
    for (err, says, line) in
        [(rows, "unexpected number of rows", rows_line), (types, "error serializing parameter 0", types_line)]
    {
        assert!(matches!(err, DbError::Other { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(says), "the cause is kept: {text}");
        assert!(
            text.contains(&format!("failures.rs:{line} (SELECT ")),
            "the call site and statement are named: {text}"
        );
        let error = AppError::from(err);
        assert_eq!(error.status(), 500, "{error:?}");
        let AppError::Internal(source) = error else { panic!("not internal") };
        let chain = format!("{source:#}");
        assert!(chain.contains(says) && chain.contains("failures.rs:"), "the 500 keeps its source: {chain}");
    }
}

#[tokio::test]
async fn a_database_error_met_by_question_mark_in_a_service_names_where() {
    let app = app().await;
    let client = db::client(app.state.pool()).await.unwrap();
    // As a service meets BEGIN or COMMIT: a plain tokio-postgres error through `?`.
    async fn statement(client: &impl identity_shared::repositories::GenericClient) -> identity_shared::AppResult<()> {
        client.batch_execute("SELEC 1").await?;
        Ok(())
    }
    let line = line!() - 3;
    let error = statement(&client).await.unwrap_err();
    let AppError::Internal(source) = error else { panic!("a syntax error is a bug: {error:?}") };
    let chain = format!("{source:#}");
    assert!(chain.contains(&format!("failures.rs:{line} (transaction)")), "{chain}");
    assert!(chain.contains("syntax error"), "the cause is kept: {chain}");
}

#[tokio::test]
async fn a_role_name_that_reads_as_an_id_is_refused_and_lookups_are_unambiguous() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    let roles = format!("/orgs/{org}/roles");
    let first = app
        .call(Method::POST, &roles, Some(json!({"name": "billing", "permissions": ["org:read"]})), Some(&owner))
        .await;
    assert_eq!(first.status, 201, "{}", first.json);
    let id = first.json["id"].as_str().unwrap().to_owned();
    // A name spelling the first role's id (and every other UUID form) is refused.
    for name in [id.clone(), id.replace('-', ""), format!("urn:uuid:{id}")] {
        let res = app.call(Method::POST, &roles, Some(json!({"name": name, "permissions": []})), Some(&owner)).await;
        let problem = res.assert_problem(422);
        assert_eq!(problem["errors"][0]["field"], "name", "{problem}");
        let rename =
            app.call(Method::PATCH, format!("{roles}/billing"), Some(json!({"name": name})), Some(&owner)).await;
        rename.assert_problem(422);
    }
    // By id and by name, each finds exactly the one role.
    let by_id = app.call(Method::PATCH, format!("{roles}/{id}"), Some(json!({"description": "A"})), Some(&owner)).await;
    assert_eq!((by_id.status.as_u16(), by_id.json["name"].as_str()), (200, Some("billing")), "{}", by_id.json);
    let by_name =
        app.call(Method::PATCH, format!("{roles}/billing"), Some(json!({"description": "B"})), Some(&owner)).await;
    assert_eq!(by_name.json["id"], id.as_str());
    let gone = app
        .call(
            Method::PATCH,
            format!("{roles}/{}", uuid::Uuid::now_v7()),
            Some(json!({"description": "C"})),
            Some(&owner),
        )
        .await;
    gone.assert_problem(404);
}

#[tokio::test]
async fn path_parameters_are_checked_before_bodies() {
    let app = app().await;
    let (owner, _) = app.signed_in("owner@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Org").await;
    let routes = [
        (Method::PUT, format!("/orgs/{org}/members/not-a-uuid/roles")),
        (Method::PATCH, format!("/orgs/{org}/roles/Not%20A%20Role")),
        (Method::DELETE, format!("/orgs/{org}/roles/%00")),
        (Method::GET, format!("/orgs/{org}/invitations/not-a-uuid")),
        (Method::POST, format!("/orgs/{org}/invitations/not-a-uuid/resend")),
        (Method::POST, "/me/invitations/not-a-uuid/accept".to_owned()),
    ];
    for (method, path) in routes {
        // No body, a body that is not JSON, and a JSON body that misses every field.
        let none = app.call(method.clone(), &path, None, Some(&owner)).await;
        none.assert_problem(404);
        let empty = app.call(method.clone(), &path, Some(json!({})), Some(&owner)).await;
        empty.assert_problem(404);
    }
    app.sql("UPDATE users SET is_platform_admin = true").await;
    app.call(Method::PATCH, "/users/not-a-uuid", None, Some(&owner)).await.assert_problem(404);
}

#[tokio::test]
async fn user_search_takes_any_spelling_of_an_address() {
    let app = app().await;
    let (admin, _) = app.signed_in("admin@example.com", PASSWORD).await;
    app.sql("UPDATE users SET is_platform_admin = true").await;
    app.user("ada@xn--bcher-kva.de", PASSWORD).await;
    for query in ["%EF%BC%A1DA", "Ada%40B%C3%BCcher.de", "ADA%40XN--"] {
        let res = app.get(&format!("/users?email={query}"), Some(&admin)).await;
        assert_eq!(res.status, 200, "{}", res.json);
        let found: Vec<&str> =
            res.json["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(found, ["ada@xn--bcher-kva.de"], "{query}");
    }
}

#[tokio::test]
async fn forged_tokens_buy_no_password_hash() {
    let app = app_with_ses().await;
    let (owner, _) = app.signed_in(&unique("owner"), PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let hashes = || app.state.passwords().computed();
    let before = hashes();
    let forged = "A".repeat(43);
    for _ in 0..10 {
        let reset = app.post("/auth/password/reset", json!({"token": forged, "new_password": PASSWORD})).await;
        reset.assert_problem(422);
        let accept =
            app.post("/invitations/accept", json!({"token": forged, "name": "Mallory", "password": PASSWORD})).await;
        accept.assert_problem(404);
    }
    assert_eq!(hashes(), before, "no forged token cost a hash");

    // A real invitation already used, or for an address with an account, costs none either.
    let kim = unique("kim");
    let invited =
        app.call(Method::POST, format!("/orgs/{org}/invitations"), Some(json!({"email": kim})), Some(&owner)).await;
    assert_eq!(invited.status, 201);
    let token = identity_testkit::ses::token_in(&identity_testkit::ses::mails_to(&kim).await[0]);
    let signup = json!({"token": token, "name": "Kim", "password": PASSWORD});
    assert_eq!(app.post("/invitations/accept", signup.clone()).await.status, 201);
    let before = hashes();
    app.post("/invitations/accept", signup).await.assert_problem(409);
    assert_eq!(hashes(), before, "a spent invitation costs no hash");

    // A real reset token still works, and costs exactly its one hash.
    app.post("/auth/password/forgot", json!({"email": kim})).await;
    let mut mails = vec![];
    for _ in 0..100 {
        mails = identity_testkit::ses::mails_to(&kim).await;
        if mails.len() > 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let reset_token = identity_testkit::ses::token_in(mails.last().unwrap());
    let before = hashes();
    let reset =
        app.post("/auth/password/reset", json!({"token": reset_token, "new_password": "another password"})).await;
    assert_eq!(reset.status, 204, "{}", reset.json);
    assert_eq!(hashes(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hashing_queue_sheds_logins_with_503_and_retry_after() {
    // The real cost, and no room to wait: logins beyond the cores are shed at once.
    let app = Arc::new(
        app_with(&[("ARGON2_MEMORY_KIB", "19456"), ("ARGON2_ITERATIONS", "2"), ("PASSWORD_HASH_QUEUE", "0")]).await,
    );
    let email = unique("ada");
    app.user(&email, PASSWORD).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let app = app.clone();
        tasks.spawn(async move {
            // Unknown addresses, each its own: a wrong password for one would lock it.
            let res = app.post("/auth/login", json!({"email": unique("nobody"), "password": PASSWORD})).await;
            (res.status.as_u16(), res.header("retry-after").map(str::to_owned))
        });
    }
    let answers = tasks.join_all().await;
    let shed: Vec<_> = answers.iter().filter(|(s, _)| *s == 503).collect();
    assert!(!shed.is_empty(), "16 at once on a queue of 0: {answers:?}");
    assert!(shed.iter().all(|(_, after)| after.as_deref() == Some("1")), "{shed:?}");
    assert!(answers.iter().all(|(s, _)| *s == 401 || *s == 503), "{answers:?}");
    // Once the burst is over, logins are checked again.
    let res = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(res.status, 200, "{}", res.json);
}
