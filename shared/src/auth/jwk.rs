//! Signing keys and their public halves: EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA, 2048
//! bits or more), read from PKCS#8 or a base64url public key, published as JWKs with RFC 7638
//! thumbprints as their `kid`.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKey as RsaPublicKey};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
    ParsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// The algorithms tokens can be signed with. EdDSA is the default; ES256 is what API Gateway's
/// JWT authorizer (and most cloud verifiers) accept; RS256 is the one every OpenID Connect
/// relying party must accept for ID tokens. RFC 8725 deems all three sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    RS256,
}

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3, NIST SP 800-131A).
const RSA_MIN_BITS: usize = 2048;

impl SigningAlg {
    /// The JOSE name, as in a header's `alg`.
    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
        }
    }

    /// jsonwebtoken's name for it.
    pub fn jose(self) -> Algorithm {
        match self {
            SigningAlg::EdDSA => Algorithm::EdDSA,
            SigningAlg::ES256 => Algorithm::ES256,
            SigningAlg::RS256 => Algorithm::RS256,
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SigningAlg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "EDDSA" | "ED25519" => Ok(SigningAlg::EdDSA),
            "ES256" | "P-256" | "P256" => Ok(SigningAlg::ES256),
            "RS256" | "RSA" => Ok(SigningAlg::RS256),
            other => Err(format!("unknown signing algorithm {other:?}: EdDSA, ES256 or RS256")),
        }
    }
}

/// Why a key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFormatError {
    /// Not PEM or base64 of a PKCS#8 Ed25519, P-256 or RSA (2048 bits or more) key.
    #[error(
        "JWT_PRIVATE_KEY has an entry that is not an Ed25519, P-256 or RSA (2048+ bits) PKCS#8 key (PEM or base64 DER)"
    )]
    Private,
    /// Not a base64url Ed25519 key (32 bytes), uncompressed P-256 point (65 bytes) or RSA
    /// SubjectPublicKeyInfo (2048 bits or more).
    #[error(
        "JWT_PUBLIC_KEY or JWT_PREVIOUS_PUBLIC_KEYS has an entry that is not a base64url Ed25519, P-256 or RSA public key"
    )]
    Public,
}

/// A private key with what is published of it.
pub struct SigningKey {
    /// Its public half.
    pub public: Jwk,
    /// The key in jsonwebtoken's form.
    pub encoding: EncodingKey,
}

impl SigningKey {
    /// Reads a PKCS#8 key (PEM, or base64 of the DER); the algorithm follows the key.
    pub fn parse(raw: &SecretString) -> Result<SigningKey, KeyFormatError> {
        let der = decode_private(raw.expose_secret())?;
        if let Ok(pair) = Ed25519KeyPair::from_pkcs8(&der) {
            let public = PublicKey { alg: SigningAlg::EdDSA, bytes: pair.public_key().as_ref().to_vec() };
            return Ok(SigningKey { public: public.jwk(), encoding: EncodingKey::from_ed_der(&der) });
        }
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der) {
            let public = PublicKey { alg: SigningAlg::ES256, bytes: pair.public_key().as_ref().to_vec() };
            return Ok(SigningKey { public: public.jwk(), encoding: EncodingKey::from_ec_der(&der) });
        }
        if let Ok(pair) = RsaKeyPair::from_pkcs8(&der) {
            if pair.public_modulus_len() * 8 < RSA_MIN_BITS {
                return Err(KeyFormatError::Private);
            }
            let spki: PublicKeyX509Der<'_> = pair.public_key().as_der().map_err(|_| KeyFormatError::Private)?;
            let public = PublicKey { alg: SigningAlg::RS256, bytes: spki.as_ref().to_vec() };
            // jsonwebtoken signs RSA with a PKCS#1 key, which it unwraps from PKCS#8 PEM.
            let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
            let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| KeyFormatError::Private)?;
            return Ok(SigningKey { public: public.jwk(), encoding });
        }
        Err(KeyFormatError::Private)
    }
}

/// A public key as configured: base64url of the Ed25519 key, of the uncompressed P-256 point,
/// or of an RSA key's SubjectPublicKeyInfo DER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The algorithm it verifies.
    pub alg: SigningAlg,
    /// The raw key: 32 bytes (Ed25519), 0x04 || x || y (P-256) or SubjectPublicKeyInfo (RSA).
    pub bytes: Vec<u8>,
}

impl PublicKey {
    /// Parses one entry of JWT_PUBLIC_KEY or JWT_PREVIOUS_PUBLIC_KEYS.
    pub fn parse(entry: &str) -> Result<PublicKey, KeyFormatError> {
        let bytes = URL_SAFE_NO_PAD.decode(entry.trim().trim_end_matches('=')).map_err(|_| KeyFormatError::Public)?;
        let alg = match bytes.len() {
            32 => SigningAlg::EdDSA,
            65 => SigningAlg::ES256,
            _ => SigningAlg::RS256,
        };
        match alg {
            SigningAlg::EdDSA => ParsedPublicKey::new(&ED25519, &bytes).map(drop),
            SigningAlg::ES256 => ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &bytes).map(drop),
            SigningAlg::RS256 => match RsaPublicKey::from_der(&bytes) {
                Ok(key) if key.modulus_len() * 8 >= RSA_MIN_BITS => Ok(()),
                _ => return Err(KeyFormatError::Public),
            },
        }
        .map_err(|_| KeyFormatError::Public)?;
        Ok(PublicKey { alg, bytes })
    }

    /// The configured form: base64url without padding.
    pub fn encoded(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.bytes)
    }

    /// The JWK, its `kid` the RFC 7638 thumbprint.
    pub fn jwk(&self) -> Jwk {
        match self.alg {
            SigningAlg::EdDSA => {
                let x = URL_SAFE_NO_PAD.encode(&self.bytes);
                let kid = thumbprint(&format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#));
                Jwk {
                    kty: "OKP",
                    crv: Some("Ed25519"),
                    x: Some(x),
                    y: None,
                    n: None,
                    e: None,
                    kid,
                    use_: "sig",
                    alg: "EdDSA",
                }
            }
            SigningAlg::ES256 => {
                let (x, y) = (URL_SAFE_NO_PAD.encode(&self.bytes[1..33]), URL_SAFE_NO_PAD.encode(&self.bytes[33..]));
                let kid = thumbprint(&format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#));
                Jwk {
                    kty: "EC",
                    crv: Some("P-256"),
                    x: Some(x),
                    y: Some(y),
                    n: None,
                    e: None,
                    kid,
                    use_: "sig",
                    alg: "ES256",
                }
            }
            SigningAlg::RS256 => {
                let key = RsaPublicKey::from_der(&self.bytes).expect("parse checked the key");
                let n = URL_SAFE_NO_PAD.encode(key.modulus().big_endian_without_leading_zero());
                let e = URL_SAFE_NO_PAD.encode(key.exponent().big_endian_without_leading_zero());
                let kid = thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
                Jwk { kty: "RSA", crv: None, x: None, y: None, n: Some(n), e: Some(e), kid, use_: "sig", alg: "RS256" }
            }
        }
    }
}

/// RFC 7638: SHA-256 of the required members in lexicographic order, base64url.
fn thumbprint(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()))
}

/// One public key as published in the JWKS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Key type: OKP (Ed25519), EC (P-256) or RSA.
    pub kty: &'static str,
    /// Curve: Ed25519 or P-256 (not for RSA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    /// The Ed25519 key, or the P-256 point's x coordinate, base64url (not for RSA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The P-256 point's y coordinate, base64url (EC keys only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The RSA modulus, base64url (RSA keys only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The RSA public exponent, base64url (RSA keys only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Key id: the RFC 7638 thumbprint.
    pub kid: String,
    /// Intended use: always `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// The one algorithm this key verifies.
    pub alg: &'static str,
}

impl Jwk {
    /// The algorithm this key verifies.
    pub fn signing_alg(&self) -> SigningAlg {
        match self.kty {
            "EC" => SigningAlg::ES256,
            "RSA" => SigningAlg::RS256,
            _ => SigningAlg::EdDSA,
        }
    }

    /// The key in jsonwebtoken's form.
    pub fn decoding_key(&self) -> Result<DecodingKey, KeyFormatError> {
        match (&self.x, &self.y, &self.n, &self.e) {
            (Some(x), Some(y), _, _) => DecodingKey::from_ec_components(x, y),
            (Some(x), None, _, _) => DecodingKey::from_ed_components(x),
            (None, _, Some(n), Some(e)) => DecodingKey::from_rsa_components(n, e),
            _ => return Err(KeyFormatError::Public),
        }
        .map_err(|_| KeyFormatError::Public)
    }
}

fn decode_private(text: &str) -> Result<Vec<u8>, KeyFormatError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        // Environment files often carry PEM with literal "\n" sequences.
        let parsed = pem::parse(text.replace("\\n", "\n")).map_err(|_| KeyFormatError::Private)?;
        return Ok(parsed.into_contents());
    }
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .map_err(|_| KeyFormatError::Private)
}

/// Makes a new key: (PKCS#8 DER as base64, public key in the JWT_PUBLIC_KEY form).
pub fn generate(alg: SigningAlg) -> (String, String) {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let (pkcs8, public) = match alg {
        SigningAlg::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("system randomness is available");
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("a fresh key parses");
            (pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
        }
        SigningAlg::ES256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .expect("system randomness is available");
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("a fresh key parses");
            (pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
        }
        SigningAlg::RS256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("system randomness is available");
            let pkcs8: Pkcs8V1Der<'_> = pair.as_der().expect("a fresh key encodes");
            let spki: PublicKeyX509Der<'_> = pair.public_key().as_der().expect("a fresh key encodes");
            (pkcs8.as_ref().to_vec(), spki.as_ref().to_vec())
        }
    };
    (STANDARD.encode(pkcs8), URL_SAFE_NO_PAD.encode(public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_kid_is_the_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3.
        let key = PublicKey::parse("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(key.jwk().kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn p256_jwk_splits_the_point_and_hashes_its_canonical_form() {
        // RFC 7515 appendix A.3's P-256 key, as the uncompressed point.
        let x = URL_SAFE_NO_PAD.decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU").unwrap();
        let y = URL_SAFE_NO_PAD.decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0").unwrap();
        let point = [vec![4u8], x, y].concat();
        let key = PublicKey::parse(&URL_SAFE_NO_PAD.encode(&point)).unwrap();
        let jwk = key.jwk();
        assert_eq!((jwk.kty, jwk.crv, jwk.alg), ("EC", Some("P-256"), "ES256"));
        assert_eq!(jwk.x.as_deref(), Some("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"));
        assert_eq!(jwk.y.as_deref(), Some("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"));
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk.x.clone().unwrap(),
            jwk.y.clone().unwrap()
        );
        assert_eq!(jwk.kid, thumbprint(&canonical));
        assert_eq!(jwk.signing_alg(), SigningAlg::ES256);
    }

    #[test]
    fn the_algorithm_follows_the_key() {
        for alg in [SigningAlg::EdDSA, SigningAlg::ES256, SigningAlg::RS256] {
            let (private, public) = generate(alg);
            let signing = SigningKey::parse(&private.into()).unwrap();
            assert_eq!(signing.public.signing_alg(), alg);
            assert_eq!(signing.public, PublicKey::parse(&public).unwrap().jwk());
        }
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(SigningKey::parse(&"bm90IGEga2V5".to_owned().into()).is_err());
        assert!(PublicKey::parse("AAAA").is_err());
        // 65 bytes that are no point on P-256.
        assert!(PublicKey::parse(&URL_SAFE_NO_PAD.encode([4u8; 65])).is_err());
    }

    #[test]
    fn algorithm_names_parse() {
        assert_eq!("es256".parse::<SigningAlg>().unwrap(), SigningAlg::ES256);
        assert_eq!("EdDSA".parse::<SigningAlg>().unwrap(), SigningAlg::EdDSA);
        assert_eq!("RS256".parse::<SigningAlg>().unwrap(), SigningAlg::RS256);
        assert!("HS256".parse::<SigningAlg>().is_err());
    }

    #[test]
    fn rsa_keys_publish_n_and_e_and_their_rfc7638_kid() {
        let (private, public) = generate(SigningAlg::RS256);
        let jwk = SigningKey::parse(&private.into()).unwrap().public;
        assert_eq!(
            (jwk.kty, jwk.alg, jwk.e.as_deref(), jwk.crv, jwk.x.as_ref()),
            ("RSA", "RS256", Some("AQAB"), None, None)
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(jwk.n.as_ref().unwrap()).unwrap().len(), 256);
        let canonical = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{}"}}"#, jwk.n.clone().unwrap());
        assert_eq!(jwk.kid, thumbprint(&canonical));
        assert_eq!(PublicKey::parse(&public).unwrap().jwk(), jwk);
        let text = serde_json::to_value(&jwk).unwrap();
        assert!(text.get("crv").is_none() && text.get("x").is_none(), "{text}");
    }
}
