//! Reads without the pool's round trip when a connection is given back.
//!
//! sqlx's pool tests every connection it is given back with a ping, whatever its options say
//! (sqlx-core 0.9, `Floating::return_to_pool`), from a task it spawns for that. On SQLite a
//! ping is a command to the connection's thread and its answer: as many thread wake-ups as
//! the query itself. A chat turn makes two or three single-row reads, and a burst of webhooks
//! starts hundreds of turns at once. On SQLite a [`Reader`] keeps a few connections of the
//! read pool for itself (taken out of the pool, so with its options and statement cache), lends
//! one to each statement and takes it back as it is. A connection whose statement failed
//! other than in SQL, or was cancelled midway, is closed rather than lent again, and
//! replaced from the pool when next needed. On PostgreSQL a `Reader` is the read pool.
//!
//! For reads only: statements that write go to the read pool as they would without it.

use std::sync::Mutex;

use sea_orm::sqlx::{self, SqliteConnection};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Connections a [`Reader`] keeps on SQLite unless told otherwise: statements are short, and
/// each connection is a thread of its own.
pub const HELD: usize = 8;

/// Reads for a hot path (the chat's turns); see the module's documentation.
pub struct Reader {
    pool: DatabaseConnection,
    held: Option<Held>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field(
                "held",
                &self.held.as_ref().map(|h| h.gate.available_permits()),
            )
            .finish_non_exhaustive()
    }
}

struct Held {
    idle: Mutex<Vec<SqliteConnection>>,
    /// A permit for each connection the reader may hold.
    gate: Semaphore,
}

/// A connection lent to one statement: given back with [`Lent::back`], closed if dropped
/// before.
struct Lent<'a> {
    held: &'a Held,
    conn: Option<SqliteConnection>,
    _permit: SemaphorePermit<'a>,
}

impl Lent<'_> {
    fn conn(&mut self) -> &mut SqliteConnection {
        // Taken out only by `back`, which consumes the loan.
        #[allow(clippy::expect_used)]
        self.conn
            .as_mut()
            .expect("a lent connection until given back")
    }

    /// Gives the connection back unless `error` says it may be broken (anything but an error
    /// of the statement itself).
    fn back(mut self, error: Option<&sqlx::Error>) {
        let usable = match error {
            None => true,
            Some(e) => matches!(
                e,
                sqlx::Error::Database(_)
                    | sqlx::Error::RowNotFound
                    | sqlx::Error::ColumnDecode { .. }
                    | sqlx::Error::ColumnNotFound(_)
                    | sqlx::Error::ColumnIndexOutOfBounds { .. }
                    | sqlx::Error::Decode(_)
                    | sqlx::Error::Encode(_)
                    | sqlx::Error::TypeNotFound { .. }
            ),
        };
        if let Some(conn) = self.conn.take().filter(|_| usable) {
            self.held
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(conn);
        }
    }
}

impl Reader {
    /// A reader over `pool` (the read pool) keeping up to `connections` of it on SQLite.
    pub fn new(pool: DatabaseConnection, connections: usize) -> Self {
        let held = (pool.get_database_backend() == DatabaseBackend::Sqlite).then(|| Held {
            idle: Mutex::new(Vec::with_capacity(connections)),
            gate: Semaphore::new(connections.max(1)),
        });
        Self { pool, held }
    }

    /// Connections held and idle now (SQLite; 0 on PostgreSQL).
    pub fn idle(&self) -> usize {
        self.held.as_ref().map_or(0, |h| {
            h.idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .len()
        })
    }

    async fn lend<'a>(&'a self, held: &'a Held) -> Result<Lent<'a>, DbErr> {
        let permit = held
            .gate
            .acquire()
            .await
            .map_err(|e| DbErr::Custom(format!("reader: {e}")))?;
        let idle = held
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self
                .pool
                .get_sqlite_connection_pool()
                .acquire()
                .await
                .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?
                .detach(),
        };
        Ok(Lent {
            held,
            conn: Some(conn),
            _permit: permit,
        })
    }
}

/// A statement's error as SeaORM gives it.
fn query_error(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

/// The statement as sqlx runs it, its values bound as SeaORM binds them.
fn query(stmt: &Statement) -> sqlx::query::Query<'_, sqlx::Sqlite, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

#[sea_orm::entity::prelude::async_trait::async_trait]
impl ConnectionTrait for Reader {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.pool.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.pool.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let Some(held) = &self.held else {
            return self.pool.query_one_raw(stmt).await;
        };
        let mut lent = self.lend(held).await?;
        let row = query(&stmt).fetch_optional(lent.conn()).await;
        lent.back(row.as_ref().err());
        Ok(row.map_err(query_error)?.map(Into::into))
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let Some(held) = &self.held else {
            return self.pool.query_all_raw(stmt).await;
        };
        let mut lent = self.lend(held).await?;
        let rows = query(&stmt).fetch_all(lent.conn()).await;
        lent.back(rows.as_ref().err());
        Ok(rows
            .map_err(query_error)?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
