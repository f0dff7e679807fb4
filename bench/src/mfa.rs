//! Sign-in with a second factor beside sign-in without: accounts seeded with active TOTP
//! factors sealed under the server's key, each signing in once (a code is good once per time
//! step), in the same closed loop as accounts without a factor.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use identity_shared::auth::sealed::Sealer;
use identity_shared::auth::totp;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::api::Api;
use crate::stats::{ms, percentile};

/// The id of seeded user `n` (bench/seed.sql's scheme).
fn user_id(n: u32) -> uuid::Uuid {
    format!("00000000-0000-4000-8000-{n:012x}").parse().expect("a seeded user id")
}

/// Gives seeded users `first..first + count` an active authenticator each; their emails and
/// secrets.
pub async fn seed(
    db: &tokio_postgres::Client,
    key: &str,
    first: u32,
    count: u32,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let sealer = Sealer::new(key.as_bytes()).context("a sealing key of 32+ bytes")?;
    let (mut ids, mut users, mut sealed, mut accounts) = (vec![], vec![], vec![], vec![]);
    for n in first..first + count {
        let id = uuid::Uuid::now_v7();
        let secret = totp::new_secret();
        sealed.push(sealer.seal(&secret, id.as_bytes()));
        ids.push(id);
        users.push(user_id(n));
        accounts.push((format!("user{n}@bench.example"), secret));
    }
    db.execute(
        "INSERT INTO mfa_factors (id, user_id, kind, status, secret_sealed, activated_at)
         SELECT unnest($1::uuid[]), unnest($2::uuid[]), 'totp', 'active', unnest($3::bytea[]), now()",
        &[&ids, &users, &sealed],
    )
    .await?;
    Ok(accounts)
}

/// A closed loop of sign-ins for `seconds` (or until every account has signed in once) over
/// `concurrency` workers: the password alone for accounts with no secret, else the password and
/// then the current code. The report as JSON, the code step's own latency beside the whole's.
pub async fn sign_ins(
    api_url: &str,
    accounts: Vec<(String, Option<Vec<u8>>)>,
    password: &str,
    seconds: u64,
    concurrency: usize,
) -> anyhow::Result<Value> {
    let accounts = Arc::new(accounts);
    let next = Arc::new(AtomicUsize::new(0));
    let samples = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (accounts, next, samples, password) =
            (accounts.clone(), next.clone(), samples.clone(), password.to_owned());
        let api = Api::new(api_url);
        workers.spawn(async move {
            while Instant::now() < deadline {
                let Some((email, secret)) = accounts.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                let start = Instant::now();
                let answer =
                    api.expect("POST", "/auth/login", json!({"email": email, "password": password}), None, 200).await?;
                let step = match secret {
                    None => None,
                    Some(secret) => {
                        let at = Instant::now();
                        let code = totp::code_at(secret, totp::now_secs())?;
                        let body = json!({"mfa_token": answer["mfa_token"], "code": code});
                        api.expect("POST", "/auth/mfa/verify", body, None, 200).await?;
                        Some(at.elapsed())
                    }
                };
                let mut samples = samples.lock().await;
                samples.0.push(start.elapsed());
                samples.1.extend(step);
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (whole, step) = &*samples.lock().await;
    if whole.is_empty() {
        bail!("no sign-in finished");
    }
    Ok(json!({
        "requests": whole.len(),
        "rps": whole.len() as f64 / elapsed,
        "p50_ms": ms(percentile(whole, 50.0)),
        "p99_ms": ms(percentile(whole, 99.0)),
        "code_step_p50_ms": ms(percentile(step, 50.0)),
        "code_step_p99_ms": ms(percentile(step, 99.0)),
        "concurrency": concurrency,
    }))
}
