//! Lambda entry point of the webhook sender (invoked asynchronously after commits that queue
//! deliveries, and by an EventBridge schedule every minute).

// The runtime's future holds the sender's (its HTTP client, TLS and the pool's): deeper than the
// compiler's default query depth allows.
#![recursion_limit = "256"]

use identity_shared::Config;
use identity_shared::services::webhook_delivery::Outbox;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tokio::sync::OnceCell;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Held to the end, so that the last lines are written before the process exits.
    let _logs = identity_shared::telemetry::init();
    // Built once per sandbox; a failed build (Secrets Manager out) is tried again next time.
    let outbox = OnceCell::<Outbox>::new();
    let outbox = &outbox;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let outbox = outbox
            .get_or_try_init(|| async {
                Ok::<_, lambda_runtime::Error>(sender_function::outbox(&Config::load().await?)?)
            })
            .await?;
        let report = sender_function::handle(outbox).await?;
        tracing::info!(
            delivered = report.delivered,
            retrying = report.retrying,
            failed = report.failed,
            disabled = report.disabled,
            "webhooks sent"
        );
        Ok::<_, lambda_runtime::Error>(serde_json::json!({
            "delivered": report.delivered,
            "retrying": report.retrying,
            "failed": report.failed,
            "disabled": report.disabled,
        }))
    }))
    .await
}
