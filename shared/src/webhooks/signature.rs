//! Standard Webhooks signing secrets (`whsec_` + base64 of 32 random bytes) and signatures:
//! `v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, one per live secret,
//! space-separated, so a receiver holding either secret of a rotation verifies.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// What every signing secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a secret.
const SECRET_BYTES: usize = 32;

/// A new signing secret as the receiver configures it: `whsec_` and base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    aws_lc_rs::rand::fill(&mut key).expect("system randomness is available");
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The HMAC key a secret stands for; `None` if it is not one [`generate_secret`] made.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok().filter(|k| k.len() == SECRET_BYTES)
}

/// The `webhook-signature` header for one message under each key, in order.
pub fn sign(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    let signed = [id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", body].concat();
    keys.iter()
        .map(|key| {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), &signed);
            format!("v1,{}", STANDARD.encode(tag.as_ref()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_prefixed_base64_of_32_random_bytes() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret_key(&secret).unwrap().len(), 32);
        assert_ne!(generate_secret(), secret);
        assert!(secret_key("whsec_c2hvcnQ=").is_none(), "too short");
        assert!(secret_key(secret.trim_start_matches("whsec_")).is_none(), "no prefix");
    }

    #[test]
    fn signs_as_the_standard_webhooks_example_does() {
        // The example in the Standard Webhooks specification.
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(std::slice::from_ref(&key), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let two = sign(&[key.clone(), key], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(two.split(' ').count(), 2, "one signature per key, space-separated");
    }
}
