//! What agents see of inbound mail: the quarantine (and ignored mail), each message's raw
//! bytes, and discarding. Retrying needs the decoder and runs through `bots::mail`, after
//! [`retryable`] checks scope here.

use entity::{MailStatus, mail_message};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::{ServiceError, ServiceResult, UserError};
use crate::page::Page;

fn desk_only(actor: &Actor) -> ServiceResult<()> {
    if actor.is_desk() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("mail is for the desk"))
    }
}

/// Inbound mail of the actor's tenant in the given statuses (quarantined when empty),
/// newest first; `after` is the id of the last message of the previous page.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    statuses: &[MailStatus],
    first: u64,
    after: Option<Uuid>,
) -> ServiceResult<Page<mail_message::Model>> {
    desk_only(actor)?;
    let statuses = if statuses.is_empty() {
        vec![MailStatus::Quarantined]
    } else {
        statuses.to_vec()
    };
    let mut q = mail_message::Entity::find()
        .filter(mail_message::Column::TenantId.eq(actor.tenant_id))
        .filter(mail_message::Column::Status.is_in(statuses));
    if let Some(after) = after {
        // Ids are UUIDv7: ordering by id is ordering by arrival.
        q = q.filter(mail_message::Column::Id.lt(after));
    }
    let rows = q
        .order_by_desc(mail_message::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// One inbound message of the actor's tenant.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<mail_message::Model> {
    desk_only(actor)?;
    mail_message::Entity::find_by_id(id)
        .filter(mail_message::Column::TenantId.eq(actor.tenant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The message exactly as received.
pub async fn raw(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> ServiceResult<Vec<u8>> {
    let m = get(db, actor, id).await?;
    super::blob_data(db, &m.raw_sha256)
        .await?
        .ok_or(ServiceError::NotFound)
}

fn must_be_quarantined(m: &mail_message::Model) -> ServiceResult<()> {
    if m.status == MailStatus::Quarantined {
        Ok(())
    } else {
        Err(ServiceError::Invalid(vec![UserError::new(
            "id",
            "NOT_QUARANTINED",
            "隔離中のメールではありません",
        )]))
    }
}

/// Checks the actor may retry this message; the retry itself is `bots::mail::retry`.
pub async fn retryable(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<mail_message::Model> {
    let m = get(db, actor, id).await?;
    must_be_quarantined(&m)?;
    Ok(m)
}

/// Discards a quarantined message: it stays stored (raw bytes too) but leaves the queue.
pub async fn discard(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<mail_message::Model> {
    let m = get(db, actor, id).await?;
    must_be_quarantined(&m)?;
    let mut a: mail_message::ActiveModel = m.into();
    a.status = Set(MailStatus::Discarded);
    a.detail = Set(Some(format!("担当者が破棄しました（{}）", actor.person_id)));
    a.processed_at = Set(Some(crate::tickets::now()));
    Ok(a.update(db).await?)
}
