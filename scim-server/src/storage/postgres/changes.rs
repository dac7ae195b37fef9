//! The PostgreSQL backend's change feed (tables `change_heads` and `changes`, see
//! `schema.rs`).
//!
//! # Why a counter row and not a SEQUENCE
//! `nextval` hands out numbers in the order transactions ask, not the order they commit:
//! writer A takes 5, writer B takes 6 and commits first; a consumer reading "changes after
//! 4" then sees 6, records 6 as its position, and never sees 5 when A commits. So each
//! write takes its `seq` from its tenant's row in `change_heads` with an
//! `INSERT .. ON CONFLICT DO UPDATE SET last_seq = last_seq + n`, as the LAST statement
//! before `COMMIT`. That row lock is held until the transaction ends, so the tenant's next
//! writer blocks on it and, once the first has committed, reads the committed counter
//! (READ COMMITTED re-reads the updated row). PostgreSQL releases a transaction's locks
//! only after its commit is visible to new snapshots, so by the time change `n + 1` exists
//! at all, change `n` is visible to every snapshot that can see `n + 1`: a reader never
//! skips one. A writer that rolls back releases the row without consuming a number.
//!
//! The cost: writes of ONE tenant serialise for the moment between taking the number and
//! committing (one upsert, the inserts of the change rows, the commit). Everything before
//! (the resource rows, unique values, index rows) runs concurrently, and different tenants
//! never wait for each other. The lock is the last one a write takes, so it cannot be part
//! of a deadlock cycle.

use deadpool_postgres::{GenericClient, Transaction};

use super::{Param, get, pg_err, read_snapshot};
use crate::storage::changes::NewChange;
use crate::storage::sql::{Ctx, Head, clamp, to_version};
use crate::storage::{ChangeKind, ChangeRecord, StorageError, last_modified_now};
use crate::tenancy::TenantId;

/// Takes the numbers of `n` changes from the tenant's counter and appends them (`$1`
/// tenant, `$2` n, then the columns of [`ChangeRows`]): one statement, one round trip. The
/// counter upsert's row lock is held to the commit; the change rows are numbered from it,
/// `last_seq - n + 1` to `last_seq`, in order.
pub(super) const APPEND: &str = "WITH head AS (\
       INSERT INTO change_heads (tenant, last_seq) VALUES ($1, $2) \
       ON CONFLICT (tenant) DO UPDATE SET last_seq = change_heads.last_seq + $2 \
       RETURNING last_seq) \
     INSERT INTO changes (tenant, seq, rtype, id, kind, version, at) \
     SELECT $1, head.last_seq - $2 + x.o, x.r, x.i, x.k, x.v, $7 \
     FROM head, unnest($3::text[], $4::text[], $5::text[], $6::int8[]) \
     WITH ORDINALITY AS x (r, i, k, v, o)";

/// The columns of the changes of one write, as [`APPEND`] takes them.
pub(super) struct ChangeRows<'a> {
    tenant: &'a str,
    n: i64,
    rtypes: Vec<&'a str>,
    ids: Vec<&'a str>,
    kinds: Vec<&'a str>,
    versions: Vec<i64>,
    at: String,
}

impl<'a> ChangeRows<'a> {
    /// The columns of the changes of `tenant`, made at the current time.
    pub(super) fn new(tenant: &'a str, changes: &'a [NewChange]) -> Self {
        ChangeRows {
            tenant,
            n: clamp(changes.len() as u64),
            rtypes: changes.iter().map(|c| c.resource_type.as_str()).collect(),
            ids: changes.iter().map(|c| c.id.as_str()).collect(),
            kinds: changes.iter().map(|c| c.kind.as_str()).collect(),
            versions: changes.iter().map(|c| clamp(c.version)).collect(),
            at: last_modified_now(),
        }
    }

    /// The parameters of [`APPEND`].
    pub(super) fn params(&self) -> [Param<'_>; 7] {
        [
            &self.tenant,
            &self.n,
            &self.rtypes,
            &self.ids,
            &self.kinds,
            &self.versions,
            &self.at,
        ]
    }
}

/// Appends the changes of one write. Call it last in the write's transaction, right before
/// the commit (see the module docs).
pub(super) async fn append(
    tx: &Transaction<'_>,
    tenant: &str,
    changes: &[NewChange],
) -> Result<(), StorageError> {
    if changes.is_empty() {
        return Ok(());
    }
    let rows = ChangeRows::new(tenant, changes);
    let stmt = tx.prepare_cached(APPEND).await.map_err(pg_err)?;
    tx.execute(&stmt, &rows.params()).await.map_err(pg_err)?;
    Ok(())
}

/// The changes after `since`, read on one snapshot (the pruning mark and the rows agree).
pub(super) async fn since(
    client: &mut deadpool_postgres::Client,
    tenant: &TenantId,
    since: u64,
    limit: usize,
) -> Result<Vec<ChangeRecord>, StorageError> {
    let tx = read_snapshot(client).await?;
    let pruned = head(&tx, tenant.as_str()).await?.1;
    if since < pruned {
        return Err(StorageError::changes_pruned(since, pruned));
    }
    let stmt = tx
        .prepare_cached(
            "SELECT seq, rtype, id, kind, version, at FROM changes \
             WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .await
        .map_err(pg_err)?;
    let rows = tx
        .query(
            &stmt,
            &[&tenant.as_str(), &clamp(since), &clamp(limit as u64)],
        )
        .await
        .map_err(pg_err)?;
    tx.commit().await.map_err(pg_err)?;
    rows.iter()
        .map(|row| {
            let kind: String = get(row, 3)?;
            Ok(ChangeRecord {
                seq: to_version(get(row, 0)?),
                tenant: tenant.clone(),
                resource_type: get(row, 1)?,
                id: get(row, 2)?,
                kind: ChangeKind::parse(&kind).ok_or_else(|| {
                    StorageError::backend(format!("postgres: unknown change kind {kind:?}"))
                })?,
                version: to_version(get(row, 4)?),
                at: get(row, 5)?,
            })
        })
        .collect()
}

/// `(last_seq, pruned_through)` of a tenant (`(0, 0)` before its first change).
pub(super) async fn head<C: GenericClient + Sync>(
    client: &C,
    tenant: &str,
) -> Result<(u64, u64), StorageError> {
    let stmt = client
        .prepare_cached("SELECT last_seq, pruned_through FROM change_heads WHERE tenant = $1")
        .await
        .map_err(pg_err)?;
    let row = client.query_opt(&stmt, &[&tenant]).await.map_err(pg_err)?;
    Ok(match row {
        Some(r) => (to_version(get(&r, 0)?), to_version(get(&r, 1)?)),
        None => (0, 0),
    })
}

/// The [`Head`] in the snapshot of `tx`, in one statement (the first of a REPEATABLE READ
/// transaction takes its snapshot), for a query that reads substring candidates.
///
/// The same statement has PostgreSQL plan the statements after it in `tx` once per
/// connection (the generic plan) instead of for each execution's parameters
/// (`plan_cache_mode`, PostgreSQL 12 and later; older servers keep their choice). Such a
/// query passes its candidates as arrays; PostgreSQL plans a prepared statement for its
/// parameters on its first five executions and goes on doing so while those plans look
/// cheaper than the generic one. Among many rows they do (the generic plan cannot know
/// that the arrays hold a few candidates), and planning the page's statement then costs
/// several times running it; the generic plan is what a few candidates want anyway, each
/// looked up by its index entries. When the indexes cannot serve the query, its plain
/// translation runs in the same transaction, so it too is planned generically.
pub(super) async fn head_planning_generically(
    tx: &Transaction<'_>,
    ctx: &Ctx,
) -> Result<Head, StorageError> {
    let stmt = tx
        .prepare_cached(
            "SELECT coalesce((SELECT last_seq FROM change_heads WHERE tenant = $1), 0), \
                 coalesce((SELECT pruned_through FROM change_heads WHERE tenant = $1), 0), \
                 coalesce((SELECT layout = $3 FROM index_layouts WHERE rtype = $2), false), \
                 CASE WHEN current_setting('server_version_num')::int >= 120000 \
                     THEN set_config('plan_cache_mode', 'force_generic_plan', true) END",
        )
        .await
        .map_err(pg_err)?;
    let layout: &str = &ctx.layout;
    let row = tx
        .query_one(&stmt, &[&ctx.tenant, &ctx.rtype, &layout])
        .await
        .map_err(pg_err)?;
    Ok(Head {
        last: get(&row, 0)?,
        pruned: get(&row, 1)?,
        layout_current: get(&row, 2)?,
    })
}

/// Removes the changes up to `through` (clamped to the latest) and records the mark.
pub(super) async fn prune(
    tx: &Transaction<'_>,
    tenant: &str,
    through: u64,
) -> Result<u64, StorageError> {
    let through = clamp(through.min(head(tx, tenant).await?.0));
    if through == 0 {
        return Ok(0);
    }
    let mark = tx
        .prepare_cached(
            "UPDATE change_heads SET pruned_through = greatest(pruned_through, $2) \
             WHERE tenant = $1",
        )
        .await
        .map_err(pg_err)?;
    tx.execute(&mark, &[&tenant, &through])
        .await
        .map_err(pg_err)?;
    let delete = tx
        .prepare_cached("DELETE FROM changes WHERE tenant = $1 AND seq <= $2")
        .await
        .map_err(pg_err)?;
    tx.execute(&delete, &[&tenant, &through])
        .await
        .map_err(pg_err)
}
