//! HTTP load at a fixed rate (open loop) or as fast as `concurrency` connections allow (closed
//! loop). Open-loop latency counts from when a request was due, not from when it went out,
//! so a slow server cannot hide its queue (coordinated omission), as oha's
//! --latency-correction does. oha itself takes over seven minutes to build here, which the
//! whole benchmark's budget cannot spare.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};

use crate::stats::{ms, percentile};

/// One request, sent again and again.
#[derive(Clone)]
pub struct Target {
    /// GET, POST, ...
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Headers as "name: value".
    pub headers: Vec<String>,
    /// Body, if any (JSON unless `headers` name a content type); `{n}` in it becomes 1, 2, ... `vary`, then 1 again, one per request.
    pub body: Option<String>,
    /// How many values `{n}` takes (1: the body never changes).
    pub vary: u64,
    /// The status a request should get (a refusal, for an attack's load); any 2xx when None.
    pub expect: Option<u16>,
}

type Http = Client<HttpConnector, Full<Bytes>>;

async fn send(http: &Http, target: &Target, seq: u64) -> u16 {
    let mut req = axum::http::Request::builder().method(target.method.as_str()).uri(&target.url);
    for header in &target.headers {
        if let Some((name, value)) = header.split_once(':') {
            req = req.header(name.trim(), value.trim());
        }
    }
    let typed = target.headers.iter().any(|h| h.to_ascii_lowercase().starts_with("content-type:"));
    if target.body.is_some() && !typed {
        req = req.header("content-type", "application/json");
    }
    let body = target.body.as_deref().unwrap_or_default();
    let body =
        if target.vary > 1 { body.replace("{n}", &(seq % target.vary + 1).to_string()) } else { body.to_owned() };
    let body = Full::new(Bytes::from(body));
    match http.request(req.body(body).expect("a valid request")).await {
        Ok(res) => {
            let status = res.status().as_u16();
            // Read the whole body: the response is not done until it has arrived.
            let _ = res.into_body().collect().await;
            status
        }
        Err(_) => 0,
    }
}

/// Drives `target` for `seconds`: at `rate` requests/s over at most `concurrency` connections,
/// or closed loop with `concurrency` workers when `rate` is 0. The same load runs for
/// `warmup` seconds first, unrecorded, so connections (ours, the server's pool) and caches
/// are warm when measuring starts. The report as JSON.
pub async fn run(target: Target, rate: u32, seconds: u64, warmup: u64, concurrency: usize) -> anyhow::Result<Value> {
    let target_expect = target.expect;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let http: Http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(concurrency).build(connector);
    let target = Arc::new(target);
    if warmup > 0 {
        drive(&http, &target, rate, warmup, concurrency).await?;
    }
    let started = Instant::now();
    let samples = drive(&http, &target, rate, seconds, concurrency).await?;
    Ok(report(&samples, started.elapsed().as_secs_f64(), rate, concurrency, target_expect))
}

/// One stretch of load; the latency and status of every request.
async fn drive(
    http: &Http,
    target: &Arc<Target>,
    rate: u32,
    seconds: u64,
    concurrency: usize,
) -> anyhow::Result<Vec<(Duration, u16)>> {
    let samples = Arc::new(Mutex::new(Vec::<(Duration, u16)>::new()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    if rate == 0 {
        let seq = Arc::new(AtomicU64::new(0));
        for _ in 0..concurrency {
            let (http, target, samples, seq) = (http.clone(), target.clone(), samples.clone(), seq.clone());
            tasks.spawn(async move {
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let status = send(&http, &target, seq.fetch_add(1, Ordering::Relaxed)).await;
                    samples.lock().await.push((t.elapsed(), status));
                }
            });
        }
    } else {
        let permits = Arc::new(Semaphore::new(concurrency));
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
        let total = u64::from(rate) * seconds;
        for i in 0..total {
            let due = started + interval.mul_f64(i as f64);
            tokio::time::sleep_until(due.into()).await;
            let permit = permits.clone().acquire_owned().await?;
            let (http, target, samples) = (http.clone(), target.clone(), samples.clone());
            tasks.spawn(async move {
                let status = send(&http, &target, i).await;
                samples.lock().await.push((due.elapsed(), status));
                drop(permit);
            });
        }
    }
    tasks.join_all().await;
    let samples = std::mem::take(&mut *samples.lock().await);
    Ok(samples)
}

/// The run's figures as JSON.
fn report(samples: &[(Duration, u16)], elapsed: f64, rate: u32, concurrency: usize, expect: Option<u16>) -> Value {
    let latencies: Vec<Duration> = samples.iter().map(|(d, _)| *d).collect();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for (_, status) in samples.iter() {
        *statuses.entry(status.to_string()).or_default() += 1;
    }
    let ok = samples.iter().filter(|(_, s)| expect.map_or((200..300).contains(s), |e| e == *s)).count();
    json!({
        "mode": if rate == 0 { "closed".to_owned() } else { format!("open at {rate}/s") },
        "concurrency": concurrency,
        "requests": samples.len(),
        "rps": (samples.len() as f64 / elapsed * 10.0).round() / 10.0,
        "p50_ms": ms(percentile(&latencies, 50.0)),
        "p99_ms": ms(percentile(&latencies, 99.0)),
        "max_ms": ms(percentile(&latencies, 100.0)),
        "success": if samples.is_empty() { 0.0 } else { ok as f64 / samples.len() as f64 },
        "statuses": statuses,
    })
}

/// Adds `fields` to a JSON object: a load's report marked with what it measured.
pub fn with(mut row: Value, fields: Value) -> Value {
    if let (Some(row), Value::Object(fields)) = (row.as_object_mut(), fields) {
        row.extend(fields);
    }
    row
}
