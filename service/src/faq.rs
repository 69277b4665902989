//! The FAQ (よくある質問): articles, their versions, votes and views, and import.
//!
//! The desk (agents, supervisors, admins) writes articles; a requester reads
//! the published ones meant for them (staff, teacher or student). Every change
//! saves a version and queues the article for the search index in the same
//! transaction.

use std::collections::HashSet;

use chrono::NaiveDate;
use entity::{FaqStatus, PersonKind, faq_article, faq_article_version, faq_vote};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use search_index::DocKind;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::{Actor, Role},
    directory,
    error::{ServiceError, ServiceResult, UserError},
    page::Page,
    search::outbox,
    tickets::now,
};

pub const QUESTION_MAX: usize = 500;
pub const ANSWER_MAX: usize = 20_000;
pub const CATEGORY_MAX: usize = 100;
pub const KEYWORDS_MAX: usize = 50;
pub const KEYWORD_MAX: usize = 100;
pub const AUDIENCES: [&str; 3] = ["staff", "teacher", "student"];

/// An article's content as written or imported.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct FaqInput {
    /// Stable code (faq-001); generated when empty.
    #[serde(default, alias = "id")]
    pub code: String,
    pub category: String,
    pub audience: Vec<String>,
    pub question: String,
    pub answer: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub last_reviewed_on: Option<NaiveDate>,
}

/// Filters for the article list.
#[derive(Debug, Clone, Default)]
pub struct FaqFilter {
    pub statuses: Vec<FaqStatus>,
    pub categories: Vec<String>,
    pub audience: Option<String>,
}

/// What the actor may read, as SQL.
async fn scope(db: &impl ConnectionTrait, actor: &Actor) -> ServiceResult<Condition> {
    let tenant = Condition::all().add(faq_article::Column::TenantId.eq(actor.tenant_id));
    if actor.is_desk() {
        return Ok(tenant);
    }
    if !actor.has(Role::Requester) {
        return Ok(tenant.add(faq_article::Column::Id.is_null()));
    }
    let audience = audience_of(db, actor).await?;
    Ok(tenant
        .add(faq_article::Column::Status.eq(FaqStatus::Published))
        .add(faq_article::Column::Audience.like(format!("%{audience}%"))))
}

/// The FAQ audience a requester belongs to.
pub async fn audience_of(db: &impl ConnectionTrait, actor: &Actor) -> ServiceResult<&'static str> {
    let person = directory::person(db, actor.tenant_id, actor.person_id).await?;
    Ok(match person.map(|p| p.kind) {
        Some(PersonKind::Teacher) => "teacher",
        Some(PersonKind::Student) => "student",
        _ => "staff",
    })
}

/// One article in scope.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<faq_article::Model> {
    faq_article::Entity::find_by_id(id)
        .filter(scope(db, actor).await?)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// One article in scope by its code (faq-001).
pub async fn get_by_code(
    db: &impl ConnectionTrait,
    actor: &Actor,
    code: &str,
) -> ServiceResult<faq_article::Model> {
    faq_article::Entity::find()
        .filter(faq_article::Column::Code.eq(code))
        .filter(scope(db, actor).await?)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Articles in scope by id (for search hits and loaders); missing ones are left out.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<Vec<faq_article::Model>> {
    Ok(faq_article::Entity::find()
        .filter(faq_article::Column::Id.is_in(ids.to_vec()))
        .filter(scope(db, actor).await?)
        .all(db)
        .await?)
}

/// Articles in scope ordered by code, `first` after the one with code `after`.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &FaqFilter,
    first: u64,
    after: Option<&str>,
) -> ServiceResult<Page<faq_article::Model>> {
    let mut q = faq_article::Entity::find().filter(scope(db, actor).await?);
    if !filter.statuses.is_empty() {
        q = q.filter(faq_article::Column::Status.is_in(filter.statuses.clone()));
    }
    if !filter.categories.is_empty() {
        q = q.filter(faq_article::Column::Category.is_in(filter.categories.clone()));
    }
    if let Some(a) = &filter.audience {
        q = q.filter(faq_article::Column::Audience.like(format!("%{a}%")));
    }
    if let Some(after) = after {
        q = q.filter(faq_article::Column::Code.gt(after));
    }
    let rows = q
        .order_by_asc(faq_article::Column::Code)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// An article's saved versions, newest first (the desk only).
pub async fn versions(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<Vec<faq_article_version::Model>> {
    let a = get(db, actor, id).await?;
    if !actor.is_desk() {
        return Err(ServiceError::Forbidden("versions are for the desk"));
    }
    Ok(faq_article_version::Entity::find()
        .filter(faq_article_version::Column::ArticleId.eq(a.id))
        .order_by_desc(faq_article_version::Column::Version)
        .all(db)
        .await?)
}

fn validate(input: &FaqInput) -> Vec<UserError> {
    let mut errors = Vec::new();
    let len = |s: &str| s.chars().count();
    let required =
        |field: &str, value: &str, max: usize, label: &str, errors: &mut Vec<UserError>| {
            if value.trim().is_empty() {
                errors.push(UserError::new(
                    field,
                    "REQUIRED",
                    format!("{label}を入力してください"),
                ));
            } else if len(value) > max {
                errors.push(UserError::new(
                    field,
                    "TOO_LONG",
                    format!("{label}は{max}文字以内で入力してください"),
                ));
            }
        };
    required(
        "question",
        &input.question,
        QUESTION_MAX,
        "質問",
        &mut errors,
    );
    required("answer", &input.answer, ANSWER_MAX, "回答", &mut errors);
    required(
        "category",
        &input.category,
        CATEGORY_MAX,
        "カテゴリ",
        &mut errors,
    );
    if !input.code.is_empty()
        && (input.code.len() > 50
            || !input
                .code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        errors.push(UserError::new(
            "code",
            "INVALID",
            "コードは英数字・ハイフン・下線の50文字以内です",
        ));
    }
    if input.audience.is_empty() {
        errors.push(UserError::new(
            "audience",
            "REQUIRED",
            "対象（職員・教職員・児童生徒）を1つ以上選んでください",
        ));
    } else if let Some(bad) = input
        .audience
        .iter()
        .find(|a| !AUDIENCES.contains(&a.as_str()))
    {
        errors.push(UserError::new(
            "audience",
            "INVALID",
            format!("対象「{bad}」は staff / teacher / student のいずれかです"),
        ));
    }
    if input.keywords.len() > KEYWORDS_MAX {
        errors.push(UserError::new(
            "keywords",
            "TOO_MANY",
            format!("キーワードは{KEYWORDS_MAX}個までです"),
        ));
    } else if input.keywords.iter().any(|k| len(k) > KEYWORD_MAX) {
        errors.push(UserError::new(
            "keywords",
            "TOO_LONG",
            format!("キーワードは1つ{KEYWORD_MAX}文字以内です"),
        ));
    }
    errors
}

fn audience_string(audience: &[String]) -> String {
    let set: HashSet<&str> = audience.iter().map(String::as_str).collect();
    AUDIENCES
        .iter()
        .filter(|a| set.contains(*a))
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

fn keywords_string(keywords: &[String]) -> String {
    keywords
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn require_desk(actor: &Actor) -> ServiceResult<()> {
    if actor.is_desk() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("the FAQ is written by the desk"))
    }
}

async fn save_version(
    db: &impl ConnectionTrait,
    a: &faq_article::Model,
    editor: Option<Uuid>,
) -> ServiceResult<()> {
    faq_article_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(a.tenant_id),
        article_id: Set(a.id),
        version: Set(a.version),
        category: Set(a.category.clone()),
        audience: Set(a.audience.clone()),
        question: Set(a.question.clone()),
        answer: Set(a.answer.clone()),
        keywords: Set(a.keywords.clone()),
        status: Set(a.status),
        editor_id: Set(editor),
        created_at: Set(a.updated_at),
    }
    .insert(db)
    .await?;
    outbox::enqueue(db, a.tenant_id, DocKind::Faq, a.id, a.updated_at).await
}

/// Creates an article as a draft (or published, for imports).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: FaqInput,
    status: FaqStatus,
) -> ServiceResult<faq_article::Model> {
    require_desk(actor)?;
    let errors = validate(&input);
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let txn = db.begin().await?;
    let id = Uuid::now_v7();
    let code = if input.code.is_empty() {
        format!("faq-{}", &id.simple().to_string()[..12])
    } else {
        input.code.clone()
    };
    let taken = faq_article::Entity::find()
        .filter(faq_article::Column::TenantId.eq(actor.tenant_id))
        .filter(faq_article::Column::Code.eq(&code))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(ServiceError::invalid(
            "code",
            "TAKEN",
            format!("コード「{code}」は使われています"),
        ));
    }
    let at = now();
    let a = faq_article::ActiveModel {
        id: Set(id),
        tenant_id: Set(actor.tenant_id),
        code: Set(code),
        category: Set(input.category.trim().to_owned()),
        audience: Set(audience_string(&input.audience)),
        question: Set(input.question.trim().to_owned()),
        answer: Set(input.answer.trim().to_owned()),
        keywords: Set(keywords_string(&input.keywords)),
        status: Set(status),
        version: Set(1),
        view_count: Set(0),
        helpful_count: Set(0),
        not_helpful_count: Set(0),
        last_reviewed_on: Set(input.last_reviewed_on),
        created_at: Set(at),
        updated_at: Set(at),
        published_at: Set((status == FaqStatus::Published).then_some(at)),
    }
    .insert(&txn)
    .await?;
    save_version(&txn, &a, Some(actor.person_id)).await?;
    txn.commit().await?;
    Ok(a)
}

/// Replaces an article's content; `expected_version` guards against lost updates.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: FaqInput,
    expected_version: Option<i32>,
) -> ServiceResult<faq_article::Model> {
    require_desk(actor)?;
    let errors = validate(&input);
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(errors));
    }
    let txn = db.begin().await?;
    let a = get(&txn, actor, id).await?;
    if expected_version.is_some_and(|v| v != a.version) {
        return Err(ServiceError::Conflict(
            "the article was changed by someone else",
        ));
    }
    let changed = a.category != input.category.trim()
        || a.audience != audience_string(&input.audience)
        || a.question != input.question.trim()
        || a.answer != input.answer.trim()
        || a.keywords != keywords_string(&input.keywords)
        || input
            .last_reviewed_on
            .is_some_and(|d| a.last_reviewed_on != Some(d));
    if !changed {
        return Ok(a);
    }
    let version = a.version;
    let mut m = a.into_active_model();
    m.category = Set(input.category.trim().to_owned());
    m.audience = Set(audience_string(&input.audience));
    m.question = Set(input.question.trim().to_owned());
    m.answer = Set(input.answer.trim().to_owned());
    m.keywords = Set(keywords_string(&input.keywords));
    if input.last_reviewed_on.is_some() {
        m.last_reviewed_on = Set(input.last_reviewed_on);
    }
    m.version = Set(version + 1);
    m.updated_at = Set(now());
    let a = save_checked(&txn, id, m, version).await?;
    save_version(&txn, &a, Some(actor.person_id)).await?;
    txn.commit().await?;
    Ok(a)
}

/// Saves only if nobody changed the row since `version` was read.
async fn save_checked(
    db: &impl ConnectionTrait,
    id: Uuid,
    m: faq_article::ActiveModel,
    version: i32,
) -> ServiceResult<faq_article::Model> {
    let res = faq_article::Entity::update_many()
        .set(m)
        .filter(faq_article::Column::Id.eq(id))
        .filter(faq_article::Column::Version.eq(version))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Err(ServiceError::Conflict(
            "the article was changed by someone else",
        ));
    }
    faq_article::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Publishes, archives or returns an article to draft.
pub async fn set_status(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    status: FaqStatus,
) -> ServiceResult<faq_article::Model> {
    require_desk(actor)?;
    let txn = db.begin().await?;
    let a = get(&txn, actor, id).await?;
    if a.status == status {
        return Ok(a);
    }
    let version = a.version;
    let at = now();
    let mut m = a.into_active_model();
    m.status = Set(status);
    m.version = Set(version + 1);
    m.updated_at = Set(at);
    if status == FaqStatus::Published {
        m.published_at = Set(Some(at));
    }
    let a = save_checked(&txn, id, m, version).await?;
    save_version(&txn, &a, Some(actor.person_id)).await?;
    txn.commit().await?;
    Ok(a)
}

/// Records that `voter` found the article helpful or not; voting again
/// changes the vote, never counts it twice.
pub async fn vote(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    voter: &str,
    helpful: bool,
) -> ServiceResult<faq_article::Model> {
    let txn = db.begin().await?;
    let a = get(&txn, actor, id).await?;
    let a = vote_on(&txn, a, voter, helpful).await?;
    txn.commit().await?;
    Ok(a)
}

/// Records a vote on an article the caller has already checked is in scope (in the caller's
/// transaction).
pub(crate) async fn vote_on(
    txn: &DatabaseTransaction,
    a: faq_article::Model,
    voter: &str,
    helpful: bool,
) -> ServiceResult<faq_article::Model> {
    let previous = faq_vote::Entity::find_by_id((a.id, voter.to_owned()))
        .one(txn)
        .await?;
    let (d_helpful, d_not): (i64, i64) = match previous.as_ref().map(|v| v.helpful) {
        Some(h) if h == helpful => (0, 0),
        Some(true) => (-1, 1),
        Some(false) => (1, -1),
        None if helpful => (1, 0),
        None => (0, 1),
    };
    if d_helpful == 0 && d_not == 0 {
        return Ok(a);
    }
    match previous {
        Some(v) => {
            let mut v = v.into_active_model();
            v.helpful = Set(helpful);
            v.update(txn).await?;
        }
        None => {
            faq_vote::ActiveModel {
                article_id: Set(a.id),
                voter: Set(voter.to_owned()),
                tenant_id: Set(a.tenant_id),
                helpful: Set(helpful),
                created_at: Set(now()),
            }
            .insert(txn)
            .await?;
        }
    }
    use sea_orm::sea_query::{Expr, ExprTrait};
    faq_article::Entity::update_many()
        .col_expr(
            faq_article::Column::HelpfulCount,
            Expr::col(faq_article::Column::HelpfulCount).add(d_helpful),
        )
        .col_expr(
            faq_article::Column::NotHelpfulCount,
            Expr::col(faq_article::Column::NotHelpfulCount).add(d_not),
        )
        .filter(faq_article::Column::Id.eq(a.id))
        .exec(txn)
        .await?;
    faq_article::Entity::find_by_id(a.id)
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Counts one view of an article.
pub async fn record_view(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<faq_article::Model> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let a = get(db, actor, id).await?;
    faq_article::Entity::update_many()
        .col_expr(
            faq_article::Column::ViewCount,
            Expr::col(faq_article::Column::ViewCount).add(1),
        )
        .filter(faq_article::Column::Id.eq(a.id))
        .exec(db)
        .await?;
    Ok(faq_article::Model {
        view_count: a.view_count + 1,
        ..a
    })
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// (line, message) for rows refused; the others were imported.
    pub errors: Vec<(usize, String)>,
}

/// Imports articles, matching existing ones by code: new codes are created
/// (with `status`), changed ones updated (a new version), identical ones left
/// alone, so importing the same file twice changes nothing.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    rows: Vec<(usize, Result<FaqInput, String>)>,
    status: FaqStatus,
) -> ServiceResult<ImportReport> {
    require_desk(actor)?;
    let mut report = ImportReport::default();
    for (line, row) in rows {
        let input = match row {
            Ok(i) => i,
            Err(e) => {
                report.errors.push((line, e));
                continue;
            }
        };
        let existing = if input.code.is_empty() {
            None
        } else {
            faq_article::Entity::find()
                .filter(faq_article::Column::TenantId.eq(actor.tenant_id))
                .filter(faq_article::Column::Code.eq(&input.code))
                .one(db)
                .await?
        };
        let result = match existing {
            None => create(db, actor, input, status)
                .await
                .map(|_| report.created += 1),
            Some(a) => {
                let before = a.version;
                update(db, actor, a.id, input, None).await.map(|after| {
                    if after.version == before {
                        report.unchanged += 1
                    } else {
                        report.updated += 1
                    }
                })
            }
        };
        match result {
            Ok(()) => {}
            Err(ServiceError::Invalid(errors)) => report.errors.push((
                line,
                errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join(" / "),
            )),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// Parses JSON Lines: one article per line, fields as in [`FaqInput`]
/// (`id` is accepted for `code`).
pub fn parse_jsonl(text: &str) -> Vec<(usize, Result<FaqInput, String>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            (
                i + 1,
                serde_json::from_str::<FaqInput>(l)
                    .map_err(|e| format!("JSONとして読めません: {e}")),
            )
        })
        .collect()
}

/// Decodes a CSV file as Excel writes it: UTF-8 with or without BOM, or Shift_JIS (CP932).
pub fn decode_csv(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::SHIFT_JIS.decode(bytes).0.into_owned(),
    }
}

/// Parses CSV with a header row: code, category, audience, question, answer,
/// keywords (Japanese headers コード, カテゴリ, 対象, 質問, 回答, キーワード
/// also work). Audience and keywords are separated by `,` `、` `;` or line breaks;
/// audience accepts 職員 / 教職員 / 児童生徒.
pub fn parse_csv(text: &str) -> Vec<(usize, Result<FaqInput, String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return vec![(1, Err(format!("見出し行が読めません: {e}")))],
    };
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let code = column(&["code", "id", "コード"]);
    let category = column(&["category", "カテゴリ", "分類"]);
    let audience = column(&["audience", "対象"]);
    let question = column(&["question", "質問"]);
    let answer = column(&["answer", "回答"]);
    let keywords = column(&["keywords", "キーワード"]);
    let (Some(category), Some(audience), Some(question), Some(answer)) =
        (category, audience, question, answer)
    else {
        return vec![(1, Err("見出しに category / audience / question / answer（カテゴリ・対象・質問・回答）が必要です".into()))];
    };
    let split = |s: &str| -> Vec<String> {
        s.split([',', '、', ';', '\n'])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let audience_code = |a: String| match a.as_str() {
        "職員" => "staff".to_owned(),
        "教職員" | "教員" => "teacher".to_owned(),
        "児童生徒" | "児童" | "生徒" => "student".to_owned(),
        _ => a,
    };
    reader
        .records()
        .map(|r| {
            // The record's first line in the file (fields may span lines).
            let line = r.as_ref().ok().and_then(|r| r.position()).map_or(0, |p| {
                text.as_bytes()[..(p.byte() as usize + 1).min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1
            });
            let row = r.map_err(|e| format!("CSVとして読めません: {e}")).map(|r| {
                let get = |i: Option<usize>| i.and_then(|i| r.get(i)).unwrap_or("").to_owned();
                FaqInput {
                    code: get(code),
                    category: get(Some(category)),
                    audience: split(&get(Some(audience)))
                        .into_iter()
                        .map(audience_code)
                        .collect(),
                    question: get(Some(question)),
                    answer: get(Some(answer)),
                    keywords: split(&get(keywords)),
                    last_reviewed_on: None,
                }
            });
            (line, row)
        })
        .collect()
}
