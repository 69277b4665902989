//! Writing tickets: create, update, comment, assign, change status, escalate.
//!
//! Each write runs in one transaction: the change, its history event and any SLA bookkeeping
//! commit together or not at all. Bad input is refused before anything is written.

use super::workflow::{can_transition, is_done, is_reopen, label_ja};
use super::{get, now, record_event};
use crate::auth::{Actor, Role};
use crate::error::{ServiceError, ServiceResult, UserError};
use crate::sla::{self, ResolvedPolicy};
use crate::{directory, tz};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{
    Channel, Impact, Priority, Severity, TicketKind, TicketStatus, person, tenant, ticket,
    ticket_comment, ticket_event,
};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IntoActiveModel, Iterable, ModelTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// Longest ticket title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest description or comment, in characters.
pub const BODY_MAX: usize = 20_000;
/// Longest short free-text field (other system's name), in characters.
pub const SHORT_MAX: usize = 200;

/// A new ticket as the caller describes it.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub kind: TicketKind,
    /// Desk only; requesters' tickets come in through `web`.
    pub channel: Option<Channel>,
    pub title: String,
    pub description: String,
    /// Desk only; defaults to normal.
    pub priority: Option<Priority>,
    pub severity: Option<Severity>,
    pub impact: Option<Impact>,
    pub category_id: Option<Uuid>,
    /// Desk only; a requester's own tickets are theirs.
    pub requester_id: Option<Uuid>,
    /// Defaults to the requester's org unit.
    pub org_unit_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub out_of_scope: bool,
    pub out_of_scope_system: Option<String>,
    pub security_occurred_on: Option<NaiveDate>,
    pub security_event: Option<String>,
}

impl NewTicket {
    /// Returns a minimal new ticket of `kind` with a title and description; the rest defaulted.
    pub fn new(kind: TicketKind, title: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            kind,
            channel: None,
            title: title.into(),
            description: description.into(),
            priority: None,
            severity: None,
            impact: None,
            category_id: None,
            requester_id: None,
            org_unit_id: None,
            assignee_id: None,
            out_of_scope: false,
            out_of_scope_system: None,
            security_occurred_on: None,
            security_event: None,
        }
    }
}

/// Changes to a ticket's fields. `None` keeps a field; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<TicketKind>,
    pub channel: Option<Channel>,
    pub priority: Option<Priority>,
    pub severity: Option<Option<Severity>>,
    pub impact: Option<Option<Impact>>,
    pub category_id: Option<Option<Uuid>>,
    pub requester_id: Option<Option<Uuid>>,
    pub org_unit_id: Option<Option<Uuid>>,
    pub out_of_scope: Option<bool>,
    pub out_of_scope_system: Option<Option<String>>,
    pub cause: Option<Option<String>>,
    pub interim_measure: Option<Option<String>>,
    pub recovery_outlook: Option<Option<String>>,
    pub recurrence_prevention: Option<Option<String>>,
    pub failure_report_submitted_at: Option<Option<DateTime<Utc>>>,
    pub security_occurred_on: Option<Option<NaiveDate>>,
    pub security_event: Option<Option<String>>,
    pub security_interim_action: Option<Option<String>>,
    pub security_permanent_action: Option<Option<String>>,
    pub security_report_stage: Option<Option<String>>,
    /// When set, the update fails with a conflict unless the ticket is still at this version.
    pub expected_version: Option<i32>,
}

/// A write's outcome: the ticket as it now is and the events the write appended.
#[derive(Debug, Clone)]
pub struct TicketChange {
    pub ticket: ticket::Model,
    pub events: Vec<ticket_event::Model>,
    /// The comment the write added, if any.
    pub comment: Option<ticket_comment::Model>,
}

/// Collects user errors so that one response reports every problem at once.
#[derive(Default)]
struct Check(Vec<UserError>);

impl Check {
    fn text(&mut self, field: &str, value: &str, max: usize, required: bool) {
        let n = value.chars().count();
        if required && value.trim().is_empty() {
            self.0
                .push(UserError::new(field, "REQUIRED", "入力してください"));
        } else if n > max {
            self.0.push(UserError::new(
                field,
                "TOO_LONG",
                format!("{max}文字以内で入力してください（現在{n}文字）"),
            ));
        }
    }

    fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.text(field, v, max, false);
        }
    }

    fn forbid(&mut self, field: &str, present: bool) {
        if present {
            self.0.push(UserError::new(
                field,
                "FORBIDDEN_FIELD",
                "この項目はヘルプデスクのみ設定できます",
            ));
        }
    }

    fn push(&mut self, e: UserError) {
        self.0.push(e);
    }

    fn finish(self) -> ServiceResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid(self.0))
        }
    }
}

fn unknown(field: &str) -> UserError {
    UserError::new(field, "UNKNOWN_REFERENCE", "指定された値が見つかりません")
}

/// Checks references belong to the actor's tenant; a foreign id reads as unknown.
async fn check_refs(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    check: &mut Check,
    category_id: Option<Uuid>,
    requester_id: Option<Uuid>,
    org_unit_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
) -> ServiceResult<Option<person::Model>> {
    if let Some(id) = category_id
        && directory::category(db, tenant_id, id).await?.is_none()
    {
        check.push(unknown("categoryId"));
    }
    if let Some(id) = org_unit_id
        && directory::org_unit(db, tenant_id, id).await?.is_none()
    {
        check.push(unknown("orgUnitId"));
    }
    let mut requester = None;
    if let Some(id) = requester_id {
        requester = directory::person(db, tenant_id, id).await?;
        if requester.is_none() {
            check.push(unknown("requesterId"));
        }
    }
    if let Some(id) = assignee_id {
        check_assignee(db, tenant_id, check, id).await?;
    }
    Ok(requester)
}

async fn check_assignee(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    check: &mut Check,
    id: Uuid,
) -> ServiceResult<()> {
    match directory::person(db, tenant_id, id).await? {
        None => check.push(unknown("assigneeId")),
        Some(p) if !directory::roles_of(&p).is_desk() || !p.active => check.push(UserError::new(
            "assigneeId",
            "NOT_AN_AGENT",
            "担当者にはヘルプデスクの担当者を指定してください",
        )),
        Some(_) => {}
    }
    Ok(())
}

/// Hands out the next readable number for the tenant and year, atomically on both engines.
async fn next_number(
    txn: &DatabaseTransaction,
    tenant_id: Uuid,
    prefix: &str,
    year: i32,
) -> ServiceResult<String> {
    let stmt = Query::insert()
        .into_table("ticket_counters")
        .columns(["tenant_id", "year", "last_value"])
        .values_panic([tenant_id.into(), year.into(), 1i64.into()])
        .on_conflict(
            OnConflict::columns(["tenant_id", "year"])
                .value(
                    "last_value",
                    Expr::col(("ticket_counters", "last_value")).add(1),
                )
                .to_owned(),
        )
        .returning_col("last_value")
        .to_owned();
    let row = txn
        .query_one(&stmt)
        .await?
        .ok_or_else(|| ServiceError::Config("ticket counter returned no row".to_owned()))?;
    let n: i64 = row.try_get("", "last_value")?;
    Ok(format!("{prefix}-{year}-{n:06}"))
}

/// Opens a ticket. Requesters open their own (channel `web`); the desk opens any, for anyone.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewTicket,
) -> ServiceResult<TicketChange> {
    create_at(db, actor, input, now()).await
}

/// [`create`] at a given instant (demo data, imports, tests).
pub async fn create_at(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewTicket,
    at: DateTime<Utc>,
) -> ServiceResult<TicketChange> {
    let txn = db.begin().await?;
    let change = create_in(&txn, actor, input, None, at).await?;
    txn.commit().await?;
    Ok(change)
}

/// [`create`] inside the caller's transaction; a front door (a chat) names the channel a
/// requester's ticket came in through (otherwise `web`).
pub(crate) async fn create_in(
    txn: &DatabaseTransaction,
    actor: &Actor,
    mut input: NewTicket,
    requester_channel: Option<Channel>,
    at: DateTime<Utc>,
) -> ServiceResult<TicketChange> {
    if !actor.is_desk() && !actor.has(Role::Requester) {
        return Err(ServiceError::Forbidden(
            "only requesters and the desk open tickets",
        ));
    }
    let mut check = Check::default();
    check.text("title", &input.title, TITLE_MAX, true);
    check.text("description", &input.description, BODY_MAX, false);
    check.opt_text(
        "outOfScopeSystem",
        input.out_of_scope_system.as_deref(),
        SHORT_MAX,
    );
    check.opt_text("securityEvent", input.security_event.as_deref(), BODY_MAX);
    if !actor.is_desk() {
        check.forbid("channel", input.channel.is_some());
        check.forbid("priority", input.priority.is_some());
        check.forbid("severity", input.severity.is_some());
        check.forbid("impact", input.impact.is_some());
        check.forbid("assigneeId", input.assignee_id.is_some());
        check.forbid("orgUnitId", input.org_unit_id.is_some());
        check.forbid("outOfScope", input.out_of_scope);
        check.forbid(
            "requesterId",
            input.requester_id.is_some_and(|r| r != actor.person_id),
        );
        input.requester_id = Some(actor.person_id);
        input.channel = Some(requester_channel.unwrap_or(Channel::Web));
    }
    let requester = check_refs(
        txn,
        actor.tenant_id,
        &mut check,
        input.category_id,
        input.requester_id,
        input.org_unit_id,
        input.assignee_id,
    )
    .await?;
    check.finish()?;

    let tenant = directory::tenant(txn, actor.tenant_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let org_unit_id = input
        .org_unit_id
        .or_else(|| requester.as_ref().and_then(|p| p.org_unit_id));
    let (t, ev) = insert_ticket(
        txn,
        &tenant,
        input,
        org_unit_id,
        Some(actor.person_id),
        Map::new(),
        at,
    )
    .await?;
    Ok(TicketChange {
        ticket: t,
        events: vec![ev],
        comment: None,
    })
}

/// Records a service request the system has already carried out (a self-service password
/// reset): opened for `requester` through `channel`, with an audit event of `event_kind`, and
/// resolved at once by nobody in particular, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_done(
    txn: &DatabaseTransaction,
    tenant: &tenant::Model,
    requester: &person::Model,
    channel: Channel,
    title: &str,
    description: &str,
    event_kind: &str,
    event_payload: Value,
    at: DateTime<Utc>,
) -> ServiceResult<ticket::Model> {
    let mut input = NewTicket::new(TicketKind::ServiceRequest, title, description);
    input.channel = Some(channel);
    input.requester_id = Some(requester.id);
    let (t, _) = insert_ticket(
        txn,
        tenant,
        input,
        requester.org_unit_id,
        None,
        Map::new(),
        at,
    )
    .await?;
    record_event(txn, &t, None, event_kind, event_payload, false, at).await?;
    let system = Author {
        person_id: None,
        is_desk: true,
    };
    let (t, _) = transition(
        txn,
        system,
        &t,
        TicketStatus::Resolved,
        Some("セルフサービスで完了".to_owned()),
        true,
        at,
    )
    .await?;
    Ok(t)
}

/// Who is writing, as far as the workflow cares: a person (or nobody, for an unknown mail
/// sender) and whether they are the desk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Author {
    pub person_id: Option<Uuid>,
    pub is_desk: bool,
}

impl From<&Actor> for Author {
    fn from(a: &Actor) -> Self {
        Self {
            person_id: Some(a.person_id),
            is_desk: a.is_desk(),
        }
    }
}

/// Inserts a checked new ticket and its `created` event; role checks are the caller's.
/// `extra` goes into the event payload (the mail that opened it, for instance).
pub(crate) async fn insert_ticket(
    txn: &DatabaseTransaction,
    tenant: &tenant::Model,
    input: NewTicket,
    org_unit_id: Option<Uuid>,
    actor_id: Option<Uuid>,
    extra: Map<String, Value>,
    at: DateTime<Utc>,
) -> ServiceResult<(ticket::Model, ticket_event::Model)> {
    let year = at.with_timezone(&tz::TOKYO).year();
    let number = next_number(txn, tenant.id, &tenant.ticket_prefix, year).await?;
    let priority = input.priority.unwrap_or(Priority::Normal);
    let policy = sla::policy_for(txn, tenant.id, input.kind, priority).await?;
    let model = ticket::Model {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        number,
        kind: input.kind,
        channel: input.channel.unwrap_or(Channel::Web),
        status: TicketStatus::New,
        priority,
        severity: input.severity,
        impact: input.impact,
        title: input.title.trim().to_owned(),
        description: input.description,
        category_id: input.category_id,
        requester_id: input.requester_id,
        org_unit_id,
        assignee_id: input.assignee_id,
        escalation_vendor_id: None,
        out_of_scope: input.out_of_scope,
        out_of_scope_system: input.out_of_scope_system,
        cause: None,
        interim_measure: None,
        recovery_outlook: None,
        recurrence_prevention: None,
        failure_report_due_at: None,
        failure_report_submitted_at: None,
        security_occurred_on: input.security_occurred_on,
        security_event: input.security_event,
        security_interim_action: None,
        security_permanent_action: None,
        security_report_stage: None,
        sla_policy_id: policy.as_ref().map(|p| p.policy.id),
        response_due_at: policy.as_ref().map(|p| p.response_due(at)),
        resolution_due_at: policy.as_ref().map(|p| p.resolution_due(at, 0)),
        first_responded_at: None,
        sla_paused_at: None,
        sla_paused_secs: 0,
        response_breached_at: None,
        resolution_breached_at: None,
        resolved_at: None,
        closed_at: None,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    let t = model.into_active_model().reset_all().insert(txn).await?;
    let mut payload = json!({
        "number": t.number,
        "kind": t.kind,
        "channel": t.channel,
        "priority": t.priority,
        "assigneeId": t.assignee_id,
    });
    if let Some(p) = payload.as_object_mut() {
        p.extend(extra);
    }
    let ev = record_event(txn, &t, actor_id, "created", payload, false, at).await?;
    Ok((t, ev))
}

/// Saves `next` over `prev` only if nobody changed it in between.
async fn save(
    txn: &DatabaseTransaction,
    prev: &ticket::Model,
    mut next: ticket::Model,
    at: DateTime<Utc>,
) -> ServiceResult<ticket::Model> {
    next.version = prev.version + 1;
    next.updated_at = std::cmp::max(at, prev.updated_at);
    // Only the columns that changed: assigning the id (even to itself) makes SQLite check
    // every table that refers to tickets, and every assigned column rewrites its indexes
    // (2.2 ms an update for a comment by mail, against 0.1 ms).
    let mut changed = ticket::ActiveModel::new();
    for c in ticket::Column::iter() {
        let v = next.get(c);
        if prev.get(c) != v {
            changed.set(c, v);
        }
    }
    let res = ticket::Entity::update_many()
        .set(changed)
        .filter(ticket::Column::Id.eq(prev.id))
        .filter(ticket::Column::Version.eq(prev.version))
        .exec(txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::Conflict(
            "the ticket was changed by someone else",
        ));
    }
    Ok(next)
}

fn diff<T: serde::Serialize + PartialEq>(
    changes: &mut Map<String, Value>,
    name: &str,
    old: &T,
    new: &T,
) {
    if old != new {
        changes.insert(name.to_owned(), json!({ "from": old, "to": new }));
    }
}

/// Changes a ticket's fields (desk only), recording each changed field's old and new value.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    patch: TicketPatch,
) -> ServiceResult<TicketChange> {
    update_at(db, actor, id, patch, now()).await
}

/// [`update`] at a given instant.
pub async fn update_at(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    p: TicketPatch,
    at: DateTime<Utc>,
) -> ServiceResult<TicketChange> {
    let txn = db.begin().await?;
    let prev = get(&txn, actor, id).await?;
    if !actor.is_desk() {
        return Err(ServiceError::Forbidden("only the desk edits tickets"));
    }
    if let Some(v) = p.expected_version
        && v != prev.version
    {
        return Err(ServiceError::Conflict(
            "the ticket was changed by someone else",
        ));
    }
    let mut check = Check::default();
    if let Some(t) = &p.title {
        check.text("title", t, TITLE_MAX, true);
    }
    if let Some(d) = &p.description {
        check.text("description", d, BODY_MAX, false);
    }
    check.opt_text(
        "outOfScopeSystem",
        p.out_of_scope_system.as_ref().and_then(|o| o.as_deref()),
        SHORT_MAX,
    );
    for (field, v) in [
        ("cause", &p.cause),
        ("interimMeasure", &p.interim_measure),
        ("recoveryOutlook", &p.recovery_outlook),
        ("recurrencePrevention", &p.recurrence_prevention),
        ("securityEvent", &p.security_event),
        ("securityInterimAction", &p.security_interim_action),
        ("securityPermanentAction", &p.security_permanent_action),
    ] {
        check.opt_text(field, v.as_ref().and_then(|o| o.as_deref()), BODY_MAX);
    }
    if let Some(Some(stage)) = &p.security_report_stage
        && !matches!(stage.as_str(), "first" | "interim" | "final")
    {
        check.push(UserError::new(
            "securityReportStage",
            "INVALID_VALUE",
            "報告段階は first（第一報）・interim（中間報告）・final（最終報告）のいずれかです",
        ));
    }
    check_refs(
        &txn,
        actor.tenant_id,
        &mut check,
        p.category_id.flatten(),
        p.requester_id.flatten(),
        p.org_unit_id.flatten(),
        None,
    )
    .await?;
    check.finish()?;

    let mut next = prev.clone();
    let mut ch = Map::new();
    macro_rules! apply {
        ($field:ident, $name:literal) => {
            if let Some(v) = p.$field {
                diff(&mut ch, $name, &prev.$field, &v);
                next.$field = v;
            }
        };
    }
    if let Some(t) = p.title {
        let t = t.trim().to_owned();
        diff(&mut ch, "title", &prev.title, &t);
        next.title = t;
    }
    apply!(description, "description");
    apply!(kind, "kind");
    apply!(channel, "channel");
    apply!(priority, "priority");
    apply!(severity, "severity");
    apply!(impact, "impact");
    apply!(category_id, "categoryId");
    apply!(requester_id, "requesterId");
    apply!(org_unit_id, "orgUnitId");
    apply!(out_of_scope, "outOfScope");
    apply!(out_of_scope_system, "outOfScopeSystem");
    apply!(cause, "cause");
    apply!(interim_measure, "interimMeasure");
    apply!(recovery_outlook, "recoveryOutlook");
    apply!(recurrence_prevention, "recurrencePrevention");
    apply!(failure_report_submitted_at, "failureReportSubmittedAt");
    apply!(security_occurred_on, "securityOccurredOn");
    apply!(security_event, "securityEvent");
    apply!(security_interim_action, "securityInterimAction");
    apply!(security_permanent_action, "securityPermanentAction");
    apply!(security_report_stage, "securityReportStage");
    if ch.is_empty() {
        txn.commit().await?;
        return Ok(TicketChange {
            ticket: prev,
            events: vec![],
            comment: None,
        });
    }
    if (next.kind != prev.kind || next.priority != prev.priority) && !is_done(next.status) {
        // A different kind or priority can mean a different policy: recompute from the start,
        // keeping the time already spent waiting on the requester.
        let policy = sla::policy_for(&txn, next.tenant_id, next.kind, next.priority).await?;
        apply_policy(&mut next, policy.as_ref());
        diff(
            &mut ch,
            "resolutionDueAt",
            &prev.resolution_due_at,
            &next.resolution_due_at,
        );
    }
    let t = save(&txn, &prev, next, at).await?;
    let ev = record_event(
        &txn,
        &t,
        Some(actor.person_id),
        "updated",
        json!({ "changes": ch }),
        false,
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(TicketChange {
        ticket: t,
        events: vec![ev],
        comment: None,
    })
}

fn apply_policy(t: &mut ticket::Model, policy: Option<&ResolvedPolicy>) {
    t.sla_policy_id = policy.map(|p| p.policy.id);
    t.response_due_at = policy.map(|p| p.response_due(t.created_at));
    t.resolution_due_at = policy.map(|p| p.resolution_due(t.created_at, t.sla_paused_secs));
}

/// Adds a comment. Requesters comment publicly on their own tickets (and a reply to a ticket
/// waiting on them puts it back in progress); vendors comment on what was escalated to them;
/// the desk writes public or internal comments, the first public one counting as the response.
pub async fn add_comment(
    db: &DatabaseConnection,
    actor: &Actor,
    ticket_id: Uuid,
    body: &str,
    internal: bool,
) -> ServiceResult<TicketChange> {
    add_comment_at(db, actor, ticket_id, body, internal, now()).await
}

/// [`add_comment`] at a given instant.
pub async fn add_comment_at(
    db: &DatabaseConnection,
    actor: &Actor,
    ticket_id: Uuid,
    body: &str,
    internal: bool,
    at: DateTime<Utc>,
) -> ServiceResult<TicketChange> {
    let txn = db.begin().await?;
    let prev = get(&txn, actor, ticket_id).await?;
    let mut check = Check::default();
    check.text("body", body, BODY_MAX, true);
    if internal && !actor.is_desk() {
        check.forbid("internal", true);
    }
    if prev.status == TicketStatus::Closed {
        check.push(UserError::new(
            "ticketId",
            "TICKET_CLOSED",
            "完了したチケットにはコメントできません。再オープンしてください",
        ));
    }
    check.finish()?;
    let change = insert_comment(&txn, actor.into(), &prev, body, internal, Map::new(), at).await?;
    if actor.is_desk() && !internal {
        let notice = crate::mail::outbound::Notice::Comment { body };
        crate::mail::outbound::notify(&txn, &change.ticket, notice, at).await?;
        crate::chat::notify(
            &txn,
            &change.ticket,
            crate::chat::Notice::Comment { body },
            at,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(change)
}

/// Inserts a checked comment with its event; a requester's public reply to a ticket waiting
/// on them puts it back in progress, and the desk's first public comment is the response.
pub(crate) async fn insert_comment(
    txn: &DatabaseTransaction,
    by: Author,
    prev: &ticket::Model,
    body: &str,
    internal: bool,
    extra: Map<String, Value>,
    at: DateTime<Utc>,
) -> ServiceResult<TicketChange> {
    let comment = ticket_comment::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(prev.tenant_id),
        ticket_id: Set(prev.id),
        author_id: Set(by.person_id),
        body: Set(body.to_owned()),
        internal: Set(internal),
        created_at: Set(at),
    }
    .insert(txn)
    .await?;
    let mut next = prev.clone();
    let mut events = vec![];
    let is_requester_reply =
        !by.is_desk && by.person_id.is_some() && prev.requester_id == by.person_id;
    if by.is_desk && !internal && next.first_responded_at.is_none() {
        next.first_responded_at = Some(at);
    }
    let t = save(txn, prev, next, at).await?;
    let mut payload = json!({ "commentId": comment.id, "internal": internal });
    if let Some(p) = payload.as_object_mut() {
        p.extend(extra);
    }
    events.push(record_event(txn, &t, by.person_id, "commented", payload, internal, at).await?);
    let t = if is_requester_reply && t.status == TicketStatus::WaitingOnRequester {
        let (t2, ev) = transition(txn, by, &t, TicketStatus::InProgress, None, true, at).await?;
        events.extend(ev);
        t2
    } else {
        t
    };
    Ok(TicketChange {
        ticket: t,
        events,
        comment: Some(comment),
    })
}

/// Assigns the ticket to a desk person, or unassigns it with `None` (desk only).
pub async fn assign(
    db: &DatabaseConnection,
    actor: &Actor,
    ticket_id: Uuid,
    assignee_id: Option<Uuid>,
) -> ServiceResult<TicketChange> {
    assign_at(db, actor, ticket_id, assignee_id, now()).await
}

/// [`assign`] at a given instant.
pub async fn assign_at(
    db: &DatabaseConnection,
    actor: &Actor,
    ticket_id: Uuid,
    assignee_id: Option<Uuid>,
    at: DateTime<Utc>,
) -> ServiceResult<TicketChange> {
    let txn = db.begin().await?;
    let prev = get(&txn, actor, ticket_id).await?;
    if !actor.is_desk() {
        return Err(ServiceError::Forbidden("only the desk assigns tickets"));
    }
    let mut check = Check::default();
    if let Some(a) = assignee_id {
        check_assignee(&txn, actor.tenant_id, &mut check, a).await?;
    }
    check.finish()?;
    if prev.assignee_id == assignee_id {
        txn.commit().await?;
        return Ok(TicketChange {
            ticket: prev,
            events: vec![],
            comment: None,
        });
    }
    let mut next = prev.clone();
    next.assignee_id = assignee_id;
    let t = save(&txn, &prev, next, at).await?;
    let ev = record_event(
        &txn,
        &t,
        Some(actor.person_id),
        "assigned",
        json!({ "from": prev.assignee_id, "to": assignee_id }),
        false,
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(TicketChange {
        ticket: t,
        events: vec![ev],
        comment: None,
    })
}

/// Moves a ticket through the workflow. The desk may make any allowed move; a requester may
/// close or reopen their own resolved ticket. Waiting on the requester pauses the SLA clock.
pub async fn change_status(
    db: &DatabaseConnection,
    actor: &Actor,
    ticket_id: Uuid,
    to: TicketStatus,
    note: Option<String>,
) -> ServiceResult<TicketChange> {
    change_status_at(db, actor, ticket_id, to, note, now()).await
}

/// [`change_status`] at a given instant.
pub async fn change_status_at(
    db: &DatabaseConnection,
    actor: &Actor,
    ticket_id: Uuid,
    to: TicketStatus,
    note: Option<String>,
    at: DateTime<Utc>,
) -> ServiceResult<TicketChange> {
    let txn = db.begin().await?;
    let prev = get(&txn, actor, ticket_id).await?;
    if !actor.is_desk() {
        let own = prev.requester_id == Some(actor.person_id);
        let allowed = own
            && prev.status == TicketStatus::Resolved
            && matches!(to, TicketStatus::Closed | TicketStatus::InProgress);
        if !allowed {
            return Err(ServiceError::Forbidden("only the desk changes this status"));
        }
    }
    let mut check = Check::default();
    check.opt_text("note", note.as_deref(), BODY_MAX);
    if !can_transition(prev.status, to) {
        check.push(UserError::new(
            "status",
            "INVALID_TRANSITION",
            format!(
                "「{}」から「{}」へは変更できません",
                label_ja(prev.status),
                label_ja(to)
            ),
        ));
    } else if to == TicketStatus::Escalated && prev.escalation_vendor_id.is_none() {
        check.push(UserError::new(
            "status",
            "ESCALATION_TARGET_REQUIRED",
            "エスカレーション先を指定してください（escalateTicket を使用）",
        ));
    }
    check.finish()?;
    let resolution_note = note.clone();
    let (t, events) = transition(&txn, actor.into(), &prev, to, note, false, at).await?;
    if to == TicketStatus::Resolved && actor.is_desk() {
        let notice = crate::mail::outbound::Notice::Resolved {
            note: resolution_note.as_deref(),
        };
        crate::mail::outbound::notify(&txn, &t, notice, at).await?;
        let note = resolution_note.as_deref();
        crate::chat::notify(&txn, &t, crate::chat::Notice::Resolved { note }, at).await?;
    }
    txn.commit().await?;
    Ok(TicketChange {
        ticket: t,
        events,
        comment: None,
    })
}

/// Applies a status change with its SLA effects and records it.
pub(crate) async fn transition(
    txn: &DatabaseTransaction,
    by: Author,
    prev: &ticket::Model,
    to: TicketStatus,
    note: Option<String>,
    automatic: bool,
    at: DateTime<Utc>,
) -> ServiceResult<(ticket::Model, Vec<ticket_event::Model>)> {
    let from = prev.status;
    let mut next = prev.clone();
    next.status = to;
    // The policy (two queries) matters only when the clock resumes or the ticket is resolved.
    let needs_policy = prev.sla_paused_at.is_some() || to == TicketStatus::Resolved;
    let policy = match prev.sla_policy_id {
        Some(_) if needs_policy => {
            sla::policy_for(txn, prev.tenant_id, prev.kind, prev.priority).await?
        }
        _ => None,
    };
    // Leaving "waiting on requester": the time spent waiting does not count.
    if let Some(paused) = prev.sla_paused_at {
        if let Some(p) = &policy {
            next.sla_paused_secs += p.clock_between(paused, at).num_seconds();
            next.resolution_due_at = Some(p.resolution_due(next.created_at, next.sla_paused_secs));
        }
        next.sla_paused_at = None;
    }
    if to == TicketStatus::WaitingOnRequester {
        next.sla_paused_at = Some(at);
    }
    if by.is_desk && next.first_responded_at.is_none() && to != TicketStatus::New {
        next.first_responded_at = Some(at);
    }
    let mut events = vec![];
    match to {
        TicketStatus::Resolved => {
            next.resolved_at = Some(at);
            next.failure_report_due_at = policy.as_ref().and_then(|p| p.failure_report_due(at));
        }
        TicketStatus::Closed => next.closed_at = Some(at),
        _ if is_reopen(from, to) => {
            next.resolved_at = None;
            next.closed_at = None;
        }
        _ => {}
    }
    let t = save(txn, prev, next, at).await?;
    let kind = if is_reopen(from, to) {
        "reopened"
    } else {
        "status_changed"
    };
    events.push(
        record_event(
            txn,
            &t,
            by.person_id,
            kind,
            json!({ "from": from, "to": to, "note": note, "automatic": automatic }),
            false,
            at,
        )
        .await?,
    );
    // A ticket resolved late was breached even if the job had not noticed yet.
    if to == TicketStatus::Resolved
        && t.resolution_breached_at.is_none()
        && let Some(due) = t.resolution_due_at.filter(|d| *d < at)
    {
        let mut late = t.clone();
        late.resolution_breached_at = Some(due);
        let t2 = save(txn, &t, late, at).await?;
        events.push(
            record_event(
                txn,
                &t2,
                None,
                "sla_breached",
                json!({ "target": "resolution", "dueAt": due }),
                false,
                at,
            )
            .await?,
        );
        return Ok((t2, events));
    }
    Ok((t, events))
}

/// Escalates a ticket to a vendor (二次対応), or re-escalates it to another (desk only).
pub async fn escalate(
    db: &DatabaseConnection,
    actor: &Actor,
    ticket_id: Uuid,
    vendor_id: Uuid,
    note: Option<String>,
) -> ServiceResult<TicketChange> {
    escalate_at(db, actor, ticket_id, vendor_id, note, now()).await
}

/// [`escalate`] at a given instant.
pub async fn escalate_at(
    db: &DatabaseConnection,
    actor: &Actor,
    ticket_id: Uuid,
    vendor_id: Uuid,
    note: Option<String>,
    at: DateTime<Utc>,
) -> ServiceResult<TicketChange> {
    let txn = db.begin().await?;
    let prev = get(&txn, actor, ticket_id).await?;
    if !actor.is_desk() {
        return Err(ServiceError::Forbidden("only the desk escalates tickets"));
    }
    let mut check = Check::default();
    check.opt_text("note", note.as_deref(), BODY_MAX);
    if directory::vendor(&txn, actor.tenant_id, vendor_id)
        .await?
        .is_none()
    {
        check.push(unknown("vendorId"));
    }
    let re_escalation = prev.status == TicketStatus::Escalated;
    if !re_escalation && !can_transition(prev.status, TicketStatus::Escalated) {
        check.push(UserError::new(
            "ticketId",
            "INVALID_TRANSITION",
            format!(
                "「{}」のチケットはエスカレーションできません",
                label_ja(prev.status)
            ),
        ));
    } else if re_escalation && prev.escalation_vendor_id == Some(vendor_id) {
        check.push(UserError::new(
            "vendorId",
            "ALREADY_ESCALATED",
            "すでにこの事業者へエスカレーション済みです",
        ));
    }
    check.finish()?;
    let mut staged = prev.clone();
    staged.escalation_vendor_id = Some(vendor_id);
    let staged = save(&txn, &prev, staged, at).await?;
    let mut events = vec![
        record_event(
            &txn,
            &staged,
            Some(actor.person_id),
            "escalated",
            json!({ "fromVendorId": prev.escalation_vendor_id, "toVendorId": vendor_id, "note": note }),
            false,
            at,
        )
        .await?,
    ];
    let t = if re_escalation {
        staged
    } else {
        let (t, ev) = transition(
            &txn,
            actor.into(),
            &staged,
            TicketStatus::Escalated,
            None,
            true,
            at,
        )
        .await?;
        events.extend(ev);
        t
    };
    txn.commit().await?;
    Ok(TicketChange {
        ticket: t,
        events,
        comment: None,
    })
}
