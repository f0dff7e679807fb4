//! Liveness of the function and its database.

use crate::db::{self, DbError};
use crate::repositories;
use crate::state::AppState;

/// Runs one trivial query; fails when the database cannot be reached in time.
pub async fn check_database(state: &AppState) -> Result<(), DbError> {
    let client = db::client(state.pool()).await?;
    repositories::ping(&client).await
}
