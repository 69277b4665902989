//! Search speed: indexing and querying a million ticket documents plus the FAQ,
//! against SQLite FTS5 (trigram tokenizer) on the same documents and queries.
//!
//! ```text
//! cargo run -p bench --release --bin search-load -- [--docs 1000000] [--queries 2000] [--fts5-docs N]
//! ```
//!
//! Bounded: a fixed number of documents and queries, single-threaded queries,
//! everything in a temporary directory that is removed at the end. Prints the
//! machine, indexing rate, index size, resident memory, query latency
//! percentiles, and for FTS5 the same plus hit@k on the FAQ dev questions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use bench::{DevQuery, Faq, faq_document, machine, read_jsonl};
use chrono::{TimeZone, Utc};
use clap::Parser;
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sea_orm::{ConnectionTrait, Database, Statement};
use search_index::{
    Access, DocKind, Document, FaqAccess, Filter, SearchIndex, SearchRequest, Synonyms,
    TicketAccess,
};
use unicode_normalization::UnicodeNormalization;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Search indexing and query speed, with SQLite FTS5 (trigram) alongside")]
struct Args {
    /// Ticket documents to generate and index.
    #[arg(long, default_value_t = 1_000_000)]
    docs: usize,
    /// Queries to time (single-threaded).
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Documents loaded into FTS5 (default: the same as --docs; 0 skips FTS5).
    #[arg(long)]
    fts5_docs: Option<usize>,
    /// Indexing memory in MB.
    #[arg(long, default_value_t = 512)]
    memory_mb: usize,
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/faq.jsonl"))]
    faq: PathBuf,
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/queries-dev.jsonl"))]
    dev_queries: PathBuf,
}

const TENANTS: [&str; 3] = ["city", "union", "board"];
const STATUSES: [&str; 7] = [
    "new",
    "in_progress",
    "waiting_on_requester",
    "waiting_on_vendor",
    "escalated",
    "resolved",
    "closed",
];

const PLACES: &[&str] = &[
    "本庁舎2階",
    "市民課窓口",
    "税務課",
    "第二庁舎",
    "福祉事務所",
    "保健センター",
    "議会事務局",
    "教育委員会",
    "さくら小学校",
    "ひかり中学校",
    "職員室",
    "図書館",
    "消防本部",
    "上下水道局",
    "会議室A",
    "出張所",
];
const DEVICES: &[&str] = &[
    "業務端末",
    "ノートPC",
    "プリンター",
    "複合機",
    "ファイルサーバー",
    "共有フォルダ",
    "無線LAN",
    "有線LAN",
    "VPN",
    "Teams",
    "Outlook",
    "校務支援システム",
    "タブレット",
    "プロジェクター",
    "セキュリティUSB",
    "仮想ブラウザ",
    "財務会計システム",
    "住民情報システム",
    "電子決裁",
    "グループウェア",
    "スキャナ",
    "モバイルWi-Fi",
];
const SYMPTOMS: &[&str] = &[
    "が起動しない",
    "につながらない",
    "で印刷できない",
    "が遅い",
    "にログインできない",
    "でエラーが表示される",
    "のパスワードを忘れた",
    "が固まる",
    "の画面が映らない",
    "が認識されない",
    "で紙詰まりが発生",
    "のアカウントがロックされた",
    "からメールが送れない",
    "の容量が不足している",
    "でファイルが開けない",
    "の設定を変更したい",
    "を追加したい",
    "が故障した",
];
const DETAILS: &[&str] = &[
    "朝から同じ症状が続いています。",
    "再起動しても改善しません。",
    "課内の全員で発生しています。",
    "急ぎの決裁があり困っています。",
    "エラーコード0x80070005が表示されます。",
    "昨日までは問題なく使えていました。",
    "ケーブルは抜き差ししました。",
    "窓口に住民の方が待っています。",
    "Windows Updateの後からおかしくなりました。",
    "別の端末では使えます。",
];
const REPLIES: &[&str] = &[
    "ドライバを再インストールして解消しました。",
    "アカウントのロックを解除しました。",
    "ベンダーに修理を依頼しました。",
    "代替機を貸し出しました。",
    "ネットワーク機器の再起動で復旧しました。",
    "設定を変更し、動作を確認していただきました。",
    "トナーを交換しました。",
    "パスワードを初期化し、仮パスワードをお伝えしました。",
];
const QUERY_WORDS: &[&str] = &[
    "プリンター",
    "ぷりんた",
    "印刷",
    "紙詰まり",
    "VPN",
    "つながらない",
    "パスワード",
    "PW",
    "ログイン",
    "ロック",
    "Teams",
    "ﾁｰﾑｽﾞ",
    "サーバ",
    "共有フォルダ",
    "容量",
    "遅い",
    "起動しない",
    "エラー",
    "複合機",
    "スキャナ",
    "無線LAN",
    "Wi-Fi",
    "校務支援",
    "タブレット",
    "画面",
    "映らない",
    "故障",
    "修理",
    "代替機",
    "メール",
    "Outlook",
    "財務会計",
    "決裁",
    "USB",
    "認識しない",
    "ドライバ",
    "再起動",
    "トナー",
    "設定",
    "アカウント",
];

fn generate(i: usize, rng: &mut StdRng) -> Document {
    let place = PLACES.choose(rng).unwrap();
    let device = DEVICES.choose(rng).unwrap();
    let symptom = SYMPTOMS.choose(rng).unwrap();
    let title = format!("{place}の{device}{symptom}");
    let mut body = format!(
        "{place}で{device}{symptom}。{}",
        DETAILS.choose(rng).unwrap()
    );
    for _ in 0..rng.random_range(0..3) {
        body.push_str("\n\n");
        body.push_str(DETAILS.choose(rng).unwrap());
        body.push_str(REPLIES.choose(rng).unwrap());
    }
    let created = Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap()
        + chrono::TimeDelta::minutes(rng.random_range(0..(3 * 365 * 24 * 60)));
    Document {
        kind: DocKind::Ticket,
        id: format!("t{i}"),
        tenant: TENANTS[i % 3].to_owned(),
        title,
        body,
        keywords: vec![],
        category: Some(device.to_string()),
        audience: vec![],
        status: STATUSES.choose(rng).unwrap().to_string(),
        number: Some(format!("HD-{}-{:06}", 2024 + (i % 3), i % 1_000_000)),
        requester: Some(format!("p{}", i % 5000)),
        vendors: vec![],
        created,
        updated: created,
    }
}

fn faq_docs(path: &Path) -> anyhow::Result<Vec<Document>> {
    let now = Utc::now();
    Ok(read_jsonl::<Faq>(path)?
        .iter()
        .map(|f| faq_document(f, "city", now))
        .collect())
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let m = e.metadata().ok();
                    if m.as_ref().is_some_and(|m| m.is_dir()) {
                        dir_size(&e.path())
                    } else {
                        m.map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn report(label: &str, h: &Histogram<u64>, elapsed: Duration) {
    println!(
        "{label}: {} queries in {:.1} s ({:.0}/s)  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        h.len(),
        elapsed.as_secs_f64(),
        h.len() as f64 / elapsed.as_secs_f64(),
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.95) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
}

struct QuerySpec {
    text: String,
    tenant: &'static str,
    statuses: Vec<String>,
    from: chrono::DateTime<Utc>,
}

fn queries(n: usize, rng: &mut StdRng) -> Vec<QuerySpec> {
    (0..n)
        .map(|_| {
            let words = rng.random_range(1..=4);
            let text = (0..words)
                .map(|_| *QUERY_WORDS.choose(rng).unwrap())
                .collect::<Vec<_>>()
                .join(" ");
            let statuses: Vec<String> = if rng.random_bool(0.5) {
                vec!["resolved".into(), "closed".into()]
            } else {
                STATUSES.iter().map(|s| s.to_string()).collect()
            };
            let from = Utc
                .with_ymd_and_hms(2024 + rng.random_range(0..3), 4, 1, 0, 0, 0)
                .unwrap();
            QuerySpec {
                text,
                tenant: TENANTS[rng.random_range(0..3)],
                statuses,
                from,
            }
        })
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!("search-load on {}", machine());
    let dir = tempfile::tempdir()?;
    let faq = faq_docs(&args.faq)?;

    // Warm the dictionary outside the timings.
    let started = Instant::now();
    let _ = search_index::analysis::analyze("辞書の読み込み");
    println!(
        "dictionary loaded in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    // Index.
    let index = SearchIndex::open_or_create(&dir.path().join("index"))?;
    let mut writer = index.writer(args.memory_mb)?;
    let mut rng = StdRng::seed_from_u64(7);
    let started = Instant::now();
    for d in &faq {
        writer.upsert(d)?;
    }
    for i in 0..args.docs {
        writer.upsert(&generate(i, &mut rng))?;
    }
    writer.commit(1)?;
    let committed = started.elapsed();
    writer.finish()?;
    let merged = started.elapsed();
    index.refresh()?;
    let total = args.docs + faq.len();
    let (rss, hwm) = rss_mb();
    println!(
        "ours: indexed {total} documents in {:.1} s = {:.0} docs/s (commit), {:.1} s with merges; {} docs searchable; index {:.0} MB on disk; RSS {rss:.0} MB (peak {hwm:.0} MB)",
        committed.as_secs_f64(),
        total as f64 / committed.as_secs_f64(),
        merged.as_secs_f64(),
        index.num_docs(),
        dir_size(&dir.path().join("index")) as f64 / 1e6,
    );

    // Query: 1–4 words, tenant + type + status + date filters, highlights and facets.
    let synonyms = Synonyms::defaults();
    let specs = queries(args.queries, &mut StdRng::seed_from_u64(11));
    for count in [false, true] {
        let mut h = Histogram::<u64>::new(3)?;
        // The same latencies by the number of words in the query (1–4).
        let mut by_words = (0..4)
            .map(|_| Histogram::<u64>::new(3))
            .collect::<Result<Vec<_>, _>>()?;
        // And by the status filter: every status, or resolved and closed.
        let mut by_status = [Histogram::<u64>::new(3)?, Histogram::<u64>::new(3)?];
        let mut hits_total = 0usize;
        // The slowest queries, to read the tail: (µs, query index).
        let mut slowest: Vec<(u64, usize)> = Vec::new();
        for warm in [true, false] {
            let started = Instant::now();
            for (qi, q) in specs
                .iter()
                .enumerate()
                .take(if warm { 200 } else { specs.len() })
            {
                let access = Access {
                    tenant: q.tenant.into(),
                    faq: FaqAccess::All,
                    tickets: TicketAccess::All,
                };
                let filter = Filter {
                    kinds: vec![DocKind::Ticket],
                    statuses: q.statuses.clone(),
                    created_from: Some(q.from),
                    ..Filter::default()
                };
                let req = SearchRequest {
                    text: &q.text,
                    access: &access,
                    filter: &filter,
                    synonyms: &synonyms,
                    limit: 10,
                    offset: 0,
                    highlight: true,
                    count,
                };
                let t = Instant::now();
                let r = index.search(&req)?;
                if !warm {
                    let us = t.elapsed().as_micros() as u64;
                    h.record(us)?;
                    let words = q.text.split(' ').count().clamp(1, 4);
                    by_words[words - 1].record(us)?;
                    by_status[usize::from(q.statuses.len() == 2)].record(us)?;
                    hits_total += usize::from(!r.hits.is_empty());
                    slowest.push((us, qi));
                }
            }
            if !warm {
                let label = if count {
                    "ours: search + totalCount + facets (1 thread)"
                } else {
                    "ours: search (1 thread, scope + type + status + date filters, highlights)"
                };
                report(label, &h, started.elapsed());
                for (label, w) in ["every status", "resolved or closed"]
                    .iter()
                    .zip(&by_status)
                {
                    println!(
                        "    {label}: {} queries  p50 {:.2} ms  p99 {:.2} ms",
                        w.len(),
                        w.value_at_quantile(0.50) as f64 / 1000.0,
                        w.value_at_quantile(0.99) as f64 / 1000.0,
                    );
                }
                for (i, w) in by_words.iter().enumerate() {
                    println!(
                        "    {} word{}: {} queries  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
                        i + 1,
                        if i == 0 { "" } else { "s" },
                        w.len(),
                        w.value_at_quantile(0.50) as f64 / 1000.0,
                        w.value_at_quantile(0.99) as f64 / 1000.0,
                        w.max() as f64 / 1000.0
                    );
                }
            }
        }
        println!(
            "ours: {hits_total} of {} queries found something",
            specs.len()
        );
        slowest.sort_unstable_by(|a, b| b.cmp(a));
        let slowest: Vec<String> = slowest
            .iter()
            .take(5)
            .map(|&(us, qi)| {
                let q = &specs[qi];
                format!(
                    "{:.1} ms 「{}」 ({} statuses, since {})",
                    us as f64 / 1000.0,
                    q.text,
                    q.statuses.len(),
                    q.from.format("%Y-%m")
                )
            })
            .collect();
        println!("    slowest: {}", slowest.join("; "));
    }
    let (rss, hwm) = rss_mb();
    println!("ours: RSS after queries {rss:.0} MB (peak {hwm:.0} MB)");

    // hit@k on the FAQ dev questions, the FAQ sharing the index with the tickets.
    let dev: Vec<DevQuery> = read_jsonl(&args.dev_queries)?;
    let access = Access {
        tenant: "city".into(),
        faq: FaqAccess::All,
        tickets: TicketAccess::All,
    };
    let (mut n, mut h1, mut h3) = (0, 0, 0);
    let mut h = Histogram::<u64>::new(3)?;
    for q in dev.iter().filter(|q| !q.expected.is_empty()) {
        n += 1;
        let t = Instant::now();
        let s = index.suggest_answers(&q.q, &access, &synonyms)?;
        h.record(t.elapsed().as_micros() as u64)?;
        let ranked: Vec<&str> = s.ranked.iter().map(|(id, _)| id.as_str()).collect();
        h1 += usize::from(
            ranked
                .first()
                .is_some_and(|k| q.expected.iter().any(|e| e == k)),
        );
        h3 += usize::from(
            ranked
                .iter()
                .take(3)
                .any(|k| q.expected.iter().any(|e| e == k)),
        );
    }
    println!(
        "ours on the FAQ dev questions (FAQ in the same index): hit@1={:.2} hit@3={:.2}; suggest p50 {:.2} ms p99 {:.2} ms",
        h1 as f64 / n as f64,
        h3 as f64 / n as f64,
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0
    );

    let fts_docs = args.fts5_docs.unwrap_or(args.docs);
    if fts_docs > 0 {
        fts5(&args, dir.path(), fts_docs, &faq, &specs).await?;
    }
    Ok(())
}

/// NFKC + lower case, no spaces: what the trigram tokenizer sees best.
fn fold(s: &str) -> String {
    s.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// An FTS5 MATCH expression: every trigram of every word, OR'ed (words under
/// three characters cannot be matched by the trigram tokenizer).
fn fts_match(words: &[&str]) -> Option<String> {
    let mut grams = Vec::new();
    for w in words {
        let chars: Vec<char> = fold(w).chars().filter(|c| *c != '"').collect();
        for g in chars.windows(3) {
            let g: String = g.iter().collect();
            if !grams.contains(&g) {
                grams.push(g);
            }
        }
    }
    (!grams.is_empty()).then(|| {
        grams
            .iter()
            .map(|g| format!("\"{g}\""))
            .collect::<Vec<_>>()
            .join(" OR ")
    })
}

async fn fts5(
    args: &Args,
    dir: &Path,
    n: usize,
    faq: &[Document],
    specs: &[QuerySpec],
) -> anyhow::Result<()> {
    let path = dir.join("fts5.sqlite");
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display())).await?;
    let backend = db.get_database_backend();
    db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;")
        .await?;
    db.execute_unprepared(
        "CREATE VIRTUAL TABLE docs USING fts5(title, body, tenant UNINDEXED, kind UNINDEXED, status UNINDEXED, created UNINDEXED, key UNINDEXED, tokenize='trigram')",
    )
    .await?;
    let mut rng = StdRng::seed_from_u64(7);
    let started = Instant::now();
    let insert = |d: &Document| {
        Statement::from_sql_and_values(
            backend,
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                d.title.clone().into(),
                d.body.clone().into(),
                d.tenant.clone().into(),
                d.kind.as_str().into(),
                d.status.clone().into(),
                d.created.timestamp().into(),
                d.id.clone().into(),
            ],
        )
    };
    let mut batch = 0;
    db.execute_unprepared("BEGIN").await?;
    for d in faq {
        db.execute_raw(insert(d)).await?;
    }
    for i in 0..n {
        db.execute_raw(insert(&generate(i, &mut rng))).await?;
        batch += 1;
        if batch == 20_000 {
            db.execute_unprepared("COMMIT; BEGIN").await?;
            batch = 0;
        }
    }
    db.execute_unprepared("COMMIT").await?;
    let took = started.elapsed();
    println!(
        "fts5 (trigram): indexed {} documents in {:.1} s = {:.0} docs/s; {:.0} MB on disk",
        n + faq.len(),
        took.as_secs_f64(),
        (n + faq.len()) as f64 / took.as_secs_f64(),
        dir_size(dir) as f64 / 1e6 - dir_size(&dir.join("index")) as f64 / 1e6
    );
    let query = |m: &str, tenant: &str, statuses: &[String], from: i64| {
        let placeholders = statuses.iter().map(|_| "?").collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT key, snippet(docs, 1, '<mark>', '</mark>', '…', 16) FROM docs WHERE docs MATCH ? AND tenant = ? AND kind = 'ticket' \
             AND status IN ({placeholders}) AND created >= ? ORDER BY bm25(docs, 3.0, 1.0) LIMIT 10"
        );
        let mut values: Vec<sea_orm::Value> = vec![m.into(), tenant.into()];
        values.extend(statuses.iter().map(|s| s.clone().into()));
        values.push(from.into());
        Statement::from_sql_and_values(backend, sql, values)
    };
    let mut h = Histogram::<u64>::new(3)?;
    let mut found = 0;
    let count = specs.len().min(args.queries);
    let started = Instant::now();
    for q in specs.iter().take(count) {
        let words: Vec<&str> = q.text.split(' ').collect();
        let t = Instant::now();
        let rows = match fts_match(&words) {
            Some(m) => {
                db.query_all_raw(query(&m, q.tenant, &q.statuses, q.from.timestamp()))
                    .await?
            }
            None => vec![],
        };
        h.record(t.elapsed().as_micros() as u64)?;
        found += usize::from(!rows.is_empty());
    }
    report(
        "fts5 (trigram): search (1 thread, same filters, snippet)",
        &h,
        started.elapsed(),
    );
    println!(
        "fts5 (trigram): {found} of {count} queries found something (words under 3 characters cannot match)"
    );

    // hit@k on the FAQ dev questions, FAQ documents only.
    let dev: Vec<DevQuery> = read_jsonl(&args.dev_queries)?;
    let (mut n, mut h1, mut h3) = (0, 0, 0);
    for q in dev.iter().filter(|q| !q.expected.is_empty()) {
        n += 1;
        let Some(m) = fts_match(&[q.q.as_str()]) else {
            continue;
        };
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT key FROM docs WHERE docs MATCH ? AND kind = 'faq' ORDER BY bm25(docs, 3.0, 1.0) LIMIT 3",
                [m.into()],
            ))
            .await?;
        let keys: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get::<String>("", "key").ok())
            .collect();
        h1 += usize::from(keys.first().is_some_and(|k| q.expected.contains(k)));
        h3 += usize::from(keys.iter().any(|k| q.expected.contains(k)));
    }
    println!(
        "fts5 (trigram) on the FAQ dev questions: hit@1={:.2} hit@3={:.2} (ours: see faq-eval)",
        h1 as f64 / n as f64,
        h3 as f64 / n as f64
    );
    db.close().await?;
    Ok(())
}
