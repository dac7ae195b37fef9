//! Test support: [`Delegating`], a [`Storage`] that forwards every call to an inner storage,
//! with [`Hooks`] for what a test needs on top (counting or recording calls, a different
//! `can_filter`, clean-up when it is dropped).
//!
//! Compiled with the `test-suite` Cargo feature (and in this crate's own unit tests), like
//! [`crate::storage::suite`].
//!
//! A test writes only what is special about its storage: e.g. a spy is
//! `Delegating::with_hooks(MemoryStorage::new(), Counts::default())` with
//! `impl Hooks for Counts` counting the [`Call`]s it cares about; a storage on a temporary
//! database is `Delegating::with_hooks(storage, guard)` where the guard's `Drop` removes it.

use std::collections::HashMap;

use async_trait::async_trait;
use scim_core::Filter;
use scim_core::schema::ResourceSchema;
use scim_core::sort::SortSpec;

use super::{
    ChangeRecord, GroupRef, Load, MembersChange, NewResource, QueryPage, Replacement, Scope,
    Storage, StorageError, StorageQuery, StoredResource,
};
use crate::tenancy::TenantId;

/// A storage call as [`Hooks::before`] sees it, just before it is forwarded.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Call<'a> {
    /// [`Storage::create`].
    Create {
        /// Its scope.
        scope: Scope<'a>,
    },
    /// [`Storage::get`].
    Get {
        /// Its scope.
        scope: Scope<'a>,
        /// The resource id.
        id: &'a str,
        /// What it asks to load.
        load: Load,
    },
    /// [`Storage::get_many`].
    GetMany {
        /// Its scope.
        scope: Scope<'a>,
        /// The resource ids.
        ids: &'a [&'a str],
        /// What it asks to load.
        load: Load,
    },
    /// [`Storage::replace`].
    Replace {
        /// Its scope.
        scope: Scope<'a>,
        /// The resource id.
        id: &'a str,
    },
    /// [`Storage::delete`].
    Delete {
        /// Its scope.
        scope: Scope<'a>,
        /// The resource id.
        id: &'a str,
    },
    /// [`Storage::query`].
    Query {
        /// Its scope.
        scope: Scope<'a>,
        /// What it asks to load.
        load: Load,
    },
    /// [`Storage::modify_members`].
    ModifyMembers {
        /// Its scope.
        scope: Scope<'a>,
        /// The group id.
        id: &'a str,
    },
    /// [`Storage::groups_of`].
    GroupsOf {
        /// The tenant.
        tenant: &'a TenantId,
        /// The member id.
        member_id: &'a str,
    },
    /// [`Storage::get_with_groups`].
    GetWithGroups {
        /// Its scope.
        scope: Scope<'a>,
        /// The resource id.
        id: &'a str,
        /// What it asks to load.
        load: Load,
    },
    /// [`Storage::groups_of_many`].
    GroupsOfMany {
        /// The tenant.
        tenant: &'a TenantId,
        /// The member ids.
        member_ids: &'a [&'a str],
    },
    /// [`Storage::query_with_groups`].
    QueryWithGroups {
        /// Its scope.
        scope: Scope<'a>,
        /// What it asks to load.
        load: Load,
    },
}

/// What a [`Delegating`] storage does besides forwarding. Every method has a default that
/// does nothing special; a value needing clean-up does it in its own `Drop`.
pub trait Hooks: Send + Sync + 'static {
    /// Called before each async call is forwarded (it may record the call, or panic to
    /// simulate a bug).
    fn before(&self, call: &Call<'_>) {
        let _ = call;
    }

    /// `Some(answer)` to answer [`Storage::can_filter`] instead of the inner storage; the
    /// default (`None`) asks the inner storage.
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> Option<bool> {
        let _ = (schema, filter);
        None
    }
}

/// No hooks: pure delegation.
impl Hooks for () {}

/// A [`Storage`] that forwards every call (including `get_with_groups` and
/// `groups_of_many`, `get_many`) to `inner`, calling `hooks` first. It does not claim
/// [`Storage::refuses_unsupported_filters`], so the planner always asks its `can_filter`
/// (which a hook may answer).
#[derive(Debug, Default)]
pub struct Delegating<S, H = ()> {
    /// The storage every call goes to.
    pub inner: S,
    /// What the test adds (dropped after `inner`).
    pub hooks: H,
}

impl<S: Storage> Delegating<S> {
    /// Forwards every call to `inner`, with no hooks.
    pub fn new(inner: S) -> Self {
        Delegating { inner, hooks: () }
    }
}

impl<S: Storage, H: Hooks> Delegating<S, H> {
    /// Forwards every call to `inner`, calling `hooks` first.
    pub fn with_hooks(inner: S, hooks: H) -> Self {
        Delegating { inner, hooks }
    }
}

#[async_trait]
impl<S: Storage, H: Hooks> Storage for Delegating<S, H> {
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        self.hooks
            .can_filter(schema, filter)
            .unwrap_or_else(|| self.inner.can_filter(schema, filter))
    }
    fn can_sort(&self, schema: &ResourceSchema, sort: &SortSpec) -> bool {
        self.inner.can_sort(schema, sort)
    }
    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError> {
        self.hooks.before(&Call::Create { scope });
        self.inner.create(scope, new).await
    }
    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError> {
        self.hooks.before(&Call::Get { scope, id, load });
        self.inner.get(scope, id, load).await
    }
    async fn get_many(
        &self,
        scope: Scope<'_>,
        ids: &[&str],
        load: Load,
    ) -> Result<Vec<StoredResource>, StorageError> {
        self.hooks.before(&Call::GetMany { scope, ids, load });
        self.inner.get_many(scope, ids, load).await
    }
    async fn replace(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.hooks.before(&Call::Replace { scope, id });
        self.inner
            .replace(scope, id, replacement, expected_version)
            .await
    }
    /// Seen by [`Hooks::before`] as a [`Call::Replace`].
    async fn replace_after_patch(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.hooks.before(&Call::Replace { scope, id });
        self.inner
            .replace_after_patch(scope, id, replacement, expected_version)
            .await
    }
    async fn changes_since(
        &self,
        tenant: &TenantId,
        since: u64,
        limit: usize,
    ) -> Result<Vec<ChangeRecord>, StorageError> {
        self.inner.changes_since(tenant, since, limit).await
    }
    async fn last_change(&self, tenant: &TenantId) -> Result<u64, StorageError> {
        self.inner.last_change(tenant).await
    }
    async fn prune_changes(&self, tenant: &TenantId, through: u64) -> Result<u64, StorageError> {
        self.inner.prune_changes(tenant, through).await
    }
    async fn delete(
        &self,
        scope: Scope<'_>,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StorageError> {
        self.hooks.before(&Call::Delete { scope, id });
        self.inner.delete(scope, id, expected_version).await
    }
    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        self.hooks.before(&Call::Query {
            scope,
            load: query.load,
        });
        self.inner.query(scope, query).await
    }
    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        change: MembersChange,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.hooks.before(&Call::ModifyMembers { scope, id });
        self.inner
            .modify_members(scope, id, change, expected_version)
            .await
    }
    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StorageError> {
        self.hooks.before(&Call::GroupsOf { tenant, member_id });
        self.inner.groups_of(tenant, member_id).await
    }
    async fn get_with_groups(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<(StoredResource, Vec<GroupRef>), StorageError> {
        self.hooks.before(&Call::GetWithGroups { scope, id, load });
        self.inner.get_with_groups(scope, id, load).await
    }
    async fn groups_of_many(
        &self,
        tenant: &TenantId,
        member_ids: &[&str],
    ) -> Result<HashMap<String, Vec<GroupRef>>, StorageError> {
        self.hooks
            .before(&Call::GroupsOfMany { tenant, member_ids });
        self.inner.groups_of_many(tenant, member_ids).await
    }
    async fn query_with_groups(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<(QueryPage, HashMap<String, Vec<GroupRef>>), StorageError> {
        self.hooks.before(&Call::QueryWithGroups {
            scope,
            load: query.load,
        });
        self.inner.query_with_groups(scope, query).await
    }
}

/// The PostgreSQL server to test against (`SCIM_TEST_POSTGRES_URL`), or `None` to skip the
/// tests that need one; panics when `SCIM_REQUIRE_POSTGRES=1` and none is set, so CI never
/// skips them silently.
pub fn postgres_test_url() -> Option<String> {
    match std::env::var("SCIM_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("SCIM_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
                "SCIM_REQUIRE_POSTGRES=1 but SCIM_TEST_POSTGRES_URL is not set: point it at a \
                 PostgreSQL database, e.g. postgres://scim@127.0.0.1:55432/scim_test"
            );
            None
        }
    }
}

/// A PostgreSQL schema name (starting with `prefix`) no other test or test process uses.
pub fn fresh_schema(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos:x}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}
