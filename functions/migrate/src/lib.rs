//! The migrate function: applies the database migrations once per deploy.

use identity_shared::Config;
use serde_json::{Value, json};

/// Applies pending migrations and names the ones it applied; concurrent or repeated
/// invocations are harmless (an advisory lock serialises them, applied ones are skipped).
pub async fn handle(config: &Config) -> Result<Value, lambda_runtime::Error> {
    let mut client = identity_shared::db::connect(config).await?;
    let applied = identity_shared::db::migrate(&mut client, config.database_statement_timeout).await?;
    tracing::info!(count = applied.len(), "migrations applied");
    Ok(json!({ "applied": applied }))
}
