//! The server refreshes the query planner's statistics at start: SQLite keeps `sqlite_stat1`
//! and no STAT4 samples (which would make it re-plan statements on every run). On PostgreSQL
//! it does nothing (autovacuum analyzes); every PostgreSQL test's server start runs that path.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use entity::TicketKind;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use service::tickets::{self, NewTicket};
use tests::{Backend, spawn_app};

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

#[tokio::test]
async fn sqlite_statistics_keep_stat1_and_drop_stat4_samples() {
    let app = spawn_app(Backend::Sqlite).await;
    let desk = app.fixture.city.agent_actor();
    for i in 0..40 {
        tickets::create(
            &app.db.write,
            &desk,
            NewTicket::new(TicketKind::Inquiry, format!("問い合わせ{i}"), ""),
        )
        .await
        .unwrap();
    }
    app.db.refresh_statistics().await.unwrap();
    let db = &app.db.write;
    assert!(
        count(
            db,
            "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'tickets'"
        )
        .await
            > 0,
        "the tickets' indexes have statistics"
    );
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'"
        )
        .await,
        1,
        "this SQLite gathers STAT4 samples (else the test proves nothing)"
    );
    assert_eq!(count(db, "SELECT count(*) FROM sqlite_stat4").await, 0);
    // Running it again is harmless.
    app.db.refresh_statistics().await.unwrap();
    assert_eq!(count(db, "SELECT count(*) FROM sqlite_stat4").await, 0);
}
