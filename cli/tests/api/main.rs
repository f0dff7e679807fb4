//! Integration tests through the merged router, each on a fresh database.

mod auth;
mod database;
mod events;
mod input;
mod lockout;
mod sessions;

use identity_shared::testkit::TestApp;

/// A fresh app with every route group.
pub async fn app() -> TestApp {
    TestApp::new(identity_cli::routes(), &[]).await
}

/// A fresh app with setting overrides.
pub async fn app_with(overrides: &[(&str, &str)]) -> TestApp {
    TestApp::new(identity_cli::routes(), overrides).await
}

pub const PASSWORD: &str = "correct horse battery";
