//! Amazon SES through aws-sdk-ses (SendEmail), its client from aws-config's standard chain,
//! honouring AWS_ENDPOINT_URL_SES.

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ses::Client;
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
        self.client.get_or_init(|| async { Client::new(&sdk_config(&self.config, &self.aws).await) }).await
    }

    /// Sends one message with HTML and text bodies.
    pub async fn send(&self, from: &str, email: &Email) -> Result<String, SendError> {
        let content = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        let message = Message::builder()
            .subject(content(&email.subject).map_err(|e| SendError::Build(e.into()))?)
            .body(
                Body::builder()
                    .html(content(&email.html).map_err(|e| SendError::Build(e.into()))?)
                    .text(content(&email.text).map_err(|e| SendError::Build(e.into()))?)
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
            .map_err(|e| SendError::Provider(e.into()))?;
        Ok(output.message_id().to_owned())
    }
}

/// The SDK settings: region and credentials from aws-config's standard chain (environment, then
/// profiles and SSO, web identity, the container and instance roles), except where this
/// process's settings name them: on Lambda those are the role's keys in the environment, the
/// chain's own first choice; tests hand theirs in the same way. The chain is consulted on the
/// first send, not at start, so a function's init does not pay for it.
async fn sdk_config(mail: &MailConfig, aws: &AwsEnv) -> SdkConfig {
    let region = RegionProviderChain::first_try(aws.region.clone().map(Region::new))
        .or_default_provider()
        .or_else(Region::from_static("us-east-1"));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(mail.connect_timeout)
                .operation_timeout(mail.operation_timeout)
                .build(),
        )
        // The outbox retries with backoff; one quick retry here covers a blip.
        .retry_config(RetryConfig::standard().with_max_attempts(2));
    if let Some(credentials) = aws.credentials() {
        loader = loader.credentials_provider(credentials);
    }
    if let Some(endpoint) = &mail.ses_endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}
