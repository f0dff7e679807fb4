//! The single sign-on tables: organizations' connections to their identity providers, the
//! identities those providers vouch for, and the sign-ins waiting for a provider's callback.

use std::time::Duration;

use chrono::{DateTime, Utc};
use const_format::concatcp;
use uuid::Uuid;

use super::reads::Read;
use super::{GenericClient, cached};
use crate::db::DbError;
use crate::models::ConnectionStatus;

/// The index that lets an organization have one active connection.
pub const ONE_ACTIVE: &str = "sso_connections_one_active_idx";

/// A connection as stored, with its sealed secret and the provider's last key set.
#[derive(Clone, Debug, postgres_from_row::FromRow)]
pub struct ConnectionRow {
    /// UUIDv7.
    pub id: Uuid,
    /// The organization.
    pub org_id: Uuid,
    /// `oidc`.
    #[from_row(rename = "type")]
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The provider's issuer.
    pub issuer: String,
    /// Our client id there.
    pub client_id: String,
    /// Our client secret there, sealed.
    pub client_secret_sealed: Vec<u8>,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// From discovery.
    pub authorization_endpoint: String,
    /// From discovery.
    pub token_endpoint: String,
    /// From discovery.
    pub jwks_uri: String,
    /// From discovery: the ID token algorithms accepted.
    pub id_token_algs: Vec<String>,
    /// From discovery: the token endpoint's client auth methods.
    pub token_auth_methods: Vec<String>,
    /// The provider's keys as last fetched.
    pub jwks: Option<serde_json::Value>,
    /// Password sign-in refused at the organization's domains.
    pub sso_required: bool,
    /// The provider's sign-in counts as MFA.
    pub idp_enforces_mfa: bool,
    /// Active or not.
    pub status: ConnectionStatus,
    /// Who made it.
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The organization's verified domains.
    pub domains: Vec<String>,
}

const COLUMNS: &str = "c.id, c.org_id, c.type, c.name, c.issuer, c.client_id, c.client_secret_sealed, c.scopes,
     c.authorization_endpoint, c.token_endpoint, c.jwks_uri, c.id_token_algs, c.token_auth_methods, c.jwks,
     c.sso_required, c.idp_enforces_mfa, c.status, c.created_by, c.created_at, c.updated_at,
     ARRAY(SELECT d.domain FROM org_domains d WHERE d.org_id = c.org_id AND d.state = 'verified'
           ORDER BY d.domain) AS domains";

/// A connection to store.
#[derive(Debug)]
pub struct NewConnection<'a> {
    /// UUIDv7.
    pub id: Uuid,
    /// The organization.
    pub org_id: Uuid,
    /// Its name.
    pub name: &'a str,
    /// The checked issuer.
    pub issuer: &'a str,
    /// Our client id.
    pub client_id: &'a str,
    /// Our secret, sealed.
    pub client_secret_sealed: &'a [u8],
    /// Scopes.
    pub scopes: &'a [String],
    /// What discovery found.
    pub metadata: &'a crate::models::ProviderMetadata,
    /// Password sign-in refused.
    pub sso_required: bool,
    /// The provider's MFA counts.
    pub idp_enforces_mfa: bool,
    /// The member who made it (none for a machine).
    pub created_by: Option<Uuid>,
}

const INSERT: &str = concatcp!(
    "WITH c AS (INSERT INTO sso_connections (id, org_id, name, issuer, client_id, client_secret_sealed, scopes,
         authorization_endpoint, token_endpoint, jwks_uri, id_token_algs, token_auth_methods, sso_required,
         idp_enforces_mfa, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *)
     SELECT ",
    COLUMNS,
    " FROM c"
);
const FIND: &str = concatcp!("SELECT ", COLUMNS, " FROM sso_connections c WHERE c.org_id = $1 AND c.id = $2");
const FIND_BY_ID: &str = concatcp!("SELECT ", COLUMNS, " FROM sso_connections c WHERE c.id = $1");
/// A page, newest first.
const LIST: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM sso_connections c WHERE c.org_id = $1
        AND c.id < COALESCE($2::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff')
      ORDER BY c.id DESC LIMIT $3"
);
/// Every field an admin may change, each kept when NULL; a new issuer comes with what its
/// discovery found (and forgets the old provider's keys).
const UPDATE: &str = concatcp!(
    "WITH c AS (UPDATE sso_connections c SET
         name = COALESCE($3, c.name), client_id = COALESCE($4, c.client_id),
         client_secret_sealed = COALESCE($5, c.client_secret_sealed), scopes = COALESCE($6, c.scopes),
         sso_required = COALESCE($7, c.sso_required), idp_enforces_mfa = COALESCE($8, c.idp_enforces_mfa),
         status = COALESCE($9, c.status), issuer = COALESCE($10, c.issuer),
         authorization_endpoint = COALESCE($11, c.authorization_endpoint),
         token_endpoint = COALESCE($12, c.token_endpoint), jwks_uri = COALESCE($13, c.jwks_uri),
         id_token_algs = COALESCE($14, c.id_token_algs), token_auth_methods = COALESCE($15, c.token_auth_methods),
         jwks = CASE WHEN $10 IS NULL THEN c.jwks END,
         jwks_fetched_at = CASE WHEN $10 IS NULL THEN c.jwks_fetched_at END,
         updated_at = now()
       WHERE c.org_id = $1 AND c.id = $2 RETURNING *)
     SELECT ",
    COLUMNS,
    " FROM c"
);
const DELETE: &str = concatcp!(
    "WITH c AS (DELETE FROM sso_connections c WHERE c.org_id = $1 AND c.id = $2 RETURNING *) SELECT ",
    COLUMNS,
    " FROM c"
);
const COUNT: &str = "SELECT count(*) FROM sso_connections WHERE org_id = $1";
const SET_JWKS: &str = "UPDATE sso_connections SET jwks = $2, jwks_fetched_at = now() WHERE id = $1";
/// The active connection of the organization that holds `domain` verified.
const FOR_DOMAIN: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM org_domains d JOIN sso_connections c ON c.org_id = d.org_id AND c.status = 'active'
      WHERE d.domain = $1 AND d.state = 'verified'"
);
/// The organization's active connection, while it holds a verified domain.
const ACTIVE_FOR_ORG: &str = concatcp!(
    "SELECT ",
    COLUMNS,
    " FROM sso_connections c WHERE c.org_id = $1 AND c.status = 'active'
        AND EXISTS (SELECT 1 FROM org_domains d WHERE d.org_id = c.org_id AND d.state = 'verified')"
);
const HAS_VERIFIED_DOMAIN: &str = "SELECT EXISTS (SELECT 1 FROM org_domains WHERE org_id = $1 AND state = 'verified')";

/// Stores a connection.
pub async fn insert(db: &impl GenericClient, new: &NewConnection<'_>) -> Result<ConnectionRow, DbError> {
    let m = new.metadata;
    let params = [
        &new.id as _,
        &new.org_id as _,
        &new.name as _,
        &new.issuer as _,
        &new.client_id as _,
        &new.client_secret_sealed as _,
        &new.scopes as _,
        &m.authorization_endpoint as _,
        &m.token_endpoint as _,
        &m.jwks_uri as _,
        &m.id_token_algs as _,
        &m.token_auth_methods as _,
        &new.sso_required as _,
        &new.idp_enforces_mfa as _,
        &new.created_by as _,
    ];
    cached::fetch_one(db, INSERT, &params).await
}

/// How many connections the organization has.
pub async fn count(db: &impl GenericClient, org_id: Uuid) -> Result<i64, DbError> {
    cached::value(db, COUNT, &[&org_id]).await
}

/// The organization's connection `id`.
#[track_caller]
pub fn find<C: GenericClient>(db: &C, org_id: Uuid, id: Uuid) -> Read<'_, C, Option<ConnectionRow>> {
    Read::new(db, FIND, vec![Box::new(org_id), Box::new(id)])
}

/// A connection by id alone (a sign-in's callback names it).
pub async fn find_by_id(db: &impl GenericClient, id: Uuid) -> Result<Option<ConnectionRow>, DbError> {
    cached::fetch_opt(db, FIND_BY_ID, &[&id]).await
}

/// A page of the organization's connections, newest first, before `after`.
#[track_caller]
pub fn list<C: GenericClient>(
    db: &C,
    org_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Read<'_, C, Vec<ConnectionRow>> {
    Read::new(db, LIST, vec![Box::new(org_id), Box::new(after), Box::new(limit)])
}

/// What a change sets; None keeps a field.
#[derive(Debug, Default)]
pub struct Changes<'a> {
    /// New name.
    pub name: Option<&'a str>,
    /// New client id.
    pub client_id: Option<&'a str>,
    /// New sealed secret.
    pub client_secret_sealed: Option<Vec<u8>>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// New flag.
    pub sso_required: Option<bool>,
    /// New flag.
    pub idp_enforces_mfa: Option<bool>,
    /// New status.
    pub status: Option<ConnectionStatus>,
    /// A new issuer and what its discovery found.
    pub issuer: Option<(&'a str, &'a crate::models::ProviderMetadata)>,
}

/// Applies `changes`; None when the connection is gone.
pub async fn update(
    db: &impl GenericClient,
    org_id: Uuid,
    id: Uuid,
    changes: &Changes<'_>,
) -> Result<Option<ConnectionRow>, DbError> {
    let issuer = changes.issuer.map(|(issuer, _)| issuer);
    let m = changes.issuer.map(|(_, m)| m);
    let params = [
        &org_id as _,
        &id as _,
        &changes.name as _,
        &changes.client_id as _,
        &changes.client_secret_sealed as _,
        &changes.scopes as _,
        &changes.sso_required as _,
        &changes.idp_enforces_mfa as _,
        &changes.status as _,
        &issuer as _,
        &m.map(|m| m.authorization_endpoint.as_str()) as _,
        &m.map(|m| m.token_endpoint.as_str()) as _,
        &m.map(|m| m.jwks_uri.as_str()) as _,
        &m.map(|m| m.id_token_algs.clone()) as _,
        &m.map(|m| m.token_auth_methods.clone()) as _,
    ];
    cached::fetch_opt(db, UPDATE, &params).await
}

/// Deletes a connection (its identities with it); what it was.
pub async fn delete(db: &impl GenericClient, org_id: Uuid, id: Uuid) -> Result<Option<ConnectionRow>, DbError> {
    cached::fetch_opt(db, DELETE, &[&org_id, &id]).await
}

/// Keeps the provider's key set as just fetched.
pub async fn set_jwks(db: &impl GenericClient, id: Uuid, jwks: &serde_json::Value) -> Result<(), DbError> {
    cached::execute(db, SET_JWKS, &[&id, &jwks]).await.map(drop)
}

/// The active connection for an email's domain, if a verified domain routes it to one.
pub async fn for_domain(db: &impl GenericClient, domain: &str) -> Result<Option<ConnectionRow>, DbError> {
    cached::fetch_opt(db, FOR_DOMAIN, &[&domain]).await
}

/// The organization's active connection, while it holds a verified domain.
pub async fn active_for_org(db: &impl GenericClient, org_id: Uuid) -> Result<Option<ConnectionRow>, DbError> {
    cached::fetch_opt(db, ACTIVE_FOR_ORG, &[&org_id]).await
}

/// Whether the organization holds a verified domain.
pub async fn has_verified_domain(db: &impl GenericClient, org_id: Uuid) -> Result<bool, DbError> {
    cached::value(db, HAS_VERIFIED_DOMAIN, &[&org_id]).await
}

/// A sign-in sent to a provider, waiting for its callback.
#[derive(Clone, Debug, postgres_from_row::FromRow)]
pub struct PendingSignIn {
    /// The connection.
    pub connection_id: Uuid,
    /// The authorization request it signs in for (none for a test).
    pub request_id: Option<Uuid>,
    /// `sign_in` or `test`.
    pub purpose: String,
    /// The hash of the browser's `identity_sso` cookie (none for a test).
    pub browser_binding: Option<Vec<u8>>,
    /// Our nonce.
    pub nonce: String,
    /// Our PKCE verifier.
    pub code_verifier: String,
    /// The admin who started a test.
    pub created_by: Option<Uuid>,
}

/// A sign-in to store.
#[derive(Debug)]
pub struct NewSignIn<'a> {
    /// The hash of its `state`.
    pub state_hash: &'a [u8],
    /// What it is.
    pub pending: &'a PendingSignIn,
    /// The address typed, if any.
    pub login_hint: Option<&'a str>,
    /// How long it waits.
    pub ttl: Duration,
}

const INSERT_SIGN_IN: &str =
    "INSERT INTO sso_sign_ins (state_hash, connection_id, request_id, purpose, browser_binding,
         nonce, code_verifier, login_hint, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10))";
/// Taken once: of two callbacks with the same state, one finds it.
const TAKE_SIGN_IN: &str = "DELETE FROM sso_sign_ins WHERE state_hash = $1 AND expires_at > now()
     RETURNING connection_id, request_id, purpose, browser_binding, nonce, code_verifier, created_by";

/// Stores a sign-in sent to a provider.
pub async fn insert_sign_in(db: &impl GenericClient, new: &NewSignIn<'_>) -> Result<(), DbError> {
    let p = new.pending;
    let params = [
        &new.state_hash as _,
        &p.connection_id as _,
        &p.request_id as _,
        &p.purpose as _,
        &p.browser_binding as _,
        &p.nonce as _,
        &p.code_verifier as _,
        &new.login_hint as _,
        &p.created_by as _,
        &new.ttl.as_secs_f64() as _,
    ];
    cached::execute(db, INSERT_SIGN_IN, &params).await.map(drop)
}

/// Takes the live sign-in whose state hashes to `state_hash`.
pub async fn take_sign_in(db: &impl GenericClient, state_hash: &[u8]) -> Result<Option<PendingSignIn>, DbError> {
    cached::fetch_opt(db, TAKE_SIGN_IN, &[&state_hash]).await
}

const FIND_IDENTITY: &str = "SELECT user_id FROM user_identities WHERE connection_id = $1 AND subject = $2";
const TOUCH_IDENTITY: &str =
    "UPDATE user_identities SET last_sign_in_at = now() WHERE connection_id = $1 AND subject = $2";
const INSERT_IDENTITY: &str = "INSERT INTO user_identities (connection_id, subject, user_id, email)
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// The account a provider's subject is linked to.
pub async fn identity_user(
    db: &impl GenericClient,
    connection_id: Uuid,
    subject: &str,
) -> Result<Option<Uuid>, DbError> {
    cached::value_opt(db, FIND_IDENTITY, &[&connection_id, &subject]).await
}

/// Notes a linked identity's sign-in.
pub async fn touch_identity(db: &impl GenericClient, connection_id: Uuid, subject: &str) -> Result<(), DbError> {
    cached::execute(db, TOUCH_IDENTITY, &[&connection_id, &subject]).await.map(drop)
}

/// Links a subject to an account; false if another sign-in linked it first.
pub async fn link_identity(
    db: &impl GenericClient,
    connection_id: Uuid,
    subject: &str,
    user_id: Uuid,
    email: &str,
) -> Result<bool, DbError> {
    Ok(cached::execute(db, INSERT_IDENTITY, &[&connection_id, &subject, &user_id, &email]).await? == 1)
}

const WAS_REMOVED: &str = "SELECT EXISTS (SELECT 1 FROM audit_log
     WHERE target_id = $2 AND org_id = $1 AND action = 'member.removed')";

/// Whether the account left the organization or was removed from it (and so is not brought
/// back by a sign-in, as a verified domain does not bring it back).
pub async fn was_removed(db: &impl GenericClient, org_id: Uuid, user_id: Uuid) -> Result<bool, DbError> {
    cached::value(db, WAS_REMOVED, &[&org_id, &user_id]).await
}
