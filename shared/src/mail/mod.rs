//! Email: templates, and the transports that send them (SES, or a log for local runs).

pub mod log;
#[cfg(feature = "ses")]
pub mod ses;
pub mod templates;

use crate::aws::AwsEnv;
use crate::config::{MailConfig, MailTransport};

/// One rendered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
}

/// Why a send failed; the outbox retries it later, and records the error with its causes.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The message could not be put into the provider's shape.
    #[error("building the message")]
    Build(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The provider refused it or could not be reached.
    #[error("SES SendEmail failed")]
    Provider(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// This function has no transport; the mailer function sends what it queued.
    #[error("this function is built without SES; the mailer function sends it")]
    NoTransport,
}

/// The configured transport.
#[derive(Debug)]
pub enum Mailer {
    /// Amazon SES.
    #[cfg(feature = "ses")]
    Ses(Box<ses::SesMailer>),
    /// Standard output.
    Log,
    /// `ses` in a function built without SES (orgs, users), which queues no mail of its own:
    /// anything it did queue would wait in the outbox for the mailer function.
    #[cfg(not(feature = "ses"))]
    Outbox,
}

impl Mailer {
    /// The transport the configuration names. Builds nothing yet: the SES client is made on
    /// first use, so functions that send no mail start as fast as before.
    pub fn from_config(config: &MailConfig, aws: &AwsEnv) -> Mailer {
        match config.transport {
            #[cfg(feature = "ses")]
            MailTransport::Ses => Mailer::Ses(Box::new(ses::SesMailer::new(config.clone(), aws.clone()))),
            #[cfg(not(feature = "ses"))]
            MailTransport::Ses => {
                let _ = aws;
                Mailer::Outbox
            }
            MailTransport::Log => Mailer::Log,
        }
    }

    /// Sends one message; returns the provider's message id.
    pub async fn send(&self, from: &str, email: &Email) -> Result<String, SendError> {
        match self {
            #[cfg(feature = "ses")]
            Mailer::Ses(ses) => ses.send(from, email).await,
            Mailer::Log => Ok(log::print(from, email)),
            #[cfg(not(feature = "ses"))]
            Mailer::Outbox => Err(SendError::NoTransport),
        }
    }
}
