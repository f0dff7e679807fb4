//! Access and ID tokens: signing, verification, the issuer and the JWKS document. A deployment
//! may hold several signing keys at once, each with its own `kid` and algorithm: the first
//! signs access tokens, the first RS256 key (else the first) signs ID tokens.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jwk::SigningKey;
pub use super::jwk::{Jwk, KeyFormatError, PublicKey, SigningAlg};
use super::verified::{Expiring, VerifiedTokens};
use crate::config::{API_ID_PLACEHOLDER, Config};

/// A verified token's claims as [`VerifiedTokens`] keeps them: a user's or a machine's.
#[derive(Clone, Debug)]
pub enum Verified {
    /// A session's access token.
    User(Arc<AccessClaims>),
    /// A token the token endpoint issued to an API key or a client.
    Machine(Arc<MachineClaims>),
}

impl Expiring for Verified {
    fn exp(&self) -> u64 {
        match self {
            Verified::User(claims) => claims.exp,
            Verified::Machine(claims) => claims.exp,
        }
    }
}

/// Claims of one kind of access token, as [`VerifiedTokens`] keeps them.
trait Kept: serde::de::DeserializeOwned + Issued + Clone {
    /// These claims, if `kept` is of this kind.
    fn from_kept(kept: Verified) -> Result<Arc<Self>, InvalidToken>;
    /// These claims, to keep.
    fn into_kept(claims: Arc<Self>) -> Verified;
}

impl Kept for AccessClaims {
    fn from_kept(kept: Verified) -> Result<Arc<Self>, InvalidToken> {
        match kept {
            Verified::User(claims) => Ok(claims),
            Verified::Machine(_) => Err(InvalidToken("a machine's token has no session".into())),
        }
    }

    fn into_kept(claims: Arc<Self>) -> Verified {
        Verified::User(claims)
    }
}

impl Kept for MachineClaims {
    fn from_kept(kept: Verified) -> Result<Arc<Self>, InvalidToken> {
        match kept {
            Verified::Machine(claims) => Ok(claims),
            Verified::User(_) => Err(InvalidToken("a user's token is no machine's".into())),
        }
    }

    fn into_kept(claims: Arc<Self>) -> Verified {
        Verified::Machine(claims)
    }
}

/// The `typ` header of every access token (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The `client_id` of a user's token from this API's own sign-in (password, refresh, code):
/// RFC 9068 requires every access token to name the client it was issued to.
pub const FIRST_PARTY_CLIENT_ID: &str = "identity-api";

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
    /// The client that asked for the token (RFC 9068 §2.2): [`FIRST_PARTY_CLIENT_ID`] for this
    /// API's own sign-in (tokens issued before the claim existed read as empty).
    #[serde(default)]
    pub client_id: String,
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
    /// How the session signed in (RFC 8176): `["pwd"]`, or `["pwd", "otp"]` after a second
    /// factor.
    #[serde(default)]
    pub amr: Vec<String>,
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

/// Claims of a machine's access token (RFC 9068), issued by the token endpoint to a client:
/// no session, no user; `scope` is the permissions it may use, space-separated, as API
/// Gateway's JWT authorizer reads route scopes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The client: its `client_id`.
    pub sub: String,
    /// The client again, as RFC 9068 names it.
    pub client_id: String,
    /// Issued at.
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expiry.
    pub exp: u64,
    /// Unique token id; revoking the token records it.
    pub jti: Uuid,
    /// The permissions granted, space-separated.
    pub scope: String,
    /// The organization the client acts in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
    /// The permissions granted, as a list.
    pub permissions: Vec<String>,
}

/// Claims of an OpenID Connect ID token (Core §2), issued to an application at the token
/// endpoint: who signed in, when and how, for which client, and the organization's claims
/// when the sign-in was scoped to one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    /// Issuer.
    pub iss: String,
    /// The user's id.
    pub sub: Uuid,
    /// The application's `client_id`.
    pub aud: String,
    /// The application again (Core §2: the authorized party).
    pub azp: String,
    /// Expiry.
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// When the user last proved who they are at this provider.
    pub auth_time: u64,
    /// The application's `nonce`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// How they proved it (RFC 8176): `pwd`, and `otp` after a second factor.
    pub amr: Vec<String>,
    /// The provider's browser session (RP-Initiated Logout ends it).
    pub sid: Uuid,
    /// With the `email` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With the `email` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// With the `profile` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The organization of an organization-scoped sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// The member's roles there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The member's permissions there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// The issuer a token's claims name.
trait Issued {
    fn iss(&self) -> &str;
}

impl Issued for AccessClaims {
    fn iss(&self) -> &str {
        &self.iss
    }
}

impl Issued for MachineClaims {
    fn iss(&self) -> &str {
        &self.iss
    }
}

/// Why the keys could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Neither JWT_PRIVATE_KEY nor JWT_PUBLIC_KEY is set.
    #[error("neither JWT_PRIVATE_KEY nor JWT_PUBLIC_KEY is set; `identity keygen` makes a pair")]
    Missing,
    /// This function was given only public keys, yet was asked to sign.
    #[error("this function holds no signing key (JWT_PRIVATE_KEY), only JWT_PUBLIC_KEY")]
    VerifyOnly,
    /// A key is malformed.
    #[error(transparent)]
    Format(#[from] KeyFormatError),
    /// JWT_ISSUER names `{api_id}` and no API Gateway request has said which API this is.
    #[error("JWT_ISSUER names {{api_id}}, which only a request through API Gateway (requestContext.apiId) fills in")]
    IssuerUnbound,
}

/// The JWKS document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Jwks {
    /// Current key first, then every other key still accepted.
    pub keys: Vec<Jwk>,
}

/// One accepted key: its algorithm, its key and the checks a token signed with it passes.
struct Verifier {
    alg: SigningAlg,
    key: DecodingKey,
    validation: Validation,
}

/// The `iss` of this API's tokens: a fixed URL, or one naming `{api_id}`, which the first
/// request through API Gateway fills in (a SAM stack cannot put its own API's URL in its
/// functions' settings: the API depends on the functions, so that would be a cycle).
#[derive(Debug)]
struct Issuer {
    template: String,
    bound: OnceLock<String>,
}

impl Issuer {
    fn new(template: &str) -> Issuer {
        let bound = OnceLock::new();
        if !template.contains(API_ID_PLACEHOLDER) {
            let _ = bound.set(template.to_owned());
        }
        Issuer { template: template.to_owned(), bound }
    }

    fn get(&self) -> Result<&str, KeyError> {
        self.bound.get().map(String::as_str).ok_or(KeyError::IssuerUnbound)
    }

    fn bind(&self, api_id: &str) {
        // API ids are ten lower-case letters and digits; anything else is not one.
        let plausible = !api_id.is_empty() && api_id.len() <= 64 && api_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if plausible && self.bound.get().is_none() {
            let _ = self.bound.set(self.template.replace(API_ID_PLACEHOLDER, api_id));
        }
    }
}

/// A private key with its `kid` and algorithm.
struct Signer {
    key: EncodingKey,
    kid: String,
    alg: SigningAlg,
}

/// Signs and verifies access and ID tokens.
pub struct JwtKeys {
    /// The access tokens' key; `None` in functions that only verify.
    signing: Option<Signer>,
    /// The ID tokens' key: the first RS256 key, else the access tokens' key.
    id_signing: Option<Signer>,
    /// Checks ID tokens presented back to us (`id_token_hint`): every key, no audience.
    id_verifying: HashMap<String, Verifier>,
    verifying: HashMap<String, Verifier>,
    jwks: Jwks,
    issuer: Issuer,
    audience: String,
    ttl: Duration,
    verified: VerifiedTokens<Verified>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kid = self.signing.as_ref().map(|s| s.kid.as_str());
        f.debug_struct("JwtKeys").field("signing_kid", &kid).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// Why a presented token was refused. The reason goes to logs, never to the caller.
#[derive(Debug, thiserror::Error)]
#[error("invalid access token: {0}")]
pub struct InvalidToken(pub String);

impl JwtKeys {
    /// Loads the signing key (or, in a function that only verifies, the current public key)
    /// and the previous public keys from the configuration. Each key keeps its own algorithm,
    /// so a rotation may change it: tokens of the old key verify until the key is dropped.
    pub fn from_config(config: &Config) -> Result<JwtKeys, KeyError> {
        let mut keys = vec![];
        let (signing, id_signing) = match (&config.jwt_private_key, &config.jwt_public_key) {
            (Some(private), _) => {
                let mut signers = vec![];
                // Several keys, comma-separated (neither base64 nor PEM has a comma).
                for entry in private.expose_secret().split(',').filter(|e| !e.trim().is_empty()) {
                    let key = SigningKey::parse(&SecretString::from(entry.to_owned()))?;
                    let alg = key.public.signing_alg();
                    if !keys.iter().any(|k: &Jwk| k.kid == key.public.kid) {
                        signers.push(Signer { key: key.encoding, kid: key.public.kid.clone(), alg });
                        keys.push(key.public);
                    }
                }
                if signers.is_empty() {
                    return Err(KeyError::Missing);
                }
                let id_at = signers.iter().position(|s| s.alg == SigningAlg::RS256).unwrap_or(0);
                let id_signer = signers.swap_remove(id_at);
                let access = if id_at == 0 {
                    Signer { key: id_signer.key.clone(), kid: id_signer.kid.clone(), alg: id_signer.alg }
                } else {
                    signers.swap_remove(0)
                };
                (Some(access), Some(id_signer))
            }
            (None, Some(public)) => {
                keys.push(PublicKey::parse(public)?.jwk());
                (None, None)
            }
            (None, None) => return Err(KeyError::Missing),
        };
        // A signing function also honours JWT_PUBLIC_KEY, so that during a rotation the new
        // key can be trusted everywhere before any function signs with it.
        let others = config.jwt_public_key.iter().filter(|_| signing.is_some());
        for entry in others.chain(&config.jwt_previous_public_keys) {
            let jwk = PublicKey::parse(entry)?.jwk();
            if !keys.iter().any(|k| k.kid == jwk.kid) {
                keys.push(jwk);
            }
        }
        let mut verifying = HashMap::new();
        let mut id_verifying = HashMap::new();
        for jwk in &keys {
            let alg = jwk.signing_alg();
            let mut validation = Validation::new(alg.jose());
            // `iss` is compared by hand: it may be bound after the keys are built.
            validation.set_audience(&[&config.jwt_audience]);
            validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = config.jwt_leeway_secs;
            verifying.insert(jwk.kid.clone(), Verifier { alg, key: jwk.decoding_key()?, validation });
            // An ID token comes back as a hint of who is signing out: long expired, perhaps,
            // and addressed to some application; its signature and issuer are what count.
            let mut validation = Validation::new(alg.jose());
            validation.validate_aud = false;
            validation.validate_exp = false;
            validation.set_required_spec_claims(&["iss", "sub", "aud"]);
            id_verifying.insert(jwk.kid.clone(), Verifier { alg, key: jwk.decoding_key()?, validation });
        }
        Ok(JwtKeys {
            signing,
            id_signing,
            id_verifying,
            verifying,
            jwks: Jwks { keys },
            issuer: Issuer::new(&config.jwt_issuer),
            audience: config.jwt_audience.clone(),
            ttl: config.access_token_ttl,
            verified: VerifiedTokens::new(config.token_cache_entries, config.jwt_leeway_secs),
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

    /// The algorithms of the keys still accepted, the signing key's first.
    pub fn algorithms(&self) -> Vec<SigningAlg> {
        let mut algs: Vec<SigningAlg> = Vec::new();
        for alg in self.jwks.keys.iter().map(Jwk::signing_alg) {
            if !algs.contains(&alg) {
                algs.push(alg);
            }
        }
        algs
    }

    /// The `iss` of the tokens this signs and accepts.
    pub fn issuer(&self) -> Result<&str, KeyError> {
        self.issuer.get()
    }

    /// Fills in `{api_id}` of JWT_ISSUER with the id of the API Gateway API invoking us; a
    /// fixed issuer, or one already bound, stays as it is.
    pub fn bind_api(&self, api_id: &str) {
        self.issuer.bind(api_id);
    }

    /// Builds the claims of a fresh token for a user's session.
    pub fn claims(&self, user_id: Uuid, session_id: Uuid, email: &str) -> Result<AccessClaims, KeyError> {
        let now = unix_now();
        Ok(AccessClaims {
            iss: self.issuer()?.to_owned(),
            aud: self.audience.clone(),
            sub: user_id,
            sid: session_id,
            client_id: FIRST_PARTY_CLIENT_ID.to_owned(),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs(),
            jti: Uuid::now_v7(),
            email: email.to_owned(),
            amr: Vec::new(),
            org_id: None,
            roles: None,
            permissions: None,
        })
    }

    /// True when this function holds the private key.
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }

    /// The claims of a machine token for `client_id`, lasting `ttl`.
    pub fn machine_claims(
        &self,
        client_id: &str,
        org_id: Option<Uuid>,
        permissions: Vec<String>,
        ttl: Duration,
    ) -> Result<MachineClaims, KeyError> {
        let now = unix_now();
        Ok(MachineClaims {
            iss: self.issuer()?.to_owned(),
            aud: self.audience.clone(),
            sub: client_id.to_owned(),
            client_id: client_id.to_owned(),
            iat: now,
            nbf: now,
            exp: now + ttl.as_secs(),
            jti: Uuid::now_v7(),
            scope: permissions.join(" "),
            org_id,
            permissions,
        })
    }

    /// Signs an access token's claims with the access tokens' key.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, KeyError> {
        sign_with(self.signing.as_ref().ok_or(KeyError::VerifyOnly)?, ACCESS_TOKEN_TYP, claims)
    }

    /// Signs an ID token with the ID tokens' key (`typ` JWT, as relying parties expect).
    pub fn sign_id_token(&self, claims: &IdClaims) -> Result<String, KeyError> {
        sign_with(self.id_signing.as_ref().ok_or(KeyError::VerifyOnly)?, "JWT", claims)
    }

    /// The algorithm ID tokens are signed with (the first RS256 key's, else the access
    /// tokens'); `None` in a function that only verifies.
    pub fn id_token_alg(&self) -> Option<SigningAlg> {
        self.id_signing.as_ref().map(|s| s.alg)
    }

    /// The claims of an ID token this issuer signed with a key it still holds, expired or not
    /// (an `id_token_hint` says who is signing out, not what they may do).
    pub fn verify_id_token_hint(&self, token: &str) -> Result<IdClaims, InvalidToken> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| InvalidToken(e.to_string()))?;
        let verifier = header
            .kid
            .as_deref()
            .and_then(|kid| self.id_verifying.get(kid))
            .ok_or_else(|| InvalidToken("unknown kid".into()))?;
        if header.alg != verifier.alg.jose() {
            return Err(InvalidToken(format!("algorithm {:?} for a {} key", header.alg, verifier.alg)));
        }
        let data = jsonwebtoken::decode::<IdClaims>(token, &verifier.key, &verifier.validation)
            .map_err(|e| InvalidToken(e.to_string()))?;
        if data.claims.iss != self.issuer().map_err(|e| InvalidToken(e.to_string()))? {
            return Err(InvalidToken("issuer".into()));
        }
        Ok(data.claims)
    }

    /// Verifies signature, algorithm (the one of the key `kid` names), `typ`, issuer, audience
    /// and time claims.
    ///
    /// A token verified before (the same bytes) is taken from [`VerifiedTokens`] until it
    /// expires.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, InvalidToken> {
        self.verify_once(token)
    }

    /// Verifies a machine's token as [`verify`](Self::verify) does a user's; a user's token is
    /// refused here (it has no `client_id`), as a machine's is there (no session).
    pub fn verify_machine(&self, token: &str) -> Result<MachineClaims, InvalidToken> {
        self.verify_once(token)
    }

    /// The kept claims of `token` if they are of `T`'s kind, else `token` verified in full and
    /// kept.
    fn verify_once<T: Kept>(&self, token: &str) -> Result<T, InvalidToken> {
        let key = self.verified.key(token);
        if let Some(kept) = self.verified.get(key.as_ref()) {
            let claims = T::from_kept(kept)?;
            self.still_issued_here(&*claims)?;
            return Ok((*claims).clone());
        }
        let claims: T = self.verify_as(token)?;
        self.verified.insert(key, T::into_kept(Arc::new(claims.clone())));
        Ok(claims)
    }

    /// The tokens verified so far and kept.
    pub fn verified_tokens(&self) -> &VerifiedTokens<Verified> {
        &self.verified
    }

    /// A kept token's issuer is still this API's (it is bound once, perhaps after the keys).
    fn still_issued_here(&self, claims: &impl Issued) -> Result<(), InvalidToken> {
        let issuer = self.issuer().map_err(|e| InvalidToken(e.to_string()))?;
        if claims.iss() != issuer {
            return Err(InvalidToken("issuer".into()));
        }
        Ok(())
    }

    fn verify_as<T: serde::de::DeserializeOwned + Issued>(&self, token: &str) -> Result<T, InvalidToken> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| InvalidToken(e.to_string()))?;
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(InvalidToken("typ is not at+jwt".into()));
        }
        let verifier = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or_else(|| InvalidToken("unknown kid".into()))?;
        if header.alg != verifier.alg.jose() {
            return Err(InvalidToken(format!("algorithm {:?} for a {} key", header.alg, verifier.alg)));
        }
        let data = jsonwebtoken::decode::<T>(token, &verifier.key, &verifier.validation)
            .map_err(|e| InvalidToken(e.to_string()))?;
        self.still_issued_here(&data.claims)?;
        Ok(data.claims)
    }
}

fn sign_with(signer: &Signer, typ: &str, claims: &impl Serialize) -> Result<String, KeyError> {
    let mut header = Header::new(signer.alg.jose());
    header.typ = Some(typ.to_owned());
    header.kid = Some(signer.kid.clone());
    Ok(jsonwebtoken::encode(&header, claims, &signer.key).expect("signing with a validated key cannot fail"))
}

/// Makes a new key of the default algorithm (EdDSA): (PKCS#8 DER as base64, public key).
pub fn generate_key() -> (String, String) {
    super::jwk::generate(SigningAlg::EdDSA)
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
        let mut claims = keys.claims(Uuid::now_v7(), Uuid::now_v7(), "a@example.com").unwrap();
        edit(&mut claims);
        keys.sign(&claims).unwrap()
    }

    fn b64json(value: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
    }

    #[test]
    fn a_kept_token_answers_from_the_cache_and_a_changed_byte_never_does() {
        let keys = keys();
        let token = token_with(&keys, |_| {});
        assert!(keys.verified_tokens().is_empty());
        let first = keys.verify(&token).unwrap();
        assert_eq!(keys.verified_tokens().len(), 1, "kept once verified");
        assert_eq!(keys.verify(&token).unwrap(), first, "the same claims from the cache");
        // Every single-character change of the kept token, in each part, is verified afresh
        // and refused; none is kept.
        for at in (0..token.len()).filter(|&i| token.as_bytes()[i] != b'.') {
            let mut changed = token.clone().into_bytes();
            changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(changed).unwrap();
            assert!(keys.verify(&changed).is_err(), "byte {at} changed was accepted");
            assert!(keys.verify_machine(&changed).is_err(), "byte {at} changed was accepted");
        }
        assert_eq!(keys.verified_tokens().len(), 1, "failures are never kept");
        // Kept as a user's token, it is no machine's, and a machine's is no user's.
        assert!(keys.verify_machine(&token).is_err());
        let machine = keys.machine_claims("client", None, vec![], Duration::from_secs(60)).unwrap();
        let machine = keys.sign(&machine).unwrap();
        assert!(keys.verify_machine(&machine).is_ok());
        assert!(keys.verify(&machine).is_err(), "a kept machine's token is no user's");
        assert!(keys.verify_machine(&machine).is_ok(), "and still the machine's");
    }

    #[test]
    fn the_cache_holds_no_more_than_its_size_and_none_when_off() {
        let keys = keys_with(&generate_key().0, &[], |m| {
            m.insert("TOKEN_CACHE_ENTRIES".into(), "50".into());
        });
        let tokens: Vec<String> = (0..400).map(|_| token_with(&keys, |_| {})).collect();
        for token in &tokens {
            assert!(keys.verify(token).is_ok());
        }
        assert!(keys.verified_tokens().len() <= 50, "{} kept", keys.verified_tokens().len());
        // Those evicted are verified again, as any unknown token is.
        assert!(tokens.iter().all(|t| keys.verify(t).is_ok()));

        let off = keys_with(&generate_key().0, &[], |m| {
            m.insert("TOKEN_CACHE_ENTRIES".into(), "0".into());
        });
        let token = token_with(&off, |_| {});
        assert!(off.verify(&token).is_ok() && off.verify(&token).is_ok());
        assert!(off.verified_tokens().is_empty());
    }

    #[test]
    fn a_kept_token_expires_with_its_exp() {
        let keys = keys_with(&generate_key().0, &[], |m| {
            m.insert("JWT_LEEWAY_SECS".into(), "0".into());
        });
        let token = token_with(&keys, |c| c.exp = unix_now() + 1);
        assert!(keys.verify(&token).is_ok());
        assert_eq!(keys.verified_tokens().len(), 1);
        std::thread::sleep(Duration::from_millis(2_100));
        assert!(keys.verify(&token).is_err(), "expired, cached or not");
    }

    #[test]
    fn signed_tokens_verify_with_their_claims() {
        let keys = keys();
        let claims = keys.claims(Uuid::now_v7(), Uuid::now_v7(), "a@example.com").unwrap();
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
        let claims = verifier.claims(Uuid::now_v7(), Uuid::now_v7(), "a@example.com").unwrap();
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

    #[test]
    fn es256_keys_sign_and_verify_and_publish_an_ec_jwk() {
        let (private, public) = super::super::jwk::generate(SigningAlg::ES256);
        let keys = keys_with(&private, &[], |_| {});
        let token = token_with(&keys, |_| {});
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, jsonwebtoken::Algorithm::ES256);
        assert!(keys.verify(&token).is_ok());
        let jwk = &keys.jwks().keys[0];
        assert_eq!((jwk.kty, jwk.crv, jwk.alg, jwk.use_), ("EC", Some("P-256"), "ES256", "sig"));
        assert_eq!(*jwk, PublicKey::parse(&public).unwrap().jwk());
        assert_eq!(keys.algorithms(), vec![SigningAlg::ES256]);
    }

    #[test]
    fn a_token_must_use_the_algorithm_of_the_key_its_kid_names() {
        let keys = keys();
        let token = token_with(&keys, |_| {});
        let parts: Vec<&str> = token.split('.').collect();
        let kid = keys.jwks().keys[0].kid.clone();
        for alg in ["ES256", "HS256", "RS256"] {
            let header = b64json(serde_json::json!({"alg": alg, "typ": "at+jwt", "kid": kid}));
            assert!(keys.verify(&format!("{header}.{}.{}", parts[1], parts[2])).is_err(), "{alg}");
        }
    }

    #[test]
    fn a_rotation_may_change_the_algorithm() {
        let (ed_private, ed_public) = generate_key();
        let ed = keys_with(&ed_private, &[], |_| {});
        let old_token = token_with(&ed, |_| {});
        let (es_private, _) = super::super::jwk::generate(SigningAlg::ES256);
        let es = keys_with(&es_private, &[&ed_public], |_| {});
        assert!(es.verify(&old_token).is_ok(), "EdDSA tokens outlive the switch to ES256");
        assert!(es.verify(&token_with(&es, |_| {})).is_ok());
        let published: Vec<&str> = es.jwks().keys.iter().map(|k| k.alg).collect();
        assert_eq!(published, ["ES256", "EdDSA"]);
        assert_eq!(es.algorithms(), vec![SigningAlg::ES256, SigningAlg::EdDSA]);
    }

    #[test]
    fn several_keys_sign_access_tokens_with_the_first_and_id_tokens_with_rs256() {
        let (es, _) = super::super::jwk::generate(SigningAlg::ES256);
        let (rs, _) = super::super::jwk::generate(SigningAlg::RS256);
        let keys = keys_with(&format!("{es},{rs}"), &[], |_| {});
        let published: Vec<&str> = keys.jwks().keys.iter().map(|k| k.alg).collect();
        assert_eq!(published, ["ES256", "RS256"]);
        let access = token_with(&keys, |_| {});
        let header = jsonwebtoken::decode_header(&access).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref()),
            (jsonwebtoken::Algorithm::ES256, Some(keys.jwks().keys[0].kid.as_str()))
        );
        assert!(keys.verify(&access).is_ok());
        assert_eq!(keys.id_token_alg(), Some(SigningAlg::RS256));
        let claims = IdClaims {
            iss: keys.issuer().unwrap().to_owned(),
            sub: Uuid::now_v7(),
            aud: "app".into(),
            azp: "app".into(),
            exp: 1,
            iat: 1,
            auth_time: 1,
            nonce: Some("n".into()),
            amr: vec!["pwd".into()],
            sid: Uuid::now_v7(),
            email: None,
            email_verified: None,
            name: None,
            org_id: None,
            org_name: None,
            roles: None,
            permissions: None,
        };
        let id_token = keys.sign_id_token(&claims).unwrap();
        let header = jsonwebtoken::decode_header(&id_token).unwrap();
        assert_eq!((header.alg, header.typ.as_deref()), (jsonwebtoken::Algorithm::RS256, Some("JWT")));
        assert_eq!(header.kid.as_deref(), Some(keys.jwks().keys[1].kid.as_str()));
        assert_eq!(keys.verify_id_token_hint(&id_token).unwrap(), claims, "an expired hint still names its user");
        assert!(keys.verify(&id_token).is_err(), "an ID token is no access token");
        let stranger = keys_with(&rs, &[], |m| {
            m.insert("JWT_ISSUER".into(), "https://elsewhere.example".into());
        });
        assert!(stranger.verify_id_token_hint(&id_token).is_err(), "another issuer's");
        // One key alone signs both.
        let single = keys_with(&es, &[], |_| {});
        assert_eq!(single.id_token_alg(), Some(SigningAlg::ES256));
    }

    #[test]
    fn an_issuer_naming_the_api_id_is_bound_by_the_first_request() {
        let template = "https://{api_id}.execute-api.eu-west-1.amazonaws.com/prod";
        let keys = keys_with(&generate_key().0, &[], |m| {
            m.insert("JWT_ISSUER".into(), template.into());
        });
        assert!(matches!(keys.issuer(), Err(KeyError::IssuerUnbound)));
        assert!(keys.claims(Uuid::now_v7(), Uuid::now_v7(), "a@example.com").is_err());
        keys.bind_api("not/an id");
        assert!(keys.issuer().is_err(), "what cannot be an API id binds nothing");
        keys.bind_api("a1b2c3d4e5");
        keys.bind_api("zzzzzzzzzz");
        assert_eq!(keys.issuer().unwrap(), "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod");
        let token = token_with(&keys, |_| {});
        assert!(keys.verify(&token).is_ok());
        let fixed = keys_with(&generate_key().0, &[], |_| {});
        fixed.bind_api("a1b2c3d4e5");
        assert_eq!(
            fixed.issuer().unwrap(),
            Config::from_map(&HashMap::from([("DATABASE_URL".to_owned(), "postgres://x/y".to_owned())]))
                .unwrap()
                .jwt_issuer
        );
    }
}
