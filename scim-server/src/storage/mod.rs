//! Storage: the trait every backend implements, and the backends.
//!
//! A backend stores resources per tenant and resource type, with:
//! - **versions** for ETags and optimistic concurrency (`expected_version` on every write);
//! - **uniqueness enforced by the store** ([`UniqueKey`]s claimed atomically with the write),
//!   so it holds under concurrent requests and across server processes;
//! - **filters on any attribute** (RFC 7644 §3.4.2.2): every valid filter gets the exact
//!   answer; indexes decide how fast, never whether. [`Storage::can_filter`] says which
//!   filters the backend evaluates itself (the built-in ones: every valid filter; the SQL
//!   backends index every attribute value, typed, and sort in the database); the server's
//!   query planner ([`planner`]) evaluates the rest over the candidates the backend narrowed
//!   down, or scans the type's resources in pages up to a bound (400 `tooMany` beyond it).
//!   It never answers wrongly;
//! - **membership** kept apart from the resource, so adding or removing one member is O(1) in
//!   the group's size, reading a group without members reads no membership, `User.groups` is
//!   computed ([`Storage::groups_of`], or [`Storage::groups_of_many`] for a whole page of
//!   members in one round trip), and deleting a resource removes it from every group;
//! - **timestamps**: the server sets `meta.created` / `meta.lastModified` in the JSON it
//!   writes with `create` and `replace`; a change the backend makes on its own (a membership
//!   change through [`Storage::modify_members`], or a group losing a deleted member) bumps
//!   the version AND sets `meta.lastModified` to the time of the change (RFC 7643 §3.1:
//!   "The most recent DateTime that the details of this resource were updated at the
//!   service provider"), with [`last_modified_now`] and [`touch_last_modified`];
//! - **a change feed** ([`changes`]): every write appends a [`ChangeRecord`] with a
//!   per-tenant, strictly increasing `seq` in the same transaction as the change, so a
//!   consumer ([`Storage::changes_since`]) that records its position resumes after a crash
//!   or an outage without losing or reordering a change that a client saw acknowledged.
//!
//! Backends (one Cargo feature each): [`memory`] (indexed, in-process), [`sqlite`] (one
//! file, WAL; the embedded default) and `postgres` (feature `postgres`: many server processes
//! share one database). All of them pass the shared backend suite (`backend_suite!`) and
//! the pushdown suite (`pushdown_suite!`: every operator on every attribute equal to
//! scim-core's evaluator, `sortBy` equal to scim-core's sort, membership lookups).

pub mod changes;
mod error;
#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
mod grams;
mod open;
#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
mod per_schema;
pub mod planner;
mod query;
mod types;
pub mod unique;

#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
/// What the SQL backends share (indexed paths, filter translation, rows, cursors).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(any(test, feature = "test-suite"))]
pub mod suite;
#[cfg(any(test, feature = "test-suite"))]
pub mod testing;

pub use changes::{ChangeKind, ChangeRecord};
pub use error::{StorageError, StorageErrorKind};
pub use open::{OpenError, OpenOptions, StorageSpec, open};
pub use query::{QueryPage, StoragePage, StorageQuery};
pub use types::{
    GroupRef, Load, Member, MembersChange, NewResource, Replacement, Scope, StoredResource,
    UniqueKey,
};

use std::collections::HashMap;

use async_trait::async_trait;
use scim_core::Filter;
use scim_core::Resource;
use scim_core::schema::ResourceSchema;
use scim_core::sort::SortSpec;

use crate::tenancy::TenantId;

/// A storage backend. Implementations must be safe to share across tasks and, for the
/// database backends, across server processes sharing one database.
///
/// Every method is scoped to one tenant (and, except [`Storage::groups_of`], one resource
/// type); a backend never returns or changes anything outside that scope.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Can this backend evaluate `filter` exactly for resources of this schema? The default
    /// says no to everything, so a backend that pushes nothing down is still correct: the
    /// planner then scans the type's resources in pages with the compiled filter, up to
    /// [`planner::PlannerLimits::max_scanned`].
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        let _ = (schema, filter);
        false
    }

    /// Does [`Storage::query`] (and [`Storage::query_with_groups`]) itself refuse every
    /// filter that [`Storage::can_filter`] rejects, with an `UnsupportedFilter` error and
    /// before any other work, and evaluate every filter it accepts? The planner then sends
    /// such a backend a query without asking `can_filter` first, and plans its fallback
    /// only when the query is refused: for a backend that translates the filter as the
    /// first step of a query (the SQL backends), asking first would translate it twice.
    /// The default says no (the planner asks first).
    fn refuses_unsupported_filters(&self) -> bool {
        false
    }

    /// Can this backend order results by `sort` itself? The default says no; the planner then
    /// sorts a bounded candidate set in memory.
    fn can_sort(&self, schema: &ResourceSchema, sort: &SortSpec) -> bool {
        let _ = (schema, sort);
        false
    }

    /// Creates a resource at version 1. Fails with `Uniqueness` when a [`UniqueKey`] is taken
    /// and `IdTaken` when the id is; nothing is written then.
    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError>;

    /// Reads one resource. `NotFound` when it does not exist in this scope.
    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError>;

    /// Reads several resources of one scope at once: those of `ids` that exist, each once,
    /// in no particular order (an absent id is left out, not an error). The server calls it
    /// for the resources of a list page that its cache of rendered resources does not hold
    /// (the page itself was read with [`Load::VERSION`]), so a page costs one more read, not
    /// one per resource.
    ///
    /// The default calls [`Storage::get`] once per id; the built-in backends answer with one
    /// statement (or one lock).
    async fn get_many(
        &self,
        scope: Scope<'_>,
        ids: &[&str],
        load: Load,
    ) -> Result<Vec<StoredResource>, StorageError> {
        let mut out = Vec::with_capacity(ids.len());
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        for id in ids {
            if !seen.insert(*id) {
                continue;
            }
            match self.get(scope, id, load).await {
                Ok(stored) => out.push(stored),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Replaces a resource, bumping its version. With `expected_version`, fails with
    /// `VersionMismatch` unless the stored version equals it (the check and the write are one
    /// atomic step). The returned resource carries members only if the replacement set them.
    async fn replace(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError>;

    /// Deletes a resource, its unique values, its members, and its membership in every group
    /// of the tenant (those groups' versions grow and their `meta.lastModified` is set to the
    /// time of the delete, see [`Storage::modify_members`]). With `expected_version`, as for
    /// `replace`.
    async fn delete(
        &self,
        scope: Scope<'_>,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StorageError>;

    /// Answers a query exactly (see [`StorageQuery`]); `UnsupportedFilter` when the filter or
    /// sort is beyond this backend.
    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError>;

    /// Changes the membership of the resource `id` and bumps its version, in O(changed
    /// members), not O(group size). Returns the resource without members.
    ///
    /// Member ids compare exactly (byte for byte): `members.value` is the member's `id`,
    /// which RFC 7643 §3.1 defines as case-exact. A change that changes nothing (every added
    /// member already present, every removed one absent, or a `Replace` with the current
    /// membership in its current order) leaves the version, `meta.lastModified` and the
    /// change feed as they are (RFC 7644 §3.5.2.1: "no changes SHOULD be made") and returns
    /// the resource as stored.
    ///
    /// A membership change changes the group (RFC 7643 §3.1), so in the same atomic step the
    /// backend sets the stored `meta.lastModified` to the time of the change
    /// ([`touch_last_modified`] with [`last_modified_now`]); the returned resource carries it.
    /// The same holds for every group that loses a member in [`Storage::delete`].
    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        change: MembersChange,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError>;

    /// Stores the result of a PATCH (RFC 7644 §3.5.2) applied by the server: exactly
    /// [`Storage::replace`], except that the change feed records
    /// [`ChangeKind::Modified`] instead of [`ChangeKind::Replaced`]. The default calls
    /// `replace`.
    async fn replace_after_patch(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.replace(scope, id, replacement, expected_version).await
    }

    /// The tenant's change feed after position `since`: at most `limit` changes with
    /// `seq > since`, in increasing `seq` order (`since = 0` reads from the start).
    ///
    /// # The contract
    /// - Every successful write appends one [`ChangeRecord`] per resource it changed, in the
    ///   SAME transaction as the change: a change is in the feed if and only if the write
    ///   committed. A `create`, `replace`, `replace_after_patch` or `delete` appends one
    ///   (`Created`, `Replaced`, `Modified`, `Deleted`); a `modify_members` that changes the
    ///   membership appends one `Members`; a `delete` appends, after its `Deleted`, one
    ///   `Members` for every group that lost the deleted resource as a member. A failed
    ///   write (`Uniqueness`, `IdTaken`, `VersionMismatch`, `NotFound`, a database error)
    ///   and a `modify_members` that changes nothing (adding a member already present,
    ///   removing one that is absent) append nothing.
    /// - `seq` is per tenant, starts at 1 and grows by exactly one per change; a tenant's
    ///   changes never share or reuse a `seq`, and no tenant sees another's changes.
    /// - **No reader ever skips a change.** Once a read returns the change `n`, every change
    ///   `m < n` of the tenant has committed and is returned by reads since `m - 1` (until
    ///   pruned). A backend must not take `seq` from a counter that is independent of commit
    ///   order (a PostgreSQL `SEQUENCE`: transaction A takes 5, B takes 6 and commits first,
    ///   a reader sees 6, records it, and never reads 5). The built-in backends serialise the
    ///   writers of one tenant on the feed: memory under the tenant's lock, SQLite under its
    ///   single writer, PostgreSQL on a per-tenant counter row that each write updates just
    ///   before it commits (the row lock is held until the commit, so the next writer of the
    ///   tenant reads the counter only after the previous change is visible to every new
    ///   snapshot).
    /// - With [`Storage::prune_changes`] having removed the changes up to `p`, a read since
    ///   `s < p` fails with [`StorageErrorKind::ChangesPruned`] rather than silently skipping.
    ///
    /// # Consuming it
    /// A consumer keeps its position durably (a file, a row), reads a page since it,
    /// processes every change of the page, then stores the `seq` of the last one, and
    /// repeats; an empty page means it is up to date (poll again later). After a crash it
    /// restarts from the stored position, so it never loses a change; a change processed
    /// before the crash but after the last stored position is processed again. That is
    /// **at-least-once** delivery: make processing idempotent (e.g. act on the current
    /// state of the resource, or deduplicate by `(tenant, seq)` downstream). Exactly-once
    /// needs the position stored in the same transaction as the effect of processing (the
    /// downstream database row and the position committed together).
    ///
    /// The default fails with [`StorageErrorKind::Unsupported`], so a backend written before
    /// the feed existed still compiles; it offers no feed until it implements this,
    /// [`Storage::prune_changes`] and [`Storage::last_change`].
    async fn changes_since(
        &self,
        tenant: &TenantId,
        since: u64,
        limit: usize,
    ) -> Result<Vec<ChangeRecord>, StorageError> {
        let _ = (tenant, since, limit);
        Err(StorageError::unsupported(
            "this storage backend has no change feed",
        ))
    }

    /// The `seq` of the tenant's latest change (0 when it has none): where a new consumer
    /// that does not need the history starts. The default fails with
    /// [`StorageErrorKind::Unsupported`].
    async fn last_change(&self, tenant: &TenantId) -> Result<u64, StorageError> {
        let _ = tenant;
        Err(StorageError::unsupported(
            "this storage backend has no change feed",
        ))
    }

    /// Retention: removes the tenant's changes with `seq <= through` (clamped to
    /// [`Storage::last_change`]) and returns how many it removed. Call it with the lowest
    /// position every consumer has recorded; a later read since a pruned position fails with
    /// [`StorageErrorKind::ChangesPruned`]. Numbering continues after the pruned changes.
    /// The default fails with [`StorageErrorKind::Unsupported`].
    async fn prune_changes(&self, tenant: &TenantId, through: u64) -> Result<u64, StorageError> {
        let _ = (tenant, through);
        Err(StorageError::unsupported(
            "this storage backend has no change feed",
        ))
    }

    /// The groups (of any resource type) of this tenant that have `member_id` as a direct
    /// member, for the computed `User.groups`.
    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StorageError>;

    /// [`Storage::get`] and [`Storage::groups_of`] of the same resource in one step: what a
    /// GET of one User needs to render its computed `groups` (RFC 7643 §4.1.2). `NotFound`
    /// as for `get`; the groups are those `groups_of` returns for `id`, in the same order.
    ///
    /// The default makes the two calls. A backend can answer both in one round trip, and
    /// the built-in ones do: SQLite in one read on one snapshot, PostgreSQL
    /// with the two queries pipelined on one connection.
    async fn get_with_groups(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<(StoredResource, Vec<GroupRef>), StorageError> {
        let stored = self.get(scope, id, load).await?;
        let groups = self.groups_of(scope.tenant, &stored.id).await?;
        Ok((stored, groups))
    }

    /// [`Storage::groups_of`] for many members at once: the computed `User.groups` of a whole
    /// list page in one round trip instead of one query per member, so rendering a page of
    /// N users costs one lookup, not N.
    ///
    /// The map has one entry per distinct id of `member_ids` (an empty list for a member of no
    /// group), and each list equals what `groups_of` returns for that member, in the same
    /// order. The default calls `groups_of` once per member, so a backend without a batch
    /// lookup stays correct; the built-in backends answer with one indexed lookup.
    async fn groups_of_many(
        &self,
        tenant: &TenantId,
        member_ids: &[&str],
    ) -> Result<HashMap<String, Vec<GroupRef>>, StorageError> {
        let mut out = HashMap::with_capacity(member_ids.len());
        for id in member_ids {
            if !out.contains_key(*id) {
                let groups = self.groups_of(tenant, id).await?;
                out.insert((*id).to_string(), groups);
            }
        }
        Ok(out)
    }

    /// [`Storage::query`] and [`Storage::groups_of_many`] of the page's resources in one step:
    /// what a list response of Users needs to render their computed `groups` (RFC 7643
    /// §4.1.2). Errors as for `query`; the map is what `groups_of_many` returns for the ids
    /// of the page.
    ///
    /// The default makes the two calls. The SQLite backend answers both in one read
    /// transaction (one snapshot, one lock of the database instead of two); both SQL
    /// backends answer a lookup by a unique value (`userName eq "x"`) with one statement.
    async fn query_with_groups(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<(QueryPage, HashMap<String, Vec<GroupRef>>), StorageError> {
        let page = self.query(scope, query).await?;
        let groups = groups_of_page(self, scope.tenant, &page).await?;
        Ok((page, groups))
    }
}

/// [`Storage::groups_of_many`] of the resources of `page` (no call for an empty page).
pub async fn groups_of_page<S: Storage + ?Sized>(
    storage: &S,
    tenant: &TenantId,
    page: &QueryPage,
) -> Result<HashMap<String, Vec<GroupRef>>, StorageError> {
    if page.resources.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<&str> = page.resources.iter().map(|r| r.id.as_str()).collect();
    storage.groups_of_many(tenant, &ids).await
}

/// The current time as a backend writes it into `meta.lastModified`: RFC 3339 in UTC with
/// milliseconds (`2026-11-23T19:21:00.123Z`), the format the server uses for the timestamps it
/// sets.
pub fn last_modified_now() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Sets `meta.lastModified` of a stored resource to `timestamp`, keeping the other `meta`
/// attributes and the attribute order (`meta` is found case-insensitively; created when
/// missing or not an object).
///
/// ```
/// use scim_core::Resource;
/// use scim_server::storage::touch_last_modified;
/// let mut r = Resource::from_value(serde_json::json!({
///     "id": "g1", "meta": {"created": "2024-01-01T00:00:00Z",
///                          "lastModified": "2024-01-01T00:00:00Z"}})).unwrap();
/// touch_last_modified(&mut r, "2026-11-23T19:21:00.123Z");
/// assert_eq!(r.as_map()["meta"]["lastModified"], "2026-11-23T19:21:00.123Z");
/// assert_eq!(r.as_map()["meta"]["created"], "2024-01-01T00:00:00Z");
/// ```
pub fn touch_last_modified(resource: &mut Resource, timestamp: &str) {
    use serde_json::{Map, Value};
    let map = resource.as_map_mut();
    let key = map
        .keys()
        .find(|k| k.eq_ignore_ascii_case("meta"))
        .cloned()
        .unwrap_or_else(|| "meta".to_string());
    let meta = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(m) = meta {
        let existing = m
            .keys()
            .find(|k| k.eq_ignore_ascii_case("lastModified"))
            .cloned()
            .unwrap_or_else(|| "lastModified".to_string());
        m.insert(existing, Value::String(timestamp.to_string()));
    }
}
