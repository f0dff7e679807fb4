//! An identity provider's ID token, verified as OIDC Core §3.1.3.7 asks: the signature by a
//! key of the provider's JWKS, with an algorithm the provider advertises (never `none` or an
//! HMAC); `iss` exactly the connection's issuer; `aud` naming our client (and `azp`, when
//! present or when `aud` names others too); `exp` and `iat` within the skew; our `nonce`.

use std::collections::HashSet;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Seconds of clock difference tolerated on `exp` and `iat`.
pub const SKEW_SECS: u64 = 60;
/// The oldest `iat` taken: a token is minted at the code's exchange, moments before.
const IAT_MAX_AGE_SECS: i64 = 600;

/// What the connection expects of its provider's tokens.
#[derive(Debug)]
pub struct Expected<'a> {
    /// The issuer, exactly.
    pub issuer: &'a str,
    /// Our client id at the provider.
    pub client_id: &'a str,
    /// The nonce this sign-in sent.
    pub nonce: &'a str,
    /// The algorithms the provider advertises for ID tokens.
    pub algorithms: &'a [String],
}

/// The claims this service reads from a verified ID token.
#[derive(Clone, Debug, Deserialize)]
pub struct IdClaims {
    /// The provider's id for the person: with the connection, the identity.
    pub sub: String,
    /// Their email, as the provider says (trusted only at the organization's verified domains).
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the provider says it verified the email (Entra sends none).
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
    /// Their name.
    #[serde(default)]
    pub name: Option<String>,
    /// How they signed in at the provider (RFC 8176), when it says.
    #[serde(default)]
    pub amr: Option<Vec<String>>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    iat: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Why a token was refused; `UnknownKey` asks the caller to fetch the keys again (once).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The token names a key the set does not have.
    #[error("the ID token is signed with a key the provider does not publish")]
    UnknownKey,
    /// Anything else, said for the admin's log and the test page.
    #[error("the ID token is not valid: {0}")]
    Invalid(String),
}

fn invalid(why: impl Into<String>) -> Refused {
    Refused::Invalid(why.into())
}

/// Algorithms this service verifies: every asymmetric one jsonwebtoken knows.
fn supported(name: &str) -> Option<Algorithm> {
    let alg = match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    };
    Some(alg)
}

/// Whether an advertised algorithm is one this service can verify.
pub fn is_supported(name: &str) -> bool {
    supported(name).is_some()
}

/// The keys of a JWKS document this service can use: signing keys it can parse (others, such
/// as encryption keys or kinds it does not know, are skipped rather than failing the set).
pub fn keys_of(jwks: &serde_json::Value) -> Vec<Jwk> {
    let Some(keys) = jwks.get("keys").and_then(|k| k.as_array()) else { return vec![] };
    keys.iter()
        .filter(|k| k.get("use").and_then(|u| u.as_str()).is_none_or(|u| u == "sig"))
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .collect()
}

/// Verifies `token` against `keys`; its claims, or why not.
pub fn verify(token: &str, keys: &[Jwk], expected: &Expected<'_>) -> Result<IdClaims, Refused> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("it is not a signed JWT"))?;
    let alg_name = format!("{:?}", header.alg);
    let alg = supported(&alg_name).ok_or_else(|| invalid(format!("{alg_name} is not an algorithm accepted")))?;
    if !expected.algorithms.iter().any(|a| a == &alg_name) {
        return Err(invalid(format!("{alg_name} is not among the algorithms the provider advertises")));
    }
    // A token without a kid is matched only when the set has exactly one key for its algorithm
    // family (what a provider with one key sends).
    let key = match &header.kid {
        Some(kid) => keys.iter().find(|k| k.common.key_id.as_deref() == Some(kid)),
        None => {
            let fitting: Vec<&Jwk> = keys.iter().filter(|k| fits(k, alg)).collect();
            if fitting.len() == 1 { fitting.first().copied() } else { None }
        }
    }
    .ok_or(Refused::UnknownKey)?;
    if !fits(key, alg) {
        return Err(invalid(format!("its key is not a {alg_name} key")));
    }
    let decoding = DecodingKey::from_jwk(key).map_err(|_| invalid("the provider's key cannot be read"))?;
    let mut validation = Validation::new(alg);
    validation.leeway = SKEW_SECS;
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.required_spec_claims =
        ["exp", "iat", "iss", "aud", "sub"].into_iter().map(str::to_owned).collect::<HashSet<_>>();
    let data = jsonwebtoken::decode::<IdClaims>(token, &decoding, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::ExpiredSignature => invalid("it has expired"),
            ErrorKind::InvalidIssuer => invalid("its issuer is not the connection's"),
            ErrorKind::InvalidAudience => invalid("its audience is not this connection's client id"),
            ErrorKind::InvalidSignature => invalid("its signature does not verify"),
            ErrorKind::MissingRequiredClaim(claim) => invalid(format!("it has no {claim}")),
            _ => invalid("it cannot be verified"),
        }
    })?;
    let claims = data.claims;
    let audiences = match &claims.aud {
        Some(Audience::One(a)) => vec![a.clone()],
        Some(Audience::Many(many)) => many.clone(),
        None => vec![],
    };
    match &claims.azp {
        Some(azp) if azp != expected.client_id => return Err(invalid("its azp is not this connection's client id")),
        None if audiences.len() > 1 => return Err(invalid("it names other audiences and no azp")),
        _ => {}
    }
    let now = chrono::Utc::now().timestamp();
    let skew = SKEW_SECS as i64;
    match claims.iat {
        Some(iat) if iat > now + skew => return Err(invalid("it was issued in the future")),
        Some(iat) if iat < now - IAT_MAX_AGE_SECS - skew => return Err(invalid("it was issued too long ago")),
        _ => {}
    }
    if claims.nonce.as_deref() != Some(expected.nonce) {
        return Err(invalid("its nonce is not the one this sign-in sent"));
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(invalid("its sub is empty or longer than 255 characters"));
    }
    Ok(claims)
}

/// Whether a key may verify `alg`: its type fits, and its own `alg`, if it names one, is `alg`.
fn fits(key: &Jwk, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::AlgorithmParameters;
    let family_fits = match &key.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, Algorithm::ES256 | Algorithm::ES384),
        AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
        _ => false,
    };
    let named_fits = key.common.key_algorithm.is_none_or(|named| format!("{named:?}") == format!("{alg:?}"));
    family_fits && named_fits
}

impl IdClaims {
    /// Whether the provider says it verified the email (true or "true").
    pub fn email_verified(&self) -> Option<bool> {
        match &self.email_verified {
            Some(serde_json::Value::Bool(b)) => Some(*b),
            Some(serde_json::Value::String(s)) => Some(s == "true"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwk::{SigningAlg, SigningKey, generate};

    /// An RS256 key as a provider would hold it: its JWK, and a signer.
    fn provider_key(kid: &str) -> (Jwk, jsonwebtoken::EncodingKey) {
        let (private, _) = generate(SigningAlg::RS256);
        let key = SigningKey::parse(&private.into()).unwrap();
        let mut jwk: Jwk = serde_json::from_value(serde_json::to_value(&key.public).unwrap()).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        (jwk, key.encoding)
    }

    fn sign(key: &jsonwebtoken::EncodingKey, kid: &str, claims: serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &claims, key).unwrap()
    }

    fn good(now: i64) -> serde_json::Value {
        serde_json::json!({"iss": "https://idp.example.com", "aud": "ours", "sub": "u-1", "nonce": "n-1",
                           "iat": now, "exp": now + 300, "email": "ada@acme.example"})
    }

    #[test]
    fn each_claim_is_checked() {
        let (jwk, key) = provider_key("k1");
        let algs = vec!["RS256".to_owned()];
        let expected =
            Expected { issuer: "https://idp.example.com", client_id: "ours", nonce: "n-1", algorithms: &algs };
        let now = chrono::Utc::now().timestamp();
        let claims = verify(&sign(&key, "k1", good(now)), std::slice::from_ref(&jwk), &expected).unwrap();
        assert_eq!(claims.sub, "u-1");
        for (what, edit) in [
            ("issuer", serde_json::json!({"iss": "https://evil.example.com"})),
            ("audience", serde_json::json!({"aud": "someone-else"})),
            ("azp", serde_json::json!({"azp": "someone-else"})),
            ("several audiences and no azp", serde_json::json!({"aud": ["ours", "theirs"]})),
            ("expired", serde_json::json!({"exp": now - 3600, "iat": now - 3900})),
            ("issued in the future", serde_json::json!({"iat": now + 3600})),
            ("nonce", serde_json::json!({"nonce": "another"})),
            ("no nonce", serde_json::json!({"nonce": null})),
        ] {
            let mut claims = good(now);
            for (k, v) in edit.as_object().unwrap() {
                claims[k] = v.clone();
            }
            let refused = verify(&sign(&key, "k1", claims), std::slice::from_ref(&jwk), &expected);
            assert!(matches!(refused, Err(Refused::Invalid(_))), "{what}: {refused:?}");
        }
        assert_eq!(
            verify(&sign(&key, "k2", good(now)), std::slice::from_ref(&jwk), &expected).unwrap_err(),
            Refused::UnknownKey
        );
        let (_, other) = provider_key("k1");
        assert!(verify(&sign(&other, "k1", good(now)), &[jwk], &expected).is_err(), "another key's signature");
    }

    #[test]
    fn an_algorithm_the_provider_does_not_advertise_is_refused() {
        let (jwk, key) = provider_key("k1");
        let algs = vec!["ES256".to_owned()];
        let expected =
            Expected { issuer: "https://idp.example.com", client_id: "ours", nonce: "n-1", algorithms: &algs };
        let token = sign(&key, "k1", good(chrono::Utc::now().timestamp()));
        assert!(matches!(verify(&token, &[jwk], &expected), Err(Refused::Invalid(_))));
        assert!(!is_supported("none") && !is_supported("HS256") && is_supported("ES256"));
    }
}
