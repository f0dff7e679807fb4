//! The `identity` command's admin subcommands, run as a user would run them.

use std::process::Command;

use identity_testkit::TestApp;

fn identity(db_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_identity"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env_remove("JWT_PRIVATE_KEY")
        .output()
        .expect("running identity")
}

#[tokio::test]
async fn keygen_prints_a_key_the_api_accepts_for_each_algorithm() {
    for (args, alg) in [(&["keygen"][..], "EdDSA"), (&["keygen", "--alg", "ES256"][..], "ES256")] {
        let out = identity("postgres://unused/x", args);
        assert!(out.status.success());
        let stdout = String::from_utf8(out.stdout).unwrap();
        let line = |name: &str| stdout.lines().find_map(|l| l.strip_prefix(name)).map(str::to_owned);
        let key = line("JWT_PRIVATE_KEY=").expect("a JWT_PRIVATE_KEY= line");
        let sealing = line("MFA_ENCRYPTION_KEY=").expect("an MFA_ENCRYPTION_KEY= line");
        assert!(sealing.len() >= identity_shared::auth::sealed::MIN_KEY_LEN);
        let overrides = [("JWT_PRIVATE_KEY", key.as_str()), ("MFA_ENCRYPTION_KEY", sealing.as_str())];
        let app = TestApp::new(identity_cli::routes(), &overrides).await;
        let (token, _) = app.signed_in("ada@example.com", "long enough").await;
        assert_eq!(app.get("/me", Some(&token)).await.status, 200);
        assert_eq!(format!("{:?}", jsonwebtoken::decode_header(&token).unwrap().alg), alg);
        // The public half it prints is what a verify-only function needs to accept that token.
        let stderr = String::from_utf8(out.stderr).unwrap();
        let public = stderr.trim().strip_prefix("JWT_PUBLIC_KEY=").and_then(|rest| rest.split(' ').next()).unwrap();
        let config = app.db.config(&[("JWT_PRIVATE_KEY", ""), ("JWT_PUBLIC_KEY", public)]);
        let verifier = identity_shared::auth::jwt::JwtKeys::from_config(&config).unwrap();
        assert!(!verifier.can_sign() && verifier.verify(&token).is_ok());
    }
    assert!(!identity("postgres://unused/x", &["keygen", "--alg", "HS256"]).status.success());
}

#[tokio::test]
async fn create_admin_promotes_an_existing_user_and_refuses_unknown_emails() {
    let app = TestApp::new(identity_cli::routes(), &[]).await;
    let (token, _) = app.signed_in("ada@example.com", "long enough").await;
    assert_eq!(app.get("/users", Some(&token)).await.status, 403);
    // Any spelling register would take for the address: case, full-width letters.
    let out = identity(&app.db.url, &["create-admin", "--email", "\u{FF21}da@\u{FF25}xample.COM"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is now a platform admin"));
    assert_eq!(app.get("/users", Some(&token)).await.status, 200, "takes effect on the next request");
    let missing = identity(&app.db.url, &["create-admin", "--email", "ghost@example.com"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("register first"));
    let malformed = identity(&app.db.url, &["create-admin", "--email", "not-an-address"]);
    assert!(!malformed.status.success());
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("--email must be an email address"), "{malformed:?}");
}

#[tokio::test]
async fn apps_create_registers_an_application_as_a_platform_admin() {
    let app = TestApp::new(identity_cli::routes(), &[]).await;
    let (token, _) = app.signed_in("ada@example.com", "long enough").await;
    let key = identity_shared::auth::jwt::generate_key().0;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_identity"))
            .args(args)
            .env("DATABASE_URL", &app.db.url)
            .env("JWT_PRIVATE_KEY", &key)
            .output()
            .expect("running identity")
    };
    let args = [
        "apps",
        "create",
        "--admin",
        "ada@example.com",
        "--name",
        "Acme CRM",
        "--kind",
        "web",
        "--redirect-uri",
        "https://crm.example.com/callback",
        "--allow-sign-up",
    ];
    let refused = run(&args);
    assert!(!refused.status.success(), "not an admin yet");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("platform administrator"), "{refused:?}");
    assert!(identity(&app.db.url, &["create-admin", "--email", "ada@example.com"]).status.success());
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((created["kind"].as_str(), created["allow_sign_up"].as_bool()), (Some("web"), Some(true)));
    assert!(created["client_secret"].as_str().unwrap().starts_with("idn_cs_"));
    let id = created["client_id"].as_str().unwrap();
    let listed = app.get(&format!("/oauth2/clients/{id}"), Some(&token)).await;
    assert_eq!(listed.json["redirect_uris"], serde_json::json!(["https://crm.example.com/callback"]));
    let bad = run(&[
        "apps",
        "create",
        "--admin",
        "ada@example.com",
        "--name",
        "x",
        "--redirect-uri",
        "http://crm.example.com/cb",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("redirect_uris"), "{bad:?}");
}

#[tokio::test]
async fn migrate_is_idempotent_from_the_command_line() {
    let db = identity_testkit::TestDatabase::create_empty().await;
    let first = identity(&db.url, &["migrate"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(
        String::from_utf8_lossy(&first.stdout).trim(),
        "applied 19 migration(s): V1__init, V2__ip_limits, V3__default_role, V4__one_live_token, V5__access_views, V6__member_access_columns, V7__accounts_and_limits, V8__mfa, V9__security_stamp, V10__quotas, V11__api_keys, V12__revoked_tokens, V13__oauth_clients, V14__request_counters, V15__events, V16__webhooks, V17__domains, V18__openid_provider, V19__sso"
    );
    let second = identity(&db.url, &["migrate"]);
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), "applied 0 migration(s)");
}

/// An app whose mail SES refuses (nothing listens on port 9), so what it sends stays queued.
async fn app_refusing_mail() -> TestApp {
    let refusing = [
        ("MAIL_TRANSPORT", "ses"),
        ("AWS_ENDPOINT_URL_SES", "http://127.0.0.1:9"),
        ("MAIL_RETRY_BASE_SECS", "0"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    TestApp::new(identity_cli::routes(), &refusing).await
}

#[tokio::test]
async fn mail_drain_sends_what_the_outbox_holds() {
    let emulator = identity_testkit::ses::url();
    // Queued while SES refused (nothing listens on port 9)...
    let app = app_refusing_mail().await;
    let email = format!("drain.{}@example.com", uuid::Uuid::now_v7().simple());
    app.user(&email, "long enough").await;
    // ...and sent by the command, pointed at the emulator.
    let out = Command::new(env!("CARGO_BIN_EXE_identity"))
        .args(["mail", "drain"])
        .env("DATABASE_URL", &app.db.url)
        .env("MAIL_TRANSPORT", "ses")
        .env("AWS_ENDPOINT_URL_SES", &emulator)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "sent 1, retrying 0, dead 0");
    assert_eq!(identity_testkit::ses::mails_to(&email).await.len(), 1);
}

#[tokio::test]
async fn mail_drain_finds_credentials_through_aws_configs_chain_in_a_profile() {
    let emulator = identity_testkit::ses::url();
    let app = app_refusing_mail().await;
    let email = format!("profile.{}@example.com", uuid::Uuid::now_v7().simple());
    app.user(&email, "long enough").await;
    // A developer's machine: no keys in the environment, a named profile in ~/.aws.
    let home = std::env::temp_dir().join(format!("aws-home-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/config"), "[profile dev]\nregion = eu-west-3\n").unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        "[dev]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n",
    )
    .unwrap();
    let drain = |profile: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_identity"));
        command.args(["mail", "drain"]).env("DATABASE_URL", &app.db.url).env("MAIL_TRANSPORT", "ses");
        command.env("AWS_ENDPOINT_URL_SES", &emulator).env("MAIL_RETRY_BASE_SECS", "0").env("HOME", &home);
        for name in
            ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"]
        {
            command.env_remove(name);
        }
        // No instance role to fall back on, and no waiting for one.
        command.env("AWS_PROFILE", profile).env("AWS_EC2_METADATA_DISABLED", "true");
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(drain("nobody"), "sent 0, retrying 1, dead 0", "no profile, no credentials: the send fails");
    assert_eq!(drain("dev"), "sent 1, retrying 0, dead 0");
    assert_eq!(identity_testkit::ses::mails_to(&email).await.len(), 1);
    std::fs::remove_dir_all(home).unwrap();
}

#[tokio::test]
async fn totp_prints_the_code_an_authenticator_shows_for_the_enrolled_secret() {
    let app = TestApp::new(identity_cli::routes(), &[]).await;
    let (token, _) = app.signed_in("ada@example.com", "long enough").await;
    let res = app
        .call(
            axum::http::Method::POST,
            "/me/mfa/totp",
            Some(serde_json::json!({"password": "long enough"})),
            Some(&token),
        )
        .await;
    let secret = res.json["secret"].as_str().unwrap();
    // The next step's code: still inside the window if a step boundary passes meanwhile.
    let out = identity("postgres://unused/x", &["totp", secret, "--step", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(code.len(), 6);
    let path = format!("/me/mfa/totp/{}/verify", res.json["id"].as_str().unwrap());
    let ok = app.call(axum::http::Method::POST, &path, Some(serde_json::json!({"code": code})), Some(&token)).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert!(!identity("postgres://unused/x", &["totp", "not base32!"]).status.success());
    let earlier = identity("postgres://unused/x", &["totp", secret, "--step", "-1"]);
    assert!(earlier.status.success(), "a negative step is a step, not a flag");
    assert_eq!(String::from_utf8(earlier.stdout).unwrap().trim().len(), 6);
}

#[tokio::test]
async fn mfa_reseal_moves_every_factor_to_the_new_key_and_reports_what_no_key_opens() {
    const OLD: &str = identity_testkit::MFA_TEST_KEY;
    const NEW: &str = "the rotated-in mfa key, also 32 bytes or more";
    let app = TestApp::new(identity_cli::routes(), &[]).await;
    let mut factors = Vec::new();
    for email in ["ada@example.com", "bob@example.com"] {
        let (token, _) = app.signed_in(email, "long enough").await;
        factors.push(app.enrol_totp(&token, "long enough").await);
    }
    // A webhook endpoint's signing secret is sealed with the same key, and moves with the factors.
    let (owner, _) = app.signed_in("owner@example.com", "long enough").await;
    let org =
        app.call(axum::http::Method::POST, "/orgs", Some(serde_json::json!({"name": "Acme"})), Some(&owner)).await;
    let body = serde_json::json!({"url": "https://hooks.example.com/in"});
    let path = format!("/orgs/{}/webhooks", org.json["id"].as_str().unwrap());
    let endpoint = app.call(axum::http::Method::POST, path, Some(body), Some(&owner)).await;
    let webhook_secret = endpoint.json["secret"].as_str().unwrap().to_owned();
    let reseal = |keys: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_identity"));
        command.args(["mfa", "reseal"]).env("DATABASE_URL", &app.db.url).env_remove("MFA_PREVIOUS_ENCRYPTION_KEYS");
        command.envs(keys.iter().copied()).output().expect("running identity")
    };
    let rotation = [("MFA_ENCRYPTION_KEY", NEW), ("MFA_PREVIOUS_ENCRYPTION_KEYS", OLD)];
    let out = reseal(&rotation);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("checked 3 secret(s) (TOTP factors and webhook signing secrets): 3 sealed again"), "{said}");
    let again = String::from_utf8(reseal(&rotation).stdout).unwrap();
    assert!(
        again.contains("checked 3 secret(s) (TOTP factors and webhook signing secrets): 0 sealed again"),
        "{again}"
    );
    let row = &app.sql("SELECT id, sealed FROM webhook_secrets").await[0];
    let opened = identity_shared::auth::sealed::Sealer::new(NEW.as_bytes())
        .unwrap()
        .open(&row.get::<_, Vec<u8>>(1), &identity_shared::services::webhooks::secret_context(row.get(0)))
        .expect("the new key alone opens the webhook secret");
    assert_eq!(opened.plaintext, webhook_secret.as_bytes());

    // The old key gone, both still sign in with their codes.
    let new_only = app.sibling(identity_cli::routes(), &[("MFA_ENCRYPTION_KEY", NEW)]);
    for (email, factor) in ["ada@example.com", "bob@example.com"].into_iter().zip(&factors) {
        new_only.login_with_code(email, "long enough", factor).await;
    }

    // A key that opens none of them: reported, and the command fails without changing a row.
    let before = app.sql("SELECT secret_sealed FROM mfa_factors ORDER BY id").await;
    let out = reseal(&[("MFA_ENCRYPTION_KEY", "a key that sealed nothing here 32 bytes+")]);
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("3 open under no configured key"));
    let after = app.sql("SELECT secret_sealed FROM mfa_factors ORDER BY id").await;
    let bytes = |rows: &[tokio_postgres::Row]| rows.iter().map(|r| r.get::<_, Vec<u8>>(0)).collect::<Vec<_>>();
    assert_eq!(bytes(&before), bytes(&after));
}

/// A receiver on loopback that answers 204 to anything and counts the connections it takes.
fn counting_receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = [0u8; 16 * 1024];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_webhooks_in_process_unless_told_not_to() {
    for sender_off in [false, true] {
        let app = TestApp::new(identity_cli::routes(), &[("WEBHOOK_ALLOW_LOCAL_TARGETS", "true")]).await;
        let (url, connections) = counting_receiver();
        let (owner, _) = app.signed_in("owner@example.com", "long enough").await;
        let org =
            app.call(axum::http::Method::POST, "/orgs", Some(serde_json::json!({"name": "Acme"})), Some(&owner)).await;
        let org = org.json["id"].as_str().unwrap().to_owned();
        let body = serde_json::json!({"url": url, "event_types": ["role.created"]});
        let made = app.call(axum::http::Method::POST, format!("/orgs/{org}/webhooks"), Some(body), Some(&owner)).await;
        assert_eq!(made.status, 201, "{}", made.json);
        let keys = identity("postgres://unused/x", &["keygen"]);
        let key = String::from_utf8(keys.stdout).unwrap();
        let key = key.lines().find_map(|l| l.strip_prefix("JWT_PRIVATE_KEY=")).unwrap().to_owned();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let serve = Command::new(env!("CARGO_BIN_EXE_identity"))
            .arg("serve")
            .env("PORT", port.to_string())
            .env("DATABASE_URL", &app.db.url)
            .env("JWT_PRIVATE_KEY", key)
            .env("MFA_ENCRYPTION_KEY", identity_testkit::MFA_TEST_KEY)
            .env("WEBHOOK_ALLOW_LOCAL_TARGETS", "true")
            .env("WEBHOOK_SENDER_OFF", sender_off.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let serve = Killed(serve);
        // A change made elsewhere (no hand-off reaches this server): its sender's sweep finds it.
        let role = serde_json::json!({"name": "auditor", "permissions": ["members:read"]});
        let made = app.call(axum::http::Method::POST, format!("/orgs/{org}/roles"), Some(role), Some(&owner)).await;
        assert_eq!(made.status, 201);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
        while connections.load(std::sync::atomic::Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        drop(serve);
        let delivered = connections.load(std::sync::atomic::Ordering::SeqCst);
        match sender_off {
            false => assert_eq!(delivered, 1, "serve's sender delivered within its sweep"),
            true => {
                assert_eq!(delivered, 0, "--without-webhook-sender sends nothing");
                let pending = app.sql("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'").await;
                assert_eq!(pending[0].get::<_, i64>(0), 1, "but the delivery stays queued");
            }
        }
    }
}

/// A child process killed when dropped, a failing assertion included.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
