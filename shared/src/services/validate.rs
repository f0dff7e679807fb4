//! Field rules shared by every service: emails, passwords, names.

use unicode_normalization::UnicodeNormalization;

use crate::error::FieldError;

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest accepted password, in characters; keeps hashing cost bounded.
pub const PASSWORD_MAX_CHARS: usize = 1024;
/// Longest accepted display name, in characters.
pub const NAME_MAX_CHARS: usize = 200;

/// Characters that are invisible or reorder text: never part of an email or a name.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
}

/// The characters [`is_invisible`] refuses in names, as a JSON Schema (ECMA-262) class body:
/// control and invisible characters, tag characters aside, which a class cannot name
/// without the u flag.
const INVISIBLE_CLASS: &str = "\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB";

/// The names [`name`] accepts, as a JSON Schema pattern for the OpenAPI document: no control
/// or invisible characters and at least one visible one.
pub fn name_pattern() -> String {
    format!("^[^{INVISIBLE_CLASS}]*[^\\s{INVISIBLE_CLASS}][^{INVISIBLE_CLASS}]*$")
}

/// A display name in the OpenAPI document: 1 to 200 characters matching [`name_pattern`].
pub struct DisplayName;

impl utoipa::PartialSchema for DisplayName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A display name: at least one visible character, no control or invisible ones."))
            .min_length(Some(1))
            .max_length(Some(NAME_MAX_CHARS))
            .pattern(Some(name_pattern()))
            .into()
    }
}

impl utoipa::ToSchema for DisplayName {}

/// Checks an email address and returns its canonical form: compatibility-normalized (NFKC, so
/// fullwidth and other look-alike forms collapse), lower-cased, with the domain in its ASCII
/// (punycode) form. Two spellings of one mailbox therefore map to one account.
pub fn email(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> String {
    let trimmed = raw.trim_matches(' ');
    let canonical = canonical_email(trimmed);
    let problem = if trimmed.is_empty() {
        Some("is required")
    } else if trimmed.chars().any(|c| is_invisible(c) || c.is_whitespace()) {
        Some("must not contain spaces, line breaks, control or invisible characters")
    } else if canonical.as_deref().is_none_or(|c| !is_plain_address(c)) {
        Some("must be an email address like name@example.com")
    } else if canonical.as_deref().is_some_and(|c| c.len() > 254) {
        Some("must be at most 254 bytes")
    } else {
        None
    };
    if let Some(message) = problem {
        errors.push(FieldError::new(field, message));
        return trimmed.to_owned();
    }
    canonical.unwrap_or_default()
}

/// The canonical spelling of an address, or None when its domain is not a valid IDNA name.
fn canonical_email(raw: &str) -> Option<String> {
    let normalized: String = raw.nfkc().collect();
    let (local, domain) = normalized.rsplit_once('@')?;
    let domain = idna::domain_to_ascii(domain).ok()?;
    Some(format!("{}@{domain}", local.to_lowercase()))
}

/// A search prefix in the form stored emails take (NFKC, lower case), with the domain part in
/// punycode when it is a whole valid name; a partial domain stays as typed, lower-cased.
pub fn email_prefix(raw: &str) -> String {
    let normalized: String = raw.trim_matches(' ').nfkc().collect();
    match normalized.rsplit_once('@') {
        Some((local, domain)) => {
            let ascii = idna::domain_to_ascii(domain).ok().filter(|d| !d.is_empty() && domain.contains('.'));
            format!("{}@{}", local.to_lowercase(), ascii.unwrap_or_else(|| domain.to_lowercase()))
        }
        None => normalized.to_lowercase(),
    }
}

/// An address of the form local@domain.tld that email_address accepts, without quoted
/// local parts, comments or IP literals, which no real sign-up needs.
fn is_plain_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    !local.is_empty()
        && !local.contains(['"', '(', ')', '@', '\\'])
        && domain.contains('.')
        && !domain.starts_with('[')
        && !domain.ends_with('.')
        && email_address::EmailAddress::is_valid(s)
}

/// Checks a new password's length, as received: nothing is trimmed.
pub fn new_password(field: &str, password: &str, errors: &mut Vec<FieldError>) {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        errors.push(FieldError::new(field, format!("must be at least {PASSWORD_MIN_CHARS} characters")));
    } else if chars > PASSWORD_MAX_CHARS {
        errors.push(FieldError::new(field, format!("must be at most {PASSWORD_MAX_CHARS} characters")));
    }
}

/// Checks a password offered for sign-in: only its length bound, so hashing cost stays bounded.
pub fn offered_password(field: &str, password: &str, errors: &mut Vec<FieldError>) {
    if password.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if password.chars().count() > PASSWORD_MAX_CHARS {
        errors.push(FieldError::new(field, format!("must be at most {PASSWORD_MAX_CHARS} characters")));
    }
}

/// Checks free text (a description): bounded, and no control characters but line breaks and
/// tabs, NUL among them, which PostgreSQL text cannot hold.
pub fn free_text(field: &str, value: &str, max_chars: usize, errors: &mut Vec<FieldError>) {
    if value.chars().count() > max_chars {
        errors.push(FieldError::new(field, format!("must be at most {max_chars} characters")));
    } else if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        errors.push(FieldError::new(field, "must not contain control characters other than line breaks and tabs"));
    }
}

/// Checks a display name and returns it trimmed.
pub fn name(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> String {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if trimmed.chars().count() > NAME_MAX_CHARS {
        errors.push(FieldError::new(field, format!("must be at most {NAME_MAX_CHARS} characters")));
    } else if trimmed.chars().any(is_invisible) {
        errors.push(FieldError::new(field, "must not contain control or invisible characters"));
    }
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email_ok(raw: &str) -> bool {
        let mut errors = vec![];
        email("email", raw, &mut errors);
        errors.is_empty()
    }

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["a@example.com", "First.Last+tag@sub.example.co.uk", "  padded@example.com ", "ü@bücher.de"] {
            assert!(email_ok(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_injection_and_invisible_characters() {
        for bad in [
            "",
            "plain",
            "a@b",
            "a@example.com\r\nBcc: x@y.com",
            "a\n@example.com",
            "a@exa\u{200B}mple.com",
            "a\u{0000}@example.com",
            "\u{FEFF}a@example.com",
            "a b@example.com",
            "\"q\"@example.com",
            "a@[127.0.0.1]",
            "a@example.com.",
            "a@@example.com",
        ] {
            assert!(!email_ok(bad), "{bad:?}");
        }
        assert!(!email_ok(&format!("{}@example.com", "a".repeat(250))));
    }

    fn canonical(raw: &str) -> String {
        let mut errors = vec![];
        let out = email("email", raw, &mut errors);
        assert!(errors.is_empty(), "{raw:?}: {errors:?}");
        out
    }

    #[test]
    fn search_prefixes_take_the_stored_form() {
        assert_eq!(email_prefix("ＡＤＡ"), "ada");
        assert_eq!(email_prefix("Ada@Exam"), "ada@exam");
        assert_eq!(email_prefix("ada@Bücher.de"), "ada@xn--bcher-kva.de");
        assert_eq!(email_prefix("ada@"), "ada@");
    }

    #[test]
    fn spellings_of_one_mailbox_share_one_canonical_form() {
        for variant in [
            "User@Example.COM",
            " user@example.com ",
            "\u{FF55}\u{FF53}\u{FF45}\u{FF52}@example.com",
            "user\u{FF20}example.com",
            "user@\u{FF45}xample.com",
        ] {
            assert_eq!(canonical(variant), "user@example.com", "{variant:?}");
        }
        assert_eq!(canonical("Ada@B\u{00DC}cher.de"), "ada@xn--bcher-kva.de");
        assert_eq!(canonical("ada@xn--bcher-kva.de"), "ada@xn--bcher-kva.de");
        assert_eq!(canonical("\u{00DC}@bücher.de"), "\u{00FC}@xn--bcher-kva.de");
    }

    #[test]
    fn password_length_is_counted_in_characters_as_received() {
        let check = |p: &str| {
            let mut e = vec![];
            new_password("password", p, &mut e);
            e.is_empty()
        };
        assert!(!check("1234567"));
        assert!(check("12345678"));
        assert!(check("ééééééé€"));
        assert!(!check(" 234567 ".trim()));
        assert!(check(&"x".repeat(1024)));
        assert!(!check(&"x".repeat(1025)));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let mut e = vec![];
        assert_eq!(name("name", "  Ada  ", &mut e), "Ada");
        assert!(e.is_empty());
        name("name", "   ", &mut e);
        name("name", "A\u{202E}da", &mut e);
        name("name", &"n".repeat(201), &mut e);
        assert_eq!(e.len(), 3);
    }
}
