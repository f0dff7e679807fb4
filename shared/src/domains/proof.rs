//! Whether a TXT lookup proves a claim: one whole record (its character-strings joined) equal
//! to the expected value, never a substring, a prefix or a record at another name.

/// What a TXT lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxtAnswer {
    /// The records at the name, each one's character-strings joined (RFC 7208's reading):
    /// invalid UTF-8 is replaced, so it matches nothing a claim publishes.
    Records(Vec<String>),
    /// The name does not exist (NXDOMAIN).
    NoSuchName,
    /// The name exists but holds no TXT record.
    NoRecords,
    /// The lookup itself failed (SERVFAIL, a refusal, a timeout): nothing is known.
    Failed(String),
}

/// A claim's state after a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A record is exactly the expected value.
    Proven,
    /// The record is not there (yet): why, for the claimant.
    NotFound(String),
    /// Nothing could be learnt: why, for the claimant; the claim is tried again later.
    LookupFailed(String),
}

/// Judges `answer`, the lookup of `name`, against the `expected` record value.
pub fn judge(name: &str, expected: &str, answer: &TxtAnswer) -> Verdict {
    match answer {
        TxtAnswer::Records(records) if records.iter().any(|r| r == expected) => Verdict::Proven,
        TxtAnswer::Records(records) => Verdict::NotFound(format!(
            "None of the {} TXT records at {name} is exactly the value to publish (one whole record, nothing \
             before or after it).",
            records.len()
        )),
        TxtAnswer::NoSuchName => Verdict::NotFound(format!("{name} does not exist (NXDOMAIN).")),
        TxtAnswer::NoRecords => Verdict::NotFound(format!("No TXT record at {name}.")),
        TxtAnswer::Failed(why) => {
            Verdict::LookupFailed(format!("The lookup of {name} failed ({why}); it is tried again later."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "_identity-challenge.example.com";
    const WANT: &str = "identity-domain-verification=abc";

    fn records(r: &[&str]) -> TxtAnswer {
        TxtAnswer::Records(r.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn only_one_whole_record_proves() {
        assert_eq!(judge(NAME, WANT, &records(&["v=spf1 -all", WANT])), Verdict::Proven);
        for near in [
            "identity-domain-verification=abcd",
            "xidentity-domain-verification=abc",
            "identity-domain-verification=ab",
            "identity-domain-verification=abc ",
            "IDENTITY-DOMAIN-VERIFICATION=ABC",
        ] {
            assert!(matches!(judge(NAME, WANT, &records(&[near])), Verdict::NotFound(_)), "{near}");
        }
    }

    #[test]
    fn absence_and_failure_differ() {
        assert!(matches!(judge(NAME, WANT, &TxtAnswer::NoSuchName), Verdict::NotFound(m) if m.contains("NXDOMAIN")));
        assert!(matches!(judge(NAME, WANT, &TxtAnswer::NoRecords), Verdict::NotFound(m) if m.contains("No TXT")));
        let failed = judge(NAME, WANT, &TxtAnswer::Failed("SERVFAIL".into()));
        assert!(matches!(failed, Verdict::LookupFailed(m) if m.contains("SERVFAIL")));
    }
}
