//! Group commit: the writes waiting for the write lock share one transaction.
//!
//! A commit writes every page the transaction changed to the WAL, and a user write changes
//! about 35 (its rows in each attribute's index, the sort keys, the resource, the change
//! feed). Many of those pages are the same for writes close in time (the end of
//! `resources`, of the change feed, the index entries of common values such as
//! `active = true`), so committing the writes that queue up behind the write lock together
//! writes those pages once instead of once per write.
//!
//! One thread of its own writes (the [`Writer`]): a write sends its work over a channel
//! and awaits its answer, without a thread of tokio's blocking pool waiting for it. The
//! writer takes the first waiting write and every other one queued behind it (up to
//! [`MAX_BATCH`]), runs each in turn inside ONE `BEGIN IMMEDIATE` transaction, commits once,
//! and answers each write. Nothing is acknowledged before the commit that holds it
//! returned, and if that commit fails, every write in it gets the error (none of them is
//! written). The change feed's sequence numbers follow the order of the writes inside the
//! transaction, which is their commit order; each tenant's head is counted in memory for
//! the transaction and written once, before its commit ([`WriteTx`], [`Counters`]). No
//! request waits on a lock for its turn: each is woken once, by its answer.
//!
//! A write that fails must leave nothing behind for the others to commit. How, is the
//! write's [`Undo`]:
//! - [`Undo::Savepoint`]: the write runs inside its own `SAVEPOINT` and is rolled back to it
//!   when it fails, at any point (an import of many resources).
//! - [`Undo::Statement`]: the write makes every check that can fail for the client's reasons
//!   (uniqueness, the version precondition, existence) before its first change, so a failure
//!   has changed nothing, or only inside the failing statement, which SQLite undoes itself
//!   ("the current SQL statement is aborted and any changes made by the current SQL
//!   statement are backed out", ON CONFLICT ABORT). This saves the savepoint's cost: in a
//!   savepoint, a page that an earlier write of the transaction changed is copied to the
//!   statement journal before the write changes it again. Should such a write still fail
//!   after changing rows (the connection's change counter moved, which it also does for the
//!   rows of the triggers of a failing statement; an I/O error, a bug), it cannot be undone
//!   alone: the transaction is rolled back and every write in it fails.

use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::backend_err;
use super::counters::Counters;
use super::pool::{lock, run_cached};
use crate::storage::StorageError;

/// The most writes one transaction takes (the rest wait for the next one).
const MAX_BATCH: usize = 64;

/// How a write that fails is undone without undoing the other writes of its transaction
/// (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Undo {
    /// The write runs in its own savepoint, rolled back when it fails.
    Savepoint,
    /// The write checks before it changes anything; SQLite undoes a failing statement.
    Statement,
}

/// What a queued write hands back after running: whether it succeeded (else its savepoint
/// is rolled back) and how to deliver its result once the transaction's fate is known.
type Ran = (bool, Deliver);
/// Delivers a write's result; gets the commit's error, if the commit failed.
type Deliver = Box<dyn FnOnce(Option<&StorageError>) + Send>;
/// A queued write: runs in the transaction, or, when there is none (it could not begin, or
/// an earlier failure ended it), fails with the error it is given without running.
type Job = Box<dyn FnOnce(Result<&WriteTx<'_>, StorageError>) -> Ran + Send>;
/// A queued write and how it is undone.
type Queued = (Undo, Job);
/// What the writer does around each transaction: before it begins, and after it ended
/// (committed or not), before any of its writes is answered.
pub(super) type Hook = Box<dyn Fn(&Connection) + Send>;

/// The transaction of one batch as its writes see it: the transaction itself (through
/// `Deref`) and the counters the batch moves, written once before its commit (see
/// [`Counters`]).
pub(super) struct WriteTx<'c> {
    tx: Transaction<'c>,
    counters: Counters,
}

impl<'c> Deref for WriteTx<'c> {
    type Target = Transaction<'c>;

    fn deref(&self) -> &Transaction<'c> {
        &self.tx
    }
}

impl WriteTx<'_> {
    /// The counters of this transaction.
    pub(super) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Writes the counters, then commits.
    fn commit(self) -> Result<(), StorageError> {
        self.counters.flush(&self.tx)?;
        self.tx.commit().map_err(backend_err)
    }
}

/// The same error for another write of a failed transaction (the cause stays with the
/// first).
fn shared_failure(e: &StorageError) -> StorageError {
    StorageError::backend(format!("the transaction of this write failed: {e}"))
}

/// The thread that writes, and the channel to it. The thread ends once the `Writer` is
/// dropped and the writes sent before are answered.
pub(super) struct Writer {
    jobs: Sender<Queued>,
}

impl Writer {
    /// Starts the writer thread on `conn` (shared: the storage also reads through it).
    /// `before` runs before each transaction, `after_commit` after it (see [`Hook`]).
    pub(super) fn start(
        conn: Arc<Mutex<Connection>>,
        before: Hook,
        after_commit: Hook,
    ) -> Result<Writer, StorageError> {
        let (jobs, queue) = channel();
        std::thread::Builder::new()
            .name("scim-sqlite-writer".into())
            .spawn(move || serve(&conn, &queue, &before, &after_commit))
            .map_err(|e| StorageError::backend(format!("sqlite: cannot start the writer: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Queues `f` for the writer's next transaction (at once, before the returned future is
    /// polled) and returns its result once that transaction committed (or `f` failed).
    /// `undo` says how `f` is undone alone when it fails.
    pub(super) fn write<T: Send + 'static>(
        &self,
        undo: Undo,
        f: impl FnOnce(&WriteTx<'_>) -> Result<T, StorageError> + Send + 'static,
    ) -> impl Future<Output = Result<T, StorageError>> + Send + 'static {
        let (answer, answered) = oneshot::channel();
        // The counters follow the write's own outcome, however it is undone.
        let job: Job = Box::new(move |tx| {
            let ran = tx.and_then(|tx| {
                tx.counters.begin_write();
                f(tx).inspect_err(|_| tx.counters.undo_write())
            });
            match ran {
                Ok(value) => {
                    let deliver: Deliver = Box::new(move |failed| {
                        let _ = answer.send(match failed {
                            None => Ok(value),
                            Some(e) => Err(shared_failure(e)),
                        });
                    });
                    (true, deliver)
                }
                Err(e) => {
                    let deliver: Deliver = Box::new(move |_| {
                        let _ = answer.send(Err(e));
                    });
                    (false, deliver)
                }
            }
        });
        let sent = self.jobs.send((undo, job));
        async move {
            if sent.is_err() {
                return Err(StorageError::backend("sqlite: the writer has stopped"));
            }
            answered.await.unwrap_or_else(|_| {
                Err(StorageError::backend(
                    "sqlite: the write was not answered (the writer failed)",
                ))
            })
        }
    }
}

/// The writer thread: each waiting write and those queued behind it, in one transaction.
fn serve(conn: &Mutex<Connection>, queue: &Receiver<Queued>, before: &Hook, after_commit: &Hook) {
    while let Ok(first) = queue.recv() {
        let mut conn = lock(conn);
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // A panic in a write must not stop the writer: its transaction is rolled back as
        // it unwinds, and the writes of the batch see their answers dropped.
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
            before(&conn);
            run_batch(&mut conn, jobs)
        }));
        // Before any answer: a client that reads after its write is answered must see it
        // (the readers learn here that their snapshots are older). A panic here does not
        // take the answers of a committed batch with it.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| after_commit(&conn)));
        drop(conn);
        if let Ok((delivered, failed)) = ran {
            for deliver in delivered {
                deliver(failed.as_ref());
            }
        }
    }
}

/// Runs `jobs` in one transaction, each undone alone as its [`Undo`] says when it fails,
/// and commits. Returns how to deliver each result, and the error that ended the
/// transaction, if any (every write that succeeded then fails with it).
fn run_batch(conn: &mut Connection, jobs: Vec<Queued>) -> (Vec<Deliver>, Option<StorageError>) {
    let mut broken: Option<StorageError> = None;
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => Some(WriteTx {
            tx,
            counters: Counters::default(),
        }),
        Err(e) => {
            broken = Some(backend_err(e));
            None
        }
    };
    let mut delivered: Vec<Deliver> = Vec::with_capacity(jobs.len());
    for (undo, job) in jobs {
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
        let (end, deliver) = match undo {
            Undo::Savepoint => run_in_savepoint(tx, job),
            Undo::Statement => run_checked(tx, job),
        };
        if let Err(e) = end {
            broken = Some(e);
        }
        delivered.push(deliver);
    }
    let failed = match (tx, broken) {
        (_, Some(e)) => Some(e),
        (Some(tx), None) => tx.commit().err(),
        (None, None) => None,
    };
    (delivered, failed)
}

/// Runs `job` in its own savepoint, rolled back to when the job fails. An error means the
/// transaction can no longer be committed.
fn run_in_savepoint(tx: &WriteTx<'_>, job: Job) -> (Result<(), StorageError>, Deliver) {
    // Savepoints through the statement cache: parsing them again for every write was a
    // measurable share of the writer's time.
    if let Err(e) = run_cached(tx, "SAVEPOINT write") {
        return (Err(e.clone()), job(Err(shared_failure(&e))).1);
    }
    let (ok, deliver) = job(Ok(tx));
    let end = if ok {
        run_cached(tx, "RELEASE write")
    } else {
        run_cached(tx, "ROLLBACK TO write").and_then(|()| run_cached(tx, "RELEASE write"))
    };
    (end, deliver)
}

/// Runs `job` without a savepoint ([`Undo::Statement`]). An error means the transaction can
/// no longer be committed: the job failed after changing rows, or its failure ended the
/// transaction (SQLite rolls the whole transaction back on some errors, such as a full
/// disk, and a later statement would then commit on its own).
fn run_checked(tx: &WriteTx<'_>, job: Job) -> (Result<(), StorageError>, Deliver) {
    let before = tx.total_changes();
    let (ok, deliver) = job(Ok(tx));
    let end = if tx.is_autocommit() {
        Err(StorageError::backend(
            "sqlite: a failed write ended its transaction",
        ))
    } else if !ok && tx.total_changes() != before {
        Err(StorageError::backend(
            "sqlite: a write failed after changing rows, so its transaction was rolled back",
        ))
    } else {
        Ok(())
    };
    (end, deliver)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::ChangeKind;
    use crate::storage::changes::NewChange;
    use crate::storage::sqlite::changes;
    use std::sync::atomic::{AtomicUsize, Ordering};

    type Work = Box<dyn FnOnce(&WriteTx<'_>) -> Result<i64, StorageError> + Send>;

    fn inserts(xs: &'static [i64]) -> Work {
        Box::new(move |tx| {
            for x in xs {
                tx.execute("INSERT INTO t (x) VALUES (?1)", [x])
                    .map_err(backend_err)?;
            }
            Ok(xs[0])
        })
    }

    /// A writer on an in-memory database made by `ddl`, counting its transactions.
    fn writer(ddl: &str) -> (Writer, Arc<Mutex<Connection>>, Arc<AtomicUsize>) {
        slow_writer(ddl, std::time::Duration::ZERO)
    }

    /// [`writer`] whose commit hook takes `hook` before it counts the transaction.
    fn slow_writer(
        ddl: &str,
        hook: std::time::Duration,
    ) -> (Writer, Arc<Mutex<Connection>>, Arc<AtomicUsize>) {
        let commits = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&commits);
        let (writer, conn) = writer_with(
            ddl,
            Box::new(move |_| {
                std::thread::sleep(hook);
                c.fetch_add(1, Ordering::SeqCst);
            }),
        );
        (writer, conn, commits)
    }

    /// A writer on an in-memory database made by `ddl`, with `after` as its commit hook.
    fn writer_with(ddl: &str, after: Hook) -> (Writer, Arc<Mutex<Connection>>) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(ddl).unwrap();
        let conn = Arc::new(Mutex::new(conn));
        let writer = Writer::start(Arc::clone(&conn), Box::new(|_| {}), after).unwrap();
        (writer, conn)
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn rows(conn: &Mutex<Connection>) -> Vec<i64> {
        lock(conn)
            .prepare("SELECT x FROM t ORDER BY x")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Queues `works` (in order, after a row 0 in `t`) while the connection is held, so that
    /// they share one transaction, lets them run, and returns their results, the number of
    /// transactions and the rows of `t`.
    fn run_queued(
        ddl: &str,
        works: Vec<(Undo, Work)>,
    ) -> (Vec<Result<i64, StorageError>>, usize, Vec<i64>) {
        let (writer, conn, commits) = writer(ddl);
        lock(&conn)
            .execute("INSERT INTO t (x) VALUES (0)", [])
            .unwrap();
        let results = one_batch(&writer, &conn, works);
        (results, commits.load(Ordering::Relaxed), rows(&conn))
    }

    /// Queues `works` while the connection is held, so that they share one transaction, and
    /// returns their results.
    fn one_batch(
        writer: &Writer,
        conn: &Mutex<Connection>,
        works: Vec<(Undo, Work)>,
    ) -> Vec<Result<i64, StorageError>> {
        let held = lock(conn);
        let answers: Vec<_> = works
            .into_iter()
            .map(|(undo, work)| writer.write(undo, work))
            .collect();
        drop(held);
        block_on(async {
            let mut out = Vec::new();
            for a in answers {
                out.push(a.await);
            }
            out
        })
    }

    fn is_unique_error(r: &Result<i64, StorageError>) -> bool {
        r.as_ref()
            .err()
            .is_some_and(|e| e.to_string().contains("UNIQUE"))
    }

    const TABLE: &str = "CREATE TABLE t (x INTEGER NOT NULL UNIQUE)";

    /// Writes queued behind the lock share one commit; the one that fails is rolled back
    /// alone and gets its own error; the others are written and get their results. Either
    /// way of undoing: a savepoint, or SQLite's own undoing of the failing statement.
    #[test]
    fn queued_writes_share_one_commit_and_fail_alone() {
        for undo in [Undo::Savepoint, Undo::Statement] {
            let works = [1, 2, 0, 3]
                .iter()
                .map(|x| (undo, inserts(std::slice::from_ref(x))))
                .collect();
            let (results, commits, stored) = run_queued(TABLE, works);
            assert_eq!(commits, 1, "{undo:?}: one transaction");
            assert_eq!(
                results.iter().filter(|r| r.is_ok()).count(),
                3,
                "{results:?}"
            );
            assert!(is_unique_error(&results[2]), "{results:?}");
            assert_eq!(stored, [0, 1, 2, 3], "{undo:?}");
        }
    }

    /// SQLite undoes a failing statement whole, the rows its triggers changed included, but
    /// its change counter keeps the triggers' rows: such a write counts as failing after
    /// changing rows, and fails its transaction. Safe (nothing of it is committed), only
    /// less available (the tables of this backend have no triggers since schema version 7).
    #[test]
    fn a_statement_failing_in_its_trigger_fails_its_transaction() {
        let ddl = "CREATE TABLE t (x INTEGER NOT NULL UNIQUE); \
                   CREATE TABLE log (x INTEGER NOT NULL CHECK (x <> 5)); \
                   CREATE TRIGGER t_log AFTER INSERT ON t BEGIN \
                   INSERT INTO log (x) VALUES (NEW.x + 1); INSERT INTO log (x) VALUES (NEW.x); END;";
        let works = vec![
            (Undo::Statement, inserts(&[1])),
            (Undo::Statement, inserts(&[5])),
            (Undo::Statement, inserts(&[2])),
        ];
        let (results, commits, stored) = run_queued(ddl, works);
        assert_eq!(commits, 1);
        assert!(results.iter().all(Result::is_err), "{results:?}");
        assert_eq!(stored, [0]);
    }

    /// A write undone by statement that fails after changing rows cannot be undone alone:
    /// the transaction is rolled back and every write in it fails; the failing one gets
    /// its own error. In a savepoint, the same write fails alone.
    #[test]
    fn a_write_failing_after_its_changes_fails_its_transaction_unless_in_a_savepoint() {
        let works = vec![
            (Undo::Statement, inserts(&[1])),
            (Undo::Statement, inserts(&[10, 0])),
            (Undo::Statement, inserts(&[2])),
        ];
        let (results, commits, stored) = run_queued(TABLE, works);
        assert_eq!(commits, 1, "one transaction, rolled back");
        assert!(is_unique_error(&results[1]), "{results:?}");
        for r in [&results[0], &results[2]] {
            assert!(
                r.as_ref()
                    .is_err_and(|e| e.to_string().contains("rolled back")),
                "{results:?}"
            );
        }
        assert_eq!(stored, [0], "nothing of the transaction is written");

        let works = vec![
            (Undo::Statement, inserts(&[1])),
            (Undo::Savepoint, inserts(&[10, 0])),
            (Undo::Statement, inserts(&[2])),
        ];
        let (results, _, stored) = run_queued(TABLE, works);
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(is_unique_error(&results[1]), "{results:?}");
        assert_eq!(stored, [0, 1, 2]);
    }

    /// A failed commit fails every write in it, and none of them is written.
    #[test]
    fn a_failed_commit_fails_every_write_in_it() {
        // A deferred foreign key fails at COMMIT, not at the insert.
        let (writer, conn, _) = writer(
            "PRAGMA foreign_keys = ON; CREATE TABLE p (id INTEGER PRIMARY KEY); \
             CREATE TABLE t (x INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)",
        );
        let out = block_on(writer.write(Undo::Statement, inserts(&[7])));
        assert!(out.is_err());
        assert_eq!(rows(&conn), Vec::<i64>::new());
        assert!(lock(&conn).is_autocommit());
    }

    /// A write that panics fails alone with its transaction; the writer goes on.
    #[test]
    fn a_panicking_write_does_not_stop_the_writer() {
        let (writer, conn, _) = writer(TABLE);
        let held = lock(&conn);
        let ok = writer.write(Undo::Statement, inserts(&[1]));
        let boom = writer.write(Undo::Statement, |_| -> Result<i64, StorageError> {
            panic!("a bug in a write")
        });
        drop(held);
        assert!(
            block_on(ok).is_err(),
            "its transaction ended with the panic"
        );
        assert!(block_on(boom).is_err());
        assert_eq!(
            block_on(writer.write(Undo::Statement, inserts(&[2]))).unwrap(),
            2
        );
        assert_eq!(rows(&conn), [2]);
    }

    /// A write is answered only after the commit's hook ran (the readers learn of the commit
    /// before a client can read after its write): a slow hook delays the answer.
    #[test]
    fn a_write_is_answered_after_the_commit_hook() {
        let (writer, _conn, told) = slow_writer(TABLE, std::time::Duration::from_millis(50));
        for x in &[1, 2, 3] {
            let before = told.load(Ordering::SeqCst);
            let work = inserts(std::slice::from_ref(x));
            assert_eq!(block_on(writer.write(Undo::Statement, work)).unwrap(), *x);
            assert_eq!(
                told.load(Ordering::SeqCst),
                before + 1,
                "answered before the hook"
            );
        }
    }

    /// A commit hook that panics does not take the answers of its committed batch with it,
    /// nor stop the writer.
    #[test]
    fn a_panicking_commit_hook_keeps_the_answers() {
        let (writer, conn) = writer_with(TABLE, Box::new(|_| panic!("a bug in the commit hook")));
        for x in &[1, 2] {
            let work = inserts(std::slice::from_ref(x));
            assert_eq!(block_on(writer.write(Undo::Statement, work)).unwrap(), *x);
        }
        assert_eq!(rows(&conn), [1, 2]);
    }

    /// A create as the counters see it, in `tenant`: one change and one more user; failing
    /// after its change when `fail` (rolled back by its savepoint).
    fn change(tenant: &'static str, fail: bool) -> Work {
        Box::new(move |tx| {
            let c = NewChange::new("User", "x", ChangeKind::Created, 1);
            changes::append(tx, tenant, &[c])?;
            tx.counters().add_resources(tenant, "User", 1);
            if fail {
                return Err(StorageError::backend("failed after its change"));
            }
            Ok(0)
        })
    }

    /// The users counted per tenant (`resource_counts`).
    fn users(conn: &Mutex<Connection>) -> Vec<(String, i64)> {
        lock(conn)
            .prepare("SELECT tenant, n FROM resource_counts WHERE rtype = 'User' ORDER BY tenant")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// A change row: `(tenant, seq)`; a head: `(tenant, last_seq, pruned_through)`.
    type ChangeRow = (String, i64);
    type HeadRow = (String, i64, i64);

    /// The feed's rows and heads.
    fn feed(conn: &Mutex<Connection>) -> (Vec<ChangeRow>, Vec<HeadRow>) {
        let conn = lock(conn);
        let rows = conn
            .prepare("SELECT tenant, seq FROM changes ORDER BY tenant, seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let heads = conn
            .prepare("SELECT tenant, last_seq, pruned_through FROM change_heads ORDER BY tenant")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (rows, heads)
    }

    /// A batch numbers each tenant's changes consecutively from the head it reads once and
    /// sums its creates: a write rolled back gives its numbers and its count back, a prune in
    /// the batch sees the numbers handed out before it, and the counters reach the database
    /// with the commit. A transaction that fails writes none: the next one counts from the
    /// stored values.
    #[test]
    fn a_batch_counts_in_memory_and_writes_its_counters_at_its_commit() {
        let mut db = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut db).unwrap();
        let conn = Arc::new(Mutex::new(db));
        let writer = Writer::start(Arc::clone(&conn), Box::new(|_| {}), Box::new(|_| {})).unwrap();
        let prune: Work = Box::new(|tx| {
            let pruned = changes::prune(tx, "acme", 100)?;
            Ok(i64::try_from(pruned).unwrap())
        });
        let results = one_batch(
            &writer,
            &conn,
            vec![
                (Undo::Statement, change("acme", false)),
                (Undo::Statement, change("other", false)),
                (Undo::Savepoint, change("acme", true)),
                (Undo::Statement, change("acme", false)),
                (Undo::Savepoint, prune),
                (Undo::Statement, change("acme", false)),
            ],
        );
        assert!(results[2].is_err(), "{results:?}");
        // The prune saw acme's head at 2 (the numbers 1 and 2; the failed write's number
        // given back), not the stored head (none yet).
        assert_eq!(results[4].as_ref().ok(), Some(&2), "{results:?}");
        let (rows, heads) = feed(&conn);
        assert_eq!(rows, [("acme".into(), 3), ("other".into(), 1)]);
        assert_eq!(heads, [("acme".into(), 3, 2), ("other".into(), 1, 0)]);
        assert_eq!(users(&conn), [("acme".into(), 3), ("other".into(), 1)]);

        // A write failing after its change without a savepoint fails its transaction:
        // nothing of it is stored, the head included.
        let broken: Work = Box::new(|tx| {
            let c = NewChange::new("User", "y", ChangeKind::Created, 1);
            changes::append(tx, "acme", &[c])?;
            Err(StorageError::backend("failed after its change"))
        });
        let results = one_batch(
            &writer,
            &conn,
            vec![
                (Undo::Statement, change("acme", false)),
                (Undo::Statement, broken),
            ],
        );
        assert!(results.iter().all(Result::is_err), "{results:?}");
        assert_eq!(feed(&conn).1[0], ("acme".into(), 3, 2));
        assert_eq!(users(&conn)[0], ("acme".into(), 3));
        let results = one_batch(
            &writer,
            &conn,
            vec![(Undo::Statement, change("acme", false))],
        );
        assert!(results[0].is_ok(), "{results:?}");
        let (rows, heads) = feed(&conn);
        assert_eq!(
            rows,
            [("acme".into(), 3), ("acme".into(), 4), ("other".into(), 1)]
        );
        assert_eq!(heads[0], ("acme".into(), 4, 2));
        assert_eq!(users(&conn)[0], ("acme".into(), 4));
    }

    /// Once the writer is dropped, its thread ends and lets go of the connection.
    #[test]
    fn the_writer_ends_with_its_handle() {
        let (writer, conn, _) = writer(TABLE);
        assert_eq!(
            block_on(writer.write(Undo::Statement, inserts(&[3]))).unwrap(),
            3
        );
        drop(writer);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Arc::strong_count(&conn) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(Arc::strong_count(&conn), 1);
    }
}
