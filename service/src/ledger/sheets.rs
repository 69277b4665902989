//! Import and export of the ledgers as the desks keep them today: CSV as Excel writes it
//! (UTF-8 with or without BOM, or Shift_JIS/CP932, detected from the bytes) and `.xlsx`.
//!
//! Headers are the Japanese column names of the ledgers (the English keys work too). Import
//! checks every row before writing anything, reports errors by line and column, and is
//! idempotent by asset tag, license code or item code: importing the same file twice changes
//! nothing the second time. A dry run reports without writing; strict mode writes nothing when
//! any row is wrong. Dates read as 西暦 (`2026/4/1`, `2026-04-01`, `2026年4月1日`), 和暦
//! (`令和8年4月1日`, `R8.4.1`) or an Excel serial number.

use super::assets::{self, AssetInput};
use super::licenses::{self, LicenseInput};
use super::stock::{self, ItemInput, MovementRefs, NewMovement};
use super::{fold_width, require_desk};
use crate::auth::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::tickets::now;
use chrono::{Datelike, NaiveDate};
use entity::{
    AssetKind, AssetStatus, ConsumableCategory, MovementKind, asset, asset_event, consumable_item,
    license, org_unit, person,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Which ledger a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ledger {
    /// 構成管理台帳
    Assets,
    /// ライセンス管理台帳
    Licenses,
    /// 消耗品台帳
    Consumables,
    /// MAC addresses for RADIUS registration (export only): devices with a MAC that are in
    /// use, spare or on loan.
    RadiusMacs,
}

impl Ledger {
    /// The ledger's Japanese name (sheet and file names).
    pub fn label_ja(self) -> &'static str {
        match self {
            Ledger::Assets => "構成管理台帳",
            Ledger::Licenses => "ライセンス管理台帳",
            Ledger::Consumables => "消耗品台帳",
            Ledger::RadiusMacs => "RADIUS登録用MACアドレス一覧",
        }
    }

    /// The ledger's ASCII name (`assets`), for file names and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Ledger::Assets => "assets",
            Ledger::Licenses => "licenses",
            Ledger::Consumables => "consumables",
            Ledger::RadiusMacs => "radius",
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            Ledger::Assets => ASSET_COLUMNS,
            Ledger::Licenses => LICENSE_COLUMNS,
            Ledger::Consumables => ITEM_COLUMNS,
            Ledger::RadiusMacs => RADIUS_COLUMNS,
        }
    }
}

impl std::str::FromStr for Ledger {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "assets" | "構成管理台帳" => Ok(Ledger::Assets),
            "licenses" | "ライセンス管理台帳" => Ok(Ledger::Licenses),
            "consumables" | "消耗品台帳" => Ok(Ledger::Consumables),
            "radius" => Ok(Ledger::RadiusMacs),
            other => Err(format!(
                "unknown ledger `{other}` (assets, licenses, consumables, radius)"
            )),
        }
    }
}

/// One column of a ledger file: its key, its Japanese header, other headers people use.
#[derive(Debug)]
struct Column {
    key: &'static str,
    ja: &'static str,
    aliases: &'static [&'static str],
    required: bool,
}

const fn col(key: &'static str, ja: &'static str, aliases: &'static [&'static str]) -> Column {
    Column {
        key,
        ja,
        aliases,
        required: false,
    }
}

const fn req(key: &'static str, ja: &'static str, aliases: &'static [&'static str]) -> Column {
    Column {
        key,
        ja,
        aliases,
        required: true,
    }
}

const ASSET_COLUMNS: &[Column] = &[
    req("assetTag", "資産番号", &["管理番号", "資産管理番号"]),
    req("kind", "種別", &["機器種別", "分類"]),
    req("name", "品名", &["機器名", "名称"]),
    col("maker", "メーカー", &["製造元"]),
    col("model", "型番", &["機種", "モデル"]),
    col("serial", "製造番号", &["シリアル番号", "シリアル", "S/N"]),
    col("computerName", "コンピュータ名", &["ホスト名", "端末名"]),
    col("ipAddress", "IPアドレス", &["IP"]),
    col("macAddress", "MACアドレス", &["MAC"]),
    col("orgUnit", "所属", &["所属コード", "部署", "課"]),
    col("location", "設置場所", &["場所"]),
    col("user", "利用者", &["使用者", "利用者メール"]),
    col("purpose", "用途", &[]),
    col("status", "状態", &["ステータス"]),
    col("parentTag", "接続先資産番号", &["親資産番号", "接続先"]),
    col("loanable", "貸出用", &["貸出"]),
    col("lessor", "リース会社", &[]),
    col("leaseStart", "リース開始日", &["リース開始"]),
    col("leaseEnd", "リース終了日", &["リース終了", "リース満了日"]),
    col("purchasedOn", "購入日", &["導入日"]),
    col("warrantyUntil", "保証期限", &["保守期限"]),
    col("notes", "備考", &[]),
];

const LICENSE_COLUMNS: &[Column] = &[
    req("code", "管理番号", &["ライセンス番号"]),
    req("product", "製品名", &["ソフトウェア名", "製品"]),
    col("productVersion", "バージョン", &["版"]),
    col("edition", "エディション", &[]),
    req("seats", "保有数", &["ライセンス数", "数量"]),
    col("contractNumber", "契約番号", &[]),
    col("contractName", "契約名", &["調達名"]),
    col("mainContract", "本調達", &["本調達分"]),
    col("supplier", "調達先", &["販売店"]),
    col("startsOn", "開始日", &["契約開始日"]),
    col("expiresOn", "有効期限", &["期限", "契約終了日"]),
    col("notes", "備考", &[]),
    col("assigned", "割当数", &[]),
];

const ITEM_COLUMNS: &[Column] = &[
    req("code", "品目コード", &["品番", "コード"]),
    req("name", "品名", &["名称"]),
    req("category", "区分", &["分類"]),
    col("unit", "単位", &[]),
    col("unitPrice", "単価", &[]),
    col("reorderPoint", "発注点", &[]),
    col("reorderQuantity", "発注数", &["発注量"]),
    col("supplier", "調達先", &["納品業者"]),
    col("models", "対応機種", &["互換機種"]),
    col("active", "有効", &[]),
    col("notes", "備考", &[]),
    col("location", "在庫場所", &["保管場所"]),
    col("stock", "在庫数", &["在庫"]),
];

const RADIUS_COLUMNS: &[Column] = &[
    col("username", "MACアドレス（認証ID）", &[]),
    col("macAddress", "MACアドレス", &[]),
    col("computerName", "コンピュータ名", &[]),
    col("assetTag", "資産番号", &[]),
    col("orgUnit", "所属", &[]),
    col("status", "状態", &[]),
];

/// A problem with one cell (or one row) of an imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file, 1-based, the header being line 1.
    pub line: u64,
    /// The column's header as the file has it; empty for the whole row.
    pub column: String,
    pub code: &'static str,
    pub message: String,
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Check and report, write nothing.
    pub dry_run: bool,
    /// Write nothing when any row is wrong (otherwise the good rows are written).
    pub strict: bool,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// `UTF-8`, `UTF-8 (BOM)`, `Shift_JIS`.
    pub encoding: &'static str,
    /// Data rows read.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows refused, with every problem of each.
    pub errors: Vec<RowError>,
    /// Headers the file has that the ledger does not know (ignored).
    pub ignored_columns: Vec<String>,
    /// Whether anything was written.
    pub applied: bool,
}

impl ImportReport {
    /// The lines that had errors, each once.
    pub fn error_lines(&self) -> Vec<u64> {
        let mut l: Vec<u64> = self.errors.iter().map(|e| e.line).collect();
        l.dedup();
        l
    }
}

/// Longest file accepted, in bytes.
pub const MAX_FILE: usize = 64 * 1024 * 1024;

/// Decodes a CSV file's bytes: UTF-8 (BOM stripped), UTF-16 with BOM, or Shift_JIS/CP932 when
/// the bytes are not UTF-8. Characters Windows and the WHATWG tables map differently are folded
/// to Windows' (〜 U+301C read from CP932 0x8160 is ～ U+FF5E), so Excel round trips are exact.
pub fn decode(bytes: &[u8]) -> ServiceResult<(String, &'static str)> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_owned(), "UTF-8 (BOM)"))
            .map_err(|_| {
                ServiceError::invalid(
                    "file",
                    "UNDECODABLE",
                    "UTF-8 (BOM付き) として読めない箇所があります",
                )
            });
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let enc = if bytes[0] == 0xFF {
            encoding_rs::UTF_16LE
        } else {
            encoding_rs::UTF_16BE
        };
        let (s, bad) = enc.decode_without_bom_handling(&bytes[2..]);
        if bad {
            return Err(ServiceError::invalid(
                "file",
                "UNDECODABLE",
                "UTF-16 として読めない箇所があります",
            ));
        }
        return Ok((s.into_owned(), "UTF-16"));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_owned(), "UTF-8"));
    }
    let (s, _, bad) = encoding_rs::SHIFT_JIS.decode(bytes);
    if bad {
        return Err(ServiceError::invalid(
            "file",
            "UNDECODABLE",
            "文字コードを判別できません（UTF-8 または Shift_JIS で保存してください）",
        ));
    }
    Ok((s.into_owned(), "Shift_JIS"))
}

/// Encodes text as Shift_JIS/CP932 the way Excel reads it. Characters CP932 lacks become 〓
/// (geta); the count of them is returned so the caller can say so.
pub fn encode_sjis(text: &str) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(text.len());
    let mut lost = 0;
    let mut buf = [0u8; 4];
    for ch in text.chars() {
        let ch = match ch {
            '\u{301C}' => '\u{FF5E}',
            '\u{2016}' => '\u{2225}',
            '\u{2212}' => '\u{FF0D}',
            '\u{00A2}' => '\u{FFE0}',
            '\u{00A3}' => '\u{FFE1}',
            '\u{00AC}' => '\u{FFE2}',
            c => c,
        };
        let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(ch.encode_utf8(&mut buf));
        if bad {
            lost += 1;
            out.extend_from_slice(&[0x81, 0xAC]);
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    (out, lost)
}

fn header_key(h: &str) -> String {
    h.chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace() && *c != '＊' && *c != '*')
        .collect::<String>()
        .to_lowercase()
}

/// Maps the file's headers to the ledger's columns.
struct Headers {
    /// Column key → index in the record.
    index: HashMap<&'static str, usize>,
    /// Column key → the header as the file wrote it.
    names: HashMap<&'static str, String>,
    ignored: Vec<String>,
}

impl Headers {
    fn read(ledger: Ledger, header: &::csv::StringRecord) -> ServiceResult<Self> {
        let mut index = HashMap::new();
        let mut names = HashMap::new();
        let mut ignored = Vec::new();
        for (i, h) in header.iter().enumerate() {
            let k = header_key(h);
            if k.is_empty() {
                continue;
            }
            let found = ledger.columns().iter().find(|c| {
                header_key(c.ja) == k
                    || header_key(c.key) == k
                    || c.aliases.iter().any(|a| header_key(a) == k)
            });
            match found {
                Some(c) if !index.contains_key(c.key) => {
                    index.insert(c.key, i);
                    names.insert(c.key, h.trim().to_owned());
                }
                _ => ignored.push(h.trim().to_owned()),
            }
        }
        let missing: Vec<&str> = ledger
            .columns()
            .iter()
            .filter(|c| c.required && !index.contains_key(c.key))
            .map(|c| c.ja)
            .collect();
        if !missing.is_empty() {
            return Err(ServiceError::invalid(
                "file",
                "MISSING_COLUMN",
                format!(
                    "必須の列がありません: {}（1行目に見出しが必要です）",
                    missing.join("、")
                ),
            ));
        }
        Ok(Self {
            index,
            names,
            ignored,
        })
    }
}

/// One data row with its line number, and the errors found in it.
struct Row<'a> {
    line: u64,
    record: &'a ::csv::StringRecord,
    headers: &'a Headers,
    ledger: Ledger,
    errors: Vec<RowError>,
}

impl<'a> Row<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        let i = *self.headers.index.get(key)?;
        self.record.get(i).map(str::trim).filter(|v| !v.is_empty())
    }

    fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    fn column_name(&self, key: &str) -> String {
        self.headers
            .names
            .get(key)
            .cloned()
            .or_else(|| {
                self.ledger
                    .columns()
                    .iter()
                    .find(|c| c.key == key)
                    .map(|c| c.ja.to_owned())
            })
            .unwrap_or_default()
    }

    fn error(&mut self, key: &str, code: &'static str, message: impl Into<String>) {
        let column = self.column_name(key);
        self.errors.push(RowError {
            line: self.line,
            column,
            code,
            message: message.into(),
        });
    }

    fn date(&mut self, key: &str) -> Option<NaiveDate> {
        let v = self.get(key)?;
        match parse_date(v) {
            Some(d) => Some(d),
            None => {
                self.error(key, "INVALID_DATE", format!("日付として読めません: {v}"));
                None
            }
        }
    }

    fn int(&mut self, key: &str) -> Option<i64> {
        let v = self.get(key)?;
        match parse_int(v) {
            Some(n) => Some(n),
            None => {
                self.error(key, "INVALID_NUMBER", format!("数値として読めません: {v}"));
                None
            }
        }
    }

    fn flag(&mut self, key: &str) -> bool {
        let Some(v) = self.get(key) else { return false };
        match parse_bool(v) {
            Some(b) => b,
            None => {
                self.error(
                    key,
                    "INVALID_VALUE",
                    format!("○／×、はい／いいえ で入力してください: {v}"),
                );
                false
            }
        }
    }

    /// Adds the service's user errors (keyed by input field) as errors of their columns.
    fn user_errors(&mut self, errs: Vec<crate::UserError>) {
        for e in errs {
            let key = e.field.last().cloned().unwrap_or_default();
            let column = self.column_name(&key);
            self.errors.push(RowError {
                line: self.line,
                column,
                code: e.code,
                message: e.message,
            });
        }
    }
}

/// Parses a date as Japanese forms and Excel write it; `None` when it is not one.
pub fn parse_date(input: &str) -> Option<NaiveDate> {
    let s: String = input
        .chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace())
        .collect();
    if s.chars().all(|c| c.is_ascii_digit()) && (5..=5).contains(&s.len()) {
        // An Excel serial date that lost its format (46113 = 2026-04-01).
        let n: i64 = s.parse().ok()?;
        return NaiveDate::from_ymd_opt(1899, 12, 30)?
            .checked_add_signed(chrono::Duration::days(n));
    }
    let (era_base, rest) = wareki_era(&s);
    let nums: Vec<&str> = rest
        .split(|c: char| !c.is_ascii_digit() && c != '元')
        .filter(|p| !p.is_empty())
        .collect();
    if nums.len() < 3 {
        return None;
    }
    let year_part = nums[0];
    let y: i32 = if year_part == "元" {
        1
    } else {
        year_part.parse().ok()?
    };
    let m: u32 = nums[1].parse().ok()?;
    let d: u32 = nums[2].parse().ok()?;
    let year = match era_base {
        Some(base) => base + y - 1,
        None if y >= 1900 => y,
        None => return None,
    };
    NaiveDate::from_ymd_opt(year, m, d)
}

/// Splits a leading era name or letter (令和/R, 平成/H, 昭和/S) off a date.
fn wareki_era(s: &str) -> (Option<i32>, &str) {
    for (names, base) in [
        (&["令和", "R", "r"][..], 2019),
        (&["平成", "H", "h"][..], 1989),
        (&["昭和", "S", "s"][..], 1926),
    ] {
        for n in names {
            if let Some(rest) = s.strip_prefix(n) {
                return (Some(base), rest);
            }
        }
    }
    (None, s)
}

/// Formats a date in 和暦 as forms print it (`令和8年4月1日`).
pub fn wareki(d: NaiveDate) -> String {
    let (era, base) = if d >= NaiveDate::from_ymd_opt(2019, 5, 1).unwrap_or(d) {
        ("令和", 2019)
    } else if d >= NaiveDate::from_ymd_opt(1989, 1, 8).unwrap_or(d) {
        ("平成", 1989)
    } else {
        ("昭和", 1926)
    };
    let n = d.year() - base + 1;
    let y = if n == 1 {
        "元".to_owned()
    } else {
        n.to_string()
    };
    format!("{era}{y}年{}月{}日", d.month(), d.day())
}

fn parse_int(input: &str) -> Option<i64> {
    let s: String = input
        .chars()
        .map(fold_width)
        .filter(|c| !matches!(c, ',' | ' ' | '¥' | '\\' | '円' | '個' | '本' | '台' | '箱'))
        .collect();
    s.parse().ok()
}

fn parse_bool(input: &str) -> Option<bool> {
    let s: String = input
        .chars()
        .map(fold_width)
        .collect::<String>()
        .trim()
        .to_lowercase();
    match s.as_str() {
        "○" | "〇" | "◯" | "●" | "✓" | "はい" | "有" | "あり" | "可" | "1" | "true" | "yes"
        | "y" => Some(true),
        "×" | "✕" | "-" | "－" | "いいえ" | "無" | "なし" | "不可" | "0" | "false" | "no" | "n" => {
            Some(false)
        }
        _ => None,
    }
}

fn flag_out(b: bool) -> String {
    if b { "○".into() } else { String::new() }
}

/// Reads a kind from its code, its label, or the words ledgers use.
fn parse_kind(v: &str) -> Option<AssetKind> {
    let k = header_key(v);
    if let Some(kind) = AssetKind::ALL
        .into_iter()
        .find(|x| x.as_str() == k || header_key(x.label_ja()) == k)
    {
        return Some(kind);
    }
    let has = |words: &[&str]| words.iter().any(|w| k.contains(&header_key(w)));
    Some(if has(&["2in1", "2-in-1", "ツーインワン"]) {
        AssetKind::TwoInOne
    } else if has(&["wi-fi", "wifi", "ルータ", "ルーター"]) && has(&["モバイル", "mobile"])
    {
        AssetKind::MobileRouter
    } else if has(&["テレワーク"]) {
        AssetKind::TeleworkPc
    } else if has(&["ノート"]) {
        AssetKind::Notebook
    } else if has(&["デスクトップ"]) {
        AssetKind::Desktop
    } else if has(&["サーバ", "server"]) {
        AssetKind::Server
    } else if has(&["プリンタ", "複合機", "printer", "mfp"]) {
        AssetKind::Printer
    } else if has(&["プロジェクタ"]) {
        AssetKind::Projector
    } else if has(&[
        "スイッチ",
        "ルータ",
        "ルーター",
        "ネットワーク",
        "hub",
        "ハブ",
        "アクセスポイント",
    ]) {
        AssetKind::NetworkDevice
    } else if has(&["ups", "無停電"]) {
        AssetKind::Ups
    } else if has(&[
        "マウス",
        "アダプタ",
        "モニタ",
        "ディスプレイ",
        "カードリーダ",
        "周辺",
    ]) {
        AssetKind::Peripheral
    } else if has(&["セット", "キット", "kit"]) {
        AssetKind::LoanKit
    } else if has(&["カード", "card"]) {
        AssetKind::Card
    } else {
        return None;
    })
}

fn parse_status(v: &str) -> Option<AssetStatus> {
    let k = header_key(v);
    AssetStatus::ALL
        .into_iter()
        .find(|x| x.as_str() == k || header_key(x.label_ja()) == k)
        .or(match k.as_str() {
            "稼働中" | "使用" | "利用中" => Some(AssetStatus::InUse),
            "予備機" | "在庫" | "保管" => Some(AssetStatus::Spare),
            "貸出" => Some(AssetStatus::OnLoan),
            "修理" | "故障" => Some(AssetStatus::InRepair),
            "廃棄" | "廃止" => Some(AssetStatus::Retired),
            _ => None,
        })
}

fn parse_category(v: &str) -> Option<ConsumableCategory> {
    let k = header_key(v);
    ConsumableCategory::ALL
        .into_iter()
        .find(|x| x.as_str() == k || header_key(x.label_ja()) == k)
        .or_else(|| {
            let has = |w: &str| k.contains(&header_key(w));
            if has("トナー") {
                Some(ConsumableCategory::Toner)
            } else if has("インク") && !has("印刷室") {
                Some(ConsumableCategory::Ink)
            } else if has("マスター") || has("印刷室") {
                Some(ConsumableCategory::PrintRoom)
            } else if has("マウス") {
                Some(ConsumableCategory::Mouse)
            } else if has("ヘッドセット") {
                Some(ConsumableCategory::Headset)
            } else if has("モニタ") {
                Some(ConsumableCategory::Monitor)
            } else if has("usb") {
                Some(ConsumableCategory::Usb)
            } else if has("lan") || has("ケーブル") {
                Some(ConsumableCategory::LanCable)
            } else if has("hub") || has("ハブ") {
                Some(ConsumableCategory::Hub)
            } else {
                None
            }
        })
}

fn read_records(
    text: &str,
) -> ServiceResult<(::csv::StringRecord, Vec<(u64, ::csv::StringRecord)>)> {
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = rdr
        .headers()
        .map_err(|e| {
            ServiceError::invalid("file", "INVALID_CSV", format!("見出し行を読めません: {e}"))
        })?
        .clone();
    let newlines: Vec<u64> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i as u64)
        .collect();
    let mut rows = Vec::new();
    for r in rdr.records() {
        let r = r.map_err(|e| {
            let line = e.position().map_or(0, |p| {
                newlines.partition_point(|n| *n <= p.byte()) as u64 + 1
            });
            ServiceError::invalid(
                "file",
                "INVALID_CSV",
                format!("{line}行目をCSVとして読めません（引用符の閉じ忘れなど）"),
            )
        })?;
        if r.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        // The line a record starts on, counted from its byte offset (a quoted field may span
        // lines, so the reader's own record count is not the line number Excel users see).
        let offset = r.position().map_or(0, ::csv::Position::byte);
        let line = newlines.partition_point(|n| *n <= offset) as u64 + 1;
        rows.push((line, r));
    }
    Ok((header, rows))
}

/// Imports a ledger file for the actor's tenant (desk only). `progress` is told how many rows
/// of how many have been handled.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    ledger: Ledger,
    bytes: &[u8],
    opts: ImportOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> ServiceResult<ImportReport> {
    require_desk(actor)?;
    if bytes.len() > MAX_FILE {
        return Err(ServiceError::invalid(
            "file",
            "TOO_LARGE",
            "ファイルは64MB以内にしてください",
        ));
    }
    let (text, encoding) = decode(bytes)?;
    let (header, records) = read_records(&text)?;
    let headers = Headers::read(ledger, &header)?;
    let mut report = ImportReport {
        encoding,
        rows: records.len() as u64,
        ignored_columns: headers.ignored.clone(),
        ..ImportReport::default()
    };
    match ledger {
        Ledger::Assets => {
            import_assets(db, actor, &headers, &records, opts, &mut report, progress).await?
        }
        Ledger::Licenses => {
            import_licenses(db, actor, &headers, &records, opts, &mut report, progress).await?
        }
        Ledger::Consumables => {
            import_items(db, actor, &headers, &records, opts, &mut report, progress).await?
        }
        Ledger::RadiusMacs => {
            return Err(ServiceError::invalid(
                "ledger",
                "EXPORT_ONLY",
                "RADIUS登録用一覧は出力専用です（構成管理台帳を取り込んでください）",
            ));
        }
    }
    Ok(report)
}

/// Whether the checked rows may be written. When they may not because strict mode met an
/// error, the report says nothing will be created or updated.
fn may_write(opts: ImportOptions, report: &mut ImportReport) -> bool {
    if opts.dry_run {
        return false;
    }
    if opts.strict && !report.errors.is_empty() {
        (report.created, report.updated) = (0, 0);
        return false;
    }
    true
}

/// The tenant's org units and people as a ledger file names them, both ways: import reads
/// 所属 (code or name) and 利用者 (mail address or employee number); export writes the unit's
/// code and the person's mail address.
struct Directory {
    units: HashMap<String, Uuid>,
    people: HashMap<String, Uuid>,
    unit_codes: HashMap<Uuid, String>,
    emails: HashMap<Uuid, String>,
}

impl Directory {
    async fn load(db: &impl ConnectionTrait, tenant_id: Uuid) -> ServiceResult<Self> {
        let mut d = Self {
            units: HashMap::new(),
            people: HashMap::new(),
            unit_codes: HashMap::new(),
            emails: HashMap::new(),
        };
        for u in org_unit::Entity::find()
            .filter(org_unit::Column::TenantId.eq(tenant_id))
            .all(db)
            .await?
        {
            d.units.insert(header_key(&u.name), u.id);
            d.units.insert(header_key(&u.code), u.id);
            d.unit_codes.insert(u.id, u.code);
        }
        for p in person::Entity::find()
            .filter(person::Column::TenantId.eq(tenant_id))
            .all(db)
            .await?
        {
            d.people.insert(p.email.trim().to_lowercase(), p.id);
            if let Some(n) = &p.employee_number {
                d.people.insert(header_key(n), p.id);
            }
            d.emails.insert(p.id, p.email);
        }
        Ok(d)
    }
}

/// Rows inserted per statement: well under SQLite's 32,766 bound variables at 27 columns.
const CHUNK: usize = 1000;

#[allow(clippy::too_many_lines)]
async fn import_assets(
    db: &DatabaseConnection,
    actor: &Actor,
    headers: &Headers,
    records: &[(u64, ::csv::StringRecord)],
    opts: ImportOptions,
    report: &mut ImportReport,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> ServiceResult<()> {
    let total = records.len() as u64;
    let dir = Directory::load(db, actor.tenant_id).await?;
    let existing: HashMap<String, asset::Model> = asset::Entity::find()
        .filter(asset::Column::TenantId.eq(actor.tenant_id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.asset_tag.clone(), a))
        .collect();
    let mut mac_owner: HashMap<String, String> = existing
        .values()
        .filter_map(|a| a.mac_address.clone().map(|m| (m, a.asset_tag.clone())))
        .collect();
    // Tags in the file, with the id a new row will get (so peripherals can name a terminal
    // that is in the same file).
    let mut file_ids: HashMap<String, Uuid> = HashMap::new();
    for (_, r) in records {
        if let Some(i) = headers.index.get("assetTag")
            && let Some(tag) = r.get(*i).map(str::trim).filter(|t| !t.is_empty())
        {
            let id = existing.get(tag).map_or_else(Uuid::now_v7, |a| a.id);
            file_ids.entry(tag.to_owned()).or_insert(id);
        }
    }
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut new_rows: Vec<(Uuid, AssetInput, bool)> = Vec::new();
    let mut changed: Vec<(asset::Model, AssetInput)> = Vec::new();
    let mut parents: HashMap<Uuid, Option<Uuid>> = HashMap::new();
    for (n, (line, record)) in records.iter().enumerate() {
        let mut row = Row {
            line: *line,
            record,
            headers,
            ledger: Ledger::Assets,
            errors: Vec::new(),
        };
        let kind = row.get("kind").map(|v| (v, parse_kind(v)));
        let kind = match kind {
            Some((_, Some(k))) => Some(k),
            Some((v, None)) => {
                row.error("kind", "INVALID_VALUE", format!("種別が分かりません: {v}"));
                None
            }
            None => None,
        };
        let status = match row.get("status") {
            None => None,
            Some(v) => match parse_status(v) {
                Some(s) => Some(s),
                None => {
                    row.error(
                        "status",
                        "INVALID_VALUE",
                        format!("状態が分かりません: {v}（使用中・予備・貸出中・修理中・廃棄済）"),
                    );
                    None
                }
            },
        };
        let org_unit_id = row
            .get("orgUnit")
            .and_then(|v| match dir.units.get(&header_key(v)) {
                Some(id) => Some(*id),
                None => {
                    row.error(
                        "orgUnit",
                        "UNKNOWN_REFERENCE",
                        format!("所属が見つかりません: {v}"),
                    );
                    None
                }
            });
        let user_id = row.get("user").and_then(|v| {
            match dir
                .people
                .get(&v.to_lowercase())
                .or_else(|| dir.people.get(&header_key(v)))
            {
                Some(id) => Some(*id),
                None => {
                    row.error(
                        "user",
                        "UNKNOWN_REFERENCE",
                        format!("利用者が見つかりません（メールアドレスか職員番号）: {v}"),
                    );
                    None
                }
            }
        });
        let parent_id = row.get("parentTag").and_then(|v| {
            match file_ids
                .get(v)
                .copied()
                .or_else(|| existing.get(v).map(|a| a.id))
            {
                Some(id) => Some(id),
                None => {
                    row.error(
                        "parentTag",
                        "UNKNOWN_REFERENCE",
                        format!("接続先の資産番号が見つかりません: {v}"),
                    );
                    None
                }
            }
        });
        let input = AssetInput {
            asset_tag: row.text("assetTag").unwrap_or_default(),
            kind,
            name: row.text("name").unwrap_or_default(),
            maker: row.text("maker"),
            model: row.text("model"),
            serial: row.text("serial"),
            computer_name: row.text("computerName"),
            ip_address: row.text("ipAddress"),
            mac_address: row.text("macAddress"),
            org_unit_id,
            location: row.text("location"),
            user_id,
            purpose: row.text("purpose"),
            status,
            parent_id,
            loanable: row.flag("loanable"),
            lessor: row.text("lessor"),
            lease_start: row.date("leaseStart"),
            lease_end: row.date("leaseEnd"),
            purchased_on: row.date("purchasedOn"),
            warranty_until: row.date("warrantyUntil"),
            notes: row.text("notes"),
        };
        let had_errors = !row.errors.is_empty();
        let input = match assets::normalize(input) {
            Ok(i) => Some(i),
            Err(errs) => {
                // A kind that did not parse was reported already.
                row.user_errors(
                    errs.into_iter()
                        .filter(|e| {
                            !(e.field.last().is_some_and(|f| f == "kind")
                                && row.get("kind").is_some())
                        })
                        .collect(),
                );
                None
            }
        };
        if let Some(input) = input.filter(|_| !had_errors && row.errors.is_empty()) {
            let tag = input.asset_tag.clone();
            if let Some(first) = seen.get(&tag) {
                row.error(
                    "assetTag",
                    "DUPLICATE",
                    format!("資産番号がファイル内で重複しています（{first}行目と同じ）"),
                );
            }
            if let Some(mac) = &input.mac_address
                && let Some(owner) = mac_owner.get(mac)
                && *owner != tag
            {
                row.error(
                    "macAddress",
                    "DUPLICATE",
                    format!("MACアドレスが資産番号 {owner} と重複しています"),
                );
            }
            let mac = input.mac_address.clone();
            let id = file_ids.get(&tag).copied().unwrap_or_else(Uuid::now_v7);
            if input.parent_id == Some(id) {
                row.error("parentTag", "INVALID_VALUE", "自分自身には接続できません");
            }
            match existing.get(&tag) {
                Some(old) if row.errors.is_empty() => {
                    let mut input = input;
                    input.status = Some(input.status.unwrap_or(old.status));
                    let settable =
                        |s: AssetStatus| matches!(s, AssetStatus::InUse | AssetStatus::Spare);
                    if input.status != Some(old.status)
                        && !(settable(old.status) && input.status.is_some_and(settable))
                    {
                        row.error("status", "STATUS_BY_OPERATION", "貸出中・修理中・廃棄済への変更や解除は、貸出・修理・廃棄の操作で行ってください");
                    } else if AssetInput::from(old) == input {
                        report.unchanged += 1;
                    } else {
                        parents.insert(id, input.parent_id);
                        changed.push((old.clone(), input));
                    }
                }
                None if row.errors.is_empty() => {
                    parents.insert(id, input.parent_id);
                    let has_parent = input.parent_id.is_some();
                    new_rows.push((id, input, has_parent));
                }
                _ => {}
            }
            if row.errors.is_empty() {
                seen.insert(tag.clone(), *line);
                if let Some(mac) = mac {
                    mac_owner.insert(mac, tag);
                }
            }
        }
        report.errors.append(&mut row.errors);
        if n % 1000 == 0 {
            progress(n as u64, total * 2);
        }
    }
    // Checks that need every row: a peripheral's terminal must not be a peripheral itself, and
    // a row whose terminal's row was refused is refused too (and says so).
    let line_of: HashMap<Uuid, u64> = records
        .iter()
        .filter_map(|(l, r)| {
            headers
                .index
                .get("assetTag")
                .and_then(|i| r.get(*i))
                .and_then(|t| file_ids.get(t.trim()))
                .map(|id| (*id, *l))
        })
        .collect();
    let existing_parent: HashMap<Uuid, Option<Uuid>> =
        existing.values().map(|a| (a.id, a.parent_id)).collect();
    let parent_of = |id: Uuid| {
        parents
            .get(&id)
            .copied()
            .flatten()
            .or_else(|| existing_parent.get(&id).copied().flatten())
    };
    let parent_column = headers
        .names
        .get("parentTag")
        .cloned()
        .unwrap_or_else(|| "接続先資産番号".into());
    let refuse = |report: &mut ImportReport, id: Uuid, code: &'static str, message: &str| {
        report.errors.push(RowError {
            line: line_of.get(&id).copied().unwrap_or(0),
            column: parent_column.clone(),
            code,
            message: message.into(),
        });
    };
    let rows_with_parent = || {
        new_rows
            .iter()
            .map(|(id, i, _)| (*id, i.parent_id))
            .chain(changed.iter().map(|(o, i)| (o.id, i.parent_id)))
    };
    let nested: HashSet<Uuid> = rows_with_parent()
        .filter_map(|(id, p)| p.and_then(&parent_of).map(|_| id))
        .collect();
    for id in &nested {
        refuse(
            report,
            *id,
            "INVALID_VALUE",
            "周辺機器にさらに周辺機器は接続できません",
        );
    }
    let writable: HashSet<Uuid> = new_rows
        .iter()
        .map(|(id, _, _)| *id)
        .filter(|id| !nested.contains(id))
        .chain(existing.values().map(|a| a.id))
        .collect();
    let orphans: HashSet<Uuid> = rows_with_parent()
        .filter(|(id, p)| !nested.contains(id) && p.is_some_and(|p| !writable.contains(&p)))
        .map(|(id, _)| id)
        .collect();
    for id in &orphans {
        refuse(
            report,
            *id,
            "PARENT_REFUSED",
            "接続先の機器の行にエラーがあるため、この行も取り込みません",
        );
    }
    new_rows.retain(|(id, _, _)| !nested.contains(id) && !orphans.contains(id));
    changed.retain(|(o, _)| !nested.contains(&o.id) && !orphans.contains(&o.id));
    report.errors.sort_by_key(|e| e.line);
    report.created = new_rows.len() as u64;
    report.updated = changed.len() as u64;
    if !may_write(opts, report) {
        progress(total * 2, total * 2);
        return Ok(());
    }
    // Terminals before their peripherals, so the foreign key holds at every insert.
    new_rows.sort_by_key(|(_, _, has_parent)| *has_parent);
    let at = now();
    let txn = db.begin().await?;
    let mut done = 0u64;
    for chunk in new_rows.chunks(CHUNK) {
        let rows = chunk.iter().map(|(id, i, _)| {
            let mut r = assets::to_active(actor.tenant_id, *id, i, at);
            r.status = Set(i.status.unwrap_or(AssetStatus::InUse));
            r
        });
        asset::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
        let events = chunk.iter().map(|(id, i, _)| asset_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(actor.tenant_id),
            asset_id: Set(*id),
            actor_id: Set(Some(actor.person_id)),
            kind: Set("registered".to_owned()),
            payload: Set(json!({ "assetTag": i.asset_tag, "source": "import" })),
            ticket_id: Set(None),
            created_at: Set(at),
        });
        asset_event::Entity::insert_many(events)
            .exec_without_returning(&txn)
            .await?;
        done += chunk.len() as u64;
        progress(total + done, total * 2);
    }
    for (old, input) in &changed {
        assets::apply(&txn, actor, old, input, None, at).await?;
        done += 1;
        if done.is_multiple_of(1000) {
            progress(total + done, total * 2);
        }
    }
    txn.commit().await?;
    report.applied = true;
    if new_rows.len() >= 10_000 && db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // A bulk load changes the table's statistics more than autovacuum notices at once;
        // without fresh ones the planner sorts whole filtered sets instead of walking the
        // tag index, and lists are 20–50× slower until autovacuum comes round.
        db.execute_unprepared("ANALYZE assets").await?;
    }
    progress(total * 2, total * 2);
    Ok(())
}

async fn import_licenses(
    db: &DatabaseConnection,
    actor: &Actor,
    headers: &Headers,
    records: &[(u64, ::csv::StringRecord)],
    opts: ImportOptions,
    report: &mut ImportReport,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> ServiceResult<()> {
    let existing: HashMap<String, license::Model> = license::Entity::find()
        .filter(license::Column::TenantId.eq(actor.tenant_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.code.clone(), l))
        .collect();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut plan: Vec<(Option<license::Model>, LicenseInput)> = Vec::new();
    for (line, record) in records {
        let mut row = Row {
            line: *line,
            record,
            headers,
            ledger: Ledger::Licenses,
            errors: Vec::new(),
        };
        let seats = row.int("seats").unwrap_or(-1);
        let seats = i32::try_from(seats).unwrap_or(-1);
        let input = LicenseInput {
            code: row.text("code").unwrap_or_default(),
            product: row.text("product").unwrap_or_default(),
            product_version: row.text("productVersion"),
            edition: row.text("edition"),
            seats,
            contract_number: row.text("contractNumber"),
            contract_name: row.text("contractName"),
            main_contract: row.flag("mainContract"),
            supplier: row.text("supplier"),
            starts_on: row.date("startsOn"),
            expires_on: row.date("expiresOn"),
            notes: row.text("notes"),
        };
        let parsed = row.errors.is_empty();
        match licenses::normalize(input) {
            Ok(i) if parsed => {
                if let Some(first) = seen.get(&i.code) {
                    row.error(
                        "code",
                        "DUPLICATE",
                        format!("管理番号がファイル内で重複しています（{first}行目と同じ）"),
                    );
                } else {
                    seen.insert(i.code.clone(), *line);
                    match existing.get(&i.code) {
                        Some(old) if LicenseInput::from(old) == i => report.unchanged += 1,
                        Some(old) => plan.push((Some(old.clone()), i)),
                        None => plan.push((None, i)),
                    }
                }
            }
            Ok(_) => {}
            Err(errs) => {
                let dup_seats = row
                    .errors
                    .iter()
                    .any(|e| e.column == row.column_name("seats"));
                row.user_errors(
                    errs.into_iter()
                        .filter(|e| !(dup_seats && e.field.last().is_some_and(|f| f == "seats")))
                        .collect(),
                );
            }
        }
        report.errors.append(&mut row.errors);
    }
    report.created = plan.iter().filter(|(o, _)| o.is_none()).count() as u64;
    report.updated = plan.iter().filter(|(o, _)| o.is_some()).count() as u64;
    if !may_write(opts, report) {
        return Ok(());
    }
    let txn = db.begin().await?;
    for (old, input) in plan {
        match old {
            Some(o) => {
                licenses::update(&txn, actor, o.id, input).await?;
            }
            None => {
                licenses::create(&txn, actor, input).await?;
            }
        }
    }
    txn.commit().await?;
    report.applied = true;
    progress(records.len() as u64, records.len() as u64);
    Ok(())
}

/// An item row to write: the item as it is (if it exists), as the file has it, and the initial
/// stock (location, quantity) of a new item.
type ItemPlan = (
    Option<consumable_item::Model>,
    ItemInput,
    Option<(String, i32)>,
);

async fn import_items(
    db: &DatabaseConnection,
    actor: &Actor,
    headers: &Headers,
    records: &[(u64, ::csv::StringRecord)],
    opts: ImportOptions,
    report: &mut ImportReport,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> ServiceResult<()> {
    let existing: HashMap<String, consumable_item::Model> = consumable_item::Entity::find()
        .filter(consumable_item::Column::TenantId.eq(actor.tenant_id))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.code.clone(), i))
        .collect();
    let ids: Vec<Uuid> = existing.values().map(|i| i.id).collect();
    let models = stock::models_of(db, actor, &ids).await?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut plan: Vec<ItemPlan> = Vec::new();
    for (line, record) in records {
        let mut row = Row {
            line: *line,
            record,
            headers,
            ledger: Ledger::Consumables,
            errors: Vec::new(),
        };
        let category = match row.get("category") {
            Some(v) => parse_category(v).or_else(|| {
                row.error(
                    "category",
                    "INVALID_VALUE",
                    format!("区分が分かりません: {v}"),
                );
                None
            }),
            None => None,
        };
        let to_i32 = |v: Option<i64>| v.map_or(Some(0), |n| i32::try_from(n).ok());
        let reorder_point = row.int("reorderPoint");
        let reorder_quantity = row.int("reorderQuantity");
        let unit_price = row.int("unitPrice").unwrap_or(0);
        let stock_qty = row.int("stock");
        let active = if row.get("active").is_some() {
            row.flag("active")
        } else {
            true
        };
        let models_v: Vec<String> = row
            .get("models")
            .map(|v| {
                v.split(['／', '/', ';', '；', '、', ',', '，', '\n'])
                    .map(|m| m.trim().to_owned())
                    .filter(|m| !m.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let (Some(rp), Some(rq)) = (to_i32(reorder_point), to_i32(reorder_quantity)) else {
            row.error(
                "reorderPoint",
                "OUT_OF_RANGE",
                "発注点・発注数が大きすぎます",
            );
            report.errors.append(&mut row.errors);
            continue;
        };
        let input = ItemInput {
            code: row.text("code").unwrap_or_default(),
            name: row.text("name").unwrap_or_default(),
            category: category.unwrap_or(ConsumableCategory::Other),
            unit: row.text("unit").unwrap_or_default(),
            unit_price,
            reorder_point: rp,
            reorder_quantity: rq,
            supplier: row.text("supplier"),
            notes: row.text("notes"),
            active,
            models: models_v,
        };
        let initial = match (stock_qty, row.text("location")) {
            (Some(q), Some(loc)) if q > 0 => i32::try_from(q).ok().map(|q| (loc, q)),
            (Some(q), None) if q > 0 => {
                row.error(
                    "location",
                    "REQUIRED",
                    "在庫数を取り込むには在庫場所を入力してください",
                );
                None
            }
            (Some(q), _) if q < 0 => {
                row.error("stock", "OUT_OF_RANGE", "在庫数は0以上にしてください");
                None
            }
            _ => None,
        };
        let parsed = row.errors.is_empty();
        match stock::normalize_item(input) {
            Ok(i) if parsed => {
                if let Some(first) = seen.get(&i.code) {
                    row.error(
                        "code",
                        "DUPLICATE",
                        format!("品目コードがファイル内で重複しています（{first}行目と同じ）"),
                    );
                } else {
                    seen.insert(i.code.clone(), *line);
                    match existing.get(&i.code) {
                        Some(old) => {
                            let mut current = ItemInput {
                                code: old.code.clone(),
                                name: old.name.clone(),
                                category: old.category,
                                unit: old.unit.clone(),
                                unit_price: old.unit_price,
                                reorder_point: old.reorder_point,
                                reorder_quantity: old.reorder_quantity,
                                supplier: old.supplier.clone(),
                                notes: old.notes.clone(),
                                active: old.active,
                                models: models.get(&old.id).cloned().unwrap_or_default(),
                            };
                            current.models.sort();
                            if current == i {
                                report.unchanged += 1;
                            } else {
                                plan.push((Some(old.clone()), i, None));
                            }
                        }
                        None => plan.push((None, i, initial)),
                    }
                }
            }
            Ok(_) => {}
            Err(errs) => row.user_errors(errs),
        }
        report.errors.append(&mut row.errors);
    }
    report.created = plan.iter().filter(|(o, _, _)| o.is_none()).count() as u64;
    report.updated = plan.iter().filter(|(o, _, _)| o.is_some()).count() as u64;
    if !may_write(opts, report) {
        return Ok(());
    }
    let at = now();
    let txn = db.begin().await?;
    for (old, input, initial) in plan {
        let item = stock::save_item(&txn, actor.tenant_id, old.as_ref(), &input, at).await?;
        if let Some((location, quantity)) = initial {
            stock::move_in(
                &txn,
                Some(actor.person_id),
                actor.tenant_id,
                NewMovement {
                    item_id: item.id,
                    location,
                    kind: MovementKind::Receive,
                    quantity,
                    refs: MovementRefs {
                        note: Some("初期在庫（台帳取込）".into()),
                        ..MovementRefs::default()
                    },
                },
                at,
            )
            .await?;
        }
    }
    txn.commit().await?;
    report.applied = true;
    progress(records.len() as u64, records.len() as u64);
    Ok(())
}

// ---------------------------------------------------------------- export

/// A cell of an exported ledger.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Date(NaiveDate),
    Empty,
}

impl Cell {
    fn text(v: Option<&str>) -> Self {
        v.map_or(Cell::Empty, |s| Cell::Text(s.to_owned()))
    }

    fn date(v: Option<NaiveDate>) -> Self {
        v.map_or(Cell::Empty, Cell::Date)
    }

    fn to_csv(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Date(d) => d.format("%Y/%m/%d").to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// A ledger as a table: headers and rows.
#[derive(Debug, Clone)]
pub struct Table {
    pub ledger: Ledger,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// Reads a whole ledger of the actor's tenant into a table (desk only).
pub async fn table(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ledger: Ledger,
) -> ServiceResult<Table> {
    require_desk(actor)?;
    let names = Directory::load(db, actor.tenant_id).await?;
    let mut rows = Vec::new();
    let headers: Vec<&'static str> = ledger.columns().iter().map(|c| c.ja).collect();
    match ledger {
        Ledger::Assets => {
            let all = asset::Entity::find()
                .filter(asset::Column::TenantId.eq(actor.tenant_id))
                .order_by_asc(asset::Column::AssetTag)
                .all(db)
                .await?;
            let tags: HashMap<Uuid, String> =
                all.iter().map(|a| (a.id, a.asset_tag.clone())).collect();
            for a in all {
                rows.push(vec![
                    Cell::Text(a.asset_tag),
                    Cell::Text(a.kind.label_ja().to_owned()),
                    Cell::Text(a.name),
                    Cell::text(a.maker.as_deref()),
                    Cell::text(a.model.as_deref()),
                    Cell::text(a.serial.as_deref()),
                    Cell::text(a.computer_name.as_deref()),
                    Cell::text(a.ip_address.as_deref()),
                    Cell::text(a.mac_address.as_deref()),
                    Cell::text(
                        a.org_unit_id
                            .and_then(|o| names.unit_codes.get(&o))
                            .map(String::as_str),
                    ),
                    Cell::text(a.location.as_deref()),
                    Cell::text(
                        a.user_id
                            .and_then(|p| names.emails.get(&p))
                            .map(String::as_str),
                    ),
                    Cell::text(a.purpose.as_deref()),
                    Cell::Text(a.status.label_ja().to_owned()),
                    Cell::text(a.parent_id.and_then(|p| tags.get(&p)).map(String::as_str)),
                    Cell::Text(flag_out(a.loanable)),
                    Cell::text(a.lessor.as_deref()),
                    Cell::date(a.lease_start),
                    Cell::date(a.lease_end),
                    Cell::date(a.purchased_on),
                    Cell::date(a.warranty_until),
                    Cell::text(a.notes.as_deref()),
                ]);
            }
        }
        Ledger::Licenses => {
            let all = license::Entity::find()
                .filter(license::Column::TenantId.eq(actor.tenant_id))
                .order_by_asc(license::Column::Code)
                .all(db)
                .await?;
            let ids: Vec<Uuid> = all.iter().map(|l| l.id).collect();
            let counts = licenses::assigned_counts(db, actor.tenant_id, &ids).await?;
            for l in all {
                rows.push(vec![
                    Cell::Text(l.code),
                    Cell::Text(l.product),
                    Cell::text(l.product_version.as_deref()),
                    Cell::text(l.edition.as_deref()),
                    Cell::Int(i64::from(l.seats)),
                    Cell::text(l.contract_number.as_deref()),
                    Cell::text(l.contract_name.as_deref()),
                    Cell::Text(flag_out(l.main_contract)),
                    Cell::text(l.supplier.as_deref()),
                    Cell::date(l.starts_on),
                    Cell::date(l.expires_on),
                    Cell::text(l.notes.as_deref()),
                    Cell::Int(counts.get(&l.id).copied().unwrap_or(0)),
                ]);
            }
        }
        Ledger::RadiusMacs => {
            let all = asset::Entity::find()
                .filter(asset::Column::TenantId.eq(actor.tenant_id))
                .filter(asset::Column::MacAddress.is_not_null())
                .filter(asset::Column::Status.is_in([
                    AssetStatus::InUse,
                    AssetStatus::Spare,
                    AssetStatus::OnLoan,
                ]))
                .order_by_asc(asset::Column::MacAddress)
                .all(db)
                .await?;
            for a in all {
                let mac = a.mac_address.unwrap_or_default();
                rows.push(vec![
                    // MAC authentication sends the address as user name: 12 lower-case hex digits.
                    Cell::Text(mac.replace(':', "").to_ascii_lowercase()),
                    Cell::Text(mac),
                    Cell::text(a.computer_name.as_deref()),
                    Cell::Text(a.asset_tag),
                    Cell::text(
                        a.org_unit_id
                            .and_then(|o| names.unit_codes.get(&o))
                            .map(String::as_str),
                    ),
                    Cell::Text(a.status.label_ja().to_owned()),
                ]);
            }
        }
        Ledger::Consumables => {
            let all = consumable_item::Entity::find()
                .filter(consumable_item::Column::TenantId.eq(actor.tenant_id))
                .order_by_asc(consumable_item::Column::Code)
                .all(db)
                .await?;
            let ids: Vec<Uuid> = all.iter().map(|i| i.id).collect();
            let models = stock::models_of(db, actor, &ids).await?;
            let levels = stock::levels_of(db, actor, &ids).await?;
            for i in all {
                let lv = levels.get(&i.id).cloned().unwrap_or_default();
                let places: Vec<String> = lv
                    .iter()
                    .filter(|l| l.quantity > 0)
                    .map(|l| l.location.clone())
                    .collect();
                rows.push(vec![
                    Cell::Text(i.code),
                    Cell::Text(i.name),
                    Cell::Text(i.category.label_ja().to_owned()),
                    Cell::Text(i.unit),
                    Cell::Int(i.unit_price),
                    Cell::Int(i64::from(i.reorder_point)),
                    Cell::Int(i64::from(i.reorder_quantity)),
                    Cell::text(i.supplier.as_deref()),
                    Cell::Text(models.get(&i.id).map(|m| m.join("／")).unwrap_or_default()),
                    Cell::Text(flag_out(i.active)),
                    Cell::text(i.notes.as_deref()),
                    Cell::Text(places.join("／")),
                    Cell::Int(lv.iter().map(|l| l.quantity).sum()),
                ]);
            }
        }
    }
    Ok(Table {
        ledger,
        headers,
        rows,
    })
}

/// The encoding of an exported CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvEncoding {
    /// Shift_JIS (CP932): what Excel in Japan opens by double-click everywhere.
    #[default]
    ShiftJis,
    /// UTF-8 with a BOM (Excel 2016 and later read it; nothing is lost).
    Utf8Bom,
}

impl Table {
    /// Renders CSV as Excel writes it (CRLF). Returns the bytes and how many characters
    /// Shift_JIS could not hold (written as 〓).
    pub fn to_csv(&self, enc: CsvEncoding) -> (Vec<u8>, usize) {
        let mut w = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let _ = w.write_record(&self.headers);
        for r in &self.rows {
            let _ = w.write_record(r.iter().map(Cell::to_csv));
        }
        let text = String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default();
        match enc {
            CsvEncoding::ShiftJis => encode_sjis(&text),
            CsvEncoding::Utf8Bom => {
                let mut out = vec![0xEF, 0xBB, 0xBF];
                out.extend_from_slice(text.as_bytes());
                (out, 0)
            }
        }
    }

    /// Renders an `.xlsx` workbook: one sheet named after the ledger, bold frozen header row,
    /// an autofilter, dates as Excel dates.
    pub fn to_xlsx(&self) -> ServiceResult<Vec<u8>> {
        use rust_xlsxwriter::{Format, Workbook};
        let err = |e: rust_xlsxwriter::XlsxError| ServiceError::Config(format!("xlsx: {e}"));
        let mut wb = Workbook::new();
        let bold = Format::new().set_bold().set_background_color("#DDEBF7");
        let date = Format::new().set_num_format("yyyy/mm/dd");
        let ws = wb.add_worksheet();
        ws.set_name(self.ledger.label_ja()).map_err(err)?;
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count() * 2).collect();
        for (c, h) in self.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(err)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = u32::try_from(r + 1)
                .map_err(|_| ServiceError::Config("too many rows for xlsx".into()))?;
            for (c, cell) in row.iter().enumerate() {
                let col = c as u16;
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, col, s).map_err(err)?;
                        let w = s
                            .chars()
                            .map(|ch| if ch.is_ascii() { 1 } else { 2 })
                            .sum::<usize>();
                        if let Some(x) = widths.get_mut(c) {
                            *x = (*x).max(w);
                        }
                    }
                    Cell::Int(n) => {
                        ws.write_number(r, col, *n as f64).map_err(err)?;
                    }
                    Cell::Date(d) => {
                        ws.write_datetime_with_format(r, col, d, &date)
                            .map_err(err)?;
                        if let Some(x) = widths.get_mut(c) {
                            *x = (*x).max(10);
                        }
                    }
                    Cell::Empty => {}
                }
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, (*w).clamp(6, 60) as f64 + 1.0)
                .map_err(err)?;
        }
        let last_col = self.headers.len().saturating_sub(1) as u16;
        ws.autofilter(
            0,
            0,
            u32::try_from(self.rows.len()).unwrap_or(u32::MAX),
            last_col,
        )
        .map_err(err)?;
        ws.set_freeze_panes(1, 0).map_err(err)?;
        wb.save_to_buffer().map_err(err)
    }
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv(CsvEncoding),
    Xlsx,
}

impl ExportFormat {
    /// The stored name (`csv-sjis`, `csv-utf8`, `xlsx`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv(CsvEncoding::ShiftJis) => "csv-sjis",
            ExportFormat::Csv(CsvEncoding::Utf8Bom) => "csv-utf8",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "csv-sjis" => Some(ExportFormat::Csv(CsvEncoding::ShiftJis)),
            "csv-utf8" => Some(ExportFormat::Csv(CsvEncoding::Utf8Bom)),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }

    /// File extension.
    pub fn extension(self) -> &'static str {
        if self == ExportFormat::Xlsx {
            "xlsx"
        } else {
            "csv"
        }
    }

    /// MIME type of the file.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv(CsvEncoding::ShiftJis) => "text/csv; charset=Shift_JIS",
            ExportFormat::Csv(CsvEncoding::Utf8Bom) => "text/csv; charset=UTF-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
}

/// A built export: its bytes and a file name (`構成管理台帳_20261130.xlsx`).
#[derive(Debug, Clone)]
pub struct ExportFile {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    /// Characters Shift_JIS could not hold (written as 〓).
    pub lost_characters: usize,
}

/// Builds an export of a ledger for the actor (desk only).
pub async fn export(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ledger: Ledger,
    format: ExportFormat,
) -> ServiceResult<ExportFile> {
    let t = table(db, actor, ledger).await?;
    let (bytes, lost) = match format {
        ExportFormat::Csv(enc) => t.to_csv(enc),
        ExportFormat::Xlsx => (t.to_xlsx()?, 0),
    };
    let day = now().with_timezone(&crate::tz::TOKYO).format("%Y%m%d");
    Ok(ExportFile {
        filename: format!("{}_{day}.{}", ledger.label_ja(), format.extension()),
        content_type: format.content_type(),
        bytes,
        lost_characters: lost,
    })
}

/// How long an export link works.
pub const EXPORT_LINK_MINUTES: i64 = 15;

fn token_hash(token: &str) -> String {
    crate::mail::sha256_hex(format!("ledger-export:{token}").as_bytes())
}

/// Makes a download link token for an export (desk only): the file is built when it is
/// fetched, with the asker's scope then. Only the token's hash is stored.
pub async fn export_link(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ledger: Ledger,
    format: ExportFormat,
) -> ServiceResult<(crate::Secret, chrono::DateTime<chrono::Utc>)> {
    require_desk(actor)?;
    let raw: [u8; 32] = rand::random();
    let token = crate::Secret::new(raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let at = now();
    let expires_at = at + chrono::Duration::minutes(EXPORT_LINK_MINUTES);
    entity::ledger_export::Entity::insert(entity::ledger_export::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant_id),
        person_id: Set(actor.person_id),
        ledger: Set(ledger.as_str().to_owned()),
        format: Set(format.as_str().to_owned()),
        token_hash: Set(token_hash(token.expose())),
        expires_at: Set(expires_at),
        created_at: Set(at),
    })
    .exec_without_returning(db)
    .await?;
    Ok((token, expires_at))
}

/// Builds the file behind a download link, as the person who asked for it (who must still be
/// active and on the desk). `NotFound` for an unknown or expired token.
pub async fn export_by_token(db: &impl ConnectionTrait, token: &str) -> ServiceResult<ExportFile> {
    let row = entity::ledger_export::Entity::find()
        .filter(entity::ledger_export::Column::TokenHash.eq(token_hash(token.trim())))
        .one(db)
        .await?
        .filter(|r| r.expires_at > now())
        .ok_or(ServiceError::NotFound)?;
    let p = person::Entity::find_by_id(row.person_id)
        .filter(person::Column::TenantId.eq(row.tenant_id))
        .filter(person::Column::Active.eq(true))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let actor = Actor {
        person_id: p.id,
        tenant_id: p.tenant_id,
        roles: crate::directory::roles_of(&p),
        vendor_id: p.vendor_id,
    };
    let ledger: Ledger = row.ledger.parse().map_err(ServiceError::Config)?;
    let format = ExportFormat::parse(&row.format)
        .ok_or_else(|| ServiceError::Config(format!("export format {}", row.format)))?;
    export(db, &actor, ledger, format).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_seireki_wareki_and_excel_serials() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        for (input, want) in [
            ("2026-04-01", d(2026, 4, 1)),
            ("2026/4/1", d(2026, 4, 1)),
            ("２０２６／０４／０１", d(2026, 4, 1)),
            ("2026年4月1日", d(2026, 4, 1)),
            ("令和8年4月1日", d(2026, 4, 1)),
            ("R8.4.1", d(2026, 4, 1)),
            ("R08/04/01", d(2026, 4, 1)),
            ("令和元年5月1日", d(2019, 5, 1)),
            ("平成31年4月30日", d(2019, 4, 30)),
            ("H31.4.30", d(2019, 4, 30)),
            ("46113", d(2026, 4, 1)),
            ("2026/2/30", None),
            ("4/1", None),
            ("来月", None),
        ] {
            assert_eq!(parse_date(input), want, "{input}");
        }
        assert_eq!(
            wareki(NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()),
            "令和8年4月1日"
        );
        assert_eq!(
            wareki(NaiveDate::from_ymd_opt(2019, 5, 1).unwrap()),
            "令和元年5月1日"
        );
        assert_eq!(
            wareki(NaiveDate::from_ymd_opt(2019, 4, 30).unwrap()),
            "平成31年4月30日"
        );
    }

    #[test]
    fn shift_jis_round_trips_the_characters_excel_users_type() {
        let text = "髙橋 ①番 ～ ㈱ 〜 ∥ －";
        let (bytes, lost) = encode_sjis(text);
        assert_eq!(lost, 0);
        assert!(std::str::from_utf8(&bytes).is_err(), "really Shift_JIS");
        let (back, enc) = decode(&bytes).unwrap();
        assert_eq!(enc, "Shift_JIS");
        // The wave dash U+301C is written as CP932's ～ and read back as Windows reads it.
        assert_eq!(back, "髙橋 ①番 ～ ㈱ ～ ∥ －");
        let (_, lost) = encode_sjis("𠮷野家 😀");
        assert_eq!(
            lost, 2,
            "characters outside CP932 are counted, not silently dropped"
        );
    }

    #[test]
    fn utf8_with_and_without_bom_and_utf16_are_detected() {
        assert_eq!(
            decode("資産番号\n".as_bytes()).unwrap(),
            ("資産番号\n".to_owned(), "UTF-8")
        );
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("資産番号\n".as_bytes());
        assert_eq!(decode(&bom).unwrap().1, "UTF-8 (BOM)");
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "資産".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&utf16).unwrap().0, "資産");
        assert!(
            decode(&[0x82, 0xA0, 0xFF, 0xFF]).is_err(),
            "neither UTF-8 nor Shift_JIS"
        );
    }

    #[test]
    fn kinds_statuses_and_flags_are_read_as_ledgers_write_them() {
        assert_eq!(
            parse_kind("ノートブックパソコン"),
            Some(AssetKind::Notebook)
        );
        assert_eq!(parse_kind("2in1パソコン"), Some(AssetKind::TwoInOne));
        assert_eq!(
            parse_kind("テレワーク専用パソコン"),
            Some(AssetKind::TeleworkPc)
        );
        assert_eq!(
            parse_kind("インクジェットプリンタ複合機"),
            Some(AssetKind::Printer)
        );
        assert_eq!(
            parse_kind("テレワーク用 閉域モバイルWi-Fi"),
            Some(AssetKind::MobileRouter)
        );
        assert_eq!(
            parse_kind("モバイルWi-Fiルータ"),
            Some(AssetKind::MobileRouter)
        );
        assert_eq!(parse_kind("notebook"), Some(AssetKind::Notebook));
        assert_eq!(parse_kind("冷蔵庫"), None);
        assert_eq!(parse_status("予備機"), Some(AssetStatus::Spare));
        assert_eq!(parse_status("使用中"), Some(AssetStatus::InUse));
        assert_eq!(parse_bool("〇"), Some(true));
        assert_eq!(parse_bool("×"), Some(false));
        assert_eq!(parse_int("１，２５０"), Some(1250));
        assert_eq!(parse_int("¥4,800"), Some(4800));
    }
}
