//! The security and fault suite: attacks, faults and hostile input, each test reporting the
//! figures `scripts/security` prints.

mod corpus;
mod enumeration;
mod faults;
mod fuzz;
mod ip_limits;
mod jwt_attacks;

use std::io::Write;

use identity_shared::testkit::TestApp;

pub const PASSWORD: &str = "correct horse battery";

/// A fresh app with every route group and setting overrides.
pub async fn app_with(overrides: &[(&str, &str)]) -> TestApp {
    TestApp::new(identity_cli::routes(), overrides).await
}

/// Reports one figure: printed with the test's output, and appended to the file named by
/// `SECURITY_FIGURES` (as `scripts/security` sets) so one run's figures can be gathered.
pub fn figure(line: String) {
    println!("figure: {line}");
    if let Some(path) = std::env::var_os("SECURITY_FIGURES") {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("figures file");
        file.write_all(format!("{line}\n").as_bytes()).expect("writing a figure");
    }
}
