//! Proving a domain claim: its TXT record looked up now (the verify route) and again on the
//! schedule while the claim is pending (`recheck`), with no lock held while DNS answers. The
//! first organization to prove a domain holds it; claims not proven in 30 days fail.

use serde_json::json;
use uuid::Uuid;

use crate::db::{self, DbError};
use crate::domains::dns::TxtResolver;
use crate::domains::proof::{self, TxtAnswer, Verdict};
use crate::error::{AppError, AppResult};
use crate::models::{AuditAction, DomainState, OrgDomain, Permission};
use crate::repositories::{GenericClient, domains};
use crate::services::access::OrgActor;
use crate::services::audit::{self, Attribution};
use crate::services::domains::{held_elsewhere, no_domain};
use crate::state::AppState;

/// What a failed claim's row says.
const EXPIRED: &str = "Not proven within 30 days. Delete this claim and claim the domain again for a new record.";

/// Looks the claim's record up now: a verified domain answers as it is; a pending claim is
/// proven (the first organization to prove a domain wins, the others get a 409) or stays
/// pending with why (no record, no exact match, or a lookup that failed); a failed one is 409.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn verify(state: &AppState, actor: &OrgActor, id: Uuid) -> AppResult<OrgDomain> {
    actor.require(Permission::DomainsManage)?;
    let found = {
        let client = db::client(state.pool()).await?;
        domains::find(&client, actor.org_id, id).await?.ok_or_else(no_domain)?
    };
    match found.state {
        DomainState::Verified => return Ok(found),
        DomainState::Failed => {
            return Err(AppError::Conflict(format!(
                "The claim on {} ended unproven; delete it and claim the domain again.",
                found.domain
            )));
        }
        DomainState::Pending => {}
    }
    // No lock is held while DNS answers.
    let answer = state.txt_resolver().await?.txt(&found.verification.record_name).await;
    let verdict = proof::judge(&found.verification.record_name, &found.verification.record_value, &answer);
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = actor.locked(&tx).await?;
    actor.require(Permission::DomainsManage)?;
    let outcome = conclude(&tx, &found, &verdict, (&actor).into()).await;
    match outcome {
        Err(err) if err.is_unique(domains::ONE_VERIFIED) => {
            drop(tx);
            domains::checked(&client, id, &format!("Another organization verified {} first.", found.domain)).await?;
            Err(held_elsewhere(&found.domain))
        }
        Err(err) => Err(err.into()),
        Ok(None) => Err(no_domain()),
        Ok(Some(concluded)) => {
            tx.commit().await?;
            Ok(concluded)
        }
    }
}

/// Writes what a lookup concluded for the claim `found`: verified (audited), or pending with
/// why. None when the claim is no longer a live pending one (deleted or ended meanwhile).
async fn conclude(
    db: &impl GenericClient,
    found: &OrgDomain,
    verdict: &Verdict,
    by: Attribution,
) -> Result<Option<OrgDomain>, DbError> {
    match verdict {
        Verdict::Proven => {
            let Some(verified) = domains::verify(db, found.id).await? else { return Ok(None) };
            audit::record(db, by, AuditAction::DomainVerified, found.id, json!({"domain": found.domain})).await?;
            tracing::info!(domain_id = %found.id, "domain verified");
            Ok(Some(verified))
        }
        Verdict::NotFound(why) | Verdict::LookupFailed(why) => domains::checked(db, found.id, why).await,
    }
}

/// What one scheduled re-check did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recheck {
    /// Claims looked up.
    pub checked: usize,
    /// Of those, proven.
    pub verified: usize,
    /// Claims that ended unproven.
    pub expired: usize,
}

/// Most claims one run looks up.
const RECHECK_BATCH: i64 = 50;
/// Lookups in flight at once.
const RECHECK_CONCURRENCY: usize = 8;

/// The schedule's pass over pending claims (the mailer's, every minute; `identity serve`'s
/// own loop locally): claims past their 30 days fail (`domain.verification_failed`), and those
/// due a look are looked up through `resolver`, as the verify route would, by the system.
pub async fn recheck(pool: &db::Pool, resolver: &TxtResolver) -> AppResult<Recheck> {
    let mut client = db::client(pool).await?;
    let mut report = Recheck::default();
    {
        let tx = client.transaction().await?;
        let ended = domains::expire(&tx, EXPIRED).await?;
        for claim in &ended {
            let by = system(claim.org_id);
            audit::record(&tx, by, AuditAction::DomainVerificationFailed, claim.id, json!({"domain": claim.domain}))
                .await?;
        }
        tx.commit().await?;
        report.expired = ended.len();
    }
    let due = domains::due(&client, RECHECK_BATCH).await?;
    if due.is_empty() {
        return Ok(report);
    }
    let mut looked: Vec<(OrgDomain, TxtAnswer)> = Vec::with_capacity(due.len());
    for batch in due.chunks(RECHECK_CONCURRENCY) {
        let mut lookups = tokio::task::JoinSet::new();
        for claim in batch.iter().cloned() {
            let resolver = resolver.clone();
            lookups.spawn(async move {
                let answer = resolver.txt(&claim.verification.record_name).await;
                (claim, answer)
            });
        }
        looked.extend(lookups.join_all().await);
    }
    for (claim, answer) in looked {
        let verdict = proof::judge(&claim.verification.record_name, &claim.verification.record_value, &answer);
        report.checked += 1;
        let tx = client.transaction().await?;
        match conclude(&tx, &claim, &verdict, system(claim.org_id)).await {
            Ok(concluded) => {
                tx.commit().await?;
                if concluded.is_some_and(|d| d.state == DomainState::Verified) {
                    report.verified += 1;
                }
            }
            Err(err) if err.is_unique(domains::ONE_VERIFIED) => {
                drop(tx);
                let why = format!("Another organization verified {} first.", claim.domain);
                domains::checked(&client, claim.id, &why).await?;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(report)
}

/// The system, acting on the organization's domains.
fn system(org_id: Uuid) -> Attribution {
    Attribution { org_id, actor_id: None, actor_type: "user", ip: None }
}
