//! Connections: opening and configuring them, and the helpers every connection uses. The
//! writer is one connection behind a mutex; the readers are pooled in `readers.rs`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::storage::StorageError;

use super::backend_err;
use super::filter_sql::register_arrays;

/// How long a connection waits for a lock held by another connection (another handle or
/// process) before failing with `SQLITE_BUSY`.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many prepared statements each connection keeps (rusqlite keeps 16 by default; the
/// reads of several filter shapes, sorts and the write path use more, and a statement
/// evicted from the cache is parsed again on its next use).
pub(super) const STATEMENT_CACHE: usize = 64;

/// Runs `f` in one read transaction on `conn`: every statement of `f` sees the same
/// snapshot. A pooled reader is already inside one (see `readers.rs`), which `f` then runs
/// in; otherwise `BEGIN` and `COMMIT` are cached prepared statements (rusqlite's
/// `Connection::transaction` parses both again on every call, a measurable share of a point
/// read). On an error the transaction is rolled back; a connection left inside a
/// transaction (the rollback failed too) is not returned to the pool.
pub(super) fn read_tx<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    if !conn.is_autocommit() {
        return f(conn);
    }
    run_cached(conn, "BEGIN")?;
    match f(conn) {
        Ok(value) => {
            run_cached(conn, "COMMIT")?;
            Ok(value)
        }
        Err(e) => {
            // The error of `f` is the one to report; a failed rollback shows in
            // `is_autocommit` and the connection is dropped.
            let _ = run_cached(conn, "ROLLBACK");
            Err(e)
        }
    }
}

/// Runs one statement without parameters or rows through the statement cache.
pub(super) fn run_cached(conn: &Connection, sql: &str) -> Result<(), StorageError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(drop)
        .map_err(backend_err)
}

/// Locks a mutex, recovering from poisoning: the data behind it (a connection) stays valid,
/// since an interrupted transaction is rolled back when its guard drops.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens the writer connection of a database file and sets it up.
///
/// `journal_mode=WAL`: readers do not block the writer nor the writer readers.
/// `synchronous=NORMAL`: in WAL mode a committed transaction survives a crash of the
/// process (the WAL is written before the commit returns) but the last transactions may be
/// lost on a power failure or OS crash (the WAL is fsynced at checkpoints only; the database
/// is never corrupted). `FULL` would fsync the WAL at every commit, making commits durable
/// against power loss too, at the cost of one fsync per write.
///
/// `journal_size_limit`: the WAL file is truncated back to 64 MiB when it restarts after a
/// burst of writes.
pub(super) fn open_writer(path: &Path) -> Result<Connection, StorageError> {
    let conn = Connection::open(path).map_err(backend_err)?;
    prepare_connection(&conn)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(backend_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StorageError::backend(format!(
            "could not switch the database to WAL mode (journal_mode is {mode})"
        )));
    }
    configure(&conn)?;
    conn.execute_batch("PRAGMA journal_size_limit = 67108864;")
        .map_err(backend_err)?;
    Ok(conn)
}

/// Turns off the checkpoints inside the writer's commits (`wal_autocheckpoint=0`): they run
/// on their own thread (see `checkpoint.rs`).
pub(super) fn defer_checkpoints(writer: &Connection) -> Result<(), StorageError> {
    writer
        .execute_batch("PRAGMA wal_autocheckpoint = 0;")
        .map_err(backend_err)
}

/// Opens a private in-memory database (for tests): one connection serves reads and writes.
pub(super) fn open_memory() -> Result<Connection, StorageError> {
    let conn = Connection::open_in_memory().map_err(backend_err)?;
    prepare_connection(&conn)?;
    configure(&conn)?;
    Ok(conn)
}

/// What every connection, writer or reader, needs before its first statement: a busy
/// timeout of [`BUSY_TIMEOUT`], its statement cache sized ([`STATEMENT_CACHE`]) and the
/// array function (`rarray`, see `filter_sql::Param`).
pub(super) fn prepare_connection(conn: &Connection) -> Result<(), StorageError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    register_arrays(conn).map_err(backend_err)
}

/// Sets up a connection that writes (after [`prepare_connection`]): `synchronous=NORMAL` (see
/// [`open_writer`]), temporary tables in memory, and foreign keys NOT enforced
/// (`foreign_keys=OFF`, SQLite's default). The child tables declare `REFERENCES resources
/// (seq) ON DELETE CASCADE`; the writes keep that themselves: a child row is written in the
/// transaction of its resource, after it, and deleting a resource deletes its children in
/// the same transaction (`delete_children` in `rows.rs`). Enforcing the keys cost a search
/// of `resources` for every index row written (a user has about ten), and made a statement
/// writing several index rows open a statement journal (an immediate foreign key can abort
/// such a statement, so SQLite copies the pages it changes to be able to undo it).
fn configure(conn: &Connection) -> Result<(), StorageError> {
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY;",
    )
    .map_err(backend_err)?;
    Ok(())
}
