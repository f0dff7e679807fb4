//! TLS to PostgreSQL against a real server with `ssl=on` and a `hostssl`-only pg_hba: each
//! sslmode does what docs/deploy.md says, and a certificate that does not verify is a 503 whose
//! log line says why.

use identity_shared::db::{self, DbError};
use identity_testkit::tls::TlsServer;
use identity_testkit::{TestApp, TestDatabase};
use serde_json::json;

use crate::PASSWORD;

/// An app (any database for its settings) pointed at `url`.
async fn app_on(url: &str) -> TestApp {
    TestApp::on(identity_cli::routes(), TestDatabase::create().await, &[("DATABASE_URL", url)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_right_ca_and_host_name_serves_every_request_over_tls() {
    let server = TlsServer::start().await;
    let url = server.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", server.ca.display()));
    let app = app_on(&url).await;
    let mut client = db::connect(app.state.config()).await.expect("a verified TLS connection");
    db::migrate(&mut client, app.state.config().database_statement_timeout).await.unwrap();
    let ssl: bool =
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0);
    assert!(ssl, "the session is encrypted");

    let res =
        app.post("/auth/register", json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"})).await;
    assert_eq!(res.status, 202, "{}", res.json);
    let login = app.post("/auth/login", json!({"email": "ada@example.com", "password": PASSWORD})).await;
    assert_eq!(login.status, 200, "{}", login.json);
    let me = app.get("/me", login.json["access_token"].as_str()).await;
    assert_eq!(me.status, 200, "{}", me.json);
    let plain: i64 = client
        .query_one("SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'identity-api' AND NOT s.ssl", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(plain, 0, "no pooled connection is plain text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sslmode_connects_or_refuses_as_documented() {
    let server = TlsServer::start().await;
    let (ca, other) = (server.ca.display().to_string(), server.other_ca.display().to_string());
    // (host, query, connects, what the failure says): the certificate names localhost only.
    let cases = [
        ("localhost", format!("sslmode=verify-full&sslrootcert={ca}"), true, ""),
        ("127.0.0.1", format!("sslmode=verify-full&sslrootcert={ca}"), false, "not valid for name"),
        ("127.0.0.1", format!("sslmode=verify-ca&sslrootcert={ca}"), true, ""),
        ("127.0.0.1", format!("sslmode=require&sslrootcert={ca}"), true, ""),
        ("localhost", format!("sslmode=prefer&sslrootcert={ca}"), true, ""),
        ("localhost", format!("sslmode=verify-full&sslrootcert={other}"), false, "UnknownIssuer"),
        // The built-in RDS roots did not sign this test server's certificate.
        ("localhost", "sslmode=require".to_owned(), false, "UnknownIssuer"),
    ];
    for (host, query, connects, says) in cases {
        let app = app_on(&server.url(host, &query)).await;
        let health = app.get("/health", None).await;
        let direct = db::connect(app.state.config()).await;
        if connects {
            assert_eq!(health.status, 200, "{host} {query}: {}", health.json);
            let client = direct.unwrap_or_else(|e| panic!("{host} {query}: {e}"));
            let ssl: bool =
                client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0);
            assert!(ssl, "{host} {query}");
        } else {
            health.assert_problem(503);
            assert_eq!(health.header("retry-after"), Some("1"));
            match direct {
                Err(DbError::Unavailable(reason)) => {
                    assert!(
                        reason.contains("TLS") && reason.contains(says),
                        "{host} {query}: the reason says why: {reason}"
                    )
                }
                other => panic!("{host} {query}: {other:?}"),
            }
        }
    }
    // Plain text is refused by the server (no pg_hba entry without TLS), never used.
    let plain = app_on(&server.url("localhost", "sslmode=disable")).await;
    let res = plain.get("/health", None).await;
    assert!(res.status.is_server_error(), "{}", res.json);
    let Err(refused) = db::connect(plain.state.config()).await else { panic!("a plain connection was accepted") };
    assert!(refused.to_string().contains("no encryption"), "{refused}");
}
