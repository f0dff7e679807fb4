//! The caller's sessions: list them, end one, end all the others.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use identity_shared::AppResult;
use identity_shared::api::problems::{InvalidQuery, NotFound, SignedIn};
use identity_shared::api::users::PageParams;
use identity_shared::http::{ApiQuery, AppState, Authenticated, Client, MySessionPath};
use identity_shared::models::{Page, Session, SessionsRevoked};
use identity_shared::services::session_admin::{self, Ender};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this part.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_sessions))
        .routes(routes!(end_my_session))
        .routes(routes!(end_my_other_sessions))
}

#[utoipa::path(
    get, path = "/me/sessions", tag = "sessions",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's live sessions, newest first", body = Page<Session>),
        SignedIn, InvalidQuery,
    ),
)]
async fn my_sessions(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<Session>>> {
    Ok(Json(session_admin::list(&state, caller.user.id, Some(caller.session_id), &params.check()?).await?))
}

#[utoipa::path(
    delete, path = "/me/sessions/{id}", tag = "sessions",
    params(("id" = Uuid, Path, description = "Session id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended: its access and refresh tokens stop working"),
        SignedIn, NotFound,
    ),
)]
async fn end_my_session(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    MySessionPath(id): MySessionPath,
) -> AppResult<StatusCode> {
    let by = Ender { actor_id: caller.user.id, ip: client.ip };
    session_admin::end(&state, by, caller.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/me/sessions/revoke-others", tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every session but the asking one ended", body = SessionsRevoked),
        SignedIn,
    ),
)]
async fn end_my_other_sessions(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
) -> AppResult<Json<SessionsRevoked>> {
    let by = Ender { actor_id: caller.user.id, ip: client.ip };
    let revoked = session_admin::end_others(&state, by, caller.user.id, caller.session_id).await?;
    Ok(Json(SessionsRevoked { revoked }))
}
