//! A PostgreSQL that speaks only TLS (`ssl=on`, `hostssl`-only pg_hba), with a CA and a server
//! certificate for `localhost`, started by scripts/lib/pg.sh's `pg_start_tls` as scripts/test
//! starts its own, and a second CA that signed nothing.

use std::path::PathBuf;

use super::cluster::{Cluster, pg_sh};

/// The server and its two CAs.
#[derive(Debug)]
pub struct TlsServer {
    /// The running cluster (stopped and removed when dropped).
    pub cluster: Cluster,
    /// The CA that signed the server's certificate, which is valid for `localhost` only.
    pub ca: PathBuf,
    /// A CA that signed nothing the server holds.
    pub other_ca: PathBuf,
}

impl TlsServer {
    /// Makes the certificates and starts the server.
    pub async fn start() -> TlsServer {
        let (dir, port) = Cluster::new_place();
        let (d, p) = (dir.display().to_string(), port.to_string());
        let out = tokio::task::spawn_blocking(move || {
            let script = "PG_FSYNC=off pg_start_tls \"$1\" \"$2\" >&2; pg_make_ca \"$(dirname \"$PG_TLS_CA\")\" other-ca; echo \"$PG_TLS_CA\"";
            pg_sh(script, &[&d, &p])
        })
        .await
        .unwrap();
        let ca = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let other_ca = ca.with_file_name("other-ca.crt");
        TlsServer { cluster: Cluster::running(dir, port), ca, other_ca }
    }

    /// A URL for the maintenance database through `host` (localhost or 127.0.0.1) with these
    /// query parameters.
    pub fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.cluster.port())
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(certs) = self.ca.parent() {
            let _ = std::fs::remove_dir_all(certs);
        }
    }
}
