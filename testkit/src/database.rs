//! One fresh PostgreSQL database per test, cloned from a template migrated once per schema.

use std::sync::OnceLock;

use tokio_postgres::NoTls;

use identity_shared::config::Config;

/// Advisory lock key that serialises template creation across test processes.
const TEMPLATE_LOCK_KEY: i64 = 0x7465_6d70_6c61_7465; // "template"

/// A database that exists for one test and is dropped with it.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// URL to connect to it.
    pub url: String,
    server: String,
}

/// URL of the server's maintenance database, from TEST_DATABASE_URL or DATABASE_URL.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .expect("set TEST_DATABASE_URL (or DATABASE_URL) to a PostgreSQL server where tests may create databases; scripts/test does")
}

/// Replaces the database name in a postgres:// URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, NoTls).await.unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
    tokio::spawn(connection);
    client
}

/// Name of the template for the current migrations: a change to any migration makes a new one.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let mut sum: u64 = 0xcbf2_9ce4_8422_2325;
        for m in identity_shared::db::migrations::runner().get_migrations() {
            sum = (sum ^ m.checksum()).wrapping_mul(0x100_0000_01b3);
        }
        format!("identity_tpl_{sum:016x}")
    })
}

/// The MFA_ENCRYPTION_KEY test states seal with (no comma, so it can be listed as a previous key).
pub const MFA_TEST_KEY: &str = "test-only mfa sealing key material of 32+ bytes";

impl TestDatabase {
    /// Creates a fresh, migrated database.
    pub async fn create() -> TestDatabase {
        TestDatabase::create_on(&server_url()).await
    }

    /// Creates a fresh, migrated database on the server at `server_url`.
    pub async fn create_on(server_url: &str) -> TestDatabase {
        let server = with_database(server_url, "postgres");
        let admin = connect(&server).await;
        ensure_template(&admin, &server).await;
        let name = format!("identity_test_{}", uuid::Uuid::now_v7().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {} STRATEGY FILE_COPY", template_name()))
            .await
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        let url = with_database(server_url, &name);
        // A role's settings in a database stay with that database, not its copies: set them
        // as migrate does, so each test's sessions behave as production's.
        let clone = connect(&url).await;
        identity_shared::db::set_session_defaults(&clone, std::time::Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("session defaults in {name}: {e}"));
        TestDatabase { url, name, server }
    }

    /// Creates an empty database, with no schema at all.
    pub async fn create_empty() -> TestDatabase {
        let server = with_database(&server_url(), "postgres");
        let admin = connect(&server).await;
        let name = format!("identity_test_{}", uuid::Uuid::now_v7().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        TestDatabase { url: with_database(&server_url(), &name), name, server }
    }

    /// Settings for a state on this database: cheap password hashing, a per-process key.
    pub fn config(&self, overrides: &[(&str, &str)]) -> Config {
        static KEY: OnceLock<String> = OnceLock::new();
        let key = KEY.get_or_init(|| identity_shared::auth::jwt::generate_key().0);
        // Claimed domains are looked up at the tests' own DNS server, never beyond this
        // machine (port 9, where nothing answers, when none runs).
        let dns = std::env::var("DNS_TEST_SERVER").unwrap_or_else(|_| "127.0.0.1:9".into());
        let mut map: std::collections::HashMap<String, String> = [
            ("DATABASE_URL", self.url.as_str()),
            ("DOMAIN_DNS_SERVER", dns.as_str()),
            ("DOMAIN_DNS_TIMEOUT_MS", "1000"),
            ("JWT_PRIVATE_KEY", key.as_str()),
            ("MFA_ENCRYPTION_KEY", MFA_TEST_KEY),
            ("ARGON2_MEMORY_KIB", "64"),
            ("ARGON2_ITERATIONS", "1"),
            ("DATABASE_TIMEOUT_MS", "2000"),
            // Forgot-password waits only as long as this process has seen a reset mail take.
            ("FORGOT_PASSWORD_MIN_MS", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in overrides {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
        Config::from_map(&map).expect("test configuration is valid")
    }
}

async fn ensure_template(admin: &tokio_postgres::Client, server: &str) {
    let name = template_name();
    // Waiting for another process to build the template is no runaway statement: the
    // maintenance database may carry migrate's 10 s default (a test migrates through its URL).
    admin.batch_execute("SET statement_timeout = 0").await.expect("no timeout on the template lock");
    admin.execute("SELECT pg_advisory_lock($1)", &[&TEMPLATE_LOCK_KEY]).await.expect("template lock");
    let ready: Option<bool> = admin
        .query_opt("SELECT datistemplate FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("looking up the template")
        .map(|row| row.get(0));
    if ready != Some(true) {
        // A half-made template (a run that died midway) is made again.
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.expect("dropping template");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("creating template");
        {
            let mut client = connect(&with_database(server, name)).await;
            identity_shared::db::migrate(&mut client, std::time::Duration::from_secs(10))
                .await
                .expect("migrating the template");
        }
        admin.batch_execute(&format!("ALTER DATABASE {name} IS_TEMPLATE true")).await.expect("marking template");
    }
    admin.execute("SELECT pg_advisory_unlock($1)", &[&TEMPLATE_LOCK_KEY]).await.expect("template unlock");
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a thread of its own may block on a new one.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&server, NoTls).await.ok()?;
                tokio::spawn(connection);
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        })
        .join();
    }
}
