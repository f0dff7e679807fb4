//! SQL, and nothing else. Every function takes any client or transaction.

pub mod api_keys;
pub mod audit;
pub mod cached;
pub mod invitations;
pub mod ip_limits;
pub mod lockouts;
pub mod memberships;
pub mod mfa;
pub mod one_time_tokens;
pub mod organizations;
pub mod outbox;
pub mod quotas;
pub mod refresh_tokens;
pub mod revoked_tokens;
pub mod roles;
pub mod sessions;
pub mod users;

pub use deadpool_postgres::GenericClient;

const PING: &str = "SELECT 1";

/// One trivial statement: proves the connection answers.
pub async fn ping(db: &impl GenericClient) -> Result<(), crate::db::DbError> {
    cached::query_one(db, PING, &[]).await?;
    Ok(())
}
