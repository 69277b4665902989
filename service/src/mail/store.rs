//! Storing inbound mail before anything else: the raw bytes as a content-addressed blob and
//! one `mail_messages` row per distinct message and tenant.

use crate::db::First as _;
use chrono::{DateTime, Utc};
use entity::{MailStatus, blob, mail_message, tenant, tenant_mail_settings};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use std::collections::HashMap;
use uuid::Uuid;

use crate::error::ServiceResult;

/// What is known about a message before it is processed: enough to store it once and to
/// list it in quarantine without decoding it again.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `pipe`, `maildir` or `imap`.
    pub source: String,
    pub source_ref: Option<String>,
    /// `None` when no recipient is a tenant's helpdesk address.
    pub tenant_id: Option<Uuid>,
    pub dedupe_key: String,
    pub message_id: Option<String>,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The outcome of storing one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored now, waiting to be processed.
    New(Uuid),
    /// Stored before (a redelivery or a second fetch); nothing was written.
    Duplicate { id: Uuid, status: MailStatus },
}

impl Stored {
    pub fn id(self) -> Uuid {
        match self {
            Stored::New(id) | Stored::Duplicate { id, .. } => id,
        }
    }
}

/// Every address that is ours, and which tenant each belongs to.
#[derive(Debug, Clone, Default)]
pub struct Addresses {
    tenants: HashMap<String, Uuid>,
}

impl Addresses {
    /// Loads the tenants' helpdesk addresses and their configured aliases.
    pub async fn load(db: &impl ConnectionTrait) -> ServiceResult<Self> {
        let mut tenants = HashMap::new();
        for t in tenant::Entity::find().all(db).await? {
            if let Some(a) = t.helpdesk_email {
                tenants.insert(a.trim().to_lowercase(), t.id);
            }
        }
        for s in tenant_mail_settings::Entity::find().all(db).await? {
            for a in super::MailSettings::from(s.clone()).own_addresses {
                tenants.entry(a).or_insert(s.tenant_id);
            }
        }
        Ok(Self { tenants })
    }

    /// The tenant of the first recipient that is one of ours.
    pub fn tenant_for<'a>(&self, recipients: impl IntoIterator<Item = &'a str>) -> Option<Uuid> {
        recipients
            .into_iter()
            .find_map(|r| self.tenants.get(&r.trim().to_lowercase()).copied())
    }

    /// Whether the address is one of ours (any tenant's): mail from it is never a ticket.
    pub fn is_own(&self, address: &str) -> bool {
        self.tenants.contains_key(&address.trim().to_lowercase())
    }
}

/// Stores raw messages in one transaction; returns, per message, whether it is new.
/// Call before processing: once this returns, nothing is lost whatever happens next.
pub async fn store_batch(
    db: &DatabaseConnection,
    items: &[(Envelope, &[u8])],
    at: DateTime<Utc>,
) -> ServiceResult<Vec<Stored>> {
    let txn = db.begin().await?;
    let mut out = Vec::with_capacity(items.len());
    for (env, raw) in items {
        out.push(store_one(&txn, env, raw, at).await?);
    }
    txn.commit().await?;
    Ok(out)
}

async fn store_one(
    db: &impl ConnectionTrait,
    env: &Envelope,
    raw: &[u8],
    at: DateTime<Utc>,
) -> ServiceResult<Stored> {
    // Without a tenant the unique index does not hold (NULLs differ): look first.
    if env.tenant_id.is_none()
        && let Some(existing) = find(db, env.tenant_id, &env.dedupe_key).await?
    {
        return Ok(Stored::Duplicate {
            id: existing.id,
            status: existing.status,
        });
    }
    let raw_sha256 = sha256_hex(raw);
    put_blob(db, &raw_sha256, raw, at).await?;
    let id = Uuid::now_v7();
    let row = mail_message::ActiveModel {
        id: Set(id),
        tenant_id: Set(env.tenant_id),
        source: Set(env.source.clone()),
        source_ref: Set(env.source_ref.clone()),
        dedupe_key: Set(env.dedupe_key.clone()),
        message_id: Set(env.message_id.clone()),
        raw_sha256: Set(raw_sha256),
        raw_size: Set(i64::try_from(raw.len()).unwrap_or(i64::MAX)),
        from_address: Set(env.from_address.clone()),
        subject: Set(env.subject.clone()),
        sent_at: Set(env.sent_at),
        received_at: Set(at),
        status: Set(MailStatus::Received),
        action: Set(None),
        reason: Set(None),
        detail: Set(None),
        attempts: Set(0),
        ticket_id: Set(None),
        comment_id: Set(None),
        processed_at: Set(None),
    };
    let inserted = mail_message::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                mail_message::Column::TenantId,
                mail_message::Column::DedupeKey,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if inserted == 0 {
        // Stored before: a redelivery, or another process just now.
        if let Some(existing) = find(db, env.tenant_id, &env.dedupe_key).await? {
            return Ok(Stored::Duplicate {
                id: existing.id,
                status: existing.status,
            });
        }
    }
    Ok(Stored::New(id))
}

async fn find(
    db: &impl ConnectionTrait,
    tenant_id: Option<Uuid>,
    key: &str,
) -> ServiceResult<Option<mail_message::Model>> {
    let q = mail_message::Entity::find().filter(mail_message::Column::DedupeKey.eq(key));
    let q = match tenant_id {
        Some(t) => q.filter(mail_message::Column::TenantId.eq(t)),
        None => q.filter(mail_message::Column::TenantId.is_null()),
    };
    Ok(q.first(db).await?)
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

/// Lower-case hex of bytes (digests, dedupe keys).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// Stores bytes under their SHA-256 unless already there.
pub(crate) async fn put_blob(
    db: &impl ConnectionTrait,
    sha256: &str,
    data: &[u8],
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let row = blob::ActiveModel {
        sha256: Set(sha256.to_owned()),
        size: Set(i64::try_from(data.len()).unwrap_or(i64::MAX)),
        data: Set(data.to_vec()),
        created_at: Set(at),
    };
    blob::Entity::insert(row)
        .on_conflict(
            OnConflict::column(blob::Column::Sha256)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Loads a blob's bytes.
pub async fn blob_data(db: &impl ConnectionTrait, sha256: &str) -> ServiceResult<Option<Vec<u8>>> {
    Ok(blob::Entity::find_by_id(sha256.to_owned())
        .first(db)
        .await?
        .map(|b| b.data))
}
