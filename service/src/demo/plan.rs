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

    #[allow(clippy::too_many_arguments, clippy::too_many_lines)]
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
        let sup = def.supervisor;
        let mut vars = self.vars(rng, at, requester, agent);
        let vendor = match tpl.script {
            Script::Incident { vendor }
            | Script::Alert { vendor }
            | Script::Security { vendor }
            | Script::Problem { vendor } => vendor,
            Script::Repair { vendor } | Script::Change { vendor } => Some(vendor),
            Script::Quick | Script::Request | Script::OutOfScope => None,
        };
        let vendor_contact = vendor.and_then(|v| def.vendor_contact(v).ok());
        if let Some(code) = vendor {
            if let Ok(v) = def.vendor(code) {
                vars.set("{vendor}", v.name);
            }
            if let Some(p) = vendor_contact.and_then(|k| def.person(k).ok()) {
                vars.set("{vname}", p.name);
            }
        }
        let extra = |i: usize| variant.extra.get(i).map(|s| vars.fill(s));

        let by_requester = channel == Ch::Web
            && requester.is_some()
            && !matches!(
                tpl.script,
                Script::Problem { .. } | Script::Alert { .. } | Script::Change { .. }
            );
        let creator = match tpl.script {
            Script::Problem { .. } => sup,
            Script::Alert { .. } => def.monitor,
            _ if by_requester => requester.map_or(agent_key, |r| r.key),
            _ => agent_key,
        };
        let level = rng.pick(tpl.levels).copied();
        let mut priority = rng.weighted(tpl.priorities).unwrap_or(Priority::Normal);
        if tpl.script_is_incident() && level.is_some_and(|(s, _)| s == Severity::Level1) {
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
        let mut plan = Plan {
            tenant: self.tenant,
            at,
            creator,
            kind: tpl.kind,
            channel: (!by_requester).then_some(channel),
            title: vars.fill(variant.title),
            description: if by_requester {
                vars.fill(&first_person(variant.description))
            } else {
                vars.fill(variant.description)
            },
            priority: (!by_requester).then_some(priority),
            severity: level.filter(|_| !by_requester).map(|(s, _)| s),
            impact: level.filter(|_| !by_requester).map(|(_, i)| i),
            category: tpl.category,
            requester: requester.map(|r| r.key),
            org_unit: if by_requester { None } else { org_unit },
            out_of_scope_system: if oos_at_create { extra(0) } else { None },
            security_occurred_on: security.then(|| at.with_timezone(&TOKYO).date_naive()),
            security_event: if security { extra(0) } else { None },
            steps: Vec::new(),
        };

        let mut f = Flow {
            cal: self.cal,
            now: at,
            wall: false,
            wrap_up: false,
            steps: Vec::new(),
        };
        let r_key = requester.map(|r| r.key);
        let reply = |text: &str| self.reply(&vars, requester, agent, channel, text);
        let note = |list: &[&str], fallback: &[&str], rng: &mut Rng| {
            let list = if list.is_empty() { fallback } else { list };
            vars.fill(rng.pick(list).copied().unwrap_or(""))
        };
        let day = self.day_minutes;
        let comment =
            |by: &'static str, body: String, internal: bool| Step::Comment { by, body, internal };
        let status = |by: &'static str, to: TicketStatus, note: Option<&str>| Step::Status {
            by,
            to,
            note: note.map(str::to_owned),
        };
        let report_patch = |extra: &dyn Fn(usize) -> Option<String>| {
            let pick = |i: usize| {
                extra(i).or_else(|| templates::GENERIC_REPORT.get(i).map(|s| (*s).to_owned()))
            };
            TicketPatch {
                cause: Some(pick(0)),
                interim_measure: Some(pick(1)),
                recovery_outlook: Some(pick(2)),
                recurrence_prevention: Some(pick(3)),
                ..TicketPatch::default()
            }
        };
        let ask = |rng: &mut Rng| {
            let asks = if tpl.asks.is_empty() {
                templates::GENERIC_ASKS
            } else {
                tpl.asks
            };
            rng.pick(asks).copied()
        };

        match tpl.script {
            Script::Quick => {
                f.step(
                    rng,
                    1,
                    4,
                    Step::Assign {
                        by: agent_key,
                        to: agent_key,
                    },
                );
                f.wrap_up = true;
                f.step(rng, 3, 20, comment(agent_key, reply(variant.answer), false));
                f.step(rng, 1, 3, status(agent_key, St::Resolved, None));
            }
            Script::Request => {
                if by_requester {
                    f.step(
                        rng,
                        10,
                        90,
                        Step::Assign {
                            by: agent_key,
                            to: agent_key,
                        },
                    );
                } else {
                    f.step(
                        rng,
                        1,
                        5,
                        Step::Assign {
                            by: agent_key,
                            to: agent_key,
                        },
                    );
                }
                f.step(rng, 5, 40, status(agent_key, St::InProgress, None));
                if (force.ask || rng.chance(35))
                    && let (Some((q, a)), Some(r)) = (ask(rng), r_key)
                {
                    let q = self.reply(&vars, requester, agent, Ch::Email, q);
                    f.step(rng, 5, 30, comment(agent_key, q, false));
                    f.step(rng, 1, 2, status(agent_key, St::WaitingOnRequester, None));
                    f.step(rng, 60, 900, comment(r, vars.fill(a), false));
                }
                if rng.chance(50) {
                    let n = note(tpl.notes, templates::REQUEST_NOTES, rng);
                    f.step(rng, 10, 120, comment(agent_key, n, true));
                }
                f.wrap_up = true;
                f.step(
                    rng,
                    30,
                    360,
                    comment(agent_key, reply(variant.answer), false),
                );
                f.step(rng, 1, 5, status(agent_key, St::Resolved, None));
            }
            Script::Incident { vendor } => {
                let urgent = priority == Priority::Urgent && !by_requester;
                f.wall = urgent;
                f.step(
                    rng,
                    if by_requester { 10 } else { 1 },
                    if by_requester { 60 } else { 8 },
                    Step::Assign {
                        by: if urgent { sup } else { agent_key },
                        to: agent_key,
                    },
                );
                let severity = level.map(|(s, _)| s);
                if by_requester && let Some((s, i)) = level {
                    // Triage (一次受付): the desk sets 障害レベル and 業務影響範囲 itself.
                    let patch = TicketPatch {
                        severity: Some(Some(s)),
                        impact: Some(Some(i)),
                        priority: (priority != Priority::Normal).then_some(priority),
                        ..TicketPatch::default()
                    };
                    f.step(
                        rng,
                        3,
                        15,
                        Step::Update {
                            by: agent_key,
                            patch: Box::new(patch),
                        },
                    );
                }
                f.step(rng, 2, 15, status(agent_key, St::InProgress, None));
                let n = note(tpl.notes, templates::INCIDENT_NOTES, rng);
                f.step(rng, 5, 30, comment(agent_key, n, true));
                let escalate = vendor.is_some() && (force.escalate || urgent || rng.chance(70));
                match (vendor, vendor_contact) {
                    (Some(code), Some(v)) if escalate => {
                        let n = note(&[], templates::ESCALATION_NOTES, rng);
                        f.step(
                            rng,
                            10,
                            45,
                            Step::Escalate {
                                by: agent_key,
                                vendor: code,
                                note: Some(n),
                            },
                        );
                        let ack = note(tpl.vendor_acks, templates::VENDOR_ACKS, rng);
                        f.step(rng, 15, 90, comment(v, ack, false));
                        if force.vendor_wait || (!urgent && rng.chance(45)) {
                            f.step(
                                rng,
                                10,
                                60,
                                status(
                                    agent_key,
                                    St::WaitingOnVendor,
                                    Some("事業者の調査結果待ち"),
                                ),
                            );
                        }
                        f.wrap_up = true;
                        let fix = note(tpl.vendor_fixes, templates::VENDOR_FIXES, rng);
                        let (lo, hi) = if urgent { (30, 150) } else { (60, 900) };
                        f.step(rng, lo, hi, comment(v, fix, false));
                    }
                    _ => {
                        f.wrap_up = true;
                        let body = "切り分けの結果、ヘルプデスクで対応可能と判断。手順書に沿って対応した。".to_owned();
                        f.step(rng, 20, 180, comment(agent_key, body, true));
                    }
                }
                let answer = reply(variant.answer);
                f.step(rng, 5, 30, comment(agent_key, answer, requester.is_none()));
                f.step(
                    rng,
                    5,
                    40,
                    Step::Update {
                        by: agent_key,
                        patch: Box::new(report_patch(&extra)),
                    },
                );
                f.step(rng, 1, 10, status(agent_key, St::Resolved, None));
                f.wall = false;
                if severity.is_some_and(|s| matches!(s, Severity::Level1 | Severity::Level2))
                    || rng.chance(40)
                {
                    let t = f.wait(rng, day / 2, 2 * day);
                    let patch = TicketPatch {
                        failure_report_submitted_at: Some(Some(t)),
                        ..TicketPatch::default()
                    };
                    f.push(Step::Update {
                        by: agent_key,
                        patch: Box::new(patch),
                    });
                }
            }
            Script::Alert { vendor } => {
                f.step(
                    rng,
                    5,
                    30,
                    Step::Assign {
                        by: agent_key,
                        to: agent_key,
                    },
                );
                f.step(rng, 1, 5, status(agent_key, St::InProgress, None));
                let n = note(tpl.notes, templates::ALERT_NOTES, rng);
                f.step(rng, 2, 15, comment(agent_key, n, true));
                let escalate = force.escalate || rng.chance(55);
                if let (Some(code), Some(v), true) = (vendor, vendor_contact, escalate) {
                    let n = note(&[], templates::ESCALATION_NOTES, rng);
                    f.step(
                        rng,
                        5,
                        30,
                        Step::Escalate {
                            by: agent_key,
                            vendor: code,
                            note: Some(n),
                        },
                    );
                    let ack = note(&[], templates::VENDOR_ACKS, rng);
                    f.step(rng, 10, 60, comment(v, ack, false));
                    f.wrap_up = true;
                    let fix = note(&[], templates::VENDOR_FIXES, rng);
                    f.step(rng, 30, 480, comment(v, fix, false));
                }
                f.wrap_up = true;
                f.step(
                    rng,
                    5,
                    60,
                    comment(agent_key, vars.fill(variant.answer), true),
                );
                f.step(
                    rng,
                    5,
                    30,
                    Step::Update {
                        by: agent_key,
                        patch: Box::new(report_patch(&extra)),
                    },
                );
                f.step(rng, 1, 5, status(agent_key, St::Resolved, None));
            }
            Script::Security { vendor } => {
                f.wall = true;
                f.step(
                    rng,
                    2,
                    10,
                    Step::Assign {
                        by: sup,
                        to: agent_key,
                    },
                );
                f.step(rng, 1, 5, status(agent_key, St::InProgress, None));
                if requester.is_some() {
                    let body = reply(
                        "至急、端末のLANケーブルを抜き、電源は入れたままにしてください。担当者が伺い、端末を確認します。",
                    );
                    f.step(rng, 2, 10, comment(agent_key, body, false));
                }
                let patch = TicketPatch {
                    security_interim_action: Some(extra(1)),
                    security_report_stage: Some(Some("first".to_owned())),
                    ..TicketPatch::default()
                };
                f.step(
                    rng,
                    15,
                    45,
                    Step::Update {
                        by: agent_key,
                        patch: Box::new(patch),
                    },
                );
                let body =
                    vars.fill("第一報を{sup_unit}（{sup}）へ報告済み。当該端末を回収し調査中。");
                f.step(rng, 5, 20, comment(agent_key, body, true));
                if let (Some(code), Some(v)) = (vendor, vendor_contact) {
                    let n = vars.fill("ログ調査と影響範囲の確認を{vendor}へ依頼します。");
                    f.step(
                        rng,
                        10,
                        40,
                        Step::Escalate {
                            by: agent_key,
                            vendor: code,
                            note: Some(n),
                        },
                    );
                    let ack = note(&[], templates::VENDOR_ACKS, rng);
                    f.step(rng, 20, 90, comment(v, ack, false));
                    let body = vars.fill("{vendor}の{vname}です。プロキシ・メールサーバのログを確認した結果、外部への不審な通信は確認されませんでした。調査結果の詳細を報告書にまとめます。");
                    f.wrap_up = true;
                    f.step(rng, 60, 180, comment(v, body, false));
                }
                f.wrap_up = true;
                f.step(
                    rng,
                    5,
                    30,
                    comment(agent_key, reply(variant.answer), requester.is_none()),
                );
                f.step(rng, 1, 10, status(agent_key, St::Resolved, None));
                f.wall = false;
                let patch = TicketPatch {
                    security_report_stage: Some(Some("interim".to_owned())),
                    ..TicketPatch::default()
                };
                f.step(
                    rng,
                    120,
                    480,
                    Step::Update {
                        by: agent_key,
                        patch: Box::new(patch),
                    },
                );
                let t = f.wait(rng, day, 3 * day);
                let patch = TicketPatch {
                    security_permanent_action: Some(extra(2)),
                    security_report_stage: Some(Some("final".to_owned())),
                    failure_report_submitted_at: Some(Some(t)),
                    ..TicketPatch::default()
                };
                f.push(Step::Update {
                    by: agent_key,
                    patch: Box::new(patch),
                });
            }
            Script::Repair { vendor } => {
                f.step(
                    rng,
                    1,
                    8,
                    Step::Assign {
                        by: agent_key,
                        to: agent_key,
                    },
                );
                f.step(rng, 3, 20, status(agent_key, St::InProgress, None));
                if let (Some((q, a)), Some(r)) = (ask(rng), r_key) {
                    let q = self.reply(&vars, requester, agent, Ch::Email, q);
                    f.step(rng, 5, 30, comment(agent_key, q, false));
                    f.step(
                        rng,
                        1,
                        3,
                        status(
                            agent_key,
                            St::WaitingOnRequester,
                            Some("損傷始末書の提出待ち"),
                        ),
                    );
                    f.step(rng, 120, 1500, comment(r, vars.fill(a), false));
                }
                if let Some(v) = vendor_contact {
                    let n = Some("修理を依頼します（代替機と交換済み）。".to_owned());
                    f.step(
                        rng,
                        10,
                        120,
                        Step::Escalate {
                            by: agent_key,
                            vendor,
                            note: n,
                        },
                    );
                    let ack = note(tpl.vendor_acks, templates::VENDOR_ACKS, rng);
                    f.step(rng, 60, 600, comment(v, ack, false));
                    f.step(
                        rng,
                        10,
                        60,
                        status(agent_key, St::WaitingOnVendor, Some("修理完了待ち")),
                    );
                    f.wrap_up = true;
                    let fix = note(tpl.vendor_fixes, templates::VENDOR_FIXES, rng);
                    f.step(rng, 3 * day, 7 * day, comment(v, fix, false));
                }
                f.wrap_up = true;
                f.step(
                    rng,
                    10,
                    120,
                    comment(agent_key, reply(variant.answer), false),
                );
                if rng.chance(40) {
                    f.step(
                        rng,
                        5,
                        60,
                        Step::Update {
                            by: agent_key,
                            patch: Box::new(report_patch(&extra)),
                        },
                    );
                }
                f.step(rng, 1, 5, status(agent_key, St::Resolved, None));
            }
            Script::Problem { vendor } => {
                f.step(
                    rng,
                    30,
                    240,
                    Step::Assign {
                        by: sup,
                        to: agent_key,
                    },
                );
                f.step(rng, 5, 60, status(agent_key, St::InProgress, None));
                for n in tpl.notes {
                    let by = if rng.chance(50) { sup } else { agent_key };
                    f.step(rng, day / 2, 3 * day, comment(by, vars.fill(n), true));
                }
                if let (Some(code), Some(v)) = (vendor, vendor_contact) {
                    let n = Some(vars.fill("恒久対策の検討を{vendor}へ依頼します。"));
                    f.step(
                        rng,
                        30,
                        240,
                        Step::Escalate {
                            by: agent_key,
                            vendor: code,
                            note: n,
                        },
                    );
                    let ack = note(&[], templates::VENDOR_ACKS, rng);
                    f.step(rng, 60, 480, comment(v, ack, false));
                    if force.vendor_wait || rng.chance(60) {
                        f.step(
                            rng,
                            10,
                            60,
                            status(
                                agent_key,
                                St::WaitingOnVendor,
                                Some("事業者の対策案の回答待ち"),
                            ),
                        );
                    }
                    f.wrap_up = true;
                    let fix = vars.fill("{vendor}の{vname}です。対策を実施しました。効果を1か月間確認し、月次報告でご報告します。");
                    f.step(rng, 3 * day, 8 * day, comment(v, fix, false));
                }
                f.wrap_up = true;
                f.step(
                    rng,
                    day,
                    3 * day,
                    comment(sup, vars.fill(variant.answer), true),
                );
                f.step(rng, 5, 60, status(sup, St::Resolved, None));
            }
            Script::Change { vendor } => {
                f.step(
                    rng,
                    5,
                    60,
                    Step::Assign {
                        by: agent_key,
                        to: agent_key,
                    },
                );
                let body = vars.fill("作業計画書の内容（作業日時・影響範囲・切り戻し手順）を確認し、承認しました。（{sup_unit} {sup}）");
                f.step(rng, 60, 600, comment(sup, body, true));
                if let Some(v) = vendor_contact {
                    let n = Some(vars.fill(
                        "{sup_unit}の承認済みです。{date}に予定どおり作業を実施してください。",
                    ));
                    f.step(
                        rng,
                        10,
                        60,
                        Step::Escalate {
                            by: agent_key,
                            vendor,
                            note: n,
                        },
                    );
                    f.wrap_up = true;
                    let evening = NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN);
                    if let Some(done) = TOKYO
                        .from_local_datetime(&vars.work_date.and_time(evening))
                        .single()
                    {
                        let done = done.with_timezone(&Utc) + TimeDelta::minutes(rng.range(0, 75));
                        f.jump(done);
                    }
                    let body = vars.fill("{vendor}の{vname}です。{date}の作業は予定どおり完了しました。作業結果報告書を送付いたします。");
                    f.push(comment(v, body, false));
                }
                f.wrap_up = true;
                let body = "作業後の動作確認を実施。問題なし。".to_owned();
                f.step(rng, 15, 90, comment(agent_key, body, true));
                f.step(rng, 1, 5, status(agent_key, St::Resolved, None));
            }
            Script::OutOfScope => {
                f.step(
                    rng,
                    1,
                    4,
                    Step::Assign {
                        by: agent_key,
                        to: agent_key,
                    },
                );
                let system = extra(0).unwrap_or_default();
                let owner = extra(1).unwrap_or_default();
                let body = format!(
                    "切り分け: {system}の事象のため、ヘルプデスクの対応範囲外。{owner}を案内する。"
                );
                f.step(rng, 2, 10, comment(agent_key, body, true));
                if !oos_at_create {
                    let patch = TicketPatch {
                        out_of_scope: Some(true),
                        out_of_scope_system: Some(Some(system)),
                        ..TicketPatch::default()
                    };
                    f.step(
                        rng,
                        1,
                        3,
                        Step::Update {
                            by: agent_key,
                            patch: Box::new(patch),
                        },
                    );
                }
                f.wrap_up = true;
                f.step(rng, 1, 5, comment(agent_key, reply(variant.answer), false));
                f.step(rng, 1, 3, status(agent_key, St::Resolved, None));
            }
        }
        // Closing: the requester confirms now and then; otherwise the desk closes after three
        // business days without a reply.
        f.wrap_up = true;
        let closer = match tpl.script {
            Script::Problem { .. } => sup,
            _ => agent_key,
        };
        match requester {
            Some(r) if rng.chance(25) => {
                let thanks = if r.kind == PersonKind::Student {
                    "ありがとうございました。ログインできました。"
                } else {
                    *rng.pick(&[
                        "ご対応ありがとうございました。問題なく使えるようになりました。",
                        "ありがとうございました。解決しましたのでクローズしてください。",
                        "確認しました。ありがとうございます。",
                    ])
                    .unwrap_or(&"ありがとうございました。")
                };
                f.step(rng, 30, 600, comment(r.key, thanks.to_owned(), false));
                f.step(rng, 1, 5, status(r.key, St::Closed, None));
            }
            _ => {
                f.step(
                    rng,
                    3 * day,
                    3 * day + 120,
                    status(
                        closer,
                        St::Closed,
                        Some("解決後3営業日が経過したため完了とします。"),
                    ),
                );
            }
        }
        plan.steps = self.cut(f.steps, r_key, target);
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

impl Tpl {
    fn script_is_incident(&self) -> bool {
        matches!(self.script, Script::Incident { .. })
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
