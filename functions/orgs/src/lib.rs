//! The orgs route group: organizations, members, roles, the audit log and the permission catalog.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use identity_shared::AppResult;
use identity_shared::http::{self, ApiJson, ApiQuery, AppState, Authenticated, Client, OrgAccess, path_id};
use identity_shared::models::{Member, Organization, Permission, Role};
use identity_shared::services::page::{Page, PageParams};
use identity_shared::services::{audit, members, orgs, roles};
use serde_json::{Value, json};

/// The orgs function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes())
}

/// The orgs routes alone, for merging with other groups.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs", get(list_orgs).post(create_org))
        .route("/orgs/{org}", get(get_org).patch(update_org).delete(delete_org))
        .route("/orgs/{org}/members", get(list_members))
        .route("/orgs/{org}/members/{user}", get(get_member).delete(remove_member))
        .route("/orgs/{org}/members/{user}/roles", put(set_member_roles))
        .route("/orgs/{org}/roles", get(list_roles).post(create_role))
        .route("/orgs/{org}/roles/{role}", axum::routing::patch(update_role).delete(delete_role))
        .route("/orgs/{org}/audit-log", get(audit_log))
        .route("/permissions", get(permissions))
}

async fn create_org(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(req): ApiJson<orgs::CreateOrg>,
) -> AppResult<impl IntoResponse> {
    let org = orgs::create(&state, caller.user.id, client.ip, req).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

async fn list_orgs(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<identity_shared::models::MyOrganization>>> {
    Ok(Json(orgs::list_mine(&state, caller.user.id, &params.check()?).await?))
}

async fn get_org(State(state): State<AppState>, OrgAccess(actor): OrgAccess) -> AppResult<Json<Organization>> {
    actor.require(Permission::OrgRead)?;
    Ok(Json(orgs::get(&state, actor.org_id).await?))
}

async fn update_org(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<orgs::UpdateOrg>,
) -> AppResult<Json<Organization>> {
    actor.require(Permission::OrgUpdate)?;
    Ok(Json(orgs::update(&state, &actor, req).await?))
}

async fn delete_org(State(state): State<AppState>, OrgAccess(actor): OrgAccess) -> AppResult<StatusCode> {
    actor.require(Permission::OrgDelete)?;
    orgs::delete(&state, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_members(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<Member>>> {
    actor.require(Permission::MembersRead)?;
    Ok(Json(members::list(&state, actor.org_id, &params.check()?).await?))
}

async fn get_member(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    Path((_, user)): Path<(String, String)>,
) -> AppResult<Json<Member>> {
    actor.require(Permission::MembersRead)?;
    Ok(Json(members::get(&state, actor.org_id, path_id(&user, "member")?).await?))
}

async fn remove_member(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    Path((_, user)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    // Leaving needs no permission; removing someone else needs members:remove (the service checks).
    members::remove(&state, &actor, path_id(&user, "member")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_member_roles(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    Path((_, user)): Path<(String, String)>,
    ApiJson(req): ApiJson<members::SetRoles>,
) -> AppResult<Json<Member>> {
    actor.require(Permission::RolesAssign)?;
    Ok(Json(members::set_roles(&state, &actor, path_id(&user, "member")?, req).await?))
}

async fn list_roles(State(state): State<AppState>, OrgAccess(actor): OrgAccess) -> AppResult<Json<Page<Role>>> {
    actor.require(Permission::RolesRead)?;
    Ok(Json(Page::all(roles::list(&state, actor.org_id).await?)))
}

async fn create_role(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<roles::CreateRole>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::RolesManage)?;
    Ok((StatusCode::CREATED, Json(roles::create(&state, &actor, req).await?)))
}

async fn update_role(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    Path((_, role)): Path<(String, String)>,
    ApiJson(req): ApiJson<roles::UpdateRole>,
) -> AppResult<Json<Role>> {
    actor.require(Permission::RolesManage)?;
    Ok(Json(roles::update(&state, &actor, &role, req).await?))
}

async fn delete_role(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    Path((_, role)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    actor.require(Permission::RolesManage)?;
    roles::delete(&state, &actor, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit_log(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<identity_shared::models::AuditEntry>>> {
    actor.require(Permission::AuditRead)?;
    Ok(Json(audit::list(&state, actor.org_id, &params.check()?).await?))
}

async fn permissions() -> Json<Value> {
    let items: Vec<Value> =
        Permission::ALL.iter().map(|p| json!({"name": p.as_str(), "description": p.description()})).collect();
    Json(json!({ "items": items, "next_cursor": null }))
}
