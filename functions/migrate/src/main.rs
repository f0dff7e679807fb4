//! Lambda entry point of the migrate function.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    identity_shared::telemetry::init();
    let config = identity_shared::Config::from_env()?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let config = config.clone();
        async move { migrate_function::handle(&config).await }
    }))
    .await
}
