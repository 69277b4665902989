//! The directory: tenants, org units, people, vendors and ticket categories.
//!
//! Names in the directory are visible to everyone in the tenant (a requester sees who handles
//! their ticket); contact details only to the desk and to the person themself.

use crate::auth::{Actor, RoleSet};
use crate::db::First as _;
use crate::db::stable_in_list;
use crate::error::{ServiceError, ServiceResult};
use entity::{org_unit, person, tenant, ticket_category, vendor};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Returns the person's roles, ignoring unknown names (logged) rather than failing reads.
pub fn roles_of(p: &person::Model) -> RoleSet {
    match RoleSet::parse_list(&p.roles) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(person_id = %p.id, error = %e, "person has an unknown role; ignoring the list");
            RoleSet::default()
        }
    }
}

/// Returns whether `actor` may see `p`'s contact details (mail address, employee number).
pub fn can_see_contact(actor: &Actor, p: &person::Model) -> bool {
    p.tenant_id == actor.tenant_id && (actor.is_desk() || p.id == actor.person_id)
}

/// Loads a tenant by id.
pub async fn tenant(db: &impl ConnectionTrait, id: Uuid) -> ServiceResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find_by_id(id).first(db).await?)
}

/// Loads a tenant by slug.
pub async fn tenant_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> ServiceResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find_by_slug(slug).first(db).await?)
}

/// Loads a person of the tenant.
pub async fn person(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> ServiceResult<Option<person::Model>> {
    Ok(person::Entity::find_by_id(id)
        .filter(person::Column::TenantId.eq(tenant_id))
        .first(db)
        .await?)
}

/// The tenant's active admins, oldest first.
pub async fn admins(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> ServiceResult<Vec<person::Model>> {
    use sea_orm::QueryOrder;
    let people = person::Entity::find()
        .filter(person::Column::TenantId.eq(tenant_id))
        .filter(person::Column::Active.eq(true))
        .order_by_asc(person::Column::CreatedAt)
        .order_by_asc(person::Column::Id)
        .all(db)
        .await?;
    Ok(people
        .into_iter()
        .filter(|p| roles_of(p).has(crate::auth::Role::Admin))
        .collect())
}

/// Loads a person of the tenant by mail address (case-insensitive).
pub async fn person_by_email(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    email: &str,
) -> ServiceResult<Option<person::Model>> {
    Ok(person::Entity::find()
        .filter(person::Column::TenantId.eq(tenant_id))
        .filter(person::Column::Email.eq(email.trim().to_lowercase()))
        .first(db)
        .await?)
}

/// Loads an org unit of the tenant.
pub async fn org_unit(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> ServiceResult<Option<org_unit::Model>> {
    Ok(org_unit::Entity::find_by_id(id)
        .filter(org_unit::Column::TenantId.eq(tenant_id))
        .first(db)
        .await?)
}

/// Loads a ticket category of the tenant.
pub async fn category(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> ServiceResult<Option<ticket_category::Model>> {
    Ok(ticket_category::Entity::find_by_id(id)
        .filter(ticket_category::Column::TenantId.eq(tenant_id))
        .first(db)
        .await?)
}

/// Loads a vendor of the tenant.
pub async fn vendor(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> ServiceResult<Option<vendor::Model>> {
    Ok(vendor::Entity::find_by_id(id)
        .filter(vendor::Column::TenantId.eq(tenant_id))
        .first(db)
        .await?)
}

/// Loads people of the actor's tenant by id (DataLoader batch).
pub async fn people_by_ids(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<Vec<person::Model>> {
    Ok(person::Entity::find()
        .filter(person::Column::TenantId.eq(actor.tenant_id))
        .filter(person::Column::Id.is_in(stable_in_list(ids)))
        .all(db)
        .await?)
}

/// Loads org units of the actor's tenant by id (DataLoader batch).
pub async fn org_units_by_ids(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<Vec<org_unit::Model>> {
    Ok(org_unit::Entity::find()
        .filter(org_unit::Column::TenantId.eq(actor.tenant_id))
        .filter(org_unit::Column::Id.is_in(stable_in_list(ids)))
        .all(db)
        .await?)
}

/// Loads categories of the actor's tenant by id (DataLoader batch).
pub async fn categories_by_ids(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<Vec<ticket_category::Model>> {
    Ok(ticket_category::Entity::find()
        .filter(ticket_category::Column::TenantId.eq(actor.tenant_id))
        .filter(ticket_category::Column::Id.is_in(stable_in_list(ids)))
        .all(db)
        .await?)
}

/// Loads vendors of the actor's tenant by id (DataLoader batch).
pub async fn vendors_by_ids(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<Vec<vendor::Model>> {
    Ok(vendor::Entity::find()
        .filter(vendor::Column::TenantId.eq(actor.tenant_id))
        .filter(vendor::Column::Id.is_in(stable_in_list(ids)))
        .all(db)
        .await?)
}

/// Lists the tenant's org units in display order.
pub async fn org_units(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> ServiceResult<Vec<org_unit::Model>> {
    Ok(org_unit::Entity::find()
        .filter(org_unit::Column::TenantId.eq(actor.tenant_id))
        .order_by_asc(org_unit::Column::SortOrder)
        .order_by_asc(org_unit::Column::Code)
        .all(db)
        .await?)
}

/// Lists the tenant's ticket categories in display order.
pub async fn categories(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> ServiceResult<Vec<ticket_category::Model>> {
    Ok(ticket_category::Entity::find()
        .filter(ticket_category::Column::TenantId.eq(actor.tenant_id))
        .order_by_asc(ticket_category::Column::SortOrder)
        .order_by_asc(ticket_category::Column::Code)
        .all(db)
        .await?)
}

/// Lists the tenant's vendors (escalation targets); the desk sees all, a vendor only itself.
pub async fn vendors(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> ServiceResult<Vec<vendor::Model>> {
    let mut q = vendor::Entity::find().filter(vendor::Column::TenantId.eq(actor.tenant_id));
    if !actor.is_desk() {
        match actor.vendor_id {
            Some(v) => q = q.filter(vendor::Column::Id.eq(v)),
            None => return Ok(vec![]),
        }
    }
    Ok(q.order_by_asc(vendor::Column::Code).all(db).await?)
}

/// Lists the tenant's desk people (possible assignees); desk only.
pub async fn agents(db: &impl ConnectionTrait, actor: &Actor) -> ServiceResult<Vec<person::Model>> {
    if !actor.is_desk() {
        return Err(ServiceError::Forbidden("only the desk lists agents"));
    }
    let people = person::Entity::find()
        .filter(person::Column::TenantId.eq(actor.tenant_id))
        .filter(person::Column::Active.eq(true))
        .order_by_asc(person::Column::DisplayNameKana)
        .all(db)
        .await?;
    Ok(people
        .into_iter()
        .filter(|p| roles_of(p).is_desk())
        .collect())
}

fn subtree(parents: &[(Uuid, Option<Uuid>)], roots: &[Uuid]) -> Vec<Uuid> {
    let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, parent) in parents {
        if let Some(p) = parent {
            children.entry(*p).or_default().push(*id);
        }
    }
    let known: HashSet<Uuid> = parents.iter().map(|(id, _)| *id).collect();
    let mut out: Vec<Uuid> = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<Uuid> = roots
        .iter()
        .copied()
        .filter(|r| known.contains(r))
        .collect();
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            out.push(id);
            if let Some(c) = children.get(&id) {
                stack.extend(c);
            }
        }
    }
    out
}

/// Returns the given org units of the tenant and every unit below them.
pub async fn org_unit_subtree(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    roots: &[Uuid],
) -> ServiceResult<Vec<Uuid>> {
    let all = org_unit::Entity::find()
        .filter(org_unit::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?;
    let pairs: Vec<_> = all.iter().map(|u| (u.id, u.parent_id)).collect();
    Ok(subtree(&pairs, roots))
}

/// Returns the given categories of the tenant and every category below them.
pub async fn category_subtree(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    roots: &[Uuid],
) -> ServiceResult<Vec<Uuid>> {
    let all = ticket_category::Entity::find()
        .filter(ticket_category::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?;
    let pairs: Vec<_> = all.iter().map(|u| (u.id, u.parent_id)).collect();
    Ok(subtree(&pairs, roots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_includes_descendants_and_ignores_foreign_roots() {
        let (a, b, c, d) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let pairs = [(a, None), (b, Some(a)), (c, Some(b)), (d, None)];
        let mut got = subtree(&pairs, &[a, Uuid::now_v7()]);
        got.sort();
        let mut want = vec![a, b, c];
        want.sort();
        assert_eq!(got, want);
    }
}
