//! Lambda entry point of the auth function (it issues tokens, so it holds the signing key).

// One thread: a sandbox serves one invocation at a time, and a read's two pipelined statements
// then always leave in one write (a worker thread could flush the first alone).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Held to the end, so that the last lines are written before the process exits.
    let _logs = identity_shared::telemetry::init();
    identity_shared::http::lambda::run(auth_function::router(), identity_shared::http::lambda::TokenKeys::Sign).await
}
