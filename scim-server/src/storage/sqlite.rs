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
//!   `attr_index` (every attribute value of every schema, typed and case folded as
//!   `sql::index` describes, each with the element it comes from, plus the sort keys) and
//!   `members` (one row per member). Every write is one `BEGIN IMMEDIATE` transaction over all of them, with
//!   the `expected_version` check inside it.
//! - **Filters** on any attribute (every operator, `pr`, `ne`, `not`, value paths such as
//!   `emails[type eq "work" and value co "@x"]`, `and` / `or`, and the membership lookups
//!   `members[value eq "<id>"]` / `groups.value eq "<id>"` through `members`) are pushed down
//!   as scans of the covering indexes `attr_index_lookup` / `attr_index_num` combined with
//!   `INTERSECT` / `UNION` / `EXCEPT` (see `sql::filter`); the few valid filters left
//!   (`co ""`, `not` inside brackets, ...) go to the planner's bounded scan.
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
//! - **Connections**: one writer connection behind a mutex and a small pool of read-only
//!   connections, used from `tokio::task::spawn_blocking`, except point reads (one resource
//!   by id, the groups of a few members, a lookup by a unique attribute such as
//!   `userName eq`), which run on the calling task by default
//!   ([`SqliteStorage::inline_point_reads`]). `journal_mode=WAL`,
//!   `synchronous=NORMAL` (committed writes survive a process crash; `FULL` would also make
//!   them survive a power failure, at one fsync per commit), `foreign_keys=ON`, a busy
//!   timeout of 10 s.
//! - **Write path**: the writes that queue up behind the writer share one transaction, each
//!   in its own savepoint, and are acknowledged after its commit (group commit, see
//!   `group_commit.rs`): the WAL pages they have in common are written once. WAL
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
mod filter_sql;
mod group_commit;
mod pool;
mod schema;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};
use scim_core::Resource;
use scim_core::filter::{CompValue, CompareOp, Filter};
use scim_core::schema::{ResourceSchema, Uniqueness};
use scim_core::sort::SortSpec;
use serde_json::{Map, Value};

use self::filter_sql::{SetSql, Sqlite};
use self::pool::{Readers, lock};
use super::changes::NewChange;
use super::sql::index::index_rows;
use super::sql::sort::{
    self as sort_cursor, Position, Segment, SortPlan, count_keyed_sql, keyed_page_sql,
    missing_page_sql,
};
use super::sql::{
    Ctx, KnownLayouts, PushDown, clamp, decode_cursor, dedupe, encode_cursor, has_members,
    push_down, strip_members, to_version, with_members,
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
}

struct Inner {
    writer: Mutex<Connection>,
    /// The background WAL checkpoints of a database file (`None` in memory, or when its
    /// thread could not start: SQLite then checkpoints inside commits).
    checkpointer: Option<checkpoint::Checkpointer>,
    /// The writes waiting for the writer (see `group_commit.rs`).
    queue: group_commit::Queue,
    /// `None` for an in-memory database, whose only connection is the writer.
    readers: Option<Readers>,
    /// The `attr_index` layouts known to be current (see [`ensure_layout`]).
    layouts: KnownLayouts,
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
        match &self.readers {
            Some(readers) => readers.with(f),
            None => f(&mut lock(&self.writer)),
        }
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer, shared with the other
    /// writes queued meanwhile (each in its own savepoint, see `group_commit.rs`); returns
    /// once that transaction committed (or `f` failed).
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        group_commit::write(&self.writer, &self.queue, f, |conn| {
            if let Some(c) = &self.checkpointer {
                c.after_commit(conn);
            }
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
        let checkpointer = checkpoint::Checkpointer::start(path);
        if checkpointer.is_some() {
            pool::defer_checkpoints(&writer)?;
        }
        Ok(SqliteStorage {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                checkpointer,
                queue: group_commit::Queue::default(),
                readers: Some(Readers::new(path.to_path_buf())),
                layouts: KnownLayouts::default(),
            }),
            inline_point_reads: true,
        })
    }

    /// A private in-memory database (for tests); it disappears with the last clone.
    pub fn open_in_memory() -> Result<SqliteStorage, StorageError> {
        let mut conn = pool::open_memory()?;
        schema::migrate(&mut conn)?;
        Ok(SqliteStorage {
            inner: Arc::new(Inner {
                writer: Mutex::new(conn),
                checkpointer: None,
                queue: group_commit::Queue::default(),
                readers: None,
                layouts: KnownLayouts::default(),
            }),
            inline_point_reads: false,
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
    /// `items` is consumed lazily on a blocking thread, so a large load need not be held in
    /// memory at once.
    pub async fn create_many<I>(&self, scope: Scope<'_>, items: I) -> Result<u64, StorageError>
    where
        I: IntoIterator<Item = NewResource> + Send + 'static,
    {
        let ctx = self.inner.layouts.ctx(scope);
        self.ensure_index(&ctx).await?;
        self.blocking(move |inner| {
            inner.write(move |tx| {
                let mut created = Vec::new();
                for new in items {
                    let id = insert_resource(tx, &ctx, new)?.id;
                    created.push(NewChange::new(&ctx.rtype, id, ChangeKind::Created, 1));
                }
                changes::append(tx, &ctx.tenant, &created)?;
                Ok(created.len() as u64)
            })
        })
        .await
    }

    /// Rebuilds the `attr_index` rows of `ctx`'s resource type if they were written with
    /// another layout (see [`ensure_layout`]); a no-op after the first call per type.
    async fn ensure_index(&self, ctx: &Ctx) -> Result<(), StorageError> {
        let Some(wanted) = self.inner.layouts.stale(ctx) else {
            return Ok(());
        };
        let ctx = ctx.clone();
        self.blocking(move |inner| {
            let (c, w) = (ctx.clone(), wanted.clone());
            inner.write(move |tx| ensure_layout(tx, &c, &w))?;
            inner.layouts.mark_current(&ctx.rtype, wanted);
            Ok(())
        })
        .await
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
    /// read itself, and on the GET-by-id path it was most of the cost. Other queries, reads
    /// with members (a group's members can be many) and writes (which wait for the write lock
    /// and sync the WAL) always run on the blocking pool. Turn this off when the file lives
    /// on storage where one read can take long (a network file system, a cold disk).
    pub fn inline_point_reads(mut self, on: bool) -> Self {
        self.inline_point_reads = on && self.inner.readers.is_some();
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
        self.blocking(move |inner| {
            inner.write(move |tx| {
                let resource = strip_members(replacement.resource, &ctx);
                let json = to_json(&resource)?;
                let (seq, version, _) = bump(tx, &ctx, &id, Some(&json), expected_version)?;
                tx.prepare_cached("DELETE FROM unique_values WHERE seq = ?1")
                    .and_then(|mut s| s.execute([seq]))
                    .map_err(backend_err)?;
                insert_unique(tx, &ctx, seq, &replacement.unique)?;
                tx.prepare_cached("DELETE FROM attr_index WHERE seq = ?1")
                    .and_then(|mut s| s.execute([seq]))
                    .map_err(backend_err)?;
                insert_rows(tx, &ctx.tenant, &ctx, seq, &resource)?;
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
        })
        .await
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

// ---------------------------------------------------------------------------------------
// Rows

fn parse_json(json: &str) -> Result<Resource, StorageError> {
    let map: Map<String, Value> = serde_json::from_str(json)
        .map_err(|e| StorageError::backend(format!("sqlite: corrupt resource JSON: {e}")))?;
    Ok(Resource::from(map))
}

fn to_json(resource: &Resource) -> Result<String, StorageError> {
    serde_json::to_string(resource.as_map())
        .map_err(|e| StorageError::backend(format!("sqlite: cannot serialise a resource: {e}")))
}

/// The most members whose groups [`Storage::groups_of_many`] reads as a point read (see
/// [`SqliteStorage::inline_point_reads`]): one index probe each.
const POINT_READ_MEMBERS: usize = 10;

/// Is `query` a lookup by one value of a unique attribute (`userName eq "x"`, `id eq "x"`:
/// RFC 7643 §2.1 `uniqueness` `server` or `global`, single-valued)? It then reads at most a
/// handful of rows through one index probe, so it runs as a point read.
fn is_unique_lookup(schema: &ResourceSchema, query: &StorageQuery<'_>) -> bool {
    let Some(Filter::Compare {
        path,
        op: CompareOp::Eq,
        value: CompValue::String(_),
    }) = query.filter
    else {
        return false;
    };
    query.sort.is_none()
        && schema.resolve(path).is_some_and(|r| {
            r.sub_attribute.is_none()
                && !r.attribute.multi_valued
                && r.attribute.uniqueness != Uniqueness::None
        })
}

/// What [`read_resource`] reads: one resource of one tenant and type, owned so that it can
/// move to a blocking thread.
struct ResourceKey {
    tenant: String,
    rtype: String,
    id: String,
    with_members: bool,
}

impl ResourceKey {
    fn new(scope: Scope<'_>, id: &str, load: Load) -> Self {
        ResourceKey {
            tenant: scope.tenant.as_str().to_string(),
            rtype: scope.resource_type().to_string(),
            id: id.to_string(),
            with_members: load.members && has_members(scope.schema),
        }
    }
}

/// One resource (with its members when asked and the type has them); `NotFound` when absent.
fn read_resource(conn: &Connection, key: &ResourceKey) -> Result<StoredResource, StorageError> {
    let row: Option<(i64, i64, String)> = conn
        .prepare_cached(
            "SELECT seq, version, json FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![key.tenant, key.rtype, key.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(backend_err)?;
    let Some((seq, version, json)) = row else {
        return Err(StorageError::not_found(&key.id));
    };
    let mut resource = parse_json(&json)?;
    if key.with_members {
        resource = with_members(resource, &load_members(conn, seq)?);
    }
    Ok(StoredResource {
        id: key.id.clone(),
        version: to_version(version),
        resource,
    })
}

/// The groups of the tenant that have `member_id` as a direct member, oldest first.
fn read_groups_of(
    conn: &Connection,
    tenant: &str,
    member_id: &str,
) -> Result<Vec<GroupRef>, StorageError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT r.id, r.rtype, r.json FROM members m \
             JOIN resources r ON r.seq = m.group_seq \
             WHERE m.tenant = ?1 AND m.member_id = ?2 AND r.tenant = ?1 \
             ORDER BY r.seq",
        )
        .map_err(backend_err)?;
    let rows = stmt
        .query_map(params![tenant, member_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(backend_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend_err)?;
    rows.into_iter()
        .map(|(id, rtype, json)| {
            let display = parse_json(&json)?
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_string);
            Ok(GroupRef {
                id,
                resource_type: rtype,
                display,
            })
        })
        .collect()
}

fn load_members(conn: &Connection, seq: i64) -> Result<Vec<Member>, StorageError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT member_id, kind, display FROM members WHERE group_seq = ?1 ORDER BY rowid",
        )
        .map_err(backend_err)?;
    let rows = stmt
        .query_map([seq], |r| {
            Ok(Member {
                value: r.get(0)?,
                kind: r.get(1)?,
                display: r.get(2)?,
            })
        })
        .map_err(backend_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend_err)
}

fn insert_members(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    members: &[Member],
) -> Result<usize, StorageError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO members (group_seq, tenant, member_id, kind, display) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (group_seq, member_id) DO NOTHING",
        )
        .map_err(backend_err)?;
    let mut inserted = 0;
    for m in members {
        inserted += stmt
            .execute(params![seq, ctx.tenant, m.value, m.kind, m.display])
            .map_err(backend_err)?;
    }
    Ok(inserted)
}

fn insert_unique(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    keys: &[UniqueKey],
) -> Result<(), StorageError> {
    let keys: BTreeSet<&UniqueKey> = keys.iter().collect();
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO unique_values (tenant, rtype, attribute, value, seq) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(backend_err)?;
    for k in keys {
        match stmt.execute(params![ctx.tenant, ctx.rtype, k.attribute, k.value, seq]) {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StorageError::uniqueness(&k.attribute));
            }
            Err(e) => return Err(backend_err(e)),
        }
    }
    Ok(())
}

/// Inserts the `attr_index` rows of one resource of `tenant` (and `ctx`'s resource type).
fn insert_rows(
    tx: &Transaction<'_>,
    tenant: &str,
    ctx: &Ctx,
    seq: i64,
    resource: &Resource,
) -> Result<(), StorageError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO attr_index (tenant, rtype, path, value_norm, value_num, skey, seq, \
             elem) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(backend_err)?;
    for row in index_rows(&ctx.paths, &ctx.schema, resource) {
        stmt.execute(params![
            tenant,
            ctx.rtype,
            row.key,
            row.norm,
            row.num.map(|n| n.0),
            row.skey,
            seq,
            row.elem
        ])
        .map_err(backend_err)?;
    }
    Ok(())
}

/// Makes the `attr_index` rows of `ctx`'s resource type (in every tenant) follow `layout`
/// (see `index_layouts` in `schema.rs`): when the recorded layout differs or is missing
/// (a database migrated from version 1, or a schema whose indexed paths or `caseExact`
/// changed), the rows are rebuilt from the stored JSON, in this one write transaction.
/// Returns whether it rebuilt.
fn ensure_layout(tx: &Transaction<'_>, ctx: &Ctx, layout: &str) -> Result<bool, StorageError> {
    let current: Option<String> = tx
        .prepare_cached("SELECT layout FROM index_layouts WHERE rtype = ?1")
        .and_then(|mut s| s.query_row([&ctx.rtype], |r| r.get(0)).optional())
        .map_err(backend_err)?;
    if current.as_deref() == Some(layout) {
        return Ok(false);
    }
    tx.execute("DELETE FROM attr_index WHERE rtype = ?1", [&ctx.rtype])
        .map_err(backend_err)?;
    {
        let mut select = tx
            .prepare("SELECT seq, tenant, json FROM resources WHERE rtype = ?1")
            .map_err(backend_err)?;
        let mut rows = select.query([&ctx.rtype]).map_err(backend_err)?;
        while let Some(row) = rows.next().map_err(backend_err)? {
            let seq: i64 = row.get(0).map_err(backend_err)?;
            let tenant: String = row.get(1).map_err(backend_err)?;
            let json: String = row.get(2).map_err(backend_err)?;
            insert_rows(tx, &tenant, ctx, seq, &parse_json(&json)?)?;
        }
    }
    tx.execute(
        "INSERT INTO index_layouts (rtype, layout) VALUES (?1, ?2) \
         ON CONFLICT (rtype) DO UPDATE SET layout = excluded.layout",
        params![ctx.rtype, layout],
    )
    .map_err(backend_err)?;
    Ok(true)
}

fn insert_resource(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    new: NewResource,
) -> Result<StoredResource, StorageError> {
    let resource = strip_members(new.resource, ctx);
    let json = to_json(&resource)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO resources (tenant, rtype, id, version, json) VALUES (?1, ?2, ?3, 1, ?4)",
        )
        .and_then(|mut s| s.execute(params![ctx.tenant, ctx.rtype, new.id, json]));
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(StorageError::new(
                StorageErrorKind::IdTaken,
                format!("a resource with id {} already exists", new.id),
            ));
        }
        Err(e) => return Err(backend_err(e)),
    }
    let seq = tx.last_insert_rowid();
    insert_unique(tx, ctx, seq, &new.unique)?;
    insert_rows(tx, &ctx.tenant, ctx, seq, &resource)?;
    let members = dedupe(new.members);
    insert_members(tx, ctx, seq, &members)?;
    let resource = if ctx.has_members {
        with_members(resource, &members)
    } else {
        resource
    };
    Ok(StoredResource {
        id: new.id,
        version: 1,
        resource,
    })
}

/// Bumps the version of `id` (checking `expected` in the same statement) and optionally sets
/// its JSON; returns `(seq, new version, json)`. `NotFound` / `VersionMismatch` otherwise.
fn bump(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
    json: Option<&str>,
    expected: Option<u64>,
) -> Result<(i64, u64, String), StorageError> {
    let expected = expected.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    let row = tx
        .prepare_cached(
            "UPDATE resources SET version = version + 1, json = coalesce(?4, json) \
             WHERE tenant = ?1 AND rtype = ?2 AND id = ?3 AND (?5 IS NULL OR version = ?5) \
             RETURNING seq, version, json",
        )
        .and_then(|mut s| {
            s.query_row(params![ctx.tenant, ctx.rtype, id, json, expected], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()
        })
        .map_err(backend_err)?;
    match row {
        Some((seq, v, json)) => Ok((seq, to_version(v), json)),
        None => Err(not_found_or_mismatch(tx, ctx, id)?),
    }
}

/// The row of `id` as `(seq, version, json)`, checking `expected` (in the write's
/// transaction). `NotFound` / `VersionMismatch` otherwise.
fn current_row(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
    expected: Option<u64>,
) -> Result<(i64, u64, String), StorageError> {
    let row = tx
        .prepare_cached(
            "SELECT seq, version, json FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![ctx.tenant, ctx.rtype, id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()
        })
        .map_err(backend_err)?;
    let Some((seq, version, json)) = row else {
        return Err(StorageError::not_found(id));
    };
    let version = to_version(version);
    match expected {
        Some(v) if v != version => Err(StorageError::version_mismatch(version)),
        _ => Ok((seq, version, json)),
    }
}

/// Applies a membership change to the group at `seq`; returns whether it changed anything
/// (member ids compare exactly, as the `members` key does).
fn apply_members_change(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    change: MembersChange,
) -> Result<bool, StorageError> {
    Ok(match change {
        MembersChange::Add(members) => insert_members(tx, ctx, seq, &members)? > 0,
        MembersChange::Remove(ids) => {
            let mut stmt = tx
                .prepare_cached("DELETE FROM members WHERE group_seq = ?1 AND member_id = ?2")
                .map_err(backend_err)?;
            let mut removed = 0;
            for m in ids {
                removed += stmt.execute(params![seq, m]).map_err(backend_err)?;
            }
            removed > 0
        }
        MembersChange::Replace(members) => {
            let members = dedupe(members);
            if load_members(tx, seq)? == members {
                false
            } else {
                tx.prepare_cached("DELETE FROM members WHERE group_seq = ?1")
                    .and_then(|mut s| s.execute([seq]))
                    .map_err(backend_err)?;
                insert_members(tx, ctx, seq, &members)?;
                true
            }
        }
    })
}

/// The groups of many members at once: `?1` the tenant, `?2` the member ids as a JSON array.
/// The `members_member` index is probed once per id.
const GROUPS_OF_MANY: &str = "SELECT m.member_id, r.id, r.rtype, r.json FROM members m \
     JOIN resources r ON r.seq = m.group_seq \
     WHERE m.tenant = ?1 AND r.tenant = ?1 AND m.member_id IN \
     (SELECT value FROM json_each(?2)) \
     ORDER BY r.seq";

fn not_found_or_mismatch(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
) -> Result<StorageError, StorageError> {
    let current: Option<i64> = tx
        .prepare_cached(
            "SELECT version FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![ctx.tenant, ctx.rtype, id], |r| r.get(0))
                .optional()
        })
        .map_err(backend_err)?;
    Ok(match current {
        Some(v) => StorageError::version_mismatch(to_version(v)),
        None => StorageError::not_found(id),
    })
}

// ---------------------------------------------------------------------------------------
// Cursors

/// The tag of this backend's cursors (so that another backend's cursor is not taken for one).
const CURSOR_TAG: &str = "sq1";

// ---------------------------------------------------------------------------------------
// Queries

/// The WHERE condition of a query over `resources r`. With a filter, the unary `+` keeps
/// SQLite from walking the scope index: the matches come from the `attr_index` set and are
/// looked up by rowid.
fn condition(set: Option<&SetSql>) -> String {
    match set {
        Some(s) => format!("+r.tenant = ?1 AND +r.rtype = ?2 AND r.seq IN ({})", s.sql),
        None => "r.tenant = ?1 AND r.rtype = ?2".to_string(),
    }
}

fn run_query(
    conn: &mut Connection,
    ctx: &Ctx,
    set: Option<&SetSql>,
    sort: Option<&SortPlan>,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<QueryPage, StorageError> {
    // One read transaction: the count and the page see the same snapshot.
    let tx = conn.transaction().map_err(backend_err)?;
    let mut args: Vec<rusqlite::types::Value> =
        vec![ctx.tenant.clone().into(), ctx.rtype.clone().into()];
    if let Some(s) = set {
        args.extend(s.params.iter().cloned());
    }
    let (rows, next_cursor) = match sort {
        Some(sort) => sorted_rows(&tx, set, &args, sort, page, fingerprint)?,
        None => unsorted_rows(&tx, set, args, page, fingerprint)?,
    };
    let mut resources = Vec::with_capacity(rows.page.len());
    for (seq, id, version, json) in rows.page {
        let mut resource = parse_json(&json)?;
        if load.members && ctx.has_members {
            resource = with_members(resource, &load_members(&tx, seq)?);
        }
        resources.push(StoredResource {
            id,
            version: to_version(version),
            resource,
        });
    }
    tx.commit().map_err(backend_err)?;
    Ok(QueryPage {
        resources,
        total_results: to_version(rows.total),
        next_cursor,
    })
}

/// The rows of a query in creation order (`seq`), and the next cursor.
fn unsorted_rows(
    tx: &Transaction<'_>,
    set: Option<&SetSql>,
    mut args: Vec<rusqlite::types::Value>,
    page: &StoragePage,
    fingerprint: u64,
) -> Result<(Rows, Option<String>), StorageError> {
    let after = match page {
        StoragePage::Cursor { after, .. } => Some(match after {
            Some(c) => decode_cursor(CURSOR_TAG, c, fingerprint)?,
            None => 0,
        }),
        StoragePage::Offset { .. } => None,
    };
    let limit = match page {
        StoragePage::Offset { limit, .. } | StoragePage::Cursor { limit, .. } => *limit,
    };
    let mut rows = match set {
        Some(s) => filtered_rows(tx, s, &args, page, after)?,
        None => unfiltered_rows(tx, &mut args, page, after)?,
    };
    let mut next_cursor = None;
    if let Some(after_seq) = after {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if rows.page.len() > limit {
            rows.page.truncate(limit);
            let last = rows.page.last().map_or(after_seq, |r| r.0);
            next_cursor = Some(encode_cursor(CURSOR_TAG, last, fingerprint));
        }
    }
    Ok((rows, next_cursor))
}

/// The rows of a sorted query (see [`crate::storage::sql::sort`]): the count of the
/// matches and of those with a sort key, then the page read from the keyed segment and the
/// segment without keys in the order of `sortOrder`, each an ordered `LIMIT` / `OFFSET`
/// (or keyset, with a cursor) over the index.
fn sorted_rows(
    tx: &Transaction<'_>,
    set: Option<&SetSql>,
    base: &[rusqlite::types::Value],
    sort: &SortPlan,
    page: &StoragePage,
    fingerprint: u64,
) -> Result<(Rows, Option<String>), StorageError> {
    use rusqlite::types::Value as V;
    let set_sql = set.map(|s| s.sql.as_str());
    let count = |sql: &str, args: &[V]| -> Result<i64, StorageError> {
        tx.prepare_cached(sql)
            .and_then(|mut st| st.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0)))
            .map_err(backend_err)
    };
    let total = match set {
        Some(s) => count(&format!("SELECT count(*) FROM ({})", matches_sql(s)), base)?,
        None => count(
            &format!("SELECT count(*) FROM resources r WHERE {}", condition(None)),
            &base[..2],
        )?,
    };
    let first = base.len() + 1;
    let mut with_path = base.to_vec();
    with_path.push(V::Text(sort.path.clone()));
    let keyed = count(&count_keyed_sql::<Sqlite>(set_sql, first), &with_path)?;
    let segments = sort.segments();
    let size = |seg: Segment| match seg {
        Segment::Keyed => keyed,
        Segment::Missing => total - keyed,
    };
    // (segment index, seq, key)
    let fetch = |i: usize, limit: i64, offset: i64, after: Option<&Position>| {
        let mut args = with_path.clone();
        args.push(V::Integer(limit));
        args.push(V::Integer(offset));
        let sql = match segments[i] {
            Segment::Keyed => {
                if let Some(a) = after {
                    args.push(V::Blob(a.key.clone().unwrap_or_default()));
                    args.push(V::Integer(a.seq));
                }
                keyed_page_sql::<Sqlite>(set_sql, sort.desc, after.is_some(), first)
            }
            Segment::Missing => {
                if let Some(a) = after {
                    args.push(V::Integer(a.seq));
                }
                missing_page_sql::<Sqlite>(set_sql, after.is_some(), first)
            }
        };
        let mut stmt = tx.prepare_cached(&sql).map_err(backend_err)?;
        let keyed = segments[i] == Segment::Keyed;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok(Position {
                    segment: i,
                    seq: r.get(0)?,
                    key: if keyed { r.get(1)? } else { None },
                })
            })
            .map_err(backend_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend_err)
    };
    let mut out: Vec<Position> = Vec::new();
    let mut next_cursor = None;
    match page {
        StoragePage::Offset { offset, limit } => {
            let mut skip = clamp(*offset);
            let mut need = clamp(*limit);
            for (i, seg) in segments.iter().enumerate() {
                let n = size(*seg);
                if need <= 0 {
                    break;
                }
                if skip >= n {
                    skip -= n;
                    continue;
                }
                let got = fetch(i, need, skip, None)?;
                skip = 0;
                need -= i64::try_from(got.len()).unwrap_or(i64::MAX);
                out.extend(got);
            }
        }
        StoragePage::Cursor { after, limit } => {
            let pos = match after {
                Some(c) => Some(sort_cursor::decode_cursor(CURSOR_TAG, c, fingerprint)?),
                None => None,
            };
            let start = pos.as_ref().map_or(0, |p| p.segment);
            let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
            let mut need = limit.saturating_add(1);
            for (i, seg) in segments.iter().enumerate().skip(start) {
                if need == 0 {
                    break;
                }
                if size(*seg) == 0 {
                    continue;
                }
                let after = pos.as_ref().filter(|p| p.segment == i);
                let got = fetch(i, clamp(need as u64), 0, after)?;
                need -= got.len().min(need);
                out.extend(got);
            }
            if out.len() > limit {
                out.truncate(limit);
                next_cursor = out
                    .last()
                    .map(|p| sort_cursor::encode_cursor(CURSOR_TAG, p, fingerprint));
            }
        }
    }
    let mut stmt = tx
        .prepare_cached("SELECT r.id, r.version, r.json FROM resources r WHERE r.seq = ?1")
        .map_err(backend_err)?;
    let mut rows = Vec::with_capacity(out.len());
    for p in out {
        let (id, version, json) = stmt
            .query_row([p.seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(backend_err)?;
        rows.push((p.seq, id, version, json));
    }
    Ok((Rows { total, page: rows }, next_cursor))
}

/// The count of a query's matches and its page (`(seq, id, version, json)`; with cursor
/// paging, one row more than the page when there is a next page).
struct Rows {
    total: i64,
    page: Vec<(i64, String, i64, String)>,
}

/// The page size as a `usize`, plus one with cursor paging (to tell whether there is a
/// next page).
fn fetch_size(page: &StoragePage) -> usize {
    match page {
        StoragePage::Offset { limit, .. } => usize::try_from(*limit).unwrap_or(usize::MAX),
        StoragePage::Cursor { limit, .. } => usize::try_from(*limit)
            .unwrap_or(usize::MAX)
            .saturating_add(1),
    }
}

/// The statement listing the distinct matching `seq`s of a filter in order. It reads
/// `attr_index` only: its rows of the scope (tenant and resource type, parameters 1 and 2)
/// are written with their resource, in the same transaction, and go with it (`ON DELETE
/// CASCADE`, `foreign_keys=ON`), so each `seq` is a resource of the scope and a join with
/// `resources` (one lookup per match) would change nothing.
fn matches_sql(set: &SetSql) -> String {
    format!("SELECT DISTINCT seq FROM ({}) ORDER BY seq", set.sql)
}

/// A filtered query: the matching `seq`s are computed ONCE, in order (the translated set,
/// whatever it costs, is evaluated by one statement, not once for the count and again for
/// the page); the count is their number and the page a slice of them, read by `seq`.
fn filtered_rows(
    tx: &Transaction<'_>,
    set: &SetSql,
    args: &[rusqlite::types::Value],
    page: &StoragePage,
    after: Option<i64>,
) -> Result<Rows, StorageError> {
    let seqs: Vec<i64> = {
        let mut stmt = tx.prepare_cached(&matches_sql(set)).map_err(backend_err)?;
        let it = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))
            .map_err(backend_err)?;
        it.collect::<Result<_, _>>().map_err(backend_err)?
    };
    let start = match (page, after) {
        (_, Some(after_seq)) => seqs.partition_point(|s| *s <= after_seq),
        (StoragePage::Offset { offset, .. }, None) => usize::try_from(*offset)
            .unwrap_or(usize::MAX)
            .min(seqs.len()),
        (StoragePage::Cursor { .. }, None) => 0,
    };
    let end = start.saturating_add(fetch_size(page)).min(seqs.len());
    let mut stmt = tx
        .prepare_cached("SELECT r.id, r.version, r.json FROM resources r WHERE r.seq = ?1")
        .map_err(backend_err)?;
    let mut rows = Vec::with_capacity(end - start);
    for &seq in seqs.get(start..end).unwrap_or_default() {
        let (id, version, json) = stmt
            .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(backend_err)?;
        rows.push((seq, id, version, json));
    }
    Ok(Rows {
        total: i64::try_from(seqs.len()).unwrap_or(i64::MAX),
        page: rows,
    })
}

/// A query without a filter: `COUNT(*)` and `LIMIT` over the scope index.
fn unfiltered_rows(
    tx: &Transaction<'_>,
    args: &mut Vec<rusqlite::types::Value>,
    page: &StoragePage,
    after: Option<i64>,
) -> Result<Rows, StorageError> {
    let cond = condition(None);
    let total: i64 = tx
        .prepare_cached(&format!("SELECT count(*) FROM resources r WHERE {cond}"))
        .and_then(|mut s| s.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0)))
        .map_err(backend_err)?;
    let n = args.len();
    let sql = match (page, after) {
        (StoragePage::Offset { offset, .. }, _) => {
            args.push(clamp(fetch_size(page) as u64).into());
            args.push(clamp(*offset).into());
            format!(
                "SELECT r.seq, r.id, r.version, r.json FROM resources r WHERE {cond} \
                 ORDER BY r.seq LIMIT ?{} OFFSET ?{}",
                n + 1,
                n + 2
            )
        }
        (StoragePage::Cursor { .. }, after_seq) => {
            args.push(after_seq.unwrap_or(0).into());
            args.push(clamp(fetch_size(page) as u64).into());
            format!(
                "SELECT r.seq, r.id, r.version, r.json FROM resources r WHERE {cond} \
                 AND r.seq > ?{} ORDER BY r.seq LIMIT ?{}",
                n + 1,
                n + 2
            )
        }
    };
    let mut stmt = tx.prepare_cached(&sql).map_err(backend_err)?;
    let it = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(backend_err)?;
    let page = it.collect::<Result<Vec<_>, _>>().map_err(backend_err)?;
    Ok(Rows { total, page })
}

// ---------------------------------------------------------------------------------------
// The trait

#[async_trait]
impl Storage for SqliteStorage {
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        let paths = self.inner.layouts.paths(schema);
        super::sql::filter::can_filter_with::<Sqlite>(schema, &paths, filter)
    }

    fn can_sort(&self, schema: &ResourceSchema, sort: &SortSpec) -> bool {
        super::sql::can_sort(schema, sort)
    }

    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.inner.layouts.ctx(scope);
        self.ensure_index(&ctx).await?;
        self.blocking(move |inner| {
            inner.write(move |tx| {
                let out = insert_resource(tx, &ctx, new)?;
                let change = NewChange::new(&ctx.rtype, &out.id, ChangeKind::Created, 1);
                changes::append(tx, &ctx.tenant, &[change])?;
                Ok(out)
            })
        })
        .await
    }

    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError> {
        let key = ResourceKey::new(scope, id, load);
        let with_members = key.with_members;
        let read = move |inner: &Inner| inner.read(|conn| read_resource(conn, &key));
        if with_members {
            self.blocking(read).await
        } else {
            self.point_read(read).await
        }
    }

    async fn get_with_groups(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<(StoredResource, Vec<GroupRef>), StorageError> {
        let key = ResourceKey::new(scope, id, load);
        // One call and one read transaction: the resource and its groups come from the same
        // snapshot.
        let with_members = key.with_members;
        let read = move |inner: &Inner| {
            inner.read(|conn| {
                let tx = conn.transaction().map_err(backend_err)?;
                let stored = read_resource(&tx, &key)?;
                let groups = read_groups_of(&tx, &key.tenant, &key.id)?;
                tx.commit().map_err(backend_err)?;
                Ok((stored, groups))
            })
        };
        if with_members {
            self.blocking(read).await
        } else {
            self.point_read(read).await
        }
    }

    async fn replace(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.replace_as(
            scope,
            id,
            replacement,
            expected_version,
            ChangeKind::Replaced,
        )
        .await
    }

    async fn replace_after_patch(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.replace_as(
            scope,
            id,
            replacement,
            expected_version,
            ChangeKind::Modified,
        )
        .await
    }

    async fn changes_since(
        &self,
        tenant: &TenantId,
        since: u64,
        limit: usize,
    ) -> Result<Vec<ChangeRecord>, StorageError> {
        let tenant = tenant.clone();
        self.blocking(move |inner| inner.read(|conn| changes::since(conn, &tenant, since, limit)))
            .await
    }

    async fn last_change(&self, tenant: &TenantId) -> Result<u64, StorageError> {
        let tenant = tenant.as_str().to_string();
        self.point_read(move |inner| inner.read(|conn| changes::last(conn, &tenant)))
            .await
    }

    async fn prune_changes(&self, tenant: &TenantId, through: u64) -> Result<u64, StorageError> {
        let tenant = tenant.as_str().to_string();
        self.blocking(move |inner| inner.write(move |tx| changes::prune(tx, &tenant, through)))
            .await
    }

    async fn delete(
        &self,
        scope: Scope<'_>,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StorageError> {
        let ctx = self.inner.layouts.ctx(scope);
        let id = id.to_string();
        self.blocking(move |inner| {
            inner.write(move |tx| {
                let expected = expected_version.map(clamp);
                let deleted: Option<i64> = tx
                    .prepare_cached(
                        "DELETE FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3 \
                         AND (?4 IS NULL OR version = ?4) RETURNING version",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![ctx.tenant, ctx.rtype, id, expected], |r| r.get(0))
                            .optional()
                    })
                    .map_err(backend_err)?;
                let Some(version) = deleted else {
                    return Err(not_found_or_mismatch(tx, &ctx, &id)?);
                };
                let mut feed = vec![NewChange::new(
                    &ctx.rtype,
                    &id,
                    ChangeKind::Deleted,
                    to_version(version),
                )];
                // unique_values, attr_index and the resource's own members went with it
                // (ON DELETE CASCADE). Now its membership in every group of the tenant.
                // Those groups change: version and meta.lastModified.
                let groups = tx
                    .prepare_cached(
                        "SELECT seq, json, rtype, id FROM resources WHERE seq IN \
                         (SELECT group_seq FROM members WHERE tenant = ?1 AND member_id = ?2) \
                         ORDER BY seq",
                    )
                    .and_then(|mut s| {
                        s.query_map(params![ctx.tenant, id], |r| {
                            Ok((
                                r.get::<_, i64>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, String>(3)?,
                            ))
                        })?
                        .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(backend_err)?;
                if !groups.is_empty() {
                    let now = last_modified_now();
                    let mut touch = tx
                        .prepare_cached(
                            "UPDATE resources SET version = version + 1, json = ?2 WHERE seq = ?1 \
                             RETURNING version",
                        )
                        .map_err(backend_err)?;
                    for (seq, json, grtype, gid) in groups {
                        let mut group = parse_json(&json)?;
                        touch_last_modified(&mut group, &now);
                        let version: i64 = touch
                            .query_row(params![seq, to_json(&group)?], |r| r.get(0))
                            .map_err(backend_err)?;
                        feed.push(NewChange::new(
                            grtype,
                            gid,
                            ChangeKind::Members,
                            to_version(version),
                        ));
                    }
                }
                tx.prepare_cached("DELETE FROM members WHERE tenant = ?1 AND member_id = ?2")
                    .and_then(|mut s| s.execute(params![ctx.tenant, id]))
                    .map_err(backend_err)?;
                changes::append(tx, &ctx.tenant, &feed)
            })
        })
        .await
    }

    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        let ctx = self.inner.layouts.ctx(scope);
        let PushDown {
            set,
            sort,
            fingerprint,
        } = push_down::<Sqlite>(scope.schema, &ctx, &query)?;
        if set.is_some() || sort.is_some() {
            self.ensure_index(&ctx).await?;
        }
        let point =
            is_unique_lookup(scope.schema, &query) && !(query.load.members && ctx.has_members);
        let page = query.page.clone();
        let load = query.load;
        let run = move |inner: &Inner| {
            inner.read(|conn| {
                run_query(
                    conn,
                    &ctx,
                    set.as_ref(),
                    sort.as_ref(),
                    &page,
                    load,
                    fingerprint,
                )
            })
        };
        if point {
            self.point_read(run).await
        } else {
            self.blocking(run).await
        }
    }

    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        change: MembersChange,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.inner.layouts.ctx(scope);
        let id = id.to_string();
        self.blocking(move |inner| {
            inner.write(move |tx| {
                let (seq, version, json) = current_row(tx, &ctx, &id, expected_version)?;
                if !apply_members_change(tx, &ctx, seq, change)? {
                    // RFC 7644 §3.5.2.1: nothing changed, so no new version or lastModified.
                    return Ok(StoredResource {
                        id,
                        version,
                        resource: parse_json(&json)?,
                    });
                }
                // The membership is part of the group: its meta.lastModified changes too.
                let mut resource = parse_json(&json)?;
                touch_last_modified(&mut resource, &last_modified_now());
                let (_, version, _) =
                    bump(tx, &ctx, &id, Some(&to_json(&resource)?), Some(version))?;
                let change = NewChange::new(&ctx.rtype, &id, ChangeKind::Members, version);
                changes::append(tx, &ctx.tenant, &[change])?;
                Ok(StoredResource {
                    id,
                    version,
                    resource,
                })
            })
        })
        .await
    }

    /// One query: the members index probed for every id (`IN` over a JSON array, so one
    /// cached statement serves every page size), joined to the groups.
    async fn groups_of_many(
        &self,
        tenant: &TenantId,
        member_ids: &[&str],
    ) -> Result<HashMap<String, Vec<GroupRef>>, StorageError> {
        let mut out: HashMap<String, Vec<GroupRef>> = member_ids
            .iter()
            .map(|id| ((*id).to_string(), Vec::new()))
            .collect();
        if member_ids.is_empty() {
            return Ok(out);
        }
        let tenant = tenant.as_str().to_string();
        let ids = serde_json::to_string(member_ids)
            .map_err(|e| StorageError::backend(format!("sqlite: member ids: {e}")))?;
        let read = move |inner: &Inner| {
            inner.read(|conn| {
                let mut stmt = conn.prepare_cached(GROUPS_OF_MANY).map_err(backend_err)?;
                stmt.query_map(params![tenant, ids], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .map_err(backend_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend_err)
            })
        };
        // The groups of a few members (the page of a lookup) are a few index probes: a point
        // read.
        let rows = if member_ids.len() <= POINT_READ_MEMBERS {
            self.point_read(read).await?
        } else {
            self.blocking(read).await?
        };
        for (member, id, rtype, json) in rows {
            let display = parse_json(&json)?
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_string);
            out.entry(member).or_default().push(GroupRef {
                id,
                resource_type: rtype,
                display,
            });
        }
        Ok(out)
    }

    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StorageError> {
        let tenant = tenant.as_str().to_string();
        let member_id = member_id.to_string();
        self.point_read(move |inner| inner.read(|conn| read_groups_of(conn, &tenant, &member_id)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sql::filter::translate;
    use crate::storage::sql::index::indexed_paths;
    use crate::storage::sql::upgrade_check;
    use scim_core::builtin::user_resource_schema;

    /// Only an `eq` on a single-valued attribute with `uniqueness` server/global (RFC 7643
    /// §2.1; `userName` §4.1.1, `id` §3.1) is a point query; anything that can match many
    /// rows stays on the blocking pool.
    #[test]
    fn unique_lookups_are_point_queries() {
        let schema = user_resource_schema();
        let page = StoragePage::Offset {
            offset: 0,
            limit: 100,
        };
        let point = |text: &str| {
            let f: Filter = text.parse().unwrap();
            let q = StorageQuery {
                filter: Some(&f),
                sort: None,
                page: &page,
                load: Load::WITHOUT_MEMBERS,
            };
            is_unique_lookup(&schema, &q)
        };
        assert!(point(r#"userName eq "bjensen""#));
        assert!(point(r#"USERNAME eq "bjensen""#));
        assert!(point(r#"id eq "2819c223""#));
        for no in [
            r#"displayName eq "Babs""#,
            r#"emails.value eq "a@b""#,
            r#"externalId eq "e-1""#,
            r#"userName sw "b""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"userName eq "a" and displayName eq "b""#,
            r#"userName pr"#,
        ] {
            assert!(!point(no), "{no}");
        }
        let q = StorageQuery {
            filter: None,
            sort: None,
            page: &page,
            load: Load::WITHOUT_MEMBERS,
        };
        assert!(!is_unique_lookup(&schema, &q), "no filter: a full list");
    }

    /// The query plan of a filtered query: every resource lookup goes through an index and
    /// the `resources` table is never scanned (the 1M-users target depends on it).
    fn plan(conn: &Connection, set: &SetSql) -> String {
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT r.seq, r.id, r.version, r.json FROM resources r \
             WHERE {} ORDER BY r.seq LIMIT 100 OFFSET 0",
            condition(Some(set))
        );
        let mut args: Vec<rusqlite::types::Value> =
            vec!["t".to_string().into(), "User".to_string().into()];
        args.extend(set.params.iter().cloned());
        let mut stmt = conn.prepare(&sql).unwrap();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn filtered_queries_use_the_index_not_a_scan() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let conn = lock(&storage.inner.writer);
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        for text in [
            r#"userName eq "bjensen""#,
            r#"userName sw "bj""#,
            r#"userName eq "a" and externalId eq "b""#,
            r#"userName eq "a" or emails.value eq "b""#,
            r#"externalId pr"#,
            r#"emails[value eq "a@x.example"]"#,
            r#"emails[type eq "work" and value eq "a@x.example"]"#,
            r#"emails[type eq "work" or value sw "a"] and userName eq "a""#,
            r#"emails[type eq "work" and value co "x"]"#,
            r#"userName ew "x""#,
            r#"userName eq "a" and emails[type eq "work" and value co "x"]"#,
            r#"emails[type eq "work" and value co "x"] and (userName sw "a" or userName co "b")"#,
        ] {
            let set =
                translate::<Sqlite>(&schema, &paths, &text.parse::<Filter>().unwrap()).unwrap();
            let plan = plan(&conn, &set);
            // Every attr_index access is a search of the covering index (never the table).
            assert!(
                plan.contains("COVERING INDEX attr_index_lookup"),
                "{text}:\n{plan}"
            );
            assert!(
                !plan.lines().any(|l| l.contains("SCAN attr_index")
                    || (l.contains("attr_index") && !l.contains("COVERING INDEX"))),
                "{text}:\n{plan}"
            );
            assert!(
                !plan
                    .lines()
                    .any(|l| l.starts_with("SCAN r") || l.starts_with("SCAN resources")),
                "{text}:\n{plan}"
            );
        }
    }

    /// An indexed lookup AND-ed with a substring test inside a value path: attr_index is
    /// searched by the userName key, then by `seq` for the candidate's rows (the value path
    /// and its `co` checked per candidate); no pass over the rows of every email.
    #[test]
    fn a_cheap_conjunct_drives_the_scanning_one() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let conn = lock(&storage.inner.writer);
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        let f: Filter = r#"userName eq "x" and emails[type eq "work" and value co "y"]"#
            .parse()
            .unwrap();
        let set = translate::<Sqlite>(&schema, &paths, &f).unwrap();
        let plan = plan(&conn, &set);
        let lines: Vec<&str> = plan.lines().collect();
        // The candidates: one search of the lookup index by the userName key and value.
        let lookups: Vec<&&str> = lines
            .iter()
            .filter(|l| l.contains("attr_index_lookup"))
            .collect();
        assert_eq!(
            lookups,
            [
                &"SEARCH attr_index USING COVERING INDEX attr_index_lookup (tenant=? AND rtype=? \
               AND path=? AND value_norm=?)"
            ],
            "{plan}"
        );
        // Then the candidate's own rows, by seq: its elements, and each leaf on an element.
        let by_seq = lines
            .iter()
            .filter(|l| l.contains("USING COVERING INDEX attr_index_seq (seq=? AND path=?"))
            .count();
        assert_eq!(by_seq, 3, "{plan}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("attr_index_seq (seq=? AND path=? AND elem=?)")),
            "{plan}"
        );
        assert!(!lines.iter().any(|l| l.starts_with("SCAN")), "{plan}");
        // The statement that lists the matches (their number is totalResults, the page a
        // slice of them) uses the same form.
        let listed = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", matches_sql(&set)))
            .unwrap()
            .query_map(
                rusqlite::params_from_iter(
                    ["t", "User"]
                        .into_iter()
                        .map(|s| rusqlite::types::Value::Text(s.to_string()))
                        .chain(set.params.iter().cloned()),
                ),
                |r| r.get::<_, String>(3),
            )
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>();
        assert_eq!(
            listed
                .iter()
                .filter(|l| l.contains("attr_index_lookup"))
                .collect::<Vec<_>>(),
            lookups,
            "{listed:?}"
        );
        assert_eq!(
            listed
                .iter()
                .filter(|l| l.contains("COVERING INDEX attr_index_seq (seq=? AND path=?"))
                .count(),
            3,
            "{listed:?}"
        );
        assert!(!listed.iter().any(|l| l.starts_with("SCAN")), "{listed:?}");
    }

    /// A database written at schema version 1 (its DDL and rows, no `elem`, no
    /// `emails.type`) opened by this code is migrated to version 2 and answers value paths
    /// after its rows are rebuilt from the stored JSON.
    #[tokio::test]
    async fn a_version_1_database_is_migrated_and_answers_value_paths() {
        let dir = std::env::temp_dir().join(format!(
            "scim-sqlite-v1-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("v1.db");
        {
            let conn = Connection::open(&file).unwrap();
            conn.execute_batch(schema::VERSION_1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            for (seq, (id, json)) in upgrade_check::V1_USERS.iter().enumerate() {
                conn.execute(
                    "INSERT INTO resources (seq, tenant, rtype, id, version, json) \
                     VALUES (?1, ?2, 'User', ?3, 1, ?4)",
                    params![seq as i64 + 1, upgrade_check::TENANT, id, json],
                )
                .unwrap();
                for (path, value) in upgrade_check::v1_rows(id, json) {
                    conn.execute(
                        "INSERT INTO attr_index (tenant, rtype, path, value_norm, seq) \
                         VALUES (?1, 'User', ?2, ?3, ?4)",
                        params![upgrade_check::TENANT, path, value, seq as i64 + 1],
                    )
                    .unwrap();
                }
            }
        }
        let storage = SqliteStorage::open(&file).unwrap();
        assert_eq!(
            storage.schema_version().await.unwrap(),
            schema::SCHEMA_VERSION
        );
        upgrade_check::assert_answers_value_paths(&storage).await;
        drop(storage);
        // Reopening neither migrates nor rebuilds again.
        let again = SqliteStorage::open(&file).unwrap();
        let conn = again.inner.writer.lock().unwrap();
        let layouts: i64 = conn
            .query_row("SELECT count(*) FROM index_layouts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(layouts, 1);
        drop(conn);
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// On a file, commits do not checkpoint (`wal_autocheckpoint=0`); the background thread
    /// does, and what was written is all there after reopening.
    #[tokio::test]
    async fn checkpoints_run_in_the_background() {
        let dir = std::env::temp_dir().join(format!(
            "scim-sqlite-ckpt-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.db");
        let schema = user_resource_schema();
        let tenant = TenantId::new("t").unwrap();
        let storage = SqliteStorage::open(&file).unwrap();
        let auto: i64 = lock(&storage.inner.writer)
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(auto, 0);
        for i in 0..40 {
            let user = Resource::from_value(
                serde_json::json!({"id": format!("u{i}"), "userName": format!("user{i}")}),
            )
            .unwrap();
            let unique =
                crate::storage::unique::UniquenessPolicy::for_schema(&schema).keys(&schema, &user);
            let new = NewResource {
                id: format!("u{i}"),
                resource: user,
                members: vec![],
                unique,
            };
            storage
                .create(Scope::new(&tenant, &schema), new)
                .await
                .unwrap();
        }
        let checkpointer = storage.inner.checkpointer.as_ref().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while checkpointer.runs() == 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(checkpointer.runs() > 0);
        drop(storage);
        let again = SqliteStorage::open(&file).unwrap();
        let n: i64 = lock(&again.inner.writer)
            .query_row("SELECT count(*) FROM resources", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 40);
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn groups_of_many_probes_the_members_index() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let conn = lock(&storage.inner.writer);
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {GROUPS_OF_MANY}"))
            .unwrap();
        let plan = stmt
            .query_map(params!["t", r#"["u1","u2"]"#], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(plan.contains("members_member"), "{plan}");
        assert!(
            !plan.lines().any(|l| l.contains("SCAN m")
                || l.contains("SCAN members")
                || l.contains("SCAN r")),
            "{plan}"
        );
    }

    #[test]
    fn cursors_round_trip_and_bind_to_their_query() {
        let c = encode_cursor(CURSOR_TAG, 42, 7);
        assert!(scim_core::messages::is_unreserved(&c));
        assert_eq!(decode_cursor(CURSOR_TAG, &c, 7).unwrap(), 42);
        assert_eq!(
            decode_cursor(CURSOR_TAG, &c, 8).unwrap_err().kind(),
            &StorageErrorKind::InvalidCursor
        );
        assert!(decode_cursor(CURSOR_TAG, "", 7).is_err());
        assert!(decode_cursor(CURSOR_TAG, "%%%", 7).is_err());
    }
}
