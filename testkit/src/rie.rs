//! A function's built bootstrap under AWS's real Lambda Runtime Interface Emulator (the
//! `aws-lambda-rie` the aws-sam-cli wheel ships; scripts/test names it in LAMBDA_RIE), invoked
//! over its HTTP API as Lambda's service would.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The emulator's path, from LAMBDA_RIE.
pub fn emulator() -> PathBuf {
    std::env::var_os("LAMBDA_RIE")
        .expect("set LAMBDA_RIE to an aws-lambda-rie binary (scripts/test takes it from the aws-sam-cli wheel)")
        .into()
}

/// A workspace binary built beside the running test (`target/<profile>/<name>`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let path = dir.join(name);
    assert!(path.exists(), "{} is not built (cargo build --workspace builds it)", path.display());
    path
}

/// One function running under the emulator.
pub struct RieFunction {
    emulator: Child,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl RieFunction {
    /// Starts `bootstrap` under the emulator with exactly these environment variables (and
    /// PATH), then waits until the emulator takes invocations.
    pub async fn start(bootstrap: &std::path::Path, env: &[(&str, String)]) -> RieFunction {
        let (port, runtime_port) = (free_port(), free_port());
        let mut command = Command::new(emulator());
        command
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{runtime_port}"))
            .arg("--log-level")
            .arg("error")
            .arg(bootstrap)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_FUNCTION_NAME", bootstrap.file_name().unwrap_or_default())
            .stdin(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let emulator = command.spawn().expect("starting aws-lambda-rie");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "aws-lambda-rie did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        RieFunction { emulator, port }
    }

    /// The emulator's address, as an `AWS_ENDPOINT_URL_LAMBDA` for the SDK's Invoke (which
    /// names the function `function`, as the emulator does).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Invokes the function with `event`; returns its answer (for an HTTP function, the API
    /// Gateway response: statusCode, headers, body).
    pub async fn invoke(&self, event: &str) -> Value {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let uri = format!("http://127.0.0.1:{}/2015-03-31/functions/function/invocations", self.port);
        let request = http::Request::post(uri).body(Full::new(Bytes::from(event.to_owned()))).expect("request");
        let response = client.request(request).await.expect("the emulator answers");
        let body = response.into_body().collect().await.expect("body").to_bytes();
        serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    }

    /// The process ids of the function's runtime (the emulator's children: the bootstrap).
    pub fn runtime_pids(&self) -> Vec<u32> {
        // The emulator is a Go program: any of its threads may have forked the runtime.
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.emulator.id())).into_iter().flatten().flatten();
        tasks
            .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
            .flat_map(|children| children.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
            .collect()
    }

    /// Sends `signal` (e.g. "STOP", "CONT") to the function's runtime, as Lambda freezes and
    /// thaws a sandbox between invocations.
    pub fn signal_runtime(&self, signal: &str) {
        let pids = self.runtime_pids();
        assert!(!pids.is_empty(), "the emulator has started no runtime");
        for pid in pids {
            let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().expect("kill");
            assert!(status.success(), "kill -{signal} {pid}");
        }
    }
}

impl Drop for RieFunction {
    fn drop(&mut self) {
        // Thaw first, or a stopped runtime would outlive its emulator.
        for pid in self.runtime_pids() {
            let _ = Command::new("kill").arg("-CONT").arg(pid.to_string()).status();
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
        let _ = self.emulator.kill();
        let _ = self.emulator.wait();
    }
}
