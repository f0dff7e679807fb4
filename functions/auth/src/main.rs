//! Lambda entry point of the auth function (it issues tokens, so it holds the signing key).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    identity_shared::telemetry::init();
    identity_shared::http::lambda::run(auth_function::router(), identity_shared::http::lambda::TokenKeys::Sign).await
}
