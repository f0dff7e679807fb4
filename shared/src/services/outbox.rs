//! The transactional outbox: mail is queued with the change it reports and sent after commit;
//! the mailer retries what failed, with backoff, until it is sent or dead.

use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;

use crate::config::MailConfig;
use crate::db::{self, DbError};
use crate::mail::Mailer;
use crate::mail::templates::Mail;
use crate::repositories::{GenericClient, outbox};
use crate::state::AppState;

/// How long a claim keeps other senders off a row: far longer than one SES call may take.
const LEASE: Duration = Duration::from_secs(300);
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Queues a mail in the caller's transaction; returns the row id to send after commit.
pub async fn enqueue(db: &impl GenericClient, to: &str, mail: &Mail) -> Result<Uuid, DbError> {
    let id = Uuid::now_v7();
    let (template, payload) = mail.to_row();
    outbox::insert(db, id, to, &template, &payload).await?;
    Ok(id)
}

/// What one drain did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    /// Mails sent.
    pub sent: u32,
    /// Mails that failed and will be tried again.
    pub retrying: u32,
    /// Mails given up on.
    pub dead: u32,
}

/// What sending needs: the database, a transport and the mail settings. The mailer function
/// has these without the signing keys an [`AppState`] carries.
#[derive(Clone, Copy, Debug)]
pub struct Sender<'a> {
    /// Connection pool.
    pub pool: &'a Pool,
    /// Transport.
    pub mailer: &'a Mailer,
    /// Settings.
    pub mail: &'a MailConfig,
    /// The product's look in the mails.
    pub brand: &'a crate::brand::Brand,
}

impl<'a> From<&'a AppState> for Sender<'a> {
    fn from(state: &'a AppState) -> Self {
        Sender { pool: state.pool(), mailer: state.mailer(), mail: &state.config().mail, brand: &state.config().brand }
    }
}

/// Tries to send one queued mail right after its transaction committed, on the connection
/// that committed it: a request never waits for a second pooled connection while it holds
/// one (with every connection so held, nobody could ever get a second). A failure is only
/// logged: the row stays in the outbox and the mailer retries it.
pub async fn send_now(sender: Sender<'_>, db: &impl GenericClient, id: Uuid) {
    if let Err(e) = run(sender, db, Some(id), None, 1).await {
        tracing::warn!(outbox_id = %id, error = %e, "could not send after commit; the mailer will retry");
    }
}

/// Sends up to `limit` mails due by `due_by`. Safe to run from several places at once; a
/// drain in rounds passes its start time, so a mail that failed in this run waits for the next.
pub async fn drain(sender: Sender<'_>, due_by: DateTime<Utc>, limit: i64) -> Result<DrainReport, DbError> {
    let client = db::client(sender.pool).await?;
    run(sender, &client, None, Some(due_by), limit).await
}

async fn run(
    sender: Sender<'_>,
    client: &impl GenericClient,
    only: Option<Uuid>,
    due_by: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<DrainReport, DbError> {
    let rows = outbox::claim(client, only, due_by, limit, LEASE).await?;
    let mail = sender.mail;
    let mut report = DrainReport::default();
    for row in rows {
        let sent = match Mail::from_row(&row.template, &row.payload) {
            Ok(message) => sender
                .mailer
                .send(&mail.from, &message.render(&row.recipient, sender.brand))
                .await
                .map_err(|e| crate::error_chain::chain(&e)),
            Err(e) => Err(format!("cannot read the mail: {e}")),
        };
        match sent {
            Ok(message_id) => {
                outbox::mark_sent(client, row.id, &message_id).await?;
                tracing::info!(outbox_id = %row.id, template = %row.template, "mail sent");
                report.sent += 1;
            }
            Err(error) => {
                let error: String = error.chars().take(500).collect();
                let retry = (row.attempts < mail.max_attempts).then(|| backoff(mail.retry_base, row.attempts));
                outbox::mark_failed(client, row.id, &error, retry).await?;
                match retry {
                    Some(delay) => {
                        tracing::warn!(outbox_id = %row.id, attempts = row.attempts, retry_in_s = delay.as_secs(), error = %error, "mail failed");
                        report.retrying += 1;
                    }
                    None => {
                        tracing::error!(outbox_id = %row.id, attempts = row.attempts, error = %error, "mail dead");
                        report.dead += 1;
                    }
                }
            }
        }
    }
    Ok(report)
}

/// base, 2·base, 4·base, ... up to an hour.
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
    base.saturating_mul(2u32.saturating_pow(exponent)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), Duration::from_secs(30));
        assert_eq!(backoff(base, 2), Duration::from_secs(60));
        assert_eq!(backoff(base, 4), Duration::from_secs(240));
        assert_eq!(backoff(base, 30), MAX_BACKOFF);
        assert_eq!(backoff(Duration::ZERO, 5), Duration::ZERO);
    }
}
