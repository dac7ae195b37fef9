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

fn new_user(id: &str, user_name: &str, extra: Value) -> NewResource {
    new_resource(&users(), id, user_json(id, user_name, extra), vec![])
}

fn group_json(id: &str, display_name: &str) -> Resource {
    Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": id,
        "displayName": display_name,
        "meta": {"resourceType": "Group", "created": "2024-01-01T00:00:00Z",
                 "lastModified": "2024-01-01T00:00:00Z"}
    }))
    .unwrap()
}

fn new_group(id: &str, display_name: &str, members: &[&str]) -> NewResource {
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

fn replacement(schema: &ResourceSchema, resource: Resource) -> Replacement {
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
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// CRUD and versions

/// Create then get: same JSON, version 1 (RFC 7644 §3.3, §3.14 versions for ETags).
pub async fn create_get_round_trip<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let new = new_user(
        "u1",
        "bjensen",
        json!({"title": "Tour Guide", "emails": [{"value": "bjensen@example.com", "type": "work"}]}),
    );
    let created = s
        .create(Scope::new(&t, &schema), new.clone())
        .await
        .unwrap();
    assert_eq!(created.id, "u1");
    assert_eq!(created.version, 1);
    assert_eq!(created.resource, new.resource);
    let got = s
        .get(Scope::new(&t, &schema), "u1", Load::ALL)
        .await
        .unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.id, "u1");
    assert_eq!(got.resource, new.resource);
}

/// An unknown id is `NotFound` (404), in an empty and in a populated store.
pub async fn get_unknown_is_not_found<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    expect_kind(
        s.get(Scope::new(&t, &schema), "nope", Load::ALL).await,
        &StorageErrorKind::NotFound,
        "get in an empty store",
    );
    s.create(Scope::new(&t, &schema), new_user("u1", "a", json!({})))
        .await
        .unwrap();
    expect_kind(
        s.get(Scope::new(&t, &schema), "nope", Load::WITHOUT_MEMBERS)
            .await,
        &StorageErrorKind::NotFound,
        "get of an unknown id",
    );
}

/// A second create with the same id is `IdTaken` and leaves the first untouched.
pub async fn create_with_taken_id_is_id_taken<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    s.create(Scope::new(&t, &schema), new_user("u1", "a", json!({})))
        .await
        .unwrap();
    expect_kind(
        s.create(Scope::new(&t, &schema), new_user("u1", "b", json!({})))
            .await,
        &StorageErrorKind::IdTaken,
        "create with a taken id",
    );
    let got = s
        .get(Scope::new(&t, &schema), "u1", Load::ALL)
        .await
        .unwrap();
    assert_eq!(got.resource.get("userName"), Some(&json!("a")));
    // The rejected create claimed nothing: "b" is still free.
    s.create(Scope::new(&t, &schema), new_user("u2", "b", json!({})))
        .await
        .unwrap();
}

/// Replace bumps the version by one each time and stores the new JSON.
pub async fn replace_bumps_version<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({}))).await.unwrap();
    let r1 = s
        .replace(
            sc,
            "u1",
            replacement(&schema, user_json("u1", "a", json!({"title": "x"}))),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(r1.version, 2);
    let r2 = s
        .replace(
            sc,
            "u1",
            replacement(&schema, user_json("u1", "a", json!({"title": "y"}))),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r2.version, 3);
    let got = s.get(sc, "u1", Load::ALL).await.unwrap();
    assert_eq!(got.version, 3);
    assert_eq!(got.resource.get("title"), Some(&json!("y")));
}

/// Replace with a stale `expected_version` is `VersionMismatch { current }` and writes
/// nothing (RFC 7644 §3.14: 412 Precondition Failed).
pub async fn replace_with_wrong_version_changes_nothing<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({}))).await.unwrap();
    s.replace(
        sc,
        "u1",
        replacement(&schema, user_json("u1", "a", json!({"title": "v2"}))),
        Some(1),
    )
    .await
    .unwrap();
    expect_kind(
        s.replace(
            sc,
            "u1",
            replacement(&schema, user_json("u1", "renamed", json!({"title": "v3"}))),
            Some(1),
        )
        .await,
        &StorageErrorKind::VersionMismatch { current: 2 },
        "replace with a stale version",
    );
    let got = s.get(sc, "u1", Load::ALL).await.unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.resource.get("title"), Some(&json!("v2")));
    assert_eq!(got.resource.get("userName"), Some(&json!("a")));
    // The failed replace did not claim "renamed", nor release "a".
    s.create(sc, new_user("u2", "renamed", json!({})))
        .await
        .unwrap();
    assert!(is_uniqueness_on(
        &s.create(sc, new_user("u3", "A", json!({}))).await,
        "userName"
    ));
}

/// Replace of an unknown id is `NotFound`.
pub async fn replace_unknown_is_not_found<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    expect_kind(
        s.replace(
            Scope::new(&t, &schema),
            "nope",
            replacement(&schema, user_json("nope", "a", json!({}))),
            None,
        )
        .await,
        &StorageErrorKind::NotFound,
        "replace of an unknown id",
    );
}

/// Delete, then get is `NotFound`; a second delete is `NotFound` too.
pub async fn delete_then_get_is_not_found<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({}))).await.unwrap();
    s.create(sc, new_user("u2", "b", json!({}))).await.unwrap();
    s.delete(sc, "u1", Some(1)).await.unwrap();
    expect_kind(
        s.get(sc, "u1", Load::ALL).await,
        &StorageErrorKind::NotFound,
        "get after delete",
    );
    expect_kind(
        s.delete(sc, "u1", None).await,
        &StorageErrorKind::NotFound,
        "second delete",
    );
    assert_eq!(s.get(sc, "u2", Load::ALL).await.unwrap().version, 1);
}

/// Delete with a stale version is `VersionMismatch` and the resource stays.
pub async fn delete_with_wrong_version_keeps_resource<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({}))).await.unwrap();
    expect_kind(
        s.delete(sc, "u1", Some(7)).await,
        &StorageErrorKind::VersionMismatch { current: 1 },
        "delete with a wrong version",
    );
    assert_eq!(s.get(sc, "u1", Load::ALL).await.unwrap().version, 1);
}

// ---------------------------------------------------------------------------------------
// Uniqueness

/// RFC 7643 §4.1.1: userName is caseExact=false with uniqueness server, so `BJensen` and
/// `bjensen` collide: 409 `uniqueness` on `userName`.
pub async fn uniqueness_on_create_is_case_insensitive<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "BJensen", json!({})))
        .await
        .unwrap();
    let r = s.create(sc, new_user("u2", "bjensen", json!({}))).await;
    assert!(is_uniqueness_on(&r, "userName"), "{r:?}");
    expect_kind(
        s.get(sc, "u2", Load::ALL).await,
        &StorageErrorKind::NotFound,
        "rejected create wrote nothing",
    );
}

/// A replace taking another resource's value is `Uniqueness` and changes nothing.
pub async fn uniqueness_on_replace<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "alice", json!({})))
        .await
        .unwrap();
    s.create(sc, new_user("u2", "bob", json!({})))
        .await
        .unwrap();
    let r = s
        .replace(
            sc,
            "u2",
            replacement(&schema, user_json("u2", "ALICE", json!({}))),
            None,
        )
        .await;
    assert!(is_uniqueness_on(&r, "userName"), "{r:?}");
    let got = s.get(sc, "u2", Load::ALL).await.unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.resource.get("userName"), Some(&json!("bob")));
    // Replacing a resource with its own (differently cased) value is not a conflict.
    let same = s
        .replace(
            sc,
            "u1",
            replacement(&schema, user_json("u1", "Alice", json!({}))),
            None,
        )
        .await
        .unwrap();
    assert_eq!(same.version, 2);
}

/// A deleted resource's unique values are free again.
pub async fn uniqueness_released_after_delete<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "alice", json!({"externalId": "E1"})))
        .await
        .unwrap();
    s.delete(sc, "u1", None).await.unwrap();
    let again = s
        .create(sc, new_user("u2", "Alice", json!({"externalId": "E1"})))
        .await
        .unwrap();
    assert_eq!(again.version, 1);
}

/// A replace that changes a unique value releases the old one.
pub async fn uniqueness_released_after_replace<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "alice", json!({})))
        .await
        .unwrap();
    s.replace(
        sc,
        "u1",
        replacement(&schema, user_json("u1", "alicia", json!({}))),
        None,
    )
    .await
    .unwrap();
    s.create(sc, new_user("u2", "alice", json!({})))
        .await
        .unwrap();
    let r = s.create(sc, new_user("u3", "ALICIA", json!({}))).await;
    assert!(is_uniqueness_on(&r, "userName"), "{r:?}");
}

/// Uniqueness holds within one tenant and resource type only (RFC 7643 §2.2 "unique
/// within the context of the current SCIM endpoint (or tenancy)").
pub async fn uniqueness_is_per_tenant_and_resource_type<S: Storage>(s: S) {
    let (t1, t2) = (tenant("t1"), tenant("t2"));
    let (us, gs) = (users(), groups());
    s.create(
        Scope::new(&t1, &us),
        new_user("u1", "x", json!({"externalId": "E"})),
    )
    .await
    .unwrap();
    s.create(
        Scope::new(&t2, &us),
        new_user("u1", "x", json!({"externalId": "E"})),
    )
    .await
    .unwrap();
    // Same externalId on a Group of the same tenant: another resource type.
    let mut g = new_group("g1", "x", &[]);
    g.resource
        .as_map_mut()
        .insert("externalId".into(), json!("E"));
    g.unique = UniquenessPolicy::for_schema(&gs).keys(&gs, &g.resource);
    s.create(Scope::new(&t1, &gs), g).await.unwrap();
}

/// 20 concurrent creates of one userName: exactly one succeeds, the others are `Uniqueness`.
pub async fn concurrent_creates_of_one_user_name<S: Storage>(s: S) {
    let s = Arc::new(s);
    let t = tenant("t1");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = Arc::clone(&s);
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let schema = users();
            s.create(
                Scope::new(&t, &schema),
                new_user(
                    &format!("u{i}"),
                    if i % 2 == 0 { "Race" } else { "RACE" },
                    json!({}),
                ),
            )
            .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                matches!(e.kind(), StorageErrorKind::Uniqueness { attribute } if attribute == "userName"),
                "{e:?}"
            ),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent create must win");
    let schema = users();
    let page = query_filter(&*s, &t, &schema, &filter(r#"userName eq "race""#)).await;
    assert_eq!(page.total_results, 1);
    assert_eq!(page.resources.len(), 1);
}

/// externalId is unique per resource type (case-exact: `E1` and `e1` differ).
pub async fn external_id_unique_per_type<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({"externalId": "E1"})))
        .await
        .unwrap();
    let r = s
        .create(sc, new_user("u2", "b", json!({"externalId": "E1"})))
        .await;
    assert!(is_uniqueness_on(&r, "externalId"), "{r:?}");
    s.create(sc, new_user("u3", "c", json!({"externalId": "e1"})))
        .await
        .unwrap();
}

/// Group displayName is unique per tenant, case-insensitively (Entra and Okta match groups on
/// it).
pub async fn group_display_name_unique<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = groups();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_group("g1", "Admins", &[])).await.unwrap();
    let r = s.create(sc, new_group("g2", "admins", &[])).await;
    assert!(is_uniqueness_on(&r, "displayName"), "{r:?}");
}

/// Tenants never see each other: get, query, replace, delete, members and groups_of.
pub async fn tenant_isolation<S: Storage>(s: S) {
    let (t1, t2) = (tenant("t1"), tenant("t2"));
    let (us, gs) = (users(), groups());
    s.create(Scope::new(&t1, &us), new_user("u1", "a", json!({})))
        .await
        .unwrap();
    s.create(Scope::new(&t1, &gs), new_group("g1", "G", &["u1"]))
        .await
        .unwrap();
    let s2 = Scope::new(&t2, &us);
    expect_kind(
        s.get(s2, "u1", Load::ALL).await,
        &StorageErrorKind::NotFound,
        "get across tenants",
    );
    expect_kind(
        s.delete(s2, "u1", None).await,
        &StorageErrorKind::NotFound,
        "delete across tenants",
    );
    expect_kind(
        s.replace(
            s2,
            "u1",
            replacement(&us, user_json("u1", "z", json!({}))),
            None,
        )
        .await,
        &StorageErrorKind::NotFound,
        "replace across tenants",
    );
    expect_kind(
        s.modify_members(
            Scope::new(&t2, &gs),
            "g1",
            MembersChange::Add(vec![Member::new("u9")]),
            None,
        )
        .await,
        &StorageErrorKind::NotFound,
        "modify_members across tenants",
    );
    let page = query_filter(&s, &t2, &us, &filter(r#"userName eq "a""#)).await;
    assert_eq!(page.total_results, 0);
    let all = s
        .query(
            s2,
            StorageQuery {
                filter: None,
                sort: None,
                page: &offset(0, 10),
                load: Load::ALL,
            },
        )
        .await
        .unwrap();
    assert_eq!(all.total_results, 0);
    assert!(all.resources.is_empty());
    assert!(s.groups_of(&t2, "u1").await.unwrap().is_empty());
    // t1 is intact.
    assert_eq!(
        s.get(Scope::new(&t1, &us), "u1", Load::ALL)
            .await
            .unwrap()
            .version,
        1
    );
    assert_eq!(s.groups_of(&t1, "u1").await.unwrap().len(), 1);
    // And the same userName is free in t2.
    s.create(s2, new_user("u1", "A", json!({}))).await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Queries answered by the backend

/// `userName eq "..."` is pushed down and finds exactly the one user, case-insensitively.
pub async fn query_user_name_eq_pushdown<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    for (id, name) in [("u1", "alice"), ("u2", "BJensen"), ("u3", "carol")] {
        s.create(
            sc,
            new_user(id, name, json!({"externalId": format!("X-{id}")})),
        )
        .await
        .unwrap();
    }
    let page = query_filter(&s, &t, &schema, &filter(r#"userName eq "bjensen""#)).await;
    assert_eq!(ids(&page), ["u2"]);
    assert_eq!(page.total_results, 1);
    let page = query_filter(&s, &t, &schema, &filter(r#"externalId eq "X-u3""#)).await;
    assert_eq!(ids(&page), ["u3"]);
    let page = query_filter(&s, &t, &schema, &filter(r#"id eq "u1""#)).await;
    assert_eq!(ids(&page), ["u1"]);
    let g = groups();
    s.create(Scope::new(&t, &g), new_group("g1", "Admins", &[]))
        .await
        .unwrap();
    let page = query_filter(&s, &t, &g, &filter(r#"displayName eq "ADMINS""#)).await;
    assert_eq!(ids(&page), ["g1"]);
}

/// Entra's Test Connection: `userName eq "<random guid>"` is an empty page with
/// totalResults 0, never an error (RFC 7644 §3.4.2: a query that matches nothing is an
/// empty ListResponse).
pub async fn query_no_match_is_empty_page<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let f = filter(r#"userName eq "5a0c6d2e-6f0b-4a43-9a7b-4b2b5c3c0e11""#);
    let page = query_filter(&s, &t, &schema, &f).await;
    assert_eq!(
        page,
        QueryPage {
            resources: vec![],
            total_results: 0,
            next_cursor: None
        }
    );
    s.create(Scope::new(&t, &schema), new_user("u1", "a", json!({})))
        .await
        .unwrap();
    let page = query_filter(&s, &t, &schema, &f).await;
    assert_eq!(page.total_results, 0);
    assert!(page.resources.is_empty());
}

/// No filter: every resource of the scope, offset-paged in a stable order; totalResults
/// is the number of all resources.
pub async fn query_all_offset_paging<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    for i in 0..7 {
        s.create(sc, new_user(&format!("u{i}"), &format!("n{i}"), json!({})))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    for start in [0, 3, 6] {
        let page = s
            .query(
                sc,
                StorageQuery {
                    filter: None,
                    sort: None,
                    page: &offset(start, 3),
                    load: Load::ALL,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total_results, 7);
        seen.extend(ids(&page));
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
    let beyond = s
        .query(
            sc,
            StorageQuery {
                filter: None,
                sort: None,
                page: &offset(50, 3),
                load: Load::ALL,
            },
        )
        .await
        .unwrap();
    assert!(beyond.resources.is_empty());
    assert_eq!(beyond.total_results, 7);
}

async fn walk_cursor<F, Fut>(
    mut next: F,
    limit: u64,
    mut between: impl AsyncFnMut(usize),
) -> Vec<String>
where
    F: FnMut(Option<String>, u64) -> Fut,
    Fut: Future<Output = QueryPage>,
{
    let mut seen = Vec::new();
    let mut cursor = None;
    for round in 0..100 {
        let page = next(cursor.take(), limit).await;
        assert!(page.resources.len() as u64 <= limit);
        seen.extend(ids(&page));
        match page.next_cursor {
            Some(c) => {
                assert!(
                    scim_core::messages::is_unreserved(&c),
                    "cursor {c:?} must be URL-safe (RFC 9865)"
                );
                cursor = Some(c);
                between(round).await;
            }
            None => return seen,
        }
    }
    panic!("cursor walk did not end");
}

/// RFC 9865 cursor paging by the backend itself (no filter): resources deleted between pages
/// do not make the walk skip or repeat survivors (RFC 9865 §1: a `startIndex` walk during
/// deletes skips resources, which cursors exist to prevent).
pub async fn query_all_cursor_paging_survives_deletes<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    for i in 0..10 {
        s.create(
            sc,
            new_user(&format!("u{i:02}"), &format!("n{i}"), json!({})),
        )
        .await
        .unwrap();
    }
    let deleted: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let seen = walk_cursor(
        |after, limit| {
            let s = &s;
            async move {
                let page = StoragePage::Cursor { after, limit };
                s.query(
                    sc,
                    StorageQuery {
                        filter: None,
                        sort: None,
                        page: &page,
                        load: Load::ALL,
                    },
                )
                .await
                .unwrap()
            }
        },
        3,
        async |round| {
            // After the first page: delete one returned and one not yet returned resource.
            if round == 0 {
                let page = s
                    .query(
                        sc,
                        StorageQuery {
                            filter: None,
                            sort: None,
                            page: &offset(0, 100),
                            load: Load::ALL,
                        },
                    )
                    .await
                    .unwrap();
                let all = ids(&page);
                let victims = [all[0].clone(), all[6].clone()];
                for v in &victims {
                    s.delete(sc, v, None).await.unwrap();
                }
                deleted.lock().unwrap().extend(victims);
            }
        },
    )
    .await;
    let deleted = deleted.into_inner().unwrap();
    assert_eq!(deleted.len(), 2);
    let mut expected: Vec<String> = (0..10).map(|i| format!("u{i:02}")).collect();
    expected.retain(|id| id != &deleted[1]);
    let mut got = seen.clone();
    got.sort();
    assert_eq!(
        got, expected,
        "every survivor exactly once (and the deleted-before-seen one never)"
    );
}

/// Whatever the backend claims with `can_filter`, it answers exactly: the same resources
/// and totalResults as scim-core's evaluator over every resource.
pub async fn pushdown_is_exact<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    let people = [
        (
            "u1",
            "bjensen",
            json!({"externalId": "E1", "title": "Tour Guide", "active": true,
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "emails": [{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}]}),
        ),
        (
            "u2",
            "JSmith",
            json!({"externalId": "e1", "title": "Boss", "active": false,
            "emails": [{"value": "JSMITH@example.com", "type": "work"}]}),
        ),
        (
            "u3",
            "alice",
            json!({"title": "Boss", "name": {"familyName": "Liddell"}}),
        ),
        (
            "u4",
            "Bob",
            json!({"externalId": "E4", "emails": [{"value": "bob@example.org"}]}),
        ),
        ("u5", "zed", json!({"active": true})),
    ];
    let mut all = Vec::new();
    for (id, name, extra) in people {
        let r = s.create(sc, new_user(id, name, extra)).await.unwrap();
        all.push(r);
    }
    let filters = [
        r#"userName eq "BJENSEN""#,
        r#"userName eq "nobody""#,
        r#"externalId eq "E1""#,
        r#"externalId eq "e4""#,
        r#"id eq "u3""#,
        r#"id eq "U3""#,
        r#"emails.value eq "jsmith@example.com""#,
        r#"emails.value eq "BABS@JENSEN.ORG""#,
        r#"emails eq "bob@example.org""#,
        r#"title eq "Boss""#,
        r#"title eq "boss""#,
        r#"name.familyName eq "jensen""#,
        r#"active eq true"#,
        r#"userName sw "b""#,
        r#"userName co "SMI""#,
        r#"userName ew "ED""#,
        r#"userName gt "c""#,
        r#"title pr"#,
        r#"not (title eq "Boss")"#,
        r#"title ne "Boss""#,
        r#"userName eq "alice" or userName eq "bob""#,
        r#"userName eq "alice" or externalId eq "E1""#,
        r#"(userName eq "alice" or userName eq "bob") and externalId eq "E4""#,
        r#"userName eq "alice" and title eq "Boss""#,
        r#"userName eq "bjensen" and externalId eq "e1""#,
        r#"emails[type eq "work" and value co "example.com"]"#,
        r#"emails.type eq "work""#,
        r#"meta.resourceType eq "User""#,
        r#"externalId pr"#,
    ];
    let mut pushed = 0;
    for text in filters {
        let f = filter(text);
        if !s.can_filter(&schema, &f) {
            continue;
        }
        pushed += 1;
        let compiled = f.compile(&schema).unwrap();
        let expected: BTreeSet<String> = all
            .iter()
            .filter(|r| compiled.matches(&r.resource))
            .map(|r| r.id.clone())
            .collect();
        let page = s
            .query(
                sc,
                StorageQuery {
                    filter: Some(&f),
                    sort: None,
                    page: &offset(0, 100),
                    load: Load::ALL,
                },
            )
            .await
            .unwrap_or_else(|e| {
                panic!("`{text}` is claimed by can_filter but query failed: {e:?}")
            });
        assert_eq!(id_set(&page), expected, "pushdown of `{text}`");
        assert_eq!(
            page.total_results,
            expected.len() as u64,
            "totalResults of `{text}`"
        );
    }
    assert!(
        pushed >= 6,
        "the eq lookups on userName, externalId and id must be pushed down"
    );
}

// ---------------------------------------------------------------------------------------
// Value paths, co and ew (RFC 7644 §3.4.2.2)

/// The ids (and totalResults) a backend finds for `text` in one page of `page`, asserting
/// that it claims the filter (`can_filter`).
async fn claimed<S: Storage + ?Sized>(
    s: &S,
    t: &TenantId,
    text: &str,
    page: &StoragePage,
) -> (Vec<String>, u64) {
    let schema = users();
    let f = filter(text);
    assert!(
        s.can_filter(&schema, &f),
        "the backend must push down `{text}` (value paths, co, ew on indexed paths)"
    );
    let out = s
        .query(
            Scope::new(t, &schema),
            StorageQuery {
                filter: Some(&f),
                sort: None,
                page,
                load: Load::WITHOUT_MEMBERS,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("`{text}`: {e:?}"));
    (ids(&out), out.total_results)
}

/// The ids `text` finds (all in one page), checking totalResults.
async fn claimed_ids<S: Storage + ?Sized>(s: &S, t: &TenantId, text: &str) -> Vec<String> {
    let (found, total) = claimed(s, t, text, &offset(0, 1000)).await;
    assert_eq!(total, found.len() as u64, "totalResults of `{text}`");
    found
}

/// Creates users `(id, emails)` (userName = id) in tenant `t`.
async fn users_with_emails<S: Storage + ?Sized>(s: &S, t: &TenantId, people: &[(&str, Value)]) {
    let schema = users();
    for (id, emails) in people {
        s.create(
            Scope::new(t, &schema),
            new_user(id, id, json!({"emails": emails})),
        )
        .await
        .unwrap();
    }
}

/// A value path (RFC 7644 §3.4.2.2 "valuePath") requires its whole filter of ONE element:
/// a work email a@x.example and a home email home@y.example do not make a work email
/// containing "home", although `emails.type eq "work" and emails.value co "home"` (any
/// element for each comparison) matches.
pub async fn value_path_and_or_on_the_same_element<S: Storage>(s: S) {
    let t = tenant("t1");
    users_with_emails(
        &s,
        &t,
        &[
            (
                "a",
                json!([{"value": "a@x.example", "type": "work"},
                       {"value": "home@y.example", "type": "home"}]),
            ),
            ("b", json!([{"value": "b@x.example", "type": "home"}])),
            ("c", json!([{"value": "c@y.example", "type": "work"}])),
            ("d", json!([])),
        ],
    )
    .await;
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type eq "work" and value co "@x"]"#).await,
        ["a"]
    );
    // "x" is in every ".example".
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type eq "work" and value co "x"]"#).await,
        ["a", "c"]
    );
    assert!(
        claimed_ids(&s, &t, r#"emails[type eq "work" and value co "home"]"#)
            .await
            .is_empty(),
        "the work and the home email are different elements"
    );
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails.type eq "work" and emails.value co "home""#
        )
        .await,
        ["a"],
        "outside brackets each comparison matches ANY element"
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type eq "home" or value ew "y.example"]"#).await,
        ["a", "b", "c"]
    );
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails[type eq "home" and value sw "b"] or emails[type eq "work" and value ew "y.example"]"#
        )
        .await,
        ["b", "c"]
    );
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails[(type eq "home" or type eq "work") and value co "@y."]"#
        )
        .await,
        ["a", "c"]
    );
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails[value eq "b@x.example"] and userName eq "b""#
        )
        .await,
        ["b"]
    );
}

/// `co` and `ew` (RFC 7644 §3.4.2.2) are exact substring / suffix tests on the folded
/// value: no wildcards (`%`, `_`), no partial characters.
pub async fn co_and_ew_are_exact_substrings<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    for (id, name) in [
        ("u1", "a_b%c"),
        ("u2", "axbyc"),
        ("u3", "BJensen"),
        ("u4", "ab\\c"),
    ] {
        s.create(sc, new_user(id, name, json!({}))).await.unwrap();
    }
    assert_eq!(claimed_ids(&s, &t, r#"userName co "_b%""#).await, ["u1"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName co "%""#).await, ["u1"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName ew "%C""#).await, ["u1"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName co "b\\c""#).await, ["u4"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName co "JEN""#).await, ["u3"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName ew "SEN""#).await, ["u3"]);
    assert_eq!(
        claimed_ids(&s, &t, r#"userName ew "BJENSEN""#).await,
        ["u3"]
    );
    assert!(
        claimed_ids(&s, &t, r#"userName ew "xBJENSEN""#)
            .await
            .is_empty()
    );
    assert!(
        claimed_ids(&s, &t, r#"userName co "jensenx""#)
            .await
            .is_empty()
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"userName co "b" and userName ew "c""#).await,
        ["u1", "u2", "u4"]
    );
    // caseExact=true (externalId, id): no folding.
    s.create(sc, new_user("u5", "e1", json!({"externalId": "Ext-ABC"})))
        .await
        .unwrap();
    assert_eq!(claimed_ids(&s, &t, r#"externalId co "t-A""#).await, ["u5"]);
    assert!(
        claimed_ids(&s, &t, r#"externalId co "t-a""#)
            .await
            .is_empty()
    );
    assert_eq!(claimed_ids(&s, &t, r#"externalId ew "ABC""#).await, ["u5"]);
    assert!(
        claimed_ids(&s, &t, r#"externalId ew "abc""#)
            .await
            .is_empty()
    );
}

/// RFC 7643 §4.1.2: `emails.value` and `emails.type` are caseExact=false, so their
/// comparisons fold case (char by char, as scim-core's evaluator does), also for non-ASCII
/// letters.
pub async fn value_path_case_insensitivity<S: Storage>(s: S) {
    let t = tenant("t1");
    users_with_emails(
        &s,
        &t,
        &[
            ("u1", json!([{"value": "A@X.Example", "type": "WORK"}])),
            (
                "u2",
                json!([{"value": "ÄNNE@Örebro.example", "type": "Privat"}]),
            ),
            (
                "u3",
                json!([{"value": "anne@orebro.example", "type": "work"}]),
            ),
        ],
    )
    .await;
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails[type eq "work" and value eq "a@x.example"]"#
        )
        .await,
        ["u1"]
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type eq "Work"]"#).await,
        ["u1", "u3"]
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails.type eq "PRIVAT""#).await,
        ["u2"]
    );
    assert_eq!(claimed_ids(&s, &t, r#"emails[value co "Ä"]"#).await, ["u2"]);
    assert_eq!(claimed_ids(&s, &t, r#"emails[value co "ä"]"#).await, ["u2"]);
    assert_eq!(claimed_ids(&s, &t, r#"emails.value sw "äN""#).await, ["u2"]);
    assert_eq!(
        claimed_ids(&s, &t, r#"emails.value ew "öREBRO.EXAMPLE""#).await,
        ["u2"]
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails.value co "NNE@""#).await,
        ["u2", "u3"]
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type co "RIV" and value co "@Ö"]"#).await,
        ["u2"]
    );
}

/// totalResults counts every match of a value path, offset paging pages through the
/// matches in creation order, and a cursor walk sees each exactly once (RFC 7644 §3.4.2.4).
pub async fn value_path_paging_and_total<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    let mut expected = Vec::new();
    for i in 0..25 {
        let id = format!("u{i:02}");
        // Odd users: a work email at x; even ones: x only in the home email.
        let emails = if i % 2 == 1 {
            expected.push(id.clone());
            json!([{"value": format!("{id}@x.example"), "type": "work"}])
        } else {
            json!([{"value": format!("{id}@y.example"), "type": "work"},
                   {"value": format!("{id}@x.example"), "type": "home"}])
        };
        s.create(sc, new_user(&id, &id, json!({"emails": emails})))
            .await
            .unwrap();
    }
    let text = r#"emails[type eq "work" and value co "@x."]"#;
    assert_eq!(expected.len(), 12);
    let (page, total) = claimed(&s, &t, text, &offset(5, 5)).await;
    assert_eq!(total, 12);
    assert_eq!(page, expected[5..10]);
    let (page, total) = claimed(&s, &t, text, &offset(10, 5)).await;
    assert_eq!(total, 12);
    assert_eq!(page, expected[10..]);
    let (page, total) = claimed(&s, &t, text, &offset(20, 5)).await;
    assert_eq!((page.len(), total), (0, 12));
    let f = filter(text);
    let walked = walk_cursor(
        |after, limit| {
            let (s, t, schema, f) = (&s, &t, &schema, &f);
            async move {
                let page = StoragePage::Cursor { after, limit };
                let out = s
                    .query(
                        Scope::new(t, schema),
                        StorageQuery {
                            filter: Some(f),
                            sort: None,
                            page: &page,
                            load: Load::WITHOUT_MEMBERS,
                        },
                    )
                    .await
                    .unwrap();
                assert_eq!(out.total_results, 12);
                out
            }
        },
        5,
        async |_| {},
    )
    .await;
    assert_eq!(walked, expected);
}

/// Value paths, co and ew see only the tenant (and resource type) of the query.
pub async fn value_path_tenant_isolation<S: Storage>(s: S) {
    let (t1, t2) = (tenant("t1"), tenant("t2"));
    users_with_emails(
        &s,
        &t1,
        &[("a", json!([{"value": "a@x.example", "type": "work"}]))],
    )
    .await;
    users_with_emails(
        &s,
        &t2,
        &[
            ("a", json!([{"value": "a@y.example", "type": "work"}])),
            ("b", json!([{"value": "b@x.example", "type": "work"}])),
        ],
    )
    .await;
    // A group in t1 named like the emails: another resource type.
    s.create(
        Scope::new(&t1, &groups()),
        new_group("g", "x.example work", &[]),
    )
    .await
    .unwrap();
    let text = r#"emails[type eq "work" and value co "x.example"]"#;
    assert_eq!(claimed_ids(&s, &t1, text).await, ["a"]);
    assert_eq!(claimed_ids(&s, &t2, text).await, ["b"]);
    assert_eq!(
        claimed_ids(&s, &t2, r#"emails.value ew "y.example""#).await,
        ["a"]
    );
    assert!(
        claimed_ids(&s, &t1, r#"emails.value ew "y.example""#)
            .await
            .is_empty()
    );
    assert!(
        claimed_ids(&s, &tenant("t3"), text).await.is_empty(),
        "a tenant without data finds nothing"
    );
}

/// The users of [`value_path_pushdown_equals_the_evaluator`]: case and Unicode, emails
/// without type, without value, null elements and values, primitive elements, a single
/// email object instead of an array, several values in one element, numbers.
fn varied_users() -> Vec<(&'static str, Value)> {
    vec![
        (
            "v01",
            json!({"userName": "bjensen", "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}]}),
        ),
        (
            "v02",
            json!({"userName": "jsmith", "emails": [{"value": "JSmith@Example.COM", "type": "Work"}]}),
        ),
        ("v03", json!({"userName": "alice", "emails": []})),
        (
            "v04",
            json!({"userName": "bob", "emails": [{"value": "bob@example.org"}]}),
        ),
        (
            "v05",
            json!({"userName": "carol", "emails": [{"type": "work"}]}),
        ),
        (
            "v06",
            json!({"userName": "dave", "emails": [null, {"value": null, "type": "home"}]}),
        ),
        (
            "v07",
            json!({"userName": "erin", "emails": ["erin@plain.example", {"value": "erin@x.example", "type": "other"}]}),
        ),
        (
            "v08",
            json!({"userName": "frank", "emails": {"value": "Frank@Single.example", "type": "work"}}),
        ),
        (
            "v09",
            json!({"userName": "grace", "emails": [{"value": ["g1@x.example", "G2@Y.example"], "type": "work"}]}),
        ),
        (
            "v10",
            json!({"userName": "ÄNNE", "emails": [{"value": "Änne@Örebro.example", "type": "Privat"}]}),
        ),
        (
            "v11",
            json!({"userName": "ΟΔΟΣ", "emails": [{"value": "ΟΔΟΣ@greek.example", "type": "WORK"}]}),
        ),
        (
            "v12",
            json!({"userName": "kelvin", "emails": [{"value": "\u{212A}@k.example", "type": "work"}]}),
        ),
        (
            "v13",
            json!({"userName": "heidi", "emails": [{"value": 42, "type": "work"}, {"value": "", "type": ""}]}),
        ),
        (
            "v14",
            json!({"userName": "ivan", "emails": [{"value": "ivan@x.example", "type": "home"}, {"value": "ivan@work.example", "type": "work"}]}),
        ),
        (
            "v15",
            json!({"userName": "judy", "emails": [{"value": "judy@x.example", "type": ["work", "home"]}]}),
        ),
        (
            "v16",
            json!({"userName": "mallory", "emails": [[{"value": "nested@x.example", "type": "work"}]]}),
        ),
        (
            "v17",
            json!({"userName": "nina", "Emails": [{"VALUE": "Nina@X.example", "TYPE": "work"}]}),
        ),
        ("v18", json!({"userName": "oscar"})),
        (
            "v19",
            json!({"userName": "peggy", "emails": ["PEGGY@x.example", 7, true]}),
        ),
        (
            "v20",
            json!({"userName": "quinn", "emails": [{"value": "a%b_c@x.example", "type": "work"}]}),
        ),
        (
            "v21",
            json!({"userName": "rupert", "emails": [{"value": "r@x.example", "type": "work"}, {"value": "r@x.example", "type": "home"}]}),
        ),
    ]
}

/// Value paths, `co` and `ew` on indexed paths are ALL pushed down (`can_filter`) and each
/// answer (ids and totalResults) equals scim-core's evaluator (`Filter::compile` +
/// `CompiledFilter::matches`) over the stored resources.
pub async fn value_path_pushdown_equals_the_evaluator<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    let mut all = Vec::new();
    for (id, body) in varied_users() {
        let body = match body {
            Value::Object(mut o) => o.remove("userName").map(|u| (u, o)),
            _ => None,
        };
        let (name, extra) = body.unwrap();
        let stored = s
            .create(
                sc,
                new_user(id, name.as_str().unwrap(), Value::Object(extra)),
            )
            .await
            .unwrap();
        all.push(stored);
    }
    let filters = [
        r#"emails[type eq "work" and value co "x"]"#,
        r#"emails[type eq "work" and value co "home"]"#,
        r#"emails[type eq "WORK"]"#,
        r#"emails[type eq "home" or type eq "other"]"#,
        r#"emails[value eq "erin@plain.example"]"#,
        r#"emails[value sw "PEGGY"]"#,
        r#"emails[value pr]"#,
        r#"emails[type pr]"#,
        r#"emails[type pr and value pr]"#,
        r#"emails[value co "@x."]"#,
        r#"emails[value ew ".example" and type eq "work"]"#,
        r#"emails[value co "ä"]"#,
        r#"emails[value co "Ö"]"#,
        r#"emails[value eq "οδοσ@greek.example"]"#,
        r#"emails[value sw "k@"]"#,
        r#"emails[value co "%b_"]"#,
        r#"emails[type eq ""]"#,
        r#"emails[value eq ""]"#,
        r#"emails[type eq "home" and value co "x"]"#,
        r#"emails[type eq "work" and value ew "y.example"]"#,
        r#"emails[type gt "p" and value lt "m"]"#,
        r#"emails[(type eq "work" or type eq "home") and value co "r@x"]"#,
        r#"emails[type eq "work" and (value co "ivan" or value co "judy")]"#,
        r#"emails.type eq "work" and emails.value co "home""#,
        r#"emails.value co "x.example""#,
        r#"emails.value ew "EXAMPLE""#,
        r#"emails.type co "OR""#,
        r#"emails.type ew "k""#,
        r#"userName co "n" or emails[type eq "privat"]"#,
        r#"userName ew "Σ""#,
        r#"userName co "ä""#,
        r#"emails[type eq "work"] and emails[type eq "home"]"#,
        r#"emails[value ew "example.com"] or emails[value ew "example.org"]"#,
        // Cheap (range-scanned) conjuncts AND-ed with scanning ones (`co` / `ew`): the SQL
        // backends check the scanning side per candidate, value paths on the SAME element.
        r#"userName sw "i" and emails[type eq "home" and value co "work"]"#,
        r#"userName sw "i" and emails[type eq "work" and value co "work"]"#,
        r#"userName eq "rupert" and emails[type eq "home" and value co "r@x"]"#,
        r#"userName eq "grace" and emails[type eq "work" and value co "g2@"]"#,
        r#"userName eq "peggy" and emails[value co "peggy" or value eq "x"]"#,
        r#"userName eq "nina" and emails[type eq "work" and value ew "x.example"]"#,
        r#"userName eq "judy" and emails[type eq "home" and value co "judy"]"#,
        r#"userName eq "heidi" and emails[value pr and type co "r"]"#,
        r#"userName ge "a" and emails[value co "x"] and userName co "e""#,
        r#"emails.value co "x" and userName lt "k" and emails[type pr]"#,
        r#"(userName eq "bjensen" or userName eq "jsmith") and emails[type eq "work" and value co "example.com"]"#,
        r#"userName pr and (emails.value co "@x" or emails[type eq "home" and value ew "org"])"#,
        r#"(userName sw "j" and emails.value co "x") or (userName sw "p" and emails[value co "peggy"])"#,
        r#"emails[type eq "work" or value co "plain"] and userName gt "d""#,
        r#"emails[type eq "work"] and emails[value co "y.example"]"#,
        r#"emails.type eq "work" and emails[value co "home"]"#,
        r#"emails[value pr and value co "@x"] and userName co "i" and emails.type eq "home""#,
        r#"userName sw "r" and (emails[type eq "home" and value co "r@"] and emails[type eq "work" and value ew "example"])"#,
        r#"emails[(type eq "work" or type eq "home") and (value co "ivan" or value ew ".org")] and userName pr"#,
        r#"emails[type eq "work" and value pr and value co "x"] or (userName eq "bob" and emails.value co "bob")"#,
        r#"userName ew "n" and (userName sw "b" or emails[type eq "work" and value co "x"])"#,
        // Narrowing conjuncts inside brackets: (seq, elem) candidates checked per element.
        r#"emails[value sw "r@" and value co "x."]"#,
        r#"emails[value eq "r@x.example" and type co "om"]"#,
        r#"emails[value sw "ivan@x" and type ew "rk"]"#,
        r#"emails[value sw "ivan@w" and type ew "rk"]"#,
        r#"emails[(value sw "g" or value eq "judy@x.example") and type co "o"]"#,
    ];
    let mut nonempty = 0;
    for text in filters {
        let f = filter(text);
        let compiled = f
            .compile(&schema)
            .unwrap_or_else(|e| panic!("`{text}` must compile: {e:?}"));
        let expected: Vec<String> = all
            .iter()
            .filter(|r| compiled.matches(&r.resource))
            .map(|r| r.id.clone())
            .collect();
        nonempty += usize::from(!expected.is_empty());
        let found: BTreeSet<String> = claimed_ids(&s, &t, text).await.into_iter().collect();
        let expected: BTreeSet<String> = expected.into_iter().collect();
        assert_eq!(found, expected, "pushdown of `{text}` vs the evaluator");
    }
    assert!(
        nonempty >= 40,
        "the fixture must make most filters match something"
    );
}

// ---------------------------------------------------------------------------------------
// The planner

/// A wrapper that pushes down only `eq` on userName / externalId / displayName / id (what
/// every backend must support) and `or`s of them, which it answers itself as the union of
/// one backend query per `eq`. So the planner's fallback is exercised whatever the backend
/// supports.
pub(crate) struct EqOnly<S>(S);

fn is_lookup_eq(schema: &ResourceSchema, f: &Filter) -> bool {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(_),
        } => {
            path.sub_attr.is_none()
                && (["userName", "externalId", "id"]
                    .iter()
                    .any(|n| path.name.eq_ignore_ascii_case(n))
                    || (schema.name() == "Group" && path.name.eq_ignore_ascii_case("displayName")))
        }
        _ => false,
    }
}

fn or_leaves<'f>(schema: &ResourceSchema, f: &'f Filter, out: &mut Vec<&'f Filter>) -> bool {
    match f {
        Filter::Or(a, b) => or_leaves(schema, a, out) && or_leaves(schema, b, out),
        other if is_lookup_eq(schema, other) => {
            out.push(other);
            true
        }
        _ => false,
    }
}

#[async_trait]
impl<S: Storage> Storage for EqOnly<S> {
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        or_leaves(schema, filter, &mut Vec::new())
    }
    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError> {
        self.0.create(scope, new).await
    }
    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError> {
        self.0.get(scope, id, load).await
    }
    async fn replace(
        &self,
        scope: Scope<'_>,
        id: &str,
        r: Replacement,
        v: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.0.replace(scope, id, r, v).await
    }
    async fn delete(&self, scope: Scope<'_>, id: &str, v: Option<u64>) -> Result<(), StorageError> {
        self.0.delete(scope, id, v).await
    }
    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        let Some(f) = query.filter else {
            return self.0.query(scope, query).await;
        };
        assert!(query.sort.is_none(), "EqOnly never claims a sort");
        let mut leaves = Vec::new();
        assert!(
            or_leaves(scope.schema, f, &mut leaves),
            "the planner passed an unclaimed filter"
        );
        let mut out: Vec<StoredResource> = Vec::new();
        for leaf in leaves {
            let page = self
                .0
                .query(
                    scope,
                    StorageQuery {
                        filter: Some(leaf),
                        sort: None,
                        page: &offset(0, 10),
                        load: query.load,
                    },
                )
                .await?;
            for r in page.resources {
                if !out.iter().any(|o| o.id == r.id) {
                    out.push(r);
                }
            }
        }
        let total = out.len() as u64;
        let StoragePage::Offset { offset, limit } = query.page else {
            panic!("EqOnly answers offset pages only (a planner candidate query)");
        };
        Ok(QueryPage {
            resources: out
                .into_iter()
                .skip(*offset as usize)
                .take(*limit as usize)
                .collect(),
            total_results: total,
            next_cursor: None,
        })
    }
    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        c: MembersChange,
        v: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.0.modify_members(scope, id, c, v).await
    }
    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StorageError> {
        self.0.groups_of(tenant, member_id).await
    }
}

pub(crate) fn eq_only<S: Storage>(s: S) -> EqOnly<S> {
    EqOnly(s)
}

/// Ten users for the planner cases: `u0`..`u9`, userName `user0`.., titles Boss on the even
/// ones (except u8, without title), work emails on u0..u4.
async fn planner_fixture<S: Storage>(s: &S, t: &TenantId) {
    let schema = users();
    for i in 0..10 {
        let mut extra = json!({});
        if i != 8 {
            extra["title"] = json!(if i % 2 == 0 {
                "Boss".to_string()
            } else {
                format!("Staff {}", 9 - i)
            });
        }
        if i < 5 {
            extra["emails"] = json!([{"value": format!("user{i}@example.com"), "type": "work"}]);
        }
        s.create(
            Scope::new(t, &schema),
            new_user(&format!("u{i}"), &format!("user{i}"), extra),
        )
        .await
        .unwrap();
    }
}

fn all_users_or(n: usize) -> String {
    (0..n)
        .map(|i| format!(r#"userName eq "USER{i}""#))
        .collect::<Vec<_>>()
        .join(" or ")
}

async fn plan<S: Storage>(
    s: &S,
    t: &TenantId,
    f: Option<&str>,
    sort: Option<&SortSpec>,
    page: &StoragePage,
    limits: &PlannerLimits,
) -> Result<QueryPage, StorageError> {
    let schema = users();
    let f = f.map(filter);
    execute(
        s,
        Scope::new(t, &schema),
        f.as_ref(),
        sort,
        page,
        Load::ALL,
        limits,
    )
    .await
}

/// Mixed filters: an indexed clause selects candidates, the rest is evaluated in memory
/// exactly (value filters, `not`, `sw`, `pr`).
pub async fn planner_fallback_mixed_filters<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    let cases: [(String, &[&str]); 6] = [
        (r#"userName eq "user2" and title eq "boss""#.into(), &["u2"]),
        (r#"userName eq "user3" and title eq "Boss""#.into(), &[]),
        (
            format!("({}) and title eq \"Boss\"", all_users_or(10)),
            &["u0", "u2", "u4", "u6"],
        ),
        (
            format!("({}) and not (title pr)", all_users_or(10)),
            &["u8"],
        ),
        (
            format!(
                r#"({}) and emails[type eq "work" and value sw "USER1"] "#,
                all_users_or(10)
            ),
            &["u1"],
        ),
        (
            format!(
                r#"title sw "staff" and ({}) and userName sw "user"  "#,
                all_users_or(6)
            ),
            &["u1", "u3", "u5"],
        ),
    ];
    for (f, expected) in cases {
        let page = plan(&s, &t, Some(&f), None, &offset(0, 100), &limits)
            .await
            .unwrap();
        assert_eq!(ids(&page), expected, "{f}");
        assert_eq!(page.total_results, expected.len() as u64, "{f}");
    }
}

/// No clause the backend can evaluate: the planner scans the type's resources in pages with
/// the compiled filter and answers exactly (never 400 `invalidFilter` for a valid filter). An
/// `or` with one unsupported branch is scanned as a whole.
pub async fn planner_scans_when_nothing_narrows<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    let all: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    let cases: [(&str, Vec<&str>); 5] = [
        (r#"title eq "Boss""#, vec!["u0", "u2", "u4", "u6"]),
        (
            r#"userName sw "user""#,
            all.iter().map(String::as_str).collect(),
        ),
        (
            r#"title eq "Boss" or userName eq "user1""#,
            vec!["u0", "u1", "u2", "u4", "u6"],
        ),
        (
            r#"not (userName eq "user1")"#,
            all.iter()
                .map(String::as_str)
                .filter(|id| *id != "u1")
                .collect(),
        ),
        (r#"emails[value eq "user1@example.com"]"#, vec!["u1"]),
    ];
    for (f, expected) in cases {
        let page = plan(&s, &t, Some(f), None, &offset(0, 100), &limits)
            .await
            .unwrap_or_else(|e| panic!("{f}: {e:?}"));
        assert_eq!(ids(&page), expected, "{f}");
        assert_eq!(page.total_results, expected.len() as u64, "{f}");
    }
    // A scan longer than the bound: 400 tooMany, naming the bound.
    let small = PlannerLimits {
        max_scanned: 9,
        max_page_size: 100,
    };
    let e = plan(
        &s,
        &t,
        Some(r#"title eq "Boss""#),
        None,
        &offset(0, 10),
        &small,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::TooMany);
    assert!(
        e.message().contains("more than 9 resources"),
        "{}",
        e.message()
    );
}

/// The in-memory part names an unknown attribute or compares wrongly (RFC 7644 §3.4.2.2:
/// gt on a boolean SHALL be 400 invalidFilter): `UnsupportedFilter`.
pub async fn planner_residual_compile_error<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    for f in [
        r#"userName eq "user1" and nosuchattribute eq "x""#,
        r#"userName eq "user1" and active gt true"#,
    ] {
        expect_kind(
            plan(&s, &t, Some(f), None, &offset(0, 10), &limits).await,
            &StorageErrorKind::UnsupportedFilter,
            f,
        );
    }
}

/// More candidates than `max_scanned`: 400 `tooMany`; at the limit it is answered.
pub async fn planner_too_many<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let small = PlannerLimits {
        max_scanned: 3,
        max_page_size: 100,
    };
    let f = format!("({}) and title pr", all_users_or(4));
    expect_kind(
        plan(&s, &t, Some(&f), None, &offset(0, 10), &small).await,
        &StorageErrorKind::TooMany,
        &f,
    );
    let f3 = format!("({}) and title pr", all_users_or(3));
    let page = plan(&s, &t, Some(&f3), None, &offset(0, 10), &small)
        .await
        .unwrap();
    assert_eq!(page.total_results, 3);
    // A sort the backend cannot do, over all ten users, is bounded too.
    let sort = SortSpec::new(scim_core::AttrPath::new("title"), SortOrder::Ascending);
    expect_kind(
        plan(&s, &t, None, Some(&sort), &offset(0, 10), &small).await,
        &StorageErrorKind::TooMany,
        "sort",
    );
}

/// Offset paging in the fallback: totalResults counts matches after the in-memory filter,
/// pages slice the filtered, ordered matches.
pub async fn planner_offset_paging_counts_after_filter<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits {
        max_scanned: 100,
        max_page_size: 2,
    };
    let f = format!("({}) and title pr", all_users_or(10)); // 9 matches (u8 has no title)
    let mut seen = Vec::new();
    for start in [0, 2, 4, 6, 8] {
        // limit 5 is capped at max_page_size 2
        let page = plan(&s, &t, Some(&f), None, &offset(start, 5), &limits)
            .await
            .unwrap();
        assert_eq!(page.total_results, 9);
        assert!(page.resources.len() <= 2);
        seen.extend(ids(&page));
    }
    assert_eq!(seen, ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u9"]);
}

/// Cursors the planner issues walk every match exactly once while resources are deleted
/// between pages (RFC 9865), with and without a sort.
pub async fn planner_cursor_paging_survives_deletes<S: Storage>(s: S) {
    let backend = eq_only(s);
    // One tenant per round, so each round starts empty.
    for (t, sort) in [
        (tenant("t1"), None),
        (
            tenant("t2"),
            Some(SortSpec::new(
                scim_core::AttrPath::new("title"),
                SortOrder::Descending,
            )),
        ),
    ] {
        planner_fixture(&backend, &t).await;
        let schema = users();
        let f = format!("({}) and userName pr", all_users_or(10)); // evaluated in memory
        let limits = PlannerLimits::default();
        let deleted: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let first = plan(
            &backend,
            &t,
            Some(&f),
            sort.as_ref(),
            &offset(0, 100),
            &limits,
        )
        .await
        .unwrap();
        let order = ids(&first);
        let seen = walk_cursor(
            |after, limit| {
                let backend = &backend;
                let (t, f, sort) = (&t, &f, &sort);
                async move {
                    plan(
                        backend,
                        t,
                        Some(f),
                        sort.as_ref(),
                        &StoragePage::Cursor { after, limit },
                        &limits,
                    )
                    .await
                    .unwrap()
                }
            },
            3,
            async |round| {
                if round == 0 {
                    // One already returned, one not yet returned.
                    for v in [order[1].clone(), order[7].clone()] {
                        backend
                            .delete(Scope::new(&t, &schema), &v, None)
                            .await
                            .unwrap();
                        deleted.lock().unwrap().push(v);
                    }
                }
            },
        )
        .await;
        let deleted = deleted.into_inner().unwrap();
        let expected: Vec<String> = order
            .iter()
            .filter(|id| **id != deleted[1])
            .cloned()
            .collect();
        assert_eq!(seen, expected, "sort {sort:?}");
    }
}

/// The planner sorts what the backend cannot (RFC 7644 §3.4.2.3): missing values last when
/// ascending, first when descending; case-insensitive for caseExact=false.
pub async fn planner_sort<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    let f = all_users_or(10);
    let by_title = |order| SortSpec::new(scim_core::AttrPath::new("title"), order);
    // Titles: Boss (u0,u2,u4,u6), "Staff 8" u1, "Staff 6" u3, "Staff 4" u5, "Staff 2" u7,
    // "Staff 0" u9, none u8. Ties break by id.
    let asc = plan(
        &s,
        &t,
        Some(&f),
        Some(&by_title(SortOrder::Ascending)),
        &offset(0, 100),
        &limits,
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&asc),
        ["u0", "u2", "u4", "u6", "u9", "u7", "u5", "u3", "u1", "u8"]
    );
    let desc = plan(
        &s,
        &t,
        Some(&f),
        Some(&by_title(SortOrder::Descending)),
        &offset(0, 100),
        &limits,
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&desc),
        ["u8", "u1", "u3", "u5", "u7", "u9", "u0", "u2", "u4", "u6"]
    );
    let by_name = SortSpec::new(scim_core::AttrPath::new("userName"), SortOrder::Descending);
    let page = plan(
        &s,
        &t,
        Some(&all_users_or(3)),
        Some(&by_name),
        &offset(1, 1),
        &limits,
    )
    .await
    .unwrap();
    assert_eq!(ids(&page), ["u1"]);
    assert_eq!(page.total_results, 3);
}

/// A cursor the planner did not issue for this query is 400 `invalidCursor`.
pub async fn planner_rejects_foreign_cursor<S: Storage>(s: S) {
    let t = tenant("t1");
    let s = eq_only(s);
    planner_fixture(&s, &t).await;
    let limits = PlannerLimits::default();
    let f = format!("({}) and userName pr", all_users_or(10));
    let first = plan(
        &s,
        &t,
        Some(&f),
        None,
        &StoragePage::Cursor {
            after: None,
            limit: 2,
        },
        &limits,
    )
    .await
    .unwrap();
    let cursor = first.next_cursor.expect("a next cursor");
    let other = format!("({}) and userName pr", all_users_or(9));
    expect_kind(
        plan(
            &s,
            &t,
            Some(&other),
            None,
            &StoragePage::Cursor {
                after: Some(cursor),
                limit: 2,
            },
            &limits,
        )
        .await,
        &StorageErrorKind::InvalidCursor,
        "a cursor of another query",
    );
    expect_kind(
        plan(
            &s,
            &t,
            Some(&f),
            None,
            &StoragePage::Cursor {
                after: Some("p1.garbage".into()),
                limit: 2,
            },
            &limits,
        )
        .await,
        &StorageErrorKind::InvalidCursor,
        "a forged cursor",
    );
}

// ---------------------------------------------------------------------------------------
// Membership

async fn users_and_group<S: Storage>(s: &S, t: &TenantId, members: &[&str]) -> StoredResource {
    let us = users();
    for (id, name) in [("u1", "alice"), ("u2", "bob"), ("u3", "carol")] {
        s.create(Scope::new(t, &us), new_user(id, name, json!({})))
            .await
            .unwrap();
    }
    let gs = groups();
    s.create(Scope::new(t, &gs), new_group("g1", "Group One", members))
        .await
        .unwrap()
}

/// A group created with members returns them with `Load::ALL` as `{"value", "type"}`
/// objects (RFC 7643 §4.2).
pub async fn members_create_with_members<S: Storage>(s: S) {
    let t = tenant("t1");
    let created = users_and_group(&s, &t, &["u1", "u2"]).await;
    assert_eq!(created.version, 1);
    let gs = groups();
    let g = s.get(Scope::new(&t, &gs), "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1", "u2"]);
    let members = g.resource.get("members").and_then(Value::as_array).unwrap();
    assert!(
        members
            .iter()
            .all(|m| m.get("type") == Some(&json!("User"))),
        "{members:?}"
    );
    assert_eq!(g.resource.get("displayName"), Some(&json!("Group One")));
}

/// Adding members bumps the version; adding a present member again adds no duplicate.
pub async fn members_add_is_idempotent<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    let r = s
        .modify_members(
            sc,
            "g1",
            MembersChange::Add(vec![Member::new("u2")]),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(r.version, 2);
    assert!(
        r.resource.get("members").is_none(),
        "modify_members returns the group without members"
    );
    let r = s
        .modify_members(
            sc,
            "g1",
            MembersChange::Add(vec![Member::new("u2"), Member::new("u1")]),
            None,
        )
        .await
        .unwrap();
    assert!(r.version >= 2);
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1", "u2"]);
}

/// Removing one member leaves the others (a defect some SCIM servers have had: removing one
/// member dropped all); absent ids are ignored.
pub async fn members_remove<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2", "u3"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    let r = s
        .modify_members(
            sc,
            "g1",
            MembersChange::Remove(vec!["u2".into(), "nobody".into()]),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(r.version, 2);
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1", "u3"]);
    assert!(s.groups_of(&t, "u2").await.unwrap().is_empty());
}

/// Replace swaps the whole membership, via `modify_members` and via `replace`.
pub async fn members_replace<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    s.modify_members(
        sc,
        "g1",
        MembersChange::Replace(vec![Member::new("u3"), Member::new("u2")]),
        None,
    )
    .await
    .unwrap();
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u2", "u3"]);
    assert_eq!(g.version, 2);
    assert!(s.groups_of(&t, "u1").await.unwrap().is_empty());
    let mut r = replacement(&gs, group_json("g1", "Renamed"));
    r.members = Some(vec![Member::new("u1")]);
    let replaced = s.replace(sc, "g1", r, Some(2)).await.unwrap();
    assert_eq!(replaced.version, 3);
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1"]);
    assert_eq!(g.resource.get("displayName"), Some(&json!("Renamed")));
    // A replace with `members: None` keeps the membership.
    s.replace(sc, "g1", replacement(&gs, group_json("g1", "Again")), None)
        .await
        .unwrap();
    assert_eq!(
        member_values(&s.get(sc, "g1", Load::ALL).await.unwrap()),
        ["u1"]
    );
    s.modify_members(sc, "g1", MembersChange::Replace(vec![]), None)
        .await
        .unwrap();
    assert!(member_values(&s.get(sc, "g1", Load::ALL).await.unwrap()).is_empty());
}

/// `Load::WITHOUT_MEMBERS` (excludedAttributes=members) returns no `members`, in get and
/// query.
pub async fn get_without_members_has_no_members<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    let g = s.get(sc, "g1", Load::WITHOUT_MEMBERS).await.unwrap();
    assert!(g.resource.get("members").is_none());
    assert_eq!(g.version, 1);
    let f = filter(r#"displayName eq "group one""#);
    assert!(s.can_filter(&gs, &f));
    let page = s
        .query(
            sc,
            StorageQuery {
                filter: Some(&f),
                sort: None,
                page: &offset(0, 10),
                load: Load::WITHOUT_MEMBERS,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&page), ["g1"]);
    assert!(page.resources[0].resource.get("members").is_none());
    let page = s
        .query(
            sc,
            StorageQuery {
                filter: Some(&f),
                sort: None,
                page: &offset(0, 10),
                load: Load::ALL,
            },
        )
        .await
        .unwrap();
    assert_eq!(member_values(&page.resources[0]), ["u1", "u2"]);
}

/// `groups_of` lists the direct groups of a member with their displayName (the computed
/// `User.groups`, RFC 7643 §4.1.2).
pub async fn groups_of_lists_direct_groups<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    s.create(Scope::new(&t, &gs), new_group("g2", "Group Two", &["u1"]))
        .await
        .unwrap();
    let mut of_u1 = s.groups_of(&t, "u1").await.unwrap();
    of_u1.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        of_u1,
        [
            GroupRef {
                id: "g1".into(),
                resource_type: "Group".into(),
                display: Some("Group One".into())
            },
            GroupRef {
                id: "g2".into(),
                resource_type: "Group".into(),
                display: Some("Group Two".into())
            },
        ]
    );
    assert_eq!(s.groups_of(&t, "u2").await.unwrap().len(), 1);
    assert!(s.groups_of(&t, "u3").await.unwrap().is_empty());
}

/// `get_with_groups` answers what `get` and `groups_of` answer for the same resource, in
/// every tenant, with or without members, and `NotFound` for an unknown id or another
/// tenant's resource.
pub async fn get_with_groups_equals_get_and_groups_of<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let us = users();
    let gs = groups();
    s.create(Scope::new(&t, &gs), new_group("g2", "Group Two", &["u1"]))
        .await
        .unwrap();
    let other = tenant("t2");
    s.create(Scope::new(&other, &us), new_user("u1", "alice", json!({})))
        .await
        .unwrap();
    s.create(
        Scope::new(&other, &gs),
        new_group("g9", "Elsewhere", &["u1"]),
    )
    .await
    .unwrap();
    for (tn, id) in [(&t, "u1"), (&t, "u2"), (&t, "u3"), (&other, "u1")] {
        let sc = Scope::new(tn, &us);
        let (stored, of) = s
            .get_with_groups(sc, id, Load::WITHOUT_MEMBERS)
            .await
            .unwrap();
        assert_eq!(
            stored,
            s.get(sc, id, Load::WITHOUT_MEMBERS).await.unwrap(),
            "get_with_groups must read what get reads for {id}"
        );
        assert_eq!(of, s.groups_of(tn, id).await.unwrap(), "groups of {id}");
    }
    let (_, of_u1) = s
        .get_with_groups(Scope::new(&t, &us), "u1", Load::ALL)
        .await
        .unwrap();
    let mut ids: Vec<&str> = of_u1.iter().map(|g| g.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["g1", "g2"], "u1 is in g1 and g2 of t1 only");
    // A group (a type with members) with Load::ALL carries its members, as get does.
    let sc = Scope::new(&t, &gs);
    let (g1, of_g1) = s.get_with_groups(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(g1, s.get(sc, "g1", Load::ALL).await.unwrap());
    assert!(of_g1.is_empty());
    expect_kind(
        s.get_with_groups(Scope::new(&t, &us), "nobody", Load::WITHOUT_MEMBERS)
            .await,
        &StorageErrorKind::NotFound,
        "get_with_groups of an unknown id",
    );
    expect_kind(
        s.get_with_groups(Scope::new(&tenant("t3"), &us), "u1", Load::ALL)
            .await,
        &StorageErrorKind::NotFound,
        "get_with_groups in a tenant without that resource",
    );
}

/// `groups_of_many` answers exactly what `groups_of` answers for each member, with one entry
/// per distinct requested id (empty for a member of no group), scoped to the tenant.
pub async fn groups_of_many_equals_groups_of_each<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    s.create(sc, new_group("g2", "Group Two", &["u1", "u3"]))
        .await
        .unwrap();
    // A nested group (a Group member) and a group without displayName.
    let mut nested = new_group("g3", "Group Three", &[]);
    nested.members = vec![Member {
        value: "g1".into(),
        kind: Some("Group".into()),
        display: None,
    }];
    s.create(sc, nested).await.unwrap();
    // Another tenant: the same member ids in a group there must not leak into t1.
    let other = tenant("t2");
    s.create(
        Scope::new(&other, &gs),
        new_group("g9", "Elsewhere", &["u1", "u4"]),
    )
    .await
    .unwrap();
    let asked = ["u1", "u2", "u3", "u4", "g1", "nobody", "u1"];
    let many = s.groups_of_many(&t, &asked).await.unwrap();
    let distinct: BTreeSet<&str> = asked.iter().copied().collect();
    assert_eq!(
        many.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        distinct,
        "one entry per distinct requested id"
    );
    for id in distinct {
        assert_eq!(
            many[id],
            s.groups_of(&t, id).await.unwrap(),
            "groups_of_many must equal groups_of for {id}"
        );
    }
    let mut of_u1: Vec<&str> = many["u1"].iter().map(|g| g.id.as_str()).collect();
    of_u1.sort_unstable();
    assert_eq!(of_u1, ["g1", "g2"]);
    assert!(
        many["u4"].is_empty(),
        "u4 is in a group of another tenant only"
    );
    assert_eq!(
        many["g1"],
        [GroupRef {
            id: "g3".into(),
            resource_type: "Group".into(),
            display: Some("Group Three".into())
        }]
    );
    // In t2, only g9.
    let there = s.groups_of_many(&other, &["u1", "u2"]).await.unwrap();
    assert_eq!(there["u1"].len(), 1);
    assert_eq!(there["u1"][0].id, "g9");
    assert!(there["u2"].is_empty());
    // Nothing asked, nothing answered; an unknown tenant knows no groups.
    assert!(s.groups_of_many(&t, &[]).await.unwrap().is_empty());
    let unknown = s.groups_of_many(&tenant("t3"), &["u1"]).await.unwrap();
    assert_eq!(unknown.len(), 1);
    assert!(unknown["u1"].is_empty());
}

fn last_modified(r: &StoredResource) -> String {
    r.resource
        .get("meta")
        .and_then(|m| m.get("lastModified"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{} has no meta.lastModified: {:?}", r.id, r.resource))
        .to_string()
}

fn rfc3339(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("meta.lastModified {s:?} is not RFC 3339: {e}"))
}

/// A membership change is a change of the group (RFC 7643 §3.1 `lastModified`: "The most
/// recent DateTime that the details of this resource were updated at the service provider"):
/// `modify_members`, and a delete that drops a member out of its groups, set the stored
/// `meta.lastModified` to the time of the change; `meta.created` stays.
pub async fn membership_changes_set_last_modified<S: Storage>(s: S) {
    const FIXTURE: &str = "2024-01-01T00:00:00Z";
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1"]).await;
    let (us, gs) = (users(), groups());
    let sc = Scope::new(&t, &gs);
    s.create(sc, new_group("g2", "Group Two", &["u2"]))
        .await
        .unwrap();
    s.create(sc, new_group("g3", "Group Three", &["u1"]))
        .await
        .unwrap();
    let before = rfc3339(&super::last_modified_now());

    for (n, change) in [
        MembersChange::Add(vec![Member::new("u3")]),
        MembersChange::Remove(vec!["u3".into()]),
        MembersChange::Replace(vec![Member::new("u1"), Member::new("u4")]),
    ]
    .into_iter()
    .enumerate()
    {
        // Back to the fixture's timestamp, so every change must move it.
        s.replace(
            sc,
            "g1",
            replacement(&gs, group_json("g1", "Group One")),
            None,
        )
        .await
        .unwrap();
        let returned = s.modify_members(sc, "g1", change, None).await.unwrap();
        let stamp = last_modified(&returned);
        assert_ne!(
            stamp, FIXTURE,
            "change {n}: modify_members must set lastModified"
        );
        assert!(
            rfc3339(&stamp) >= before,
            "change {n}: {stamp} is in the past"
        );
        let got = s.get(sc, "g1", Load::WITHOUT_MEMBERS).await.unwrap();
        assert_eq!(last_modified(&got), stamp, "change {n}: stored as returned");
        assert_eq!(got.version, returned.version);
        assert_eq!(
            got.resource.get("meta").and_then(|m| m.get("created")),
            Some(&json!(FIXTURE)),
            "change {n}: meta.created stays"
        );
        assert_eq!(got.resource.get("displayName"), Some(&json!("Group One")));
    }

    // Deleting u2 drops it out of g2: g2 changed; g3 (without u2) did not.
    s.delete(Scope::new(&t, &us), "u2", None).await.unwrap();
    let g2 = s.get(sc, "g2", Load::WITHOUT_MEMBERS).await.unwrap();
    let stamp = last_modified(&g2);
    assert_ne!(stamp, FIXTURE, "a group losing a deleted member changed");
    assert!(rfc3339(&stamp) >= before);
    assert_eq!(g2.version, 2);
    let g3 = s.get(sc, "g3", Load::WITHOUT_MEMBERS).await.unwrap();
    assert_eq!(
        last_modified(&g3),
        FIXTURE,
        "an untouched group keeps its timestamp"
    );
    assert_eq!(g3.version, 1);
}

/// Deleting a user removes it from every group and bumps those groups' versions.
pub async fn delete_user_removes_it_from_groups<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let (us, gs) = (users(), groups());
    s.create(Scope::new(&t, &gs), new_group("g2", "Group Two", &["u2"]))
        .await
        .unwrap();
    s.delete(Scope::new(&t, &us), "u1", None).await.unwrap();
    let g1 = s.get(Scope::new(&t, &gs), "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g1), ["u2"]);
    assert_eq!(
        g1.version, 2,
        "the group changed, so its version (ETag) must too"
    );
    let g2 = s.get(Scope::new(&t, &gs), "g2", Load::ALL).await.unwrap();
    assert_eq!(g2.version, 1, "a group without the user is untouched");
    assert!(s.groups_of(&t, "u1").await.unwrap().is_empty());
}

/// Deleting a group drops its membership: its former members belong to no group.
pub async fn delete_group_releases_its_members<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    s.delete(Scope::new(&t, &gs), "g1", Some(1)).await.unwrap();
    assert!(s.groups_of(&t, "u1").await.unwrap().is_empty());
    // Recreating it starts empty, at version 1.
    let again = s
        .create(Scope::new(&t, &gs), new_group("g1", "Group One", &[]))
        .await
        .unwrap();
    assert_eq!(again.version, 1);
    assert!(member_values(&s.get(Scope::new(&t, &gs), "g1", Load::ALL).await.unwrap()).is_empty());
}

/// `modify_members` on an unknown group is `NotFound`.
pub async fn modify_members_unknown_group_is_not_found<S: Storage>(s: S) {
    let t = tenant("t1");
    let gs = groups();
    expect_kind(
        s.modify_members(
            Scope::new(&t, &gs),
            "nope",
            MembersChange::Add(vec![Member::new("u1")]),
            None,
        )
        .await,
        &StorageErrorKind::NotFound,
        "modify_members on an unknown group",
    );
}

/// `modify_members` with a stale version is `VersionMismatch` and changes nothing.
pub async fn modify_members_wrong_version<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    expect_kind(
        s.modify_members(
            sc,
            "g1",
            MembersChange::Add(vec![Member::new("u2")]),
            Some(5),
        )
        .await,
        &StorageErrorKind::VersionMismatch { current: 1 },
        "modify_members with a stale version",
    );
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1"]);
    assert_eq!(g.version, 1);
}
