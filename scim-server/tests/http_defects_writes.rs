//! Regression tests over HTTP for write defects: passwords are stored only as argon2id hashes
//! and never returned; a Group member id that names nothing is 400 invalidValue on POST, PUT,
//! PATCH and Bulk (looked up in batches); a storage failure keeps its cause but answers a
//! plain 500.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use http::StatusCode;
use http_support::*;
use scim_core::validation::ValidationMode;
use scim_server::ScimServer;
use scim_server::TenantId;
use scim_server::auth::BearerTokens;
use scim_server::server::password::verify_password;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::testing::{Call as StorageCall, Delegating, Hooks};
use scim_server::storage::{
    GroupRef, Load, MembersChange, NewResource, QueryPage, Replacement, Scope, Storage,
    StorageError, StorageQuery, StoredResource,
};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Counts the storage calls a request makes.
#[derive(Default, Clone)]
struct Counts {
    gets: Arc<AtomicUsize>,
    queries: Arc<AtomicUsize>,
}

impl Hooks for Counts {
    fn before(&self, call: &StorageCall<'_>) {
        match call {
            StorageCall::Get { .. } => self.gets.fetch_add(1, Ordering::SeqCst),
            StorageCall::Query { .. } | StorageCall::QueryWithGroups { .. } => {
                self.queries.fetch_add(1, Ordering::SeqCst)
            }
            _ => 0,
        };
    }
}

fn spied(mode: ValidationMode) -> (ScimServer, Arc<Delegating<MemoryStorage, Counts>>, Counts) {
    let counts = Counts::default();
    let storage = Arc::new(Delegating::with_hooks(MemoryStorage::new(), counts.clone()));
    let server = ScimServer::builder()
        .storage(storage.clone())
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .validation_mode(mode)
        .build()
        .unwrap();
    (server, storage, counts)
}

const MODES: [ValidationMode; 2] = [ValidationMode::Strict, ValidationMode::Lenient];

/// The stored JSON of a user, read from the storage itself.
async fn stored(storage: &dyn Storage, id: &str) -> Value {
    let tenant = TenantId::default_tenant();
    let schema = scim_core::builtin::user_resource_schema();
    storage
        .get(Scope::new(&tenant, &schema), id, Load::ALL)
        .await
        .unwrap()
        .resource
        .into_value()
}

fn stored_password(v: &Value) -> &str {
    v["password"].as_str().expect("a stored password")
}

#[tokio::test]
async fn passwords_are_stored_only_as_argon2id_hashes_and_never_returned() {
    let (s, storage, _) = spied(ValidationMode::Lenient);
    // POST
    let mut body = user("bjensen");
    body["password"] = json!("t1meMa$heen");
    let r = post(&s, "/Users", body).send().await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(
        !r.raw.windows(4).any(|w| w == b"t1me"),
        "the response holds the password"
    );
    assert!(r.body.get("password").is_none());
    let id = r.body["id"].as_str().unwrap().to_owned();
    let at_rest = stored(storage.as_ref(), &id).await;
    let hash = stored_password(&at_rest).to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!at_rest.to_string().contains("t1meMa$heen"));
    assert!(verify_password(&hash, "t1meMa$heen"));
    // GET never renders it, not even when asked for.
    let r = get(&s, &format!("/Users/{id}?attributes=password"))
        .send()
        .await;
    assert!(r.body.get("password").is_none(), "{}", r.body);
    // PUT without a password keeps the stored hash as it is.
    let r = put(&s, &format!("/Users/{id}"), user("bjensen"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("password").is_none());
    assert_eq!(stored_password(&stored(storage.as_ref(), &id).await), hash);
    // PUT with a new password.
    let mut body = user("bjensen");
    body["password"] = json!("second-Secret");
    let r = put(&s, &format!("/Users/{id}"), body).send().await;
    assert!(r.body.get("password").is_none());
    let second = stored_password(&stored(storage.as_ref(), &id).await).to_owned();
    assert!(verify_password(&second, "second-Secret") && !second.contains("second-Secret"));
    // PATCH, with a path and path-less.
    for (ops, plain) in [
        (
            json!([{"op": "replace", "path": "password", "value": "third-Secret"}]),
            "third-Secret",
        ),
        (
            json!([{"op": "replace", "value": {"password": "fourth-Secret"}}]),
            "fourth-Secret",
        ),
    ] {
        let r = patch(&s, &format!("/Users/{id}"), patch_ops(ops))
            .send()
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.get("password").is_none());
        let h = stored_password(&stored(storage.as_ref(), &id).await).to_owned();
        assert!(
            h.starts_with("$argon2id$") && verify_password(&h, plain),
            "{h}"
        );
    }
    // Bulk.
    let mut body = user("bulk-user");
    body["password"] = json!("bulk-Secret");
    let r = post(
        &s,
        "/Bulk",
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
               "Operations": [{"method": "POST", "path": "/Users", "bulkId": "u", "data": body}]}),
    )
    .send()
    .await;
    assert_eq!(r.body["Operations"][0]["status"], "201", "{}", r.body);
    assert!(!r.raw.windows(11).any(|w| w == b"bulk-Secret"));
    let location = r.body["Operations"][0]["location"].as_str().unwrap();
    let bulk_id = location.rsplit('/').next().unwrap();
    let h = stored_password(&stored(storage.as_ref(), bulk_id).await).to_owned();
    assert!(verify_password(&h, "bulk-Secret"), "{h}");
}

fn group_body(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": [GROUP], "displayName": name, "members": members})
}

#[tokio::test]
async fn a_member_id_that_names_nothing_is_invalid_value_everywhere() {
    for mode in MODES {
        let (s, _, _) = spied(mode);
        let alice = create_user(&s, "alice").await;
        let other = create_group(&s, "Other", &[]).await;
        let ghost = "2819c223-0000-0000-0000-000000000000";
        // POST
        post(&s, "/Groups", group_body("A", &[&alice, ghost]))
            .send()
            .await
            .assert_error(400, Some("invalidValue"));
        // Users and Groups may both be members.
        let gid = create_group(&s, "B", &[&alice, &other]).await;
        let g = format!("/Groups/{gid}");
        // PUT
        put(&s, &g, group_body("B", &[ghost]))
            .send()
            .await
            .assert_error(400, Some("invalidValue"));
        // PATCH: the membership fast path, and the general path (mixed operations).
        for ops in [
            json!([{"op": "add", "path": "members", "value": [{"value": ghost}]}]),
            json!([{"op": "replace", "path": "members", "value": [{"value": ghost}]}]),
            json!([{"op": "replace", "path": "displayName", "value": "B2"},
                   {"op": "add", "path": "members", "value": [{"value": ghost}]}]),
            json!([{"op": "add", "value": {"members": [{"value": ghost}]}}]),
        ] {
            let r = patch(&s, &g, patch_ops(ops.clone())).send().await;
            assert_eq!(r.status.as_u16(), 400, "{mode} {ops}: {}", r.body);
            assert_eq!(r.body["scimType"], "invalidValue", "{mode} {ops}");
        }
        let r = get(&s, &g).send().await;
        assert_eq!(r.body["displayName"], "B");
        assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
        // Removing a member, or re-adding one that is there, needs no lookup and works.
        let r = patch(
            &s,
            &g,
            patch_ops(json!([{"op": "remove", "path": format!("members[value eq \"{other}\"]")}])),
        )
        .send()
        .await;
        assert!(r.status.is_success(), "{}", r.body);
        // Bulk
        let r = post(
            &s,
            "/Bulk",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                   "Operations": [
                       {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group_body("C", &[ghost])},
                       {"method": "PATCH", "path": g,
                        "data": patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": ghost}]}]))}
                   ]}),
        )
        .send()
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for op in r.body["Operations"].as_array().unwrap() {
            assert_eq!(op["status"], "400", "{}", r.body);
            assert_eq!(op["response"]["scimType"], "invalidValue", "{}", r.body);
        }
        // An id of another tenant's resource or a deleted one is no better.
        let bob = create_user(&s, "bob").await;
        delete(&s, &format!("/Users/{bob}")).send().await;
        post(&s, "/Groups", group_body("D", &[&bob]))
            .send()
            .await
            .assert_error(400, Some("invalidValue"));
    }
}

#[tokio::test]
async fn member_ids_are_looked_up_in_batches_not_one_by_one() {
    let (s, _, counts) = spied(ValidationMode::Lenient);
    let mut ids = Vec::new();
    for i in 0..250 {
        let r = post(
            &s,
            "/Users",
            json!({"schemas": [USER], "userName": format!("user{i}")}),
        )
        .send()
        .await;
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let gid = create_group(&s, "Everyone", &[]).await;
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    counts.gets.store(0, Ordering::SeqCst);
    counts.queries.store(0, Ordering::SeqCst);
    let r = patch(
        &s,
        &format!("/Groups/{gid}"),
        patch_ops(json!([{"op": "add", "path": "members", "value": members}])),
    )
    .send()
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    let (gets, queries) = (
        counts.gets.load(Ordering::SeqCst),
        counts.queries.load(Ordering::SeqCst),
    );
    // 250 ids: three queries of at most 100 ids, no read per member.
    assert!(
        queries <= 3 && gets <= 1,
        "{queries} queries and {gets} gets for 250 members"
    );
    let r = get(&s, &format!("/Groups/{gid}")).send().await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 250);
}

/// A storage whose every call fails with a database error as its cause.
struct Broken;

#[derive(Debug)]
struct DbError;

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FATAL: password authentication failed for user \"scim_owner\" at 10.0.0.7")
    }
}

impl std::error::Error for DbError {}

fn failure() -> StorageError {
    StorageError::backend("postgres: connection refused").with_source(DbError)
}

#[async_trait]
impl Storage for Broken {
    async fn create(&self, _: Scope<'_>, _: NewResource) -> Result<StoredResource, StorageError> {
        Err(failure())
    }
    async fn get(&self, _: Scope<'_>, _: &str, _: Load) -> Result<StoredResource, StorageError> {
        Err(failure())
    }
    async fn replace(
        &self,
        _: Scope<'_>,
        _: &str,
        _: Replacement,
        _: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        Err(failure())
    }
    async fn delete(&self, _: Scope<'_>, _: &str, _: Option<u64>) -> Result<(), StorageError> {
        Err(failure())
    }
    async fn query(&self, _: Scope<'_>, _: StorageQuery<'_>) -> Result<QueryPage, StorageError> {
        Err(failure())
    }
    async fn modify_members(
        &self,
        _: Scope<'_>,
        _: &str,
        _: MembersChange,
        _: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        Err(failure())
    }
    async fn groups_of(&self, _: &TenantId, _: &str) -> Result<Vec<GroupRef>, StorageError> {
        Err(failure())
    }
}

#[tokio::test]
async fn a_storage_failure_keeps_its_cause_and_answers_a_plain_500() {
    // The cause is reachable for logs and callers.
    let e = failure();
    let source = e.source().expect("the database error is kept");
    assert!(source.to_string().contains("scim_owner"));
    assert!(source.downcast_ref::<DbError>().is_some());
    assert_eq!(
        e.clone().source().map(|s| s.to_string()),
        Some(source.to_string())
    );
    // The client sees a 500 without internals.
    let s = ScimServer::builder()
        .storage(Arc::new(Broken))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap();
    for call in [
        get(&s, "/Users/abc"),
        get(&s, "/Users"),
        post(&s, "/Users", user("bjensen")),
        delete(&s, "/Users/abc"),
    ] {
        let r = call.send().await;
        r.assert_error(500, None);
        let text = String::from_utf8_lossy(&r.raw).to_string();
        for secret in [
            "scim_owner",
            "10.0.0.7",
            "postgres",
            "connection refused",
            "FATAL",
        ] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
