//! Lambda entry point of the mailer function (run by an EventBridge schedule).

use identity_shared::Config;
use identity_shared::db::Pool;
use identity_shared::mail::Mailer;
use identity_shared::services::outbox::Sender;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tokio::sync::OnceCell;

/// Most mails one invocation handles; the next tick takes the rest.
const MAX_PER_RUN: u32 = 500;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Held to the end, so that the last lines are written before the process exits.
    let _logs = identity_shared::telemetry::init();
    // Built once per sandbox; a failed build (Secrets Manager out) is retried on the next tick.
    let parts = OnceCell::<(Config, Pool, Mailer)>::new();
    let parts = &parts;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let (config, pool, mailer) = parts.get_or_try_init(|| Box::pin(build())).await?;
        let sender = Sender { pool, mailer, mail: &config.mail, brand: &config.brand };
        let report = mailer_function::drain_all(sender, MAX_PER_RUN).await?;
        tracing::info!(sent = report.sent, retrying = report.retrying, dead = report.dead, "outbox drained");
        let pruned = mailer_function::prune_expired(pool).await?;
        tracing::info!(pruned, "expired counters, revocations and assertions removed");
        let domains = mailer_function::recheck_domains(pool, config).await;
        tracing::info!(
            checked = domains.checked,
            verified = domains.verified,
            expired = domains.expired,
            "pending domain claims looked at"
        );
        Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
    }))
    .await
}

async fn build() -> Result<(Config, Pool, Mailer), lambda_runtime::Error> {
    let config = Config::load().await?;
    let pool = identity_shared::db::create_pool(&config)?;
    let mailer = Mailer::from_config(&config.mail, &config.aws);
    Ok((config, pool, mailer))
}
