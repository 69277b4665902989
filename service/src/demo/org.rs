//! The demo tenants' directory: org units, people, vendors, categories, calendars and SLA
//! policies, as static tables, and their insertion.

use crate::calendar::{CalendarSpec, DeskCalendar, MonthlyClosure, TimeWindow, WeeklyWindow};
use crate::error::{ServiceError, ServiceResult};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use entity::{
    OrgUnitKind, PersonKind, Priority, SlaClock, TicketKind, desk_calendar, org_unit, person,
    sla_policy, tenant, ticket_category, vendor,
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use std::collections::HashMap;
use uuid::Uuid;

/// An org unit (所属): code, parent code, name, kind.
pub(super) struct Unit {
    pub code: &'static str,
    pub parent: Option<&'static str>,
    pub name: &'static str,
    pub kind: OrgUnitKind,
}

/// An escalation target (二次対応先).
pub(super) struct VendorDef {
    pub code: &'static str,
    pub name: &'static str,
    pub responsibility: &'static str,
}

/// A person. `key` is the mail address's local part on the tenant's domain, or a whole
/// address for people on other domains (vendor staff).
pub(super) struct PersonDef {
    pub key: &'static str,
    pub name: &'static str,
    pub kana: &'static str,
    pub kind: PersonKind,
    pub unit: Option<&'static str>,
    pub roles: &'static str,
    pub vendor: Option<&'static str>,
}

/// A ticket category; the parent is the code before the first dot.
pub(super) struct Cat {
    pub code: &'static str,
    pub name: &'static str,
}

/// Everything the directory of one demo tenant holds.
pub(super) struct TenantDef {
    pub slug: &'static str,
    pub name: &'static str,
    pub helpdesk_email: &'static str,
    pub domain: &'static str,
    pub units: &'static [Unit],
    pub vendors: &'static [VendorDef],
    pub people: &'static [PersonDef],
    pub categories: &'static [Cat],
    pub calendar_name: &'static str,
    /// Tier-1 operators who take most tickets.
    pub agents: &'static [&'static str],
    /// Who dispatches and approves (DX戦略課 / 指導主事).
    pub supervisor: &'static str,
    /// The account the monitoring integration opens alert tickets with.
    pub monitor: &'static str,
    /// The unit monitoring alerts and work plans belong to.
    pub desk_unit: &'static str,
    /// First 職員番号; numbers are handed out in table order so they never change.
    pub employee_base: u32,
}

impl TenantDef {
    /// Returns the mail address of the person with `key`.
    pub fn email(&self, key: &str) -> String {
        if key.contains('@') {
            key.to_owned()
        } else {
            format!("{key}@{}", self.domain)
        }
    }

    /// Returns the person with `key`; the tables are static, so a miss is a bug in them.
    pub fn person(&self, key: &str) -> ServiceResult<&PersonDef> {
        self.people
            .iter()
            .find(|p| p.key == key)
            .ok_or_else(|| ServiceError::Config(format!("demo person `{key}` is not defined")))
    }

    /// Returns the name of the unit with `code`.
    pub fn unit_name(&self, code: &str) -> &'static str {
        self.units
            .iter()
            .find(|u| u.code == code)
            .map_or("", |u| u.name)
    }

    /// Returns the vendor with `code`.
    pub fn vendor(&self, code: &str) -> ServiceResult<&VendorDef> {
        self.vendors
            .iter()
            .find(|v| v.code == code)
            .ok_or_else(|| ServiceError::Config(format!("demo vendor `{code}` is not defined")))
    }

    /// Returns the key of the vendor's first staff member, who answers escalations.
    pub fn vendor_contact(&self, code: &str) -> ServiceResult<&'static str> {
        self.people
            .iter()
            .find(|p| p.vendor == Some(code))
            .map(|p| p.key)
            .ok_or_else(|| ServiceError::Config(format!("demo vendor `{code}` has no staff")))
    }

    /// Returns the business-hours spec of the tenant's default desk calendar.
    pub fn calendar_spec(&self, anchor: DateTime<Utc>) -> CalendarSpec {
        if self.slug == CITY.slug {
            city_calendar()
        } else {
            board_calendar(anchor)
        }
    }
}

fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

const WEEKDAYS: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

/// Seed 001: 平日8時から19時30分まで、土、日、祝日は8時30分から17時まで。ただし、年末年始
/// 並びに第3土曜日及びそれに続く日曜日を除く。
fn city_calendar() -> CalendarSpec {
    let mut weekly: Vec<WeeklyWindow> = WEEKDAYS
        .iter()
        .map(|&weekday| WeeklyWindow {
            weekday,
            start: hm(8, 0),
            end: hm(19, 30),
        })
        .collect();
    for weekday in [Weekday::Sat, Weekday::Sun] {
        weekly.push(WeeklyWindow {
            weekday,
            start: hm(8, 30),
            end: hm(17, 0),
        });
    }
    CalendarSpec {
        time_zone: "Asia/Tokyo".to_owned(),
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
        closed_dates: vec![],
    }
}

/// The board's desk follows school office hours with a lunch break; 学校閉庁日 in August are
/// closed for the years the demo's six months touch.
fn board_calendar(anchor: DateTime<Utc>) -> CalendarSpec {
    let mut weekly = Vec::new();
    for &weekday in &WEEKDAYS {
        weekly.push(WeeklyWindow {
            weekday,
            start: hm(8, 30),
            end: hm(12, 0),
        });
        weekly.push(WeeklyWindow {
            weekday,
            start: hm(13, 0),
            end: hm(17, 15),
        });
    }
    let first_year = (anchor - TimeDelta::days(super::SPAN_DAYS)).year();
    let closed_dates = (first_year..=anchor.year())
        .flat_map(|y| [(y, 8, 13), (y, 8, 14)])
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
        .collect();
    CalendarSpec {
        time_zone: "Asia/Tokyo".to_owned(),
        weekly,
        holiday_windows: vec![],
        observe_national_holidays: true,
        year_end_closure: true,
        monthly_closures: vec![],
        closed_dates,
    }
}

/// An SLA policy row before it has a calendar id.
struct PolicyDef {
    name: &'static str,
    kind: Option<TicketKind>,
    priority: Option<Priority>,
    clock: SlaClock,
    response_minutes: i32,
    resolution_minutes: i32,
    failure_report_business_days: Option<i32>,
}

/// Seed 004 表3: 着手は障害コールから2時間以内、復旧は6時間以内 (24h clock for emergencies);
/// ordinary work runs on desk hours. `day_minutes` is one weekday of desk hours, so that
/// "3 business days" means the same thing at both desks.
fn policies(day_minutes: i32) -> [PolicyDef; 7] {
    [
        PolicyDef {
            name: "障害（緊急）",
            kind: Some(TicketKind::Incident),
            priority: Some(Priority::Urgent),
            clock: SlaClock::Continuous,
            response_minutes: 120,
            resolution_minutes: 360,
            failure_report_business_days: Some(3),
        },
        PolicyDef {
            name: "セキュリティインシデント・ウイルス感染",
            kind: Some(TicketKind::SecurityIncident),
            priority: None,
            clock: SlaClock::Continuous,
            response_minutes: 120,
            resolution_minutes: 360,
            failure_report_business_days: Some(3),
        },
        PolicyDef {
            name: "障害",
            kind: Some(TicketKind::Incident),
            priority: None,
            clock: SlaClock::Business,
            response_minutes: 240,
            resolution_minutes: 1440,
            failure_report_business_days: Some(3),
        },
        PolicyDef {
            name: "作業依頼",
            kind: Some(TicketKind::ServiceRequest),
            priority: None,
            clock: SlaClock::Business,
            response_minutes: 480,
            resolution_minutes: 4800,
            failure_report_business_days: None,
        },
        PolicyDef {
            name: "変更・作業計画",
            kind: Some(TicketKind::Change),
            priority: None,
            clock: SlaClock::Business,
            response_minutes: 1440,
            resolution_minutes: 7200,
            failure_report_business_days: None,
        },
        // 課題 are tracked over weeks (課題管理表), not days.
        PolicyDef {
            name: "課題",
            kind: Some(TicketKind::Problem),
            priority: None,
            clock: SlaClock::Business,
            response_minutes: day_minutes,
            resolution_minutes: 20 * day_minutes,
            failure_report_business_days: None,
        },
        PolicyDef {
            name: "標準（問い合わせ）",
            kind: None,
            priority: None,
            clock: SlaClock::Business,
            response_minutes: 240,
            resolution_minutes: 3 * day_minutes,
            failure_report_business_days: None,
        },
    ]
}

/// Minutes of desk hours on an ordinary Monday.
pub(super) fn weekday_minutes(spec: &CalendarSpec) -> i32 {
    let minutes: i64 = spec
        .weekly
        .iter()
        .filter(|w| w.weekday == Weekday::Mon)
        .map(|w| (w.end - w.start).num_minutes())
        .sum();
    i32::try_from(minutes).unwrap_or(i32::MAX)
}

/// Ids of everything inserted for one tenant, by the keys the ticket plans use.
pub(super) struct Directory {
    pub people: HashMap<&'static str, person::Model>,
    pub units: HashMap<&'static str, Uuid>,
    pub vendors: HashMap<&'static str, Uuid>,
    pub categories: HashMap<&'static str, Uuid>,
}

/// Inserts one tenant's directory with `created` as every row's creation time.
pub(super) async fn insert(
    db: &impl ConnectionTrait,
    def: &TenantDef,
    spec: &CalendarSpec,
    created: DateTime<Utc>,
) -> ServiceResult<Directory> {
    // A spec the service could not compile would only fail later, on the first ticket.
    DeskCalendar::new(spec).map_err(|e| ServiceError::Config(format!("demo calendar: {e}")))?;
    let tenant_id = Uuid::now_v7();
    tenant::Entity::insert(tenant::ActiveModel {
        id: Set(tenant_id),
        slug: Set(def.slug.to_owned()),
        name: Set(def.name.to_owned()),
        ticket_prefix: Set("HD".to_owned()),
        helpdesk_email: Set(Some(def.helpdesk_email.to_owned())),
        created_at: Set(created),
    })
    .exec(db)
    .await?;

    // Parents come before children in the table, so one pass resolves every parent.
    let mut units = HashMap::new();
    let mut rows = Vec::new();
    for (i, u) in def.units.iter().enumerate() {
        let id = Uuid::now_v7();
        let parent_id = match u.parent {
            Some(p) => Some(*units.get(p).ok_or_else(|| {
                ServiceError::Config(format!("demo unit `{}` lists its parent late", u.code))
            })?),
            None => None,
        };
        units.insert(u.code, id);
        rows.push(org_unit::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            parent_id: Set(parent_id),
            code: Set(u.code.to_owned()),
            name: Set(u.name.to_owned()),
            kind: Set(u.kind),
            sort_order: Set(sort_order(i)),
            created_at: Set(created),
        });
    }
    org_unit::Entity::insert_many(rows).exec(db).await?;

    let mut vendors = HashMap::new();
    let rows: Vec<_> = def
        .vendors
        .iter()
        .map(|v| {
            let id = Uuid::now_v7();
            vendors.insert(v.code, id);
            vendor::ActiveModel {
                id: Set(id),
                tenant_id: Set(tenant_id),
                code: Set(v.code.to_owned()),
                name: Set(v.name.to_owned()),
                responsibility: Set(Some(v.responsibility.to_owned())),
                created_at: Set(created),
            }
        })
        .collect();
    vendor::Entity::insert_many(rows).exec(db).await?;

    let mut people = HashMap::new();
    let mut rows = Vec::new();
    let mut employee_number = def.employee_base;
    for p in def.people {
        let org_unit_id = match p.unit {
            Some(code) => Some(*units.get(code).ok_or_else(|| {
                ServiceError::Config(format!("demo person `{}` has an unknown unit", p.key))
            })?),
            None => None,
        };
        let vendor_id = match p.vendor {
            Some(code) => Some(*vendors.get(code).ok_or_else(|| {
                ServiceError::Config(format!("demo person `{}` has an unknown vendor", p.key))
            })?),
            None => None,
        };
        let number = matches!(p.kind, PersonKind::Staff | PersonKind::Teacher).then(|| {
            employee_number += 7;
            employee_number.to_string()
        });
        let model = person::Model {
            id: Uuid::now_v7(),
            tenant_id,
            org_unit_id,
            vendor_id,
            email: def.email(p.key),
            display_name: p.name.to_owned(),
            display_name_kana: Some(p.kana.to_owned()),
            employee_number: number,
            kind: p.kind,
            roles: p.roles.to_owned(),
            active: true,
            created_at: created,
        };
        rows.push(person::ActiveModel {
            id: Set(model.id),
            tenant_id: Set(model.tenant_id),
            org_unit_id: Set(model.org_unit_id),
            vendor_id: Set(model.vendor_id),
            email: Set(model.email.clone()),
            display_name: Set(model.display_name.clone()),
            display_name_kana: Set(model.display_name_kana.clone()),
            employee_number: Set(model.employee_number.clone()),
            kind: Set(model.kind),
            roles: Set(model.roles.clone()),
            active: Set(true),
            created_at: Set(created),
        });
        people.insert(p.key, model);
    }
    person::Entity::insert_many(rows).exec(db).await?;

    let mut categories = HashMap::new();
    let mut rows = Vec::new();
    for (i, c) in def.categories.iter().enumerate() {
        let id = Uuid::now_v7();
        let parent_id = match c.code.split_once('.') {
            Some((parent, _)) => Some(*categories.get(parent).ok_or_else(|| {
                ServiceError::Config(format!("demo category `{}` lists its parent late", c.code))
            })?),
            None => None,
        };
        categories.insert(c.code, id);
        rows.push(ticket_category::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            parent_id: Set(parent_id),
            code: Set(c.code.to_owned()),
            name: Set(c.name.to_owned()),
            sort_order: Set(sort_order(i)),
            created_at: Set(created),
        });
    }
    ticket_category::Entity::insert_many(rows).exec(db).await?;

    let calendar_id = Uuid::now_v7();
    let spec_json = serde_json::to_value(spec)
        .map_err(|e| ServiceError::Config(format!("demo calendar: {e}")))?;
    desk_calendar::Entity::insert(desk_calendar::ActiveModel {
        id: Set(calendar_id),
        tenant_id: Set(tenant_id),
        name: Set(def.calendar_name.to_owned()),
        spec: Set(spec_json),
        is_default: Set(true),
        created_at: Set(created),
        updated_at: Set(created),
    })
    .exec(db)
    .await?;

    // Equal creation times would leave policy_for's tie-break to chance; a second apart, the
    // table order decides.
    let rows: Vec<_> = policies(weekday_minutes(spec))
        .into_iter()
        .enumerate()
        .map(|(i, p)| sla_policy::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            name: Set(p.name.to_owned()),
            kind: Set(p.kind),
            priority: Set(p.priority),
            clock: Set(p.clock),
            response_minutes: Set(p.response_minutes),
            resolution_minutes: Set(p.resolution_minutes),
            failure_report_business_days: Set(p.failure_report_business_days),
            calendar_id: Set(calendar_id),
            created_at: Set(created + TimeDelta::seconds(i64::try_from(i).unwrap_or(0))),
        })
        .collect();
    sla_policy::Entity::insert_many(rows).exec(db).await?;

    Ok(Directory {
        people,
        units,
        vendors,
        categories,
    })
}

fn sort_order(i: usize) -> i32 {
    i32::try_from(i * 10).unwrap_or(i32::MAX)
}

use OrgUnitKind::{BoardOfEducation, BranchOffice, Department, Division, Organization, School};
use PersonKind::{Contractor, Staff, Student, Teacher};

const fn unit(
    code: &'static str,
    parent: Option<&'static str>,
    name: &'static str,
    kind: OrgUnitKind,
) -> Unit {
    Unit {
        code,
        parent,
        name,
        kind,
    }
}

const fn p(
    key: &'static str,
    name: &'static str,
    kana: &'static str,
    kind: PersonKind,
    unit: &'static str,
    roles: &'static str,
) -> PersonDef {
    PersonDef {
        key,
        name,
        kana,
        kind,
        unit: Some(unit),
        roles,
        vendor: None,
    }
}

const fn vp(
    key: &'static str,
    name: &'static str,
    kana: &'static str,
    vendor: &'static str,
) -> PersonDef {
    PersonDef {
        key,
        name,
        kana,
        kind: Contractor,
        unit: None,
        roles: "vendor",
        vendor: Some(vendor),
    }
}

const fn cat(code: &'static str, name: &'static str) -> Cat {
    Cat { code, name }
}

/// さくら市: DX戦略課 runs the desk; the helpdesk vendor's operators sit with it.
#[rustfmt::skip]
pub(super) static CITY: TenantDef = TenantDef {
    slug: "sakura-city",
    name: "さくら市",
    helpdesk_email: "helpdesk@city.sakura.example.jp",
    domain: "city.sakura.example.jp",
    units: &[
        unit("000000", None, "さくら市", Organization),
        unit("010000", Some("000000"), "総務部", Department),
        unit("010100", Some("010000"), "総務課", Division),
        unit("010200", Some("010000"), "職員課", Division),
        unit("020000", Some("000000"), "企画財政部", Department),
        unit("020100", Some("020000"), "DX戦略課", Division),
        unit("020200", Some("020000"), "財政課", Division),
        unit("020300", Some("020000"), "税務課", Division),
        unit("030000", Some("000000"), "市民生活部", Department),
        unit("030100", Some("030000"), "市民課", Division),
        unit("030200", Some("030000"), "保険年金課", Division),
        unit("030900", Some("030000"), "北部市民センター", BranchOffice),
        unit("030910", Some("030000"), "南部市民センター", BranchOffice),
        unit("040000", Some("000000"), "福祉部", Department),
        unit("040100", Some("040000"), "福祉総務課", Division),
        unit("040200", Some("040000"), "障がい福祉課", Division),
        unit("050000", Some("000000"), "健康部", Department),
        unit("050100", Some("050000"), "健康づくり課", Division),
        unit("060000", Some("000000"), "こども部", Department),
        unit("060100", Some("060000"), "こども家庭課", Division),
        unit("060200", Some("060000"), "保育課", Division),
        unit("070000", Some("000000"), "環境部", Department),
        unit("070100", Some("070000"), "環境政策課", Division),
        unit("080000", Some("000000"), "都市整備部", Department),
        unit("080100", Some("080000"), "都市計画課", Division),
        unit("080200", Some("080000"), "道路課", Division),
        unit("090000", Some("000000"), "上下水道部", Department),
        unit("090100", Some("090000"), "水道課", Division),
        unit("100000", Some("000000"), "消防本部", Department),
        unit("100100", Some("100000"), "消防総務課", Division),
    ],
    vendors: &[
        VendorDef {
            code: "ops",
            name: "さくら統合運用サービス株式会社",
            responsibility: "統合運用管理補助事業者（サーバ・ネットワーク監視、障害時の二次対応、休日・夜間の現地対応）",
        },
        VendorDef {
            code: "kikan",
            name: "さくら情報システム株式会社",
            responsibility: "基幹系システム事業者（住民記録・税務・財務会計）",
        },
        VendorDef {
            code: "network",
            name: "さくらネットワーク保守株式会社",
            responsibility: "ネットワーク保守事業者（庁内LAN・拠点間回線・無線LAN・内線電話）",
        },
        VendorDef {
            code: "mfp",
            name: "さくらOAサービス株式会社",
            responsibility: "複合機保守事業者（複合機・プリンタの保守、トナー供給）",
        },
    ],
    people: &[
        p("admin", "小林 健一", "こばやし けんいち", Staff, "020100", "admin,agent"),
        p("tanaka.misaki", "田中 美咲", "たなか みさき", Staff, "020100", "supervisor"),
        p("nishimura.daisuke", "西村 大輔", "にしむら だいすけ", Staff, "020100", "supervisor"),
        p("suzuki.hd", "鈴木 一郎", "すずき いちろう", Contractor, "020100", "agent"),
        p("takahashi.hd", "高橋 直子", "たかはし なおこ", Contractor, "020100", "agent"),
        p("ito.hd", "伊藤 翔太", "いとう しょうた", Contractor, "020100", "agent"),
        p("yamada.taro", "山田 太郎", "やまだ たろう", Staff, "030100", "requester"),
        p("sasaki.yoko", "佐々木 陽子", "ささき ようこ", Staff, "030100", "requester"),
        p("aoki.haruka", "青木 遥", "あおき はるか", Staff, "030100", "requester"),
        p("yamaguchi.ken", "山口 健", "やまぐち けん", Staff, "030200", "requester"),
        p("matsuda.emi", "松田 恵美", "まつだ えみ", Staff, "010100", "requester"),
        p("endo.mitsuru", "遠藤 満", "えんどう みつる", Staff, "010100", "requester"),
        p("kimura.takuya", "木村 拓也", "きむら たくや", Staff, "010200", "requester"),
        p("yamamoto.yuki", "山本 由紀", "やまもと ゆき", Staff, "020200", "requester"),
        p("hayashi.mai", "林 麻衣", "はやし まい", Staff, "020300", "requester"),
        p("shimizu.kazuo", "清水 和夫", "しみず かずお", Staff, "020300", "requester"),
        p("nakajima.ryo", "中島 亮", "なかじま りょう", Staff, "040100", "requester"),
        p("ishikawa.kaori", "石川 香織", "いしかわ かおり", Staff, "040200", "requester"),
        p("maeda.shingo", "前田 真吾", "まえだ しんご", Staff, "050100", "requester"),
        p("fujita.ayumi", "藤田 あゆみ", "ふじた あゆみ", Staff, "060100", "requester"),
        p("fukuda.kenta", "福田 健太", "ふくだ けんた", Staff, "060100", "requester"),
        p("ogawa.nao", "小川 奈緒", "おがわ なお", Staff, "060200", "requester"),
        p("okada.hiroshi", "岡田 博", "おかだ ひろし", Staff, "070100", "requester"),
        p("goto.masaki", "後藤 雅樹", "ごとう まさき", Staff, "080100", "requester"),
        p("hasegawa.jun", "長谷川 純", "はせがわ じゅん", Staff, "080200", "requester"),
        p("murakami.keiko", "村上 恵子", "むらかみ けいこ", Staff, "090100", "requester"),
        p("kondo.tsuyoshi", "近藤 剛", "こんどう つよし", Staff, "100100", "requester"),
        p("ishii.sayaka", "石井 さやか", "いしい さやか", Staff, "030900", "requester"),
        p("sakamoto.yu", "坂本 優", "さかもと ゆう", Staff, "030910", "requester"),
        vp("fujimoto@sakura-ops.example.co.jp", "藤本 隆", "ふじもと たかし", "ops"),
        vp("miura@sakura-ops.example.co.jp", "三浦 沙織", "みうら さおり", "ops"),
        vp("nakamura@sakura-kikan.example.co.jp", "中村 誠", "なかむら まこと", "kikan"),
        vp("ono@sakura-kikan.example.co.jp", "小野 理恵", "おの りえ", "kikan"),
        vp("harada@sakura-net.example.co.jp", "原田 悟", "はらだ さとる", "network"),
        vp("ueda@sakura-oa.example.co.jp", "上田 浩二", "うえだ こうじ", "mfp"),
    ],
    categories: &[
        cat("account", "アカウント・パスワード"),
        cat("account.password-reset", "パスワード初期化"),
        cat("account.lifecycle", "アカウント作成・削除"),
        cat("account.mfa", "二要素認証（顔認証）"),
        cat("device", "端末"),
        cat("device.repair", "故障・修理"),
        cat("device.loaner", "代替機"),
        cat("device.peripheral", "周辺機器"),
        cat("network", "ネットワーク"),
        cat("network.down", "接続不可"),
        cat("network.wifi", "Wi-Fi"),
        cat("network.web-unblock", "Web閲覧解除"),
        cat("network.share", "共有フォルダ"),
        cat("m365", "メール・Microsoft 365"),
        cat("m365.mail", "メール"),
        cat("m365.teams", "Teams"),
        cat("biz", "業務システム"),
        cat("biz.resident", "住民記録"),
        cat("biz.tax", "税務"),
        cat("biz.finance", "財務会計"),
        cat("biz.document", "文書管理"),
        cat("printer", "プリンタ・複合機"),
        cat("printer.toner", "トナー"),
        cat("printer.trouble", "故障・紙詰まり"),
        cat("security", "セキュリティ"),
        cat("security.virus", "ウイルス感染"),
        cat("security.phishing", "不審メール"),
        cat("security.usb", "USBデバイス制御（SKYSEA）"),
        cat("infra", "サーバ・基盤"),
        cat("infra.monitoring", "監視アラート"),
        cat("infra.maintenance", "定期作業・作業計画"),
        cat("other", "その他"),
    ],
    calendar_name: "DX戦略課ヘルプデスク",
    agents: &["suzuki.hd", "takahashi.hd", "ito.hd"],
    supervisor: "tanaka.misaki",
    monitor: "admin",
    desk_unit: "020100",
    employee_base: 201_000,
};

/// さくら市教育委員会: schools, teachers and students; GIGA端末 and 校務支援システム.
#[rustfmt::skip]
pub(super) static BOARD: TenantDef = TenantDef {
    slug: "sakura-kyoiku",
    name: "さくら市教育委員会",
    helpdesk_email: "helpdesk@kyoiku.sakura.example.jp",
    domain: "kyoiku.sakura.example.jp",
    units: &[
        unit("000000", None, "さくら市", Organization),
        unit("E00000", Some("000000"), "さくら市教育委員会", BoardOfEducation),
        unit("E10000", Some("E00000"), "教育総務課", Division),
        unit("E20000", Some("E00000"), "学校教育課", Division),
        unit("S10101", Some("E00000"), "さくら東小学校", School),
        unit("S10102", Some("E00000"), "さくら西小学校", School),
        unit("S10103", Some("E00000"), "さくら南小学校", School),
        unit("S20101", Some("E00000"), "さくら中学校", School),
        unit("S20102", Some("E00000"), "さくら北中学校", School),
    ],
    vendors: &[
        VendorDef {
            code: "giga",
            name: "さくらGIGAサポート株式会社",
            responsibility: "GIGA端末保守事業者（児童生徒用端末の修理・代替機・キッティング、校内Wi-Fi）",
        },
        VendorDef {
            code: "komu",
            name: "株式会社さくら校務システム",
            responsibility: "校務支援システム事業者（成績処理・出欠管理・指導要録・校務系サーバ）",
        },
    ],
    people: &[
        p("admin", "松本 修", "まつもと おさむ", Staff, "E10000", "admin,agent"),
        p("inoue.tomoko", "井上 智子", "いのうえ ともこ", Staff, "E20000", "supervisor"),
        p("kato.hd", "加藤 由美", "かとう ゆみ", Contractor, "E10000", "agent"),
        p("mori.hd", "森 大樹", "もり だいき", Contractor, "E10000", "agent"),
        p("ikeda.yusuke", "池田 裕介", "いけだ ゆうすけ", Staff, "E10000", "requester"),
        p("shimada.jun", "島田 潤", "しまだ じゅん", Staff, "E20000", "requester"),
        p("sato.hanako", "佐藤 花子", "さとう はなこ", Teacher, "S10101", "requester"),
        p("takeuchi.sho", "竹内 翔", "たけうち しょう", Teacher, "S10101", "requester"),
        p("yokoyama.masato", "横山 正人", "よこやま まさと", Teacher, "S10101", "requester"),
        p("nomura.akiko", "野村 明子", "のむら あきこ", Teacher, "S10102", "requester"),
        p("sugiyama.tetsuya", "杉山 哲也", "すぎやま てつや", Teacher, "S10102", "requester"),
        p("kubo.megumi", "久保 めぐみ", "くぼ めぐみ", Teacher, "S10103", "requester"),
        p("arai.kenji", "新井 健二", "あらい けんじ", Teacher, "S10103", "requester"),
        p("ota.satoshi", "太田 聡", "おおた さとし", Teacher, "S20101", "requester"),
        p("hirano.yui", "平野 結衣", "ひらの ゆい", Teacher, "S20101", "requester"),
        p("sakai.noriko", "酒井 典子", "さかい のりこ", Staff, "S20101", "requester"),
        p("miyazaki.takeshi", "宮崎 武", "みやざき たけし", Teacher, "S20102", "requester"),
        p("kikuchi.rina", "菊地 里奈", "きくち りな", Teacher, "S20102", "requester"),
        p("s2026001", "田村 陽向", "たむら ひなた", Student, "S10101", "requester"),
        p("s2026002", "中野 さくら", "なかの さくら", Student, "S10101", "requester"),
        p("s2024015", "大野 蓮", "おおの れん", Student, "S20101", "requester"),
        p("s2025033", "小松 結菜", "こまつ ゆな", Student, "S20102", "requester"),
        vp("support@sakura-giga.example.co.jp", "岡本 誠", "おかもと まこと", "giga"),
        vp("yoshimura@sakura-giga.example.co.jp", "吉村 拓海", "よしむら たくみ", "giga"),
        vp("ando@sakura-komu.example.co.jp", "安藤 恵", "あんどう めぐみ", "komu"),
    ],
    categories: &[
        cat("account", "アカウント・パスワード"),
        cat("account.password-reset", "パスワード初期化"),
        cat("account.lifecycle", "アカウント作成・削除"),
        cat("giga", "GIGA端末"),
        cat("giga.broken", "破損・故障"),
        cat("giga.loaner", "代替機"),
        cat("giga.setup", "設定・キッティング"),
        cat("komu", "校務支援システム"),
        cat("komu.grades", "成績処理・通知表"),
        cat("komu.attendance", "出欠・名簿"),
        cat("apps", "学習用アプリ"),
        cat("apps.learning", "ドリル・授業支援"),
        cat("apps.m365", "Microsoft 365・Teams"),
        cat("network", "ネットワーク"),
        cat("network.down", "接続不可"),
        cat("network.wifi", "校内Wi-Fi"),
        cat("network.web-unblock", "フィルタリング解除"),
        cat("printer", "プリンタ・複合機"),
        cat("printer.toner", "トナー"),
        cat("printer.trouble", "故障・紙詰まり"),
        cat("security", "セキュリティ"),
        cat("security.virus", "ウイルス感染"),
        cat("security.phishing", "不審メール"),
        cat("security.loss", "紛失・盗難"),
        cat("infra", "サーバ・基盤"),
        cat("infra.monitoring", "監視アラート"),
        cat("infra.maintenance", "定期作業・作業計画"),
        cat("other", "その他"),
    ],
    calendar_name: "教育委員会ヘルプデスク",
    agents: &["kato.hd", "mori.hd"],
    supervisor: "inoue.tomoko",
    monitor: "admin",
    desk_unit: "E10000",
    employee_base: 501_000,
};
