//! Forged, altered and misused access tokens, sent over HTTP: every one is 401.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use identity_shared::auth::jwt::{AccessClaims, generate_key};
use identity_testkit::TestApp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::{PASSWORD, app_with, figure};

const LEEWAY: u64 = 30;

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The token's three parts.
fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

/// Signs any header and claims with `key` (the attacker's, or HMAC secrets).
fn forge(header: Header, claims: &AccessClaims, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn with_typ_kid(alg: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(alg);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    header
}

/// Every attack as (name, token), built from a live session's genuine token.
fn attacks(app: &TestApp, genuine: &str, refresh: &str, victim: uuid::Uuid) -> Vec<(String, String)> {
    let keys = app.state.jwt();
    // Read, not verified: verifying would keep the genuine token before the cold round.
    let claims: AccessClaims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(genuine.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let kid = keys.jwks().keys[0].kid.clone();
    let x = URL_SAFE_NO_PAD.decode(keys.jwks().keys[0].x.as_ref().unwrap()).unwrap();
    let [head, body, sig]: [String; 3] = parts(genuine).try_into().unwrap();
    let mut out: Vec<(String, String)> = vec![];
    let mut add = |name: &str, token: String| out.push((name.to_owned(), token));

    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(&json!({"alg": alg, "typ": "at+jwt", "kid": kid}));
        add(&format!("alg {alg}, no signature"), format!("{header}.{body}."));
        add(&format!("alg {alg}, genuine signature kept"), format!("{header}.{body}.{sig}"));
    }
    // HMAC keyed with the public key, in each form an attacker could fetch from the JWKS.
    let mut spki = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    spki.extend_from_slice(&x);
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(&spki));
    let jwks_json = serde_json::to_vec(keys.jwks()).unwrap();
    let secrets: [(&str, &[u8]); 5] = [
        ("raw key", &x),
        ("base64url x", keys.jwks().keys[0].x.as_ref().unwrap().as_bytes()),
        ("SPKI DER", &spki),
        ("PEM", pem.as_bytes()),
        ("JWKS document", &jwks_json),
    ];
    for (form, secret) in secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let token = forge(with_typ_kid(alg, &kid), &claims, &EncodingKey::from_secret(secret));
            add(&format!("{alg:?} keyed with the public key ({form})"), token);
        }
    }
    // Tampering.
    let mut flipped = sig.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    add("signature altered", format!("{head}.{body}.{}", String::from_utf8(flipped).unwrap()));
    add("signature removed", format!("{head}.{body}."));
    add("signature truncated", format!("{head}.{body}.{}", &sig[..sig.len() - 4]));
    let mut other = claims.clone();
    other.sub = victim;
    let other_body = b64(&serde_json::to_value(&other).unwrap());
    add("payload altered (another user's id)", format!("{head}.{other_body}.{sig}"));
    let mut admin = serde_json::to_value(&claims).unwrap();
    admin["permissions"] = json!(["org:delete"]);
    admin["is_platform_admin"] = json!(true);
    add("payload altered (permissions added)", format!("{head}.{}.{sig}", b64(&admin)));
    add("header swapped for one without typ", format!("{}.{body}.{sig}", b64(&json!({"alg": "EdDSA", "kid": kid}))));
    // Genuinely signed, wrong claims.
    let resign = |f: &dyn Fn(&mut AccessClaims)| {
        let mut c = claims.clone();
        f(&mut c);
        keys.sign(&c).unwrap()
    };
    add("wrong issuer", resign(&|c| c.iss = "https://evil.example".into()));
    add("wrong audience", resign(&|c| c.aud = "another-api".into()));
    add("empty issuer", resign(&|c| c.iss = String::new()));
    add("expired past the leeway", resign(&|c| c.exp = now() - LEEWAY - 3));
    add("not yet valid past the leeway", resign(&|c| c.nbf = now() + LEEWAY + 5));
    add("unknown session", resign(&|c| c.sid = uuid::Uuid::now_v7()));
    add("unknown user", resign(&|c| c.sub = uuid::Uuid::now_v7()));
    // The genuine signature under a header with another typ: refused by the typ check first.
    for typ in [None, Some("JWT"), Some("at+JWT "), Some("refresh")] {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = typ.map(str::to_owned);
        header.kid = Some(kid.clone());
        add(&format!("typ {typ:?}"), format!("{}.{body}.{sig}", b64(&serde_json::to_value(header).unwrap())));
    }
    // Another key: unknown kid, and header key injection (jwk, jku, x5u) with or without our kid.
    let (attacker_private, attacker_public) = generate_key();
    let attacker = EncodingKey::from_ed_der(&STANDARD.decode(attacker_private).unwrap());
    add("unknown kid, attacker's key", forge(with_typ_kid(Algorithm::EdDSA, "attacker"), &claims, &attacker));
    add("no kid, attacker's key", {
        let mut h = with_typ_kid(Algorithm::EdDSA, "");
        h.kid = None;
        forge(h, &claims, &attacker)
    });
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(
        json!({"kty": "OKP", "crv": "Ed25519", "x": attacker_public, "kid": "attacker", "alg": "EdDSA"}),
    )
    .unwrap();
    for kid_used in [kid.as_str(), "attacker"] {
        let mut h = with_typ_kid(Algorithm::EdDSA, kid_used);
        h.jwk = Some(jwk.clone());
        add(&format!("jwk header injection (kid {kid_used})"), forge(h, &claims, &attacker));
        let mut h = with_typ_kid(Algorithm::EdDSA, kid_used);
        h.jku = Some("https://evil.example/jwks.json".into());
        add(&format!("jku header injection (kid {kid_used})"), forge(h, &claims, &attacker));
        let mut h = with_typ_kid(Algorithm::EdDSA, kid_used);
        h.x5u = Some("https://evil.example/cert.pem".into());
        add(&format!("x5u header injection (kid {kid_used})"), forge(h, &claims, &attacker));
    }
    let kid_path = forge(with_typ_kid(Algorithm::EdDSA, "../../../../dev/null"), &claims, &attacker);
    add("kid path traversal", kid_path);
    let kid_sql = forge(with_typ_kid(Algorithm::EdDSA, "' OR '1'='1"), &claims, &attacker);
    add("kid SQL injection", kid_sql);
    // Misuse and malformed input.
    add("refresh token as access token", refresh.to_owned());
    add(
        "10 KB header",
        format!(
            "{}.{body}.{sig}",
            b64(&json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "pad": "x".repeat(10 * 1024)}))
        ),
    );
    add("10 KB token of junk", "a".repeat(10 * 1024));
    add("two tokens joined", format!("{genuine} {genuine}"));
    add("four parts", format!("{genuine}.{sig}"));
    add("empty", String::new());
    add("not base64", "!!!.???.***".into());
    add("JSON array header", format!("{}.{body}.{sig}", b64(&json!(["EdDSA"]))));
    add("JWE-shaped (five parts)", format!("{head}.{body}.{sig}.{sig}.{sig}"));
    out
}

#[tokio::test]
async fn forged_altered_and_misused_tokens_are_all_401() {
    let app = app_with(&[("JWT_LEEWAY_SECS", &LEEWAY.to_string())]).await;
    let (genuine, refresh) = app.signed_in("ada@example.com", PASSWORD).await;
    let victim = app.user("bob@example.com", PASSWORD).await;
    let attacks = attacks(&app, &genuine, &refresh, victim);
    let kept = || app.state.jwt().verified_tokens().len();
    // Signed with our key for a session or user that does not exist: their signatures are
    // genuine, so they are kept, and the database refuses them on every request.
    let signed_by_us =
        attacks.iter().filter(|(name, _)| ["unknown session", "unknown user"].contains(&name.as_str())).count() as u64;
    let mut accepted = vec![];
    // Cold (no token verified yet, the genuine one not kept), then warm (the genuine token
    // verified and kept): neither a kept token nor a refused one lets a changed one through.
    for round in ["cold", "warm"] {
        if round == "warm" {
            assert_eq!(kept(), signed_by_us, "tokens refused by their signature or claims are never kept");
            assert_eq!(app.get("/me", Some(&genuine)).await.status, 200, "the genuine token works");
        }
        for (name, token) in &attacks {
            for path in ["/me", "/orgs"] {
                let res = app.get(path, Some(token)).await;
                if res.status != 401 || res.header("www-authenticate").is_none() {
                    accepted.push(format!("{round}: {name} on {path}: {}", res.status));
                }
            }
        }
    }
    assert_eq!(kept(), signed_by_us + 1, "only the genuine token and those signed by us are kept");
    // Sent as the raw header too, with the scheme misspelled or doubled.
    for raw in [format!("bearer{genuine}"), format!("Bearer Bearer {genuine}"), format!("Basic {genuine}")] {
        let req = axum::http::Request::get("/me").header("authorization", raw.clone()).body(axum::body::Body::empty());
        if app.send(req.unwrap()).await.status != 401 {
            accepted.push(format!("header {raw:.20}"));
        }
    }
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
    assert_eq!(app.get("/me", Some(&genuine)).await.status, 200, "the session survived the attacks");
    figure(format!(
        "{} forged, altered or misused tokens x 2 routes x 2 rounds (verified-token cache cold, then warm) \
         + 3 malformed headers = {} requests, 0 accepted",
        attacks.len(),
        attacks.len() * 4 + 3
    ));
}

#[tokio::test]
async fn time_claims_hold_at_the_leeway_edges() {
    let app = app_with(&[("JWT_LEEWAY_SECS", &LEEWAY.to_string())]).await;
    let (genuine, _) = app.signed_in("ada@example.com", PASSWORD).await;
    let keys = app.state.jwt();
    let claims = keys.verify(&genuine).unwrap();
    let status = |f: &dyn Fn(&mut AccessClaims)| {
        let mut c = claims.clone();
        f(&mut c);
        let token = keys.sign(&c).unwrap();
        let app = &app;
        async move { app.get("/me", Some(&token)).await.status.as_u16() }
    };
    // A few seconds inside and outside each edge, so the test's own clock step cannot flip it.
    assert_eq!(status(&|c| c.exp = now() - LEEWAY + 5).await, 200, "expired, within the leeway");
    assert_eq!(status(&|c| c.exp = now() - LEEWAY - 3).await, 401, "expired past the leeway");
    assert_eq!(status(&|c| c.nbf = now() + LEEWAY - 5).await, 200, "not yet valid, within the leeway");
    assert_eq!(status(&|c| c.nbf = now() + LEEWAY + 5).await, 401, "not yet valid past the leeway");
    figure("exp and nbf checked at the leeway edges (30 s): 2 accepted inside, 2 refused outside".into());
}
