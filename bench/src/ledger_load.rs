//! The ledger benchmark: importing a 100,000-row Shift_JIS asset ledger, and filtered asset
//! lists over 200,000 assets, through the service and through GraphQL on loopback.
//!
//! Bounded: two imports, a fixed number of sequential service calls, then one HTTP phase of at
//! most `--seconds` and `--max-requests` against 127.0.0.1.
//!
//! `cargo run --release -p bench --bin ledger-load -- --backend sqlite`

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::Context;
use bench::{Load, machine, phase};
use chrono::Utc;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::json;
use service::ledger::assets::{self, AssetFilter, AssetOrderField};
use service::ledger::sheets::{self, ImportOptions, Ledger};
use service::page::Direction;
use std::time::Instant;

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
    /// Assets in the ledger for the list phases.
    #[arg(long, default_value_t = 200_000)]
    assets: u32,
    /// Rows of the timed import (the first file); the rest come in a second file.
    #[arg(long, default_value_t = 100_000)]
    import_rows: u32,
    /// Sequential service calls per filter.
    #[arg(long, default_value_t = 300)]
    calls: u32,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds of the HTTP phase (after a 2 s warm-up).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Upper bound on HTTP requests.
    #[arg(long, default_value_t = 100_000)]
    max_requests: u64,
}

const KINDS: [&str; 6] = [
    "ノートPC",
    "ノートPC",
    "ノートPC",
    "デスクトップPC",
    "プリンタ・複合機",
    "周辺機器",
];
const UNITS: [&str; 3] = ["root", "boe", "school-1"];

/// Rows `from..to` of an asset ledger as Excel saves it: Shift_JIS, CRLF.
fn ledger(slug: &str, from: u32, to: u32) -> Vec<u8> {
    let mut out = String::from(
        "資産番号,種別,品名,メーカー,型番,製造番号,コンピュータ名,IPアドレス,MACアドレス,所属,設置場所,利用者,状態,リース開始日,リース終了日,備考\r\n",
    );
    for i in from..to {
        let status = match i % 20 {
            0 => "予備",
            1 => "廃棄済",
            _ => "使用中",
        };
        let user = if i % 7 == 0 {
            format!("requester@{slug}.example.jp")
        } else {
            String::new()
        };
        let end = if i % 5 == 0 {
            "令和9年3月31日"
        } else {
            "2029/3/31"
        };
        out.push_str(&format!(
            "A-{i:07},{},業務用端末 {i}号機,㈱富士通,FMV-A{},SN{i:09},PC{i:07},10.{}.{}.{},02:00:{:02X}:{:02X}:{:02X}:{:02X},{},髙田馬場 ①倉庫,{user},{status},令和6年4月1日,{end},備考～{i}\r\n",
            KINDS[(i % 6) as usize],
            i % 9,
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255,
            i >> 24,
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255,
            UNITS[(i % 3) as usize],
        ));
    }
    sheets::encode_sjis(&out).0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!("machine: {}", machine());
    println!("date: {}", Utc::now().format("%Y-%m-%d %H:%M UTC"));
    println!(
        "backend: {:?}, assets: {}, timed import: {} rows",
        args.backend, args.assets, args.import_rows
    );
    let dir = tempfile::tempdir()?;
    let mut cfg = api::config::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        sla_check_seconds: 3600,
        ..Default::default()
    };
    if args.backend == BackendArg::Postgres {
        cfg.database_url = Some(tests::pg::fresh_database().await.context("postgres")?);
    }
    let app = api::server::Application::build(cfg.clone(), false).await?;
    let port = app.port();
    let db = app.state().db.clone();
    let fx = tests::fixture::seed(&db).await?;
    tokio::spawn(app.run_until_stopped());
    let desk = fx.city.agent_actor();

    // Import: the timed file, then the rest of the ledger.
    let first = ledger(&fx.city.slug, 0, args.import_rows);
    let started = Instant::now();
    let r = sheets::import(
        &db.write,
        &desk,
        Ledger::Assets,
        &first,
        ImportOptions::default(),
        &|_, _| {},
    )
    .await?;
    let took = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        r.errors.is_empty() && r.created == u64::from(args.import_rows),
        "import: {:?}",
        r.errors.first()
    );
    println!(
        "import {} rows ({}, {:.1} MB): {took:.2} s, {:.0} rows/s",
        r.rows,
        r.encoding,
        first.len() as f64 / 1e6,
        r.rows as f64 / took
    );
    let started = Instant::now();
    let again = sheets::import(
        &db.write,
        &desk,
        Ledger::Assets,
        &first,
        ImportOptions::default(),
        &|_, _| {},
    )
    .await?;
    println!(
        "re-import of the same file (all unchanged: {}): {:.2} s",
        again.unchanged,
        started.elapsed().as_secs_f64()
    );
    if args.assets > args.import_rows {
        let rest = ledger(&fx.city.slug, args.import_rows, args.assets);
        let started = Instant::now();
        let r = sheets::import(
            &db.write,
            &desk,
            Ledger::Assets,
            &rest,
            ImportOptions::default(),
            &|_, _| {},
        )
        .await?;
        println!(
            "import {} more rows into a ledger of {}: {:.2} s",
            r.created,
            args.import_rows,
            started.elapsed().as_secs_f64()
        );
    }

    // Filtered lists through the service: what an operator's ledger screen asks for.
    let total = assets::count(&db.read, &desk, &AssetFilter::default()).await?;
    println!("ledger: {total} assets");
    let today = chrono::NaiveDate::from_ymd_opt(2027, 3, 31);
    let filters: Vec<(&str, AssetFilter)> = vec![
        ("all, by tag", AssetFilter::default()),
        (
            "spare",
            AssetFilter {
                statuses: vec![entity::AssetStatus::Spare],
                ..Default::default()
            },
        ),
        (
            "printers",
            AssetFilter {
                kinds: vec![entity::AssetKind::Printer],
                ..Default::default()
            },
        ),
        (
            "school subtree",
            AssetFilter {
                org_unit_ids: vec![fx.city.unit],
                ..Default::default()
            },
        ),
        (
            "in use, lease ends by",
            AssetFilter {
                statuses: vec![entity::AssetStatus::InUse],
                lease_ends_by: today,
                ..Default::default()
            },
        ),
        (
            "user's devices",
            AssetFilter {
                user_ids: vec![fx.city.requester],
                ..Default::default()
            },
        ),
        (
            "notebooks spare in school",
            AssetFilter {
                kinds: vec![entity::AssetKind::Notebook],
                statuses: vec![entity::AssetStatus::Spare],
                org_unit_ids: vec![fx.city.child_unit],
                ..Default::default()
            },
        ),
        (
            "text: start of a name",
            AssetFilter {
                text_contains: Some("pc00123".into()),
                ..Default::default()
            },
        ),
        (
            "text: IP prefix",
            AssetFilter {
                text_contains: Some("10.1.2".into()),
                ..Default::default()
            },
        ),
        (
            "text: MAC",
            AssetFilter {
                text_contains: Some("02-00-00-00-86-9f".into()),
                ..Default::default()
            },
        ),
        (
            "text: Japanese (scan)",
            AssetFilter {
                text_contains: Some("業務用端末 1234号機".into()),
                ..Default::default()
            },
        ),
    ];
    println!("service, {} sequential calls each, first 50:", args.calls);
    for (name, f) in &filters {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let mut n = 0;
        for i in 0..args.calls {
            let t = Instant::now();
            let page = assets::list(
                &db.read,
                &desk,
                f,
                AssetOrderField::AssetTag,
                Direction::Asc,
                50,
                None,
            )
            .await?;
            h.record(t.elapsed().as_micros().max(1) as u64)?;
            if i == 0 {
                n = page.items.len();
            }
        }
        let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
        println!(
            "  {name:<28} {n:>3} rows  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
            q(0.5),
            q(0.99),
            h.max() as f64 / 1000.0
        );
    }

    // The same through GraphQL over HTTP, rotating the filters, with clients in parallel.
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
    let gid = |t: &str, id: uuid::Uuid| tests::gid(t, id);
    let bodies = [
        json!({ "filterBy": { "status": ["SPARE"] } }),
        json!({ "filterBy": { "kind": ["PRINTER"] } }),
        json!({ "filterBy": { "orgUnitIds": [gid("OrgUnit", fx.city.unit)] } }),
        json!({ "filterBy": { "status": ["IN_USE"], "leaseEndsBy": "2027-03-31" } }),
        json!({ "filterBy": { "kind": ["NOTEBOOK"], "status": ["SPARE"], "orgUnitIds": [gid("OrgUnit", fx.city.child_unit)] } }),
        json!({ "filterBy": {} }),
    ];
    let query = "query($f: AssetFilter) { assets(first: 50, filterBy: $f) { pageInfo { hasNextPage endCursor }
        nodes { id assetTag kind name status computerName ipAddress macAddress location orgUnit { id name } user { id displayName } } } }";
    let url = format!("http://127.0.0.1:{port}/graphql");
    let load = Load {
        clients: args.clients,
        seconds: args.seconds,
        max_requests: args.max_requests,
    };
    println!(
        "GraphQL over loopback, {} clients, {} s (max {} requests):",
        args.clients, args.seconds, args.max_requests
    );
    let r = phase("assets list", &url, &token, &load, move |n| {
        json!({ "query": query, "variables": { "f": bodies[(n % bodies.len() as u64) as usize]["filterBy"] } })
    })
    .await?;
    r.print();
    Ok(())
}
