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
//! - **Sorting** (`sortBy` on any indexed attribute, RFC 7644 §3.4.2.3) runs in the
//!   database through `attr_index_sort`, in one REPEATABLE READ snapshot (see `sql::sort`).
//! - **Index layout**: the `attr_index` rows depend on the resource type's schema, which
//!   the database learns only from the calls. Each resource type's layout is recorded in
//!   `index_layouts`; on the first write or filtered query of a type whose recorded layout
//!   differs (after the migration to schema version 2, or a `caseExact` change), its rows
//!   are rebuilt from the stored JSON in one transaction (see `ensure_layout`).
//! - **Paging**: default order by `seq`; offset paging with `LIMIT`/`OFFSET` and a `count(*)`
//!   in the same statement (one snapshot; a filter that is one index range is counted by an
//!   index-only scan and paged by reading the range again in `seq` order, any other filter's
//!   matching `seq`s are computed once, in a `MATERIALIZED` CTE both read); cursors are
//!   keysets on `seq`, bound to their query. `totalResults` is always an exact count
//!   (RFC 7644 §3.4.2): the counts are index-only scans, fast when the visibility map is
//!   current (`analyze` after bulk loads; autovacuum is tuned for it, schema version 5).
//! - **Membership**: adding or removing one member is one indexed row plus a version bump;
//!   reading a resource without members never touches `members`.
//! - **Connections**: a `deadpool-postgres` pool; every connection gets
//!   `search_path=<schema>` at start-up, and statements are prepared once per connection
//!   (the dynamic SQL of filters is not cached). All values are bound parameters; only the
//!   validated schema name is ever written into SQL.
//! - **TLS**: rustls (ring provider), as the URL's `sslmode` says: see [`PostgresConfig`].
//!
//! Limits: PostgreSQL `TEXT` cannot hold U+0000, so an id, tenant or member id containing it
//! fails with a `Backend` error (attribute values may contain it: the JSON is stored escaped
//! and indexed values are `BYTEA`).

mod changes;
mod filter_sql;
mod schema;
mod tls;

pub use schema::is_valid_schema_name;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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

use self::filter_sql::{Postgres, SetSql};
use super::changes::NewChange;
use super::sql::index::{IndexRow, index_rows};
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

/// How to connect: the URL, the PostgreSQL schema holding the tables, the pool size and
/// the CA certificates to trust for TLS.
///
/// # TLS (`sslmode`)
/// The URL's `sslmode` parameter (`?sslmode=...`, or `sslmode=...` in the `key=value`
/// form) chooses whether connections use TLS (rustls, TLS 1.2 or 1.3). tokio-postgres
/// knows three modes; any other value (`allow`, `verify-ca`, `verify-full`) is an invalid
/// URL error.
///
/// - `disable`: never TLS; everything, the password included when the server asks for it
///   in clear text (`password` authentication), goes unencrypted.
/// - `prefer` (the default when `sslmode` is absent, as in libpq): asks the server for TLS.
///   If the server declines (it has `ssl=off`), or the TLS handshake fails (its certificate
///   is not trusted, or does not name the host), the connection is opened again without
///   TLS, as libpq does. When the handshake succeeds, the certificate was verified as for
///   `require`. This protects against passive eavesdropping only where the server's
///   certificate is trusted; an active attacker can always force plain TCP. Use `require`
///   for any network you do not trust.
/// - `require`: TLS or no connection. The server's certificate chain must lead to a
///   trusted root: the platform's native roots (`rustls-native-certs`; on Linux, the
///   OpenSSL certificate files, or those `SSL_CERT_FILE`/`SSL_CERT_DIR` name) plus those
///   of [`Self::ca_file`]; and the certificate must name the URL's host (a DNS name, or an
///   IP address among the certificate's IP addresses). **This is stricter than libpq**,
///   whose `require` does not verify the certificate (unless a root certificate file is
///   present); here it is what libpq calls `verify-full`. There is no mode that accepts any
///   certificate: for a self-signed or private CA server, give its CA with
///   [`Self::ca_file`]. A failed verification is a `Backend` error naming the reason
///   (e.g. `invalid peer certificate: UnknownIssuer`).
///
/// `sslnegotiation=direct` (PostgreSQL 17+, TLS without the `SSLRequest` round trip) works
/// with `require` (ALPN `postgresql` is sent). No client certificate is sent. A Unix socket
/// host never gets TLS from the server, so there `prefer` means plain and `require` fails.
///
/// The password is never part of an error message or log line (`Debug` of this type shows
/// the URL, so do not log it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    url: String,
    schema: String,
    max_connections: usize,
    connect_timeout: Duration,
    ca_file: Option<PathBuf>,
}

impl PostgresConfig {
    /// The default schema name.
    pub const DEFAULT_SCHEMA: &'static str = "scim";

    /// A configuration for `url` (`postgres://user:password@host:port/database?...` or the
    /// `key=value` form), schema [`Self::DEFAULT_SCHEMA`], 16 connections.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            schema: Self::DEFAULT_SCHEMA.to_string(),
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
            ca_file: None,
        }
    }

    /// The PostgreSQL schema for the tables (created if missing): see
    /// [`is_valid_schema_name`]. Several storages (or test cases) in one database stay apart
    /// by using different schemas.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The most connections the pool opens (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long opening a connection (and waiting for a free one) may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Also trusts the CA certificates of the PEM file at `path` (one or more
    /// `BEGIN CERTIFICATE` blocks) for TLS, besides the platform's native roots: for a
    /// server with a self-signed certificate or one from a private CA (or a provider's CA
    /// bundle). Read when connecting; an unreadable file, or one without a valid
    /// certificate, makes [`PostgresStorage::connect_with`] fail with a `Backend` error
    /// naming the file. Unused with `sslmode=disable`.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The CA file given with [`Self::ca_file`].
    pub fn get_ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }
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
        };
        let mut client = storage.client().await?;
        schema::migrate(&mut client, &storage.schema).await?;
        Ok(storage)
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
    pub async fn analyze(&self) -> Result<(), StorageError> {
        let client = self.client().await?;
        client
            .batch_execute("VACUUM (ANALYZE) resources, unique_values, attr_index, members")
            .await
            .map_err(pg_err)
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
            let batch: Vec<NewResource> = items.by_ref().take(Self::BATCH).collect();
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
        Ok(n)
    }

    /// The rows [`Self::create_many`] inserts with one statement per table.
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
        insert_index(&tx, &ctx, seq, &resource).await?;
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
}

/// Makes the `attr_index` rows of `ctx`'s resource type (in every tenant) follow `layout`
/// (see `index_layouts` in `schema.rs`): when the recorded layout differs or is missing (a
/// schema migrated from version 1, or a resource schema whose indexed paths or `caseExact`
/// changed), the rows are rebuilt from the stored JSON in one transaction. Returns whether
/// it rebuilt.
///
/// Concurrency: an advisory lock per resource type serialises the check across processes;
/// a rebuild then locks `resources` and `attr_index` in SHARE ROW EXCLUSIVE mode (in the
/// order writers take their locks), so it waits for the writes in flight and holds new ones
/// back until it commits (reads go on): no write can interleave with it and leave rows of an
/// old version behind.
async fn ensure_layout(
    pool: &Pool,
    schema: &str,
    ctx: &Ctx,
    layout: &str,
) -> Result<bool, StorageError> {
    let mut client = pool.get().await.map_err(pool_err)?;
    let tx = client.transaction().await.map_err(pg_err)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&schema::layout_lock_key(schema, &ctx.rtype)],
    )
    .await
    .map_err(pg_err)?;
    let current: Option<String> = match tx
        .query_opt(
            "SELECT layout FROM index_layouts WHERE rtype = $1",
            &[&ctx.rtype],
        )
        .await
        .map_err(pg_err)?
    {
        Some(row) => Some(get(&row, 0)?),
        None => None,
    };
    if current.as_deref() == Some(layout) {
        tx.commit().await.map_err(pg_err)?;
        return Ok(false);
    }
    tx.batch_execute("LOCK TABLE resources, attr_index IN SHARE ROW EXCLUSIVE MODE")
        .await
        .map_err(pg_err)?;
    tx.execute("DELETE FROM attr_index WHERE rtype = $1", &[&ctx.rtype])
        .await
        .map_err(pg_err)?;
    let select = tx
        .prepare("SELECT seq, tenant, data FROM resources WHERE rtype = $1")
        .await
        .map_err(pg_err)?;
    let insert = tx
        .prepare(
            "INSERT INTO attr_index (tenant, rtype, path, value_norm, value_num, skey, seq, \
             elem) SELECT t, $1, p, v, n, k, s, e \
             FROM unnest($2::text[], $3::text[], $4::bytea[], $5::float8[], $6::bytea[], \
             $7::bigint[], $8::int4[]) AS x (t, p, v, n, k, s, e)",
        )
        .await
        .map_err(pg_err)?;
    let portal = tx.bind(&select, &[&ctx.rtype]).await.map_err(pg_err)?;
    loop {
        let rows = tx.query_portal(&portal, 1000).await.map_err(pg_err)?;
        if rows.is_empty() {
            break;
        }
        let mut cols = RowColumns::default();
        for row in &rows {
            let seq: i64 = get(row, 0)?;
            let tenant: String = get(row, 1)?;
            cols.push(
                &tenant,
                seq,
                index_rows(&ctx.paths, &ctx.schema, &row_data(row, 2)?),
            );
        }
        if !cols.seq.is_empty() {
            tx.execute(
                &insert,
                &[
                    &ctx.rtype,
                    &cols.tenant,
                    &cols.path,
                    &cols.value,
                    &cols.num,
                    &cols.skey,
                    &cols.seq,
                    &cols.elem,
                ],
            )
            .await
            .map_err(pg_err)?;
        }
    }
    tx.execute(
        "INSERT INTO index_layouts (rtype, layout) VALUES ($1, $2) \
         ON CONFLICT (rtype) DO UPDATE SET layout = excluded.layout",
        &[&ctx.rtype, &layout],
    )
    .await
    .map_err(pg_err)?;
    tx.commit().await.map_err(pg_err)?;
    Ok(true)
}

/// `attr_index` rows as column arrays, for one multi-row `INSERT ... SELECT FROM unnest`.
#[derive(Default)]
struct RowColumns {
    tenant: Vec<String>,
    path: Vec<String>,
    value: Vec<Option<Vec<u8>>>,
    num: Vec<Option<f64>>,
    skey: Vec<Option<Vec<u8>>>,
    seq: Vec<i64>,
    elem: Vec<i32>,
}

impl RowColumns {
    /// Adds the rows of the resource `seq` of `tenant`.
    fn push(&mut self, tenant: &str, seq: i64, rows: BTreeSet<IndexRow>) {
        for row in rows {
            self.tenant.push(tenant.to_string());
            self.path.push(row.key);
            self.value.push(row.norm.map(String::into_bytes));
            self.num.push(row.num.map(|n| n.0));
            self.skey.push(row.skey);
            self.seq.push(seq);
            self.elem.push(i32::try_from(row.elem).unwrap_or(i32::MAX));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rows

/// One resource by id (`$1` tenant, `$2` type, `$3` id).
const GET_RESOURCE: &str = "SELECT seq, version, data FROM resources \
                            WHERE tenant = $1 AND rtype = $2 AND id = $3";

/// The groups of a tenant (`$1`) with a direct member (`$2`), oldest first.
const GROUPS_OF: &str = "SELECT r.id, r.rtype, r.data FROM members m \
                         JOIN resources r ON r.seq = m.group_seq \
                         WHERE m.tenant = $1 AND m.member_id = $2 AND r.tenant = $1 \
                         ORDER BY r.seq";

/// [`GroupRef`]s from rows of [`GROUPS_OF`].
fn group_refs(rows: &[Row]) -> Result<Vec<GroupRef>, StorageError> {
    rows.iter()
        .map(|row| {
            let display = row_data(row, 2)?
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_string);
            Ok(GroupRef {
                id: get(row, 0)?,
                resource_type: get(row, 1)?,
                display,
            })
        })
        .collect()
}

fn row_data(row: &Row, idx: usize) -> Result<Resource, StorageError> {
    let Json(map): Json<Map<String, Value>> = row
        .try_get(idx)
        .map_err(|e| StorageError::backend(format!("postgres: corrupt resource JSON: {e}")))?;
    Ok(Resource::from(map))
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: usize,
) -> Result<T, StorageError> {
    row.try_get(idx).map_err(pg_err)
}

/// Loads the members of the groups `seqs`, each group's in the order they were added.
async fn load_members<C: deadpool_postgres::GenericClient + Sync>(
    client: &C,
    seqs: &[i64],
) -> Result<HashMap<i64, Vec<Member>>, StorageError> {
    let mut out: HashMap<i64, Vec<Member>> = HashMap::new();
    if seqs.is_empty() {
        return Ok(out);
    }
    let stmt = client
        .prepare_cached(
            "SELECT group_seq, member_id, kind, display FROM members \
             WHERE group_seq = ANY($1) ORDER BY group_seq, ord",
        )
        .await
        .map_err(pg_err)?;
    for row in client.query(&stmt, &[&seqs]).await.map_err(pg_err)? {
        out.entry(get(&row, 0)?).or_default().push(Member {
            value: get(&row, 1)?,
            kind: get(&row, 2)?,
            display: get(&row, 3)?,
        });
    }
    Ok(out)
}

async fn insert_members(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    members: &[Member],
) -> Result<u64, StorageError> {
    if members.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = members.iter().map(|m| m.value.as_str()).collect();
    let kinds: Vec<Option<&str>> = members.iter().map(|m| m.kind.as_deref()).collect();
    let displays: Vec<Option<&str>> = members.iter().map(|m| m.display.as_deref()).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO members (group_seq, tenant, member_id, kind, display) \
             SELECT $1, $2, m, k, d FROM unnest($3::text[], $4::text[], $5::text[]) \
             WITH ORDINALITY AS x (m, k, d, o) ORDER BY o \
             ON CONFLICT (group_seq, member_id) DO NOTHING",
        )
        .await
        .map_err(pg_err)?;
    tx.execute(&stmt, &[&seq, &ctx.tenant, &ids, &kinds, &displays])
        .await
        .map_err(pg_err)
}

async fn insert_unique(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    keys: &[UniqueKey],
) -> Result<(), StorageError> {
    // A fixed order (sorted) keeps concurrent writers from deadlocking on each other's keys.
    let keys: BTreeSet<&UniqueKey> = keys.iter().collect();
    if keys.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO unique_values (tenant, rtype, attribute, value, seq) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(pg_err)?;
    for k in keys {
        let value = k.value.as_bytes();
        match tx
            .execute(
                &stmt,
                &[&ctx.tenant, &ctx.rtype, &k.attribute, &value, &seq],
            )
            .await
        {
            Ok(_) => {}
            Err(e) if unique_violation(&e).is_some() => {
                return Err(StorageError::uniqueness(&k.attribute));
            }
            Err(e) => return Err(pg_err(e)),
        }
    }
    Ok(())
}

async fn insert_index(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    resource: &Resource,
) -> Result<(), StorageError> {
    let rows = index_rows(&ctx.paths, &ctx.schema, resource);
    if rows.is_empty() {
        return Ok(());
    }
    let mut cols = RowColumns::default();
    cols.push(&ctx.tenant, seq, rows);
    let stmt = tx
        .prepare_cached(
            "INSERT INTO attr_index (tenant, rtype, path, value_norm, value_num, skey, seq, \
             elem) SELECT $1, $2, p, v, n, k, $3, e FROM unnest($4::text[], $5::bytea[], \
             $6::float8[], $7::bytea[], $8::int4[]) AS x (p, v, n, k, e)",
        )
        .await
        .map_err(pg_err)?;
    tx.execute(
        &stmt,
        &[
            &ctx.tenant,
            &ctx.rtype,
            &seq,
            &cols.path,
            &cols.value,
            &cols.num,
            &cols.skey,
            &cols.elem,
        ],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

async fn insert_resource(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    new: NewResource,
) -> Result<StoredResource, StorageError> {
    let resource = strip_members(new.resource, ctx);
    let stmt = tx
        .prepare_cached(
            "INSERT INTO resources (tenant, rtype, id, version, data) \
             VALUES ($1, $2, $3, 1, $4) RETURNING seq",
        )
        .await
        .map_err(pg_err)?;
    let data = Json(resource.as_map());
    let seq: i64 = match tx
        .query_one(&stmt, &[&ctx.tenant, &ctx.rtype, &new.id, &data])
        .await
    {
        Ok(row) => get(&row, 0)?,
        Err(e) if unique_violation(&e) == Some("resources_pkey") => {
            return Err(StorageError::new(
                StorageErrorKind::IdTaken,
                format!("a resource with id {} already exists", new.id),
            ));
        }
        Err(e) => return Err(pg_err(e)),
    };
    insert_unique(tx, ctx, seq, &new.unique).await?;
    insert_index(tx, ctx, seq, &resource).await?;
    let members = dedupe(new.members);
    insert_members(tx, ctx, seq, &members).await?;
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

/// Why a batch insert failed.
enum BatchError {
    /// A unique constraint (id or unique value): replay the batch row by row to name it.
    Conflict,
    /// Anything else.
    Other(StorageError),
}

impl From<tokio_postgres::Error> for BatchError {
    fn from(e: tokio_postgres::Error) -> Self {
        if unique_violation(&e).is_some() {
            BatchError::Conflict
        } else {
            BatchError::Other(pg_err(e))
        }
    }
}

impl From<StorageError> for BatchError {
    fn from(e: StorageError) -> Self {
        BatchError::Other(e)
    }
}

/// Inserts a batch of new resources with one multi-row statement per table.
async fn insert_batch(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    batch: &[NewResource],
) -> Result<(), BatchError> {
    let stripped: Vec<Resource> = batch
        .iter()
        .map(|n| strip_members(n.resource.clone(), ctx))
        .collect();
    let ids: Vec<&str> = batch.iter().map(|n| n.id.as_str()).collect();
    let data: Vec<Json<&Map<String, Value>>> = stripped.iter().map(|r| Json(r.as_map())).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO resources (tenant, rtype, id, version, data) \
             SELECT $1, $2, i, 1, d FROM unnest($3::text[], $4::json[]) \
             WITH ORDINALITY AS x (i, d, o) ORDER BY o RETURNING id, seq",
        )
        .await?;
    let rows = tx
        .query(&stmt, &[&ctx.tenant, &ctx.rtype, &ids, &data])
        .await?;
    if rows.len() != batch.len() {
        return Err(BatchError::Other(StorageError::backend(
            "postgres: a batch insert returned an unexpected row count",
        )));
    }
    let by_id = rows
        .iter()
        .map(|r| Ok((get::<&str>(r, 0)?, get::<i64>(r, 1)?)))
        .collect::<Result<HashMap<&str, i64>, StorageError>>()?;
    let seqs = batch
        .iter()
        .map(|n| {
            by_id
                .get(n.id.as_str())
                .copied()
                .ok_or_else(|| StorageError::backend("postgres: a batch insert lost a row"))
        })
        .collect::<Result<Vec<i64>, _>>()?;
    let (mut u_attr, mut u_value, mut u_seq) = (Vec::new(), Vec::new(), Vec::new());
    let mut index = RowColumns::default();
    let (mut m_group, mut m_id, mut m_kind, mut m_display) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((new, resource), seq) in batch.iter().zip(&stripped).zip(&seqs) {
        for k in new.unique.iter().collect::<BTreeSet<_>>() {
            u_attr.push(k.attribute.as_str());
            u_value.push(k.value.as_bytes());
            u_seq.push(*seq);
        }
        index.push(
            &ctx.tenant,
            *seq,
            index_rows(&ctx.paths, &ctx.schema, resource),
        );
        let mut seen = BTreeSet::new();
        for m in new.members.iter().filter(|m| seen.insert(m.value.as_str())) {
            m_group.push(*seq);
            m_id.push(m.value.as_str());
            m_kind.push(m.kind.as_deref());
            m_display.push(m.display.as_deref());
        }
    }
    if !u_seq.is_empty() {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO unique_values (tenant, rtype, attribute, value, seq) \
                 SELECT $1, $2, a, v, s FROM unnest($3::text[], $4::bytea[], $5::bigint[]) \
                 AS x (a, v, s)",
            )
            .await?;
        tx.execute(&stmt, &[&ctx.tenant, &ctx.rtype, &u_attr, &u_value, &u_seq])
            .await?;
    }
    if !index.seq.is_empty() {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO attr_index (tenant, rtype, path, value_norm, value_num, skey, \
                 seq, elem) SELECT $1, $2, p, v, n, k, s, e \
                 FROM unnest($3::text[], $4::bytea[], $5::float8[], $6::bytea[], \
                 $7::bigint[], $8::int4[]) AS x (p, v, n, k, s, e)",
            )
            .await?;
        tx.execute(
            &stmt,
            &[
                &ctx.tenant,
                &ctx.rtype,
                &index.path,
                &index.value,
                &index.num,
                &index.skey,
                &index.seq,
                &index.elem,
            ],
        )
        .await?;
    }
    if !m_group.is_empty() {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO members (group_seq, tenant, member_id, kind, display) \
                 SELECT g, $1, m, k, d \
                 FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) \
                 WITH ORDINALITY AS x (g, m, k, d, o) ORDER BY o",
            )
            .await?;
        tx.execute(&stmt, &[&ctx.tenant, &m_group, &m_id, &m_kind, &m_display])
            .await?;
    }
    Ok(())
}

/// Bumps the version of `id` (checking `expected` in the same statement) and, with `data`,
/// sets its JSON. Returns `(seq, new version, the stored JSON when data was None)`;
/// `NotFound` / `VersionMismatch` otherwise.
async fn bump(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
    data: Option<&Resource>,
    expected: Option<u64>,
) -> Result<(i64, u64, Option<Resource>), StorageError> {
    let expected = expected.map(clamp);
    let row = match (data, expected) {
        (Some(r), None) => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1, data = $4 \
                     WHERE tenant = $1 AND rtype = $2 AND id = $3 RETURNING seq, version",
                )
                .await
                .map_err(pg_err)?;
            let data = Json(r.as_map());
            tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id, &data])
                .await
        }
        (Some(r), Some(v)) => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1, data = $4 \
                     WHERE tenant = $1 AND rtype = $2 AND id = $3 AND version = $5 \
                     RETURNING seq, version",
                )
                .await
                .map_err(pg_err)?;
            let data = Json(r.as_map());
            tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id, &data, &v])
                .await
        }
        (None, None) => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1 \
                     WHERE tenant = $1 AND rtype = $2 AND id = $3 RETURNING seq, version, data",
                )
                .await
                .map_err(pg_err)?;
            tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id]).await
        }
        (None, Some(v)) => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1 \
                     WHERE tenant = $1 AND rtype = $2 AND id = $3 AND version = $4 \
                     RETURNING seq, version, data",
                )
                .await
                .map_err(pg_err)?;
            tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id, &v])
                .await
        }
    }
    .map_err(pg_err)?;
    match row {
        Some(row) => {
            let stored = if data.is_none() {
                Some(row_data(&row, 2)?)
            } else {
                None
            };
            Ok((get(&row, 0)?, to_version(get(&row, 1)?), stored))
        }
        None => Err(not_found_or_mismatch(tx, ctx, id).await?),
    }
}

/// The row of `id` as `(seq, version, data)`, locked for the rest of the transaction, with
/// `expected` checked. `NotFound` / `VersionMismatch` otherwise.
async fn locked_row(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
    expected: Option<u64>,
) -> Result<(i64, u64, Resource), StorageError> {
    let stmt = tx
        .prepare_cached(
            "SELECT seq, version, data FROM resources \
             WHERE tenant = $1 AND rtype = $2 AND id = $3 FOR UPDATE",
        )
        .await
        .map_err(pg_err)?;
    let Some(row) = tx
        .query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id])
        .await
        .map_err(pg_err)?
    else {
        return Err(StorageError::not_found(id));
    };
    let version = to_version(get(&row, 1)?);
    match expected {
        Some(v) if v != version => Err(StorageError::version_mismatch(version)),
        _ => Ok((get(&row, 0)?, version, row_data(&row, 2)?)),
    }
}

/// Applies a membership change to the group at `seq`; returns whether it changed anything
/// (member ids compare exactly, as the `members` key does).
async fn apply_members_change(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    change: MembersChange,
) -> Result<bool, StorageError> {
    Ok(match change {
        MembersChange::Add(members) => insert_members(tx, ctx, seq, &dedupe(members)).await? > 0,
        MembersChange::Remove(ids) => {
            if ids.is_empty() {
                return Ok(false);
            }
            let stmt = tx
                .prepare_cached("DELETE FROM members WHERE group_seq = $1 AND member_id = ANY($2)")
                .await
                .map_err(pg_err)?;
            tx.execute(&stmt, &[&seq, &ids]).await.map_err(pg_err)? > 0
        }
        MembersChange::Replace(members) => {
            let members = dedupe(members);
            let current = load_members(tx, &[seq])
                .await?
                .remove(&seq)
                .unwrap_or_default();
            if current == members {
                false
            } else {
                let stmt = tx
                    .prepare_cached("DELETE FROM members WHERE group_seq = $1")
                    .await
                    .map_err(pg_err)?;
                tx.execute(&stmt, &[&seq]).await.map_err(pg_err)?;
                insert_members(tx, ctx, seq, &members).await?;
                true
            }
        }
    })
}

async fn not_found_or_mismatch(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
) -> Result<StorageError, StorageError> {
    let stmt = tx
        .prepare_cached(
            "SELECT version FROM resources WHERE tenant = $1 AND rtype = $2 AND id = $3",
        )
        .await
        .map_err(pg_err)?;
    let row = tx
        .query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id])
        .await
        .map_err(pg_err)?;
    Ok(match row {
        Some(row) => StorageError::version_mismatch(to_version(get(&row, 0)?)),
        None => StorageError::not_found(id),
    })
}

// ---------------------------------------------------------------------------------------
// Cursors

/// The tag of this backend's cursors (so that another backend's cursor is not taken for one).
const CURSOR_TAG: &str = "pg1";

// ---------------------------------------------------------------------------------------
// Queries

/// The WHERE condition of an unfiltered query over `resources r` (`$1` tenant, `$2`
/// resource type).
const SCOPE: &str = "r.tenant = $1 AND r.rtype = $2";

/// Statements with at most this many filter parameters are prepared once per connection;
/// longer (rarer, client-shaped) filters are prepared per call, so that the per-connection
/// statement cache stays bounded.
const MAX_CACHED_FILTER_PARAMS: usize = 6;

/// The count and one page, in ONE statement (so one snapshot, without a transaction): the
/// first column is the count; a page with no rows gives one row of NULLs after it.
async fn page_rows<C: deadpool_postgres::GenericClient + Sync>(
    client: &C,
    set: Option<&SetSql>,
    args: &[Param<'_>],
    cursor: bool,
) -> Result<Vec<Row>, StorageError> {
    let (fetch, skip) = (args.len() - 1, args.len());
    let sql = match set {
        Some(s) => filtered_page_sql(s, fetch, skip, cursor),
        None => unfiltered_page_sql(fetch, skip, cursor),
    };
    let cached = set.is_none_or(|s| s.params.len() <= MAX_CACHED_FILTER_PARAMS);
    if cached {
        let stmt = client.prepare_cached(&sql).await.map_err(pg_err)?;
        client.query(&stmt, args).await.map_err(pg_err)
    } else {
        client.query(sql.as_str(), args).await.map_err(pg_err)
    }
}

/// The statement of [`page_rows`] for a filter. Both the count and the page read the
/// distinct matching `seq`s. The set reads `attr_index` only: its rows of the scope are
/// written with their resource, in the same transaction, and go with it (`ON DELETE
/// CASCADE`), so each `seq` is a resource of the scope.
///
/// A set that is one range scan ([`SetSql::one_scan`]) is read twice: the count is an
/// index-only scan of the range, and the page reads the range again, in `seq` order for
/// an equality (the covering index `attr_index_lookup` is ordered by `seq` after the value),
/// stopping after the page, so nothing is materialised or sorted. Any other set is
/// computed ONCE, in a `MATERIALIZED` CTE that the count and the page both read, rather
/// than evaluated once for each.
fn filtered_page_sql(set: &SetSql, fetch: usize, skip: usize, cursor: bool) -> String {
    let (with, m) = if set.one_scan {
        (
            String::new(),
            format!("(SELECT DISTINCT seq FROM ({}) AS s)", set.sql),
        )
    } else {
        (
            format!(
                "WITH m AS MATERIALIZED (SELECT DISTINCT seq FROM ({}) AS s) ",
                set.sql
            ),
            "m".to_string(),
        )
    };
    // The page of `seq`s first, then only those resources are read, by `seq = ANY` of the
    // page as an array: an index scan of `resources_seq_key` whatever the planner estimates
    // of the set (a prepared statement's generic plan, which knows neither the values nor
    // the limit, would otherwise hash-join the page with every resource of the scope).
    let seqs = if cursor {
        format!("SELECT seq FROM {m} AS pm WHERE seq > ${skip} ORDER BY seq LIMIT ${fetch}")
    } else {
        format!("SELECT seq FROM {m} AS pm ORDER BY seq LIMIT ${fetch} OFFSET ${skip}")
    };
    let page = format!(
        "SELECT r.seq, r.id, r.version, r.data FROM resources r WHERE r.seq = ANY(ARRAY({seqs})) \
         AND r.tenant = $1 AND r.rtype = $2"
    );
    format!(
        "{with}SELECT (SELECT count(*) FROM {m} AS c), p.seq, p.id, p.version, p.data FROM \
         (VALUES (1)) AS one (x) LEFT JOIN ({page}) AS p ON true ORDER BY p.seq"
    )
}

/// The statement of [`page_rows`] without a filter: the count and the page over the scope.
fn unfiltered_page_sql(fetch: usize, skip: usize, cursor: bool) -> String {
    let cond = SCOPE;
    let page = if cursor {
        format!(
            "SELECT r.seq, r.id, r.version, r.data FROM resources r WHERE {cond} \
             AND r.seq > ${skip} ORDER BY r.seq LIMIT ${fetch}"
        )
    } else {
        format!(
            "SELECT r.seq, r.id, r.version, r.data FROM resources r WHERE {cond} \
             ORDER BY r.seq LIMIT ${fetch} OFFSET ${skip}"
        )
    };
    format!(
        "SELECT (SELECT count(*) FROM resources r WHERE {cond}), p.seq, p.id, p.version, p.data \
         FROM (VALUES (1)) AS one (x) LEFT JOIN ({page}) AS p ON true ORDER BY p.seq"
    )
}

async fn run_query(
    client: &mut deadpool_postgres::Client,
    ctx: &Ctx,
    set: Option<&SetSql>,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<QueryPage, StorageError> {
    let after_seq = match page {
        StoragePage::Cursor { after: Some(c), .. } => {
            Some(decode_cursor(CURSOR_TAG, c, fingerprint)?)
        }
        StoragePage::Cursor { after: None, .. } => Some(0),
        StoragePage::Offset { .. } => None,
    };
    let (limit, offset_or_after) = match page {
        StoragePage::Offset { offset, limit } => (*limit, clamp(*offset)),
        StoragePage::Cursor { limit, .. } => (*limit, after_seq.unwrap_or(0)),
    };
    // Cursor paging asks for one more row than the page, to tell whether there is a next.
    let fetch = if after_seq.is_some() {
        clamp(limit).saturating_add(1)
    } else {
        clamp(limit)
    };
    let mut args: Vec<Param<'_>> = vec![&ctx.tenant, &ctx.rtype];
    if let Some(s) = set {
        args.extend(s.params.iter().map(|p| p.as_sql()));
    }
    args.push(&fetch);
    args.push(&offset_or_after);
    let cursor = after_seq.is_some();
    if !(load.members && ctx.has_members) {
        let rows = page_rows(&*client, set, &args, cursor).await?;
        return build_page(&rows, after_seq, limit, fingerprint, HashMap::new());
    }
    // With members, one REPEATABLE READ snapshot for the page and its members.
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg_err)?;
    let rows = page_rows(&tx, set, &args, cursor).await?;
    let mut seqs = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(seq) = get::<Option<i64>>(row, 1)? {
            seqs.push(seq);
        }
    }
    let members = load_members(&tx, &seqs).await?;
    tx.commit().await.map_err(pg_err)?;
    build_page(&rows, after_seq, limit, fingerprint, members)
}

/// A sorted query (see [`crate::storage::sql::sort`]), in one REPEATABLE READ snapshot:
/// the count of the matches, the page read from the keyed segment and the segment without
/// keys in the order of `sortOrder` (each an ordered `LIMIT` / `OFFSET`, or keyset with a
/// cursor, over the index; the keyed segment is counted only when the page reaches past
/// it, or the segment without keys comes first), then those resources.
async fn run_sorted(
    client: &mut deadpool_postgres::Client,
    ctx: &Ctx,
    set: Option<&SetSql>,
    sort: &SortPlan,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<QueryPage, StorageError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg_err)?;
    let set_sql = set.map(|s| s.sql.as_str());
    let mut base: Vec<Param<'_>> = vec![&ctx.tenant, &ctx.rtype];
    if let Some(s) = set {
        base.extend(s.params.iter().map(|p| p.as_sql()));
    }
    let total: i64 = match set_sql {
        Some(s) => {
            let sql = format!("SELECT count(*) FROM (SELECT DISTINCT seq FROM ({s}) AS s) AS m");
            get(&tx.query_one(sql.as_str(), &base).await.map_err(pg_err)?, 0)?
        }
        None => {
            let sql = format!("SELECT count(*) FROM resources r WHERE {SCOPE}");
            get(
                &tx.query_one(sql.as_str(), &base[..2])
                    .await
                    .map_err(pg_err)?,
                0,
            )?
        }
    };
    let first = base.len() + 1;
    let mut with_path = base.clone();
    with_path.push(&sort.path);
    // The size of the keyed segment is counted only when it is needed: to skip the segment
    // without keys when it is empty (it is read by an anti-join over the scope, which would
    // visit every match), and to know how much of an offset the keyed segment takes. A
    // page that the keyed segment fills (the usual first page of an ascending sort) needs
    // only `total`.
    let count_keyed = count_keyed_sql::<Postgres>(set_sql, first);
    let mut keyed: Option<i64> = None;
    let segments = sort.segments();
    let mut out: Vec<Position> = Vec::new();
    let mut next_cursor = None;
    let (offset_mode, skip0, limit, pos) = match page {
        StoragePage::Offset { offset, limit } => (true, clamp(*offset), *limit, None),
        StoragePage::Cursor { after, limit } => (
            false,
            0,
            *limit,
            match after {
                Some(c) => Some(sort_cursor::decode_cursor(CURSOR_TAG, c, fingerprint)?),
                None => None,
            },
        ),
    };
    let mut skip = skip0;
    let mut need = if offset_mode {
        clamp(limit)
    } else {
        clamp(limit).saturating_add(1)
    };
    let start = pos.as_ref().map_or(0, |p| p.segment);
    for (i, seg) in segments.iter().enumerate().skip(start) {
        if need <= 0 {
            break;
        }
        let keyed_seg = *seg == Segment::Keyed;
        if !keyed_seg {
            let k = match keyed {
                Some(k) => k,
                None => count(&tx, &count_keyed, &with_path).await?,
            };
            keyed = Some(k);
            let n = total - k;
            if n <= 0 {
                continue;
            }
            if offset_mode && skip >= n {
                skip -= n;
                continue;
            }
        }
        let after = pos.as_ref().filter(|p| p.segment == i);
        let (after_key, after_seq) = match after {
            Some(a) => (a.key.clone().unwrap_or_default(), a.seq),
            None => (Vec::new(), 0),
        };
        let mut args = with_path.clone();
        args.push(&need);
        args.push(&skip);
        let sql = if keyed_seg {
            if after.is_some() {
                args.push(&after_key);
                args.push(&after_seq);
            }
            keyed_page_sql::<Postgres>(set_sql, sort.desc, after.is_some(), first)
        } else {
            if after.is_some() {
                args.push(&after_seq);
            }
            missing_page_sql::<Postgres>(set_sql, after.is_some(), first)
        };
        let rows = tx.query(sql.as_str(), &args).await.map_err(pg_err)?;
        let got = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        if keyed_seg && offset_mode && got < need {
            // The keyed segment ended inside this page (it holds `skip + got` resources), or
            // the offset passed its end: then it is counted and takes its size off the offset.
            if got > 0 || skip == 0 {
                keyed = Some(skip + got);
                skip = 0;
            } else {
                let k = count(&tx, &count_keyed, &with_path).await?;
                keyed = Some(k);
                skip = (skip - k).max(0);
            }
        } else {
            skip = 0;
        }
        need -= got;
        for row in rows {
            out.push(Position {
                segment: i,
                seq: get(&row, 0)?,
                key: if keyed_seg { get(&row, 1)? } else { None },
            });
        }
    }
    if !offset_mode {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if out.len() > limit {
            out.truncate(limit);
            next_cursor = out
                .last()
                .map(|p| sort_cursor::encode_cursor(CURSOR_TAG, p, fingerprint));
        }
    }
    let seqs: Vec<i64> = out.iter().map(|p| p.seq).collect();
    let stmt = tx
        .prepare_cached("SELECT seq, id, version, data FROM resources WHERE seq = ANY($1)")
        .await
        .map_err(pg_err)?;
    let mut by_seq: HashMap<i64, Row> = HashMap::new();
    for row in tx.query(&stmt, &[&seqs]).await.map_err(pg_err)? {
        by_seq.insert(get(&row, 0)?, row);
    }
    let mut members = if load.members && ctx.has_members {
        load_members(&tx, &seqs).await?
    } else {
        HashMap::new()
    };
    tx.commit().await.map_err(pg_err)?;
    let mut resources = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let Some(row) = by_seq.get(&seq) else {
            continue;
        };
        let mut resource = row_data(row, 3)?;
        if let Some(m) = members.remove(&seq) {
            resource = with_members(resource, &m);
        }
        resources.push(StoredResource {
            id: get(row, 1)?,
            version: to_version(get(row, 2)?),
            resource,
        });
    }
    Ok(QueryPage {
        resources,
        total_results: to_version(total),
        next_cursor,
    })
}

/// The `count(*)` that `sql` selects.
async fn count(tx: &Transaction<'_>, sql: &str, args: &[Param<'_>]) -> Result<i64, StorageError> {
    get(&tx.query_one(sql, args).await.map_err(pg_err)?, 0)
}

/// A [`QueryPage`] from the rows of [`page_rows`] (and the members of its groups).
fn build_page(
    rows: &[Row],
    after_seq: Option<i64>,
    limit: u64,
    fingerprint: u64,
    mut members: HashMap<i64, Vec<Member>>,
) -> Result<QueryPage, StorageError> {
    let total: i64 = match rows.first() {
        Some(r) => get(r, 0)?,
        None => 0,
    };
    let mut page: Vec<(i64, &Row)> = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(seq) = get::<Option<i64>>(row, 1)? {
            page.push((seq, row));
        }
    }
    let mut next_cursor = None;
    if let Some(after) = after_seq {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if page.len() > limit {
            page.truncate(limit);
            let last = page.last().map_or(after, |(seq, _)| *seq);
            next_cursor = Some(encode_cursor(CURSOR_TAG, last, fingerprint));
        }
    }
    let mut resources = Vec::with_capacity(page.len());
    for (seq, row) in page {
        let mut resource = row_data(row, 4)?;
        if let Some(m) = members.remove(&seq) {
            resource = with_members(resource, &m);
        }
        resources.push(StoredResource {
            id: get(row, 2)?,
            version: to_version(get(row, 3)?),
            resource,
        });
    }
    Ok(QueryPage {
        resources,
        total_results: to_version(total),
        next_cursor,
    })
}

// ---------------------------------------------------------------------------------------
// The trait

#[async_trait]
impl Storage for PostgresStorage {
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        super::sql::filter::can_filter::<Postgres>(schema, filter)
    }

    fn can_sort(&self, schema: &ResourceSchema, sort: &SortSpec) -> bool {
        super::sql::can_sort(schema, sort)
    }

    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.layouts.ctx(scope);
        self.ensure_index(&ctx).await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let out = insert_resource(&tx, &ctx, new).await?;
        let change = NewChange::new(&ctx.rtype, &out.id, ChangeKind::Created, 1);
        changes::append(&tx, &ctx.tenant, &[change]).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.layouts.ctx(scope);
        let mut client = self.client().await?;
        let args: [Param<'_>; 3] = [&ctx.tenant, &ctx.rtype, &id];
        if !(load.members && ctx.has_members) {
            let stmt = client.prepare_cached(GET_RESOURCE).await.map_err(pg_err)?;
            let row = client.query_opt(&stmt, &args).await.map_err(pg_err)?;
            let Some(row) = row else {
                return Err(StorageError::not_found(id));
            };
            return Ok(StoredResource {
                id: id.to_string(),
                version: to_version(get(&row, 1)?),
                resource: row_data(&row, 2)?,
            });
        }
        // With members: one snapshot for the resource and its members.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg_err)?;
        let stmt = tx.prepare_cached(GET_RESOURCE).await.map_err(pg_err)?;
        let row = tx.query_opt(&stmt, &args).await.map_err(pg_err)?;
        let Some(row) = row else {
            return Err(StorageError::not_found(id));
        };
        let seq: i64 = get(&row, 0)?;
        let members = load_members(&tx, &[seq]).await?;
        tx.commit().await.map_err(pg_err)?;
        let mut resource = row_data(&row, 2)?;
        if let Some(m) = members.get(&seq) {
            resource = with_members(resource, m);
        }
        Ok(StoredResource {
            id: id.to_string(),
            version: to_version(get(&row, 1)?),
            resource,
        })
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
        let mut client = self.client().await?;
        changes::since(&mut client, tenant, since, limit).await
    }

    async fn last_change(&self, tenant: &TenantId) -> Result<u64, StorageError> {
        let client = self.client().await?;
        Ok(changes::head(&client, tenant.as_str()).await?.0)
    }

    async fn prune_changes(&self, tenant: &TenantId, through: u64) -> Result<u64, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let n = changes::prune(&tx, tenant.as_str(), through).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(n)
    }

    async fn delete(
        &self,
        scope: Scope<'_>,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StorageError> {
        let ctx = self.layouts.ctx(scope);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let deleted = match expected_version.map(clamp) {
            None => {
                let stmt = tx
                    .prepare_cached(
                        "DELETE FROM resources WHERE tenant = $1 AND rtype = $2 AND id = $3 \
                         RETURNING version",
                    )
                    .await
                    .map_err(pg_err)?;
                tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id]).await
            }
            Some(v) => {
                let stmt = tx
                    .prepare_cached(
                        "DELETE FROM resources WHERE tenant = $1 AND rtype = $2 AND id = $3 \
                         AND version = $4 RETURNING version",
                    )
                    .await
                    .map_err(pg_err)?;
                tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id, &v])
                    .await
            }
        }
        .map_err(pg_err)?;
        let Some(deleted) = deleted else {
            return Err(not_found_or_mismatch(&tx, &ctx, id).await?);
        };
        let mut feed = vec![NewChange::new(
            &ctx.rtype,
            id,
            ChangeKind::Deleted,
            to_version(get(&deleted, 0)?),
        )];
        // unique_values, attr_index and the resource's own members went with it (ON DELETE
        // CASCADE). Now its membership in every group of the tenant.
        // Those groups change: version and meta.lastModified (JSON, not JSONB, keeps the
        // attribute order, so the new JSON is written whole; the rows are locked first).
        let groups_stmt = tx
            .prepare_cached(
                "SELECT seq, data, rtype, id FROM resources WHERE seq IN \
                 (SELECT group_seq FROM members WHERE tenant = $1 AND member_id = $2) \
                 ORDER BY seq FOR UPDATE",
            )
            .await
            .map_err(pg_err)?;
        let groups = tx
            .query(&groups_stmt, &[&ctx.tenant, &id])
            .await
            .map_err(pg_err)?;
        if !groups.is_empty() {
            let now = last_modified_now();
            let touch = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1, data = $2 WHERE seq = $1 \
                     RETURNING version",
                )
                .await
                .map_err(pg_err)?;
            for row in &groups {
                let seq: i64 = get(row, 0)?;
                let mut group = row_data(row, 1)?;
                touch_last_modified(&mut group, &now);
                let updated = tx
                    .query_one(&touch, &[&seq, &Json(group.as_map())])
                    .await
                    .map_err(pg_err)?;
                feed.push(NewChange::new(
                    get::<String>(row, 2)?,
                    get::<String>(row, 3)?,
                    ChangeKind::Members,
                    to_version(get(&updated, 0)?),
                ));
            }
        }
        let unlink = tx
            .prepare_cached("DELETE FROM members WHERE tenant = $1 AND member_id = $2")
            .await
            .map_err(pg_err)?;
        tx.execute(&unlink, &[&ctx.tenant, &id])
            .await
            .map_err(pg_err)?;
        changes::append(&tx, &ctx.tenant, &feed).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        let ctx = self.layouts.ctx(scope);
        let PushDown {
            set,
            sort,
            fingerprint,
        } = push_down::<Postgres>(scope.schema, &ctx, &query)?;
        if set.is_some() || sort.is_some() {
            self.ensure_index(&ctx).await?;
        }
        let mut client = self.client().await?;
        if let Some(sort) = &sort {
            return run_sorted(
                &mut client,
                &ctx,
                set.as_ref(),
                sort,
                query.page,
                query.load,
                fingerprint,
            )
            .await;
        }
        run_query(
            &mut client,
            &ctx,
            set.as_ref(),
            query.page,
            query.load,
            fingerprint,
        )
        .await
    }

    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        change: MembersChange,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.layouts.ctx(scope);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let (seq, version, resource) = locked_row(&tx, &ctx, id, expected_version).await?;
        if !apply_members_change(&tx, &ctx, seq, change).await? {
            // RFC 7644 §3.5.2.1: nothing changed, so no new version or lastModified.
            tx.commit().await.map_err(pg_err)?;
            return Ok(StoredResource {
                id: id.to_string(),
                version,
                resource,
            });
        }
        // The membership is part of the group: its meta.lastModified changes too.
        let mut resource = resource;
        touch_last_modified(&mut resource, &last_modified_now());
        let (_, version, _) = bump(&tx, &ctx, id, Some(&resource), Some(version)).await?;
        let change = NewChange::new(&ctx.rtype, id, ChangeKind::Members, version);
        changes::append(&tx, &ctx.tenant, &[change]).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(StoredResource {
            id: id.to_string(),
            version,
            resource,
        })
    }

    /// One query: `member_id = ANY($2)` over the members index, joined to the groups.
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
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT m.member_id, r.id, r.rtype, r.data FROM members m \
                 JOIN resources r ON r.seq = m.group_seq \
                 WHERE m.tenant = $1 AND m.member_id = ANY($2) AND r.tenant = $1 \
                 ORDER BY r.seq",
            )
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(&stmt, &[&tenant.as_str(), &member_ids])
            .await
            .map_err(pg_err)?;
        for row in &rows {
            let member: String = get(row, 0)?;
            let display = row_data(row, 3)?
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_string);
            out.entry(member).or_default().push(GroupRef {
                id: get(row, 1)?,
                resource_type: get(row, 2)?,
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
        let client = self.client().await?;
        let stmt = client.prepare_cached(GROUPS_OF).await.map_err(pg_err)?;
        let rows = client
            .query(&stmt, &[&tenant.as_str(), &member_id])
            .await
            .map_err(pg_err)?;
        group_refs(&rows)
    }

    async fn get_with_groups(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<(StoredResource, Vec<GroupRef>), StorageError> {
        if load.members && has_members(scope.schema) {
            // Members need their own snapshot (see `get`); a type with members rarely has
            // computed groups, so the two steps are fine here.
            let stored = self.get(scope, id, load).await?;
            let groups = self.groups_of(scope.tenant, &stored.id).await?;
            return Ok((stored, groups));
        }
        let tenant = scope.tenant.as_str();
        let rtype = scope.resource_type();
        let client = self.client().await?;
        // Both statements and both queries are pipelined on one connection: one round trip
        // to the server instead of two.
        let (get_stmt, groups_stmt) = tokio::try_join!(
            client.prepare_cached(GET_RESOURCE),
            client.prepare_cached(GROUPS_OF)
        )
        .map_err(pg_err)?;
        let get_args: [Param<'_>; 3] = [&tenant, &rtype, &id];
        let groups_args: [Param<'_>; 2] = [&tenant, &id];
        let (row, rows) = tokio::try_join!(
            client.query_opt(&get_stmt, &get_args),
            client.query(&groups_stmt, &groups_args)
        )
        .map_err(pg_err)?;
        let Some(row) = row else {
            return Err(StorageError::not_found(id));
        };
        let stored = StoredResource {
            id: id.to_string(),
            version: to_version(get(&row, 1)?),
            resource: row_data(&row, 2)?,
        };
        Ok((stored, group_refs(&rows)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sql::index::layout;
    use crate::storage::sql::upgrade_check;

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
        // A SQLite cursor is not a PostgreSQL one.
        let sqlite_like =
            scim_core::messages::base64url_encode(format!("sq1.42.{:x}", 7u64).as_bytes());
        assert!(decode_cursor(CURSOR_TAG, &sqlite_like, 7).is_err());
    }

    #[test]
    fn config_builder() {
        let c = PostgresConfig::new("postgres://x@localhost/db")
            .schema("s1")
            .max_connections(0);
        assert_eq!(c.schema, "s1");
        assert_eq!(c.max_connections, 1);
    }

    #[tokio::test]
    async fn bad_settings_are_errors_not_panics() {
        let e = PostgresStorage::connect_with_schema("postgres://x@127.0.0.1:1/db", "Bad-Name")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), &StorageErrorKind::Backend);
        let e = PostgresStorage::connect("not a url at all ===")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), &StorageErrorKind::Backend);
        // Nothing listens on port 1: a connection error, not a panic.
        let e = PostgresStorage::connect_with(
            PostgresConfig::new("postgres://x@127.0.0.1:1/db")
                .connect_timeout(Duration::from_secs(2)),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), &StorageErrorKind::Backend);
    }

    /// A schema written at version 1 (its DDL and rows: no `elem`, no `emails.type`) is
    /// migrated to version 2 on connect and, once its rows are rebuilt from the stored JSON,
    /// answers value paths. Needs `SCIM_TEST_POSTGRES_URL` (skipped without it, unless
    /// `SCIM_REQUIRE_POSTGRES=1`).
    #[tokio::test]
    async fn a_version_1_schema_is_migrated_and_answers_value_paths() {
        let url = match std::env::var("SCIM_TEST_POSTGRES_URL") {
            Ok(u) if !u.trim().is_empty() => u,
            _ => {
                assert!(
                    std::env::var("SCIM_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
                    "SCIM_REQUIRE_POSTGRES=1 but SCIM_TEST_POSTGRES_URL is not set"
                );
                return;
            }
        };
        let name = format!(
            "scim_v1_{}_{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {name}; SET search_path TO {name}; {}; \
                 CREATE TABLE scim_schema_migrations (version INTEGER PRIMARY KEY, \
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()); \
                 INSERT INTO scim_schema_migrations (version) VALUES (1);",
                schema::VERSION_1
            ))
            .await
            .unwrap();
        for (id, json) in upgrade_check::V1_USERS {
            let data: Value = serde_json::from_str(json).unwrap();
            let seq: i64 = client
                .query_one(
                    "INSERT INTO resources (tenant, rtype, id, version, data) \
                     VALUES ($1, 'User', $2, 1, $3) RETURNING seq",
                    &[&upgrade_check::TENANT, &id, &Json(&data)],
                )
                .await
                .unwrap()
                .get(0);
            for (path, value) in upgrade_check::v1_rows(id, json) {
                client
                    .execute(
                        "INSERT INTO attr_index (tenant, rtype, path, value_norm, seq) \
                         VALUES ($1, 'User', $2, $3, $4)",
                        &[&upgrade_check::TENANT, &path, &value.into_bytes(), &seq],
                    )
                    .await
                    .unwrap();
            }
        }
        let storage = PostgresStorage::connect_with_schema(&url, &name)
            .await
            .unwrap();
        let (schema_name, test_url) = (name.clone(), url.clone());
        let result = std::panic::AssertUnwindSafe(async move {
            let (name, url) = (schema_name, test_url);
            assert_eq!(
                storage.schema_version().await.unwrap(),
                schema::SCHEMA_VERSION
            );
            upgrade_check::assert_answers_value_paths(&storage).await;
            let tenant = TenantId::new(upgrade_check::TENANT).unwrap();
            let schema = scim_core::builtin::user_resource_schema();
            let scope = Scope::new(&tenant, &schema);
            // Another handle (another process) finds the layout current: no rebuild.
            let other = PostgresStorage::connect_with_schema(&url, &name)
                .await
                .unwrap();
            let ctx = Ctx::new(scope);
            assert!(
                !ensure_layout(&other.pool, &name, &ctx, &layout(&ctx.paths))
                    .await
                    .unwrap()
            );
        })
        .catch_unwind_fut()
        .await;
        client
            .batch_execute(&format!("DROP SCHEMA {name} CASCADE"))
            .await
            .unwrap();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }

    /// `catch_unwind` for a future, without the `futures` crate.
    trait CatchUnwindFut: std::future::Future + Sized {
        async fn catch_unwind_fut(self) -> std::thread::Result<Self::Output>
        where
            Self: std::panic::UnwindSafe + Send + 'static,
            Self::Output: Send + 'static,
        {
            tokio::spawn(self).await.map_err(|e| {
                e.try_into_panic()
                    .unwrap_or_else(|_| Box::new("the test task was cancelled"))
            })
        }
    }

    impl<F: std::future::Future> CatchUnwindFut for F {}
}
