//! Health, readiness and request ids.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tests::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_up_and_readiness_follows_the_database() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    assert_eq!(app.get("/readyz").await.status().as_u16(), 200);

    // Break the database on purpose: readiness must fail cleanly, liveness stays up.
    app.db.read.clone().close().await.unwrap();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status().as_u16(), 503);
    assert_eq!(ready.text().await.unwrap(), "database unavailable");
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_holds_a_burst_of_connections() {
    // A platform opening hundreds of connections at once must not overflow the kernel's
    // accept queue (with std's 128, the rest came back a second later). `ss` shows a
    // listening socket's backlog as its Send-Q.
    let app = spawn_app(Backend::Sqlite).await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) is needed");
    let text = String::from_utf8(out.stdout).unwrap();
    let backlog: u32 = text
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no listening socket on {port}: {text:?}"));
    assert_eq!(backlog, 2048, "{text}");

    // And 300 connections opened at once are all answered.
    let requests = (0..300).map(|_| {
        let port = port.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut answer = Vec::new();
            s.read_to_end(&mut answer).await.unwrap();
            answer.starts_with(b"HTTP/1.1 200")
        })
    });
    for ok in futures::future::join_all(requests).await {
        assert!(ok.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app.get("/healthz").await;
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "call-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "call-42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_is_served_on_get() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app.get("/graphql").await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().await.unwrap().contains("graphiql"));
}
