//! Self-service password reset from a 1:1 chat, for a linked person (or a teacher for a
//! student of their own school, where the tenant allows it).
//!
//! 1. [`start`]: rate limits (per person, per tenant, a lock after wrong codes), then a 6-digit
//!    code mailed to the requester's registered address (10 minutes, 3 tries).
//! 2. [`confirm_code`]: the right code gives a one-time link (15 minutes, single use); only the
//!    token's hash is stored.
//! 3. [`complete`]: the page served by madoguchi takes the new password, checks it against the
//!    tenant's policy, and hands it to the directory ([`PasswordDirectory`]: OpenLDAP, Active
//!    Directory, Microsoft Graph). The password lives in memory for that call only: never in
//!    the chat, the logs, the database or the ticket. A resolved service request with an
//!    audit event records the reset, and a mail tells the person.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Duration, Utc};
use entity::{PersonKind, chat_code, org_unit, password_reset, person, tenant};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::chat::{self, ChatUser, Platform};
use crate::error::{ServiceError, ServiceResult};
use crate::jobs::{self, NewJob};
use crate::mail::outbound;
use crate::secret::Secret;
use crate::tickets;

/// How long the mailed code is valid.
pub const CODE_MINUTES: i64 = chat::CODE_MINUTES;
/// Wrong codes before the reset is locked.
pub const CODE_TRIES: i32 = 3;
/// How long the one-time link is valid.
pub const LINK_MINUTES: i64 = 15;
/// How long a requester who used up their tries must wait.
pub const LOCK_MINUTES: i64 = 60;

/// A tenant's reset rules (`[[password_reset]]` in the config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResetPolicy {
    /// Shortest password, in characters.
    pub min_length: usize,
    /// Of upper case, lower case, digits and symbols, how many kinds a password needs.
    pub min_classes: usize,
    /// Resets per person (whose password) in 24 hours.
    pub per_person_daily: u64,
    /// Resets per tenant in 24 hours.
    pub per_tenant_daily: u64,
    /// Teachers may reset the passwords of students of their own school.
    pub teachers_reset_students: bool,
}

impl Default for ResetPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            min_classes: 3,
            per_person_daily: 3,
            per_tenant_daily: 200,
            teachers_reset_students: false,
        }
    }
}

impl ResetPolicy {
    /// The rules in Japanese, as the reset page shows them.
    pub fn describe(&self) -> String {
        format!(
            "{}文字以上で、英大文字・英小文字・数字・記号のうち{}種類以上を含めてください。ユーザーIDやメールアドレスの一部は使えません。",
            self.min_length, self.min_classes
        )
    }

    /// What is wrong with a new password for `who`, in Japanese (empty when it is fine).
    pub fn check(&self, who: &person::Model, password: &str) -> Vec<String> {
        let mut problems = vec![];
        let chars = password.chars().count();
        if chars < self.min_length {
            problems.push(format!(
                "{}文字以上にしてください（現在{chars}文字）。",
                self.min_length
            ));
        }
        if chars > 128 {
            problems.push("128文字以内にしてください。".to_owned());
        }
        let classes = [
            password.chars().any(|c| c.is_ascii_uppercase()),
            password.chars().any(|c| c.is_ascii_lowercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password
                .chars()
                .any(|c| c.is_ascii_punctuation() || c == ' '),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if classes < self.min_classes {
            problems.push(format!(
                "英大文字・英小文字・数字・記号のうち{}種類以上を含めてください。",
                self.min_classes
            ));
        }
        if password
            .chars()
            .any(|c| !c.is_ascii() || c.is_ascii_control())
        {
            problems.push("半角の英数字と記号だけを使ってください。".to_owned());
        }
        let lower = password.to_lowercase();
        let local = who
            .email
            .split('@')
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let ids = [Some(local.as_str()), who.employee_number.as_deref()];
        if ids
            .into_iter()
            .flatten()
            .any(|id| id.chars().count() >= 3 && lower.contains(&id.to_lowercase()))
        {
            problems.push(
                "ユーザーID（メールアドレスの@より前、職員番号）を含めないでください。".to_owned(),
            );
        }
        problems
    }
}

/// Where passwords are set: a directory connector (implemented in `bots`).
pub trait PasswordDirectory: Send + Sync {
    /// Sets `who`'s password, makes the next logon change it, and clears a lockout.
    fn set_password<'a>(
        &'a self,
        who: &'a person::Model,
        password: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

    /// What it is, for logs and the audit event (`openldap`, `active_directory`, `graph`).
    fn kind(&self) -> &'static str;
}

/// What became of a request to reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartReset {
    CodeSent {
        reset_id: Uuid,
    },
    /// The daily limit for the person or the tenant is reached.
    TooMany,
    /// Wrong codes recently: wait.
    Locked,
    /// Not allowed for this requester and person.
    NotAllowed,
    /// No registered address to send the code to, or no sender address.
    NoMail,
}

/// Starts a reset of `target`'s password asked by the linked `user`.
pub async fn start(
    txn: &DatabaseTransaction,
    tenant: &tenant::Model,
    policy: &ResetPolicy,
    user: &ChatUser,
    conversation_id: Uuid,
    target: &person::Model,
    at: DateTime<Utc>,
) -> ServiceResult<StartReset> {
    let Some(requester) = &user.person else {
        return Ok(StartReset::NotAllowed);
    };
    if !may_reset(txn, policy, requester, target).await? {
        return Ok(StartReset::NotAllowed);
    }
    let day = at - Duration::hours(24);
    let counted = ["code_sent", "link_sent", "applying", "done"];
    let for_person = password_reset::Entity::find()
        .filter(password_reset::Column::TenantId.eq(tenant.id))
        .filter(password_reset::Column::PersonId.eq(target.id))
        .filter(password_reset::Column::Status.is_in(counted))
        .filter(password_reset::Column::CreatedAt.gt(day))
        .count(txn)
        .await?;
    let for_tenant = password_reset::Entity::find()
        .filter(password_reset::Column::TenantId.eq(tenant.id))
        .filter(password_reset::Column::Status.is_in(counted))
        .filter(password_reset::Column::CreatedAt.gt(day))
        .count(txn)
        .await?;
    if for_person >= policy.per_person_daily || for_tenant >= policy.per_tenant_daily {
        tracing::info!(tenant = %tenant.slug, person = %target.id, for_person, for_tenant, "password reset refused: daily limit");
        return Ok(StartReset::TooMany);
    }
    let locked = password_reset::Entity::find()
        .filter(password_reset::Column::RequestedBy.eq(requester.id))
        .filter(password_reset::Column::Status.eq("locked"))
        .filter(password_reset::Column::UpdatedAt.gt(at - Duration::minutes(LOCK_MINUTES)))
        .count(txn)
        .await?;
    if locked > 0 {
        return Ok(StartReset::Locked);
    }
    if tenant
        .helpdesk_email
        .as_deref()
        .is_none_or(|a| a.trim().is_empty())
    {
        return Ok(StartReset::NoMail);
    }
    let (code_id, code) =
        chat::issue_code(txn, tenant.id, user.account.id, requester.id, "reset", at).await?;
    let reset_id = Uuid::now_v7();
    password_reset::Entity::insert(password_reset::ActiveModel {
        id: Set(reset_id),
        tenant_id: Set(tenant.id),
        person_id: Set(target.id),
        requested_by: Set(requester.id),
        conversation_id: Set(Some(conversation_id)),
        code_id: Set(Some(code_id)),
        status: Set("code_sent".to_owned()),
        tries: Set(0),
        link_hash: Set(None),
        link_expires_at: Set(None),
        used_at: Set(None),
        ticket_id: Set(None),
        last_error: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    })
    .exec_without_returning(txn)
    .await?;
    let whose = if target.id == requester.id {
        "あなたの".to_owned()
    } else {
        format!("{} さんの", target.display_name)
    };
    let subject = format!("【{}】パスワード再設定の確認コード", tenant.name);
    let body = format!(
        "{} 様\n\nチャットボットで{whose}パスワード再設定が申し込まれました。\n\n確認コード: {code}\n\nボットとのトークにこのコードを入力してください。有効期限は{CODE_MINUTES}分です。\nお心当たりのない場合は、このコードを誰にも伝えず、ヘルプデスクにご連絡ください。\n\n――\n{} ヘルプデスク\n",
        requester.display_name, tenant.name
    );
    if outbound::queue_personal(
        txn,
        tenant,
        &requester.email,
        "reset_code",
        subject,
        body,
        at,
    )
    .await?
    .is_none()
    {
        return Ok(StartReset::NoMail);
    }
    tracing::info!(tenant = %tenant.slug, reset = %reset_id, person = %target.id, requested_by = %requester.id, "password reset: code mailed");
    Ok(StartReset::CodeSent { reset_id })
}

/// Whether `requester` may reset `target`'s password: their own, or a student's of their own
/// school when the tenant lets teachers do that.
pub async fn may_reset(
    db: &impl ConnectionTrait,
    policy: &ResetPolicy,
    requester: &person::Model,
    target: &person::Model,
) -> ServiceResult<bool> {
    if !target.active || target.tenant_id != requester.tenant_id {
        return Ok(false);
    }
    if target.id == requester.id {
        return Ok(true);
    }
    if !(policy.teachers_reset_students
        && requester.kind == PersonKind::Teacher
        && target.kind == PersonKind::Student)
    {
        return Ok(false);
    }
    let (Some(school), Some(mut unit)) = (requester.org_unit_id, target.org_unit_id) else {
        return Ok(false);
    };
    // The student's unit (a class) must be the teacher's school or below it.
    for _ in 0..16 {
        if unit == school {
            return Ok(true);
        }
        match org_unit::Entity::find_by_id(unit)
            .one(db)
            .await?
            .and_then(|u| u.parent_id)
        {
            Some(parent) => unit = parent,
            None => return Ok(false),
        }
    }
    Ok(false)
}

/// What became of an entered code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmReset {
    /// The one-time link's token (put it in the URL; it is never stored).
    Link {
        token: Secret,
        expires_at: DateTime<Utc>,
    },
    Wrong {
        left: i32,
    },
    /// Out of tries: the reset is locked.
    Locked,
    Expired,
}

/// Checks the code of a reset and, when right, makes its one-time link.
pub async fn confirm_code(
    txn: &DatabaseTransaction,
    user: &ChatUser,
    reset_id: Uuid,
    entered: &str,
    at: DateTime<Utc>,
) -> ServiceResult<ConfirmReset> {
    let Some(r) = password_reset::Entity::find_by_id(reset_id)
        .one(txn)
        .await?
    else {
        return Ok(ConfirmReset::Expired);
    };
    if r.status != "code_sent" || Some(r.requested_by) != user.person.as_ref().map(|p| p.id) {
        return Ok(ConfirmReset::Expired);
    }
    let Some(code) = (match r.code_id {
        Some(id) => chat_code::Entity::find_by_id(id).one(txn).await?,
        None => None,
    }) else {
        return Ok(ConfirmReset::Expired);
    };
    if code.expires_at <= at || code.used_at.is_some() {
        let mut a = r.into_active_model();
        a.status = Set("expired".to_owned());
        a.updated_at = Set(at);
        a.update(txn).await?;
        return Ok(ConfirmReset::Expired);
    }
    if !chat::code_matches(&code, entered) {
        let tries = r.tries + 1;
        let mut c = code.into_active_model();
        c.tries = Set(tries);
        let mut a = r.clone().into_active_model();
        a.tries = Set(tries);
        a.updated_at = Set(at);
        if tries >= CODE_TRIES {
            c.used_at = Set(Some(at));
            a.status = Set("locked".to_owned());
            tracing::warn!(reset = %r.id, requested_by = %r.requested_by, "password reset locked after wrong codes");
        }
        c.update(txn).await?;
        a.update(txn).await?;
        return Ok(if tries >= CODE_TRIES {
            ConfirmReset::Locked
        } else {
            ConfirmReset::Wrong {
                left: CODE_TRIES - tries,
            }
        });
    }
    let mut c = code.into_active_model();
    c.used_at = Set(Some(at));
    c.update(txn).await?;
    let token: [u8; 32] = rand::random();
    let token = Secret::new(token.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let expires_at = at + Duration::minutes(LINK_MINUTES);
    let mut a = r.into_active_model();
    a.status = Set("link_sent".to_owned());
    a.link_hash = Set(Some(hash(b"link", token.expose())));
    a.link_expires_at = Set(Some(expires_at));
    a.updated_at = Set(at);
    a.update(txn).await?;
    Ok(ConfirmReset::Link { token, expires_at })
}

/// A reset page's view of a link.
#[derive(Debug, Clone)]
pub struct ResetLink {
    pub reset: password_reset::Model,
    pub person: person::Model,
    pub tenant: tenant::Model,
}

/// The reset a link token opens, while it is valid and unused.
pub async fn open_link(
    db: &impl ConnectionTrait,
    token: &str,
    at: DateTime<Utc>,
) -> ServiceResult<Option<ResetLink>> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(r) = password_reset::Entity::find()
        .filter(password_reset::Column::LinkHash.eq(hash(b"link", token)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if r.status != "link_sent" || r.link_expires_at.is_none_or(|e| e <= at) {
        return Ok(None);
    }
    let Some(p) = person::Entity::find_by_id(r.person_id).one(db).await? else {
        return Ok(None);
    };
    let Some(t) = tenant::Entity::find_by_id(r.tenant_id).one(db).await? else {
        return Ok(None);
    };
    Ok(Some(ResetLink {
        reset: r,
        person: p,
        tenant: t,
    }))
}

/// What became of a new password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompleteReset {
    Done {
        ticket_number: String,
    },
    /// The policy refuses it (the link stays usable).
    Weak(Vec<String>),
    /// Used, expired or unknown.
    InvalidLink,
    /// The directory refused or was unreachable (the link stays usable until it expires).
    DirectoryFailed,
}

/// Sets the new password through `directory` and records the reset. The link is claimed
/// before the directory is called, so two submissions never both set a password.
pub async fn complete(
    db: &DatabaseConnection,
    policy: &ResetPolicy,
    directory: &dyn PasswordDirectory,
    token: &str,
    password: &Secret,
    at: DateTime<Utc>,
) -> ServiceResult<CompleteReset> {
    let Some(link) = open_link(db, token, at).await? else {
        return Ok(CompleteReset::InvalidLink);
    };
    let problems = policy.check(&link.person, password.expose());
    if !problems.is_empty() {
        return Ok(CompleteReset::Weak(problems));
    }
    let claimed = password_reset::Entity::update_many()
        .col_expr(password_reset::Column::Status, Expr::value("applying"))
        .col_expr(password_reset::Column::UpdatedAt, Expr::value(at))
        .filter(password_reset::Column::Id.eq(link.reset.id))
        .filter(password_reset::Column::Status.eq("link_sent"))
        .exec(db)
        .await?
        .rows_affected;
    if claimed != 1 {
        return Ok(CompleteReset::InvalidLink);
    }
    if let Err(e) = directory.set_password(&link.person, password).await {
        tracing::error!(reset = %link.reset.id, directory = directory.kind(), error = %e, "password reset: the directory refused");
        let mut a = link.reset.clone().into_active_model();
        a.status = Set("link_sent".to_owned());
        a.last_error = Set(Some(e.chars().take(500).collect()));
        a.updated_at = Set(at);
        a.update(db).await?;
        return Ok(CompleteReset::DirectoryFailed);
    }
    let txn = db.begin().await?;
    let requester = person::Entity::find_by_id(link.reset.requested_by)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let conversation = match link.reset.conversation_id {
        Some(id) => chat::conversation_by_id(&txn, id).await?,
        None => None,
    };
    let platform = conversation
        .as_ref()
        .and_then(|c| Platform::parse(&c.platform))
        .unwrap_or(Platform::Line);
    let by_teacher = requester.id != link.person.id;
    let description = if by_teacher {
        format!(
            "{}の{}で、{} さん（{}）がパスワードを再設定しました（{} さんの確認コード認証済み）。",
            platform.label(),
            "ボット",
            link.person.display_name,
            link.person.email,
            requester.display_name
        )
    } else {
        format!(
            "{}のボットで、本人がパスワードを再設定しました（登録メールアドレスへの確認コードで本人確認）。",
            platform.label()
        )
    };
    let t = tickets::record_done(
        &txn,
        &link.tenant,
        &requester,
        platform.channel(),
        "パスワード再設定（セルフサービス）",
        &description,
        "password_reset",
        json!({ "resetId": link.reset.id, "person": link.person.id, "requestedBy": requester.id, "directory": directory.kind() }),
        at,
    )
    .await?;
    let mut a = link.reset.clone().into_active_model();
    a.status = Set("done".to_owned());
    a.used_at = Set(Some(at));
    a.ticket_id = Set(Some(t.id));
    a.last_error = Set(None);
    a.updated_at = Set(at);
    a.update(&txn).await?;
    let subject = format!("【{}】パスワードを再設定しました", link.tenant.name);
    let body = format!(
        "{} 様\n\n{}にパスワードが再設定されました（受付番号 {}）。次回のログオン時に、新しいパスワードの変更を求められます。\n\nお心当たりのない場合は、すぐにヘルプデスクへご連絡ください。\n\n――\n{} ヘルプデスク\n",
        link.person.display_name,
        at.with_timezone(&crate::tz::TOKYO)
            .format("%Y年%m月%d日 %H:%M"),
        t.number,
        link.tenant.name
    );
    outbound::queue_personal(
        &txn,
        &link.tenant,
        &link.person.email,
        "reset_done",
        subject,
        body,
        at,
    )
    .await?;
    if let Some(c) = &conversation {
        jobs::enqueue(
            &txn,
            NewJob {
                tenant_id: Some(link.tenant.id),
                kind: chat::NOTICE_JOB,
                dedupe_key: format!("reset:{}", link.reset.id),
                payload: json!({ "conversationId": c.id, "ticketId": t.id,
                    "text": format!("パスワードを再設定しました（受付番号 {}）。次回のログオン時に変更を求められます。", t.number) }).into(),
                max_attempts: 20,
            },
            at,
        )
        .await?;
    }
    txn.commit().await?;
    tracing::info!(tenant = %link.tenant.slug, reset = %link.reset.id, person = %link.person.id, directory = directory.kind(), ticket = %t.number, "password reset done");
    Ok(CompleteReset::Done {
        ticket_number: t.number,
    })
}

/// Finds the student a teacher names (mail address or 番号) in their tenant.
pub async fn find_person(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    who: &str,
) -> ServiceResult<Option<person::Model>> {
    let who = who.trim();
    let by_mail = person::Entity::find()
        .filter(person::Column::TenantId.eq(tenant_id))
        .filter(person::Column::Email.eq(who.to_lowercase()))
        .one(db)
        .await?;
    if by_mail.is_some() {
        return Ok(by_mail);
    }
    Ok(person::Entity::find()
        .filter(person::Column::TenantId.eq(tenant_id))
        .filter(person::Column::EmployeeNumber.eq(who))
        .one(db)
        .await?)
}

fn hash(salt: &[u8], value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(value.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> person::Model {
        person::Model {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            org_unit_id: None,
            vendor_id: None,
            email: "yamada.taro@city.example.jp".into(),
            display_name: "山田 太郎".into(),
            display_name_kana: None,
            employee_number: Some("A12345".into()),
            kind: PersonKind::Staff,
            roles: "requester".into(),
            active: true,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_policy_checks_length_classes_and_the_user_id() {
        let p = ResetPolicy::default();
        assert!(p.check(&who(), "Sakura-2026-Spring").is_empty());
        assert_eq!(p.check(&who(), "Short-1").len(), 1);
        assert!(
            p.check(&who(), "alllowercaseletters")
                .iter()
                .any(|m| m.contains("3種類"))
        );
        assert!(
            p.check(&who(), "Yamada.Taro-2026x")
                .iter()
                .any(|m| m.contains("ユーザーID"))
        );
        assert!(
            p.check(&who(), "xa12345-Winter!")
                .iter()
                .any(|m| m.contains("ユーザーID"))
        );
        assert!(
            p.check(&who(), "パスワード2026Abc!")
                .iter()
                .any(|m| m.contains("半角"))
        );
        assert!(p.describe().contains("12文字以上"));
    }
}
