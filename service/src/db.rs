//! Database connections: one pool for reads and one for writes.
//!
//! SQLite allows one writer at a time; with several pooled connections a deferred transaction
//! that upgrades to a write can fail with `SQLITE_BUSY` at once instead of waiting. Giving
//! writes a single-connection pool of their own serialises them in the application, where
//! waiting is cheap, while reads run concurrently under WAL. PostgreSQL shares one pool.

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DbErr};
use std::time::Duration;

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
            let read = Database::connect(sqlite_options(url, max_connections.max(2))).await?;
            let write = Database::connect(sqlite_options(url, 1)).await?;
            Ok(Self { read, write })
        } else {
            let mut opts = ConnectOptions::new(url);
            opts.max_connections(max_connections.max(2))
                .min_connections(1)
                .connect_timeout(Duration::from_secs(5))
                .acquire_timeout(Duration::from_secs(10))
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
        txn.commit().await
    }

    /// Closes both pools.
    pub async fn close(self) -> Result<(), DbErr> {
        self.read.close().await?;
        self.write.close().await
    }
}

fn sqlite_options(url: &str, max: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                // Room for a whole page (up to 100 rows and the one more that says whether
                // another page follows): with sqlx's default of 50, the worker thread
                // blocks on a full channel until the page's reader drains it.
                .row_buffer_size(256)
                .foreign_keys(true)
                .pragma("cache_size", "-16000")
                .pragma("temp_store", "memory")
        });
    opts
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
