//! Secrets read at run time from AWS Secrets Manager, once per sandbox, so that they never sit
//! in a function's environment: the database's URL or credentials (DATABASE_SECRET_ARN),
//! the signing key (JWT_PRIVATE_KEY_SECRET_ARN) and the MFA sealing key
//! (MFA_ENCRYPTION_KEY_SECRET_ARN).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Region};
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use serde_json::Value;

use crate::aws::AwsEnv;
use crate::db::url::{Parts, UrlPartsError, with_parts};

/// Names a secret whose JSON holds the database URL (`url`) or RDS's credential fields
/// (`username`, `password`, and optionally `host`, `port`, `dbname`) laid over DATABASE_URL.
pub const DATABASE_SECRET_ARN: &str = "DATABASE_SECRET_ARN";
/// Names a secret whose JSON holds `private_key` (or whose whole text is the key).
pub const JWT_PRIVATE_KEY_SECRET_ARN: &str = "JWT_PRIVATE_KEY_SECRET_ARN";

/// Names a secret whose JSON holds `key` (or whose whole text is the key): MFA_ENCRYPTION_KEY;
/// and, during a rotation, `previous_keys` (a list): MFA_PREVIOUS_ENCRYPTION_KEYS.
pub const MFA_ENCRYPTION_KEY_SECRET_ARN: &str = "MFA_ENCRYPTION_KEY_SECRET_ARN";

/// Why the secrets could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Secrets Manager did not answer in time or failed on its side; a retry may succeed.
    #[error("Secrets Manager is unavailable reading {variable}: {cause}")]
    Unavailable {
        /// The variable naming the secret.
        variable: &'static str,
        /// What went wrong (never the secret's value).
        cause: String,
    },
    /// The secret is missing, not ours to read, or not in a shape we understand.
    #[error("{variable}: {reason}")]
    Invalid {
        /// The variable naming the secret.
        variable: &'static str,
        /// What is wrong (never the secret's value).
        reason: String,
    },
}

impl SecretsError {
    /// True when trying again later may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SecretsError::Unavailable { .. })
    }
}

/// Reads the secrets `env` names and sets DATABASE_URL, JWT_PRIVATE_KEY and MFA_ENCRYPTION_KEY
/// from them. An
/// environment that names no secret is left as it is, and no client is built.
pub async fn resolve(env: &mut HashMap<String, String>) -> Result<(), SecretsError> {
    let get = |key: &str| env.get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let database_arn = get(DATABASE_SECRET_ARN);
    let jwt_arn = get(JWT_PRIVATE_KEY_SECRET_ARN);
    let mfa_arn = get(MFA_ENCRYPTION_KEY_SECRET_ARN);
    if database_arn.is_none() && jwt_arn.is_none() && mfa_arn.is_none() {
        return Ok(());
    }
    let client = client(&AwsEnv::from_lookup(get), get("AWS_ENDPOINT_URL_SECRETS_MANAGER"));
    let read = |variable, arn: Option<String>| {
        let client = &client;
        async move {
            match arn {
                Some(arn) => fetch(client, variable, &arn).await.map(Some),
                None => Ok(None),
            }
        }
    };
    let (database, jwt, mfa) = tokio::join!(
        read(DATABASE_SECRET_ARN, database_arn),
        read(JWT_PRIVATE_KEY_SECRET_ARN, jwt_arn),
        read(MFA_ENCRYPTION_KEY_SECRET_ARN, mfa_arn)
    );
    if let Some(secret) = database? {
        let url = database_url(get("DATABASE_URL").as_deref(), &secret).map_err(|e| SecretsError::Invalid {
            variable: DATABASE_SECRET_ARN,
            reason: crate::error_chain::chain(&e),
        })?;
        env.insert("DATABASE_URL".into(), url);
    }
    if let Some(secret) = jwt? {
        env.insert("JWT_PRIVATE_KEY".into(), field_or_whole(JWT_PRIVATE_KEY_SECRET_ARN, &secret, "private_key")?);
    }
    if let Some(secret) = mfa? {
        env.insert("MFA_ENCRYPTION_KEY".into(), field_or_whole(MFA_ENCRYPTION_KEY_SECRET_ARN, &secret, "key")?);
        if let Some(previous) = previous_keys(&secret)? {
            env.insert("MFA_PREVIOUS_ENCRYPTION_KEYS".into(), previous);
        }
    }
    Ok(())
}

/// The string field `name` of a JSON object secret, or the whole secret if it is not one.
fn field_or_whole(variable: &'static str, secret: &str, name: &str) -> Result<String, SecretsError> {
    match serde_json::from_str::<Value>(secret) {
        Ok(Value::Object(fields)) => match fields.get(name) {
            Some(Value::String(value)) => Ok(value.clone()),
            _ => Err(SecretsError::Invalid { variable, reason: format!("the secret's JSON has no string \"{name}\"") }),
        },
        _ => Ok(secret.to_owned()),
    }
}

/// The MFA secret's `previous_keys`, comma-joined as MFA_PREVIOUS_ENCRYPTION_KEYS takes them;
/// None when it has none (or is bare text).
fn previous_keys(secret: &str) -> Result<Option<String>, SecretsError> {
    let invalid =
        |reason: &str| SecretsError::Invalid { variable: MFA_ENCRYPTION_KEY_SECRET_ARN, reason: reason.into() };
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(secret) else {
        return Ok(None);
    };
    let Some(previous) = fields.get("previous_keys") else {
        return Ok(None);
    };
    let keys = previous
        .as_array()
        .and_then(|keys| keys.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
        .ok_or_else(|| invalid("the secret's \"previous_keys\" is not a list of strings"))?;
    if keys.iter().any(|key| key.contains(',')) {
        return Err(invalid("a key in the secret's \"previous_keys\" has a comma"));
    }
    Ok((!keys.is_empty()).then(|| keys.join(",")))
}

fn client(aws: &AwsEnv, endpoint: Option<String>) -> Client {
    let mut builder = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(aws.region_or_default()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(credentials) = aws.credentials() {
        builder = builder.credentials_provider(credentials);
    }
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    Client::from_conf(builder.build())
}

async fn fetch(client: &Client, variable: &'static str, arn: &str) -> Result<String, SecretsError> {
    let output = client.get_secret_value().secret_id(arn).send().await.map_err(|err| {
        let unavailable = match &err {
            SdkError::ServiceError(service) => {
                matches!(service.err().code(), Some("InternalServiceError" | "ThrottlingException"))
            }
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
            _ => false,
        };
        let cause = DisplayErrorContext(&err).to_string();
        if unavailable {
            SecretsError::Unavailable { variable, cause }
        } else {
            SecretsError::Invalid { variable, reason: format!("GetSecretValue of {arn} failed: {cause}") }
        }
    })?;
    output.secret_string().map(str::to_owned).ok_or_else(|| SecretsError::Invalid {
        variable,
        reason: format!("{arn} holds binary data, not a SecretString"),
    })
}

/// Why a database secret gives no URL. No variant holds the secret's text.
#[derive(Debug, thiserror::Error)]
enum SecretUrlError {
    /// Neither a URL nor a JSON object.
    #[error("the secret is neither a postgres:// URL nor a JSON object")]
    Shape,
    /// A field that should be text is not.
    #[error("the secret's \"{0}\" is not a string")]
    NotText(String),
    /// `port` is neither a number nor digits.
    #[error("the secret's \"port\" is not a port number")]
    Port,
    /// No way to sign in.
    #[error("the secret's JSON has neither \"url\" nor \"password\"")]
    NoPassword,
    /// The parts do not fit the URL.
    #[error("the secret's fields do not fit DATABASE_URL")]
    Parts(#[from] UrlPartsError),
}

/// The URL a database secret gives: its `url`, or its credential fields over `base`.
fn database_url(base: Option<&str>, secret: &str) -> Result<String, SecretUrlError> {
    let trimmed = secret.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        return Ok(trimmed.to_owned());
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(trimmed) else {
        return Err(SecretUrlError::Shape);
    };
    let text = |key: &str| match fields.get(key) {
        Some(Value::String(v)) if !v.is_empty() => Ok(Some(v.clone())),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(SecretUrlError::NotText(key.to_owned())),
    };
    if let Some(url) = text("url")? {
        return Ok(url);
    }
    let port = match fields.get("port") {
        None | Some(Value::Null) => None,
        // RDS writes the port as a number; people often write it as text.
        Some(Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Some(Value::String(s)) => s.parse().ok(),
        Some(_) => None,
    };
    if fields.get("port").is_some_and(|p| !p.is_null()) && port.is_none() {
        return Err(SecretUrlError::Port);
    }
    let parts = Parts {
        user: text("username")?,
        password: text("password")?,
        host: text("host")?,
        port,
        dbname: text("dbname")?,
    };
    if parts.password.is_none() {
        return Err(SecretUrlError::NoPassword);
    }
    Ok(with_parts(base, &parts)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rds_managed_secret_fills_in_the_url_from_the_environment() {
        // What RDS's ManageMasterUserPassword stores: user and password only.
        let url = database_url(
            Some("postgres://db.abc.eu-west-1.rds.amazonaws.com/identity?sslmode=verify-full"),
            r#"{"username":"postgres","password":"s3cr:t@"}"#,
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://postgres:s3cr%3At%40@db.abc.eu-west-1.rds.amazonaws.com/identity?sslmode=verify-full"
        );
    }

    #[test]
    fn a_console_rds_secret_brings_its_own_host_and_port() {
        let url = database_url(
            Some("postgres:///identity?sslmode=verify-full"),
            r#"{"username":"app","password":"pw","engine":"postgres","host":"db.example","port":6432,"dbInstanceIdentifier":"db"}"#,
        )
        .unwrap();
        assert_eq!(url, "postgres://app:pw@db.example:6432/identity?sslmode=verify-full");
    }

    #[test]
    fn a_url_secret_is_taken_as_it_is() {
        assert_eq!(database_url(None, r#"{"url":"postgres://u:p@h/d"}"#).unwrap(), "postgres://u:p@h/d");
        assert_eq!(database_url(None, " postgres://u:p@h/d\n").unwrap(), "postgres://u:p@h/d");
    }

    #[test]
    fn the_mfa_secret_may_carry_previous_keys_for_a_rotation() {
        assert_eq!(previous_keys(r#"{"key":"k"}"#).unwrap(), None);
        assert_eq!(previous_keys("bare key text").unwrap(), None);
        assert_eq!(previous_keys(r#"{"key":"k","previous_keys":[]}"#).unwrap(), None);
        let two = previous_keys(r#"{"key":"k","previous_keys":["old-1","old-2"]}"#).unwrap();
        assert_eq!(two.as_deref(), Some("old-1,old-2"));
        for shape in [r#"{"previous_keys":"old"}"#, r#"{"previous_keys":[7]}"#, r#"{"previous_keys":["a,b"]}"#] {
            let err = previous_keys(shape).unwrap_err().to_string();
            assert!(!err.contains("old") && !err.contains("a,b"), "{err}");
        }
    }

    #[test]
    fn a_secret_in_another_shape_is_refused_without_echoing_it() {
        for secret in ["hunter2", r#"{"username":"u"}"#, r#"{"password":"hunter2","port":"x"}"#, r#"{"password":7}"#] {
            let err = crate::error_chain::chain(&database_url(Some("postgres://h/d"), secret).unwrap_err());
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
