//! The read-only connections of a database file, pooled, each keeping its snapshot between
//! reads while nothing changed.
//!
//! In WAL mode a read transaction (a snapshot) begins with a shared lock on a read mark of
//! the `-shm` file and ends by releasing it (<https://sqlite.org/wal.html>, "Concurrency"):
//! `fcntl` calls and SQLite's process-wide lock mutex, about a tenth of a point read's CPU
//! in a profile of `GET /Users/{id}`, and most of its system calls besides the socket's.
//! So a reader returned to the pool keeps its read transaction open, and the next read on
//! it runs inside that snapshot when the snapshot is still current:
//!
//! - **No commit of this process since it began.** Every write of a [`SqliteStorage`] (any
//!   handle, any file, in this process) counts its commit in [`COMMITS`] before the write
//!   is acknowledged; a snapshot that began before the last count is ended and a new one
//!   begun. A read therefore sees every write this process acknowledged before the read
//!   started, as with a snapshot per read.
//! - **Younger than the pool's maximum age** ([`DEFAULT_MAX_AGE`], 1 ms by default, see
//!   [`SqliteStorage::read_snapshot_age`]): the bound on how late a write of *another
//!   process* on the same file is seen. `Duration::ZERO` gives every read its own snapshot.
//!
//! A snapshot held open keeps the WAL frames it reads from being overwritten, so
//! checkpoints could not copy past it nor the WAL restart from its beginning. So the writer
//! ends the idle readers' snapshots before each write ([`Readers::end_idle_snapshots`]), and
//! the checkpoint thread ends the ones that are no longer current before each checkpoint and
//! at least every half second ([`Readers::end_stale_snapshots`]).
//!
//! [`SqliteStorage`]: super::SqliteStorage
//! [`SqliteStorage::read_snapshot_age`]: super::SqliteStorage::read_snapshot_age

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::backend_err;
use super::pool::{lock, prepare_connection, run_cached};
use crate::storage::StorageError;

/// How many idle readers are kept: as many as reads ran at once, up to this bound. A reader
/// opened for a burst of concurrent reads and closed after it costs a connection's setup and
/// every statement prepared again on the next burst: with 32 concurrent clients of a
/// filtered list and 4 kept, opening and closing readers took 4 % of the server's CPU. Each
/// kept reader holds its page cache (`cache_size`, 2 MiB at most by default).
const MAX_IDLE_READERS: usize = 32;

/// How long a reader keeps a snapshot when no commit of this process came meanwhile.
pub(super) const DEFAULT_MAX_AGE: Duration = Duration::from_millis(1);

/// How much of the database file a reader maps into memory (`PRAGMA mmap_size`) unless
/// told otherwise: none, SQLite's default (see [`super::SqliteStorage::mmap_size`]).
pub(super) const DEFAULT_MMAP_SIZE: u64 = 0;

/// The commits of every SQLite writer of this process, counted before their writes are
/// acknowledged (see [`note_commit`]).
static COMMITS: AtomicU64 = AtomicU64::new(0);

/// Counts a commit of this process: snapshots that began before it are no longer current.
/// Called by the writer after each commit, before any write of it is acknowledged.
pub(super) fn note_commit() {
    COMMITS.fetch_add(1, Ordering::Release);
}

/// When a reader's open snapshot began: the process's commit count and the time; and the
/// file's data version in it, when it was read.
#[derive(Clone, Copy)]
struct Snapshot {
    commits: u64,
    began: Instant,
    data_version: Option<i64>,
}

/// What a snapshot is checked against: the process's commit count, the time and the
/// pool's maximum age, read once per call.
#[derive(Clone, Copy)]
struct Now {
    commits: u64,
    at: Instant,
    max_age: Duration,
}

impl Snapshot {
    fn is_current(&self, now: &Now) -> bool {
        self.commits == now.commits && now.at.saturating_duration_since(self.began) < now.max_age
    }
}

/// A pooled connection and its open snapshot (`None`: no transaction is open).
struct Reader {
    conn: Connection,
    snapshot: Option<Snapshot>,
    /// Values read in the open snapshot (empty without one).
    values: SnapshotValues,
    /// The values of the last snapshot (ended by `COMMIT`) and the file's data version in
    /// it, for the next snapshot (see [`SnapshotValues`]).
    carried: Option<(i64, SnapshotValues)>,
}

/// How a reader's snapshot ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// `COMMIT`: the snapshot's values are carried to the reader's next snapshot.
    Commit,
    /// `ROLLBACK`, after a failed read: its values are not trusted.
    Rollback,
}

impl Reader {
    /// Ends the open snapshot by `end`. A connection whose transaction cannot be ended is
    /// not reused (it is dropped, which closes it). The values of a snapshot ended by
    /// [`End::Commit`] are carried, with the data version the snapshot saw, to the
    /// reader's next snapshot.
    fn end_snapshot(&mut self, end: End) -> Result<(), StorageError> {
        let values = std::mem::take(&mut self.values);
        self.carried = None;
        let Some(snapshot) = self.snapshot.take() else {
            return Ok(());
        };
        if self.conn.is_autocommit() {
            return Ok(());
        }
        let version = if end == End::Commit && !values.values.is_empty() {
            match snapshot.data_version {
                Some(v) => Some(v),
                None => data_version(&self.conn).ok(),
            }
        } else {
            None
        };
        let sql = match end {
            End::Commit => "COMMIT",
            End::Rollback => "ROLLBACK",
        };
        run_cached(&self.conn, sql)?;
        self.carried = version.map(|v| (v, values));
        Ok(())
    }

    /// Whether the connection is in the state its `snapshot` says (a failed statement may
    /// have ended or left a transaction).
    fn is_consistent(&self) -> bool {
        self.conn.is_autocommit() == self.snapshot.is_none()
    }
}

/// Integers a read found in a reader's open snapshot (a tenant's change head, say), by
/// what was read (`kind`) and of what (two parts): in the same snapshot the same statement
/// finds the same value, so it runs once per snapshot. Without an open snapshot (every read
/// its own, or the in-memory database's writer) nothing is kept.
///
/// A reader's next snapshot keeps them when the file's data version in it
/// (`PRAGMA data_version`, <https://sqlite.org/pragma.html#pragma_data_version>: "will be
/// different if changes were committed to the database by any other connection in the
/// interim"; a reader commits nothing) is the one the last snapshot saw: the file holds the
/// same committed writes, so the statements find the same values. A snapshot of a reader
/// reused every few milliseconds (beyond the maximum age) under a read load then reads one
/// pragma instead of the head of the tenant's change feed and its index layout again.
#[derive(Default)]
pub(super) struct SnapshotValues {
    /// Whether values are kept: a snapshot is open and outlives the read.
    keeping: bool,
    values: Vec<(&'static str, String, String, i64)>,
}

/// The most values one snapshot keeps (a handful of tenants and resource types at once).
const MAX_SNAPSHOT_VALUES: usize = 16;

impl SnapshotValues {
    /// The kept `kind` of value of `(a, b)`, if any.
    pub(super) fn get(&self, kind: &'static str, (a, b): (&str, &str)) -> Option<i64> {
        self.values
            .iter()
            .find(|(k, x, y, _)| *k == kind && x == a && y == b)
            .map(|(.., v)| *v)
    }

    /// Keeps `v` as the `kind` of value of `(a, b)` read in the snapshot (when values are
    /// kept and it is not kept yet).
    pub(super) fn keep(&mut self, kind: &'static str, (a, b): (&str, &str), v: i64) {
        if self.keeping
            && self.values.len() < MAX_SNAPSHOT_VALUES
            && self.get(kind, (a, b)).is_none()
        {
            self.values.push((kind, a.to_string(), b.to_string(), v));
        }
    }

    /// The `kind` of value of `(a, b)`: kept, or read by `read` (in the snapshot) and kept.
    pub(super) fn get_or_read(
        &mut self,
        kind: &'static str,
        (a, b): (&str, &str),
        read: impl FnOnce() -> Result<i64, StorageError>,
    ) -> Result<i64, StorageError> {
        if let Some(v) = self.get(kind, (a, b)) {
            return Ok(v);
        }
        let v = read()?;
        self.keep(kind, (a, b), v);
        Ok(v)
    }
}

struct Pool {
    path: PathBuf,
    /// The commit count snapshots are checked against: [`COMMITS`] (tests use their own).
    commits: &'static AtomicU64,
    idle: Mutex<Vec<Reader>>,
    /// [`Readers::set_max_age`], in nanoseconds.
    max_age_nanos: AtomicU64,
    /// [`Readers::set_mmap_size`], in bytes.
    mmap_size: AtomicU64,
}

/// The reader pool of a database file. Clones share the pool.
#[derive(Clone)]
pub(super) struct Readers(Arc<Pool>);

impl Readers {
    pub(super) fn new(path: PathBuf) -> Self {
        Self::counting(path, &COMMITS)
    }

    fn counting(path: PathBuf, commits: &'static AtomicU64) -> Self {
        Readers(Arc::new(Pool {
            path,
            commits,
            idle: Mutex::new(Vec::new()),
            max_age_nanos: AtomicU64::new(nanos(DEFAULT_MAX_AGE)),
            mmap_size: AtomicU64::new(DEFAULT_MMAP_SIZE),
        }))
    }

    /// How many bytes of the file the readers opened from now on map (`PRAGMA mmap_size`, 0:
    /// none); the idle readers are closed, so that every later read uses it.
    pub(super) fn set_mmap_size(&self, bytes: u64) {
        self.0.mmap_size.store(bytes, Ordering::Relaxed);
        lock(&self.0.idle).clear();
    }

    /// How long a snapshot may be reused when no commit of this process came meanwhile;
    /// `Duration::ZERO` begins a snapshot for every read.
    pub(super) fn set_max_age(&self, max_age: Duration) {
        self.0
            .max_age_nanos
            .store(nanos(max_age), Ordering::Relaxed);
    }

    /// The commit count is read before a snapshot begins: a commit in between makes the
    /// snapshot newer than recorded, never older.
    fn now(&self) -> Now {
        Now {
            commits: self.0.commits.load(Ordering::Acquire),
            at: Instant::now(),
            max_age: Duration::from_nanos(self.0.max_age_nanos.load(Ordering::Relaxed)),
        }
    }

    fn open(&self) -> Result<Connection, StorageError> {
        let conn = Connection::open_with_flags(
            &self.0.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(backend_err)?;
        prepare_connection(&conn)?;
        // `mmap_size`: see `SqliteStorage::mmap_size` (0, none, by default).
        let mmap = i64::try_from(self.0.mmap_size.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA temp_store = MEMORY; PRAGMA mmap_size = {mmap};"
        ))
        .map_err(backend_err)?;
        Ok(conn)
    }

    /// [`Readers::with_values`] for a read that keeps no values (tests).
    #[cfg(test)]
    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.with_values(|conn, _| f(conn))
    }

    /// Runs `f` on an idle reader (or a new one), inside a current snapshot, then returns
    /// the reader to the pool with its snapshot open. `f` may run several statements: they
    /// all see the same snapshot; it is also given the values earlier reads found in that
    /// snapshot ([`SnapshotValues`]).
    pub(super) fn with_values<T>(
        &self,
        f: impl FnOnce(&mut Connection, &mut SnapshotValues) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let now = self.now();
        let taken = lock(&self.0.idle).pop();
        let mut reader = match taken {
            Some(r) => r,
            None => Reader {
                conn: self.open()?,
                snapshot: None,
                values: SnapshotValues::default(),
                carried: None,
            },
        };
        if reader.snapshot.is_some_and(|s| !s.is_current(&now)) {
            reader.end_snapshot(End::Commit)?;
        }
        if reader.snapshot.is_none() && !now.max_age.is_zero() {
            run_cached(&reader.conn, "BEGIN")?;
            let mut snapshot = Snapshot {
                commits: now.commits,
                began: now.at,
                data_version: None,
            };
            let mut values = SnapshotValues {
                keeping: true,
                values: Vec::new(),
            };
            if let Some((version, kept)) = reader.carried.take() {
                // The snapshot's first statement: it begins the read transaction.
                let current = data_version(&reader.conn)?;
                snapshot.data_version = Some(current);
                if current == version {
                    values = kept;
                }
            }
            reader.snapshot = Some(snapshot);
            reader.values = values;
        }
        let out = f(&mut reader.conn, &mut reader.values);
        // After a failed read the snapshot is not trusted: it is ended (rolled back); a
        // rollback that fails leaves the reader inconsistent, and it is dropped below.
        if out.is_err() {
            let _ = reader.end_snapshot(End::Rollback);
        }
        if reader.is_consistent() {
            let mut idle = lock(&self.0.idle);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(reader);
            }
        }
        out
    }

    /// Ends the snapshots of the idle readers that are no longer current (a commit of this
    /// process came after them, or they are older than the maximum age), so that
    /// checkpoints can copy the whole WAL and the WAL can restart. Readers in use keep
    /// theirs until they return. A reader whose transaction cannot be ended is dropped.
    pub(super) fn end_stale_snapshots(&self) {
        let now = self.now();
        self.end_idle_snapshots_where(|s| !s.is_current(&now));
    }

    /// Ends the snapshots of every idle reader; the writer calls it before each write. A
    /// write restarts the WAL from its beginning when a checkpoint copied all of it and no
    /// reader still reads from it; a snapshot kept across that point (even a current one)
    /// would prevent the restart, the WAL would only grow, and the writer's own checkpoints
    /// (`checkpoint.rs`) would run on every commit.
    pub(super) fn end_idle_snapshots(&self) {
        self.end_idle_snapshots_where(|_| true);
    }

    fn end_idle_snapshots_where(&self, end: impl Fn(&Snapshot) -> bool) {
        let mut idle = lock(&self.0.idle);
        idle.retain_mut(|r| match r.snapshot {
            Some(s) if end(&s) => r.end_snapshot(End::Commit).is_ok() && r.is_consistent(),
            _ => true,
        });
    }

    /// How many idle readers hold an open snapshot (for tests).
    #[cfg(test)]
    pub(super) fn open_snapshots(&self) -> usize {
        lock(&self.0.idle)
            .iter()
            .filter(|r| r.snapshot.is_some())
            .count()
    }
}

/// The file's data version in `conn`'s snapshot (`PRAGMA data_version`).
fn data_version(conn: &Connection) -> Result<i64, StorageError> {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(backend_err)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool counting commits on its own counter, which other tests do not touch.
    fn pool(path: PathBuf) -> (Readers, &'static AtomicU64) {
        let commits: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
        (Readers::counting(path, commits), commits)
    }

    /// A directory removed on drop.
    struct Dir(PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A WAL database with one table, and a writer connection to it.
    fn file(name: &str) -> (Dir, PathBuf, Connection) {
        let dir =
            std::env::temp_dir().join(format!("scim-sqlite-readers-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let dir = Dir(dir);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER);")
            .unwrap();
        (dir, path, conn)
    }

    fn count(readers: &Readers) -> i64 {
        readers
            .with(|c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .map_err(backend_err)
            })
            .unwrap()
    }

    /// The row count of `t` as a snapshot value; `reads` counts the statements that read it.
    fn kept_count(readers: &Readers, reads: &std::cell::Cell<u32>) -> i64 {
        readers
            .with_values(|c, values| {
                values.get_or_read("count", ("t", ""), || {
                    reads.set(reads.get() + 1);
                    c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                        .map_err(backend_err)
                })
            })
            .unwrap()
    }

    /// Readers map the file (SQLite's memory-mapped I/O) by the configured size, none by
    /// default; a new size applies to the next read, idle readers included; a size beyond
    /// SQLite's largest is lowered to it.
    #[test]
    fn readers_map_the_file_by_the_configured_size() {
        let (_dir, path, other) = file("mmap.db");
        other.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let (readers, _) = pool(path);
        let mapped = |readers: &Readers| -> i64 {
            readers
                .with(|c| {
                    c.query_row("PRAGMA mmap_size", [], |r| r.get(0))
                        .map_err(backend_err)
                })
                .unwrap()
        };
        assert_eq!(mapped(&readers), 0);
        readers.set_mmap_size(1 << 20);
        assert_eq!(mapped(&readers), 1 << 20);
        assert_eq!(count(&readers), 1, "reads work mapped");
        // SQLITE_MAX_MMAP_SIZE on Linux.
        readers.set_mmap_size(u64::MAX);
        assert_eq!(mapped(&readers), 0x7fff_0000);
        readers.set_mmap_size(0);
        assert_eq!(mapped(&readers), 0);
        assert_eq!(count(&readers), 1, "reads work unmapped");
    }

    /// A snapshot is reused until this process commits: a write made by another connection
    /// without counting its commit (as another process would) is seen once the snapshot
    /// is older than the maximum age, and at once after a counted commit.
    #[test]
    fn a_snapshot_lasts_until_a_commit_of_this_process_or_its_maximum_age() {
        let (_dir, path, other) = file("age.db");
        let (readers, commits) = pool(path);
        readers.set_max_age(Duration::from_secs(3600));
        assert_eq!(count(&readers), 0);
        assert_eq!(readers.open_snapshots(), 1);
        other.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(count(&readers), 0, "the snapshot is reused");
        commits.fetch_add(1, Ordering::Release);
        assert_eq!(count(&readers), 1, "a commit of this process ends it");

        readers.set_max_age(Duration::from_millis(5));
        other.execute("INSERT INTO t VALUES (2)", []).unwrap();
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(count(&readers), 2, "older than the maximum age: ended");

        readers.set_max_age(Duration::ZERO);
        other.execute("INSERT INTO t VALUES (3)", []).unwrap();
        assert_eq!(count(&readers), 3);
        assert_eq!(readers.open_snapshots(), 0, "no snapshot is kept");
    }

    /// A value read in a snapshot is read once per snapshot: while the snapshot is reused,
    /// the kept value is the value the statement would read; a commit of this process ends
    /// the snapshot and its values; without kept snapshots nothing is kept.
    #[test]
    fn snapshot_values_last_as_long_as_their_snapshot() {
        let (_dir, path, other) = file("values.db");
        let (readers, commits) = pool(path);
        readers.set_max_age(Duration::from_secs(3600));
        let reads = std::cell::Cell::new(0);
        let value = |readers: &Readers| kept_count(readers, &reads);
        assert_eq!((value(&readers), value(&readers)), (0, 0));
        assert_eq!(reads.get(), 1, "read once in the snapshot");
        other.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(
            value(&readers),
            0,
            "the snapshot's value, as its statement reads"
        );
        assert_eq!(count(&readers), 0);
        commits.fetch_add(1, Ordering::Release);
        assert_eq!(value(&readers), 1, "a new snapshot, read again");
        assert_eq!(reads.get(), 2);

        readers.set_max_age(Duration::ZERO);
        commits.fetch_add(1, Ordering::Release);
        assert_eq!((value(&readers), value(&readers)), (1, 1));
        assert_eq!(reads.get(), 4, "no snapshot kept, no value kept");
    }

    /// A snapshot that ends by age hands its values to the reader's next snapshot while no
    /// connection committed in between; a commit by another connection (as another process
    /// would, uncounted) or of this process makes the next snapshot read them again; a
    /// failed read drops them.
    #[test]
    fn snapshot_values_outlive_their_snapshot_while_the_file_is_unchanged() {
        let (_dir, path, other) = file("carried.db");
        let (readers, commits) = pool(path);
        readers.set_max_age(Duration::from_millis(2));
        let reads = std::cell::Cell::new(0);
        let value = |readers: &Readers| kept_count(readers, &reads);
        let expire = || std::thread::sleep(Duration::from_millis(5));
        assert_eq!(value(&readers), 0);
        expire();
        assert_eq!(value(&readers), 0);
        expire();
        assert_eq!(value(&readers), 0);
        assert_eq!(reads.get(), 1, "carried over two expired snapshots");

        other.execute("INSERT INTO t VALUES (1)", []).unwrap();
        expire();
        assert_eq!(
            value(&readers),
            1,
            "another connection committed: read again"
        );
        assert_eq!(reads.get(), 2);

        other.execute("INSERT INTO t VALUES (2)", []).unwrap();
        commits.fetch_add(1, Ordering::Release);
        assert_eq!(value(&readers), 2, "a commit of this process: read again");
        assert_eq!(reads.get(), 3);

        // The writer ends the idle snapshots before each write; the values go with the
        // snapshot the write follows.
        readers.end_idle_snapshots();
        other.execute("INSERT INTO t VALUES (3)", []).unwrap();
        assert_eq!(value(&readers), 3);
        assert_eq!(reads.get(), 4);

        let failed = readers.with_values(|c, _| {
            c.query_row("SELECT nope FROM t", [], |r| r.get::<_, i64>(0))
                .map_err(backend_err)
        });
        assert!(failed.is_err());
        assert_eq!(value(&readers), 3);
        assert_eq!(reads.get(), 5, "a failed read drops the values");
    }

    /// The idle readers' snapshots that are not current are ended, so that a checkpoint
    /// can copy the whole WAL; current ones are kept.
    #[test]
    fn stale_idle_snapshots_are_ended_for_checkpoints() {
        let (_dir, path, other) = file("sweep.db");
        other.execute_batch("PRAGMA wal_autocheckpoint=0;").unwrap();
        let (readers, commits) = pool(path);
        readers.set_max_age(Duration::from_secs(3600));
        assert_eq!(count(&readers), 0);
        readers.end_stale_snapshots();
        assert_eq!(readers.open_snapshots(), 1, "still current: kept");

        for x in 0..10 {
            other.execute("INSERT INTO t VALUES (?1)", [x]).unwrap();
        }
        commits.fetch_add(1, Ordering::Release);
        let (log, done): (i64, i64) = other
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert!(done < log, "the open snapshot holds the checkpoint back");
        readers.end_stale_snapshots();
        assert_eq!(readers.open_snapshots(), 0);
        let (log, done): (i64, i64) = other
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(done, log, "the whole WAL is copied");
    }

    /// A failed read ends its snapshot, and the reader stays usable.
    #[test]
    fn a_failed_read_ends_its_snapshot() {
        let (_dir, path, _other) = file("fail.db");
        let (readers, _) = pool(path);
        let e = readers.with(|c| {
            c.query_row("SELECT nope FROM t", [], |r| r.get::<_, i64>(0))
                .map_err(backend_err)
        });
        assert!(e.is_err());
        assert_eq!(readers.open_snapshots(), 0);
        assert_eq!(count(&readers), 0);
    }
}
