//! The webhook sender function: what one invocation does, whether the schedule or a hand-off
//! after a commit started it.

use std::sync::Arc;
use std::time::Duration;

use identity_shared::Config;
use identity_shared::auth::sealed::Sealer;
use identity_shared::egress::resolver::SystemResolver;
use identity_shared::services::webhook_delivery::{self, Outbox, Report};
use identity_shared::webhooks::client::Sender;

/// How long one invocation keeps claiming deliveries; it then finishes the batch in hand (each
/// send bounded by `WEBHOOK_TIMEOUT_MS`), well inside the function's timeout.
pub const RUN_BUDGET: Duration = Duration::from_secs(45);

/// Why the sender could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No key to open the signing secrets with.
    #[error("MFA_ENCRYPTION_KEY (or its secret) is not set: webhook secrets cannot be opened")]
    NoSealingKey,
    /// The keys are unusable.
    #[error("the sealing keys")]
    Sealer(#[from] identity_shared::auth::sealed::SealerError),
    /// The pool.
    #[error("the database pool")]
    Pool(#[from] identity_shared::db::DbError),
    /// The HTTP client's TLS settings.
    #[error("the HTTP client")]
    Client(#[from] identity_shared::egress::client::EgressSetupError),
}

/// The outbox a sandbox sends from, built from its settings.
pub fn outbox(config: &Config) -> Result<Outbox, StartError> {
    let sealer = Sealer::from_config(&config.mfa)?.ok_or(StartError::NoSealingKey)?;
    let settings = config.webhooks.clone();
    let sender = Sender::new(Arc::new(SystemResolver), settings.timeout, settings.allow_local_targets)?;
    Ok(Outbox { pool: identity_shared::db::create_pool(config)?, sealer: Arc::new(sealer), settings, sender })
}

/// Sends what is due until nothing is or the budget is spent.
pub async fn handle(outbox: &Outbox) -> Result<Report, identity_shared::AppError> {
    webhook_delivery::run(outbox, RUN_BUDGET).await
}
