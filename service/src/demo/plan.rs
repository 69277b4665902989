//! Planning the demo tickets: who brings what, when, and every step that follows.
//!
//! Planning is pure: it reads only the anchor, the static tables and the desk calendars, and
//! draws from per-ticket PRNG streams, so the same anchor always yields the same plans and one
//! ticket's randomness never shifts another's. The database is touched only when the plans run.

use super::SPAN_DAYS;
use super::org::{PersonDef, TenantDef};
use super::templates::{self, Pool, Script, Tpl, Variant};
use crate::calendar::{DeskCalendar, japanese_holiday_name};
use crate::tickets::TicketPatch;
use crate::tz::TOKYO;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use entity::{Channel, Impact, PersonKind, Priority, Severity, TicketKind, TicketStatus};

/// The constant every stream is derived from; changing it changes all demo content.
const SEED: u64 = 0x5A4B_5241_2D48_4421;

/// SplitMix64: tiny, fast and good enough to vary demo content; no crate needed.
pub(super) struct Rng(u64);

impl Rng {
    /// Returns the stream for item `n` of tenant `tenant`; streams do not depend on each other.
    pub fn stream(tenant: usize, n: u64) -> Self {
        let t = u64::try_from(tenant).unwrap_or(0).wrapping_add(1);
        let mut rng = Self(
            SEED ^ t.wrapping_mul(0xA24B_AED4_963E_E407) ^ n.wrapping_mul(0x9FB2_1C65_1E98_DF25),
        );
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns a number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Returns a number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi.saturating_sub(lo)).unwrap_or(0) + 1;
        lo + i64::try_from(self.below(span)).unwrap_or(0)
    }

    /// Returns true with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> Option<&'a T> {
        let n = u64::try_from(xs.len()).unwrap_or(0);
        xs.get(usize::try_from(self.below(n)).unwrap_or(0))
    }

    pub fn weighted<T: Copy>(&mut self, xs: &[(T, u32)]) -> Option<T> {
        let total: u64 = xs.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (v, w) in xs {
            let w = u64::from(*w);
            if x < w {
                return Some(*v);
            }
            x -= w;
        }
        None
    }
}

/// One thing someone does to a ticket after it exists.
#[derive(Debug, Clone)]
pub(super) enum Step {
    Assign {
        by: &'static str,
        to: &'static str,
    },
    Status {
        by: &'static str,
        to: TicketStatus,
        note: Option<String>,
    },
    Comment {
        by: &'static str,
        body: String,
        internal: bool,
    },
    Escalate {
        by: &'static str,
        vendor: &'static str,
        note: Option<String>,
    },
    Update {
        by: &'static str,
        patch: Box<TicketPatch>,
    },
}

/// A step with its instant; `wrap_up` marks the answer-and-close tail an open ticket stops before.
#[derive(Debug, Clone)]
pub(super) struct Timed {
    pub at: DateTime<Utc>,
    pub step: Step,
    pub wrap_up: bool,
}

/// A ticket as it will be opened, and its later history.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub tenant: usize,
    pub at: DateTime<Utc>,
    pub creator: &'static str,
    pub kind: TicketKind,
    pub channel: Option<Channel>,
    pub title: String,
    pub description: String,
    pub priority: Option<Priority>,
    pub severity: Option<Severity>,
    pub impact: Option<Impact>,
    pub category: &'static str,
    pub requester: Option<&'static str>,
    pub org_unit: Option<&'static str>,
    pub out_of_scope_system: Option<String>,
    pub security_occurred_on: Option<NaiveDate>,
    pub security_event: Option<String>,
    pub steps: Vec<Timed>,
}

/// Pushes the flow of one ticket forward through desk hours (or wall-clock time in emergencies).
struct Flow<'a> {
    cal: &'a DeskCalendar,
    now: DateTime<Utc>,
    wall: bool,
    wrap_up: bool,
    steps: Vec<Timed>,
}

impl Flow<'_> {
    /// Lets `lo..=hi` minutes (plus some seconds) of desk time pass, then records `step`.
    fn step(&mut self, rng: &mut Rng, lo: i64, hi: i64, step: Step) {
        self.wait(rng, lo, hi);
        self.push(step);
    }

    fn wait(&mut self, rng: &mut Rng, lo: i64, hi: i64) -> DateTime<Utc> {
        let d = TimeDelta::minutes(rng.range(lo.max(1), hi.max(lo).max(1)))
            + TimeDelta::seconds(rng.range(0, 59));
        self.now = if self.wall {
            self.now + d
        } else {
            self.cal.add_business_time(self.now, d)
        };
        self.now
    }

    /// Moves to `t` (for appointments such as a work date), never backwards.
    fn jump(&mut self, t: DateTime<Utc>) {
        self.now = t.max(self.now + TimeDelta::minutes(1));
    }

    fn push(&mut self, step: Step) {
        self.steps.push(Timed {
            at: self.now,
            step,
            wrap_up: self.wrap_up,
        });
    }
}

/// Which branches a featured ticket must take, whatever its dice say.
#[derive(Clone, Copy, Default)]
struct Force {
    ask: bool,
    escalate: bool,
    vendor_wait: bool,
}

const ASK: Force = Force {
    ask: true,
    escalate: false,
    vendor_wait: false,
};
const ESC: Force = Force {
    ask: false,
    escalate: true,
    vendor_wait: false,
};
const ESC_WAIT: Force = Force {
    ask: false,
    escalate: true,
    vendor_wait: true,
};
const NONE: Force = Force {
    ask: false,
    escalate: false,
    vendor_wait: false,
};

/// A hand-placed ticket, so that every state and the demo accounts always have something to
/// show, whatever the random draw.
struct Featured {
    key: &'static str,
    variant: usize,
    days_back: u64,
    hour: u32,
    minute: u32,
    channel: Channel,
    requester: Option<&'static str>,
    target: Option<TicketStatus>,
    force: Force,
}

#[allow(clippy::too_many_arguments)]
const fn f(
    key: &'static str,
    variant: usize,
    days_back: u64,
    (hour, minute): (u32, u32),
    channel: Channel,
    requester: Option<&'static str>,
    target: Option<TicketStatus>,
    force: Force,
) -> Featured {
    Featured {
        key,
        variant,
        days_back,
        hour,
        minute,
        channel,
        requester,
        target,
        force,
    }
}

use Channel as Ch;
use TicketStatus as St;

#[rustfmt::skip]
const CITY_FEATURED: &[Featured] = &[
    f("problem-pw", 0, 120, (9, 0), Ch::Web, None, None, NONE),
    f("mail-down", 0, 97, (9, 12), Ch::Phone, Some("matsuda.emi"), None, ESC),
    f("unblock", 0, 64, (14, 10), Ch::Fax, Some("kondo.tsuyoshi"), None, ASK),
    f("resident-down", 0, 41, (8, 41), Ch::Phone, Some("yamada.taro"), None, ESC),
    f("problem-teams", 0, 38, (16, 0), Ch::Web, None, None, ESC),
    f("security-phish", 0, 23, (10, 20), Ch::Phone, Some("hayashi.mai"), None, ESC),
    f("problem-resident", 0, 20, (10, 0), Ch::Web, None, Some(St::WaitingOnVendor), ESC_WAIT),
    f("network-down", 1, 3, (9, 50), Ch::Phone, Some("goto.masaki"), Some(St::WaitingOnVendor), ESC_WAIT),
    f("account-new", 0, 2, (11, 30), Ch::Email, Some("yamada.taro"), Some(St::WaitingOnRequester), ASK),
    f("security-virus", 0, 2, (15, 45), Ch::Phone, Some("ishii.sayaka"), None, ESC),
    f("change-patch", 0, 2, (17, 30), Ch::Email, None, Some(St::Escalated), NONE),
    f("share", 0, 1, (15, 5), Ch::Email, Some("sasaki.yoko"), Some(St::InProgress), NONE),
    f("tax-incident", 1, 1, (13, 20), Ch::Phone, Some("shimizu.kazuo"), Some(St::Escalated), ESC),
    f("pc-fail", 0, 1, (10, 5), Ch::Phone, Some("aoki.haruka"), Some(St::Resolved), NONE),
    f("alert", 0, 0, (2, 14), Ch::Monitoring, None, Some(St::Escalated), ESC),
    f("teams", 0, 0, (9, 5), Ch::Teams, Some("fujita.ayumi"), Some(St::New), NONE),
    f("mfp-trouble", 0, 0, (10, 40), Ch::Web, Some("yamada.taro"), Some(St::New), NONE),
];

#[rustfmt::skip]
const BOARD_FEATURED: &[Featured] = &[
    f("problem-drill", 0, 90, (10, 0), Ch::Web, None, None, NONE),
    f("pw-student", 1, 60, (16, 30), Ch::Web, Some("s2026001"), None, ASK),
    f("problem-giga", 0, 45, (15, 0), Ch::Web, None, Some(St::InProgress), NONE),
    f("unblock-school", 0, 33, (15, 30), Ch::Fax, Some("kubo.megumi"), None, NONE),
    f("usb-loss", 0, 30, (17, 5), Ch::Phone, Some("ota.satoshi"), None, NONE),
    f("giga-damage", 1, 25, (10, 30), Ch::Line, Some("sato.hanako"), None, ASK),
    f("alert-school-net", 0, 12, (1, 40), Ch::Monitoring, None, None, NONE),
    f("giga-fail", 0, 5, (13, 40), Ch::Line, Some("takeuchi.sho"), None, ESC),
    f("change-giga", 0, 4, (11, 0), Ch::Email, None, Some(St::Escalated), NONE),
    f("giga-damage", 0, 3, (10, 15), Ch::Phone, Some("sato.hanako"), Some(St::WaitingOnRequester), ASK),
    f("giga-wifi", 0, 2, (10, 50), Ch::Line, Some("hirano.yui"), Some(St::WaitingOnVendor), ESC_WAIT),
    f("komu-grades", 0, 1, (16, 20), Ch::Email, Some("sato.hanako"), Some(St::Escalated), ESC),
    f("pw-student", 0, 0, (8, 50), Ch::Web, Some("s2026001"), Some(St::New), NONE),
];

/// Tickets per tenant in total (featured, surge and random together).
const CITY_TICKETS: usize = 180;
const BOARD_TICKETS: usize = 120;
/// The surge the monthly report should flag (急増している問い合わせ): Teams sign-in after an
/// MFA change, some five to six weeks before the anchor.
const SURGE_TICKETS: usize = 12;
const SURGE_DAYS: (i64, i64) = (35, 45);

/// Values substituted into template text.
struct Vars {
    pairs: Vec<(&'static str, String)>,
    work_date: NaiveDate,
}

impl Vars {
    fn fill(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (key, value) in &self.pairs {
            if out.contains(key) {
                out = out.replace(key, value);
            }
        }
        out
    }

    fn set(&mut self, key: &'static str, value: impl Into<String>) {
        self.pairs.push((key, value.into()));
    }
}

fn weekday_ja(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "月",
        Weekday::Tue => "火",
        Weekday::Wed => "水",
        Weekday::Thu => "木",
        Weekday::Fri => "金",
        Weekday::Sat => "土",
        Weekday::Sun => "日",
    }
}

fn date_ja(d: NaiveDate) -> String {
    format!(
        "{}月{}日（{}）",
        d.month(),
        d.day(),
        weekday_ja(d.weekday())
    )
}

/// What one plan run needs to know about its tenant.
pub(super) struct Planner<'a> {
    pub tenant: usize,
    pub def: &'static TenantDef,
    pub templates: &'static [Tpl],
    pub cal: &'a DeskCalendar,
    pub anchor: DateTime<Utc>,
    /// Nothing happens after this; a little before the anchor so "now" is quiet.
    pub cutoff: DateTime<Utc>,
    /// Minutes of one weekday of desk hours.
    pub day_minutes: i64,
}

impl Planner<'_> {
    /// Plans every ticket of the tenant, in no particular order.
    pub fn plan(&self) -> Vec<Plan> {
        let mut plans = Vec::new();
        let featured = if self.tenant == 0 {
            CITY_FEATURED
        } else {
            BOARD_FEATURED
        };
        for (i, ft) in featured.iter().enumerate() {
            let mut rng = Rng::stream(self.tenant, 1_000 + i as u64);
            let Some(tpl) = self.templates.iter().find(|t| t.key == ft.key) else {
                continue;
            };
            let Some(variant) = tpl.variants.get(ft.variant).or(tpl.variants.first()) else {
                continue;
            };
            let requester = ft.requester.and_then(|k| self.def.person(k).ok());
            let monitoring = ft.channel == Ch::Monitoring;
            let at = self.place(ft.days_back, ft.hour, ft.minute, !monitoring);
            plans.push(self.build(
                &mut rng, tpl, variant, at, ft.channel, requester, ft.target, ft.force,
            ));
        }
        let mut count = plans.len();
        if self.tenant == 0
            && let Some(tpl) = self.templates.iter().find(|t| t.key == "teams-mfa")
        {
            for i in 0..SURGE_TICKETS {
                let mut rng = Rng::stream(self.tenant, 5_000 + i as u64);
                plans.push(self.random(&mut rng, tpl, SURGE_DAYS));
            }
            count += SURGE_TICKETS;
        }
        let total = if self.tenant == 0 {
            CITY_TICKETS
        } else {
            BOARD_TICKETS
        };
        let weights: Vec<(usize, u32)> = self
            .templates
            .iter()
            .enumerate()
            .filter(|(_, t)| t.weight > 0)
            .map(|(i, t)| (i, t.weight))
            .collect();
        for i in 0..total.saturating_sub(count) {
            let mut rng = Rng::stream(self.tenant, 10_000 + i as u64);
            let Some(tpl) = rng.weighted(&weights).and_then(|i| self.templates.get(i)) else {
                continue;
            };
            plans.push(self.random(&mut rng, tpl, (0, SPAN_DAYS - 1)));
        }
        plans
    }

    fn random(&self, rng: &mut Rng, tpl: &'static Tpl, days_back: (i64, i64)) -> Plan {
        let variant = rng.pick(tpl.variants).unwrap_or(&EMPTY_VARIANT);
        let requester = self.requester_for(rng, tpl.pool);
        let mut channel = rng.weighted(tpl.channels).unwrap_or(Ch::Phone);
        if channel == Ch::Web
            && requester.is_none()
            && !matches!(tpl.script, Script::Problem { .. })
        {
            channel = Ch::Email;
        }
        let monitoring = channel == Ch::Monitoring;
        let at = self.instant(rng, days_back, monitoring);
        let target = self.target_for(rng, at);
        self.build(rng, tpl, variant, at, channel, requester, target, NONE)
    }

    /// Older tickets are finished; the last days hold every open state.
    fn target_for(&self, rng: &mut Rng, at: DateTime<Utc>) -> Option<TicketStatus> {
        let age = (self.anchor - at).num_hours();
        if age < 24 {
            rng.weighted(&[
                (St::New, 3),
                (St::InProgress, 3),
                (St::WaitingOnRequester, 1),
                (St::WaitingOnVendor, 1),
                (St::Escalated, 1),
                (St::Resolved, 1),
            ])
        } else if age < 24 * 7 {
            rng.chance(35).then(|| {
                rng.weighted(&[
                    (St::InProgress, 3),
                    (St::WaitingOnRequester, 2),
                    (St::WaitingOnVendor, 2),
                    (St::Escalated, 2),
                ])
            })?
        } else if age < 24 * 30 && rng.chance(6) {
            rng.pick(&[St::WaitingOnVendor, St::Escalated, St::InProgress])
                .copied()
        } else {
            None
        }
    }

    fn requester_for(&self, rng: &mut Rng, pool: Pool) -> Option<&'static PersonDef> {
        let requesters = self
            .def
            .people
            .iter()
            .filter(|p| p.roles.split(',').any(|r| r == "requester"));
        let candidates: Vec<&'static PersonDef> = match pool {
            Pool::Nobody => return None,
            Pool::Any => requesters
                .filter(|p| p.kind != PersonKind::Student)
                .collect(),
            Pool::Units(codes) => requesters
                .filter(|p| p.unit.is_some_and(|u| codes.contains(&u)))
                .collect(),
            Pool::Schools => requesters
                .filter(|p| {
                    p.kind != PersonKind::Student && p.unit.is_some_and(|u| u.starts_with('S'))
                })
                .collect(),
            Pool::Students => requesters
                .filter(|p| p.kind == PersonKind::Student)
                .collect(),
        };
        // The demo accounts get a larger share so that their own portals are not empty.
        let favourite = if self.tenant == 0 {
            "yamada.taro"
        } else {
            "sato.hanako"
        };
        if let Some(fav) = candidates.iter().find(|p| p.key == favourite)
            && rng.chance(12)
        {
            return Some(fav);
        }
        rng.pick(&candidates).copied()
    }

    /// Returns the local midnight starting `date` and the one after it, in UTC.
    fn local_day(date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = TOKYO
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .single()?
            .with_timezone(&Utc);
        Some((start, start + TimeDelta::days(1)))
    }

    fn today(&self) -> NaiveDate {
        self.anchor.with_timezone(&TOKYO).date_naive()
    }

    /// Picks an instant between `lo` and `hi` days before the anchor's date: inside desk hours,
    /// or at any hour for monitoring. Days are drawn again rather than shifted when closed, so
    /// that closures do not pile tickets onto the day before them; Mondays are the busiest and
    /// weekends and holidays quiet.
    fn instant(&self, rng: &mut Rng, (lo, hi): (i64, i64), any_hour: bool) -> DateTime<Utc> {
        for _ in 0..200 {
            let back = u64::try_from(rng.range(lo, hi)).unwrap_or(0);
            let Some(date) = self.today().checked_sub_days(Days::new(back)) else {
                continue;
            };
            let windows = if any_hour {
                Self::local_day(date).into_iter().collect()
            } else {
                self.cal.windows_on(date)
            };
            let busy = match date.weekday() {
                _ if any_hour => 100,
                _ if japanese_holiday_name(date).is_some() => 15,
                Weekday::Mon => 100,
                Weekday::Tue | Weekday::Fri => 85,
                Weekday::Wed | Weekday::Thu => 80,
                Weekday::Sat | Weekday::Sun => 15,
            };
            if windows.is_empty() || !rng.chance(busy) {
                continue;
            }
            let total: i64 = windows.iter().map(|(s, e)| (*e - *s).num_seconds()).sum();
            let mut x = rng.range(0, total.saturating_sub(60).max(0));
            for (s, e) in &windows {
                let len = (*e - *s).num_seconds();
                if x < len {
                    let t = *s + TimeDelta::seconds(x);
                    if t < self.cutoff {
                        return t;
                    }
                    break;
                }
                x -= len;
            }
        }
        self.cutoff - TimeDelta::days(1)
    }

    /// Places a featured ticket at a local time `days_back` days ago, moving to an earlier day
    /// if that is not an open working day or the instant is not yet past.
    fn place(&self, days_back: u64, hour: u32, minute: u32, open: bool) -> DateTime<Utc> {
        let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN);
        for back in days_back..days_back + 14 {
            let Some(date) = self.today().checked_sub_days(Days::new(back)) else {
                break;
            };
            let Some(t) = TOKYO.from_local_datetime(&date.and_time(time)).single() else {
                continue;
            };
            let t = t.with_timezone(&Utc);
            let workday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
                && japanese_holiday_name(date).is_none();
            if t < self.cutoff && (!open || (workday && self.cal.is_open_at(t))) {
                return t;
            }
        }
        self.cutoff - TimeDelta::days(days_back.try_into().unwrap_or(0))
    }

    fn vars(
        &self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        requester: Option<&PersonDef>,
        agent: &PersonDef,
    ) -> Vars {
        let def = self.def;
        let mut v = Vars {
            pairs: Vec::new(),
            work_date: at.with_timezone(&TOKYO).date_naive(),
        };
        let unit = requester
            .and_then(|r| r.unit)
            .map_or(def.unit_name(def.desk_unit), |u| def.unit_name(u));
        v.set("{name}", requester.map_or("", |r| r.name));
        v.set("{unit}", unit);
        v.set("{agent}", agent.name);
        if let Ok(sup) = def.person(def.supervisor) {
            v.set("{sup}", sup.name);
            v.set("{sup_unit}", sup.unit.map_or("", |u| def.unit_name(u)));
        }
        v.set("{ext}", (2000 + rng.range(0, 799)).to_string());
        let floor = rng.range(1, 7);
        v.set("{floor}", floor.to_string());
        v.set("{mfp}", format!("MFP-{floor}F-{:02}", rng.range(1, 4)));
        if self.tenant == 0 {
            v.set("{pc}", format!("SKR-LG{:04}", rng.range(1, 1250)));
        } else {
            v.set("{pc}", format!("SKR-KM{:04}", rng.range(1, 400)));
        }
        v.set("{giga}", format!("GIGA-{:05}", rng.range(1, 9000)));
        let sites = if self.tenant == 0 {
            templates::CITY_SITES
        } else {
            templates::BOARD_SITES
        };
        if let Some((site, url)) = rng.pick(sites) {
            v.set("{site}", *site);
            v.set("{url}", *url);
        }
        v.set("{n}", rng.range(2, 6).to_string());
        v.set("{pct}", rng.range(90, 97).to_string());
        let grades = if requester
            .and_then(|r| r.unit)
            .is_some_and(|u| u.starts_with("S2"))
        {
            3
        } else {
            6
        };
        v.set("{grade}", rng.range(1, grades).to_string());
        v.set("{class}", rng.range(1, 4).to_string());
        v.set("{room}", *rng.pick(templates::ROOMS).unwrap_or(&"教室"));
        let schools: Vec<&str> = def
            .units
            .iter()
            .filter(|u| u.code.starts_with('S'))
            .map(|u| u.name)
            .collect();
        v.set("{school}", *rng.pick(&schools).unwrap_or(&""));
        // Work plans arrive about a week ahead (作業計画書: 1週間前、遅くとも3日前).
        let mut date = v.work_date + Days::new(u64::try_from(rng.range(5, 9)).unwrap_or(7));
        while matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            || japanese_holiday_name(date).is_some()
        {
            date = date + Days::new(1);
        }
        v.work_date = date;
        v.set("{date}", date_ja(date));
        v.set("{day}", format!("{}月{}日", date.month(), date.day()));
        v
    }

    /// Frames a desk reply the way the requester would read it in the portal.
    fn reply(
        &self,
        vars: &Vars,
        requester: Option<&PersonDef>,
        agent: &PersonDef,
        channel: Channel,
        text: &str,
    ) -> String {
        let body = vars.fill(text);
        let Some(r) = requester else {
            return body;
        };
        match (channel, r.kind) {
            (Ch::Phone, _) => format!("【電話にて回答】\n{body}"),
            (_, PersonKind::Student) => format!("{}さん\nヘルプデスクです。\n{body}", r.name),
            (_, PersonKind::Teacher) => {
                format!("{}先生\nヘルプデスクの{}です。\n{body}", r.name, agent.name)
            }
            _ => format!("{}様\nヘルプデスクの{}です。\n{body}", r.name, agent.name),
        }
    }

    /// Plans one ticket: how it is opened, then its story up to the target state (or to the
    /// end) and never past the cutoff.
    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        rng: &mut Rng,
        tpl: &'static Tpl,
        variant: &'static Variant,
        at: DateTime<Utc>,
        channel: Channel,
        requester: Option<&'static PersonDef>,
        target: Option<TicketStatus>,
        force: Force,
    ) -> Plan {
        let def = self.def;
        let agent_key = *rng.pick(def.agents).unwrap_or(&def.monitor);
        let agent = def.person(agent_key).unwrap_or(&FALLBACK_PERSON);
        let mut vars = self.vars(rng, at, requester, agent);
        let vendor = tpl
            .script
            .vendor()
            .and_then(|code| Some((code, def.vendor_contact(code).ok()?)));
        if let Some((code, contact)) = vendor {
            if let Ok(v) = def.vendor(code) {
                vars.set("{vendor}", v.name);
            }
            if let Ok(p) = def.person(contact) {
                vars.set("{vname}", p.name);
            }
        }
        let extra: Vec<String> = variant.extra.iter().map(|s| vars.fill(s)).collect();

        // Problems, alerts and work plans are the desk's own records, whatever their channel.
        let by_requester = channel == Ch::Web
            && requester.is_some()
            && !matches!(
                tpl.script,
                Script::Problem { .. } | Script::Alert { .. } | Script::Change { .. }
            );
        let creator = match tpl.script {
            Script::Problem { .. } => def.supervisor,
            Script::Alert { .. } => def.monitor,
            _ if by_requester => requester.map_or(agent_key, |r| r.key),
            _ => agent_key,
        };
        let level = rng.pick(tpl.levels).copied();
        let mut priority = rng.weighted(tpl.priorities).unwrap_or(Priority::Normal);
        if matches!(tpl.script, Script::Incident { .. })
            && level.is_some_and(|(s, _)| s == Severity::Level1)
        {
            priority = Priority::Urgent;
        }
        let oos_at_create = matches!(tpl.script, Script::OutOfScope) && rng.chance(50);
        let security = matches!(tpl.script, Script::Security { .. });
        let org_unit = match tpl.script {
            Script::Alert { .. } | Script::Problem { .. } | Script::Change { .. } => {
                Some(def.desk_unit)
            }
            _ => None,
        };
        // Requesters cannot set desk-only fields; the desk fills them in at triage.
        let desk = !by_requester;
        let mut plan = Plan {
            tenant: self.tenant,
            at,
            creator,
            kind: tpl.kind,
            channel: desk.then_some(channel),
            title: vars.fill(variant.title),
            description: if by_requester {
                vars.fill(&first_person(variant.description))
            } else {
                vars.fill(variant.description)
            },
            priority: desk.then_some(priority),
            severity: level.filter(|_| desk).map(|(s, _)| s),
            impact: level.filter(|_| desk).map(|(_, i)| i),
            category: tpl.category,
            requester: requester.map(|r| r.key),
            org_unit: org_unit.filter(|_| desk),
            out_of_scope_system: extra.first().filter(|_| oos_at_create).cloned(),
            security_occurred_on: security.then(|| at.with_timezone(&TOKYO).date_naive()),
            security_event: extra.first().filter(|_| security).cloned(),
            steps: Vec::new(),
        };

        let mut story = Story {
            planner: self,
            tpl,
            variant,
            vars,
            extra,
            agent: agent_key,
            agent_def: agent,
            requester,
            channel,
            by_requester,
            vendor,
            force,
            priority,
            level,
            oos_at_create,
            flow: Flow {
                cal: self.cal,
                now: at,
                wall: false,
                wrap_up: false,
                steps: Vec::new(),
            },
        };
        story.run(rng);
        plan.steps = self.cut(story.flow.steps, requester.map(|r| r.key), target);
        plan
    }

    /// Keeps the steps that happened before the cutoff and, for a ticket meant to stay open,
    /// those up to the state it is left in.
    fn cut(
        &self,
        steps: Vec<Timed>,
        requester: Option<&'static str>,
        target: Option<TicketStatus>,
    ) -> Vec<Timed> {
        let mut status = St::New;
        let mut kept = Vec::new();
        for s in steps {
            if s.at >= self.cutoff {
                break;
            }
            let next = status_after(&s.step, status, requester);
            if let Some(t) = target {
                if t == St::New && !matches!(s.step, Step::Assign { .. }) {
                    break;
                }
                if status == t && (s.wrap_up || next != status) {
                    break;
                }
            }
            kept.push(s);
            status = next;
        }
        kept
    }
}

/// Turns an operator's intake note into what the requester would type into the web form
/// themselves: no "{unit}の{name}様より" preamble, no reported speech.
fn first_person(description: &str) -> String {
    const PREAMBLES: [&str; 8] = [
        "{unit}の{name}様より入電。",
        "{unit}の{name}先生より入電。",
        "{unit}の{name}様より、",
        "{unit}の{name}先生より、",
        "{unit}の{name}先生より。",
        "{unit}の{name}様。",
        "{unit}の{name}先生。",
        "{unit}より、",
    ];
    let mut text = description;
    for p in PREAMBLES {
        if let Some(rest) = text.strip_prefix(p) {
            text = rest;
            break;
        }
    }
    text.replace("との依頼。", "。")
        .replace("との申請。", "。")
        .replace("との相談。", "。")
        .replace("をメールで受領。", "を添付します。")
}

/// Mirrors the service's workflow for planning: what status a step leaves the ticket in.
fn status_after(step: &Step, status: TicketStatus, requester: Option<&str>) -> TicketStatus {
    match step {
        Step::Status { to, .. } => *to,
        Step::Escalate { .. } => St::Escalated,
        Step::Comment { by, .. } if Some(*by) == requester && status == St::WaitingOnRequester => {
            St::InProgress
        }
        _ => status,
    }
}

impl Script {
    /// Returns the vendor the script escalates to, if any.
    fn vendor(self) -> Option<&'static str> {
        match self {
            Script::Incident { vendor }
            | Script::Alert { vendor }
            | Script::Security { vendor }
            | Script::Problem { vendor } => vendor,
            Script::Repair { vendor } | Script::Change { vendor } => Some(vendor),
            Script::Quick | Script::Request | Script::OutOfScope => None,
        }
    }
}

static EMPTY_VARIANT: Variant = Variant {
    title: "お問い合わせ",
    description: "",
    answer: "ご案内しました。",
    extra: &[],
};

static FALLBACK_PERSON: PersonDef = PersonDef {
    key: "admin",
    name: "ヘルプデスク",
    kana: "へるぷですく",
    kind: PersonKind::Staff,
    unit: None,
    roles: "admin,agent",
    vendor: None,
};

/// One ticket's story while it is being written: who takes part, and the steps so far.
struct Story<'a> {
    planner: &'a Planner<'a>,
    tpl: &'static Tpl,
    variant: &'static Variant,
    vars: Vars,
    /// The variant's `extra` texts, filled.
    extra: Vec<String>,
    /// The operator who works the ticket.
    agent: &'static str,
    agent_def: &'static PersonDef,
    requester: Option<&'static PersonDef>,
    channel: Channel,
    by_requester: bool,
    /// The escalation target's code and the staff member who answers for it.
    vendor: Option<(&'static str, &'static str)>,
    force: Force,
    priority: Priority,
    level: Option<(Severity, Impact)>,
    oos_at_create: bool,
    flow: Flow<'a>,
}

impl Story<'_> {
    fn run(&mut self, rng: &mut Rng) {
        match self.tpl.script {
            Script::Quick => self.quick(rng),
            Script::Request => self.request(rng),
            Script::Incident { .. } => self.incident(rng),
            Script::Alert { .. } => self.alert(rng),
            Script::Security { .. } => self.security(rng),
            Script::Repair { .. } => self.repair(rng),
            Script::Problem { .. } => self.problem(rng),
            Script::Change { .. } => self.change(rng),
            Script::OutOfScope => self.out_of_scope(rng),
        }
        self.close(rng);
    }

    fn sup(&self) -> &'static str {
        self.planner.def.supervisor
    }

    fn day(&self) -> i64 {
        self.planner.day_minutes
    }

    /// A desk reply framed for the ticket's channel and requester.
    fn reply(&self, text: &str) -> String {
        let p = self.planner;
        p.reply(
            &self.vars,
            self.requester,
            self.agent_def,
            self.channel,
            text,
        )
    }

    /// A desk question, always written out (it is read in the portal, not heard on the phone).
    fn question(&self, text: &str) -> String {
        let p = self.planner;
        p.reply(&self.vars, self.requester, self.agent_def, Ch::Email, text)
    }

    /// One of the template's own texts, or of `fallback` when it has none, filled.
    fn text(&self, rng: &mut Rng, own: &[&str], fallback: &[&str]) -> String {
        let list = if own.is_empty() { fallback } else { own };
        self.vars.fill(rng.pick(list).copied().unwrap_or(""))
    }

    fn extra(&self, i: usize) -> Option<String> {
        self.extra.get(i).cloned()
    }

    /// The 障害報告書 fields from the variant, or generic ones.
    fn report(&self) -> TicketPatch {
        let pick = |i: usize| {
            self.extra(i)
                .or_else(|| templates::GENERIC_REPORT.get(i).map(|s| (*s).to_owned()))
        };
        TicketPatch {
            cause: Some(pick(0)),
            interim_measure: Some(pick(1)),
            recovery_outlook: Some(pick(2)),
            recurrence_prevention: Some(pick(3)),
            ..TicketPatch::default()
        }
    }

    fn assign(&mut self, rng: &mut Rng, (lo, hi): (i64, i64), by: &'static str) {
        let to = self.agent;
        self.flow.step(rng, lo, hi, Step::Assign { by, to });
    }

    fn status(
        &mut self,
        rng: &mut Rng,
        (lo, hi): (i64, i64),
        by: &'static str,
        to: TicketStatus,
        note: Option<&str>,
    ) {
        let note = note.map(str::to_owned);
        self.flow.step(rng, lo, hi, Step::Status { by, to, note });
    }

    fn comment(
        &mut self,
        rng: &mut Rng,
        (lo, hi): (i64, i64),
        by: &'static str,
        body: String,
        internal: bool,
    ) {
        self.flow
            .step(rng, lo, hi, Step::Comment { by, body, internal });
    }

    fn update(&mut self, rng: &mut Rng, (lo, hi): (i64, i64), patch: TicketPatch) {
        let by = self.agent;
        let patch = Box::new(patch);
        self.flow.step(rng, lo, hi, Step::Update { by, patch });
    }

    fn escalate(
        &mut self,
        rng: &mut Rng,
        (lo, hi): (i64, i64),
        vendor: &'static str,
        note: String,
    ) {
        let by = self.agent;
        let note = Some(note);
        self.flow
            .step(rng, lo, hi, Step::Escalate { by, vendor, note });
    }

    /// Asks the requester something, waits, and records their answer (which resumes the work).
    fn ask(&mut self, rng: &mut Rng, waiting_note: Option<&str>, answer_delay: (i64, i64)) {
        let asks = if self.tpl.asks.is_empty() {
            templates::GENERIC_ASKS
        } else {
            self.tpl.asks
        };
        let (Some((q, a)), Some(r)) = (rng.pick(asks).copied(), self.requester) else {
            return;
        };
        let agent = self.agent;
        self.comment(rng, (5, 30), agent, self.question(q), false);
        self.status(rng, (1, 3), agent, St::WaitingOnRequester, waiting_note);
        self.comment(rng, answer_delay, r.key, self.vars.fill(a), false);
    }

    /// Records the final answer: to the requester if there is one, else as an internal note.
    fn answer(&mut self, rng: &mut Rng, delay: (i64, i64)) {
        let agent = self.agent;
        let internal = self.requester.is_none();
        let body = if internal {
            self.vars.fill(self.variant.answer)
        } else {
            self.reply(self.variant.answer)
        };
        self.comment(rng, delay, agent, body, internal);
    }

    fn quick(&mut self, rng: &mut Rng) {
        let agent = self.agent;
        self.assign(rng, (1, 4), agent);
        self.flow.wrap_up = true;
        self.answer(rng, (3, 20));
        self.status(rng, (1, 3), agent, St::Resolved, None);
    }

    fn request(&mut self, rng: &mut Rng) {
        let agent = self.agent;
        // Web requests wait in the queue until an operator picks them up.
        let pickup = if self.by_requester { (10, 90) } else { (1, 5) };
        self.assign(rng, pickup, agent);
        self.status(rng, (5, 40), agent, St::InProgress, None);
        if self.force.ask || rng.chance(35) {
            self.ask(rng, None, (60, 900));
        }
        if rng.chance(50) {
            let note = self.text(rng, self.tpl.notes, templates::REQUEST_NOTES);
            self.comment(rng, (10, 120), agent, note, true);
        }
        self.flow.wrap_up = true;
        self.answer(rng, (30, 360));
        self.status(rng, (1, 5), agent, St::Resolved, None);
    }

    fn incident(&mut self, rng: &mut Rng) {
        let agent = self.agent;
        // Emergencies run on the 24h clock and the supervisor dispatches them.
        let urgent = self.priority == Priority::Urgent && !self.by_requester;
        self.flow.wall = urgent;
        let dispatcher = if urgent { self.sup() } else { agent };
        let pickup = if self.by_requester { (10, 60) } else { (1, 8) };
        self.assign(rng, pickup, dispatcher);
        if self.by_requester
            && let Some((s, i)) = self.level
        {
            // Triage (一次受付): the desk sets 障害レベル and 業務影響範囲 itself.
            let patch = TicketPatch {
                severity: Some(Some(s)),
                impact: Some(Some(i)),
                priority: (self.priority != Priority::Normal).then_some(self.priority),
                ..TicketPatch::default()
            };
            self.update(rng, (3, 15), patch);
        }
        self.status(rng, (2, 15), agent, St::InProgress, None);
        let note = self.text(rng, self.tpl.notes, templates::INCIDENT_NOTES);
        self.comment(rng, (5, 30), agent, note, true);
        let escalate = self.force.escalate || urgent || rng.chance(70);
        match self.vendor {
            Some((code, contact)) if escalate => {
                let note = self.text(rng, &[], templates::ESCALATION_NOTES);
                self.escalate(rng, (10, 45), code, note);
                let ack = self.text(rng, self.tpl.vendor_acks, templates::VENDOR_ACKS);
                self.comment(rng, (15, 90), contact, ack, false);
                if self.force.vendor_wait || (!urgent && rng.chance(45)) {
                    let note = Some("事業者の調査結果待ち");
                    self.status(rng, (10, 60), agent, St::WaitingOnVendor, note);
                }
                self.flow.wrap_up = true;
                let fix = self.text(rng, self.tpl.vendor_fixes, templates::VENDOR_FIXES);
                let delay = if urgent { (30, 150) } else { (60, 900) };
                self.comment(rng, delay, contact, fix, false);
            }
            _ => {
                self.flow.wrap_up = true;
                let body = "切り分けの結果、ヘルプデスクで対応可能と判断。手順書に沿って対応した。";
                self.comment(rng, (20, 180), agent, body.to_owned(), true);
            }
        }
        self.answer(rng, (5, 30));
        self.update(rng, (5, 40), self.report());
        self.status(rng, (1, 10), agent, St::Resolved, None);
        self.flow.wall = false;
        let serious = self
            .level
            .is_some_and(|(s, _)| matches!(s, Severity::Level1 | Severity::Level2));
        if serious || rng.chance(40) {
            self.submit_report(
                rng,
                (self.day() / 2, 2 * self.day()),
                TicketPatch::default(),
            );
        }
    }

    /// Records the 障害報告書 as submitted at the step's own instant, with `patch` alongside.
    fn submit_report(&mut self, rng: &mut Rng, (lo, hi): (i64, i64), patch: TicketPatch) {
        let at = self.flow.wait(rng, lo, hi);
        let patch = TicketPatch {
            failure_report_submitted_at: Some(Some(at)),
            ..patch
        };
        let by = self.agent;
        self.flow.push(Step::Update {
            by,
            patch: Box::new(patch),
        });
    }

    fn alert(&mut self, rng: &mut Rng) {
        let agent = self.agent;
        // A night alert waits for the desk to open; business time starts counting then.
        self.assign(rng, (5, 30), agent);
        self.status(rng, (1, 5), agent, St::InProgress, None);
        let note = self.text(rng, self.tpl.notes, templates::ALERT_NOTES);
        self.comment(rng, (2, 15), agent, note, true);
        if let Some((code, contact)) = self.vendor
            && (self.force.escalate || rng.chance(55))
        {
            let note = self.text(rng, &[], templates::ESCALATION_NOTES);
            self.escalate(rng, (5, 30), code, note);
            let ack = self.text(rng, &[], templates::VENDOR_ACKS);
            self.comment(rng, (10, 60), contact, ack, false);
            self.flow.wrap_up = true;
            let fix = self.text(rng, &[], templates::VENDOR_FIXES);
            self.comment(rng, (30, 480), contact, fix, false);
        }
        self.flow.wrap_up = true;
        self.answer(rng, (5, 60));
        self.update(rng, (5, 30), self.report());
        self.status(rng, (1, 5), agent, St::Resolved, None);
    }

    /// 事象 at creation, 一時対応 and 第一報 within the hour, recovery within hours on the 24h
    /// clock; 中間報告 and 最終報告 with 恒久対応 follow over the next business days.
    fn security(&mut self, rng: &mut Rng) {
        let agent = self.agent;
        self.flow.wall = true;
        self.assign(rng, (2, 10), self.sup());
        self.status(rng, (1, 5), agent, St::InProgress, None);
        if self.requester.is_some() {
            let body = self.reply(
                "至急、端末のLANケーブルを抜き、電源は入れたままにしてください。担当者が伺い、端末を確認します。",
            );
            self.comment(rng, (2, 10), agent, body, false);
        }
        let patch = TicketPatch {
            security_interim_action: Some(self.extra(1)),
            security_report_stage: Some(Some("first".to_owned())),
            ..TicketPatch::default()
        };
        self.update(rng, (15, 45), patch);
        let body = self
            .vars
            .fill("第一報を{sup_unit}（{sup}）へ報告済み。当該端末を回収し調査中。");
        self.comment(rng, (5, 20), agent, body, true);
        if let Some((code, contact)) = self.vendor {
            let note = self
                .vars
                .fill("ログ調査と影響範囲の確認を{vendor}へ依頼します。");
            self.escalate(rng, (10, 40), code, note);
            let ack = self.text(rng, &[], templates::VENDOR_ACKS);
            self.comment(rng, (20, 90), contact, ack, false);
            self.flow.wrap_up = true;
            let body = self.vars.fill(
                "{vendor}の{vname}です。プロキシ・メールサーバのログを確認した結果、外部への不審な通信は確認されませんでした。調査結果の詳細を報告書にまとめます。",
            );
            self.comment(rng, (60, 180), contact, body, false);
        }
        self.flow.wrap_up = true;
        self.answer(rng, (5, 30));
        self.status(rng, (1, 10), agent, St::Resolved, None);
        self.flow.wall = false;
        let interim = TicketPatch {
            security_report_stage: Some(Some("interim".to_owned())),
            ..TicketPatch::default()
        };
        self.update(rng, (120, 480), interim);
        let final_report = TicketPatch {
            security_permanent_action: Some(self.extra(2)),
            security_report_stage: Some(Some("final".to_owned())),
            ..TicketPatch::default()
        };
        self.submit_report(rng, (self.day(), 3 * self.day()), final_report);
    }

    /// 代替機 at once, 損傷始末書 from the requester, repair by the vendor, return.
    fn repair(&mut self, rng: &mut Rng) {
        let agent = self.agent;
        self.assign(rng, (1, 8), agent);
        self.status(rng, (3, 20), agent, St::InProgress, None);
        self.ask(rng, Some("損傷始末書の提出待ち"), (120, 1500));
        if let Some((code, contact)) = self.vendor {
            let note = "修理を依頼します（代替機と交換済み）。".to_owned();
            self.escalate(rng, (10, 120), code, note);
            let ack = self.text(rng, self.tpl.vendor_acks, templates::VENDOR_ACKS);
            self.comment(rng, (60, 600), contact, ack, false);
            self.status(
                rng,
                (10, 60),
                agent,
                St::WaitingOnVendor,
                Some("修理完了待ち"),
            );
            self.flow.wrap_up = true;
            let fix = self.text(rng, self.tpl.vendor_fixes, templates::VENDOR_FIXES);
            let days = (3 * self.day(), 7 * self.day());
            self.comment(rng, days, contact, fix, false);
        }
        self.flow.wrap_up = true;
        self.answer(rng, (10, 120));
        if rng.chance(40) {
            self.update(rng, (5, 60), self.report());
        }
        self.status(rng, (1, 5), agent, St::Resolved, None);
    }

    /// 課題管理: notes over weeks, perhaps a vendor's countermeasure, then the supervisor's
    /// conclusion.
    fn problem(&mut self, rng: &mut Rng) {
        let agent = self.agent;
        let sup = self.sup();
        self.assign(rng, (30, 240), sup);
        self.status(rng, (5, 60), agent, St::InProgress, None);
        for note in self.tpl.notes {
            let by = if rng.chance(50) { sup } else { agent };
            let days = (self.day() / 2, 3 * self.day());
            self.comment(rng, days, by, self.vars.fill(note), true);
        }
        if let Some((code, contact)) = self.vendor {
            let note = self.vars.fill("恒久対策の検討を{vendor}へ依頼します。");
            self.escalate(rng, (30, 240), code, note);
            let ack = self.text(rng, &[], templates::VENDOR_ACKS);
            self.comment(rng, (60, 480), contact, ack, false);
            if self.force.vendor_wait || rng.chance(60) {
                let note = Some("事業者の対策案の回答待ち");
                self.status(rng, (10, 60), agent, St::WaitingOnVendor, note);
            }
            self.flow.wrap_up = true;
            let fix = self.vars.fill(
                "{vendor}の{vname}です。対策を実施しました。効果を1か月間確認し、月次報告でご報告します。",
            );
            let days = (3 * self.day(), 8 * self.day());
            self.comment(rng, days, contact, fix, false);
        }
        self.flow.wrap_up = true;
        let conclusion = self.vars.fill(self.variant.answer);
        let days = (self.day(), 3 * self.day());
        self.comment(rng, days, sup, conclusion, true);
        self.status(rng, (5, 60), sup, St::Resolved, None);
    }

    /// 作業計画書: approved by the desk's owner, carried out by the vendor on the work date in
    /// the evening, checked by the desk the next morning.
    fn change(&mut self, rng: &mut Rng) {
        let agent = self.agent;
        self.assign(rng, (5, 60), agent);
        let approval = self.vars.fill(
            "作業計画書の内容（作業日時・影響範囲・切り戻し手順）を確認し、承認しました。（{sup_unit} {sup}）",
        );
        self.comment(rng, (60, 600), self.sup(), approval, true);
        if let Some((code, contact)) = self.vendor {
            let note = self
                .vars
                .fill("{sup_unit}の承認済みです。{date}に予定どおり作業を実施してください。");
            self.escalate(rng, (10, 60), code, note);
            self.flow.wrap_up = true;
            let evening = NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN);
            if let Some(start) = TOKYO
                .from_local_datetime(&self.vars.work_date.and_time(evening))
                .single()
            {
                let done = start.with_timezone(&Utc) + TimeDelta::minutes(rng.range(0, 75));
                self.flow.jump(done);
            }
            let body = self.vars.fill(
                "{vendor}の{vname}です。{date}の作業は予定どおり完了しました。作業結果報告書を送付いたします。",
            );
            self.flow.push(Step::Comment {
                by: contact,
                body,
                internal: false,
            });
        }
        self.flow.wrap_up = true;
        let check = "作業後の動作確認を実施。問題なし。".to_owned();
        self.comment(rng, (15, 90), agent, check, true);
        self.status(rng, (1, 5), agent, St::Resolved, None);
    }

    /// 切り分け: another system's matter, recorded as such and passed on to its owner.
    fn out_of_scope(&mut self, rng: &mut Rng) {
        let agent = self.agent;
        self.assign(rng, (1, 4), agent);
        let system = self.extra(0).unwrap_or_default();
        let owner = self.extra(1).unwrap_or_default();
        let note = format!(
            "切り分け: {system}の事象のため、ヘルプデスクの対応範囲外。{owner}を案内する。"
        );
        self.comment(rng, (2, 10), agent, note, true);
        if !self.oos_at_create {
            let patch = TicketPatch {
                out_of_scope: Some(true),
                out_of_scope_system: Some(Some(system)),
                ..TicketPatch::default()
            };
            self.update(rng, (1, 3), patch);
        }
        self.flow.wrap_up = true;
        self.answer(rng, (1, 5));
        self.status(rng, (1, 3), agent, St::Resolved, None);
    }

    /// The requester confirms now and then; otherwise the desk closes after three business
    /// days without a reply.
    fn close(&mut self, rng: &mut Rng) {
        self.flow.wrap_up = true;
        match self.requester {
            Some(r) if rng.chance(25) => {
                let thanks = if r.kind == PersonKind::Student {
                    "ありがとうございました。ログインできました。"
                } else {
                    rng.pick(&[
                        "ご対応ありがとうございました。問題なく使えるようになりました。",
                        "ありがとうございました。解決しましたのでクローズしてください。",
                        "確認しました。ありがとうございます。",
                    ])
                    .copied()
                    .unwrap_or("ありがとうございました。")
                };
                self.comment(rng, (30, 600), r.key, thanks.to_owned(), false);
                self.status(rng, (1, 5), r.key, St::Closed, None);
            }
            _ => {
                let closer = match self.tpl.script {
                    Script::Problem { .. } => self.sup(),
                    _ => self.agent,
                };
                let note = Some("解決後3営業日が経過したため完了とします。");
                let days = (3 * self.day(), 3 * self.day() + 120);
                self.status(rng, days, closer, St::Closed, note);
            }
        }
    }
}
