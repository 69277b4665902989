//! Database connections: one pool for reads and one for writes.
//!
//! SQLite allows one writer at a time; with several pooled connections a deferred transaction
//! that upgrades to a write can fail with `SQLITE_BUSY` at once instead of waiting. Giving
//! writes a single-connection pool of their own serialises them in the application, where
//! waiting is cheap, while reads run concurrently under WAL. PostgreSQL shares one pool.

pub mod reader;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DbErr};
use std::time::{Duration, Instant};

/// The connections a process uses.
#[derive(Clone, Debug)]
pub struct Db {
    /// For queries; concurrent.
    pub read: DatabaseConnection,
    /// For transactions that write; one connection on SQLite.
    pub write: DatabaseConnection,
}

impl Db {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbErr> {
        if url.starts_with("sqlite:") {
            let read = Database::connect(sqlite_options(
                url,
                max_connections.max(2),
                READER_STATEMENTS,
            ))
            .await?;
            let write = Database::connect(sqlite_options(url, 1, WRITER_STATEMENTS)).await?;
            Ok(Self { read, write })
        } else {
            let mut opts = ConnectOptions::new(url);
            opts.max_connections(max_connections.max(2))
                .min_connections(1)
                .connect_timeout(Duration::from_secs(5))
                .acquire_timeout(Duration::from_secs(10))
                // A connection is checked with a round trip to the server only when it has
                // been idle long enough for a firewall or a restart to have dropped it, not
                // on every query (sqlx's default).
                .test_before_acquire_if_idle_for(PING_AFTER_IDLE)
                .sqlx_logging(false);
            let db = Database::connect(opts).await?;
            Ok(Self {
                read: db.clone(),
                write: db,
            })
        }
    }

    /// Returns which database engine this is.
    pub fn backend(&self) -> DatabaseBackend {
        self.write.get_database_backend()
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.read.ping().await
    }

    /// Refreshes the query planner's statistics. On SQLite: a full `ANALYZE` (0.1 s for
    /// 100,000 tickets; `analysis_limit` sampling was tried and misjudged how many tickets a
    /// tenant has by a factor of 100), keeping `sqlite_stat1` and dropping the STAT4 samples,
    /// in one transaction: with them SQLite re-plans a statement on every run whose bound
    /// values could change its plan, and our indexes are planned the same without them. A
    /// connection loads statistics when it reads the schema, so the server calls this once at
    /// start, after migrations and demo data. On PostgreSQL autovacuum keeps statistics;
    /// nothing is done.
    pub async fn refresh_statistics(&self) -> Result<(), DbErr> {
        use sea_orm::{ConnectionTrait, TransactionTrait};
        if self.backend() != DatabaseBackend::Sqlite {
            return Ok(());
        }
        let txn = self.write.begin().await?;
        txn.execute_unprepared("ANALYZE").await?;
        let stat4 = txn
            .query_one_raw(sea_orm::Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat4'",
            ))
            .await?;
        if stat4.is_some() {
            txn.execute_unprepared("DELETE FROM sqlite_stat4").await?;
        }
        txn.commit().await?;
        // `ANALYZE` loaded the samples it gathered into this connection (the writer), and
        // deleting the rows does not unload them: without this the writer re-planned
        // `… WHERE id IN (?, …)` on every run. `ANALYZE sqlite_schema` analyses nothing and
        // reloads the statistics as they are now stored.
        self.write
            .execute_unprepared("ANALYZE sqlite_schema")
            .await
            .map(drop)
    }

    /// Closes both pools.
    pub async fn close(self) -> Result<(), DbErr> {
        self.read.close().await?;
        self.write.close().await
    }
}

fn sqlite_options(url: &str, max: u32, statements: usize) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        // sqlx pings a pooled connection before every use unless told not to: on SQLite that
        // is a round trip to the connection's thread and back before each query (two thread
        // wake-ups), for a "connection" that is a file and cannot have been dropped.
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                // Room for a whole page (up to 100 rows and the one more that says whether
                // another page follows): with sqlx's default of 50, the worker thread
                // blocks on a full channel until the page's reader drains it.
                .row_buffer_size(256)
                .statement_cache_capacity(statements)
                .foreign_keys(true)
                .pragma("cache_size", "-16000")
                .pragma("temp_store", "memory")
                .pragma("wal_autocheckpoint", WAL_BOUND_PAGES.to_string())
        });
    opts
}

/// Prepared statements a SQLite connection keeps (sqlx's default).
pub const READER_STATEMENTS: usize = 100;

/// Prepared statements SQLite's writing connection keeps. It runs the group commits'
/// multi-row statements, a text for each number of rows (webhooks taken in together, turns
/// committed together, ...): with 100 they pushed each other and everything else out of the
/// cache, and were prepared again and again.
pub const WRITER_STATEMENTS: usize = 1_000;

/// How long a PostgreSQL connection may sit idle in the pool before it is checked with a
/// ping when next taken.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// Pages of write-ahead log a connection lets grow before it checkpoints by itself, on its
/// own commit. SQLite's default is 1,000 (4 MiB): the commit that crosses it copies the log
/// into the database file and syncs both (30 ms on this project's test machines), holding
/// the single writer and everyone queued behind it. The server checkpoints in the background
/// instead ([`Checkpointer`]); this bound (40 MiB) only matters when nothing does, such as in
/// a command-line import.
pub const WAL_BOUND_PAGES: u32 = 10_000;

/// How often the server's [`Checkpointer`] looks whether the database has changed.
pub const CHECKPOINT_TICK: Duration = Duration::from_millis(50);

/// The longest the server's [`Checkpointer`] waits for the writers to rest before it
/// checkpoints anyway.
pub const CHECKPOINT_AT_LATEST: Duration = Duration::from_secs(2);

/// Checkpoints a SQLite database's write-ahead log on a connection of its own, so that the
/// copy into the database file and its `fsync`s run beside the writer instead of inside one
/// of its commits. Passive: it copies what no reader still needs and never waits for a
/// lock; writers go on appending meanwhile, and the log starts over from its beginning at
/// the first commit after a complete checkpoint.
///
/// [`Checkpointer::due`] says when: once the writers rest (nothing committed since the last
/// look, [`CHECKPOINT_TICK`] before), so that a burst of commits is not slowed by the copy of
/// its own pages, and a page written by many commits of the burst is copied once; and at the
/// latest [`CHECKPOINT_AT_LATEST`] after the previous checkpoint, so that a database never at
/// rest still has its log copied.
#[derive(Debug)]
pub struct Checkpointer {
    conn: DatabaseConnection,
    /// The writing pool, for the commit that starts the log over.
    writer: DatabaseConnection,
    /// `PRAGMA data_version` at the last look: it changes when another connection commits.
    version: Option<i64>,
    /// Commits seen that are not yet copied.
    behind: bool,
    last: Instant,
    /// The last checkpoint started the log over (see [`Checkpointer::run`]).
    started_over: bool,
}

/// What one checkpoint found and did, in log pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Pages in the write-ahead log.
    pub log: i64,
    /// Of those, pages now copied into the database file.
    pub copied: i64,
}

impl Checkpointer {
    /// A checkpointer for `url`, or `None` when it is not SQLite (PostgreSQL checkpoints by
    /// itself).
    /// `writer` is the database's writing pool: the checkpointer starts the log over with a
    /// commit of its own there ([`Checkpointer::run`]), never from a second writing
    /// connection, whose commit would make a transaction of the writer that read first fail
    /// to upgrade to a write (`SQLITE_BUSY_SNAPSHOT`).
    pub async fn open(url: &str, writer: &DatabaseConnection) -> Result<Option<Self>, DbErr> {
        if !url.starts_with("sqlite:") {
            return Ok(None);
        }
        let conn = Database::connect(sqlite_options(url, 1, READER_STATEMENTS)).await?;
        Ok(Some(Self {
            writer: writer.clone(),
            conn,
            version: None,
            behind: true,
            last: Instant::now(),
            started_over: false,
        }))
    }

    /// Whether a checkpoint is due at `now`: something was committed since the last one, and
    /// either nothing since the last look (the writers rest) or the last checkpoint is
    /// [`CHECKPOINT_AT_LATEST`] old. Costs one small statement.
    pub async fn due(&mut self, now: Instant) -> Result<bool, DbErr> {
        let row = self.pragma("PRAGMA data_version").await?;
        let version: i64 = row.try_get_by_index(0)?;
        let moved = self.version.replace(version) != Some(version);
        self.behind |= moved;
        Ok(self.behind
            && (!moved || now.saturating_duration_since(self.last) >= CHECKPOINT_AT_LATEST))
    }

    /// Runs one passive checkpoint. An idle database costs a look at the log's index: with
    /// nothing new to copy, nothing is written or synced (after a checkpoint that started the
    /// log over, the next copies the page that did, once).
    ///
    /// A checkpoint that copied the whole log also starts the log over, here: the first
    /// commit into a log started over writes its header and syncs it (`fsync`) before its
    /// pages, which would otherwise be the first commit of the next burst, with everyone
    /// queued behind the writer waiting for the disk (0.7 ms most times; 200–600 ms now and
    /// then on this project's virtual machines). The checkpointer has that first commit
    /// written at once, on the writing connection while the writers rest: `PRAGMA
    /// user_version` rewritten with the value it has (a page of the file's header; madoguchi
    /// does not use the number). If a reader still reads from the log it cannot start over,
    /// and the page is just appended.
    pub async fn run(&mut self) -> Result<Checkpoint, DbErr> {
        let row = self.pragma("PRAGMA wal_checkpoint(PASSIVE)").await?;
        let c = Checkpoint {
            log: row.try_get_by_index(1)?,
            copied: row.try_get_by_index(2)?,
        };
        self.last = Instant::now();
        // Pages a reader still needed are copied by a later checkpoint.
        self.behind = c.copied < c.log;
        // Not again for a log of nothing but the page that started it over.
        let only_ours = self.started_over && c.log == 1;
        if !only_ours {
            self.started_over = false;
            if c.log > 0 && c.copied == c.log {
                match self.start_log_over().await {
                    Ok(()) => self.started_over = true,
                    // The checkpoint is done all the same; the writer starts the log over.
                    Err(e) => {
                        tracing::warn!(error = %e, "starting the write-ahead log over failed")
                    }
                }
            }
        }
        Ok(c)
    }

    /// Writes one page (the header's `user_version`, unchanged) on the writing connection so
    /// that the log starts over there, now, while the writers rest (see
    /// [`Checkpointer::run`]). The checkpointer's own look at `data_version` then sees a
    /// commit, which it knows for its own.
    async fn start_log_over(&mut self) -> Result<(), DbErr> {
        use sea_orm::ConnectionTrait;
        let v: i64 = self
            .pragma("PRAGMA user_version")
            .await?
            .try_get_by_index(0)?;
        self.writer
            .execute_unprepared(&format!("PRAGMA user_version = {v}"))
            .await?;
        // Not a commit to copy: the next look starts from here. (A commit of someone else's
        // in between is copied with the next one after it.)
        let row = self.pragma("PRAGMA data_version").await?;
        self.version = Some(row.try_get_by_index(0)?);
        Ok(())
    }

    /// The row a pragma answers with.
    async fn pragma(&self, sql: &'static str) -> Result<sea_orm::QueryResult, DbErr> {
        use sea_orm::ConnectionTrait;
        self.conn
            .query_one_raw(sea_orm::Statement::from_string(
                DatabaseBackend::Sqlite,
                sql,
            ))
            .await?
            .ok_or_else(|| DbErr::Custom(format!("{sql} returned no row")))
    }

    /// Closes its connection.
    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }
}

/// Builds `a, b, c` placeholders for `n` values starting at position `start` (1-based): `?`
/// for SQLite, `$n` for PostgreSQL.
pub(crate) fn placeholders(backend: DatabaseBackend, start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| match backend {
            DatabaseBackend::Postgres => format!("${i}"),
            _ => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The placeholder for bound value `i` holding JSON text: cast to `jsonb` on PostgreSQL (a
/// JSON column takes the text as it is on SQLite). Binding the text, not the tree, spares
/// SeaORM's copy of the tree to bind it.
pub(crate) fn json_placeholder(backend: DatabaseBackend, i: usize) -> String {
    let p = placeholders(backend, i, 1);
    match backend {
        DatabaseBackend::Postgres => format!("CAST({p} AS jsonb)"),
        _ => p,
    }
}

/// Pads an id list to the next size in a few fixed buckets by repeating its last id.
///
/// `WHERE id IN (?, ?, ...)` is a different statement for every list length, so batched
/// lookups (DataLoaders) would prepare a new statement almost every time and miss the
/// per-connection statement cache; with a handful of lengths they hit it.
pub(crate) fn stable_in_list(ids: &[uuid::Uuid]) -> Vec<uuid::Uuid> {
    const BUCKETS: [usize; 8] = [1, 4, 16, 32, 64, 128, 256, 512];
    let mut out = ids.to_vec();
    if let (Some(last), Some(size)) = (ids.last(), BUCKETS.iter().find(|b| **b >= ids.len())) {
        out.resize(*size, *last);
    }
    out
}

/// Writes a SQLite statement's trailing `LIMIT ?` as a literal.
///
/// SQLite plans with the value bound to a `LIMIT` parameter, so every new binding of it makes
/// the statement re-plan itself on its next run (a parse and a plan per page; sqlx binds anew
/// on every execution). A page size takes few values, each prepared once per connection.
pub(crate) fn inline_limit(stmt: &mut sea_orm::Statement) {
    use sea_orm::{Value, Values};
    if stmt.db_backend != DatabaseBackend::Sqlite || !stmt.sql.ends_with(" LIMIT ?") {
        return;
    }
    let Some(Values(values)) = &mut stmt.values else {
        return;
    };
    if let Some(Value::BigUnsigned(Some(n))) = values.last() {
        let n = *n;
        values.pop();
        stmt.sql.truncate(stmt.sql.len() - 1);
        stmt.sql.push_str(&n.to_string());
    }
}

/// `Select::one` with its `LIMIT 1` written as a literal on SQLite (SeaORM binds it, which makes
/// SQLite re-plan the statement on every run; see [`inline_limit`]). For single-row look-ups on
/// hot paths: `Entity::find_by_id(id).first(db)`.
pub trait First<E: sea_orm::EntityTrait> {
    /// The first row, if any.
    fn first<C: sea_orm::ConnectionTrait>(
        self,
        db: &C,
    ) -> impl std::future::Future<Output = Result<Option<E::Model>, DbErr>> + Send;
}

impl<E: sea_orm::EntityTrait> First<E> for sea_orm::Select<E> {
    fn first<C: sea_orm::ConnectionTrait>(
        self,
        db: &C,
    ) -> impl std::future::Future<Output = Result<Option<E::Model>, DbErr>> + Send {
        use sea_orm::{FromQueryResult, QuerySelect, QueryTrait};
        let mut stmt = self.limit(1).build(db.get_database_backend());
        inline_limit(&mut stmt);
        E::Model::find_by_statement(stmt).one(db)
    }
}

#[cfg(test)]
mod tests {
    use super::stable_in_list;

    #[tokio::test]
    async fn sqlite_connections_are_taken_from_the_pool_without_a_ping() {
        use sea_orm::ConnectionTrait;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = super::Db::connect(&url, 2).await.unwrap();
        for pool in [&db.read, &db.write] {
            let sqlx = pool.get_sqlite_connection_pool();
            assert!(!sqlx.options().get_test_before_acquire());
            // Taken again and again (the writer's one connection too): still answers.
            for _ in 0..3 {
                let row = pool
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DatabaseBackend::Sqlite,
                        "SELECT 1 AS one",
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.try_get::<i32>("", "one").unwrap(), 1);
            }
        }
    }

    #[tokio::test]
    async fn the_log_is_checkpointed_beside_the_writer_not_in_its_commits() {
        use super::{Checkpoint, Checkpointer, Db, WAL_BOUND_PAGES};
        use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&url, 2).await.unwrap();
        let mut checkpointer = Checkpointer::open(&url, &db.write)
            .await
            .unwrap()
            .expect("SQLite");
        let first = checkpointer.run().await.unwrap();
        db.write
            .execute_unprepared("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
            .await
            .unwrap();
        // About 2,500 pages in 50 commits: past SQLite's own threshold of 1,000.
        for _ in 0..50 {
            db.write
                .execute_unprepared(
                    "INSERT INTO blobs (data) SELECT randomblob(4000) FROM \
                     (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) SELECT i FROM n)",
                )
                .await
                .unwrap();
        }
        let done = checkpointer.run().await.unwrap();
        assert!(
            done.log > 2_000 && done.log < i64::from(WAL_BOUND_PAGES),
            "the writer left the log to the checkpointer: {first:?} then {done:?}"
        );
        assert_eq!(
            done.copied, done.log,
            "a passive checkpoint with no reader copies it all"
        );
        let rows = db
            .read
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT count(*) FROM blobs",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rows.try_get_by_index::<i64>(0).unwrap(), 2_500);
        // The checkpoint started the log over: the next commit appends to it.
        db.write
            .execute_unprepared("INSERT INTO blobs (data) VALUES (x'00')")
            .await
            .unwrap();
        let after = checkpointer.run().await.unwrap();
        assert!(after.log < 10, "the log started over: {after:?}");
        // Then only the checkpointer's own page is in the log: copied once, then nothing.
        let own = checkpointer.run().await.unwrap();
        assert_eq!(own, Checkpoint { log: 1, copied: 1 });
        assert_eq!(checkpointer.run().await.unwrap(), own);
        assert!(
            Checkpointer::open("postgres://nowhere/x", &db.write)
                .await
                .unwrap()
                .is_none()
        );
        checkpointer.close().await.unwrap();
        db.close().await.unwrap();
    }

    /// A SQLite database in a temporary directory with a table `t (id, v)`, and its
    /// checkpointer.
    async fn table_t() -> (tempfile::TempDir, super::Db, super::Checkpointer) {
        use sea_orm::ConnectionTrait;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = super::Db::connect(&url, 2).await.unwrap();
        db.write
            .execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            .await
            .unwrap();
        let checkpointer = super::Checkpointer::open(&url, &db.write)
            .await
            .unwrap()
            .expect("SQLite");
        (dir, db, checkpointer)
    }

    #[tokio::test]
    async fn checkpoints_wait_for_the_writers_to_rest_but_not_for_ever() {
        use super::CHECKPOINT_AT_LATEST;
        use sea_orm::ConnectionTrait;
        use std::time::{Duration, Instant};
        let (dir, db, mut checkpointer) = table_t().await;
        let write = || async {
            db.write
                .execute_unprepared("INSERT INTO t (v) VALUES ('x')")
                .await
                .unwrap();
        };
        let t0 = Instant::now();
        // Its first look sees a database it has not copied: due once nothing more comes.
        assert!(
            !checkpointer.due(t0).await.unwrap(),
            "commits seen just now"
        );
        assert!(checkpointer.due(t0).await.unwrap(), "the writers rest");
        let c = checkpointer.run().await.unwrap();
        assert_eq!(c.copied, c.log);
        assert!(c.log > 0, "the table's pages were in the log: {c:?}");
        // Nothing new: not due, however long it has been.
        assert!(
            !checkpointer
                .due(t0 + CHECKPOINT_AT_LATEST * 10)
                .await
                .unwrap()
        );
        // A burst: not due while commits keep coming...
        let t1 = Instant::now();
        for tick in 1..=3 {
            write().await;
            assert!(
                !checkpointer
                    .due(t1 + Duration::from_millis(50 * tick))
                    .await
                    .unwrap(),
                "commits keep coming at look {tick}"
            );
        }
        // ...until they stop,
        assert!(checkpointer.due(t1).await.unwrap());
        // (The log's header counts the times it started over: bytes 12..16, big-endian.)
        let wal = dir.path().join("t.db-wal");
        let restarts = || {
            let b = std::fs::read(&wal).unwrap();
            u32::from_be_bytes([b[12], b[13], b[14], b[15]])
        };
        let before = restarts();
        let c = checkpointer.run().await.unwrap();
        assert!(c.log > 0 && c.copied == c.log, "{c:?}");
        // A complete checkpoint starts the log over itself, so the writer's next commit
        // appends to it instead of writing and syncing a new header with others waiting.
        assert_eq!(restarts(), before + 1, "started over by the checkpointer");
        write().await;
        assert_eq!(restarts(), before + 1, "the writer appended");
        assert!(!checkpointer.due(Instant::now()).await.unwrap());
        assert!(checkpointer.due(Instant::now()).await.unwrap());
        let c = checkpointer.run().await.unwrap();
        assert_eq!(c.log, 2, "the checkpointer's page and the writer's: {c:?}");
        // or the last checkpoint is old enough, though they do not.
        write().await;
        assert!(!checkpointer.due(Instant::now()).await.unwrap());
        write().await;
        assert!(
            checkpointer
                .due(Instant::now() + CHECKPOINT_AT_LATEST)
                .await
                .unwrap()
        );
        checkpointer.run().await.unwrap();
        checkpointer.close().await.unwrap();
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn the_commit_that_starts_the_log_over_waits_for_the_writers_transaction() {
        // A transaction of the writer that read first must still be able to write: the
        // checkpointer's commit goes through the writing pool, after it, never from a second
        // connection in between (which fails the upgrade with SQLITE_BUSY_SNAPSHOT).
        use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};
        let (_dir, db, mut checkpointer) = table_t().await;
        let txn = db.write.begin().await.unwrap();
        txn.query_one_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT count(*) FROM t",
        ))
        .await
        .unwrap();
        let run = tokio::spawn(async move {
            let c = checkpointer.run().await;
            (c, checkpointer)
        });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        txn.execute_unprepared("INSERT INTO t (v) VALUES ('written after a read')")
            .await
            .expect("the read transaction upgrades to a write");
        txn.commit().await.unwrap();
        let (c, checkpointer) = run.await.unwrap();
        let c = c.unwrap();
        assert!(c.log > 0 && c.copied == c.log, "{c:?}");
        checkpointer.close().await.unwrap();
        db.close().await.unwrap();
    }

    #[test]
    fn a_bound_limit_becomes_a_literal_on_sqlite_only() {
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
        use sea_orm::{DatabaseBackend, Value, Values};
        let q = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("tickets"))
            .and_where(Expr::col(Alias::new("status")).eq("new"))
            .limit(51)
            .to_owned();
        let mut s = DatabaseBackend::Sqlite.build(&q);
        assert!(s.sql.ends_with("LIMIT ?"), "{}", s.sql);
        super::inline_limit(&mut s);
        assert!(s.sql.ends_with(" LIMIT 51"), "{}", s.sql);
        assert_eq!(s.values, Some(Values(vec![Value::from("new")])));
        let mut p = DatabaseBackend::Postgres.build(&q);
        let before = p.clone();
        super::inline_limit(&mut p);
        assert_eq!(p, before);
    }

    #[test]
    fn id_lists_are_padded_to_a_few_lengths_with_the_same_members() {
        let ids: Vec<uuid::Uuid> = (0..5).map(|_| uuid::Uuid::now_v7()).collect();
        let padded = stable_in_list(&ids);
        assert_eq!(padded.len(), 16);
        assert!(padded.iter().all(|p| ids.contains(p)));
        assert!(stable_in_list(&[]).is_empty());
        let many: Vec<uuid::Uuid> = (0..700).map(|_| uuid::Uuid::now_v7()).collect();
        assert_eq!(
            stable_in_list(&many).len(),
            700,
            "beyond the buckets the list stays as it is"
        );
    }
}
