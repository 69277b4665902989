//! Search over FAQ articles and tickets, scoped like everything else.
//!
//! The index (crate `search-index`) is never the source of truth: it is fed
//! from the outbox (see [`indexer`]) and can be rebuilt from the database at
//! any time. Every hit is checked against the database scope again before it
//! is shown, so a stale index can hide something for a moment but never show
//! what the actor may not see.

pub mod indexer;
pub mod outbox;

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, RwLock},
};

use entity::search_synonyms;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use search_index::{
    Access, DocKind, FaqAccess, Filter, SearchIndex, SearchRequest, SearchResults, Synonyms,
    Thresholds, TicketAccess,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, Role},
    error::{ServiceError, ServiceResult},
    tickets,
};

pub use indexer::IndexWriter;
pub use search_index::{Confidence, Facets, Highlight, Hit, MAX_LIMIT, MAX_QUERY_CHARS, Marks};

/// The search side of the service: the index and each tenant's synonyms.
pub struct Search {
    pub index: Arc<SearchIndex>,
    synonyms: RwLock<HashMap<Uuid, Arc<Synonyms>>>,
    defaults: Synonyms,
    /// Queries running on the blocking pool at once: one per core (see [`Search::run`]).
    cores: Arc<tokio::sync::Semaphore>,
}

/// What a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct SearchInput {
    pub text: String,
    /// Types, categories, audiences, statuses and a created range, inside the actor's scope.
    pub filter: Filter,
    pub first: usize,
    pub offset: usize,
    /// Count all matches and compute facets (a pass over every match; only when asked for).
    pub count: bool,
}

/// FAQ answers for a question, as the bots and `suggestedAnswers` give them.
#[derive(Debug, Clone)]
pub struct Suggestions {
    pub confidence: Confidence,
    pub hits: Vec<Hit>,
    pub coverage: f32,
}

impl Search {
    /// Opens (or creates) the index under `dir`.
    pub fn open(dir: &Path) -> ServiceResult<Self> {
        Ok(Self::with_index(
            SearchIndex::open_or_create(dir).map_err(indexer::search_error)?,
        ))
    }

    /// An index in memory (tests).
    pub fn in_memory() -> ServiceResult<Self> {
        Ok(Self::with_index(
            SearchIndex::in_memory().map_err(indexer::search_error)?,
        ))
    }

    fn with_index(index: SearchIndex) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            index: Arc::new(index),
            synonyms: RwLock::default(),
            defaults: Synonyms::defaults(),
            cores: Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }

    /// Runs a query (CPU only, no waiting) on the blocking pool, at most one per core at once;
    /// the rest wait their turn, first come first served. Unbounded, a burst of chat turns
    /// (32 lanes each asking the FAQ) kept 32 threads runnable on 2 cores, and everything
    /// that must answer quickly (webhook acknowledgements, their commits) queued behind them
    /// in the kernel's run queue.
    async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&SearchIndex) -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let permit = Arc::clone(&self.cores)
            .acquire_owned()
            .await
            .map_err(|e| ServiceError::Config(format!("search gate: {e}")))?;
        let index = Arc::clone(&self.index);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            query(&index)
        })
        .await
        .map_err(|e| ServiceError::Config(format!("search thread: {e}")))
    }

    /// What `actor` may find: published FAQ for their audience and their own
    /// tickets (requesters), escalated tickets (vendors), everything in the
    /// tenant (the desk).
    pub async fn access(&self, db: &impl ConnectionTrait, actor: &Actor) -> ServiceResult<Access> {
        let tenant = actor.tenant_id.to_string();
        if actor.is_desk() {
            return Ok(Access {
                tenant,
                faq: FaqAccess::All,
                tickets: TicketAccess::All,
            });
        }
        let requester = actor.has(Role::Requester);
        let faq = if requester {
            FaqAccess::Published {
                audiences: vec![crate::faq::audience_of(db, actor).await?.to_owned()],
            }
        } else {
            FaqAccess::None
        };
        let tickets = TicketAccess::Limited {
            requested_by: requester.then(|| actor.person_id.to_string()),
            escalated_to: actor
                .vendor_id
                .filter(|_| actor.has(Role::Vendor))
                .map(|v| v.to_string()),
        };
        Ok(Access {
            tenant,
            faq,
            tickets,
        })
    }

    /// The built-in synonyms plus the tenant's own.
    pub async fn synonyms_for(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
    ) -> ServiceResult<Arc<Synonyms>> {
        if let Some(s) = self
            .synonyms
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&tenant_id)
        {
            return Ok(Arc::clone(s));
        }
        let own = tenant_synonyms(db, tenant_id).await?;
        let merged = Arc::new(
            self.defaults
                .with(&Synonyms::from_groups(&own).unwrap_or_default()),
        );
        self.synonyms
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(tenant_id, Arc::clone(&merged));
        Ok(merged)
    }

    /// Full-text search in the actor's scope, with highlights and facets.
    pub async fn search(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        input: SearchInput,
    ) -> ServiceResult<SearchResults> {
        let access = self.access(db, actor).await?;
        let synonyms = self.synonyms_for(db, actor.tenant_id).await?;
        let results = self
            .run(move |index| {
                let req = SearchRequest {
                    text: &input.text,
                    access: &access,
                    filter: &input.filter,
                    synonyms: &synonyms,
                    limit: input.first.clamp(1, MAX_LIMIT),
                    offset: input.offset,
                    highlight: true,
                    count: input.count,
                };
                index.search(&req)
            })
            .await?
            .map_err(query_error)?;
        self.recheck(db, actor, results).await
    }

    /// FAQ answers for a question (a new ticket's text, a chat message).
    pub async fn suggested_answers(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        text: &str,
        marks: Marks,
    ) -> ServiceResult<Suggestions> {
        let access = self.access(db, actor).await?;
        self.suggest_with(db, actor.tenant_id, access, text, marks)
            .await
    }

    /// FAQ answers for someone the desk does not know yet (a chat account not linked to a
    /// person): the tenant's published FAQ for `audience`, nothing else.
    pub async fn suggested_answers_for_guest(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        audience: &str,
        text: &str,
        marks: Marks,
    ) -> ServiceResult<Suggestions> {
        let access = Access {
            tenant: tenant_id.to_string(),
            faq: FaqAccess::Published {
                audiences: vec![audience.to_owned()],
            },
            tickets: TicketAccess::None,
        };
        self.suggest_with(db, tenant_id, access, text, marks).await
    }

    async fn suggest_with(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        access: Access,
        text: &str,
        marks: Marks,
    ) -> ServiceResult<Suggestions> {
        let synonyms = self.synonyms_for(db, tenant_id).await?;
        let thresholds = Thresholds::default();
        if let Some(s) = self
            .index
            .cached_answers(text, &access, &synonyms, thresholds, marks)
        {
            return Ok(Suggestions {
                confidence: s.confidence,
                hits: s.hits.clone(),
                coverage: s.coverage,
            });
        }
        let text = text.to_owned();
        let s = self
            .run(move |index| {
                index.suggest_answers_with(&text, &access, &synonyms, thresholds, marks)
            })
            .await?
            .map_err(query_error)?;
        Ok(Suggestions {
            confidence: s.confidence,
            hits: s.hits,
            coverage: s.coverage,
        })
    }

    /// Past tickets like this one (desk only).
    pub async fn similar_tickets(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        ticket_id: Uuid,
        first: usize,
    ) -> ServiceResult<Vec<Hit>> {
        let t = tickets::get(db, actor, ticket_id).await?;
        if !actor.is_desk() {
            return Err(ServiceError::Forbidden("similar tickets are for the desk"));
        }
        let access = self.access(db, actor).await?;
        let synonyms = self.synonyms_for(db, actor.tenant_id).await?;
        let text: String = format!("{}\n{}", t.title, t.description)
            .chars()
            .take(MAX_QUERY_CHARS)
            .collect();
        let key = search_index::document::key(DocKind::Ticket, &t.id.to_string());
        let hits = self
            .run(move |index| index.similar(&text, &key, &access, &synonyms, first.clamp(1, 20)))
            .await?
            .map_err(query_error)?;
        Ok(hits)
    }

    /// Drops hits the database no longer lets the actor see (the index lags
    /// the database by up to a second).
    async fn recheck(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        mut results: SearchResults,
    ) -> ServiceResult<SearchResults> {
        let ticket_ids: Vec<Uuid> = results
            .hits
            .iter()
            .filter(|h| h.kind == DocKind::Ticket)
            .filter_map(|h| h.id.parse().ok())
            .collect();
        if ticket_ids.is_empty() || actor.is_desk() {
            return Ok(results);
        }
        let visible = tickets::visible_ids(db, actor, &ticket_ids).await?;
        results.hits.retain(|h| {
            h.kind != DocKind::Ticket || h.id.parse().is_ok_and(|id| visible.contains(&id))
        });
        Ok(results)
    }

    /// The tenant's own synonym groups (admins and the desk).
    pub async fn tenant_synonyms(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
    ) -> ServiceResult<Vec<Vec<String>>> {
        if !actor.is_desk() {
            return Err(ServiceError::Forbidden("synonyms are for the desk"));
        }
        tenant_synonyms(db, actor.tenant_id).await
    }

    /// Replaces the tenant's own synonym groups (admins and supervisors).
    pub async fn set_tenant_synonyms(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        groups: Vec<Vec<String>>,
    ) -> ServiceResult<Vec<Vec<String>>> {
        if !(actor.has(Role::Admin) || actor.has(Role::Supervisor)) {
            return Err(ServiceError::Forbidden(
                "only admins and supervisors edit synonyms",
            ));
        }
        if groups.len() > 2_000 {
            return Err(ServiceError::invalid(
                "groups",
                "TOO_MANY",
                "同義語のグループは2,000件までです",
            ));
        }
        let parsed = Synonyms::from_groups(&groups)
            .map_err(|e| ServiceError::invalid("groups", "INVALID_SYNONYM", e.to_string()))?;
        let groups: Vec<Vec<String>> = parsed.groups().map(<[String]>::to_vec).collect();
        let existing = search_synonyms::Entity::find_by_id(actor.tenant_id)
            .one(db)
            .await?;
        let now = tickets::now();
        let json =
            serde_json::to_value(&groups).map_err(|e| ServiceError::Config(e.to_string()))?;
        match existing {
            Some(row) => {
                let version = row.version + 1;
                let mut row: search_synonyms::ActiveModel = row.into();
                row.groups = Set(json);
                row.version = Set(version);
                row.updated_by = Set(Some(actor.person_id));
                row.updated_at = Set(now);
                row.update(db).await?;
            }
            None => {
                search_synonyms::ActiveModel {
                    tenant_id: Set(actor.tenant_id),
                    groups: Set(json),
                    version: Set(1),
                    updated_by: Set(Some(actor.person_id)),
                    updated_at: Set(now),
                }
                .insert(db)
                .await?;
            }
        }
        self.synonyms
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&actor.tenant_id);
        Ok(groups)
    }

    /// The built-in synonym groups.
    pub fn default_synonyms(&self) -> Vec<Vec<String>> {
        self.defaults.groups().map(<[String]>::to_vec).collect()
    }
}

async fn tenant_synonyms(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> ServiceResult<Vec<Vec<String>>> {
    let row = search_synonyms::Entity::find_by_id(tenant_id)
        .one(db)
        .await?;
    Ok(row
        .and_then(|r| serde_json::from_value(r.groups).ok())
        .unwrap_or_default())
}

fn query_error(e: search_index::SearchError) -> ServiceError {
    match e {
        search_index::SearchError::QueryTooLong { .. } => {
            ServiceError::invalid("query", "TOO_LONG", e.to_string())
        }
        other => indexer::search_error(other),
    }
}
