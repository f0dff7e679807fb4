//! Closed-loop flows no load tool can chain: refresh rotation (each answer holds the next
//! request's token) and invite-then-accept (the token arrives by mail, here through a fake
//! SES endpoint the server's real aws-sdk-ses client sends to).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::api::Api;
use crate::fake_ses::{self, Mailbox};
use crate::stats::{ms, percentile};

/// The flow to drive.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Kind {
    /// POST /auth/refresh with the token the last refresh returned.
    Refresh,
    /// POST /orgs/{org}/invitations, then POST /invitations/accept as a new account.
    Invite,
}

/// Runs `concurrency` workers for `seconds`; the report as JSON.
pub async fn run(
    kind: Kind,
    base: &str,
    concurrency: usize,
    seconds: u64,
    ses_port: u16,
    password: &str,
) -> anyhow::Result<Value> {
    let api = Arc::new(Api::new(base));
    let run_id = std::process::id();
    let mut mailbox = Arc::new(Mailbox::default());
    let mut owner = None;
    if let Kind::Invite = kind {
        mailbox = fake_ses::serve(ses_port).await?;
        let (token, _) = api.account(&format!("owner.{run_id}@bench.example"), password).await?;
        let org = api.expect("POST", "/orgs", json!({"name": format!("Bench {run_id}")}), Some(&token), 201).await?;
        owner = Some((token, org["id"].as_str().context("org id")?.to_owned()));
    }
    // Accounts first, so the timed part measures the flow alone.
    let mut refresh_tokens = vec![];
    if let Kind::Refresh = kind {
        for w in 0..concurrency {
            refresh_tokens.push(api.account(&format!("refresh.{run_id}.{w}@bench.example"), password).await?.1);
        }
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (api, mailbox, owner, password) = (api.clone(), mailbox.clone(), owner.clone(), password.to_owned());
        let mut refresh = refresh_tokens.get(w).cloned();
        workers.spawn(async move {
            let mut latencies = vec![];
            let mut n = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                match kind {
                    Kind::Refresh => {
                        let body = json!({"refresh_token": refresh.take().expect("a token")});
                        let pair = api.expect("POST", "/auth/refresh", body, None, 200).await?;
                        refresh = pair["refresh_token"].as_str().map(str::to_owned);
                    }
                    Kind::Invite => {
                        let (token, org) = owner.as_ref().expect("an owner");
                        let email = format!("invitee.{run_id}.{w}.{n}@bench.example");
                        let rx = mailbox.expect(&email).await;
                        let invite = json!({"email": email, "roles": ["member"]});
                        api.expect("POST", &format!("/orgs/{org}/invitations"), invite, Some(token), 201).await?;
                        let mailed = tokio::time::timeout(Duration::from_secs(10), rx).await.context("no mail")??;
                        let accept = json!({"token": mailed, "name": "Invitee", "password": password});
                        api.expect("POST", "/invitations/accept", accept, None, 201).await?;
                    }
                }
                latencies.push(t.elapsed());
                n += 1;
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = vec![];
    for result in workers.join_all().await {
        latencies.extend(result?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(json!({
        "flow": format!("{kind:?}").to_lowercase(),
        "concurrency": concurrency,
        "completed": latencies.len(),
        "per_second": (latencies.len() as f64 / elapsed * 10.0).round() / 10.0,
        "p50_ms": ms(percentile(&latencies, 50.0)),
        "p99_ms": ms(percentile(&latencies, 99.0)),
    }))
}
