//! Helpers for tests that run the real `madoguchi` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub fn madoguchi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_madoguchi"))
}

/// Starts `serve --demo` on the data dir; returns the child and its port.
pub fn serve(dir: &Path, poll_millis: u64) -> (Child, u16) {
    let mut child = madoguchi()
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("MADOGUCHI_LOG_JSON", "true")
        .env("MADOGUCHI_LOG", "info")
        .env("MADOGUCHI_SEARCH__POLL_MILLIS", poll_millis.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("server logs its port").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_default();
        if let Some(p) = v["port"].as_u64() {
            break p as u16;
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, port)
}

pub fn token(dir: &Path) -> String {
    let out = madoguchi()
        .args([
            "token",
            "issue",
            "--tenant",
            "sakura-city",
            "--person",
            "suzuki.hd@city.sakura.example.jp",
            "--data-dir",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn gql(port: u16, token: &str, query: &str, variables: Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/graphql"))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
}

pub fn count(port: u16, token: &str, text: &str) -> i64 {
    let body = gql(
        port,
        token,
        "query($q: String!) { search(query: $q, first: 50) { totalCount } }",
        json!({"q": text}),
    );
    body["data"]["search"]["totalCount"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

pub fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
