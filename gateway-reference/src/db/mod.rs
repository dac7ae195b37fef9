//! The gateway's own database: tenants, tokens, settings, rules, the directory mirror, the
//! sync state, the provisioning log and the embedded CRM, in one SQLite file
//! (`gateway.db`, the embedded default) or in the PostgreSQL database that also holds the
//! SCIM resources.
//!
//! [`Db`] runs the same SQL on both: placeholders are `$1`, `$2`, ... (SQLite binds them by
//! name), values are integers, text or NULL ([`Value`]), booleans are integers, JSON and
//! timestamps (RFC 3339, UTC, fixed width) are text. Only the DDL of [`migrate`] differs.
//!
//! ```
//! use gateway_reference::db::{Db, Value};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = Db::open_sqlite_in_memory().await.unwrap();
//! db.execute(
//!     "INSERT INTO gw_tenants (id, name, created_at) VALUES ($1, $2, $3)",
//!     &["contoso".into(), "Contoso".into(), "2026-12-03T00:00:00.000Z".into()],
//! ).await.unwrap();
//! let row = db
//!     .query_opt("SELECT name FROM gw_tenants WHERE id = $1", &["contoso".into()])
//!     .await
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(row.text(0).unwrap(), "Contoso");
//! # });
//! ```

pub mod migrate;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
mod value;

use std::path::Path;
use std::sync::Arc;

pub use value::{Row, Value};

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (the embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// An error of the gateway's database. The message is for logs and never holds a value
/// that was bound as a parameter.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[cfg(feature = "postgres")]
    #[error("postgres: {message}")]
    Postgres {
        /// The server's message and SQLSTATE, or the client's.
        message: String,
        /// The SQLSTATE, when the server sent one (e.g. `23505` for a unique violation).
        code: Option<String>,
        /// The driver's error.
        #[source]
        source: Option<tokio_postgres::Error>,
    },
    /// No connection could be had from the pool.
    #[error("database connection: {0}")]
    Connect(String),
    /// A cell did not hold what the code expected.
    #[error("database row: {0}")]
    Decode(String),
    /// A migration found the database in a state it cannot handle.
    #[error("database schema: {0}")]
    Schema(String),
    /// A blocking task running a query was lost (it panicked or the runtime shut down).
    #[error("database task: {0}")]
    Task(String),
}

impl DbError {
    /// Did the statement violate a unique or primary key constraint?
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::ConstraintViolation
                    && matches!(
                        e.extended_code,
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    )
            }
            #[cfg(feature = "postgres")]
            DbError::Postgres { code, .. } => code.as_deref() == Some("23505"),
            _ => false,
        }
    }

    /// Is it worth retrying (a lost connection, a busy database, a serialization failure)?
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            #[cfg(feature = "postgres")]
            DbError::Postgres { code, .. } => match code.as_deref() {
                None => true,
                Some(c) => c.starts_with("08") || c == "40001" || c == "40P01" || c == "57P01",
            },
            DbError::Connect(_) => true,
            _ => false,
        }
    }
}

#[derive(Debug)]
enum Backend {
    Sqlite(sqlite::SqliteDb),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgDb),
}

/// The gateway's database; cloning is cheap (a shared handle).
#[derive(Debug, Clone)]
pub struct Db {
    backend: Arc<Backend>,
}

impl Db {
    /// Opens (creating it if needed) the SQLite file at `path` in WAL mode and brings its
    /// schema up to date.
    pub async fn open_sqlite(path: &Path) -> Result<Db, DbError> {
        let db = Db {
            backend: Arc::new(Backend::Sqlite(sqlite::SqliteDb::open(path).await?)),
        };
        migrate::migrate(&db).await?;
        Ok(db)
    }

    /// A private in-memory SQLite database with the current schema (tests, examples).
    pub async fn open_sqlite_in_memory() -> Result<Db, DbError> {
        let db = Db {
            backend: Arc::new(Backend::Sqlite(sqlite::SqliteDb::open_in_memory()?)),
        };
        migrate::migrate(&db).await?;
        Ok(db)
    }

    /// The gateway's tables in the database of `pool` (its connections' `search_path`
    /// decides the schema; see `scim_server::storage::postgres::PostgresStorage::pool`),
    /// brought up to date. Several processes may do this at once.
    #[cfg(feature = "postgres")]
    pub async fn from_postgres_pool(pool: deadpool_postgres::Pool) -> Result<Db, DbError> {
        let db = Db {
            backend: Arc::new(Backend::Postgres(postgres::PgDb::new(pool))),
        };
        migrate::migrate(&db).await?;
        Ok(db)
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        match &*self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs one statement; returns the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.execute(sql, params).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(db) => db.execute(sql, params).await,
        }
    }

    /// Runs a query and returns every row.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.query(sql, params).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(db) => db.query(sql, params).await,
        }
    }

    /// Runs a query and returns its first row, if any.
    pub async fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// Runs several statements without parameters (DDL), outside any transaction.
    pub async fn batch(&self, sql: &str) -> Result<(), DbError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.batch(sql).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(db) => db.batch(sql).await,
        }
    }

    /// Starts a transaction. On SQLite it is `BEGIN IMMEDIATE` (it holds the write lock from
    /// the start); on PostgreSQL `BEGIN` at READ COMMITTED, where `SELECT ... FOR UPDATE`
    /// takes row locks. It commits only through [`Tx::commit`]; dropped, it rolls back.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        let inner = match &*self.backend {
            Backend::Sqlite(db) => TxInner::Sqlite(db.begin().await?),
            #[cfg(feature = "postgres")]
            Backend::Postgres(db) => TxInner::Postgres(db.begin().await?),
        };
        Ok(Tx {
            inner,
            dialect: self.dialect(),
        })
    }
}

// One per open transaction, on the stack of the call that runs it: the size is no concern.
#[allow(clippy::large_enum_variant)]
enum TxInner {
    Sqlite(sqlite::SqliteTx),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgTx),
}

/// An open transaction of a [`Db`]; see [`Db::begin`].
pub struct Tx {
    inner: TxInner,
    dialect: Dialect,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("dialect", &self.dialect)
            .finish()
    }
}

impl Tx {
    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Runs one statement in the transaction; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => tx.execute(sql, params).await,
            #[cfg(feature = "postgres")]
            TxInner::Postgres(tx) => tx.execute(sql, params).await,
        }
    }

    /// Runs a query in the transaction and returns every row.
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => tx.query(sql, params).await,
            #[cfg(feature = "postgres")]
            TxInner::Postgres(tx) => tx.query(sql, params).await,
        }
    }

    /// Runs a query in the transaction and returns its first row, if any.
    pub async fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// Runs several statements without parameters (DDL) in the transaction.
    pub async fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => tx.batch(sql).await,
            #[cfg(feature = "postgres")]
            TxInner::Postgres(tx) => tx.batch(sql).await,
        }
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), DbError> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await,
            #[cfg(feature = "postgres")]
            TxInner::Postgres(tx) => tx.commit().await,
        }
    }
}

/// The current time as the gateway stores it: RFC 3339 in UTC with milliseconds and a `Z`
/// (fixed width, so text order is time order).
pub fn now() -> String {
    stamp(chrono::Utc::now())
}

/// `at` in the stored time form of [`now`].
pub fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests;

/// An in-memory database holding one tenant `t` (unit tests).
#[cfg(test)]
pub(crate) async fn test_tenant() -> (Db, scim_server::TenantId) {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    db.execute(
        "INSERT INTO gw_tenants (id, name, created_at) VALUES ('t', 'T', $1)",
        &[now().into()],
    )
    .await
    .unwrap();
    (db, scim_server::TenantId::new("t").unwrap())
}
