//! RFC 6238 TOTP as authenticator apps expect it (SHA-1, 6 digits, 30 s steps, one step of
//! clock skew each way), by totp-rs: new secrets, their `otpauth://` URI and QR code, and
//! which time step a code matches.

use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Bytes of a new secret: 160 bits, RFC 4226's recommendation.
pub const SECRET_LEN: usize = 20;
/// Seconds per time step.
pub const STEP_SECS: u64 = 30;

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_LEN];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness is available");
    bytes
}

/// What an authenticator app is given to enrol: the secret in base32, its `otpauth://` URI,
/// and that URI as a QR code in SVG.
#[derive(Clone)]
pub struct Provisioning {
    /// The secret, base32 without padding, for typing in by hand.
    pub secret: String,
    /// `otpauth://totp/{issuer}:{account}?secret=...&issuer=...`.
    pub uri: String,
    /// The URI as a scannable QR code.
    pub qr_svg: String,
}

/// Why a secret could not be made into an authenticator.
#[derive(Debug, thiserror::Error)]
#[error("TOTP setup failed: {0}")]
pub struct TotpError(String);

fn authenticator(secret: &[u8], issuer: Option<&str>, account: &str) -> Result<Totp, TotpError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(Secret::from(secret.to_vec()))
        // The otpauth label may not hold a colon.
        .with_issuer(issuer.map(|i| i.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| TotpError(e.to_string()))
}

/// The enrolment material for `secret`, labelled `issuer:account`.
pub fn provisioning(secret: &[u8], issuer: &str, account: &str) -> Result<Provisioning, TotpError> {
    let totp = authenticator(secret, Some(issuer), account)?;
    let uri = totp.to_url().map_err(|e| TotpError(e.to_string()))?;
    let qr = QrCode::new(uri.as_bytes()).map_err(|e| TotpError(e.to_string()))?;
    let qr_svg = qr.render::<svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build();
    Ok(Provisioning { secret: totp.secret().to_base32(), uri, qr_svg })
}

/// The time step `code` is valid for at `unix_secs`, within one step each way; `None` for a
/// wrong or malformed code. Compared in constant time by totp-rs.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    authenticator(secret, None, "").ok()?.check(code, unix_secs)
}

/// The code for `unix_secs`: what an authenticator app shows (the CLI's `identity totp`, and
/// tests).
pub fn code_at(secret: &[u8], unix_secs: u64) -> Result<String, TotpError> {
    Ok(authenticator(secret, None, "")?.generate(unix_secs).to_string())
}

/// Decodes a base32 secret as `provisioning` gives it (case and spaces ignored).
pub fn decode_secret(base32: &str) -> Option<Vec<u8>> {
    let cleaned: String = base32.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let secret = Secret::try_from_base32(cleaned.trim_end_matches('=')).ok()?;
    Some(secret.as_ref().to_vec())
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 seed, "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_sha1_vectors_truncated_to_six_digits() {
        // Appendix B lists 8-digit codes; an authenticator's 6 are their last six.
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, eight) in vectors {
            let six = &eight[2..];
            assert_eq!(code_at(RFC_SEED, time).unwrap(), six, "T = {time}");
            assert_eq!(matching_step(RFC_SEED, six, time), Some(time / STEP_SECS), "T = {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_early_or_late_and_no_further() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(matching_step(&secret, &code, now + STEP_SECS), Some(now / STEP_SECS));
        assert_eq!(matching_step(&secret, &code, now - STEP_SECS), Some(now / STEP_SECS));
        assert_eq!(matching_step(&secret, &code, now + 2 * STEP_SECS), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn provisioning_round_trips_the_secret_through_base32_and_the_uri() {
        let secret = new_secret();
        let p = provisioning(&secret, "Identity API", "ada@example.com").unwrap();
        assert_eq!(decode_secret(&p.secret).unwrap(), secret);
        assert_eq!(decode_secret(&p.secret.to_lowercase()).unwrap(), secret);
        assert!(p.uri.starts_with("otpauth://totp/Identity%20API:ada%40example.com?"), "{}", p.uri);
        assert!(p.uri.contains(&format!("secret={}", p.secret)));
        assert!(p.qr_svg.starts_with("<?xml") && p.qr_svg.contains("<svg"));
    }
}
