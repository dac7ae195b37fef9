//! PostgreSQL: a deadpool of tokio-postgres connections (shared with the SCIM storage);
//! statements are prepared once per connection.

use bytes::BytesMut;
use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::{DbError, Row, Value};

#[derive(Debug)]
pub(super) struct PgDb {
    pool: Pool,
}

fn pg_err(e: tokio_postgres::Error) -> DbError {
    let (message, code) = match e.as_db_error() {
        Some(db) => (
            format!(
                "{} ({}){}",
                db.message(),
                db.code().code(),
                db.detail().map(|d| format!(": {d}")).unwrap_or_default()
            ),
            Some(db.code().code().to_string()),
        ),
        None => (e.to_string(), None),
    };
    DbError::Postgres {
        message,
        code,
        source: Some(e),
    }
}

impl PgDb {
    pub(super) fn new(pool: Pool) -> PgDb {
        PgDb { pool }
    }

    async fn client(&self) -> Result<Object, DbError> {
        self.pool
            .get()
            .await
            .map_err(|e| DbError::Connect(e.to_string()))
    }

    pub(super) async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        execute(&self.client().await?, sql, params).await
    }

    pub(super) async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        query(&self.client().await?, sql, params).await
    }

    pub(super) async fn batch(&self, sql: &str) -> Result<(), DbError> {
        self.client()
            .await?
            .batch_execute(sql)
            .await
            .map_err(pg_err)
    }

    pub(super) async fn begin(&self) -> Result<PgTx, DbError> {
        let client = self.client().await?;
        client.batch_execute("BEGIN").await.map_err(pg_err)?;
        Ok(PgTx {
            client: Some(client),
        })
    }
}

/// A transaction on one pooled connection. Dropped without a commit, the connection is
/// taken out of the pool and closed, which makes the server roll the transaction back.
pub(super) struct PgTx {
    client: Option<Object>,
}

impl PgTx {
    fn client(&self) -> Result<&Object, DbError> {
        self.client
            .as_ref()
            .ok_or_else(|| DbError::Task("the transaction has ended".into()))
    }

    pub(super) async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        execute(self.client()?, sql, params).await
    }

    pub(super) async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        query(self.client()?, sql, params).await
    }

    pub(super) async fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.client()?.batch_execute(sql).await.map_err(pg_err)
    }

    pub(super) async fn commit(mut self) -> Result<(), DbError> {
        let client = self
            .client
            .take()
            .ok_or_else(|| DbError::Task("the transaction has ended".into()))?;
        match client.batch_execute("COMMIT").await {
            Ok(()) => Ok(()),
            Err(e) => {
                drop(Object::take(client));
                Err(pg_err(e))
            }
        }
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

async fn execute(client: &Object, sql: &str, params: &[Value]) -> Result<u64, DbError> {
    let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
    client.execute(&stmt, &refs(params)).await.map_err(pg_err)
}

async fn query(client: &Object, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
    let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
    let rows = client.query(&stmt, &refs(params)).await.map_err(pg_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = Vec::with_capacity(row.len());
        for i in 0..row.len() {
            let cell: Cell = row.try_get(i).map_err(|e| {
                DbError::Decode(format!("column {i} ({}): {e}", row.columns()[i].type_()))
            })?;
            cells.push(cell.0);
        }
        out.push(Row(cells));
    }
    Ok(out)
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("an integer parameter where the statement wants {ty}").into()),
            },
            Value::Text(v) => v.as_str().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL)
            || <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// A cell read from a row of any of the types the gateway's tables use.
struct Cell(Value);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Cell(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::BOOL => Value::Int(i64::from(bool::from_sql(ty, raw)?)),
            _ => Value::Text(<String as FromSql>::from_sql(ty, raw)?),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Cell(Value::Null))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL)
            || <String as FromSql>::accepts(ty)
    }
}
