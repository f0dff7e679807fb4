//! The security and fault suite: attacks, faults and hostile input, each test reporting the
//! figures `scripts/security` prints.

mod authorization;
mod corpus;
mod credentials;
mod enumeration;
mod faults;
mod fuzz;
mod ip_limits;
mod jwt_attacks;

use identity_testkit::TestApp;
pub use identity_testkit::figure;

pub const PASSWORD: &str = "correct horse battery";

/// A fresh app with every route group and setting overrides.
pub async fn app_with(overrides: &[(&str, &str)]) -> TestApp {
    TestApp::new(identity_cli::routes(), overrides).await
}
