//! Secrets stored sealed: AES-256-GCM (aws-lc-rs) under a key derived by HKDF-SHA256 from
//! `MFA_ENCRYPTION_KEY`, each bound to its row by associated data, so a sealed secret copied
//! to another row does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};

/// Least length of the key material: 32 characters, as `identity keygen` prints 43.
pub const MIN_KEY_LEN: usize = 32;

/// Seals and opens stored secrets.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([REDACTED])")
    }
}

/// A sealed secret that does not open: another key, another row, or altered bytes.
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret did not open (wrong MFA_ENCRYPTION_KEY, or the row was altered)")]
pub struct Unsealable;

impl Sealer {
    /// A sealer from key material of at least [`MIN_KEY_LEN`] bytes; `None` if shorter.
    pub fn new(material: &[u8]) -> Option<Sealer> {
        if material.len() < MIN_KEY_LEN {
            return None;
        }
        let prk = Salt::new(HKDF_SHA256, b"identity-api mfa").extract(material);
        let mut key = [0u8; 32];
        prk.expand(&[b"totp secret sealing v1"], &AES_256_GCM).ok()?.fill(&mut key).ok()?;
        Some(Sealer { key: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).ok()?) })
    }

    /// `plaintext` sealed for the row `context` names: a random nonce, then ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("system randomness is available");
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut sealed)
            .expect("AES-GCM seals any length we store");
        [nonce.as_slice(), &sealed].concat()
    }

    /// The plaintext of what [`Sealer::seal`] made for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, Unsealable> {
        if sealed.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable)?;
        let mut body = body.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(context), &mut body).map_err(|_| Unsealable)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let sealer = Sealer::new(KEY).unwrap();
        let sealed = sealer.seal(b"secret", b"row-1");
        assert!(!sealed.windows(6).any(|w| w == b"secret"), "the plaintext is not in the sealed bytes");
        assert_eq!(sealer.open(&sealed, b"row-1").unwrap(), b"secret");
        assert!(sealer.open(&sealed, b"row-2").is_err(), "another row's context");
        let other = Sealer::new(b"another key, also thirty-two long").unwrap();
        assert!(other.open(&sealed, b"row-1").is_err(), "another key");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(sealer.open(&altered, b"row-1").is_err(), "altered bytes");
        assert!(sealer.open(&sealed[..5], b"row-1").is_err(), "truncated");
        assert_ne!(sealer.seal(b"secret", b"row-1"), sealed, "a fresh nonce each time");
    }

    #[test]
    fn short_key_material_is_refused() {
        assert!(Sealer::new(b"too short").is_none());
    }
}
