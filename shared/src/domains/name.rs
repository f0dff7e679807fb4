//! A claimed domain's name: normalised (surrounding space, case, IDNA to ASCII, one trailing
//! dot) and refused when no one organization could own it: an IP address, a single label, a
//! public suffix (`com`, `co.uk`, `github.io`) or a consumer mail provider's domain.

use std::net::IpAddr;

/// Domains of mail providers whose users are strangers to one another: no organization owns
/// the people at them, whatever it publishes. Subdomains of these are refused too.
const CONSUMER_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.co.jp",
    "yahoo.fr",
    "ymail.com",
    "rocketmail.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "tutanota.com",
    "tuta.io",
    "fastmail.com",
    "hey.com",
    "zoho.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "mail.com",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "naver.com",
    "hanmail.net",
    "daum.net",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "libero.it",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "interia.pl",
    "rediffmail.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "btinternet.com",
];

/// A domain one organization may claim: lower-case ASCII, no trailing dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainName(String);

impl DomainName {
    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Normalises `raw`, or says (for a 422 on the field) why it cannot be claimed.
    pub fn parse(raw: &str) -> Result<DomainName, String> {
        let trimmed = raw.trim();
        let name = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if name.is_empty() {
            return Err("is empty; give a domain such as example.com".into());
        }
        // Bracketed or not, v4 or v6 (whose colons would otherwise read as a URL's).
        if name.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
            return Err("is an IP address; claim a domain name such as example.com".into());
        }
        if name.contains(['@', '/', ':', '?', '#']) || name.chars().any(char::is_whitespace) {
            return Err("is a domain name such as example.com, not an email address or a URL".into());
        }
        let ascii = idna::domain_to_ascii_strict(name)
            .map_err(|_| "is not a valid domain name (letters, digits and hyphens in dot-separated labels)")?;
        // An empty name, a leading, doubled or trailing dot: each leaves an empty label.
        if ascii.split('.').any(str::is_empty) {
            return Err("is not a valid domain name (an empty label)".into());
        }
        if !ascii.contains('.') {
            return Err("is a single label; claim a domain such as example.com".into());
        }
        // Four numeric labels that did not parse as an address are still not a name anyone owns.
        if ascii.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
            return Err("ends in a numeric label; claim a domain name such as example.com".into());
        }
        if psl::suffix_str(&ascii) == Some(ascii.as_str()) {
            return Err("is a public suffix (such as com, co.uk or github.io) that no one organization owns".into());
        }
        if CONSUMER_DOMAINS.iter().any(|c| ascii == *c || ascii.ends_with(&format!(".{c}"))) {
            return Err("belongs to a consumer mail provider whose users no organization owns".into());
        }
        Ok(DomainName(ascii))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        DomainName::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}")).0
    }

    fn refused(raw: &str) -> String {
        DomainName::parse(raw).expect_err(raw)
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(ok("Example.COM"), "example.com");
        assert_eq!(ok(" example.com. "), "example.com");
        assert_eq!(ok("Bücher.example"), "xn--bcher-kva.example");
        assert_eq!(ok("xn--bcher-kva.example"), "xn--bcher-kva.example");
        assert_eq!(ok("eu.acme.co.uk"), "eu.acme.co.uk");
        assert_eq!(ok("acme.github.io"), "acme.github.io");
    }

    #[test]
    fn names_no_one_organization_owns_are_refused() {
        assert!(refused("192.0.2.1").contains("IP address"));
        assert!(refused("[2001:db8::1]").contains("IP address"));
        assert!(refused("2001:db8::1").contains("IP address"));
        assert!(refused("localhost").contains("single label"));
        assert!(refused("com").contains("single label"));
        assert!(refused("co.uk").contains("public suffix"));
        assert!(refused("github.io").contains("public suffix"));
        assert!(refused("gmail.com").contains("consumer"));
        assert!(refused("GMAIL.com.").contains("consumer"));
        assert!(refused("mail.yahoo.co.jp").contains("consumer"));
        assert!(refused("ada@example.com").contains("not an email address"));
        assert!(refused("https://example.com").contains("not an email address"));
        assert!(refused("exa mple.com").contains("not an email address"));
        assert!(refused("").contains("empty"));
        assert!(refused("a..b.com").contains("valid"));
        assert!(refused("-bad-.com").contains("valid"));
        assert!(refused(&format!("{}.com", "a".repeat(64))).contains("valid"));
        assert!(refused("1.2.3.999").contains("numeric"));
    }
}
