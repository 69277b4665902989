//! The SLA clock: which policy applies, when things are due, and marking breaches.

use crate::calendar::{CalendarSpec, DeskCalendar};
use crate::error::{ServiceError, ServiceResult};
use chrono::{DateTime, Duration, Utc};
use entity::{
    Priority, SlaClock, TicketKind, TicketStatus, desk_calendar, sla_policy, ticket, ticket_event,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Condition, EntityTrait, QueryFilter,
    DatabaseConnection, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use uuid::Uuid;

/// A policy together with the calendar its clock runs on.
#[derive(Clone)]
pub struct ResolvedPolicy {
    pub policy: sla_policy::Model,
    /// The clock for response and resolution targets (continuous for 24h policies).
    pub clock: Arc<DeskCalendar>,
    /// The desk's business calendar, for the failure-report deadline (休日を含まない).
    pub business: Arc<DeskCalendar>,
}

impl ResolvedPolicy {
    /// Returns when the first response (着手) is due for a ticket created at `created`.
    pub fn response_due(&self, created: DateTime<Utc>) -> DateTime<Utc> {
        self.clock.add_business_time(
            created,
            Duration::minutes(i64::from(self.policy.response_minutes)),
        )
    }

    /// Returns when resolution is due, after `paused_secs` of clock time spent waiting on the requester.
    ///
    /// Adding the paused time to the target from the original start gives the same instant as
    /// re-adding the remaining time at resume, and it survives recomputation (a priority change).
    pub fn resolution_due(&self, created: DateTime<Utc>, paused_secs: i64) -> DateTime<Utc> {
        self.clock.add_business_time(
            created,
            Duration::minutes(i64::from(self.policy.resolution_minutes))
                + Duration::seconds(paused_secs.max(0)),
        )
    }

    /// Returns the clock time between `a` and `b` on this policy's clock.
    pub fn clock_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        self.clock.business_time_between(a, b)
    }

    /// Returns when the failure report (障害報告書) is due for a ticket resolved at `resolved`.
    pub fn failure_report_due(&self, resolved: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let days = u32::try_from(self.policy.failure_report_business_days?).ok()?;
        Some(self.business.end_of_nth_business_day_after(resolved, days))
    }
}

type CalendarCache = Mutex<HashMap<Uuid, (DateTime<Utc>, Arc<DeskCalendar>)>>;

fn cache() -> &'static CalendarCache {
    static CACHE: OnceLock<CalendarCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn compile(row: &desk_calendar::Model) -> ServiceResult<Arc<DeskCalendar>> {
    if let Ok(guard) = cache().lock()
        && let Some((stamp, cal)) = guard.get(&row.id)
        && *stamp == row.updated_at
    {
        return Ok(cal.clone());
    }
    let spec: CalendarSpec = serde_json::from_value(row.spec.clone())
        .map_err(|e| ServiceError::Config(format!("calendar {}: {e}", row.id)))?;
    let cal = Arc::new(
        DeskCalendar::new(&spec)
            .map_err(|e| ServiceError::Config(format!("calendar {}: {e}", row.id)))?,
    );
    if let Ok(mut guard) = cache().lock() {
        guard.insert(row.id, (row.updated_at, cal.clone()));
    }
    Ok(cal)
}

/// Loads the tenant's default business calendar.
pub async fn default_calendar(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> ServiceResult<Option<Arc<DeskCalendar>>> {
    let row = desk_calendar::Entity::find()
        .filter(desk_calendar::Column::TenantId.eq(tenant_id))
        .order_by_desc(desk_calendar::Column::IsDefault)
        .order_by_asc(desk_calendar::Column::CreatedAt)
        .one(db)
        .await?;
    row.as_ref().map(compile).transpose()
}

/// Finds the most specific policy for a kind and priority: kind and priority both matching beats
/// kind only, which beats priority only, which beats the catch-all.
pub async fn policy_for(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    kind: TicketKind,
    priority: Priority,
) -> ServiceResult<Option<ResolvedPolicy>> {
    let policies = sla_policy::Entity::find()
        .filter(sla_policy::Column::TenantId.eq(tenant_id))
        .filter(
            Condition::any()
                .add(sla_policy::Column::Kind.eq(kind))
                .add(sla_policy::Column::Kind.is_null()),
        )
        .all(db)
        .await?;
    let best = policies
        .into_iter()
        .filter(|p| p.priority.is_none_or(|pr| pr == priority))
        .max_by_key(|p| (p.kind.is_some(), p.priority.is_some(), std::cmp::Reverse(p.created_at)));
    let Some(policy) = best else {
        return Ok(None);
    };
    let row = desk_calendar::Entity::find_by_id(policy.calendar_id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::Config(format!("policy {} has no calendar", policy.id)))?;
    let business = compile(&row)?;
    let clock = match policy.clock {
        SlaClock::Business => business.clone(),
        SlaClock::Continuous => Arc::new(DeskCalendar::continuous()),
    };
    Ok(Some(ResolvedPolicy {
        policy,
        clock,
        business,
    }))
}

/// A breach the job recorded.
#[derive(Debug, Clone)]
pub struct Breach {
    pub ticket: ticket::Model,
    pub event: ticket_event::Model,
}

/// Marks every response and resolution deadline passed before `now` as breached, once, with an
/// `sla_breached` event per breach. Paused and finished tickets are skipped. Returns what it marked.
pub async fn mark_breaches(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    batch: u64,
) -> ServiceResult<Vec<Breach>> {
    let txn = db.begin().await?;
    let open = [
        TicketStatus::New,
        TicketStatus::InProgress,
        TicketStatus::WaitingOnVendor,
        TicketStatus::Escalated,
        TicketStatus::WaitingOnRequester,
    ];
    let due = ticket::Entity::find()
        .filter(ticket::Column::Status.is_in(open))
        .filter(ticket::Column::SlaPausedAt.is_null())
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(ticket::Column::ResponseBreachedAt.is_null())
                        .add(ticket::Column::FirstRespondedAt.is_null())
                        .add(ticket::Column::ResponseDueAt.lt(now)),
                )
                .add(
                    Condition::all()
                        .add(ticket::Column::ResolutionBreachedAt.is_null())
                        .add(ticket::Column::ResolutionDueAt.lt(now)),
                ),
        )
        .limit(batch)
        .all(&txn)
        .await?;
    let mut out = Vec::new();
    for t in due {
        let mut which = Vec::new();
        let mut am: ticket::ActiveModel = t.clone().into();
        if t.response_breached_at.is_none()
            && t.first_responded_at.is_none()
            && let Some(d) = t.response_due_at.filter(|d| *d < now)
        {
            am.response_breached_at = Set(Some(d));
            which.push(("response", d));
        }
        if t.resolution_breached_at.is_none()
            && let Some(d) = t.resolution_due_at.filter(|d| *d < now)
        {
            am.resolution_breached_at = Set(Some(d));
            which.push(("resolution", d));
        }
        am.version = Set(t.version + 1);
        let updated = am.update(&txn).await?;
        for (target, due_at) in which {
            let event = crate::tickets::record_event(
                &txn,
                &updated,
                None,
                "sla_breached",
                serde_json::json!({ "target": target, "dueAt": due_at }),
                false,
                now,
            )
            .await?;
            out.push(Breach {
                ticket: updated.clone(),
                event,
            });
        }
    }
    txn.commit().await?;
    Ok(out)
}
