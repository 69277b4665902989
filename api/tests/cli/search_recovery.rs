//! The search index after a hard kill, with the real binary: tickets committed
//! to the database but not yet to the index are there after a restart, once
//! each. Also `faq import` and `reindex` from the command line.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn a_hard_kill_between_database_and_index_commits_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The indexer builds the index at start, drains the outbox once, then
    // sleeps for an hour: anything written after that reaches only the database.
    let (mut first, port) = serve(dir.path(), 3_600_000);
    let token = token(dir.path());
    let create = "mutation($i: CreateTicketInput!) { createTicket(input: $i) { ticket { number } userErrors { code } } }";
    // The demo's outbox is applied in batches after start; a ticket created now is applied with
    // them. Once it is searchable, the outbox is drained and the indexer goes to sleep.
    let body = gql(
        port,
        &token,
        create,
        json!({"i": {"kind": "INQUIRY", "title": "索引の待機 zqxsentinel", "description": "起動直後"}}),
    );
    assert!(
        body["data"]["createTicket"]["ticket"]["number"].is_string(),
        "{body}"
    );
    wait_for("outbox drained", Duration::from_secs(60), || {
        count(port, &token, "zqxsentinel") == 1
    });
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..5 {
        let body = gql(
            port,
            &token,
            create,
            json!({"i": {"kind": "INCIDENT", "title": format!("停電時の切替確認 zqxprobe{i}"), "description": "UPSの切替確認"}}),
        );
        assert!(
            body["data"]["createTicket"]["ticket"]["number"].is_string(),
            "{body}"
        );
    }
    assert_eq!(
        count(port, &token, "zqxprobe"),
        0,
        "the index must not have them yet"
    );
    first.kill().unwrap(); // SIGKILL: no shutdown, no commit.
    first.wait().unwrap();

    let (mut second, port) = serve(dir.path(), 200);
    wait_for(
        "tickets indexed after restart",
        Duration::from_secs(10),
        || count(port, &token, "zqxprobe") == 5,
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(count(port, &token, "zqxprobe"), 5, "nothing doubled");
    let body = gql(
        port,
        &token,
        "{ search(query: \"zqxprobe\", first: 10) { edges { node { node { ... on Ticket { number } } } } } }",
        json!({}),
    );
    let mut numbers: Vec<&str> = body["data"]["search"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["node"]["number"].as_str().unwrap())
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 5);

    // `reindex` refuses while the server holds the index...
    let out = madoguchi()
        .args(["reindex", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stop the server first"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    second.kill().unwrap();
    second.wait().unwrap();

    // ...and rebuilds it from the database once it is stopped.
    let out = madoguchi()
        .args(["reindex", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("件を索引しました"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // `faq import` reads Shift_JIS CSV as Excel saves it; a second run changes nothing.
    let csv = "コード,カテゴリ,対象,質問,回答,キーワード\r\nups-1,設備,職員,停電のときサーバーはどうなりますか,UPSで10分間動作します。,\"停電、UPS\"\r\n";
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(csv);
    assert!(!unmappable);
    let file = dir.path().join("faq.csv");
    std::fs::write(&file, &sjis).unwrap();
    let import = || {
        madoguchi()
            .args(["faq", "import", "--tenant", "sakura-city", "--data-dir"])
            .arg(dir.path())
            .arg(&file)
            .output()
            .unwrap()
    };
    let out = import();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("作成 1 件、更新 0 件、変更なし 0 件、エラー 0 件"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = import();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("作成 0 件、更新 0 件、変更なし 1 件"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The restarted server indexes the imported article from the outbox.
    let (mut third, port) = serve(dir.path(), 200);
    wait_for(
        "imported article searchable",
        Duration::from_secs(10),
        || count(port, &token, "UPS 停電") >= 1,
    );
    third.kill().unwrap();
    third.wait().unwrap();
}
