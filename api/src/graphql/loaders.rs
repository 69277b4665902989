//! DataLoaders: one batched query per related type per request, never one per row; directory
//! rows come from the process's short-lived [`DirectoryCache`] first.

use super::errors::ApiError;
use async_graphql::dataloader::{DataLoader, Loader};
use entity::{org_unit, person, ticket, ticket_category, vendor};
use service::directory_cache::{DirectoryCache, TtlMap};
use service::{Actor, Db, tickets};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

fn err(e: service::ServiceError) -> async_graphql::Error {
    ApiError::from(e).into()
}

macro_rules! cached_loader {
    ($name:ident, $model:ty, $method:ident) => {
        /// Batches lookups by id within the actor's tenant, through the directory cache.
        pub struct $name {
            db: Db,
            actor: Actor,
            cache: Arc<DirectoryCache>,
        }

        impl Loader<Uuid> for $name {
            type Value = Arc<$model>;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = self
                    .cache
                    .$method(&self.db.read, &self.actor, keys)
                    .await
                    .map_err(err)?;
                Ok(rows.into_iter().map(|r| (r.id, r)).collect())
            }
        }
    };
}

cached_loader!(PersonLoader, person::Model, people);
cached_loader!(OrgUnitLoader, org_unit::Model, org_units);
cached_loader!(CategoryLoader, ticket_category::Model, categories);
cached_loader!(VendorLoader, vendor::Model, vendors);

/// Batches ticket lookups by id within the actor's scope.
pub struct TicketLoader {
    db: Db,
    actor: Actor,
}

impl Loader<Uuid> for TicketLoader {
    type Value = ticket::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = tickets::get_many(&self.db.read, &self.actor, keys)
            .await
            .map_err(err)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// The loaders of one request, all scoped to its actor. Cloning shares the batches and caches
/// (a batch request's operations share one set).
#[derive(Clone)]
pub struct Loaders {
    actor: Actor,
    cache: Arc<DirectoryCache>,
    pub people: Arc<DataLoader<PersonLoader>>,
    pub org_units: Arc<DataLoader<OrgUnitLoader>>,
    pub categories: Arc<DataLoader<CategoryLoader>>,
    pub vendors: Arc<DataLoader<VendorLoader>>,
    pub tickets: Arc<DataLoader<TicketLoader>>,
}

/// Looks in the directory cache first (no batching round trip on a hit), then the loader.
async fn cached<L, M>(
    map: &TtlMap<M>,
    loader: &DataLoader<L>,
    actor: &Actor,
    id: Option<Uuid>,
) -> Result<Option<Arc<M>>, async_graphql::Error>
where
    M: service::directory_cache::TenantRow,
    L: Loader<Uuid, Value = Arc<M>, Error = async_graphql::Error>,
{
    let Some(id) = id else { return Ok(None) };
    if let Some(hit) = map.get(actor, id) {
        return Ok(Some(hit));
    }
    loader.load_one(id).await
}

impl Loaders {
    /// Creates loaders for one request; cheap, nothing is fetched until asked.
    pub fn new(db: &Db, actor: &Actor, cache: &Arc<DirectoryCache>) -> Self {
        fn dl<L: Loader<Uuid>>(l: L) -> Arc<DataLoader<L>> {
            Arc::new(DataLoader::new(l, tokio::spawn))
        }
        let (db, actor, cache) = (db.clone(), actor.clone(), cache.clone());
        Self {
            people: dl(PersonLoader {
                db: db.clone(),
                actor: actor.clone(),
                cache: cache.clone(),
            }),
            org_units: dl(OrgUnitLoader {
                db: db.clone(),
                actor: actor.clone(),
                cache: cache.clone(),
            }),
            categories: dl(CategoryLoader {
                db: db.clone(),
                actor: actor.clone(),
                cache: cache.clone(),
            }),
            vendors: dl(VendorLoader {
                db: db.clone(),
                actor: actor.clone(),
                cache: cache.clone(),
            }),
            tickets: dl(TicketLoader {
                db,
                actor: actor.clone(),
            }),
            actor,
            cache,
        }
    }

    /// Loads a person of the tenant.
    pub async fn person(
        &self,
        id: Option<Uuid>,
    ) -> Result<Option<Arc<person::Model>>, async_graphql::Error> {
        cached(&self.cache.people, &self.people, &self.actor, id).await
    }

    /// Loads an org unit of the tenant.
    pub async fn org_unit(
        &self,
        id: Option<Uuid>,
    ) -> Result<Option<Arc<org_unit::Model>>, async_graphql::Error> {
        cached(&self.cache.org_units, &self.org_units, &self.actor, id).await
    }

    /// Loads a category of the tenant.
    pub async fn category(
        &self,
        id: Option<Uuid>,
    ) -> Result<Option<Arc<ticket_category::Model>>, async_graphql::Error> {
        cached(&self.cache.categories, &self.categories, &self.actor, id).await
    }

    /// Loads a vendor of the tenant.
    pub async fn vendor(
        &self,
        id: Option<Uuid>,
    ) -> Result<Option<Arc<vendor::Model>>, async_graphql::Error> {
        cached(&self.cache.vendors, &self.vendors, &self.actor, id).await
    }

    /// Loads a ticket in scope.
    pub async fn ticket(&self, id: Uuid) -> Result<Option<ticket::Model>, async_graphql::Error> {
        self.tickets.load_one(id).await
    }
}
