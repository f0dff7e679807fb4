//! What every request handler shares: settings, the pool, keys and the password hasher.

use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio::sync::OnceCell;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::Passwords;
use crate::auth::sealed::Sealer;
use crate::auth::tokens;
use crate::config::Config;
use crate::equal_time::EqualTime;
use crate::error::AppError;
use crate::mail::Mailer;

/// Shared, cheaply cloned application state.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    pool: Pool,
    jwt: JwtKeys,
    passwords: Passwords,
    mailer: Mailer,
    dummy_hash: OnceCell<String>,
    forgot_time: EqualTime,
    sealer: Option<Arc<Sealer>>,
    #[cfg(feature = "dns")]
    txt_resolver: OnceCell<crate::domains::dns::TxtResolver>,
    // Only outbound requests read it; functions without them keep it unread.
    #[cfg_attr(not(feature = "egress"), allow(dead_code))]
    resolver: crate::egress::resolver::SharedResolver,
    #[cfg(feature = "egress")]
    sso_egress: OnceCell<crate::egress::client::Egress>,
}

/// Why the state could not be built from the configuration; each keeps its cause.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A setting is missing or malformed.
    #[error("configuration")]
    Config(#[from] crate::config::ConfigError),
    /// The pool could not be set up (DATABASE_URL, TLS, IAM auth).
    #[error("database pool")]
    Pool(#[from] crate::db::DbError),
    /// The signing or verifying keys.
    #[error("JWT keys")]
    Keys(#[from] crate::auth::jwt::KeyError),
    /// The argon2 cost.
    #[error("argon2 parameters")]
    Passwords(#[from] argon2::Error),
    /// The TOTP sealing keys.
    #[error("MFA sealing keys")]
    Sealer(#[from] crate::auth::sealed::SealerError),
}

impl AppState {
    /// Builds the state. Connects to nothing: the pool opens connections on first use.
    pub fn new(config: Config) -> Result<AppState, StateError> {
        AppState::with_resolver(config, Arc::new(crate::egress::resolver::SystemResolver))
    }

    /// The state, with outbound requests' names resolved by `resolver` (a test's, faked in
    /// the process, so that a refused address is refused before any connection).
    pub fn with_resolver(
        config: Config,
        resolver: crate::egress::resolver::SharedResolver,
    ) -> Result<AppState, StateError> {
        let pool = crate::db::create_pool(&config)?;
        let jwt = JwtKeys::from_config(&config)?;
        let passwords = Passwords::new(config.argon2, config.password_hash_queue)?;
        let mailer = Mailer::from_config(&config.mail, &config.aws);
        let forgot_time = EqualTime::new(config.forgot_password_min);
        let sealer = Sealer::from_config(&config.mfa)?.map(Arc::new);
        let dummy_hash = OnceCell::new();
        Ok(AppState {
            inner: Arc::new(Inner {
                config,
                pool,
                jwt,
                passwords,
                mailer,
                dummy_hash,
                forgot_time,
                sealer,
                #[cfg(feature = "dns")]
                txt_resolver: OnceCell::new(),
                resolver,
                #[cfg(feature = "egress")]
                sso_egress: OnceCell::new(),
            }),
        })
    }

    /// Builds the state from the process environment.
    pub fn from_env() -> Result<AppState, StateError> {
        AppState::new(Config::from_env()?)
    }

    /// The sealer of TOTP and webhook secrets; a 500 naming the missing setting where none is
    /// configured.
    pub fn sealer(&self) -> Result<&Arc<Sealer>, AppError> {
        self.inner
            .sealer
            .as_ref()
            .ok_or_else(|| AppError::bug("MFA_ENCRYPTION_KEY is not set: factors cannot be sealed or checked"))
    }

    /// The resolver that looks up claimed domains' TXT records, built on first use (reading
    /// /etc/resolv.conf when no nameserver is set); a 503 when it cannot be built.
    #[cfg(feature = "dns")]
    pub async fn txt_resolver(&self) -> Result<&crate::domains::dns::TxtResolver, AppError> {
        let settings = &self.inner.config.domains;
        self.inner
            .txt_resolver
            .get_or_try_init(|| async {
                crate::domains::dns::TxtResolver::new(settings.dns_server, settings.dns_timeout).map_err(|err| {
                    tracing::error!(error = %err, "no DNS resolver: domains cannot be verified");
                    AppError::Unavailable("DNS lookups are unavailable; try again later.".into())
                })
            })
            .await
    }

    /// The client that calls organizations' identity providers, built on first use.
    #[cfg(feature = "egress")]
    pub async fn sso_egress(&self) -> Result<&crate::egress::client::Egress, AppError> {
        let settings = &self.inner.config.sso;
        self.inner
            .sso_egress
            .get_or_try_init(|| async {
                crate::egress::client::Egress::new(
                    self.inner.resolver.clone(),
                    settings.timeout,
                    settings.allow_local_providers,
                )
                .map_err(AppError::internal("building the TLS settings for identity providers"))
            })
            .await
    }

    /// Settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Access-token keys.
    pub fn jwt(&self) -> &JwtKeys {
        &self.inner.jwt
    }

    /// Email transport.
    pub fn mailer(&self) -> &Mailer {
        &self.inner.mailer
    }

    /// How long a forgot-password answer takes, whether or not the email has an account.
    pub fn forgot_time(&self) -> &EqualTime {
        &self.inner.forgot_time
    }

    /// Password hasher.
    pub fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    /// A hash of a random password at the configured cost, checked against when an email has
    /// no account so that such a login costs the same as a wrong password. Every login asks
    /// for it, so the one-time cost of making it does not single out either case.
    pub async fn dummy_hash(&self) -> Result<String, AppError> {
        self.inner.dummy_hash.get_or_try_init(|| self.inner.passwords.hash(&tokens::generate().into())).await.cloned()
    }
}
