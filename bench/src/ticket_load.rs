//! Bounded loopback load test for the ticket list and `createTicket`.
//!
//! Seeds N tickets (default 100,000) into a fresh database (SQLite file in WAL mode, or a
//! throwaway PostgreSQL), starts the real server on 127.0.0.1:0, then drives it with C
//! concurrent HTTP clients for a fixed time and at most a fixed number of requests.
//!
//! `cargo run --release -p bench --bin ticket-load -- --backend sqlite`

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::Context;
use bench::{Load, machine, phase};
use chrono::{Duration, Utc};
use clap::{Parser, ValueEnum};
use entity::{Channel, Priority, TicketKind, TicketStatus, ticket};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel};
use serde_json::json;
use std::time::Instant;
use uuid::Uuid;

// The same allocator as the `madoguchi` binary, since the server runs in this process.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
enum BackendArg {
    Sqlite,
    Postgres,
}

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BackendArg,
    /// Tickets to seed.
    #[arg(long, default_value_t = 100_000)]
    tickets: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds per phase (after a 2 s warm-up).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Upper bound on requests per phase.
    #[arg(long, default_value_t = 200_000)]
    max_requests: u64,
    /// Database pool size of the server.
    #[arg(long, default_value_t = 16)]
    max_connections: u32,
    /// HTTP worker threads of the server (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Keep the data directory here instead of a temporary one (to inspect the database).
    #[arg(long)]
    keep_data: Option<std::path::PathBuf>,
    /// Phases to run: `list`, `create` (comma-separated).
    #[arg(long, default_value = "list,create", value_delimiter = ',')]
    phases: Vec<String>,
}

const LIST: &str = r#"query { tickets(first: 50, filterBy: {status: [NEW, IN_PROGRESS]}) {
  pageInfo { hasNextPage endCursor }
  nodes { id number title status priority createdAt
    requester { id displayName } assignee { id displayName } category { id name }
    sla { responseDueAt resolutionDueAt breached } } } }"#;

const CREATE: &str = r#"mutation($i: CreateTicketInput!) { createTicket(input: $i) { ticket { id number sla { resolutionDueAt } } userErrors { code } } }"#;

/// Inserts `n` tickets in bulk with a realistic mix: most closed, a tenth open.
async fn seed(db: &service::Db, fx: &tests::fixture::TenantFx, n: usize) -> anyhow::Result<()> {
    let people = [fx.requester, fx.other_requester];
    let agents = [fx.agent, fx.supervisor, fx.admin];
    let kinds = [
        TicketKind::Inquiry,
        TicketKind::Inquiry,
        TicketKind::Incident,
        TicketKind::ServiceRequest,
        TicketKind::Change,
    ];
    let channels = [Channel::Phone, Channel::Email, Channel::Teams, Channel::Web];
    let now = Utc::now();
    let mut batch = Vec::with_capacity(500);
    let started = Instant::now();
    for i in 0..n {
        let status = match i % 20 {
            0 => TicketStatus::New,
            1 => TicketStatus::InProgress,
            2 => TicketStatus::WaitingOnRequester,
            3 => TicketStatus::Resolved,
            _ => TicketStatus::Closed,
        };
        let created = now - Duration::seconds(((n - i) * 150) as i64);
        let t = ticket::Model {
            id: Uuid::now_v7(),
            tenant_id: fx.id,
            number: format!("HD-2020-{:06}", i + 1),
            kind: kinds[i % kinds.len()],
            channel: channels[i % channels.len()],
            status,
            priority: [
                Priority::Low,
                Priority::Normal,
                Priority::Normal,
                Priority::High,
            ][i % 4],
            severity: None,
            impact: None,
            title: format!("負荷試験用チケット {i}: プリンタが印刷できない"),
            description: "2階の複合機で印刷ジョブが止まる。".into(),
            category_id: Some(if i % 2 == 0 {
                fx.category
            } else {
                fx.subcategory
            }),
            requester_id: Some(people[i % 2]),
            org_unit_id: Some(fx.unit),
            assignee_id: (i % 3 != 0).then(|| agents[i % 3]),
            escalation_vendor_id: None,
            out_of_scope: false,
            out_of_scope_system: None,
            cause: None,
            interim_measure: None,
            recovery_outlook: None,
            recurrence_prevention: None,
            failure_report_due_at: None,
            failure_report_submitted_at: None,
            security_occurred_on: None,
            security_event: None,
            security_interim_action: None,
            security_permanent_action: None,
            security_report_stage: None,
            sla_policy_id: None,
            response_due_at: Some(created + Duration::hours(4)),
            resolution_due_at: Some(created + Duration::hours(27)),
            first_responded_at: None,
            sla_paused_at: None,
            sla_paused_secs: 0,
            response_breached_at: None,
            resolution_breached_at: None,
            resolved_at: None,
            closed_at: None,
            created_at: created,
            updated_at: created,
            version: 1,
        };
        batch.push(t.into_active_model().reset_all());
        if batch.len() == 500 || i + 1 == n {
            ticket::Entity::insert_many(std::mem::take(&mut batch))
                .exec(&db.write)
                .await?;
        }
    }
    // PostgreSQL's autovacuum would analyze the bulk load later; the phases should not
    // depend on when. (SQLite's statistics are refreshed by the server at its restart.)
    if db.backend() == sea_orm::DatabaseBackend::Postgres {
        db.write.execute_unprepared("ANALYZE tickets").await?;
    }
    println!(
        "seeded {n} tickets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!("machine: {}", machine());
    println!("date: {}", Utc::now().format("%Y-%m-%d %H:%M UTC"));
    println!(
        "backend: {:?}, tickets: {}, clients: {}, {} s per phase (max {} requests)",
        args.backend, args.tickets, args.clients, args.seconds, args.max_requests
    );
    let dir = tempfile::tempdir()?;
    let dir_path = args
        .keep_data
        .clone()
        .unwrap_or_else(|| dir.path().to_path_buf());
    let mut cfg = api::config::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir_path,
        sla_check_seconds: 3600,
        max_connections: args.max_connections,
        workers: args.workers,
        ..Default::default()
    };
    if args.backend == BackendArg::Postgres {
        cfg.database_url = Some(tests::pg::fresh_database().await.context("postgres")?);
    }
    let app = api::server::Application::build(cfg.clone(), false).await?;
    let db = app.state().db.clone();
    let fx = tests::fixture::seed(&db).await?;
    seed(&db, &fx.city, args.tickets).await?;
    // Then a restart, as after any bulk load: the server refreshes its statistics at start.
    drop(app);
    db.close().await?;
    let app = api::server::Application::build(cfg.clone(), false).await?;
    let port = app.port();
    let db = app.state().db.clone();
    let app_state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    // The search indexer catches up with the seeded tickets before anything is
    // timed: the phases measure the steady state, not the first indexing.
    let started = std::time::Instant::now();
    loop {
        use sea_orm::{EntityTrait, PaginatorTrait};
        let pending = entity::search_outbox::Entity::find()
            .count(&db.write)
            .await?;
        if pending == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed().as_secs() < 600,
            "the search indexer did not catch up in 10 min ({pending} rows left)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    println!(
        "search index caught up in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let secret = api::auth::resolve_hs256_secret(&cfg.auth, &cfg.data_dir)?;
    let now = Utc::now().timestamp();
    let token = api::auth::issue(
        &cfg.auth,
        &secret,
        &api::auth::Claims {
            sub: fx.city.agent.to_string(),
            tenant: fx.city.slug.clone(),
            roles: vec!["agent".into()],
            iss: cfg.auth.issuer.clone(),
            aud: cfg.auth.audience.clone(),
            exp: now + 3600,
            nbf: Some(now - 5),
            iat: Some(now),
            name: None,
        },
    )?;
    if args.phases.iter().any(|p| p == "service") {
        // The service call alone, without HTTP or GraphQL: where the database time goes.
        let actor = fx.city.agent_actor();
        let filter = service::tickets::TicketFilter {
            statuses: vec![TicketStatus::New, TicketStatus::InProgress],
            ..Default::default()
        };
        for _ in 0..2 {
            let started = Instant::now();
            let n = 3000;
            for _ in 0..n {
                service::tickets::list(&db.read, &actor, &filter, Default::default(), 50, None)
                    .await?;
            }
            println!(
                "service list: {:.3} ms per call (sequential)",
                started.elapsed().as_secs_f64() * 1000.0 / n as f64
            );
        }
        // The same page reading only the columns the benchmark's GraphQL selection shows,
        // as the server's `tickets` field does (`tickets::list_view`).
        let columns = [
            "number",
            "title",
            "status",
            "priority",
            "createdAt",
            "requester",
            "assignee",
            "category",
            "sla",
        ]
        .into_iter()
        .filter_map(api::graphql::types::ticket_field_columns)
        .fold(
            service::tickets::TicketColumns::id_only(),
            service::tickets::TicketColumns::union,
        );
        let started = Instant::now();
        let cpu = bench::process_cpu();
        let n = 3000;
        for _ in 0..n {
            service::tickets::list_view(
                &db.read,
                &actor,
                &filter,
                Default::default(),
                50,
                None,
                columns,
            )
            .await?;
        }
        println!(
            "projected list: {:.3} ms per call (sequential; {:.3} ms of CPU)",
            started.elapsed().as_secs_f64() * 1000.0 / n as f64,
            (bench::process_cpu() - cpu).as_secs_f64() * 1000.0 / n as f64
        );
        // The benchmark's GraphQL request executed in this process, response serialized as
        // the server does, without HTTP: what GraphQL adds to the service call, with the list
        // resolved plainly (as served) and with a future per field (async-graphql's own path).
        let schema = api::graphql::build(app_state.clone(), &cfg.graphql);
        // The parsed document remembered as the server does.
        let parsed = api::graphql::documents::ParsedQueries::default();
        for (label, path) in [
            ("plain", None),
            (
                "field futures",
                Some(api::graphql::plain::ListPath::FieldFutures),
            ),
        ] {
            let started = Instant::now();
            let cpu = bench::process_cpu();
            let mut bytes = 0usize;
            for _ in 0..n {
                let mut request = async_graphql::Request::new(LIST)
                    .data(api::graphql::context::Session {
                        actor: Some(actor.clone()),
                    })
                    .data(api::graphql::loaders::Loaders::new(
                        &app_state.db,
                        &actor,
                        &app_state.directory,
                    ));
                if let Some(path) = path {
                    request = request.data(path);
                }
                parsed.prepare(&mut request);
                let response = schema.execute(request).await;
                anyhow::ensure!(response.errors.is_empty(), "{:?}", response.errors);
                bytes += serde_json::to_vec(&response)?.len();
            }
            println!(
                "graphql list in process ({label}): {:.3} ms per call (sequential; {:.3} ms of CPU), {} bytes a response",
                started.elapsed().as_secs_f64() * 1000.0 / n as f64,
                (bench::process_cpu() - cpu).as_secs_f64() * 1000.0 / n as f64,
                bytes / n
            );
        }
    }
    let url = format!("http://127.0.0.1:{port}/graphql");
    let load = Load {
        clients: args.clients,
        seconds: args.seconds,
        max_requests: args.max_requests,
    };
    if args.phases.iter().any(|p| p == "list") {
        let list = phase(
            "tickets list",
            &url,
            &token,
            &load,
            |_| json!({ "query": LIST }),
        )
        .await?;
        list.print();
    }
    if args.phases.iter().any(|p| p == "create") {
        let create = phase("createTicket", &url, &token, &load, |n| {
            json!({ "query": CREATE, "variables": { "i": {
                "kind": "INQUIRY", "channel": "PHONE", "title": format!("電話受付 {n}: Teamsにサインインできない"),
                "description": "再起動しても改善しない" } } })
        })
        .await?;
        create.print();
    }
    Ok(())
}
