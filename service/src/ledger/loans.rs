//! Loans and reservations (貸出・予約) of loanable assets: web-conference kits, loaner PCs, entry
//! cards. A booking reserves an item for a period (no overlaps), is checked out with a due date,
//! and returned; overdue loans are detected and the borrower told once.
//!
//! Overlap is checked inside the writing transaction with the asset row locked (`FOR UPDATE` on
//! PostgreSQL; SQLite has one writer), so two people booking the same week cannot both win.

use super::assets::{self, StatusEvent, set_status};
use super::{Check, clean, require_desk};
use crate::auth::{Actor, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::page::Page;
use crate::tickets::now;
use crate::{directory, tz};
use chrono::{DateTime, Utc};
use entity::{AssetStatus, BookingStatus, asset, booking};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

/// Longest loan, in days.
pub const MAX_DAYS: i64 = 366;

/// A reservation or loan as the caller asks for it.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub asset_id: Uuid,
    /// Desk only; requesters book for themselves.
    pub borrower_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub purpose: Option<String>,
}

fn visible(actor: &Actor) -> Condition {
    let c = Condition::all().add(booking::Column::TenantId.eq(actor.tenant_id));
    if actor.is_desk() {
        c
    } else if actor.has(Role::Requester) {
        c.add(booking::Column::BorrowerId.eq(actor.person_id))
    } else {
        c.add(super::nothing())
    }
}

/// Loads one booking in scope.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<booking::Model> {
    booking::Entity::find_by_id(id)
        .filter(visible(actor))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The item a booking is for, to someone who may see the booking (a borrower sees the item
/// they booked although it is not "their" asset).
pub async fn asset_of(
    db: &impl ConnectionTrait,
    actor: &Actor,
    b: &booking::Model,
) -> ServiceResult<Option<asset::Model>> {
    let b = get(db, actor, b.id).await?;
    Ok(asset::Entity::find_by_id(b.asset_id)
        .filter(asset::Column::TenantId.eq(actor.tenant_id))
        .one(db)
        .await?)
}

/// Locks the asset row for the rest of the transaction (PostgreSQL) and loads it in scope of
/// the tenant: a requester books items they do not use, so scope here is the tenant's loan pool.
async fn lock_asset(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<asset::Model> {
    asset::Entity::find_by_id(id)
        .filter(asset::Column::TenantId.eq(actor.tenant_id))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

async fn overlapping(
    db: &impl ConnectionTrait,
    asset_id: Uuid,
    starts: DateTime<Utc>,
    due: DateTime<Utc>,
    except: Option<Uuid>,
) -> ServiceResult<Option<booking::Model>> {
    let mut q = booking::Entity::find()
        .filter(booking::Column::AssetId.eq(asset_id))
        .filter(booking::Column::Status.is_in([BookingStatus::Reserved, BookingStatus::CheckedOut]))
        .filter(booking::Column::StartsAt.lt(due))
        .filter(booking::Column::DueAt.gt(starts));
    if let Some(e) = except {
        q = q.filter(booking::Column::Id.ne(e));
    }
    Ok(q.one(db).await?)
}

fn overlap_error(b: &booking::Model) -> ServiceError {
    let fmt = |t: DateTime<Utc>| {
        t.with_timezone(&tz::TOKYO)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    ServiceError::invalid(
        "startsAt",
        "OVERLAPPING_BOOKING",
        format!(
            "この期間は既に予約・貸出があります（{}〜{}）",
            fmt(b.starts_at),
            fmt(b.due_at)
        ),
    )
}

async fn insert(
    db: &impl ConnectionTrait,
    actor: &Actor,
    new: NewBooking,
    checked_out: bool,
) -> ServiceResult<(booking::Model, asset::Model)> {
    let borrower = match new.borrower_id {
        Some(b) if b != actor.person_id => {
            require_desk(actor)?;
            b
        }
        _ => actor.person_id,
    };
    if !actor.is_desk() && !actor.has(Role::Requester) {
        return Err(ServiceError::Forbidden("only staff borrow"));
    }
    let mut c = Check::default();
    if new.due_at <= new.starts_at {
        c.push(
            "dueAt",
            "INVALID_RANGE",
            "返却予定は開始より後にしてください",
        );
    } else if (new.due_at - new.starts_at).num_days() > MAX_DAYS {
        c.push("dueAt", "OUT_OF_RANGE", "貸出期間は1年以内にしてください");
    }
    c.opt_text("purpose", new.purpose.as_deref(), super::assets::NOTE_MAX);
    c.done()?;
    let a = lock_asset(db, actor, new.asset_id).await?;
    if !a.loanable {
        return Err(ServiceError::invalid(
            "assetId",
            "NOT_LOANABLE",
            "この機器は貸出対象ではありません",
        ));
    }
    if matches!(a.status, AssetStatus::Retired | AssetStatus::InRepair) {
        return Err(ServiceError::invalid(
            "assetId",
            "NOT_AVAILABLE",
            "廃棄済・修理中の機器は貸し出せません",
        ));
    }
    if checked_out && a.status == AssetStatus::OnLoan {
        return Err(ServiceError::invalid(
            "assetId",
            "ON_LOAN",
            "この機器は貸出中です",
        ));
    }
    if let Some(b) = overlapping(db, a.id, new.starts_at, new.due_at, None).await? {
        return Err(overlap_error(&b));
    }
    let person = directory::person(db, actor.tenant_id, borrower)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid("borrowerId", "UNKNOWN_REFERENCE", "借用者が見つかりません")
        })?;
    let at = now();
    let b = booking::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant_id),
        asset_id: Set(a.id),
        borrower_id: Set(person.id),
        org_unit_id: Set(person.org_unit_id),
        purpose: Set(clean(new.purpose)),
        starts_at: Set(new.starts_at),
        due_at: Set(new.due_at),
        status: Set(if checked_out {
            BookingStatus::CheckedOut
        } else {
            BookingStatus::Reserved
        }),
        checked_out_at: Set(checked_out.then_some(at)),
        returned_at: Set(None),
        overdue_notified_at: Set(None),
        created_by: Set(Some(actor.person_id)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    let payload = json!({ "bookingId": b.id, "borrowerId": b.borrower_id, "startsAt": b.starts_at, "dueAt": b.due_at });
    let a = if checked_out {
        set_status(
            db,
            actor,
            &a,
            AssetStatus::OnLoan,
            StatusEvent {
                kind: "loaned",
                payload,
                ticket_id: None,
            },
            at,
        )
        .await?
    } else {
        assets::record(db, &a, Some(actor.person_id), "reserved", payload, None, at).await?;
        a
    };
    Ok((b, a))
}

/// Reserves an item for future dates. Requesters reserve for themselves; the desk for anyone.
pub async fn reserve(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewBooking,
) -> ServiceResult<booking::Model> {
    let txn = db.begin().await?;
    let (b, _) = insert(&txn, actor, new, false).await?;
    txn.commit().await?;
    Ok(b)
}

/// Lends an item now, with a due date, without a prior reservation (desk only).
pub async fn lend(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewBooking,
) -> ServiceResult<booking::Model> {
    require_desk(actor)?;
    let txn = db.begin().await?;
    let (b, _) = insert(&txn, actor, new, true).await?;
    txn.commit().await?;
    Ok(b)
}

/// Hands a reserved item over (desk only); the asset goes on loan. `due_at` may move the due
/// date (still without overlapping the next booking).
pub async fn check_out(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    due_at: Option<DateTime<Utc>>,
) -> ServiceResult<booking::Model> {
    require_desk(actor)?;
    let txn = db.begin().await?;
    let b = get(&txn, actor, id).await?;
    if b.status != BookingStatus::Reserved {
        return Err(ServiceError::invalid(
            "bookingId",
            "INVALID_TRANSITION",
            "予約中の貸出だけを貸し出せます",
        ));
    }
    let a = lock_asset(&txn, actor, b.asset_id).await?;
    if a.status != AssetStatus::InUse && a.status != AssetStatus::Spare {
        return Err(ServiceError::invalid(
            "bookingId",
            "NOT_AVAILABLE",
            "この機器は現在貸し出せません（貸出中・修理中・廃棄済）",
        ));
    }
    let at = now();
    let due = due_at.unwrap_or(b.due_at);
    if due <= at {
        return Err(ServiceError::invalid(
            "dueAt",
            "INVALID_RANGE",
            "返却予定は現在より後にしてください",
        ));
    }
    if let Some(o) = overlapping(&txn, a.id, at.min(b.starts_at), due, Some(b.id)).await? {
        return Err(overlap_error(&o));
    }
    let mut row = b.clone().into_active_model();
    row.status = Set(BookingStatus::CheckedOut);
    row.checked_out_at = Set(Some(at));
    row.starts_at = Set(at.min(b.starts_at));
    row.due_at = Set(due);
    row.updated_at = Set(at);
    let b = row.update(&txn).await?;
    let payload = json!({ "bookingId": b.id, "borrowerId": b.borrower_id, "dueAt": b.due_at });
    set_status(
        &txn,
        actor,
        &a,
        AssetStatus::OnLoan,
        StatusEvent {
            kind: "loaned",
            payload,
            ticket_id: None,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(b)
}

/// Takes a lent item back (desk only); it becomes a spare again.
pub async fn give_back(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    note: Option<String>,
) -> ServiceResult<booking::Model> {
    require_desk(actor)?;
    let txn = db.begin().await?;
    let b = get(&txn, actor, id).await?;
    if b.status != BookingStatus::CheckedOut {
        return Err(ServiceError::invalid(
            "bookingId",
            "INVALID_TRANSITION",
            "貸出中ではありません",
        ));
    }
    let a = lock_asset(&txn, actor, b.asset_id).await?;
    let at = now();
    let mut row = b.clone().into_active_model();
    row.status = Set(BookingStatus::Returned);
    row.returned_at = Set(Some(at));
    row.updated_at = Set(at);
    let b = row.update(&txn).await?;
    let late = at > b.due_at;
    let payload = json!({ "bookingId": b.id, "borrowerId": b.borrower_id, "late": late, "note": clean(note) });
    set_status(
        &txn,
        actor,
        &a,
        AssetStatus::Spare,
        StatusEvent {
            kind: "returned",
            payload,
            ticket_id: None,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(b)
}

/// Cancels a reservation: the borrower their own, the desk any.
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<booking::Model> {
    let txn = db.begin().await?;
    let b = get(&txn, actor, id).await?;
    if b.status != BookingStatus::Reserved {
        return Err(ServiceError::invalid(
            "bookingId",
            "INVALID_TRANSITION",
            "予約中のものだけ取り消せます",
        ));
    }
    let at = now();
    let mut row = b.clone().into_active_model();
    row.status = Set(BookingStatus::Cancelled);
    row.updated_at = Set(at);
    let b = row.update(&txn).await?;
    if let Some(a) = asset::Entity::find_by_id(b.asset_id).one(&txn).await? {
        assets::record(
            &txn,
            &a,
            Some(actor.person_id),
            "reservation_cancelled",
            json!({ "bookingId": b.id }),
            None,
            at,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(b)
}

/// Which bookings a list shows.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub asset_id: Option<Uuid>,
    pub borrower_id: Option<Uuid>,
    pub statuses: Vec<BookingStatus>,
    /// Only loans past their due date and not returned.
    pub overdue: bool,
    /// Bookings that overlap this period.
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Lists bookings in scope by start time (a calendar of the loan pool), keyset on id.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    f: &BookingFilter,
    first: u64,
    after: Option<Uuid>,
) -> ServiceResult<Page<booking::Model>> {
    let mut q = booking::Entity::find().filter(visible(actor));
    if let Some(a) = f.asset_id {
        q = q.filter(booking::Column::AssetId.eq(a));
    }
    if let Some(b) = f.borrower_id {
        q = q.filter(booking::Column::BorrowerId.eq(b));
    }
    if !f.statuses.is_empty() {
        q = q.filter(booking::Column::Status.is_in(f.statuses.iter().copied()));
    }
    if f.overdue {
        q = q
            .filter(booking::Column::Status.eq(BookingStatus::CheckedOut))
            .filter(booking::Column::DueAt.lt(now()));
    }
    if let Some(t) = f.from {
        q = q.filter(booking::Column::DueAt.gt(t));
    }
    if let Some(t) = f.until {
        q = q.filter(booking::Column::StartsAt.lt(t));
    }
    if let Some(a) = after {
        q = q.filter(booking::Column::Id.gt(a));
    }
    let rows = q
        .order_by_asc(booking::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// Finds loans past their due date not yet reported, records `loan_overdue` on the asset and
/// mails the borrower once. Returns the bookings it reported. Run periodically by the server.
pub async fn notify_overdue(
    db: &DatabaseConnection,
    at: DateTime<Utc>,
    limit: u64,
) -> ServiceResult<Vec<booking::Model>> {
    let txn = db.begin().await?;
    let due = booking::Entity::find()
        .filter(booking::Column::Status.eq(BookingStatus::CheckedOut))
        .filter(booking::Column::DueAt.lt(at))
        .filter(booking::Column::OverdueNotifiedAt.is_null())
        .order_by_asc(booking::Column::DueAt)
        .limit(limit)
        .all(&txn)
        .await?;
    let mut done = Vec::with_capacity(due.len());
    for b in due {
        let claimed = booking::Entity::update_many()
            .col_expr(booking::Column::OverdueNotifiedAt, Expr::val(at))
            .filter(booking::Column::Id.eq(b.id))
            .filter(booking::Column::OverdueNotifiedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed == 0 {
            continue;
        }
        let Some(a) = asset::Entity::find_by_id(b.asset_id).one(&txn).await? else {
            continue;
        };
        assets::record(
            &txn,
            &a,
            None,
            "loan_overdue",
            json!({ "bookingId": b.id, "dueAt": b.due_at }),
            None,
            at,
        )
        .await?;
        let person = directory::person(&txn, b.tenant_id, b.borrower_id).await?;
        let tenant = directory::tenant(&txn, b.tenant_id).await?;
        if let (Some(p), Some(t)) = (person, tenant)
            && !p.email.trim().is_empty()
        {
            let to = p.email.trim();
            let local = b.due_at.with_timezone(&tz::TOKYO);
            let due = format!(
                "{} {}",
                super::sheets::wareki(local.date_naive()),
                local.format("%H:%M")
            );
            let subject = format!(
                "【返却のお願い】{}（{}）の返却期限を過ぎています",
                a.name, a.asset_tag
            );
            let body = format!(
                "{} 様\n\nヘルプデスクです。お貸ししている次の物品の返却期限を過ぎています。\n\n物品: {}（資産番号 {}）\n返却期限: {due}\n\nお手数ですが、ヘルプデスクまでご返却ください。延長が必要な場合はご連絡ください。\n\n――\n{} ヘルプデスク\n",
                p.display_name, a.name, a.asset_tag, t.name
            );
            crate::mail::outbound::queue_personal(&txn, &t, to, "loan_overdue", subject, body, at)
                .await?;
        }
        done.push(booking::Model {
            overdue_notified_at: Some(at),
            ..b
        });
    }
    txn.commit().await?;
    Ok(done)
}
