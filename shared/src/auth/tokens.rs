//! Opaque tokens (refresh, invitation, verification, reset): 256 random bits, shown once,
//! stored only as a SHA-256 hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};

/// Length of a token as handed out: 32 bytes in unpadded base64url.
pub const TOKEN_LEN: usize = 43;

/// A new random token, as given to its holder.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token: its SHA-256 digest.
pub fn hash(token: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref().to_vec()
}

/// True when `token` could be one we issued; anything else is refused before any lookup.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN && URL_SAFE_NO_PAD.decode(token).is_ok_and(|b| b.len() == 32)
}

/// An opaque token from a mail or a sign-in, of the shape we issue: only its hash is looked up.
pub struct Opaque(SecretString);

impl Opaque {
    /// Checks the token's shape; the caller says what to answer when it is wrong.
    pub fn parse(raw: SecretString) -> Option<Opaque> {
        is_well_formed(raw.expose_secret()).then_some(Opaque(raw))
    }

    /// The stored form to look up.
    pub fn hash(&self) -> Vec<u8> {
        hash(self.0.expose_secret())
    }
}

impl std::fmt::Debug for Opaque {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opaque([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_hash_stably() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(is_well_formed(&a));
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a).len(), 32);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"!".repeat(TOKEN_LEN)));
        assert!(!is_well_formed(&format!("{}A", generate())));
    }

    #[test]
    fn hash_matches_sha256_test_vector() {
        let hex: String = hash("abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
