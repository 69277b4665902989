//! The chat front doors: LINE, LINE WORKS and Teams, one dialog and one job queue.
//!
//! A webhook is verified, its events stored as jobs ([`intake`]) and answered at once; the
//! [`Worker`] takes the jobs: it runs the [`dialog`] for each event, commits the new state
//! together with a send job and the event job's completion, then sends. Redelivered events
//! are the same job (deduplicated on the platform's event id), a crash redoes a turn from the
//! start, and a send keeps its retry key, so nothing is done twice.

pub mod commit;
pub mod dialog;
pub mod intake;
pub mod line;
pub mod lineworks;
pub mod teams;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::job;
use sea_orm::TransactionTrait;
use serde::Deserialize;
use serde_json::{Value, json};
use service::Db;
use service::chat::{self, ChatKind, Platform};
use service::db::reader::Reader;
use service::jobs::{self, Claimed, JsonText, NewJob};
use service::search::Search;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

pub use intake::{Arrival, Intake, Quiet};
use line::{LineApi, LineConfig};

/// How long a worker holds a job.
const LEASE_SECONDS: i64 = 120;
/// Jobs taken at once.
const BATCH: u64 = 256;
/// Conversations worked on at once, unless set ([`Worker::with_lanes`]).
pub const LANES: usize = 32;
/// How long a tenant's row is used before it is read again.
const TENANT_TTL: Duration = Duration::from_secs(30);
/// The longest a turn waits for webhooks being taken in to be answered.
const GIVE_WAY: Duration = Duration::from_millis(20);

/// Takes chat jobs and does them.
pub struct Worker {
    db: Db,
    search: Arc<Search>,
    /// LINE clients by tenant slug.
    line: HashMap<String, LineApi>,
    teams: Option<teams::Connector>,
    /// LINE WORKS clients by tenant slug.
    line_works: HashMap<String, lineworks::LineWorksApi>,
    /// Tenants (by slug) that offer password resets in chat, with their rules.
    resets: HashMap<String, service::reset::ResetPolicy>,
    /// The server's public base URL, for reset links.
    public_url: String,
    /// Tenants by id, each read again after [`TENANT_TTL`].
    tenants: std::sync::RwLock<HashMap<Uuid, (Instant, Arc<entity::tenant::Model>)>>,
    wake: Arc<Notify>,
    /// Webhooks being taken in, which a turn lets go first (see [`Quiet::wait`]).
    quiet: Option<Quiet>,
    /// Plain turns' group commit (started on first use, inside the runtime).
    committer: std::sync::OnceLock<commit::Committer>,
    /// Conversations worked on at once.
    lanes: usize,
    /// Events the intake stored already claimed for this worker ([`Intake::hand_over`]).
    handed: Option<tokio::sync::mpsc::UnboundedReceiver<Vec<Claimed>>>,
    /// The turns' reads (a few read connections of its own on SQLite: see [`Reader`]).
    reader: Reader,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub events: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

impl Round {
    fn add(&mut self, other: Round) {
        self.events += other.events;
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
    }
}

impl Worker {
    /// A worker for the configured LINE channels.
    pub fn new(
        db: Db,
        search: Arc<Search>,
        line: &[LineConfig],
        teams: Option<&teams::TeamsConfig>,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let line = line
            .iter()
            .map(|c| Ok((c.tenant.clone(), LineApi::new(c)?)))
            .collect::<anyhow::Result<_>>()?;
        let teams = teams.map(teams::Connector::new).transpose()?;
        Ok(Self {
            reader: Reader::new(db.read.clone(), service::db::reader::HELD),
            db,
            search,
            line,
            teams,
            line_works: HashMap::new(),
            resets: HashMap::new(),
            public_url: String::new(),
            tenants: Default::default(),
            wake,
            quiet: None,
            committer: std::sync::OnceLock::new(),
            lanes: LANES,
            handed: None,
        })
    }

    /// Lets webhooks being taken in by `intake` go first: events are claimed and a turn
    /// starts once none is, or after [`GIVE_WAY`]. [`Worker::run`] also takes the events
    /// `intake` stores straight from it, claimed as they are stored, instead of reading them
    /// back with a claim. Other processes' events are claimed as before, and those a process
    /// that died had been handed once their lease runs out.
    pub fn giving_way_to(mut self, intake: &Intake) -> Self {
        self.quiet = Some(intake.quiet());
        self.handed = intake.hand_over(chrono::Duration::seconds(LEASE_SECONDS));
        self
    }

    /// Works on up to `lanes` conversations at once (at least one). A turn mostly waits (the
    /// database's writer, the platform's API), so many run at once on a few cores.
    pub fn with_lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes.max(1);
        self
    }

    /// Answers these LINE WORKS bots too.
    pub fn with_line_works(mut self, bots: &[lineworks::LineWorksConfig]) -> anyhow::Result<Self> {
        for b in bots {
            self.line_works
                .insert(b.tenant.clone(), lineworks::LineWorksApi::new(b)?);
        }
        Ok(self)
    }

    /// Offers password resets for these tenants (by slug), with links under `public_url`.
    pub fn with_resets(
        mut self,
        resets: HashMap<String, service::reset::ResetPolicy>,
        public_url: String,
    ) -> Self {
        self.resets = resets;
        self.public_url = public_url;
        self
    }

    fn committer(&self) -> &commit::Committer {
        self.committer.get_or_init(|| {
            commit::Committer::start(
                self.db.write.clone(),
                chrono::Duration::seconds(LEASE_SECONDS),
            )
        })
    }

    /// A message's account and conversation: read together with one statement when both exist;
    /// a person's first message has them made together with the other first messages waiting
    /// (see [`commit`]); a known person in a new chat gets it made ([`chat::conversation_of`]).
    async fn account_and_conversation(
        &self,
        sender: &chat::Sender<'_>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(
        entity::chat_account::Model,
        entity::chat_conversation::Model,
    )> {
        match chat::find_account_and_conversation(&self.reader, sender).await? {
            chat::Found::Both(account, conversation) => Ok((account, conversation)),
            chat::Found::Nothing => {
                let (account, conversation) =
                    self.committer().open(chat::NewChat::of(sender)).await?;
                if sender.service_url.is_some()
                    && conversation.service_url.as_deref() != sender.service_url
                {
                    // A Teams chat made before, whose `serviceUrl` moved since: kept current.
                    let conversation =
                        chat::conversation_of(&self.db, &account, sender, now).await?;
                    return Ok((account, conversation));
                }
                Ok((account, conversation))
            }
            chat::Found::Account(account) => {
                let conversation = chat::conversation_of(&self.db, &account, sender, now).await?;
                Ok((account, conversation))
            }
        }
    }

    /// A tenant (`None`: gone). Every event needs its tenant (the slug names its channel in
    /// the config, the dialog reads its settings); a read per event was a round trip to the
    /// database for a row that changes a few times a year, so rows are kept for
    /// [`TENANT_TTL`]: a changed setting reaches the bots within that time.
    async fn tenant(&self, tenant_id: Uuid) -> anyhow::Result<Option<Arc<entity::tenant::Model>>> {
        if let Some((at, t)) = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&tenant_id)
            && at.elapsed() < TENANT_TTL
        {
            return Ok(Some(Arc::clone(t)));
        }
        let Some(tenant) = service::directory::tenant(&self.db.read, tenant_id).await? else {
            return Ok(None);
        };
        let tenant = Arc::new(tenant);
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(tenant_id, (Instant::now(), Arc::clone(&tenant)));
        Ok(Some(tenant))
    }

    /// A tenant's slug, which names its channels in the config.
    async fn slug(&self, tenant_id: Uuid) -> Result<String, SendError> {
        let tenant = self
            .tenant(tenant_id)
            .await
            .map_err(|e| SendError::Retry(format!("{e:#}")))?
            .ok_or_else(|| SendError::Permanent("the tenant is gone".to_owned()))?;
        Ok(tenant.slug.clone())
    }

    /// The LINE client of a tenant.
    async fn line_api(&self, tenant_id: Uuid) -> Result<&LineApi, SendError> {
        let slug = self.slug(tenant_id).await?;
        self.line.get(&slug).ok_or_else(|| {
            SendError::Retry(format!("no LINE channel configured for tenant {slug}"))
        })
    }

    /// The LINE WORKS client of a tenant.
    async fn line_works_api(&self, tenant_id: Uuid) -> Result<&lineworks::LineWorksApi, SendError> {
        let slug = self.slug(tenant_id).await?;
        self.line_works.get(&slug).ok_or_else(|| {
            SendError::Retry(format!("no LINE WORKS bot configured for tenant {slug}"))
        })
    }

    /// Works until `stop`. Due events are taken whenever a lane is free and new ones may be
    /// waiting (the intake committed some, the last claim was full, or `every` passed); each
    /// conversation's events run in order in one lane, up to `lanes` conversations at once
    /// ([`LANES`] unless set), and a lane that ends makes room for the next at once, so a slow turn or a slow platform
    /// call holds up only its own conversation. Sends still due (retries, ticket notices) are
    /// taken every `every`. On `stop`, the events already taken are finished.
    pub async fn run(mut self, every: Duration, mut stop: watch::Receiver<bool>) {
        let mut handed = self.handed.take();
        // Lanes are tasks of their own: one that holds the write connection (a turn with its
        // own transaction) goes on while this loop waits for that connection to take events.
        let this = Arc::new(self);
        // Lanes and the send round at work, each with its conversation's key (`None`: the
        // sends), and the conversations with a lane at work.
        let mut running: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
        let mut keys: HashMap<tokio::task::Id, Option<String>> = HashMap::new();
        let mut active: std::collections::HashSet<String> = Default::default();
        // Events taken but not started, by conversation, oldest first.
        let mut waiting: std::collections::VecDeque<(String, Vec<Claimed>)> = Default::default();
        let (mut events_due, mut sends_due, mut sending, mut stopping) = (true, true, false, false);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if events_due && !stopping && active.len() < this.lanes {
                events_due = false;
                // Claiming takes SQLite's writer, which the intake's commits need: a burst
                // of webhooks is stored first, then its events are taken in one claim.
                this.give_way().await;
                match this.claim_events().await {
                    Ok(events) => {
                        events_due = events.len() as u64 >= BATCH;
                        into_lanes(&mut waiting, events);
                    }
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "taking chat events failed; will retry")
                    }
                }
            }
            if sends_due && !stopping && !sending {
                sends_due = false;
                sending = true;
                let worker = Arc::clone(&this);
                let task = running.spawn(async move {
                    if let Err(e) = worker.due_sends().await {
                        tracing::warn!(error = %format!("{e:#}"), "chat sends failed; will retry");
                    }
                });
                keys.insert(task.id(), None);
            }
            // Start the waiting conversations that have no lane at work, oldest first.
            let mut i = 0;
            while active.len() < this.lanes && i < waiting.len() {
                if active.contains(&waiting[i].0) {
                    i += 1;
                    continue;
                }
                let Some((key, lane)) = waiting.remove(i) else {
                    break;
                };
                active.insert(key.clone());
                let worker = Arc::clone(&this);
                let task = running.spawn(async move {
                    worker.lane(lane).await;
                });
                keys.insert(task.id(), Some(key));
            }
            if stopping && running.is_empty() {
                break;
            }
            tokio::select! {
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    let id = match done {
                        Ok((id, ())) => id,
                        Err(e) => {
                            tracing::error!(error = %e, "a chat lane failed; its events are taken again when their lease runs out");
                            e.id()
                        }
                    };
                    match keys.remove(&id).flatten() {
                        Some(key) => {
                            active.remove(&key);
                        }
                        None => sending = false,
                    }
                }
                _ = this.wake.notified(), if !stopping => events_due = true,
                events = next_handed(&mut handed), if !stopping => match events {
                    Some(events) => into_lanes(&mut waiting, events),
                    None => handed = None,
                },
                _ = tick.tick(), if !stopping => {
                    events_due = true;
                    sends_due = true;
                }
                _ = stop.changed(), if !stopping => {
                    stopping = true;
                    // Events handed over already are finished with those taken.
                    if let Some(rx) = &mut handed {
                        while let Ok(events) = rx.try_recv() {
                            into_lanes(&mut waiting, events);
                        }
                    }
                }
            }
        }
        this.committer().flush().await;
    }

    /// Waits for the webhooks being taken in to be answered (at most [`GIVE_WAY`]).
    async fn give_way(&self) {
        if let Some(quiet) = &self.quiet {
            quiet.wait(GIVE_WAY).await;
        }
    }

    /// Takes due events of every platform, oldest first.
    async fn claim_events(&self) -> anyhow::Result<Vec<Claimed>> {
        Ok(jobs::claim_kinds(
            &self.db.write,
            &[line::EVENT_JOB, teams::ACTIVITY_JOB, lineworks::EVENT_JOB],
            chrono::Duration::seconds(LEASE_SECONDS),
            BATCH,
            service::tickets::now(),
        )
        .await?
        .into_iter()
        .map(Claimed::read)
        .collect())
    }

    /// Sends the messages still due (retries and ticket notices), all at once.
    async fn due_sends(&self) -> anyhow::Result<Round> {
        let mut round = Round::default();
        let sends = jobs::claim_kinds(
            &self.db.write,
            &[
                line::SEND_JOB,
                teams::SEND_JOB,
                lineworks::SEND_JOB,
                chat::NOTICE_JOB,
            ],
            chrono::Duration::seconds(LEASE_SECONDS),
            BATCH,
            service::tickets::now(),
        )
        .await?;
        let results = futures::future::join_all(sends.iter().map(|j| self.send(j, None))).await;
        for (j, r) in sends.iter().zip(results) {
            self.settle(j, r, &mut round).await?;
        }
        Ok(round)
    }

    /// One round, for tests and tools: every due event through the dialog (conversations in
    /// parallel, each in order, each reply sent as soon as its turn is committed), then any
    /// sends still due; returns when all of it is committed.
    pub async fn run_once(&self) -> anyhow::Result<Round> {
        use futures::StreamExt as _;
        let mut round = Round::default();
        let events = self.claim_events().await?;
        // One lane per conversation: a conversation's turns stay in order, different
        // conversations go on at once.
        let mut lanes = std::collections::VecDeque::new();
        into_lanes(&mut lanes, events);
        // A turn mostly waits (the database, the platform's API), so many lanes run at once;
        // the CPU-heavy search runs on the blocking pool.
        let results: Vec<Round> =
            futures::stream::iter(lanes.into_iter().map(|(_, lane)| self.lane(lane)))
                .buffer_unordered(self.lanes)
                .collect()
                .await;
        for r in results {
            round.add(r);
        }
        round.add(self.due_sends().await?);
        self.committer().flush().await;
        Ok(round)
    }

    /// One conversation's due events, in order; each turn's reply is sent at once.
    async fn lane(&self, lane: Vec<Claimed>) -> Round {
        let mut round = Round::default();
        for Claimed { job: j, text } in lane {
            self.give_way().await;
            let done = match j.kind.as_str() {
                teams::ACTIVITY_JOB => self.teams_activity(&j).await,
                lineworks::EVENT_JOB => self.lineworks_event(&j).await,
                _ => self.line_event(&j, text.as_ref()).await,
            };
            let outcome = match done {
                Ok(send) => {
                    round.events += 1;
                    match send {
                        Some(send) => {
                            let r = self.send(&send.job, send.text.as_ref()).await;
                            self.settle(&send.job, r, &mut round).await
                        }
                        None => Ok(()),
                    }
                }
                Err(e) => {
                    let msg = format!("{e:#}");
                    tracing::warn!(job = %j.id, kind = %j.kind, error = %msg, "chat event failed");
                    match jobs::fail(&self.db.write, &j, &msg, false, service::tickets::now()).await
                    {
                        Ok(jobs::Retry::At(_)) => round.retried += 1,
                        Ok(jobs::Retry::GaveUp) => round.failed += 1,
                        Err(e) => {
                            tracing::warn!(job = %j.id, error = %e, "recording a failed chat event failed")
                        }
                    }
                    Ok(())
                }
            };
            if let Err(e) = outcome {
                tracing::warn!(job = %j.id, error = %format!("{e:#}"), "sending a chat reply failed; the next round retries");
            }
        }
        round
    }

    /// Records what became of a send.
    async fn settle(
        &self,
        j: &job::Model,
        r: Result<(), SendError>,
        round: &mut Round,
    ) -> anyhow::Result<()> {
        let now = service::tickets::now();
        match r {
            Ok(()) => {
                // A delivered message may carry a one-time link: its payload is not kept.
                // Recorded with the next group commit; the round ends with a flush.
                self.committer().sent(j.id).await;
                round.sent += 1;
            }
            Err(SendError::RetryAfter(e, secs)) => {
                tracing::warn!(job = %j.id, kind = %j.kind, error = %e, retry_after = secs, "chat message throttled; will retry");
                let at =
                    now + chrono::Duration::seconds(i64::try_from(secs.min(3600)).unwrap_or(60));
                match jobs::fail_not_before(&self.db.write, j, &e, at, now).await? {
                    jobs::Retry::At(_) => round.retried += 1,
                    jobs::Retry::GaveUp => round.failed += 1,
                }
            }
            Err(SendError::Retry(e)) => {
                tracing::warn!(job = %j.id, kind = %j.kind, error = %e, "chat message not sent; will retry");
                match jobs::fail(&self.db.write, j, &e, false, now).await? {
                    jobs::Retry::At(_) => round.retried += 1,
                    jobs::Retry::GaveUp => round.failed += 1,
                }
            }
            Err(SendError::Permanent(e)) => {
                tracing::error!(job = %j.id, kind = %j.kind, error = %e, "chat message refused by the platform; given up");
                jobs::fail(&self.db.write, j, &e, true, now).await?;
                round.failed += 1;
            }
        }
        Ok(())
    }

    /// A LINE event; `text` is its job's payload when the intake handed it over as text.
    async fn line_event(
        &self,
        j: &job::Model,
        text: Option<&JsonText>,
    ) -> anyhow::Result<Option<Claimed>> {
        let (tenant_id, event) = line::read_event_job(j, text)?;
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                tracing::info!(job = %j.id, error = %e, "LINE event unreadable; ignored");
                return self.complete(j.id).await;
            }
        };
        let Some(source) = event.source.as_ref() else {
            tracing::info!(job = %j.id, "LINE event without a source; ignored");
            return self.complete(j.id).await;
        };
        let (Some(conv_ref), Some(tenant)) =
            (source.conversation_ref(), self.tenant(tenant_id).await?)
        else {
            return self.complete(j.id).await;
        };
        let now = service::tickets::now();
        let kind = if source.is_group() {
            ChatKind::Group
        } else {
            ChatKind::Personal
        };
        let (account, conv) = match source.user_id.as_deref() {
            Some(uid) => {
                let sender = chat::Sender {
                    tenant_id,
                    platform: Platform::Line,
                    external_id: uid,
                    display_name: None,
                    conversation_ref: conv_ref,
                    kind,
                    service_url: None,
                };
                let (account, conv) = self.account_and_conversation(&sender, now).await?;
                (Some(account), conv)
            }
            None => {
                let conv = chat::conversation(
                    &self.db,
                    tenant_id,
                    Platform::Line,
                    conv_ref,
                    kind,
                    None,
                    None,
                    now,
                )
                .await?;
                (None, conv)
            }
        };
        let Some(account) = account else {
            // A group message from someone who has not added the bot carries no userId: FAQ
            // answers need no account, but we keep none to vote with either.
            tracing::info!(job = %j.id, "LINE group event without a userId; ignored");
            return self.complete(j.id).await;
        };
        let user = chat::user(&self.reader, account).await?;
        let Some(input) = event.input() else {
            return self.complete(j.id).await;
        };
        // Linking offers LINE's account link too: a sign-in page on this server, opened with a
        // fresh link token from LINE.
        let mut link_url = None;
        if kind == ChatKind::Personal
            && user.person.is_none()
            && dialog::wants_link(&input)
            && let Some(api) = self.line.get(&tenant.slug)
            && let Some(uid) = source.user_id.as_deref()
        {
            match api.link_token(uid).await {
                Ok(token) => {
                    link_url = Some(format!(
                        "{}/link/line/{}?linkToken={token}",
                        self.public_url.trim_end_matches('/'),
                        tenant.slug
                    ));
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "LINE link token unavailable; linking by code only")
                }
            }
        }
        let received = DateTime::<Utc>::from_timestamp_millis(event.timestamp).unwrap_or(now);
        let reply_token = &event.reply_token;
        // Written straight to text: the same text is stored and spliced into the reply.
        let send = move |replies: &[dialog::Reply]| {
            let payload = line::SendPayload {
                tenant_id,
                to: conv_ref,
                reply_token: reply_token.as_deref(),
                received_at: received,
                retry_key: Uuid::new_v4(),
                messages: line::render(replies),
            };
            Ok(jobs::Payload::Text(jobs::JsonText::of(&payload)?))
        };
        self.turn(
            &tenant,
            &conv,
            &user,
            input,
            link_url,
            j,
            line::SEND_JOB,
            send,
            now,
        )
        .await
    }

    /// Runs the dialog for one input: planned on the read pool (the search included), then
    /// committed with the reply's send job (built by `send` from the replies) and the event
    /// job's completion, in a group with other conversations' turns when it writes nothing
    /// else. Returns the send job to do now.
    #[allow(clippy::too_many_arguments)]
    async fn turn(
        &self,
        tenant: &entity::tenant::Model,
        conv: &entity::chat_conversation::Model,
        user: &chat::ChatUser,
        input: dialog::Input,
        link_url: Option<String>,
        event: &job::Model,
        send_kind: &'static str,
        send: impl FnOnce(&[dialog::Reply]) -> anyhow::Result<jobs::Payload>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Claimed>> {
        let turnin = dialog::Turnin {
            db: &self.reader,
            search: &self.search,
            conversation: conv,
            user,
            reset_enabled: self.resets.contains_key(&tenant.slug),
            link_url,
        };
        let plan = dialog::plan(&turnin, input).await?;
        let send_job = |replies: &[dialog::Reply]| -> anyhow::Result<Option<NewJob>> {
            if replies.is_empty() {
                return Ok(None);
            }
            Ok(Some(NewJob {
                tenant_id: event.tenant_id,
                kind: send_kind,
                dedupe_key: event.id.to_string(),
                payload: send(replies)?,
                max_attempts: 20,
            }))
        };
        match plan.into_plain(conv, now)? {
            Ok(plain) => {
                let writes = commit::TurnWrites {
                    send: send_job(&plain.replies)?,
                    saved: plain.saved,
                    event: event.id,
                };
                self.committer().turn(writes).await
            }
            Err(plan) => {
                let setup = dialog::Setup {
                    reset: self.resets.get(&tenant.slug),
                    public_url: &self.public_url,
                };
                let txn = self.db.write.begin().await?;
                let replies = dialog::apply(&txn, &setup, tenant, conv, user, plan, now).await?;
                finish_turn(txn, event, send_job(&replies)?, now).await
            }
        }
    }

    async fn complete(&self, id: Uuid) -> anyhow::Result<Option<Claimed>> {
        jobs::complete(&self.db.write, id, service::tickets::now()).await?;
        Ok(None)
    }

    /// Sends a send job; `text` is its payload when the turn that wrote it gave it as text
    /// (the model's payload is then `null`).
    async fn send(&self, j: &job::Model, text: Option<&JsonText>) -> Result<(), SendError> {
        if j.kind == line::SEND_JOB {
            return self.line_send(j, text).await;
        }
        let parsed;
        let j = match text {
            Some(t) => {
                parsed = job::Model {
                    payload: t.to_value(),
                    ..j.clone()
                };
                &parsed
            }
            None => j,
        };
        match j.kind.as_str() {
            teams::SEND_JOB => self.teams_send(j).await,
            lineworks::SEND_JOB => self.lineworks_send(j).await,
            chat::NOTICE_JOB => self.notice(j).await,
            other => Err(SendError::Permanent(format!(
                "unknown chat job kind {other}"
            ))),
        }
    }

    async fn line_send(&self, j: &job::Model, text: Option<&JsonText>) -> Result<(), SendError> {
        let permanent = |e: serde_json::Error| SendError::Permanent(e.to_string());
        // Taken from the database (a retry): written out again to be read as a turn wrote it.
        let written;
        let text = match text {
            Some(t) => t.as_str(),
            None => {
                written = serde_json::to_string(&j.payload).map_err(permanent)?;
                &written
            }
        };
        let p: line::StoredSend<'_> = serde_json::from_str(text).map_err(permanent)?;
        if !p.messages.get().starts_with('[') {
            return Err(SendError::Permanent(
                "the messages are not a list".to_owned(),
            ));
        }
        let api = self.line_api(p.tenant_id).await?;
        let retry_key = p.retry_key.unwrap_or(j.id);
        let fresh = p.received_at.is_some_and(|r| {
            service::tickets::now() - r < chrono::Duration::seconds(line::REPLY_TOKEN_SECONDS)
        });
        // The reply token is spent by the first attempt whatever happens next; a retry pushes.
        if j.attempts <= 1
            && fresh
            && let Some(token) = p.reply_token.as_deref()
        {
            match api.reply(token, p.messages).await {
                line::Outcome::Sent => return Ok(()),
                line::Outcome::InvalidReplyToken => {}
                line::Outcome::Retry(e) => {
                    tracing::info!(error = %e, "LINE reply failed; pushing instead")
                }
                line::Outcome::Permanent(e) => return Err(SendError::Permanent(e)),
            }
        }
        outcome(api.push(&p.to, p.messages, retry_key).await)
    }

    async fn notice(&self, j: &job::Model) -> Result<(), SendError> {
        let p = &j.payload;
        let conv_id: Uuid = Deserialize::deserialize(&p["conversationId"])
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let text = p["text"].as_str().unwrap_or_default();
        let Some(conv) = chat::conversation_by_id(&self.db.read, conv_id)
            .await
            .map_err(|e| SendError::Retry(e.to_string()))?
        else {
            return Err(SendError::Permanent("the conversation is gone".to_owned()));
        };
        let reply = [dialog::Reply::Text {
            text: text.to_owned(),
            actions: vec![dialog::Action::new(
                "私の問い合わせ",
                dialog::Command::MyTickets,
            )],
        }];
        match Platform::parse(&conv.platform) {
            Some(Platform::Line) => {
                let api = self.line_api(conv.tenant_id).await?;
                let messages = serde_json::value::to_raw_value(&line::render(&reply))
                    .map_err(|e| SendError::Permanent(e.to_string()))?;
                outcome(api.push(&conv.conversation_ref, &messages, j.id).await)
            }
            Some(Platform::LineWorks) => {
                let api = self.line_works_api(conv.tenant_id).await?;
                let room = chat::is_group(&conv);
                for content in lineworks::render(&reply) {
                    lineworks_outcome(api.send(&conv.conversation_ref, room, &content).await)?;
                }
                Ok(())
            }
            Some(Platform::Teams) => {
                let connector = self
                    .teams
                    .as_ref()
                    .ok_or_else(|| SendError::Retry("no Teams bot configured".to_owned()))?;
                let service_url = conv.service_url.as_deref().ok_or_else(|| {
                    SendError::Permanent("no serviceUrl for the conversation".to_owned())
                })?;
                teams_outcome(
                    connector
                        .send(
                            service_url,
                            &conv.conversation_ref,
                            None,
                            &teams::render(&reply),
                        )
                        .await,
                )
            }
            other => Err(SendError::Permanent(format!(
                "no sender for {other:?} conversations"
            ))),
        }
    }

    async fn lineworks_event(&self, j: &job::Model) -> anyhow::Result<Option<Claimed>> {
        let tenant_id: Uuid = Deserialize::deserialize(&j.payload["tenantId"])?;
        let ev = &j.payload["event"];
        let (Some(tenant), Some((to, room)), Some(uid)) = (
            self.tenant(tenant_id).await?,
            lineworks::target(ev),
            ev["source"]["userId"].as_str(),
        ) else {
            return self.complete(j.id).await;
        };
        let Some(input) = lineworks::input(ev) else {
            return self.complete(j.id).await;
        };
        let now = service::tickets::now();
        let sender = chat::Sender {
            tenant_id,
            platform: Platform::LineWorks,
            external_id: uid,
            display_name: None,
            conversation_ref: to,
            kind: if room {
                ChatKind::Group
            } else {
                ChatKind::Personal
            },
            service_url: None,
        };
        let (account, conv) = self.account_and_conversation(&sender, now).await?;
        let user = chat::user(&self.reader, account).await?;
        let send = move |replies: &[dialog::Reply]| {
            let mut payload = json!({ "tenantId": tenant_id, "to": to, "room": room });
            payload["contents"] = Value::from(lineworks::render(replies));
            Ok(payload.into())
        };
        self.turn(
            &tenant,
            &conv,
            &user,
            input,
            None,
            j,
            lineworks::SEND_JOB,
            send,
            now,
        )
        .await
    }

    async fn lineworks_send(&self, j: &job::Model) -> Result<(), SendError> {
        let p = &j.payload;
        let tenant_id: Uuid = Deserialize::deserialize(&p["tenantId"])
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let api = self.line_works_api(tenant_id).await?;
        let to = p["to"].as_str().unwrap_or_default();
        let room = p["room"].as_bool().unwrap_or(false);
        // LINE WORKS takes one content per request; a retry after a partial failure resends
        // the ones before it (the API has no idempotency key).
        for content in p["contents"].as_array().into_iter().flatten() {
            lineworks_outcome(api.send(to, room, content).await)?;
        }
        Ok(())
    }

    async fn teams_activity(&self, j: &job::Model) -> anyhow::Result<Option<Claimed>> {
        let tenant_id: Uuid = Deserialize::deserialize(&j.payload["tenantId"])?;
        let a = &j.payload["activity"];
        let Some(tenant) = self.tenant(tenant_id).await? else {
            return self.complete(j.id).await;
        };
        let (Some(conv_ref), Some(service_url), Some(from)) = (
            a["conversation"]["id"].as_str(),
            a["serviceUrl"].as_str(),
            a["from"]["id"].as_str(),
        ) else {
            tracing::info!(job = %j.id, "Teams activity without conversation, serviceUrl or sender; ignored");
            return self.complete(j.id).await;
        };
        let Some(input) = teams::input(a) else {
            return self.complete(j.id).await;
        };
        let now = service::tickets::now();
        let personal = a["conversation"]["conversationType"]
            .as_str()
            .is_none_or(|t| t == "personal");
        let kind = if personal {
            ChatKind::Personal
        } else {
            ChatKind::Group
        };
        let external = a["from"]["aadObjectId"].as_str().unwrap_or(from);
        let name = a["from"]["name"].as_str();
        let sender = chat::Sender {
            tenant_id,
            platform: Platform::Teams,
            external_id: external,
            display_name: name,
            conversation_ref: conv_ref,
            kind,
            service_url: Some(service_url),
        };
        let (mut account, conv) = self.account_and_conversation(&sender, now).await?;
        // Teams users are linked through their Entra identity: the Bot Framework vouches for
        // `from`, and the connector tells us the member's mail address.
        if account.person_id.is_none()
            && personal
            && a["from"]["aadObjectId"].is_string()
            && let Some(connector) = &self.teams
        {
            match connector.member(service_url, conv_ref, from).await {
                Ok(m) => {
                    let mail = m["email"]
                        .as_str()
                        .or(m["userPrincipalName"].as_str())
                        .unwrap_or_default()
                        .to_lowercase();
                    let same_object =
                        m["aadObjectId"].as_str() == a["from"]["aadObjectId"].as_str();
                    if same_object
                        && let Some(p) =
                            service::directory::person_by_email(&self.db.read, tenant_id, &mail)
                                .await?
                        && p.active
                    {
                        account = chat::link(&self.db.write, &account, &p, "aad", now).await?;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "Teams member lookup failed; the account stays unlinked")
                }
            }
        }
        let user = chat::user(&self.reader, account).await?;
        let reply_to = &a["id"];
        let send = move |replies: &[dialog::Reply]| {
            let mut payload = json!({
                "serviceUrl": service_url,
                "conversationId": conv_ref,
                "replyToId": reply_to,
            });
            payload["activity"] = teams::render(replies);
            Ok(payload.into())
        };
        self.turn(
            &tenant,
            &conv,
            &user,
            input,
            None,
            j,
            teams::SEND_JOB,
            send,
            now,
        )
        .await
    }

    async fn teams_send(&self, j: &job::Model) -> Result<(), SendError> {
        let connector = self
            .teams
            .as_ref()
            .ok_or_else(|| SendError::Retry("no Teams bot configured".to_owned()))?;
        let p = &j.payload;
        let (Some(service_url), Some(conv)) =
            (p["serviceUrl"].as_str(), p["conversationId"].as_str())
        else {
            return Err(SendError::Permanent(
                "send job without serviceUrl or conversation".to_owned(),
            ));
        };
        teams_outcome(
            connector
                .send(service_url, conv, p["replyToId"].as_str(), &p["activity"])
                .await,
        )
    }
}

/// Ends a turn with an effect in its transaction: the reply's send job (keyed by the event
/// job, claimed by this worker) and the event job's completion commit with the dialog's
/// writes. Returns the send job to do now.
async fn finish_turn(
    txn: sea_orm::DatabaseTransaction,
    event: &job::Model,
    send: Option<NewJob>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Claimed>> {
    let mut claimed = None;
    if let Some(job) = send {
        // Claimed as it is written: the lane sends it at once, and if this process dies first
        // the lease runs out and the next round sends it.
        let lease = chrono::Duration::seconds(LEASE_SECONDS);
        if let [Some(id)] = jobs::insert_claimed(&txn, &[&job], lease, now).await?[..] {
            claimed = Some(jobs::claimed(job, id, lease, now));
        }
    }
    jobs::complete(&txn, event.id, now).await?;
    txn.commit().await?;
    Ok(claimed)
}

/// The next events handed over by the intake; never, without an intake.
async fn next_handed(
    from: &mut Option<tokio::sync::mpsc::UnboundedReceiver<Vec<Claimed>>>,
) -> Option<Vec<Claimed>> {
    match from {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Adds events to the lanes by conversation, in order: a conversation's events go to its lane
/// if it has one, else to a new lane at the end. An event already in its lane (taken again
/// when its lease ran out while it waited) is not added twice.
fn into_lanes(
    lanes: &mut std::collections::VecDeque<(String, Vec<Claimed>)>,
    events: Vec<Claimed>,
) {
    for j in events {
        let key = conversation_key(&j);
        match lanes.iter_mut().find(|(k, _)| *k == key) {
            Some((_, lane)) if lane.iter().any(|x| x.job.id == j.job.id) => {}
            Some((_, lane)) => lane.push(j),
            None => lanes.push_back((key, vec![j])),
        }
    }
}

/// Which conversation an event job belongs to (its lane).
fn conversation_key(c: &Claimed) -> String {
    let (j, p) = (&c.job, &c.job.payload);
    if j.kind == teams::ACTIVITY_JOB {
        return format!(
            "teams:{}",
            p["activity"]["conversation"]["id"]
                .as_str()
                .unwrap_or_default()
        );
    }
    if j.kind == lineworks::EVENT_JOB {
        let to = lineworks::target(&p["event"])
            .map(|(t, _)| t)
            .unwrap_or_default();
        return format!(
            "lineworks:{}:{to}",
            p["tenantId"].as_str().unwrap_or_default()
        );
    }
    line::lane_key(j, c.text.as_ref())
}

fn lineworks_outcome(o: lineworks::Outcome) -> Result<(), SendError> {
    match o {
        lineworks::Outcome::Sent => Ok(()),
        lineworks::Outcome::Retry(e) => Err(SendError::Retry(e)),
        lineworks::Outcome::Permanent(e) => Err(SendError::Permanent(e)),
    }
}

fn teams_outcome(o: teams::Outcome) -> Result<(), SendError> {
    match o {
        teams::Outcome::Sent => Ok(()),
        teams::Outcome::Retry {
            error,
            after: Some(secs),
        } => Err(SendError::RetryAfter(error, secs)),
        teams::Outcome::Retry { error, after: None } => Err(SendError::Retry(error)),
        teams::Outcome::Permanent(e) => Err(SendError::Permanent(e)),
    }
}

#[derive(Debug)]
enum SendError {
    Retry(String),
    /// Throttled: again after this many seconds.
    RetryAfter(String, u64),
    Permanent(String),
}

fn outcome(o: line::Outcome) -> Result<(), SendError> {
    match o {
        line::Outcome::Sent => Ok(()),
        line::Outcome::InvalidReplyToken => Err(SendError::Permanent(
            "invalid reply token on push".to_owned(),
        )),
        line::Outcome::Retry(e) => Err(SendError::Retry(e)),
        line::Outcome::Permanent(e) => Err(SendError::Permanent(e)),
    }
}
