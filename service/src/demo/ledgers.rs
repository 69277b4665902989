//! Demo ledgers: the city's devices from seed 004 表2 (運用保守対象物), its licenses and
//! consumables; the board's GIGA devices; a few loans, repairs, requests and an order.
//!
//! The ledgers go in the way a desk would load them: as CSV files through the importer, then
//! loans, repairs, requests and purchasing through the service functions.

use super::org::{self, Directory, TenantDef};
use super::plan::Rng;
use crate::auth::{Actor, Role};
use crate::db::Db;
use crate::error::{ServiceError, ServiceResult};
use crate::ledger::sheets::{self, ImportOptions, Ledger};
use crate::ledger::{assets, licenses, loans, repairs, stock};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{MovementKind, person};
use std::fmt::Write;

/// The main stock room of each tenant.
pub(super) const CITY_STORE: &str = "本庁舎3階 DX戦略課倉庫";
const BOARD_STORE: &str = "教育委員会 2階 倉庫";

fn actor_of(p: &person::Model) -> Actor {
    Actor {
        person_id: p.id,
        tenant_id: p.tenant_id,
        roles: crate::directory::roles_of(p),
        vendor_id: p.vendor_id,
    }
}

fn desk(dir: &Directory) -> ServiceResult<Actor> {
    dir.people
        .get("admin")
        .map(actor_of)
        .ok_or_else(|| ServiceError::Config("demo tenant without an admin".to_owned()))
}

fn supervisor(dir: &Directory, def: &TenantDef) -> ServiceResult<Actor> {
    dir.people
        .get(def.supervisor)
        .filter(|p| crate::directory::roles_of(p).has(Role::Supervisor))
        .map(actor_of)
        .ok_or_else(|| ServiceError::Config("demo supervisor missing".to_owned()))
}

/// Requesters of the tenant (staff and teachers), in a stable order.
fn requesters(dir: &Directory) -> Vec<&person::Model> {
    let mut v: Vec<&person::Model> = dir
        .people
        .values()
        .filter(|p| p.vendor_id.is_none() && !matches!(p.kind, entity::PersonKind::Student))
        .filter(|p| crate::directory::roles_of(p).has(Role::Requester))
        .collect();
    v.sort_by(|a, b| a.email.cmp(&b.email));
    v
}

async fn import(db: &Db, actor: &Actor, ledger: Ledger, csv: &str) -> ServiceResult<u64> {
    let r = sheets::import(
        &db.write,
        actor,
        ledger,
        csv.as_bytes(),
        ImportOptions {
            strict: true,
            dry_run: false,
        },
        &|_, _| {},
    )
    .await?;
    if let Some(e) = r.errors.first() {
        return Err(ServiceError::Config(format!(
            "demo {} line {} {}: {}",
            ledger.as_str(),
            e.line,
            e.column,
            e.message
        )));
    }
    Ok(r.created)
}

const ASSET_HEADER: &str = "資産番号,種別,品名,メーカー,型番,製造番号,コンピュータ名,IPアドレス,MACアドレス,所属,設置場所,利用者,用途,状態,接続先資産番号,貸出用,リース会社,リース開始日,リース終了日,購入日,保証期限,備考\n";

/// One asset row of the demo CSV.
#[derive(Default)]
struct Row<'a> {
    tag: String,
    kind: &'a str,
    name: &'a str,
    maker: &'a str,
    model: &'a str,
    host: String,
    ip: String,
    unit: &'a str,
    place: &'a str,
    user: String,
    purpose: &'a str,
    status: &'a str,
    parent: String,
    loanable: bool,
    lease: bool,
    notes: &'a str,
}

fn push(out: &mut String, n: u32, r: &Row<'_>) {
    let mac = if r.ip.is_empty() {
        String::new()
    } else {
        format!(
            "02:5A:{:02X}:{:02X}:{:02X}:{:02X}",
            n >> 24,
            (n >> 16) & 255,
            (n >> 8) & 255,
            n & 255
        )
    };
    let (lessor, start, end, bought) = if r.lease {
        ("さくらリース㈱", "令和6年4月1日", "2029/3/31", "")
    } else {
        ("", "", "", "2023/10/1")
    };
    let _ = writeln!(
        out,
        "{},{},{},{},{},SN{:08},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        r.tag,
        r.kind,
        r.name,
        r.maker,
        r.model,
        n,
        r.host,
        r.ip,
        mac,
        r.unit,
        r.place,
        r.user,
        r.purpose,
        r.status,
        r.parent,
        if r.loanable { "○" } else { "" },
        lessor,
        start,
        end,
        bought,
        if r.lease { "" } else { "2028/9/30" },
        r.notes
    );
}

/// The city's devices: 表2 of seed 004, with peripherals and the loan pool.
fn city_assets(def: &TenantDef, dir: &Directory) -> String {
    let mut rng = Rng::stream(0, 90_001);
    let units: Vec<&str> = def
        .units
        .iter()
        .filter(|u| {
            matches!(
                u.kind,
                entity::OrgUnitKind::Division | entity::OrgUnitKind::BranchOffice
            )
        })
        .map(|u| u.code)
        .collect();
    let users: Vec<String> = requesters(dir).iter().map(|p| p.email.clone()).collect();
    let mut out = String::from(ASSET_HEADER);
    let mut n = 0u32;
    let mut next = |out: &mut String, r: Row<'_>| {
        n += 1;
        push(out, n, &r);
    };
    let ip = |net: u32, i: u32| format!("10.{net}.{}.{}", i / 250, 1 + i % 250);
    for i in 1..=1100u32 {
        let unit = units[rng.below(units.len() as u64) as usize];
        // The first staff get named devices; the rest are assigned to their division.
        let user = users.get((i - 1) as usize).cloned().unwrap_or_default();
        let spare = i > 1097;
        next(
            &mut out,
            Row {
                tag: format!("NB-{i:04}"),
                kind: "ノートPC",
                name: "LGWAN系 業務用ノートPC",
                maker: if i % 2 == 0 { "富士通" } else { "Dynabook" },
                model: if i % 2 == 0 {
                    "LIFEBOOK A5513"
                } else {
                    "dynabook B65"
                },
                host: format!("SKR-NB{i:04}"),
                ip: ip(10, i),
                unit: if spare { "020100" } else { unit },
                place: if spare { CITY_STORE } else { "" },
                user: if spare { String::new() } else { user },
                purpose: "LGWAN系業務",
                status: if spare { "予備" } else { "使用中" },
                lease: true,
                notes: if spare {
                    "予備機（代替機用）"
                } else {
                    ""
                },
                ..Row::default()
            },
        );
    }
    for i in 1..=50u32 {
        next(
            &mut out,
            Row {
                tag: format!("CR-{i:03}"),
                kind: "周辺機器",
                name: "セキュアカードリーダ",
                maker: "NTTコム",
                model: "SCR-3500",
                parent: format!("NB-{i:04}"),
                status: "使用中",
                lease: true,
                ..Row::default()
            },
        );
    }
    for i in 1..=100u32 {
        let unit = units[rng.below(units.len() as u64) as usize];
        next(
            &mut out,
            Row {
                tag: format!("DT-{i:03}"),
                kind: "デスクトップPC",
                name: "LGWAN系 業務用デスクトップPC",
                maker: "NEC",
                model: "Mate MRL36",
                host: format!("SKR-DT{i:03}"),
                ip: ip(11, i),
                unit,
                purpose: "LGWAN系業務（窓口）",
                status: "使用中",
                lease: true,
                ..Row::default()
            },
        );
        next(
            &mut out,
            Row {
                tag: format!("MON-{i:03}"),
                kind: "周辺機器",
                name: "モニター 23.8型",
                maker: "EIZO",
                model: "FlexScan EV2480",
                parent: format!("DT-{i:03}"),
                status: "使用中",
                lease: true,
                ..Row::default()
            },
        );
    }
    for i in 1..=20u32 {
        next(
            &mut out,
            Row {
                tag: format!("TI-{i:03}"),
                kind: "2in1 PC",
                name: "2in1パソコン（幹部用）",
                maker: "Microsoft",
                model: "Surface Pro",
                host: format!("SKR-TI{i:03}"),
                ip: ip(12, i),
                unit: "010100",
                status: "使用中",
                lease: true,
                ..Row::default()
            },
        );
    }
    for i in 1..=30u32 {
        next(
            &mut out,
            Row {
                tag: format!("TW-{i:03}"),
                kind: "テレワーク専用PC",
                name: "テレワーク専用パソコン",
                maker: "富士通",
                model: "LIFEBOOK U9313",
                host: format!("SKR-TW{i:03}"),
                ip: ip(13, i),
                unit: "020100",
                purpose: "テレワーク",
                status: if i > 24 { "予備" } else { "使用中" },
                lease: true,
                ..Row::default()
            },
        );
        next(
            &mut out,
            Row {
                tag: format!("MW-{i:03}"),
                kind: "モバイルWi-Fiルータ",
                name: "テレワーク用 閉域モバイルWi-Fi",
                maker: "NEC",
                model: "Aterm MR10LN",
                unit: "020100",
                purpose: "テレワーク",
                status: if i > 24 { "予備" } else { "使用中" },
                lease: true,
                ..Row::default()
            },
        );
    }
    let servers: &[(&str, u32)] = &[
        ("仮想サーバ", 5),
        ("LGWAN系Active Directoryサーバ", 2),
        ("LGWAN系運用管理サーバ兼ウイルス管理サーバ", 1),
        ("LGWAN系バックアップサーバ", 1),
        ("LGWAN系認証サーバ (RADIUSアプライアンス)", 2),
        ("LGWAN系DHCPサーバ (アプライアンス)", 2),
        ("LGWAN系KMSホストサーバ", 1),
        ("LGWAN系SKYSEAサーバ", 3),
        ("インターネット系SKYSEAサーバ", 1),
        ("仮想化基盤用ストレージ", 1),
        ("LGWAN系ファイルサーバ", 1),
        ("インターネット系ファイルサーバ", 1),
        ("複合機サーバ", 1),
        ("WSUSサーバ", 1),
        ("メールリレーサーバ", 1),
    ];
    let mut s = 0u32;
    for (name, count) in servers {
        for _ in 0..*count {
            s += 1;
            next(
                &mut out,
                Row {
                    tag: format!("SV-{s:03}"),
                    kind: "サーバ",
                    name,
                    maker: "HPE",
                    model: "ProLiant DL360 Gen11",
                    host: format!("SKR-SV{s:03}"),
                    ip: ip(1, s),
                    unit: "020100",
                    place: "電算センター サーバ室 ラックA",
                    purpose: "基盤",
                    status: "使用中",
                    lease: true,
                    ..Row::default()
                },
            );
        }
    }
    for i in 1..=6u32 {
        next(
            &mut out,
            Row {
                tag: format!("UPS-{i:02}"),
                kind: "UPS",
                name: "無停電電源装置",
                maker: "APC",
                model: "Smart-UPS 1500",
                unit: "020100",
                place: "電算センター サーバ室",
                notes: if i == 6 {
                    "予備（表2: 必要数+1台）"
                } else {
                    ""
                },
                status: if i == 6 { "予備" } else { "使用中" },
                lease: true,
                ..Row::default()
            },
        );
    }
    for i in 1..=32u32 {
        let unit = units[rng.below(units.len() as u64) as usize];
        next(
            &mut out,
            Row {
                tag: format!("MFP-{i:02}"),
                kind: "プリンタ・複合機",
                name: "インクジェットプリンタ複合機",
                maker: "エプソン",
                model: if i % 3 == 0 {
                    "PX-M7110F"
                } else {
                    "LX-10050MF"
                },
                host: format!("SKR-MFP{i:02}"),
                ip: ip(20, i),
                unit,
                status: "使用中",
                lease: true,
                ..Row::default()
            },
        );
    }
    for i in 1..=5u32 {
        next(
            &mut out,
            Row {
                tag: format!("PJ-{i:02}"),
                kind: "プロジェクタ",
                name: "プロジェクタ（スクリーン1台含む）",
                maker: "エプソン",
                model: "EB-L210SF",
                unit: "020100",
                place: CITY_STORE,
                status: "予備",
                loanable: true,
                lease: true,
                ..Row::default()
            },
        );
    }
    for i in 1..=4u32 {
        next(
            &mut out,
            Row {
                tag: format!("KIT-WEB-{i:02}"),
                kind: "貸出セット (web会議セット等)",
                name: "Web会議セット（カメラ・スピーカーフォン・ノートPC）",
                maker: "各社",
                unit: "020100",
                place: CITY_STORE,
                status: "予備",
                loanable: true,
                ..Row::default()
            },
        );
    }
    for i in 1..=3u32 {
        next(
            &mut out,
            Row {
                tag: format!("LN-PC-{i:02}"),
                kind: "ノートPC",
                name: "貸出用ノートPC（インターネット系）",
                maker: "Dynabook",
                model: "dynabook B65",
                host: format!("SKR-LN{i:02}"),
                ip: ip(30, i),
                unit: "020100",
                place: CITY_STORE,
                status: "予備",
                loanable: true,
                ..Row::default()
            },
        );
    }
    for i in 1..=5u32 {
        next(
            &mut out,
            Row {
                tag: format!("CARD-DC-{i:02}"),
                kind: "カード類 (入館カード等)",
                name: "電算センター入館カード",
                unit: "020100",
                place: "DX戦略課 キーボックス",
                status: "予備",
                loanable: true,
                ..Row::default()
            },
        );
    }
    out
}

/// The board's devices: GIGA student devices per school, teachers' notebooks, spares.
fn board_assets(def: &TenantDef, dir: &Directory) -> String {
    let schools: Vec<&str> = def
        .units
        .iter()
        .filter(|u| u.kind == entity::OrgUnitKind::School)
        .map(|u| u.code)
        .collect();
    let teachers = requesters(dir);
    let mut out = String::from(ASSET_HEADER);
    let mut n = 500_000u32;
    for (si, school) in schools.iter().enumerate() {
        for i in 1..=40u32 {
            n += 1;
            push(
                &mut out,
                n,
                &Row {
                    tag: format!("GIGA-{school}-{i:03}"),
                    kind: "2in1 PC",
                    name: "児童生徒用端末（GIGA）",
                    maker: "Lenovo",
                    model: "300e Chromebook Gen 4",
                    ip: format!("172.16.{}.{}", si * 2 + (i as usize) / 250, 10 + i % 240),
                    unit: school,
                    place: "普通教室 充電保管庫",
                    purpose: "学習用",
                    status: "使用中",
                    lease: true,
                    ..Row::default()
                },
            );
        }
        for (ti, t) in teachers
            .iter()
            .filter(|t| t.org_unit_id.is_some())
            .enumerate()
            .take(10)
        {
            n += 1;
            push(
                &mut out,
                n,
                &Row {
                    tag: format!("TNB-{school}-{:02}", ti + 1),
                    kind: "ノートPC",
                    name: "校務用ノートPC",
                    maker: "富士通",
                    model: "LIFEBOOK A5513",
                    host: format!("KYO-{school}-T{:02}", ti + 1),
                    ip: format!("172.20.{si}.{}", 10 + ti),
                    unit: school,
                    user: if si == 0 {
                        t.email.clone()
                    } else {
                        String::new()
                    },
                    purpose: "校務",
                    status: "使用中",
                    lease: true,
                    ..Row::default()
                },
            );
        }
    }
    for i in 1..=10u32 {
        n += 1;
        push(
            &mut out,
            n,
            &Row {
                tag: format!("GIGA-SPARE-{i:02}"),
                kind: "2in1 PC",
                name: "児童生徒用端末（予備機）",
                maker: "Lenovo",
                model: "300e Chromebook Gen 4",
                ip: format!("172.16.99.{i}"),
                unit: "E10000",
                place: BOARD_STORE,
                purpose: "代替機",
                status: "予備",
                lease: true,
                ..Row::default()
            },
        );
    }
    out
}

const CITY_LICENSES: &str = "管理番号,製品名,バージョン,エディション,保有数,契約番号,契約名,本調達,調達先,開始日,有効期限,備考
LIC-001,Microsoft Office,2024,LTSC Standard,1150,R6-DX-001,令和6年度 庁内端末更新・運用保守業務,○,さくらリース㈱,2024/4/1,2029/3/31,LGWAN系（Microsoft 365への切替可）
LIC-002,Microsoft Office 365,,E3,100,R6-DX-001,令和6年度 庁内端末更新・運用保守業務,○,さくらリース㈱,2024/4/1,2027/3/31,インターネット系
LIC-003,Microsoft Access,2024,,10,R6-DX-001,令和6年度 庁内端末更新・運用保守業務,○,さくらリース㈱,2024/4/1,2029/3/31,
LIC-004,Microsoft Visio Professional,2024,,1,R6-DX-001,令和6年度 庁内端末更新・運用保守業務,○,さくらリース㈱,2024/4/1,2029/3/31,
LIC-005,VAMT (Volume Activation Management Tool),,,1,R6-DX-001,令和6年度 庁内端末更新・運用保守業務,○,,2024/4/1,,KMSホストで使用
LIC-006,ウイルス対策ソフト（LGWAN系物理端末用）,最新,,1250,R6-DX-001,令和6年度 庁内端末更新・運用保守業務,○,さくらリース㈱,2024/4/1,2027/3/31,全端末で常に最新版
LIC-007,SKYSEA Client View,最新,,1250,R6-DX-001,令和6年度 庁内端末更新・運用保守業務,○,さくらリース㈱,2024/4/1,2027/3/31,
LIC-008,SKYSEA Client View 申請・承認ワークフロー,最新,,1150,R6-DX-001,令和6年度 庁内端末更新・運用保守業務,○,さくらリース㈱,2024/4/1,2027/3/31,
LIC-009,Adobe Acrobat Pro,,,5,R6-DX-001,令和6年度 庁内端末更新・運用保守業務,○,さくらリース㈱,2024/4/1,2027/3/31,
LIC-101,一太郎,2025,,20,R7-SOMU-014,令和7年度 総務課ソフトウェア購入,,㈱さくら事務機,2025/6/1,,主管課調達（本調達とは別管理）
LIC-102,CAD ソフトウェア,2025,,3,R7-TOSHI-003,令和7年度 都市計画課CAD保守,,㈱さくら測量,2025/4/1,2026/12/31,主管課調達（本調達とは別管理）
";

const CITY_ITEMS: &str = "品目コード,品名,区分,単位,単価,発注点,発注数,調達先,対応機種,有効,備考,在庫場所,在庫数
INK-LX-K,インクパック ブラック（LX-10050MF用）,インク,個,12800,4,10,さくらOAサービス㈱,LX-10050MF,○,,本庁舎3階 DX戦略課倉庫,9
INK-LX-C,インクパック シアン（LX-10050MF用）,インク,個,12800,3,6,さくらOAサービス㈱,LX-10050MF,○,,本庁舎3階 DX戦略課倉庫,5
INK-LX-M,インクパック マゼンタ（LX-10050MF用）,インク,個,12800,3,6,さくらOAサービス㈱,LX-10050MF,○,,本庁舎3階 DX戦略課倉庫,2
INK-LX-Y,インクパック イエロー（LX-10050MF用）,インク,個,12800,3,6,さくらOAサービス㈱,LX-10050MF,○,,本庁舎3階 DX戦略課倉庫,6
INK-PX-K,インクカートリッジ ブラック（PX-M7110F用）,インク,個,6480,4,8,さくらOAサービス㈱,PX-M7110F,○,,本庁舎3階 DX戦略課倉庫,12
MB-PX,メンテナンスボックス（PX-M7110F／LX-10050MF共通）,その他,個,2980,2,4,さくらOAサービス㈱,PX-M7110F／LX-10050MF,○,,本庁舎3階 DX戦略課倉庫,3
PR-INK,印刷室用 輪転機インク 黒,印刷室用品 (インク・マスター),本,3600,4,10,㈱さくら事務機,RISO SF9350,○,,本庁舎地下1階 印刷室,8
PR-MST,印刷室用 輪転機マスター B4,印刷室用品 (インク・マスター),本,9800,2,5,㈱さくら事務機,RISO SF9350,○,,本庁舎地下1階 印刷室,1
MOUSE-W,ワイヤレスマウス,マウス,個,1480,10,30,㈱さくら事務機,,○,Bluetooth ペアリング手順書を添付,本庁舎3階 DX戦略課倉庫,42
HS-USB,USBヘッドセット（Web会議用）,ヘッドセット,個,3980,5,10,㈱さくら事務機,,○,,本庁舎3階 DX戦略課倉庫,7
USB-SEC,セキュリティUSBメモリ 32GB,セキュリティUSB,個,9800,3,5,さくらリース㈱,,○,パスワード初期化・ライセンス更新はDX戦略課で実施,本庁舎3階 DX戦略課倉庫,4
LAN-3M,LANケーブル Cat6A 3m,LANケーブル,本,480,20,50,さくらネットワーク保守㈱,,○,,本庁舎3階 DX戦略課倉庫,65
LAN-10M,LANケーブル Cat6A 10m,LANケーブル,本,980,5,20,さくらネットワーク保守㈱,,○,,本庁舎3階 DX戦略課倉庫,12
HUB-8P,スイッチングHUB 8ポート,HUB,台,3980,2,4,さくらネットワーク保守㈱,,○,,本庁舎3階 DX戦略課倉庫,3
";

const BOARD_ITEMS: &str = "品目コード,品名,区分,単位,単価,発注点,発注数,調達先,対応機種,有効,備考,在庫場所,在庫数
GIGA-AC,GIGA端末用 ACアダプタ（USB-C 45W）,その他,個,3300,10,30,さくらGIGAサポート㈱,300e Chromebook Gen 4,○,,教育委員会 2階 倉庫,24
GIGA-PEN,GIGA端末用 タッチペン,その他,本,2200,20,50,さくらGIGAサポート㈱,300e Chromebook Gen 4,○,,教育委員会 2階 倉庫,15
HS-KID,児童用ヘッドセット,ヘッドセット,個,1280,30,100,㈱さくら事務機,,○,,教育委員会 2階 倉庫,120
";

/// What the ledger part of the demo created.
pub(super) struct LedgerSummary {
    pub assets: usize,
}

/// Loads the demo ledgers of both tenants.
pub(super) async fn load(
    db: &Db,
    dirs: &[Directory],
    anchor: DateTime<Utc>,
) -> ServiceResult<LedgerSummary> {
    let (city, board) = match dirs {
        [c, b] => (c, b),
        _ => {
            return Err(ServiceError::Config(
                "demo ledgers need both tenants".to_owned(),
            ));
        }
    };
    let mut created = 0u64;
    // さくら市
    let admin = desk(city)?;
    created += import(db, &admin, Ledger::Assets, &city_assets(&org::CITY, city)).await?;
    import(db, &admin, Ledger::Licenses, CITY_LICENSES).await?;
    import(db, &admin, Ledger::Consumables, CITY_ITEMS).await?;
    city_activity(db, city, &admin, anchor).await?;
    // さくら市教育委員会
    let admin = desk(board)?;
    created += import(
        db,
        &admin,
        Ledger::Assets,
        &board_assets(&org::BOARD, board),
    )
    .await?;
    import(db, &admin, Ledger::Consumables, BOARD_ITEMS).await?;
    board_activity(db, board, &admin).await?;
    Ok(LedgerSummary {
        assets: usize::try_from(created).unwrap_or(usize::MAX),
    })
}

fn person<'a>(dir: &'a Directory, key: &str) -> ServiceResult<&'a person::Model> {
    dir.people
        .get(key)
        .ok_or_else(|| ServiceError::Config(format!("demo person `{key}` missing")))
}

async fn tag(db: &Db, actor: &Actor, t: &str) -> ServiceResult<entity::asset::Model> {
    assets::get_by_tag(&db.read, actor, t).await
}

async fn city_activity(
    db: &Db,
    dir: &Directory,
    admin: &Actor,
    anchor: DateTime<Utc>,
) -> ServiceResult<()> {
    let w = &db.write;
    let now = crate::tickets::now();
    // Loans: a web-conference kit out this week, another reserved for next week's training,
    // an entry card lent to the operations vendor.
    let kit1 = tag(db, admin, "KIT-WEB-01").await?;
    let kit2 = tag(db, admin, "KIT-WEB-02").await?;
    let card = tag(db, admin, "CARD-DC-01").await?;
    let staff = person(dir, "yamada.taro")?;
    loans::lend(
        w,
        admin,
        loans::NewBooking {
            asset_id: kit1.id,
            borrower_id: Some(staff.id),
            starts_at: now,
            due_at: now + Duration::days(2),
            purpose: Some("市民課 オンライン相談会".into()),
        },
    )
    .await?;
    loans::reserve(
        w,
        admin,
        loans::NewBooking {
            asset_id: kit2.id,
            borrower_id: Some(person(dir, "tanaka.misaki")?.id),
            starts_at: now + Duration::days(7),
            due_at: now + Duration::days(8),
            purpose: Some("情報セキュリティ研修（Web配信）".into()),
        },
    )
    .await?;
    let vendor = person(dir, "fujimoto@sakura-ops.example.co.jp")?;
    loans::lend(
        w,
        admin,
        loans::NewBooking {
            asset_id: card.id,
            borrower_id: Some(vendor.id),
            starts_at: now,
            due_at: now + Duration::days(1),
            purpose: Some("サーバ室 定期点検".into()),
        },
    )
    .await?;
    // A broken notebook with its damage report: a spare swapped in, sent to the vendor.
    let broken = tag(db, admin, "NB-0007").await?;
    let spare = tag(db, admin, "NB-1098").await?;
    let ops = *dir
        .vendors
        .get("ops")
        .ok_or_else(|| ServiceError::Config("demo vendor ops missing".to_owned()))?;
    let r = repairs::open(
        w,
        admin,
        repairs::NewRepair {
            asset_id: broken.id,
            ticket_id: None,
            fault: Some("液晶画面の割れ（落下）".into()),
            spare_asset_id: Some(spare.id),
            damage_report: Some(repairs::DamageReport {
                submitted_on: Some((anchor - Duration::days(3)).date_naive()),
                submitted_by: "市民課長 髙橋 誠".into(),
                circumstances: "窓口で端末を移動中に落下させ、液晶画面が割れた。".into(),
                hearing: Some("故意・重過失なし。修繕を案内し、代替機を貸与。".into()),
            }),
        },
    )
    .await?;
    repairs::dispatch(w, admin, r.id, ops, Some("RMA-2026-1130".into())).await?;
    // A monthly inspection of a server.
    let server = tag(db, admin, "SV-001").await?;
    assets::inspect(
        w,
        admin,
        server.id,
        "異常なし",
        Some("月次点検（ファン・ログ確認）".into()),
    )
    .await?;
    // Licenses: Acrobat to five people; Visio over-allocated (flagged in the ledger).
    let lic = |code: &'static str| async move {
        licenses::list(
            &db.read,
            admin,
            &licenses::LicenseFilter::default(),
            100,
            None,
        )
        .await
        .map(|p| p.items.into_iter().find(|l| l.code == code))
    };
    let people = requesters(dir);
    if let Some(acrobat) = lic("LIC-009").await? {
        for p in people.iter().take(5) {
            licenses::assign(w, admin, acrobat.id, None, Some(p.id), false).await?;
        }
    }
    if let Some(visio) = lic("LIC-004").await? {
        licenses::assign(
            w,
            admin,
            visio.id,
            None,
            Some(person(dir, "tanaka.misaki")?.id),
            false,
        )
        .await?;
        licenses::assign(
            w,
            admin,
            visio.id,
            None,
            Some(person(dir, "nishimura.daisuke")?.id),
            true,
        )
        .await?;
    }
    // Department requests: filed, approved, issued with receipts.
    let boss = supervisor(dir, &org::CITY)?;
    let item = |code: &'static str| async move {
        stock::items(&db.read, admin, &stock::ItemFilter::default(), 100, None)
            .await
            .map(|p| p.items.into_iter().find(|i| i.code == code))
    };
    let ink = item("INK-LX-K")
        .await?
        .ok_or_else(|| ServiceError::Config("demo item".to_owned()))?;
    let mouse = item("MOUSE-W")
        .await?
        .ok_or_else(|| ServiceError::Config("demo item".to_owned()))?;
    let mfp = tag(db, admin, "MFP-01").await?;
    for (i, p) in people.iter().take(5).enumerate() {
        let who = actor_of(p);
        let (it, q) = if i % 2 == 0 { (&ink, 1) } else { (&mouse, 2) };
        let r = stock::file_request(
            w,
            &who,
            stock::NewRequest {
                item_id: it.id,
                quantity: q,
                requested_by: None,
                printer_asset_id: (i % 2 == 0).then_some(mfp.id),
                note: Some(if i % 2 == 0 {
                    "複合機のインク切れ".into()
                } else {
                    "新規配属職員用".into()
                }),
            },
        )
        .await?;
        if i >= 2 {
            stock::decide(w, &boss, r.id, true, None).await?;
        }
        if i >= 3 {
            stock::issue_request(w, admin, r.id, CITY_STORE).await?;
            stock::record_receipt(w, admin, r.id, &p.display_name, anchor.date_naive()).await?;
        }
    }
    // Used toner collected; an order with a delivery and an invoice that bills one too many.
    stock::record_movement(
        w,
        admin,
        stock::NewMovement {
            item_id: ink.id,
            location: CITY_STORE.into(),
            kind: MovementKind::CollectUsed,
            quantity: 4,
            refs: stock::MovementRefs {
                note: Some("使用済みインクパック回収（さくらOAサービス）".into()),
                ..stock::MovementRefs::default()
            },
        },
    )
    .await?;
    let magenta = item("INK-LX-M")
        .await?
        .ok_or_else(|| ServiceError::Config("demo item".to_owned()))?;
    let ordered_on = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap_or_else(|| anchor.date_naive());
    let po = stock::place_order(
        w,
        admin,
        "さくらOAサービス㈱",
        ordered_on,
        vec![
            stock::PriceLine {
                item_id: magenta.id,
                quantity: 6,
                unit_price: 12_800,
            },
            stock::PriceLine {
                item_id: ink.id,
                quantity: 10,
                unit_price: 12_800,
            },
        ],
        Some("定期発注（11月）".into()),
    )
    .await?;
    stock::record_delivery(
        w,
        admin,
        po.id,
        "OA-20261120-01",
        ordered_on + Duration::days(4),
        CITY_STORE,
        vec![
            stock::DeliveryLine {
                item_id: magenta.id,
                quantity: 6,
            },
            stock::DeliveryLine {
                item_id: ink.id,
                quantity: 10,
            },
        ],
    )
    .await?;
    stock::record_invoice(
        w,
        admin,
        po.id,
        "INV-2611-0042",
        ordered_on + Duration::days(10),
        vec![
            stock::PriceLine {
                item_id: magenta.id,
                quantity: 7,
                unit_price: 12_800,
            },
            stock::PriceLine {
                item_id: ink.id,
                quantity: 10,
                unit_price: 12_800,
            },
        ],
    )
    .await?;
    Ok(())
}

async fn board_activity(db: &Db, dir: &Directory, admin: &Actor) -> ServiceResult<()> {
    let w = &db.write;
    let broken = tag(db, admin, "GIGA-S10101-017").await?;
    let spare = tag(db, admin, "GIGA-SPARE-01").await?;
    let giga = *dir
        .vendors
        .get("giga")
        .ok_or_else(|| ServiceError::Config("demo vendor giga missing".to_owned()))?;
    let r = repairs::open(
        w,
        admin,
        repairs::NewRepair {
            asset_id: broken.id,
            ticket_id: None,
            fault: Some("画面が映らない（休み時間に落下）".into()),
            spare_asset_id: Some(spare.id),
            damage_report: Some(repairs::DamageReport {
                submitted_on: None,
                submitted_by: "さくら東小学校 佐藤 花子".into(),
                circumstances: "児童が休み時間に端末を落とし、画面が映らなくなった。".into(),
                hearing: None,
            }),
        },
    )
    .await?;
    repairs::dispatch(w, admin, r.id, giga, None).await?;
    Ok(())
}
