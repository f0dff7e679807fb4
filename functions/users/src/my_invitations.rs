//! Invitations to the caller's verified address: list, accept, decline.

use axum::Json;
use axum::extract::State;
use identity_shared::AppResult;
use identity_shared::api::problems::{Conflict, Forbidden, Gone, OrgRoute, SignedIn};
use identity_shared::http::{AppState, Authenticated, Client, InvitationPath};
use identity_shared::models::{Accepted, Invitation, MyInvitation, Page};
use identity_shared::services::joining;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this part.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_invitations))
        .routes(routes!(accept_invitation))
        .routes(routes!(decline_invitation))
}

#[utoipa::path(
    get, path = "/me/invitations", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pending invitations to the caller's verified email", body = Page<MyInvitation>),
        SignedIn, Forbidden,
    ),
)]
async fn my_invitations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> AppResult<Json<Page<MyInvitation>>> {
    Ok(Json(joining::list_mine(&state, &caller).await?))
}

#[utoipa::path(
    post, path = "/me/invitations/{id}/accept", tag = "users",
    params(("id" = Uuid, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Joined", body = Accepted),
        OrgRoute, Conflict, Gone,
    ),
)]
async fn accept_invitation(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Accepted>> {
    Ok(Json(joining::accept_mine(&state, &caller, id, client.ip).await?))
}

#[utoipa::path(
    post, path = "/me/invitations/{id}/decline", tag = "users",
    params(("id" = Uuid, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Declined", body = Invitation),
        OrgRoute, Conflict, Gone,
    ),
)]
async fn decline_invitation(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    InvitationPath(id): InvitationPath,
) -> AppResult<Json<Invitation>> {
    Ok(Json(joining::decline_mine(&state, &caller, id, client.ip).await?))
}
