//! Secrets stored sealed: AES-256-GCM (aws-lc-rs) under a key derived by HKDF-SHA256 from
//! `MFA_ENCRYPTION_KEY`, each bound to its row by associated data, so a sealed secret copied
//! to another row does not open. Keys named in `MFA_PREVIOUS_ENCRYPTION_KEYS` still open
//! what they sealed, so the key can be rotated; what they open is sealed again under the
//! current key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use secrecy::ExposeSecret;

use crate::config::MfaConfig;

/// Least length of the key material: 32 characters, as `identity keygen` prints 43.
pub const MIN_KEY_LEN: usize = 32;

/// Seals under the current key and opens under it or a previous one.
pub struct Sealer {
    key: LessSafeKey,
    previous: Vec<LessSafeKey>,
}

/// A secret opened, and whether it should be sealed again.
#[derive(Debug)]
pub struct Opened {
    /// The secret.
    pub plaintext: Vec<u8>,
    /// It was sealed under a previous key: seal it again under the current one.
    pub stale: bool,
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

/// Why the sealing keys in the settings cannot be used; names no key.
#[derive(Debug, thiserror::Error)]
pub enum SealerError {
    /// Keys to open old secrets, but none to seal new ones.
    #[error("MFA_PREVIOUS_ENCRYPTION_KEYS is set without MFA_ENCRYPTION_KEY")]
    PreviousWithoutCurrent,
    /// A key shorter than the least the derivation takes.
    #[error("MFA_ENCRYPTION_KEY and each of MFA_PREVIOUS_ENCRYPTION_KEYS must be at least {MIN_KEY_LEN} characters")]
    ShortKey,
}

impl Sealer {
    /// A sealer from key material of at least [`MIN_KEY_LEN`] bytes; `None` if shorter.
    pub fn new(material: &[u8]) -> Option<Sealer> {
        Some(Sealer { key: derive(material)?, previous: Vec::new() })
    }

    /// The sealer the settings describe: none without `MFA_ENCRYPTION_KEY`; an error (naming
    /// no key) when a key is too short or previous keys come without a current one.
    pub fn from_config(mfa: &MfaConfig) -> Result<Option<Sealer>, SealerError> {
        let Some(key) = &mfa.encryption_key else {
            return match mfa.previous_encryption_keys.is_empty() {
                true => Ok(None),
                false => Err(SealerError::PreviousWithoutCurrent),
            };
        };
        let previous = mfa.previous_encryption_keys.iter().map(|k| k.expose_secret().as_bytes());
        Sealer::new(key.expose_secret().as_bytes())
            .and_then(|s| s.with_previous(previous))
            .map(Some)
            .ok_or(SealerError::ShortKey)
    }

    /// The same sealer also opening what the keys from `materials` sealed; `None` if one is
    /// shorter than [`MIN_KEY_LEN`].
    pub fn with_previous<'a>(mut self, materials: impl IntoIterator<Item = &'a [u8]>) -> Option<Sealer> {
        for material in materials {
            self.previous.push(derive(material)?);
        }
        Some(self)
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

    /// The plaintext of what [`Sealer::seal`] made for the same `context`, under the current
    /// key or a previous one.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Opened, Unsealable> {
        if sealed.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        std::iter::once(&self.key)
            .chain(&self.previous)
            .enumerate()
            .find_map(|(index, key)| {
                let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
                let mut body = body.to_vec();
                let plain = key.open_in_place(nonce, Aad::from(context), &mut body).ok()?;
                Some(Opened { plaintext: plain.to_vec(), stale: index > 0 })
            })
            .ok_or(Unsealable)
    }
}

/// The AES-256-GCM key HKDF-SHA256 derives from key material; `None` if it is too short.
fn derive(material: &[u8]) -> Option<LessSafeKey> {
    if material.len() < MIN_KEY_LEN {
        return None;
    }
    let prk = Salt::new(HKDF_SHA256, b"identity-api mfa").extract(material);
    let mut key = [0u8; 32];
    prk.expand(&[b"totp secret sealing v1"], &AES_256_GCM).ok()?.fill(&mut key).ok()?;
    Some(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).ok()?))
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
        let opened = sealer.open(&sealed, b"row-1").unwrap();
        assert_eq!(opened.plaintext, b"secret");
        assert!(!opened.stale, "sealed under the current key");
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
        assert!(Sealer::new(KEY).unwrap().with_previous([b"too short".as_slice()]).is_none());
    }

    #[test]
    fn a_previous_key_opens_what_it_sealed_and_says_it_is_stale() {
        const NEW: &[u8] = b"the next key, thirty-two or longer";
        let sealed = Sealer::new(KEY).unwrap().seal(b"secret", b"row-1");
        assert!(Sealer::new(NEW).unwrap().open(&sealed, b"row-1").is_err(), "the new key alone");
        let rotated = Sealer::new(NEW).unwrap().with_previous([KEY]).unwrap();
        let opened = rotated.open(&sealed, b"row-1").unwrap();
        assert_eq!(opened.plaintext, b"secret");
        assert!(opened.stale, "sealed under a previous key");
        assert!(rotated.open(&sealed, b"row-2").is_err(), "the context still binds under a previous key");
        let resealed = rotated.seal(&opened.plaintext, b"row-1");
        assert!(!rotated.open(&resealed, b"row-1").unwrap().stale);
        assert!(Sealer::new(KEY).unwrap().open(&resealed, b"row-1").is_err(), "the old key no longer opens it");
    }
}
