//! The SLA clock: which policy applies, when things are due, and marking breaches.

use crate::calendar::{CalendarSpec, ClosedReason, DeskCalendar, japanese_holiday_name};
use crate::db::First as _;
use crate::error::{ServiceError, ServiceResult};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use entity::{Priority, SlaClock, TicketKind, desk_calendar, sla_policy, ticket, ticket_event};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
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
        Some(end_of_nth_working_day_after(&self.business, resolved, days))
    }
}

/// Returns whether `date` is a working day of the administration (開庁日): a weekday that is not
/// a national holiday, not in 年末年始 and not one of the tenant's closed days.
///
/// Report deadlines such as "障害対応後3日（休日を含まない。）" count these days, not the days the
/// desk happens to be staffed: a desk open on Saturdays does not make Saturday a working day.
pub fn is_working_day(cal: &DeskCalendar, date: NaiveDate) -> bool {
    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    let year_end =
        (date.month() == 12 && date.day() >= 29) || (date.month() == 1 && date.day() <= 3);
    let tenant_closed = matches!(cal.is_closed_day(date), Some(ClosedReason::TenantClosedDay));
    !weekend && !year_end && !tenant_closed && japanese_holiday_name(date).is_none()
}

/// Returns the end of the `n`-th working day after the local date of `t`: the desk's last
/// closing time that day, or local midnight if the desk has no hours then.
pub fn end_of_nth_working_day_after(cal: &DeskCalendar, t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    let mut date = cal.local_date(t);
    let mut found = 0;
    // A year holds far more than any report deadline's working days; the bound only guards
    // against a calendar whose every day is closed.
    for _ in 0..3660 {
        let Some(next) = date.succ_opt() else { break };
        date = next;
        if is_working_day(cal, date) {
            found += 1;
            if found >= n {
                if let Some((_, close)) = cal.windows_on(date).last() {
                    return *close;
                }
                let midnight = date.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0));
                if let Some(local) =
                    midnight.and_then(|m| m.and_local_timezone(cal.time_zone()).earliest())
                {
                    return local.with_timezone(&Utc);
                }
            }
        }
    }
    DateTime::<Utc>::MAX_UTC
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

/// Finds the most specific policy for a kind and priority: kind and priority both matching beats
/// kind only, which beats priority only, which beats the catch-all.
pub async fn policy_for(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    kind: TicketKind,
    priority: Priority,
) -> ServiceResult<Option<ResolvedPolicy>> {
    if let Some(known) = crate::deferred::policy(tenant_id, kind, priority) {
        return Ok(known);
    }
    let found = find_policy(db, tenant_id, kind, priority).await?;
    crate::deferred::remember_policy(tenant_id, kind, priority, &found);
    Ok(found)
}

async fn find_policy(
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
        .max_by_key(|p| {
            (
                p.kind.is_some(),
                p.priority.is_some(),
                std::cmp::Reverse(p.created_at),
            )
        });
    let Some(policy) = best else {
        return Ok(None);
    };
    let row = desk_calendar::Entity::find_by_id(policy.calendar_id)
        .first(db)
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
    let due = ticket::Entity::find()
        .filter(ticket::Column::Status.is_in(crate::tickets::workflow::OPEN_STATUSES))
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
        // One order for every job, so that concurrent jobs lock rows in the same order.
        .order_by_asc(ticket::Column::Id)
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
        // Only if nobody changed the ticket since we read it: another process running this job
        // (several API processes on PostgreSQL) or a concurrent write. Whoever lost skips the
        // ticket, so a breach is never recorded twice; the next run looks again.
        let res = ticket::Entity::update_many()
            .set(am)
            .filter(ticket::Column::Id.eq(t.id))
            .filter(ticket::Column::Version.eq(t.version))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            continue;
        }
        let mut updated = t.clone();
        updated.version = t.version + 1;
        for (target, due_at) in &which {
            match *target {
                "response" => updated.response_breached_at = Some(*due_at),
                _ => updated.resolution_breached_at = Some(*due_at),
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{TimeWindow, WeeklyWindow};
    use chrono::{NaiveTime, TimeZone};
    use chrono_tz::Asia::Tokyo;

    fn jst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Tokyo
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn report_deadlines_skip_weekends_even_at_a_desk_open_on_weekends() {
        // Seed 001's desk: weekdays 8:00–19:30, weekends and holidays 8:30–17:00.
        let mut spec = CalendarSpec::standard_weekdays();
        spec.weekly = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|weekday| WeeklyWindow {
            weekday,
            start: t(8, 0),
            end: t(19, 30),
        })
        .chain(
            [Weekday::Sat, Weekday::Sun]
                .into_iter()
                .map(|weekday| WeeklyWindow {
                    weekday,
                    start: t(8, 30),
                    end: t(17, 0),
                }),
        )
        .collect();
        spec.holiday_windows = vec![TimeWindow {
            start: t(8, 30),
            end: t(17, 0),
        }];
        let cal = DeskCalendar::new(&spec).unwrap();
        // Resolved Friday 2026-07-17; 7/18–19 weekend, 7/20 海の日 (the desk is open on all three).
        let due = end_of_nth_working_day_after(&cal, jst(2026, 7, 17, 15, 0), 3);
        assert_eq!(due, jst(2026, 7, 23, 19, 30));
        assert!(!is_working_day(
            &cal,
            NaiveDate::from_ymd_opt(2026, 7, 20).unwrap()
        ));
        assert!(!is_working_day(
            &cal,
            NaiveDate::from_ymd_opt(2027, 1, 2).unwrap()
        ));
        assert!(is_working_day(
            &cal,
            NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()
        ));
    }

    #[test]
    fn tenant_closed_days_do_not_count_as_working_days() {
        let mut spec = CalendarSpec::standard_weekdays();
        spec.closed_dates = vec![
            NaiveDate::from_ymd_opt(2026, 8, 13).unwrap(),
            NaiveDate::from_ymd_opt(2026, 8, 14).unwrap(),
        ];
        let cal = DeskCalendar::new(&spec).unwrap();
        // Resolved Wed 8/12: Thu/Fri closed (学校閉庁日), so Mon 8/17, Tue 8/18, Wed 8/19.
        assert_eq!(
            end_of_nth_working_day_after(&cal, jst(2026, 8, 12, 10, 0), 3),
            jst(2026, 8, 19, 17, 30)
        );
    }
}
