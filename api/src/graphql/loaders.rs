//! DataLoaders: one batched query per related type per request, never one per row.

use super::errors::ApiError;
use async_graphql::dataloader::{DataLoader, Loader};
use entity::{org_unit, person, ticket, ticket_category, vendor};
use service::{Actor, Db, directory, tickets};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

macro_rules! loader {
    ($name:ident, $model:ty, $fetch:expr) => {
        /// Batches lookups by id within the actor's tenant.
        pub struct $name {
            db: Db,
            actor: Actor,
        }

        impl Loader<Uuid> for $name {
            type Value = $model;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = $fetch(&self.db.read, &self.actor, keys)
                    .await
                    .map_err(|e| async_graphql::Error::from(ApiError::from(e)))?;
                Ok(rows.into_iter().map(|r| (r.id, r)).collect())
            }
        }
    };
}

loader!(PersonLoader, person::Model, directory::people_by_ids);
loader!(OrgUnitLoader, org_unit::Model, directory::org_units_by_ids);
loader!(
    CategoryLoader,
    ticket_category::Model,
    directory::categories_by_ids
);
loader!(VendorLoader, vendor::Model, directory::vendors_by_ids);
loader!(TicketLoader, ticket::Model, tickets::get_many);

/// The loaders of one request, all scoped to its actor. Cloning shares the batches and caches
/// (a batch request's operations share one set).
#[derive(Clone)]
pub struct Loaders {
    pub people: Arc<DataLoader<PersonLoader>>,
    pub org_units: Arc<DataLoader<OrgUnitLoader>>,
    pub categories: Arc<DataLoader<CategoryLoader>>,
    pub vendors: Arc<DataLoader<VendorLoader>>,
    pub tickets: Arc<DataLoader<TicketLoader>>,
}

impl Loaders {
    /// Creates loaders for one request; cheap, nothing is fetched until asked.
    pub fn new(db: &Db, actor: &Actor) -> Self {
        fn dl<L: Loader<Uuid>>(l: L) -> Arc<DataLoader<L>> {
            Arc::new(DataLoader::new(l, tokio::spawn))
        }
        Self {
            people: dl(PersonLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            org_units: dl(OrgUnitLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            categories: dl(CategoryLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            vendors: dl(VendorLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
            tickets: dl(TicketLoader {
                db: db.clone(),
                actor: actor.clone(),
            }),
        }
    }
}

/// Loads an optional id through a loader: `None` stays `None` without a lookup.
pub async fn load_opt<L>(
    loader: &DataLoader<L>,
    id: Option<Uuid>,
) -> Result<Option<L::Value>, async_graphql::Error>
where
    L: Loader<Uuid, Error = async_graphql::Error>,
{
    match id {
        Some(id) => loader.load_one(id).await,
        None => Ok(None),
    }
}
