//! Organizations: create, read, update, delete, and the caller's list.

use std::net::IpAddr;

use serde_json::json;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult, on_constraint};
use crate::models::AuditAction;
use crate::models::organization::{OWNER_ROLE, OWNER_ROLE_ID};
use crate::models::{DisplayName, MyOrganization, Organization, Page, PageRequest, Permission, Slug};
use crate::repositories;
use crate::repositories::{memberships, organizations};
use crate::services::access::{Caller, OrgActor, OrgRead, no_org};
use crate::services::audit::{self, Attribution};
use crate::services::quotas;
use crate::state::AppState;

/// A checked organization to create.
#[derive(Debug)]
pub struct NewOrg {
    /// Its name.
    pub name: DisplayName,
    /// Its slug; None derives one from the name.
    pub slug: Option<Slug>,
}

/// Checked changes to an organization: at least one is given.
#[derive(Debug)]
pub struct OrgChanges {
    /// A new name.
    pub name: Option<DisplayName>,
    /// A new slug.
    pub slug: Option<Slug>,
    /// The name of the role invitations should grant by default.
    pub default_role: Option<String>,
    /// Require a second factor of every member.
    pub require_mfa: Option<bool>,
    /// A new logo (`Some(None)` removes it).
    pub logo_url: Option<Option<String>>,
}

impl OrgChanges {
    /// The permission each field given needs, whatever else the body holds: the name, slug
    /// and second-factor policy are `org:update`, the default role is `roles:manage` (and its
    /// permissions, checked when it is granted). A body with none of them is an `org:update`.
    pub fn permissions_needed(&self) -> Vec<Permission> {
        let mut needed = vec![];
        if self.name.is_some() || self.slug.is_some() || self.require_mfa.is_some() || self.logo_url.is_some() {
            needed.push(Permission::OrgUpdate);
        }
        if self.default_role.is_some() {
            needed.push(Permission::RolesManage);
        }
        if needed.is_empty() {
            needed.push(Permission::OrgUpdate);
        }
        needed
    }
}

/// Creates an organization whose owner is its creator.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, caller: &Caller, ip: Option<IpAddr>, req: NewOrg) -> AppResult<MyOrganization> {
    let name = &req.name;
    let creator = caller.user.id;
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    // The creator's account is locked first, as for a credential change: deleting it
    // meanwhile either waits and then finds this org (whose last owner it is: 409), or comes
    // first and this is a 401; two creations by one account queue, so they count each other.
    crate::services::account::lock_caller(&tx, caller).await?;
    // Counted under that lock, so two creations at once count each other.
    let created = repositories::quotas::orgs_created_by(&tx, creator).await?;
    let limit = state.config().quotas.orgs_per_user;
    quotas::room_for_one("orgs_per_user", created, limit, "The organizations this account created")?;
    let id = Uuid::now_v7();
    let organization = match &req.slug {
        Some(slug) => organizations::insert(&tx, id, name.as_str(), slug.as_str(), creator)
            .await?
            .ok_or_else(|| AppError::Conflict(format!("The slug '{slug}' is taken.")))?,
        None => insert_with_derived_slug(&tx, id, name, creator).await?,
    };
    memberships::insert(&tx, id, creator).await?;
    memberships::set_roles(&tx, id, creator, &[OWNER_ROLE_ID]).await?;
    let actor = Attribution { org_id: id, actor_id: Some(creator), actor_type: "user", ip };
    let created = json!({"name": name.as_str(), "slug": organization.slug});
    audit::record(&tx, actor, AuditAction::OrgCreated, id, created).await?;
    audit::record(&tx, actor, AuditAction::MemberAdded, creator, json!({"roles": [OWNER_ROLE]})).await?;
    tx.commit().await?;
    let joined_at = organization.created_at;
    Ok(MyOrganization { organization, roles: vec![OWNER_ROLE.into()], joined_at })
}

async fn insert_with_derived_slug(
    tx: &deadpool_postgres::Transaction<'_>,
    id: Uuid,
    name: &DisplayName,
    creator: Uuid,
) -> AppResult<Organization> {
    let base = Slug::from_name(name);
    if let Some(org) = organizations::insert(tx, id, name.as_str(), base.as_str(), creator).await? {
        return Ok(org);
    }
    // Taken: add a short random suffix, a few times over.
    for _ in 0..5 {
        let suffix = &crate::auth::tokens::generate()[..6].to_ascii_lowercase().replace(['-', '_'], "0");
        let slug = base.with_suffix(suffix);
        if let Some(org) = organizations::insert(tx, id, name.as_str(), slug.as_str(), creator).await? {
            return Ok(org);
        }
    }
    Err(AppError::Conflict("Could not find a free slug for this name; give one.".into()))
}

/// The organization.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, access: &OrgRead) -> AppResult<Organization> {
    let client = db::client(state.pool()).await?;
    let org = access.with(organizations::find(&client, access.org_id())).await?;
    org.ok_or_else(no_org)
}

/// Renames it, changes its slug, or chooses the role invitations grant by default.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update(state: &AppState, actor: &OrgActor, req: OrgChanges) -> AppResult<Organization> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    for permission in req.permissions_needed() {
        actor.require(permission)?;
    }
    let before = organizations::find(&tx, actor.org_id).await?.ok_or_else(no_org)?;
    if req.name.is_some() || req.slug.is_some() {
        let (name, slug) = (req.name.as_ref().map(DisplayName::as_str), req.slug.as_ref().map(Slug::as_str));
        organizations::update(&tx, actor.org_id, name, slug)
            .await
            .map_err(on_constraint(organizations::SLUG_UNIQUE, "That slug is taken."))?
            .ok_or_else(no_org)?;
    }
    if let Some(role) = &req.default_role {
        let names = std::slice::from_ref(role);
        let role = crate::services::roles::grantable(&tx, actor, names, "Making this the default role").await.map_err(
            |err| match err {
                AppError::Validation(_) => AppError::invalid("default_role", "names no role in this organization"),
                other => other,
            },
        )?;
        let role = role.first().ok_or_else(|| AppError::invalid("default_role", "names no role"))?;
        organizations::set_default_role(&tx, actor.org_id, role.id).await?;
    }
    if let Some(required) = req.require_mfa.filter(|r| *r != before.require_mfa) {
        organizations::set_require_mfa(&tx, actor.org_id, required).await?;
        let metadata = json!({"before": before.require_mfa, "after": required});
        audit::record(&tx, actor, AuditAction::OrgMfaPolicyChanged, actor.org_id, metadata).await?;
    }
    if let Some(logo) = &req.logo_url {
        organizations::set_logo_url(&tx, actor.org_id, logo.as_deref()).await?;
    }
    let after = organizations::find(&tx, actor.org_id).await?.ok_or_else(no_org)?;
    let metadata = json!({
        "before": {"name": before.name, "slug": before.slug, "default_role": before.default_role, "logo_url": before.logo_url},
        "after": {"name": after.name, "slug": after.slug, "default_role": after.default_role, "logo_url": after.logo_url},
    });
    audit::record(&tx, actor, AuditAction::OrgUpdated, actor.org_id, metadata).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes it with its memberships, roles and invitations. Its audit rows stay.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete(state: &AppState, actor: &OrgActor) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::OrgDelete)?;
    let org = organizations::find(&tx, actor.org_id).await?.ok_or_else(no_org)?;
    audit::record(&tx, actor, AuditAction::OrgDeleted, org.id, json!({"name": org.name, "slug": org.slug})).await?;
    organizations::delete(&tx, org.id).await?;
    tx.commit().await?;
    Ok(())
}

/// A platform admin sets (or clears, with None) the org's member limit. Members beyond a
/// lowered limit stay; only joins are refused.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn set_limits(
    state: &AppState,
    admin_id: Uuid,
    org_id: Uuid,
    max_members: Option<i32>,
    ip: Option<IpAddr>,
) -> AppResult<Organization> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let before = organizations::lock_seats(&tx, org_id).await?.ok_or_else(no_org)?;
    let org = organizations::set_max_members(&tx, org_id, max_members).await?.ok_or_else(no_org)?;
    let actor = Attribution { org_id, actor_id: Some(admin_id), actor_type: "user", ip };
    let metadata = json!({"before": {"max_members": before}, "after": {"max_members": max_members}});
    audit::record(&tx, actor, AuditAction::OrgLimitsChanged, org_id, metadata).await?;
    tx.commit().await?;
    Ok(org)
}

/// The user's organizations with their roles in each.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list_mine(state: &AppState, user_id: Uuid, page: &PageRequest) -> AppResult<Page<MyOrganization>> {
    let client = db::client(state.pool()).await?;
    let rows = organizations::list_for_user(&client, user_id, page.key::<Uuid>(0)?, page.fetch()).await?;
    Ok(Page::from_rows(rows, page, |o| vec![o.organization.id.to_string()]))
}
