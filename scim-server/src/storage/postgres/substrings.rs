//! Substring (4-gram) indexes for `co` and `ew`: the candidates of a substring filter
//! without reading every `attr_index` row of its path (the SQLite backend's
//! `substrings.rs`, for a database that many processes share).
//!
//! A B-tree orders values, so `eq`, `sw` and ranges are range scans, but a substring can
//! sit anywhere in a value: on its own, `emails[type eq "work" and value co "u500"]` reads
//! every email row of the tenant (see `sql::filter`), linear in the number of users. An
//! index here holds the 4-gram lists ([`Grams`], shared with the other backends) of the
//! `value_norm`s of one path (in one tenant and resource type), each value with its
//! resource's `seq`. The query keeps the leaf's own condition and tests it on the
//! candidates' rows only (`sql::filter::translate_probing`, the candidates bound as one
//! `INT8[]` parameter and read by `unnest`, see [`translate`]): the index may hold more
//! candidates than match, never fewer.
//!
//! # Kept in step with the database, across processes
//! The index lives in the process's memory, built on the first `co` / `ew` query of its
//! path and brought up to date at the start of every such query, inside the query's own
//! REPEATABLE READ read-only transaction, from the change feed (`changes`,
//! `change_heads`): every write, by any connection of any process, appends its changes in
//! its own transaction, and a tenant's change `seq`s become visible in commit order (see
//! `changes.rs`). A snapshot whose tenant head is `h` therefore sees exactly the changes up
//! to `h`, and the tenant's rows in it are the ones those changes left (every write of
//! `attr_index` appends a change in its own transaction, except a layout rebuild, see
//! below). The query reads
//! [`Head`], catches the index up to `h` (the changes after the index's position, and the
//! current rows of the resources they name, in the same snapshot), takes the candidates and
//! then runs its page, all in that one snapshot: the index shows exactly what the page
//! reads.
//!
//! The index only adds (an updated value adds its new 4-grams, a deleted resource leaves
//! its entries, found and dropped by the SQL check). It serves a snapshot whose head is at
//! or past the position it has read up to (`at`), after reading the changes in between,
//! and no older one: catching up reads each changed resource as the NEWER snapshot shows it,
//! so a value that an older snapshot still shows (written after the previous catch-up and
//! overwritten before this one) may be missing. A query takes its snapshot before it locks
//! its indexes, so another query may have caught an index up past it meanwhile: it then
//! rolls its transaction back and takes a new snapshot while it holds the locks, which is at
//! least as new as any position an index reached under them (an index only moves under its
//! lock, from a snapshot taken before its holder got the lock). An index is rebuilt, from
//! the snapshot of the query that finds it so, when the entries added since the build
//! outnumber the build's, when it is further behind than the build had values (reading the
//! changes would cost more), when changes it has not read were pruned
//! (`change_heads.pruned_through`), and when the process's layout of the resource type
//! changed (a schema change).
//!
//! # When the plain SQL runs
//! The query then runs today's translation (every row of the path), in the same snapshot:
//! the answers are the same either way. That happens when the layout recorded in
//! `index_layouts` is not the query's (another process rewrote the rows with its own
//! schema, which records no change), for an operand shorter than three bytes (decided
//! before any transaction, see [`translate`]), when the candidates are not few (a
//! quarter of the path's values or more, where one pass over the rows costs less than a
//! search per candidate), and when the snapshot is older than an index even after the
//! retry (not expected: see above).
//!
//! # Locking
//! The map of indexes is behind a `std::sync::Mutex`, held only to find or insert a path's
//! entry, never across an `.await`. Each path's index is behind a [`tokio::sync::Mutex`]:
//! catching up reads from the database while it holds the lock, so the reads and what
//! they add are one step (no two queries read the same changes, or build the same index,
//! at once; a query waiting for a build awaits it without blocking a thread). Reading
//! first and adding under a short `std` lock would let concurrent queries each read (and
//! build) the same thing, and the index's position would no longer say which snapshots it
//! serves. A query locks the indexes of all its probes, in the order of their path keys
//! (so no two queries wait for each other in a cycle), after it has its connection and its
//! snapshot (a lock holder never waits for the pool; a query waiting for the lock keeps
//! its connection and its open snapshot meanwhile), and releases them once it has the
//! candidates, before its page runs. Cancelled while it holds them, it adds nothing
//! half-read: the rows of a catch-up or a build are all read before the first is added.
//!
//! # Cost
//! Per value: what [`Grams`] holds, with eight bytes for its resource's `seq`. A query: a
//! `BEGIN` and a `COMMIT` (the snapshot the page needs anyway), one statement reading
//! `change_heads` and `index_layouts`, the changes since the last query and the rows of
//! the resources they name (one statement, none when nothing changed), an intersection (or
//! for three bytes a union) of lists, then the page: a search of `attr_index_seq` for each
//! candidate's rows. A build reads every value of the path once, in batches.

use deadpool_postgres::Transaction;
use scim_core::filter::Filter;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::filter_sql::{Postgres, SetSql};
use super::{get, pg_err};
use crate::storage::StorageError;
use crate::storage::grams::Grams;
use crate::storage::sql::filter::{Probe, translate_probing};
use crate::storage::sql::path_grams::{CatchUp, PathGrams, PathIndexes, answerable};
use crate::storage::sql::{Ctx, Head};

/// The rows a build reads per round trip.
const BUILD_BATCH: i32 = 10_000;

/// `filter` translated with its `co` / `ew` leaves read from the candidates of substring
/// indexes (`translate_probing`), each probe's parameter an `INT8[]` read by `unnest`.
/// `None` when the query should run the plain translation instead: the filter does not
/// translate (the plain translation then refuses it), or a probe's operand is too short for
/// any index to serve it ([`answerable`]). Without `co` / `ew` leaves the probes are empty
/// and the SQL is the plain translation.
pub(super) fn translate(ctx: &Ctx, filter: &Filter) -> Option<(SetSql, Vec<Probe>)> {
    let (mut set, probes) =
        translate_probing::<Postgres>(&ctx.schema, &ctx.paths, ctx.keys(), filter)?;
    if probes.is_empty() {
        return Some((set, probes));
    }
    if !answerable(&probes) {
        return None;
    }
    // The candidates come from the scope's rows, so the SQL may not name the tenant (`$1`)
    // and the type (`$2`) at all: a statement made of the set alone (a sorted query's
    // count) would leave their types unknown. Named here, in a condition on parameters
    // only, which PostgreSQL tests once per execution.
    set.sql = format!(
        "SELECT seq FROM ({}) AS probed WHERE $1::text IS NOT NULL AND $2::text IS NOT NULL",
        set.sql
    );
    Some((set, probes))
}

/// The substring indexes of a database (see [`PathIndexes`]), each behind a
/// `tokio::sync::Mutex`, held across the reads that bring it up to date (see "# Locking").
pub(super) type SubstringIndexes = PathIndexes<AsyncMutex<Option<PathGrams>>>;

impl SubstringIndexes {
    /// Locks the indexes of the probes' path keys, in key order (see "# Locking").
    pub(super) async fn lock(&self, ctx: &Ctx, probes: &[Probe]) -> Locked<'_> {
        let mut keys: Vec<&str> = probes.iter().map(|p| p.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut indexes = Vec::with_capacity(keys.len());
        for key in keys {
            let index = self.path(ctx, key);
            indexes.push((key.to_string(), index.lock_owned().await));
        }
        Locked {
            owner: self,
            indexes,
        }
    }
}

/// The indexes of one query's probes, locked until it has their candidates.
pub(super) struct Locked<'a> {
    owner: &'a SubstringIndexes,
    /// Each path key with its index, in key order.
    indexes: Vec<(String, OwnedMutexGuard<Option<PathGrams>>)>,
}

impl Locked<'_> {
    /// Whether an index has read changes past the snapshot `head`, which it then cannot
    /// serve: the query takes a newer snapshot (see "# Kept in step").
    pub(super) fn ahead_of(&self, head: &Head) -> bool {
        self.indexes
            .iter()
            .any(|(_, index)| index.as_ref().is_some_and(|built| !built.serves(head.last)))
    }

    /// The candidates of each probe (the `seq`s its parameter takes), read in the snapshot
    /// of `tx` whose head is `head`; `None` when one probe cannot be served (the query then
    /// runs the plain SQL).
    pub(super) async fn candidates(
        &mut self,
        tx: &Transaction<'_>,
        ctx: &Ctx,
        head: &Head,
        probes: &[Probe],
    ) -> Result<Option<Vec<Vec<i64>>>, StorageError> {
        for (key, index) in &mut self.indexes {
            if !catch_up(index, tx, ctx, key, head).await? {
                return Ok(None);
            }
        }
        let mut out = Vec::with_capacity(probes.len());
        for probe in probes {
            let index = self.indexes.iter().find(|(key, _)| *key == probe.key);
            match index.and_then(|(_, index)| index.as_ref()?.candidates(probe)) {
                Some(seqs) => out.push(seqs),
                None => return Ok(None),
            }
        }
        self.owner.count_served(probes.len());
        Ok(Some(out))
    }
}

/// Brings the index of the path `key` (`built`, nothing before its first query) up to the
/// snapshot `head` (built or rebuilt in it if need be, see [`CatchUp`]); false when it
/// cannot serve it.
async fn catch_up(
    built: &mut Option<PathGrams>,
    tx: &Transaction<'_>,
    ctx: &Ctx,
    key: &str,
    head: &Head,
) -> Result<bool, StorageError> {
    match (CatchUp::of(built.as_ref(), ctx, head), built) {
        (CatchUp::Current, _) => Ok(true),
        (CatchUp::Read(_), Some(t)) => {
            read_changes(t, tx, ctx, key, head).await?;
            Ok(true)
        }
        (CatchUp::Build, built) => {
            *built = Some(build(tx, ctx, key, head).await?);
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Adds to `t` the values of the resources the changes after its position up to `head`
/// name, as the snapshot shows them (one statement: the changes' ids, their resources by
/// the primary key, their rows of the path by `attr_index_seq`). A deleted resource has no
/// rows; one deleted and created again under its id has a new `seq`.
async fn read_changes(
    t: &mut PathGrams,
    tx: &Transaction<'_>,
    ctx: &Ctx,
    key: &str,
    head: &Head,
) -> Result<(), StorageError> {
    let stmt = tx
        .prepare_cached(
            "SELECT a.seq, a.value_norm FROM resources r JOIN attr_index a \
                 ON a.seq = r.seq AND a.path_key = $5 AND a.value_norm IS NOT NULL \
                 WHERE r.tenant = $1 AND r.rtype = $2 AND r.id IN (SELECT c.id FROM changes c \
                 WHERE c.tenant = $1 AND c.seq > $3 AND c.seq <= $4 AND c.rtype = $2)",
        )
        .await
        .map_err(pg_err)?;
    let rows = tx
        .query(
            &stmt,
            &[
                &ctx.tenant,
                &ctx.rtype,
                &t.at,
                &head.last,
                &ctx.keys().of(key),
            ],
        )
        .await
        .map_err(pg_err)?;
    // Every row is read before the first is added (a cancelled query adds nothing).
    for row in &rows {
        t.grams.add(get(row, 0)?, get::<&[u8]>(row, 1)?);
    }
    t.at = head.last;
    Ok(())
}

/// Every value of the path in the snapshot, read in batches of [`BUILD_BATCH`] rows
/// through a portal.
async fn build(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    key: &str,
    head: &Head,
) -> Result<PathGrams, StorageError> {
    let stmt = tx
        .prepare_cached(
            "SELECT seq, value_norm FROM attr_index \
                 WHERE tenant = $1 AND rtype = $2 AND path_key = $3 AND value_norm IS NOT NULL",
        )
        .await
        .map_err(pg_err)?;
    let portal = tx
        .bind(&stmt, &[&ctx.tenant, &ctx.rtype, &ctx.keys().of(key)])
        .await
        .map_err(pg_err)?;
    let mut grams = Grams::new();
    loop {
        let rows = tx
            .query_portal(&portal, BUILD_BATCH)
            .await
            .map_err(pg_err)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            grams.add(get(row, 0)?, get::<&[u8]>(row, 1)?);
        }
    }
    Ok(PathGrams::new(ctx, head.last, grams))
}
