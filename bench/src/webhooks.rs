//! Webhooks under `identity serve`: the time from a change's request to the receiver's 2xx
//! (the hand-off wakes the in-process sender after the commit), and what writing a change costs
//! when an endpoint takes its events against when none does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use identity_testkit::rie::RieFunction;

use crate::api::Api;
use crate::stats::{ms, percentile};

/// When each role's `role.created` event arrived, by the role's name.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A receiver on loopback answering 204; its URL and what it was sent.
pub async fn receiver() -> anyhow::Result<(String, Arrivals)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    let arrivals = Arrivals::default();
    let app = Router::new().fallback(arrive).with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, arrivals))
}

async fn arrive(State(arrivals): State<Arrivals>, body: Bytes) -> StatusCode {
    let event: Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(name) = event["data"]["name"].as_str() {
        arrivals.lock().expect("the arrivals").insert(name.to_owned(), Instant::now());
    }
    StatusCode::NO_CONTENT
}

/// As [`commit_to_delivery`], through the orgs function under the Runtime Interface Emulator
/// (its `orgs-roles-create` event with the role's name changed), which hands off to the sender
/// function under another emulator.
pub async fn through_functions(
    orgs: &RieFunction,
    event: &str,
    api: &Api,
    token: &str,
    org: &str,
    arrivals: &Arrivals,
    count: usize,
) -> anyhow::Result<Value> {
    let mut samples = Vec::with_capacity(count);
    for n in 0..count {
        let name = format!("latency-rie-{n}");
        let started = Instant::now();
        let answer = orgs.invoke(&event.replace("billing", &name)).await;
        anyhow::ensure!(answer["statusCode"] == 201, "the orgs function answered {answer}");
        samples.push(arrival(arrivals, &name, started).await?.duration_since(started));
        api.call("DELETE", &format!("/orgs/{org}/roles/{name}"), Value::Null, Some(token)).await?;
    }
    Ok(latency_row("rie", &samples))
}

/// When the event of the role `name` arrived (10 s after `started` at most).
async fn arrival(arrivals: &Arrivals, name: &str, started: Instant) -> anyhow::Result<Instant> {
    let deadline = started + Duration::from_secs(10);
    loop {
        if let Some(at) = arrivals.lock().expect("the arrivals").get(name) {
            return Ok(*at);
        }
        anyhow::ensure!(Instant::now() < deadline, "{name}'s event did not arrive within 10 s");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn latency_row(variant: &str, samples: &[Duration]) -> Value {
    json!({
        "kind": "webhook-latency",
        "variant": variant,
        "samples": samples.len(),
        "p50_ms": ms(percentile(samples, 50.0)),
        "p99_ms": ms(percentile(samples, 99.0)),
    })
}

/// Makes `count` roles one after another, each once the last one's event has arrived; the
/// time from each request going out to its event's arrival, as p50 and p99.
pub async fn commit_to_delivery(
    api: &Api,
    token: &str,
    org: &str,
    arrivals: &Arrivals,
    count: usize,
    variant: &str,
) -> anyhow::Result<Value> {
    let mut samples = Vec::with_capacity(count);
    for n in 0..count {
        let name = format!("latency-{variant}-{n}");
        let started = Instant::now();
        let role = json!({"name": name, "permissions": ["members:read"]});
        api.expect("POST", &format!("/orgs/{org}/roles"), role, Some(token), 201).await?;
        samples.push(arrival(arrivals, &name, started).await?.duration_since(started));
        // Each role once: the organization's role quota stays out of the way.
        let path = format!("/orgs/{org}/roles/{name}");
        api.call("DELETE", &path, Value::Null, Some(token)).await.context("deleting a role")?;
    }
    Ok(latency_row(variant, &samples))
}
