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
