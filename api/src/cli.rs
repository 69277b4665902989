//! The `madoguchi` command line.

use crate::auth::{Claims, issue, resolve_hs256_secret};
use crate::config::Config;
use crate::server::{Application, connect};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use service::directory;
use std::path::PathBuf;

/// Madoguchi (窓口): the helpdesk backend for municipal and school-board IT desks.
#[derive(Parser, Debug)]
#[command(name = "madoguchi", version, about, long_about = None)]
pub struct Cli {
    /// TOML configuration file (default: ./madoguchi.toml if present).
    #[arg(long, global = true, env = "MADOGUCHI_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by commands that touch the data.
#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Data directory (SQLite file, JWT secret, index). Default: ./data
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs the server: GraphQL at /graphql (GraphiQL in a browser), WebSocket at /graphql/ws.
    Serve {
        /// Address to listen on. Default: 127.0.0.1:8080
        #[arg(long)]
        listen: Option<String>,
        #[command(flatten)]
        data: DataArgs,
        /// Load the Japanese demo tenants on first start (when the database has none).
        #[arg(long)]
        demo: bool,
    },
    /// Applies pending database migrations (serve does this too).
    Migrate {
        #[command(flatten)]
        data: DataArgs,
        /// Only print which migrations are applied and pending.
        #[arg(long)]
        status: bool,
    },
    /// Prints the GraphQL schema (SDL); `schema.graphql` in the repository is this output.
    Schema,
    /// Bearer tokens for trying the API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The FAQ.
    Faq {
        #[command(subcommand)]
        command: FaqCommand,
    },
    /// The mail front door: ingest from an MTA pipe or a maildir, process waiting mail.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Imports a ledger from CSV (UTF-8 with or without BOM, or Shift_JIS as Excel saves it).
    /// Every row is checked first; errors are listed by line and column. Rows are matched by
    /// asset tag, license code or item code: importing the same file twice changes nothing.
    Import {
        /// assets (構成管理台帳), licenses (ライセンス管理台帳) or consumables (消耗品台帳).
        ledger: String,
        /// The CSV file.
        file: PathBuf,
        /// Tenant slug, e.g. sakura-city.
        #[arg(long)]
        tenant: String,
        /// Who imports (a desk person's mail address); default: the tenant's first admin.
        #[arg(long = "as")]
        as_person: Option<String>,
        /// Check and report only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write nothing when any row is wrong (default: write the good rows).
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Exports a ledger as Excel (.xlsx) or CSV (Shift_JIS by default, or UTF-8 with BOM).
    Export {
        /// assets, licenses, consumables, or radius (MAC addresses for RADIUS registration).
        ledger: String,
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// xlsx, csv (Shift_JIS) or csv-utf8. Default: from the output file's extension.
        #[arg(long)]
        format: Option<String>,
        /// Output file; default: the ledger's Japanese name and today's date in the current directory.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Whose view (a desk person's mail address); default: the tenant's first admin.
        #[arg(long = "as")]
        as_person: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Rebuilds the search index from the database (stop the server first).
    Reindex {
        #[command(flatten)]
        data: DataArgs,
    },
}

/// FAQ subcommands.
#[derive(Subcommand, Debug)]
pub enum FaqCommand {
    /// Imports articles from JSON Lines (.jsonl) or CSV (.csv, UTF-8 or Shift_JIS as Excel
    /// saves it). Articles are matched by code: new ones are created, changed ones get a
    /// new version, identical ones are left alone. The running server indexes them.
    Import {
        /// The file.
        file: PathBuf,
        /// Tenant slug, e.g. sakura-city.
        #[arg(long)]
        tenant: String,
        /// Who imports (a desk person's mail address); default: the tenant's first admin.
        #[arg(long = "as")]
        as_person: Option<String>,
        /// Save new articles as drafts instead of publishing them.
        #[arg(long)]
        draft: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Mail subcommands.
#[derive(Subcommand, Debug)]
pub enum MailCommand {
    /// Reads one message from standard input (an MTA pipe: Postfix `pipe`, sendmail
    /// aliases). Exits 0 once the message is stored, 75 (EX_TEMPFAIL) when it could not be
    /// stored so that the MTA retries.
    Ingest {
        /// Tenant slug; by default the recipient address decides.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Ingests every message in a maildir's `new/` (moved to `cur/` when done), then exits.
    Maildir {
        /// The maildir (the folder holding new/, cur/, tmp/).
        dir: PathBuf,
        /// Tenant slug; by default the recipient address decides.
        #[arg(long)]
        tenant: Option<String>,
        /// Messages per transaction.
        #[arg(long, default_value_t = 200)]
        batch: usize,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Processes stored mail that is still waiting (the server does this on its own).
    Process {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Reads every configured IMAP mailbox (`[[mail.imap]]`) once, then exits.
    Fetch {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Sends the queued replies that are due through `[mail.smtp]`, then exits.
    Send {
        #[command(flatten)]
        data: DataArgs,
    },
}

/// A temporary failure: the caller (an MTA) should try again later. `main` exits 75.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct TempFail(pub anyhow::Error);

/// Token subcommands.
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Prints a signed token carrying a person's roles.
    Issue {
        /// Tenant slug, e.g. sakura-city.
        #[arg(long)]
        tenant: String,
        /// The person's mail address.
        #[arg(long)]
        person: String,
        /// Lifetime in minutes (default from config: 480).
        #[arg(long)]
        ttl_minutes: Option<i64>,
        #[command(flatten)]
        data: DataArgs,
    },
}

fn load(config: Option<&PathBuf>, data: &DataArgs) -> anyhow::Result<Config> {
    let mut cfg =
        Config::load(config.map(PathBuf::as_path)).context("cannot read configuration")?;
    if let Some(d) = &data.data_dir {
        cfg.data_dir = d.clone();
    }
    Ok(cfg)
}

/// The person a command acts as: `--as` (a mail address) or the tenant's first admin.
async fn acting_person(
    db: &service::Db,
    t: &entity::tenant::Model,
    slug: &str,
    as_person: Option<&str>,
) -> anyhow::Result<service::Actor> {
    let person = match as_person {
        Some(email) => directory::person_by_email(&db.read, t.id, email)
            .await?
            .with_context(|| format!("no person with mail address {email:?} in {slug}"))?,
        None => directory::admins(&db.read, t.id)
            .await?
            .into_iter()
            .next()
            .with_context(|| format!("{slug} has no admin; pass --as"))?,
    };
    Ok(service::Actor {
        person_id: person.id,
        tenant_id: t.id,
        roles: directory::roles_of(&person),
        vendor_id: person.vendor_id,
    })
}

/// Loads the configuration, migrates, and finds the tenant by slug.
async fn open_tenant(
    config: Option<&PathBuf>,
    data: &DataArgs,
    slug: &str,
) -> anyhow::Result<(Config, service::Db, entity::tenant::Model)> {
    let cfg = load(config, data)?;
    let db = connect(&cfg).await?;
    Migrator::up(&db.write, None).await?;
    let Some(t) = directory::tenant_by_slug(&db.read, slug).await? else {
        bail!("no tenant with slug {slug:?}");
    };
    Ok((cfg, db, t))
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { listen, data, demo } => {
            let mut cfg = load(cli.config.as_ref(), &data)?;
            crate::telemetry::init(cfg.log_json);
            if let Some(l) = listen {
                cfg.listen = l;
            }
            let app = Application::build(cfg.clone(), demo).await?;
            tracing::info!(listen = %cfg.listen, port = app.port(), "madoguchi is serving; GraphiQL at /graphql");
            app.run_until_stopped().await
        }
        Command::Migrate { data, status } => {
            let cfg = load(cli.config.as_ref(), &data)?;
            let db = connect(&cfg).await?;
            if status {
                for m in Migrator::get_migration_with_status(&db.write).await? {
                    println!("{}\t{:?}", m.name(), m.status());
                }
            } else {
                Migrator::up(&db.write, None).await?;
                println!("migrations applied");
            }
            Ok(())
        }
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Faq {
            command:
                FaqCommand::Import {
                    file,
                    tenant,
                    as_person,
                    draft,
                    data,
                },
        } => {
            let (_, db, t) = open_tenant(cli.config.as_ref(), &data, &tenant).await?;
            let actor = acting_person(&db, &t, &tenant, as_person.as_deref()).await?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let is_csv = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            let rows = if is_csv {
                service::faq::parse_csv(&service::faq::decode_csv(&bytes))
            } else {
                let text = String::from_utf8(bytes).context("JSON Lines must be UTF-8")?;
                service::faq::parse_jsonl(&text)
            };
            let status = if draft {
                entity::FaqStatus::Draft
            } else {
                entity::FaqStatus::Published
            };
            let report = match service::faq::import(&db.write, &actor, rows, status).await {
                Ok(r) => r,
                Err(service::ServiceError::Forbidden(_)) => {
                    bail!("that person is not on the desk; pass --as")
                }
                Err(e) => return Err(e.into()),
            };
            println!(
                "作成 {} 件、更新 {} 件、変更なし {} 件、エラー {} 件",
                report.created,
                report.updated,
                report.unchanged,
                report.errors.len()
            );
            for (line, e) in &report.errors {
                println!("  {}:{line}: {e}", file.display());
            }
            if !report.errors.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Import {
            ledger,
            file,
            tenant,
            as_person,
            dry_run,
            strict,
            data,
        } => {
            let ledger: service::ledger::sheets::Ledger =
                ledger.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let (_, db, t) = open_tenant(cli.config.as_ref(), &data, &tenant).await?;
            let actor = acting_person(&db, &t, &tenant, as_person.as_deref()).await?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {percent}% {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let opts = service::ledger::sheets::ImportOptions { dry_run, strict };
            let report = match service::ledger::sheets::import(
                &db.write,
                &actor,
                ledger,
                &bytes,
                opts,
                &|done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                },
            )
            .await
            {
                Ok(r) => r,
                Err(service::ServiceError::Forbidden(_)) => {
                    bail!("that person is not on the desk; pass --as")
                }
                Err(service::ServiceError::Invalid(errs)) => {
                    bar.finish_and_clear();
                    for e in errs {
                        eprintln!("{}: {}", file.display(), e.message);
                    }
                    std::process::exit(1);
                }
                Err(e) => return Err(e.into()),
            };
            bar.finish_and_clear();
            let verb = if report.applied {
                ""
            } else {
                "（書き込みなし）"
            };
            println!(
                "{}: {} 行（{}）→ 登録 {} 件、更新 {} 件、変更なし {} 件、エラー {} 行{verb}（{:.1} 秒）",
                ledger.label_ja(),
                report.rows,
                report.encoding,
                report.created,
                report.updated,
                report.unchanged,
                report.error_lines().len(),
                started.elapsed().as_secs_f64()
            );
            if !report.ignored_columns.is_empty() {
                println!("  無視した列: {}", report.ignored_columns.join("、"));
            }
            for e in &report.errors {
                let col = if e.column.is_empty() {
                    String::new()
                } else {
                    format!("「{}」", e.column)
                };
                println!(
                    "  {}:{}行目{col}: {} [{}]",
                    file.display(),
                    e.line,
                    e.message,
                    e.code
                );
            }
            if !report.errors.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Export {
            ledger,
            tenant,
            format,
            output,
            as_person,
            data,
        } => {
            use service::ledger::sheets::{CsvEncoding, ExportFormat};
            let ledger: service::ledger::sheets::Ledger =
                ledger.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let format = match format.as_deref().or_else(|| {
                output
                    .as_ref()
                    .and_then(|o| o.extension())
                    .and_then(|e| e.to_str())
            }) {
                None | Some("xlsx") => ExportFormat::Xlsx,
                Some("csv") => ExportFormat::Csv(CsvEncoding::ShiftJis),
                Some("csv-utf8") => ExportFormat::Csv(CsvEncoding::Utf8Bom),
                Some(other) => bail!("unknown format {other:?}: xlsx, csv or csv-utf8"),
            };
            let (_, db, t) = open_tenant(cli.config.as_ref(), &data, &tenant).await?;
            let actor = acting_person(&db, &t, &tenant, as_person.as_deref()).await?;
            let file = service::ledger::sheets::export(&db.read, &actor, ledger, format).await?;
            let path = output.unwrap_or_else(|| PathBuf::from(&file.filename));
            std::fs::write(&path, &file.bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "{} を書き出しました（{} バイト）",
                path.display(),
                file.bytes.len()
            );
            if file.lost_characters > 0 {
                println!(
                    "  Shift_JIS で表せない文字 {} 個を〓にしました。--format csv-utf8 か xlsx なら失われません。",
                    file.lost_characters
                );
            }
            Ok(())
        }
        Command::Mail { command } => mail(cli.config.as_ref(), command).await,
        Command::Reindex { data } => {
            let cfg = load(cli.config.as_ref(), &data)?;
            let db = connect(&cfg).await?;
            Migrator::up(&db.write, None).await?;
            let search = service::search::Search::open(&cfg.index_dir())?;
            let writer = service::search::IndexWriter::new(
                &search.index,
                cfg.search.writer_memory_mb.max(128),
            )
            .context("the index is in use: stop the server first")?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} 件 {per_sec} 残り {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let n = service::search::indexer::reindex(&db.read, &writer, |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await?;
            bar.finish_and_clear();
            println!(
                "{n} 件を索引しました（{:.1} 秒）",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Issue {
                    tenant,
                    person,
                    ttl_minutes,
                    data,
                },
        } => {
            let (cfg, db, t) = open_tenant(cli.config.as_ref(), &data, &tenant).await?;
            let Some(p) = directory::person_by_email(&db.read, t.id, &person).await? else {
                bail!("no person with mail address {person:?} in {tenant}");
            };
            let roles = directory::roles_of(&p);
            let now = chrono::Utc::now().timestamp();
            let claims = Claims {
                sub: p.id.to_string(),
                tenant: t.slug.clone(),
                roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
                iss: cfg.auth.issuer.clone(),
                aud: cfg.auth.audience.clone(),
                exp: now + 60 * ttl_minutes.unwrap_or(cfg.auth.token_ttl_minutes),
                nbf: Some(now - 5),
                iat: Some(now),
                name: Some(p.display_name.clone()),
            };
            let secret = resolve_hs256_secret(&cfg.auth, &cfg.data_dir)?;
            println!("{}", issue(&cfg.auth, &secret, &claims)?);
            Ok(())
        }
    }
}

async fn tenant_id(db: &service::Db, slug: Option<&str>) -> anyhow::Result<Option<uuid::Uuid>> {
    match slug {
        None => Ok(None),
        Some(s) => match directory::tenant_by_slug(&db.read, s).await? {
            Some(t) => Ok(Some(t.id)),
            None => bail!("no tenant with slug {s:?}"),
        },
    }
}

async fn mail(config: Option<&PathBuf>, command: MailCommand) -> anyhow::Result<()> {
    use bots::mail::{IngestError, Maildir, RawMail};
    use std::io::Read;
    match command {
        MailCommand::Ingest { tenant, data } => {
            // Everything up to the stored row is a temporary failure for the MTA.
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading the message from stdin")
                .map_err(TempFail)?;
            let cfg = load(config, &data).map_err(TempFail)?;
            let db = connect(&cfg).await.map_err(TempFail)?;
            Migrator::up(&db.write, None)
                .await
                .map_err(|e| TempFail(e.into()))?;
            // A wrong slug is a configuration mistake to fix, not a reason to bounce mail.
            let tenant = tenant_id(&db, tenant.as_deref()).await.map_err(TempFail)?;
            match bots::mail::ingest(
                &db.write,
                "pipe",
                tenant,
                &[RawMail {
                    bytes,
                    source_ref: None,
                }],
            )
            .await
            {
                Ok(r) => {
                    match r.processed.outcomes.first() {
                        Some((id, o)) => println!("{id}\t{}", describe(o)),
                        None => println!("{}\talready received", r.stored[0].id()),
                    }
                    Ok(())
                }
                Err(IngestError::Store(e)) => Err(TempFail(e).into()),
                Err(e @ IngestError::Process { .. }) => {
                    // Stored: the MTA is done; the server processes it later.
                    eprintln!("madoguchi: {e}");
                    Ok(())
                }
            }
        }
        MailCommand::Maildir {
            dir,
            tenant,
            batch,
            data,
        } => {
            let cfg = load(config, &data)?;
            let db = connect(&cfg).await?;
            Migrator::up(&db.write, None).await?;
            let tenant = tenant_id(&db, tenant.as_deref()).await?;
            let m = Maildir::new(dir);
            let (mut total, mut created, mut commented, mut ignored, mut quarantined) =
                (0, 0, 0, 0, 0);
            loop {
                let (n, r) = m.ingest_once(&db.write, tenant, batch.max(1)).await?;
                if n == 0 {
                    break;
                }
                total += n;
                created += r.created;
                commented += r.commented + r.bounced;
                ignored += r.ignored;
                quarantined += r.quarantined;
            }
            println!(
                "{total} messages: {created} new tickets, {commented} replies, {ignored} ignored, {quarantined} quarantined"
            );
            Ok(())
        }
        MailCommand::Process { data } => {
            let cfg = load(config, &data)?;
            let db = connect(&cfg).await?;
            Migrator::up(&db.write, None).await?;
            let mut total = 0;
            loop {
                let r = bots::mail::process_pending(&db.write, 500).await?;
                if r.total() == 0 {
                    break;
                }
                total += r.total();
            }
            println!("{total} messages processed");
            Ok(())
        }
        MailCommand::Fetch { data } => {
            let cfg = load(config, &data)?;
            if cfg.mail.imap.is_empty() {
                bail!("no IMAP mailbox is configured ([[mail.imap]])");
            }
            let db = connect(&cfg).await?;
            Migrator::up(&db.write, None).await?;
            for imap in &cfg.mail.imap {
                let tenant = tenant_id(&db, imap.tenant.as_deref()).await?;
                let poller = bots::mail::imap::ImapPoller::new(imap.clone(), tenant)?;
                let r = poller
                    .run_once(&db.write)
                    .await
                    .with_context(|| format!("IMAP source {}", imap.name))?;
                let p = &r.processed;
                println!(
                    "{}: {} messages: {} new tickets, {} replies, {} ignored, {} quarantined (UIDVALIDITY {}, last UID {})",
                    imap.name,
                    r.fetched,
                    p.created,
                    p.commented + p.bounced,
                    p.ignored,
                    p.quarantined,
                    r.uid_validity,
                    r.last_uid
                );
            }
            Ok(())
        }
        MailCommand::Send { data } => {
            let cfg = load(config, &data)?;
            let Some(smtp) = &cfg.mail.smtp else {
                bail!("no SMTP server is configured ([mail.smtp])");
            };
            let db = connect(&cfg).await?;
            Migrator::up(&db.write, None).await?;
            let sender = bots::mail::Sender::new(smtp)?;
            let (mut sent, mut deferred, mut failed) = (0, 0, 0);
            loop {
                let r = sender.send_due(&db.write, service::tickets::now()).await?;
                sent += r.sent;
                deferred += r.deferred;
                failed += r.failed;
                if r.sent + r.deferred + r.failed == 0 || r.sent == 0 {
                    break;
                }
            }
            println!("{sent} sent, {deferred} deferred (will be retried), {failed} failed");
            Ok(())
        }
    }
}

fn describe(o: &service::mail::Outcome) -> String {
    use service::mail::Outcome::*;
    match o {
        Created { number, .. } => format!("created {number}"),
        Commented { ticket_id, .. } => format!("commented on {ticket_id}"),
        Bounced { .. } => "bounce recorded".to_owned(),
        Ignored { reason, .. } => format!("ignored ({reason})"),
        Quarantined { reason, .. } => format!("quarantined ({reason})"),
        AlreadyDone => "already processed".to_owned(),
    }
}
