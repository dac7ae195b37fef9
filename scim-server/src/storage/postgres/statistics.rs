//! Planner statistics for tables that grew since they were last analyzed.
//!
//! PostgreSQL plans from the statistics `ANALYZE` gathers; autovacuum runs it once a table
//! changed by more than 50 rows plus 10 % of its size, checking every `autovacuum_naptime`
//! (one minute by default; <https://www.postgresql.org/docs/15/routine-vacuuming.html>,
//! "Updating Planner Statistics"). Until then a table filled since its last `ANALYZE` has no
//! statistics for its columns, and the planner gives every equality the same default
//! selectivity. A lookup by `(tenant, rtype, id)` then costs the same through the primary
//! key as through `resources_scope (tenant, rtype, seq)`, and the tie went to the scope
//! index, which reads every resource of the type: 0.85 ms for one `GET /Users/{id}` with 992
//! users created a second before (`EXPLAIN ANALYZE`: 991 rows removed by the filter), 0.04 ms
//! through the primary key after `ANALYZE`. The first minute of a bulk provisioning run
//! (an identity provider's initial cycle) is exactly that case.
//!
//! So the backend vacuums and analyzes its tables itself (`VACUUM (ANALYZE)`, as
//! [`PostgresStorage::analyze`] does on request), in the background, after the first
//! [`FIRST_ANALYZE`] resources this handle created and after each doubling of that count: a
//! few runs over a process's life, each reading a bounded sample of rows for the statistics
//! and, for the vacuum, the pages written since the last one (which it marks all-visible,
//! so that counts are index-only scans); never a table that grew unseen for long.
//!
//! [`PostgresStorage::analyze`]: super::PostgresStorage::analyze

use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_postgres::Pool;

use crate::storage::StorageError;

use super::{pg_err, pool_err};

/// How many resources a handle creates before it first analyzes the tables.
pub(super) const FIRST_ANALYZE: u64 = 500;

/// The tables whose statistics the queries depend on, vacuumed and analyzed.
const VACUUM_ANALYZE: &str = "VACUUM (ANALYZE) resources, unique_values, attr_index, members";

/// Counts the resources a handle (and its clones) created, and says when to analyze.
#[derive(Debug)]
pub(super) struct Growth {
    created: AtomicU64,
    next: AtomicU64,
}

impl Default for Growth {
    fn default() -> Self {
        Growth {
            created: AtomicU64::new(0),
            next: AtomicU64::new(FIRST_ANALYZE),
        }
    }
}

impl Growth {
    /// Counts `n` created resources (committed); true for the one call that crosses the
    /// next threshold, whose caller then runs [`vacuum_analyze`].
    pub(super) fn created(&self, n: u64) -> bool {
        let created = self
            .created
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        let next = self.next.load(Ordering::Relaxed);
        created >= next
            && self
                .next
                .compare_exchange(
                    next,
                    created.saturating_mul(2),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

/// Runs `VACUUM (ANALYZE)` on the storage's tables (found through the pool's
/// `search_path`). A role that does not own them gets a warning from the server for each
/// table, not an error.
pub(super) async fn vacuum_analyze(pool: &Pool) -> Result<(), StorageError> {
    let client = pool.get().await.map_err(pool_err)?;
    client.batch_execute(VACUUM_ANALYZE).await.map_err(pg_err)
}

/// Starts [`vacuum_analyze`] as its own task; a failure is logged (statistics are an
/// optimisation: autovacuum still gathers them later).
pub(super) fn vacuum_analyze_in_background(pool: &Pool) {
    let pool = pool.clone();
    tokio::spawn(async move {
        if let Err(e) = vacuum_analyze(&pool).await {
            tracing::warn!(error = %e, "postgres: VACUUM (ANALYZE) after growth failed");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzes_at_the_first_threshold_and_at_each_doubling() {
        let g = Growth::default();
        let mut at = Vec::new();
        for i in 1..=5000u64 {
            if g.created(1) {
                at.push(i);
            }
        }
        assert_eq!(at, [500, 1000, 2000, 4000]);
        // A batch that crosses a threshold triggers once, and the next one doubles from
        // where the count is.
        let g = Growth::default();
        assert!(!g.created(499));
        assert!(g.created(1000)); // 1,499 created: the next threshold is 2,998
        assert!(!g.created(1498));
        assert!(g.created(1));
    }
}
