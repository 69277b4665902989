//! `service::db::reader::Reader`: the chat turns' reads on connections it keeps (SQLite),
//! answering as the read pool does, each connection lent to one statement at a time and
//! taken back without the pool's ping; a statement's own error keeps its connection, a
//! cancelled one costs its connection and nothing else. On PostgreSQL it is the read pool.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use entity::person;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, Statement,
};
use service::db::reader::Reader;
use tests::{Backend, both_backends};

both_backends!(
    reads_as_the_pool_does_on_connections_it_keeps,
    |backend: Backend| async move {
        let tdb = tests::test_db(backend).await;
        let city = tdb.fixture.city.id;
        let reader = Reader::new(tdb.db.read.clone(), 2);
        let sqlite = backend == Backend::Sqlite;

        // The same rows as the pool, one at a time or all of them.
        let people = || {
            person::Entity::find()
                .filter(person::Column::TenantId.eq(city))
                .order_by_asc(person::Column::Id)
        };
        let from_pool = people().all(&tdb.db.read).await.unwrap();
        assert!(from_pool.len() > 2, "the fixture has people");
        assert_eq!(people().all(&reader).await.unwrap(), from_pool);
        let one = person::Entity::find_by_id(from_pool[1].id)
            .one(&reader)
            .await
            .unwrap();
        assert_eq!(one.as_ref(), Some(&from_pool[1]));
        assert_eq!(
            person::Entity::find_by_id(uuid::Uuid::now_v7())
                .one(&reader)
                .await
                .unwrap(),
            None
        );
        // One connection served those three statements one after another.
        assert_eq!(reader.idle(), usize::from(sqlite));

        // Many at once: each statement has a connection to itself, never more than two.
        let reads = (0..24).map(|i| {
            let id = from_pool[i % from_pool.len()].id;
            let reader = &reader;
            async move { person::Entity::find_by_id(id).one(reader).await }
        });
        let got = futures::future::join_all(reads).await;
        for (i, p) in got.into_iter().enumerate() {
            assert_eq!(p.unwrap().unwrap().id, from_pool[i % from_pool.len()].id);
        }
        // (How many it needed depends on how the reads interleaved: one or two, never more.)
        let held = reader.idle();
        let bounded = |n: usize| if sqlite { (1..=2).contains(&n) } else { n == 0 };
        assert!(bounded(held), "{held} held");

        // A statement's own error is the caller's; its connection is lent again.
        let bad = Statement::from_string(backend_of(backend), "SELECT * FROM no_such_table");
        assert!(reader.query_one_raw(bad.clone()).await.is_err());
        assert!(reader.query_all_raw(bad).await.is_err());
        assert_eq!(reader.idle(), held);

        // A read cancelled midway: its connection is closed, not lent again mid-statement,
        // and the next reads get another one from the pool.
        let slow = Statement::from_string(
            backend_of(backend),
            match backend {
                Backend::Sqlite => {
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000) SELECT count(*) FROM n"
                }
                Backend::Postgres => "SELECT pg_sleep(5)",
            },
        );
        let cancelled = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            reader.query_one_raw(slow),
        )
        .await;
        assert!(cancelled.is_err(), "the slow read was cut off");
        if sqlite {
            assert_eq!(
                reader.idle(),
                held - 1,
                "the cancelled read's connection is gone"
            );
        }
        let again = futures::future::join_all((0..4).map(|_| {
            let reader = &reader;
            let id = from_pool[0].id;
            async move { person::Entity::find_by_id(id).one(reader).await }
        }))
        .await;
        assert!(again.into_iter().all(|p| p.unwrap().is_some()));
        assert!(bounded(reader.idle()), "{} held", reader.idle());

        // A statement that writes goes to the pool, as it would without a reader.
        let n = reader
            .execute_unprepared("UPDATE people SET display_name = display_name WHERE 1 = 0")
            .await
            .unwrap();
        assert_eq!(n.rows_affected(), 0);
    }
);

fn backend_of(b: Backend) -> DatabaseBackend {
    match b {
        Backend::Sqlite => DatabaseBackend::Sqlite,
        Backend::Postgres => DatabaseBackend::Postgres,
    }
}
