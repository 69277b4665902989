//! The root mutation: one `input`, one payload with `userErrors`, GitHub style.

use super::calendars::{DeskCalendar, UpdateDeskCalendarInput};
use super::context::CtxExt;
use super::enums::*;
use super::errors::{ApiError, ApiResult};
use super::ids::{self, NodeType};
use super::types::{Ticket, TicketComment};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use service::tickets::{self, NewTicket, TicketChange, TicketPatch};
use service::{ServiceError, tickets::TicketScopeKey};

/// A problem with the input that the user can fix; nothing was written.
#[derive(SimpleObject, Clone)]
pub struct UserError {
    /// Path to the input field, e.g. `["input", "title"]`.
    pub field: Vec<String>,
    /// What is wrong, in Japanese.
    pub message: String,
    /// Stable code: REQUIRED, TOO_LONG, FORBIDDEN_FIELD, UNKNOWN_REFERENCE, NOT_AN_AGENT,
    /// INVALID_TRANSITION, ESCALATION_TARGET_REQUIRED, ALREADY_ESCALATED, TICKET_CLOSED, INVALID_VALUE,
    /// INVALID_CALENDAR, OUT_OF_RANGE.
    pub code: String,
}

impl From<service::UserError> for UserError {
    fn from(u: service::UserError) -> Self {
        Self {
            field: u.field,
            message: u.message,
            code: u.code.to_owned(),
        }
    }
}

/// The result of a ticket mutation.
#[derive(SimpleObject)]
pub struct TicketPayload {
    /// Echoes the input's clientMutationId.
    pub client_mutation_id: Option<String>,
    /// The ticket after the change; null when userErrors is not empty.
    pub ticket: Option<Ticket>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The result of `addTicketComment`.
#[derive(SimpleObject)]
pub struct AddTicketCommentPayload {
    /// Echoes the input's clientMutationId.
    pub client_mutation_id: Option<String>,
    /// The new comment.
    pub comment: Option<TicketComment>,
    /// The ticket after the change.
    pub ticket: Option<Ticket>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The result of `updateDeskCalendar`.
#[derive(SimpleObject)]
pub struct UpdateDeskCalendarPayload {
    /// Echoes the input's clientMutationId.
    pub client_mutation_id: Option<String>,
    /// The calendar after the change; null when userErrors is not empty.
    pub desk_calendar: Option<DeskCalendar>,
    /// What was wrong with the input; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Input of `createTicket`.
#[derive(InputObject)]
pub struct CreateTicketInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// What kind of work this is.
    pub kind: TicketKind,
    /// 件名 (1–200 characters).
    pub title: String,
    /// 内容 (up to 20,000 characters).
    #[graphql(default)]
    pub description: String,
    /// Desk only; requesters' tickets come in as WEB.
    pub channel: Option<Channel>,
    /// Desk only; defaults to NORMAL.
    pub priority: Option<Priority>,
    /// Desk only.
    pub severity: Option<Severity>,
    /// Desk only.
    pub impact: Option<Impact>,
    /// A TicketCategory ID.
    pub category_id: Option<ID>,
    /// Desk only: whom the ticket is for (a Person ID). Requesters open tickets for themselves.
    pub requester_id: Option<ID>,
    /// Desk only; defaults to the requester's org unit.
    pub org_unit_id: Option<ID>,
    /// Desk only: an agent's Person ID.
    pub assignee_id: Option<ID>,
    /// Desk only: 切り分け, the matter belongs to another system.
    #[graphql(default)]
    pub out_of_scope: bool,
    /// Desk only: which other system.
    pub out_of_scope_system: Option<String>,
    /// Security incidents: 発生年月日.
    pub security_occurred_on: Option<NaiveDate>,
    /// Security incidents: 事象.
    pub security_event: Option<String>,
}

/// Input of `updateTicket` (desk only). Omitted fields stay; `null` clears a nullable field.
#[derive(InputObject)]
pub struct UpdateTicketInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Ticket ID.
    pub ticket_id: ID,
    /// Fail with CONFLICT unless the ticket is still at this version.
    pub expected_version: Option<i32>,
    /// 件名.
    pub title: Option<String>,
    /// 内容.
    pub description: Option<String>,
    /// Kind; may change the SLA policy.
    pub kind: Option<TicketKind>,
    /// Channel.
    pub channel: Option<Channel>,
    /// Priority; may change the SLA policy.
    pub priority: Option<Priority>,
    /// 障害レベル.
    pub severity: MaybeUndefined<Severity>,
    /// 業務影響範囲.
    pub impact: MaybeUndefined<Impact>,
    /// TicketCategory ID.
    pub category_id: MaybeUndefined<ID>,
    /// Person ID.
    pub requester_id: MaybeUndefined<ID>,
    /// OrgUnit ID.
    pub org_unit_id: MaybeUndefined<ID>,
    /// 切り分け.
    pub out_of_scope: Option<bool>,
    /// The other system.
    pub out_of_scope_system: MaybeUndefined<String>,
    /// 発生原因.
    pub cause: MaybeUndefined<String>,
    /// 暫定対応.
    pub interim_measure: MaybeUndefined<String>,
    /// 復旧見込み.
    pub recovery_outlook: MaybeUndefined<String>,
    /// 再発防止策.
    pub recurrence_prevention: MaybeUndefined<String>,
    /// When the failure report was submitted.
    pub failure_report_submitted_at: MaybeUndefined<DateTime<Utc>>,
    /// 発生年月日.
    pub security_occurred_on: MaybeUndefined<NaiveDate>,
    /// 事象.
    pub security_event: MaybeUndefined<String>,
    /// 一時対応.
    pub security_interim_action: MaybeUndefined<String>,
    /// 恒久対応.
    pub security_permanent_action: MaybeUndefined<String>,
    /// 報告段階.
    pub security_report_stage: MaybeUndefined<SecurityReportStage>,
}

/// Input of `addTicketComment`.
#[derive(InputObject)]
pub struct AddTicketCommentInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Ticket ID.
    pub ticket_id: ID,
    /// The text (1–20,000 characters).
    pub body: String,
    /// Internal note, seen only by the desk (desk only).
    #[graphql(default)]
    pub internal: bool,
}

/// Input of `assignTicket` (desk only).
#[derive(InputObject)]
pub struct AssignTicketInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Ticket ID.
    pub ticket_id: ID,
    /// An agent's Person ID; null unassigns.
    pub assignee_id: Option<ID>,
}

/// Input of `changeTicketStatus`.
#[derive(InputObject)]
pub struct ChangeTicketStatusInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Ticket ID.
    pub ticket_id: ID,
    /// The new state. Requesters may only close or reopen their own resolved ticket.
    pub status: TicketStatus,
    /// Why, recorded in the history.
    pub note: Option<String>,
}

/// Input of `escalateTicket` (desk only).
#[derive(InputObject)]
pub struct EscalateTicketInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Ticket ID.
    pub ticket_id: ID,
    /// The Vendor ID to escalate to (二次対応先).
    pub vendor_id: ID,
    /// What the vendor should know, recorded in the history.
    pub note: Option<String>,
}

fn maybe<T, U>(
    m: MaybeUndefined<T>,
    f: impl FnOnce(T) -> Result<U, ApiError>,
) -> Result<Option<Option<U>>, ApiError> {
    Ok(match m {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(f(v)?)),
    })
}

fn same<T>(v: T) -> Result<T, ApiError> {
    Ok(v)
}

/// Turns a service outcome into a payload: user errors go into the payload, the rest are errors.
fn payload(
    ctx: &Context<'_>,
    client_mutation_id: Option<String>,
    r: Result<TicketChange, ServiceError>,
) -> ApiResult<(TicketPayload, Option<TicketComment>)> {
    match r {
        Ok(change) => {
            ctx.state()
                .publish(TicketScopeKey::from(&change.ticket), &change.events);
            Ok((
                TicketPayload {
                    client_mutation_id,
                    ticket: Some(Ticket::from(change.ticket)),
                    user_errors: vec![],
                },
                change.comment.map(TicketComment),
            ))
        }
        Err(ServiceError::Invalid(errs)) => Ok((
            TicketPayload {
                client_mutation_id,
                ticket: None,
                user_errors: errs.into_iter().map(Into::into).collect(),
            },
            None,
        )),
        Err(e) => Err(ApiError::from(e).into()),
    }
}

/// The root mutation.
#[derive(Default)]
pub struct MutationRoot;

/// The root mutation: each takes one `input` and returns a payload with `userErrors`.
#[Object(name = "TicketMutation")]
impl MutationRoot {
    /// Opens a ticket. Requesters open their own (channel WEB); the desk opens any, e.g. from a phone call.
    async fn create_ticket(
        &self,
        ctx: &Context<'_>,
        input: CreateTicketInput,
    ) -> ApiResult<TicketPayload> {
        let actor = ctx.actor()?;
        let new = NewTicket {
            kind: input.kind.into(),
            channel: input.channel.map(Into::into),
            title: input.title,
            description: input.description,
            priority: input.priority.map(Into::into),
            severity: input.severity.map(Into::into),
            impact: input.impact.map(Into::into),
            category_id: ids::decode_opt(input.category_id.as_ref(), NodeType::TicketCategory)?,
            requester_id: ids::decode_opt(input.requester_id.as_ref(), NodeType::Person)?,
            org_unit_id: ids::decode_opt(input.org_unit_id.as_ref(), NodeType::OrgUnit)?,
            assignee_id: ids::decode_opt(input.assignee_id.as_ref(), NodeType::Person)?,
            out_of_scope: input.out_of_scope,
            out_of_scope_system: input.out_of_scope_system,
            security_occurred_on: input.security_occurred_on,
            security_event: input.security_event,
        };
        let r = tickets::create(&ctx.state().db.write, actor, new).await;
        Ok(payload(ctx, input.client_mutation_id, r)?.0)
    }

    /// Changes a ticket's fields (desk only). Each changed field is recorded with its old and new value.
    async fn update_ticket(
        &self,
        ctx: &Context<'_>,
        input: UpdateTicketInput,
    ) -> ApiResult<TicketPayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.ticket_id, NodeType::Ticket)?;
        let patch = TicketPatch {
            title: input.title,
            description: input.description,
            kind: input.kind.map(Into::into),
            channel: input.channel.map(Into::into),
            priority: input.priority.map(Into::into),
            severity: maybe(input.severity, |v| Ok(v.into()))?,
            impact: maybe(input.impact, |v| Ok(v.into()))?,
            category_id: maybe(input.category_id, |v| {
                ids::decode(&v, NodeType::TicketCategory)
            })?,
            requester_id: maybe(input.requester_id, |v| ids::decode(&v, NodeType::Person))?,
            org_unit_id: maybe(input.org_unit_id, |v| ids::decode(&v, NodeType::OrgUnit))?,
            out_of_scope: input.out_of_scope,
            out_of_scope_system: maybe(input.out_of_scope_system, same)?,
            cause: maybe(input.cause, same)?,
            interim_measure: maybe(input.interim_measure, same)?,
            recovery_outlook: maybe(input.recovery_outlook, same)?,
            recurrence_prevention: maybe(input.recurrence_prevention, same)?,
            failure_report_submitted_at: maybe(input.failure_report_submitted_at, same)?,
            security_occurred_on: maybe(input.security_occurred_on, same)?,
            security_event: maybe(input.security_event, same)?,
            security_interim_action: maybe(input.security_interim_action, same)?,
            security_permanent_action: maybe(input.security_permanent_action, same)?,
            security_report_stage: maybe(input.security_report_stage, |s| {
                Ok(s.as_db().to_owned())
            })?,
            expected_version: input.expected_version,
        };
        let r = tickets::update(&ctx.state().db.write, actor, id, patch).await;
        Ok(payload(ctx, input.client_mutation_id, r)?.0)
    }

    /// Adds a public or internal comment. The desk's first public comment counts as the response
    /// (着手); a requester's reply to a ticket waiting on them puts it back in progress.
    async fn add_ticket_comment(
        &self,
        ctx: &Context<'_>,
        input: AddTicketCommentInput,
    ) -> ApiResult<AddTicketCommentPayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.ticket_id, NodeType::Ticket)?;
        let r = tickets::add_comment(
            &ctx.state().db.write,
            actor,
            id,
            &input.body,
            input.internal,
        )
        .await;
        let (p, comment) = payload(ctx, input.client_mutation_id, r)?;
        Ok(AddTicketCommentPayload {
            client_mutation_id: p.client_mutation_id,
            comment,
            ticket: p.ticket,
            user_errors: p.user_errors,
        })
    }

    /// Assigns a ticket to an agent, or unassigns it (desk only).
    async fn assign_ticket(
        &self,
        ctx: &Context<'_>,
        input: AssignTicketInput,
    ) -> ApiResult<TicketPayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.ticket_id, NodeType::Ticket)?;
        let assignee = ids::decode_opt(input.assignee_id.as_ref(), NodeType::Person)?;
        let r = tickets::assign(&ctx.state().db.write, actor, id, assignee).await;
        Ok(payload(ctx, input.client_mutation_id, r)?.0)
    }

    /// Moves a ticket through the workflow; invalid moves come back as INVALID_TRANSITION.
    async fn change_ticket_status(
        &self,
        ctx: &Context<'_>,
        input: ChangeTicketStatusInput,
    ) -> ApiResult<TicketPayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.ticket_id, NodeType::Ticket)?;
        let r = tickets::change_status(
            &ctx.state().db.write,
            actor,
            id,
            input.status.into(),
            input.note,
        )
        .await;
        Ok(payload(ctx, input.client_mutation_id, r)?.0)
    }

    /// Changes a desk calendar (admin only). New deadlines follow it; stored ones stay as promised.
    async fn update_desk_calendar(
        &self,
        ctx: &Context<'_>,
        input: UpdateDeskCalendarInput,
    ) -> ApiResult<UpdateDeskCalendarPayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.calendar_id, NodeType::DeskCalendar)?;
        let client_mutation_id = input.client_mutation_id.clone();
        match service::calendars::update(&ctx.state().db.write, actor, id, input.into_patch()).await
        {
            Ok(row) => Ok(UpdateDeskCalendarPayload {
                client_mutation_id,
                desk_calendar: Some(DeskCalendar::new(row)?),
                user_errors: vec![],
            }),
            Err(ServiceError::Invalid(errs)) => Ok(UpdateDeskCalendarPayload {
                client_mutation_id,
                desk_calendar: None,
                user_errors: errs.into_iter().map(Into::into).collect(),
            }),
            Err(e) => Err(ApiError::from(e).into()),
        }
    }

    /// Escalates a ticket to a vendor (二次対応), who then sees it (desk only).
    async fn escalate_ticket(
        &self,
        ctx: &Context<'_>,
        input: EscalateTicketInput,
    ) -> ApiResult<TicketPayload> {
        let actor = ctx.actor()?;
        let id = ids::decode(&input.ticket_id, NodeType::Ticket)?;
        let vendor = ids::decode(&input.vendor_id, NodeType::Vendor)?;
        let r = tickets::escalate(&ctx.state().db.write, actor, id, vendor, input.note).await;
        Ok(payload(ctx, input.client_mutation_id, r)?.0)
    }
}
