//! A PostgreSQL cluster of a test's own, which the test may stop and start again: started
//! with the same scripts/lib/pg.sh the scripts use (as the postgres user when run as root).

use std::path::PathBuf;
use std::process::Command;

/// A private cluster on its own port, removed when dropped.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
}

fn pg_sh(call: &str, args: &[&str]) -> std::process::Output {
    let lib = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/lib/pg.sh");
    let script = format!("set -e; source '{lib}'; {call}");
    let output = Command::new("bash").arg("-c").arg(script).arg("pg.sh").args(args).output().expect("running bash");
    assert!(output.status.success(), "{call}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

impl Cluster {
    /// Creates and starts a cluster in a fresh folder under the system's temporary folder.
    pub async fn start() -> Cluster {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("identity-fault-pg-{}", uuid::Uuid::now_v7().simple()));
        let cluster = Cluster { dir, port };
        cluster.resume().await;
        cluster
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
        let (dir, port) = (self.dir.display().to_string(), self.port.to_string());
        tokio::task::spawn_blocking(move || pg_sh("PG_FSYNC=off pg_start \"$1\" \"$2\"", &[&dir, &port]))
            .await
            .unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let dir = self.dir.display().to_string();
        let _ = std::thread::spawn(move || pg_sh("pg_stop \"$1\"; pg_remove \"$1\"", &[&dir])).join();
    }
}
