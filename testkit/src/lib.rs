//! Integration-test support, a dev-dependency only (no function's release build carries it): a fresh database per test, cloned from a migrated template,
//! an app state wired to it, and a client that drives a router without sockets.

pub mod client;
pub mod cluster;
pub mod database;
pub mod dns;
pub mod idp;
pub mod mfa;
pub mod proxy;
pub mod rie;
pub mod secrets;
pub mod ses;
pub mod tls;

pub use client::{TestApp, TestResponse};
pub use database::{MFA_TEST_KEY, TestDatabase};
pub use mfa::Authenticator;

/// Reports one figure of the security suite: printed with the test's output, and appended to
/// the file named by `SECURITY_FIGURES` (as `scripts/security` sets) so a run's figures can be
/// gathered.
pub fn figure(line: String) {
    use std::io::Write;
    println!("figure: {line}");
    if let Some(path) = std::env::var_os("SECURITY_FIGURES") {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("figures file");
        file.write_all(format!("{line}\n").as_bytes()).expect("writing a figure");
    }
}
