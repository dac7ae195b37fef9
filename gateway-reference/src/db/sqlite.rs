//! SQLite: one connection (the writer), used from blocking tasks. Transactions are
//! `BEGIN IMMEDIATE` and hold the connection until they end.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::{DbError, Row, Value};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(super) struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
}

fn configure(conn: &Connection) -> Result<(), DbError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(128);
    // NORMAL in WAL mode, as the SCIM storage beside it: a commit survives a crash of the
    // process; a power loss may lose the last commits, which the sync then redoes from the
    // change feed (its position is stored with its effects).
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )?;
    Ok(())
}

impl SqliteDb {
    pub(super) async fn open(path: &Path) -> Result<SqliteDb, DbError> {
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, DbError> {
            let conn = Connection::open(&path)?;
            let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(DbError::Schema(format!(
                    "could not switch {} to WAL mode (journal_mode is {mode})",
                    path.display()
                )));
            }
            configure(&conn)?;
            Ok(conn)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))??;
        Ok(SqliteDb {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub(super) fn open_in_memory() -> Result<SqliteDb, DbError> {
        let conn = Connection::open_in_memory()?;
        configure(&conn)?;
        Ok(SqliteDb {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let mut guard = self.conn.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || f(&mut guard))
            .await
            .map_err(|e| DbError::Task(e.to_string()))?
    }

    pub(super) async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let (sql, params) = (sql.to_string(), params.to_vec());
        self.with(move |c| execute(c, &sql, &params)).await
    }

    pub(super) async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let (sql, params) = (sql.to_string(), params.to_vec());
        self.with(move |c| query(c, &sql, &params)).await
    }

    pub(super) async fn batch(&self, sql: &str) -> Result<(), DbError> {
        let sql = sql.to_string();
        self.with(move |c| Ok(c.execute_batch(&sql)?)).await
    }

    pub(super) async fn begin(&self) -> Result<SqliteTx, DbError> {
        let guard = self.conn.clone().lock_owned().await;
        let mut tx = SqliteTx {
            guard: Some(guard),
            open: false,
        };
        tx.run(|c| Ok(c.execute_batch("BEGIN IMMEDIATE")?)).await?;
        tx.open = true;
        Ok(tx)
    }
}

/// A transaction holding the connection; rolled back on drop unless committed.
pub(super) struct SqliteTx {
    guard: Option<OwnedMutexGuard<Connection>>,
    open: bool,
}

impl SqliteTx {
    async fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let mut guard = self
            .guard
            .take()
            .ok_or_else(|| DbError::Task("the transaction's connection was lost".into()))?;
        let (guard, out) = tokio::task::spawn_blocking(move || {
            let out = f(&mut guard);
            (guard, out)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?;
        self.guard = Some(guard);
        out
    }

    pub(super) async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let (sql, params) = (sql.to_string(), params.to_vec());
        self.run(move |c| execute(c, &sql, &params)).await
    }

    pub(super) async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let (sql, params) = (sql.to_string(), params.to_vec());
        self.run(move |c| query(c, &sql, &params)).await
    }

    pub(super) async fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        let sql = sql.to_string();
        self.run(move |c| Ok(c.execute_batch(&sql)?)).await
    }

    pub(super) async fn commit(mut self) -> Result<(), DbError> {
        self.run(|c| Ok(c.execute_batch("COMMIT")?)).await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open
            && let Some(guard) = self.guard.as_mut()
            && let Err(e) = guard.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "gateway db: rollback failed");
        }
    }
}

fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> Result<(), DbError> {
    for (i, value) in params.iter().enumerate() {
        let name = format!("${}", i + 1);
        let Some(index) = stmt.parameter_index(&name)? else {
            continue;
        };
        match value {
            Value::Null => stmt.raw_bind_parameter(index, rusqlite::types::Null)?,
            Value::Int(v) => stmt.raw_bind_parameter(index, v)?,
            Value::Text(v) => stmt.raw_bind_parameter(index, v.as_str())?,
        }
    }
    Ok(())
}

fn execute(conn: &mut Connection, sql: &str, params: &[Value]) -> Result<u64, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, params)?;
    let n = stmt.raw_execute()?;
    Ok(n as u64)
}

fn query(conn: &mut Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, params)?;
    let columns = stmt.column_count();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(columns);
        for i in 0..columns {
            cells.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Real(v) => {
                    return Err(DbError::Decode(format!(
                        "column {i}: a floating point value ({v}) where the gateway stores none"
                    )));
                }
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    Value::Text(String::from_utf8_lossy(t).into_owned())
                }
            });
        }
        out.push(Row(cells));
    }
    Ok(out)
}
