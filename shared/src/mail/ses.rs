//! Amazon SES through aws-sdk-ses (SendEmail), honouring AWS_ENDPOINT_URL_SES.

use aws_sdk_ses::Client;
use aws_sdk_ses::config::retry::RetryConfig;
use aws_sdk_ses::config::timeout::TimeoutConfig;
use aws_sdk_ses::config::{BehaviorVersion, Region};
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use tokio::sync::OnceCell;

use super::{Email, SendError};
use crate::aws::AwsEnv;
use crate::config::MailConfig;

/// Sends through SES; the client is built on first use.
#[derive(Debug)]
pub struct SesMailer {
    config: MailConfig,
    aws: AwsEnv,
    client: OnceCell<Client>,
}

impl SesMailer {
    /// A mailer for these settings.
    pub fn new(config: MailConfig, aws: AwsEnv) -> SesMailer {
        SesMailer { config, aws, client: OnceCell::new() }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                // Region and credentials come from the environment Lambda gives every
                // function (see `AwsEnv`). Without credentials a send fails and is retried.
                let mut builder = aws_sdk_ses::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(self.aws.region_or_default()))
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(self.config.connect_timeout)
                            .operation_timeout(self.config.operation_timeout)
                            .build(),
                    )
                    // The outbox retries with backoff; one quick retry here covers a blip.
                    .retry_config(RetryConfig::standard().with_max_attempts(2));
                if let Some(credentials) = self.aws.credentials() {
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
