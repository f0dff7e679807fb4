//! Lambda entry point of the users function.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    identity_shared::telemetry::init();
    let state = identity_shared::AppState::from_env()?;
    lambda_http::run(users_function::router().with_state(state)).await
}
