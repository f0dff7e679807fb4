//! Typed settings, read from the environment only.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;

/// Every setting the functions and the CLI read, with its environment variable.
#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`: libpq-style URL of the PostgreSQL database.
    pub database_url: SecretString,
    /// `DATABASE_POOL_SIZE`: most connections one process holds.
    pub database_pool_size: usize,
    /// `DATABASE_TIMEOUT_MS`: longest a request waits to connect to or check out a connection.
    pub database_timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: server-side limit on one statement.
    pub database_statement_timeout: Duration,
    /// `JWT_PRIVATE_KEY`: Ed25519 PKCS#8 key, PEM or base64 DER (`identity keygen` prints one).
    pub jwt_private_key: Option<SecretString>,
    /// `JWT_PREVIOUS_PUBLIC_KEYS`: comma-separated public keys still accepted after a rotation.
    pub jwt_previous_public_keys: Vec<String>,
    /// `JWT_ISSUER`: the `iss` claim.
    pub jwt_issuer: String,
    /// `JWT_AUDIENCE`: the `aud` claim.
    pub jwt_audience: String,
    /// `JWT_LEEWAY_SECS`: clock skew tolerated on `exp` and `nbf`.
    pub jwt_leeway_secs: u64,
    /// `ACCESS_TOKEN_TTL_SECS`: lifetime of an access token.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECS`: lifetime of one refresh token (each use issues a new one).
    pub refresh_token_ttl: Duration,
    /// `ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS`, `ARGON2_PARALLELISM`: password hash cost.
    pub argon2: Argon2Cost,
    /// `PASSWORD_HASH_QUEUE`: password computations that may wait for a free core; past that,
    /// requests that need one answer 503 at once instead of queueing without bound.
    pub password_hash_queue: usize,
    /// `LOGIN_MAX_FAILURES`: failed logins for one email before it is locked.
    pub login_max_failures: i32,
    /// `LOGIN_LOCKOUT_SECS`: how long a locked email stays locked.
    pub login_lockout: Duration,
    /// Per-IP limits on sign-in, sign-up and password-reset requests.
    pub ip_limits: IpLimits,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins allowed by the local server's CORS layer.
    pub cors_allowed_origins: Vec<String>,
    /// Email delivery settings.
    pub mail: MailConfig,
}

/// Requests allowed per client address (an IPv4 address or an IPv6 /64) in each window; 0
/// turns a limit off.
#[derive(Clone, Debug)]
pub struct IpLimits {
    /// `IP_LIMIT_WINDOW_SECS`: the window's length.
    pub window: Duration,
    /// `IP_LIMIT_LOGIN`: POST /auth/login requests per window.
    pub login: u32,
    /// `IP_LIMIT_REGISTER`: POST /auth/register requests per window.
    pub register: u32,
    /// `IP_LIMIT_FORGOT`: POST /auth/password/forgot requests per window.
    pub forgot: u32,
    /// `IP_LIMIT_RESET`: POST /auth/password/reset requests per window.
    pub reset: u32,
    /// `IP_LIMIT_VERIFY`: POST /auth/verify-email and /auth/verify-email/resend requests per window.
    pub verify: u32,
    /// `IP_LIMIT_INVITATION`: POST /invitations/preview, /accept and /decline requests per window.
    pub invitation: u32,
}

/// How email leaves: transport, sender, links, retries.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `MAIL_TRANSPORT`: `ses` (default on Lambda) or `log` (default elsewhere: prints mail).
    pub transport: MailTransport,
    /// `MAIL_FROM`: the sender, an address SES has verified.
    pub from: String,
    /// `APP_BASE_URL`: where links in mail point, e.g. https://app.example.com.
    pub app_base_url: String,
    /// `AWS_REGION`: the SES region.
    pub aws_region: Option<String>,
    /// `AWS_ENDPOINT_URL_SES`: another SES endpoint (a local emulator).
    pub ses_endpoint: Option<String>,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`: SES credentials, as
    /// Lambda sets them for the function's role. Without them a send fails and is retried.
    pub aws_credentials: Option<(String, SecretString, Option<SecretString>)>,
    /// `SES_CONNECT_TIMEOUT_MS`: longest wait to connect to SES.
    pub connect_timeout: Duration,
    /// `SES_TIMEOUT_MS`: longest wait for one SendEmail call, retries included.
    pub operation_timeout: Duration,
    /// `MAIL_MAX_ATTEMPTS`: sends tried before a mail is marked dead.
    pub max_attempts: i32,
    /// `MAIL_RETRY_BASE_SECS`: first retry delay; each later one doubles, up to an hour.
    pub retry_base: Duration,
    /// `INVITATION_TTL_DAYS`: default invitation lifetime.
    pub invitation_ttl_days: i16,
}

/// Where mail goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailTransport {
    /// Amazon SES, through aws-sdk-ses.
    Ses,
    /// Printed to standard output, for local development.
    Log,
}

/// argon2id parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Cost {
    /// OWASP's argon2id recommendation: m=19456 KiB, t=2, p=1.
    pub const RECOMMENDED: Argon2Cost = Argon2Cost { memory_kib: 19_456, iterations: 2, parallelism: 1 };
}

/// A setting that is missing or does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings from a map, as tests do.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|key| map.get(key).cloned())
    }

    /// Reads settings through `lookup`, which returns a variable's value if it is set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let env = Env(&lookup);
        Ok(Config {
            database_url: env.required("DATABASE_URL")?.into(),
            database_pool_size: env.parse("DATABASE_POOL_SIZE", 8)?,
            database_timeout: env.millis("DATABASE_TIMEOUT_MS", 3_000)?,
            database_statement_timeout: env.millis("DATABASE_STATEMENT_TIMEOUT_MS", 10_000)?,
            jwt_private_key: env.get("JWT_PRIVATE_KEY").map(SecretString::from),
            jwt_previous_public_keys: env.list("JWT_PREVIOUS_PUBLIC_KEYS"),
            jwt_issuer: env.get("JWT_ISSUER").unwrap_or_else(|| "identity-api".into()),
            jwt_audience: env.get("JWT_AUDIENCE").unwrap_or_else(|| "identity-api".into()),
            jwt_leeway_secs: env.parse("JWT_LEEWAY_SECS", 30)?,
            access_token_ttl: env.secs("ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl: env.secs("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            argon2: Argon2Cost {
                memory_kib: env.parse("ARGON2_MEMORY_KIB", Argon2Cost::RECOMMENDED.memory_kib)?,
                iterations: env.parse("ARGON2_ITERATIONS", Argon2Cost::RECOMMENDED.iterations)?,
                parallelism: env.parse("ARGON2_PARALLELISM", Argon2Cost::RECOMMENDED.parallelism)?,
            },
            password_hash_queue: env.parse("PASSWORD_HASH_QUEUE", 64)?,
            login_max_failures: env.parse("LOGIN_MAX_FAILURES", 10)?,
            login_lockout: env.secs("LOGIN_LOCKOUT_SECS", 900)?,
            ip_limits: IpLimits {
                window: env.secs("IP_LIMIT_WINDOW_SECS", 600)?,
                login: env.parse("IP_LIMIT_LOGIN", 100)?,
                register: env.parse("IP_LIMIT_REGISTER", 20)?,
                forgot: env.parse("IP_LIMIT_FORGOT", 20)?,
                reset: env.parse("IP_LIMIT_RESET", 20)?,
                verify: env.parse("IP_LIMIT_VERIFY", 30)?,
                invitation: env.parse("IP_LIMIT_INVITATION", 60)?,
            },
            cors_allowed_origins: env.list("CORS_ALLOWED_ORIGINS"),
            mail: MailConfig {
                transport: match env.get("MAIL_TRANSPORT").as_deref() {
                    Some("ses") => MailTransport::Ses,
                    Some("log") => MailTransport::Log,
                    None if env.get("AWS_LAMBDA_FUNCTION_NAME").is_some() => MailTransport::Ses,
                    None => MailTransport::Log,
                    Some(other) => {
                        return Err(ConfigError::Invalid {
                            name: "MAIL_TRANSPORT",
                            reason: format!("'{other}' is neither ses nor log"),
                        });
                    }
                },
                from: env.get("MAIL_FROM").unwrap_or_else(|| "Identity <no-reply@example.com>".into()),
                app_base_url: env
                    .get("APP_BASE_URL")
                    .unwrap_or_else(|| "http://localhost:3000".into())
                    .trim_end_matches('/')
                    .to_owned(),
                aws_region: env.get("AWS_REGION").or_else(|| env.get("AWS_DEFAULT_REGION")),
                ses_endpoint: env.get("AWS_ENDPOINT_URL_SES"),
                aws_credentials: match (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")) {
                    (Some(id), Some(secret)) => {
                        Some((id, secret.into(), env.get("AWS_SESSION_TOKEN").map(SecretString::from)))
                    }
                    _ => None,
                },
                connect_timeout: env.millis("SES_CONNECT_TIMEOUT_MS", 2_000)?,
                operation_timeout: env.millis("SES_TIMEOUT_MS", 5_000)?,
                max_attempts: env.parse("MAIL_MAX_ATTEMPTS", 8)?,
                retry_base: env.secs("MAIL_RETRY_BASE_SECS", 30)?,
                invitation_ttl_days: env.parse("INVITATION_TTL_DAYS", 7)?,
            },
        })
    }
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    fn parse<T: std::str::FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Invalid { name, reason: e.to_string() }),
        }
    }

    fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.parse(name, default).map(Duration::from_millis)
    }

    fn secs(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.parse(name, default).map(Duration::from_secs)
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default()
    }
}
