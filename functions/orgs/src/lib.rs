//! The orgs route group: organizations, members, roles, the audit log and the permission catalog.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use identity_shared::AppResult;
use identity_shared::error::Problem;
use identity_shared::http::{
    self, ApiJson, ApiQuery, AppState, Authenticated, Client, MemberPath, OrgAccess, RolePath,
};
use identity_shared::models::{AuditEntry, MyOrganization};
use identity_shared::models::{Member, Organization, Permission, Role};
use identity_shared::services::members::SetRoles;
use identity_shared::services::orgs::{CreateOrg, UpdateOrg};
use identity_shared::services::page::{Page, PageParams};
use identity_shared::services::roles::{CreateRole, UpdateRole};
use identity_shared::services::{audit, members, orgs, roles};

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

#[utoipa::path(post, path = "/orgs", tag = "orgs", request_body = CreateOrg, responses((status = 201, description = "Created; the caller is its owner", body = MyOrganization), (status = 400, description = "Malformed JSON or request", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn create_org(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(req): ApiJson<orgs::CreateOrg>,
) -> AppResult<impl IntoResponse> {
    let org = orgs::create(&state, caller.user.id, client.ip, req).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

#[utoipa::path(get, path = "/orgs", tag = "orgs", params(PageParams), responses((status = 200, description = "The caller's organizations with their roles", body = Page<MyOrganization>), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn list_orgs(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<identity_shared::models::MyOrganization>>> {
    Ok(Json(orgs::list_mine(&state, caller.user.id, &params.check()?).await?))
}

#[utoipa::path(get, path = "/orgs/{org}", tag = "orgs", params(("org" = Uuid, Path, description = "Organization id")), responses((status = 200, description = "The organization", body = Organization), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn get_org(State(state): State<AppState>, OrgAccess(actor): OrgAccess) -> AppResult<Json<Organization>> {
    actor.require(Permission::OrgRead)?;
    Ok(Json(orgs::get(&state, actor.org_id).await?))
}

#[utoipa::path(patch, path = "/orgs/{org}", tag = "orgs", request_body = UpdateOrg, params(("org" = Uuid, Path, description = "Organization id")), responses((status = 200, description = "Updated", body = Organization), (status = 400, description = "Malformed JSON or request", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn update_org(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<orgs::UpdateOrg>,
) -> AppResult<Json<Organization>> {
    // Renaming is org:update; choosing the default role is managing roles.
    if req.name.is_some() || req.slug.is_some() || req.default_role.is_none() {
        actor.require(Permission::OrgUpdate)?;
    }
    if req.default_role.is_some() {
        actor.require(Permission::RolesManage)?;
    }
    Ok(Json(orgs::update(&state, &actor, req).await?))
}

#[utoipa::path(delete, path = "/orgs/{org}", tag = "orgs", params(("org" = Uuid, Path, description = "Organization id")), responses((status = 204, description = "Deleted with its memberships, roles and invitations"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn delete_org(State(state): State<AppState>, OrgAccess(actor): OrgAccess) -> AppResult<StatusCode> {
    actor.require(Permission::OrgDelete)?;
    orgs::delete(&state, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/orgs/{org}/members", tag = "members", params(("org" = Uuid, Path, description = "Organization id"), PageParams), responses((status = 200, description = "Members in join order", body = Page<Member>), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn list_members(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<Member>>> {
    actor.require(Permission::MembersRead)?;
    Ok(Json(members::list(&state, actor.org_id, &params.check()?).await?))
}

#[utoipa::path(get, path = "/orgs/{org}/members/{user}", tag = "members", params(("org" = Uuid, Path, description = "Organization id"), ("user" = Uuid, Path, description = "Member's user id")), responses((status = 200, description = "The member", body = Member), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn get_member(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    MemberPath(user): MemberPath,
) -> AppResult<Json<Member>> {
    actor.require(Permission::MembersRead)?;
    Ok(Json(members::get(&state, actor.org_id, user).await?))
}

#[utoipa::path(delete, path = "/orgs/{org}/members/{user}", tag = "members", params(("org" = Uuid, Path, description = "Organization id"), ("user" = Uuid, Path, description = "Member's user id")), responses((status = 204, description = "Removed (or left, when it is the caller)"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    MemberPath(user): MemberPath,
) -> AppResult<StatusCode> {
    // Leaving needs no permission; removing someone else needs members:remove (the service checks).
    members::remove(&state, &actor, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/orgs/{org}/members/{user}/roles", tag = "members", request_body = SetRoles, params(("org" = Uuid, Path, description = "Organization id"), ("user" = Uuid, Path, description = "Member's user id")), responses((status = 200, description = "The member with the new roles", body = Member), (status = 400, description = "Malformed JSON or request", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn set_member_roles(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    MemberPath(user): MemberPath,
    ApiJson(req): ApiJson<members::SetRoles>,
) -> AppResult<Json<Member>> {
    actor.require(Permission::RolesAssign)?;
    Ok(Json(members::set_roles(&state, &actor, user, req).await?))
}

#[utoipa::path(get, path = "/orgs/{org}/roles", tag = "roles", params(("org" = Uuid, Path, description = "Organization id")), responses((status = 200, description = "System roles, then custom ones", body = Page<Role>), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn list_roles(State(state): State<AppState>, OrgAccess(actor): OrgAccess) -> AppResult<Json<Page<Role>>> {
    actor.require(Permission::RolesRead)?;
    Ok(Json(Page::all(roles::list(&state, actor.org_id).await?)))
}

#[utoipa::path(post, path = "/orgs/{org}/roles", tag = "roles", request_body = CreateRole, params(("org" = Uuid, Path, description = "Organization id")), responses((status = 201, description = "Created", body = Role), (status = 400, description = "Malformed JSON or request", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn create_role(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<roles::CreateRole>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::RolesManage)?;
    Ok((StatusCode::CREATED, Json(roles::create(&state, &actor, req).await?)))
}

#[utoipa::path(patch, path = "/orgs/{org}/roles/{role}", tag = "roles", request_body = UpdateRole, params(("org" = Uuid, Path, description = "Organization id"), ("role" = String, Path, description = "Role name or id")), responses((status = 200, description = "Updated", body = Role), (status = 400, description = "Malformed JSON or request", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Conflicts with the current state", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn update_role(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    RolePath(role): RolePath,
    ApiJson(req): ApiJson<roles::UpdateRole>,
) -> AppResult<Json<Role>> {
    actor.require(Permission::RolesManage)?;
    Ok(Json(roles::update(&state, &actor, &role, req).await?))
}

#[utoipa::path(delete, path = "/orgs/{org}/roles/{role}", tag = "roles", params(("org" = Uuid, Path, description = "Organization id"), ("role" = String, Path, description = "Role name or id")), responses((status = 204, description = "Deleted; members lose it"), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 409, description = "The role is the organization's default role for invitations", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn delete_role(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    RolePath(role): RolePath,
) -> AppResult<StatusCode> {
    actor.require(Permission::RolesManage)?;
    roles::delete(&state, &actor, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/orgs/{org}/audit-log", tag = "orgs", params(("org" = Uuid, Path, description = "Organization id"), PageParams), responses((status = 200, description = "Newest first", body = Page<AuditEntry>), (status = 401, description = "No valid access token, or the session ended", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Lacking a permission", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found (also for orgs the caller is not a member of)", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
async fn audit_log(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<identity_shared::models::AuditEntry>>> {
    actor.require(Permission::AuditRead)?;
    Ok(Json(audit::list(&state, actor.org_id, &params.check()?).await?))
}

#[utoipa::path(get, path = "/permissions", tag = "roles", responses((status = 200, description = "The permission catalog", body = Page<PermissionInfo>)))]
async fn permissions() -> Json<Page<PermissionInfo>> {
    Json(Page::all(
        Permission::ALL.iter().map(|p| PermissionInfo { name: p.as_str(), description: p.description() }).collect(),
    ))
}

/// One permission of the catalog.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PermissionInfo {
    /// e.g. `members:read`.
    pub name: &'static str,
    /// What it allows.
    pub description: &'static str,
}

/// The OpenAPI description of this function's routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_org,
    list_orgs,
    get_org,
    update_org,
    delete_org,
    list_members,
    get_member,
    remove_member,
    set_member_roles,
    list_roles,
    create_role,
    update_role,
    delete_role,
    audit_log,
    permissions
))]
pub struct ApiDoc;
