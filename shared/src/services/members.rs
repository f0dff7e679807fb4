//! Members of an organization: list, read, remove or leave, change roles.

use serde_json::json;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::models::AuditAction;
use crate::models::organization::{OWNER_ROLE, OWNER_ROLE_ID};
use crate::models::{Member, Page, PageRequest, Permission};
use crate::repositories::{GenericClient, memberships};
use crate::services::access::{OrgActor, OrgRead};
use crate::services::audit;
use crate::state::AppState;

fn no_member() -> AppError {
    AppError::NotFound("No such member in this organization.".into())
}

/// Members in the order they joined.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn list(state: &AppState, access: &OrgRead, page: &PageRequest) -> AppResult<Page<Member>> {
    let after = access.checked(state, after_key(page)).await?;
    let client = db::client(state.pool()).await?;
    let rows = access.with(memberships::list(&client, access.org_id(), after, page.fetch())).await?;
    Ok(Page::from_rows(rows, page, |m| {
        vec![m.joined_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), m.user_id.to_string()]
    }))
}

/// One member.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn get(state: &AppState, access: &OrgRead, user_id: Uuid) -> AppResult<Member> {
    let client = db::client(state.pool()).await?;
    let member = access.with(memberships::find(&client, access.org_id(), user_id)).await?;
    member.ok_or_else(no_member)
}

/// The (joined_at, user_id) key a members cursor holds.
fn after_key(page: &PageRequest) -> AppResult<Option<(chrono::DateTime<chrono::Utc>, Uuid)>> {
    Ok(match (page.key::<String>(0)?, page.key::<Uuid>(1)?) {
        (Some(at), Some(id)) => Some((
            chrono::DateTime::parse_from_rfc3339(&at)
                .map_err(|_| AppError::invalid("cursor", "is not a cursor for this list"))?
                .to_utc(),
            id,
        )),
        _ => None,
    })
}

/// 409 if this change would leave the org without an owner.
async fn keep_an_owner(db: &impl GenericClient, org_id: Uuid, target_is_owner: bool) -> AppResult<()> {
    if target_is_owner && memberships::count_holders(db, org_id, OWNER_ROLE_ID).await? <= 1 {
        return Err(AppError::Conflict("An organization must keep an owner: make someone else owner first.".into()));
    }
    Ok(())
}

/// Removes a member, or the actor themself (leaving needs no permission).
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn remove(state: &AppState, actor: &OrgActor, user_id: Uuid) -> AppResult<()> {
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    let leaving = actor.user_id() == Some(user_id);
    if !leaving {
        actor.require(Permission::MembersRemove)?;
    }
    let target = memberships::find(&tx, actor.org_id, user_id).await?.ok_or_else(no_member)?;
    if !leaving {
        let held = memberships::permissions(&tx, actor.org_id, user_id).await?;
        actor.require_all(&held, "Removing this member")?;
    }
    keep_an_owner(&tx, actor.org_id, target.roles.iter().any(|r| r == OWNER_ROLE)).await?;
    memberships::delete(&tx, actor.org_id, user_id).await?;
    let metadata = json!({"email": target.email, "roles": target.roles, "left": leaving});
    audit::record(&tx, actor, AuditAction::MemberRemoved, user_id, metadata).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces a member's roles. The actor must hold every permission the member has now and
/// every permission the new roles grant.
#[tracing::instrument(level = "debug", skip_all, err(Display, level = "debug"))]
pub async fn set_roles(state: &AppState, actor: &OrgActor, user_id: Uuid, roles: &[String]) -> AppResult<Member> {
    let mut names = roles.to_vec();
    names.sort();
    names.dedup();
    let mut client = db::client(state.pool()).await?;
    let tx = client.transaction().await?;
    let actor = &actor.locked(&tx).await?;
    actor.require(Permission::RolesAssign)?;
    // Under the lock, the three reads leave together and come back in one round trip.
    let (before, found, held) = tokio::try_join!(
        async { memberships::find(&tx, actor.org_id, user_id).await?.ok_or_else(no_member) },
        crate::services::roles::grantable(&tx, actor, roles, "Granting these roles"),
        async { Ok(memberships::permissions(&tx, actor.org_id, user_id).await?) },
    )?;
    actor.require_all(&held, "Changing this member's roles")?;
    let stays_owner = found.iter().any(|r| r.id == OWNER_ROLE_ID);
    let was_owner = before.roles.iter().any(|r| r == OWNER_ROLE);
    keep_an_owner(&tx, actor.org_id, was_owner && !stays_owner).await?;
    let ids: Vec<Uuid> = found.iter().map(|r| r.id).collect();
    let metadata = json!({"before": before.roles, "after": names});
    tokio::try_join!(
        memberships::set_roles(&tx, actor.org_id, user_id, &ids),
        audit::record(&tx, actor, AuditAction::MemberRolesChanged, user_id, metadata),
    )?;
    tx.commit().await?;
    // Every name was found (or the grant was refused), so the roles held now are these.
    Ok(Member { roles: names, ..before })
}
