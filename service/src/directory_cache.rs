//! A short-lived, per-process cache of directory rows (people, org units, categories, vendors).
//!
//! Every ticket list shows requesters, assignees and categories, and the same few hundred
//! people appear again and again; reading them from the database for every request cost more
//! than the list itself. Rows live for a short time (default 30 s), so a renamed person shows
//! up within that window on every process, with no invalidation protocol between processes;
//! writes made through this process call [`DirectoryCache::clear`]. Scope is enforced on every
//! hit: a row of another tenant is never returned.

use crate::auth::Actor;
use crate::directory;
use crate::error::ServiceResult;
use entity::{org_unit, person, ticket_category, vendor};
use sea_orm::ConnectionTrait;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A row the cache can hold: it knows its id and tenant.
pub trait TenantRow: Clone + Send + Sync + 'static {
    /// The row's id.
    fn row_id(&self) -> Uuid;
    /// The row's tenant.
    fn row_tenant(&self) -> Uuid;
}

macro_rules! tenant_row {
    ($($m:ty),*) => {$(
        impl TenantRow for $m {
            fn row_id(&self) -> Uuid { self.id }
            fn row_tenant(&self) -> Uuid { self.tenant_id }
        }
    )*};
}
tenant_row!(
    person::Model,
    org_unit::Model,
    ticket_category::Model,
    vendor::Model
);

/// Rows of one kind with the instant each was read.
pub struct TtlMap<M> {
    ttl: Duration,
    max: usize,
    rows: RwLock<HashMap<Uuid, (Instant, Arc<M>)>>,
}

impl<M: TenantRow> TtlMap<M> {
    fn new(ttl: Duration, max: usize) -> Self {
        Self {
            ttl,
            max,
            rows: RwLock::new(HashMap::new()),
        }
    }

    /// Returns a fresh row of the actor's tenant, if cached.
    pub fn get(&self, actor: &Actor, id: Uuid) -> Option<Arc<M>> {
        let rows = self.rows.read().ok()?;
        let (at, row) = rows.get(&id)?;
        (at.elapsed() < self.ttl && row.row_tenant() == actor.tenant_id).then(|| row.clone())
    }

    fn put(&self, rows_in: impl IntoIterator<Item = Arc<M>>) {
        if let Ok(mut rows) = self.rows.write() {
            if rows.len() >= self.max {
                // Simpler than LRU and good enough: a full cache starts over.
                rows.clear();
            }
            let now = Instant::now();
            for r in rows_in {
                rows.insert(r.row_id(), (now, r));
            }
        }
    }

    fn clear(&self) {
        if let Ok(mut rows) = self.rows.write() {
            rows.clear();
        }
    }

    /// Returns the rows for `ids` in the actor's tenant, reading the misses with `fetch`.
    async fn load<F, Fut>(
        &self,
        actor: &Actor,
        ids: &[Uuid],
        fetch: F,
    ) -> ServiceResult<Vec<Arc<M>>>
    where
        F: FnOnce(Vec<Uuid>) -> Fut,
        Fut: std::future::Future<Output = ServiceResult<Vec<M>>>,
    {
        let mut out = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.get(actor, *id) {
                Some(r) => out.push(r),
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            let fetched: Vec<Arc<M>> = fetch(missing).await?.into_iter().map(Arc::new).collect();
            self.put(fetched.iter().cloned());
            out.extend(fetched);
        }
        Ok(out)
    }
}

/// The directory cache of one process.
pub struct DirectoryCache {
    pub people: TtlMap<person::Model>,
    pub org_units: TtlMap<org_unit::Model>,
    pub categories: TtlMap<ticket_category::Model>,
    pub vendors: TtlMap<vendor::Model>,
}

impl DirectoryCache {
    /// Creates a cache whose rows live for `ttl` (zero disables caching).
    pub fn new(ttl: Duration) -> Self {
        Self {
            people: TtlMap::new(ttl, 200_000),
            org_units: TtlMap::new(ttl, 50_000),
            categories: TtlMap::new(ttl, 50_000),
            vendors: TtlMap::new(ttl, 10_000),
        }
    }

    /// Forgets everything (after a directory write through this process).
    pub fn clear(&self) {
        self.people.clear();
        self.org_units.clear();
        self.categories.clear();
        self.vendors.clear();
    }

    /// Loads people of the actor's tenant by id.
    pub async fn people(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        ids: &[Uuid],
    ) -> ServiceResult<Vec<Arc<person::Model>>> {
        self.people
            .load(actor, ids, |m| async move {
                directory::people_by_ids(db, actor, &m).await
            })
            .await
    }

    /// Loads org units of the actor's tenant by id.
    pub async fn org_units(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        ids: &[Uuid],
    ) -> ServiceResult<Vec<Arc<org_unit::Model>>> {
        self.org_units
            .load(actor, ids, |m| async move {
                directory::org_units_by_ids(db, actor, &m).await
            })
            .await
    }

    /// Loads categories of the actor's tenant by id.
    pub async fn categories(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        ids: &[Uuid],
    ) -> ServiceResult<Vec<Arc<ticket_category::Model>>> {
        self.categories
            .load(actor, ids, |m| async move {
                directory::categories_by_ids(db, actor, &m).await
            })
            .await
    }

    /// Loads vendors of the actor's tenant by id.
    pub async fn vendors(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        ids: &[Uuid],
    ) -> ServiceResult<Vec<Arc<vendor::Model>>> {
        self.vendors
            .load(actor, ids, |m| async move {
                directory::vendors_by_ids(db, actor, &m).await
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::RoleSet;
    use chrono::Utc;

    fn person(tenant: Uuid) -> person::Model {
        person::Model {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            org_unit_id: None,
            vendor_id: None,
            email: "a@example.jp".into(),
            display_name: "山田".into(),
            display_name_kana: None,
            employee_number: None,
            kind: entity::PersonKind::Staff,
            roles: "requester".into(),
            active: true,
            created_at: Utc::now(),
        }
    }

    fn actor(tenant: Uuid) -> Actor {
        Actor {
            person_id: Uuid::now_v7(),
            tenant_id: tenant,
            roles: RoleSet::default(),
            vendor_id: None,
        }
    }

    #[test]
    fn a_cached_row_is_never_served_to_another_tenant() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let map = TtlMap::new(Duration::from_secs(60), 10);
        let p = person(a);
        map.put([Arc::new(p.clone())]);
        assert!(map.get(&actor(a), p.id).is_some());
        assert!(map.get(&actor(b), p.id).is_none());
    }

    #[test]
    fn rows_expire_and_a_zero_ttl_caches_nothing() {
        let a = Uuid::now_v7();
        let map = TtlMap::new(Duration::ZERO, 10);
        let p = person(a);
        map.put([Arc::new(p.clone())]);
        assert!(map.get(&actor(a), p.id).is_none());
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let a = Uuid::now_v7();
        let map = TtlMap::new(Duration::from_secs(60), 2);
        let rows: Vec<_> = (0..3).map(|_| person(a)).collect();
        map.put(rows[..2].iter().cloned().map(Arc::new));
        map.put([Arc::new(rows[2].clone())]);
        assert!(map.get(&actor(a), rows[0].id).is_none());
        assert!(map.get(&actor(a), rows[2].id).is_some());
    }
}
