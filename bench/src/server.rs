//! `identity serve` processes for the benchmark: the main one and the variants the costs are
//! measured against (over TLS, at another log level, with per-IP limits on, through a proxy).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::api::Api;

/// A running `identity serve`, killed when dropped.
pub struct Server {
    /// Its base URL.
    pub url: String,
    child: Child,
}

/// Every per-IP limit set to `limit`: "0" turns them off (every client here is 127.0.0.1, and a
/// flood from many addresses is what the forged-reset run stands for); a limit too high to
/// reach shows what each guarded request pays for its check.
pub fn ip_limits(limit: &str) -> Vec<(String, String)> {
    ["LOGIN", "REGISTER", "FORGOT", "RESET", "VERIFY", "INVITATION"]
        .map(|route| (format!("IP_LIMIT_{route}"), limit.to_owned()))
        .to_vec()
}

/// Limits on, never reached.
pub const UNREACHED: &str = "100000000";

impl Server {
    /// Starts `identity serve` from `bin` on a free port with `env` (later entries win), its
    /// output in `out/serve-<name>.log`, and waits for /health.
    pub async fn start(bin: &Path, out: &Path, name: &str, env: &[(String, String)]) -> anyhow::Result<Server> {
        let url = format!("http://127.0.0.1:{}", free_port()?);
        Server::start_on(bin, out, name, &url, env).await
    }

    /// As [`Server::start`], on `url`'s port.
    pub async fn start_on(
        bin: &Path,
        out: &Path,
        name: &str,
        url: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<Server> {
        let port = url.rsplit(':').next().context("a port")?.to_owned();
        let url = url.to_owned();
        let log_path = out.join(format!("serve-{name}.log"));
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(bin.join("identity"))
            .arg("serve")
            .env("RUST_LOG", "warn")
            .env("DATABASE_POOL_SIZE", "16")
            // One bench organization invites, and one bench account creates organizations, far
            // beyond a real hour's quota: those two are off (their counting still runs).
            .env("QUOTA_INVITATIONS_PER_ORG_HOUR", "1000000")
            .env("QUOTA_ORGS_PER_USER", "1000000")
            // The bench's key and client make tens of thousands of requests (and token requests)
            // a minute: counted, never refused.
            .env("QUOTA_API_KEY_REQUESTS_PER_MINUTE", "1000000000")
            .env("QUOTA_CLIENT_REQUESTS_PER_MINUTE", "1000000000")
            .env("QUOTA_CLIENT_TOKEN_REQUESTS_PER_MINUTE", "1000000000")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PORT", port)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting identity serve")?;
        let server = Server { url, child };
        let api = Api::new(&server.url);
        for _ in 0..150 {
            if let Ok((200, _)) = api.call("GET", "/health", Value::Null, None).await {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("identity serve ({name}) did not answer /health within 30 s (see {})", log_path.display())
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the server has exited")
    }

    /// Its resident memory now and at its peak, in KiB (VmRSS, VmHWM).
    pub fn memory(&self) -> anyhow::Result<(u64, u64)> {
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status.lines().find_map(|l| l.strip_prefix(name)).with_context(|| format!("no {name}"))?;
            Ok(line.split_whitespace().next().context("a number")?.parse()?)
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }
}

/// `pairs` as owned environment entries.
pub fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A port free on 127.0.0.1 now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
