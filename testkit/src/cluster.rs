//! A PostgreSQL cluster of a test's own, which the test may stop and start again: started
//! with the same scripts/lib/pg.sh the scripts use (as the postgres user when run as root).

use std::path::PathBuf;
use std::process::Command;

/// A private cluster on its own port, removed when dropped.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    /// More server settings (`-c name=value ...`), as PG_EXTRA_OPTS takes them.
    options: String,
    /// fsync on, for measurements that should pay what a real server pays to commit.
    durable: bool,
}

/// Runs `call` with scripts/lib/pg.sh sourced; panics unless it succeeds.
pub(crate) fn pg_sh(call: &str, args: &[&str]) -> std::process::Output {
    let lib = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/lib/pg.sh");
    let script = format!("set -e; source '{lib}'; {call}");
    let output = Command::new("bash").arg("-c").arg(script).arg("pg.sh").args(args).output().expect("running bash");
    assert!(output.status.success(), "{call}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

impl Cluster {
    /// Creates and starts a cluster in a fresh folder under the system's temporary folder.
    pub async fn start() -> Cluster {
        Cluster::start_with("").await
    }

    /// Creates and starts a cluster with more server settings (`-c name=value ...`).
    pub async fn start_with(options: &str) -> Cluster {
        let (dir, port) = Cluster::new_place();
        let cluster = Cluster { dir, port, options: options.to_owned(), durable: false };
        cluster.resume().await;
        cluster
    }

    /// A cluster that syncs its commits to disk as a production server does (the benchmark's).
    pub async fn start_durable_with(options: &str) -> Cluster {
        let (dir, port) = Cluster::new_place();
        let cluster = Cluster { dir, port, options: options.to_owned(), durable: true };
        cluster.resume().await;
        cluster
    }

    /// A fresh folder under the system's temporary folder and a free port.
    pub(crate) fn new_place() -> (PathBuf, u16) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        (std::env::temp_dir().join(format!("identity-fault-pg-{}", uuid::Uuid::now_v7().simple())), port)
    }

    /// A cluster that something else started there.
    pub(crate) fn running(dir: PathBuf, port: u16) -> Cluster {
        Cluster { dir, port, options: String::new(), durable: false }
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id, while the server runs (PostgreSQL's backends are its children).
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The server's log (where `log_min_duration_statement` writes each statement).
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The server's URL (its maintenance database).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once (`pg_ctl -m fast`): sessions are cut, open transactions roll back.
    pub async fn stop(&self) {
        let dir = self.dir.display().to_string();
        tokio::task::spawn_blocking(move || pg_sh("pg_stop \"$1\"", &[&dir])).await.unwrap();
    }

    /// Starts the stopped server again on the same port and data; returns once it accepts connections.
    pub async fn resume(&self) {
        let (dir, port, options) = (self.dir.display().to_string(), self.port.to_string(), self.options.clone());
        let fsync = if self.durable { "on" } else { "off" };
        let start = "PG_EXTRA_OPTS=\"$3\" PG_FSYNC=\"$4\" pg_start \"$1\" \"$2\"";
        tokio::task::spawn_blocking(move || pg_sh(start, &[&dir, &port, &options, fsync])).await.unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let dir = self.dir.display().to_string();
        let _ = std::thread::spawn(move || pg_sh("pg_stop \"$1\"; pg_remove \"$1\"", &[&dir])).join();
    }
}
