//! `madoguchi export` and `madoguchi import` on the demo ledgers, with the real binary: an
//! Excel-style round trip (Shift_JIS CSV out, edited, back in), per-row errors with line and
//! column, dry run, and what the running server then shows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{gql, madoguchi, serve, token};
use serde_json::json;

#[test]
fn the_demo_ledgers_go_out_to_excel_and_come_back_edited() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = serve(dir.path(), 100);
    let data = dir.path().to_str().unwrap().to_owned();
    for args in [vec!["import", "--help"], vec!["export", "--help"]] {
        let out = madoguchi().args(&args).output().unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    // Out: Shift_JIS CSV and xlsx.
    let csv = dir.path().join("assets.csv");
    let out = madoguchi()
        .args([
            "export",
            "assets",
            "--tenant",
            "sakura-city",
            "-o",
            csv.to_str().unwrap(),
            "--data-dir",
            &data,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xlsx = dir.path().join("台帳.xlsx");
    let out = madoguchi()
        .args([
            "export",
            "assets",
            "--tenant",
            "sakura-city",
            "-o",
            xlsx.to_str().unwrap(),
            "--data-dir",
            &data,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(&std::fs::read(&xlsx).unwrap()[..2], b"PK");
    let bytes = std::fs::read(&csv).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "Shift_JIS by default");
    let (text, _) = service::ledger::sheets::decode(&bytes).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines.len() > 1_500, "the city's ledger: {}", lines.len());
    assert!(lines[0].starts_with("資産番号,種別,品名"));
    // Edited as a desk would in Excel: one device moved, one added, one broken row.
    let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let row = edited
        .iter()
        .position(|l| l.starts_with("NB-0010,"))
        .unwrap();
    let mut cells: Vec<String> = edited[row].split(',').map(str::to_owned).collect();
    cells[10] = "北部市民センター 1階".into();
    edited[row] = cells.join(",");
    edited.push("NB-9001,ノートPC,追加分ノートPC ㈱髙島屋寄贈①,,,,,,,020100,,,,使用中,,,,,,令和8年12月1日,,".into());
    edited.push("NB-9002,ノートPC,壊れた行,,,,,10.0.0.999,,020100,,,,使用中,,,,,,,,".into());
    let bad_line = edited.len();
    let back = dir.path().join("edited.csv");
    std::fs::write(
        &back,
        service::ledger::sheets::encode_sjis(&(edited.join("\r\n") + "\r\n")).0,
    )
    .unwrap();
    // Dry run: the report, nothing written, exit 1 because a row is wrong.
    let dry = madoguchi()
        .args([
            "import",
            "assets",
            back.to_str().unwrap(),
            "--tenant",
            "sakura-city",
            "--dry-run",
            "--data-dir",
            &data,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&dry.stdout).to_string();
    assert_eq!(dry.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("登録 1 件、更新 1 件") && stdout.contains("（書き込みなし）"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{bad_line}行目「IPアドレス」")),
        "{stdout}"
    );
    // For real: the good rows go in.
    let real = madoguchi()
        .args([
            "import",
            "assets",
            back.to_str().unwrap(),
            "--tenant",
            "sakura-city",
            "--data-dir",
            &data,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&real.stdout).to_string();
    assert!(
        stdout.contains("Shift_JIS") && stdout.contains("登録 1 件、更新 1 件"),
        "{stdout}"
    );
    let t = token(dir.path());
    let body = gql(
        port,
        &t,
        "{ a: assetByTag(assetTag: \"NB-0010\") { location timeline(first: 20) { edges { node { kind } } } }
           b: assetByTag(assetTag: \"NB-9001\") { name purchasedOn }
           c: assetByTag(assetTag: \"NB-9002\") { name } }",
        json!({}),
    );
    assert_eq!(
        body["data"]["a"]["location"], "北部市民センター 1階",
        "{body}"
    );
    assert!(
        body["data"]["a"]["timeline"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["kind"] == "moved")
    );
    assert_eq!(body["data"]["b"]["name"], "追加分ノートPC ㈱髙島屋寄贈①");
    assert_eq!(body["data"]["b"]["purchasedOn"], "2026-12-01");
    assert!(body["data"]["c"].is_null());
    // Importing the same file again changes nothing.
    let again = madoguchi()
        .args([
            "import",
            "assets",
            back.to_str().unwrap(),
            "--tenant",
            "sakura-city",
            "--data-dir",
            &data,
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("登録 0 件、更新 0 件"));
    server.kill().unwrap();
    server.wait().unwrap();
}
