//! The mailer function: on a schedule, delivers what the email outbox holds, prunes what only
//! mattered for a while and looks again at pending domain claims.

use identity_shared::db::{self, DbError};
use identity_shared::domains::dns::TxtResolver;
use identity_shared::services::domain_checks::{self, Recheck};
use identity_shared::services::outbox::{self, DrainReport, Sender};
use identity_shared::services::{events, ip_limits, oauth, quotas};

/// Rows claimed per round.
const BATCH: i64 = 50;

/// Drains due mail in rounds until a round finds none, `max` have been handled, or the run's
/// budget (`MAILER_RUN_BUDGET_SECS`) is spent; what is left waits for the next run.
pub async fn drain_all(sender: Sender<'_>, max: u32) -> Result<DrainReport, DbError> {
    let started = chrono::Utc::now();
    let clock = std::time::Instant::now();
    let mut total = DrainReport::default();
    loop {
        if clock.elapsed() >= sender.mail.run_budget {
            tracing::info!(
                budget_secs = sender.mail.run_budget.as_secs(),
                "run budget spent; the next run takes the rest"
            );
            return Ok(total);
        }
        let round = outbox::drain(sender, started, BATCH).await?;
        total.sent += round.sent;
        total.retrying += round.retrying;
        total.dead += round.dead;
        let handled = round.sent + round.retrying + round.dead;
        if handled == 0 || total.sent + total.retrying + total.dead >= max {
            return Ok(total);
        }
    }
}

/// Forgets what only mattered for a while: per-IP and quota counters whose window ended long
/// ago, revocations of tokens that have expired anyway, spent assertions past their expiry and
/// events over 30 days old,
/// so the tables hold recent rows only; how many rows went.
pub async fn prune_expired(pool: &db::Pool) -> Result<u64, DbError> {
    let client = db::client(pool).await?;
    let counters = ip_limits::prune(&client).await? + quotas::prune(&client).await?;
    Ok(counters + oauth::prune(&client).await? + events::prune(&client).await?)
}

/// Looks again at pending domain claims (ending those past their 30 days) with a resolver
/// from the settings: an error is logged and the next run tries again, for mail must not wait
/// on DNS.
pub async fn recheck_domains(pool: &db::Pool, config: &identity_shared::Config) -> Recheck {
    let settings = &config.domains;
    let resolver = match TxtResolver::new(settings.dns_server, settings.dns_timeout) {
        Ok(resolver) => resolver,
        Err(err) => {
            tracing::error!(error = %err, "no DNS resolver: pending domain claims are not looked at");
            return Recheck::default();
        }
    };
    domain_checks::recheck(pool, &resolver).await.unwrap_or_else(|err| {
        tracing::warn!(error = %err, "re-checking pending domain claims failed; the next run tries again");
        Recheck::default()
    })
}
