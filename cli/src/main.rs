//! `identity`: run the API locally, migrate the database, make signing keys, show TOTP codes.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;
use clap::{Parser, Subcommand};
use identity_shared::auth::jwk::SigningAlg;
use identity_shared::{AppState, Config};

#[derive(Parser)]
#[command(name = "identity", version, about = "Identity API: local server and admin tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every route group on 127.0.0.1:PORT, migrating the database first.
    Serve {
        /// Port to listen on.
        #[arg(long, env = "PORT", default_value_t = 3000)]
        port: u16,
        /// Queue webhook deliveries but send none (for a server under generated input, whose
        /// endpoints name hosts nobody should be sent to).
        #[arg(long, env = "WEBHOOK_SENDER_OFF")]
        without_webhook_sender: bool,
        /// Resolve only `localhost` and written-out addresses for outbound requests (identity
        /// providers' discovery): a server under generated input looks up no real names.
        #[arg(long, env = "OUTBOUND_LOOPBACK_ONLY")]
        outbound_loopback_only: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Print new signing keys as a JWT_PRIVATE_KEY line (the first key's JWT_PUBLIC_KEY on
    /// stderr) and a new MFA_ENCRYPTION_KEY line.
    Keygen {
        /// EdDSA (Ed25519, the default), ES256 (P-256, which API Gateway's JWT authorizer accepts)
        /// or RS256 (RSA 2048, which OpenID Connect requires for ID tokens). Repeat it for
        /// several keys: the first signs access tokens, the first RS256 one ID tokens
        /// (`--alg EdDSA --alg RS256`).
        #[arg(long, default_value = "EdDSA", num_args = 1)]
        alg: Vec<SigningAlg>,
    },
    /// Work on the email outbox.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Print the current TOTP code for a base32 secret, as an authenticator app would (for
    /// scripts and the guide's walk-through; use a real app for real accounts).
    Totp {
        /// The `secret` POST /me/mfa/totp answered with.
        secret: String,
        /// Print the code this many 30-second steps from now (e.g. 1 for the next one).
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        step: i64,
    },
    /// Work on enrolled second factors.
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// Register the platform's applications (OpenID Connect clients), as POST /oauth2/clients
    /// does, acting as a platform administrator.
    Apps {
        #[command(subcommand)]
        command: AppsCommand,
    },
    /// Make an existing user a platform administrator.
    CreateAdmin {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Send every due mail now (what the scheduled mailer function does).
    Drain {
        /// Most mails to handle.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
}

#[derive(Subcommand)]
enum AppsCommand {
    /// Register an application and print it (its client_secret shown this once) as JSON.
    Create {
        /// The platform administrator it is registered as (the audit log names them).
        #[arg(long)]
        admin: String,
        /// What users see on the hosted sign-in.
        #[arg(long)]
        name: String,
        /// web (confidential), spa or native (public, PKCE only).
        #[arg(long, default_value = "web")]
        kind: String,
        /// An exact redirect URI; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// An exact post-logout redirect URI; repeat for several.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// An OpenID scope it may ask for; repeat (openid profile email offline_access by default).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Offer sign-up on its hosted sign-in.
        #[arg(long)]
        allow_sign_up: bool,
        /// Give it tokens only for verified email addresses.
        #[arg(long)]
        require_verified_email: bool,
        /// client_secret_basic (a web app's default), client_secret_post, or none (spa, native).
        #[arg(long)]
        token_endpoint_auth_method: Option<String>,
    },
}

#[derive(Subcommand)]
enum MfaCommand {
    /// Seal every TOTP secret that a key in MFA_PREVIOUS_ENCRYPTION_KEYS sealed again under
    /// MFA_ENCRYPTION_KEY, after which the previous keys can be dropped.
    Reseal,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Held to the end, so that the last lines are written before the process exits.
    let _logs = identity_shared::telemetry::init();
    match Cli::parse().command {
        Command::Serve { port, without_webhook_sender, outbound_loopback_only } => {
            serve(port, !without_webhook_sender, outbound_loopback_only).await
        }
        Command::Migrate => {
            let applied = migrate(&Config::load().await?).await?;
            println!("applied {} migration(s){}", applied.len(), list(&applied));
            Ok(())
        }
        Command::Mail { command: MailCommand::Drain { limit } } => {
            let config = Config::load().await?;
            let pool = identity_shared::db::create_pool(&config)?;
            let mailer = identity_shared::mail::Mailer::from_config(&config.mail, &config.aws);
            let sender = identity_shared::services::outbox::Sender {
                pool: &pool,
                mailer: &mailer,
                mail: &config.mail,
                brand: &config.brand,
            };
            let report = mailer_function::drain_all(sender, limit).await?;
            println!("sent {}, retrying {}, dead {}", report.sent, report.retrying, report.dead);
            Ok(())
        }
        Command::Mfa { command: MfaCommand::Reseal } => {
            let config = Config::load().await?;
            let sealer = identity_shared::auth::sealed::Sealer::from_config(&config.mfa)?
                .context("MFA_ENCRYPTION_KEY is not set")?;
            let pool = identity_shared::db::create_pool(&config)?;
            let report = identity_shared::services::key_rotation::reseal_all(&pool, &sealer).await?;
            println!(
                "checked {} secret(s) (TOTP factors and webhook signing secrets): {} sealed again under MFA_ENCRYPTION_KEY, {} open under no configured key",
                report.checked, report.resealed, report.unopenable
            );
            anyhow::ensure!(
                report.unopenable == 0,
                "{} secret(s) open under no configured key (a factor's owner needs an admin's DELETE /users/{{id}}/mfa; a webhook endpoint, a rotate-secret)",
                report.unopenable
            );
            Ok(())
        }
        Command::Apps {
            command:
                AppsCommand::Create {
                    admin,
                    name,
                    kind,
                    redirect_uris,
                    post_logout_redirect_uris,
                    scopes,
                    allow_sign_up,
                    require_verified_email,
                    token_endpoint_auth_method,
                },
        } => {
            let state = AppState::new(Config::load().await?)?;
            let email =
                identity_shared::models::Email::parse(&admin).map_err(|why| anyhow::anyhow!("--admin {why}"))?;
            let db = identity_shared::db::client(state.pool()).await?;
            let found = identity_shared::repositories::users::find_credentials(&db, email.as_str()).await?;
            drop(db);
            let admin = found.with_context(|| format!("no account has the email {email}"))?.user;
            let body = identity_shared::api::oauth_clients::CreateClient {
                name,
                kind: Some(kind),
                permissions: None,
                redirect_uris: Some(redirect_uris),
                post_logout_redirect_uris: Some(post_logout_redirect_uris),
                scopes: (!scopes.is_empty()).then_some(scopes),
                allow_sign_up: Some(allow_sign_up),
                require_verified_email: Some(require_verified_email),
                token_endpoint_auth_method,
                jwks: None,
                access_token_ttl_seconds: None,
            };
            let new = body.parse().map_err(explain)?;
            let manager = identity_shared::services::oauth_clients::Manager::Console(admin.id);
            let created =
                identity_shared::services::oauth_clients::create(&state, manager, new).await.map_err(explain)?;
            println!("{}", serde_json::to_string_pretty(&created)?);
            Ok(())
        }
        Command::CreateAdmin { email } => {
            // The same canonical form register stores, so any spelling of the address finds it.
            let email =
                identity_shared::models::Email::parse(&email).map_err(|why| anyhow::anyhow!("--email {why}"))?;
            let pool = identity_shared::db::create_pool(&Config::load().await?)?;
            let user = identity_shared::services::users::grant_platform_admin(&pool, &email).await?;
            println!("{} ({}) is now a platform admin", user.email, user.id);
            Ok(())
        }
        Command::Totp { secret, step } => {
            use identity_shared::auth::totp;
            let secret = totp::decode_secret(&secret).context("the secret is not base32")?;
            let at = totp::now_secs().saturating_add_signed(step.saturating_mul(totp::STEP_SECS as i64));
            println!("{}", totp::code_at(&secret, at)?);
            Ok(())
        }
        Command::Keygen { alg } => {
            let keys: Vec<(String, String)> = alg.into_iter().map(identity_shared::auth::jwk::generate).collect();
            let private: Vec<&str> = keys.iter().map(|(private, _)| private.as_str()).collect();
            let public = &keys[0].1;
            println!("JWT_PRIVATE_KEY={}", private.join(","));
            // Sealing key material for TOTP secrets: 256 random bits, like an opaque token.
            println!("MFA_ENCRYPTION_KEY={}", identity_shared::auth::tokens::generate());
            eprintln!(
                "JWT_PUBLIC_KEY={public} (for the functions that only verify, and JWT_PREVIOUS_PUBLIC_KEYS after a rotation)"
            );
            Ok(())
        }
    }
}

/// An API error as the command line says it: each refused field, or the error's own words.
fn explain(e: identity_shared::AppError) -> anyhow::Error {
    match e {
        identity_shared::AppError::Validation(fields) => {
            let lines: Vec<String> = fields.iter().map(|f| format!("{} {}", f.field, f.message)).collect();
            anyhow::anyhow!("refused: {}", lines.join("; "))
        }
        other => anyhow::anyhow!("{}", other.public_detail()),
    }
}

async fn migrate(config: &Config) -> anyhow::Result<Vec<String>> {
    let mut client = identity_shared::db::connect(config).await.context("connecting to DATABASE_URL")?;
    Ok(identity_shared::db::migrate(&mut client, config.database_statement_timeout).await?)
}

fn list(names: &[String]) -> String {
    if names.is_empty() { String::new() } else { format!(": {}", names.join(", ")) }
}

async fn serve(port: u16, webhook_sender: bool, loopback_only: bool) -> anyhow::Result<()> {
    let mut config = Config::load().await?;
    if std::env::var_os("JWT_ISSUER").is_none() {
        // The issuer is this server's own address, where its discovery document is.
        config.jwt_issuer = format!("http://127.0.0.1:{port}");
    }
    if std::env::var_os("APP_BASE_URL").is_none() {
        // Mailed links open this server's own pages.
        config.mail.app_base_url = format!("{}/pages", config.jwt_issuer);
    }
    let applied = migrate(&config).await?;
    if !applied.is_empty() {
        tracing::info!(migrations = %applied.join(", "), "database migrated");
    }
    let state = if loopback_only {
        AppState::with_resolver(config, std::sync::Arc::new(identity_shared::egress::resolver::LoopbackOnly))?
    } else {
        AppState::new(config)?
    };
    if webhook_sender {
        identity_cli::start_webhook_sender(&state)?;
    }
    identity_cli::start_domain_recheck(&state);
    let app = identity_cli::app(state);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    println!("identity API listening on http://{addr}");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Ctrl-C or SIGTERM (what `kill`, systemd and container runtimes send).
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
