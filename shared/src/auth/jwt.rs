//! EdDSA access tokens: signing, verification and the JWKS document.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Config;

/// The `typ` header of every access token (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user's id.
    pub sub: Uuid,
    /// The session's id.
    pub sid: Uuid,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expiry.
    pub exp: u64,
    /// Unique token id.
    pub jti: Uuid,
    /// The user's email.
    pub email: String,
    /// Active organization of an org-scoped token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
    /// Role names in the active organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Permissions in the active organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Neither JWT_PRIVATE_KEY nor JWT_PUBLIC_KEY is set.
    #[error("neither JWT_PRIVATE_KEY nor JWT_PUBLIC_KEY is set; `identity keygen` makes a pair")]
    Missing,
    /// This function was given only public keys, yet was asked to sign.
    #[error("this function holds no signing key (JWT_PRIVATE_KEY), only JWT_PUBLIC_KEY")]
    VerifyOnly,
    /// Not PEM or base64 of a PKCS#8 Ed25519 key.
    #[error("JWT_PRIVATE_KEY is not an Ed25519 PKCS#8 key (PEM or base64 DER): {0}")]
    Private(String),
    /// Not a 32-byte Ed25519 public key in base64url.
    #[error("JWT_PUBLIC_KEY or JWT_PREVIOUS_PUBLIC_KEYS has an entry that is not a base64url Ed25519 public key")]
    Public,
}

/// One public key as published in the JWKS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Key type.
    pub kty: &'static str,
    /// Curve.
    pub crv: &'static str,
    /// Public key, base64url.
    pub x: String,
    /// Key id: the RFC 7638 thumbprint.
    pub kid: String,
    /// Intended use.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// Algorithm.
    pub alg: &'static str,
}

impl Jwk {
    fn ed25519(public_key: &[u8]) -> Jwk {
        let x = URL_SAFE_NO_PAD.encode(public_key);
        // RFC 7638: members in lexicographic order, no white space.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        Jwk { kty: "OKP", crv: "Ed25519", x, kid: URL_SAFE_NO_PAD.encode(digest.as_ref()), use_: "sig", alg: "EdDSA" }
    }
}

/// The JWKS document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Jwks {
    /// Current key first, then previous keys.
    pub keys: Vec<Jwk>,
}

/// Signs and verifies access tokens.
pub struct JwtKeys {
    /// The private key and its kid; `None` in functions that only verify.
    signing: Option<(EncodingKey, String)>,
    verifying: HashMap<String, DecodingKey>,
    jwks: Jwks,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kid = self.signing.as_ref().map(|(_, kid)| kid.as_str());
        f.debug_struct("JwtKeys").field("signing_kid", &kid).finish_non_exhaustive()
    }
}

/// Why a presented token was refused. The reason goes to logs, never to the caller.
#[derive(Debug, thiserror::Error)]
#[error("invalid access token: {0}")]
pub struct InvalidToken(pub String);

impl JwtKeys {
    /// Loads the signing key (or, in a function that only verifies, the current public key)
    /// and the previous public keys from the configuration.
    pub fn from_config(config: &Config) -> Result<JwtKeys, KeyError> {
        let (signing, current) = match (&config.jwt_private_key, &config.jwt_public_key) {
            (Some(private), _) => {
                let der = decode_private_key(private)?;
                let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|e| KeyError::Private(e.to_string()))?;
                let current = Jwk::ed25519(pair.public_key().as_ref());
                (Some((EncodingKey::from_ed_der(&der), current.kid.clone())), current)
            }
            (None, Some(public)) => (None, Jwk::ed25519(&decode_public_key(public)?)),
            (None, None) => return Err(KeyError::Missing),
        };
        let mut keys = vec![current];
        // A signing function also honours JWT_PUBLIC_KEY, so that during a rotation the new
        // key can be trusted everywhere before any function signs with it.
        let others = config.jwt_public_key.iter().filter(|_| signing.is_some());
        for entry in others.chain(&config.jwt_previous_public_keys) {
            let jwk = Jwk::ed25519(&decode_public_key(entry)?);
            if !keys.iter().any(|k| k.kid == jwk.kid) {
                keys.push(jwk);
            }
        }
        let mut verifying = HashMap::new();
        for jwk in &keys {
            let key = DecodingKey::from_ed_components(&jwk.x).map_err(|_| KeyError::Public)?;
            verifying.insert(jwk.kid.clone(), key);
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = config.jwt_leeway_secs;
        Ok(JwtKeys {
            signing,
            verifying,
            jwks: Jwks { keys },
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl: config.access_token_ttl,
        })
    }

    /// Lifetime of the tokens this signs.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// Builds the claims of a fresh token for a user's session.
    pub fn claims(&self, user_id: Uuid, session_id: Uuid, email: &str) -> AccessClaims {
        let now = unix_now();
        AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id,
            sid: session_id,
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs(),
            jti: Uuid::now_v7(),
            email: email.to_owned(),
            org_id: None,
            roles: None,
            permissions: None,
        }
    }

    /// True when this function holds the private key.
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    /// Signs claims with the current key.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, KeyError> {
        let (key, kid) = self.signing.as_ref().ok_or(KeyError::VerifyOnly)?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header.kid = Some(kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, key).expect("signing with a validated Ed25519 key cannot fail"))
    }

    /// Verifies signature, algorithm, `typ`, `kid`, issuer, audience and time claims.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, InvalidToken> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| InvalidToken(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(InvalidToken(format!("algorithm {:?}", header.alg)));
        }
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(InvalidToken("typ is not at+jwt".into()));
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or_else(|| InvalidToken("unknown kid".into()))?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation)
            .map_err(|e| InvalidToken(e.to_string()))?;
        Ok(data.claims)
    }
}

fn decode_public_key(entry: &str) -> Result<Vec<u8>, KeyError> {
    URL_SAFE_NO_PAD.decode(entry.trim().trim_end_matches('=')).ok().filter(|b| b.len() == 32).ok_or(KeyError::Public)
}

fn decode_private_key(raw: &SecretString) -> Result<Vec<u8>, KeyError> {
    let text = raw.expose_secret().trim();
    if text.starts_with("-----BEGIN") {
        // Environment files often carry PEM with literal "\n" sequences.
        let pem_text = text.replace("\\n", "\n");
        let parsed = pem::parse(pem_text).map_err(|e| KeyError::Private(e.to_string()))?;
        return Ok(parsed.into_contents());
    }
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .map_err(|e| KeyError::Private(e.to_string()))
}

/// Makes a new Ed25519 key: (PKCS#8 DER as base64, public key as base64url).
pub fn generate_key() -> (String, String) {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("system randomness is available");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a fresh key parses");
    (STANDARD.encode(pkcs8.as_ref()), URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()))
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_with(private: &str, previous: &[&str], tweak: impl FnOnce(&mut HashMap<String, String>)) -> JwtKeys {
        let mut map: HashMap<String, String> =
            [("DATABASE_URL", "postgres://localhost/x"), ("JWT_PRIVATE_KEY", private)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        map.insert("JWT_PREVIOUS_PUBLIC_KEYS".into(), previous.join(","));
        tweak(&mut map);
        JwtKeys::from_config(&Config::from_map(&map).unwrap()).unwrap()
    }

    fn keys() -> JwtKeys {
        keys_with(&generate_key().0, &[], |_| {})
    }

    fn token_with(keys: &JwtKeys, edit: impl FnOnce(&mut AccessClaims)) -> String {
        let mut claims = keys.claims(Uuid::now_v7(), Uuid::now_v7(), "a@example.com");
        edit(&mut claims);
        keys.sign(&claims).unwrap()
    }

    fn b64json(value: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
    }

    #[test]
    fn signed_tokens_verify_with_their_claims() {
        let keys = keys();
        let claims = keys.claims(Uuid::now_v7(), Uuid::now_v7(), "a@example.com");
        let verified = keys.verify(&keys.sign(&claims).unwrap()).unwrap();
        assert_eq!(verified, claims);
        assert_eq!(verified.exp - verified.iat, 900);
        let header = jsonwebtoken::decode_header(keys.sign(&claims).unwrap()).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(keys.jwks().keys[0].kid.as_str()));
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let keys = keys();
        let token = token_with(&keys, |_| {});
        let parts: Vec<&str> = token.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["email"] = "evil@example.com".into();
        let forged_payload = format!("{}.{}.{}", parts[0], b64json(payload), parts[2]);
        assert!(keys.verify(&forged_payload).is_err());
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[0] ^= 1;
        assert!(keys.verify(&format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig))).is_err());
        assert!(keys.verify("not.a.jwt").is_err());
        assert!(keys.verify("").is_err());
    }

    #[test]
    fn alg_none_typ_and_unknown_kid_are_refused() {
        let keys = keys();
        let token = token_with(&keys, |_| {});
        let parts: Vec<&str> = token.split('.').collect();
        let kid = keys.jwks().keys[0].kid.clone();
        let none = b64json(serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": kid}));
        assert!(keys.verify(&format!("{none}.{}.", parts[1])).is_err());
        let jwt_typ = b64json(serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": kid}));
        assert!(keys.verify(&format!("{jwt_typ}.{}.{}", parts[1], parts[2])).is_err());
        let other_kid = b64json(serde_json::json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "nope"}));
        assert!(keys.verify(&format!("{other_kid}.{}.{}", parts[1], parts[2])).is_err());
        // A token from another key with our kid copied in fails on the signature.
        let stranger = keys_with(&generate_key().0, &[], |_| {});
        let foreign = token_with(&stranger, |_| {});
        let fp: Vec<&str> = foreign.split('.').collect();
        let ours = b64json(serde_json::json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid}));
        assert!(keys.verify(&format!("{ours}.{}.{}", fp[1], fp[2])).is_err());
    }

    #[test]
    fn issuer_audience_and_time_are_checked() {
        let keys = keys();
        assert!(keys.verify(&token_with(&keys, |c| c.iss = "someone-else".into())).is_err());
        assert!(keys.verify(&token_with(&keys, |c| c.aud = "another-api".into())).is_err());
        assert!(keys.verify(&token_with(&keys, |c| c.exp = c.iat - 31)).is_err());
        assert!(keys.verify(&token_with(&keys, |c| c.exp = c.iat - 5)).is_ok(), "within leeway");
        assert!(keys.verify(&token_with(&keys, |c| c.nbf = c.iat + 120)).is_err());
    }

    #[test]
    fn previous_keys_verify_until_removed_and_are_published() {
        let (old_private, old_public) = generate_key();
        let old = keys_with(&old_private, &[], |_| {});
        let token = token_with(&old, |_| {});
        let rotated = keys_with(&generate_key().0, &[&old_public], |_| {});
        assert_eq!(rotated.jwks().keys.len(), 2);
        assert_eq!(rotated.jwks().keys[1].kid, old.jwks().keys[0].kid);
        assert!(rotated.verify(&token).is_ok());
        let forgotten = keys_with(&generate_key().0, &[], |_| {});
        assert!(forgotten.verify(&token).is_err());
    }

    #[test]
    fn keys_load_from_pem_too_and_bad_keys_are_refused() {
        let (b64, _) = generate_key();
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
        let from_pem = keys_with(&pem, &[], |_| {});
        let from_b64 = keys_with(&b64, &[], |_| {});
        assert_eq!(from_pem.jwks().keys[0].kid, from_b64.jwks().keys[0].kid);
        let mut map: HashMap<String, String> = HashMap::new();
        map.insert("DATABASE_URL".into(), "postgres://x/y".into());
        map.insert("JWT_PRIVATE_KEY".into(), "bm90IGEga2V5".into());
        assert!(JwtKeys::from_config(&Config::from_map(&map).unwrap()).is_err());
        map.remove("JWT_PRIVATE_KEY");
        assert!(matches!(JwtKeys::from_config(&Config::from_map(&map).unwrap()), Err(KeyError::Missing)));
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3 test vector.
        let x = URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(Jwk::ed25519(&x).kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn a_verify_only_function_checks_tokens_with_the_public_key_and_cannot_sign() {
        let (private, public) = generate_key();
        let signer = keys_with(&private, &[], |_| {});
        let verifier = keys_with("", &[], |m| {
            m.remove("JWT_PRIVATE_KEY");
            m.insert("JWT_PUBLIC_KEY".into(), public.clone());
        });
        assert!(signer.can_sign() && !verifier.can_sign());
        let token = token_with(&signer, |_| {});
        assert!(verifier.verify(&token).is_ok());
        assert_eq!(verifier.jwks().keys, signer.jwks().keys);
        let claims = verifier.claims(Uuid::now_v7(), Uuid::now_v7(), "a@example.com");
        assert!(matches!(verifier.sign(&claims), Err(KeyError::VerifyOnly)));
        // Another key's public half verifies nothing this signer made.
        let stranger = keys_with("", &[], |m| {
            m.remove("JWT_PRIVATE_KEY");
            m.insert("JWT_PUBLIC_KEY".into(), generate_key().1);
        });
        assert!(stranger.verify(&token).is_err());
    }

    #[test]
    fn a_signer_trusts_the_next_public_key_before_it_signs_with_it() {
        let (old_private, _) = generate_key();
        let (new_private, new_public) = generate_key();
        let old = keys_with(&old_private, &[], |m| {
            m.insert("JWT_PUBLIC_KEY".into(), new_public.clone());
        });
        let new = keys_with(&new_private, &[], |_| {});
        assert!(old.verify(&token_with(&new, |_| {})).is_ok());
        assert_eq!(old.jwks().keys.len(), 2);
    }

    #[test]
    fn no_key_at_all_is_refused() {
        let map: HashMap<String, String> = [("DATABASE_URL".to_owned(), "postgres://localhost/x".to_owned())].into();
        assert!(matches!(JwtKeys::from_config(&Config::from_map(&map).unwrap()), Err(KeyError::Missing)));
    }
}
