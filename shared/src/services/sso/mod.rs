//! Single sign-on per organization: its connections to its own identity provider, which
//! addresses they sign in, and the sign-in through them (sent to the provider, and back).

#[cfg(feature = "egress")]
pub mod connections;
pub mod routing;
#[cfg(feature = "egress")]
pub mod sign_in;

use crate::models::SsoConnection;
use crate::repositories::sso::ConnectionRow;
use crate::state::AppState;

/// This service's callback, the redirect URI every connection registers at its provider.
pub fn redirect_uri(state: &AppState) -> String {
    let issuer = state.config().jwt_issuer.trim_end_matches('/');
    format!("{issuer}/pages/sso-callback")
}

/// What the sealed client secret of connection `id` is bound to.
pub(crate) fn secret_context(id: uuid::Uuid) -> Vec<u8> {
    [b"sso_client_secret:".as_slice(), id.as_bytes()].concat()
}

/// A stored connection as its admins see it (never its secret).
pub fn shown(state: &AppState, row: ConnectionRow) -> SsoConnection {
    SsoConnection {
        id: row.id,
        org_id: row.org_id,
        kind: row.kind,
        name: row.name,
        issuer: row.issuer,
        client_id: row.client_id,
        scopes: row.scopes,
        status: row.status,
        sso_required: row.sso_required,
        idp_enforces_mfa: row.idp_enforces_mfa,
        authorization_endpoint: row.authorization_endpoint,
        token_endpoint: row.token_endpoint,
        jwks_uri: row.jwks_uri,
        id_token_signing_alg_values: row.id_token_algs,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
        redirect_uri: redirect_uri(state),
        domains: row.domains,
    }
}
