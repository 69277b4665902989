//! Demo data: two fictional tenants (さくら市 and さくら市教育委員会) with six months of tickets
//! and their ledgers (devices, licenses, consumables, loans, repairs, requests).
//!
//! The directory is inserted directly; every ticket is then opened and worked through the real
//! service functions at past instants, so its history, SLA deadlines, breaches and failure-report
//! dates are exactly what the service would have recorded. Content is deterministic for a given
//! anchor: a self-contained PRNG with a fixed seed drives every choice (see `plan`).

mod ledgers;
mod org;
mod plan;
mod templates;

use crate::auth::Actor;
use crate::calendar::DeskCalendar;
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};
use crate::tickets::{self, NewTicket};
use crate::{directory, sla};
use chrono::{DateTime, TimeDelta, Utc};
use entity::person;
use plan::{Plan, Planner, Step};
use sea_orm::{ConnectionTrait, TransactionTrait};
use std::collections::HashMap;
use uuid::Uuid;

/// How many days before the anchor the tickets are spread over (about six months).
const SPAN_DAYS: i64 = 183;

/// What [`load`] created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    pub tenants: usize,
    pub org_units: usize,
    pub people: usize,
    pub tickets: usize,
    pub comments: usize,
    pub faq_articles: usize,
    /// Devices in the configuration ledgers (both tenants).
    pub assets: usize,
}

/// The demo accounts listed in the README (slug, email, role label).
#[rustfmt::skip]
pub const DEMO_ACCOUNTS: &[(&str, &str, &str)] = &[
    ("sakura-city", "admin@city.sakura.example.jp", "admin"),
    ("sakura-city", "tanaka.misaki@city.sakura.example.jp", "supervisor"),
    ("sakura-city", "suzuki.hd@city.sakura.example.jp", "agent"),
    ("sakura-city", "takahashi.hd@city.sakura.example.jp", "agent"),
    ("sakura-city", "yamada.taro@city.sakura.example.jp", "requester"),
    ("sakura-city", "fujimoto@sakura-ops.example.co.jp", "vendor"),
    ("sakura-kyoiku", "admin@kyoiku.sakura.example.jp", "admin"),
    ("sakura-kyoiku", "kato.hd@kyoiku.sakura.example.jp", "agent"),
    ("sakura-kyoiku", "sato.hanako@kyoiku.sakura.example.jp", "requester"),
    ("sakura-kyoiku", "s2026001@kyoiku.sakura.example.jp", "requester"),
    ("sakura-kyoiku", "support@sakura-giga.example.co.jp", "vendor"),
];

/// Returns whether demo data is present (tenant `sakura-city` exists).
pub async fn is_loaded(db: &impl ConnectionTrait) -> ServiceResult<bool> {
    Ok(directory::tenant_by_slug(db, org::CITY.slug)
        .await?
        .is_some())
}

/// Loads the demo tenants; ticket times are spread over the six months before `anchor`.
///
/// Deterministic: the same anchor gives the same data (ids are UUIDv7 and may differ; content,
/// numbers, counts and states do not). Refuses with a conflict if the demo is already loaded.
/// Tickets are written one service call at a time, so a failure part-way leaves what was
/// written so far; load into a fresh database.
pub async fn load(db: &Db, anchor: DateTime<Utc>) -> ServiceResult<DemoSummary> {
    if is_loaded(&db.write).await? {
        return Err(ServiceError::Conflict("demo data is already loaded"));
    }
    // Whole seconds, so that an anchor taken from the clock cannot leak sub-second noise
    // into every instant derived from it.
    let anchor = DateTime::from_timestamp(anchor.timestamp(), 0).unwrap_or(anchor);
    let defs = [&org::CITY, &org::BOARD];
    let specs = defs.map(|d| d.calendar_spec(anchor));

    let created = anchor - TimeDelta::days(365);
    let txn = db.write.begin().await?;
    let mut dirs = Vec::with_capacity(defs.len());
    for (def, spec) in defs.iter().zip(&specs) {
        dirs.push(org::insert(&txn, def, spec, created).await?);
    }
    txn.commit().await?;

    let mut plans = Vec::new();
    for (i, (def, spec)) in defs.iter().zip(&specs).enumerate() {
        let cal = DeskCalendar::new(spec)
            .map_err(|e| ServiceError::Config(format!("demo calendar: {e}")))?;
        let planner = Planner {
            tenant: i,
            def,
            templates: if i == 0 {
                templates::CITY
            } else {
                templates::BOARD
            },
            cal: &cal,
            anchor,
            cutoff: anchor - TimeDelta::minutes(2),
            day_minutes: i64::from(org::weekday_minutes(spec)),
        };
        plans.extend(planner.plan());
    }
    // Numbers are handed out in creation order, so tickets are opened oldest first.
    plans.sort_by_key(|p| (p.at, p.tenant));

    // One timeline across all tickets: history ids (UUIDv7) then follow time as well.
    let mut timeline: Vec<(DateTime<Utc>, usize, usize)> = Vec::new();
    for (pi, p) in plans.iter().enumerate() {
        timeline.push((p.at, pi, 0));
        timeline.extend(p.steps.iter().enumerate().map(|(si, s)| (s.at, pi, si + 1)));
    }
    timeline.sort_unstable();

    let runner = Runner { db, dirs: &dirs };
    let mut ids: Vec<Option<Uuid>> = vec![None; plans.len()];
    let mut comments = 0;
    for (_, pi, si) in timeline {
        let p = &plans[pi];
        let result = match (si, ids[pi]) {
            (0, _) => runner.create(p).await.map(|id| ids[pi] = Some(id)),
            (_, Some(id)) => match p.steps.get(si - 1) {
                Some(s) => {
                    if matches!(s.step, Step::Comment { .. }) {
                        comments += 1;
                    }
                    runner.step(p, id, &s.step, s.at).await
                }
                None => Ok(()),
            },
            (_, None) => Err(ServiceError::Config(
                "demo step before its ticket".to_owned(),
            )),
        };
        if let Err(e) = result {
            tracing::error!(title = %p.title, step = si, error = ?e, "demo ticket failed");
            return Err(e);
        }
    }
    sla::mark_breaches(&db.write, anchor, 10_000).await?;
    crate::mail::outbound::settle_history_as_sent(&db.write).await?;

    // The FAQ: the same 80 articles for both tenants (the board has office staff too).
    let mut faq_articles = 0;
    for dir in &dirs {
        let Some(admin) = dir
            .people
            .values()
            .find(|p| crate::directory::roles_of(p).is_desk())
        else {
            return Err(ServiceError::Config(
                "demo tenant without a desk person".to_owned(),
            ));
        };
        let actor = Actor {
            person_id: admin.id,
            tenant_id: admin.tenant_id,
            roles: crate::directory::roles_of(admin),
            vendor_id: None,
        };
        let report = crate::faq::import(
            &db.write,
            &actor,
            crate::faq::parse_jsonl(DEMO_FAQ),
            entity::FaqStatus::Published,
        )
        .await?;
        if let Some((line, e)) = report.errors.first() {
            return Err(ServiceError::Config(format!("demo FAQ line {line}: {e}")));
        }
        faq_articles += report.created;
    }

    let ledgers = ledgers::load(db, &dirs, anchor).await?;

    Ok(DemoSummary {
        assets: ledgers.assets,
        tenants: defs.len(),
        org_units: defs.iter().map(|d| d.units.len()).sum(),
        people: defs.iter().map(|d| d.people.len()).sum(),
        tickets: plans.len(),
        comments,
        faq_articles,
    })
}

/// The demo FAQ: 80 articles as the desks wrote them (JSON Lines).
pub const DEMO_FAQ: &str = include_str!("demo/faq.jsonl");

/// Carries out plans against the database through the service functions.
struct Runner<'a> {
    db: &'a Db,
    dirs: &'a [org::Directory],
}

impl Runner<'_> {
    fn dir(&self, p: &Plan) -> ServiceResult<&org::Directory> {
        self.dirs
            .get(p.tenant)
            .ok_or_else(|| ServiceError::Config("demo tenant missing".to_owned()))
    }

    fn person(&self, p: &Plan, key: &str) -> ServiceResult<&person::Model> {
        self.dir(p)?
            .people
            .get(key)
            .ok_or_else(|| ServiceError::Config(format!("demo person `{key}` missing")))
    }

    fn actor(&self, p: &Plan, key: &str) -> ServiceResult<Actor> {
        let person = self.person(p, key)?;
        Ok(Actor {
            person_id: person.id,
            tenant_id: person.tenant_id,
            roles: directory::roles_of(person),
            vendor_id: person.vendor_id,
        })
    }

    fn lookup(map: &HashMap<&'static str, Uuid>, what: &str, key: &str) -> ServiceResult<Uuid> {
        map.get(key)
            .copied()
            .ok_or_else(|| ServiceError::Config(format!("demo {what} `{key}` missing")))
    }

    async fn create(&self, p: &Plan) -> ServiceResult<Uuid> {
        let dir = self.dir(p)?;
        let actor = self.actor(p, p.creator)?;
        let mut input = NewTicket::new(p.kind, p.title.clone(), p.description.clone());
        input.channel = p.channel;
        input.priority = p.priority;
        input.severity = p.severity;
        input.impact = p.impact;
        input.category_id = Some(Self::lookup(&dir.categories, "category", p.category)?);
        input.requester_id = match p.requester {
            Some(k) => Some(self.person(p, k)?.id),
            None => None,
        };
        input.org_unit_id = match p.org_unit {
            Some(code) => Some(Self::lookup(&dir.units, "unit", code)?),
            None => None,
        };
        input.out_of_scope = p.out_of_scope_system.is_some();
        input.out_of_scope_system = p.out_of_scope_system.clone();
        input.security_occurred_on = p.security_occurred_on;
        input.security_event = p.security_event.clone();
        let change = tickets::create_at(&self.db.write, &actor, input, p.at).await?;
        Ok(change.ticket.id)
    }

    async fn step(&self, p: &Plan, id: Uuid, step: &Step, at: DateTime<Utc>) -> ServiceResult<()> {
        let db = &self.db.write;
        match step {
            Step::Assign { by, to } => {
                let to = self.person(p, to)?.id;
                tickets::assign_at(db, &self.actor(p, by)?, id, Some(to), at).await?;
            }
            Step::Status { by, to, note } => {
                tickets::change_status_at(db, &self.actor(p, by)?, id, *to, note.clone(), at)
                    .await?;
            }
            Step::Comment { by, body, internal } => {
                tickets::add_comment_at(db, &self.actor(p, by)?, id, body, *internal, at).await?;
            }
            Step::Escalate { by, vendor, note } => {
                let vendor = Self::lookup(&self.dir(p)?.vendors, "vendor", vendor)?;
                tickets::escalate_at(db, &self.actor(p, by)?, id, vendor, note.clone(), at).await?;
            }
            Step::Update { by, patch } => {
                tickets::update_at(db, &self.actor(p, by)?, id, (**patch).clone(), at).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // panicking on bad fixtures is the point of a test
mod tests {
    use super::*;
    use crate::auth::RoleSet;
    use chrono::TimeZone;
    use entity::{
        Channel, OrgUnitKind, TicketKind, TicketStatus, org_unit, tenant, ticket, ticket_comment,
        ticket_event,
    };
    use migration::MigratorTrait;
    use sea_orm::{ColumnTrait, EntityTrait, Iterable, PaginatorTrait, QueryFilter, QueryOrder};
    use std::collections::HashSet;
    use std::time::Instant;

    async fn fresh() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
        let db = Db::connect(&url, 4).await.unwrap();
        migration::Migrator::up(&db.write, None).await.unwrap();
        (dir, db)
    }

    /// (tenant slug, number, title, status) of every ticket, in a database-independent order.
    async fn ticket_list(db: &Db) -> Vec<(String, String, String, TicketStatus)> {
        let slugs: HashMap<Uuid, String> = tenant::Entity::find()
            .all(&db.read)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.id, t.slug))
            .collect();
        let mut list: Vec<_> = ticket::Entity::find()
            .order_by_asc(ticket::Column::Number)
            .all(&db.read)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (slugs[&t.tenant_id].clone(), t.number, t.title, t.status))
            .collect();
        // (tenant, number) is unique, so this order is total.
        list.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        list
    }

    #[tokio::test]
    async fn demo_load_is_deterministic_and_complete() {
        let anchor = Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap();
        let (_dir_a, a) = fresh().await;
        let (_dir_b, b) = fresh().await;
        assert!(!is_loaded(&a.read).await.unwrap());

        let started = Instant::now();
        let summary_a = load(&a, anchor).await.unwrap();
        let elapsed = started.elapsed();
        println!("demo load took {elapsed:.2?}: {summary_a:?}");
        let summary_b = load(&b, anchor).await.unwrap();
        assert_eq!(summary_a, summary_b);
        assert!(is_loaded(&a.read).await.unwrap());
        assert!(matches!(
            load(&a, anchor).await,
            Err(ServiceError::Conflict(_))
        ));

        assert_eq!(summary_a.tenants, 2);
        assert!((280..=320).contains(&summary_a.tickets), "{summary_a:?}");
        // 表2 of seed 004 (1,351 devices with the spares and the loan pool) plus peripherals,
        // and the board's GIGA devices.
        assert!((1_700..=1_900).contains(&summary_a.assets), "{summary_a:?}");
        let stored = ticket::Entity::find().count(&a.read).await.unwrap();
        assert_eq!(usize::try_from(stored).unwrap(), summary_a.tickets);
        assert_eq!(
            usize::try_from(ticket_comment::Entity::find().count(&a.read).await.unwrap()).unwrap(),
            summary_a.comments
        );

        let list_a = ticket_list(&a).await;
        assert_eq!(list_a, ticket_list(&b).await);

        let all = ticket::Entity::find().all(&a.read).await.unwrap();
        let kinds: HashSet<_> = all.iter().map(|t| t.kind).collect();
        let channels: HashSet<_> = all.iter().map(|t| t.channel).collect();
        let statuses: HashSet<_> = all.iter().map(|t| t.status).collect();
        for k in TicketKind::iter() {
            assert!(kinds.contains(&k), "no {k:?} ticket");
        }
        for c in Channel::iter() {
            assert!(channels.contains(&c), "no {c:?} ticket");
        }
        for s in TicketStatus::iter() {
            assert!(statuses.contains(&s), "no {s:?} ticket");
        }
        let count = |s: TicketStatus| all.iter().filter(|t| t.status == s).count();
        println!(
            "statuses: {:?}",
            TicketStatus::iter()
                .map(|s| (s, count(s)))
                .collect::<Vec<_>>()
        );
        // Every template placeholder was filled.
        assert!(
            all.iter()
                .all(|t| !t.title.contains('{') && !t.description.contains('{'))
        );
        let bodies = ticket_comment::Entity::find().all(&a.read).await.unwrap();
        assert!(bodies.iter().all(|c| !c.body.contains('{')));
        assert!(
            all.iter()
                .any(|t| t.out_of_scope && t.out_of_scope_system.is_some())
        );
        assert!(
            all.iter()
                .any(|t| t.cause.is_some() && t.failure_report_submitted_at.is_some())
        );
        assert!(
            all.iter()
                .any(|t| t.security_report_stage.as_deref() == Some("final"))
        );
        // Ticket numbers follow creation time within each tenant.
        for tenant_id in all.iter().map(|t| t.tenant_id).collect::<HashSet<_>>() {
            let mut mine: Vec<_> = all.iter().filter(|t| t.tenant_id == tenant_id).collect();
            mine.sort_by(|x, y| x.number.cmp(&y.number));
            assert!(mine.windows(2).all(|w| w[0].created_at <= w[1].created_at));
            assert!(mine.iter().all(|t| t.created_at < anchor));
        }

        for (slug, email, role) in DEMO_ACCOUNTS {
            let t = directory::tenant_by_slug(&a.read, slug)
                .await
                .unwrap()
                .unwrap();
            let p = directory::person_by_email(&a.read, t.id, email)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{email} missing"));
            let roles = RoleSet::parse_list(&p.roles).unwrap();
            assert!(
                roles.iter().any(|r| r.as_str() == *role),
                "{email} is not {role}"
            );
        }

        let board = directory::tenant_by_slug(&a.read, "sakura-kyoiku")
            .await
            .unwrap()
            .unwrap();
        let units = org_unit::Entity::find()
            .filter(org_unit::Column::TenantId.eq(board.id))
            .all(&a.read)
            .await
            .unwrap();
        let boe = units
            .iter()
            .find(|u| u.kind == OrgUnitKind::BoardOfEducation)
            .unwrap();
        let schools: Vec<_> = units
            .iter()
            .filter(|u| u.kind == OrgUnitKind::School)
            .collect();
        assert_eq!(schools.len(), 5);
        assert!(schools.iter().all(|s| s.parent_id == Some(boe.id)));

        let internal = ticket_comment::Entity::find()
            .filter(ticket_comment::Column::Internal.eq(true))
            .count(&a.read)
            .await
            .unwrap();
        let public = ticket_comment::Entity::find()
            .filter(ticket_comment::Column::Internal.eq(false))
            .count(&a.read)
            .await
            .unwrap();
        assert!(internal > 0 && public > 0);
        let breaches = ticket_event::Entity::find()
            .filter(ticket_event::Column::Kind.eq("sla_breached"))
            .count(&a.read)
            .await
            .unwrap();
        assert!(breaches > 0);
        println!("comments: {public} public, {internal} internal; sla_breached events: {breaches}");
    }
}
