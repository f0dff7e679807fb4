//! Sealing every stored TOTP secret again under the current `MFA_ENCRYPTION_KEY`, so that a
//! previous key can be dropped without waiting for each account's next sign-in.

use serde::Serialize;
use uuid::Uuid;

use crate::auth::sealed::Sealer;
use crate::db::{self, DbError, Pool};
use crate::repositories::mfa;

/// Factors read per statement.
const PAGE: i64 = 500;

/// What one pass over every factor did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Resealed {
    /// Factors read.
    pub checked: u64,
    /// Factors sealed under a previous key and now under the current one.
    pub resealed: u64,
    /// Factors no configured key opens: dropping a key would not change them, and their
    /// owners cannot sign in with a code until an admin resets their factors.
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
