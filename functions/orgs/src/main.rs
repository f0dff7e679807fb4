//! Lambda entry point of the orgs function (it only verifies tokens: no signing key).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    identity_shared::telemetry::init();
    identity_shared::http::lambda::run(orgs_function::router(), identity_shared::http::lambda::TokenKeys::Verify).await
}
