//! Sealing every stored TOTP secret and webhook signing secret again under the current
//! `MFA_ENCRYPTION_KEY`, so that a previous key can be dropped without waiting for each
//! account's next sign-in.

use serde::Serialize;
use uuid::Uuid;

use crate::auth::sealed::Sealer;
use crate::db::{self, DbError, Pool};
use crate::repositories::{mfa, webhooks};
use crate::services::webhooks::secret_context;

/// Factors read per statement.
const PAGE: i64 = 500;

/// What one pass over every factor and webhook secret did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Resealed {
    /// Secrets read.
    pub checked: u64,
    /// Secrets sealed under a previous key and now under the current one.
    pub resealed: u64,
    /// Secrets no configured key opens: dropping a key would not change them; a factor's owner
    /// cannot sign in with a code until an admin resets their factors, and a webhook endpoint
    /// is not signed until its secret is rotated.
    pub unopenable: u64,
}

/// Seals again, under the current key, every factor's secret that a previous key sealed. Each
/// row is replaced only if it is still what was read, so a concurrent sign-in that resealed it
/// (or a removal) wins; running it twice is harmless. Needs no signing key, only the database
/// and the sealing keys.
pub async fn reseal_all(pool: &Pool, sealer: &Sealer) -> Result<Resealed, DbError> {
    let client = db::client(pool).await?;
    let mut report = Resealed::default();
    let mut after: Option<Uuid> = None;
    loop {
        let page = mfa::sealed_page(&client, after, PAGE).await?;
        let Some(&(last, _)) = page.last() else {
            reseal_webhook_secrets(&client, sealer, &mut report).await?;
            return Ok(report);
        };
        after = Some(last);
        for (id, sealed) in &page {
            report.checked += 1;
            match sealer.open(sealed, id.as_bytes()) {
                Ok(opened) if opened.stale => {
                    let fresh = sealer.seal(&opened.plaintext, id.as_bytes());
                    report.resealed += u64::from(mfa::reseal(&client, *id, sealed, &fresh).await?);
                }
                Ok(_) => {}
                Err(_) => {
                    tracing::warn!(factor_id = %id, "a TOTP secret opens under no configured key");
                    report.unopenable += 1;
                }
            }
        }
    }
}

/// The webhook signing secrets' part of [`reseal_all`], compared and swapped as factors are.
async fn reseal_webhook_secrets(
    client: &impl crate::repositories::GenericClient,
    sealer: &Sealer,
    report: &mut Resealed,
) -> Result<(), DbError> {
    let mut after: Option<Uuid> = None;
    loop {
        let page = webhooks::sealed_page(client, after, PAGE).await?;
        let Some(&(last, _)) = page.last() else { return Ok(()) };
        after = Some(last);
        for (id, sealed) in &page {
            report.checked += 1;
            let context = secret_context(*id);
            match sealer.open(sealed, &context) {
                Ok(opened) if opened.stale => {
                    let fresh = sealer.seal(&opened.plaintext, &context);
                    report.resealed += u64::from(webhooks::reseal(client, *id, sealed, &fresh).await?);
                }
                Ok(_) => {}
                Err(_) => {
                    tracing::warn!(webhook_secret_id = %id, "a webhook signing secret opens under no configured key");
                    report.unopenable += 1;
                }
            }
        }
    }
}
