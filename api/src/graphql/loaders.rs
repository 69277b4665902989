//! DataLoaders: one batched query per related type per request, never one per row; directory
//! rows come from the process's short-lived [`DirectoryCache`] first.

use super::errors::ApiError;
use async_graphql::dataloader::{DataLoader, Loader};
use entity::{org_unit, person, ticket, ticket_category, ticket_comment, ticket_event, vendor};
use service::directory_cache::{DirectoryCache, TtlMap};
use service::page::Page;
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

/// Batches "first page of comments" for the tickets of a list: key (ticket id, page size).
pub struct FirstCommentsLoader {
    db: Db,
    actor: Actor,
}

/// Batches "first page of history" for the tickets of a list.
pub struct FirstEventsLoader {
    db: Db,
    actor: Actor,
}

/// Batches visible-comment counts for the tickets of a list.
pub struct CommentCountLoader {
    db: Db,
    actor: Actor,
}

macro_rules! first_page_loader {
    ($name:ident, $model:ty, $fetch:path) => {
        impl Loader<(Uuid, u64)> for $name {
            type Value = Page<$model>;
            type Error = async_graphql::Error;

            async fn load(
                &self,
                keys: &[(Uuid, u64)],
            ) -> Result<HashMap<(Uuid, u64), Self::Value>, Self::Error> {
                let mut by_size: HashMap<u64, Vec<Uuid>> = HashMap::new();
                for (id, first) in keys {
                    by_size.entry(*first).or_default().push(*id);
                }
                let mut out = HashMap::new();
                for (first, ids) in by_size {
                    let pages = $fetch(&self.db.read, &self.actor, &ids, first)
                        .await
                        .map_err(err)?;
                    out.extend(pages.into_iter().map(|(id, page)| ((id, first), page)));
                }
                Ok(out)
            }
        }
    };
}

first_page_loader!(
    FirstCommentsLoader,
    ticket_comment::Model,
    tickets::first_comments
);
first_page_loader!(
    FirstEventsLoader,
    ticket_event::Model,
    tickets::first_events
);

impl Loader<Uuid> for CommentCountLoader {
    type Value = u64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, u64>, Self::Error> {
        tickets::comment_counts(&self.db.read, &self.actor, keys)
            .await
            .map_err(err)
    }
}

/// Batches assets by id within the actor's scope (a peripheral's terminal, a repair's spare).
pub struct AssetLoader {
    db: Db,
    actor: Actor,
}

impl Loader<Uuid> for AssetLoader {
    type Value = entity::asset::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let found = service::ledger::assets::get_many(&self.db.read, &self.actor, keys)
            .await
            .map_err(err)?;
        Ok(found.into_iter().map(|a| (a.id, a)).collect())
    }
}

/// Batches the tickets linked to assets.
pub struct AssetTicketsLoader {
    db: Db,
    actor: Actor,
}

impl Loader<Uuid> for AssetTicketsLoader {
    type Value = Vec<ticket::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        service::ledger::assets::tickets_of_many(&self.db.read, &self.actor, keys)
            .await
            .map_err(err)
    }
}

/// Batches the peripherals attached to terminals.
pub struct PeripheralsLoader {
    db: Db,
    actor: Actor,
}

impl Loader<Uuid> for PeripheralsLoader {
    type Value = Vec<entity::asset::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        service::ledger::assets::peripherals_of(&self.db.read, &self.actor, keys)
            .await
            .map_err(err)
    }
}

/// Batches the active seat counts of licenses (the actor's tenant).
pub struct SeatCountLoader {
    db: Db,
    actor: Actor,
}

impl Loader<Uuid> for SeatCountLoader {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, i64>, Self::Error> {
        let mut counts =
            service::ledger::licenses::assigned_counts(&self.db.read, self.actor.tenant_id, keys)
                .await
                .map_err(err)?;
        for k in keys {
            counts.entry(*k).or_insert(0);
        }
        Ok(counts)
    }
}

/// Batches the stock per location of consumables.
pub struct StockLoader {
    db: Db,
    actor: Actor,
}

impl Loader<Uuid> for StockLoader {
    type Value = Vec<entity::stock_level::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut levels = service::ledger::stock::levels_of(&self.db.read, &self.actor, keys)
            .await
            .map_err(err)?;
        for k in keys {
            levels.entry(*k).or_default();
        }
        Ok(levels)
    }
}

/// Batches the printer models consumables fit.
pub struct ModelsLoader {
    db: Db,
    actor: Actor,
}

impl Loader<Uuid> for ModelsLoader {
    type Value = Vec<String>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut models = service::ledger::stock::models_of(&self.db.read, &self.actor, keys)
            .await
            .map_err(err)?;
        for k in keys {
            models.entry(*k).or_default();
        }
        Ok(models)
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
    pub first_comments: Arc<DataLoader<FirstCommentsLoader>>,
    pub first_events: Arc<DataLoader<FirstEventsLoader>>,
    pub comment_counts: Arc<DataLoader<CommentCountLoader>>,
    pub assets: Arc<DataLoader<AssetLoader>>,
    pub asset_tickets: Arc<DataLoader<AssetTicketsLoader>>,
    pub peripherals: Arc<DataLoader<PeripheralsLoader>>,
    pub seat_counts: Arc<DataLoader<SeatCountLoader>>,
    pub stock: Arc<DataLoader<StockLoader>>,
    pub models: Arc<DataLoader<ModelsLoader>>,
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
        fn dl<K, L>(l: L) -> Arc<DataLoader<L>>
        where
            K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
            L: Loader<K>,
        {
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
            first_comments: dl(FirstCommentsLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            first_events: dl(FirstEventsLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            comment_counts: dl(CommentCountLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            assets: dl(AssetLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            asset_tickets: dl(AssetTicketsLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            peripherals: dl(PeripheralsLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            seat_counts: dl(SeatCountLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            stock: dl(StockLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            models: dl(ModelsLoader {
                db: db.clone(),
                actor: actor.clone(),
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
