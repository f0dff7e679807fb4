//! Roles of an organization: the system roles and its custom ones.

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::db::{self, DbError};
use crate::error::{AppError, AppResult, FieldError, on_constraint};
use crate::models::organization::SYSTEM_ROLE_NAMES;
use crate::models::{Permission, PermissionSet, Role};
use crate::repositories::{memberships, roles};
use crate::services::access::OrgActor;
use crate::services::{audit, validate};
use crate::state::AppState;

/// Body of POST /orgs/{org}/roles.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateRole {
    /// Lower-case name, unique in the org.
    #[schema(pattern = "^[a-z0-9][a-z0-9_:-]{0,62}$")]
    pub name: String,
    /// What it is for.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// Permission names from GET /permissions.
    pub permissions: Vec<String>,
}

/// Body of PATCH /orgs/{org}/roles/{role}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateRole {
    /// New name.
    #[schema(pattern = "^[a-z0-9][a-z0-9_:-]{0,62}$")]
    pub name: Option<String>,
    /// New description.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// New permissions, replacing the old.
    pub permissions: Option<Vec<String>>,
}

/// How a `{role}` path segment names a role: by id or by name, never both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleRef {
    /// The role's id.
    Id(Uuid),
    /// The role's name.
    Name(String),
}

impl RoleRef {
    /// A UUID is an id; anything else that could be a role's name is a name; None otherwise.
    /// Names that parse as UUIDs are refused at creation, so the two never overlap.
    pub fn parse(raw: &str) -> Option<RoleRef> {
        if let Ok(id) = Uuid::parse_str(raw) {
            return Some(RoleRef::Id(id));
        }
        is_role_name(raw).then(|| RoleRef::Name(raw.to_owned()))
    }
}

/// 1 to 63 lower-case letters, digits, '_', ':' or '-', starting with a letter or digit.
fn is_role_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:-".contains(&b))
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    if !is_role_name(name) {
        errors.push(FieldError::new("name", "must be 1 to 63 lower-case letters, digits, '_', ':' or '-'"));
    } else if Uuid::parse_str(name).is_ok() {
        // `{role}` paths take an id or a name; a name that reads as an id would be ambiguous.
        errors.push(FieldError::new("name", "must not be a UUID: role paths take ids and names alike"));
    }
}

fn check_description(description: &str, errors: &mut Vec<FieldError>) {
    validate::free_text("description", description, 500, errors);
}

fn parse_permissions(names: &[String], errors: &mut Vec<FieldError>) -> PermissionSet {
    let mut set = vec![];
    for (i, name) in names.iter().enumerate() {
        match Permission::parse(name) {
            Some(p) => set.push(p),
            None => errors.push(FieldError::new(
                format!("permissions[{i}]"),
                format!("'{name}' is not a permission; see GET /permissions"),
            )),
        }
    }
    set.into_iter().collect()
}

fn reserved(name: &str) -> AppResult<()> {
    if SYSTEM_ROLE_NAMES.contains(&name) {
        return Err(AppError::Conflict(format!("'{name}' is the name of a system role.")));
    }
    Ok(())
}

fn no_role() -> AppError {
    AppError::NotFound("No such role in this organization.".into())
}

/// Resolves role names (system or the org's own) for granting by `actor`: 422 naming each
/// unknown one by its position in `names`, 403 if they hold permissions the actor lacks.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn grantable(
    db: &impl crate::repositories::GenericClient,
    actor: &OrgActor,
    names: &[String],
    what: &str,
) -> AppResult<Vec<Role>> {
    // No role's name has control characters (PostgreSQL text cannot even hold NUL), so
    // such names are unknown without asking.
    let mut unique: Vec<String> = names.iter().filter(|n| !n.chars().any(char::is_control)).cloned().collect();
    unique.sort();
    unique.dedup();
    let found = roles::find_by_names(db, actor.org_id, &unique).await?;
    let unknown: Vec<FieldError> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !found.iter().any(|r| &r.name == *n))
        .map(|(i, n)| FieldError::new(format!("roles[{i}]"), format!("no role named {n:?} in this organization")))
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::Validation(unknown));
    }
    let granted: PermissionSet = found.iter().flat_map(|r| r.permissions.iter()).collect();
    actor.require_all(&granted, what)?;
    Ok(found)
}

/// The org's default role, for an invitation without roles: 403 if it holds permissions the
/// actor lacks.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn default_grantable(db: &impl crate::repositories::GenericClient, actor: &OrgActor) -> AppResult<Role> {
    let role = roles::default_for_org(db, actor.org_id).await?.ok_or_else(crate::services::access::no_org)?;
    actor.require_all(&role.permissions, "Inviting with the default role")?;
    Ok(role)
}

/// System roles, then the org's custom roles.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(state: &AppState, org_id: Uuid) -> AppResult<Vec<Role>> {
    let client = db::client(state.pool()).await?;
    Ok(roles::list(&client, org_id).await?)
}

/// Creates a custom role with permissions the actor holds.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, actor: &OrgActor, req: CreateRole) -> AppResult<Role> {
    let mut errors = vec![];
    check_name(&req.name, &mut errors);
    check_description(&req.description, &mut errors);
    let permissions = parse_permissions(&req.permissions, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    reserved(&req.name)?;
    actor.require_all(&permissions, "A role with these permissions")?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let id = Uuid::now_v7();
    roles::insert(&tx, id, actor.org_id, &req.name, &req.description, &permissions).await.map_err(taken)?;
    let metadata = json!({"name": req.name, "permissions": permissions.names()});
    audit::record(&tx, actor, "role.created", "role", id, metadata).await?;
    let role = roles::find_by_id(&tx, actor.org_id, id).await?.ok_or_else(no_role)?;
    tx.commit().await?;
    Ok(role)
}

fn taken(err: DbError) -> AppError {
    on_constraint(roles::NAME_UNIQUE, "This organization already has a role with that name.")(err)
}

/// Finds a custom role the actor may change: system roles are fixed, and nobody edits a
/// role holding permissions they lack.
async fn editable(db: &impl crate::repositories::GenericClient, actor: &OrgActor, role: &RoleRef) -> AppResult<Role> {
    let found = match role {
        RoleRef::Id(id) => roles::find_by_id(db, actor.org_id, *id).await?,
        RoleRef::Name(name) => roles::find_by_name(db, actor.org_id, name).await?,
    };
    let role = found.ok_or_else(no_role)?;
    if role.system {
        return Err(AppError::Forbidden("System roles cannot be changed or deleted.".into()));
    }
    actor.require_all(&role.permissions, "Changing this role")?;
    Ok(role)
}

/// Renames a custom role, describes it, or replaces its permissions.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update(state: &AppState, actor: &OrgActor, role: &RoleRef, req: UpdateRole) -> AppResult<Role> {
    let mut errors = vec![];
    if let Some(name) = &req.name {
        check_name(name, &mut errors);
    }
    if let Some(description) = &req.description {
        check_description(description, &mut errors);
    }
    let permissions = req.permissions.as_ref().map(|p| parse_permissions(p, &mut errors));
    if req.name.is_none() && req.description.is_none() && req.permissions.is_none() {
        errors.push(FieldError::new("", "give name, description or permissions to change"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(name) = &req.name {
        reserved(name)?;
    }
    if let Some(permissions) = &permissions {
        actor.require_all(permissions, "A role with these permissions")?;
    }
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let before = editable(&tx, actor, role).await?;
    roles::update(&tx, before.id, req.name.as_deref(), req.description.as_deref()).await.map_err(taken)?;
    if let Some(permissions) = &permissions {
        roles::set_permissions(&tx, before.id, permissions).await?;
    }
    let after = roles::find_by_id(&tx, actor.org_id, before.id).await?.ok_or_else(no_role)?;
    let metadata = json!({
        "before": {"name": before.name, "description": before.description, "permissions": before.permissions.names()},
        "after": {"name": after.name, "description": after.description, "permissions": after.permissions.names()},
    });
    audit::record(&tx, actor, "role.updated", "role", after.id, metadata).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a custom role; members holding it lose it.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete(state: &AppState, actor: &OrgActor, role: &RoleRef) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let role = editable(&tx, actor, role).await?;
    if roles::is_a_default(&tx, role.id).await? {
        return Err(AppError::Conflict(
            "This role is the organization's default for invitations; choose another default_role first.".into(),
        ));
    }
    let holders = memberships::count_holders(&tx, actor.org_id, role.id).await?;
    roles::delete(&tx, role.id).await?;
    let metadata = json!({"name": role.name, "permissions": role.permissions.names(), "holders": holders});
    audit::record(&tx, actor, "role.deleted", "role", role.id, metadata).await?;
    tx.commit().await?;
    Ok(())
}
