//! The mail front door from the command line, with the real binary next to a running
//! server: `mail ingest` as an MTA pipe (exit 0 once stored, 75 to make the MTA retry),
//! `mail maildir`, and the server indexing what came in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

fn message(id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: 業者 <someone@vendor.example.com>\r\nTo: helpdesk@city.sakura.example.jp\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 09:00:00 +0900\r\nMessage-ID: <{id}>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn pipe(dir: &Path, args: &[&str], envs: &[(&str, &str)], input: &[u8]) -> Output {
    let mut cmd = madoguchi();
    cmd.args(["mail", "ingest", "--data-dir"])
        .arg(dir)
        .args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn pipe_and_maildir_store_once_and_tell_the_mta_when_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = serve(dir.path(), 50);
    let token = token(dir.path());

    // Stored and processed: exit 0, the new ticket's number on stdout.
    let first = message(
        "pipe-1@vendor.example.com",
        "ルーター交換の日程 zqxmail",
        "来週の交換日程についてご相談です。",
    );
    let out = pipe(dir.path(), &[], &[], &first);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("\tcreated "), "{stdout}");

    // The MTA delivers it again: still 0, nothing new.
    let out = pipe(dir.path(), &[], &[], &first);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("already received")
    );

    // Could not store: 75, so the MTA keeps the message and retries.
    let out = pipe(
        dir.path(),
        &["--tenant", "no-such-tenant"],
        &[],
        &message("pipe-2@x", "x", "x"),
    );
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pipe(
        dir.path(),
        &[],
        &[("DATABASE_URL", "postgres://madoguchi@127.0.0.1:1/none")],
        &message("pipe-3@x", "x", "x"),
    );
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A maildir: two new messages and a redelivery of the first; all moved to cur/.
    let md = dir.path().join("maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    std::fs::write(
        md.join("new/1700000001.a.host"),
        message(
            "md-1@vendor.example.com",
            "見積書 zqxmail",
            "見積書を送ります。",
        ),
    )
    .unwrap();
    std::fs::write(
        md.join("new/1700000002.b.host"),
        message(
            "md-2@vendor.example.com",
            "請求書 zqxmail",
            "請求書を送ります。",
        ),
    )
    .unwrap();
    std::fs::write(md.join("new/1700000003.c.host"), &first).unwrap();
    let out = madoguchi()
        .args(["mail", "maildir"])
        .arg(&md)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "3 messages: 2 new tickets, 0 replies, 0 ignored, 0 quarantined"
    );
    assert_eq!(std::fs::read_dir(md.join("new")).unwrap().count(), 0);
    let cur: Vec<String> = std::fs::read_dir(md.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cur.len(), 3);
    assert!(cur.iter().all(|n| n.ends_with(":2,S")));

    // The running server indexed all three tickets.
    wait_for("mail tickets searchable", Duration::from_secs(10), || {
        count(port, &token, "zqxmail") == 3
    });
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The real binary killed with SIGKILL at several points while it ingests a maildir; after a
/// last run every message is exactly one ticket or one comment, none twice, none lost.
#[test]
fn sigkill_while_ingesting_loses_nothing_and_doubles_nothing() {
    use sea_orm::{ConnectionTrait, Statement};
    const N: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let md = dir.path().join("maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    // Every fourth message answers the one before it (threads onto its ticket).
    for i in 0..N {
        // One sender per thread, so the per-sender rate cap never applies.
        let m = message(
            &format!("kill-{i}@vendor.example.com"),
            &format!("障害報告 {i}"),
            "サーバ室の空調が停止しました。",
        );
        let mut m = String::from_utf8(m)
            .unwrap()
            .replace("someone@", &format!("user{}@", i / 4))
            .into_bytes();
        if i % 4 == 3 {
            let reply = format!("In-Reply-To: <kill-{}@vendor.example.com>\r\n", i - 1);
            m.splice(0..0, reply.into_bytes());
        }
        std::fs::write(
            md.join(format!("new/{:010}.{i}.host", 1_700_000_000 + i)),
            m,
        )
        .unwrap();
    }
    // Migrated and the demo loaded first (by a server, stopped), so every kill lands in mail work.
    let (mut server, _) = serve(&data, 1000);
    server.kill().unwrap();
    server.wait().unwrap();
    let run = |kill_after: Option<Duration>| -> bool {
        let mut child = madoguchi()
            .args(["mail", "maildir", "--batch", "20"])
            .arg(&md)
            .arg("--data-dir")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if let Some(d) = kill_after {
            std::thread::sleep(d);
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                return true;
            }
        }
        assert!(child.wait().unwrap().success());
        false
    };
    // Kill at growing delays; note how much of the maildir each killed run had taken.
    let waiting = || std::fs::read_dir(md.join("new")).unwrap().count();
    let mut midway = 0;
    let mut kills = 0;
    for ms in [150, 300, 450, 600, 750, 900] {
        let before = waiting();
        if before == 0 {
            break;
        }
        if run(Some(Duration::from_millis(ms))) {
            kills += 1;
            if waiting() < before {
                midway += 1;
            }
        }
    }
    run(None);
    let out = madoguchi()
        .args(["mail", "process", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read_dir(md.join("new")).unwrap().count(), 0);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (messages, processed, tickets, comments, doubled) = rt.block_on(async {
        let url = format!("sqlite://{}?mode=ro", data.join("madoguchi.sqlite").display());
        let db = sea_orm::Database::connect(url).await.unwrap();
        let one = |sql: &str| {
            let db = &db;
            let sql = sql.to_owned();
            async move {
                let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
                row.try_get_by_index::<i64>(0).unwrap()
            }
        };
        (
            one("SELECT COUNT(*) FROM mail_messages WHERE message_id LIKE 'kill-%'").await,
            one("SELECT COUNT(*) FROM mail_messages WHERE message_id LIKE 'kill-%' AND status = 'processed'").await,
            one("SELECT COUNT(*) FROM tickets WHERE title LIKE '障害報告 %'").await,
            one("SELECT COUNT(*) FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id WHERE t.title LIKE '障害報告 %'").await,
            one("SELECT COUNT(*) FROM (SELECT title FROM tickets WHERE title LIKE '障害報告 %' GROUP BY title HAVING COUNT(*) > 1)").await,
        )
    });
    eprintln!(
        "{kills} SIGKILLs ({midway} after some mail was taken); {messages} messages, {tickets} tickets, {comments} comments"
    );
    assert!(
        midway >= 1,
        "the binary was never killed mid-way: make the maildir bigger"
    );
    assert_eq!(messages, N as i64);
    assert_eq!(processed, N as i64);
    assert_eq!(tickets, (N - N / 4) as i64);
    assert_eq!(comments, (N / 4) as i64);
    assert_eq!(doubled, 0);
}
