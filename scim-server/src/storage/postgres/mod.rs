//! The PostgreSQL backend: many server processes sharing one database.
//!
//! ```no_run
//! # async fn demo() -> Result<(), scim_server::storage::StorageError> {
//! use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
//!
//! // Tables go to the schema `scim` (created if missing), migrated on connect.
//! let storage = PostgresStorage::connect("postgres://scim@127.0.0.1:5432/scim").await?;
//! // Or with explicit settings:
//! let config = PostgresConfig::new("postgres://scim@127.0.0.1:5432/scim")
//!     .schema("tenant_store")
//!     .max_connections(32);
//! let other = PostgresStorage::connect_with(config).await?;
//! // A managed server (TLS required; its certificate verified against the native roots and,
//! // here, a private CA; see `PostgresConfig` for every `sslmode`):
//! let tls = PostgresConfig::new("postgres://scim@db.example.com/scim?sslmode=require")
//!     .ca_file("/etc/scim/db-ca.pem");
//! let managed = PostgresStorage::connect_with(tls).await?;
//! # let _ = (storage, other, managed); Ok(()) }
//! ```
//!
//! # Design
//! The same as the SQLite backend's, so both SQL backends behave alike:
//! - **Tables** (see `schema.rs`): `resources` (primary key `(tenant, rtype, id)`, a
//!   `BIGSERIAL seq` that is the creation order), `unique_values` (uniqueness is a primary
//!   key: the database enforces it across connections and processes; SQLSTATE 23505 becomes
//!   `Uniqueness` naming the attribute), `attr_index` (every attribute value of every
//!   schema, typed and case folded as `sql::index` describes, each with the element it
//!   comes from, plus the sort keys) and `members` (one row per member).
//! - **Writes**: every write is one transaction (READ COMMITTED); `expected_version` is
//!   checked by the `UPDATE ... WHERE version = $n` (or `DELETE ... WHERE version = $n`) that
//!   makes the change, so the check and the write are atomic even across processes: a
//!   concurrent writer of the same row waits for the row lock and then re-checks the version.
//! - **Filters** on any attribute (every operator, `pr`, `ne`, `not`, value paths, `and` /
//!   `or`, and the membership lookups `members[value eq "<id>"]` / `groups.value eq "<id>"`
//!   through `members`) are pushed down as scans of the covering indexes
//!   `attr_index_lookup` / `attr_index_num` combined with `INTERSECT` / `UNION` / `EXCEPT`
//!   (see `sql::filter`); the few valid filters left go to the planner's bounded scan.
//!   `co` and `ew` read their candidates from in-memory 4-gram indexes kept in step with
//!   the change feed inside the query's snapshot (see `substrings.rs`), so they do not read
//!   every value of their path.
//! - **Sorting** (`sortBy` on any indexed attribute, RFC 7644 §3.4.2.3) runs in the
//!   database through `attr_index_sort`, in one REPEATABLE READ snapshot (see `sql::sort`).
//! - **Index layout**: the `attr_index` rows depend on the resource type's schema, which
//!   the database learns only from the calls. Each resource type's layout is recorded in
//!   `index_layouts`; on the first write or filtered query of a type whose recorded layout
//!   differs (after the migration to schema version 2, or a `caseExact` change), its rows
//!   are rebuilt from the stored JSON in one transaction (see `ensure_layout`).
//! - **Paging**: default order by `seq`; offset paging with `LIMIT`/`OFFSET` and the count
//!   in the same statement (one snapshot; without a filter the count is the one triggers
//!   keep per tenant and type, `resource_counts`, schema version 7; a filter that is one
//!   index range is counted by an index-only scan and paged by reading the range again in
//!   `seq` order, any other filter's matching `seq`s are computed once, in a `MATERIALIZED`
//!   CTE both read); cursors are keysets on `seq`, bound to their query. `totalResults` is
//!   always an exact count (RFC 7644 §3.4.2): the counts of filters are index-only scans,
//!   fast when the visibility map is current (`analyze` after bulk loads; autovacuum is
//!   tuned for it, schema version 5).
//! - **Membership**: adding or removing one member is one indexed row plus a version bump;
//!   reading a resource without members never touches `members`.
//! - **Batches**: the creates of a tenant and type that queue while others are being
//!   written share one transaction (group commit, `group_commit.rs`), and the GETs that
//!   queue while others are being read share one statement (`group_read.rs`). Nothing
//!   waits for a batch to fill: a request that finds a worker free runs alone, at once.
//! - **Connections**: a `deadpool-postgres` pool; every connection gets
//!   `search_path=<schema>` at start-up, and statements are prepared once per connection
//!   (the dynamic SQL of filters is not cached). All values are bound parameters; only the
//!   validated schema name is ever written into SQL.
//! - **TLS**: rustls (ring provider), as the URL's `sslmode` says: see [`PostgresConfig`].
//!
//! Limits: PostgreSQL `TEXT` cannot hold U+0000, so an id, tenant or member id containing it
//! fails with a `Backend` error (attribute values may contain it: the JSON is stored escaped
//! and indexed values are `BYTEA`).

mod batch_rows;
mod batches;
mod changes;
mod config;
mod filter_sql;
mod group_commit;
mod group_read;
mod layout;
mod query;
mod rows;
mod schema;
mod statistics;
mod storage;
mod substrings;
mod tls;

use batch_rows::{BatchError, insert_batch};
use query::*;
use rows::*;

pub use config::PostgresConfig;
pub use schema::is_valid_schema_name;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Transaction};
use scim_core::Resource;
use scim_core::filter::Filter;
use scim_core::schema::ResourceSchema;
use scim_core::sort::SortSpec;
use serde_json::{Map, Value};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{IsolationLevel, Row};

use self::changes::head_planning_generically;
use self::filter_sql::{Postgres, SetSql};
use self::layout::{RowColumns, ensure_layout};
use self::substrings::SubstringIndexes;
use super::changes::NewChange;
use super::sql::filter::Probe;
use super::sql::index::{IndexRow, index_rows};
use super::sql::path_key::{KeyGuard, PathKeys, check_owner, keyed, row_keys};
use super::sql::prepared::PreparedCreate;
use super::sql::sort::{
    self as sort_cursor, Position, Segment, SortPlan, count_keyed_sql, has_sort_keys_sql,
    keyed_page_sql, missing_page_sql, value_rows_sql,
};
use super::sql::value_order::{ColumnValue, KeySource, ValueRow, order_in_memory, page_in_memory};
use super::sql::{
    Ctx, KnownLayouts, PushDown, clamp, decode_cursor, dedupe, encode_cursor, has_members,
    no_groups, push_down, strip_members, to_version, translate_or_refuse, with_members,
};
use super::{
    ChangeKind, ChangeRecord, GroupRef, Load, Member, MembersChange, NewResource, QueryPage,
    Replacement, Scope, Storage, StorageError, StorageErrorKind, StoragePage, StorageQuery,
    StoredResource, UniqueKey, last_modified_now, touch_last_modified,
};
use crate::tenancy::TenantId;

type Param<'a> = &'a (dyn ToSql + Sync);

/// Maps a tokio-postgres error to a backend error (the message is for logs only).
pub(crate) fn pg_err(e: tokio_postgres::Error) -> StorageError {
    let message = match e.as_db_error() {
        Some(db) => format!(
            "postgres: {} ({}){}",
            db.message(),
            db.code().code(),
            db.detail().map(|d| format!(": {d}")).unwrap_or_default()
        ),
        None => format!("postgres: {e}"),
    };
    StorageError::backend(message).with_source(e)
}

/// Maps a pool error (opening a connection, TLS included) to a backend error naming every
/// cause (e.g. `error performing TLS handshake: invalid peer certificate: UnknownIssuer`);
/// none of them holds the password.
fn pool_err(e: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = cause.source();
    }
    StorageError::backend(format!("postgres pool: {msg}")).with_source(e)
}

/// The name of the unique constraint a 23505 error violated, if it is one.
fn unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    if e.code() != Some(&SqlState::UNIQUE_VIOLATION) {
        return None;
    }
    Some(e.as_db_error().and_then(|d| d.constraint()).unwrap_or(""))
}

/// The PostgreSQL storage backend. Cloning is cheap (the pool is shared).
///
/// Any number of instances, in one process or many, may use the same database and schema;
/// uniqueness, versions and every write stay consistent across them, since the database
/// enforces them.
#[derive(Clone)]
pub struct PostgresStorage {
    pool: Pool,
    schema: String,
    /// The `attr_index` layouts known to be current (see [`ensure_layout`]), shared by the
    /// clones of this handle.
    layouts: Arc<KnownLayouts>,
    /// The resources created through this handle and its clones, for `ANALYZE` after
    /// growth (see `statistics.rs`).
    growth: Arc<statistics::Growth>,
    /// The creates waiting to be written together (see `group_commit.rs`).
    creates: Arc<group_commit::Creates>,
    /// The GETs waiting to be read together (see `group_read.rs`).
    reads: Arc<group_read::Reads>,
    /// The lookups by a unique value waiting to be read together (see `group_read.rs`).
    lookups: Arc<group_read::Lookups>,
    /// The 4-gram indexes of the paths `co` / `ew` filters have read (see
    /// `substrings.rs`), shared by the clones of this handle.
    substrings: Arc<SubstringIndexes>,
    /// Whether `co` / `ew` filters read their candidates from `substrings`
    /// ([`PostgresStorage::substring_indexes`]).
    substring_indexes: bool,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("schema", &self.schema)
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PostgresStorage {
    /// Connects to `url` with the default settings ([`PostgresConfig::new`]), creating the
    /// schema and tables if they are missing.
    pub async fn connect(url: &str) -> Result<PostgresStorage, StorageError> {
        Self::connect_with(PostgresConfig::new(url)).await
    }

    /// Connects to `url` using the PostgreSQL schema `schema` (created if missing).
    pub async fn connect_with_schema(
        url: &str,
        schema: &str,
    ) -> Result<PostgresStorage, StorageError> {
        Self::connect_with(PostgresConfig::new(url).schema(schema)).await
    }

    /// Connects with `config`: builds the pool, opens one connection to check the server is
    /// reachable (with TLS as the URL's `sslmode` says, see [`PostgresConfig`]), and applies
    /// the missing migrations (under an advisory lock, so several processes may start at
    /// once).
    pub async fn connect_with(config: PostgresConfig) -> Result<PostgresStorage, StorageError> {
        if !is_valid_schema_name(&config.schema) {
            return Err(StorageError::backend(format!(
                "postgres: invalid schema name {:?} (1-63 of a-z, 0-9, _; not starting \
                 with a digit or pg_)",
                config.schema
            )));
        }
        let mut pg: tokio_postgres::Config = config
            .url
            .parse()
            .map_err(|e| StorageError::backend(format!("postgres: invalid URL: {e}")))?;
        let options = match pg.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} -c search_path={}", config.schema),
            _ => format!("-c search_path={}", config.schema),
        };
        pg.options(options);
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(config.connect_timeout);
        }
        if pg.get_application_name().is_none() {
            pg.application_name("scim-server");
        }
        // No roots to load (nor a CA file to read) for connections that never use TLS.
        let tls = match pg.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => None,
            _ => Some(tls::client_config(config.ca_file.as_deref())?),
        };
        let manager = Manager::from_connect(
            pg,
            tls::PgConnect::new(tls),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.max_connections)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(config.connect_timeout))
            .wait_timeout(Some(config.connect_timeout.saturating_mul(3)))
            .build()
            .map_err(pool_err)?;
        let storage = PostgresStorage {
            pool,
            schema: config.schema,
            layouts: Arc::default(),
            growth: Arc::default(),
            creates: group_commit::creates(),
            reads: group_read::reads(),
            lookups: group_read::lookups(),
            substrings: Arc::default(),
            substring_indexes: true,
        };
        let mut client = storage.client().await?;
        schema::migrate(&mut client, &storage.schema).await?;
        Ok(storage)
    }

    /// Whether `co` / `ew` filters (`emails[type eq "work" and value co "@example"]`) read
    /// their candidates from in-memory 4-gram indexes (on by default): one per tenant,
    /// resource type and path, built on the path's first such filter and brought up to
    /// date from the change feed inside each query's REPEATABLE READ snapshot, so they stay
    /// exact with several processes on one database, and writes pay nothing for them. They
    /// cost memory in the process that queries (about 130 bytes per 26-byte email
    /// address). Off, those filters read every value of their path. Applies to this handle
    /// (clones made after the call included).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), scim_server::storage::StorageError> {
    /// use scim_server::storage::postgres::PostgresStorage;
    ///
    /// let storage = PostgresStorage::connect("postgres://scim@localhost/scim")
    ///     .await?
    ///     .substring_indexes(false);
    /// # drop(storage);
    /// # Ok(())
    /// # }
    /// ```
    pub fn substring_indexes(mut self, on: bool) -> Self {
        self.substring_indexes = on;
        self
    }

    /// The connection pool (deadpool-postgres), for an embedder that keeps its own tables in
    /// the same database: its connections carry this storage's TLS settings and
    /// `search_path` (the storage's schema), so tables created through it live beside the
    /// storage's, and one pool serves both.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Whether the session of a pooled connection is encrypted (TLS), as the server sees it
    /// (`pg_stat_ssl`): for a health check, or to confirm what `sslmode` chose.
    pub async fn uses_tls(&self) -> Result<bool, StorageError> {
        let client = self.client().await?;
        client
            .query_one(
                "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), \
                 false)",
                &[],
            )
            .await
            .map_err(pg_err)?
            .try_get(0)
            .map_err(pg_err)
    }

    /// The PostgreSQL schema holding this storage's tables.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// The schema version of the tables (the highest applied migration).
    pub async fn schema_version(&self) -> Result<i32, StorageError> {
        let client = self.client().await?;
        client
            .query_one(
                "SELECT coalesce(max(version), 0) FROM scim_schema_migrations",
                &[],
            )
            .await
            .map_err(pg_err)?
            .try_get(0)
            .map_err(pg_err)
    }

    /// Vacuums this storage's tables and refreshes their planner statistics (`VACUUM
    /// (ANALYZE)`). Call it after a large [`Self::create_many`] load: the statistics let
    /// queries use the indexes at once, and the vacuum marks the loaded pages all-visible in
    /// the visibility map, so that counting the matches of a filter (`totalResults`) is an
    /// index-only scan instead of a visit to every matching row (the PostgreSQL manual,
    /// "Index-Only Scans and Covering Indexes"). Otherwise both wait for autovacuum, which
    /// the tables are tuned to run after 2 % of their rows changed or were inserted
    /// (schema version 5).
    ///
    /// The storage also does this by itself, in the background, as the tables grow (after the
    /// first 500 resources a handle created and after each doubling since).
    pub async fn analyze(&self) -> Result<(), StorageError> {
        statistics::vacuum_analyze(&self.pool).await
    }

    /// Drops this storage's schema and everything in it (for tests and tear-down). The
    /// storage is unusable afterwards.
    pub async fn drop_schema(&self) -> Result<(), StorageError> {
        let client = self.client().await?;
        // The name was validated on connect.
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .map_err(pg_err)
    }

    /// Creates many resources in ONE transaction, all or nothing (initial loads, imports):
    /// much faster than one [`Storage::create`] per resource, as rows are inserted in batches
    /// of [`Self::BATCH`] with multi-row statements. Returns how many were created. Fails like
    /// `create` on the first taken id or unique value (a batch that hits one is replayed row
    /// by row to name it); nothing is written then.
    pub async fn create_many<I>(&self, scope: Scope<'_>, items: I) -> Result<u64, StorageError>
    where
        I: IntoIterator<Item = NewResource> + Send,
        I::IntoIter: Send,
    {
        let ctx = self.layouts.ctx(scope);
        self.ensure_index(&ctx).await?;
        let mut client = self.client().await?;
        let mut tx = client.transaction().await.map_err(pg_err)?;
        let mut n = 0u64;
        let mut created = Vec::new();
        let mut items = items.into_iter();
        loop {
            let batch = items
                .by_ref()
                .take(Self::BATCH)
                .map(|new| PreparedCreate::new(&ctx, new))
                .collect::<Result<Vec<_>, _>>()?;
            if batch.is_empty() {
                break;
            }
            n += batch.len() as u64;
            created.extend(
                batch
                    .iter()
                    .map(|b| NewChange::new(&ctx.rtype, &b.id, ChangeKind::Created, 1)),
            );
            let sp = tx.savepoint("scim_batch").await.map_err(pg_err)?;
            match insert_batch(&sp, &ctx, &batch).await {
                Ok(()) => sp.commit().await.map_err(pg_err)?,
                Err(BatchError::Conflict) => {
                    sp.rollback().await.map_err(pg_err)?;
                    // Replay row by row: the first conflicting row fails with its own error.
                    for new in batch {
                        insert_resource(&tx, &ctx, new).await?;
                    }
                }
                Err(BatchError::Other(e)) => return Err(e),
            }
        }
        changes::append(&tx, &ctx.tenant, &created).await?;
        tx.commit().await.map_err(pg_err)?;
        self.created(n);
        Ok(n)
    }

    /// Counts `n` committed creates; vacuums and analyzes the tables in the background when
    /// they grew enough since the last time (see `statistics.rs`).
    fn created(&self, n: u64) {
        if self.growth.created(n) {
            statistics::vacuum_analyze_in_background(&self.pool);
        }
    }

    /// The resources [`Self::create_many`] inserts with one statement (with their rows).
    pub const BATCH: usize = 1000;

    /// [`Storage::replace`], recording `kind` in the change feed.
    async fn replace_as(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
        kind: ChangeKind,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.layouts.ctx(scope);
        self.ensure_index(&ctx).await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let resource = strip_members(replacement.resource, &ctx);
        let (seq, version, _) = bump(&tx, &ctx, id, Some(&resource), expected_version).await?;
        let del_unique = tx
            .prepare_cached("DELETE FROM unique_values WHERE seq = $1")
            .await
            .map_err(pg_err)?;
        tx.execute(&del_unique, &[&seq]).await.map_err(pg_err)?;
        insert_unique(&tx, &ctx, seq, &replacement.unique).await?;
        let del_index = tx
            .prepare_cached("DELETE FROM attr_index WHERE seq = $1")
            .await
            .map_err(pg_err)?;
        tx.execute(&del_index, &[&seq]).await.map_err(pg_err)?;
        let rows = index_rows(&ctx.paths, &ctx.schema, &resource);
        let keys = row_keys(ctx.keys(), &rows);
        insert_index(&tx, &ctx, seq, rows, &keys).await?;
        let resource = match replacement.members {
            Some(members) => {
                let members = dedupe(members);
                let del = tx
                    .prepare_cached("DELETE FROM members WHERE group_seq = $1")
                    .await
                    .map_err(pg_err)?;
                tx.execute(&del, &[&seq]).await.map_err(pg_err)?;
                insert_members(&tx, &ctx, seq, &members).await?;
                if ctx.has_members {
                    with_members(resource, &members)
                } else {
                    resource
                }
            }
            None => resource,
        };
        changes::append(
            &tx,
            &ctx.tenant,
            &[NewChange::new(&ctx.rtype, id, kind, version)],
        )
        .await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(StoredResource {
            id: id.to_string(),
            version,
            resource,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StorageError> {
        self.pool.get().await.map_err(pool_err)
    }

    /// Rebuilds the `attr_index` rows of `ctx`'s resource type if they were written with
    /// another layout (see [`ensure_layout`]); a no-op after the first call per type. The
    /// rebuild runs as its own task, so it completes (or rolls back) as a whole even when
    /// the caller gives up waiting.
    async fn ensure_index(&self, ctx: &Ctx) -> Result<(), StorageError> {
        let Some(wanted) = self.layouts.stale(ctx) else {
            return Ok(());
        };
        let (pool, schema, task_ctx, task_layout) = (
            self.pool.clone(),
            self.schema.clone(),
            ctx.clone(),
            wanted.clone(),
        );
        tokio::spawn(async move { ensure_layout(&pool, &schema, &task_ctx, &task_layout).await })
            .await
            .map_err(|e| StorageError::backend(format!("postgres: index rebuild failed: {e}")))??;
        self.layouts.mark_current(&ctx.rtype, wanted);
        Ok(())
    }

    /// [`Storage::query`] over `ctx`'s scope.
    async fn query_in(
        &self,
        ctx: &Ctx,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        // The filter translated with its `co` / `ew` leaves read from the substring
        // indexes' candidates (see `run_probing`); without such leaves, the plain
        // translation.
        let probing = query
            .filter
            .filter(|_| self.substring_indexes)
            .and_then(|f| substrings::translate(ctx, f).map(|probed| (probed, f)));
        let PushDown {
            set,
            sort,
            fingerprint,
        } = push_down::<Postgres>(&ctx.schema, ctx, &query, probing.is_none())?;
        let set = match probing {
            Some(((probed, probes), _)) if probes.is_empty() => Some(probed),
            Some(((probed, probes), filter)) => {
                self.ensure_index(ctx).await?;
                let mut client = self.client().await?;
                let probing = Probing {
                    probed,
                    probes,
                    filter,
                    fingerprint,
                };
                return run_probing(
                    &mut client,
                    &self.substrings,
                    ctx,
                    probing,
                    sort.as_ref(),
                    query.page,
                    query.load,
                )
                .await;
            }
            None => set,
        };
        if set.is_some() || sort.is_some() {
            self.ensure_index(ctx).await?;
        }
        let mut client = self.client().await?;
        run_query(
            &mut client,
            ctx,
            set.as_ref(),
            sort.as_ref(),
            query.page,
            query.load,
            fingerprint,
        )
        .await
    }
}

#[cfg(test)]
mod tests;
