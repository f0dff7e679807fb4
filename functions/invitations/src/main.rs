//! Lambda entry point of the invitations function.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    identity_shared::telemetry::init();
    let state = identity_shared::AppState::from_env()?;
    lambda_http::run(invitations_function::router().with_state(state)).await
}
