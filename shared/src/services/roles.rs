//! Roles of an organization: the system roles and its custom ones.

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::db::{self, DbError};
use crate::error::{AppError, AppResult, FieldError};
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

fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    let ok = (1..=63).contains(&name.len())
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:-".contains(&b));
    if !ok {
        errors.push(FieldError::new("name", "must be 1 to 63 lower-case letters, digits, '_', ':' or '-'"));
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

/// System roles, then the org's custom roles.
pub async fn list(state: &AppState, org_id: Uuid) -> AppResult<Vec<Role>> {
    let client = db::client(state.pool()).await?;
    Ok(roles::list(&client, org_id).await?)
}

/// Creates a custom role with permissions the actor holds.
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
    let tx = client.transaction().await.map_err(DbError::from)?;
    let id = Uuid::now_v7();
    roles::insert(&tx, id, actor.org_id, &req.name, &req.description, &permissions).await.map_err(taken)?;
    let metadata = json!({"name": req.name, "permissions": permissions.names()});
    audit::record(&tx, actor, "role.created", "role", id, metadata).await?;
    let role = roles::find(&tx, actor.org_id, &id.to_string()).await?.ok_or_else(no_role)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(role)
}

fn taken(err: DbError) -> AppError {
    if err.is_unique(roles::NAME_UNIQUE) {
        AppError::Conflict("This organization already has a role with that name.".into())
    } else {
        err.into()
    }
}

/// Finds a custom role the actor may change: system roles are fixed, and nobody edits a
/// role holding permissions they lack.
async fn editable(db: &impl crate::repositories::GenericClient, actor: &OrgActor, role: &str) -> AppResult<Role> {
    // No role's name has control characters, and PostgreSQL text cannot hold NUL.
    if role.chars().any(char::is_control) {
        return Err(no_role());
    }
    let role = roles::find(db, actor.org_id, role).await?.ok_or_else(no_role)?;
    if role.system {
        return Err(AppError::Forbidden("System roles cannot be changed or deleted.".into()));
    }
    actor.require_all(&role.permissions, "Changing this role")?;
    Ok(role)
}

/// Renames a custom role, describes it, or replaces its permissions.
pub async fn update(state: &AppState, actor: &OrgActor, role: &str, req: UpdateRole) -> AppResult<Role> {
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
    let tx = client.transaction().await.map_err(DbError::from)?;
    let before = editable(&tx, actor, role).await?;
    roles::update(&tx, before.id, req.name.as_deref(), req.description.as_deref()).await.map_err(taken)?;
    if let Some(permissions) = &permissions {
        roles::set_permissions(&tx, before.id, permissions).await?;
    }
    let after = roles::find(&tx, actor.org_id, &before.id.to_string()).await?.ok_or_else(no_role)?;
    let metadata = json!({
        "before": {"name": before.name, "description": before.description, "permissions": before.permissions.names()},
        "after": {"name": after.name, "description": after.description, "permissions": after.permissions.names()},
    });
    audit::record(&tx, actor, "role.updated", "role", after.id, metadata).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(after)
}

/// Deletes a custom role; members holding it lose it.
pub async fn delete(state: &AppState, actor: &OrgActor, role: &str) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await.map_err(DbError::from)?;
    let role = editable(&tx, actor, role).await?;
    let holders = memberships::count_holders(&tx, actor.org_id, role.id).await?;
    roles::delete(&tx, role.id).await?;
    let metadata = json!({"name": role.name, "permissions": role.permissions.names(), "holders": holders});
    audit::record(&tx, actor, "role.deleted", "role", role.id, metadata).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}
