//! Keeping the index true to the database.
//!
//! One task applies the outbox in id order: it loads each changed FAQ article
//! or ticket as it is now (or finds it gone), writes the documents, commits the
//! index with the last outbox id as payload, and only then deletes the rows.
//! A crash before the index commit leaves the rows to be applied again; a crash
//! after it and before the delete applies them twice, which an upsert by key
//! makes harmless. Nothing is missed and nothing is doubled.
//!
//! Rows are taken in id order, but ones that commit late (a PostgreSQL
//! transaction that took its id before a faster one) are still found, because
//! the indexer reads whatever rows remain rather than "ids after the last one".

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use entity::{faq_article, search_outbox, ticket, ticket_category, ticket_comment};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use search_index::{DocKind, Document, SearchIndex, Writer};
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};

/// Outbox rows applied per index commit.
pub const BATCH: u64 = 500;

/// The index writer, shared by the incremental task and a rebuild.
#[derive(Clone)]
pub struct IndexWriter {
    inner: Arc<Mutex<Writer>>,
}

impl IndexWriter {
    /// Takes the index's single writer (fails if another process holds it).
    pub fn new(index: &SearchIndex, memory_mb: usize) -> ServiceResult<Self> {
        let writer = index.writer(memory_mb).map_err(search_error)?;
        Ok(Self {
            inner: Arc::new(Mutex::new(writer)),
        })
    }

    /// Runs `f` on the writer on a blocking thread.
    async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> search_index::index::Result<R> + Send + 'static,
    ) -> ServiceResult<R> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut w = inner.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut w)
        })
        .await
        .map_err(|e| ServiceError::Config(format!("indexer thread: {e}")))?
        .map_err(search_error)
    }
}

pub(crate) fn search_error(e: search_index::SearchError) -> ServiceError {
    ServiceError::Config(format!("search index: {e}"))
}

/// Applies up to `batch` outbox rows. Returns how many were applied.
pub async fn apply_pending(
    db: &impl ConnectionTrait,
    writer: &IndexWriter,
    batch: u64,
) -> ServiceResult<usize> {
    let rows = search_outbox::Entity::find()
        .order_by_asc(search_outbox::Column::Id)
        .limit(batch)
        .all(db)
        .await?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(0);
    };
    let mut faq_ids = HashSet::new();
    let mut ticket_ids = HashSet::new();
    for r in &rows {
        match DocKind::parse(&r.doc_kind) {
            Some(DocKind::Faq) => faq_ids.insert(r.doc_id),
            Some(DocKind::Ticket) => ticket_ids.insert(r.doc_id),
            None => {
                tracing::warn!(id = r.id, kind = %r.doc_kind, "outbox row of unknown kind skipped");
                false
            }
        };
    }
    let faq_ids: Vec<Uuid> = faq_ids.into_iter().collect();
    let ticket_ids: Vec<Uuid> = ticket_ids.into_iter().collect();
    let faqs = faq_article::Entity::find()
        .filter(faq_article::Column::Id.is_in(faq_ids.clone()))
        .all(db)
        .await?;
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::Id.is_in(ticket_ids.clone()))
        .all(db)
        .await?;
    let mut docs: Vec<Document> = faqs.iter().map(faq_document).collect();
    docs.extend(ticket_documents(db, tickets).await?);
    let present: HashSet<(DocKind, Uuid)> = docs
        .iter()
        .filter_map(|d| Some((d.kind, d.id.parse().ok()?)))
        .collect();
    let gone: Vec<(DocKind, Uuid)> = faq_ids
        .iter()
        .map(|id| (DocKind::Faq, *id))
        .chain(ticket_ids.iter().map(|id| (DocKind::Ticket, *id)))
        .filter(|k| !present.contains(k))
        .collect();
    let applied = rows.len();
    writer
        .with(move |w| {
            for d in &docs {
                w.upsert(d)?;
            }
            for (kind, id) in &gone {
                w.delete(*kind, &id.to_string());
            }
            w.commit(last)
        })
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    search_outbox::Entity::delete_many()
        .filter(search_outbox::Column::Id.is_in(ids))
        .exec(db)
        .await?;
    Ok(applied)
}

/// Applies the outbox until `stop` says so, polling every `every` when idle.
pub async fn run(
    db: sea_orm::DatabaseConnection,
    writer: IndexWriter,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let idle = match apply_pending(&db, &writer, BATCH).await {
            Ok(n) => n == 0,
            Err(e) => {
                tracing::error!(error = %e, "search indexer failed; retrying");
                true
            }
        };
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        } else if *stop.borrow() {
            return;
        }
    }
}

/// Rebuilds the whole index from the database. `progress(done, total)` is
/// called as documents are written. Returns the number of documents.
pub async fn reindex(
    db: &impl ConnectionTrait,
    writer: &IndexWriter,
    mut progress: impl FnMut(u64, u64),
) -> ServiceResult<u64> {
    use sea_orm::PaginatorTrait;
    // Everything up to here is read below; later rows are applied afterwards.
    let position = search_outbox::Entity::find()
        .order_by_desc(search_outbox::Column::Id)
        .one(db)
        .await?
        .map_or(0, |r| r.id);
    let total =
        faq_article::Entity::find().count(db).await? + ticket::Entity::find().count(db).await?;
    writer.with(|w| w.delete_all()).await?;
    let mut done = 0u64;
    progress(done, total);
    let faqs = faq_article::Entity::find().all(db).await?;
    let docs: Vec<Document> = faqs.iter().map(faq_document).collect();
    done += docs.len() as u64;
    writer
        .with(move |w| docs.iter().try_for_each(|d| w.upsert(d)))
        .await?;
    progress(done, total);
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = ticket::Entity::find()
            .order_by_asc(ticket::Column::Id)
            .limit(2_000);
        if let Some(a) = after {
            q = q.filter(ticket::Column::Id.gt(a));
        }
        let batch = q.all(db).await?;
        let Some(last) = batch.last().map(|t| t.id) else {
            break;
        };
        after = Some(last);
        let docs = ticket_documents(db, batch).await?;
        done += docs.len() as u64;
        writer
            .with(move |w| docs.iter().try_for_each(|d| w.upsert(d)))
            .await?;
        progress(done, total);
    }
    writer.with(move |w| w.commit(position)).await?;
    Ok(done)
}

/// An FAQ article as a search document.
pub fn faq_document(a: &faq_article::Model) -> Document {
    Document {
        kind: DocKind::Faq,
        id: a.id.to_string(),
        tenant: a.tenant_id.to_string(),
        title: a.question.clone(),
        body: a.answer.clone(),
        keywords: a.keyword_list(),
        category: Some(a.category.clone()),
        audience: a.audiences(),
        status: a.status.as_str().to_owned(),
        number: Some(a.code.clone()),
        requester: None,
        vendors: vec![],
        created: a.created_at,
        updated: a.updated_at,
    }
}

/// Tickets as search documents: title; description and public comments as body.
pub async fn ticket_documents(
    db: &impl ConnectionTrait,
    tickets: Vec<ticket::Model>,
) -> ServiceResult<Vec<Document>> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = tickets.iter().map(|t| t.id).collect();
    let comments = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.is_in(ids))
        .filter(ticket_comment::Column::Internal.eq(false))
        .order_by_asc(ticket_comment::Column::CreatedAt)
        .all(db)
        .await?;
    let mut by_ticket: HashMap<Uuid, Vec<String>> = HashMap::new();
    for c in comments {
        by_ticket.entry(c.ticket_id).or_default().push(c.body);
    }
    let category_ids: HashSet<Uuid> = tickets.iter().filter_map(|t| t.category_id).collect();
    let categories: HashMap<Uuid, String> = ticket_category::Entity::find()
        .filter(ticket_category::Column::Id.is_in(category_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    Ok(tickets
        .into_iter()
        .map(|t| {
            let mut body = t.description.clone();
            for c in by_ticket.remove(&t.id).unwrap_or_default() {
                body.push_str("\n\n");
                body.push_str(&c);
            }
            Document {
                kind: DocKind::Ticket,
                id: t.id.to_string(),
                tenant: t.tenant_id.to_string(),
                title: t.title,
                body,
                keywords: vec![],
                category: t.category_id.and_then(|c| categories.get(&c).cloned()),
                audience: vec![],
                status: sea_orm::ActiveEnum::to_value(&t.status),
                number: Some(t.number),
                requester: t.requester_id.map(|r| r.to_string()),
                vendors: t
                    .escalation_vendor_id
                    .map(|v| v.to_string())
                    .into_iter()
                    .collect(),
                created: t.created_at,
                updated: t.updated_at,
            }
        })
        .collect())
}
