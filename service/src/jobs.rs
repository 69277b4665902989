//! The job queue: work that must happen after a commit and survive a restart (sending mail,
//! later bot replies). A job is enqueued in the transaction of the change that needs it, so
//! it exists exactly when the change does; a worker claims it with a lease, and a job whose
//! worker died is taken again when the lease runs out. Failures are retried with exponential
//! backoff until `max_attempts`, then the job is kept as `failed` with its last error.
//!
//! Delivery is at least once: a worker that dies after the work but before [`complete`]
//! runs again, so work must be idempotent at its target (an outgoing mail keeps its
//! Message-ID, so a receiver, ours included, sees the same message twice at worst).

use chrono::{DateTime, Duration, Utc};
use entity::job;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::error::ServiceResult;

/// `queued`: waiting or being worked on (see `locked_until`).
pub const QUEUED: &str = "queued";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

/// What to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub tenant_id: Option<Uuid>,
    pub kind: &'static str,
    /// Unique per kind: enqueueing the same work again is a no-op.
    pub dedupe_key: String,
    pub payload: Payload,
    pub max_attempts: i32,
}

/// A job's payload: a JSON tree, or JSON written out already.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Json(Value),
    /// Written once by its maker and stored as it is: a chat reply is rendered straight to
    /// text, and the same text is stored and sent, without a tree built, copied and dropped
    /// in between.
    Text(JsonText),
}

impl From<Value> for Payload {
    fn from(v: Value) -> Self {
        Self::Json(v)
    }
}

impl Payload {
    /// The payload as it is stored.
    fn text(&self) -> ServiceResult<std::borrow::Cow<'_, str>> {
        match self {
            Self::Json(v) => serde_json::to_string(v)
                .map(Into::into)
                .map_err(|e| crate::ServiceError::Config(format!("job payload: {e}"))),
            Self::Text(t) => Ok(t.as_str().into()),
        }
    }

    /// The payload as a tree (text is parsed).
    pub fn into_value(self) -> Value {
        match self {
            Self::Json(v) => v,
            Self::Text(t) => t.to_value(),
        }
    }
}

/// JSON text, written by `serde_json` (so it is JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    /// `value` written out.
    pub fn of(value: &impl serde::Serialize) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As a tree.
    pub fn to_value(&self) -> Value {
        // Written by serde_json from a value it could write, so it reads back.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

fn queued(j: NewJob, at: DateTime<Utc>) -> job::ActiveModel {
    job::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(j.tenant_id),
        kind: Set(j.kind.to_owned()),
        dedupe_key: Set(j.dedupe_key),
        payload: Set(j.payload.into_value()),
        status: Set(QUEUED.to_owned()),
        attempts: Set(0),
        max_attempts: Set(Ord::max(j.max_attempts, 1)),
        run_at: Set(at),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// Enqueues a job (in the caller's transaction); a second job with the same kind and dedupe
/// key is ignored.
pub async fn enqueue(db: &impl ConnectionTrait, j: NewJob, at: DateTime<Utc>) -> ServiceResult<()> {
    if let Some(row) = crate::deferred::job(queued(j, at)) {
        job::Entity::insert(row)
            .on_conflict(crate::deferred::job_conflict())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Enqueues many jobs with multi-row inserts (a webhook intake's group); as with
/// [`enqueue`], a job whose kind and dedupe key are taken is ignored.
pub async fn enqueue_many(
    db: &impl ConnectionTrait,
    jobs: impl IntoIterator<Item = NewJob>,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let jobs: Vec<NewJob> = jobs.into_iter().collect();
    let rows: Vec<(Uuid, &NewJob)> = jobs.iter().map(|j| (Uuid::now_v7(), j)).collect();
    insert(db, &rows, None, at).await?;
    Ok(())
}

/// Enqueues a job already claimed by the caller for `lease` (a worker that will do at once the
/// work it is committing, and wants the job only as the record to retry from if it dies).
/// `None` when a job with the same kind and dedupe key exists: it is not the caller's to do.
pub async fn enqueue_claimed(
    db: &impl ConnectionTrait,
    j: NewJob,
    lease: Duration,
    at: DateTime<Utc>,
) -> ServiceResult<Option<job::Model>> {
    Ok(enqueue_claimed_many(db, vec![j], lease, at)
        .await?
        .pop()
        .flatten()
        .map(Claimed::into_model))
}

/// [`enqueue_claimed`] for many jobs with one multi-row insert: one answer per job, in order,
/// each with its payload as it was given (see [`Claimed`]).
pub async fn enqueue_claimed_many(
    db: &impl ConnectionTrait,
    jobs: Vec<NewJob>,
    lease: Duration,
    at: DateTime<Utc>,
) -> ServiceResult<Vec<Option<Claimed>>> {
    let refs: Vec<&NewJob> = jobs.iter().collect();
    let ids = insert_claimed(db, &refs, lease, at).await?;
    Ok(jobs
        .into_iter()
        .zip(ids)
        .map(|(j, id)| id.map(|id| claimed(j, id, lease, at)))
        .collect())
}

/// [`enqueue_claimed_many`] for jobs the caller keeps (a group commit, which may have to
/// write them again one by one): the ids of the jobs inserted, `None` for those whose kind
/// and dedupe key were taken; [`claimed`] makes the job of each.
pub async fn insert_claimed(
    db: &impl ConnectionTrait,
    jobs: &[&NewJob],
    lease: Duration,
    at: DateTime<Utc>,
) -> ServiceResult<Vec<Option<Uuid>>> {
    let rows: Vec<(Uuid, &NewJob)> = jobs.iter().map(|j| (Uuid::now_v7(), *j)).collect();
    let inserted = insert(db, &rows, Some(at + lease), at).await?;
    Ok(rows
        .into_iter()
        .map(|(id, _)| inserted.contains(&id).then_some(id))
        .collect())
}

/// A job claimed by the caller, as it was written: a payload given as text is kept as that
/// text (the model's payload is then `null`), so that a caller that works from the text (a
/// chat event read straight into its type, a LINE reply spliced into its request) never has
/// a tree built from it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub job: job::Model,
    pub text: Option<JsonText>,
}

impl Claimed {
    /// A job read from the database (its payload a tree).
    pub fn read(job: job::Model) -> Self {
        Self { job, text: None }
    }

    /// The job with its payload as a tree (text is parsed).
    pub fn into_model(self) -> job::Model {
        let mut job = self.job;
        if let Some(text) = self.text {
            job.payload = text.to_value();
        }
        job
    }
}

/// The job [`insert_claimed`] wrote for `j` as `id`.
pub fn claimed(j: NewJob, id: Uuid, lease: Duration, at: DateTime<Utc>) -> Claimed {
    let (payload, text) = match j.payload {
        Payload::Json(v) => (v, None),
        Payload::Text(t) => (Value::Null, Some(t)),
    };
    let job = job::Model {
        id,
        tenant_id: j.tenant_id,
        kind: j.kind.to_owned(),
        dedupe_key: j.dedupe_key,
        payload,
        status: QUEUED.to_owned(),
        attempts: 1,
        max_attempts: Ord::max(j.max_attempts, 1),
        run_at: at,
        locked_until: Some(at + lease),
        last_error: None,
        created_at: at,
        updated_at: at,
    };
    Claimed { job, text }
}

/// Inserts jobs with one statement a chunk, skipping those whose kind and dedupe key are
/// taken; `claimed_until` writes them claimed (one attempt begun) until then. Returns the ids
/// inserted when claimed (the caller does those), nothing otherwise.
///
/// Written by hand: through SeaORM's `insert_many`, each row became an active model, then a
/// query tree, and each payload was copied as a JSON tree once more to be bound. The chat
/// intake writes 200 webhooks' events here while they wait for their answers, and the turns'
/// group commit their replies. Payloads are bound as their JSON text, as the driver would
/// write them (cast to `jsonb` on PostgreSQL).
async fn insert(
    db: &impl ConnectionTrait,
    jobs: &[(Uuid, &NewJob)],
    claimed_until: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> ServiceResult<std::collections::HashSet<Uuid>> {
    use sea_orm::{Statement, Value as Bound};
    const COLUMNS: &str = "id, tenant_id, kind, dedupe_key, status, attempts, max_attempts, \
                           run_at, created_at, updated_at, locked_until, payload, last_error";
    const PARAMS_A_ROW: usize = 12;
    const ROWS: usize = crate::deferred::MAX_PARAMS / PARAMS_A_ROW;
    let backend = db.get_database_backend();
    let attempts = i32::from(claimed_until.is_some());
    let mut inserted = std::collections::HashSet::new();
    for chunk in jobs.chunks(ROWS) {
        let mut sql = format!("INSERT INTO jobs ({COLUMNS}) VALUES ");
        let mut values: Vec<Bound> = Vec::with_capacity(PARAMS_A_ROW * chunk.len());
        for (row, (id, j)) in chunk.iter().enumerate() {
            let payload = j.payload.text()?.into_owned();
            values.extend([
                (*id).into(),
                j.tenant_id.into(),
                j.kind.into(),
                j.dedupe_key.as_str().into(),
                QUEUED.into(),
                attempts.into(),
                Ord::max(j.max_attempts, 1).into(),
                at.into(),
                at.into(),
                at.into(),
                claimed_until.into(),
                payload.into(),
            ]);
            let first = row * PARAMS_A_ROW + 1;
            let params = crate::db::placeholders(backend, first, PARAMS_A_ROW - 1);
            let payload = crate::db::json_placeholder(backend, first + PARAMS_A_ROW - 1);
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("({params}, {payload}, NULL)"));
        }
        sql.push_str(" ON CONFLICT (kind, dedupe_key) DO NOTHING");
        if claimed_until.is_some() {
            sql.push_str(" RETURNING id");
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
            for r in rows {
                inserted.insert(r.try_get::<Uuid>("", "id")?);
            }
        } else {
            db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
        }
    }
    Ok(inserted)
}

/// Claims up to `limit` due jobs of `kind` for `lease`: each is taken by one conditional
/// update, so two workers never hold the same job (on SQLite and PostgreSQL alike).
pub async fn claim(
    db: &impl ConnectionTrait,
    kind: &str,
    lease: Duration,
    limit: u64,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<job::Model>> {
    claim_kinds(db, &[kind], lease, limit, now).await
}

/// [`claim`] for jobs of any of `kinds`, oldest first, with one statement.
pub async fn claim_kinds(
    db: &impl ConnectionTrait,
    kinds: &[&str],
    lease: Duration,
    limit: u64,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<job::Model>> {
    let free = || {
        Condition::any()
            .add(job::Column::LockedUntil.is_null())
            .add(job::Column::LockedUntil.lt(now))
    };
    // One statement: the due jobs' ids, and the conditional update that takes them. A job
    // another worker took in between no longer matches and is left out.
    let due = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(match kinds {
            [kind] => job::Column::Kind.eq(*kind),
            _ => job::Column::Kind.is_in(kinds.iter().copied()),
        })
        .filter(job::Column::Status.eq(QUEUED))
        .filter(job::Column::RunAt.lte(now))
        .filter(free())
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .limit(limit)
        .into_query();
    let until = now + lease;
    let mut claimed = job::Entity::update_many()
        .col_expr(job::Column::LockedUntil, Expr::value(until))
        .col_expr(
            job::Column::Attempts,
            Expr::col(job::Column::Attempts).add(1),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.in_subquery(due))
        .filter(job::Column::Status.eq(QUEUED))
        .filter(free())
        .exec_with_returning(db)
        .await?;
    claimed.sort_by_key(|j| (j.run_at, j.id));
    Ok(claimed)
}

/// Marks a claimed job done.
pub async fn complete(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    set_status(db, id, DONE, None, None, now).await
}

/// Marks claimed jobs done (a group commit's).
pub async fn complete_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    mark_done(db, ids, false, now).await
}

/// Marks a claimed job done and drops its payload (a chat message that may carry a one-time
/// link: once delivered it is not kept).
pub async fn complete_scrubbed(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    complete_scrubbed_many(db, &[id], now).await
}

/// [`complete_scrubbed`] for many jobs.
pub async fn complete_scrubbed_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    mark_done(db, ids, true, now).await
}

/// Marks jobs done, one statement a thousand ids; `scrub` drops their payloads.
async fn mark_done(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    scrub: bool,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    // Padded to a few lengths, so that a group commit's varying number of jobs reuses a few
    // prepared statements instead of preparing a new one for each length.
    for chunk in ids.chunks(512) {
        let chunk = crate::db::stable_in_list(chunk);
        let mut q = released(DONE, now);
        if scrub {
            q = q.col_expr(
                job::Column::Payload,
                Expr::value(serde_json::json!({ "scrubbed": true })),
            );
        }
        q.filter(job::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Runs again at this time.
    At(DateTime<Utc>),
    /// Out of attempts (or the failure is permanent): kept as `failed`.
    GaveUp,
}

/// Records a failed attempt: the job runs again after a backoff, or is given up when it is
/// out of attempts or `permanent`.
pub async fn fail(
    db: &impl ConnectionTrait,
    j: &job::Model,
    error: &str,
    permanent: bool,
    now: DateTime<Utc>,
) -> ServiceResult<Retry> {
    if permanent || j.attempts >= j.max_attempts {
        set_status(db, j.id, FAILED, Some(error), None, now).await?;
        return Ok(Retry::GaveUp);
    }
    let at = now + backoff(j.attempts);
    set_status(db, j.id, QUEUED, Some(error), Some(at), now).await?;
    Ok(Retry::At(at))
}

/// Records a failed attempt the target asked us to repeat no earlier than `not_before` (a
/// `Retry-After`, at least a second away) instead of after the usual backoff; given up when out
/// of attempts.
pub async fn fail_not_before(
    db: &impl ConnectionTrait,
    j: &job::Model,
    error: &str,
    not_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ServiceResult<Retry> {
    if j.attempts >= j.max_attempts {
        set_status(db, j.id, FAILED, Some(error), None, now).await?;
        return Ok(Retry::GaveUp);
    }
    let at = Ord::max(not_before, now + Duration::seconds(1));
    set_status(db, j.id, QUEUED, Some(error), Some(at), now).await?;
    Ok(Retry::At(at))
}

/// 30 s after the first failure, doubling up to an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    Duration::seconds(Ord::min(30_i64 << exp, 3600))
}

/// An update that gives jobs `status` and releases their lease.
fn released(status: &str, now: DateTime<Utc>) -> sea_orm::UpdateMany<job::Entity> {
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status))
        .col_expr(
            job::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
}

async fn set_status(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: &str,
    error: Option<&str>,
    run_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let mut q = released(status, now);
    if let Some(e) = error {
        q = q.col_expr(job::Column::LastError, Expr::value(e));
    }
    if let Some(at) = run_at {
        q = q.col_expr(job::Column::RunAt, Expr::value(at));
    }
    q.filter(job::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}

/// Counts of jobs of a kind by status, for monitoring and tests.
pub async fn counts(db: &impl ConnectionTrait, kind: &str) -> ServiceResult<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = job::Entity::find()
        .select_only()
        .column(job::Column::Status)
        .column_as(job::Column::Id.count(), "n")
        .filter(job::Column::Kind.eq(kind))
        .group_by(job::Column::Status)
        .order_by_asc(job::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_to_an_hour() {
        let secs: Vec<i64> = (1..=10).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(0).num_seconds(), 30);
    }
}
