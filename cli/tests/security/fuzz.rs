//! Property-based fuzzing (proptest; cargo-fuzz needs a nightly toolchain) of token
//! verification, email canonicalization and request body parsing. PROPTEST_CASES sets the
//! cases per property: `scripts/security` runs the default in CI and more with `--long`.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use identity_shared::Config;
use identity_shared::api::auth::{LoginRequest, RegisterRequest};
use identity_shared::auth::jwt::{JwtKeys, generate_key};
use identity_shared::http::{ApiJson, AppState};
use identity_shared::models::Email;
use identity_testkit::figure;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use tower::ServiceExt;

fn config() -> Config {
    static KEY: OnceLock<String> = OnceLock::new();
    let key = KEY.get_or_init(|| generate_key().0);
    let map: HashMap<String, String> =
        [("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"), ("JWT_PRIVATE_KEY", key.as_str())]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    Config::from_map(&map).unwrap()
}

fn keys() -> &'static JwtKeys {
    static KEYS: OnceLock<JwtKeys> = OnceLock::new();
    KEYS.get_or_init(|| JwtKeys::from_config(&config()).unwrap())
}

fn genuine() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        keys().sign(&keys().claims(uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), "a@example.com").unwrap()).unwrap()
    })
}

fn proptest_config() -> ProptestConfig {
    // No regression files written into the source tree; a failure prints its minimal case.
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

fn report(property: &str) {
    figure(format!("fuzz: {property}: {} cases, 0 failures", proptest_config().cases));
}

/// An edit of a token: overwrite, insert or delete one byte, or swap a part.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Part(usize, String),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (0..3usize, "[A-Za-z0-9_-]{0,120}").prop_map(|(i, s)| Edit::Part(i, s)),
    ];
    proptest::collection::vec(edit, 1..4)
}

fn apply(token: &str, edits: &[Edit]) -> Vec<u8> {
    let mut bytes = token.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            Edit::Set(i, b) => {
                if !bytes.is_empty() {
                    bytes[i % len] = *b;
                }
            }
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), *b),
            Edit::Delete(i) => {
                if !bytes.is_empty() {
                    bytes.remove(i % len);
                }
            }
            Edit::Part(i, s) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let mut parts: Vec<String> = text.split('.').map(str::to_owned).collect();
                let i = i % parts.len();
                parts[i] = s.clone();
                bytes = parts.join(".").into_bytes();
            }
        }
    }
    bytes
}

#[test]
fn token_verification_accepts_nothing_but_genuine_tokens() {
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config());
    runner
        .run(&edits(), |edits| {
            let bytes = apply(genuine(), &edits);
            if let Ok(text) = std::str::from_utf8(&bytes)
                && text != genuine()
            {
                // A changed token verifies only if the edit left header and signature
                // meaningfully intact, which for Ed25519 means it did not change at all.
                let decoded = |t: &str| t.split('.').map(|p| URL_SAFE_NO_PAD.decode(p).ok()).collect::<Vec<_>>();
                if let Ok(claims) = keys().verify(text) {
                    prop_assert_eq!(decoded(text), decoded(genuine()), "a different token verified: {:?}", claims);
                }
            }
            Ok(())
        })
        .unwrap();
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..600), |bytes| {
            let text = String::from_utf8_lossy(&bytes);
            prop_assert!(keys().verify(&text).is_err());
            Ok(())
        })
        .unwrap();
    runner
        .run(&"[A-Za-z0-9_=-]{0,200}\\.[A-Za-z0-9_=-]{0,400}\\.[A-Za-z0-9_=-]{0,120}", |text| {
            prop_assert!(keys().verify(&text).is_err());
            Ok(())
        })
        .unwrap();
    report("token verification (edited genuine tokens, random bytes, JWT-shaped strings)");
}

/// Local parts and domains built from the characters that cause trouble: case, fullwidth,
/// combining marks, invisible and control characters, dots and at signs.
fn email_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9._+-]{1,12}",
        "[\\u{FF01}-\\u{FF5E}]{1,4}",
        "[\\u{00C0}-\\u{017F}]{1,4}",
        "[\\u{0300}-\\u{036F}]{1,2}",
        "[\\u{200B}-\\u{200F}\\u{FEFF}\\u{0000}-\\u{001F}]{1,2}",
        "[.@ ]{1,2}",
        any::<String>(),
    ];
    (proptest::collection::vec(piece.clone(), 1..4), proptest::collection::vec(piece, 1..4), "[a-zA-Z]{2,6}")
        .prop_map(|(local, domain, tld)| format!("{}@{}.{tld}", local.concat(), domain.concat()))
}

#[test]
fn email_canonicalization_is_idempotent_and_total() {
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config());
    runner
        .run(&email_like(), |raw| {
            if let Ok(canonical) = Email::parse(&raw) {
                let canonical = canonical.as_str().to_owned();
                let again = Email::parse(&canonical).map(|e| e.as_str().to_owned());
                prop_assert_eq!(again, Ok(canonical.clone()), "its canonical form is accepted as itself");
                prop_assert!(canonical.len() <= 254);
                prop_assert!(!canonical.chars().any(|c| c.is_control() || c.is_whitespace()));
                let (local, domain) = canonical.rsplit_once('@').unwrap();
                prop_assert!(domain.is_ascii() && domain == domain.to_ascii_lowercase(), "{}", canonical);
                prop_assert_eq!(local.to_lowercase(), local);
                // Case never makes another account (full Unicode upper-casing is not used: it
                // turns ß into SS, another mailbox).
                for variant in [raw.to_lowercase(), raw.to_ascii_uppercase()] {
                    prop_assert_eq!(Email::parse(&variant).map(|e| e.as_str().to_owned()), Ok(canonical.clone()));
                }
            }
            Ok(())
        })
        .unwrap();
    // Sanity: the generator reaches the accepting side as well as the refusing one.
    runner
        .run(&"[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,4}", |raw| {
            prop_assert_eq!(Email::parse(&raw.to_uppercase()).map(|e| e.as_str().to_owned()), Ok(raw));
            Ok(())
        })
        .unwrap();
    report("email canonicalization (case, fullwidth, combining, invisible and control characters)");
}

fn parsing_router() -> Router {
    let state = AppState::new(config()).unwrap();
    let routes = Router::new()
        .route("/register", post(|ApiJson(_): ApiJson<RegisterRequest>| async { StatusCode::NO_CONTENT }))
        .route("/login", post(|ApiJson(_): ApiJson<LoginRequest>| async { StatusCode::NO_CONTENT }));
    identity_shared::http::with_state(identity_shared::http::finish(routes), state)
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
            proptest::collection::hash_map(
                prop_oneof![
                    Just("email".to_owned()),
                    Just("password".to_owned()),
                    Just("name".to_owned()),
                    any::<String>()
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn body_parsing_answers_only_4xx_or_success() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let router = parsing_router();
    let send = |path: &'static str, body: Vec<u8>| {
        let request = Request::post(path).header("content-type", "application/json").body(Body::from(body)).unwrap();
        runtime.block_on(router.clone().oneshot(request)).unwrap().status()
    };
    let allowed = [204, 400, 413, 422];
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config());
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..2048), |bytes| {
            for path in ["/register", "/login"] {
                let status = send(path, bytes.clone()).as_u16();
                prop_assert!(allowed.contains(&status), "{} -> {}", path, status);
            }
            Ok(())
        })
        .unwrap();
    runner
        .run(&json_value(), |value| {
            for path in ["/register", "/login"] {
                let status = send(path, value.to_string().into_bytes()).as_u16();
                prop_assert!(allowed.contains(&status), "{} {} -> {}", path, value, status);
            }
            Ok(())
        })
        .unwrap();
    report("request body parsing (random bytes and random JSON on register and login bodies)");
}
