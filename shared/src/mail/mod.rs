//! Email: templates, and the transports that send them (SES, or a log for local runs).

pub mod log;
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

/// Why a send failed; the outbox retries it later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// The configured transport.
#[derive(Debug)]
pub enum Mailer {
    /// Amazon SES.
    Ses(Box<ses::SesMailer>),
    /// Standard output.
    Log,
}

impl Mailer {
    /// The transport the configuration names. Builds nothing yet: the SES client is made on
    /// first use, so functions that send no mail start as fast as before.
    pub fn from_config(config: &MailConfig, aws: &AwsEnv) -> Mailer {
        match config.transport {
            MailTransport::Ses => Mailer::Ses(Box::new(ses::SesMailer::new(config.clone(), aws.clone()))),
            MailTransport::Log => Mailer::Log,
        }
    }

    /// Sends one message; returns the provider's message id.
    pub async fn send(&self, from: &str, email: &Email) -> Result<String, SendError> {
        match self {
            Mailer::Ses(ses) => ses.send(from, email).await,
            Mailer::Log => Ok(log::print(from, email)),
        }
    }
}
