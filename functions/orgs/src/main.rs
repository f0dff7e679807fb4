//! Lambda entry point of the orgs function.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    identity_shared::telemetry::init();
    let state = identity_shared::AppState::from_env()?;
    lambda_http::run(orgs_function::router().with_state(state)).await
}
