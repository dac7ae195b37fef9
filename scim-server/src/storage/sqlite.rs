//! The SQLite backend: one database file in WAL mode, the embedded default.
//!
//! ```
//! use scim_core::{Filter, Resource, builtin};
//! use scim_server::storage::sqlite::SqliteStorage;
//! use scim_server::storage::unique::UniquenessPolicy;
//! use scim_server::storage::{Load, NewResource, Scope, Storage, StoragePage, StorageQuery};
//! use scim_server::TenantId;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // A server opens a file: `SqliteStorage::open("scim.db")?`.
//! let storage = SqliteStorage::open_in_memory()?;
//! let (tenant, schema) = (TenantId::default_tenant(), builtin::user_resource_schema());
//! let scope = Scope::new(&tenant, &schema);
//!
//! let user = Resource::from_value(serde_json::json!({"id": "2819c223", "userName": "bjensen"}))
//!     .unwrap();
//! let unique = UniquenessPolicy::for_schema(&schema).keys(&schema, &user);
//! let new = NewResource { id: "2819c223".into(), resource: user, members: vec![], unique };
//! assert_eq!(storage.create(scope, new).await?.version, 1);
//!
//! // userName is caseExact=false (RFC 7643 §4.1.1); the lookup is an index range scan.
//! let filter: Filter = r#"userName eq "BJensen""#.parse().unwrap();
//! assert!(storage.can_filter(&schema, &filter));
//! let page = StoragePage::Offset { offset: 0, limit: 10 };
//! let query = StorageQuery { filter: Some(&filter), sort: None, page: &page, load: Load::ALL };
//! let found = storage.query(scope, query).await?;
//! assert_eq!(found.total_results, 1);
//! assert_eq!(found.resources[0].id, "2819c223");
//! # Ok::<(), scim_server::storage::StorageError>(())
//! # }).unwrap();
//! ```
//!
//! # Design
//! - **Tables** (see the migration in `schema.rs`): `resources` (one row per resource, keyed
//!   by an autoincrement `seq` that is the creation order), `unique_values` (uniqueness is a
//!   primary key, so the database enforces it across connections and processes),
//!   `attr_index` (every attribute value of every schema but `id`, which `resources` holds,
//!   and `meta.resourceType`, the type's name: typed and case folded as `sql::index`
//!   describes, each with the element it comes from, plus the sort keys) and
//!   `members` (one row per member). Every write is one `BEGIN IMMEDIATE` transaction over all of them, with
//!   the `expected_version` check inside it.
//! - **Filters** on any attribute (every operator, `pr`, `ne`, `not`, value paths such as
//!   `emails[type eq "work" and value co "@x"]`, `and` / `or`, and the membership lookups
//!   `members[value eq "<id>"]` / `groups.value eq "<id>"` through `members`) are pushed down
//!   as scans of the covering indexes `attr_index_lookup` / `attr_index_num` combined with
//!   `INTERSECT` / `UNION` / `EXCEPT` (see `sql::filter`); the few valid filters left
//!   (`co ""`, `not` inside brackets, ...) go to the planner's bounded scan. `co` and `ew`
//!   read their candidates from in-memory 4-gram indexes kept in step with the change feed
//!   (see `substrings.rs`), so they do not read every value of their path.
//! - **Sorting** (`sortBy` on any indexed attribute, RFC 7644 §3.4.2.3) runs in the
//!   database through `attr_index_sort` (see `sql::sort`).
//! - **Index layout**: the `attr_index` rows depend on the resource type's schema, which
//!   the database learns only from the calls. Each resource type's layout (indexed paths,
//!   case folding, row format) is recorded in `index_layouts`; on the first write or
//!   filtered query of a type whose recorded layout differs (after the migration to schema
//!   version 2, or a `caseExact` change), its rows are rebuilt from the stored JSON in one
//!   write transaction.
//! - **Paging**: default order by `seq`; cursors are keysets on `seq` (they stay correct
//!   while resources are created or deleted between pages). Without a filter, offset paging
//!   is `LIMIT`/`OFFSET` with a `COUNT(*)` in the same read transaction; with a filter, the
//!   matching `seq`s are computed once, in order, in one read transaction: their number is
//!   `totalResults` and the page is read by `seq` (the set is not evaluated twice).
//! - **Membership**: adding or removing one member is one indexed row plus a version bump
//!   (O(log n)); reading a resource without members never touches the `members` table.
//!   A User and its computed `groups` are read by one statement (no transaction around it);
//!   a list page and the groups of its resources in one read transaction
//!   ([`Storage::query_with_groups`]); the groups' `displayName` comes out of SQLite's JSON
//!   functions, so a group is never parsed to render a member.
//! - **Connections**: one writer connection behind a mutex and a small pool of read-only
//!   connections, used from `tokio::task::spawn_blocking`, except point reads (one resource
//!   by id, the groups of a few members, a lookup by a unique attribute such as
//!   `userName eq`), which run on the calling task by default
//!   ([`SqliteStorage::inline_point_reads`]). A reader keeps its snapshot between reads
//!   until a write of this process commits, for at most 1 ms
//!   ([`SqliteStorage::read_snapshot_age`], `readers.rs`). The version and groups of a
//!   resource, and the matches of a lookup, read without attributes (the server's check of
//!   a rendering it holds) are remembered with the tenant's change head and answered again
//!   while the head has not moved (`recent_reads.rs`). `journal_mode=WAL`,
//!   `synchronous=NORMAL` (committed writes survive a process crash; `FULL` would also make
//!   them survive a power failure, at one fsync per commit), foreign keys kept by the
//!   writes rather than enforced (`pool.rs`), a busy timeout of 10 s.
//! - **Write path**: one thread writes; the writes that queue up behind it share one
//!   transaction and are acknowledged after its commit (group commit, see
//!   `group_commit.rs`): the WAL pages they have in common are written once. A write makes
//!   its checks (uniqueness, version, existence) before its first change, so one that fails
//!   leaves nothing for the others to commit; an import runs in a savepoint of its own. WAL
//!   checkpoints (copying the WAL back into the file, with two fsyncs) run on a background
//!   thread, not inside a commit (see `checkpoint.rs`). Neither changes what a crash can
//!   lose: a write is acknowledged only once its commit returned, i.e. its pages are in the
//!   WAL.
//!
//! The indexed values are derived from the resource type's schema; two processes sharing a
//! file must use the same schema for a resource type (each would rebuild the rows with its
//! own).

mod changes;
mod checkpoint;
mod counters;
mod filter_sql;
mod group_commit;
mod lookup;
mod pool;
mod query;
mod readers;
mod recent_reads;
mod rows;
mod schema;
mod storage;
mod substrings;

use query::*;
use rows::*;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};
use scim_core::Resource;
use scim_core::filter::Filter;
use scim_core::schema::ResourceSchema;
use scim_core::sort::SortSpec;
use serde_json::{Map, Value};

use self::filter_sql::{Param, SetSql, Sqlite};
use self::group_commit::{Undo, WriteTx, Writer};
use self::pool::{lock, read_tx};
use self::readers::{Readers, SnapshotValues};
use self::recent_reads::RecentReads;
use self::substrings::{Effort, SubstringIndexes};
use super::changes::NewChange;
use super::sql::filter::{Probe, translate_probing};
use super::sql::index::{IndexRow, index_rows};
use super::sql::path_key::{KeyGuard, PathKeys, check_owner, keyed, row_keys};
use super::sql::prepared::{Prepared, PreparedCreate};
use super::sql::sort::{
    self as sort_cursor, Position, Segment, SortPlan, count_keyed_sql, has_sort_keys_sql,
    keyed_page_sql, missing_page_sql, value_rows_sql,
};
use super::sql::value_order::{
    ColumnValue, KeySource, ValueOrder, ValueRow, order_in_memory, page_in_memory,
};
use super::sql::{
    Ctx, KnownLayouts, PushDown, clamp, decode_cursor, dedupe, encode_cursor, has_members,
    is_unique_lookup, no_groups, push_down, to_json, to_version, translate_or_refuse, with_members,
};
use super::{
    ChangeKind, ChangeRecord, GroupRef, Load, Member, MembersChange, NewResource, QueryPage,
    Replacement, Scope, Storage, StorageError, StorageErrorKind, StoragePage, StorageQuery,
    StoredResource, UniqueKey, last_modified_now, touch_last_modified,
};
use crate::tenancy::TenantId;

/// Maps a rusqlite error to a backend error (the message is for logs only).
pub(crate) fn backend_err(e: rusqlite::Error) -> StorageError {
    StorageError::backend(format!("sqlite: {e}")).with_source(e)
}

/// Is this a UNIQUE or PRIMARY KEY constraint violation?
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            f.code == ErrorCode::ConstraintViolation
                && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
        }
        _ => false,
    }
}

/// The SQLite storage backend. Cloning is cheap (the connections are shared).
///
/// Several handles (in one process or in several) may open the same file; uniqueness,
/// versions and every write stay consistent across them, since the database enforces them.
#[derive(Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
    /// Run point reads on the calling task (see [`SqliteStorage::inline_point_reads`]).
    inline_point_reads: bool,
    /// Answer `co` / `ew` from substring indexes (see [`SqliteStorage::substring_indexes`]).
    substring_indexes: bool,
}

struct Inner {
    /// The connection that writes; in memory, it also reads.
    writer: Arc<Mutex<Connection>>,
    /// The background WAL checkpoints of a database file (`None` in memory, or when its
    /// thread could not start: SQLite then checkpoints inside commits). The writer thread
    /// runs them; this handle is for tests.
    #[cfg(test)]
    checkpointer: Option<Arc<checkpoint::Checkpointer>>,
    /// The thread that runs the writes on `writer` (see `group_commit.rs`).
    writes: Writer,
    /// `None` for an in-memory database, whose only connection is the writer.
    readers: Option<Readers>,
    /// The `attr_index` layouts known to be current (see [`ensure_layout`]).
    layouts: KnownLayouts,
    /// The 4-gram indexes of the paths `co` / `ew` filters have read (see `substrings.rs`).
    substrings: SubstringIndexes,
    /// Versions, groups and lookups read lately, with the change head they were read at
    /// (see `recent_reads.rs`).
    recent: RecentReads,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("in_memory", &self.inner.readers.is_none())
            .finish()
    }
}

impl Inner {
    fn read<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.read_with_values(|conn, _| f(conn))
    }

    /// [`Inner::read`], `f` also given the values earlier reads found in the same snapshot
    /// (see [`SnapshotValues`]; none on the in-memory database).
    fn read_with_values<T>(
        &self,
        f: impl FnOnce(&mut Connection, &mut SnapshotValues) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        match &self.readers {
            Some(readers) => readers.with_values(f),
            None => f(&mut lock(&self.writer), &mut SnapshotValues::default()),
        }
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer thread, shared with the
    /// other writes queued meanwhile; returns once that transaction committed (or `f`
    /// failed). `f` makes its checks before its first change ([`Undo::Statement`], see
    /// `group_commit.rs`); [`Inner::write_in_savepoint`] for one that cannot.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&WriteTx<'_>) -> Result<T, StorageError> + Send + 'static,
    ) -> impl Future<Output = Result<T, StorageError>> + Send + 'static {
        self.writes.write(Undo::Statement, f)
    }

    /// [`Inner::write`] for a write that may fail after changing rows (an import of many
    /// resources, a rebuild): it runs in its own savepoint.
    fn write_in_savepoint<T: Send + 'static>(
        &self,
        f: impl FnOnce(&WriteTx<'_>) -> Result<T, StorageError> + Send + 'static,
    ) -> impl Future<Output = Result<T, StorageError>> + Send + 'static {
        self.writes.write(Undo::Savepoint, f)
    }

    /// Starts the writer thread on `writer`: before each transaction it ends the idle
    /// readers' snapshots, after each commit it tells the readers and the checkpointer.
    fn new(
        writer: Connection,
        checkpointer: Option<checkpoint::Checkpointer>,
        readers: Option<Readers>,
    ) -> Result<Inner, StorageError> {
        let writer = Arc::new(Mutex::new(writer));
        let checkpointer = checkpointer.map(Arc::new);
        let idle = readers.clone();
        let before: group_commit::Hook = Box::new(move |_| {
            if let Some(readers) = &idle {
                readers.end_idle_snapshots();
            }
        });
        let checkpoints = checkpointer.clone();
        let after: group_commit::Hook = Box::new(move |conn| {
            readers::note_commit();
            if let Some(c) = &checkpoints {
                c.after_commit(conn);
            }
        });
        Ok(Inner {
            writes: Writer::start(Arc::clone(&writer), before, after)?,
            writer,
            #[cfg(test)]
            checkpointer,
            readers,
            layouts: KnownLayouts::default(),
            substrings: SubstringIndexes::default(),
            recent: RecentReads::default(),
        })
    }
}

impl SqliteStorage {
    /// Opens (creating it if needed) the database file at `path`, switches it to WAL mode and
    /// applies the missing schema migrations (`PRAGMA user_version`).
    ///
    /// This does blocking file I/O: call it at start-up, or inside `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStorage, StorageError> {
        let path = path.as_ref();
        let mut writer = pool::open_writer(path)?;
        schema::migrate(&mut writer)?;
        let readers = Readers::new(path.to_path_buf());
        let idle = readers.clone();
        let checkpointer =
            checkpoint::Checkpointer::start(path, move || idle.end_stale_snapshots());
        if checkpointer.is_some() {
            pool::defer_checkpoints(&writer)?;
        }
        Ok(SqliteStorage {
            inner: Arc::new(Inner::new(writer, checkpointer, Some(readers))?),
            inline_point_reads: true,
            substring_indexes: true,
        })
    }

    /// A private in-memory database (for tests); it disappears with the last clone.
    pub fn open_in_memory() -> Result<SqliteStorage, StorageError> {
        let mut conn = pool::open_memory()?;
        schema::migrate(&mut conn)?;
        Ok(SqliteStorage {
            inner: Arc::new(Inner::new(conn, None, None)?),
            inline_point_reads: false,
            substring_indexes: true,
        })
    }

    /// The database's journal mode as SQLite reports it (`wal` for a file database).
    pub async fn journal_mode(&self) -> Result<String, StorageError> {
        self.blocking(|inner| {
            inner.read(|c| {
                c.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
                    .map_err(backend_err)
            })
        })
        .await
    }

    /// The schema version of the database (`PRAGMA user_version`).
    pub async fn schema_version(&self) -> Result<i64, StorageError> {
        self.blocking(|inner| {
            inner.read(|c| {
                c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                    .map_err(backend_err)
            })
        })
        .await
    }

    /// Creates many resources in ONE transaction, all or nothing (initial loads, imports):
    /// much faster than one [`Storage::create`] per resource. Returns how many were created.
    /// Fails like `create` on the first taken id or unique value; nothing is written then.
    ///
    /// `items` is consumed lazily on the writer's thread, so a large load need not be held in
    /// memory at once; the other writes wait for the load's transaction.
    pub async fn create_many<I>(&self, scope: Scope<'_>, items: I) -> Result<u64, StorageError>
    where
        I: IntoIterator<Item = NewResource> + Send + 'static,
    {
        let ctx = self.inner.layouts.ctx(scope);
        self.ensure_index(&ctx).await?;
        self.inner
            .write_in_savepoint(move |tx| {
                let mut created = Vec::new();
                for new in items {
                    let id = insert_resource(tx, &ctx, PreparedCreate::new(&ctx, new)?)?.id;
                    created.push(NewChange::new(&ctx.rtype, id, ChangeKind::Created, 1));
                }
                changes::append(tx, &ctx.tenant, &created)?;
                Ok(created.len() as u64)
            })
            .await
    }

    /// Rebuilds the `attr_index` rows of `ctx`'s resource type if they were written with
    /// another layout (see [`ensure_layout`]); a no-op after the first call per type.
    async fn ensure_index(&self, ctx: &Ctx) -> Result<(), StorageError> {
        let Some(wanted) = self.inner.layouts.stale(ctx) else {
            return Ok(());
        };
        let (c, w) = (ctx.clone(), wanted.clone());
        self.inner
            .write_in_savepoint(move |tx| ensure_layout(tx, &c, &w))
            .await?;
        self.inner.layouts.mark_current(&ctx.rtype, wanted);
        Ok(())
    }

    /// Whether point reads (one resource by id without its members, the groups of one member
    /// or of a page of at most 10, and a query that looks up one value of a unique attribute,
    /// such as `userName eq "x"`) run on the calling task instead of on tokio's blocking
    /// pool. On by default for
    /// a database file; always off for [`SqliteStorage::open_in_memory`], whose reads share
    /// the writer's connection.
    ///
    /// A point read is a few B-tree lookups through a read-only connection: a few
    /// microseconds when its pages are cached, one or two disk reads when not. In WAL mode a
    /// reader never waits for the writer ("readers do not block writers and a writer does not
    /// block readers", <https://sqlite.org/wal.html>), so the call does not stall on other
    /// requests. Handing it to the blocking pool costs two thread wake-ups, more than the
    /// read itself, and on the GET-by-id path it was most of the cost. Other queries and
    /// reads with members (a group's members can be many) always run on the blocking pool,
    /// and writes on the writer's own thread. Turn this off when the file lives
    /// on storage where one read can take long (a network file system, a cold disk).
    pub fn inline_point_reads(mut self, on: bool) -> Self {
        self.inline_point_reads = on && self.inner.readers.is_some();
        self
    }

    /// How long a read-only connection keeps its snapshot (its read transaction) between
    /// reads when no write of this process committed meanwhile; 1 ms by default,
    /// `Duration::ZERO` begins a snapshot for every read. Applies to every clone of this
    /// handle; no effect on [`SqliteStorage::open_in_memory`].
    ///
    /// Beginning and ending a snapshot takes file locks on the WAL index
    /// (<https://sqlite.org/wal.html>), about a tenth of a point read's CPU. A read always
    /// sees every write this process acknowledged before it began (every commit of a
    /// SQLite storage in the process ends the older snapshots); what the age bounds is how
    /// late a read sees a write made by **another process** on the same file. Set it to
    /// zero when several processes serve one file and a client may read from one process
    /// what it wrote through another within the age.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scim_server::storage::sqlite::SqliteStorage;
    ///
    /// let path = std::env::temp_dir().join(format!("scim-doc-age-{}.db", std::process::id()));
    /// let storage = SqliteStorage::open(&path)
    ///     .unwrap()
    ///     .read_snapshot_age(Duration::ZERO);
    /// # drop(storage);
    /// # for suffix in ["", "-wal", "-shm"] {
    /// #     let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    /// # }
    /// ```
    pub fn read_snapshot_age(self, age: Duration) -> Self {
        if let Some(readers) = &self.inner.readers {
            readers.set_max_age(age);
        }
        self
    }

    /// How many bytes of the database file the read-only connections map into memory
    /// (SQLite's memory-mapped I/O, `PRAGMA mmap_size`, <https://sqlite.org/mmap.html>):
    /// none by default, as SQLite's own default; at most 2 GiB on Linux (a larger value is
    /// lowered to it). Applies to every clone of this handle; no effect on
    /// [`SqliteStorage::open_in_memory`]. Writes never go through the mapping.
    ///
    /// Unmapped, each reader copies the pages it reads into its own page cache (2 MiB by
    /// default) with a `pread` per page it lacks, which on a database much larger than those
    /// caches is most reads; mapped, a page is read in place from the operating system's
    /// page cache, shared by every reader (`loadtest/README.md` measures both on a file of
    /// 1,000,000 users). Consider it for such a database, knowing what the SQLite
    /// documentation names: an I/O error on the file (a failing disk, a file truncated by
    /// another program) reaches the process as a signal instead of an error. And every
    /// reader maps the file on its own, so the process's resident memory counts a page of
    /// the file once per reader that touched it, although the page is held once, in the
    /// page cache, where reads through `pread` keep it too.
    ///
    /// ```
    /// use scim_server::storage::sqlite::SqliteStorage;
    ///
    /// let path = std::env::temp_dir().join(format!("scim-doc-mmap-{}.db", std::process::id()));
    /// let storage = SqliteStorage::open(&path).unwrap().mmap_size(2 << 30);
    /// # drop(storage);
    /// # for suffix in ["", "-wal", "-shm"] {
    /// #     let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    /// # }
    /// ```
    pub fn mmap_size(self, bytes: u64) -> Self {
        if let Some(readers) = &self.inner.readers {
            readers.set_mmap_size(bytes);
        }
        self
    }

    /// Whether `co` and `ew` filters read their candidates from substring (4-gram)
    /// indexes kept in this process's memory; on by default. An index is built for a path
    /// (in one tenant and resource type) on the first such filter over it and kept up to
    /// date from the change feed at the start of every later one, so it is exact whatever
    /// process wrote the file, and writes pay nothing for it. It costs memory: about 4 bytes
    /// per 4-gram of each value plus the value's own bytes and 12 more (some 130 bytes per
    /// 26-byte email address). Off, those filters read every value of their path. Applies
    /// to this handle (clones made after the call included).
    ///
    /// ```
    /// use scim_server::storage::sqlite::SqliteStorage;
    ///
    /// let storage = SqliteStorage::open_in_memory().unwrap().substring_indexes(false);
    /// # drop(storage);
    /// ```
    pub fn substring_indexes(mut self, on: bool) -> Self {
        self.substring_indexes = on;
        self
    }

    /// Runs a point read: on the calling task when [`SqliteStorage::inline_point_reads`] is
    /// on, else on the blocking pool.
    async fn point_read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        if self.inline_point_reads {
            f(&self.inner)
        } else {
            self.blocking(f).await
        }
    }

    /// [`Storage::replace`], recording `kind` in the change feed.
    async fn replace_as(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
        kind: ChangeKind,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.inner.layouts.ctx(scope);
        self.ensure_index(&ctx).await?;
        let id = id.to_string();
        let Prepared {
            resource,
            json,
            rows,
            keys,
        } = Prepared::new(&ctx, replacement.resource)?;
        self.inner
            .write(move |tx| {
                // Every check before the first change (`Undo::Statement`), the
                // precondition first (RFC 9110 §13.2.1: evaluated "just before it would
                // process the request content (if any) or perform the action").
                let seq = current_seq(tx, &ctx, &id, expected_version)?;
                check_unique(tx, &ctx, Some(seq), &replacement.unique)?;
                let (seq, version, _) = bump(tx, &ctx, &id, Some(&json), expected_version)?;
                tx.prepare_cached("DELETE FROM unique_values WHERE seq = ?1")
                    .and_then(|mut s| s.execute([seq]))
                    .map_err(backend_err)?;
                insert_unique(tx, &ctx, seq, &replacement.unique)?;
                tx.prepare_cached("DELETE FROM attr_index WHERE seq = ?1")
                    .and_then(|mut s| s.execute([seq]))
                    .map_err(backend_err)?;
                insert_rows(tx, &ctx.tenant, &ctx, seq, &rows, &keys)?;
                let resource = match replacement.members {
                    Some(members) => {
                        let members = dedupe(members);
                        tx.prepare_cached("DELETE FROM members WHERE group_seq = ?1")
                            .and_then(|mut s| s.execute([seq]))
                            .map_err(backend_err)?;
                        insert_members(tx, &ctx, seq, &members)?;
                        if ctx.has_members {
                            with_members(resource, &members)
                        } else {
                            resource
                        }
                    }
                    None => resource,
                };
                let change = NewChange::new(&ctx.rtype, &id, kind, version);
                changes::append(tx, &ctx.tenant, &[change])?;
                Ok(StoredResource {
                    id,
                    version,
                    resource,
                })
            })
            .await
    }

    /// Runs `query` over `ctx`'s scope, then `and_then` on its page, in one read transaction;
    /// a lookup by a unique value is a point read (see [`SqliteStorage::inline_point_reads`]).
    async fn query_then<T: Send + 'static>(
        &self,
        ctx: Ctx,
        query: StorageQuery<'_>,
        and_then: impl FnOnce(&Connection, &RawPage) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<(QueryPage, T), StorageError> {
        // The filter translated with its `co` / `ew` leaves read from the substring
        // indexes' candidates (see `QueryJob`); without such leaves, the plain translation.
        let probing = query
            .filter
            .filter(|_| self.substring_indexes)
            .and_then(|f| {
                translate_probing::<Sqlite>(&ctx.schema, &ctx.paths, ctx.keys(), f)
                    .map(|probed| (probed, f))
            });
        let PushDown {
            set,
            sort,
            fingerprint,
        } = push_down::<Sqlite>(&ctx.schema, &ctx, &query, probing.is_none())?;
        if query.filter.is_some() || sort.is_some() {
            self.ensure_index(&ctx).await?;
        }
        let point =
            is_unique_lookup(&ctx.schema, &query) && !(query.load.members && ctx.has_members);
        let filtering = match (probing, set) {
            (Some(((probed, probes), _)), _) if probes.is_empty() => Filtering::Plain(probed),
            (Some(((probed, probes), f)), _) => Filtering::Probing {
                probed,
                probes,
                filter: f.clone(),
            },
            (None, Some(set)) => Filtering::Plain(set),
            (None, None) => Filtering::None,
        };
        let mut job = QueryJob {
            ctx,
            filtering,
            sort,
            page: query.page.clone(),
            load: query.load,
            fingerprint,
            and_then,
        };
        // A substring filter whose candidates are at hand and few is a point read too.
        if matches!(job.filtering, Filtering::Probing { .. }) && self.inline_point_reads {
            let light = move |inner: &Inner| {
                inner.read_with_values(|conn, values| {
                    read_tx(conn, |tx| job.run_light(tx, values, &inner.substrings))
                })
            };
            match self.point_read(light).await? {
                Ok((found, more)) => return Ok((found.parse()?, more)),
                Err(back) => job = back,
            }
        }
        let run = move |inner: &Inner| {
            inner.read_with_values(|conn, values| {
                read_tx(conn, |tx| job.run(tx, values, &inner.substrings))
            })
        };
        let (found, more) = if point {
            self.point_read(run).await?
        } else {
            self.blocking(run).await?
        };
        Ok((found.parse()?, more))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| StorageError::backend(format!("sqlite task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests;
