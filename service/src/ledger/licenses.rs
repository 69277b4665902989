//! The license ledger (ライセンス管理台帳): one row per product and procuring contract, so the
//! seats this contract bought stay distinct from other procurements; seats assigned to assets or
//! people; compliance (assigned against seats); expiry alerts 60 and 30 days ahead.

use super::{Check, clean, require_desk};
use crate::auth::{Actor, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::page::Page;
use crate::tickets::now;
use crate::{directory, tz};
use chrono::{DateTime, Days, NaiveDate, Utc};
use entity::{asset, license, license_assignment};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::HashMap;
use uuid::Uuid;

/// A license as the caller describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LicenseInput {
    pub code: String,
    pub product: String,
    pub product_version: Option<String>,
    pub edition: Option<String>,
    pub seats: i32,
    pub contract_number: Option<String>,
    pub contract_name: Option<String>,
    pub main_contract: bool,
    pub supplier: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub notes: Option<String>,
}

impl From<&license::Model> for LicenseInput {
    fn from(l: &license::Model) -> Self {
        Self {
            code: l.code.clone(),
            product: l.product.clone(),
            product_version: l.product_version.clone(),
            edition: l.edition.clone(),
            seats: l.seats,
            contract_number: l.contract_number.clone(),
            contract_name: l.contract_name.clone(),
            main_contract: l.main_contract,
            supplier: l.supplier.clone(),
            starts_on: l.starts_on,
            expires_on: l.expires_on,
            notes: l.notes.clone(),
        }
    }
}

/// Checks and trims an input.
pub fn normalize(i: LicenseInput) -> Result<LicenseInput, Vec<crate::UserError>> {
    let mut c = Check::default();
    let code = i.code.trim().to_owned();
    let product = i.product.trim().to_owned();
    c.text("code", &code, super::assets::CODE_MAX, true);
    c.text("product", &product, super::assets::NAME_MAX, true);
    c.non_negative("seats", i64::from(i.seats));
    let out = LicenseInput {
        code,
        product,
        product_version: clean(i.product_version),
        edition: clean(i.edition),
        contract_number: clean(i.contract_number),
        contract_name: clean(i.contract_name),
        supplier: clean(i.supplier),
        notes: clean(i.notes),
        ..i
    };
    for (f, v) in [
        ("productVersion", &out.product_version),
        ("edition", &out.edition),
        ("contractNumber", &out.contract_number),
        ("contractName", &out.contract_name),
        ("supplier", &out.supplier),
    ] {
        c.opt_text(f, v.as_deref(), super::assets::NAME_MAX);
    }
    c.opt_text("notes", out.notes.as_deref(), super::assets::NOTE_MAX);
    if let (Some(s), Some(e)) = (out.starts_on, out.expires_on)
        && e < s
    {
        c.push(
            "expiresOn",
            "INVALID_RANGE",
            "有効期限は開始日以降にしてください",
        );
    }
    if c.0.is_empty() { Ok(out) } else { Err(c.0) }
}

fn row(tenant_id: Uuid, id: Uuid, i: &LicenseInput, at: DateTime<Utc>) -> license::ActiveModel {
    license::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        code: Set(i.code.clone()),
        product: Set(i.product.clone()),
        product_version: Set(i.product_version.clone()),
        edition: Set(i.edition.clone()),
        seats: Set(i.seats),
        contract_number: Set(i.contract_number.clone()),
        contract_name: Set(i.contract_name.clone()),
        main_contract: Set(i.main_contract),
        supplier: Set(i.supplier.clone()),
        starts_on: Set(i.starts_on),
        expires_on: Set(i.expires_on),
        notes: Set(i.notes.clone()),
        alerted_60_at: Set(None),
        alerted_30_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

fn duplicate(e: sea_orm::DbErr) -> ServiceError {
    if super::is_unique_violation(&e) {
        ServiceError::invalid("code", "DUPLICATE", "この管理番号は既に登録されています")
    } else {
        e.into()
    }
}

/// Loads one license (desk only).
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<license::Model> {
    require_desk(actor)?;
    license::Entity::find_by_id(id)
        .filter(license::Column::TenantId.eq(actor.tenant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Registers a license (desk only).
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    i: LicenseInput,
) -> ServiceResult<license::Model> {
    require_desk(actor)?;
    let i = normalize(i).map_err(ServiceError::Invalid)?;
    row(actor.tenant_id, Uuid::now_v7(), &i, now())
        .insert(db)
        .await
        .map_err(duplicate)
}

/// Changes a license (desk only). A new expiry date re-arms its alerts.
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    i: LicenseInput,
) -> ServiceResult<license::Model> {
    let old = get(db, actor, id).await?;
    let i = normalize(i).map_err(ServiceError::Invalid)?;
    let mut r = row(actor.tenant_id, id, &i, now());
    r.created_at = Set(old.created_at);
    if i.expires_on == old.expires_on {
        r.alerted_60_at = Set(old.alerted_60_at);
        r.alerted_30_at = Set(old.alerted_30_at);
    }
    r.update(db).await.map_err(duplicate)
}

/// Which licenses a list shows.
#[derive(Debug, Clone, Default)]
pub struct LicenseFilter {
    pub product_contains: Option<String>,
    pub main_contract: Option<bool>,
    /// Expiring on or before this date.
    pub expires_by: Option<NaiveDate>,
}

/// Lists licenses by code (desk only).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    f: &LicenseFilter,
    first: u64,
    after_code: Option<&str>,
) -> ServiceResult<Page<license::Model>> {
    require_desk(actor)?;
    let mut c = Condition::all().add(license::Column::TenantId.eq(actor.tenant_id));
    if let Some(p) = f
        .product_contains
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        c = c.add(
            Expr::col(license::Column::Product)
                .like(LikeExpr::new(format!("%{}%", super::escape_like(p))).escape('\\')),
        );
    }
    if let Some(m) = f.main_contract {
        c = c.add(license::Column::MainContract.eq(m));
    }
    if let Some(d) = f.expires_by {
        c = c.add(license::Column::ExpiresOn.lte(d));
    }
    if let Some(a) = after_code {
        c = c.add(license::Column::Code.gt(a));
    }
    let rows = license::Entity::find()
        .filter(c)
        .order_by_asc(license::Column::Code)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// A license's seat count against its active assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compliance {
    pub seats: i32,
    pub assigned: i64,
}

impl Compliance {
    /// Seats still free (negative when over-allocated).
    pub fn available(&self) -> i64 {
        i64::from(self.seats) - self.assigned
    }

    /// More seats assigned than bought (ライセンス超過).
    pub fn over_allocated(&self) -> bool {
        self.assigned > i64::from(self.seats)
    }
}

/// Active assignment counts of several licenses, in one query.
pub async fn assigned_counts(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, i64)> = license_assignment::Entity::find()
        .select_only()
        .column(license_assignment::Column::LicenseId)
        .column_as(Expr::col(license_assignment::Column::Id).count(), "n")
        .filter(license_assignment::Column::TenantId.eq(tenant_id))
        .filter(license_assignment::Column::LicenseId.is_in(ids.to_vec()))
        .filter(license_assignment::Column::ReleasedAt.is_null())
        .group_by(license_assignment::Column::LicenseId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Gives a seat to an asset or a person (desk only). Refused when no seat is free unless
/// `allow_over` (then the license shows as over-allocated); assigning the same holder twice is
/// refused.
pub async fn assign(
    db: &DatabaseConnection,
    actor: &Actor,
    license_id: Uuid,
    asset_id: Option<Uuid>,
    person_id: Option<Uuid>,
    allow_over: bool,
) -> ServiceResult<license_assignment::Model> {
    require_desk(actor)?;
    if asset_id.is_some() == person_id.is_some() {
        return Err(ServiceError::invalid(
            "assetId",
            "ONE_HOLDER",
            "機器か利用者のどちらか一方を指定してください",
        ));
    }
    let txn = db.begin().await?;
    let l = license::Entity::find_by_id(license_id)
        .filter(license::Column::TenantId.eq(actor.tenant_id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if let Some(a) = asset_id {
        let a = asset::Entity::find_by_id(a)
            .filter(asset::Column::TenantId.eq(actor.tenant_id))
            .one(&txn)
            .await?
            .ok_or_else(|| {
                ServiceError::invalid("assetId", "UNKNOWN_REFERENCE", "機器が見つかりません")
            })?;
        if a.status == entity::AssetStatus::Retired {
            return Err(ServiceError::invalid(
                "assetId",
                "RETIRED",
                "廃棄済の機器には割り当てられません",
            ));
        }
    }
    if let Some(p) = person_id
        && directory::person(&txn, actor.tenant_id, p).await?.is_none()
    {
        return Err(ServiceError::invalid(
            "personId",
            "UNKNOWN_REFERENCE",
            "利用者が見つかりません",
        ));
    }
    let used = assigned_counts(&txn, actor.tenant_id, &[l.id])
        .await?
        .get(&l.id)
        .copied()
        .unwrap_or(0);
    if used >= i64::from(l.seats) && !allow_over {
        return Err(ServiceError::invalid(
            "licenseId",
            "NO_FREE_SEAT",
            format!(
                "空きライセンスがありません（保有 {} / 割当 {used}）",
                l.seats
            ),
        ));
    }
    let r = license_assignment::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant_id),
        license_id: Set(l.id),
        asset_id: Set(asset_id),
        person_id: Set(person_id),
        assigned_at: Set(now()),
        released_at: Set(None),
        assigned_by: Set(Some(actor.person_id)),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if super::is_unique_violation(&e) {
            ServiceError::invalid("licenseId", "ALREADY_ASSIGNED", "既に割り当て済みです")
        } else {
            e.into()
        }
    })?;
    txn.commit().await?;
    Ok(r)
}

/// Takes a seat back (desk only).
pub async fn release(
    db: &impl ConnectionTrait,
    actor: &Actor,
    assignment_id: Uuid,
) -> ServiceResult<license_assignment::Model> {
    require_desk(actor)?;
    let a = license_assignment::Entity::find_by_id(assignment_id)
        .filter(license_assignment::Column::TenantId.eq(actor.tenant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if a.released_at.is_some() {
        return Err(ServiceError::invalid(
            "assignmentId",
            "ALREADY_RELEASED",
            "既に解除されています",
        ));
    }
    let mut row = a.into_active_model();
    row.released_at = Set(Some(now()));
    Ok(row.update(db).await?)
}

/// The active assignments of a license, or of the licenses an asset or person holds (desk;
/// requesters may ask for their own).
pub async fn assignments(
    db: &impl ConnectionTrait,
    actor: &Actor,
    license_id: Option<Uuid>,
    asset_id: Option<Uuid>,
    person_id: Option<Uuid>,
) -> ServiceResult<Vec<license_assignment::Model>> {
    let own = person_id == Some(actor.person_id) && actor.has(Role::Requester);
    if !own {
        require_desk(actor)?;
    }
    let mut q = license_assignment::Entity::find()
        .filter(license_assignment::Column::TenantId.eq(actor.tenant_id))
        .filter(license_assignment::Column::ReleasedAt.is_null());
    if let Some(l) = license_id {
        q = q.filter(license_assignment::Column::LicenseId.eq(l));
    }
    if let Some(a) = asset_id {
        q = q.filter(license_assignment::Column::AssetId.eq(a));
    }
    if let Some(p) = person_id {
        q = q.filter(license_assignment::Column::PersonId.eq(p));
    }
    Ok(q.order_by_asc(license_assignment::Column::Id)
        .limit(1000)
        .all(db)
        .await?)
}

/// Sends the expiry alerts that are due: once when a license is 60 days from expiry and once
/// at 30 days, by mail to the tenant's supervisors and admins. Returns `(license, days)` sent.
pub async fn alert_expiring(
    db: &DatabaseConnection,
    at: DateTime<Utc>,
) -> ServiceResult<Vec<(license::Model, u32)>> {
    let today = at.with_timezone(&tz::TOKYO).date_naive();
    let txn = db.begin().await?;
    let mut sent = Vec::new();
    for (days, col) in [
        (30u32, license::Column::Alerted30At),
        (60, license::Column::Alerted60At),
    ] {
        let horizon = today
            .checked_add_days(Days::new(u64::from(days)))
            .unwrap_or(today);
        let due = license::Entity::find()
            .filter(license::Column::ExpiresOn.lte(horizon))
            .filter(license::Column::ExpiresOn.gte(today))
            .filter(col.is_null())
            .order_by_asc(license::Column::ExpiresOn)
            .limit(500)
            .all(&txn)
            .await?;
        for l in due {
            // The 30-day alert also stands for the 60-day one when both fall due at once.
            let mut upd = license::Entity::update_many().col_expr(col, Expr::val(at));
            if days == 30 {
                upd = upd.col_expr(license::Column::Alerted60At, Expr::val(at));
            }
            let claimed = upd
                .filter(license::Column::Id.eq(l.id))
                .filter(col.is_null())
                .exec(&txn)
                .await?
                .rows_affected;
            if claimed == 0
                || sent
                    .iter()
                    .any(|(s, _): &(license::Model, u32)| s.id == l.id)
            {
                continue;
            }
            sent.push((l, days));
        }
    }
    // Each tenant's recipients are read once, however many of its licenses fall due.
    let mut recipients: HashMap<Uuid, Option<(entity::tenant::Model, Vec<entity::person::Model>)>> =
        HashMap::new();
    for (l, days) in &sent {
        if let std::collections::hash_map::Entry::Vacant(slot) = recipients.entry(l.tenant_id) {
            let found = match directory::tenant(&txn, l.tenant_id).await? {
                Some(t) => Some((t, alert_recipients(&txn, l.tenant_id).await?)),
                None => None,
            };
            slot.insert(found);
        }
        if let Some(Some((tenant, people))) = recipients.get(&l.tenant_id) {
            mail_alert(&txn, tenant, people, l, *days).await?;
        }
    }
    txn.commit().await?;
    Ok(sent)
}

/// The tenant's active supervisors and admins with a mail address.
async fn alert_recipients(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> ServiceResult<Vec<entity::person::Model>> {
    Ok(entity::person::Entity::find()
        .filter(entity::person::Column::TenantId.eq(tenant_id))
        .filter(entity::person::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter(|p| {
            let roles = directory::roles_of(p);
            (roles.has(Role::Supervisor) || roles.has(Role::Admin)) && !p.email.trim().is_empty()
        })
        .collect())
}

async fn mail_alert(
    db: &impl ConnectionTrait,
    tenant: &entity::tenant::Model,
    people: &[entity::person::Model],
    l: &license::Model,
    days: u32,
) -> ServiceResult<()> {
    let expires = l
        .expires_on
        .map(|d| format!("{}（{}）", super::sheets::wareki(d), d.format("%Y-%m-%d")))
        .unwrap_or_default();
    let contract = l
        .contract_name
        .as_deref()
        .or(l.contract_number.as_deref())
        .unwrap_or("（契約未登録）");
    let subject = format!(
        "【ライセンス期限】{} の有効期限まで{days}日以内です",
        l.product
    );
    for p in people {
        let body = format!(
            "{} 様\n\nライセンス管理台帳のお知らせです。次のライセンスの有効期限が近づいています。\n\n管理番号: {}\n製品: {} {}\n保有数: {}\n契約: {contract}\n有効期限: {expires}\n\n更新の要否をご確認ください。\n\n――\n{} ヘルプデスク\n",
            p.display_name,
            l.code,
            l.product,
            l.product_version.as_deref().unwrap_or(""),
            l.seats,
            tenant.name
        );
        crate::mail::outbound::queue_personal(
            db,
            tenant,
            p.email.trim(),
            "license_expiry",
            subject.clone(),
            body,
            now(),
        )
        .await?;
    }
    Ok(())
}
