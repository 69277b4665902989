//! Repairs with spares (修理・代替機): a broken device linked to its ticket goes into repair, a
//! spare takes its place with the user, the device is sent to the vendor and comes back, is
//! re-kitted, and the spare is swapped back. The damage report (損傷始末書) is kept with it.

use super::assets::{self, AssetInput, StatusEvent, apply, set_status};
use super::{Check, clean, require_desk};
use crate::auth::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::page::Page;
use crate::tickets::{self, now};
use chrono::NaiveDate;
use entity::{AssetStatus, RepairStatus, asset, repair};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

/// A damage report (損傷始末書) as received from the department that broke the device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DamageReport {
    pub submitted_on: Option<NaiveDate>,
    /// 提出者 (name as written).
    pub submitted_by: String,
    /// 損傷の状況
    pub circumstances: String,
    /// ヒアリング内容
    pub hearing: Option<String>,
}

impl DamageReport {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "submittedOn": self.submitted_on,
            "submittedBy": self.submitted_by.trim(),
            "circumstances": self.circumstances.trim(),
            "hearing": clean(self.hearing.clone()),
        })
    }

    /// Reads a report as [`DamageReport::to_json`] stored it.
    pub fn from_json(d: &serde_json::Value) -> Self {
        Self {
            submitted_on: d["submittedOn"].as_str().and_then(|s| s.parse().ok()),
            submitted_by: d["submittedBy"].as_str().unwrap_or_default().to_owned(),
            circumstances: d["circumstances"].as_str().unwrap_or_default().to_owned(),
            hearing: d["hearing"].as_str().map(str::to_owned),
        }
    }

    fn check(&self, c: &mut Check) {
        c.text(
            "damageReport.submittedBy",
            &self.submitted_by,
            assets::NAME_MAX,
            true,
        );
        c.text(
            "damageReport.circumstances",
            &self.circumstances,
            assets::NOTE_MAX,
            true,
        );
        c.opt_text(
            "damageReport.hearing",
            self.hearing.as_deref(),
            assets::NOTE_MAX,
        );
    }
}

/// A repair as the desk opens it.
#[derive(Debug, Clone, Default)]
pub struct NewRepair {
    pub asset_id: Uuid,
    pub ticket_id: Option<Uuid>,
    pub fault: Option<String>,
    /// A spare to hand the user now (代替機).
    pub spare_asset_id: Option<Uuid>,
    pub damage_report: Option<DamageReport>,
}

/// Loads one repair (desk only).
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<repair::Model> {
    require_desk(actor)?;
    repair::Entity::find_by_id(id)
        .filter(repair::Column::TenantId.eq(actor.tenant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Lists the tenant's repairs, newest first, optionally of one asset or in some states (desk only).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    asset_id: Option<Uuid>,
    statuses: &[RepairStatus],
    first: u64,
    after: Option<Uuid>,
) -> ServiceResult<Page<repair::Model>> {
    require_desk(actor)?;
    let mut q = repair::Entity::find().filter(repair::Column::TenantId.eq(actor.tenant_id));
    if let Some(a) = asset_id {
        q = q.filter(repair::Column::AssetId.eq(a));
    }
    if !statuses.is_empty() {
        q = q.filter(repair::Column::Status.is_in(statuses.iter().copied()));
    }
    if let Some(a) = after {
        q = q.filter(repair::Column::Id.lt(a));
    }
    let rows = q
        .order_by_desc(repair::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// Hands `spare` to the broken device's user and place; both histories record the swap.
async fn swap_in(
    db: &impl ConnectionTrait,
    actor: &Actor,
    broken: &asset::Model,
    spare: &asset::Model,
    repair_id: Uuid,
    ticket_id: Option<Uuid>,
) -> ServiceResult<()> {
    let at = now();
    let mut input = AssetInput::from(spare);
    input.user_id = broken.user_id;
    input.org_unit_id = broken.org_unit_id;
    input.location = broken.location.clone();
    input.status = Some(AssetStatus::InUse);
    let moved = apply(db, actor, spare, &input, ticket_id, at)
        .await?
        .unwrap_or_else(|| spare.clone());
    assets::record(
        db,
        &moved,
        Some(actor.person_id),
        "spare_swapped_in",
        json!({ "repairId": repair_id, "replaces": broken.asset_tag }),
        ticket_id,
        at,
    )
    .await?;
    assets::record(
        db,
        broken,
        Some(actor.person_id),
        "spare_swapped_in",
        json!({ "repairId": repair_id, "spare": spare.asset_tag }),
        ticket_id,
        at,
    )
    .await?;
    Ok(())
}

/// Sends a broken device to repair (desk only): links its ticket, optionally swaps a spare in and
/// records the damage report.
pub async fn open(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewRepair,
) -> ServiceResult<repair::Model> {
    require_desk(actor)?;
    let mut c = Check::default();
    c.opt_text("fault", new.fault.as_deref(), assets::NOTE_MAX);
    if let Some(d) = &new.damage_report {
        d.check(&mut c);
    }
    c.done()?;
    let txn = db.begin().await?;
    let a = assets::get(&txn, actor, new.asset_id).await?;
    if matches!(
        a.status,
        AssetStatus::InRepair | AssetStatus::Retired | AssetStatus::OnLoan
    ) {
        return Err(ServiceError::invalid(
            "assetId",
            "NOT_AVAILABLE",
            "修理中・廃棄済・貸出中の機器は修理に出せません",
        ));
    }
    let ticket = match new.ticket_id {
        Some(t) => Some(tickets::get(&txn, actor, t).await?),
        None => None,
    };
    let spare = match new.spare_asset_id {
        Some(s) => {
            let s = assets::get(&txn, actor, s).await?;
            if s.status != AssetStatus::Spare || s.id == a.id {
                return Err(ServiceError::invalid(
                    "spareAssetId",
                    "NOT_A_SPARE",
                    "代替機には予備の機器を指定してください",
                ));
            }
            Some(s)
        }
        None => None,
    };
    let at = now();
    let r = repair::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant_id),
        asset_id: Set(a.id),
        ticket_id: Set(ticket.as_ref().map(|t| t.id)),
        spare_asset_id: Set(spare.as_ref().map(|s| s.id)),
        vendor_id: Set(None),
        status: Set(RepairStatus::Open),
        fault: Set(clean(new.fault)),
        damage_report: Set(new.damage_report.as_ref().map(DamageReport::to_json)),
        vendor_reference: Set(None),
        dispatched_at: Set(None),
        returned_at: Set(None),
        rekitted_at: Set(None),
        closed_at: Set(None),
        created_by: Set(Some(actor.person_id)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    let ticket_id = ticket.as_ref().map(|t| t.id);
    if let Some(t) = &ticket {
        assets::link_in(&txn, actor, &a, t, at).await?;
    }
    let a = asset::Entity::find_by_id(a.id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let a = set_status(
        &txn,
        actor,
        &a,
        AssetStatus::InRepair,
        StatusEvent {
            kind: "sent_to_repair",
            payload: json!({ "repairId": r.id, "fault": r.fault }),
            ticket_id,
        },
        at,
    )
    .await?;
    if let Some(s) = &spare {
        swap_in(&txn, actor, &a, s, r.id, ticket_id).await?;
    }
    if r.damage_report.is_some() {
        assets::record(
            &txn,
            &a,
            Some(actor.person_id),
            "damage_report_received",
            json!({ "repairId": r.id }),
            ticket_id,
            at,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(r)
}

/// Records (or replaces) the damage report of a repair (desk only).
pub async fn record_damage_report(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    report: DamageReport,
) -> ServiceResult<repair::Model> {
    let mut c = Check::default();
    report.check(&mut c);
    c.done()?;
    let txn = db.begin().await?;
    let r = get(&txn, actor, id).await?;
    let mut row = r.clone().into_active_model();
    row.damage_report = Set(Some(report.to_json()));
    row.updated_at = Set(now());
    let r = row.update(&txn).await?;
    let a = assets::get(&txn, actor, r.asset_id).await?;
    assets::record(
        &txn,
        &a,
        Some(actor.person_id),
        "damage_report_received",
        json!({ "repairId": r.id }),
        r.ticket_id,
        now(),
    )
    .await?;
    txn.commit().await?;
    Ok(r)
}

/// Sends the device to the vendor (desk only).
pub async fn dispatch(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    vendor_id: Uuid,
    vendor_reference: Option<String>,
) -> ServiceResult<repair::Model> {
    let txn = db.begin().await?;
    let r = get(&txn, actor, id).await?;
    if r.status != RepairStatus::Open {
        return Err(ServiceError::invalid(
            "repairId",
            "INVALID_TRANSITION",
            "受付中の修理だけ修理依頼できます",
        ));
    }
    let v = crate::directory::vendor(&txn, actor.tenant_id, vendor_id)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid("vendorId", "UNKNOWN_REFERENCE", "修理業者が見つかりません")
        })?;
    let at = now();
    let mut row = r.clone().into_active_model();
    row.status = Set(RepairStatus::Dispatched);
    row.vendor_id = Set(Some(v.id));
    row.vendor_reference = Set(clean(vendor_reference));
    row.dispatched_at = Set(Some(at));
    row.updated_at = Set(at);
    let r = row.update(&txn).await?;
    let a = assets::get(&txn, actor, r.asset_id).await?;
    assets::record(
        &txn,
        &a,
        Some(actor.person_id),
        "dispatched_to_vendor",
        json!({ "repairId": r.id, "vendor": v.name, "vendorReference": r.vendor_reference }),
        r.ticket_id,
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(r)
}

/// Records the device back from the vendor (desk only); it waits as a spare to be re-kitted.
pub async fn receive_back(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    note: Option<String>,
) -> ServiceResult<repair::Model> {
    let txn = db.begin().await?;
    let r = get(&txn, actor, id).await?;
    if !matches!(r.status, RepairStatus::Dispatched | RepairStatus::Open) {
        return Err(ServiceError::invalid(
            "repairId",
            "INVALID_TRANSITION",
            "修理中のものだけ返却を記録できます",
        ));
    }
    let at = now();
    let mut row = r.clone().into_active_model();
    row.status = Set(RepairStatus::Returned);
    row.returned_at = Set(Some(at));
    row.updated_at = Set(at);
    let r = row.update(&txn).await?;
    let a = assets::get(&txn, actor, r.asset_id).await?;
    set_status(
        &txn,
        actor,
        &a,
        AssetStatus::Spare,
        StatusEvent {
            kind: "returned_from_repair",
            payload: json!({ "repairId": r.id, "note": clean(note) }),
            ticket_id: r.ticket_id,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(r)
}

/// Closes a repair (desk only): `rekitted` records the re-kitting (再キッティング); `swap_back`
/// gives the repaired device back to its user and returns the spare to the pool.
pub async fn close(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    rekitted: bool,
    swap_back: bool,
) -> ServiceResult<repair::Model> {
    let txn = db.begin().await?;
    let r = get(&txn, actor, id).await?;
    if r.status != RepairStatus::Returned {
        return Err(ServiceError::invalid(
            "repairId",
            "INVALID_TRANSITION",
            "修理完了（返却済）のものだけ完了にできます",
        ));
    }
    let at = now();
    let mut a = assets::get(&txn, actor, r.asset_id).await?;
    if rekitted {
        assets::record(
            &txn,
            &a,
            Some(actor.person_id),
            "rekitted",
            json!({ "repairId": r.id }),
            r.ticket_id,
            at,
        )
        .await?;
    }
    if swap_back && let Some(spare_id) = r.spare_asset_id {
        let spare = assets::get(&txn, actor, spare_id).await?;
        let mut back = AssetInput::from(&a);
        back.user_id = spare.user_id;
        back.org_unit_id = spare.org_unit_id;
        back.location = spare.location.clone();
        back.status = Some(AssetStatus::InUse);
        a = apply(&txn, actor, &a, &back, r.ticket_id, at)
            .await?
            .unwrap_or(a);
        let mut pool = AssetInput::from(&spare);
        pool.user_id = None;
        pool.status = Some(AssetStatus::Spare);
        let spare = apply(&txn, actor, &spare, &pool, r.ticket_id, at)
            .await?
            .unwrap_or(spare);
        assets::record(
            &txn,
            &spare,
            Some(actor.person_id),
            "spare_returned",
            json!({ "repairId": r.id, "replaced": a.asset_tag }),
            r.ticket_id,
            at,
        )
        .await?;
    }
    let mut row = r.clone().into_active_model();
    row.status = Set(RepairStatus::Closed);
    row.rekitted_at = Set(rekitted.then_some(at));
    row.closed_at = Set(Some(at));
    row.updated_at = Set(at);
    let r = row.update(&txn).await?;
    txn.commit().await?;
    Ok(r)
}
