//! Cold starts as Lambda counts them: exec until the first request for work (init), then
//! the first invocation until its response, then the process's peak resident memory.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::process::Command;

use crate::stats::{ms, percentile};
use crate::{fake_ses, runtime_api};

/// Runs `runs` cold starts of `binary` with `event`, its environment this process's plus `env`;
/// the report as JSON. With `ses_port`, a fake SES endpoint listens there and the report says
/// how many mails it got.
pub async fn run(
    binary: &Path,
    event: Value,
    runs: usize,
    ses_port: Option<u16>,
    env: &[(String, String)],
) -> anyhow::Result<Value> {
    let mailbox = match ses_port {
        Some(port) => Some(fake_ses::serve(port).await?),
        None => None,
    };
    let name = binary.file_name().and_then(|n| n.to_str()).unwrap_or("function").to_owned();
    let (mut inits, mut firsts, mut rss, mut statuses) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (invocation, server) = runtime_api::serve(listener, event.clone());
        let started = Instant::now();
        let mut child = Command::new(binary)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let asked =
            tokio::time::timeout(Duration::from_secs(10), invocation.asked).await.context("init timed out")??;
        let (answered, body) =
            tokio::time::timeout(Duration::from_secs(30), invocation.answered).await.context("no response")??;
        let body = match body {
            Ok(body) => body,
            Err(report) => bail!("{name} reported an error: {}", String::from_utf8_lossy(&report)),
        };
        // An HTTP function answers with an API Gateway response; others with their own JSON.
        let status = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["statusCode"].as_u64());
        inits.push(asked - started);
        firsts.push(answered - asked);
        statuses.push(status);
        rss.push(peak_rss_kib(child.id()).unwrap_or(0));
        child.kill().await.ok();
        server.abort();
    }
    let summary = |samples: &[Duration]| json!({"median_ms": ms(percentile(samples, 50.0)), "p95_ms": ms(percentile(samples, 95.0))});
    Ok(json!({
        "function": name,
        "runs": runs,
        "init": summary(&inits),
        "first_invocation": summary(&firsts),
        "peak_rss_kib": rss.iter().max().copied().unwrap_or(0),
        "statuses": statuses,
        "mails": mailbox.map(|m| m.sent()),
    }))
}

/// VmHWM, the process's peak resident set, from /proc.
fn peak_rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
