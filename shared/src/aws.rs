//! The AWS region and credentials Lambda puts in every function's environment: what the
//! Secrets Manager reader and the RDS IAM token signer use, and what the SES client (from
//! aws-config's chain) takes before the rest of the chain.

use aws_credential_types::Credentials;
use secrecy::{ExposeSecret, SecretString};

/// `AWS_REGION` and the role's keys, as Lambda sets them.
#[derive(Clone, Debug, Default)]
pub struct AwsEnv {
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`).
    pub region: Option<String>,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`. Secrets Manager and
    /// IAM tokens read only these, so that orgs and users need not link aws-config's chain
    /// (STS, SSO, IMDS, profile files), which on Lambda would never get past the environment.
    pub keys: Option<AwsKeys>,
}

/// One set of AWS keys.
#[derive(Clone, Debug)]
pub struct AwsKeys {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
    /// The session token of temporary credentials.
    pub session_token: Option<SecretString>,
}

impl AwsEnv {
    /// Reads the variables through `get`, which returns a trimmed, non-empty value if set.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> AwsEnv {
        AwsEnv {
            region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            keys: match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
                (Some(access_key_id), Some(secret)) => Some(AwsKeys {
                    access_key_id,
                    secret_access_key: secret.into(),
                    session_token: get("AWS_SESSION_TOKEN").map(SecretString::from),
                }),
                _ => None,
            },
        }
    }

    /// The region, or us-east-1 where none is set (only local runs lack one).
    pub fn region_or_default(&self) -> String {
        self.region.clone().unwrap_or_else(|| "us-east-1".to_owned())
    }

    /// The keys as the SDK's credentials, if any are set.
    pub fn credentials(&self) -> Option<Credentials> {
        self.keys.as_ref().map(|keys| {
            Credentials::new(
                &keys.access_key_id,
                keys.secret_access_key.expose_secret(),
                keys.session_token.as_ref().map(|s| s.expose_secret().to_owned()),
                None,
                "environment",
            )
        })
    }
}
