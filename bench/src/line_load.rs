//! Bounded loopback load test for the LINE webhook: R rounds of C concurrent signed webhooks
//! (one text question each, from C different users, taken from the FAQ dev questions), against
//! the real server on SQLite with the demo FAQ, and a fake LINE Messaging API in this process
//! that records when each reply arrives.
//!
//! The load generator and the fake platform (both standing for LINE's servers) run on threads
//! of their own (a runtime of two) and talk HTTP/1.1 with `bench::http1`, one keep-alive
//! connection per user; the server and its worker run as in production, on the main runtime
//! and actix's threads.
//!
//! Prints the acknowledgement latency (webhook POST to its 200) and the question-to-reply
//! latency (webhook POST to the reply call reaching the fake platform) of each round, of all
//! rounds, and of the rounds after the first (whose users the server knows), and checks that
//! every question got exactly one reply. A warm-up round from other users comes first and is
//! printed on its own; meanwhile the desk opens tickets, which the indexer commits to the
//! search index the questions are answered from.
//!
//! `cargo run --release -p bench --bin line-load -- --concurrency 200 --rounds 5`

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench::machine;
use clap::Parser;
use entity::FaqStatus;
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::json;
use service::Secret;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
struct Args {
    /// Webhooks in flight at once (one round).
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Rounds.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Rounds first from other users, not counted: the server has just started (its caches,
    /// the allocator's arenas, the database's pages and prepared statements are cold) and the
    /// platform opens its connections. Round 1 is then the first contact of its users with a
    /// server that has been running, as in production.
    #[arg(long, default_value_t = 1)]
    warmup_rounds: usize,
    /// Pause between rounds, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pause_ms: u64,
    /// The questions asked.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/queries-dev.jsonl"))]
    queries: std::path::PathBuf,
    /// FAQ answers the server keeps for questions asked again (`search.answer_cache`; 0
    /// turns it off, so that every question is searched).
    #[arg(long, default_value_t = api::config::SearchConfig::default().answer_cache)]
    answer_cache: usize,
    /// Conversations the server's chat worker answers at once (`bots.lanes`).
    #[arg(long, default_value_t = bots::chat::LANES)]
    lanes: usize,
    /// The server's database pool (`max_connections`; on SQLite, the readers).
    #[arg(long, default_value_t = api::config::Config::default().max_connections)]
    max_connections: u32,
    /// Tickets the desk opens a second while the questions come in (0: none), as mail and
    /// operators do on a working day: each is indexed and committed to the search index
    /// that answers the questions.
    #[arg(long, default_value_t = 1.0)]
    tickets_per_second: f64,
}

#[derive(Deserialize)]
struct Query {
    q: String,
}

const SECRET: &str = "bench-channel-secret";
const TOKEN: &str = "bench-channel-token";

type Arrivals = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

/// What the fake platform reads of a reply or push: the rest of the body is skipped, not
/// built into a tree (the platform is not on this machine in production; its work here is
/// kept small so that the server is what is measured). The reply and push bodies themselves
/// are checked against LINE's SDK in the test suite.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Addressed {
    reply_token: Option<String>,
    to: Option<String>,
}

/// LINE's answer to a reply or push.
const SENT: &str = r#"{"sentMessages":[]}"#;

/// The fake Messaging API: records when each reply token (or push recipient, as
/// `push:{to}`) arrives, answers as LINE does.
fn platform(arrivals: &Arrivals, req: bench::http1::Request<'_>) -> (u16, &'static str) {
    let now = Instant::now();
    let key = match (req.method, req.path) {
        ("POST", "/v2/bot/message/reply") => serde_json::from_slice::<Addressed>(req.body)
            .ok()
            .and_then(|a| a.reply_token),
        ("POST", "/v2/bot/message/push") => serde_json::from_slice::<Addressed>(req.body)
            .ok()
            .and_then(|a| a.to)
            .map(|to| format!("push:{to}")),
        _ => return (404, r#"{"message":"Not found"}"#),
    };
    let Some(key) = key else {
        return (400, r#"{"message":"The request body has 1 error(s)"}"#);
    };
    arrivals.lock().unwrap().entry(key).or_default().push(now);
    (200, SENT)
}

fn percentiles(h: &Histogram<u64>) -> String {
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.9) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!("machine: {}", machine());
    println!(
        "{} rounds (after {} warm-up, not counted) of {} concurrent signed LINE webhooks, one question each, SQLite",
        args.rounds, args.warmup_rounds, args.concurrency
    );
    let questions: Vec<String> = bench::read_jsonl::<Query>(&args.queries)?
        .into_iter()
        .map(|q| q.q)
        .collect();
    anyhow::ensure!(!questions.is_empty(), "no questions");
    let asked = (args.warmup_rounds + args.rounds) * args.concurrency;
    println!(
        "questions: {} asked, {} different ({} in {}); FAQ answer cache: {} entries; {} lanes; {} database connections",
        asked,
        (0..asked)
            .map(|n| &questions[n % questions.len()])
            .collect::<std::collections::HashSet<_>>()
            .len(),
        questions.len(),
        args.queries.display(),
        args.answer_cache,
        args.lanes,
        args.max_connections
    );

    // The load generator and the fake LINE platform stand for LINE's servers, which are not on
    // this machine. They get threads of their own: on the server's runtime the clients waited
    // behind the server's own tasks to send and to see their answers, and that wait was
    // counted as the server's.
    let loadgen = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("loadgen")
        .enable_all()
        .build()?;
    let arrivals: Arrivals = Arc::default();
    let fake = std::net::TcpListener::bind("127.0.0.1:0")?;
    fake.set_nonblocking(true)?;
    let fake_port = fake.local_addr()?.port();
    {
        let arrivals = Arc::clone(&arrivals);
        loadgen.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(fake)?;
            bench::http1::serve(listener, move |req| platform(&arrivals, req)).await
        });
    }

    let dir = tempfile::tempdir()?;
    let cfg = api::config::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        sla_check_seconds: 3600,
        bots: api::config::BotsConfig {
            line: vec![bots::chat::line::LineConfig {
                tenant: "city".into(),
                channel_secret: Secret::new(SECRET),
                channel_access_token: Secret::new(TOKEN),
                api_base: format!("http://127.0.0.1:{fake_port}"),
                access_base: "https://access.line.me".into(),
            }],
            line_works: vec![],
            teams: None,
            poll_millis: 1000,
            lanes: args.lanes,
        },
        search: api::config::SearchConfig {
            answer_cache: args.answer_cache,
            ..Default::default()
        },
        max_connections: args.max_connections,
        ..Default::default()
    };
    let app = api::server::Application::build(cfg, false).await?;
    let port = app.port();
    let db = app.state().db.clone();
    let fx = tests::fixture::seed(&db).await?;
    let agent = service::Actor {
        person_id: fx.city.agent,
        tenant_id: fx.city.id,
        roles: service::RoleSet::default().with(service::Role::Agent),
        vendor_id: None,
    };
    let r = service::faq::import(
        &db.write,
        &agent,
        service::faq::parse_jsonl(service::demo::DEMO_FAQ),
        FaqStatus::Published,
    )
    .await?;
    println!("FAQ: {} articles published", r.created);
    tokio::spawn(app.run_until_stopped());
    let started = Instant::now();
    loop {
        use sea_orm::{EntityTrait, PaginatorTrait};
        if entity::search_outbox::Entity::find()
            .count(&db.write)
            .await?
            == 0
        {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the indexer did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The desk's own traffic: tickets opened through the service, one every so often, until
    // the last round ends.
    let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let desk = (args.tickets_per_second > 0.0).then(|| {
        let (db, opened) = (db.write.clone(), Arc::clone(&opened));
        let (agent, requester) = (agent.clone(), fx.city.requester);
        let every = Duration::from_secs_f64(1.0 / args.tickets_per_second);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let n = opened.load(std::sync::atomic::Ordering::Relaxed) + 1;
                let ticket = service::tickets::NewTicket {
                    requester_id: Some(requester),
                    ..service::tickets::NewTicket::new(
                        entity::TicketKind::Incident,
                        format!("共有フォルダに接続できない（{n}件目）"),
                        "朝から共有フォルダが開けません。エラー番号 0x80070035 が表示されます。",
                    )
                };
                service::tickets::create(&db, &agent, ticket)
                    .await
                    .expect("a desk ticket");
                opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    });

    let target = bench::http1::Target::parse(&format!("http://127.0.0.1:{port}/bots/line/city"))?;
    // One keep-alive connection per user, as the platform keeps them.
    let mut conns: Vec<Option<bench::http1::Conn>> = (0..args.concurrency)
        .map(|_| Some(bench::http1::Conn::new(target.clone())))
        .collect();
    let secret = Secret::new(SECRET);
    let mut ack = Histogram::<u64>::new(3)?;
    let mut answer = Histogram::<u64>::new(3)?;
    // Rounds after the first: every account and conversation exists already.
    let mut later_ack = Histogram::<u64>::new(3)?;
    let mut later_answer = Histogram::<u64>::new(3)?;
    let (mut lost, mut doubled, mut refused) = (0usize, 0usize, 0usize);
    let wall = Instant::now();
    for pass in 0..args.warmup_rounds + args.rounds {
        // Warm-up rounds come first, from users of their own; `round` counts the rest.
        let warmup = pass < args.warmup_rounds;
        let round = pass.saturating_sub(args.warmup_rounds);
        // Bodies signed before the clock starts.
        let hooks: Vec<(String, String, String)> = (0..args.concurrency)
            .map(|i| {
                let n = pass * args.concurrency + i;
                let token = format!("rt-{pass}-{i}");
                let user = if warmup {
                    format!("Uwarmup{pass:03}x{i:05}")
                } else {
                    format!("Ubench{i:05}")
                };
                let body = json!({ "destination": "Ubench", "events": [{
                    "type": "message", "mode": "active", "timestamp": chrono::Utc::now().timestamp_millis(),
                    "webhookEventId": format!("01BENCH{pass:04}{i:06}"), "deliveryContext": { "isRedelivery": false },
                    "replyToken": token, "source": { "type": "user", "userId": user },
                    "message": { "type": "text", "id": n.to_string(), "quoteToken": "q", "text": questions[n % questions.len()] }
                }]})
                .to_string();
                let sig = bots::chat::line::sign(&secret, body.as_bytes());
                (token, body, sig)
            })
            .collect();
        let cpu0 = bench::process_cpu();
        let barrier = Arc::new(tokio::sync::Barrier::new(args.concurrency));
        let tasks: Vec<_> = hooks
            .into_iter()
            .zip(conns.iter_mut())
            .map(|((token, body, sig), conn)| {
                let mut conn = conn.take().expect("a connection per user");
                let barrier = Arc::clone(&barrier);
                loadgen.spawn(async move {
                    let signature = format!("X-Line-Signature: {sig}");
                    let headers = ["Content-Type: application/json", signature.as_str()];
                    barrier.wait().await;
                    let t0 = Instant::now();
                    let ok = conn
                        .post(&headers, body.as_bytes())
                        .await
                        .is_ok_and(|r| r.status == 200);
                    let took = t0.elapsed();
                    (token, t0, took, ok, conn)
                })
            })
            .collect();
        let mut sent = vec![];
        let mut round_ack = Histogram::<u64>::new(3)?;
        let mut round_answer = Histogram::<u64>::new(3)?;
        for (t, slot) in tasks.into_iter().zip(conns.iter_mut()) {
            let (token, t0, took, ok, conn) = t.await?;
            *slot = Some(conn);
            round_ack.record(took.as_micros() as u64)?;
            if !ok {
                refused += 1;
            }
            sent.push((token, t0));
        }
        // Every reply, or 30 s.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = {
                let a = arrivals.lock().unwrap();
                sent.iter().filter(|(t, _)| a.contains_key(t)).count()
            };
            if got == sent.len() || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The whole process: load generator, server, worker and fake platform.
        let cpu = bench::process_cpu().saturating_sub(cpu0);
        tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
        let a = arrivals.lock().unwrap();
        for (token, t0) in &sent {
            match a.get(token).map(Vec::as_slice) {
                None | Some([]) => lost += 1,
                Some([first, rest @ ..]) => {
                    round_answer.record(first.duration_since(*t0).as_micros() as u64)?;
                    doubled += rest.len();
                }
            }
        }
        println!(
            "{}: ack {}; question→reply {}; CPU {:.2} ms a webhook",
            if warmup {
                format!("warm-up {} (not counted)", pass + 1)
            } else {
                format!("round {}", round + 1)
            },
            percentiles(&round_ack),
            percentiles(&round_answer),
            cpu.as_secs_f64() * 1000.0 / args.concurrency as f64
        );
        if warmup {
            continue;
        }
        ack.add(&round_ack)?;
        answer.add(&round_answer)?;
        if round > 0 {
            later_ack.add(&round_ack)?;
            later_answer.add(&round_answer)?;
        }
    }
    let tickets = opened.load(std::sync::atomic::Ordering::Relaxed);
    if let Some(desk) = desk {
        desk.abort();
    }
    let pushes: usize = arrivals
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("push:"))
        .map(|(_, v)| v.len())
        .sum();
    let total = (args.warmup_rounds + args.rounds) * args.concurrency;
    println!(
        "webhooks: {total} in {:.1} s; refused {refused}, replies lost {lost}, doubled {doubled}, pushes {pushes}",
        wall.elapsed().as_secs_f64()
    );
    println!(
        "desk traffic: {tickets} tickets opened and indexed meanwhile ({} a second)",
        args.tickets_per_second
    );
    println!(
        "rounds 1–{}: ack (POST → 200) {}",
        args.rounds,
        percentiles(&ack)
    );
    println!(
        "rounds 1–{}: question → reply call on the fake platform {}",
        args.rounds,
        percentiles(&answer)
    );
    if args.rounds > 1 {
        println!(
            "rounds 2–{} (accounts known): ack {}; question → reply {}",
            args.rounds,
            percentiles(&later_ack),
            percentiles(&later_answer)
        );
    }
    loadgen.shutdown_background();
    anyhow::ensure!(
        refused == 0 && lost == 0 && doubled == 0,
        "webhooks refused, or replies lost or doubled"
    );
    Ok(())
}
