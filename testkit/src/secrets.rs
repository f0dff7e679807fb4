//! The local Secrets Manager (moto's server) that scripts/test starts: where it is, and
//! secrets made in it through the real SDK client.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};

/// The emulator's base URL, from SECRETS_EMULATOR_URL.
pub fn url() -> String {
    std::env::var("SECRETS_EMULATOR_URL")
        .expect("set SECRETS_EMULATOR_URL to a running moto server (scripts/test starts one)")
        .trim_end_matches('/')
        .to_owned()
}

/// Settings that read secrets through the real client from `endpoint`.
pub fn settings(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint.into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
    ]
}

/// Stores `value` under a fresh name; returns the secret's ARN.
pub async fn create(value: &str) -> String {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url())
        .build();
    let name = format!("identity-test-{}", uuid::Uuid::now_v7().simple());
    let created = Client::from_conf(config)
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating {name}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)));
    created.arn().expect("a created secret has an ARN").to_owned()
}
