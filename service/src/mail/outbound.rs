//! Mail we send to requesters: the acknowledgement of a mailed-in ticket, an agent's public
//! comment, the resolution. Written in Japanese here, queued in the transaction of the change
//! (a `mail_outbound` row, its Message-ID registered for threading, and a `mail.send` job),
//! and sent by `bots::mail::send` over SMTP. Only tickets that came in by mail are answered
//! by mail; chat tickets are answered in their chat.

use chrono::{DateTime, Utc};
use entity::{Channel, mail_outbound, mail_thread_id, person, tenant, ticket, ticket_watcher};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::error::ServiceResult;
use crate::jobs::{self, NewJob};
use crate::tickets;

/// The job kind the SMTP sender works on.
pub const SEND_JOB: &str = "mail.send";
/// Attempts before an outgoing mail is given up (about a day and a half with the backoff).
pub const SEND_ATTEMPTS: i32 = 40;
/// How many Message-IDs a `References:` header carries at most (the first and the latest).
const MAX_REFERENCES: usize = 20;

/// Why we write to the requester.
#[derive(Debug, Clone)]
pub enum Notice<'a> {
    /// A ticket was opened from their mail.
    Ack,
    /// An agent posted a public comment.
    Comment { body: &'a str },
    /// The desk resolved the ticket (with the note the agent gave, if any).
    Resolved { note: Option<&'a str> },
}

impl Notice<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Notice::Ack => "ack",
            Notice::Comment { .. } => "comment",
            Notice::Resolved { .. } => "resolved",
        }
    }
}

/// Queues an answer (a public comment, the resolution) when the ticket is one that is
/// answered by mail and has someone to write to. Returns the queued row. Acknowledgements go
/// through [`acknowledge`], which the mail processor calls with what it already holds.
pub async fn notify(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    notice: Notice<'_>,
    at: DateTime<Utc>,
) -> ServiceResult<Option<mail_outbound::Model>> {
    if t.channel != Channel::Email {
        return Ok(None);
    }
    let Some(tenant) = tenant::Entity::find_by_id(t.tenant_id).one(db).await? else {
        return Ok(None);
    };
    if tenant
        .helpdesk_email
        .as_deref()
        .is_none_or(|a| a.trim().is_empty())
    {
        return Ok(None);
    }
    let watchers = ticket_watcher::Entity::find()
        .filter(ticket_watcher::Column::TicketId.eq(t.id))
        .order_by_asc(ticket_watcher::Column::CreatedAt)
        .all(db)
        .await?;
    let requester = match t.requester_id {
        Some(id) => person::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    // The requester, or for a triage ticket the address the mail came from.
    let (to, name) = match &requester {
        Some(p) if !p.email.is_empty() => (p.email.clone(), Some(p.display_name.clone())),
        _ => match watchers.iter().find(|w| w.source == "mail_from") {
            Some(w) => (w.email.clone(), None),
            None => return Ok(None),
        },
    };
    // Colleagues who were on Cc stay on Cc of the answers.
    let cc: Vec<String> = watchers
        .iter()
        .filter(|w| w.source == "mail_cc" && w.email != to)
        .map(|w| w.email.clone())
        .collect();
    let settings = super::settings(db, t.tenant_id).await?;
    let thread = mail_thread_id::Entity::find()
        .filter(mail_thread_id::Column::TenantId.eq(t.tenant_id))
        .filter(mail_thread_id::Column::TicketId.eq(t.id))
        .filter(mail_thread_id::Column::Origin.is_in(["inbound", "outbound"]))
        .order_by_asc(mail_thread_id::Column::CreatedAt)
        .order_by_asc(mail_thread_id::Column::MessageId)
        .all(db)
        .await?;
    // Answer the requester's latest mail.
    let in_reply_to = thread
        .iter()
        .rev()
        .find(|r| r.origin == "inbound")
        .or(thread.last())
        .map(|r| r.message_id.clone());
    let references: Vec<String> = thread.into_iter().map(|r| r.message_id).collect();
    let to = Recipient { to, name, cc };
    let row = queue(
        db,
        &tenant,
        &settings.outgoing_charset,
        t,
        to,
        in_reply_to,
        references,
        notice,
        at,
    )
    .await?;
    Ok(Some(row))
}

/// Who a mail goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub to: String,
    pub name: Option<String>,
    pub cc: Vec<String>,
}

/// Queues the acknowledgement of a ticket just opened from a mail, with what the mail
/// processor already holds (no lookups: this is on the ingest hot path).
#[allow(clippy::too_many_arguments)]
pub async fn acknowledge(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    charset: &str,
    t: &ticket::Model,
    to: Recipient,
    mail_message_id: Option<&str>,
    mail_references: &[String],
    at: DateTime<Utc>,
) -> ServiceResult<Option<mail_outbound::Model>> {
    if tenant
        .helpdesk_email
        .as_deref()
        .is_none_or(|a| a.trim().is_empty())
    {
        return Ok(None);
    }
    let mut references = mail_references.to_vec();
    references.extend(mail_message_id.map(str::to_owned));
    let notice = Notice::Ack;
    let in_reply_to = mail_message_id.map(str::to_owned);
    Ok(Some(
        queue(
            db,
            tenant,
            charset,
            t,
            to,
            in_reply_to,
            references,
            notice,
            at,
        )
        .await?,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn queue(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    charset: &str,
    t: &ticket::Model,
    to: Recipient,
    in_reply_to: Option<String>,
    mut references: Vec<String>,
    notice: Notice<'_>,
    at: DateTime<Utc>,
) -> ServiceResult<mail_outbound::Model> {
    let from = tenant
        .helpdesk_email
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if let Some(id) = &in_reply_to
        && !references.contains(id)
    {
        references.push(id.clone());
    }
    if references.len() > MAX_REFERENCES {
        references.drain(1..references.len() - (MAX_REFERENCES - 1));
    }
    let Recipient { to, name, cc } = to;
    let id = Uuid::now_v7();
    let domain = from
        .rsplit_once('@')
        .map_or("madoguchi.invalid", |(_, d)| d);
    let message_id = format!("{}.{}@{domain}", id.simple(), t.number.to_lowercase());
    let (subject, body) = compose(tenant, from, t, name.as_deref(), &notice);
    let row = mail_outbound::Model {
        id,
        tenant_id: t.tenant_id,
        ticket_id: Some(t.id),
        kind: notice.kind().to_owned(),
        message_id: message_id.clone(),
        to_address: to,
        cc_addresses: cc.join(","),
        subject,
        body,
        in_reply_to,
        references: references.join(" "),
        charset: charset.to_owned(),
        status: "queued".to_owned(),
        last_error: None,
        created_at: at,
        sent_at: None,
    };
    // Without RETURNING: this runs once per mailed-in ticket on the ingest path.
    if let Some(am) = crate::deferred::outbound(row.clone().into_active_model()) {
        mail_outbound::Entity::insert(am)
            .exec_without_returning(db)
            .await?;
    }
    if let Some(am) = crate::deferred::thread_id(mail_thread_id::ActiveModel {
        tenant_id: Set(t.tenant_id),
        message_id: Set(message_id),
        ticket_id: Set(t.id),
        origin: Set("outbound".to_owned()),
        created_at: Set(at),
    }) {
        mail_thread_id::Entity::insert(am)
            .on_conflict(crate::deferred::thread_id_conflict())
            .exec_without_returning(db)
            .await?;
    }
    jobs::enqueue(
        db,
        NewJob {
            tenant_id: Some(t.tenant_id),
            kind: SEND_JOB,
            dedupe_key: id.to_string(),
            payload: json!({ "outboundId": id }).into(),
            max_attempts: SEND_ATTEMPTS,
        },
        at,
    )
    .await?;
    Ok(row)
}

/// Kinds of mail that carry a one-time code: their body is blanked once sent, so the code
/// does not outlive the mail in our database.
pub const SECRET_KINDS: [&str; 2] = ["link_code", "reset_code"];

/// Queues a mail to one person that belongs to no ticket (a one-time code). `None` when the
/// tenant has no helpdesk address to send from.
pub async fn queue_personal(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    to: &str,
    kind: &'static str,
    subject: String,
    body: String,
    at: DateTime<Utc>,
) -> ServiceResult<Option<Uuid>> {
    let Some(from) = tenant
        .helpdesk_email
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    else {
        return Ok(None);
    };
    let id = Uuid::now_v7();
    let domain = from
        .rsplit_once('@')
        .map_or("madoguchi.invalid", |(_, d)| d);
    let row = mail_outbound::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant.id),
        ticket_id: Set(None),
        kind: Set(kind.to_owned()),
        message_id: Set(format!("{}.{kind}@{domain}", id.simple())),
        to_address: Set(to.to_owned()),
        cc_addresses: Set(String::new()),
        subject: Set(subject),
        body: Set(body),
        in_reply_to: Set(None),
        references: Set(String::new()),
        charset: Set("utf-8".to_owned()),
        status: Set("queued".to_owned()),
        last_error: Set(None),
        created_at: Set(at),
        sent_at: Set(None),
    };
    mail_outbound::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    jobs::enqueue(
        db,
        NewJob {
            tenant_id: Some(tenant.id),
            kind: SEND_JOB,
            dedupe_key: id.to_string(),
            payload: json!({ "outboundId": id }).into(),
            max_attempts: SEND_ATTEMPTS,
        },
        at,
    )
    .await?;
    Ok(Some(id))
}

/// Subject and body of a notice, in Japanese, with the ticket's tag in the subject so a
/// reply threads even when a mail client drops the threading headers.
fn compose(
    tenant: &tenant::Model,
    from: &str,
    t: &ticket::Model,
    name: Option<&str>,
    notice: &Notice<'_>,
) -> (String, String) {
    let tag = format!("[{}]", t.number);
    let greeting = match name {
        Some(n) => format!("{n} 様"),
        None => "お問い合わせいただいた方へ".to_owned(),
    };
    let footer = format!(
        "\n\nこのメールに返信すると、同じお問い合わせに追記されます（件名の {tag} は消さないでください）。\n\n――\n{} ヘルプデスク\n{from}\n",
        tenant.name
    );
    match notice {
        Notice::Ack => (
            format!("{tag} お問い合わせを受け付けました: {}", t.title),
            format!(
                "{greeting}\n\nヘルプデスクです。次の内容でお問い合わせを受け付けました。\n\n受付番号: {}\n件名: {}\n\n担当者から改めてご連絡します。{footer}",
                t.number, t.title
            ),
        ),
        Notice::Comment { body } => (
            format!("Re: {tag} {}", t.title),
            format!(
                "{greeting}\n\nお問い合わせ（受付番号 {}）について、担当者から回答します。\n\n{}{footer}",
                t.number,
                body.trim()
            ),
        ),
        Notice::Resolved { note } => {
            let note = note
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| format!("\n\n{n}"))
                .unwrap_or_default();
            (
                format!("{tag} 対応を完了しました: {}", t.title),
                format!(
                    "{greeting}\n\nお問い合わせ（受付番号 {}）「{}」の対応を完了しました。{note}\n\n解決していない場合は、このメールにそのまま返信してください。お問い合わせを再開します。{footer}",
                    t.number, t.title
                ),
            )
        }
    }
}

/// An outgoing mail, loaded by the sender with the addresses it needs.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub mail: mail_outbound::Model,
    /// The tenant's helpdesk address and name, for `From:`.
    pub from_address: String,
    pub from_name: String,
    pub cc: Vec<String>,
}

/// Loads an outgoing mail for sending; `None` when it is gone or no longer queued (sent
/// already by a worker whose job completion was lost).
pub async fn load(db: &impl ConnectionTrait, id: Uuid) -> ServiceResult<Option<Outgoing>> {
    let Some(mail) = mail_outbound::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    if mail.status != "queued" {
        return Ok(None);
    }
    let Some(tenant) = tenant::Entity::find_by_id(mail.tenant_id).one(db).await? else {
        return Ok(None);
    };
    let cc = mail
        .cc_addresses
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Some(Outgoing {
        from_address: tenant.helpdesk_email.clone().unwrap_or_default(),
        from_name: format!("{} ヘルプデスク", tenant.name),
        cc,
        mail,
    }))
}

/// Records that a mail was accepted by the SMTP server, with an internal event on its ticket.
pub async fn mark_sent(
    db: &impl ConnectionTrait,
    m: &mail_outbound::Model,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    set_status(db, m, "sent", None, Some(at)).await?;
    event(db, m, "mail_sent", json!({ "outboundId": m.id, "kind": m.kind, "to": m.to_address, "messageId": m.message_id }), at).await
}

/// Records that a mail could not be sent and will not be tried again.
pub async fn mark_failed(
    db: &impl ConnectionTrait,
    m: &mail_outbound::Model,
    error: &str,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    set_status(db, m, "failed", Some(error), None).await?;
    event(
        db,
        m,
        "mail_failed",
        json!({ "outboundId": m.id, "kind": m.kind, "to": m.to_address, "error": error }),
        at,
    )
    .await
}

/// Records the last temporary error of a mail that will be retried.
pub async fn note_error(
    db: &impl ConnectionTrait,
    m: &mail_outbound::Model,
    error: &str,
) -> ServiceResult<()> {
    set_status(db, m, "queued", Some(error), None).await
}

async fn set_status(
    db: &impl ConnectionTrait,
    m: &mail_outbound::Model,
    status: &str,
    error: Option<&str>,
    sent_at: Option<DateTime<Utc>>,
) -> ServiceResult<()> {
    let mut a: mail_outbound::ActiveModel = m.clone().into();
    a.status = Set(status.to_owned());
    if status != "queued" && SECRET_KINDS.contains(&m.kind.as_str()) {
        a.body = Set("（ワンタイムコードを含むため、送信後に本文を消去しました）".to_owned());
    }
    if error.is_some() {
        a.last_error = Set(error.map(str::to_owned));
    }
    if sent_at.is_some() {
        a.sent_at = Set(sent_at);
    }
    a.update(db).await?;
    Ok(())
}

async fn event(
    db: &impl ConnectionTrait,
    m: &mail_outbound::Model,
    kind: &str,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    if let Some(tid) = m.ticket_id
        && let Some(t) = ticket::Entity::find_by_id(tid).one(db).await?
    {
        tickets::record_event(db, &t, None, kind, payload, true, at).await?;
    }
    Ok(())
}

/// For the demo loader: the mail its made-up history queued counts as sent when it was
/// written, so a server later given an SMTP server does not send six months of demo mail.
pub async fn settle_history_as_sent(db: &impl ConnectionTrait) -> ServiceResult<u64> {
    use sea_orm::sea_query::Expr;
    let n = mail_outbound::Entity::update_many()
        .col_expr(mail_outbound::Column::Status, Expr::value("sent"))
        .col_expr(
            mail_outbound::Column::SentAt,
            Expr::col(mail_outbound::Column::CreatedAt),
        )
        .filter(mail_outbound::Column::Status.eq("queued"))
        .exec(db)
        .await?
        .rows_affected;
    entity::job::Entity::update_many()
        .col_expr(entity::job::Column::Status, Expr::value(jobs::DONE))
        .filter(entity::job::Column::Kind.eq(SEND_JOB))
        .filter(entity::job::Column::Status.eq(jobs::QUEUED))
        .exec(db)
        .await?;
    Ok(n)
}
