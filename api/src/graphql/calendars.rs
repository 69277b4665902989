//! Desk calendars and SLA policies in GraphQL.

use super::context::CtxExt;
use super::enums::{Priority, TicketKind};
use super::errors::{ApiResult, svc};
use super::ids::{NodeType, encode};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use entity::{desk_calendar, sla_policy};
use service::calendar::{self, CalendarSpec, ClosedReason};
use service::calendars;

/// A day of the week.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "chrono::Weekday")]
pub enum Weekday {
    /// 月曜日
    Mon,
    /// 火曜日
    Tue,
    /// 水曜日
    Wed,
    /// 木曜日
    Thu,
    /// 金曜日
    Fri,
    /// 土曜日
    Sat,
    /// 日曜日
    Sun,
}

/// Which clock an SLA policy runs on.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::SlaClock")]
pub enum SlaClock {
    /// The desk calendar's hours only.
    Business,
    /// Wall-clock time, 24h/365d (emergencies).
    Continuous,
}

/// Desk hours on one weekday.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "WeeklyWindowInput")]
pub struct WeeklyWindow {
    /// The weekday.
    pub weekday: Weekday,
    /// Opening time (local).
    pub start: NaiveTime,
    /// Closing time (local; 00:00 means midnight at the end of the day).
    pub end: NaiveTime,
}

/// Desk hours on national holidays.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "TimeWindowInput")]
pub struct TimeWindow {
    /// Opening time (local).
    pub start: NaiveTime,
    /// Closing time (local).
    pub end: NaiveTime,
}

/// A monthly closure such as 第3土曜日及びそれに続く日曜日.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "MonthlyClosureInput")]
pub struct MonthlyClosure {
    /// Which occurrence in the month (1–5).
    pub nth: i32,
    /// The weekday.
    pub weekday: Weekday,
    /// How many following days are closed too (0–6).
    pub and_following_days: i32,
}

/// A day the desk is closed, and why.
#[derive(SimpleObject)]
pub struct ClosedDay {
    /// The date.
    pub date: NaiveDate,
    /// Why, in Japanese (国民の祝日（元日）, 年末年始, 第3土曜日, 休業日).
    pub reason: String,
}

/// A desk calendar (受付時間): weekly hours, holidays and closures. SLA clocks follow it.
pub struct DeskCalendar {
    pub row: desk_calendar::Model,
    pub spec: CalendarSpec,
}

impl DeskCalendar {
    /// Wraps a stored calendar.
    pub fn new(row: desk_calendar::Model) -> ApiResult<Self> {
        let spec = svc(calendars::spec_of(&row))?;
        Ok(Self { row, spec })
    }
}

#[Object]
/// A desk calendar (受付時間): weekly hours, holidays and closures. SLA clocks follow it.
impl DeskCalendar {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::DeskCalendar, self.row.id)
    }
    /// 名称
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// Whether this is the tenant's default calendar.
    async fn is_default(&self) -> bool {
        self.row.is_default
    }
    /// IANA time zone of the hours (Asia/Tokyo).
    async fn time_zone(&self) -> &str {
        &self.spec.time_zone
    }
    /// Weekly desk hours; several windows a day are allowed (lunch breaks).
    async fn weekly_hours(&self) -> Vec<WeeklyWindow> {
        self.spec
            .weekly
            .iter()
            .map(|w| WeeklyWindow {
                weekday: w.weekday.into(),
                start: w.start,
                end: w.end,
            })
            .collect()
    }
    /// Hours on national holidays; empty means closed.
    async fn holiday_hours(&self) -> Vec<TimeWindow> {
        self.spec
            .holiday_windows
            .iter()
            .map(|w| TimeWindow {
                start: w.start,
                end: w.end,
            })
            .collect()
    }
    /// Whether national holidays (国民の祝日, 振替休日) follow holiday hours.
    async fn observe_national_holidays(&self) -> bool {
        self.spec.observe_national_holidays
    }
    /// Whether 12/29–1/3 (年末年始) is closed.
    async fn year_end_closure(&self) -> bool {
        self.spec.year_end_closure
    }
    /// Monthly closures.
    async fn monthly_closures(&self) -> Vec<MonthlyClosure> {
        self.spec
            .monthly_closures
            .iter()
            .map(|m| MonthlyClosure {
                nth: i32::from(m.nth),
                weekday: m.weekday.into(),
                and_following_days: i32::from(m.and_following_days),
            })
            .collect()
    }
    /// The tenant's own closed days (閉庁日, 学校閉庁日).
    async fn closed_dates(&self) -> &[NaiveDate] {
        &self.spec.closed_dates
    }
    /// Every closed day between two dates (at most 400 days), with the reason.
    async fn closed_days(&self, from: NaiveDate, to: NaiveDate) -> ApiResult<Vec<ClosedDay>> {
        Ok(svc(calendars::closed_days(&self.spec, from, to))?
            .into_iter()
            .map(|(date, reason)| ClosedDay {
                date,
                reason: label(&reason),
            })
            .collect())
    }
    /// When the calendar last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

fn label(r: &ClosedReason) -> String {
    r.label_ja()
}

/// An SLA policy: response and resolution targets for a kind and priority.
pub struct SlaPolicy(pub sla_policy::Model);

#[Object]
/// An SLA policy: response and resolution targets for a kind and priority (most specific wins).
impl SlaPolicy {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::SlaPolicy, self.0.id)
    }
    /// 名称
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The kind it applies to; null for every kind.
    async fn kind(&self) -> Option<TicketKind> {
        self.0.kind.map(Into::into)
    }
    /// The priority it applies to; null for every priority.
    async fn priority(&self) -> Option<Priority> {
        self.0.priority.map(Into::into)
    }
    /// Business hours or a 24h clock.
    async fn clock(&self) -> SlaClock {
        self.0.clock.into()
    }
    /// First response (着手) target, in minutes of the clock.
    async fn response_minutes(&self) -> i32 {
        self.0.response_minutes
    }
    /// Resolution (復旧) target, in minutes of the clock.
    async fn resolution_minutes(&self) -> i32 {
        self.0.resolution_minutes
    }
    /// Working days after resolution by which the failure report is due; null if none is needed.
    async fn failure_report_business_days(&self) -> Option<i32> {
        self.0.failure_report_business_days
    }
    /// The calendar its business clock follows.
    async fn calendar(&self, ctx: &Context<'_>) -> ApiResult<DeskCalendar> {
        let actor = ctx.actor()?;
        DeskCalendar::new(svc(calendars::get(
            &ctx.state().db.read,
            actor,
            self.0.calendar_id,
        )
        .await)?)
    }
}

/// Input of `updateDeskCalendar` (admin only). Omitted parts stay; lists replace the whole list.
#[derive(InputObject)]
pub struct UpdateDeskCalendarInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The DeskCalendar ID.
    pub calendar_id: ID,
    /// 名称 (1–100 characters).
    pub name: Option<String>,
    /// Weekly hours.
    pub weekly_hours: Option<Vec<WeeklyWindow>>,
    /// Hours on national holidays (empty: closed).
    pub holiday_hours: Option<Vec<TimeWindow>>,
    /// Whether national holidays follow holiday hours.
    pub observe_national_holidays: Option<bool>,
    /// Whether 12/29–1/3 is closed.
    pub year_end_closure: Option<bool>,
    /// Monthly closures.
    pub monthly_closures: Option<Vec<MonthlyClosure>>,
    /// The tenant's own closed days (at most 366).
    pub closed_dates: Option<Vec<NaiveDate>>,
}

impl UpdateDeskCalendarInput {
    /// Converts to the service patch; out-of-range numbers become values `validate` refuses.
    pub fn into_patch(self) -> calendars::CalendarPatch {
        let clamp = |n: i32| u8::try_from(n).unwrap_or(u8::MAX);
        calendars::CalendarPatch {
            name: self.name,
            weekly: self.weekly_hours.map(|v| {
                v.into_iter()
                    .map(|w| calendar::WeeklyWindow {
                        weekday: w.weekday.into(),
                        start: w.start,
                        end: w.end,
                    })
                    .collect()
            }),
            holiday_windows: self.holiday_hours.map(|v| {
                v.into_iter()
                    .map(|w| calendar::TimeWindow {
                        start: w.start,
                        end: w.end,
                    })
                    .collect()
            }),
            observe_national_holidays: self.observe_national_holidays,
            year_end_closure: self.year_end_closure,
            monthly_closures: self.monthly_closures.map(|v| {
                v.into_iter()
                    .map(|m| calendar::MonthlyClosure {
                        nth: clamp(m.nth),
                        weekday: m.weekday.into(),
                        and_following_days: clamp(m.and_following_days),
                    })
                    .collect()
            }),
            closed_dates: self.closed_dates,
        }
    }
}
