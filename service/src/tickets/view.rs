//! Ticket lists that read only the columns their caller shows.
//!
//! A console list shows numbers, titles, people and SLA clocks; copying every description,
//! failure report and security register text out of the database for it is most of a list's
//! cost on SQLite (sqlx copies each value of each row across a thread). [`list_view`] reads the
//! columns named in a [`TicketColumns`] set and says which ones it read; the other fields of
//! the [`TicketView`]'s row hold placeholders that must not be shown. `api` chooses the set
//! from the GraphQL selection and fetches the whole row for any field it did not foresee.

use super::read::{TicketFilter, TicketOrder};
use crate::auth::Actor;
use crate::error::ServiceResult;
use crate::page::{Cursor, Page};
use chrono::DateTime;
use entity::{Channel, Priority, TicketKind, TicketStatus, ticket};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, QuerySelect, QueryTrait, Statement};
use uuid::Uuid;

/// A set of ticket columns, one bit per [`ticket::Column`]. The id is always in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketColumns(u64);

impl TicketColumns {
    /// Just the id.
    pub const fn id_only() -> Self {
        Self(bit(ticket::Column::Id))
    }

    /// The id and `columns`.
    pub const fn of(columns: &[ticket::Column]) -> Self {
        let mut set = Self::id_only();
        let mut i = 0;
        while i < columns.len() {
            set = set.with(columns[i]);
            i += 1;
        }
        set
    }

    /// Every column: the whole row.
    pub fn all() -> Self {
        use sea_orm::Iterable;
        ticket::Column::iter().fold(Self::id_only(), Self::with)
    }

    /// This set plus `column`.
    #[must_use]
    pub const fn with(self, column: ticket::Column) -> Self {
        Self(self.0 | bit(column))
    }

    /// This set plus everything in `other`.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every column of `other` is in this set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `column` is in this set.
    pub const fn has(self, column: ticket::Column) -> bool {
        self.0 & bit(column) != 0
    }

    /// The columns of this set, in the table's order.
    pub fn columns(self) -> Vec<ticket::Column> {
        use sea_orm::Iterable;
        ticket::Column::iter().filter(|c| self.has(*c)).collect()
    }
}

const fn bit(column: ticket::Column) -> u64 {
    1 << (column as u32)
}

/// A ticket read with some of its columns: fields outside `loaded` hold placeholders.
#[derive(Debug, Clone)]
pub struct TicketView {
    pub row: ticket::Model,
    pub loaded: TicketColumns,
}

impl From<ticket::Model> for TicketView {
    fn from(row: ticket::Model) -> Self {
        Self {
            row,
            loaded: TicketColumns::all(),
        }
    }
}

/// [`super::list`] reading only `columns` (plus the id and the sort column the cursor needs).
pub async fn list_view(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &TicketFilter,
    order: TicketOrder,
    first: u64,
    after: Option<&Cursor>,
    columns: TicketColumns,
) -> ServiceResult<Page<TicketView>> {
    let loaded = columns.with(order.field.column());
    if loaded == TicketColumns::all() {
        let page = super::read::list(db, actor, filter, order, first, after).await?;
        return Ok(Page {
            items: page.items.into_iter().map(TicketView::from).collect(),
            has_next: page.has_next,
        });
    }
    let picked = loaded.columns();
    let stmt = list_view_statement(db, actor, filter, order, first, after, &picked).await?;
    let rows = db.query_all_raw(stmt).await?;
    let items = rows
        .iter()
        .map(|r| decode(r, &picked).map(|row| TicketView { row, loaded }))
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(Page::from_overfetch(items, first))
}

/// The statement [`list_view`] runs for `picked` columns (public so that tests can ask the
/// database how it plans it).
pub async fn list_view_statement(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &TicketFilter,
    order: TicketOrder,
    first: u64,
    after: Option<&Cursor>,
    picked: &[ticket::Column],
) -> ServiceResult<Statement> {
    let query = super::read::list_query(db, actor, filter, order, first, after)
        .await?
        .select_only()
        .columns(picked.iter().copied());
    let mut stmt = query.build(db.get_database_backend());
    crate::db::inline_limit(&mut stmt);
    Ok(stmt)
}

/// A row whose every field is a placeholder, to be filled by [`decode`].
fn placeholder() -> ticket::Model {
    let epoch = DateTime::UNIX_EPOCH;
    ticket::Model {
        id: Uuid::nil(),
        tenant_id: Uuid::nil(),
        number: String::new(),
        kind: TicketKind::Inquiry,
        channel: Channel::Web,
        status: TicketStatus::New,
        priority: Priority::Normal,
        severity: None,
        impact: None,
        title: String::new(),
        description: String::new(),
        category_id: None,
        requester_id: None,
        org_unit_id: None,
        assignee_id: None,
        escalation_vendor_id: None,
        out_of_scope: false,
        out_of_scope_system: None,
        cause: None,
        interim_measure: None,
        recovery_outlook: None,
        recurrence_prevention: None,
        failure_report_due_at: None,
        failure_report_submitted_at: None,
        security_occurred_on: None,
        security_event: None,
        security_interim_action: None,
        security_permanent_action: None,
        security_report_stage: None,
        sla_policy_id: None,
        response_due_at: None,
        resolution_due_at: None,
        first_responded_at: None,
        sla_paused_at: None,
        sla_paused_secs: 0,
        response_breached_at: None,
        resolution_breached_at: None,
        resolved_at: None,
        closed_at: None,
        created_at: epoch,
        updated_at: epoch,
        version: 0,
    }
}

/// Reads a row selected as `picked` (in that order), by position.
fn decode(r: &QueryResult, picked: &[ticket::Column]) -> Result<ticket::Model, DbErr> {
    use ticket::Column as C;
    let mut m = placeholder();
    for (i, column) in picked.iter().enumerate() {
        match column {
            C::Id => m.id = r.try_get_by_index(i)?,
            C::TenantId => m.tenant_id = r.try_get_by_index(i)?,
            C::Number => m.number = r.try_get_by_index(i)?,
            C::Kind => m.kind = r.try_get_by_index(i)?,
            C::Channel => m.channel = r.try_get_by_index(i)?,
            C::Status => m.status = r.try_get_by_index(i)?,
            C::Priority => m.priority = r.try_get_by_index(i)?,
            C::Severity => m.severity = r.try_get_by_index(i)?,
            C::Impact => m.impact = r.try_get_by_index(i)?,
            C::Title => m.title = r.try_get_by_index(i)?,
            C::Description => m.description = r.try_get_by_index(i)?,
            C::CategoryId => m.category_id = r.try_get_by_index(i)?,
            C::RequesterId => m.requester_id = r.try_get_by_index(i)?,
            C::OrgUnitId => m.org_unit_id = r.try_get_by_index(i)?,
            C::AssigneeId => m.assignee_id = r.try_get_by_index(i)?,
            C::EscalationVendorId => m.escalation_vendor_id = r.try_get_by_index(i)?,
            C::OutOfScope => m.out_of_scope = r.try_get_by_index(i)?,
            C::OutOfScopeSystem => m.out_of_scope_system = r.try_get_by_index(i)?,
            C::Cause => m.cause = r.try_get_by_index(i)?,
            C::InterimMeasure => m.interim_measure = r.try_get_by_index(i)?,
            C::RecoveryOutlook => m.recovery_outlook = r.try_get_by_index(i)?,
            C::RecurrencePrevention => m.recurrence_prevention = r.try_get_by_index(i)?,
            C::FailureReportDueAt => m.failure_report_due_at = r.try_get_by_index(i)?,
            C::FailureReportSubmittedAt => m.failure_report_submitted_at = r.try_get_by_index(i)?,
            C::SecurityOccurredOn => m.security_occurred_on = r.try_get_by_index(i)?,
            C::SecurityEvent => m.security_event = r.try_get_by_index(i)?,
            C::SecurityInterimAction => m.security_interim_action = r.try_get_by_index(i)?,
            C::SecurityPermanentAction => m.security_permanent_action = r.try_get_by_index(i)?,
            C::SecurityReportStage => m.security_report_stage = r.try_get_by_index(i)?,
            C::SlaPolicyId => m.sla_policy_id = r.try_get_by_index(i)?,
            C::ResponseDueAt => m.response_due_at = r.try_get_by_index(i)?,
            C::ResolutionDueAt => m.resolution_due_at = r.try_get_by_index(i)?,
            C::FirstRespondedAt => m.first_responded_at = r.try_get_by_index(i)?,
            C::SlaPausedAt => m.sla_paused_at = r.try_get_by_index(i)?,
            C::SlaPausedSecs => m.sla_paused_secs = r.try_get_by_index(i)?,
            C::ResponseBreachedAt => m.response_breached_at = r.try_get_by_index(i)?,
            C::ResolutionBreachedAt => m.resolution_breached_at = r.try_get_by_index(i)?,
            C::ResolvedAt => m.resolved_at = r.try_get_by_index(i)?,
            C::ClosedAt => m.closed_at = r.try_get_by_index(i)?,
            C::CreatedAt => m.created_at = r.try_get_by_index(i)?,
            C::UpdatedAt => m.updated_at = r.try_get_by_index(i)?,
            C::Version => m.version = r.try_get_by_index(i)?,
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::TicketColumns;
    use entity::ticket;
    use sea_orm::Iterable;

    #[test]
    fn every_column_has_a_bit_and_sets_combine() {
        // One bit per column in a u64: a 65th column needs a wider set.
        assert!(ticket::Column::iter().count() <= 64);
        let all = TicketColumns::all();
        assert!(ticket::Column::iter().all(|c| all.has(c)));
        assert_eq!(all.columns().len(), ticket::Column::iter().count());
        let some = TicketColumns::of(&[ticket::Column::Title, ticket::Column::Status]);
        let names: Vec<String> = some.columns().iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(
            names,
            ["Id", "Status", "Title"],
            "the id always, then the table's order"
        );
        assert!(all.contains(some) && !some.contains(all));
        assert!(!some.has(ticket::Column::Description));
        assert_eq!(
            some.union(TicketColumns::id_only().with(ticket::Column::Description))
                .columns()
                .len(),
            4
        );
    }
}
