//! Recovery codes: ten per enrolment, each 50 random bits shown as `xxxxx-xxxxx` (lower-case
//! base32), stored as the SHA-256 of the normalised code.

/// Codes handed out per enrolment or regeneration.
pub const CODES_PER_SET: usize = 10;
/// Characters in a code, without its hyphen.
const CODE_CHARS: usize = 10;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A new set of codes, as shown to their owner.
pub fn generate_set() -> Vec<String> {
    (0..CODES_PER_SET).map(|_| generate()).collect()
}

fn generate() -> String {
    let mut bytes = [0u8; CODE_CHARS];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness is available");
    let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(b & 31)] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// The code as typed, reduced to its characters: case, spaces and hyphens do not matter.
/// `None` for anything that cannot be a code.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect();
    (code.len() == CODE_CHARS && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The stored forms of a set as [`generate_set`] gives it.
pub fn hash_set(codes: &[String]) -> Vec<Vec<u8>> {
    codes.iter().map(|c| hash(&normalise(c).unwrap_or_default())).collect()
}

/// The stored form of a normalised code.
pub fn hash(normalised: &str) -> Vec<u8> {
    crate::auth::tokens::hash(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_codes_that_normalise_to_themselves() {
        let set = generate_set();
        assert_eq!(set.len(), CODES_PER_SET);
        let distinct: std::collections::HashSet<_> = set.iter().collect();
        assert_eq!(distinct.len(), CODES_PER_SET);
        for code in &set {
            assert_eq!(code.len(), 11);
            assert_eq!(normalise(code).unwrap(), code.replace('-', ""));
        }
    }

    #[test]
    fn typing_varies_but_the_code_does_not() {
        assert_eq!(normalise(" ABCDE-fgh23 ").as_deref(), Some("abcdefgh23"));
        assert_eq!(normalise("abcde fgh23").as_deref(), Some("abcdefgh23"));
        assert_eq!(normalise("abcde-fgh2"), None);
        assert_eq!(normalise("abcde-fgh21"), None, "1 is not in the alphabet");
        assert_eq!(hash("abcdefgh23"), hash(&normalise("ABCDE-FGH23").unwrap()));
    }
}
