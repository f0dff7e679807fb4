//! The physical limit of logins: raw argon2id verifies per second at the production cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use identity_shared::auth::password::Passwords;
use identity_shared::config::Argon2Cost;
use secrecy::SecretString;
use serde_json::{Value, json};

/// Verifies on `threads` concurrent tasks for `seconds`, through the same `Passwords` the
/// service uses (spawn_blocking); the report as JSON.
pub async fn verify_rate(seconds: u64, threads: usize) -> anyhow::Result<Value> {
    let cost = Argon2Cost::RECOMMENDED;
    let passwords = Arc::new(Passwords::new(cost, threads)?);
    let password = SecretString::from("bench password 1");
    let phc = passwords.hash(&password).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..threads {
        let (passwords, password, phc, done) = (passwords.clone(), password.clone(), phc.clone(), done.clone());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                let ok = passwords.verify(&password, phc.clone()).await.unwrap_or(false);
                assert!(ok, "the hash verifies");
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    tasks.join_all().await;
    let elapsed = started.elapsed().as_secs_f64();
    let count = done.load(Ordering::Relaxed);
    Ok(json!({
        "argon2": {"memory_kib": cost.memory_kib, "iterations": cost.iterations, "parallelism": cost.parallelism},
        "threads": threads,
        "verifies": count,
        "verifies_per_second": (count as f64 / elapsed * 10.0).round() / 10.0,
    }))
}

/// The PHC string of `password` at the production cost.
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let passwords = Passwords::new(Argon2Cost::RECOMMENDED, 0)?;
    passwords.hash(&SecretString::from(password.to_owned())).await.map_err(|e| anyhow::anyhow!("{e:?}"))
}
