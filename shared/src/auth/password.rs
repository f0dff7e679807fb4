//! argon2id password hashing, off the async threads.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Argon2Cost;
use crate::error::AppError;

/// Hashes and verifies passwords at the configured cost.
#[derive(Clone, Debug)]
pub struct Passwords {
    cost: Argon2Cost,
}

impl Passwords {
    /// A hasher at this cost.
    pub fn new(cost: Argon2Cost) -> Result<Passwords, String> {
        params(cost).map_err(|e| format!("argon2 parameters: {e}"))?;
        Ok(Passwords { cost })
    }

    /// The PHC string for a new password, computed on a blocking thread.
    pub fn hash(&self, password: &SecretString) -> impl Future<Output = Result<String, AppError>> + use<> {
        let cost = self.cost;
        let password = password.clone();
        async move {
            tokio::task::spawn_blocking(move || hash_blocking(cost, password.expose_secret()))
                .await
                .map_err(|e| AppError::Internal(format!("hash task: {e}")))?
        }
    }

    /// True when `password` matches `phc`, computed on a blocking thread. A malformed stored
    /// hash counts as a mismatch, after the same amount of work as a real check.
    pub async fn verify(&self, password: &SecretString, phc: String) -> Result<bool, AppError> {
        let password = password.clone();
        tokio::task::spawn_blocking(move || verify_blocking(password.expose_secret(), &phc))
            .await
            .map_err(|e| AppError::Internal(format!("verify task: {e}")))
    }
}

fn params(cost: Argon2Cost) -> Result<Params, argon2::Error> {
    Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
}

fn hash_blocking(cost: Argon2Cost, password: &str) -> Result<String, AppError> {
    let params = params(cost).map_err(|e| AppError::Internal(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    argon
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        // The parameters come from the stored string, so old hashes keep verifying after
        // the configured cost changes.
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Cost = Argon2Cost { memory_kib: 64, iterations: 1, parallelism: 1 };

    #[tokio::test]
    async fn hash_verifies_and_rejects_other_passwords() {
        let hasher = Passwords::new(CHEAP).unwrap();
        let phc = hasher.hash(&"correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(hasher.verify(&"correct horse".into(), phc.clone()).await.unwrap());
        assert!(!hasher.verify(&"correct horsf".into(), phc.clone()).await.unwrap());
        assert!(!hasher.verify(&"correct horse".into(), "not a phc".into()).await.unwrap());
    }

    #[tokio::test]
    async fn salts_differ_between_hashes() {
        let hasher = Passwords::new(CHEAP).unwrap();
        let a = hasher.hash(&"same".into()).await.unwrap();
        let b = hasher.hash(&"same".into()).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn recommended_cost_is_argon2id_19456_2_1() {
        let hasher = Passwords::new(Argon2Cost::RECOMMENDED).unwrap();
        let phc = hasher.hash(&"a real password".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&"a real password".into(), phc).await.unwrap());
    }

    #[test]
    fn impossible_cost_is_refused() {
        assert!(Passwords::new(Argon2Cost { memory_kib: 1, iterations: 0, parallelism: 1 }).is_err());
    }
}
