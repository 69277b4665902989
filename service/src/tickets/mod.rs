//! Tickets: reading within scope, and the writes that move them through the workflow.
//!
//! Every function takes the [`Actor`] and enforces scope itself: desk roles see the whole
//! tenant, requesters their own tickets, vendors what was escalated to them. Anything outside
//! scope is [`ServiceError::NotFound`], never `Forbidden`, so nothing leaks that it exists.

mod read;
mod view;
pub mod workflow;
mod write;

pub use read::*;
pub use view::*;
pub use write::*;

use crate::auth::{Actor, Role};
use crate::error::ServiceResult;
use chrono::{DateTime, Utc};
use entity::{ticket, ticket_event};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel};
use uuid::Uuid;

/// The fields that decide who may see a ticket; enough to filter a live event stream
/// without asking the database again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketScopeKey {
    pub tenant_id: Uuid,
    pub requester_id: Option<Uuid>,
    pub escalation_vendor_id: Option<Uuid>,
}

impl From<&ticket::Model> for TicketScopeKey {
    fn from(t: &ticket::Model) -> Self {
        Self {
            tenant_id: t.tenant_id,
            requester_id: t.requester_id,
            escalation_vendor_id: t.escalation_vendor_id,
        }
    }
}

/// Returns whether `actor` may read a ticket with this scope key.
pub fn can_read(actor: &Actor, key: &TicketScopeKey) -> bool {
    if key.tenant_id != actor.tenant_id {
        return false;
    }
    if actor.is_desk() {
        return true;
    }
    (actor.has(Role::Requester) && key.requester_id == Some(actor.person_id))
        || (actor.has(Role::Vendor)
            && actor.vendor_id.is_some()
            && key.escalation_vendor_id == actor.vendor_id)
}

/// Returns whether `actor` may see internal comments and events.
pub fn can_see_internal(actor: &Actor) -> bool {
    actor.is_desk()
}

/// The SQL form of [`can_read`].
pub(crate) fn scope_condition(actor: &Actor) -> Condition {
    let tenant = Condition::all().add(ticket::Column::TenantId.eq(actor.tenant_id));
    if actor.is_desk() {
        return tenant;
    }
    let mut any = Condition::any();
    let mut granted = false;
    if actor.has(Role::Requester) {
        any = any.add(ticket::Column::RequesterId.eq(actor.person_id));
        granted = true;
    }
    if actor.has(Role::Vendor)
        && let Some(v) = actor.vendor_id
    {
        any = any.add(ticket::Column::EscalationVendorId.eq(v));
        granted = true;
    }
    if !granted {
        // No role that reads tickets: match nothing, explicitly.
        any = any.add(Expr::val(1).eq(0));
    }
    tenant.add(any)
}

/// Appends one event to a ticket's history.
pub(crate) async fn record_event(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    actor_id: Option<Uuid>,
    kind: &str,
    payload: serde_json::Value,
    internal: bool,
    at: DateTime<Utc>,
) -> ServiceResult<ticket_event::Model> {
    let ev = ticket_event::Model {
        id: Uuid::now_v7(),
        tenant_id: t.tenant_id,
        ticket_id: t.id,
        actor_id,
        kind: kind.to_owned(),
        payload,
        internal,
        created_at: at,
    };
    if let Some(row) = crate::deferred::event(ev.clone().into_active_model()) {
        ticket_event::Entity::insert(row)
            .exec_without_returning(db)
            .await?;
    }
    crate::search::outbox::enqueue(db, t.tenant_id, search_index::DocKind::Ticket, t.id, at)
        .await?;
    Ok(ev)
}

/// Returns the current time truncated to microseconds, the precision both databases keep, so
/// that a value read back compares equal to the value written (keyset cursors rely on it).
pub fn now() -> DateTime<Utc> {
    truncate_micros(Utc::now())
}

/// Truncates an instant to microseconds.
pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    let micros = t.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(t)
}
