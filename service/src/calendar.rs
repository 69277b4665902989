//! Desk calendars and business-time arithmetic for SLA clocks.
//!
//! A tenant's desk hours are stored as a [`CalendarSpec`] (JSON in the database) and compiled
//! into a [`DeskCalendar`], which answers "is the desk open", "when does it open next" and
//! "when does N hours of open time run out". Japanese national holidays (国民の祝日, 振替休日,
//! 国民の休日) come from `yasumi`; the year-end closure (12/29–1/3), monthly rules such as
//! 第3土曜日及びそれに続く日曜日 and tenant-defined closed days are layered on top.
//!
//! All instants are `DateTime<Utc>`; windows are defined in the calendar's local time zone and
//! converted per day, so daylight-saving zones work even though Japan has none.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Consecutive days without any open window after which a search gives up.
///
/// A valid spec can still be closed forever in practice (e.g. its only open weekday is eaten by
/// monthly closures), so every forward search needs a bound rather than looping.
const HORIZON_DAYS: u32 = 3 * 366;

/// Total days a single search may walk, so absurd durations cannot pin a CPU for minutes.
const MAX_SCAN_DAYS: u32 = 200 * 366;

/// Years for which `yasumi` is asked about holidays; its equinox formulas only cover this range
/// and walking near `NaiveDate::MIN` could panic inside it.
const HOLIDAY_YEARS: std::ops::RangeInclusive<i32> = 1949..=2150;

/// Errors raised while validating or compiling a calendar spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The time zone is not a known IANA name.
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    /// A window does not end after it starts.
    #[error("window {start}-{end} on {day} does not end after it starts")]
    EmptyWindow {
        day: String,
        start: NaiveTime,
        end: NaiveTime,
    },
    /// Two windows on the same day overlap.
    #[error("windows on {day} overlap ({first_start}-{first_end} and {second_start}-{second_end})")]
    OverlappingWindows {
        day: String,
        first_start: NaiveTime,
        first_end: NaiveTime,
        second_start: NaiveTime,
        second_end: NaiveTime,
    },
    /// A monthly closure names a week outside 1..=5.
    #[error("monthly closure week must be between 1 and 5, got {0}")]
    NthOutOfRange(u8),
    /// A monthly closure extends over more than six following days.
    #[error("monthly closure may cover at most 6 following days, got {0}")]
    TooManyFollowingDays(u8),
    /// The spec has no window on any day.
    #[error("calendar has no opening hours")]
    NoOpeningHours,
}

/// Opening window on one weekday, in the calendar's local time.
///
/// An `end` of `00:00` means midnight at the end of the day, so `00:00`–`00:00` is a full day.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WeeklyWindow {
    #[serde(with = "weekday_serde")]
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Opening window without a weekday, used for national holidays.
///
/// An `end` of `00:00` means midnight at the end of the day.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Closure of the `nth` given weekday of every month plus `and_following_days` days after it.
///
/// `{nth: 3, weekday: sat, and_following_days: 1}` is 第3土曜日及びそれに続く日曜日. Months
/// without an `nth` such weekday (e.g. a fifth Saturday) have no closure from this rule.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MonthlyClosure {
    pub nth: u8,
    #[serde(with = "weekday_serde")]
    pub weekday: Weekday,
    #[serde(default)]
    pub and_following_days: u8,
}

impl MonthlyClosure {
    /// Reports whether this rule closes `date`.
    fn closes(&self, date: NaiveDate) -> bool {
        (0..=u64::from(self.and_following_days)).any(|back| {
            date.checked_sub_days(Days::new(back)).is_some_and(|base| {
                base.weekday() == self.weekday && week_of_month(base) == self.nth
            })
        })
    }

    /// Renders the rule as written in municipal regulations.
    fn label_ja(&self) -> String {
        let base = format!("第{}{}", self.nth, weekday_ja(self.weekday));
        match self.and_following_days {
            0 => base,
            1 => {
                let next = weekday_ja(self.weekday.succ());
                format!("{base}及びそれに続く{next}")
            }
            n => format!("{base}及びそれに続く{n}日間"),
        }
    }
}

/// Desk-hours spec of a tenant, stored as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CalendarSpec {
    /// IANA time zone name the windows are written in, e.g. `Asia/Tokyo`.
    pub time_zone: String,
    /// Opening windows per weekday; several windows a day are allowed (lunch breaks).
    pub weekly: Vec<WeeklyWindow>,
    /// Hours on national holidays; empty means national holidays are closed.
    #[serde(default)]
    pub holiday_windows: Vec<TimeWindow>,
    /// Whether national holidays differ from ordinary weekdays at all.
    #[serde(default = "default_true")]
    pub observe_national_holidays: bool,
    /// Whether 12/29–1/3 is closed.
    #[serde(default = "default_true")]
    pub year_end_closure: bool,
    /// Recurring monthly closures such as the third Saturday and the following Sunday.
    #[serde(default)]
    pub monthly_closures: Vec<MonthlyClosure>,
    /// Tenant-defined closed days.
    #[serde(default)]
    pub closed_dates: Vec<NaiveDate>,
}

fn default_true() -> bool {
    true
}

impl Default for CalendarSpec {
    fn default() -> Self {
        Self::standard_weekdays()
    }
}

impl CalendarSpec {
    /// Builds the common municipal default: weekdays 8:30–17:30 in Asia/Tokyo, national holidays
    /// and the year-end closure closed.
    pub fn standard_weekdays() -> Self {
        let (start, end) = (hm(8, 30), hm(17, 30));
        Self {
            time_zone: "Asia/Tokyo".to_owned(),
            weekly: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]
            .into_iter()
            .map(|weekday| WeeklyWindow {
                weekday,
                start,
                end,
            })
            .collect(),
            holiday_windows: Vec::new(),
            observe_national_holidays: true,
            year_end_closure: true,
            monthly_closures: Vec::new(),
            closed_dates: Vec::new(),
        }
    }

    /// Checks that the time zone parses, every window ends after it starts, windows of a day do
    /// not overlap, monthly rules are in range and at least one window exists.
    pub fn validate(&self) -> Result<(), CalendarError> {
        self.compile().map(|_| ())
    }

    fn compile(&self) -> Result<Schedule, CalendarError> {
        let tz: Tz = self
            .time_zone
            .parse()
            .map_err(|_| CalendarError::UnknownTimeZone(self.time_zone.clone()))?;

        let mut weekly: [Vec<Span>; 7] = Default::default();
        for window in &self.weekly {
            let day = weekday_key(window.weekday);
            weekly[weekday_index(window.weekday)].push(Span::new(day, window.start, window.end)?);
        }
        for (index, spans) in weekly.iter_mut().enumerate() {
            check_no_overlap(weekday_key(weekday_from_index(index)), spans)?;
        }

        let mut holiday = self
            .holiday_windows
            .iter()
            .map(|w| Span::new("national holidays", w.start, w.end))
            .collect::<Result<Vec<_>, _>>()?;
        check_no_overlap("national holidays", &mut holiday)?;

        for rule in &self.monthly_closures {
            if !(1..=5).contains(&rule.nth) {
                return Err(CalendarError::NthOutOfRange(rule.nth));
            }
            if rule.and_following_days > 6 {
                return Err(CalendarError::TooManyFollowingDays(rule.and_following_days));
            }
        }

        let holidays_open = self.observe_national_holidays && !holiday.is_empty();
        if weekly.iter().all(Vec::is_empty) && !holidays_open {
            return Err(CalendarError::NoOpeningHours);
        }

        Ok(Schedule {
            tz,
            weekly,
            holiday,
            observe_national_holidays: self.observe_national_holidays,
            year_end_closure: self.year_end_closure,
            monthly_closures: self.monthly_closures.clone(),
            closed_dates: self.closed_dates.iter().copied().collect(),
        })
    }
}

/// Why a day has no desk hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClosedReason {
    /// 国民の祝日, 振替休日 or 国民の休日, with the name `yasumi` gives it.
    NationalHoliday { name: String },
    /// 年末年始 (12/29–1/3).
    YearEnd,
    /// A monthly rule such as 第3土曜日及びそれに続く日曜日.
    MonthlyClosure { rule: MonthlyClosure },
    /// A closed day the tenant added itself.
    TenantClosedDay,
    /// An ordinary day whose weekday has no windows (e.g. Saturday at a weekday-only desk).
    NoHours,
}

impl ClosedReason {
    /// Returns the Japanese label shown to staff and residents.
    pub fn label_ja(&self) -> String {
        match self {
            Self::NationalHoliday { name } if name == "国民の休日" => name.clone(),
            Self::NationalHoliday { name } if name.ends_with("振替休日") => {
                "振替休日".to_owned()
            }
            Self::NationalHoliday { name } => format!("国民の祝日（{name}）"),
            Self::YearEnd => "年末年始".to_owned(),
            Self::MonthlyClosure { rule } => rule.label_ja(),
            Self::TenantClosedDay => "庁の休日".to_owned(),
            Self::NoHours => "定休日".to_owned(),
        }
    }
}

/// Returns the Japanese national holiday name of `date` (including 振替休日 and 国民の休日), if any.
pub fn japanese_holiday_name(date: NaiveDate) -> Option<String> {
    holidays_of_year(date.year()).get(&date).cloned()
}

fn is_japanese_holiday(date: NaiveDate) -> bool {
    holidays_of_year(date.year()).contains_key(&date)
}

type HolidayYear = Arc<HashMap<NaiveDate, String>>;

/// Holidays are facts about Japan, not about a tenant, so one process-wide cache serves every
/// calendar; `yasumi` re-derives each date from rules and is too slow for per-day hot loops.
fn holidays_of_year(year: i32) -> HolidayYear {
    static CACHE: OnceLock<RwLock<HashMap<i32, HolidayYear>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&year)
    {
        return Arc::clone(found);
    }
    let computed = Arc::new(compute_holidays(year));
    let mut writable = cache.write().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(writable.entry(year).or_insert(computed))
}

fn compute_holidays(year: i32) -> HashMap<NaiveDate, String> {
    if !HOLIDAY_YEARS.contains(&year) {
        return HashMap::new();
    }
    let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return HashMap::new();
    };
    first
        .iter_days()
        .take_while(|date| date.year() == year)
        .filter_map(|date| yasumi::is_holiday_name(date).map(|name| (date, name)))
        .collect()
}

/// Compiled desk calendar answering open/closed questions and business-time arithmetic.
///
/// Cloning is cheap; the compiled schedule is shared.
#[derive(Clone, Debug)]
pub struct DeskCalendar {
    mode: Mode,
}

#[derive(Clone, Debug)]
enum Mode {
    /// Always open; arithmetic is plain wall-clock arithmetic.
    Continuous,
    Scheduled(Arc<Schedule>),
}

/// Open interval in UTC, half-open `[start, end)`.
type Interval = (DateTime<Utc>, DateTime<Utc>);

impl DeskCalendar {
    /// Compiles a spec, refusing invalid ones and ones without any opening hours.
    pub fn new(spec: &CalendarSpec) -> Result<Self, CalendarError> {
        Ok(Self {
            mode: Mode::Scheduled(Arc::new(spec.compile()?)),
        })
    }

    /// Builds the always-open calendar used for emergencies, whose clocks run regardless of desk
    /// hours (e.g. start within 2 h, recover within 6 h).
    pub fn continuous() -> Self {
        Self {
            mode: Mode::Continuous,
        }
    }

    /// Reports whether this is the always-open calendar.
    pub fn is_continuous(&self) -> bool {
        matches!(self.mode, Mode::Continuous)
    }

    /// Returns the calendar's local time zone (UTC for the continuous calendar).
    pub fn time_zone(&self) -> Tz {
        match &self.mode {
            Mode::Continuous => Tz::UTC,
            Mode::Scheduled(schedule) => schedule.tz,
        }
    }

    /// Returns the local calendar date of an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.time_zone()).date_naive()
    }

    /// Explains why `date` has no desk hours, or returns `None` when the desk opens that day.
    ///
    /// Reasons are checked in the order year-end, national holiday, monthly rule, tenant closed
    /// day, then [`ClosedReason::NoHours`] for a weekday without windows.
    pub fn is_closed_day(&self, date: NaiveDate) -> Option<ClosedReason> {
        let Mode::Scheduled(schedule) = &self.mode else {
            return None;
        };
        match schedule.day_plan(date) {
            DayPlan::Open([]) => Some(ClosedReason::NoHours),
            DayPlan::Open(_) => None,
            DayPlan::YearEnd => Some(ClosedReason::YearEnd),
            DayPlan::NationalHoliday => Some(ClosedReason::NationalHoliday {
                name: japanese_holiday_name(date).unwrap_or_default(),
            }),
            DayPlan::Monthly(rule) => Some(ClosedReason::MonthlyClosure { rule: rule.clone() }),
            DayPlan::TenantClosed => Some(ClosedReason::TenantClosedDay),
        }
    }

    /// Returns the open intervals of a local date in UTC, in order; empty when closed.
    ///
    /// The continuous calendar returns the whole UTC day.
    pub fn windows_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.mode {
            Mode::Continuous => utc_day(date).into_iter().collect(),
            Mode::Scheduled(schedule) => {
                let mut out = Vec::new();
                schedule.push_intervals(date, &mut out);
                out
            }
        }
    }

    /// Reports whether the desk is open at `t`; windows include their start and exclude their end.
    pub fn is_open_at(&self, t: DateTime<Utc>) -> bool {
        match &self.mode {
            Mode::Continuous => true,
            Mode::Scheduled(schedule) => {
                let until = schedule.local_date(t).succ_opt();
                schedule
                    .intervals_from(t, until)
                    .take_while(|&(start, _)| start <= t)
                    .any(|(start, end)| start <= t && t < end)
            }
        }
    }

    /// Returns `t` if the desk is open then, otherwise the start of the next window.
    ///
    /// Returns `DateTime::<Utc>::MAX_UTC` ("never") when no window opens within about three
    /// years of closed days.
    pub fn next_open(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match &self.mode {
            Mode::Continuous => t,
            Mode::Scheduled(schedule) => schedule
                .intervals_from(t, None)
                .find(|&(_, end)| end > t)
                .map_or(DateTime::<Utc>::MAX_UTC, |(start, _)| start.max(t)),
        }
    }

    /// Returns the instant at which `d` of open time has elapsed counting from `start`; outside
    /// hours the clock starts at the next opening.
    ///
    /// A zero or negative `d` returns `start` unchanged, even when the desk is closed then. A
    /// positive `d` always lands inside a window or exactly on its closing instant, never on an
    /// opening instant: 1 h before 17:30 yields 17:30 that day, not 8:30 the next. Saturates at
    /// `DateTime::<Utc>::MAX_UTC` ("never") if the calendar stops opening within the horizon.
    pub fn add_business_time(&self, start: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
        if d <= TimeDelta::zero() {
            return start;
        }
        let Mode::Scheduled(schedule) = &self.mode else {
            return start
                .checked_add_signed(d)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
        };
        let mut remaining = d;
        for (window_start, window_end) in schedule.intervals_from(start, None) {
            if window_end <= start {
                continue;
            }
            let from = window_start.max(start);
            let available = window_end - from;
            if remaining <= available {
                return from + remaining;
            }
            remaining -= available;
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// Returns the open time between `a` and `b`, or zero if `b <= a`.
    ///
    /// Inverse of [`Self::add_business_time`]: `business_time_between(s, add_business_time(s, d))
    /// == d` for positive `d`, and it is additive over adjacent spans, which keeps pause/resume of
    /// an SLA clock exact.
    pub fn business_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> TimeDelta {
        if b <= a {
            return TimeDelta::zero();
        }
        let Mode::Scheduled(schedule) = &self.mode else {
            return b - a;
        };
        let last_day = schedule.local_date(b);
        let until = last_day.succ_opt().or(Some(last_day));
        let mut total = TimeDelta::zero();
        for (start, end) in schedule.intervals_from(a, until) {
            if start >= b {
                break;
            }
            let (low, high) = (start.max(a), end.min(b));
            if high > low {
                total += high - low;
            }
        }
        total
    }

    /// Returns the closing instant of the `n`-th business day strictly after the local date of
    /// `t`, where a business day is a day with at least one window.
    ///
    /// Serves deadlines such as "failure report within 3 business days after the fix
    /// (休日を含まない)". `n == 0` returns `t` unchanged. For the continuous calendar every UTC day is a
    /// business day closing at midnight. Saturates at `DateTime::<Utc>::MAX_UTC`.
    pub fn end_of_nth_business_day_after(&self, t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        if n == 0 {
            return t;
        }
        let schedule = match &self.mode {
            Mode::Continuous => {
                return t
                    .date_naive()
                    .checked_add_days(Days::new(u64::from(n)))
                    .and_then(utc_day)
                    .map_or(DateTime::<Utc>::MAX_UTC, |(_, end)| end);
            }
            Mode::Scheduled(schedule) => schedule,
        };
        let mut date = schedule.local_date(t);
        let mut found = 0;
        let mut closed_streak = 0;
        let mut buffer = Vec::new();
        for _ in 0..MAX_SCAN_DAYS {
            let Some(next) = date.succ_opt() else { break };
            date = next;
            buffer.clear();
            schedule.push_intervals(date, &mut buffer);
            match buffer.last() {
                Some(&(_, close)) => {
                    found += 1;
                    closed_streak = 0;
                    if found == n {
                        return close;
                    }
                }
                None => {
                    closed_streak += 1;
                    if closed_streak > HORIZON_DAYS {
                        break;
                    }
                }
            }
        }
        DateTime::<Utc>::MAX_UTC
    }
}

/// A window as offsets from local midnight; `end` may be 24 h.
#[derive(Clone, Debug)]
struct Span {
    start: TimeDelta,
    end: TimeDelta,
    raw_start: NaiveTime,
    raw_end: NaiveTime,
}

impl Span {
    fn new(day: &str, start: NaiveTime, end: NaiveTime) -> Result<Self, CalendarError> {
        let start_offset = start.signed_duration_since(NaiveTime::MIN);
        // NaiveTime cannot express 24:00, so a window ending at midnight is written as 00:00.
        let end_offset = if end == NaiveTime::MIN {
            TimeDelta::days(1)
        } else {
            end.signed_duration_since(NaiveTime::MIN)
        };
        if end_offset <= start_offset {
            return Err(CalendarError::EmptyWindow {
                day: day.to_owned(),
                start,
                end,
            });
        }
        Ok(Self {
            start: start_offset,
            end: end_offset,
            raw_start: start,
            raw_end: end,
        })
    }
}

fn check_no_overlap(day: &str, spans: &mut [Span]) -> Result<(), CalendarError> {
    spans.sort_by_key(|span| span.start);
    for pair in spans.windows(2) {
        let [first, second] = pair else { continue };
        if first.end > second.start {
            return Err(CalendarError::OverlappingWindows {
                day: day.to_owned(),
                first_start: first.raw_start,
                first_end: first.raw_end,
                second_start: second.raw_start,
                second_end: second.raw_end,
            });
        }
    }
    Ok(())
}

#[derive(Debug)]
struct Schedule {
    tz: Tz,
    weekly: [Vec<Span>; 7],
    holiday: Vec<Span>,
    observe_national_holidays: bool,
    year_end_closure: bool,
    monthly_closures: Vec<MonthlyClosure>,
    closed_dates: HashSet<NaiveDate>,
}

/// What a local date looks like; keeps the holiday name out of the hot path.
enum DayPlan<'a> {
    Open(&'a [Span]),
    YearEnd,
    NationalHoliday,
    Monthly(&'a MonthlyClosure),
    TenantClosed,
}

impl Schedule {
    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    fn day_plan(&self, date: NaiveDate) -> DayPlan<'_> {
        if self.year_end_closure && is_year_end(date) {
            return DayPlan::YearEnd;
        }
        let holiday = self.observe_national_holidays && is_japanese_holiday(date);
        if holiday && self.holiday.is_empty() {
            return DayPlan::NationalHoliday;
        }
        if let Some(rule) = self.monthly_closures.iter().find(|rule| rule.closes(date)) {
            return DayPlan::Monthly(rule);
        }
        if self.closed_dates.contains(&date) {
            return DayPlan::TenantClosed;
        }
        if holiday {
            DayPlan::Open(&self.holiday)
        } else {
            DayPlan::Open(&self.weekly[weekday_index(date.weekday())])
        }
    }

    /// Appends the day's non-empty open intervals in UTC.
    fn push_intervals(&self, date: NaiveDate, out: &mut Vec<Interval>) {
        let DayPlan::Open(spans) = self.day_plan(date) else {
            return;
        };
        let midnight = date.and_time(NaiveTime::MIN);
        for span in spans {
            let bounds = midnight
                .checked_add_signed(span.start)
                .zip(midnight.checked_add_signed(span.end));
            let Some((local_start, local_end)) = bounds else {
                continue;
            };
            let Some((start, end)) =
                local_to_utc(self.tz, local_start).zip(local_to_utc(self.tz, local_end))
            else {
                continue;
            };
            // A window swallowed by a DST gap converts to nothing.
            if start < end {
                out.push((start, end));
            }
        }
    }

    /// Walks open intervals in order, starting a day before the local date of `t` (so that no
    /// interval containing `t` is missed in odd zones) and stopping after `until` if given.
    fn intervals_from(&self, t: DateTime<Utc>, until: Option<NaiveDate>) -> Intervals<'_> {
        let day = self.local_date(t);
        Intervals {
            schedule: self,
            next_date: Some(day.pred_opt().unwrap_or(day)),
            until,
            buffer: Vec::new(),
            position: 0,
            closed_streak: 0,
            scanned: 0,
            last_end: None,
        }
    }
}

struct Intervals<'a> {
    schedule: &'a Schedule,
    next_date: Option<NaiveDate>,
    until: Option<NaiveDate>,
    buffer: Vec<Interval>,
    position: usize,
    closed_streak: u32,
    scanned: u32,
    last_end: Option<DateTime<Utc>>,
}

impl Iterator for Intervals<'_> {
    type Item = Interval;

    fn next(&mut self) -> Option<Interval> {
        loop {
            if let Some(&interval) = self.buffer.get(self.position) {
                self.position += 1;
                return Some(interval);
            }
            let date = self.next_date?;
            if self.until.is_some_and(|until| date > until)
                || self.closed_streak > HORIZON_DAYS
                || self.scanned >= MAX_SCAN_DAYS
            {
                return None;
            }
            self.next_date = date.succ_opt();
            self.scanned += 1;
            self.buffer.clear();
            self.position = 0;
            let mut raw = Vec::new();
            self.schedule.push_intervals(date, &mut raw);
            // Clamping against the previous end keeps the sequence strictly ordered even if a
            // time-zone transition makes adjacent days' windows meet or cross in UTC.
            for (start, end) in raw {
                let start = self.last_end.map_or(start, |last| start.max(last));
                if start < end {
                    self.buffer.push((start, end));
                    self.last_end = Some(end);
                }
            }
            if self.buffer.is_empty() {
                self.closed_streak += 1;
            } else {
                self.closed_streak = 0;
            }
        }
    }
}

/// Converts a local wall-clock time to UTC: the earlier instant when it occurs twice, and the
/// end of the gap (the first instant after it) when it does not exist.
fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => gap_end(tz, local),
    }
}

/// Finds the first instant whose local time is at or after `local`, which lies inside a gap.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let offset_seconds = |naive: NaiveDateTime| {
        i64::from(tz.offset_from_utc_datetime(&naive).fix().local_minus_utc())
    };
    let before = offset_seconds(local.checked_sub_signed(TimeDelta::days(1))?);
    let after = offset_seconds(local.checked_add_signed(TimeDelta::days(1))?);
    let as_utc = local.and_utc().timestamp();
    // Reading `local` with the later offset lands before the gap, with the earlier one after it.
    let (mut low, mut high) = (as_utc - after.max(before), as_utc - after.min(before) + 1);
    let reaches = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0)
            .is_some_and(|t| t.with_timezone(&tz).naive_local() >= local)
    };
    if !reaches(high) {
        return DateTime::from_timestamp(high, 0);
    }
    while low < high {
        let middle = low + (high - low) / 2;
        if reaches(middle) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    DateTime::from_timestamp(low, 0)
}

fn utc_day(date: NaiveDate) -> Option<Interval> {
    let start = date.and_time(NaiveTime::MIN).and_utc();
    let end = date.succ_opt()?.and_time(NaiveTime::MIN).and_utc();
    Some((start, end))
}

fn is_year_end(date: NaiveDate) -> bool {
    matches!((date.month(), date.day()), (12, 29..=31) | (1, 1..=3))
}

fn week_of_month(date: NaiveDate) -> u8 {
    // day0 is at most 30, so the quotient always fits.
    (date.day0() / 7 + 1) as u8
}

fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

fn weekday_index(weekday: Weekday) -> usize {
    weekday.num_days_from_monday() as usize
}

fn weekday_from_index(index: usize) -> Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    ALL[index % 7]
}

fn weekday_key(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn weekday_ja(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "月曜日",
        Weekday::Tue => "火曜日",
        Weekday::Wed => "水曜日",
        Weekday::Thu => "木曜日",
        Weekday::Fri => "金曜日",
        Weekday::Sat => "土曜日",
        Weekday::Sun => "日曜日",
    }
}

/// Stores weekdays as lowercase `"mon"`..`"sun"`; any case and long names are accepted on read.
mod weekday_serde {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(weekday: &Weekday, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(super::weekday_key(*weekday))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Weekday, D::Error> {
        Weekday::deserialize(deserializer)
    }
}

impl fmt::Display for ClosedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label_ja())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // panicking on bad fixtures is the point of a test
mod tests {
    use super::*;
    use chrono_tz::Asia::Tokyo;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn jst(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Tokyo
            .with_ymd_and_hms(y, m, d, h, mi, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn hours(h: i64) -> TimeDelta {
        TimeDelta::hours(h)
    }

    fn window(weekday: Weekday, start: NaiveTime, end: NaiveTime) -> WeeklyWindow {
        WeeklyWindow {
            weekday,
            start,
            end,
        }
    }

    fn standard() -> DeskCalendar {
        DeskCalendar::new(&CalendarSpec::standard_weekdays()).unwrap()
    }

    /// Seed desk 001: weekdays 8:00–19:30, Sat/Sun/holidays 8:30–17:00, closed over the year end
    /// and on the third Saturday and the following Sunday.
    fn seed_001_spec() -> CalendarSpec {
        let mut weekly: Vec<WeeklyWindow> = (0..5)
            .map(|i| window(weekday_from_index(i), hm(8, 0), hm(19, 30)))
            .collect();
        weekly.push(window(Weekday::Sat, hm(8, 30), hm(17, 0)));
        weekly.push(window(Weekday::Sun, hm(8, 30), hm(17, 0)));
        CalendarSpec {
            time_zone: "Asia/Tokyo".into(),
            weekly,
            holiday_windows: vec![TimeWindow {
                start: hm(8, 30),
                end: hm(17, 0),
            }],
            observe_national_holidays: true,
            year_end_closure: true,
            monthly_closures: vec![MonthlyClosure {
                nth: 3,
                weekday: Weekday::Sat,
                and_following_days: 1,
            }],
            closed_dates: Vec::new(),
        }
    }

    fn lunch_break_spec() -> CalendarSpec {
        let mut spec = CalendarSpec::standard_weekdays();
        spec.weekly = (0..5)
            .flat_map(|i| {
                let day = weekday_from_index(i);
                [
                    window(day, hm(8, 30), hm(12, 0)),
                    window(day, hm(13, 0), hm(17, 30)),
                ]
            })
            .collect();
        spec
    }

    #[test]
    fn golden_week_2026_holidays_are_what_yasumi_says() {
        assert_eq!(
            japanese_holiday_name(date(2026, 4, 29)).as_deref(),
            Some("昭和の日")
        );
        assert_eq!(
            japanese_holiday_name(date(2026, 5, 3)).as_deref(),
            Some("憲法記念日")
        );
        assert_eq!(
            japanese_holiday_name(date(2026, 5, 4)).as_deref(),
            Some("みどりの日")
        );
        assert_eq!(
            japanese_holiday_name(date(2026, 5, 5)).as_deref(),
            Some("こどもの日")
        );
        assert!(
            japanese_holiday_name(date(2026, 5, 6))
                .unwrap()
                .contains("振替休日")
        );
        assert_eq!(japanese_holiday_name(date(2026, 5, 1)), None);
        assert_eq!(japanese_holiday_name(date(2026, 5, 7)), None);
        for d in [date(2026, 4, 29), date(2026, 5, 6), date(2027, 1, 11)] {
            assert_eq!(japanese_holiday_name(d), yasumi::is_holiday_name(d));
        }
    }

    #[test]
    fn a_span_across_golden_week_2026_resumes_on_may_7() {
        let cal = standard();
        for d in 2..=6 {
            assert!(cal.is_closed_day(date(2026, 5, d)).is_some(), "5/{d}");
        }
        // 1.5 h on Friday 5/1, then 2.5 h from 8:30 on Thursday 5/7.
        let start = jst(2026, 5, 1, 16, 0);
        let due = cal.add_business_time(start, hours(4));
        assert_eq!(due, jst(2026, 5, 7, 11, 0));
        assert_eq!(cal.business_time_between(start, due), hours(4));
    }

    #[test]
    fn a_span_across_the_year_end_closure_resumes_on_january_4() {
        let cal = standard();
        assert_eq!(date(2027, 1, 4).weekday(), Weekday::Mon);
        assert_eq!(japanese_holiday_name(date(2027, 1, 4)), None);
        assert_eq!(
            cal.is_closed_day(date(2026, 12, 29)),
            Some(ClosedReason::YearEnd)
        );
        assert_eq!(
            cal.is_closed_day(date(2027, 1, 1)),
            Some(ClosedReason::YearEnd)
        );
        // 0.5 h on Monday 12/28, then 1.5 h from 8:30 on 1/4.
        let due = cal.add_business_time(jst(2026, 12, 28, 17, 0), hours(2));
        assert_eq!(due, jst(2027, 1, 4, 10, 0));
    }

    #[test]
    fn a_substitute_holiday_is_closed() {
        let cal = standard();
        let substitute = date(2026, 5, 6);
        assert_eq!(substitute.weekday(), Weekday::Wed);
        let reason = cal.is_closed_day(substitute).unwrap();
        assert!(
            matches!(&reason, ClosedReason::NationalHoliday { name } if name.contains("振替休日"))
        );
        assert_eq!(reason.label_ja(), "振替休日");
        assert!(cal.windows_on(substitute).is_empty());
        assert!(!cal.is_open_at(jst(2026, 5, 6, 10, 0)));
        assert_eq!(
            cal.next_open(jst(2026, 5, 6, 10, 0)),
            jst(2026, 5, 7, 8, 30)
        );
    }

    #[test]
    fn closed_reasons_carry_japanese_labels() {
        let cal = standard();
        let new_year = DeskCalendar::new(&CalendarSpec {
            year_end_closure: false,
            ..CalendarSpec::standard_weekdays()
        })
        .unwrap();
        assert_eq!(
            new_year.is_closed_day(date(2027, 1, 1)).unwrap().label_ja(),
            "国民の祝日（元日）"
        );
        assert_eq!(
            cal.is_closed_day(date(2026, 12, 30)).unwrap().label_ja(),
            "年末年始"
        );
        assert_eq!(
            cal.is_closed_day(date(2026, 5, 9)),
            Some(ClosedReason::NoHours)
        );
        assert_eq!(cal.is_closed_day(date(2026, 5, 8)), None);
        let rule = MonthlyClosure {
            nth: 3,
            weekday: Weekday::Sat,
            and_following_days: 1,
        };
        assert_eq!(
            ClosedReason::MonthlyClosure { rule }.label_ja(),
            "第3土曜日及びそれに続く日曜日"
        );
        assert_eq!(ClosedReason::TenantClosedDay.label_ja(), "庁の休日");
    }

    #[test]
    fn the_third_saturday_and_following_sunday_are_closed_at_the_seed_001_desk() {
        let cal = DeskCalendar::new(&seed_001_spec()).unwrap();
        // June 2026 starts on a Monday, so its Saturdays are 6, 13, 20 and 27.
        assert!(matches!(
            cal.is_closed_day(date(2026, 6, 20)),
            Some(ClosedReason::MonthlyClosure { .. })
        ));
        assert!(matches!(
            cal.is_closed_day(date(2026, 6, 21)),
            Some(ClosedReason::MonthlyClosure { .. })
        ));
        assert_eq!(cal.is_closed_day(date(2026, 6, 13)), None);
        assert_eq!(cal.is_closed_day(date(2026, 6, 14)), None);
        assert_eq!(cal.is_closed_day(date(2026, 6, 27)), None);
        assert_eq!(
            cal.windows_on(date(2026, 6, 13)),
            vec![(jst(2026, 6, 13, 8, 30), jst(2026, 6, 13, 17, 0))]
        );
        // 0.5 h on Friday 6/19 until 19:30, then the weekend is closed, then Monday from 8:00.
        let due = cal.add_business_time(jst(2026, 6, 19, 19, 0), hours(1));
        assert_eq!(due, jst(2026, 6, 22, 8, 30));
        // The second weekend is open with weekend hours.
        let due = cal.add_business_time(jst(2026, 6, 12, 19, 0), hours(1));
        assert_eq!(due, jst(2026, 6, 13, 9, 0));
        // National holidays use holiday hours; 7/20/2026 is 海の日.
        assert_eq!(
            japanese_holiday_name(date(2026, 7, 20)).as_deref(),
            Some("海の日")
        );
        assert_eq!(
            cal.windows_on(date(2026, 7, 20)),
            vec![(jst(2026, 7, 20, 8, 30), jst(2026, 7, 20, 17, 0))]
        );
        // The year-end closure beats holiday hours on 元日.
        assert_eq!(
            cal.is_closed_day(date(2027, 1, 1)),
            Some(ClosedReason::YearEnd)
        );
    }

    #[test]
    fn two_windows_a_day_skip_the_lunch_break() {
        let cal = DeskCalendar::new(&lunch_break_spec()).unwrap();
        let start = jst(2026, 6, 10, 11, 0);
        let due = cal.add_business_time(start, hours(2));
        assert_eq!(due, jst(2026, 6, 10, 14, 0));
        assert_eq!(cal.business_time_between(start, due), hours(2));
        assert!(!cal.is_open_at(jst(2026, 6, 10, 12, 30)));
        assert!(cal.is_open_at(jst(2026, 6, 10, 13, 0)));
        assert!(!cal.is_open_at(jst(2026, 6, 10, 12, 0)));
        assert_eq!(
            cal.next_open(jst(2026, 6, 10, 12, 30)),
            jst(2026, 6, 10, 13, 0)
        );
        assert_eq!(cal.windows_on(date(2026, 6, 10)).len(), 2);
        // Exactly filling the morning ends at noon, not at 13:00.
        assert_eq!(
            cal.add_business_time(jst(2026, 6, 10, 11, 0), hours(1)),
            jst(2026, 6, 10, 12, 0)
        );
    }

    #[test]
    fn a_failure_report_is_due_at_the_close_of_the_third_business_day() {
        let cal = standard();
        assert_eq!(
            japanese_holiday_name(date(2026, 7, 20)).as_deref(),
            Some("海の日")
        );
        // Friday 7/17; 7/18-19 weekend, 7/20 海の日, then 7/21, 7/22, 7/23.
        let resolved = jst(2026, 7, 17, 15, 0);
        assert_eq!(
            cal.end_of_nth_business_day_after(resolved, 3),
            jst(2026, 7, 23, 17, 30)
        );
        assert_eq!(
            cal.end_of_nth_business_day_after(resolved, 1),
            jst(2026, 7, 21, 17, 30)
        );
        assert_eq!(cal.end_of_nth_business_day_after(resolved, 0), resolved);
    }

    #[test]
    fn the_continuous_calendar_counts_wall_clock_time_across_new_year() {
        let cal = DeskCalendar::continuous();
        let start = jst(2026, 12, 31, 21, 0);
        assert!(cal.is_open_at(jst(2027, 1, 1, 0, 0)));
        assert_eq!(cal.is_closed_day(date(2027, 1, 1)), None);
        assert_eq!(
            cal.add_business_time(start, hours(6)),
            jst(2027, 1, 1, 3, 0)
        );
        assert_eq!(
            cal.add_business_time(start, hours(2)),
            jst(2026, 12, 31, 23, 0)
        );
        assert_eq!(
            cal.business_time_between(start, jst(2027, 1, 1, 3, 0)),
            hours(6)
        );
        assert_eq!(cal.next_open(start), start);
    }

    #[test]
    fn a_zero_duration_leaves_the_start_unchanged_even_when_closed() {
        let cal = standard();
        let saturday = jst(2026, 6, 13, 10, 0);
        assert_eq!(cal.add_business_time(saturday, TimeDelta::zero()), saturday);
        assert_eq!(cal.add_business_time(saturday, hours(-3)), saturday);
        assert_eq!(
            cal.business_time_between(saturday, saturday),
            TimeDelta::zero()
        );
        assert_eq!(
            cal.business_time_between(jst(2026, 6, 15, 12, 0), jst(2026, 6, 15, 9, 0)),
            TimeDelta::zero()
        );
    }

    #[test]
    fn tenant_closed_days_are_closed() {
        let mut spec = CalendarSpec::standard_weekdays();
        spec.closed_dates.push(date(2026, 6, 15));
        let cal = DeskCalendar::new(&spec).unwrap();
        assert_eq!(
            cal.is_closed_day(date(2026, 6, 15)),
            Some(ClosedReason::TenantClosedDay)
        );
        assert_eq!(
            cal.add_business_time(jst(2026, 6, 12, 17, 0), hours(1)),
            jst(2026, 6, 16, 9, 0)
        );
    }

    #[test]
    fn invalid_specs_are_refused() {
        let with = |edit: &dyn Fn(&mut CalendarSpec)| {
            let mut spec = CalendarSpec::standard_weekdays();
            edit(&mut spec);
            DeskCalendar::new(&spec).map(|_| ()).unwrap_err()
        };
        assert!(matches!(
            with(&|s| s.weekly.push(window(Weekday::Mon, hm(12, 0), hm(18, 0)))),
            CalendarError::OverlappingWindows { .. }
        ));
        assert!(matches!(
            with(&|s| s.weekly.push(window(Weekday::Sat, hm(17, 30), hm(8, 30)))),
            CalendarError::EmptyWindow { .. }
        ));
        assert!(matches!(
            with(&|s| s.weekly.push(window(Weekday::Sat, hm(9, 0), hm(9, 0)))),
            CalendarError::EmptyWindow { .. }
        ));
        assert!(matches!(
            with(&|s| s.holiday_windows.push(TimeWindow {
                start: hm(10, 0),
                end: hm(9, 0)
            })),
            CalendarError::EmptyWindow { .. }
        ));
        assert_eq!(
            with(&|s| s.time_zone = "Asia/Edo".into()),
            CalendarError::UnknownTimeZone("Asia/Edo".into())
        );
        assert_eq!(with(&|s| s.weekly.clear()), CalendarError::NoOpeningHours);
        for nth in [0, 6] {
            assert_eq!(
                with(&|s| s.monthly_closures.push(MonthlyClosure {
                    nth,
                    weekday: Weekday::Sat,
                    and_following_days: 0
                })),
                CalendarError::NthOutOfRange(nth)
            );
        }
        let message = with(&|s| s.weekly.clear()).to_string();
        assert_eq!(message, "calendar has no opening hours");
        // Touching windows are not an overlap.
        let mut spec = CalendarSpec::standard_weekdays();
        spec.weekly
            .push(window(Weekday::Mon, hm(17, 30), hm(19, 0)));
        assert_eq!(spec.validate(), Ok(()));
    }

    #[test]
    fn a_holiday_only_calendar_is_accepted_and_a_midnight_end_means_end_of_day() {
        let spec = CalendarSpec {
            weekly: Vec::new(),
            holiday_windows: vec![TimeWindow {
                start: NaiveTime::MIN,
                end: NaiveTime::MIN,
            }],
            year_end_closure: false,
            ..CalendarSpec::standard_weekdays()
        };
        let cal = DeskCalendar::new(&spec).unwrap();
        assert_eq!(
            cal.windows_on(date(2026, 5, 5)),
            vec![(jst(2026, 5, 5, 0, 0), jst(2026, 5, 6, 0, 0))]
        );
        // 5/3-5/6 are consecutive holidays, so 24 h on 5/3 plus 6 h on 5/4.
        assert_eq!(
            cal.add_business_time(jst(2026, 5, 1, 0, 0), hours(30)),
            jst(2026, 5, 4, 6, 0)
        );
    }

    #[test]
    fn the_spec_round_trips_through_json_with_lowercase_weekdays_and_defaults() {
        let spec = seed_001_spec();
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["weekly"][0]["weekday"], "mon");
        assert_eq!(json["monthly_closures"][0]["weekday"], "sat");
        let back: CalendarSpec = serde_json::from_value(json).unwrap();
        assert_eq!(back, spec);

        let minimal: CalendarSpec = serde_json::from_str(
            r#"{"time_zone":"Asia/Tokyo","weekly":[{"weekday":"Mon","start":"08:30","end":"17:30"}],
                "monthly_closures":[{"nth":3,"weekday":"saturday"}]}"#,
        )
        .unwrap();
        assert!(minimal.observe_national_holidays);
        assert!(minimal.year_end_closure);
        assert_eq!(minimal.weekly[0].start, hm(8, 30));
        assert_eq!(minimal.monthly_closures[0].and_following_days, 0);
        assert_eq!(minimal.validate(), Ok(()));
    }

    #[test]
    fn windows_follow_daylight_saving_transitions_in_other_zones() {
        let spec = CalendarSpec {
            time_zone: "America/New_York".into(),
            weekly: vec![window(Weekday::Sun, hm(1, 0), hm(4, 0))],
            observe_national_holidays: false,
            year_end_closure: false,
            ..CalendarSpec::standard_weekdays()
        };
        let cal = DeskCalendar::new(&spec).unwrap();
        // 2026-03-08 skips 2:00–3:00 local, so the window is only two hours long.
        let spring = cal.windows_on(date(2026, 3, 8));
        assert_eq!(spring.len(), 1);
        assert_eq!(spring[0].1 - spring[0].0, hours(2));
        // 2026-11-01 repeats 1:00–2:00 local, so the window is four hours long.
        let autumn = cal.windows_on(date(2026, 11, 1));
        assert_eq!(autumn[0].1 - autumn[0].0, hours(4));

        // A window starting inside the gap opens at the end of the gap.
        let gap = CalendarSpec {
            weekly: vec![window(Weekday::Sun, hm(2, 30), hm(5, 0))],
            ..spec
        };
        let cal = DeskCalendar::new(&gap).unwrap();
        let windows = cal.windows_on(date(2026, 3, 8));
        let ny = chrono_tz::America::New_York;
        let three = ny.with_ymd_and_hms(2026, 3, 8, 3, 0, 0).single().unwrap();
        assert_eq!(windows[0].0, three.with_timezone(&Utc));
        assert_eq!(windows[0].1 - windows[0].0, hours(2));
    }

    #[test]
    fn a_calendar_that_never_opens_again_saturates_instead_of_looping() {
        // Only Sundays have hours, and every Sunday is eaten by a monthly rule.
        let spec = CalendarSpec {
            weekly: vec![window(Weekday::Sun, hm(9, 0), hm(10, 0))],
            monthly_closures: (1..=5)
                .map(|nth| MonthlyClosure {
                    nth,
                    weekday: Weekday::Sun,
                    and_following_days: 0,
                })
                .collect(),
            ..CalendarSpec::standard_weekdays()
        };
        let cal = DeskCalendar::new(&spec).unwrap();
        let t = jst(2026, 6, 1, 9, 0);
        assert_eq!(cal.add_business_time(t, hours(1)), DateTime::<Utc>::MAX_UTC);
        assert_eq!(cal.next_open(t), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            cal.end_of_nth_business_day_after(t, 1),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            cal.business_time_between(t, jst(2026, 7, 1, 9, 0)),
            TimeDelta::zero()
        );
    }

    #[test]
    fn forty_business_hours_take_about_a_week() {
        let cal = standard();
        // Monday 6/8 8:30 + 40 h = four full 9 h days + 4 h on Friday.
        assert_eq!(
            cal.add_business_time(jst(2026, 6, 8, 8, 30), hours(40)),
            jst(2026, 6, 12, 12, 30)
        );
    }

    fn calendar_by_index(index: usize) -> DeskCalendar {
        match index {
            0 => standard(),
            1 => DeskCalendar::new(&lunch_break_spec()).unwrap(),
            2 => DeskCalendar::new(&seed_001_spec()).unwrap(),
            _ => DeskCalendar::continuous(),
        }
    }

    /// Instants between 2026-01-01 and the end of 2028, to second precision.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        let base = jst(2026, 1, 1, 0, 0).timestamp();
        (0..3 * 366 * 86_400_i64).prop_map(move |s| DateTime::from_timestamp(base + s, 0).unwrap())
    }

    /// Business durations from one second to 400 hours.
    fn duration() -> impl Strategy<Value = TimeDelta> {
        (1..400 * 3600_i64).prop_map(TimeDelta::seconds)
    }

    fn is_window_end(cal: &DeskCalendar, t: DateTime<Utc>) -> bool {
        let day = cal.local_date(t);
        [day.pred_opt().unwrap(), day]
            .into_iter()
            .flat_map(|d| cal.windows_on(d))
            .any(|(_, end)| end == t)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_deadline_lands_inside_hours_or_exactly_on_a_closing_instant(
            index in 0..4_usize, start in instant(), d in duration()
        ) {
            let cal = calendar_by_index(index);
            let due = cal.add_business_time(start, d);
            prop_assert!(due > start);
            // Precisely: some window [s, e) has s < due <= e.
            let day = cal.local_date(due);
            let inside = [day.pred_opt().unwrap(), day]
                .into_iter()
                .flat_map(|d| cal.windows_on(d))
                .any(|(s, e)| s < due && due <= e);
            prop_assert!(inside, "{due} is not inside a window");
            prop_assert!(cal.is_open_at(due) || is_window_end(&cal, due));
        }

        #[test]
        fn business_time_between_inverts_add_business_time(
            index in 0..4_usize, start in instant(), d in duration()
        ) {
            let cal = calendar_by_index(index);
            let due = cal.add_business_time(start, d);
            prop_assert_eq!(cal.business_time_between(start, due), d);
        }

        #[test]
        fn pausing_and_resuming_preserves_the_total_business_time(
            index in 0..4_usize,
            start in instant(),
            d in duration(),
            pause_permille in 0..1000_i64,
            paused_for in 0..30 * 86_400_i64,
        ) {
            let cal = calendar_by_index(index);
            let due = cal.add_business_time(start, d);
            let pause = start + TimeDelta::seconds((due - start).num_seconds() * pause_permille / 1000);
            prop_assume!(pause < due);
            let resume = pause + TimeDelta::seconds(paused_for);
            let left = cal.business_time_between(pause, due);
            let new_due = cal.add_business_time(resume, left);
            prop_assert_eq!(
                cal.business_time_between(start, pause) + cal.business_time_between(resume, new_due),
                d
            );
        }

        #[test]
        fn longer_durations_never_give_earlier_deadlines(
            index in 0..4_usize, start in instant(), d1 in duration(), d2 in duration()
        ) {
            let cal = calendar_by_index(index);
            let (short, long) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
            prop_assert!(cal.add_business_time(start, short) <= cal.add_business_time(start, long));
        }

        #[test]
        fn next_open_is_open_and_nothing_before_it_is(
            index in 0..4_usize, t in instant()
        ) {
            let cal = calendar_by_index(index);
            let open = cal.next_open(t);
            prop_assert!(open >= t);
            prop_assert!(cal.is_open_at(open));
            prop_assert_eq!(cal.business_time_between(t, open), TimeDelta::zero());
        }
    }
}
