//! OAuth clients: registered, changed and deleted by an organization's members holding
//! `api_keys:manage` (never with more permissions than they hold), or by platform
//! administrators for the platform's own clients. A secret is shown once; a client has at most
//! two, so one is replaced by adding the new and then removing the old.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::machine_secret::{self, SecretKind};
use crate::auth::tokens;
use crate::db;
use crate::error::{AppError, AppResult};
pub use crate::models::oauth_client::ClientKind;
use crate::models::{AuditAction, ClientSecret, CreatedClient, CreatedSecret, OAuthClient, Page, PageRequest};
use crate::models::{Permission, PermissionSet};
use crate::repositories::GenericClient;
use crate::repositories::oauth_clients::{self, AppColumns, ClientUpdate, NewClient as NewClientRow};
use crate::services::ownership::Decided;
pub use crate::services::ownership::{Manager, Reader};
use crate::services::quotas;
use crate::state::AppState;

/// Most clients one organization (or the platform) may register.
pub const MAX_PER_OWNER: u32 = 50;
/// Most secrets a client holds at once: the old and the new during a rotation.
pub const MAX_SECRETS: i64 = 2;

/// How a client proves itself at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A secret in HTTP Basic.
    SecretBasic,
    /// A secret in the form.
    SecretPost,
    /// An assertion signed with a registered key (RFC 7523).
    PrivateKeyJwt,
    /// Nothing: a public application (spa, native), held to its request by PKCE.
    None,
}

/// An application's settings: where the hosted sign-in may send the user back, what it may
/// ask for, and what that sign-in offers and requires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppSettings {
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// OpenID scopes (`openid` always among them).
    pub scopes: Vec<String>,
    /// The hosted sign-in offers sign-up.
    pub allow_sign_up: bool,
    /// Tokens only for verified email addresses.
    pub require_verified_email: bool,
}

impl AppSettings {
    /// The grants the settings allow: the code, and refreshing with `offline_access`.
    pub fn grant_types(&self) -> &'static [&'static str] {
        if self.scopes.iter().any(|s| s == "offline_access") {
            &["authorization_code", "refresh_token"]
        } else {
            &["authorization_code"]
        }
    }
}

/// Checked changes to an application's settings.
#[derive(Debug, Default)]
pub struct AppChanges {
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// New post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// Sign-up on or off.
    pub allow_sign_up: Option<bool>,
    /// Verified emails only, or not.
    pub require_verified_email: Option<bool>,
}

impl AppChanges {
    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.redirect_uris.is_none()
            && self.post_logout_redirect_uris.is_none()
            && self.scopes.is_none()
            && self.allow_sign_up.is_none()
            && self.require_verified_email.is_none()
    }
}

impl AuthMethod {
    /// From RFC 7591's name.
    pub fn parse(name: &str) -> Result<AuthMethod, String> {
        match name {
            "client_secret_basic" => Ok(AuthMethod::SecretBasic),
            "client_secret_post" => Ok(AuthMethod::SecretPost),
            "private_key_jwt" => Ok(AuthMethod::PrivateKeyJwt),
            "none" => Ok(AuthMethod::None),
            _ => Err("must be client_secret_basic, client_secret_post, private_key_jwt or none".into()),
        }
    }

    /// RFC 7591's name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::SecretBasic => "client_secret_basic",
            AuthMethod::SecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
}

/// A checked client to register.
#[derive(Debug)]
pub struct NewClient {
    /// Its name.
    pub name: String,
    /// What it may ask for.
    pub permissions: PermissionSet,
    /// How it authenticates.
    pub auth_method: AuthMethod,
    /// Its public keys (private_key_jwt only).
    pub jwks: Option<Value>,
    /// Its tokens' lifetime (None: the server's access-token lifetime).
    pub token_ttl_secs: Option<i32>,
    /// A machine or an application.
    pub kind: ClientKind,
    /// An application's settings (default for a machine).
    pub app: AppSettings,
}

/// Checked changes to a client, at least one.
#[derive(Debug)]
pub struct ClientChanges {
    /// A new name.
    pub name: Option<String>,
    /// New permissions.
    pub permissions: Option<PermissionSet>,
    /// A new token lifetime.
    pub token_ttl_secs: Option<i32>,
    /// New public keys.
    pub jwks: Option<Value>,
    /// An application's new settings.
    pub app: AppChanges,
}

fn no_client() -> AppError {
    AppError::NotFound("No such client.".into())
}

/// Registers a client; a secret client's first secret is in the answer only.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, manager: Manager<'_>, req: NewClient) -> AppResult<CreatedClient> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::ApiKeysManage).await?;
    decided.require_all(&req.permissions, "A client with these permissions")?;
    if req.kind.is_app() && decided.owner().is_some() {
        let why = "an organization registers machines (m2m); applications are the platform's (POST /oauth2/clients)";
        return Err(AppError::Validation(vec![crate::error::FieldError::new("kind", why)]));
    }
    // Counted under the owner's lock, which every client write takes.
    let existing = oauth_clients::count(&tx, decided.owner()).await?;
    quotas::room_for_one("clients_per_owner", existing, MAX_PER_OWNER, "The registered clients")?;
    let id = Uuid::now_v7();
    let ttl =
        req.token_ttl_secs.unwrap_or_else(|| i32::try_from(state.config().access_token_ttl.as_secs()).unwrap_or(900));
    let row = NewClientRow {
        id,
        org_id: decided.owner(),
        name: &req.name,
        auth_method: req.auth_method.as_str(),
        jwks: req.jwks.as_ref(),
        permissions: &req.permissions.names(),
        token_ttl_secs: ttl,
        created_by: decided.created_by(),
        kind: req.kind.as_str(),
        grant_types: if req.kind.is_app() { req.app.grant_types() } else { &["client_credentials"] },
        app: AppColumns {
            redirect_uris: &req.app.redirect_uris,
            post_logout_redirect_uris: &req.app.post_logout_redirect_uris,
            scopes: &req.app.scopes,
            allow_sign_up: req.app.allow_sign_up,
            require_verified_email: req.app.require_verified_email,
        },
    };
    oauth_clients::insert(&tx, &row).await?;
    let client_secret = match req.auth_method {
        AuthMethod::PrivateKeyJwt | AuthMethod::None => None,
        AuthMethod::SecretBasic | AuthMethod::SecretPost => Some(add_secret_row(&tx, id).await?.1),
    };
    let registered = oauth_clients::find(&tx, decided.owner(), id).await?.ok_or_else(no_client)?;
    let metadata = json!({
        "name": req.name,
        "permissions": registered.permissions,
        "token_endpoint_auth_method": registered.token_endpoint_auth_method,
        "access_token_ttl_seconds": ttl,
        "kind": registered.kind,
        "redirect_uris": registered.redirect_uris,
        "scopes": registered.scopes,
    });
    decided.record(&tx, AuditAction::ClientCreated, id, metadata).await?;
    tx.commit().await?;
    tracing::info!(client_id = %id, org_id = ?decided.owner(), "client registered");
    Ok(CreatedClient { client: registered, client_secret })
}

/// Stores a new secret of the client; the row and its value.
async fn add_secret_row(tx: &impl GenericClient, client_id: Uuid) -> AppResult<(ClientSecret, String)> {
    let value = machine_secret::generate(SecretKind::ClientSecret);
    let hint = machine_secret::hint(&value);
    let secret = oauth_clients::insert_secret(tx, Uuid::now_v7(), client_id, &tokens::hash(&value), &hint).await?;
    Ok((secret, value))
}

/// The owner's clients, newest first.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(state: &AppState, reader: Reader<'_>, page: &PageRequest) -> AppResult<Page<OAuthClient>> {
    let rows = match reader {
        Reader::Org(access) => {
            let before = access.checked(state, page.key::<Uuid>(0)).await?;
            let client = db::client(state.pool()).await?;
            access.with(oauth_clients::list(&client, Some(access.org_id()), before, page.fetch())).await?
        }
        Reader::Platform => {
            let before = page.key::<Uuid>(0)?;
            let client = db::client(state.pool()).await?;
            oauth_clients::list(&client, None, before, page.fetch()).await?
        }
    };
    Ok(Page::from_rows(rows, page, |c| vec![c.client_id.to_string()]))
}

/// One of the owner's clients.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, reader: Reader<'_>, id: Uuid) -> AppResult<OAuthClient> {
    let client = db::client(state.pool()).await?;
    let found = match reader {
        Reader::Org(access) => access.with(oauth_clients::find(&client, Some(access.org_id()), id)).await?,
        Reader::Platform => oauth_clients::find(&client, None, id).await?,
    };
    found.ok_or_else(no_client)
}

/// Changes a client's name, permissions, token lifetime or keys. Tokens already issued act
/// with no more than the client holds now, from their next request.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update(
    state: &AppState,
    manager: Manager<'_>,
    id: Uuid,
    changes: ClientChanges,
) -> AppResult<OAuthClient> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::ApiKeysManage).await?;
    let before = oauth_clients::find(&tx, decided.owner(), id).await?.ok_or_else(no_client)?;
    decided.require_all(&PermissionSet::from_names(&before.permissions), "Changing this client")?;
    if let Some(permissions) = &changes.permissions {
        decided.require_all(permissions, "A client with these permissions")?;
    }
    if changes.jwks.is_some() && before.jwks.is_none() {
        return Err(AppError::Conflict("This client authenticates with a secret; it has no keys to replace.".into()));
    }
    let kind = ClientKind::parse(&before.kind).map_err(|_| AppError::bug("a stored client of no known kind"))?;
    let is_app = kind.is_app();
    if !changes.app.is_empty() && !is_app {
        return Err(AppError::Conflict("This client is a machine; it has no redirect URIs, scopes or sign-in.".into()));
    }
    // The body was checked by the loosest kind's rules; now by this client's.
    for (field, list) in [
        ("redirect_uris", &changes.app.redirect_uris),
        ("post_logout_redirect_uris", &changes.app.post_logout_redirect_uris),
    ] {
        if let Some(list) = list {
            crate::models::redirect_uris::check(kind, list, false)
                .map_err(|why| AppError::Validation(vec![crate::error::FieldError::new(field, why)]))?;
        }
    }
    if changes.permissions.is_some() && is_app {
        return Err(AppError::Conflict("This client is an application: it asks for scopes, not permissions.".into()));
    }
    let permissions =
        changes.permissions.as_ref().map(PermissionSet::names).unwrap_or_else(|| before.permissions.clone());
    let app = AppSettings {
        redirect_uris: changes.app.redirect_uris.clone().unwrap_or_else(|| before.redirect_uris.clone()),
        post_logout_redirect_uris: changes
            .app
            .post_logout_redirect_uris
            .clone()
            .unwrap_or_else(|| before.post_logout_redirect_uris.clone()),
        scopes: changes.app.scopes.clone().unwrap_or_else(|| before.scopes.clone()),
        allow_sign_up: changes.app.allow_sign_up.unwrap_or(before.allow_sign_up),
        require_verified_email: changes.app.require_verified_email.unwrap_or(before.require_verified_email),
    };
    let update = ClientUpdate {
        name: changes.name.as_deref().unwrap_or(&before.name),
        permissions: &permissions,
        token_ttl_secs: changes.token_ttl_secs.unwrap_or(before.access_token_ttl_seconds),
        jwks: changes.jwks.as_ref(),
        app: AppColumns {
            redirect_uris: &app.redirect_uris,
            post_logout_redirect_uris: &app.post_logout_redirect_uris,
            scopes: &app.scopes,
            allow_sign_up: app.allow_sign_up,
            require_verified_email: app.require_verified_email,
        },
        grant_types: if is_app { app.grant_types() } else { &["client_credentials"] },
    };
    let after = oauth_clients::update(&tx, decided.owner(), id, &update).await?.ok_or_else(no_client)?;
    let metadata = json!({
        "before": {"name": before.name, "permissions": before.permissions,
                   "access_token_ttl_seconds": before.access_token_ttl_seconds},
        "after": {"name": after.name, "permissions": after.permissions,
                  "access_token_ttl_seconds": after.access_token_ttl_seconds},
        "redirect_uris": after.redirect_uris,
        "scopes": after.scopes,
        "keys_replaced": changes.jwks.is_some(),
    });
    decided.record(&tx, AuditAction::ClientUpdated, id, metadata).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a client: its secrets stop working at once, and its tokens on their next request.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete(state: &AppState, manager: Manager<'_>, id: Uuid) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::ApiKeysManage).await?;
    let before = oauth_clients::find(&tx, decided.owner(), id).await?.ok_or_else(no_client)?;
    decided.require_all(&PermissionSet::from_names(&before.permissions), "Deleting this client")?;
    oauth_clients::delete(&tx, decided.owner(), id).await?.ok_or_else(no_client)?;
    decided.record(&tx, AuditAction::ClientDeleted, id, json!({"name": before.name})).await?;
    tx.commit().await?;
    tracing::info!(client_id = %id, "client deleted");
    Ok(())
}

/// Adds a secret (at most two live): its value is in the answer only.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn add_secret(state: &AppState, manager: Manager<'_>, id: Uuid) -> AppResult<CreatedSecret> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::ApiKeysManage).await?;
    let before = locked_client(&tx, &decided, id, "Adding a secret to this client").await?;
    if before.jwks.is_some() {
        return Err(AppError::Conflict("This client signs assertions with its keys; it has no secrets.".into()));
    }
    if before.token_endpoint_auth_method == AuthMethod::None.as_str() {
        return Err(AppError::Conflict("This application is public: it keeps no secret, PKCE holds it.".into()));
    }
    if before.secrets.0.len() as i64 >= MAX_SECRETS {
        return Err(AppError::Conflict(
            "This client has two secrets already; remove the one you replaced, then add another.".into(),
        ));
    }
    let (secret, client_secret) = add_secret_row(&tx, id).await?;
    decided
        .record(&tx, AuditAction::ClientSecretAdded, id, json!({"secret_id": secret.id, "hint": secret.hint}))
        .await?;
    tx.commit().await?;
    Ok(CreatedSecret { secret, client_secret })
}

/// Removes a secret; the last one stays (add its successor first).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn remove_secret(state: &AppState, manager: Manager<'_>, id: Uuid, secret_id: Uuid) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let decided = Decided::under_lock(manager, &tx, Permission::ApiKeysManage).await?;
    let before = locked_client(&tx, &decided, id, "Removing a secret of this client").await?;
    if !before.secrets.0.iter().any(|s| s.id == secret_id) {
        return Err(AppError::NotFound("No such secret of this client.".into()));
    }
    if before.secrets.0.len() == 1 {
        return Err(AppError::Conflict(
            "This is the client's only secret; add its successor first, or delete the client.".into(),
        ));
    }
    let hint = oauth_clients::delete_secret(&tx, id, secret_id).await?.ok_or_else(no_client)?;
    decided.record(&tx, AuditAction::ClientSecretRemoved, id, json!({"secret_id": secret_id, "hint": hint})).await?;
    tx.commit().await?;
    Ok(())
}

/// Locks the client's row (its secrets change one change at a time) and reads it; 403 unless
/// the manager holds its permissions.
async fn locked_client(tx: &impl GenericClient, decided: &Decided, id: Uuid, what: &str) -> AppResult<OAuthClient> {
    if !oauth_clients::lock(tx, decided.owner(), id).await? {
        return Err(no_client());
    }
    let client = oauth_clients::find(tx, decided.owner(), id).await?.ok_or_else(no_client)?;
    decided.require_all(&PermissionSet::from_names(&client.permissions), what)?;
    Ok(client)
}
