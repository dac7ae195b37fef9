//! Substring (4-gram) indexes for `co` and `ew`: the candidates of a substring filter
//! without reading every `attr_index` row of its path.
//!
//! A B-tree orders values, so `eq`, `sw` and ranges are range scans, but a substring can
//! sit anywhere in a value: on its own, `emails[value co "x"]` reads every email row of
//! the tenant (see `sql::filter`). An index here holds the 4-gram lists
//! ([`Grams`](crate::storage::grams::Grams), which the memory backend shares) of the
//! `value_norm`s of one path (in one tenant and resource type), each value with its
//! resource's `seq`. The SQL keeps the leaf's own condition and tests it on the
//! candidates' rows only (`sql::filter::translate_probing`): the index may hold more
//! candidates than match, never fewer.
//!
//! # Kept in step with the database, across processes
//! The index lives in the process's memory, built on the first `co` / `ew` query of its
//! path and brought up to date at the start of every such query, inside the query's read
//! transaction, from the change feed (`changes`, `change_heads`): every write, by any
//! connection of any process, appends its changes in its own transaction, and a tenant's
//! change `seq`s are handed out in commit order (see `changes.rs`). So the index of a
//! snapshot whose head is `h` reads the changes up to `h` and the current rows of the
//! resources they name, in that snapshot: exactly what it shows.
//!
//! The index only adds (an updated value adds its new 4-grams, a deleted resource leaves
//! its entries, found and dropped by the SQL check). So an index brought up to `h` serves
//! every snapshot from `h` on (reading the changes up to the snapshot's head first), and
//! no older one: catching up reads each changed resource as the snapshot that caught up
//! shows it, so a value that an older snapshot still shows (written after the previous
//! catch-up, overwritten before this one) may never have been added. Such a query (its
//! snapshot taken before another query caught the index up) uses the SQL scan. It is rebuilt, from the
//! snapshot of the query that finds it so, when the entries added since the build outnumber
//! the build's, when it is further behind than the build had values (reading the changes
//! would cost more), when changes it has not read were pruned, and when the process's
//! layout of the resource type changed (a schema change). While the layout recorded in
//! the database is not the query's (another process rewrote the rows, which records no
//! change, see `ensure_layout`), a query whose snapshot is older than the index, a
//! substring of fewer than three bytes, and candidates that are not few (a quarter of the
//! path's values or more, where one pass over the rows costs less than a probe per
//! candidate) use the SQL scan.
//!
//! A query whose indexes are current (within a few changes) and whose candidates are few
//! is cheap enough for a point read, and runs on the calling task like a lookup by a unique
//! value ([`Effort::Light`], `SqliteStorage::inline_point_reads`); any other goes to the
//! blocking pool.
//!
//! # Cost
//! Per value: what [`Grams`] holds, with eight bytes for its resource's `seq`. A query: one
//! statement reading `change_heads` and `index_layouts`, the changes since the last query
//! and the rows of the resources they name, an intersection (or for three bytes a union)
//! of lists, then the SQL: a search of each candidate's rows by the key of `attr_index`.

use std::collections::HashSet;
use std::sync::{Mutex, TryLockError};

use rusqlite::{Connection, params};

use super::backend_err;
use super::changes::head_in;
use super::readers::SnapshotValues;
use crate::storage::StorageError;
use crate::storage::grams::Grams;
use crate::storage::sql::filter::Probe;
use crate::storage::sql::path_grams::{CatchUp, PathGrams, PathIndexes, answerable};
use crate::storage::sql::{Ctx, Head};

/// How much a query may do to get its candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effort {
    /// Whatever it takes: build or rebuild an index, read any number of changes.
    Full,
    /// Only from indexes that are built, current within [`LIGHT_CHANGES`] changes, and give
    /// at most [`LIGHT_CANDIDATES`] candidates per probe: a query the caller may run as a
    /// point read, on its own task.
    Light,
}

/// The changes a [`Effort::Light`] query may read to bring an index up to date.
const LIGHT_CHANGES: i64 = 64;

/// The candidates per probe of a [`Effort::Light`] query.
const LIGHT_CANDIDATES: usize = 64;

/// The substring indexes of a database (see [`PathIndexes`]), each behind a
/// `std::sync::Mutex`: a query reads its rows synchronously.
pub(super) type SubstringIndexes = PathIndexes<Mutex<Option<PathGrams>>>;

impl SubstringIndexes {
    /// The candidates of each probe, the `seq`s bound at its parameter (as an array, see
    /// `filter_sql::Param`), read inside the caller's read transaction; `None` when one
    /// probe cannot be served (the query then runs the plain SQL).
    pub(super) fn candidates(
        &self,
        tx: &Connection,
        values: &mut SnapshotValues,
        ctx: &Ctx,
        probes: &[Probe],
        effort: Effort,
    ) -> Result<Option<Vec<Vec<i64>>>, StorageError> {
        if !answerable(probes) {
            return Ok(None);
        }
        let head = head_in(tx, values, ctx)?;
        let mut out = Vec::with_capacity(probes.len());
        for probe in probes {
            let index = self.path(ctx, &probe.key);
            let poisoned = || StorageError::backend("a substring index lock was poisoned");
            let mut index = match effort {
                Effort::Full => index.lock().map_err(|_| poisoned())?,
                // Never wait on the calling task: another query may be building the index.
                Effort::Light => match index.try_lock() {
                    Ok(index) => index,
                    Err(TryLockError::WouldBlock) => return Ok(None),
                    Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
                },
            };
            if !catch_up(&mut index, tx, ctx, &probe.key, &head, effort)? {
                return Ok(None);
            }
            match index.as_ref().and_then(|built| built.candidates(probe)) {
                Some(seqs) if effort == Effort::Full || seqs.len() <= LIGHT_CANDIDATES => {
                    out.push(seqs);
                }
                _ => return Ok(None),
            }
            self.count_served(1);
        }
        Ok(Some(out))
    }
}

/// Brings the index of the path `key` (`built`, nothing before its first query) up to the
/// snapshot `head` ([`CatchUp`]); false when it cannot serve it, or, with
/// [`Effort::Light`], when that takes a build or more than [`LIGHT_CHANGES`] changes.
fn catch_up(
    built: &mut Option<PathGrams>,
    tx: &Connection,
    ctx: &Ctx,
    key: &str,
    head: &Head,
    effort: Effort,
) -> Result<bool, StorageError> {
    let light = effort == Effort::Light;
    match (CatchUp::of(built.as_ref(), ctx, head), built) {
        (CatchUp::Current, _) => Ok(true),
        (CatchUp::Read(n), Some(t)) if !(light && n > LIGHT_CHANGES) => {
            read_changes(t, tx, ctx, key, head)?;
            Ok(true)
        }
        (CatchUp::Build, built) if !light => {
            *built = Some(build(tx, ctx, key, head)?);
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Adds to `t` the values of the resources the changes after its position up to `head`
/// name, as the snapshot shows them.
fn read_changes(
    t: &mut PathGrams,
    tx: &Connection,
    ctx: &Ctx,
    key: &str,
    head: &Head,
) -> Result<(), StorageError> {
    let ids: HashSet<String> = tx
        .prepare_cached(
            "SELECT id FROM changes WHERE tenant = ?1 AND seq > ?2 AND seq <= ?3 \
                 AND rtype = ?4",
        )
        .and_then(|mut s| {
            s.query_map(params![ctx.tenant, t.at, head.last, ctx.rtype], |r| {
                r.get(0)
            })?
            .collect()
        })
        .map_err(backend_err)?;
    let mut rows = tx
        .prepare_cached(
            "SELECT a.seq, a.value_norm FROM resources r JOIN attr_index a \
                 ON a.seq = r.seq AND a.path_key = ?4 \
                 WHERE r.tenant = ?1 AND r.rtype = ?2 AND r.id = ?3",
        )
        .map_err(backend_err)?;
    let path_key = ctx.keys().of(key);
    for id in &ids {
        let values = rows
            .query_map(params![ctx.tenant, ctx.rtype, id, path_key], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .and_then(|v| v.collect::<Result<Vec<_>, _>>())
            .map_err(backend_err)?;
        for (seq, value) in values {
            if let Some(v) = value {
                t.grams.add(seq, v.as_bytes());
            }
        }
    }
    t.at = head.last;
    Ok(())
}

/// Every value of the path in the snapshot.
fn build(tx: &Connection, ctx: &Ctx, key: &str, head: &Head) -> Result<PathGrams, StorageError> {
    let mut grams = Grams::new();
    let mut stmt = tx
        .prepare_cached(
            "SELECT seq, value_norm FROM attr_index \
                 WHERE tenant = ?1 AND rtype = ?2 AND path_key = ?3 AND value_norm IS NOT NULL",
        )
        .map_err(backend_err)?;
    let mut rows = stmt
        .query(params![ctx.tenant, ctx.rtype, ctx.keys().of(key)])
        .map_err(backend_err)?;
    while let Some(row) = rows.next().map_err(backend_err)? {
        let seq: i64 = row.get(0).map_err(backend_err)?;
        let value = row.get_ref(1).map_err(backend_err)?;
        if let Ok(bytes) = value.as_bytes() {
            grams.add(seq, bytes);
        }
    }
    Ok(PathGrams::new(ctx, head.last, grams))
}
