//! Reading tickets, their comments and their history within the actor's scope.

use super::{can_see_internal, scope_condition};
use crate::auth::Actor;
use crate::db::First as _;
use crate::directory;
use crate::error::{ServiceError, ServiceResult};
use crate::page::{Cursor, Direction, Page, SortKey};
use chrono::{DateTime, Utc};
use entity::{Priority, TicketKind, TicketStatus, ticket, ticket_comment, ticket_event};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Order};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The predicate of the partial index `ix_tickets_tenant_open_created` (migration
/// `m20261130_000010`), character for character.
pub const OPEN_STATUSES_SQL: &str =
    "status IN ('new', 'in_progress', 'waiting_on_requester', 'waiting_on_vendor', 'escalated')";

/// Which tickets a list shows. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub kinds: Vec<TicketKind>,
    pub priorities: Vec<Priority>,
    pub assignee_ids: Vec<Uuid>,
    /// `Some(true)`: only unassigned tickets.
    pub unassigned: Option<bool>,
    pub requester_ids: Vec<Uuid>,
    /// Org units, including everything below them (教育委員会 includes its schools).
    pub org_unit_ids: Vec<Uuid>,
    /// Categories, including their subcategories.
    pub category_ids: Vec<Uuid>,
    pub escalation_vendor_ids: Vec<Uuid>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// `Some(true)`: a response or resolution deadline was breached; `Some(false)`: neither.
    pub sla_breached: Option<bool>,
    /// Substring of the title or description.
    pub text_contains: Option<String>,
}

/// What a ticket list is sorted by. Every order ends with the id, so keyset pages are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketOrderField {
    #[default]
    CreatedAt,
    UpdatedAt,
    Number,
    Priority,
}

/// A ticket list's sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketOrder {
    pub field: TicketOrderField,
    pub direction: Direction,
}

impl Default for TicketOrder {
    fn default() -> Self {
        Self {
            field: TicketOrderField::CreatedAt,
            direction: Direction::Desc,
        }
    }
}

impl TicketOrderField {
    pub(crate) fn column(self) -> ticket::Column {
        match self {
            Self::CreatedAt => ticket::Column::CreatedAt,
            Self::UpdatedAt => ticket::Column::UpdatedAt,
            Self::Number => ticket::Column::Number,
            Self::Priority => ticket::Column::Priority,
        }
    }

    /// Returns the sort key of `t` under this order, for building its cursor.
    pub fn key_of(self, t: &ticket::Model) -> SortKey {
        match self {
            Self::CreatedAt => SortKey::Time(t.created_at),
            Self::UpdatedAt => SortKey::Time(t.updated_at),
            Self::Number => SortKey::Text(t.number.clone()),
            Self::Priority => SortKey::Int(i64::from(sea_orm::ActiveEnum::to_value(&t.priority))),
        }
    }
}

/// Loads one ticket in scope.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<ticket::Model> {
    ticket::Entity::find_by_id(id)
        .filter(scope_condition(actor))
        .first(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Which of `ids` the actor may see.
pub async fn visible_ids(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<std::collections::HashSet<Uuid>> {
    use sea_orm::QuerySelect;
    let rows: Vec<Uuid> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Id)
        .filter(ticket::Column::Id.is_in(ids.to_vec()))
        .filter(scope_condition(actor))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Loads one ticket in scope by its readable number (`HD-2026-000123`).
pub async fn get_by_number(
    db: &impl ConnectionTrait,
    actor: &Actor,
    number: &str,
) -> ServiceResult<ticket::Model> {
    ticket::Entity::find()
        .filter(ticket::Column::Number.eq(number.trim().to_ascii_uppercase()))
        .filter(scope_condition(actor))
        .first(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Loads several tickets in scope by id (for DataLoaders); missing or foreign ids are absent.
pub async fn get_many(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<Vec<ticket::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ticket::Entity::find()
        .filter(ticket::Column::Id.is_in(crate::db::stable_in_list(ids)))
        .filter(scope_condition(actor))
        .all(db)
        .await?)
}

async fn filter_condition(
    db: &impl ConnectionTrait,
    actor: &Actor,
    f: &TicketFilter,
) -> ServiceResult<Condition> {
    let mut c = scope_condition(actor);
    if !f.statuses.is_empty() {
        c = c.add(ticket::Column::Status.is_in(f.statuses.iter().copied()));
        if f.statuses.iter().all(|s| !super::workflow::is_done(*s)) {
            // Says again what the statuses imply, in the partial index's own words, so that
            // SQLite uses it (it matches a partial index's `WHERE` only by repetition). A
            // literal: a bound list would make SQLite re-plan the statement on every binding.
            c = c.add(Expr::cust(OPEN_STATUSES_SQL));
        }
    }
    if !f.kinds.is_empty() {
        c = c.add(ticket::Column::Kind.is_in(f.kinds.iter().copied()));
    }
    if !f.priorities.is_empty() {
        c = c.add(ticket::Column::Priority.is_in(f.priorities.iter().copied()));
    }
    if !f.assignee_ids.is_empty() {
        c = c.add(ticket::Column::AssigneeId.is_in(f.assignee_ids.iter().copied()));
    }
    match f.unassigned {
        Some(true) => c = c.add(ticket::Column::AssigneeId.is_null()),
        Some(false) => c = c.add(ticket::Column::AssigneeId.is_not_null()),
        None => {}
    }
    if !f.requester_ids.is_empty() {
        c = c.add(ticket::Column::RequesterId.is_in(f.requester_ids.iter().copied()));
    }
    if !f.escalation_vendor_ids.is_empty() {
        c = c
            .add(ticket::Column::EscalationVendorId.is_in(f.escalation_vendor_ids.iter().copied()));
    }
    if !f.org_unit_ids.is_empty() {
        let units = directory::org_unit_subtree(db, actor.tenant_id, &f.org_unit_ids).await?;
        c = c.add(ticket::Column::OrgUnitId.is_in(units));
    }
    if !f.category_ids.is_empty() {
        let cats = directory::category_subtree(db, actor.tenant_id, &f.category_ids).await?;
        c = c.add(ticket::Column::CategoryId.is_in(cats));
    }
    if let Some(a) = f.created_after {
        c = c.add(ticket::Column::CreatedAt.gte(a));
    }
    if let Some(b) = f.created_before {
        c = c.add(ticket::Column::CreatedAt.lt(b));
    }
    match f.sla_breached {
        Some(true) => {
            c = c.add(
                Condition::any()
                    .add(ticket::Column::ResponseBreachedAt.is_not_null())
                    .add(ticket::Column::ResolutionBreachedAt.is_not_null()),
            )
        }
        Some(false) => {
            c = c
                .add(ticket::Column::ResponseBreachedAt.is_null())
                .add(ticket::Column::ResolutionBreachedAt.is_null())
        }
        None => {}
    }
    if let Some(text) = f
        .text_contains
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let pattern = format!("%{}%", escape_like(text));
        c = c.add(
            Condition::any()
                .add(
                    Expr::col(ticket::Column::Title)
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::col(ticket::Column::Description)
                        .like(LikeExpr::new(pattern).escape('\\')),
                ),
        );
    }
    Ok(c)
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Lists tickets in scope, one keyset page at a time (no OFFSET: page 1,000 costs what page 1 does).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &TicketFilter,
    order: TicketOrder,
    first: u64,
    after: Option<&Cursor>,
) -> ServiceResult<Page<ticket::Model>> {
    use sea_orm::{FromQueryResult, QueryTrait};
    let mut stmt = list_query(db, actor, filter, order, first, after)
        .await?
        .build(db.get_database_backend());
    crate::db::inline_limit(&mut stmt);
    let rows = ticket::Model::find_by_statement(stmt).all(db).await?;
    Ok(Page::from_overfetch(rows, first))
}

/// The query of [`list`]: scope, filter, keyset position, order, and one row more than a page.
pub(super) async fn list_query(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &TicketFilter,
    order: TicketOrder,
    first: u64,
    after: Option<&Cursor>,
) -> ServiceResult<sea_orm::Select<ticket::Entity>> {
    let mut cond = filter_condition(db, actor, filter).await?;
    let col = order.field.column();
    if let Some(cursor) = after {
        let key_matches = matches!(
            (order.field, &cursor.key),
            (
                TicketOrderField::CreatedAt | TicketOrderField::UpdatedAt,
                SortKey::Time(_)
            ) | (TicketOrderField::Number, SortKey::Text(_))
                | (TicketOrderField::Priority, SortKey::Int(_))
        );
        if !key_matches {
            return Err(ServiceError::invalid(
                "after",
                "INVALID_CURSOR",
                "カーソルが並び順と一致しません",
            ));
        }
        let value = cursor.key.to_value();
        let id = cursor.id;
        let (past_key, past_id) = match order.direction {
            Direction::Asc => (
                Expr::col(col).gt(value.clone()),
                Expr::col(ticket::Column::Id).gt(id),
            ),
            Direction::Desc => (
                Expr::col(col).lt(value.clone()),
                Expr::col(ticket::Column::Id).lt(id),
            ),
        };
        cond = cond.add(
            Condition::any()
                .add(past_key)
                .add(Condition::all().add(Expr::col(col).eq(value)).add(past_id)),
        );
    }
    let ord = match order.direction {
        Direction::Asc => Order::Asc,
        Direction::Desc => Order::Desc,
    };
    Ok(ticket::Entity::find()
        .filter(cond)
        .order_by(col, ord.clone())
        .order_by(ticket::Column::Id, ord)
        .limit(first + 1))
}

/// Counts the tickets a filter matches in scope.
pub async fn count(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &TicketFilter,
) -> ServiceResult<u64> {
    let cond = filter_condition(db, actor, filter).await?;
    Ok(ticket::Entity::find().filter(cond).count(db).await?)
}

/// Lists a ticket's comments oldest first; internal ones only for the desk.
pub async fn comments(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ticket_id: Uuid,
    first: u64,
    after: Option<&Cursor>,
) -> ServiceResult<Page<ticket_comment::Model>> {
    let t = get(db, actor, ticket_id).await?;
    let mut q = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(t.id))
        .filter(ticket_comment::Column::TenantId.eq(actor.tenant_id));
    if !can_see_internal(actor) {
        q = q.filter(ticket_comment::Column::Internal.eq(false));
    }
    if let Some(c) = after {
        q = q.filter(ticket_comment::Column::Id.gt(c.id));
    }
    let rows = q
        .order_by_asc(ticket_comment::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// Lists a ticket's history oldest first; events about internal comments only for the desk.
pub async fn events(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ticket_id: Uuid,
    first: u64,
    after: Option<&Cursor>,
) -> ServiceResult<Page<ticket_event::Model>> {
    let t = get(db, actor, ticket_id).await?;
    let mut q = ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(t.id))
        .filter(ticket_event::Column::TenantId.eq(actor.tenant_id));
    if !can_see_internal(actor) {
        q = q.filter(ticket_event::Column::Internal.eq(false));
    }
    if let Some(c) = after {
        q = q.filter(ticket_event::Column::Id.gt(c.id));
    }
    let rows = q
        .order_by_asc(ticket_event::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// Loads one comment if the actor can see it (its ticket in scope, internal only for the desk).
pub async fn comment_by_id(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<Option<ticket_comment::Model>> {
    let Some(c) = ticket_comment::Entity::find_by_id(id)
        .filter(ticket_comment::Column::TenantId.eq(actor.tenant_id))
        .first(db)
        .await?
    else {
        return Ok(None);
    };
    if c.internal && !can_see_internal(actor) {
        return Ok(None);
    }
    match get(db, actor, c.ticket_id).await {
        Ok(_) => Ok(Some(c)),
        Err(ServiceError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Loads one history event if the actor can see it.
pub async fn event_by_id(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<Option<ticket_event::Model>> {
    let Some(e) = ticket_event::Entity::find_by_id(id)
        .filter(ticket_event::Column::TenantId.eq(actor.tenant_id))
        .first(db)
        .await?
    else {
        return Ok(None);
    };
    if e.internal && !can_see_internal(actor) {
        return Ok(None);
    }
    match get(db, actor, e.ticket_id).await {
        Ok(_) => Ok(Some(e)),
        Err(ServiceError::NotFound) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The first page of rows per ticket from `table`, for several tickets in one query: what a
/// list of tickets showing their comments or history needs, without a query per ticket.
async fn first_pages<M: sea_orm::FromQueryResult + HasTicket>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    table: &str,
    ticket_ids: &[Uuid],
    first: u64,
) -> ServiceResult<HashMap<Uuid, Page<M>>> {
    let visible: Vec<Uuid> = get_many(db, actor, ticket_ids)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut out: HashMap<Uuid, Page<M>> = visible.iter().map(|id| (*id, Page::default())).collect();
    if visible.is_empty() {
        return Ok(out);
    }
    let backend = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = vec![actor.tenant_id.into()];
    values.extend(visible.iter().map(|id| sea_orm::Value::from(*id)));
    let ids = crate::db::placeholders(backend, 2, visible.len());
    let mut next = visible.len() + 2;
    let internal = if can_see_internal(actor) {
        String::new()
    } else {
        values.push(false.into());
        next += 1;
        format!(
            " AND internal = {}",
            crate::db::placeholders(backend, next - 1, 1)
        )
    };
    values.push(i64::try_from(first + 1).unwrap_or(i64::MAX).into());
    let limit = crate::db::placeholders(backend, next, 1);
    let sql = format!(
        "SELECT * FROM (SELECT {table}.*, ROW_NUMBER() OVER (PARTITION BY ticket_id ORDER BY id) AS rn \
         FROM {table} WHERE tenant_id = {tenant} AND ticket_id IN ({ids}){internal}) AS paged \
         WHERE paged.rn <= {limit} ORDER BY ticket_id, id",
        tenant = crate::db::placeholders(backend, 1, 1),
    );
    let rows = M::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    for row in rows {
        if let Some(page) = out.get_mut(&row.ticket_id()) {
            if page.items.len() as u64 == first {
                page.has_next = true;
            } else {
                page.items.push(row);
            }
        }
    }
    Ok(out)
}

/// A row that belongs to a ticket.
trait HasTicket {
    fn ticket_id(&self) -> Uuid;
}

impl HasTicket for ticket_comment::Model {
    fn ticket_id(&self) -> Uuid {
        self.ticket_id
    }
}

impl HasTicket for ticket_event::Model {
    fn ticket_id(&self) -> Uuid {
        self.ticket_id
    }
}

/// The first `first` comments of each ticket in scope (internal ones only for the desk).
pub async fn first_comments(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ticket_ids: &[Uuid],
    first: u64,
) -> ServiceResult<HashMap<Uuid, Page<ticket_comment::Model>>> {
    first_pages(db, actor, "ticket_comments", ticket_ids, first).await
}

/// The first `first` history events of each ticket in scope (internal ones only for the desk).
pub async fn first_events(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ticket_ids: &[Uuid],
    first: u64,
) -> ServiceResult<HashMap<Uuid, Page<ticket_event::Model>>> {
    first_pages(db, actor, "ticket_events", ticket_ids, first).await
}

/// Counts the comments the actor can see on each ticket in scope, in one query.
pub async fn comment_counts(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ticket_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, u64>> {
    let visible: Vec<Uuid> = get_many(db, actor, ticket_ids)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut out: HashMap<Uuid, u64> = visible.iter().map(|id| (*id, 0)).collect();
    if visible.is_empty() {
        return Ok(out);
    }
    let mut q = ticket_comment::Entity::find()
        .select_only()
        .column(ticket_comment::Column::TicketId)
        .column_as(Expr::col(ticket_comment::Column::Id).count(), "n")
        .filter(ticket_comment::Column::TenantId.eq(actor.tenant_id))
        .filter(ticket_comment::Column::TicketId.is_in(visible));
    if !can_see_internal(actor) {
        q = q.filter(ticket_comment::Column::Internal.eq(false));
    }
    let rows: Vec<(Uuid, i64)> = q
        .group_by(ticket_comment::Column::TicketId)
        .into_tuple()
        .all(db)
        .await?;
    for (id, n) in rows {
        out.insert(id, u64::try_from(n).unwrap_or(0));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::OPEN_STATUSES_SQL;
    use crate::tickets::workflow::OPEN_STATUSES;
    use entity::TicketStatus;
    use sea_orm::{ActiveEnum, Iterable};

    #[test]
    fn the_open_statuses_predicate_lists_exactly_the_open_statuses() {
        let values: Vec<String> = OPEN_STATUSES
            .iter()
            .map(|s| format!("'{}'", s.to_value()))
            .collect();
        assert_eq!(
            OPEN_STATUSES_SQL,
            format!("status IN ({})", values.join(", "))
        );
        let closed: Vec<TicketStatus> = TicketStatus::iter()
            .filter(|s| !OPEN_STATUSES.contains(s))
            .collect();
        assert_eq!(closed, [TicketStatus::Resolved, TicketStatus::Closed]);
    }
}
