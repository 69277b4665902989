//! `mail-ingest`: 10,000 mixed Japanese messages through the maildir path into SQLite (WAL),
//! tickets and the search index included; then, with `--kill-rounds`, the real binary killed
//! with SIGKILL at random points while ingesting, and a check that every message became
//! exactly one ticket or comment. Loopback and local files only; bounded in count and time.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bench::machine;
use clap::Parser;
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    /// Messages to ingest.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Messages per transaction.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Also run the crash test: this many SIGKILLs of `madoguchi mail maildir` at random
    /// points (0 skips it).
    #[arg(long, default_value_t = 0)]
    kill_rounds: usize,
    /// The madoguchi binary for the crash test.
    #[arg(long, default_value = "target/release/madoguchi")]
    binary: PathBuf,
    /// Also send the acknowledgements the ingest queued to a real SMTP server on loopback
    /// (aiosmtpd) and time it.
    #[arg(long)]
    send: bool,
    /// Switch the tenant's acknowledgements off (to see what queueing them costs).
    #[arg(long)]
    no_ack: bool,
    /// Print the statements the ingest ran, by kind, with their count and time.
    #[arg(long)]
    statements: bool,
}

/// ISO-2022-JP via encoding_rs (JIS X 0208 only; enough for the generated text).
fn iso2022jp(s: &str) -> Vec<u8> {
    encoding_rs::ISO_2022_JP.encode(s).0.into_owned()
}

const SUBJECTS: &[&str] = &[
    "プリンタで印刷できない",
    "パスワードを忘れました",
    "Teamsの会議に入れない",
    "共有フォルダが見えない",
    "VPNにつながらない",
    "メールが送れない",
    "PCが起動しない",
    "ライセンスの申請",
    "トナー交換の依頼",
    "アカウント追加",
];
const BODIES: &[&str] = &[
    "お疲れ様です。3階の複合機で印刷できません。至急対応をお願いします。",
    "ファイルサーバ \\\\fs01\\share\\new に入れなくなりました。権限の確認をお願いします。",
    "在宅勤務中にVPNへ接続できません。エラーコードは809です。",
    "新しく着任した職員のアカウント作成をお願いします。所属は総務課です。",
];

/// The i-th message of a deterministic mix: plain UTF-8, ISO-2022-JP, raw Shift_JIS, HTML
/// only, replies to earlier messages, and auto-replies.
fn message(i: usize) -> Vec<u8> {
    let sender = format!("user{:03}@city.example.jp", i % 800);
    let subject = SUBJECTS[i % SUBJECTS.len()];
    let body = BODIES[i % BODIES.len()];
    let id = format!("bench-{i}@city.example.jp");
    let head = |extra: &str| {
        format!(
            "From: {sender}\r\nTo: helpdesk@city.example.jp\r\nDate: Mon, 23 Nov 2026 09:{:02}:{:02} +0900\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n{extra}",
            (i / 60) % 60,
            i % 60
        )
    };
    match i % 20 {
        0..=9 => format!("{}Subject: {subject} {i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n", head("")).into_bytes(),
        10 | 11 => {
            let mut m = head("").into_bytes();
            m.extend_from_slice(b"Subject: =?ISO-2022-JP?B?");
            m.extend_from_slice(BASE64.encode(iso2022jp(subject)).as_bytes());
            m.extend_from_slice(b"?=\r\nContent-Type: text/plain; charset=iso-2022-jp\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
            m.extend_from_slice(&iso2022jp("お世話になっております。印刷できません。①"));
            m
        }
        12 | 13 => {
            let mut m = head("").into_bytes();
            m.extend_from_slice(b"Subject: ");
            m.extend_from_slice(&encoding_rs::SHIFT_JIS.encode(subject).0);
            m.extend_from_slice(b"\r\nContent-Type: text/plain\r\n\r\n");
            m.extend_from_slice(&encoding_rs::SHIFT_JIS.encode(body).0);
            m
        }
        14 => format!("{}Subject: {subject}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p class=MsoNormal>{body}<br>よろしくお願いします。</p>\r\n", head("")).into_bytes(),
        15..=18 if i >= 20 => {
            let orig = format!("bench-{}@city.example.jp", i - 20 + (i % 10));
            format!("{}Subject: Re: {subject}\r\nIn-Reply-To: <{orig}>\r\nReferences: <{orig}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n追加の情報です。再起動しても直りません。\r\n\r\n> {body}\r\n", head("")).into_bytes()
        }
        _ => format!("{}Subject: 自動応答: 不在\r\nAuto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n不在です。\r\n", head("")).into_bytes(),
    }
}

fn write_maildir(dir: &Path, n: usize) -> anyhow::Result<()> {
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    for i in 0..n {
        std::fs::write(
            dir.join("new").join(format!("{:010}.bench.host", i)),
            message(i),
        )?;
    }
    Ok(())
}

async fn wait_for_index(db: &sea_orm::DatabaseConnection) -> anyhow::Result<f64> {
    let started = Instant::now();
    loop {
        let pending = entity::search_outbox::Entity::find().count(db).await?;
        if pending == 0 {
            return Ok(started.elapsed().as_secs_f64());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "indexer did not catch up ({pending} left)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every stored message processed once: tickets and comments from mail match the rows.
async fn check_exactly_once(db: &sea_orm::DatabaseConnection, n: usize) -> anyhow::Result<String> {
    use entity::{MailStatus, mail_message, ticket, ticket_comment};
    let rows = mail_message::Entity::find().all(db).await?;
    anyhow::ensure!(rows.len() == n, "{} messages stored, {n} sent", rows.len());
    let waiting = rows
        .iter()
        .filter(|r| r.status == MailStatus::Received)
        .count();
    anyhow::ensure!(waiting == 0, "{waiting} messages still waiting");
    let created = rows
        .iter()
        .filter(|r| r.action.as_deref() == Some("created"))
        .count();
    let commented = rows
        .iter()
        .filter(|r| r.action.as_deref() == Some("commented"))
        .count();
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::Channel.eq(entity::Channel::Email))
        .count(db)
        .await? as usize;
    let comments = ticket_comment::Entity::find().count(db).await? as usize;
    anyhow::ensure!(
        tickets == created,
        "{tickets} mail tickets for {created} messages that created one"
    );
    anyhow::ensure!(
        comments == commented,
        "{comments} comments for {commented} reply messages"
    );
    let ignored = rows
        .iter()
        .filter(|r| r.status == MailStatus::Ignored)
        .count();
    let quarantined = rows
        .iter()
        .filter(|r| r.status == MailStatus::Quarantined)
        .count();
    Ok(format!(
        "{n} stored once; {created} tickets, {commented} comments, {ignored} ignored, {quarantined} quarantined; none waiting"
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Warnings, and the mail pipeline's notices (a batch run again message by message).
    let filter = tracing_subscriber::EnvFilter::try_from_env("MADOGUCHI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,service::mail=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    println!("machine: {}", machine());
    println!("date: {}", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"));
    let dir = tempfile::tempdir()?;
    let maildir = dir.path().join("maildir");
    write_maildir(&maildir, args.messages)?;
    let bytes: u64 = std::fs::read_dir(maildir.join("new"))?
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{} messages, {:.1} MB, batch {}",
        args.messages,
        bytes as f64 / 1e6,
        args.batch
    );

    let cfg = api::config::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("data"),
        sla_check_seconds: 3600,
        ..Default::default()
    };
    let app = api::server::Application::build(cfg, false).await?;
    let db = app.state().db.clone();
    let fx = tests::fixture::seed(&db).await?;
    if args.no_ack {
        let off = service::mail::MailSettings {
            acknowledge: false,
            ..Default::default()
        };
        service::mail::save_settings(&db.write, fx.city.id, &off).await?;
    }
    println!(
        "acknowledgements: {}",
        if args.no_ack {
            "off"
        } else {
            "queued for every new ticket"
        }
    );
    wait_for_index(&db.write).await?;
    tokio::spawn(app.run_until_stopped());

    let mut write = db.write.clone();
    let profile = args
        .statements
        .then(|| bench::StatementProfile::attach(&mut write));
    let started = Instant::now();
    let m = bots::mail::Maildir::new(&maildir);
    let mut total = 0;
    loop {
        let (n, _) = m.ingest_once(&write, None, args.batch).await?;
        if n == 0 {
            break;
        }
        total += n;
    }
    let ingest = started.elapsed().as_secs_f64();
    let index = wait_for_index(&db.write).await?;
    let all = started.elapsed().as_secs_f64();
    println!(
        "maildir ingest: {total} messages in {ingest:.2} s = {:.0} messages/s (stored, decoded, tickets/comments committed)",
        total as f64 / ingest
    );
    println!(
        "with the search index caught up: {all:.2} s = {:.0} messages/s (index lag after ingest {index:.2} s)",
        total as f64 / all
    );
    println!("{}", check_exactly_once(&db.write, args.messages).await?);
    if let Some(p) = profile {
        print!("{}", p.report(25));
    }

    if args.send {
        send_acknowledgements(&db.write).await?;
    }
    if args.kill_rounds > 0 {
        crash_test(&args).await?;
    }
    Ok(())
}

/// Sends every queued acknowledgement through aiosmtpd on loopback (at most 300 s) and checks
/// that each arrived once.
async fn send_acknowledgements(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use entity::mail_outbound;
    let queued = mail_outbound::Entity::find()
        .filter(mail_outbound::Column::Status.eq("queued"))
        .count(db)
        .await? as usize;
    let sink = tests::mailpeers::SmtpSink::start(0).await?;
    let cfg = bots::mail::SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.port,
        security: bots::mail::Security::None,
        batch: 200,
        ..Default::default()
    };
    let sender = bots::mail::Sender::new(&cfg)?;
    let started = Instant::now();
    let mut sent = 0;
    while sent < queued && started.elapsed() < Duration::from_secs(300) {
        let r = sender.send_due(db, service::tickets::now()).await?;
        anyhow::ensure!(r.deferred + r.failed == 0, "send errors: {r:?}");
        sent += r.sent;
    }
    let secs = started.elapsed().as_secs_f64();
    let received = sink.wait_for(queued, 30).await.len();
    anyhow::ensure!(received == queued, "{received} received of {queued} queued");
    println!(
        "replies out: {sent} acknowledgements through SMTP in {secs:.2} s = {:.0} mails/s (one connection per round of 200, aiosmtpd on loopback); {received} received, each once",
        sent as f64 / secs
    );
    Ok(())
}

/// Runs the real binary over a fresh maildir, killing it with SIGKILL at random points,
/// then lets it finish and checks that nothing was lost or doubled.
async fn crash_test(args: &Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let maildir = dir.path().join("maildir");
    let data = dir.path().join("data");
    write_maildir(&maildir, args.messages)?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.join("madoguchi.sqlite").display()
    );
    std::fs::create_dir_all(&data)?;
    {
        let db = service::Db::connect(&url, 2).await?;
        use migration::MigratorTrait;
        migration::Migrator::up(&db.write, None).await?;
        tests::fixture::seed(&db).await?;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let run = |kill_after: Option<Duration>| -> anyhow::Result<bool> {
        let mut child = std::process::Command::new(&args.binary)
            .args(["mail", "maildir"])
            .arg(&maildir)
            .args(["--batch", &args.batch.min(200).to_string(), "--data-dir"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", args.binary.display()))?;
        if let Some(d) = kill_after {
            std::thread::sleep(d);
            if child.try_wait()?.is_none() {
                child.kill()?; // SIGKILL
                child.wait()?;
                return Ok(true);
            }
        }
        child.wait()?;
        Ok(false)
    };
    let mut kills = 0;
    for _ in 0..args.kill_rounds {
        if run(Some(Duration::from_millis(rng.random_range(200..1500))))? {
            kills += 1;
        }
    }
    run(None)?;
    // Stored but unprocessed when killed: `mail process` (the server does this by itself).
    let status = std::process::Command::new(&args.binary)
        .args(["mail", "process", "--data-dir"])
        .arg(&data)
        .status()?;
    anyhow::ensure!(status.success(), "mail process failed");
    let left = std::fs::read_dir(maildir.join("new"))?.count();
    anyhow::ensure!(left == 0, "{left} files left in new/");
    let db = service::Db::connect(&url, 2).await?;
    println!(
        "crash test: {kills} SIGKILLs at random points; {}",
        check_exactly_once(&db.write, args.messages).await?
    );
    Ok(())
}
