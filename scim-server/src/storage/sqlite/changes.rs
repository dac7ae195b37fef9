//! The SQLite backend's change feed (tables `change_heads` and `changes`, see `schema.rs`).
//!
//! SQLite has one writer at a time (every write is a `BEGIN IMMEDIATE` transaction), so the
//! per-tenant counter in `change_heads`, moved inside the write's transaction (counted in
//! memory and written once per transaction of the writer, see `counters.rs`), hands out
//! `seq` in commit order: a reader that sees change `n` sees every earlier one.

use rusqlite::{Connection, OptionalExtension, params};

use super::backend_err;
use super::group_commit::WriteTx;
use super::pool::read_tx;
use super::readers::SnapshotValues;
use crate::storage::changes::NewChange;
use crate::storage::sql::{Ctx, Head, clamp, to_version};
use crate::storage::{ChangeKind, ChangeRecord, StorageError, last_modified_now};
use crate::tenancy::TenantId;

/// Appends the changes of one write, in the write's transaction, numbered from the tenant's
/// head in that transaction (see `Counters`).
pub(super) fn append(
    tx: &WriteTx<'_>,
    tenant: &str,
    changes: &[NewChange],
) -> Result<(), StorageError> {
    if changes.is_empty() {
        return Ok(());
    }
    let first = tx
        .counters()
        .take_seqs(tx, tenant, clamp(changes.len() as u64))?;
    let at = last_modified_now();
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO changes (tenant, seq, rtype, id, kind, version, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(backend_err)?;
    for (i, c) in changes.iter().enumerate() {
        insert
            .execute(params![
                tenant,
                first + clamp(i as u64),
                c.resource_type,
                c.id,
                c.kind.as_str(),
                clamp(c.version),
                at
            ])
            .map_err(backend_err)?;
    }
    Ok(())
}

/// The changes after `since` (one read transaction: the pruning mark and the rows agree).
pub(super) fn since(
    conn: &Connection,
    tenant: &TenantId,
    since: u64,
    limit: usize,
) -> Result<Vec<ChangeRecord>, StorageError> {
    let rows = read_tx(conn, |tx| {
        let pruned = pruned_through(tx, tenant.as_str())?;
        if since < pruned {
            return Err(StorageError::changes_pruned(since, pruned));
        }
        let mut stmt = tx
            .prepare_cached(
                "SELECT seq, rtype, id, kind, version, at FROM changes \
                 WHERE tenant = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(backend_err)?;
        stmt.query_map(
            params![tenant.as_str(), clamp(since), clamp(limit as u64)],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )
        .map_err(backend_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend_err)
    })?;
    rows.into_iter()
        .map(|(seq, rtype, id, kind, version, at)| {
            Ok(ChangeRecord {
                seq: to_version(seq),
                tenant: tenant.clone(),
                resource_type: rtype,
                id,
                kind: ChangeKind::parse(&kind).ok_or_else(|| {
                    StorageError::backend(format!("sqlite: unknown change kind {kind:?}"))
                })?,
                version: to_version(version),
                at,
            })
        })
        .collect()
}

fn pruned_through(conn: &Connection, tenant: &str) -> Result<u64, StorageError> {
    let v: Option<i64> = conn
        .prepare_cached("SELECT pruned_through FROM change_heads WHERE tenant = ?1")
        .and_then(|mut s| s.query_row([tenant], |r| r.get(0)).optional())
        .map_err(backend_err)?;
    Ok(v.map_or(0, to_version))
}

/// The `seq` of the tenant's latest change (0 when none).
pub(super) fn last(conn: &Connection, tenant: &str) -> Result<u64, StorageError> {
    let v: Option<i64> = conn
        .prepare_cached("SELECT last_seq FROM change_heads WHERE tenant = ?1")
        .and_then(|mut s| s.query_row([tenant], |r| r.get(0)).optional())
        .map_err(backend_err)?;
    Ok(v.map_or(0, to_version))
}

/// [`SnapshotValues`] kinds: a tenant's `change_heads.last_seq` (key: the tenant, ""), its
/// `pruned_through` (the same key), and whether a resource type's recorded index layout is
/// the given one (key: the type, the layout; 1 or 0).
const CHANGE_HEAD: &str = "change head";
const CHANGES_PRUNED: &str = "changes pruned";
const LAYOUT_CURRENT: &str = "layout current";

/// [`last`] in the snapshot of `conn`, kept in `values` for the rest of the snapshot.
pub(super) fn last_in(
    conn: &Connection,
    values: &mut SnapshotValues,
    tenant: &str,
) -> Result<i64, StorageError> {
    values.get_or_read(CHANGE_HEAD, (tenant, ""), || last(conn, tenant).map(clamp))
}

/// The [`Head`] in the snapshot of `tx`: kept in `values` by an earlier read of the same
/// snapshot, or read in one statement (and kept).
pub(super) fn head_in(
    tx: &Connection,
    values: &mut SnapshotValues,
    ctx: &Ctx,
) -> Result<Head, StorageError> {
    let tenant = (ctx.tenant.as_str(), "");
    let layout = (ctx.rtype.as_str(), &*ctx.layout);
    if let (Some(last), Some(pruned), Some(current)) = (
        values.get(CHANGE_HEAD, tenant),
        values.get(CHANGES_PRUNED, tenant),
        values.get(LAYOUT_CURRENT, layout),
    ) {
        return Ok(Head {
            last,
            pruned,
            layout_current: current != 0,
        });
    }
    let head = read_head(tx, ctx)?;
    values.keep(CHANGE_HEAD, tenant, head.last);
    values.keep(CHANGES_PRUNED, tenant, head.pruned);
    values.keep(LAYOUT_CURRENT, layout, i64::from(head.layout_current));
    Ok(head)
}

fn read_head(tx: &Connection, ctx: &Ctx) -> Result<Head, StorageError> {
    tx.prepare_cached(
        "SELECT coalesce((SELECT last_seq FROM change_heads WHERE tenant = ?1), 0), \
             coalesce((SELECT pruned_through FROM change_heads WHERE tenant = ?1), 0), \
             coalesce((SELECT layout = ?3 FROM index_layouts WHERE rtype = ?2), 0)",
    )
    .and_then(|mut s| {
        s.query_row(params![ctx.tenant, ctx.rtype, &*ctx.layout], |r| {
            Ok(Head {
                last: r.get(0)?,
                pruned: r.get(1)?,
                layout_current: r.get(2)?,
            })
        })
    })
    .map_err(backend_err)
}

/// Removes the changes up to `through` (clamped to the latest) and records the mark.
pub(super) fn prune(tx: &WriteTx<'_>, tenant: &str, through: u64) -> Result<u64, StorageError> {
    let through = clamp(through.min(tx.counters().last_seq(tx, tenant)?));
    if through == 0 {
        return Ok(0);
    }
    let n = tx
        .prepare_cached("DELETE FROM changes WHERE tenant = ?1 AND seq <= ?2")
        .and_then(|mut s| s.execute(params![tenant, through]))
        .map_err(backend_err)?;
    // The tenant's head may have no row yet: numbers handed out in this transaction reach
    // `change_heads` with its commit (`Counters::flush`, which leaves the mark as it is).
    tx.prepare_cached(
        "INSERT INTO change_heads (tenant, last_seq, pruned_through) VALUES (?1, 0, ?2) \
         ON CONFLICT (tenant) DO UPDATE SET pruned_through = max(pruned_through, ?2)",
    )
    .and_then(|mut s| s.execute(params![tenant, through]))
    .map_err(backend_err)?;
    Ok(n as u64)
}
