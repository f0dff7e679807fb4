//! Organizations: create, read, update, delete, and the caller's list.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult, FieldError, on_constraint};
use crate::models::organization::{OWNER_ROLE, OWNER_ROLE_ID};
use crate::models::{MyOrganization, Organization};
use crate::repositories::{memberships, organizations};
use crate::services::access::{OrgActor, no_org};
use crate::services::audit::{self, Attribution};
use crate::services::page::{Page, PageRequest};
use crate::services::validate;
use crate::state::AppState;

/// Body of POST /orgs.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateOrg {
    /// Display name.
    #[schema(value_type = crate::services::validate::DisplayName)]
    pub name: String,
    /// URL handle; derived from the name when absent.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: Option<String>,
}

/// Body of PATCH /orgs/{org}.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateOrg {
    /// New name.
    #[schema(value_type = Option<crate::services::validate::DisplayName>)]
    pub name: Option<String>,
    /// New slug.
    #[schema(pattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: Option<String>,
    /// The role (by name) that invitations without `roles` grant; needs roles:manage and
    /// every permission the role holds.
    #[schema(pattern = "^[a-z0-9][a-z0-9_:-]{0,62}$")]
    pub default_role: Option<String>,
}

const SLUG_MAX: usize = 63;

/// A slug from a name: lower-case ASCII letters and digits, other runs become one hyphen.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.chars().take(SLUG_MAX).collect();
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() { "org".to_owned() } else { slug }
}

fn check_slug(slug: &str, errors: &mut Vec<FieldError>) {
    let ok = (1..=SLUG_MAX).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if !ok {
        errors.push(FieldError::new("slug", "must be 1 to 63 lower-case letters, digits and inner hyphens"));
    }
}

/// Creates an organization whose owner is its creator.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn create(state: &AppState, creator: Uuid, ip: Option<IpAddr>, req: CreateOrg) -> AppResult<MyOrganization> {
    let mut errors = vec![];
    let name = validate::name("name", &req.name, &mut errors);
    if let Some(slug) = &req.slug {
        check_slug(slug, &mut errors);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let id = Uuid::now_v7();
    let organization = match &req.slug {
        Some(slug) => organizations::insert(&tx, id, &name, slug, creator)
            .await?
            .ok_or_else(|| AppError::Conflict(format!("The slug '{slug}' is taken.")))?,
        None => insert_with_derived_slug(&tx, id, &name, creator).await?,
    };
    memberships::insert(&tx, id, creator).await?;
    memberships::set_roles(&tx, id, creator, &[OWNER_ROLE_ID]).await?;
    let actor = Attribution { org_id: id, actor_id: Some(creator), ip };
    let created = json!({"name": name, "slug": organization.slug});
    audit::record(&tx, actor, "org.created", "organization", id, created).await?;
    audit::record(&tx, actor, "member.added", "member", creator, json!({"roles": [OWNER_ROLE]})).await?;
    tx.commit().await?;
    let joined_at = organization.created_at;
    Ok(MyOrganization { organization, roles: vec![OWNER_ROLE.into()], joined_at })
}

async fn insert_with_derived_slug(
    tx: &deadpool_postgres::Transaction<'_>,
    id: Uuid,
    name: &str,
    creator: Uuid,
) -> AppResult<Organization> {
    let base = slugify(name);
    if let Some(org) = organizations::insert(tx, id, name, &base, creator).await? {
        return Ok(org);
    }
    // Taken: add a short random suffix, a few times over.
    for _ in 0..5 {
        let suffix = &crate::auth::tokens::generate()[..6].to_ascii_lowercase().replace(['-', '_'], "0");
        let stem: String = base.chars().take(SLUG_MAX - 7).collect();
        let slug = format!("{}-{suffix}", stem.trim_end_matches('-'));
        if let Some(org) = organizations::insert(tx, id, name, &slug, creator).await? {
            return Ok(org);
        }
    }
    Err(AppError::Conflict("Could not find a free slug for this name; give one.".into()))
}

/// The organization.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, org_id: Uuid) -> AppResult<Organization> {
    let client = db::client(state.pool()).await?;
    organizations::find(&client, org_id).await?.ok_or_else(no_org)
}

/// Renames it, changes its slug, or chooses the role invitations grant by default.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn update(state: &AppState, actor: &OrgActor, req: UpdateOrg) -> AppResult<Organization> {
    let mut errors = vec![];
    let name = req.name.as_deref().map(|n| validate::name("name", n, &mut errors));
    if let Some(slug) = &req.slug {
        check_slug(slug, &mut errors);
    }
    if name.is_none() && req.slug.is_none() && req.default_role.is_none() {
        errors.push(FieldError::new("", "give name, slug or default_role to change"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let before = organizations::find(&tx, actor.org_id).await?.ok_or_else(no_org)?;
    if name.is_some() || req.slug.is_some() {
        organizations::update(&tx, actor.org_id, name.as_deref(), req.slug.as_deref())
            .await
            .map_err(on_constraint(organizations::SLUG_UNIQUE, "That slug is taken."))?
            .ok_or_else(no_org)?;
    }
    if let Some(role) = &req.default_role {
        let names = std::slice::from_ref(role);
        let role = crate::services::roles::grantable(&tx, actor, names, "Making this the default role").await?;
        let role = role.first().ok_or_else(|| AppError::invalid("default_role", "names no role"))?;
        organizations::set_default_role(&tx, actor.org_id, role.id).await?;
    }
    let after = organizations::find(&tx, actor.org_id).await?.ok_or_else(no_org)?;
    let metadata = json!({
        "before": {"name": before.name, "slug": before.slug, "default_role": before.default_role},
        "after": {"name": after.name, "slug": after.slug, "default_role": after.default_role},
    });
    audit::record(&tx, actor, "org.updated", "organization", actor.org_id, metadata).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes it with its memberships, roles and invitations. Its audit rows stay.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn delete(state: &AppState, actor: &OrgActor) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let org = organizations::find(&tx, actor.org_id).await?.ok_or_else(no_org)?;
    audit::record(&tx, actor, "org.deleted", "organization", org.id, json!({"name": org.name, "slug": org.slug}))
        .await?;
    organizations::delete(&tx, org.id).await?;
    tx.commit().await?;
    Ok(())
}

/// The user's organizations with their roles in each.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list_mine(state: &AppState, user_id: Uuid, page: &PageRequest) -> AppResult<Page<MyOrganization>> {
    let client = db::client(state.pool()).await?;
    let rows = organizations::list_for_user(&client, user_id, page.key::<Uuid>(0)?, page.fetch()).await?;
    Ok(Page::from_rows(rows, page, |o| vec![o.organization.id.to_string()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_derived_from_names() {
        assert_eq!(slugify("Acme Corp"), "acme-corp");
        assert_eq!(slugify("  Ünïcode & Co.  "), "n-code-co");
        assert_eq!(slugify("!!!"), "org");
        assert_eq!(slugify(&"a".repeat(100)).len(), 63);
        let mut errors = vec![];
        check_slug(&slugify("Hello -- World"), &mut errors);
        assert!(errors.is_empty());
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(64)] {
            let mut errors = vec![];
            check_slug(bad, &mut errors);
            assert_eq!(errors.len(), 1, "{bad}");
        }
    }
}
