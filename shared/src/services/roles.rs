//! Roles of an organization: the system roles and its custom ones.

use serde_json::json;
use uuid::Uuid;

use crate::db::{self, DbError};
use crate::error::{AppError, AppResult, FieldError, on_constraint};
use crate::models::AuditAction;
use crate::models::organization::SYSTEM_ROLE_NAMES;
use crate::models::{Permission, PermissionSet, Role, RoleName};
use crate::repositories::{memberships, roles};
use crate::services::access::{OrgActor, OrgRead};
use crate::services::audit;
use crate::state::AppState;

/// A checked custom role to create.
#[derive(Debug)]
pub struct NewRole {
    /// Its name.
    pub name: RoleName,
    /// What it is for.
    pub description: String,
    /// What it allows.
    pub permissions: PermissionSet,
}

/// Checked changes to a custom role: at least one is given.
#[derive(Debug)]
pub struct RoleChanges {
    /// A new name.
    pub name: Option<RoleName>,
    /// A new description.
    pub description: Option<String>,
    /// New permissions, replacing the old.
    pub permissions: Option<PermissionSet>,
}

/// How a `{role}` path segment names a role: by id or by name, never both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleRef {
    /// The role's id.
    Id(Uuid),
    /// The role's name.
    Name(RoleName),
}

impl RoleRef {
    /// A UUID is an id; anything else that could be a role's name is a name; None otherwise.
    /// Names that parse as UUIDs are refused at creation, so the two never overlap.
    pub fn parse(raw: &str) -> Option<RoleRef> {
        if let Ok(id) = Uuid::parse_str(raw) {
            return Some(RoleRef::Id(id));
        }
        RoleName::parse(raw).ok().map(RoleRef::Name)
    }
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
pub async fn list(state: &AppState, access: &OrgRead) -> AppResult<Vec<Role>> {
    let client = db::client(state.pool()).await?;
    access.with(roles::list(&client, access.org_id())).await
}

/// Creates a custom role with permissions the actor holds.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, actor: &OrgActor, req: NewRole) -> AppResult<Role> {
    let NewRole { name, description, permissions } = req;
    reserved(name.as_str())?;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::RolesManage)?;
    actor.require_all(&permissions, "A role with these permissions")?;
    // Counted under the organization's lock, which every role write takes.
    let existing = crate::repositories::quotas::custom_roles_of(&tx, actor.org_id).await?;
    let limit = state.config().quotas.roles_per_org;
    crate::services::quotas::room_for_one("roles_per_org", existing, limit, "This organization's own roles")?;
    let id = Uuid::now_v7();
    roles::insert(&tx, id, actor.org_id, name.as_str(), &description, &permissions).await.map_err(taken)?;
    let metadata = json!({"name": name.as_str(), "permissions": permissions.names()});
    audit::record(&tx, actor, AuditAction::RoleCreated, id, metadata).await?;
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
        RoleRef::Name(name) => roles::find_by_name(db, actor.org_id, name.as_str()).await?,
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
pub async fn update(state: &AppState, actor: &OrgActor, role: &RoleRef, req: RoleChanges) -> AppResult<Role> {
    let RoleChanges { name, description, permissions } = req;
    if let Some(name) = &name {
        reserved(name.as_str())?;
    }
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::RolesManage)?;
    if let Some(permissions) = &permissions {
        actor.require_all(permissions, "A role with these permissions")?;
    }
    let before = editable(&tx, actor, role).await?;
    roles::update(&tx, before.id, name.as_ref().map(RoleName::as_str), description.as_deref()).await.map_err(taken)?;
    if let Some(permissions) = &permissions {
        roles::set_permissions(&tx, before.id, permissions).await?;
    }
    let after = roles::find_by_id(&tx, actor.org_id, before.id).await?.ok_or_else(no_role)?;
    let metadata = json!({
        "before": {"name": before.name, "description": before.description, "permissions": before.permissions.names()},
        "after": {"name": after.name, "description": after.description, "permissions": after.permissions.names()},
    });
    audit::record(&tx, actor, AuditAction::RoleUpdated, after.id, metadata).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a custom role; members holding it lose it.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete(state: &AppState, actor: &OrgActor, role: &RoleRef) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::RolesManage)?;
    let role = editable(&tx, actor, role).await?;
    if roles::is_a_default(&tx, role.id).await? {
        return Err(AppError::Conflict(
            "This role is the organization's default for invitations; choose another default_role first.".into(),
        ));
    }
    // Invitations are written under the same org lock, so none can start granting it now.
    let granting = roles::pending_invitations_granting(&tx, actor.org_id, role.id).await?;
    if granting > 0 {
        return Err(AppError::Conflict(format!(
            "{granting} pending invitation(s) grant this role; revoke them (or let them expire) first, so nobody \
             joins without a role."
        )));
    }
    let holders = memberships::count_holders(&tx, actor.org_id, role.id).await?;
    roles::delete(&tx, role.id).await?;
    let metadata = json!({"name": role.name, "permissions": role.permissions.names(), "holders": holders});
    audit::record(&tx, actor, AuditAction::RoleDeleted, role.id, metadata).await?;
    tx.commit().await?;
    Ok(())
}
