//! Field values checked once, at the edge: a service that takes an [`Email`] or a
//! [`NewPassword`] cannot be handed an unchecked one. Each `parse` says what is wrong in words
//! a 422 can carry; [`FieldErrors`] gathers them for one body.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::error::{AppError, AppResult, FieldError};

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

/// The names [`DisplayName::parse`] accepts, as a JSON Schema pattern for the OpenAPI document: no control
/// or invisible characters and at least one visible one.
pub fn name_pattern() -> String {
    format!("^[^{INVISIBLE_CLASS}]*[^\\s{INVISIBLE_CLASS}][^{INVISIBLE_CLASS}]*$")
}

/// Gathers the field errors of one body, so a 422 names every invalid field at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// The parsed value, or None with the field's error noted.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|message| self.0.push(FieldError::new(field, message))).ok()
    }

    /// An optional field: `Some(None)` when absent, None when present and invalid.
    pub fn optional<R, T>(
        &mut self,
        field: &str,
        raw: Option<R>,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match raw {
            Some(raw) => self.check(field, parse(raw)).map(Some),
            None => Some(None),
        }
    }

    /// Notes an error found by a check of its own.
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// The value `build` makes from the checked fields, or each invalid field's error (what a
    /// page shows beside its form, where the API answers [`FieldErrors::finish`]'s 422).
    pub fn finish_form<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        match build() {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(self.0),
        }
    }

    /// The value `build` makes from the checked fields, or the 422 naming each invalid one.
    /// `build` gives None only when some field failed, and then an error was noted.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> AppResult<T> {
        match build() {
            Some(value) if self.0.is_empty() => Ok(value),
            _ if self.0.is_empty() => Err(AppError::bug("a field failed its check without an error")),
            _ => Err(AppError::Validation(self.0)),
        }
    }
}

/// An email address in canonical form: compatibility-normalized (NFKC, so fullwidth and other
/// look-alike forms collapse), lower-cased, with the domain in its ASCII (punycode) form. Two
/// spellings of one mailbox are one `Email`, so they map to one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks an address as typed (surrounding spaces allowed) and canonicalizes it.
    pub fn parse(raw: &str) -> Result<Email, String> {
        let trimmed = raw.trim_matches(' ');
        let canonical = canonical_email(trimmed);
        let problem = if trimmed.is_empty() {
            "is required"
        } else if trimmed.chars().any(|c| is_invisible(c) || c.is_whitespace()) {
            "must not contain spaces, line breaks, control or invisible characters"
        } else if canonical.as_deref().is_some_and(|c| c.len() > 254) {
            "must be at most 254 bytes"
        } else {
            match canonical {
                Some(address) if is_plain_address(&address) => return Ok(Email(address)),
                _ => "must be an email address like name@example.com",
            }
        };
        Err(problem.into())
    }

    /// An address already in canonical form, as stored: for values read back from the database.
    pub fn from_stored(stored: String) -> Email {
        Email(stored)
    }

    /// The canonical address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password chosen by its owner: 8 to 1024 characters as received, nothing trimmed.
#[derive(Debug)]
pub struct NewPassword(SecretString);

impl NewPassword {
    /// Checks a new password's length, counted in characters.
    pub fn parse(password: SecretString) -> Result<NewPassword, String> {
        let chars = password.expose_secret().chars().count();
        if chars < PASSWORD_MIN_CHARS {
            Err(format!("must be at least {PASSWORD_MIN_CHARS} characters"))
        } else if chars > PASSWORD_MAX_CHARS {
            Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"))
        } else {
            Ok(NewPassword(password))
        }
    }

    /// The password, to hash.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

/// A password offered to sign in or to confirm: only bounded, so hashing cost stays bounded.
#[derive(Debug)]
pub struct Password(SecretString);

impl Password {
    /// Checks that a password is present and within the hashing bound.
    pub fn parse(password: SecretString) -> Result<Password, String> {
        let chars = password.expose_secret().chars().count();
        if chars == 0 {
            Err("is required".into())
        } else if chars > PASSWORD_MAX_CHARS {
            Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"))
        } else {
            Ok(Password(password))
        }
    }

    /// The password, to verify.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

/// A display name (of a person or an organization): trimmed, 1 to 200 characters, at least one
/// visible and none that are control or invisible characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Checks a name and trims it.
    pub fn parse(raw: &str) -> Result<DisplayName, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            Err("is required".into())
        } else if trimmed.chars().count() > NAME_MAX_CHARS {
            Err(format!("must be at most {NAME_MAX_CHARS} characters"))
        } else if trimmed.chars().any(is_invisible) {
            Err("must not contain control or invisible characters".into())
        } else {
            Ok(DisplayName(trimmed.to_owned()))
        }
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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

/// Longest slug, in bytes (a DNS label's limit, so a slug can name a subdomain).
pub const SLUG_MAX: usize = 63;

/// An organization's URL handle: 1 to 63 lower-case ASCII letters, digits and inner hyphens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// Checks a slug as given; nothing is lower-cased for the caller.
    pub fn parse(raw: &str) -> Result<Slug, String> {
        let ok = (1..=SLUG_MAX).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if ok {
            Ok(Slug(raw.to_owned()))
        } else {
            Err("must be 1 to 63 lower-case letters, digits and inner hyphens".into())
        }
    }

    /// A slug made from a name: lower-case ASCII letters and digits, other runs one hyphen.
    pub fn from_name(name: &DisplayName) -> Slug {
        let mut slug = String::new();
        for c in name.as_str().chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug: String = slug.chars().take(SLUG_MAX).collect();
        let slug = slug.trim_matches('-');
        Slug(if slug.is_empty() { "org".to_owned() } else { slug.to_owned() })
    }

    /// This slug with `-suffix`, cut so the whole stays within [`SLUG_MAX`].
    pub fn with_suffix(&self, suffix: &str) -> Slug {
        let stem: String = self.0.chars().take(SLUG_MAX - 1 - suffix.len()).collect();
        Slug(format!("{}-{suffix}", stem.trim_end_matches('-')))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role's name: 1 to 63 lower-case letters, digits, '_', ':' or '-', starting with a letter or
/// digit. A name never reads as a UUID, since `{role}` paths take ids and names alike.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName(String);

impl RoleName {
    /// Checks a role name.
    pub fn parse(raw: &str) -> Result<RoleName, String> {
        if !is_role_name(raw) {
            Err("must be 1 to 63 lower-case letters, digits, '_', ':' or '-'".into())
        } else if Uuid::parse_str(raw).is_ok() {
            Err("must not be a UUID: role paths take ids and names alike".into())
        } else {
            Ok(RoleName(raw.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1 to 63 lower-case letters, digits, '_', ':' or '-', starting with a letter or digit.
fn is_role_name(raw: &str) -> bool {
    (1..=63).contains(&raw.len())
        && raw.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:-".contains(&b))
}

/// Checks free text (a description): bounded, and no control characters but line breaks and
/// tabs, NUL among them, which PostgreSQL text cannot hold.
pub fn free_text(value: &str, max_chars: usize) -> Result<String, String> {
    if value.chars().count() > max_chars {
        Err(format!("must be at most {max_chars} characters"))
    } else if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        Err("must not contain control characters other than line breaks and tabs".into())
    } else {
        Ok(value.to_owned())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn email_ok(raw: &str) -> bool {
        Email::parse(raw).is_ok()
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
        Email::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}")).as_str().to_owned()
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
        let check = |p: &str| NewPassword::parse(SecretString::from(p)).is_ok();
        assert!(!check("1234567"));
        assert!(check("12345678"));
        assert!(check("ééééééé€"));
        assert!(!check(" 234567 ".trim()));
        assert!(check(&"x".repeat(1024)));
        assert!(!check(&"x".repeat(1025)));
        assert!(Password::parse(SecretString::from("")).is_err());
        assert!(Password::parse(SecretString::from("x")).is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada  ").map(|n| n.as_str().to_owned()), Ok("Ada".to_owned()));
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("A\u{202E}da").is_err());
        assert!(DisplayName::parse(&"n".repeat(201)).is_err());
    }

    #[test]
    fn slugs_and_role_names_keep_their_shapes() {
        let name = |n: &str| DisplayName::parse(n).unwrap();
        assert_eq!(Slug::from_name(&name("Acme, Inc.")).as_str(), "acme-inc");
        assert_eq!(Slug::from_name(&name("  Ünïcode & Co.  ")).as_str(), "n-code-co");
        assert_eq!(Slug::from_name(&name("???")).as_str(), "org");
        assert_eq!(Slug::from_name(&name(&"a".repeat(100))).as_str().len(), 63);
        assert!(Slug::parse(Slug::from_name(&name("Hello -- World")).as_str()).is_ok());
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Slug::from_name(&name(&"a".repeat(80))).with_suffix("x1y2z3").as_str().len(), SLUG_MAX);
        assert!(Slug::parse("-a").is_err() && Slug::parse("A").is_err() && Slug::parse("a-1").is_ok());
        assert!(RoleName::parse("billing:admin").is_ok());
        assert!(RoleName::parse("Admin").is_err());
        assert!(RoleName::parse("0190a7e4-0000-7000-8000-000000000000").is_err());
    }

    #[test]
    fn field_errors_name_every_invalid_field() {
        let mut f = FieldErrors::default();
        let email = f.check("email", Email::parse("nope"));
        let name = f.optional("name", Some("  "), DisplayName::parse);
        let slug = f.optional("slug", None::<&str>, Slug::parse);
        assert_eq!(slug, Some(None));
        let Err(AppError::Validation(errors)) = f.finish(|| Some((email?, name?))) else { panic!("not a 422") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "name"]);
    }
}
