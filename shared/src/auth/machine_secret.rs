//! The one format of machine secrets, API keys and client secrets alike:
//! `idn_<kind>_<32 random base62><6 base62 CRC32 of all before it>`, as GitHub's tokens are
//! made. Secret scanners can recognise one by its prefix and checksum, and a typo or a forged
//! string is refused here, before any database query. Only the SHA-256 is stored.

use secrecy::{ExposeSecret, SecretString};

use crate::auth::tokens;

/// What every machine secret starts with.
pub const PREFIX: &str = "idn";
/// Random base62 characters: 32 of them carry 190 bits, 166 of them beyond the shown hint.
const RANDOM_LEN: usize = 32;
/// Base62 characters of the checksum: a u32 needs at most six.
const CHECKSUM_LEN: usize = 6;
/// Random characters a list shows after the prefix, so that a holder can tell keys apart.
const HINT_LEN: usize = 4;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a secret is for; its two letters follow the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    /// An organization's API key (`ak`).
    ApiKey,
    /// An OAuth client's secret (`cs`).
    ClientSecret,
}

impl SecretKind {
    fn tag(self) -> &'static str {
        match self {
            SecretKind::ApiKey => "ak",
            SecretKind::ClientSecret => "cs",
        }
    }

    /// `idn_ak_`, say: the start every secret of this kind shares.
    fn start(self) -> String {
        format!("{PREFIX}_{}_", self.tag())
    }
}

/// A new secret of `kind`, to show its holder once.
pub fn generate(kind: SecretKind) -> String {
    let mut value = kind.start();
    value.push_str(&random_base62(RANDOM_LEN));
    let checksum = checksum(&value);
    value.push_str(&checksum);
    value
}

/// A presented secret whose shape and checksum are right: only its hash is looked up.
#[derive(Clone)]
pub struct MachineSecret {
    value: SecretString,
    kind: SecretKind,
}

impl MachineSecret {
    /// The secret if `raw` is one of ours of some kind; None for anything else (a typo, a
    /// forgery, a JWT), decided without any query.
    pub fn parse(raw: &str) -> Option<MachineSecret> {
        let kind = [SecretKind::ApiKey, SecretKind::ClientSecret].into_iter().find(|k| raw.starts_with(&k.start()))?;
        let body_len = kind.start().len() + RANDOM_LEN;
        if raw.len() != body_len + CHECKSUM_LEN || !raw.is_ascii() {
            return None;
        }
        let (body, sum) = raw.split_at(body_len);
        let random = &body[kind.start().len()..];
        if !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        // Not a secret compared: the checksum is public, computed from the rest.
        (checksum(body) == sum).then(|| MachineSecret { value: raw.to_owned().into(), kind })
    }

    /// Its kind.
    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// The stored form to look up.
    pub fn hash(&self) -> Vec<u8> {
        tokens::hash(self.value.expose_secret())
    }

    /// What lists show: the prefix and the first random characters, never enough to use.
    pub fn hint(&self) -> String {
        hint(self.value.expose_secret())
    }
}

impl std::fmt::Debug for MachineSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MachineSecret({:?}, [REDACTED])", self.kind)
    }
}

/// The shown part of a generated secret: `idn_ak_3xK9…`.
pub fn hint(value: &str) -> String {
    let shown = value.char_indices().nth(PREFIX.len() + 4 + HINT_LEN).map_or(value.len(), |(i, _)| i);
    format!("{}…", &value[..shown])
}

/// True when the stored hash is the presented secret's, in constant time.
pub fn hashes_match(stored: &[u8], presented: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(stored, presented).is_ok()
}

/// CRC32 of `body`, in base62, padded to six characters.
fn checksum(body: &str) -> String {
    let sum = base62::encode(crc32fast::hash(body.as_bytes()));
    format!("{sum:0>CHECKSUM_LEN$}")
}

/// `len` characters drawn uniformly from the base62 alphabet: random bytes under 248 (four
/// times 62) are kept, the rest drawn again, so no character is likelier than another.
fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut bytes = [0u8; 64];
    while out.len() < len {
        aws_lc_rs::rand::fill(&mut bytes).expect("system randomness is available");
        for b in bytes.iter().filter(|b| **b < 248) {
            if out.len() == len {
                break;
            }
            out.push(BASE62[usize::from(*b % 62)] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_with_their_kind() {
        for kind in [SecretKind::ApiKey, SecretKind::ClientSecret] {
            let value = generate(kind);
            assert_eq!(value.len(), 4 + 3 + RANDOM_LEN + CHECKSUM_LEN, "{value}");
            let parsed = MachineSecret::parse(&value).expect("our own secret parses");
            assert_eq!(parsed.kind(), kind);
            assert_eq!(parsed.hash(), tokens::hash(&value));
        }
        assert!(generate(SecretKind::ApiKey).starts_with("idn_ak_"));
        assert_ne!(generate(SecretKind::ApiKey), generate(SecretKind::ApiKey));
    }

    #[test]
    fn a_changed_character_anywhere_is_refused() {
        let value = generate(SecretKind::ApiKey);
        for i in 7..value.len() {
            let mut bytes = value.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(MachineSecret::parse(&changed).is_none(), "position {i}: {changed}");
        }
    }

    #[test]
    fn other_shapes_are_refused() {
        let value = generate(SecretKind::ClientSecret);
        for bad in [
            "",
            "idn_ak_",
            &value[..value.len() - 1],
            &format!("{value}0"),
            &value.replace("idn_cs_", "idn_xx_"),
            &value.replace("idn_cs_", "IDN_cs_"),
            "eyJhbGciOiJFZERTQSJ9.e30.sig",
            &format!("idn_ak_{}", "é".repeat(19)),
        ] {
            assert!(MachineSecret::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_checksum_is_githubs_crc32_in_base62() {
        // CRC32("hello") is 0x3610a686, the IEEE polynomial GitHub uses.
        assert_eq!(crc32fast::hash(b"hello"), 907_060_870);
        assert_eq!(checksum("hello"), format!("{:0>6}", base62::encode(907_060_870u32)));
        assert_eq!(checksum("hello").len(), 6);
    }

    #[test]
    fn hints_show_the_kind_and_four_characters_and_the_debug_form_nothing() {
        let value = generate(SecretKind::ApiKey);
        let hint = hint(&value);
        assert_eq!(hint, format!("{}…", &value[..11]));
        let parsed = MachineSecret::parse(&value).unwrap();
        assert!(!format!("{parsed:?}").contains(&value[7..]));
    }

    #[test]
    fn the_random_part_uses_the_whole_alphabet_evenly() {
        let sample = random_base62(62 * 400);
        for c in BASE62 {
            let n = sample.bytes().filter(|b| b == c).count();
            assert!((250..=550).contains(&n), "{} appears {n} times", *c as char);
        }
    }
}
