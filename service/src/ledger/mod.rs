//! The ledgers (台帳): assets with their history, loans and reservations, repairs with spares,
//! licenses, consumables with stock, department requests and purchasing; and their CSV and
//! Excel import and export.
//!
//! Scope, as for tickets: the desk (agent, supervisor, admin) works every ledger of its tenant;
//! requesters see the assets they use, their own loans and their own supply requests; vendors see
//! only the assets a repair was dispatched to them for. Anything outside scope is `NotFound`.

pub mod assets;
pub mod licenses;
pub mod loans;
pub mod repairs;
pub mod sheets;
pub mod stock;

use crate::auth::{Actor, Role};
use crate::error::{ServiceError, ServiceResult, UserError};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use uuid::Uuid;

/// Refuses anyone but the desk.
pub(crate) fn require_desk(actor: &Actor) -> ServiceResult<()> {
    if actor.is_desk() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("ledgers are kept by the desk"))
    }
}

/// Refuses anyone but a supervisor or admin (approvals, purchasing).
pub(crate) fn require_supervisor(actor: &Actor) -> ServiceResult<()> {
    if actor.has(Role::Supervisor) || actor.has(Role::Admin) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("approvals need a supervisor"))
    }
}

/// Hands out the next number of a series (`SR`, `PO`) for the tenant and year, atomically.
pub(crate) async fn next_number(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    series: &str,
    year: i32,
) -> ServiceResult<String> {
    let stmt = Query::insert()
        .into_table("ledger_counters")
        .columns(["tenant_id", "series", "year", "last_value"])
        .values_panic([tenant_id.into(), series.into(), year.into(), 1i64.into()])
        .on_conflict(
            OnConflict::columns(["tenant_id", "series", "year"])
                .value(
                    "last_value",
                    Expr::col(("ledger_counters", "last_value")).add(1),
                )
                .to_owned(),
        )
        .returning_col("last_value")
        .to_owned();
    let row = db
        .query_one(&stmt)
        .await?
        .ok_or_else(|| ServiceError::Config("ledger counter returned no row".to_owned()))?;
    let n: i64 = row.try_get("", "last_value")?;
    Ok(format!("{series}-{year}-{n:06}"))
}

/// Normalises a MAC address to `00:1A:2B:3C:4D:5E`. Accepts colons, hyphens, dots (Cisco
/// `001a.2b3c.4d5e`) or none, any case, full-width characters (Excel users type them).
pub fn normalize_mac(input: &str) -> Option<String> {
    let hex: String = input
        .chars()
        .map(fold_width)
        .filter(|c| !matches!(c, ':' | '-' | '.' | ' '))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let up = hex.to_ascii_uppercase();
    let pairs: Vec<&str> = (0..6).map(|i| &up[i * 2..i * 2 + 2]).collect();
    Some(pairs.join(":"))
}

/// Normalises an IPv4 or IPv6 address (full-width digits folded); `None` when it is not one.
pub fn normalize_ip(input: &str) -> Option<String> {
    let s: String = input.chars().map(fold_width).collect();
    s.trim()
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

/// Folds a full-width ASCII character (`０`, `Ａ`, `：`) to its half-width form.
pub(crate) fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// `text` with LIKE's wildcards escaped (escape character `\\`).
pub(crate) fn escape_like(text: &str) -> String {
    let mut p = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p
}

/// Trims a free-text value; empty becomes `None`.
pub(crate) fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Collects user errors so that one response reports every problem at once.
#[derive(Default, Debug)]
pub(crate) struct Check(pub Vec<UserError>);

impl Check {
    pub fn push(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(UserError::new(field, code, message));
    }

    pub fn text(&mut self, field: &str, value: &str, max: usize, required: bool) {
        let n = value.chars().count();
        if required && value.trim().is_empty() {
            self.push(field, "REQUIRED", "入力してください");
        } else if n > max {
            self.push(
                field,
                "TOO_LONG",
                format!("{max}文字以内で入力してください（現在{n}文字）"),
            );
        }
    }

    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.text(field, v, max, false);
        }
    }

    pub fn positive(&mut self, field: &str, value: i64) {
        if value <= 0 {
            self.push(field, "OUT_OF_RANGE", "1以上で指定してください");
        }
    }

    pub fn non_negative(&mut self, field: &str, value: i64) {
        if value < 0 {
            self.push(field, "OUT_OF_RANGE", "0以上で指定してください");
        }
    }

    pub fn done(self) -> ServiceResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid(self.0))
        }
    }
}

/// Whether a database error is a unique-constraint violation (SQLite or PostgreSQL).
pub(crate) fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Shorthand for "match nothing" in a scope condition.
pub(crate) fn nothing() -> sea_orm::sea_query::SimpleExpr {
    Expr::val(1).eq(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_addresses_are_normalised_from_every_way_people_write_them() {
        for input in [
            "00:1a:2b:3c:4d:5e",
            "00-1A-2B-3C-4D-5E",
            "001a.2b3c.4d5e",
            "001A2B3C4D5E",
            "００：１Ａ：２Ｂ：３Ｃ：４Ｄ：５Ｅ",
        ] {
            assert_eq!(
                normalize_mac(input).as_deref(),
                Some("00:1A:2B:3C:4D:5E"),
                "{input}"
            );
        }
        for bad in [
            "00:1a:2b:3c:4d",
            "00:1a:2b:3c:4d:5g",
            "",
            "00:1a:2b:3c:4d:5e:6f",
        ] {
            assert_eq!(normalize_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn ip_addresses_are_checked_and_full_width_digits_folded() {
        assert_eq!(
            normalize_ip("１９２．１６８．１．１０").as_deref(),
            Some("192.168.1.10")
        );
        assert_eq!(normalize_ip(" 10.0.0.1 ").as_deref(), Some("10.0.0.1"));
        assert_eq!(normalize_ip("fe80::1").as_deref(), Some("fe80::1"));
        assert_eq!(normalize_ip("192.168.1.300"), None);
        assert_eq!(normalize_ip("pc-01"), None);
    }
}
