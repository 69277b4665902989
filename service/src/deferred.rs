//! Appends that wait for the end of a batch transaction.
//!
//! A batch (mail processing) makes many small writes in one transaction, and on SQLite each
//! statement is a round trip to sqlx's worker thread: a thread wake-up each way costs more than
//! the insert itself. Inside [`scope`], rows that are only appended and that nothing in the
//! batch reads back (ticket events, search-outbox rows, Message-IDs kept for threading, queued
//! outbound mail, jobs, ticket watchers) are kept in memory, and [`flush`] writes them with multi-row inserts
//! before the batch commits. Outside a scope the same calls write at once, as before.
//!
//! The scope belongs to the task that runs the batch (a tokio task-local), so a write on any
//! other task is never caught; the batch must flush into the transaction it commits, and must
//! [`discard`] what it holds when it rolls back. The one deferred table a batch does read,
//! threading Message-IDs, is looked up in memory too ([`thread_ids`]).

use crate::sla::ResolvedPolicy;
use entity::{Priority, TicketKind};
use entity::{job, mail_outbound, mail_thread_id, search_outbox, ticket_event, ticket_watcher};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Iterable};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use uuid::Uuid;

tokio::task_local! {
    static BUFFER: RefCell<Buffer>;
}

/// Bound values per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
pub(crate) const MAX_PARAMS: usize = 30_000;

#[derive(Default)]
struct Buffer {
    events: Vec<ticket_event::ActiveModel>,
    outbox: Vec<search_outbox::ActiveModel>,
    thread_ids: Vec<mail_thread_id::ActiveModel>,
    outbound: Vec<mail_outbound::ActiveModel>,
    jobs: Vec<job::ActiveModel>,
    watchers: Vec<ticket_watcher::ActiveModel>,
    policies: HashMap<(Uuid, TicketKind, Priority), Option<ResolvedPolicy>>,
}

/// Runs `f` with appends deferred until [`flush`].
pub(crate) async fn scope<F: Future>(f: F) -> F::Output {
    BUFFER.scope(RefCell::new(Buffer::default()), f).await
}

/// Whether the current task is inside a [`scope`].
pub(crate) fn active() -> bool {
    BUFFER.try_with(|_| ()).is_ok()
}

/// Drops what the scope holds (the batch rolled back).
pub(crate) fn discard() {
    let _ = BUFFER.try_with(|b| *b.borrow_mut() = Buffer::default());
}

/// Holds `row` if a scope is active; gives it back otherwise, for the caller to write now.
fn hold<T>(row: T, pick: fn(&mut Buffer) -> &mut Vec<T>) -> Option<T> {
    if !active() {
        return Some(row);
    }
    BUFFER.with(|b| pick(&mut b.borrow_mut()).push(row));
    None
}

pub(crate) fn event(row: ticket_event::ActiveModel) -> Option<ticket_event::ActiveModel> {
    hold(row, |b| &mut b.events)
}

pub(crate) fn outbox(row: search_outbox::ActiveModel) -> Option<search_outbox::ActiveModel> {
    hold(row, |b| &mut b.outbox)
}

/// Threading Message-IDs are inserted with `ON CONFLICT DO NOTHING`, deferred or not.
pub(crate) fn thread_id(row: mail_thread_id::ActiveModel) -> Option<mail_thread_id::ActiveModel> {
    hold(row, |b| &mut b.thread_ids)
}

pub(crate) fn outbound(row: mail_outbound::ActiveModel) -> Option<mail_outbound::ActiveModel> {
    hold(row, |b| &mut b.outbound)
}

/// Jobs are inserted with `ON CONFLICT (kind, dedupe_key) DO NOTHING`, deferred or not.
pub(crate) fn job(row: job::ActiveModel) -> Option<job::ActiveModel> {
    hold(row, |b| &mut b.jobs)
}

/// Watchers are inserted with `ON CONFLICT (ticket_id, email) DO NOTHING`, deferred or not.
pub(crate) fn watcher(row: ticket_watcher::ActiveModel) -> Option<ticket_watcher::ActiveModel> {
    hold(row, |b| &mut b.watchers)
}

/// The policy remembered in this scope, if any (`Some(None)`: remembered that none applies).
pub(crate) fn policy(
    tenant_id: Uuid,
    kind: TicketKind,
    priority: Priority,
) -> Option<Option<ResolvedPolicy>> {
    BUFFER
        .try_with(|b| {
            b.borrow()
                .policies
                .get(&(tenant_id, kind, priority))
                .cloned()
        })
        .ok()
        .flatten()
}

/// Remembers a policy for the rest of the scope (nothing outside one).
pub(crate) fn remember_policy(
    tenant_id: Uuid,
    kind: TicketKind,
    priority: Priority,
    policy: &Option<ResolvedPolicy>,
) {
    let _ = BUFFER.try_with(|b| {
        b.borrow_mut()
            .policies
            .insert((tenant_id, kind, priority), policy.clone())
    });
}

/// The held Message-IDs of `tenant_id` among `ids`, with their tickets.
pub(crate) fn thread_ids(tenant_id: Uuid, ids: &[&str]) -> Vec<(String, Uuid)> {
    BUFFER
        .try_with(|b| {
            b.borrow()
                .thread_ids
                .iter()
                .filter(|r| r.tenant_id.as_ref() == &tenant_id)
                .filter(|r| ids.contains(&r.message_id.as_ref().as_str()))
                .map(|r| (r.message_id.as_ref().clone(), *r.ticket_id.as_ref()))
                .collect()
        })
        .unwrap_or_default()
}

/// `ON CONFLICT DO NOTHING` for threading Message-IDs.
pub(crate) fn thread_id_conflict() -> OnConflict {
    OnConflict::columns([
        mail_thread_id::Column::TenantId,
        mail_thread_id::Column::MessageId,
    ])
    .do_nothing()
    .to_owned()
}

/// `ON CONFLICT DO NOTHING` for jobs.
pub(crate) fn job_conflict() -> OnConflict {
    OnConflict::columns([job::Column::Kind, job::Column::DedupeKey])
        .do_nothing()
        .to_owned()
}

/// `ON CONFLICT DO NOTHING` for ticket watchers.
pub(crate) fn watcher_conflict() -> OnConflict {
    OnConflict::columns([
        ticket_watcher::Column::TicketId,
        ticket_watcher::Column::Email,
    ])
    .do_nothing()
    .to_owned()
}

/// Writes everything held, a few statements per table, into `db` (the batch's transaction).
/// Outside a scope there is nothing to write.
pub(crate) async fn flush(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let Ok(b) = BUFFER.try_with(|b| std::mem::take(&mut *b.borrow_mut())) else {
        return Ok(());
    };
    insert_all(db, b.events, None).await?;
    insert_all(db, b.outbox, None).await?;
    insert_all(db, b.thread_ids, Some(thread_id_conflict())).await?;
    insert_all(db, b.outbound, None).await?;
    insert_all(db, b.jobs, Some(job_conflict())).await?;
    insert_all(db, b.watchers, Some(watcher_conflict())).await?;
    Ok(())
}

/// Multi-row inserts, as many rows a statement as the bound-value limit allows.
pub(crate) async fn insert_all<A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    conflict: Option<OnConflict>,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let columns = <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let per = (MAX_PARAMS / columns).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per).collect();
        let mut q = <A::Entity as EntityTrait>::insert_many(chunk);
        if let Some(c) = &conflict {
            q = q.on_conflict(c.clone());
        }
        q.exec_without_returning(db).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Set;

    fn thread_row(tenant: Uuid, id: &str, ticket: Uuid) -> mail_thread_id::ActiveModel {
        mail_thread_id::ActiveModel {
            tenant_id: Set(tenant),
            message_id: Set(id.to_owned()),
            ticket_id: Set(ticket),
            origin: Set("inbound".to_owned()),
            created_at: Set(chrono::Utc::now()),
        }
    }

    #[tokio::test]
    async fn rows_are_held_only_inside_a_scope_and_go_on_discard() {
        let (tenant, other, ticket) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        // Outside a scope the row comes back, for the caller to write now.
        assert!(thread_id(thread_row(tenant, "a@x", ticket)).is_some());
        assert!(!active());
        assert!(thread_ids(tenant, &["a@x"]).is_empty());
        scope(async {
            assert!(active());
            assert!(thread_id(thread_row(tenant, "a@x", ticket)).is_none());
            assert!(thread_id(thread_row(other, "b@x", ticket)).is_none());
            assert_eq!(
                thread_ids(tenant, &["a@x", "b@x"]),
                [("a@x".to_owned(), ticket)]
            );
            assert_eq!(thread_ids(other, &["b@x"]).len(), 1);
            discard();
            assert!(thread_ids(tenant, &["a@x"]).is_empty());
        })
        .await;
        // A task spawned from inside a scope does not share it.
        scope(async {
            let inner = tokio::spawn(async { active() }).await.unwrap();
            assert!(!inner);
        })
        .await;
    }
}
