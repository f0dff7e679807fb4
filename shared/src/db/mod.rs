//! The PostgreSQL pool (lazy: no connection until the first query) and embedded migrations.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use deadpool_postgres::Pool;
use deadpool_postgres::{Manager, ManagerConfig, QueueMode, RecyclingMethod, Runtime};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;

use crate::config::Config;

refinery::embed_migrations!("../migrations");

pub mod iam;
pub mod tls;
pub mod url;

pub use crate::error_chain::chain;

/// Key of the advisory lock that serialises concurrent migration runs.
const MIGRATION_LOCK_KEY: i64 = 0x6964_656e_7469_7479; // "identity"

/// A database failure, classified for the layers above.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached, or a timeout fired; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint refused the write.
    #[error("unique violation on {constraint}")]
    UniqueViolation {
        /// The constraint's name.
        constraint: String,
    },
    /// A foreign key refused the write.
    #[error("foreign key violation on {constraint}")]
    ForeignKeyViolation {
        /// The constraint's name.
        constraint: String,
    },
    /// Two transactions met head-on (a deadlock, or a serialization failure): the one that lost
    /// was rolled back whole, so running the request again is safe.
    #[error("contention: {0}")]
    Contention(String),
    /// Text the database cannot store (a NUL character); input validation should have
    /// refused it, so this is the backstop that keeps it a client error.
    #[error("text the database cannot store: {0}")]
    UnstorableText(String),
    /// Anything else: a bug or an unexpected state (a wrong row count, a type mismatch, a
    /// misconfiguration). `cause` is the whole source chain.
    #[error("{operation}: {cause}")]
    Other {
        /// What was being done: the repository call site and the statement's start.
        operation: String,
        /// The error and its sources, outermost first.
        cause: String,
    },
}

impl DbError {
    /// True when a unique constraint with this name refused the write.
    pub fn is_unique(&self, name: &str) -> bool {
        matches!(self, DbError::UniqueViolation { constraint } if constraint == name)
    }

    /// An unexpected failure of `operation`.
    pub fn other(operation: impl Into<String>, cause: impl Into<String>) -> DbError {
        DbError::Other { operation: operation.into(), cause: cause.into() }
    }

    /// Classifies a driver error from `operation`.
    pub fn from_pg(err: tokio_postgres::Error, operation: impl FnOnce() -> String) -> DbError {
        if let Some(db) = err.as_db_error() {
            let constraint = db.constraint().unwrap_or_default().to_owned();
            return match *db.code() {
                SqlState::UNIQUE_VIOLATION => DbError::UniqueViolation { constraint },
                SqlState::FOREIGN_KEY_VIOLATION => DbError::ForeignKeyViolation { constraint },
                // The server is going away or full, or statement_timeout fired.
                SqlState::ADMIN_SHUTDOWN
                | SqlState::CRASH_SHUTDOWN
                | SqlState::CANNOT_CONNECT_NOW
                | SqlState::TOO_MANY_CONNECTIONS
                | SqlState::QUERY_CANCELED => DbError::Unavailable(db.message().to_owned()),
                SqlState::T_R_DEADLOCK_DETECTED | SqlState::T_R_SERIALIZATION_FAILURE => {
                    DbError::Contention(db.message().to_owned())
                }
                SqlState::CHARACTER_NOT_IN_REPERTOIRE | SqlState::UNTRANSLATABLE_CHARACTER => {
                    DbError::UnstorableText(db.message().to_owned())
                }
                // Code and message only: the detail may quote row values.
                _ => DbError::other(operation(), format!("{} {}", db.code().code(), db.message())),
            };
        }
        if is_unreachable(&err) {
            return DbError::Unavailable(chain(&err));
        }
        DbError::other(operation(), chain(&err))
    }
}

/// True when the driver got no answer: the socket would not open, broke, closed, or the
/// connect timeout fired, or the TLS handshake failed. Everything else without a server
/// answer (a wrong row count, a type mismatch, a configuration mistake) is a bug, not an
/// outage.
fn is_unreachable(err: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    if err.is_closed() {
        return true;
    }
    // tokio-postgres keeps its error kinds private; its Display names them. Io and Connect
    // carry the io::Error that broke the socket; Timeout is the connect timeout.
    let kind = err.to_string();
    let io = err.source().is_some_and(|s| s.is::<std::io::Error>());
    // A failed TLS handshake (an unknown CA, a certificate for another host) leaves the
    // database unreachable too: nothing can be sent until the certificate or the URL changes.
    kind == "timeout waiting for server"
        || kind == "error performing TLS handshake"
        || (io && (kind == "error communicating with the server" || kind == "error connecting to server"))
}

impl From<tokio_postgres::Error> for DbError {
    /// A call outside the repositories (BEGIN, COMMIT): the operation is where `?` met it.
    #[track_caller]
    fn from(err: tokio_postgres::Error) -> Self {
        let at = std::panic::Location::caller();
        DbError::from_pg(err, || format!("{}:{} (transaction)", at.file(), at.line()))
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match err {
            PoolError::Backend(e) => DbError::from_pg(e, || "opening a pooled connection".to_owned()),
            // Waiting for a free connection, or for a new one, ran out of time.
            PoolError::Timeout(kind) => DbError::Unavailable(format!("pool timeout ({kind:?})")),
            PoolError::Closed => DbError::Unavailable("the pool is closed".to_owned()),
            other => DbError::other("checking out a pooled connection", chain(&other)),
        }
    }
}

/// Builds the pool. Nothing connects until the first checkout, which keeps cold starts short.
pub fn create_pool(config: &Config) -> Result<Pool, DbError> {
    let (mut pg, connector) = pg_config(config)?;
    pg.keepalives_idle(Duration::from_secs(30));
    if pg.get_application_name().is_none() {
        pg.application_name("identity-api");
    }
    let manager = Manager::from_connect(pg, connector, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(config.database_pool_size.max(1))
        // The most recently used connection serves next: its backend and its statement cache
        // are warm, and connections a quiet spell leaves idle stay asleep.
        .queue_mode(QueueMode::Lifo)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(config.database_timeout))
        .create_timeout(Some(config.database_timeout))
        .recycle_timeout(Some(config.database_timeout))
        .build()
        .map_err(|e| DbError::other("building the pool", chain(&e)))
}

/// Applies pending migrations while holding an advisory lock, so concurrent runs wait for
/// each other instead of racing, then sets the session defaults (see
/// [`set_session_defaults`]). Returns the names of the migrations it applied.
pub async fn migrate(client: &mut tokio_postgres::Client, statement_timeout: Duration) -> Result<Vec<String>, DbError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY]).await?;
    let outcome = migrations::runner().set_grouped(true).run_async(client).await;
    // Under the lock too: two ALTER ROLEs at once can fail with "tuple concurrently updated".
    let timeout = match outcome {
        Ok(_) => set_session_defaults(client, statement_timeout).await,
        Err(_) => Ok(()),
    };
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY]).await?;
    let report = outcome.map_err(|e| DbError::other("applying migrations", chain(&e)))?;
    timeout?;
    Ok(report.applied_migrations().iter().map(|m| m.to_string()).collect())
}

/// Makes the statement timeout and generic plans the connecting role's defaults in this
/// database, for every session it opens later. A startup option would do it per connection,
/// but RDS Proxy refuses startup options, and a `SET` after connecting would pin each proxied
/// session to one backend.
///
/// Generic plans: every statement here is prepared once per connection and is a keyed OLTP
/// lookup whose plan does not depend on its parameters. Left to choose, PostgreSQL plans a
/// members page afresh on every run (its generic plan's estimate assumes a larger LIMIT), and
/// planning was 30% of the database's time on that read (`scripts/bench`).
pub async fn set_session_defaults(client: &tokio_postgres::Client, timeout: Duration) -> Result<(), DbError> {
    // ALTER ROLE takes no parameters; the value is a number this code formats.
    let sql = format!(
        "DO $$ BEGIN \
           EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET statement_timeout = %L', current_database(), '{}ms'); \
           EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET plan_cache_mode = force_generic_plan', current_database()); \
         END $$",
        timeout.as_millis()
    );
    client.batch_execute(&sql).await.map_err(|e| DbError::from_pg(e, || "setting the session defaults".to_owned()))
}

/// Connects one client outside the pool (migrations need `&mut Client`).
pub async fn connect(config: &Config) -> Result<tokio_postgres::Client, DbError> {
    let (pg, connector) = pg_config(config)?;
    let (client, _task) = connector.open(pg).await?;
    Ok(client)
}

/// Opens connections over TLS as DATABASE_URL asks, with the URL's password or, under
/// DATABASE_IAM_AUTH, a token signed for each connection.
struct Connector {
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    iam: Option<iam::IamAuth>,
}

impl Connector {
    async fn open(
        &self,
        pg: tokio_postgres::Config,
    ) -> Result<(tokio_postgres::Client, JoinHandle<()>), tokio_postgres::Error> {
        let (client, connection) = self.credentialed(pg).connect(self.tls.clone()).await?;
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "database connection closed");
            }
        });
        Ok((client, task))
    }

    /// `pg` with a token signed now as its password, under IAM authentication.
    fn credentialed(&self, mut pg: tokio_postgres::Config) -> tokio_postgres::Config {
        if let Some(iam) = &self.iam {
            match iam.password_for(&pg) {
                Ok(token) => {
                    pg.password(token);
                }
                // pg_config checked host, user and credentials, so this is unexpected; the
                // server refuses the password-less attempt and the caller sees why.
                Err(e) => tracing::error!(error = %chain(&e), "could not sign an RDS IAM auth token"),
            }
        }
        pg
    }
}

impl deadpool_postgres::Connect for Connector {
    fn connect(
        &self,
        pg: &tokio_postgres::Config,
    ) -> Pin<
        Box<dyn Future<Output = Result<(tokio_postgres::Client, JoinHandle<()>), tokio_postgres::Error>> + Send + '_>,
    > {
        Box::pin(self.open(pg.clone()))
    }
}

/// The driver's settings and the connector, from DATABASE_URL (see [`tls`]) and
/// DATABASE_IAM_AUTH (see [`iam`]).
fn pg_config(config: &Config) -> Result<(tokio_postgres::Config, Connector), DbError> {
    let url = tls::split(config.database_url.expose_secret())
        .map_err(|e| DbError::other("reading DATABASE_URL", chain(&e)))?;
    let mut pg: tokio_postgres::Config =
        url.driver_url.parse().map_err(|e: tokio_postgres::Error| DbError::other("parsing DATABASE_URL", chain(&e)))?;
    pg.connect_timeout(config.database_timeout);
    let tls = tls::connector(&url).map_err(|e| DbError::other("setting up TLS to the database", chain(&e)))?;
    let iam = if config.database_iam_auth {
        if url.mode == tls::SslMode::Disable || url.mode == tls::SslMode::Prefer {
            return Err(DbError::other(
                "reading DATABASE_IAM_AUTH",
                "IAM database authentication sends a token as the password: set sslmode=verify-full",
            ));
        }
        let credentials = config.aws.credentials().ok_or_else(|| {
            DbError::other("reading DATABASE_IAM_AUTH", "no AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
        })?;
        let auth = iam::IamAuth::new(credentials, config.aws.region_or_default());
        // Fail at start, not on the first connection, when the URL lacks a host or user.
        auth.password_for(&pg).map_err(|e| DbError::other("reading DATABASE_IAM_AUTH", chain(&e)))?;
        Some(auth)
    } else {
        None
    };
    Ok((pg, Connector { tls, iam }))
}

/// Checks out a connection from the pool.
pub async fn client(pool: &Pool) -> Result<deadpool_postgres::Object, DbError> {
    Ok(pool.get().await?)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_map(&map).unwrap()
    }

    const IAM: [(&str, &str); 5] = [
        ("DATABASE_URL", "postgres://identity@db.abc.eu-west-1.rds.amazonaws.com:5432/identity?sslmode=verify-full"),
        ("DATABASE_IAM_AUTH", "true"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];

    #[test]
    fn under_iam_auth_each_connection_gets_a_token_for_its_host_user_and_region() {
        let (pg, connector) = pg_config(&config(&IAM)).unwrap();
        assert_eq!(pg.get_password(), None, "no password is fixed at start");
        let password = |pg: tokio_postgres::Config| {
            String::from_utf8(connector.credentialed(pg).get_password().unwrap().to_vec()).unwrap()
        };
        let first = password(pg.clone());
        assert!(
            first.starts_with("db.abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=identity&"),
            "{first}"
        );
        assert!(first.contains("%2Feu-west-1%2Frds-db%2Faws4_request"), "{first}");
        std::thread::sleep(Duration::from_millis(1100));
        assert_ne!(password(pg), first, "a later connection signs its own token");
    }

    #[test]
    fn without_iam_auth_the_url_password_is_used_as_it_is() {
        let (pg, connector) = pg_config(&config(&[("DATABASE_URL", "postgres://u:pw@h/d")])).unwrap();
        assert_eq!(connector.credentialed(pg).get_password(), Some(&b"pw"[..]));
    }

    #[test]
    fn iam_auth_refuses_plain_text_and_missing_credentials_at_start() {
        let mut plain = IAM.to_vec();
        plain[0] = ("DATABASE_URL", "postgres://identity@db:5432/identity?sslmode=prefer");
        assert!(pg_config(&config(&plain)).err().unwrap().to_string().contains("sslmode=verify-full"));
        let keyless = &IAM[..3];
        assert!(pg_config(&config(keyless)).err().unwrap().to_string().contains("no AWS credentials"));
        let mut userless = IAM.to_vec();
        userless[0] = ("DATABASE_URL", "postgres://db:5432/identity?sslmode=verify-full");
        assert!(pg_config(&config(&userless)).err().unwrap().to_string().contains("needs a user"));
    }
}
