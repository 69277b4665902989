//! Processing stored mail: each message, in its own savepoint inside one batch transaction,
//! becomes a ticket, a comment, a bounce record, an ignored automatic mail, or a quarantined
//! one. The stored row is claimed in the same savepoint, so a message is processed once.

use crate::db::First as _;
use chrono::{DateTime, Duration, Utc};
use entity::{
    Channel, MailStatus, PersonKind, TicketKind, TicketStatus, mail_message, mail_outbound,
    mail_thread_id, person, tenant, ticket, ticket_attachment, ticket_watcher,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::{Map, json};
use std::collections::HashMap;
use uuid::Uuid;

use super::{Addresses, InboundMail, MailSettings, UnknownSender, put_blob, sha256_hex};
use crate::error::{ServiceError, ServiceResult};
use crate::tickets::{self, Author, BODY_MAX, NewTicket, TITLE_MAX};

/// Turns raw bytes into an [`InboundMail`]; `bots::mail` supplies it. An `Err` is the
/// reason, in Japanese, the message could not be read at all.
pub type Decode = dyn Fn(&[u8]) -> Result<InboundMail, String> + Send + Sync;

/// What processing did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created {
        ticket_id: Uuid,
        number: String,
    },
    Commented {
        ticket_id: Uuid,
        comment_id: Uuid,
    },
    /// A DSN about mail we sent; the outbound mail (when found) is marked bounced.
    Bounced {
        ticket_id: Option<Uuid>,
    },
    Ignored {
        reason: &'static str,
        detail: String,
    },
    Quarantined {
        reason: &'static str,
        detail: String,
    },
    /// Another worker processed it first; nothing was done here.
    AlreadyDone,
}

/// Options for one processing run.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessOptions {
    /// An agent retries from quarantine: quarantined rows may be taken, the sender rate cap
    /// does not apply, and the ticket's time is now rather than when the mail arrived.
    pub retry: bool,
}

/// Counts of what a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessReport {
    pub created: usize,
    pub commented: usize,
    pub bounced: usize,
    pub ignored: usize,
    pub quarantined: usize,
    pub already_done: usize,
    /// Batches run again a savepoint a message because one of their messages failed
    /// (normally 0).
    pub careful_batches: usize,
    /// Per message, in the order processed.
    pub outcomes: Vec<(Uuid, Outcome)>,
}

impl ProcessReport {
    fn add(&mut self, id: Uuid, o: Outcome) {
        match &o {
            Outcome::Created { .. } => self.created += 1,
            Outcome::Commented { .. } => self.commented += 1,
            Outcome::Bounced { .. } => self.bounced += 1,
            Outcome::Ignored { .. } => self.ignored += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
            Outcome::AlreadyDone => self.already_done += 1,
        }
        self.outcomes.push((id, o));
    }

    /// Messages this run handled, whatever became of them.
    pub fn total(&self) -> usize {
        self.outcomes.len()
    }
}

/// Processes up to `limit` stored messages that wait to be processed, oldest first.
pub async fn process_pending(
    db: &DatabaseConnection,
    decode: &Decode,
    limit: u64,
) -> ServiceResult<ProcessReport> {
    let rows = mail_message::Entity::find()
        .filter(mail_message::Column::Status.eq(MailStatus::Received))
        .order_by_asc(mail_message::Column::ReceivedAt)
        .order_by_asc(mail_message::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    if rows.is_empty() {
        // The server polls this: when nothing waits, one query is all it costs.
        return Ok(ProcessReport::default());
    }
    let addresses = Addresses::load(db).await?;
    process_rows(db, &addresses, decode, rows, ProcessOptions::default()).await
}

/// Processes the given stored messages (those still waiting, or quarantined ones when
/// `opts.retry`); others are reported as already done.
pub async fn process_ids(
    db: &DatabaseConnection,
    addresses: &Addresses,
    decode: &Decode,
    ids: &[Uuid],
    opts: ProcessOptions,
) -> ServiceResult<ProcessReport> {
    let rows = mail_message::Entity::find()
        .filter(mail_message::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(mail_message::Column::ReceivedAt)
        .all(db)
        .await?;
    process_rows(db, addresses, decode, rows, opts).await
}

/// A tenant's context for a batch, loaded once.
struct TenantCtx {
    tenant: tenant::Model,
    settings: MailSettings,
    /// For the sender rate cap: per sender address, when the mail that opened each of their
    /// tickets since an hour before the batch's oldest message arrived (read once a sender,
    /// then kept up to date as the batch opens tickets).
    opened: std::sync::Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
    /// An hour before the batch's oldest message.
    since: DateTime<Utc>,
}

impl TenantCtx {
    /// Tickets `address` opened by mail in the hour before `at` (and after it, in this batch).
    async fn opened_in_hour(
        &self,
        txn: &DatabaseTransaction,
        address: &str,
        at: DateTime<Utc>,
    ) -> ServiceResult<usize> {
        let known = self
            .opened
            .lock()
            .ok()
            .and_then(|m| m.get(address).cloned());
        let times = match known {
            Some(t) => t,
            None => {
                let t: Vec<DateTime<Utc>> = mail_message::Entity::find()
                    .select_only()
                    .column(mail_message::Column::ReceivedAt)
                    .filter(mail_message::Column::TenantId.eq(self.tenant.id))
                    .filter(mail_message::Column::FromAddress.eq(address))
                    .filter(mail_message::Column::Action.eq("created"))
                    .filter(mail_message::Column::ReceivedAt.gt(self.since))
                    .into_tuple()
                    .all(txn)
                    .await?;
                if let Ok(mut m) = self.opened.lock() {
                    m.insert(address.to_owned(), t.clone());
                }
                t
            }
        };
        let from = at - Duration::hours(1);
        Ok(times.iter().filter(|t| **t > from).count())
    }

    /// `address` opened a ticket with a mail that arrived `at`.
    fn note_opened(&self, address: &str, at: DateTime<Utc>) {
        if let Ok(mut m) = self.opened.lock()
            && let Some(t) = m.get_mut(address)
        {
            t.push(at);
        }
    }

    /// Forgets what [`Self::opened_in_hour`] read (a savepoint rolled back).
    fn forget_opened(&self) {
        if let Ok(mut m) = self.opened.lock() {
            m.clear();
        }
    }
}

async fn process_rows(
    db: &DatabaseConnection,
    addresses: &Addresses,
    decode: &Decode,
    rows: Vec<mail_message::Model>,
    opts: ProcessOptions,
) -> ServiceResult<ProcessReport> {
    if rows.is_empty() {
        return Ok(ProcessReport::default());
    }
    let mut raws = HashMap::new();
    for chunk in rows.chunks(200) {
        let shas: Vec<String> = chunk.iter().map(|r| r.raw_sha256.clone()).collect();
        for b in entity::blob::Entity::find()
            .filter(entity::blob::Column::Sha256.is_in(shas))
            .all(db)
            .await?
        {
            raws.insert(b.sha256, b.data);
        }
    }
    let mut work: Vec<Work> = rows
        .into_iter()
        .map(|r| {
            let decoded = match raws.get(&r.raw_sha256) {
                Some(raw) => decode(raw),
                None => Err("元のメールのデータが見つかりません".to_owned()),
            };
            (r, decoded)
        })
        .collect();
    // A reply that arrived before its original in the same batch: the original goes first.
    work.sort_by_key(|(r, m)| {
        let sent = m.as_ref().ok().and_then(|m| m.sent_at);
        (sent.unwrap_or(r.received_at), r.received_at)
    });

    // Most batches hold no message that fails: such a batch claims its rows with one
    // statement, takes no savepoint a message, and leaves the appends (events, outbox rows,
    // threading Message-IDs, acknowledgements, jobs, watchers) to one multi-row insert per
    // table before it commits. A batch where a message fails is rolled back and run again the
    // careful way: a savepoint and a claim a message, the failing one quarantined.
    if let Some(report) = crate::deferred::scope(fast_batch(db, addresses, &work, opts)).await? {
        return Ok(report);
    }
    let mut report = careful_batch(db, addresses, &work, opts).await?;
    report.careful_batches = 1;
    Ok(report)
}

type Work = (mail_message::Model, Result<InboundMail, String>);

fn claimable(opts: ProcessOptions) -> &'static [MailStatus] {
    if opts.retry {
        &[MailStatus::Received, MailStatus::Quarantined]
    } else {
        &[MailStatus::Received]
    }
}

/// When the batch's oldest message arrived.
fn oldest(work: &[Work]) -> DateTime<Utc> {
    work.iter()
        .map(|(r, _)| r.received_at)
        .min()
        .unwrap_or_else(tickets::now)
}

/// The batch in one transaction without savepoints; `None` when it must be run carefully.
async fn fast_batch(
    db: &DatabaseConnection,
    addresses: &Addresses,
    work: &[Work],
    opts: ProcessOptions,
) -> ServiceResult<Option<ProcessReport>> {
    let txn = db.begin().await?;
    // Rows another worker took first (the server's own processing, say) are left to it.
    let mut claimed = std::collections::HashSet::with_capacity(work.len());
    for chunk in work.chunks(500) {
        let rows = mail_message::Entity::update_many()
            .col_expr(
                mail_message::Column::Attempts,
                Expr::col(mail_message::Column::Attempts).add(1),
            )
            .filter(mail_message::Column::Id.is_in(chunk.iter().map(|(r, _)| r.id)))
            .filter(mail_message::Column::Status.is_in(claimable(opts).iter().copied()))
            .exec_with_returning(&txn)
            .await?;
        claimed.extend(rows.into_iter().map(|r| r.id));
    }
    let mut report = ProcessReport::default();
    let mut tenants: HashMap<Uuid, TenantCtx> = HashMap::new();
    let start = oldest(work);
    for (row, decoded) in work {
        if !claimed.contains(&row.id) {
            report.add(row.id, Outcome::AlreadyDone);
            continue;
        }
        let done = async {
            let o = outcome(&txn, &mut tenants, addresses, row, decoded, opts, start).await?;
            mark(&txn, row, &o, tickets::now()).await?;
            Ok::<_, ServiceError>(o)
        }
        .await;
        match done {
            Ok(o) => report.add(row.id, o),
            Err(ServiceError::Db(e)) if is_transient(&e) => return Err(ServiceError::Db(e)),
            Err(e) => {
                tracing::info!(mail = %row.id, error = %e, "a message of the mail batch failed; the batch runs again message by message");
                crate::deferred::discard();
                txn.rollback().await?;
                return Ok(None);
            }
        }
    }
    match crate::deferred::flush(&txn).await {
        Ok(()) => {}
        Err(e) if is_transient(&e) => return Err(ServiceError::Db(e)),
        Err(e) => {
            tracing::warn!(error = %e, "mail batch appends failed; the batch runs again message by message");
            txn.rollback().await?;
            return Ok(None);
        }
    }
    txn.commit().await?;
    Ok(Some(report))
}

/// The batch with a savepoint a message: one that fails is quarantined, the others go on.
async fn careful_batch(
    db: &DatabaseConnection,
    addresses: &Addresses,
    work: &[Work],
    opts: ProcessOptions,
) -> ServiceResult<ProcessReport> {
    let mut report = ProcessReport::default();
    let txn = db.begin().await?;
    let mut tenants: HashMap<Uuid, TenantCtx> = HashMap::new();
    let start = oldest(work);
    for (row, decoded) in work {
        let sp = txn.begin().await?;
        let claimed = mail_message::Entity::update_many()
            .col_expr(
                mail_message::Column::Attempts,
                Expr::col(mail_message::Column::Attempts).add(1),
            )
            .filter(mail_message::Column::Id.eq(row.id))
            .filter(mail_message::Column::Status.is_in(claimable(opts).iter().copied()))
            .exec(&sp)
            .await?
            .rows_affected;
        if claimed == 0 {
            sp.rollback().await?;
            report.add(row.id, Outcome::AlreadyDone);
            continue;
        }
        match outcome(&sp, &mut tenants, addresses, row, decoded, opts, start).await {
            Ok(o) => {
                mark(&sp, row, &o, tickets::now()).await?;
                sp.commit().await?;
                report.add(row.id, o);
            }
            Err(ServiceError::Db(e)) if is_transient(&e) => return Err(ServiceError::Db(e)),
            Err(e) => {
                // Whatever the message half-wrote goes; the quarantine keeps it for an agent.
                sp.rollback().await?;
                if let Some(ctx) = row.tenant_id.and_then(|t| tenants.get(&t)) {
                    ctx.forget_opened();
                }
                tracing::warn!(mail = %row.id, error = %e, "mail quarantined");
                let o = Outcome::Quarantined {
                    reason: "processing_error",
                    detail: format!("処理中にエラーが発生しました: {e}"),
                };
                mark(&txn, row, &o, tickets::now()).await?;
                report.add(row.id, o);
            }
        }
    }
    txn.commit().await?;
    Ok(report)
}

/// What becomes of one claimed message (written in `txn`, not yet marked).
async fn outcome(
    txn: &DatabaseTransaction,
    tenants: &mut HashMap<Uuid, TenantCtx>,
    addresses: &Addresses,
    row: &mail_message::Model,
    decoded: &Result<InboundMail, String>,
    opts: ProcessOptions,
    batch_start: DateTime<Utc>,
) -> ServiceResult<Outcome> {
    let at = if opts.retry {
        tickets::now()
    } else {
        row.received_at
    };
    match (decoded, row.tenant_id) {
        (_, None) => Ok(Outcome::Quarantined {
            reason: "no_tenant",
            detail: "宛先にどのテナントのヘルプデスクアドレスも含まれていません".to_owned(),
        }),
        (Err(e), _) => Ok(Outcome::Quarantined {
            reason: "undecodable",
            detail: format!("メールを読み取れませんでした: {e}"),
        }),
        (Ok(mail), Some(tenant_id)) => {
            let ctx = match tenants.entry(tenant_id) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let tenant = crate::directory::tenant(txn, tenant_id)
                        .await?
                        .ok_or(ServiceError::NotFound)?;
                    let settings = super::settings(txn, tenant_id).await?;
                    let since = batch_start - Duration::hours(1);
                    v.insert(TenantCtx {
                        tenant,
                        settings,
                        opened: Default::default(),
                        since,
                    })
                }
            };
            apply(txn, ctx, addresses, row, mail, opts, at).await
        }
    }
}

/// Errors that say nothing about the message (the database went away): the batch is
/// abandoned and retried later instead of quarantining good mail.
fn is_transient(e: &DbErr) -> bool {
    matches!(e, DbErr::Conn(_) | DbErr::ConnectionAcquire(_))
        || e.to_string().contains("database is locked")
}

async fn mark(
    db: &impl ConnectionTrait,
    row: &mail_message::Model,
    outcome: &Outcome,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let (status, action, reason, detail, ticket_id, comment_id) = match outcome {
        Outcome::Created { ticket_id, .. } => (
            MailStatus::Processed,
            Some("created"),
            None,
            None,
            Some(*ticket_id),
            None,
        ),
        Outcome::Commented {
            ticket_id,
            comment_id,
        } => (
            MailStatus::Processed,
            Some("commented"),
            None,
            None,
            Some(*ticket_id),
            Some(*comment_id),
        ),
        Outcome::Bounced { ticket_id } => (
            MailStatus::Processed,
            Some("bounce"),
            None,
            None,
            *ticket_id,
            None,
        ),
        Outcome::Ignored { reason, detail } => (
            MailStatus::Ignored,
            None,
            Some(*reason),
            Some(detail.clone()),
            None,
            None,
        ),
        Outcome::Quarantined { reason, detail } => (
            MailStatus::Quarantined,
            None,
            Some(*reason),
            Some(detail.clone()),
            None,
            None,
        ),
        Outcome::AlreadyDone => return Ok(()),
    };
    // Without RETURNING: nothing reads the row back.
    mail_message::Entity::update_many()
        .set(mail_message::ActiveModel {
            status: Set(status),
            action: Set(action.map(str::to_owned)),
            reason: Set(reason.map(str::to_owned)),
            detail: Set(detail),
            ticket_id: Set(ticket_id),
            comment_id: Set(comment_id),
            processed_at: Set(Some(at)),
            attempts: Set(row.attempts + 1),
            ..Default::default()
        })
        .filter(mail_message::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(())
}

async fn apply(
    txn: &DatabaseTransaction,
    ctx: &TenantCtx,
    addresses: &Addresses,
    row: &mail_message::Model,
    mail: &InboundMail,
    opts: ProcessOptions,
    at: DateTime<Utc>,
) -> ServiceResult<Outcome> {
    let tenant = &ctx.tenant;
    if let Some(b) = &mail.bounce {
        return bounce(txn, tenant.id, b, at).await;
    }
    if let Some(a) = &mail.automatic {
        return Ok(Outcome::Ignored {
            reason: a.code(),
            detail: a.detail(),
        });
    }
    let Some(from) = &mail.from else {
        return Ok(Outcome::Quarantined {
            reason: "no_sender",
            detail: "差出人（From）がありません".to_owned(),
        });
    };
    if addresses.is_own(&from.address) {
        return Ok(Outcome::Ignored {
            reason: "own_address",
            detail: format!(
                "ヘルプデスク自身のアドレス（{}）からのメールのため対象外",
                from.address
            ),
        });
    }
    let sender = crate::directory::person_by_email(txn, tenant.id, &from.address).await?;
    let thread = find_thread(txn, tenant, mail).await?;
    let mut extra = Map::new();
    extra.insert("via".into(), json!("email"));
    extra.insert("mailId".into(), json!(row.id));
    extra.insert("from".into(), json!(from.display()));
    if !mail.notes.is_empty() {
        extra.insert("decodingNotes".into(), json!(mail.notes));
    }

    let mut ack_to = None;
    let (ticket, comment_id, outcome) = match thread {
        Some(t) if t.status != TicketStatus::Closed => {
            let author = Author {
                person_id: sender.as_ref().map(|p| p.id),
                is_desk: sender
                    .as_ref()
                    .is_some_and(|p| crate::directory::roles_of(p).is_desk()),
            };
            let mut body = mail.reply_text.trim().to_owned();
            if body.is_empty() {
                body = mail.text.trim().to_owned();
            }
            if body.is_empty() {
                body = "（本文なし）".to_owned();
            }
            if sender.is_none() {
                body = format!("差出人: {}\n\n{body}", from.display());
            }
            let change =
                tickets::insert_comment(txn, author, &t, &clip(&body, BODY_MAX), false, extra, at)
                    .await?;
            let mut t2 = change.ticket;
            if t2.status == TicketStatus::Resolved && !author.is_desk {
                // A reply to a resolved ticket means it is not resolved after all.
                let (t3, _) =
                    tickets::transition(txn, author, &t2, TicketStatus::InProgress, None, true, at)
                        .await?;
                t2 = t3;
            }
            let comment_id = change.comment.map(|c| c.id);
            let outcome = Outcome::Commented {
                ticket_id: t2.id,
                comment_id: comment_id.unwrap_or_default(),
            };
            (t2, comment_id, outcome)
        }
        closed => {
            if !opts.retry && ctx.settings.sender_rate_per_hour > 0 {
                let recent = ctx
                    .opened_in_hour(txn, &from.address, row.received_at)
                    .await?;
                if recent >= ctx.settings.sender_rate_per_hour as usize {
                    return Ok(Outcome::Quarantined {
                        reason: "rate_limited",
                        detail: format!(
                            "同じ差出人からの新規チケットが1時間に{}件を超えました（{}）",
                            ctx.settings.sender_rate_per_hour, from.address
                        ),
                    });
                }
            }
            let requester = match (&sender, ctx.settings.unknown_sender) {
                (Some(p), _) => Some(p.clone()),
                (None, UnknownSender::Contact) => {
                    Some(create_contact(txn, tenant.id, from, at).await?)
                }
                (None, UnknownSender::Triage) => None,
            };
            let mut description = mail.text.trim().to_owned();
            if let Some(old) = &closed {
                extra.insert("replyToClosed".into(), json!(old.number));
                description = format!(
                    "（完了済みのチケット {} への返信のため、新しいチケットとして受け付けました）\n\n{description}",
                    old.number
                );
            }
            if requester.is_none() {
                extra.insert("triage".into(), json!(true));
                description = format!(
                    "差出人: {}（登録されていないアドレス）\n\n{description}",
                    from.display()
                );
            }
            let mut input = NewTicket::new(
                TicketKind::Inquiry,
                ticket_title(&mail.subject, &tenant.ticket_prefix),
                clip(&description, BODY_MAX),
            );
            input.channel = Some(Channel::Email);
            input.requester_id = requester.as_ref().map(|p| p.id);
            let org_unit = requester.as_ref().and_then(|p| p.org_unit_id);
            let (t, _) = tickets::insert_ticket(
                txn,
                tenant,
                input,
                org_unit,
                requester.as_ref().map(|p| p.id),
                extra,
                at,
            )
            .await?;
            if requester.is_none() {
                watch(txn, &t, &from.address, None, "mail_from", at).await?;
            }
            ctx.note_opened(&from.address, row.received_at);
            let outcome = Outcome::Created {
                ticket_id: t.id,
                number: t.number.clone(),
            };
            // The acknowledgement goes to the requester, or for triage to the sender.
            ack_to = Some(super::outbound::Recipient {
                to: requester
                    .as_ref()
                    .map_or_else(|| from.address.clone(), |p| p.email.clone()),
                name: requester.as_ref().map(|p| p.display_name.clone()),
                cc: vec![],
            });
            (t, None, outcome)
        }
    };

    for cc in mail.cc.iter().chain(&mail.to) {
        if cc.address == from.address || addresses.is_own(&cc.address) {
            continue;
        }
        let person = crate::directory::person_by_email(txn, tenant.id, &cc.address).await?;
        if person
            .as_ref()
            .is_some_and(|p| Some(p.id) == ticket.requester_id)
        {
            continue;
        }
        watch(
            txn,
            &ticket,
            &cc.address,
            person.map(|p| p.id),
            "mail_cc",
            at,
        )
        .await?;
    }
    attachments(txn, ctx, &ticket, comment_id, row.id, mail, at).await?;
    remember_thread(txn, tenant.id, ticket.id, mail).await?;
    if let Some(to) = ack_to.filter(|_| ctx.settings.acknowledge) {
        let charset = &ctx.settings.outgoing_charset;
        let refs = &mail.references;
        super::outbound::acknowledge(
            txn,
            tenant,
            charset,
            &ticket,
            to,
            mail.message_id.as_deref(),
            refs,
            at,
        )
        .await?;
    }
    Ok(outcome)
}

/// The ticket a message belongs to: by the subject tag, else by any Message-ID it refers to
/// (or its own, when a reply that quoted it came first).
async fn find_thread(
    txn: &DatabaseTransaction,
    tenant: &tenant::Model,
    mail: &InboundMail,
) -> ServiceResult<Option<ticket::Model>> {
    if let Some(number) = subject_tag(&mail.subject, &tenant.ticket_prefix) {
        let t = ticket::Entity::find()
            .filter(ticket::Column::TenantId.eq(tenant.id))
            .filter(ticket::Column::Number.eq(number))
            .first(txn)
            .await?;
        if t.is_some() {
            return Ok(t);
        }
    }
    // Most specific first: the mail it answers, then the newest reference, then itself.
    let mut ids: Vec<&str> = mail.in_reply_to.iter().map(String::as_str).collect();
    ids.extend(mail.references.iter().rev().map(String::as_str));
    ids.extend(mail.message_id.as_deref());
    if ids.is_empty() {
        return Ok(None);
    }
    let mut found: Vec<(String, Uuid)> = mail_thread_id::Entity::find()
        .filter(mail_thread_id::Column::TenantId.eq(tenant.id))
        .filter(mail_thread_id::Column::MessageId.is_in(ids.iter().copied()))
        .all(txn)
        .await?
        .into_iter()
        .map(|f| (f.message_id, f.ticket_id))
        .collect();
    // Those this batch has yet to write.
    found.extend(crate::deferred::thread_ids(tenant.id, &ids));
    let Some(ticket_id) = ids
        .iter()
        .find_map(|id| found.iter().find(|(m, _)| m == id).map(|(_, t)| *t))
    else {
        return Ok(None);
    };
    Ok(ticket::Entity::find_by_id(ticket_id).first(txn).await?)
}

/// `HD-2026-000123` from a subject containing `[HD-2026-000123]`.
pub fn subject_tag(subject: &str, prefix: &str) -> Option<String> {
    let open = format!("[{prefix}-");
    let mut rest = subject;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + 1..];
        let body: String = after.chars().take_while(|c| *c != ']').collect();
        let tail = &body[prefix.len()..];
        let b = tail.as_bytes();
        if b.len() == 12
            && b[0] == b'-'
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5] == b'-'
            && b[6..].iter().all(u8::is_ascii_digit)
            && after[body.len()..].starts_with(']')
        {
            return Some(body);
        }
        rest = &rest[i + open.len()..];
    }
    None
}

/// A ticket title from a mail subject: reply and forward prefixes and our tag removed.
pub fn ticket_title(subject: &str, prefix: &str) -> String {
    let mut s = subject.trim().to_owned();
    if let Some(tag) = subject_tag(&s, prefix) {
        s = s.replace(&format!("[{tag}]"), " ");
    }
    loop {
        let t = s.trim_start();
        let lower = t.to_lowercase();
        let cut = [
            "re:",
            "fw:",
            "fwd:",
            "ｒｅ：",
            "re：",
            "fw：",
            "転送:",
            "転送：",
            "返信:",
            "返信：",
            "aw:",
            "tr:",
        ]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map(|p| p.len());
        match cut {
            // `to_lowercase` keeps these prefixes' byte lengths.
            Some(n) => s = t[n..].to_owned(),
            None => {
                s = t.trim().to_owned();
                break;
            }
        }
    }
    if s.is_empty() {
        return "（件名なし）".to_owned();
    }
    clip(&s, TITLE_MAX)
}

/// Cuts text to `max` characters, saying so.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    const NOTE: &str = "\n…（長いため省略しました。全文は元のメールにあります）";
    let keep = max.saturating_sub(NOTE.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    if max > NOTE.chars().count() {
        out.push_str(NOTE);
    }
    out
}

async fn create_contact(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    from: &super::MailAddress,
    at: DateTime<Utc>,
) -> ServiceResult<person::Model> {
    let name = from.name.clone().unwrap_or_else(|| {
        from.address
            .split('@')
            .next()
            .unwrap_or(&from.address)
            .to_owned()
    });
    Ok(person::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        org_unit_id: Set(None),
        vendor_id: Set(None),
        email: Set(from.address.clone()),
        display_name: Set(name),
        display_name_kana: Set(None),
        employee_number: Set(None),
        kind: Set(PersonKind::Staff),
        roles: Set("requester".to_owned()),
        active: Set(true),
        created_at: Set(at),
    }
    .insert(txn)
    .await?)
}

async fn watch(
    txn: &DatabaseTransaction,
    t: &ticket::Model,
    email: &str,
    person_id: Option<Uuid>,
    source: &str,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let row = ticket_watcher::ActiveModel {
        ticket_id: Set(t.id),
        email: Set(email.to_owned()),
        tenant_id: Set(t.tenant_id),
        person_id: Set(person_id),
        source: Set(source.to_owned()),
        created_at: Set(at),
    };
    if let Some(row) = crate::deferred::watcher(row) {
        ticket_watcher::Entity::insert(row)
            .on_conflict(crate::deferred::watcher_conflict())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

async fn attachments(
    txn: &DatabaseTransaction,
    ctx: &TenantCtx,
    t: &ticket::Model,
    comment_id: Option<Uuid>,
    mail_id: Uuid,
    mail: &InboundMail,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let mut flagged = Vec::new();
    for a in &mail.attachments {
        let size = a.data.len() as u64;
        let mut flag = super::attachment_flag(&a.filename, &a.data);
        let sha = if size > ctx.settings.max_attachment_bytes {
            flag = flag.or(Some("too_large"));
            None
        } else {
            let sha = sha256_hex(&a.data);
            put_blob(txn, &sha, &a.data, at).await?;
            Some(sha)
        };
        if let Some(f) = flag {
            flagged.push(json!({ "filename": a.filename, "flag": f, "size": size }));
        }
        ticket_attachment::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(t.tenant_id),
            ticket_id: Set(t.id),
            comment_id: Set(comment_id),
            mail_message_id: Set(Some(mail_id)),
            filename: Set(a.filename.clone()),
            content_type: Set(a.content_type.clone()),
            size: Set(i64::try_from(size).unwrap_or(i64::MAX)),
            sha256: Set(sha),
            flag: Set(flag.map(str::to_owned)),
            created_at: Set(at),
        }
        .insert(txn)
        .await?;
    }
    if !flagged.is_empty() {
        tickets::record_event(
            txn,
            t,
            None,
            "attachments_flagged",
            json!({ "attachments": flagged, "mailId": mail_id }),
            true,
            at,
        )
        .await?;
    }
    Ok(())
}

/// Remembers every Message-ID of the message's thread for the ticket.
async fn remember_thread(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    ticket_id: Uuid,
    mail: &InboundMail,
) -> ServiceResult<()> {
    let mut rows: Vec<mail_thread_id::ActiveModel> = Vec::new();
    let now = tickets::now();
    let mut push = |id: &str, origin: &str| {
        if !id.is_empty() && !rows.iter().any(|r| r.message_id.as_ref() == id) {
            rows.push(mail_thread_id::ActiveModel {
                tenant_id: Set(tenant_id),
                message_id: Set(id.to_owned()),
                ticket_id: Set(ticket_id),
                origin: Set(origin.to_owned()),
                created_at: Set(now),
            });
        }
    };
    if let Some(id) = &mail.message_id {
        push(id, "inbound");
    }
    for id in mail.in_reply_to.iter().chain(&mail.references) {
        push(id, "reference");
    }
    let rows: Vec<_> = rows
        .into_iter()
        .filter_map(crate::deferred::thread_id)
        .collect();
    for chunk in rows.chunks(100) {
        mail_thread_id::Entity::insert_many(chunk.to_vec())
            .on_conflict(crate::deferred::thread_id_conflict())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

async fn bounce(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    b: &super::Bounce,
    at: DateTime<Utc>,
) -> ServiceResult<Outcome> {
    let sent = if b.original_message_ids.is_empty() {
        vec![]
    } else {
        mail_outbound::Entity::find()
            .filter(mail_outbound::Column::TenantId.eq(tenant_id))
            .filter(
                mail_outbound::Column::MessageId
                    .is_in(b.original_message_ids.iter().map(String::as_str)),
            )
            .all(txn)
            .await?
    };
    let Some(out) = sent.into_iter().next() else {
        return Ok(Outcome::Ignored {
            reason: "bounce_unmatched",
            detail: format!(
                "送信したメールに該当しない配信エラー通知です（{}）",
                b.diagnostic
            ),
        });
    };
    let mut m: mail_outbound::ActiveModel = out.clone().into();
    m.status = Set("bounced".to_owned());
    m.last_error = Set(Some(b.diagnostic.clone()));
    m.update(txn).await?;
    if let Some(ticket_id) = out.ticket_id
        && let Some(t) = ticket::Entity::find_by_id(ticket_id).first(txn).await?
    {
        tickets::record_event(
            txn,
            &t,
            None,
            "mail_bounced",
            json!({
                "outboundId": out.id,
                "to": b.recipient.clone().unwrap_or(out.to_address.clone()),
                "diagnostic": b.diagnostic,
            }),
            true,
            at,
        )
        .await?;
    }
    Ok(Outcome::Bounced {
        ticket_id: out.ticket_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_tags_are_found_only_in_the_tenants_exact_form() {
        assert_eq!(
            subject_tag("Re: [HD-2026-000123] プリンタ", "HD").as_deref(),
            Some("HD-2026-000123")
        );
        assert_eq!(
            subject_tag("[HD-2026-00012] x [HD-2026-000124]", "HD").as_deref(),
            Some("HD-2026-000124")
        );
        assert_eq!(subject_tag("[KY-2026-000123]", "HD"), None);
        assert_eq!(subject_tag("[HD-2026-0001234]", "HD"), None);
        assert_eq!(subject_tag("HD-2026-000123", "HD"), None);
    }

    #[test]
    fn titles_lose_reply_prefixes_and_the_tag() {
        assert_eq!(
            ticket_title("Re: RE: [HD-2026-000001] 印刷できない", "HD"),
            "印刷できない"
        );
        assert_eq!(ticket_title("転送: Fw: パスワード", "HD"), "パスワード");
        assert_eq!(ticket_title("  ", "HD"), "（件名なし）");
        assert_eq!(
            ticket_title(&"あ".repeat(300), "HD").chars().count(),
            TITLE_MAX
        );
    }
}
