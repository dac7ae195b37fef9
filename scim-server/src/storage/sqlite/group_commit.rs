//! Group commit: the writes waiting for the write lock share one transaction.
//!
//! A commit writes every page the transaction changed to the WAL, and a user write changes
//! about 35 (its rows in each attribute's index, the sort keys, the resource, the change
//! feed). Many of those pages are the same for writes close in time (the end of
//! `resources`, of the change feed, the index entries of common values such as
//! `active = true`), so committing the writes that queue up behind the write lock together
//! writes those pages once instead of once per write.
//!
//! Each write queues its work and then takes the write lock. Whoever gets the lock first
//! (the leader) takes every queued write, runs each inside its own `SAVEPOINT` of ONE
//! `BEGIN IMMEDIATE` transaction, commits once, and hands each write its result; a write
//! whose work was done by another leader finds its result when it gets the lock. A write
//! that fails is rolled back to its savepoint alone and gets its own error; the others are
//! unaffected. Nothing is acknowledged before the commit that holds it returned, and if that
//! commit fails, every write in it gets the error (none of them is written). The change
//! feed's sequence numbers follow the order of the writes inside the transaction, which is
//! their commit order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::backend_err;
use super::pool::{lock, run_cached};
use crate::storage::StorageError;

/// The most writes one transaction takes (the rest wait for the next one).
const MAX_BATCH: usize = 64;

/// What a queued write hands back after running: whether it succeeded (else its savepoint
/// is rolled back) and how to deliver its result once the transaction's fate is known.
type Ran = (bool, Deliver);
/// Delivers a write's result; gets the commit's error, if the commit failed.
type Deliver = Box<dyn FnOnce(Option<&StorageError>) + Send>;
/// A queued write: runs in the transaction, or, when there is none (it could not begin, or
/// an earlier failure ended it), fails with the error it is given without running.
type Job = Box<dyn FnOnce(Result<&Transaction<'_>, StorageError>) -> Ran + Send>;

/// The writes waiting for the write lock.
#[derive(Default)]
pub(super) struct Queue {
    jobs: Mutex<VecDeque<(u64, Job)>>,
    next: AtomicU64,
}

/// A write's result, filled in by whichever leader ran it.
type Slot<T> = Arc<Mutex<Option<Result<T, StorageError>>>>;

/// The same error for another write of a failed transaction (the cause stays with the
/// first).
fn shared_failure(e: &StorageError) -> StorageError {
    StorageError::backend(format!("the transaction of this write failed: {e}"))
}

/// Runs `f` in a transaction on `writer` together with the other queued writes, commits, and
/// calls `after_commit` with the writer after each commit it led.
pub(super) fn write<T: Send + 'static>(
    writer: &Mutex<Connection>,
    queue: &Queue,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, StorageError> + Send + 'static,
    after_commit: impl Fn(&Connection),
) -> Result<T, StorageError> {
    let slot: Slot<T> = Arc::new(Mutex::new(None));
    let mine = Arc::clone(&slot);
    let job: Job = Box::new(move |tx| match tx.and_then(f) {
        Ok(value) => {
            let deliver: Deliver = Box::new(move |failed| {
                *lock(&mine) = Some(match failed {
                    None => Ok(value),
                    Some(e) => Err(shared_failure(e)),
                });
            });
            (true, deliver)
        }
        Err(e) => {
            let deliver: Deliver = Box::new(move |_| *lock(&mine) = Some(Err(e)));
            (false, deliver)
        }
    });
    let id = queue.next.fetch_add(1, Ordering::Relaxed);
    lock(&queue.jobs).push_back((id, job));
    let mut conn = lock(writer);
    if let Some(done) = lock(&slot).take() {
        return done;
    }
    // Not done by an earlier leader: still queued (the queue is drained only under the
    // write lock), so this thread leads.
    let jobs: Vec<(u64, Job)> = {
        let mut q = lock(&queue.jobs);
        let n = q.len().min(MAX_BATCH);
        let mut taken: Vec<(u64, Job)> = q.drain(..n).collect();
        if !taken.iter().any(|(j, _)| *j == id) {
            // Ours lies beyond the batch limit: take it too, so this call returns.
            if let Some(pos) = q.iter().position(|(j, _)| *j == id) {
                if let Some(job) = q.remove(pos) {
                    taken.push(job);
                }
            }
        }
        taken
    };
    if jobs.is_empty() {
        return Err(StorageError::backend("sqlite: a queued write was lost"));
    }
    run_batch(&mut conn, jobs);
    after_commit(&conn);
    drop(conn);
    let done = lock(&slot).take();
    done.unwrap_or_else(|| Err(StorageError::backend("sqlite: a queued write was lost")))
}

/// Runs `jobs` in one transaction, each in a savepoint, commits, and delivers every result.
fn run_batch(conn: &mut Connection, jobs: Vec<(u64, Job)>) {
    let mut broken: Option<StorageError> = None;
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => Some(tx),
        Err(e) => {
            broken = Some(backend_err(e));
            None
        }
    };
    let mut delivered: Vec<Deliver> = Vec::with_capacity(jobs.len());
    for (_, job) in jobs {
        let tx = match (&tx, &broken) {
            (Some(tx), None) => tx,
            (_, Some(e)) => {
                delivered.push(job(Err(shared_failure(e))).1);
                continue;
            }
            (None, None) => {
                let e = StorageError::backend("sqlite: no transaction");
                delivered.push(job(Err(e)).1);
                continue;
            }
        };
        // Savepoints through the statement cache: parsing them again for every write was a
        // measurable share of the writer's time.
        if let Err(e) = run_cached(tx, "SAVEPOINT write") {
            delivered.push(job(Err(shared_failure(&e))).1);
            broken = Some(e);
            continue;
        }
        let (ok, deliver) = job(Ok(tx));
        let end = if ok {
            run_cached(tx, "RELEASE write")
        } else {
            run_cached(tx, "ROLLBACK TO write").and_then(|()| run_cached(tx, "RELEASE write"))
        };
        if let Err(e) = end {
            broken = Some(e);
        }
        delivered.push(deliver);
    }
    let failed = match (tx, broken) {
        (_, Some(e)) => Some(e),
        (Some(tx), None) => tx.commit().err().map(backend_err),
        (None, None) => None,
    };
    for deliver in delivered {
        deliver(failed.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    fn insert(x: i64) -> impl FnOnce(&Transaction<'_>) -> Result<i64, StorageError> + Send {
        move |tx| {
            tx.execute("INSERT INTO t (x) VALUES (?1)", [x])
                .map_err(backend_err)?;
            Ok(x)
        }
    }

    /// Writes queued behind the lock share one commit; the one that fails is rolled back
    /// alone and gets its own error; the others are written and get their results.
    #[test]
    fn queued_writes_share_one_commit_and_fail_alone() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER NOT NULL UNIQUE)")
            .unwrap();
        conn.execute("INSERT INTO t (x) VALUES (0)", []).unwrap();
        let writer = Arc::new(Mutex::new(conn));
        let queue = Arc::new(Queue::default());
        let commits = Arc::new(AtomicUsize::new(0));
        // Hold the write lock until every write has queued.
        let held = lock(&writer);
        let handles: Vec<_> = [1, 2, 0, 3]
            .into_iter()
            .map(|x| {
                let (writer, queue, commits) = (
                    Arc::clone(&writer),
                    Arc::clone(&queue),
                    Arc::clone(&commits),
                );
                std::thread::spawn(move || {
                    write(&writer, &queue, insert(x), |_| {
                        commits.fetch_add(1, Ordering::Relaxed);
                    })
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock(&queue.jobs).len() < 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(lock(&queue.jobs).len(), 4);
        drop(held);
        let results: Vec<Result<i64, StorageError>> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(commits.load(Ordering::Relaxed), 1, "one transaction");
        let ok: Vec<i64> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        assert_eq!(ok.len(), 3, "{results:?}");
        assert!(results.iter().any(|r| {
            r.as_ref()
                .err()
                .is_some_and(|e| e.to_string().contains("UNIQUE"))
        }));
        let mut stored: Vec<i64> = lock(&writer)
            .prepare("SELECT x FROM t ORDER BY x")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        stored.sort_unstable();
        assert_eq!(stored, [0, 1, 2, 3]);
    }

    /// A failed commit fails every write in it, and none of them is written.
    #[test]
    fn a_failed_commit_fails_every_write_in_it() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; CREATE TABLE p (id INTEGER PRIMARY KEY); \
             CREATE TABLE t (x INTEGER NOT NULL REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)",
        )
        .unwrap();
        let writer = Mutex::new(conn);
        let queue = Queue::default();
        // A deferred foreign key fails at COMMIT, not at the insert.
        let out = write(&writer, &queue, insert(7), |_| {});
        assert!(out.is_err());
        let n: i64 = lock(&writer)
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert!(lock(&writer).is_autocommit());
    }
}
