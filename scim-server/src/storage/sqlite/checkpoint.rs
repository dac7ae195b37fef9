//! WAL checkpoints off the write path.
//!
//! In WAL mode a commit appends the transaction's pages to the `-wal` file; a checkpoint
//! copies them back into the database file and syncs both (<https://sqlite.org/wal.html>,
//! "Checkpointing"). By default the connection that commits runs the checkpoint itself
//! whenever the WAL holds 1,000 pages or more, inside the commit call: with every attribute
//! indexed a user writes about 35 pages, so about every 30th write stalled on two `fsync`s
//! while holding the write lock, and every other write waited behind it (a profile of
//! `POST /Users` spent about 70 % of its wall time there).
//!
//! Here the writer commits without checkpointing (`wal_autocheckpoint=0`) and a background
//! thread, with its own connection, runs `PRAGMA wal_checkpoint(PASSIVE)` after
//! [`COMMITS_PER_CHECKPOINT`] commits, or [`IDLE_CHECKPOINT`] after the last one. A passive checkpoint neither blocks nor waits for writers or readers (SQLite's
//! documentation of `sqlite3_wal_checkpoint_v2`), so writes go on while it syncs.
//!
//! Durability does not change: a commit returns once its pages are written to the WAL (with
//! `synchronous=NORMAL` they reach the operating system, not the disk), so a killed process
//! loses no acknowledged write either way; what a power failure can lose is what it could
//! lose before (the WAL since the last checkpoint's sync).
//!
//! The WAL restarts from its beginning only when a write begins after a checkpoint copied
//! all of it; under a write load that never pauses, every passive checkpoint overlaps a
//! write and the WAL keeps growing. When the last checkpoint saw more than
//! [`WAL_FRAMES_HARD_LIMIT`] frames, the writer itself checkpoints after its commit, while
//! it still holds the write lock (as SQLite's own autocheckpoint would, but rarely), so the
//! WAL stays bounded.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::pool::{BUSY_TIMEOUT, lock};

/// How many commits wait for the background checkpoint: about SQLite's default threshold of
/// 1,000 WAL pages, at about 35 pages per user write.
const COMMITS_PER_CHECKPOINT: u64 = 32;

/// The checkpoint runs this long after the last commit even when few commits came.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(500);

/// The WAL size (in frames; 4 KiB pages: 64 MiB) above which the writer checkpoints itself.
pub(super) const WAL_FRAMES_HARD_LIMIT: i64 = 16_384;

/// Commits the background thread has not checkpointed yet, and its stop flag.
#[derive(Default)]
struct Shared {
    pending: Mutex<u64>,
    wake: Condvar,
    stop: AtomicBool,
    /// The WAL size in frames reported by the last checkpoint.
    wal_frames: AtomicI64,
    /// Checkpoints run (for tests).
    runs: AtomicU64,
}

/// The background checkpointer of one database file; stops (and joins) on drop.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the checkpoint thread for the database at `path`, with its own connection.
    /// `release_snapshots` runs before each checkpoint and at least every
    /// [`IDLE_CHECKPOINT`]: it ends the read snapshots of this process that would hold the
    /// checkpoint back (see `readers.rs`). `None` when that connection or the thread cannot
    /// be had: the writer then keeps SQLite's own autocheckpoint.
    pub(super) fn start(
        path: &Path,
        release_snapshots: impl Fn() + Send + 'static,
    ) -> Option<Checkpointer> {
        let conn = open(path)?;
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("scim-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &thread_shared, &release_snapshots))
            .ok()?;
        Some(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Called by the writer after each commit (still holding the write lock): counts the
    /// commit, wakes the thread when enough accumulated, and checkpoints on the writer's own
    /// connection when the WAL has grown past [`WAL_FRAMES_HARD_LIMIT`].
    pub(super) fn after_commit(&self, writer: &Connection) {
        let due = {
            let mut pending = lock(&self.shared.pending);
            *pending += 1;
            *pending
        };
        if due >= COMMITS_PER_CHECKPOINT {
            self.shared.wake.notify_one();
        }
        if self.shared.wal_frames.load(Ordering::Relaxed) > WAL_FRAMES_HARD_LIMIT
            && checkpoint(writer, "PASSIVE").is_some()
        {
            // No other write of this process can come in between (the caller holds the
            // write lock): every frame is copied, and the next write restarts the WAL.
            self.shared.wal_frames.store(0, Ordering::Relaxed);
        }
    }

    /// How many checkpoints the thread ran.
    #[cfg(test)]
    pub(super) fn runs(&self) -> u64 {
        self.shared.runs.load(Ordering::Relaxed)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        {
            let _pending = lock(&self.shared.pending);
            self.shared.wake.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)`; returns `(WAL frames, frames checkpointed)`, or
/// `None` when it failed or was busy (another checkpoint runs, e.g. in another process).
fn checkpoint(conn: &Connection, mode: &str) -> Option<(i64, i64)> {
    let (busy, log, done): (i64, i64, i64) = conn
        .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .ok()?;
    (busy == 0).then_some((log, done))
}

fn open(path: &Path) -> Option<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.busy_timeout(BUSY_TIMEOUT).ok()?;
    // This connection writes nothing; it must not checkpoint on its own either.
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0;").ok()?;
    Some(conn)
}

/// What the checkpoint thread woke up for.
enum Wake {
    Stop,
    /// Commits are pending: checkpoint.
    Checkpoint,
    /// [`IDLE_CHECKPOINT`] passed without a commit.
    Idle,
}

/// Waits until enough commits are pending, or [`IDLE_CHECKPOINT`] passed.
fn wait(shared: &Shared) -> Wake {
    let mut pending = lock(&shared.pending);
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return Wake::Stop;
        }
        if *pending >= COMMITS_PER_CHECKPOINT {
            *pending = 0;
            return Wake::Checkpoint;
        }
        let (guard, timeout) = shared
            .wake
            .wait_timeout(pending, IDLE_CHECKPOINT)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending = guard;
        if timeout.timed_out() && !shared.stop.load(Ordering::Relaxed) {
            if *pending == 0 {
                return Wake::Idle;
            }
            *pending = 0;
            return Wake::Checkpoint;
        }
    }
}

fn run(conn: &Connection, shared: &Shared, release_snapshots: &dyn Fn()) {
    loop {
        let wake = wait(shared);
        if matches!(wake, Wake::Stop) {
            return;
        }
        // Idle readers' snapshots that are no longer current would hold the checkpoint
        // back (and keep the WAL from restarting); they end here at least every
        // IDLE_CHECKPOINT.
        release_snapshots();
        if matches!(wake, Wake::Idle) {
            continue;
        }
        if let Some((log, _)) = checkpoint(conn, "PASSIVE") {
            shared.wal_frames.store(log, Ordering::Relaxed);
        }
        shared.runs.fetch_add(1, Ordering::Relaxed);
    }
}
