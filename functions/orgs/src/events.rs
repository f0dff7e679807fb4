//! The events feed: an organization's, and the platform's.

use axum::Json;
use axum::extract::State;
use identity_shared::api::events::EventParams;
use identity_shared::api::problems::{Forbidden, InvalidQuery, OrgRoute, SignedIn};
use identity_shared::http::{ApiQuery, AppState, OrgToken, PlatformBearer};
use identity_shared::models::{EventPage, Permission};
use identity_shared::services::access;
use identity_shared::services::events::{self, Feed};
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The feed routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(org_events)).routes(routes!(platform_events))
}

#[utoipa::path(
    get, path = "/orgs/{org}/events", tag = "events",
    params(("org" = Uuid, Path, description = "Organization id"), EventParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's events after `after`, oldest first; none is ever skipped", body = EventPage),
        OrgRoute, InvalidQuery,
    ),
)]
async fn org_events(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    params: Result<ApiQuery<EventParams>, AppError>,
) -> AppResult<Json<EventPage>> {
    let access = request.to_read(Permission::EventsRead);
    let query = access.checked(&state, params.and_then(|ApiQuery(p)| p.parse())).await?;
    Ok(Json(events::page(&state, Feed::Org(&access), &query).await?))
}

#[utoipa::path(
    get, path = "/events", tag = "events",
    params(EventParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every organization's and account's events after `after`, oldest first; for platform admins and platform M2M clients whose token holds `events:read`", body = EventPage),
        SignedIn, Forbidden, InvalidQuery,
    ),
)]
async fn platform_events(
    State(state): State<AppState>,
    PlatformBearer(bearer): PlatformBearer,
    ApiQuery(params): ApiQuery<EventParams>,
) -> AppResult<Json<EventPage>> {
    access::authorize_platform(&state, &bearer, Permission::EventsRead).await?;
    Ok(Json(events::page(&state, Feed::Platform, &params.parse()?).await?))
}
