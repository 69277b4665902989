//! What the benchmark programs share: the machine's description, the user's FAQ and
//! dev-question files.

use std::path::Path;

pub mod http1;

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// One line of `faq.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct Faq {
    pub id: String,
    pub category: String,
    pub audience: Vec<String>,
    pub question: String,
    pub answer: String,
    pub keywords: Vec<String>,
}

/// One line of `queries-dev.jsonl`: a question and the articles that answer it (none: decline).
#[derive(Debug, Clone, Deserialize)]
pub struct DevQuery {
    pub q: String,
    pub expected: Vec<String>,
}

/// Reads a JSON Lines file, naming the line that does not parse.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), i + 1))
        })
        .collect()
}

/// An FAQ line as a search document of `tenant`.
pub fn faq_document(
    f: &Faq,
    tenant: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> search_index::Document {
    search_index::Document {
        kind: search_index::DocKind::Faq,
        id: f.id.clone(),
        tenant: tenant.to_owned(),
        title: f.question.clone(),
        body: f.answer.clone(),
        keywords: f.keywords.clone(),
        category: Some(f.category.clone()),
        audience: f.audience.clone(),
        status: "published".into(),
        number: None,
        requester: None,
        vendors: vec![],
        created: at,
        updated: at,
    }
}

/// CPU time this process has used so far (user + system, all threads; Linux, 10 ms ticks).
pub fn process_cpu() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime
    // are fields 14 and 15, in clock ticks of 1/100 s.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    std::time::Duration::from_millis(ticks * 10)
}

/// The machine, as every benchmark prints it: cores, CPU model, memory, OS.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1024
                    / 1024
            })
        })
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!(
        "{cores} cores ({cpu}), {mem} GiB RAM, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// What one timed phase of a load test measured.
pub struct PhaseResult {
    /// The phase's name in the printed table.
    pub name: &'static str,
    /// Requests timed.
    pub count: u64,
    /// Requests that failed (HTTP error or GraphQL `errors`).
    pub errors: u64,
    /// Seconds the timed part took.
    pub elapsed: f64,
    /// Latencies in microseconds.
    pub hist: Histogram<u64>,
}

impl PhaseResult {
    /// Prints one line: requests, rate, percentiles, errors.
    pub fn print(&self) {
        let q = |p: f64| self.hist.value_at_quantile(p) as f64 / 1000.0;
        println!(
            "{:<14} {:>8} req  {:>8.0} req/s  p50 {:>6.1} ms  p90 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  errors {}",
            self.name,
            self.count,
            self.count as f64 / self.elapsed,
            q(0.50),
            q(0.90),
            q(0.99),
            self.hist.max() as f64 / 1000.0,
            self.errors
        );
    }
}

/// Bounds of a load phase: concurrent clients, seconds, and a cap on requests.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub clients: usize,
    pub seconds: u64,
    pub max_requests: u64,
}

/// Drives `url` (GraphQL over loopback) with `load.clients` concurrent clients posting
/// `body(n)`: a 2 s warm-up, then at most `load.seconds` and `load.max_requests`.
pub async fn phase(
    name: &'static str,
    url: &str,
    token: &str,
    args: &Load,
    body: impl Fn(u64) -> serde_json::Value + Send + Sync + 'static,
) -> anyhow::Result<PhaseResult> {
    let target = http1::Target::parse(url)?;
    let auth = format!("Authorization: Bearer {token}");
    let body = Arc::new(body);
    let issued = Arc::new(AtomicU64::new(0));
    let run = |secs: u64, record: bool| {
        let mut tasks = vec![];
        let deadline = Instant::now() + std::time::Duration::from_secs(secs);
        for _ in 0..args.clients {
            let (target, auth, body, issued) =
                (target.clone(), auth.clone(), body.clone(), issued.clone());
            let max = args.max_requests;
            tasks.push(tokio::spawn(async move {
                // Bounds 1 µs..60 s with 3 significant digits are always valid.
                #[allow(clippy::expect_used)]
                let mut hist =
                    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
                let mut errors = 0u64;
                let mut conn = http1::Conn::new(target);
                let headers = [auth.as_str(), "Content-Type: application/json"];
                let has_errors = memchr::memmem::Finder::new(b"\"errors\":");
                while Instant::now() < deadline {
                    let n = issued.fetch_add(1, Ordering::Relaxed);
                    if record && n >= max {
                        break;
                    }
                    let request = serde_json::to_vec(&body(n)).unwrap_or_default();
                    let t = Instant::now();
                    let ok = match conn.post(&headers, &request).await {
                        Ok(r) => r.status == 200 && has_errors.find(r.body).is_none(),
                        Err(_) => false,
                    };
                    if !ok {
                        errors += 1;
                    }
                    let _ = hist.record(t.elapsed().as_micros().max(1) as u64);
                }
                (hist, errors)
            }));
        }
        tasks
    };
    for t in run(2, false) {
        t.await?;
    }
    issued.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for t in run(args.seconds, true) {
        let (h, e) = t.await?;
        hist.add(h)?;
        errors += e;
    }
    Ok(PhaseResult {
        name,
        count: hist.len(),
        errors,
        elapsed: started.elapsed().as_secs_f64(),
        hist,
    })
}

/// What a connection's statements cost, grouped by their first 60 characters: how many ran and
/// how long they took, the round trip to the driver's thread included (SeaORM's metric
/// callback). For finding where a write path's time goes.
#[derive(Default)]
pub struct StatementProfile {
    by_sql: std::sync::Mutex<std::collections::HashMap<String, (u64, f64)>>,
}

impl StatementProfile {
    /// Counts every statement `db` (this handle, not its earlier clones) runs from now on.
    pub fn attach(db: &mut sea_orm::DatabaseConnection) -> Arc<Self> {
        let profile = Arc::new(Self::default());
        let p = profile.clone();
        db.set_metric_callback(move |info| {
            let key: String = info.statement.sql.chars().take(60).collect();
            if let Ok(mut m) = p.by_sql.lock() {
                let e = m.entry(key).or_default();
                e.0 += 1;
                e.1 += info.elapsed.as_secs_f64();
            }
        });
        profile
    }

    /// The `top` most frequent statements, with totals, one per line.
    pub fn report(&self, top: usize) -> String {
        let Ok(m) = self.by_sql.lock() else {
            return String::new();
        };
        let mut rows: Vec<_> = m.iter().collect();
        rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
        let count: u64 = rows.iter().map(|r| r.1.0).sum();
        let secs: f64 = rows.iter().map(|r| r.1.1).sum();
        let mut out = format!("statements: {count} in {secs:.2} s\n");
        for (sql, (n, s)) in rows.into_iter().take(top) {
            out.push_str(&format!("{n:>8} {:>9.1} ms  {sql}\n", s * 1e3));
        }
        out
    }
}
