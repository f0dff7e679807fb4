//! The benchmark harness `scripts/bench` drives: measurements no off-the-shelf tool makes.

mod api;
mod ceiling;
mod coldstart;
mod cpu;
mod fake_ses;
mod flows;
mod hashing;
mod load;
mod mfa;
mod oidc;
mod reads;
mod report;
mod report_reads;
mod run;
mod runtime_api;
mod server;
mod sso;
mod stats;
mod webhooks;
mod wire;
mod writes;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Identity API benchmark harness (see scripts/bench)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole benchmark (scripts/bench builds, then runs this): a private cluster, seeding,
    /// `identity serve`, every measurement, and the report into docs/benchmarks.md
    /// (or .local/bench/smoke.md with --smoke).
    Run {
        /// Where the built binaries are.
        #[arg(long)]
        bin: PathBuf,
        /// Every step briefly, to prove the benchmark works; the figures mean nothing.
        #[arg(long)]
        smoke: bool,
        /// Seconds each load step measures.
        #[arg(long, env = "BENCH_SECONDS", default_value_t = 10)]
        seconds: u64,
        /// Cold starts per function.
        #[arg(long, env = "BENCH_COLD_STARTS", default_value_t = 20)]
        cold_starts: usize,
        /// Measure only this commit's cold starts and event-making writes, into bench/baseline.jsonl.
        #[arg(long)]
        baseline: Option<String>,
    },
    /// Starts a function binary cold, again and again, under a fake Lambda Runtime API; prints
    /// init and first-invocation times and peak RSS as JSON. The environment is passed on.
    Coldstart {
        /// The function's binary.
        #[arg(long)]
        binary: PathBuf,
        /// The event the first invocation gets (an events/ sample, placeholders filled).
        #[arg(long)]
        event: PathBuf,
        /// Cold starts to make.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Serve a fake SES endpoint on this port (the function's AWS_ENDPOINT_URL_SES) and
        /// count what it receives, for a first invocation that sends mail.
        #[arg(long)]
        ses_port: Option<u16>,
    },
    /// Raw argon2id verifies per second at the configured cost, on `threads` threads.
    Argon2Rate {
        /// Seconds to measure.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Verifying threads (use the number of cores the server gets).
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// HTTP load on one request: open loop at --rate (latency counted from when each request
    /// was due), or closed loop with --rate 0.
    Load {
        /// The URL.
        url: String,
        /// Method.
        #[arg(long, short = 'm', default_value = "GET")]
        method: String,
        /// A header, "name: value"; repeatable.
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
        /// A JSON body; `{n}` in it counts 1 to --vary, one per request.
        #[arg(long, short = 'd')]
        body: Option<String>,
        /// How many values `{n}` in the body takes.
        #[arg(long, default_value_t = 1)]
        vary: u64,
        /// Requests per second; 0 for closed loop.
        #[arg(long, default_value_t = 0)]
        rate: u32,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Seconds of the same load before measuring, not recorded.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// Connections (closed loop: workers).
        #[arg(long, short = 'c', default_value_t = 32)]
        concurrency: usize,
        /// The status every request should get (for an attack's load); any 2xx by default.
        #[arg(long)]
        expect: Option<u16>,
    },
    /// Prints the argon2id hash of a password at the production cost (for seeding).
    Hash {
        /// The password.
        password: String,
    },
    /// Closed-loop flows against a running API: each worker refreshes its own session, or
    /// invites a new email and accepts through the mailed token (caught by a fake SES).
    Flow {
        /// Which flow: refresh or invite.
        #[arg(long)]
        kind: flows::Kind,
        /// The API's base URL.
        #[arg(long)]
        api: String,
        /// Concurrent workers.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// For invite: the port the fake SES endpoint listens on (the server's AWS_ENDPOINT_URL_SES).
        #[arg(long, default_value_t = 0)]
        ses_port: u16,
        /// A password every worker's account is created with.
        #[arg(long, default_value = "bench password 1")]
        password: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let report = match Cli::parse().command {
        Command::Run { bin, smoke, seconds, cold_starts, baseline } => {
            let plan = if smoke { run::Plan::smoke(bin) } else { run::Plan::full(bin, seconds, cold_starts, baseline) };
            return run::run(&std::env::current_dir()?, plan).await;
        }
        Command::Coldstart { binary, event, runs, ses_port } => {
            let event = serde_json::from_str(&std::fs::read_to_string(&event)?)?;
            coldstart::run(&binary, event, runs, ses_port, &[]).await?
        }
        Command::Argon2Rate { seconds, threads } => hashing::verify_rate(seconds, threads).await?,
        Command::Load { url, method, headers, body, vary, rate, seconds, warmup, concurrency, expect } => {
            let target = load::Target { method, url, headers, body, vary, expect };
            load::run(target, rate, seconds, warmup, concurrency).await?
        }
        Command::Hash { password } => serde_json::Value::String(hashing::hash(&password).await?),
        Command::Flow { kind, api, concurrency, seconds, ses_port, password } => {
            flows::run(kind, &api, concurrency, seconds, ses_port, &password).await?
        }
    };
    match report {
        serde_json::Value::String(text) => println!("{text}"),
        other => println!("{other}"),
    }
    Ok(())
}
