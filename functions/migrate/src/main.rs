//! Lambda entry point of the migrate function.

use identity_shared::Config;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tokio::sync::OnceCell;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Held to the end, so that the last lines are written before the process exits.
    let _logs = identity_shared::telemetry::init();
    // Read once per sandbox; a failed read (Secrets Manager out) is retried by the next invocation.
    let config = OnceCell::<Config>::new();
    let config = &config;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let config = config.get_or_try_init(|| Box::pin(Config::load())).await?;
        migrate_function::handle(config).await
    }))
    .await
}
