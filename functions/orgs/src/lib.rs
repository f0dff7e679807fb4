//! The orgs route group: organizations, members, roles, the audit log and the permission catalog.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, Router};
use identity_shared::api::orgs::{CreateOrg, CreateRole, SetLimits, SetRoles, UpdateOrg, UpdateRole};
use identity_shared::api::problems::{
    Conflict, DefaultRoleConflict, InvalidQuery, JsonBody, OrgRoute, QuotaSpent, SignedIn,
};
use identity_shared::api::users::PageParams;
use identity_shared::http::{
    self, ApiJson, ApiQuery, AppState, Authenticated, Client, MemberPath, OrgAccess, OrgPath, OrgToken, PlatformAdmin,
    RolePath,
};
use identity_shared::models::{AuditEntry, Member, MyOrganization, Organization, Page, Permission, Role};
use identity_shared::services::{audit, members, orgs, roles};
use identity_shared::{AppError, AppResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod api_keys;
mod clients;
mod domains;
mod events;
mod sso;
mod webhooks;

/// The orgs function's app: its routes with the shared fallbacks and layers.
pub fn router() -> Router<AppState> {
    http::finish(routes().into())
}

/// The orgs routes with their OpenAPI description, for merging with other groups.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org, update_org, delete_org))
        .routes(routes!(set_limits))
        .routes(routes!(list_members))
        .routes(routes!(get_member, remove_member))
        .routes(routes!(set_member_roles))
        .routes(routes!(list_roles, create_role))
        .routes(routes!(update_role, delete_role))
        .routes(routes!(audit_log))
        .routes(routes!(permissions))
        .merge(api_keys::routes())
        .merge(clients::routes())
        .merge(domains::routes())
        .merge(sso::routes())
        .merge(events::routes())
        .merge(webhooks::routes())
}

#[utoipa::path(
    post, path = "/orgs", tag = "orgs", request_body = CreateOrg,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the caller is its owner", body = MyOrganization),
        JsonBody, SignedIn, Conflict, QuotaSpent,
    ),
)]
async fn create_org(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(req): ApiJson<CreateOrg>,
) -> AppResult<impl IntoResponse> {
    let org = orgs::create(&state, &caller, client.ip, req.parse()?).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

#[utoipa::path(
    get, path = "/orgs", tag = "orgs",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's organizations with their roles", body = Page<MyOrganization>),
        SignedIn, InvalidQuery,
    ),
)]
async fn list_orgs(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<PageParams>,
) -> AppResult<Json<Page<identity_shared::models::MyOrganization>>> {
    Ok(Json(orgs::list_mine(&state, caller.user.id, &params.check()?).await?))
}

#[utoipa::path(
    get, path = "/orgs/{org}", tag = "orgs",
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization", body = Organization),
        OrgRoute,
    ),
)]
async fn get_org(State(state): State<AppState>, OrgToken(request): OrgToken) -> AppResult<Json<Organization>> {
    Ok(Json(orgs::get(&state, &request.to_read(Permission::OrgRead)).await?))
}

#[utoipa::path(
    patch, path = "/orgs/{org}", tag = "orgs", request_body = UpdateOrg,
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Organization),
        JsonBody, OrgRoute, Conflict,
    ),
)]
async fn update_org(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<UpdateOrg>,
) -> AppResult<Json<Organization>> {
    // Each field's permission is checked by the service, under the organization's lock.
    Ok(Json(orgs::update(&state, &actor, req.parse()?).await?))
}

#[utoipa::path(
    delete, path = "/orgs/{org}", tag = "orgs",
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted with its memberships, roles and invitations"),
        OrgRoute,
    ),
)]
async fn delete_org(State(state): State<AppState>, OrgAccess(actor): OrgAccess) -> AppResult<StatusCode> {
    actor.require(Permission::OrgDelete)?;
    orgs::delete(&state, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put, path = "/orgs/{org}/limits", tag = "admin", request_body = SetLimits,
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization with its new limit; members beyond a lowered one stay", body = Organization),
        JsonBody, OrgRoute,
    ),
)]
async fn set_limits(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    Client(client): Client,
    OrgPath(org_id): OrgPath,
    ApiJson(req): ApiJson<SetLimits>,
) -> AppResult<Json<Organization>> {
    Ok(Json(orgs::set_limits(&state, admin.user.id, org_id, req.parse()?, client.ip).await?))
}

#[utoipa::path(
    get, path = "/orgs/{org}/members", tag = "members",
    params(("org" = Uuid, Path, description = "Organization id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Members in join order", body = Page<Member>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn list_members(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    params: Result<ApiQuery<PageParams>, AppError>,
) -> AppResult<Json<Page<Member>>> {
    let access = request.to_read(Permission::MembersRead);
    let page = access.checked(&state, params.and_then(|ApiQuery(p)| p.check())).await?;
    Ok(Json(members::list(&state, &access, &page).await?))
}

#[utoipa::path(
    get, path = "/orgs/{org}/members/{user}", tag = "members",
    params(("org" = Uuid, Path, description = "Organization id"), ("user" = Uuid, Path, description = "Member's user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The member", body = Member),
        OrgRoute,
    ),
)]
async fn get_member(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    MemberPath(user): MemberPath,
) -> AppResult<Json<Member>> {
    Ok(Json(members::get(&state, &request.to_read(Permission::MembersRead), user).await?))
}

#[utoipa::path(
    delete, path = "/orgs/{org}/members/{user}", tag = "members",
    params(("org" = Uuid, Path, description = "Organization id"), ("user" = Uuid, Path, description = "Member's user id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed (or left, when it is the caller)"),
        OrgRoute, Conflict,
    ),
)]
async fn remove_member(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    MemberPath(user): MemberPath,
) -> AppResult<StatusCode> {
    // Leaving needs no permission; removing someone else needs members:remove (the service checks).
    members::remove(&state, &actor, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put, path = "/orgs/{org}/members/{user}/roles", tag = "members", request_body = SetRoles,
    params(("org" = Uuid, Path, description = "Organization id"), ("user" = Uuid, Path, description = "Member's user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The member with the new roles", body = Member),
        JsonBody, OrgRoute, Conflict,
    ),
)]
async fn set_member_roles(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    MemberPath(user): MemberPath,
    ApiJson(req): ApiJson<SetRoles>,
) -> AppResult<Json<Member>> {
    actor.require(Permission::RolesAssign)?;
    Ok(Json(members::set_roles(&state, &actor, user, &req.parse()?).await?))
}

#[utoipa::path(
    get, path = "/orgs/{org}/roles", tag = "roles",
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "System roles, then custom ones", body = Page<Role>),
        OrgRoute,
    ),
)]
async fn list_roles(State(state): State<AppState>, OrgToken(request): OrgToken) -> AppResult<Json<Page<Role>>> {
    Ok(Json(Page::all(roles::list(&state, &request.to_read(Permission::RolesRead)).await?)))
}

#[utoipa::path(
    post, path = "/orgs/{org}/roles", tag = "roles", request_body = CreateRole,
    params(("org" = Uuid, Path, description = "Organization id")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Role),
        JsonBody, OrgRoute, Conflict, QuotaSpent,
    ),
)]
async fn create_role(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    ApiJson(req): ApiJson<CreateRole>,
) -> AppResult<impl IntoResponse> {
    actor.require(Permission::RolesManage)?;
    Ok((StatusCode::CREATED, Json(roles::create(&state, &actor, req.parse()?).await?)))
}

#[utoipa::path(
    patch, path = "/orgs/{org}/roles/{role}", tag = "roles", request_body = UpdateRole,
    params(("org" = Uuid, Path, description = "Organization id"), ("role" = String, Path, description = "Role name or id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Role),
        JsonBody, OrgRoute, Conflict,
    ),
)]
async fn update_role(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    RolePath(role): RolePath,
    ApiJson(req): ApiJson<UpdateRole>,
) -> AppResult<Json<Role>> {
    actor.require(Permission::RolesManage)?;
    Ok(Json(roles::update(&state, &actor, &role, req.parse()?).await?))
}

#[utoipa::path(
    delete, path = "/orgs/{org}/roles/{role}", tag = "roles",
    params(("org" = Uuid, Path, description = "Organization id"), ("role" = String, Path, description = "Role name or id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted; members lose it"),
        OrgRoute, DefaultRoleConflict,
    ),
)]
async fn delete_role(
    State(state): State<AppState>,
    OrgAccess(actor): OrgAccess,
    RolePath(role): RolePath,
) -> AppResult<StatusCode> {
    actor.require(Permission::RolesManage)?;
    roles::delete(&state, &actor, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/orgs/{org}/audit-log", tag = "orgs",
    params(("org" = Uuid, Path, description = "Organization id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = Page<AuditEntry>),
        OrgRoute, InvalidQuery,
    ),
)]
async fn audit_log(
    State(state): State<AppState>,
    OrgToken(request): OrgToken,
    params: Result<ApiQuery<PageParams>, AppError>,
) -> AppResult<Json<Page<identity_shared::models::AuditEntry>>> {
    let access = request.to_read(Permission::AuditRead);
    let page = access.checked(&state, params.and_then(|ApiQuery(p)| p.check())).await?;
    Ok(Json(audit::list(&state, &access, &page).await?))
}

#[utoipa::path(
    get, path = "/permissions", tag = "roles",
    responses((status = 200, description = "The permission catalog", body = Page<PermissionInfo>)),
)]
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
