//! The HTTP server: GraphQL (HTTP and WebSocket), GraphiQL, health, and the background jobs.

use crate::auth::{Verifier, resolve_hs256_secret};
use crate::config::Config;
use crate::graphql::context::{AppState, Session};
use crate::graphql::loaders::Loaders;
use crate::graphql::{self, AppSchema};
use crate::session::Authenticator;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context as _;
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::GraphQLSubscription;
use migration::{Migrator, MigratorTrait};
use service::Db;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// A built, bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    state: AppState,
    jobs: Vec<JoinHandle<()>>,
    stop_jobs: watch::Sender<bool>,
}

/// Connects to the database named by the config, creating the data directory for SQLite.
pub async fn connect(cfg: &Config) -> anyhow::Result<Db> {
    let url = cfg.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("cannot create data dir {}", cfg.data_dir.display()))?;
    }
    Db::connect(&url, cfg.max_connections)
        .await
        .context("cannot connect to the database")
}

/// Builds the token verifier from the config.
pub fn verifier(cfg: &Config) -> anyhow::Result<Verifier> {
    let secret = resolve_hs256_secret(&cfg.auth, &cfg.data_dir)?;
    Ok(Verifier::new(&cfg.auth, &secret)?)
}

impl Application {
    /// Connects, migrates, loads demo data if asked and absent, and binds the listener
    /// (port 0 picks a free port; see [`Application::port`]).
    pub async fn build(cfg: Config, demo: bool) -> anyhow::Result<Self> {
        let db = connect(&cfg).await?;
        Migrator::up(&db.write, None)
            .await
            .context("migrations failed")?;
        if demo && !service::demo::is_loaded(&db.read).await? {
            let started = Instant::now();
            let summary = service::demo::load(&db, chrono::Utc::now()).await?;
            tracing::info!(
                tickets = summary.tickets,
                people = summary.people,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "demo data loaded"
            );
        }
        db.refresh_statistics()
            .await
            .context("cannot refresh the database statistics")?;
        let search = Arc::new(
            service::search::Search::open(&cfg.index_dir()).with_context(|| {
                format!(
                    "cannot open the search index in {}",
                    cfg.index_dir().display()
                )
            })?,
        );
        search.index.set_answer_cache(cfg.search.answer_cache);
        let verifier = Arc::new(verifier(&cfg)?);
        let (live, _) = broadcast::channel(1024);
        let state = AppState {
            db: db.clone(),
            live,
            directory: Arc::new(service::directory_cache::DirectoryCache::new(
                Duration::from_secs(cfg.directory_cache_seconds),
            )),
            search: Arc::clone(&search),
        };
        let schema = graphql::build(state.clone(), &cfg.graphql);
        let auth = Authenticator::new(verifier, db.clone());

        // The chat front doors: the intake the webhooks write to, and the worker that answers.
        let chat_wake = Arc::new(tokio::sync::Notify::new());
        let intake = bots::chat::Intake::start(db.write.clone(), Arc::clone(&chat_wake));
        let chat_hooks = crate::webhooks::ChatHooks::new(
            &cfg.bots.line,
            &cfg.bots.line_works,
            cfg.bots.teams.as_ref(),
            db.read.clone(),
            Arc::clone(&search),
            intake.clone(),
        )
        .context("cannot set up the chat webhooks")?;

        let listener = listen(&cfg.listen, BACKLOG)
            .with_context(|| format!("cannot listen on {}", cfg.listen))?;
        let local = listener.local_addr()?;
        let port = local.port();
        let public_url = cfg
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        if !public_url.starts_with("https://") && !local.ip().is_loopback() {
            tracing::warn!(public_url = %public_url, "public_url is not https: reset links would travel in clear text");
        }
        let mut reset_dirs = std::collections::HashMap::new();
        let mut reset_policies = std::collections::HashMap::new();
        for r in &cfg.password_reset {
            let dir = bots::directory::build(&r.directory)
                .with_context(|| format!("password_reset for {}", r.tenant))?;
            reset_dirs.insert(r.tenant.clone(), (r.policy.clone(), dir));
            reset_policies.insert(r.tenant.clone(), r.policy.clone());
        }
        let resets = crate::reset_page::Resets {
            by_tenant: Arc::new(reset_dirs),
            db: Some(db.clone()),
        };
        let chat_worker = bots::chat::Worker::new(
            db.clone(),
            Arc::clone(&search),
            &cfg.bots.line,
            cfg.bots.teams.as_ref(),
            chat_wake,
        )
        .context("cannot start the chat worker")?
        .giving_way_to(&intake)
        .with_lanes(cfg.bots.lanes)
        .with_resets(reset_policies, public_url)
        .with_line_works(&cfg.bots.line_works)
        .context("bots.line_works")?;
        let max_body = cfg.graphql.max_body_bytes;
        let limits = web::Data::new(BodyLimits {
            json: max_body,
            upload: cfg.graphql.max_upload_bytes.max(max_body),
        });
        let app_state = state.clone();
        let parsed = web::Data::new(crate::graphql::documents::ParsedQueries::default());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(request_id))
                .app_data(web::Data::new(schema.clone()))
                .app_data(web::Data::new(auth.clone()))
                .app_data(web::Data::new(app_state.clone()))
                .app_data(web::Data::new(chat_hooks.clone()))
                .app_data(web::Data::new(resets.clone()))
                .app_data(web::FormConfig::default().limit(16 * 1024))
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(limits.clone())
                .app_data(parsed.clone())
                // actix tries the routes in order, and a path with a `{…}` segment costs a
                // regular-expression match (regex-lite) each time it is tried: the webhooks
                // come first, behind one plain prefix, then GraphQL, then the pages.
                .service(
                    web::scope("/bots")
                        .route(
                            "/line/{tenant}",
                            web::post().to(crate::webhooks::line_webhook),
                        )
                        .route(
                            "/lineworks/{tenant}",
                            web::post().to(crate::webhooks::lineworks_webhook),
                        )
                        .route(
                            "/teams/messages",
                            web::post().to(crate::webhooks::teams_messages),
                        )
                        .route(
                            "/teams/outgoing",
                            web::post().to(crate::webhooks::teams_outgoing),
                        ),
                )
                .service(
                    web::resource("/graphql")
                        .app_data(web::PayloadConfig::new(limits.upload))
                        .route(web::post().to(graphql_post))
                        .route(web::get().to(graphiql)),
                )
                .route("/graphql/ws", web::get().to(graphql_ws))
                .route("/link/line/{tenant}", web::get().to(crate::link_page::show))
                .route(
                    "/link/line/{tenant}",
                    web::post().to(crate::link_page::submit),
                )
                .route("/reset/{token}", web::get().to(crate::reset_page::show))
                .route("/reset/{token}", web::post().to(crate::reset_page::submit))
                .route("/exports/{token}", web::get().to(export_download))
                .route(
                    "/assets/evidence/{event}/{index}",
                    web::get().to(evidence_download),
                )
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
        })
        .workers(if cfg.workers == 0 {
            cfg_workers()
        } else {
            cfg.workers
        })
        .shutdown_timeout(10)
        .listen(listener)?
        .run();

        let (stop_jobs, stop_rx) = watch::channel(false);
        let mut jobs = vec![];
        if let Some(checkpointer) = service::db::Checkpointer::open(&cfg.database_url(), &db.write)
            .await
            .context("cannot open the checkpoint connection")?
        {
            jobs.push(tokio::spawn(checkpoint_job(
                checkpointer,
                intake.quiet(),
                stop_rx.clone(),
            )));
        }
        jobs.push(tokio::spawn(sla_job(
            state.clone(),
            Duration::from_secs(cfg.sla_check_seconds.max(1)),
            stop_rx.clone(),
        )));
        jobs.push(tokio::spawn(housekeeping_job(
            state.clone(),
            Duration::from_secs(cfg.sla_check_seconds.max(1)),
            stop_rx.clone(),
        )));
        jobs.push(tokio::spawn(chat_worker.run(
            Duration::from_millis(cfg.bots.poll_millis.max(10)),
            stop_rx.clone(),
        )));
        jobs.push(tokio::spawn(mail_job(
            db.write.clone(),
            cfg.mail.clone(),
            stop_rx.clone(),
        )));
        for imap in &cfg.mail.imap {
            jobs.push(tokio::spawn(imap_job(
                db.write.clone(),
                imap.clone(),
                stop_rx.clone(),
            )));
        }
        if let Some(smtp) = &cfg.mail.smtp {
            match bots::mail::Sender::new(smtp) {
                Ok(sender) => jobs.push(tokio::spawn(send_job(
                    db.write.clone(),
                    sender,
                    Duration::from_millis(cfg.mail.poll_millis.max(10)),
                    stop_rx.clone(),
                ))),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "mail.smtp is unusable; replies stay queued")
                }
            }
        }
        match service::search::IndexWriter::new(&search.index, cfg.search.writer_memory_mb) {
            Ok(writer) => jobs.push(tokio::spawn(index_job(
                db.write.clone(),
                Arc::clone(&search),
                writer,
                Duration::from_millis(cfg.search.poll_millis.max(10)),
                stop_rx,
            ))),
            // Another process (a second server, `madoguchi reindex`) writes the
            // index; this one searches what it commits.
            Err(e) => {
                tracing::warn!(error = %e, "search index is written by another process; not indexing here")
            }
        }
        Ok(Self {
            server,
            port,
            state,
            jobs,
            stop_jobs,
        })
    }

    /// Returns the bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns the shared state (tests use its database).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM (or the server handle stops), then drains requests, stops
    /// the jobs and closes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let result = self.server.await;
        let _ = self.stop_jobs.send(true);
        for j in self.jobs {
            let _ = j.await;
        }
        self.state.db.close().await.ok();
        tracing::info!("stopped");
        result.map_err(Into::into)
    }
}

fn cfg_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Builds the index when it is empty (first start, a removed index directory, an old schema),
/// then applies the outbox until the server stops.
async fn index_job(
    db: sea_orm::DatabaseConnection,
    search: Arc<service::search::Search>,
    writer: service::search::IndexWriter,
    every: Duration,
    stop: watch::Receiver<bool>,
) {
    match search.index.committed_position() {
        Ok(Some(_)) => {}
        Ok(None) => {
            let started = Instant::now();
            match service::search::indexer::reindex(&db, &writer, |_, _| {}).await {
                Ok(n) => tracing::info!(
                    documents = n,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "search index built"
                ),
                Err(e) => tracing::error!(error = %e, "building the search index failed"),
            }
        }
        Err(e) => tracing::error!(error = %e, "search index unreadable"),
    }
    service::search::indexer::run(db, writer, every, stop).await;
}

/// Reads one IMAP mailbox until the server stops.
async fn imap_job(
    db: sea_orm::DatabaseConnection,
    cfg: bots::mail::imap::ImapConfig,
    stop: watch::Receiver<bool>,
) {
    let tenant = match &cfg.tenant {
        Some(slug) => match service::directory::tenant_by_slug(&db, slug).await {
            Ok(Some(t)) => Some(t.id),
            Ok(None) => {
                tracing::error!(source = %cfg.name, tenant = %slug, "mail.imap tenant names no tenant; mailbox not read");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "IMAP job cannot start");
                return;
            }
        },
        None => None,
    };
    match bots::mail::imap::ImapPoller::new(cfg, tenant) {
        Ok(p) => p.run(db, stop).await,
        Err(e) => tracing::error!(error = %format!("{e:#}"), "IMAP source is unusable"),
    }
}

/// Sends queued mail (acknowledgements, answers) until the server stops.
async fn send_job(
    db: sea_orm::DatabaseConnection,
    sender: bots::mail::Sender,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let busy = match sender.send_due(&db, service::tickets::now()).await {
            Ok(r) => {
                if r.sent + r.deferred + r.failed > 0 {
                    tracing::info!(
                        sent = r.sent,
                        deferred = r.deferred,
                        failed = r.failed,
                        "mail out"
                    );
                }
                r.sent > 0
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "sending mail failed; will retry");
                false
            }
        };
        if busy {
            continue;
        }
        if stopped_while_waiting(every, &mut stop).await {
            return;
        }
    }
}

/// Takes mail from the maildir (when configured) and processes stored mail still waiting
/// (after a crash, or a pipe delivery whose processing failed).
async fn mail_job(
    db: sea_orm::DatabaseConnection,
    cfg: crate::config::MailConfig,
    mut stop: watch::Receiver<bool>,
) {
    let tenant = match &cfg.maildir_tenant {
        Some(slug) => match service::directory::tenant_by_slug(&db, slug).await {
            Ok(Some(t)) => Some(t.id),
            Ok(None) => {
                tracing::error!(tenant = %slug, "mail.maildir_tenant names no tenant; maildir not read");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "mail job cannot start");
                return;
            }
        },
        None => None,
    };
    let maildir = cfg.maildir.as_ref().map(bots::mail::Maildir::new);
    let every = Duration::from_millis(cfg.poll_millis.max(10));
    loop {
        let mut busy = false;
        match bots::mail::process_pending(&db, cfg.batch as u64).await {
            Ok(r) if r.total() > 0 => {
                busy = true;
                tracing::info!(
                    created = r.created,
                    commented = r.commented,
                    quarantined = r.quarantined,
                    "stored mail processed"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "processing stored mail failed; will retry"),
        }
        if let Some(m) = &maildir {
            match m.ingest_once(&db, tenant, cfg.batch).await {
                Ok((n, r)) if n > 0 => {
                    busy = true;
                    tracing::info!(
                        messages = n,
                        created = r.created,
                        commented = r.commented,
                        ignored = r.ignored,
                        quarantined = r.quarantined,
                        "maildir"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "maildir ingest failed; will retry"),
            }
        }
        if busy {
            continue;
        }
        if stopped_while_waiting(every, &mut stop).await {
            return;
        }
    }
}

/// Marks SLA breaches periodically and publishes them to live subscribers.
async fn sla_job(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        match service::sla::mark_breaches(&state.db.write, service::tickets::now(), 500).await {
            Ok(breaches) => {
                for b in &breaches {
                    state.publish((&b.ticket).into(), std::slice::from_ref(&b.event));
                }
                if !breaches.is_empty() {
                    tracing::info!(count = breaches.len(), "sla breaches marked");
                }
            }
            Err(e) => tracing::error!(error = %e, "sla job failed"),
        }
        if stopped_while_waiting(every, &mut stop).await {
            return;
        }
    }
}

/// Waits `every`; true when the server is stopping instead.
async fn stopped_while_waiting(every: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(every) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// Gives every request an id (or keeps the caller's `x-request-id`), logs it with the outcome.
async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    // Reset and export links carry their token in the path: it never reaches a log line.
    let path = if req.path().starts_with("/reset/") {
        "/reset/…"
    } else if req.path().starts_with("/exports/") {
        "/exports/…"
    } else {
        req.path()
    };
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %path);
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let _enter = span.enter();
    tracing::info!(
        status = res.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "handled"
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}

/// Request body limits of `/graphql`: JSON requests, and multipart ones carrying files.
#[derive(Debug, Clone, Copy)]
struct BodyLimits {
    json: usize,
    upload: usize,
}

/// `Content-Disposition` for a download with a Japanese file name (RFC 6266 / RFC 5987): an
/// ASCII fallback for old clients, the UTF-8 name for the rest.
fn attachment(filename: &str) -> String {
    let ext = filename.rsplit_once('.').map_or("", |(_, e)| e);
    let ascii = if ext.is_empty() || !ext.is_ascii() {
        "download".to_owned()
    } else {
        format!("download.{ext}")
    };
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Serves a ledger export behind a short-lived link made by `createLedgerExport`.
async fn export_download(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    match service::ledger::sheets::export_by_token(&state.db.read, &path.into_inner()).await {
        Ok(f) => {
            if f.lost_characters > 0 {
                tracing::warn!(lost = f.lost_characters, "export: characters Shift_JIS cannot hold were written as 〓");
            }
            HttpResponse::Ok()
                .content_type(f.content_type)
                .insert_header((header::CONTENT_DISPOSITION, attachment(&f.filename)))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header(("X-Lost-Characters", f.lost_characters.to_string()))
                .body(f.bytes)
        }
        Err(service::ServiceError::NotFound | service::ServiceError::Forbidden(_)) => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body("ダウンロードリンクが無効か、期限（15分）が切れています。もう一度出力してください。"),
        Err(e) => {
            tracing::error!(error = %e, "export failed");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("出力に失敗しました")
        }
    }
}

/// Serves a file kept with an asset's history to someone who may see the asset (bearer token).
async fn evidence_download(
    state: web::Data<AppState>,
    auth: web::Data<Authenticator>,
    req: HttpRequest,
    path: web::Path<(uuid::Uuid, usize)>,
) -> HttpResponse {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let actor = match header {
        Some(h) => auth.actor_from_header(h).await.ok(),
        None => None,
    };
    let Some(actor) = actor else {
        return HttpResponse::Unauthorized()
            .content_type("text/plain; charset=utf-8")
            .body("認証が必要です");
    };
    let (event, index) = path.into_inner();
    match service::ledger::assets::evidence_file(&state.db.read, &actor, event, index).await {
        Ok((filename, content_type, data)) => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CONTENT_DISPOSITION, attachment(&filename)))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(data),
        Err(service::ServiceError::NotFound | service::ServiceError::Forbidden(_)) => {
            HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body("対象が見つかりません")
        }
        Err(e) => {
            tracing::error!(error = %e, "evidence download failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("内部エラーが発生しました")
        }
    }
}

/// The longest a checkpoint waits for webhooks being taken in.
const CHECKPOINT_GIVE_WAY: Duration = Duration::from_millis(100);

/// Copies SQLite's write-ahead log into the database file when the writers rest (or at the
/// latest every [`service::db::CHECKPOINT_AT_LATEST`]), beside the writer (see
/// [`service::db::Checkpointer`]), and once more on the way out. Like the chat turns, it
/// lets webhooks being taken in go first (up to [`CHECKPOINT_GIVE_WAY`]).
async fn checkpoint_job(
    mut checkpointer: service::db::Checkpointer,
    quiet: bots::chat::Quiet,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stopping = stopped_while_waiting(service::db::CHECKPOINT_TICK, &mut stop).await;
        if !stopping {
            match checkpointer.due(std::time::Instant::now()).await {
                Ok(true) => quiet.wait(CHECKPOINT_GIVE_WAY).await,
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot tell whether the database changed; the writer checkpoints by itself past its bound");
                    continue;
                }
            }
        }
        match checkpointer.run().await {
            Ok(c) if c.copied < c.log => {
                tracing::debug!(
                    log = c.log,
                    copied = c.copied,
                    "checkpoint left pages a reader still uses"
                )
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "checkpoint failed; the writer checkpoints by itself past its bound")
            }
        }
        if stopping {
            checkpointer.close().await.ok();
            return;
        }
    }
}

/// Periodically: deletes chat turns past their retention, tells borrowers about overdue loans
/// and the DX division about expiring licenses.
async fn housekeeping_job(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        let at = service::tickets::now();
        match service::chat::prune_turns(&state.db.write, at).await {
            Ok(n) if n > 0 => tracing::info!(count = n, "chat turns past their retention deleted"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "chat turn retention failed"),
        }
        match service::ledger::loans::notify_overdue(&state.db.write, at, 200).await {
            Ok(b) if !b.is_empty() => tracing::info!(count = b.len(), "overdue loans reported"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "overdue check failed"),
        }
        match service::ledger::licenses::alert_expiring(&state.db.write, at).await {
            Ok(l) if !l.is_empty() => tracing::info!(count = l.len(), "license expiry alerts sent"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "license expiry check failed"),
        }
        if stopped_while_waiting(every, &mut stop).await {
            return;
        }
    }
}

/// Connections the kernel holds for the server before it accepts them (actix's own default
/// when it binds; `std::net::TcpListener::bind` asks for 128). A chat platform opens many
/// connections at once (200 LINE webhooks in the load test): with 128, the rest were dropped
/// and came back a second later, when the client's TCP retried.
const BACKLOG: i32 = 2048;

/// A listening socket on `addr` (`SO_REUSEADDR`, as std's `bind` sets it) with `backlog`.
fn listen(addr: &str, backlog: i32) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::net::ToSocketAddrs;
    let mut last = None;
    for addr in addr.to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        match socket
            .bind(&addr.into())
            .and_then(|()| socket.listen(backlog))
        {
            Ok(()) => return Ok(socket.into()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("the address resolves to nothing")))
}

fn graphql_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

async fn graphql_post(
    schema: web::Data<AppSchema>,
    auth: web::Data<Authenticator>,
    state: web::Data<AppState>,
    limits: web::Data<BodyLimits>,
    parsed: web::Data<crate::graphql::documents::ParsedQueries>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let actor = match req.headers().get(header::AUTHORIZATION).map(|h| h.to_str()) {
        None => None,
        Some(Err(_)) => {
            return graphql_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "認証情報の形式が正しくありません",
            );
        }
        Some(Ok(h)) => match auth.actor_from_header(h).await {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::info!(error = %e, "token refused");
                return graphql_error(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHENTICATED",
                    "トークンが無効です",
                );
            }
        },
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut request: async_graphql::BatchRequest =
        if content_type.starts_with("multipart/form-data") {
            // The GraphQL multipart request spec: file uploads (ledger imports, evidence).
            let opts = async_graphql::http::MultipartOptions::default()
                .max_file_size(limits.upload)
                .max_num_files(20);
            match async_graphql::http::receive_batch_body(
                Some(content_type),
                futures::io::Cursor::new(body.to_vec()),
                opts,
            )
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    return graphql_error(
                        StatusCode::BAD_REQUEST,
                        "BAD_REQUEST",
                        &format!("マルチパートのGraphQLリクエストを読めません: {e}"),
                    );
                }
            }
        } else {
            if body.len() > limits.json {
                return graphql_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "BAD_REQUEST",
                    "リクエストが大きすぎます",
                );
            }
            match serde_json::from_slice(&body) {
                Ok(r) => r,
                Err(e) => {
                    return graphql_error(
                        StatusCode::BAD_REQUEST,
                        "BAD_REQUEST",
                        &format!("リクエストがGraphQLのJSONではありません: {e}"),
                    );
                }
            }
        };
    for r in request.iter_mut() {
        parsed.prepare(r);
    }
    let loaders = actor
        .as_ref()
        .map(|a| Loaders::new(&state.db, a, &state.directory));
    let mut request = request.data(Session { actor });
    if let Some(l) = loaders {
        request = request.data(l);
    }
    let response = schema.execute_batch(request).await;
    HttpResponse::Ok().json(response)
}

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .title("Madoguchi GraphQL")
                .finish(),
        )
}

async fn graphql_ws(
    schema: web::Data<AppSchema>,
    auth: web::Data<Authenticator>,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let auth = auth.get_ref().clone();
    let db = state.db.clone();
    let directory = state.directory.clone();
    GraphQLSubscription::new(AppSchema::clone(&schema))
        .on_connection_init(move |value| async move {
            // graphql-transport-ws clients send the token in the connection_init payload.
            let header = value
                .get("Authorization")
                .or_else(|| value.get("authorization"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let mut data = async_graphql::Data::default();
            match header {
                Some(h) => match auth.actor_from_header(&h).await {
                    Ok(actor) => {
                        data.insert(Loaders::new(&db, &actor, &directory));
                        data.insert(Session { actor: Some(actor) });
                        Ok(data)
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "websocket token refused");
                        Err(async_graphql::Error::new("トークンが無効です"))
                    }
                },
                None => Err(async_graphql::Error::new("認証が必要です")),
            }
        })
        .start(&req, payload)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(Duration::from_secs(3), state.db.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
        Err(_) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database timeout"),
    }
}
