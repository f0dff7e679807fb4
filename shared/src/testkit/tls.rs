//! A PostgreSQL that speaks only TLS (`ssl=on`, `hostssl`-only pg_hba), with a CA and a server
//! certificate the test makes with the openssl command, and a second CA that signed nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cluster::Cluster;

/// The server, its certificates' folder and the two CAs.
#[derive(Debug)]
pub struct TlsServer {
    /// The running cluster (stopped and removed when dropped).
    pub cluster: Cluster,
    /// The CA that signed the server's certificate, which is valid for `localhost` only.
    pub ca: PathBuf,
    /// A CA that signed nothing the server holds.
    pub other_ca: PathBuf,
    dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("running openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-subj",
            &format!("/CN=identity test {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

impl TlsServer {
    /// Makes the certificates and starts the server.
    pub async fn start() -> TlsServer {
        let dir = std::env::temp_dir().join(format!("identity-tls-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        make_ca(&dir, "ca");
        make_ca(&dir, "other-ca");
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                "server.crt",
                "-extfile",
                "server.ext",
            ],
        );
        // Plain TCP has no entry, so a connection without TLS is refused; the socket stays
        // open for the scripts that start and stop the server.
        std::fs::write(
            dir.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )
        .unwrap();
        let shell = |script: &str| {
            let out = Command::new("bash").arg("-c").arg(script).arg("tls").arg(&dir).output().unwrap();
            assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
        };
        // The server reads its key only if no one else can; as root it runs as postgres.
        shell("chmod 600 \"$1\"/server.key && if [ \"$(id -u)\" = 0 ]; then chown -R postgres \"$1\"; fi");
        let d = dir.display();
        let options = format!(
            "-c ssl=on -c ssl_cert_file={d}/server.crt -c ssl_key_file={d}/server.key -c hba_file={d}/pg_hba.conf"
        );
        let cluster = Cluster::start_with(&options).await;
        TlsServer { cluster, ca: dir.join("ca.crt"), other_ca: dir.join("other-ca.crt"), dir }
    }

    /// A URL for the maintenance database through `host` (localhost or 127.0.0.1) with these
    /// query parameters.
    pub fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.cluster.port())
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
