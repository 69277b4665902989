//! Inbound mail for agents: the quarantine (`mailQuarantine`), and retrying or discarding
//! what is in it. Desk roles of the message's tenant only.

use super::context::CtxExt;
use super::errors::{ApiError, ApiResult, svc};
use super::ids::{self, NodeType, encode};
use super::mutation::UserError;
use super::pagination::{self, PageInfo};
use super::types::Ticket;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::mail_message;
use service::ServiceError;
use service::mail::quarantine;

/// Where an inbound mail is in the pipeline.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::MailStatus")]
pub enum MailStatus {
    /// 受信済み: stored, not processed yet.
    Received,
    /// 処理済み: became a ticket or a comment, or recorded a bounce.
    Processed,
    /// 対象外: automatic mail (auto-reply, bulk, our own), kept but not acted on.
    Ignored,
    /// 隔離: could not be processed; retry or discard it.
    Quarantined,
    /// 破棄: discarded by an agent; still stored.
    Discarded,
}

/// A mail that came in to a helpdesk address.
pub struct MailMessage(pub mail_message::Model);

#[Object]
/// A mail that came in to a helpdesk address.
impl MailMessage {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::MailMessage, self.0.id)
    }
    /// 状態
    async fn status(&self) -> MailStatus {
        self.0.status.into()
    }
    /// Why it was ignored or quarantined, as a stable code: `no_tenant`, `undecodable`,
    /// `no_sender`, `rate_limited`, `processing_error`, `auto_submitted`, `bulk`,
    /// `auto_reply`, `own_address`, `bounce_unmatched`.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// The reason in words (Japanese).
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
    /// What processing did: `created`, `commented` or `bounce`.
    async fn action(&self) -> Option<&str> {
        self.0.action.as_deref()
    }
    /// 差出人 (lower-cased address).
    async fn from_address(&self) -> Option<&str> {
        self.0.from_address.as_deref()
    }
    /// 件名, decoded.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The Message-ID header, without angle brackets.
    async fn message_id(&self) -> Option<&str> {
        self.0.message_id.as_deref()
    }
    /// The Date header.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    /// When it was stored.
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
    /// `pipe`, `maildir` or `imap`.
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// Size of the message as received, in bytes.
    async fn size(&self) -> i64 {
        self.0.raw_size
    }
    /// How many times processing was attempted.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The ticket it opened or replied to.
    async fn ticket(&self, ctx: &Context<'_>) -> ApiResult<Option<Ticket>> {
        let Some(id) = self.0.ticket_id else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.tickets.load_one(id).await?.map(Ticket::from))
    }
}

/// A page of inbound mail.
#[derive(SimpleObject)]
pub struct MailMessageConnection {
    /// The messages with their cursors.
    pub edges: Vec<MailMessageEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}

/// An inbound mail and its cursor.
#[derive(SimpleObject)]
pub struct MailMessageEdge {
    /// Pass as `after` to continue after this message.
    pub cursor: String,
    /// The message.
    pub node: MailMessage,
}

/// Inbound mail queries.
#[derive(Default)]
pub struct MailQuery;

#[Object]
impl MailQuery {
    /// Inbound mail of the viewer's tenant in the given statuses, newest first; by default
    /// the quarantine. Desk roles only (FORBIDDEN otherwise).
    async fn mail_quarantine(
        &self,
        ctx: &Context<'_>,
        statuses: Option<Vec<MailStatus>>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> ApiResult<MailMessageConnection> {
        let actor = ctx.actor()?;
        let (first, _) = pagination::args(first, None)?;
        let after_id = ids::decode_opt(after.as_ref(), NodeType::MailMessage)?;
        let statuses: Vec<entity::MailStatus> = statuses
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let page =
            svc(quarantine::list(&ctx.state().db.read, actor, &statuses, first, after_id).await)?;
        let start = page
            .items
            .first()
            .map(|m| encode(NodeType::MailMessage, m.id).0);
        let end = page
            .items
            .last()
            .map(|m| encode(NodeType::MailMessage, m.id).0);
        Ok(MailMessageConnection {
            edges: page
                .items
                .into_iter()
                .map(|m| MailMessageEdge {
                    cursor: encode(NodeType::MailMessage, m.id).0,
                    node: MailMessage(m),
                })
                .collect(),
            page_info: PageInfo::new(page.has_next, after_id.is_some(), start, end),
        })
    }
}

/// Input of `retryMail` and `discardMail`.
#[derive(InputObject)]
pub struct MailIdInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The MailMessage ID.
    pub mail_id: ID,
}

/// The result of `retryMail` and `discardMail`.
#[derive(SimpleObject)]
pub struct MailPayload {
    /// Echoes the input's clientMutationId.
    pub client_mutation_id: Option<String>,
    /// The message after the change; null when userErrors is not empty.
    pub mail: Option<MailMessage>,
    /// What was wrong; empty on success. `NOT_QUARANTINED` when the message is not in
    /// quarantine (any more).
    pub user_errors: Vec<UserError>,
}

fn payload(
    client_mutation_id: Option<String>,
    r: Result<mail_message::Model, ServiceError>,
) -> ApiResult<MailPayload> {
    match r {
        Ok(m) => Ok(MailPayload {
            client_mutation_id,
            mail: Some(MailMessage(m)),
            user_errors: vec![],
        }),
        Err(ServiceError::Invalid(errs)) => Ok(MailPayload {
            client_mutation_id,
            mail: None,
            user_errors: errs.into_iter().map(Into::into).collect(),
        }),
        Err(e) => Err(ApiError::from(e).into()),
    }
}

/// Inbound mail mutations.
#[derive(Default)]
pub struct MailMutation;

#[Object]
impl MailMutation {
    /// Processes a quarantined message again, without the sender rate cap (desk only). It
    /// may end up quarantined again, with the new reason.
    async fn retry_mail(&self, ctx: &Context<'_>, input: MailIdInput) -> ApiResult<MailPayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.mail_id, NodeType::MailMessage)?;
        let db = &ctx.state().db.write;
        if let Err(e) = quarantine::retryable(db, actor, id).await {
            return payload(input.client_mutation_id, Err(e));
        }
        bots::mail::retry(db, &[id]).await.map_err(|e| {
            tracing::error!(error = %e, mail = %id, "retrying mail failed");
            ApiError::Internal
        })?;
        payload(
            input.client_mutation_id,
            quarantine::get(db, actor, id).await,
        )
    }

    /// Takes a message out of the quarantine without processing it (desk only). It stays
    /// stored, raw bytes included.
    async fn discard_mail(&self, ctx: &Context<'_>, input: MailIdInput) -> ApiResult<MailPayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.mail_id, NodeType::MailMessage)?;
        payload(
            input.client_mutation_id,
            quarantine::discard(&ctx.state().db.write, actor, id).await,
        )
    }
}

/// What happens to mail from an address nobody in the directory has.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "service::mail::UnknownSender")]
pub enum UnknownSenderRule {
    /// 振り分け待ち: the ticket opens without a requester; an agent sorts it out.
    Triage,
    /// 連絡先として登録: the sender is added to the directory as a requester.
    Contact,
}

/// The character set of mail we send.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum OutgoingCharset {
    /// UTF-8 (default).
    Utf8,
    /// ISO-2022-JP (JIS), for old receivers; 7-bit.
    Iso2022Jp,
}

/// A tenant's mail rules.
#[derive(SimpleObject)]
pub struct MailSettings {
    /// The tenant's helpdesk address: mail to it becomes tickets, answers come from it.
    pub helpdesk_address: Option<String>,
    /// Other addresses of ours (aliases, the sending address): mail from them is never a ticket.
    pub own_addresses: Vec<String>,
    /// What happens to mail from an unknown sender.
    pub unknown_sender: UnknownSenderRule,
    /// The character set of the mail we send.
    pub outgoing_charset: OutgoingCharset,
    /// New tickets one sender may open by mail per hour before further mail is quarantined (0: no cap).
    pub sender_rate_per_hour: i32,
    /// Attachments larger than this are not stored separately (the raw mail keeps them) and are flagged.
    pub max_attachment_bytes: i32,
    /// Whether a mailed-in request is acknowledged with its ticket number (受付メール).
    pub acknowledge: bool,
}

impl MailSettings {
    fn new(helpdesk_address: Option<String>, s: service::mail::MailSettings) -> Self {
        Self {
            helpdesk_address,
            own_addresses: s.own_addresses,
            unknown_sender: s.unknown_sender.into(),
            outgoing_charset: if s.outgoing_charset == "iso-2022-jp" {
                OutgoingCharset::Iso2022Jp
            } else {
                OutgoingCharset::Utf8
            },
            sender_rate_per_hour: i32::try_from(s.sender_rate_per_hour).unwrap_or(i32::MAX),
            max_attachment_bytes: i32::try_from(s.max_attachment_bytes).unwrap_or(i32::MAX),
            acknowledge: s.acknowledge,
        }
    }
}

/// Input of `updateMailSettings`: fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateMailSettingsInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// Other addresses of ours (replaces the list).
    pub own_addresses: Option<Vec<String>>,
    /// What happens to mail from an unknown sender.
    pub unknown_sender: Option<UnknownSenderRule>,
    /// The character set of the mail we send.
    pub outgoing_charset: Option<OutgoingCharset>,
    /// New tickets per sender and hour, 0–10,000; 0 switches the cap off.
    pub sender_rate_per_hour: Option<i32>,
    /// Largest attachment stored separately, in bytes; at most 100 MB.
    pub max_attachment_bytes: Option<i32>,
    /// Acknowledge mailed-in requests with their ticket number.
    pub acknowledge: Option<bool>,
}

/// The result of `updateMailSettings`.
#[derive(SimpleObject)]
pub struct MailSettingsPayload {
    /// Echoes the input's clientMutationId.
    pub client_mutation_id: Option<String>,
    /// The settings after the change; null when userErrors is not empty.
    pub mail_settings: Option<MailSettings>,
    /// What was wrong; empty on success (`INVALID`, `OUT_OF_RANGE`, `INVALID_ADDRESS`).
    pub user_errors: Vec<UserError>,
}

async fn helpdesk_address(ctx: &Context<'_>, tenant_id: uuid::Uuid) -> ApiResult<Option<String>> {
    let t = svc(service::directory::tenant(&ctx.state().db.read, tenant_id).await)?;
    Ok(t.and_then(|t| t.helpdesk_email))
}

/// Mail settings queries.
#[derive(Default)]
pub struct MailSettingsQuery;

#[Object]
impl MailSettingsQuery {
    /// The viewer's tenant's mail rules (desk roles; FORBIDDEN otherwise).
    async fn mail_settings(&self, ctx: &Context<'_>) -> ApiResult<MailSettings> {
        let actor = ctx.actor()?;
        let s = svc(service::mail::settings_for(&ctx.state().db.read, actor).await)?;
        Ok(MailSettings::new(
            helpdesk_address(ctx, actor.tenant_id).await?,
            s,
        ))
    }
}

/// Mail settings mutations.
#[derive(Default)]
pub struct MailSettingsMutation;

#[Object]
impl MailSettingsMutation {
    /// Changes the viewer's tenant's mail rules (admin only; FORBIDDEN otherwise).
    async fn update_mail_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateMailSettingsInput,
    ) -> ApiResult<MailSettingsPayload> {
        let actor = ctx.actor()?;
        let db = &ctx.state().db.write;
        let mut s = svc(service::mail::settings_for(db, actor).await)?;
        if let Some(v) = input.own_addresses {
            s.own_addresses = v;
        }
        if let Some(v) = input.unknown_sender {
            s.unknown_sender = v.into();
        }
        if let Some(v) = input.outgoing_charset {
            s.outgoing_charset = match v {
                OutgoingCharset::Utf8 => "utf-8",
                OutgoingCharset::Iso2022Jp => "iso-2022-jp",
            }
            .to_owned();
        }
        let mut errors = Vec::new();
        let mut non_negative =
            |field: &str, v: Option<i32>, into: &mut u64| match v.map(u64::try_from) {
                Some(Ok(n)) => *into = n,
                Some(Err(_)) => errors.push(UserError::from(service::UserError::new(
                    field,
                    "OUT_OF_RANGE",
                    "0 以上で指定してください",
                ))),
                None => {}
            };
        let mut rate = u64::from(s.sender_rate_per_hour);
        non_negative("senderRatePerHour", input.sender_rate_per_hour, &mut rate);
        non_negative(
            "maxAttachmentBytes",
            input.max_attachment_bytes,
            &mut s.max_attachment_bytes,
        );
        s.sender_rate_per_hour = u32::try_from(rate).unwrap_or(u32::MAX);
        if let Some(v) = input.acknowledge {
            s.acknowledge = v;
        }
        let client_mutation_id = input.client_mutation_id;
        if !errors.is_empty() {
            return Ok(MailSettingsPayload {
                client_mutation_id,
                mail_settings: None,
                user_errors: errors,
            });
        }
        match service::mail::update_settings(db, actor, s).await {
            Ok(s) => Ok(MailSettingsPayload {
                client_mutation_id,
                mail_settings: Some(MailSettings::new(
                    helpdesk_address(ctx, actor.tenant_id).await?,
                    s,
                )),
                user_errors: vec![],
            }),
            Err(ServiceError::Invalid(errs)) => Ok(MailSettingsPayload {
                client_mutation_id,
                mail_settings: None,
                user_errors: errs.into_iter().map(Into::into).collect(),
            }),
            Err(e) => Err(ApiError::from(e).into()),
        }
    }
}
