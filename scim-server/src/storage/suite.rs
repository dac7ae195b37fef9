//! The shared backend test suite: one set of small, precise cases that every [`Storage`]
//! backend must pass (in-memory, SQLite, PostgreSQL, or your own).
//!
//! Compiled with the `test-suite` Cargo feature (and in this crate's own unit tests). This
//! crate's integration tests get the feature through a dev-dependency of the crate on itself,
//! so a plain `cargo test -p scim-server` runs them. A backend in another crate adds
//! `scim-server = { version = "...", features = ["test-suite"] }` to its dev-dependencies.
//!
//! # Running it
//!
//! In an integration test file (e.g. `tests/sqlite_backend.rs`), give [`backend_suite!`] an
//! expression that makes a FRESH, empty backend; it is evaluated once per case, inside an
//! `async` block on a multi-thread tokio runtime (so it may `.await`):
//!
//! ```ignore
//! use scim_server::storage::memory::MemoryStorage;
//! scim_server::backend_suite!(MemoryStorage::new());
//! ```
//!
//! This expands to one `#[test]` per case (named after the functions of this module), so each
//! failure is visible on its own; no tokio dependency is needed in the calling crate. A single
//! case can also be called directly: `scim_server::storage::suite::replace_bumps_version(storage).await`.
//!
//! # What a backend must support
//!
//! Beyond the [`Storage`] contract, the suite requires `can_filter` to say yes to `eq` with a
//! string value on the unique attributes (`userName`, `externalId`, Group `displayName`) and
//! on `id`, and `query` to answer them exactly: these are the lookups Entra ID and Okta make
//! (Microsoft's "Develop and plan provisioning for a SCIM endpoint"), and the planner needs them to bound every fallback. Everything else the
//! backend claims with `can_filter` is checked for exactness against scim-core's evaluator
//! ([`pushdown_is_exact`]). The planner cases run the backend behind a wrapper that pushes
//! down only those `eq` lookups (and `or`s of them, which the wrapper answers as a union of
//! `eq` queries), so the fallback paths are exercised whatever the backend can do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use scim_core::schema::ResourceSchema;
use scim_core::sort::{SortOrder, SortSpec};
use scim_core::{CompValue, CompareOp, Filter, Resource, builtin};
use serde_json::{Value, json};

use super::planner::{PlannerLimits, execute};
use super::unique::UniquenessPolicy;
use super::{
    GroupRef, Load, Member, MembersChange, NewResource, QueryPage, Replacement, Scope, Storage,
    StorageError, StorageErrorKind, StoragePage, StorageQuery, StoredResource,
};
use crate::tenancy::TenantId;

mod crud;
pub use crud::*;

mod uniqueness;
pub use uniqueness::*;

mod queries;
pub use queries::*;

mod value_paths;
pub use value_paths::*;

mod planner;
pub use planner::*;

mod members;
pub use members::*;

mod feed;
pub use feed::{
    feed_concurrent_writers_never_skip, feed_is_per_tenant, feed_pages_resume_from_a_position,
    feed_prune_keeps_numbering_and_refuses_gaps, feed_records_every_kind_of_write,
    feed_skips_failed_and_unchanged_writes,
};

mod filters;
pub use filters::{
    case_folding_finds_what_uniqueness_protects, every_filter_equals_the_evaluator,
    filters_at_the_size_limit, membership_filters, sort_equals_scim_core_sort,
    typed_values_compare_by_type,
};

/// Expands to one `#[test]` per case of [`storage::suite`](crate::storage::suite), each
/// running the case on a fresh backend made by `$make` (an expression, evaluated inside an
/// `async` block, so `make().await` works).
///
/// ```ignore
/// scim_server::backend_suite!(scim_server::storage::memory::MemoryStorage::new());
/// ```
#[macro_export]
macro_rules! backend_suite {
    ($make:expr) => {
        $crate::backend_suite!(@cases ($make)
            create_get_round_trip
            get_unknown_is_not_found
            create_with_taken_id_is_id_taken
            replace_bumps_version
            replace_with_wrong_version_changes_nothing
            replace_unknown_is_not_found
            delete_then_get_is_not_found
            delete_with_wrong_version_keeps_resource
            uniqueness_on_create_is_case_insensitive
            uniqueness_on_replace
            uniqueness_released_after_delete
            uniqueness_released_after_replace
            uniqueness_is_per_tenant_and_resource_type
            concurrent_creates_of_one_user_name
            external_id_unique_per_type
            group_display_name_unique
            tenant_isolation
            query_user_name_eq_pushdown
            query_no_match_is_empty_page
            query_all_offset_paging
            query_all_cursor_paging_survives_deletes
            pushdown_is_exact
            planner_fallback_mixed_filters
            planner_answers_what_the_backend_refuses
            planner_scans_when_nothing_narrows
            planner_residual_compile_error
            planner_too_many
            planner_offset_paging_counts_after_filter
            planner_cursor_paging_survives_deletes
            planner_sort
            planner_rejects_foreign_cursor
            members_create_with_members
            members_add_is_idempotent
            members_remove
            members_replace
            get_without_members_has_no_members
            groups_of_lists_direct_groups
            groups_of_many_equals_groups_of_each
            get_with_groups_equals_get_and_groups_of
            version_only_reads_follow_every_change
            get_many_equals_get_of_each
            query_with_groups_equals_query_and_groups_of_many
            membership_changes_set_last_modified
            delete_user_removes_it_from_groups
            delete_group_releases_its_members
            modify_members_unknown_group_is_not_found
            modify_members_wrong_version
            feed_records_every_kind_of_write
            feed_pages_resume_from_a_position
            feed_is_per_tenant
            feed_skips_failed_and_unchanged_writes
            feed_prune_keeps_numbering_and_refuses_gaps
            feed_concurrent_writers_never_skip
        );
    };
    (@cases ($make:expr) $($case:ident)*) => {
        $(
            #[test]
            fn $case() {
                $crate::storage::suite::block_on(async {
                    let storage = $make;
                    $crate::storage::suite::$case(storage).await;
                });
            }
        )*
    };
}

/// Expands to one `#[test]` per case of the PUSHDOWN suite, like [`backend_suite!`]: for a
/// backend that answers EVERY valid filter itself (`can_filter`: every comparison operator,
/// `pr`, `ne`, `not`, `or`, `and` and value paths on any attribute, typed values, the
/// membership lookups, RFC 7644 §3.4.2.2), each case asserts that it claims them and that
/// its answers equal scim-core's evaluator; `sortBy` (through the planner, which hands it to
/// a backend that can sort) equals scim-core's sort (§3.4.2.3).
/// The built-in backends run both suites; a backend that pushes down less (such as the
/// `custom-storage` example, `eq` only) runs [`backend_suite!`] alone, where the planner's
/// fallback covers the rest.
///
/// ```ignore
/// scim_server::pushdown_suite!(scim_server::storage::memory::MemoryStorage::new());
/// ```
#[macro_export]
macro_rules! pushdown_suite {
    ($make:expr) => {
        $crate::backend_suite!(@cases ($make)
            value_path_and_or_on_the_same_element
            co_and_ew_are_exact_substrings
            value_path_case_insensitivity
            value_path_paging_and_total
            value_path_tenant_isolation
            value_path_pushdown_equals_the_evaluator
            every_filter_equals_the_evaluator
            typed_values_compare_by_type
            sort_equals_scim_core_sort
            membership_filters
            case_folding_finds_what_uniqueness_protects
            filters_at_the_size_limit
        );
    };
}

/// Runs a future to completion on a fresh multi-thread tokio runtime (used by
/// [`backend_suite!`] and [`pushdown_suite!`]).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

// ---------------------------------------------------------------------------------------
// Fixtures

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

fn users() -> ResourceSchema {
    builtin::user_resource_schema()
}

fn groups() -> ResourceSchema {
    builtin::group_resource_schema()
}

fn filter(s: &str) -> Filter {
    s.parse()
        .unwrap_or_else(|e| panic!("suite filter {s:?} must parse: {e:?}"))
}

/// A User JSON with `id`, `userName` and the extra attributes of `extra` (an object).
fn user_json(id: &str, user_name: &str, extra: Value) -> Resource {
    let mut v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": user_name,
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                 "lastModified": "2024-01-01T00:00:00Z"}
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    Resource::from_value(v).unwrap()
}

fn new_resource(
    schema: &ResourceSchema,
    id: &str,
    resource: Resource,
    members: Vec<Member>,
) -> NewResource {
    let unique = UniquenessPolicy::for_schema(schema).keys(schema, &resource);
    NewResource {
        id: id.to_string(),
        resource,
        members,
        unique,
    }
}

/// The `totalResults` of an unfiltered list of `scope` (a page of 2), sorted by `sort`
/// when given (the kept counts of the SQL backends' unit tests).
#[cfg(all(test, any(feature = "sqlite", feature = "postgres")))]
pub(crate) async fn unfiltered_total<S: Storage + ?Sized>(
    storage: &S,
    scope: Scope<'_>,
    sort: Option<&SortSpec>,
) -> u64 {
    let page = StoragePage::Offset {
        offset: 0,
        limit: 2,
    };
    let query = StorageQuery {
        filter: None,
        sort,
        page: &page,
        load: Load::ALL,
    };
    storage.query(scope, query).await.unwrap().total_results
}

/// A User to create: `id`, `userName`, the attributes of `extra` (an object), and the
/// unique values the server would claim for it.
pub(crate) fn new_user(id: &str, user_name: &str, extra: Value) -> NewResource {
    new_resource(&users(), id, user_json(id, user_name, extra), vec![])
}

pub(crate) fn group_json(id: &str, display_name: &str) -> Resource {
    Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": id,
        "displayName": display_name,
        "meta": {"resourceType": "Group", "created": "2024-01-01T00:00:00Z",
                 "lastModified": "2024-01-01T00:00:00Z"}
    }))
    .unwrap()
}

pub(crate) fn new_group(id: &str, display_name: &str, members: &[&str]) -> NewResource {
    let members = members
        .iter()
        .map(|m| Member {
            value: (*m).to_string(),
            kind: Some("User".into()),
            display: None,
        })
        .collect();
    new_resource(&groups(), id, group_json(id, display_name), members)
}

pub(crate) fn replacement(schema: &ResourceSchema, resource: Resource) -> Replacement {
    let unique = UniquenessPolicy::for_schema(schema).keys(schema, &resource);
    Replacement {
        resource,
        members: None,
        unique,
    }
}

fn offset(offset: u64, limit: u64) -> StoragePage {
    StoragePage::Offset { offset, limit }
}

fn ids(page: &QueryPage) -> Vec<String> {
    page.resources.iter().map(|r| r.id.clone()).collect()
}

fn id_set(page: &QueryPage) -> BTreeSet<String> {
    page.resources.iter().map(|r| r.id.clone()).collect()
}

/// The `members[].value`s of a resource loaded with members, sorted.
fn member_values(r: &StoredResource) -> Vec<String> {
    let mut v: Vec<String> = r
        .resource
        .get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn expect_kind<T: std::fmt::Debug>(
    r: Result<T, StorageError>,
    kind: &StorageErrorKind,
    what: &str,
) {
    match r {
        Ok(v) => panic!("{what}: expected {kind:?}, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "{what}: {}", e.message()),
    }
}

fn is_uniqueness_on(r: &Result<StoredResource, StorageError>, attribute: &str) -> bool {
    matches!(r, Err(e) if matches!(e.kind(), StorageErrorKind::Uniqueness { attribute: a } if a == attribute))
}

async fn query_filter<S: Storage + ?Sized>(
    s: &S,
    t: &TenantId,
    schema: &ResourceSchema,
    f: &Filter,
) -> QueryPage {
    assert!(
        s.can_filter(schema, f),
        "the suite requires pushdown of `{f}` (eq on a unique attribute or id)"
    );
    query_direct(s, t, schema, f).await.unwrap()
}

/// The first 100 resources matching `f`, asked of the backend itself (no planner).
async fn query_direct<S: Storage + ?Sized>(
    s: &S,
    t: &TenantId,
    schema: &ResourceSchema,
    f: &Filter,
) -> Result<QueryPage, StorageError> {
    s.query(
        Scope::new(t, schema),
        StorageQuery {
            filter: Some(f),
            sort: None,
            page: &offset(0, 100),
            load: Load::WITHOUT_MEMBERS,
        },
    )
    .await
}
