//! A small two-tenant world for tests: every role in each tenant, a vendor with staff, an
//! org-unit tree, categories, a business calendar and SLA policies.

use chrono::Utc;
use entity::*;
use sea_orm::{ActiveModelTrait, Set};
use service::Db;
use service::calendar::CalendarSpec;
use uuid::Uuid;

/// One tenant's ids.
#[derive(Debug, Clone)]
pub struct TenantFx {
    pub id: Uuid,
    pub slug: String,
    pub root_unit: Uuid,
    pub unit: Uuid,
    pub child_unit: Uuid,
    pub category: Uuid,
    pub subcategory: Uuid,
    pub requester: Uuid,
    pub other_requester: Uuid,
    pub agent: Uuid,
    pub supervisor: Uuid,
    pub admin: Uuid,
    pub vendor_person: Uuid,
    pub vendor: Uuid,
    pub other_vendor: Uuid,
    pub calendar: Uuid,
}

/// Both tenants.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub city: TenantFx,
    pub edu: TenantFx,
}

async fn person(
    db: &Db,
    tenant: Uuid,
    unit: Uuid,
    email: &str,
    name: &str,
    roles: &str,
    vendor: Option<Uuid>,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    person::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        org_unit_id: Set(Some(unit)),
        vendor_id: Set(vendor),
        email: Set(email.to_owned()),
        display_name: Set(name.to_owned()),
        display_name_kana: Set(None),
        employee_number: Set(None),
        kind: Set(if vendor.is_some() {
            PersonKind::Contractor
        } else {
            PersonKind::Staff
        }),
        roles: Set(roles.to_owned()),
        active: Set(true),
        created_at: Set(Utc::now()),
    }
    .insert(&db.write)
    .await?;
    Ok(id)
}

async fn tenant(db: &Db, slug: &str, name: &str) -> anyhow::Result<TenantFx> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    tenant::ActiveModel {
        id: Set(id),
        slug: Set(slug.to_owned()),
        name: Set(name.to_owned()),
        ticket_prefix: Set("HD".to_owned()),
        helpdesk_email: Set(Some(format!("helpdesk@{slug}.example.jp"))),
        created_at: Set(now),
    }
    .insert(&db.write)
    .await?;
    let unit =
        |parent: Option<Uuid>, code: &str, name: &str, kind: OrgUnitKind| org_unit::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(id),
            parent_id: Set(parent),
            code: Set(code.to_owned()),
            name: Set(name.to_owned()),
            kind: Set(kind),
            sort_order: Set(0),
            created_at: Set(now),
        };
    let root = unit(None, "root", name, OrgUnitKind::Organization)
        .insert(&db.write)
        .await?
        .id;
    let u = unit(
        Some(root),
        "boe",
        "教育委員会",
        OrgUnitKind::BoardOfEducation,
    )
    .insert(&db.write)
    .await?
    .id;
    let child = unit(Some(u), "school-1", "さくら東小学校", OrgUnitKind::School)
        .insert(&db.write)
        .await?
        .id;
    let cat = |parent: Option<Uuid>, code: &str, name: &str| ticket_category::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(id),
        parent_id: Set(parent),
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        sort_order: Set(0),
        created_at: Set(now),
    };
    let category = cat(None, "account", "アカウント")
        .insert(&db.write)
        .await?
        .id;
    let subcategory = cat(Some(category), "account.password", "パスワード初期化")
        .insert(&db.write)
        .await?
        .id;
    let vendor = |code: &str, name: &str| vendor::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(id),
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        responsibility: Set(None),
        created_at: Set(now),
    };
    let v1 = vendor("ops", "統合運用管理補助事業者")
        .insert(&db.write)
        .await?
        .id;
    let v2 = vendor("net", "ネットワーク保守事業者")
        .insert(&db.write)
        .await?
        .id;
    let calendar = Uuid::now_v7();
    desk_calendar::ActiveModel {
        id: Set(calendar),
        tenant_id: Set(id),
        name: Set("ヘルプデスク".to_owned()),
        spec: Set(serde_json::to_value(CalendarSpec::standard_weekdays())?),
        is_default: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&db.write)
    .await?;
    let policy = |name: &str,
                  kind: Option<TicketKind>,
                  priority: Option<Priority>,
                  clock: SlaClock,
                  resp: i32,
                  res: i32,
                  report: Option<i32>| {
        sla_policy::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(id),
            name: Set(name.to_owned()),
            kind: Set(kind),
            priority: Set(priority),
            clock: Set(clock),
            response_minutes: Set(resp),
            resolution_minutes: Set(res),
            failure_report_business_days: Set(report),
            calendar_id: Set(calendar),
            created_at: Set(now),
        }
    };
    policy("標準", None, None, SlaClock::Business, 240, 1620, None)
        .insert(&db.write)
        .await?;
    policy(
        "障害",
        Some(TicketKind::Incident),
        None,
        SlaClock::Business,
        120,
        540,
        Some(3),
    )
    .insert(&db.write)
    .await?;
    policy(
        "障害（緊急）",
        Some(TicketKind::Incident),
        Some(Priority::Urgent),
        SlaClock::Continuous,
        120,
        360,
        Some(3),
    )
    .insert(&db.write)
    .await?;
    let email = |local: &str| format!("{local}@{slug}.example.jp");
    Ok(TenantFx {
        id,
        slug: slug.to_owned(),
        root_unit: root,
        unit: u,
        child_unit: child,
        category,
        subcategory,
        requester: person(
            db,
            id,
            child,
            &email("requester"),
            "山田 太郎",
            "requester",
            None,
        )
        .await?,
        other_requester: person(db, id, u, &email("other"), "佐藤 花子", "requester", None).await?,
        agent: person(db, id, root, &email("agent"), "鈴木 一郎", "agent", None).await?,
        supervisor: person(
            db,
            id,
            root,
            &email("supervisor"),
            "田中 美咲",
            "supervisor",
            None,
        )
        .await?,
        admin: person(db, id, root, &email("admin"), "管理者", "admin,agent", None).await?,
        vendor_person: person(
            db,
            id,
            root,
            &email("vendor"),
            "藤本 健",
            "vendor",
            Some(v1),
        )
        .await?,
        vendor: v1,
        other_vendor: v2,
        calendar,
    })
}

/// Seeds both tenants.
pub async fn seed(db: &Db) -> anyhow::Result<Fixture> {
    Ok(Fixture {
        city: tenant(db, "city", "さくら市").await?,
        edu: tenant(db, "edu", "さくら市教育委員会").await?,
    })
}
