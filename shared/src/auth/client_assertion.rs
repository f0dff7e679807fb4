//! `private_key_jwt` (RFC 7523 §2.2, §3): the public keys a client registers, and the signed
//! assertion it authenticates with at the token endpoint.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// Most keys a client may register: enough for a rotation or two.
const MAX_KEYS: usize = 5;
/// The longest an assertion may live; its `jti` is kept that long to refuse a replay.
pub const MAX_LIFETIME_SECS: i64 = 3600;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 30;
/// Members of a JWK that only a private key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Checks a JWK Set a client registers: one to five public keys, each RSA (2048 bits or
/// more), EC P-256 or P-384, or Ed25519, with distinct `kid`s; the set as sent, or what is
/// wrong with it.
pub fn check_jwks(value: &Value) -> Result<Value, String> {
    let keys = value.get("keys").and_then(Value::as_array).ok_or("must be a JWK Set: {\"keys\": [...]}")?;
    if keys.is_empty() || keys.len() > MAX_KEYS {
        return Err(format!("must hold 1 to {MAX_KEYS} keys"));
    }
    let mut kids = HashSet::new();
    for (i, raw) in keys.iter().enumerate() {
        if PRIVATE_MEMBERS.iter().any(|m| raw.get(m).is_some()) {
            return Err(format!("key {i} is a private or symmetric key; register only public keys"));
        }
        let jwk: Jwk = serde_json::from_value(raw.clone()).map_err(|_| format!("key {i} is not a JWK"))?;
        usable(&jwk).map_err(|why| format!("key {i} {why}"))?;
        if !kids.insert(jwk.common.key_id.clone()) {
            return Err(format!("key {i} repeats a kid"));
        }
    }
    serde_json::from_value::<JwkSet>(value.clone()).map_err(|_| "is not a JWK Set".to_owned())?;
    Ok(value.clone())
}

/// The algorithms a key may sign with, or why it cannot be registered.
fn usable(jwk: &Jwk) -> Result<&'static [Algorithm], String> {
    let algorithms: &'static [Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let bits = URL_SAFE_NO_PAD.decode(&rsa.n).map_err(|_| "has a malformed modulus")?.len() * 8;
            if bits < 2048 {
                return Err("is an RSA key under 2048 bits".into());
            }
            &[
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ]
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return Err("is on a curve this server does not verify (P-256 and P-384 are)".into()),
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
        _ => return Err("is of a type this server does not verify (RSA, EC or Ed25519 are)".into()),
    };
    DecodingKey::from_jwk(jwk).map_err(|_| "cannot be read as a public key".to_owned())?;
    Ok(algorithms)
}

/// What a verified assertion says that the token endpoint keeps.
#[derive(Debug, Deserialize)]
pub struct Assertion {
    /// Its id: single-use until it expires.
    pub jti: String,
    /// When it expires (seconds since the epoch).
    pub exp: i64,
}

/// The `iss` of an assertion, unverified: which client it claims to be, to find its keys.
pub fn claimed_client(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Iss>(&bytes).ok().map(|c| c.iss)
}

/// Verifies an assertion against the client's registered keys: a signature by one of them
/// (the one `kid` names, else each that fits `alg`) with an asymmetric algorithm, `iss` and
/// `sub` the client's id, an `aud` naming this server (its issuer or token endpoint), `exp`
/// within [`MAX_LIFETIME_SECS`], and a `jti`. The reason when not.
pub fn verify(assertion: &str, client_id: &str, jwks: &Value, audiences: &[&str]) -> Result<Assertion, String> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| "the assertion is not a JWT")?;
    let set: JwkSet = serde_json::from_value(jwks.clone()).map_err(|_| "the client's keys are unreadable")?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = LEEWAY_SECS;
    let candidates = set.keys.iter().filter(|k| header.kid.is_none() || k.common.key_id == header.kid);
    let mut refusal = "no registered key of the client verifies this assertion's alg and kid".to_owned();
    for jwk in candidates {
        let Ok(algorithms) = usable(jwk) else { continue };
        if !algorithms.contains(&header.alg) {
            continue;
        }
        let Ok(key) = DecodingKey::from_jwk(jwk) else { continue };
        let decoded = jsonwebtoken::decode::<Assertion>(assertion, &key, &validation);
        if let Err(e) = &decoded
            && matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature)
        {
            // Without a kid, another of the client's keys may be the signer.
            refusal = "no registered key of the client verifies this assertion's signature".into();
            continue;
        }
        return match decoded {
            Ok(data) if data.claims.exp - chrono::Utc::now().timestamp() > MAX_LIFETIME_SECS + LEEWAY_SECS as i64 => {
                Err(format!("the assertion lives longer than {MAX_LIFETIME_SECS} seconds"))
            }
            Ok(data) if data.claims.jti.is_empty() || data.claims.jti.len() > 200 => {
                Err("the assertion's jti is missing or too long".into())
            }
            Ok(data) => Ok(data.claims),
            Err(e) => Err(format!("the assertion is refused: {e}")),
        };
    }
    Err(refusal)
}
