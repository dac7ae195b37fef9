//! The statement that writes a batch of creates: their resources, unique values, index
//! rows and members, with one statement and one round trip.
//!
//! The resources are inserted first, in the batch's order, and the rows that belong to them
//! take their `seq` from the `RETURNING` of that insert, matched by id, in the same
//! statement (data-modifying `WITH` queries, see PostgreSQL's documentation, "WITH Queries
//! (Common Table Expressions)", §7.8.4). A unique violation anywhere fails the whole
//! statement; its caller then writes the creates one by one to tell which one conflicts.

use std::collections::BTreeSet;

use deadpool_postgres::GenericClient;
use tokio_postgres::Statement;

use super::rows::record_keys;
use super::{Param, pg_err, unique_violation};
use crate::storage::StorageError;
use crate::storage::sql::Ctx;
use crate::storage::sql::path_key;
use crate::storage::sql::prepared::PreparedCreate;

/// Inserts a batch (`$1` tenant, `$2` type; then the columns of [`BatchRows`]) and returns
/// how many resources it inserted.
const INSERT_BATCH: &str = "\
WITH r AS (\
    INSERT INTO resources (tenant, rtype, id, version, data) \
    SELECT $1, $2, i, 1, d::json FROM unnest($3::text[], $4::text[]) \
    WITH ORDINALITY AS x (i, d, o) ORDER BY o RETURNING id, seq), \
u AS (\
    INSERT INTO unique_values (tenant, rtype, attribute, value, seq) \
    SELECT $1, $2, x.a, x.v, r.seq \
    FROM unnest($5::text[], $6::bytea[], $7::text[]) AS x (a, v, i) JOIN r ON r.id = x.i), \
a AS (\
    INSERT INTO attr_index (tenant, rtype, path_key, value_norm, value_num, skey, seq, elem) \
    SELECT $1, $2, x.p, x.v, x.n, x.k, r.seq, x.e \
    FROM unnest($8::int8[], $9::bytea[], $10::float8[], $11::bytea[], $12::text[], \
                $13::int4[]) AS x (p, v, n, k, i, e) JOIN r ON r.id = x.i), \
m AS (\
    INSERT INTO members (group_seq, tenant, member_id, kind, display) \
    SELECT r.seq, $1, x.m, x.k, x.d \
    FROM unnest($14::text[], $15::text[], $16::text[], $17::text[]) \
    WITH ORDINALITY AS x (g, m, k, d, o) JOIN r ON r.id = x.g ORDER BY x.o) \
SELECT count(*) FROM r";

/// Why a batch insert failed.
pub(super) enum BatchError {
    /// A unique constraint (id or unique value): replay the batch row by row to name it.
    Conflict,
    /// Anything else.
    Other(StorageError),
}

impl From<tokio_postgres::Error> for BatchError {
    fn from(e: tokio_postgres::Error) -> Self {
        if unique_violation(&e).is_some() {
            BatchError::Conflict
        } else {
            BatchError::Other(pg_err(e))
        }
    }
}

impl From<StorageError> for BatchError {
    fn from(e: StorageError) -> Self {
        BatchError::Other(e)
    }
}

/// The columns of a batch of creates, as [`INSERT_BATCH`] takes them: every row names its
/// resource by id.
pub(super) struct BatchRows<'a> {
    ids: Vec<&'a str>,
    data: Vec<&'a str>,
    unique_attr: Vec<&'a str>,
    unique_value: Vec<&'a [u8]>,
    unique_id: Vec<&'a str>,
    path_key: Vec<i64>,
    value: Vec<Option<&'a [u8]>>,
    num: Vec<Option<f64>>,
    skey: Vec<Option<&'a [u8]>>,
    row_id: Vec<&'a str>,
    elem: Vec<i32>,
    member_group: Vec<&'a str>,
    member_id: Vec<&'a str>,
    member_kind: Vec<Option<&'a str>>,
    member_display: Vec<Option<&'a str>>,
}

impl<'a> BatchRows<'a> {
    /// The columns of `batch`.
    pub(super) fn new(batch: &'a [PreparedCreate]) -> Self {
        let rows: usize = batch.iter().map(|n| n.prepared.rows.len()).sum();
        let mut cols = BatchRows {
            ids: Vec::with_capacity(batch.len()),
            data: Vec::with_capacity(batch.len()),
            unique_attr: Vec::new(),
            unique_value: Vec::new(),
            unique_id: Vec::new(),
            path_key: Vec::with_capacity(rows),
            value: Vec::with_capacity(rows),
            num: Vec::with_capacity(rows),
            skey: Vec::with_capacity(rows),
            row_id: Vec::with_capacity(rows),
            elem: Vec::with_capacity(rows),
            member_group: Vec::new(),
            member_id: Vec::new(),
            member_kind: Vec::new(),
            member_display: Vec::new(),
        };
        for new in batch {
            let id = new.id.as_str();
            cols.ids.push(id);
            cols.data.push(&new.prepared.json);
            // Each claim once, in a fixed order, as a create written alone claims them.
            for k in new.unique.iter().collect::<BTreeSet<_>>() {
                cols.unique_attr.push(&k.attribute);
                cols.unique_value.push(k.value.as_bytes());
                cols.unique_id.push(id);
            }
            for (row, key) in new.prepared.rows.iter().zip(&new.prepared.keys) {
                cols.path_key.push(*key);
                cols.value.push(row.norm.as_deref().map(str::as_bytes));
                cols.num.push(row.num.map(|n| n.0));
                cols.skey.push(row.skey.as_deref());
                cols.row_id.push(id);
                cols.elem.push(i32::try_from(row.elem).unwrap_or(i32::MAX));
            }
            for m in &new.members {
                cols.member_group.push(id);
                cols.member_id.push(&m.value);
                cols.member_kind.push(m.kind.as_deref());
                cols.member_display.push(m.display.as_deref());
            }
        }
        cols
    }

    /// How many resources the batch creates.
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The parameters of [`INSERT_BATCH`] for `ctx`.
    pub(super) fn params<'p>(&'p self, ctx: &'p Ctx) -> [Param<'p>; 17] {
        [
            &ctx.tenant,
            &ctx.rtype,
            &self.ids,
            &self.data,
            &self.unique_attr,
            &self.unique_value,
            &self.unique_id,
            &self.path_key,
            &self.value,
            &self.num,
            &self.skey,
            &self.row_id,
            &self.elem,
            &self.member_group,
            &self.member_id,
            &self.member_kind,
            &self.member_display,
        ]
    }

    /// Checks the count [`INSERT_BATCH`] returned.
    pub(super) fn check(&self, row: &tokio_postgres::Row) -> Result<(), StorageError> {
        let inserted: i64 = row.try_get(0).map_err(pg_err)?;
        if usize::try_from(inserted).ok() == Some(self.len()) {
            Ok(())
        } else {
            Err(StorageError::backend(
                "postgres: a batch insert returned an unexpected row count",
            ))
        }
    }
}

/// The path key and the path of every index row of `batch`.
pub(super) fn keyed(batch: &[PreparedCreate]) -> impl Iterator<Item = (i64, &str)> {
    batch
        .iter()
        .flat_map(|n| path_key::keyed(&n.prepared.rows, &n.prepared.keys))
}

/// The prepared [`INSERT_BATCH`] of `client`'s connection.
pub(super) async fn statement<C: GenericClient + Sync>(
    client: &C,
) -> Result<Statement, StorageError> {
    client.prepare_cached(INSERT_BATCH).await.map_err(pg_err)
}

/// Inserts `batch` in `client`'s transaction.
pub(super) async fn insert_batch<C: GenericClient + Sync>(
    client: &C,
    ctx: &Ctx,
    batch: &[PreparedCreate],
) -> Result<(), BatchError> {
    let unchecked = ctx.guard.unchecked(keyed(batch));
    record_keys(client, ctx.keys(), &ctx.guard, unchecked).await?;
    let stmt = statement(client).await?;
    let rows = BatchRows::new(batch);
    let row = client.query_one(&stmt, &rows.params(ctx)).await?;
    Ok(rows.check(&row)?)
}
