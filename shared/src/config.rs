//! Typed settings, read from the environment only.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;

use crate::aws::AwsEnv;
use crate::secrets::SecretsError;

/// Every setting the functions and the CLI read, with its environment variable.
#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`: libpq-style URL of the PostgreSQL database, with `DATABASE_HOST` (an
    /// RDS Proxy endpoint, say) in place of its host when that is set. On Lambda it may come
    /// from the secret `DATABASE_SECRET_ARN` names instead (see [`crate::secrets`]).
    pub database_url: SecretString,
    /// `DATABASE_IAM_AUTH`: sign an RDS IAM token as the password of each new connection.
    pub database_iam_auth: bool,
    /// `DATABASE_POOL_SIZE`: most connections one process holds.
    pub database_pool_size: usize,
    /// `DATABASE_TIMEOUT_MS`: longest a request waits to connect to or check out a connection.
    pub database_timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: server-side limit on one statement.
    pub database_statement_timeout: Duration,
    /// `JWT_PRIVATE_KEY`: one or more PKCS#8 keys (Ed25519, P-256 or RSA), PEM or base64 DER,
    /// comma-separated (`identity keygen` prints one), for the functions that sign tokens: the
    /// first signs access tokens, the first RS256 key (else the first) ID tokens; on Lambda it
    /// comes from the secret `JWT_PRIVATE_KEY_SECRET_ARN` names.
    pub jwt_private_key: Option<SecretString>,
    /// `JWT_PUBLIC_KEY`: the signing key's public half, for functions that only verify.
    pub jwt_public_key: Option<String>,
    /// `JWT_PREVIOUS_PUBLIC_KEYS`: comma-separated public keys still accepted after a rotation.
    pub jwt_previous_public_keys: Vec<String>,
    /// `JWT_ISSUER`: the `iss` claim, this API's URL (OIDC discovery is served under it); it
    /// may name `{api_id}`, filled in from API Gateway's request context. Default
    /// `http://127.0.0.1:3000`, `identity serve`'s own address.
    pub jwt_issuer: String,
    /// `JWT_AUDIENCE`: the `aud` claim.
    pub jwt_audience: String,
    /// `JWT_LEEWAY_SECS`: clock skew tolerated on `exp` and `nbf`.
    pub jwt_leeway_secs: u64,
    /// `TOKEN_CACHE_ENTRIES`: access tokens whose verified claims a process keeps until they
    /// expire, so that the same token's signature is checked once (0: none kept). Default
    /// 10,000.
    pub token_cache_entries: u64,
    /// `ACCESS_TOKEN_TTL_SECS`: lifetime of an access token.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECS`: lifetime of one refresh token (each use issues a new one).
    pub refresh_token_ttl: Duration,
    /// `ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS`, `ARGON2_PARALLELISM`: password hash cost.
    pub argon2: Argon2Cost,
    /// `PASSWORD_HASH_QUEUE`: password computations that may wait for a free core; past that,
    /// requests that need one answer 503 at once instead of queueing without bound.
    pub password_hash_queue: usize,
    /// `FORGOT_PASSWORD_MIN_MS`: the least time a forgot-password answer takes, known email or
    /// not, until this process has timed a real reset mail (see `equal_time`).
    pub forgot_password_min: Duration,
    /// `LOGIN_MAX_FAILURES`: failed logins for one email before it is locked.
    pub login_max_failures: i32,
    /// `LOGIN_LOCKOUT_SECS`: how long a locked email stays locked.
    pub login_lockout: Duration,
    /// Per-IP limits on sign-in, sign-up and password-reset requests.
    pub ip_limits: IpLimits,
    /// Quotas per organization, invitation and account.
    pub quotas: Quotas,
    /// Second-factor settings.
    pub mfa: MfaConfig,
    /// `API_BASE_PATH`: the base path of a custom-domain API mapping (`/identity`), which API
    /// Gateway leaves at the start of each request's path; stripped before routing.
    pub api_base_path: Option<String>,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins allowed by the local server's CORS layer.
    pub cors_allowed_origins: Vec<String>,
    /// `BRAND_NAME`, `BRAND_LOGO_URL`, `BRAND_ACCENT_COLOR`: the product's look on the hosted
    /// pages and in the mails.
    pub brand: crate::brand::Brand,
    /// Email delivery settings.
    pub mail: MailConfig,
    /// Webhook delivery settings.
    pub webhooks: WebhookConfig,
    /// How claimed domains are looked up.
    pub domains: DomainConfig,
    /// How organizations' identity providers are reached.
    pub sso: SsoConfig,
    /// The AWS region and credentials (SES, Secrets Manager, RDS IAM tokens).
    pub aws: AwsEnv,
}

/// How webhooks are sent.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// `WEBHOOK_ALLOW_LOCAL_TARGETS`: admit `http` and loopback receivers, for a receiver on
    /// the developer's own machine; refused unless JWT_ISSUER is a loopback URL (a local
    /// deployment).
    pub allow_local_targets: bool,
    /// `WEBHOOK_TIMEOUT_MS`: the longest one delivery attempt takes, connect to last byte (15 s).
    pub timeout: Duration,
    /// `WEBHOOK_SENDER_FUNCTION`: the sender function the HTTP functions invoke after a commit
    /// that queues a delivery (unset: its one-minute schedule alone sends).
    pub sender_function: Option<String>,
    /// `AWS_ENDPOINT_URL_LAMBDA`: another Lambda endpoint for that invoke (an emulator).
    pub lambda_endpoint: Option<String>,
}

/// How organizations' identity providers are reached (discovery, keys, the token endpoint).
#[derive(Clone, Debug)]
pub struct SsoConfig {
    /// `SSO_ALLOW_LOCAL_PROVIDERS`: admit `http` and loopback providers, for a provider on the
    /// developer's own machine (the tests'); refused unless JWT_ISSUER is a loopback URL.
    pub allow_local_providers: bool,
    /// `SSO_TIMEOUT_MS`: the longest one request to a provider takes, connect to last byte (10 s).
    pub timeout: Duration,
}

/// How a claimed domain's TXT record is looked up.
#[derive(Clone, Debug)]
pub struct DomainConfig {
    /// `DOMAIN_DNS_SERVER`: the one nameserver asked (`address:port`); unset, the system's
    /// (/etc/resolv.conf: on Lambda, the VPC's resolver).
    pub dns_server: Option<std::net::SocketAddr>,
    /// `DOMAIN_DNS_TIMEOUT_MS`: the longest one lookup takes (5 s).
    pub dns_timeout: Duration,
}

/// Quotas on what mails or grows without bound; 0 turns one off.
#[derive(Clone, Debug)]
pub struct Quotas {
    /// `QUOTA_INVITATIONS_PER_ORG_HOUR`: invitations created and resent by one organization
    /// per hour (each sends a mail).
    pub invitations_per_org_hour: u32,
    /// `QUOTA_RESENDS_PER_INVITATION_HOUR`: resends of one invitation per hour.
    pub resends_per_invitation_hour: u32,
    /// `QUOTA_EMAIL_CHANGES_PER_USER_HOUR`: email change requests of one account per hour.
    pub email_changes_per_user_hour: u32,
    /// `QUOTA_ORGS_PER_USER`: organizations one account has created that still exist.
    pub orgs_per_user: u32,
    /// `QUOTA_ROLES_PER_ORG`: an organization's own roles.
    pub roles_per_org: u32,
    /// `QUOTA_SESSIONS_PER_USER`: live sessions of one account; a new one ends the oldest.
    pub sessions_per_user: u32,
    /// `QUOTA_API_KEY_REQUESTS_PER_MINUTE`: requests one API key (or a token it got) may make
    /// per minute.
    pub api_key_requests_per_minute: u32,
    /// `QUOTA_CLIENT_REQUESTS_PER_MINUTE`: requests an OAuth client's tokens may make per
    /// minute.
    pub client_requests_per_minute: u32,
    /// `QUOTA_CLIENT_TOKEN_REQUESTS_PER_MINUTE`: token requests one client (or API key) may
    /// make per minute: a token is reused until it expires, not fetched per call.
    pub client_token_requests_per_minute: u32,
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

/// TOTP enrolment and sign-in with a second factor.
#[derive(Clone, Debug)]
pub struct MfaConfig {
    /// `MFA_ENCRYPTION_KEY`: at least 32 characters of random key material (`identity keygen`
    /// prints a line) from which TOTP secrets are sealed at rest; on Lambda it comes from the
    /// secret `MFA_ENCRYPTION_KEY_SECRET_ARN` names. Unset, no factor can be enrolled or checked.
    pub encryption_key: Option<SecretString>,
    /// `MFA_PREVIOUS_ENCRYPTION_KEYS`: comma-separated earlier keys, still opening what they
    /// sealed (each such secret is sealed again under the current key when next used, or by
    /// `identity mfa reseal`); on Lambda the secret's `previous_keys`.
    pub previous_encryption_keys: Vec<SecretString>,
    /// `MFA_ISSUER`: the name authenticator apps show beside the account.
    pub issuer: String,
    /// `MFA_MAX_FAILURES`: wrong codes for one account, across sign-ins, before it is locked.
    pub max_failures: i32,
    /// `MFA_LOCKOUT_SECS`: how long an account locked by wrong codes stays locked.
    pub lockout: Duration,
    /// `MFA_TOKEN_TTL_SECS`: how long a sign-in waits for its code.
    pub token_ttl: Duration,
    /// `MFA_TOKEN_MAX_ATTEMPTS`: codes one mfa_token may try.
    pub token_max_attempts: i32,
}

/// How email leaves: transport, sender, links, retries.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `MAIL_TRANSPORT`: `ses` (default on Lambda) or `log` (default elsewhere: prints mail).
    pub transport: MailTransport,
    /// `MAIL_FROM`: the sender, an address SES has verified.
    pub from: String,
    /// `APP_BASE_URL`: where links in mail point, e.g. https://app.example.com. Unset, they
    /// point at this API's own hosted pages, `{JWT_ISSUER}/pages`.
    pub app_base_url: String,
    /// `PAGES_RETURN_URL`: where the hosted pages send the user once a link has done its work
    /// (an app's sign-in page, say); unset, the page says it can be closed.
    pub pages_return_url: Option<String>,
    /// `AWS_ENDPOINT_URL_SES`: another SES endpoint (a local emulator).
    pub ses_endpoint: Option<String>,
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
    /// `MAILER_RUN_BUDGET_SECS`: how long one mailer run keeps claiming mail; it then
    /// finishes the round it is in and leaves the rest to the next run.
    pub run_budget: Duration,
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
            database_url: database_url(&env)?.into(),
            database_iam_auth: env.flag("DATABASE_IAM_AUTH")?,
            database_pool_size: env.parse("DATABASE_POOL_SIZE", 8)?,
            database_timeout: env.millis("DATABASE_TIMEOUT_MS", 3_000)?,
            database_statement_timeout: env.millis("DATABASE_STATEMENT_TIMEOUT_MS", 10_000)?,
            jwt_private_key: env.get("JWT_PRIVATE_KEY").map(SecretString::from),
            jwt_public_key: env.get("JWT_PUBLIC_KEY"),
            jwt_previous_public_keys: env.list("JWT_PREVIOUS_PUBLIC_KEYS"),
            jwt_issuer: issuer(&env)?,
            jwt_audience: env.get("JWT_AUDIENCE").unwrap_or_else(|| "identity-api".into()),
            jwt_leeway_secs: env.parse("JWT_LEEWAY_SECS", 30)?,
            token_cache_entries: env.parse("TOKEN_CACHE_ENTRIES", 10_000)?,
            access_token_ttl: env.secs("ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl: env.secs("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            argon2: Argon2Cost {
                memory_kib: env.parse("ARGON2_MEMORY_KIB", Argon2Cost::RECOMMENDED.memory_kib)?,
                iterations: env.parse("ARGON2_ITERATIONS", Argon2Cost::RECOMMENDED.iterations)?,
                parallelism: env.parse("ARGON2_PARALLELISM", Argon2Cost::RECOMMENDED.parallelism)?,
            },
            password_hash_queue: env.parse("PASSWORD_HASH_QUEUE", 64)?,
            forgot_password_min: env.millis("FORGOT_PASSWORD_MIN_MS", 200)?,
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
            quotas: Quotas {
                invitations_per_org_hour: env.parse("QUOTA_INVITATIONS_PER_ORG_HOUR", 250)?,
                resends_per_invitation_hour: env.parse("QUOTA_RESENDS_PER_INVITATION_HOUR", 5)?,
                email_changes_per_user_hour: env.parse("QUOTA_EMAIL_CHANGES_PER_USER_HOUR", 5)?,
                orgs_per_user: env.parse("QUOTA_ORGS_PER_USER", 50)?,
                roles_per_org: env.parse("QUOTA_ROLES_PER_ORG", 100)?,
                sessions_per_user: env.parse("QUOTA_SESSIONS_PER_USER", 100)?,
                api_key_requests_per_minute: env.parse("QUOTA_API_KEY_REQUESTS_PER_MINUTE", 600)?,
                client_requests_per_minute: env.parse("QUOTA_CLIENT_REQUESTS_PER_MINUTE", 600)?,
                client_token_requests_per_minute: env.parse("QUOTA_CLIENT_TOKEN_REQUESTS_PER_MINUTE", 120)?,
            },
            mfa: MfaConfig {
                encryption_key: env.get("MFA_ENCRYPTION_KEY").map(SecretString::from),
                previous_encryption_keys: env
                    .list("MFA_PREVIOUS_ENCRYPTION_KEYS")
                    .into_iter()
                    .map(SecretString::from)
                    .collect(),
                issuer: env.get("MFA_ISSUER").unwrap_or_else(|| "Identity API".into()),
                max_failures: env.parse("MFA_MAX_FAILURES", 10)?,
                lockout: env.secs("MFA_LOCKOUT_SECS", 900)?,
                token_ttl: env.secs("MFA_TOKEN_TTL_SECS", 300)?,
                token_max_attempts: env.parse("MFA_TOKEN_MAX_ATTEMPTS", 5)?,
            },
            api_base_path: base_path(&env)?,
            cors_allowed_origins: env.list("CORS_ALLOWED_ORIGINS"),
            brand: crate::brand::Brand::parse(
                env.get("BRAND_NAME").as_deref(),
                env.get("BRAND_LOGO_URL").as_deref(),
                env.get("BRAND_ACCENT_COLOR").as_deref(),
            )
            .map_err(|(name, reason)| ConfigError::Invalid { name, reason })?,
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
                app_base_url: match env.get("APP_BASE_URL") {
                    Some(url) => url.trim_end_matches('/').to_owned(),
                    None => format!("{}/pages", issuer(&env)?),
                },
                pages_return_url: return_url(&env)?,
                ses_endpoint: env.get("AWS_ENDPOINT_URL_SES"),
                connect_timeout: env.millis("SES_CONNECT_TIMEOUT_MS", 2_000)?,
                operation_timeout: env.millis("SES_TIMEOUT_MS", 5_000)?,
                max_attempts: env.parse("MAIL_MAX_ATTEMPTS", 8)?,
                retry_base: env.secs("MAIL_RETRY_BASE_SECS", 30)?,
                invitation_ttl_days: env.parse("INVITATION_TTL_DAYS", 7)?,
                run_budget: env.secs("MAILER_RUN_BUDGET_SECS", 60)?,
            },
            webhooks: WebhookConfig {
                allow_local_targets: local_only(&env, "WEBHOOK_ALLOW_LOCAL_TARGETS")?,
                timeout: env.millis("WEBHOOK_TIMEOUT_MS", 15_000)?,
                sender_function: env.get("WEBHOOK_SENDER_FUNCTION"),
                lambda_endpoint: env.get("AWS_ENDPOINT_URL_LAMBDA"),
            },
            domains: DomainConfig {
                dns_server: env.get("DOMAIN_DNS_SERVER").map(|raw| raw.parse()).transpose().map_err(
                    |e: std::net::AddrParseError| ConfigError::Invalid {
                        name: "DOMAIN_DNS_SERVER",
                        reason: format!("{e}: give an address and a port, such as 10.0.0.2:53"),
                    },
                )?,
                dns_timeout: env.millis("DOMAIN_DNS_TIMEOUT_MS", 5_000)?,
            },
            sso: SsoConfig {
                allow_local_providers: local_only(&env, "SSO_ALLOW_LOCAL_PROVIDERS")?,
                timeout: env.millis("SSO_TIMEOUT_MS", 10_000)?,
            },
            aws: AwsEnv::from_lookup(|key| env.get(key)),
        })
    }

    /// Reads the process environment, then the secrets it names from Secrets Manager (see
    /// [`crate::secrets`]): what a function does once per sandbox.
    pub async fn load() -> Result<Config, LoadError> {
        Config::load_from(std::env::vars().collect()).await
    }

    /// [`Config::load`] from a map of variables, as tests do.
    pub async fn load_from(mut env: HashMap<String, String>) -> Result<Config, LoadError> {
        crate::secrets::resolve(&mut env).await?;
        Ok(Config::from_map(&env)?)
    }
}

/// Why [`Config::load`] failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A secret could not be read.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// A setting is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl LoadError {
    /// True when trying again later may succeed (Secrets Manager did not answer).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, LoadError::Secrets(e) if e.is_unavailable())
    }
}

/// API_BASE_PATH as `/segment[/segment...]`, or `None` for none (empty or `/`).
fn base_path(env: &Env<'_>) -> Result<Option<String>, ConfigError> {
    let Some(raw) = env.get("API_BASE_PATH") else { return Ok(None) };
    let trimmed = raw.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err(ConfigError::Invalid {
            name: "API_BASE_PATH",
            reason: format!("'{raw}' is not a path like /identity"),
        });
    }
    Ok(Some(format!("/{trimmed}")))
}

/// PAGES_RETURN_URL: an http(s) URL, as it is a link the pages show.
fn return_url(env: &Env<'_>) -> Result<Option<String>, ConfigError> {
    let Some(raw) = env.get("PAGES_RETURN_URL") else { return Ok(None) };
    match url::Url::parse(&raw) {
        Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(Some(raw)),
        _ => Err(ConfigError::Invalid { name: "PAGES_RETURN_URL", reason: format!("'{raw}' is not an http(s) URL") }),
    }
}

/// The local default issuer: where `identity serve` listens unless told otherwise.
pub const LOCAL_ISSUER: &str = "http://127.0.0.1:3000";

/// The placeholder in JWT_ISSUER that the invoking API Gateway API's id replaces.
pub const API_ID_PLACEHOLDER: &str = "{api_id}";

/// JWT_ISSUER: an https URL (http only on a loopback host) with no query, fragment or trailing
/// slash, since verifiers fetch `{issuer}/.well-known/openid-configuration` and compare `iss`
/// with it exactly.
fn issuer(env: &Env<'_>) -> Result<String, ConfigError> {
    let Some(raw) = env.get("JWT_ISSUER") else { return Ok(LOCAL_ISSUER.to_owned()) };
    let invalid = |reason: &str| ConfigError::Invalid { name: "JWT_ISSUER", reason: format!("'{raw}' {reason}") };
    let probe = raw.replace(API_ID_PLACEHOLDER, "apiid");
    let url = url::Url::parse(&probe).map_err(|_| invalid("is not a URL such as https://id.example.com"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
        return Err(invalid("must be an https URL (http only for localhost)"));
    }
    if url.query().is_some() || url.fragment().is_some() || probe.ends_with('/') || !url.username().is_empty() {
        return Err(invalid("must have no query, fragment, user or trailing slash"));
    }
    Ok(raw)
}

/// A flag admitting loopback URLs (WEBHOOK_ALLOW_LOCAL_TARGETS, SSO_ALLOW_LOCAL_PROVIDERS),
/// which only a local deployment (a loopback issuer) may set: a deployed API that could call
/// its own network is what the URL rules exist to prevent.
fn local_only(env: &Env<'_>, name: &'static str) -> Result<bool, ConfigError> {
    if !env.flag(name)? {
        return Ok(false);
    }
    let issuer = issuer(env)?;
    let host = url::Url::parse(&issuer).ok().and_then(|u| u.host_str().map(str::to_owned));
    match host.as_deref() {
        Some("localhost" | "127.0.0.1" | "[::1]") => Ok(true),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("is only for a local deployment, and JWT_ISSUER is {issuer}"),
        }),
    }
}

/// DATABASE_URL, with DATABASE_HOST's host in it when that is set.
fn database_url(env: &Env<'_>) -> Result<String, ConfigError> {
    let url = env.required("DATABASE_URL")?;
    match env.get("DATABASE_HOST") {
        None => Ok(url),
        Some(host) => {
            let parts = crate::db::url::Parts { host: Some(host), ..Default::default() };
            crate::db::url::with_parts(Some(&url), &parts)
                .map_err(|e| ConfigError::Invalid { name: "DATABASE_HOST", reason: crate::error_chain::chain(&e) })
        }
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

    fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("false" | "0" | "no" | "off") => Ok(false),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some(other) => Err(ConfigError::Invalid { name, reason: format!("'{other}' is not true or false") }),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_issuer(issuer: &str) -> Result<Config, ConfigError> {
        let map = HashMap::from([
            ("DATABASE_URL".to_owned(), "postgres://localhost/x".to_owned()),
            ("JWT_ISSUER".to_owned(), issuer.to_owned()),
        ]);
        Config::from_map(&map)
    }

    #[test]
    fn local_webhook_targets_are_only_for_a_local_deployment() {
        let with = |issuer: Option<&str>| {
            let mut map = HashMap::from([
                ("DATABASE_URL".to_owned(), "postgres://localhost/x".to_owned()),
                ("WEBHOOK_ALLOW_LOCAL_TARGETS".to_owned(), "true".to_owned()),
            ]);
            if let Some(issuer) = issuer {
                map.insert("JWT_ISSUER".to_owned(), issuer.to_owned());
            }
            Config::from_map(&map)
        };
        assert!(with(None).unwrap().webhooks.allow_local_targets, "serve's default issuer is loopback");
        assert!(with(Some("http://localhost:3000")).unwrap().webhooks.allow_local_targets);
        let refused = with(Some("https://id.example.com")).unwrap_err().to_string();
        assert!(refused.contains("WEBHOOK_ALLOW_LOCAL_TARGETS"), "{refused}");
        let map = HashMap::from([("DATABASE_URL".to_owned(), "postgres://localhost/x".to_owned())]);
        assert!(!Config::from_map(&map).unwrap().webhooks.allow_local_targets, "off unless asked");
    }

    #[test]
    fn the_issuer_is_an_https_url_verifiers_can_append_a_path_to() {
        for good in [
            "https://id.example.com",
            "https://api.example.com/identity",
            "https://{api_id}.execute-api.eu-west-1.amazonaws.com/prod",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
        ] {
            assert_eq!(with_issuer(good).unwrap().jwt_issuer, good);
        }
        for bad in [
            "identity-api",
            "http://id.example.com",
            "https://id.example.com/",
            "https://id.example.com?x=1",
            "https://id.example.com#f",
            "https://user@id.example.com",
        ] {
            let err = with_issuer(bad).unwrap_err().to_string();
            assert!(err.starts_with("JWT_ISSUER is invalid"), "{bad}: {err}");
        }
        let map = HashMap::from([("DATABASE_URL".to_owned(), "postgres://localhost/x".to_owned())]);
        assert_eq!(Config::from_map(&map).unwrap().jwt_issuer, LOCAL_ISSUER);
    }
}
