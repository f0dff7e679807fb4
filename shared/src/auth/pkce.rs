//! PKCE (RFC 7636): the S256 challenge of a verifier, which the provider checks a code's
//! exchange against and the SSO client sends.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The S256 challenge of a verifier: BASE64URL(SHA-256(verifier)).
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rfc_example_holds() {
        // RFC 7636 Appendix B.
        assert_eq!(
            super::challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
