//! Amazon SES through aws-sdk-ses (SendEmail), honouring AWS_ENDPOINT_URL_SES.

use aws_sdk_ses::Client;
use aws_sdk_ses::config::retry::RetryConfig;
use aws_sdk_ses::config::timeout::TimeoutConfig;
use aws_sdk_ses::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;

use super::{Email, SendError};
use crate::config::MailConfig;

/// Sends through SES; the client is built on first use.
#[derive(Debug)]
pub struct SesMailer {
    config: MailConfig,
    client: OnceCell<Client>,
}

impl SesMailer {
    /// A mailer for these settings.
    pub fn new(config: MailConfig) -> SesMailer {
        SesMailer { config, client: OnceCell::new() }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                // Region and credentials come from the settings (the environment Lambda gives
                // every function), not aws-config's default chain: the chain's STS, SSO,
                // IMDS and profile-file code would be linked into every function that mails
                // and never run on Lambda.
                let region = self.config.aws_region.clone().unwrap_or_else(|| "us-east-1".to_owned());
                let mut builder = aws_sdk_ses::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(region))
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(self.config.connect_timeout)
                            .operation_timeout(self.config.operation_timeout)
                            .build(),
                    )
                    // The outbox retries with backoff; one quick retry here covers a blip.
                    .retry_config(RetryConfig::standard().with_max_attempts(2));
                if let Some((id, secret, session)) = &self.config.aws_credentials {
                    let session = session.as_ref().map(|s| s.expose_secret().to_owned());
                    let credentials = Credentials::new(id, secret.expose_secret(), session, None, "environment");
                    builder = builder.credentials_provider(credentials);
                }
                if let Some(endpoint) = &self.config.ses_endpoint {
                    builder = builder.endpoint_url(endpoint);
                }
                Client::from_conf(builder.build())
            })
            .await
    }

    /// Sends one message with HTML and text bodies.
    pub async fn send(&self, from: &str, email: &Email) -> Result<String, SendError> {
        let content = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        let message = Message::builder()
            .subject(content(&email.subject).map_err(|e| SendError(e.to_string()))?)
            .body(
                Body::builder()
                    .html(content(&email.html).map_err(|e| SendError(e.to_string()))?)
                    .text(content(&email.text).map_err(|e| SendError(e.to_string()))?)
                    .build(),
            )
            .build();
        let output = self
            .client()
            .await
            .send_email()
            .source(from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .message(message)
            .send()
            .await
            .map_err(|e| SendError(format!("SES SendEmail failed: {}", aws_sdk_ses::error::DisplayErrorContext(e))))?;
        Ok(output.message_id().to_owned())
    }
}
