//! How requests use the database: statements prepared once per connection and run from the
//! cache, few of them per request, and the warmest connection first.

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
    let runs = |needles: &[&str]| -> Vec<i64> {
        rows.iter().filter(|r| needles.iter().all(|n| r.get::<_, String>(0).contains(n))).map(|r| r.get(1)).collect()
    };
    // Prepared once (one named statement: the caller's check with the read inside), executed
    // once per request: the read costs one round trip instead of a parse round trip before it.
    assert_eq!(runs(&["WITH caller AS", "FROM organizations o WHERE o.id = $"]), [10], "{rows:?}");
    // The organization and its creator's membership were written once; their statements
    // were prepared once too, not once per use.
    let texts: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let distinct: std::collections::HashSet<&String> = texts.iter().collect();
    assert_eq!(distinct.len(), texts.len(), "a statement text was prepared twice: {texts:?}");
}

#[tokio::test]
async fn every_read_runs_its_generic_plan_instead_of_planning_each_time() {
    let app = app_with(&[("DATABASE_POOL_SIZE", "1")]).await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Acme").await;
    for _ in 0..10 {
        assert_eq!(app.get(&format!("/orgs/{org}/members?limit=20"), Some(&token)).await.status, 200);
    }

    let client = app.state.pool().get().await.unwrap();
    let rows =
        client.query("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements", &[]).await.unwrap();
    let page = rows.iter().find(|r| r.get::<_, String>(0).contains("ma.user_id) > (")).expect("the members page");
    // Left to choose, PostgreSQL plans each of the first five runs afresh and, for this page,
    // every later one too: its generic plan's estimate assumes a larger LIMIT.
    assert_eq!((page.get::<_, i64>(1), page.get::<_, i64>(2)), (10, 0), "generic and custom plans of the page");
    let planned: Vec<&str> = rows.iter().filter(|r| r.get::<_, i64>(2) > 0).map(|r| r.get(0)).collect();
    assert!(planned.is_empty(), "statements planned per run: {planned:?}");
}

/// Statements run on the app's one connection so far, from its prepared statements' counters.
async fn executions(app: &identity_testkit::TestApp) -> i64 {
    let client = app.state.pool().get().await.unwrap();
    let row = client
        .query_one("SELECT coalesce(sum(generic_plans + custom_plans), 0)::bigint FROM pg_prepared_statements", &[])
        .await
        .unwrap();
    row.get(0)
}

#[tokio::test]
async fn login_refresh_and_an_authenticated_read_run_few_statements() {
    let app = app_with(&[("DATABASE_POOL_SIZE", "1")]).await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Acme").await;
    let rounds = 5;

    let before = executions(&app).await;
    let mut refresh_tokens = vec![];
    for _ in 0..rounds {
        refresh_tokens.push(app.login("ada@example.com", PASSWORD).await.1);
    }
    // Whether the address's domain requires single sign-on, the attempt reservation, the
    // credentials, clearing the failures, the verified-domain probe (Ada's address is proven;
    // no domain enrolls her, so nothing more), and the session with its first refresh token
    // (no per-IP count: requests here carry no client address).
    assert_eq!(executions(&app).await - before, 6 * rounds, "statements per login");

    let before = executions(&app).await;
    for token in &refresh_tokens {
        let res = app.post("/auth/refresh", serde_json::json!({ "refresh_token": token })).await;
        assert_eq!(res.status, 200, "{}", res.json);
    }
    // Consume the token, touch the session (reading its user), store the next token; plus
    // BEGIN and COMMIT, which are not prepared statements.
    assert_eq!(executions(&app).await - before, 3 * rounds, "statements per refresh");

    let before = executions(&app).await;
    for _ in 0..rounds {
        assert_eq!(app.get(&format!("/orgs/{org}"), Some(&token)).await.status, 200);
    }
    // The session, user and membership check with the read inside it: one statement.
    assert_eq!(executions(&app).await - before, rounds, "statements per authenticated read");
}

/// The server process behind a connection.
async fn backend(client: &impl identity_shared::repositories::GenericClient) -> i32 {
    client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_most_recently_used_connection_serves_next() {
    let app = app_with(&[("DATABASE_POOL_SIZE", "3")]).await;
    let pool = app.state.pool();
    // Three connections open at once, returned in order: the last one back is the next one out.
    let (a, b, c) = (pool.get().await.unwrap(), pool.get().await.unwrap(), pool.get().await.unwrap());
    let last_back = backend(&c).await;
    drop(a);
    drop(b);
    drop(c);
    for _ in 0..3 {
        let next = pool.get().await.unwrap();
        assert_eq!(backend(&next).await, last_back);
    }
}

// One thread: a connection's task writes only when the request's task yields, as it does when
// both run on one worker (identity serve's requests are tasks of their own). From the test's
// own thread a worker could write the first statement before the second is queued.
#[tokio::test]
async fn every_org_read_is_one_round_trip_like_me() {
    // Counted on the wire by the proxy: the caller's resolution travels with the read.
    let (app, proxy) = crate::database::app_behind_proxy("5000").await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Acme").await;
    let me = crate::user_id(&app, &token);
    let invited = app
        .call(
            axum::http::Method::POST,
            format!("/orgs/{org}/invitations"),
            Some(serde_json::json!({"email": "bob@example.com"})),
            Some(&token),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.json);
    let invitation = invited.json["id"].as_str().unwrap().to_owned();
    let reads = [
        "/me".to_owned(),
        format!("/orgs/{org}"),
        format!("/orgs/{org}/members?limit=20"),
        format!("/orgs/{org}/members/{me}"),
        format!("/orgs/{org}/roles"),
        format!("/orgs/{org}/invitations"),
        format!("/orgs/{org}/invitations/{invitation}"),
        format!("/orgs/{org}/audit-log"),
    ];
    let requests = 10;
    for path in &reads {
        // Warm: every statement the read uses is prepared on the connections first.
        for _ in 0..3 {
            assert_eq!(app.get(path, Some(&token)).await.status, 200, "{path}");
        }
        let before = proxy.round_trips();
        for _ in 0..requests {
            assert_eq!(app.get(path, Some(&token)).await.status, 200, "{path}");
        }
        let trips = proxy.round_trips() - before;
        assert_eq!(trips, requests, "{path}: {trips} round trips for {requests} requests");
    }
}

/// Round trips per request for five calls of `method path` (after three that warm the
/// connection's prepared statements), the body of call n from `body(n)`.
async fn trips_per_call(
    app: &identity_testkit::TestApp,
    proxy: &identity_testkit::proxy::Proxy,
    token: &str,
    (method, path): (axum::http::Method, String),
    body: impl Fn(usize) -> serde_json::Value,
    status: u16,
) -> f64 {
    let mut before = 0;
    for n in 0..8 {
        if n == 3 {
            before = proxy.round_trips();
        }
        let res = app.call(method.clone(), path.clone(), Some(body(n)), Some(token)).await;
        assert_eq!(res.status, status, "{method} {path}: {}", res.json);
    }
    (proxy.round_trips() - before) as f64 / 5.0
}

#[tokio::test(flavor = "current_thread")]
async fn a_write_sends_its_independent_statements_together() {
    let (app, proxy) = crate::database::app_behind_proxy("5000").await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Acme").await;
    let bob = app.user("bob@example.com", PASSWORD).await;
    app.add_member(org, bob, &["member"]).await;
    // The caller; BEGIN; the org's lock and the caller read again under it, together; the
    // member, the roles asked for and the member's permissions together; the new roles and the
    // audit row together; COMMIT. (Eleven when each statement waited for the one before.)
    let put = (axum::http::Method::PUT, format!("/orgs/{org}/members/{bob}/roles"));
    let role = |n: usize| serde_json::json!({"roles": [if n.is_multiple_of(2) { "admin" } else { "member" }]});
    assert_eq!(trips_per_call(&app, &proxy, &token, put, role, 200).await, 6.0, "round trips per role change");
    // The caller; BEGIN; the org's lock and the caller read again under it (so seats and
    // the inviter's rights are judged with no other invitation being written), together; the
    // roles, the member check, the org and retiring stale invitations together; the insert;
    // the mail and the audit row together; COMMIT; then the mail's claim and its record as
    // sent. (Thirteen before; eight before the lock.)
    let post = (axum::http::Method::POST, format!("/orgs/{org}/invitations"));
    let guest = |n: usize| serde_json::json!({"email": format!("guest{n}@example.com")});
    assert_eq!(trips_per_call(&app, &proxy, &token, post, guest, 201).await, 9.0, "round trips per invitation");
}

#[tokio::test(flavor = "current_thread")]
async fn statements_sent_together_in_order_run_in_order_on_a_fresh_connection() {
    // One connection, on which reading an invitation is prepared and inserting one is not:
    // sent together, the insert's parse would hold it back while its read-back, prepared
    // already, ran ahead and found nothing.
    let app = app_with(&[("DATABASE_POOL_SIZE", "1")]).await;
    let (token, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &token, "Acme").await;
    let ada = crate::user_id(&app, &token);
    let id = uuid::Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO invitations (id, org_id, email, role_ids, invited_by, token_hash, ttl_days, expires_at)
         VALUES ('{id}', '{org}', 'old@example.com', '{{}}', '{ada}', '\\x00', 7, now() + interval '7 days')"
    ))
    .await;
    assert_eq!(app.get(&format!("/orgs/{org}/invitations/{id}"), Some(&token)).await.status, 200);

    let body = serde_json::json!({"email": "bob@example.com"});
    let res = app.call(axum::http::Method::POST, format!("/orgs/{org}/invitations"), Some(body), Some(&token)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    assert_eq!(res.json["email"], "bob@example.com");
}

#[tokio::test]
async fn a_read_refuses_a_stranger_before_it_judges_their_query() {
    let app = crate::app().await;
    let (owner, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let (stranger, _) = app.signed_in("eve@example.com", PASSWORD).await;
    for query in ["members?limit=abc", "members?cursor=garbage", "audit-log?limit=0", "invitations?status=nope"] {
        let path = format!("/orgs/{org}/{query}");
        app.get(&path, Some(&stranger)).await.assert_problem(404);
        app.get(&path, Some("not a token")).await.assert_problem(401);
        let member = app.get(&path, Some(&owner)).await;
        assert!([400, 422].contains(&member.status.as_u16()), "{path}: {}", member.status);
    }
}

#[tokio::test]
async fn an_org_read_returns_its_rows_only_to_a_caller_its_check_allows() {
    use identity_shared::repositories::{memberships, organizations, reads};
    let app = app_with(&[]).await;
    let (owner, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let (stranger, _) = app.signed_in("eve@example.com", PASSWORD).await;
    let org = create_org(&app, &owner, "Acme").await;
    let client = app.state.pool().get().await.unwrap();
    let read_as = |token: &str| {
        let claims = app.state.jwt().verify(token).unwrap();
        (claims.sid, claims.sub)
    };
    let permission = "org:read";

    // The owner: found, a member, allowed; the organization comes back in the same statement.
    let session = read_as(&owner);
    let (caller, found) =
        reads::checked(memberships::caller_check(&session, &org, &permission), organizations::find(&client, org))
            .await
            .unwrap();
    assert_eq!(caller.expect("the owner's session").caller_org_id, Some(org));
    assert_eq!(found.expect("the organization").id, org);

    // A stranger: found, no member, so PostgreSQL returns no row of the organization at all.
    let session = read_as(&stranger);
    let (caller, found) =
        reads::checked(memberships::caller_check(&session, &org, &permission), organizations::find(&client, org))
            .await
            .unwrap();
    assert_eq!(caller.expect("the stranger's session").caller_org_id, None);
    assert!(found.is_none(), "the read ran for a caller its check refused");

    // A member without the permission asked for: no row either.
    let (caller, found) = reads::checked(
        memberships::caller_check(&read_as(&owner), &org, &"no:such"),
        organizations::find(&client, org),
    )
    .await
    .unwrap();
    assert!(caller.is_some() && found.is_none());
}
