//! The 4-gram lists of one path's values as the SQL backends' substring indexes keep them
//! (`sqlite/substrings.rs`, `postgres/substrings.rs`): the lists ([`Grams`], each value
//! with its resource's `seq`), the layout the rows were read with, and the position in the
//! change feed they have read up to. How a backend builds the lists and reads the changes
//! (in its own read transaction) stays with the backend; when they are stale and what they
//! answer is decided here, once for both, as is the map of a database's indexes
//! ([`PathIndexes`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::filter::Probe;
use super::{Ctx, Head};
use crate::storage::grams::{Grams, SHORTEST_OPERAND};

/// Whether substring indexes may answer every probe: none has an operand shorter than
/// [`SHORTEST_OPERAND`], which no 4-gram list answers. Asked before any read, so that such
/// a query goes to the plain SQL at once.
pub(crate) fn answerable(probes: &[Probe]) -> bool {
    probes.iter().all(|p| p.operand.len() >= SHORTEST_OPERAND)
}

/// A path's index key: the tenant, the resource type and the indexed path
/// ([`super::index::IndexedPath::key`]).
type PathKey = (String, String, String);

/// The substring indexes of a database, one per tenant, resource type and path key, each
/// behind its lock `L` (holding `Option<PathGrams>`: nothing before the path's first
/// query), created on first use. SQLite's queries read synchronously and lock a
/// `std::sync::Mutex`; PostgreSQL's hold a `tokio::sync::Mutex` across their reads.
pub(crate) struct PathIndexes<L> {
    paths: Mutex<HashMap<PathKey, Arc<L>>>,
    /// The probes answered from an index (for tests).
    #[cfg(test)]
    served: std::sync::atomic::AtomicUsize,
}

impl<L> Default for PathIndexes<L> {
    fn default() -> Self {
        PathIndexes {
            paths: Mutex::new(HashMap::new()),
            #[cfg(test)]
            served: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

impl<L: Default> PathIndexes<L> {
    /// The index of the path `key` of `ctx`'s tenant and resource type.
    pub(crate) fn path(&self, ctx: &Ctx, key: &str) -> Arc<L> {
        let mut paths = self.paths.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            paths
                .entry((ctx.tenant.clone(), ctx.rtype.clone(), key.to_string()))
                .or_default(),
        )
    }

    /// Counts `n` probes answered from an index (for tests; nothing otherwise).
    pub(crate) fn count_served(&self, n: usize) {
        #[cfg(test)]
        self.served
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        #[cfg(not(test))]
        let _ = n;
    }

    /// The number of probes answered from an index so far.
    #[cfg(test)]
    pub(crate) fn served(&self) -> usize {
        self.served.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The holders of the index of `key` besides the map: the queries that hold or wait
    /// for its lock (for PostgreSQL's tests).
    #[cfg(all(test, feature = "postgres"))]
    pub(crate) fn holders(&self, ctx: &Ctx, key: &str) -> usize {
        Arc::strong_count(&self.path(ctx, key)) - 2
    }
}

/// What it takes for a path's index (nothing before its first query) to serve a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CatchUp {
    /// It serves the snapshot as it is.
    Current,
    /// It serves it once it has read this many changes after its position.
    Read(i64),
    /// It must be built (or rebuilt, see [`PathGrams::stale`]) in the snapshot.
    Build,
    /// It cannot serve it: the rows follow another layout (another process's schema), or
    /// the snapshot is older than what the index has read ([`PathGrams::serves`]). The
    /// query runs the plain SQL.
    Refuse,
}

impl CatchUp {
    /// What `built` needs to serve the snapshot whose head is `head`.
    pub(crate) fn of(built: Option<&PathGrams>, ctx: &Ctx, head: &Head) -> CatchUp {
        if !head.layout_current {
            return CatchUp::Refuse;
        }
        match built {
            Some(t) if !t.stale(ctx, head.last, head.pruned) => {
                if !t.serves(head.last) {
                    CatchUp::Refuse
                } else if head.last > t.at {
                    CatchUp::Read(head.last - t.at)
                } else {
                    CatchUp::Current
                }
            }
            _ => CatchUp::Build,
        }
    }
}

/// The 4-gram lists of one path's values and where they stand in the change feed.
pub(crate) struct PathGrams {
    /// The layout the rows were read with.
    pub layout: Arc<str>,
    /// The change `seq` read up to: the head of the snapshot the lists were built in or
    /// last brought up to date in.
    pub at: i64,
    /// The lists.
    pub grams: Grams<i64>,
}

impl PathGrams {
    /// Lists just built (see [`Grams::built`]) from the rows of `ctx`'s layout in a
    /// snapshot whose head is `at`.
    pub(crate) fn new(ctx: &Ctx, at: i64, grams: Grams<i64>) -> PathGrams {
        PathGrams {
            layout: Arc::clone(&ctx.layout),
            at,
            grams: grams.built(),
        }
    }

    /// Whether the lists must be rebuilt to serve a snapshot whose head is `last` (and
    /// whose pruning mark is `pruned`): the layout changed, changes they have not read were
    /// pruned, the entries added since the build outnumber the build's, or they are further
    /// behind than the build had values (reading the changes would cost more than a
    /// rebuild).
    pub(crate) fn stale(&self, ctx: &Ctx, last: i64, pruned: i64) -> bool {
        let behind = usize::try_from(last - self.at).unwrap_or(0);
        *self.layout != *ctx.layout
            || self.at < pruned
            || self.grams.outgrown()
            || behind > self.grams.built_values().max(1024)
    }

    /// Whether they can serve a snapshot whose head is `last` once the changes after
    /// [`PathGrams::at`] are read: not one older than what they have read, since reading a
    /// change adds the resource's values as the NEWER snapshot shows them (a value written
    /// after one catch-up and overwritten before the next was never added).
    pub(crate) fn serves(&self, last: i64) -> bool {
        last >= self.at
    }

    /// The candidates of `probe` (a superset of the `seq`s with a matching value), or
    /// `None` when they are not few (see [`Grams::candidates`]).
    pub(crate) fn candidates(&self, probe: &Probe) -> Option<Vec<i64>> {
        self.grams.candidates(probe.op, &probe.operand)
    }
}
