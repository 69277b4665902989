//! Desk calendars and SLA policies as the desk reads them and an admin changes them.
//!
//! A changed calendar applies to deadlines computed from then on (new tickets, status changes,
//! priority changes); deadlines already stored stay as they were promised.

use crate::auth::{Actor, Role};
use crate::calendar::{
    CalendarError, CalendarSpec, ClosedReason, DeskCalendar, MonthlyClosure, TimeWindow,
    WeeklyWindow,
};
use crate::error::{ServiceError, ServiceResult, UserError};
use crate::tickets::now;
use chrono::NaiveDate;
use entity::{desk_calendar, sla_policy};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

/// Longest range `closed_days` answers for, in days.
pub const MAX_RANGE_DAYS: i64 = 400;

fn desk_only(actor: &Actor) -> ServiceResult<()> {
    if actor.is_desk() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "only the desk reads calendars and policies",
        ))
    }
}

/// Parses a stored calendar row's spec.
pub fn spec_of(row: &desk_calendar::Model) -> ServiceResult<CalendarSpec> {
    serde_json::from_value(row.spec.clone())
        .map_err(|e| ServiceError::Config(format!("calendar {}: {e}", row.id)))
}

/// Lists the tenant's desk calendars, the default first (desk only).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> ServiceResult<Vec<desk_calendar::Model>> {
    desk_only(actor)?;
    Ok(desk_calendar::Entity::find()
        .filter(desk_calendar::Column::TenantId.eq(actor.tenant_id))
        .order_by_desc(desk_calendar::Column::IsDefault)
        .order_by_asc(desk_calendar::Column::Name)
        .all(db)
        .await?)
}

/// Loads one calendar of the tenant (desk only).
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<desk_calendar::Model> {
    desk_only(actor)?;
    desk_calendar::Entity::find_by_id(id)
        .filter(desk_calendar::Column::TenantId.eq(actor.tenant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Lists the tenant's SLA policies (desk only).
pub async fn policies(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> ServiceResult<Vec<sla_policy::Model>> {
    desk_only(actor)?;
    Ok(sla_policy::Entity::find()
        .filter(sla_policy::Column::TenantId.eq(actor.tenant_id))
        .order_by_asc(sla_policy::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Returns every closed day of a calendar in `[from, to]` with its reason, for showing the
/// desk's year (祝日, 年末年始, 閉庁日) on a calendar screen.
pub fn closed_days(
    spec: &CalendarSpec,
    from: NaiveDate,
    to: NaiveDate,
) -> ServiceResult<Vec<(NaiveDate, ClosedReason)>> {
    if to < from || (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(ServiceError::invalid(
            "to",
            "OUT_OF_RANGE",
            format!("期間は{MAX_RANGE_DAYS}日以内で指定してください"),
        ));
    }
    let cal = DeskCalendar::new(spec).map_err(|e| ServiceError::Config(e.to_string()))?;
    Ok(from
        .iter_days()
        .take_while(|d| *d <= to)
        .filter_map(|d| cal.is_closed_day(d).map(|r| (d, r)))
        .filter(|(_, r)| !matches!(r, ClosedReason::NoHours))
        .collect())
}

/// Changes to a calendar; `None` keeps a part as it is.
#[derive(Debug, Clone, Default)]
pub struct CalendarPatch {
    pub name: Option<String>,
    pub weekly: Option<Vec<WeeklyWindow>>,
    pub holiday_windows: Option<Vec<TimeWindow>>,
    pub observe_national_holidays: Option<bool>,
    pub year_end_closure: Option<bool>,
    pub monthly_closures: Option<Vec<MonthlyClosure>>,
    pub closed_dates: Option<Vec<NaiveDate>>,
}

fn calendar_error_ja(e: &CalendarError) -> (&'static str, String) {
    match e {
        CalendarError::UnknownTimeZone(tz) => {
            ("timeZone", format!("タイムゾーン「{tz}」は使えません"))
        }
        CalendarError::EmptyWindow { start, end, .. } => (
            "weeklyHours",
            format!("{start}〜{end} は終了が開始より後になっていません"),
        ),
        CalendarError::OverlappingWindows {
            first_start,
            first_end,
            second_start,
            second_end,
            ..
        } => (
            "weeklyHours",
            format!(
                "受付時間帯 {first_start}〜{first_end} と {second_start}〜{second_end} が重なっています"
            ),
        ),
        CalendarError::NthOutOfRange(n) => (
            "monthlyClosures",
            format!("第{n}週は指定できません（1〜5）"),
        ),
        CalendarError::TooManyFollowingDays(n) => (
            "monthlyClosures",
            format!("続く休業日は6日までです（{n}日）"),
        ),
        CalendarError::NoOpeningHours => ("weeklyHours", "受付時間帯が一つもありません".to_owned()),
    }
}

/// Changes a calendar (admin only). An invalid result is refused with a user error and nothing is written.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    patch: CalendarPatch,
) -> ServiceResult<desk_calendar::Model> {
    let txn = db.begin().await?;
    let row = desk_calendar::Entity::find_by_id(id)
        .filter(desk_calendar::Column::TenantId.eq(actor.tenant_id))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !actor.has(Role::Admin) {
        return Err(ServiceError::Forbidden("only an admin changes calendars"));
    }
    let mut spec = spec_of(&row)?;
    let mut errors = vec![];
    if let Some(name) = &patch.name
        && (name.trim().is_empty() || name.chars().count() > 100)
    {
        errors.push(UserError::new(
            "name",
            "INVALID_VALUE",
            "名称は1〜100文字で入力してください",
        ));
    }
    if let Some(dates) = &patch.closed_dates
        && dates.len() > 366
    {
        errors.push(UserError::new(
            "closedDates",
            "TOO_LONG",
            "休業日は366件までです",
        ));
    }
    if let Some(w) = patch.weekly {
        spec.weekly = w;
    }
    if let Some(w) = patch.holiday_windows {
        spec.holiday_windows = w;
    }
    if let Some(b) = patch.observe_national_holidays {
        spec.observe_national_holidays = b;
    }
    if let Some(b) = patch.year_end_closure {
        spec.year_end_closure = b;
    }
    if let Some(m) = patch.monthly_closures {
        spec.monthly_closures = m;
    }
    if let Some(mut d) = patch.closed_dates {
        d.sort();
        d.dedup();
        spec.closed_dates = d;
    }
    if let Err(e) = spec.validate() {
        let (field, message) = calendar_error_ja(&e);
        errors.push(UserError::new(field, "INVALID_CALENDAR", message));
    }
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let mut next = row.clone();
    if let Some(name) = patch.name {
        next.name = name.trim().to_owned();
    }
    next.spec = serde_json::to_value(&spec).map_err(|e| ServiceError::Config(e.to_string()))?;
    next.updated_at = now().max(row.updated_at + chrono::Duration::microseconds(1));
    let saved = next.into_active_model().reset_all().update(&txn).await?;
    txn.commit().await?;
    tracing::info!(calendar_id = %saved.id, actor = %actor.person_id, "desk calendar changed");
    Ok(saved)
}
