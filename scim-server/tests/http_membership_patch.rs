//! A group-membership PATCH gives the same answer whether the server applies it on its fast
//! path (`Storage::modify_members`, for a PATCH that only adds or only removes members) or
//! through the general PATCH engine (any other PATCH, e.g. a path-less `add`, or one that
//! also changes `displayName`):
//! - re-adding a member that is there, or removing (Entra's value-array form) one that is
//!   not, changes neither the version (ETag) nor `meta.lastModified` (RFC 7644 §3.5.2.1:
//!   "If the target location already contains the value specified, no changes SHOULD be
//!   made"), and leaves no change in the change feed; Entra's removal of a member that is
//!   already gone is still a success;
//! - `remove` with `members[value eq "id"]` of a member that is not there is 400 `noTarget`
//!   (RFC 7644 §3.12) on both;
//! - member ids compare exactly on both (a member's `value` is its `id`, case-exact by
//!   RFC 7643 §3.1): `members[value eq "<ID IN UPPER CASE>"]` does not match it.
//!
//! On the memory and SQLite backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::sync::Arc;

use http_support::{Call, TOKEN, create_group, create_user, get, patch, patch_ops};
use scim_server::ScimServer;
use scim_server::TenantId;
use scim_server::auth::BearerTokens;
use scim_server::storage::Storage;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::sqlite::SqliteStorage;
use serde_json::{Value, json};

fn server_on(storage: Arc<dyn Storage>) -> ScimServer {
    ScimServer::builder()
        .storage(storage)
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap()
}

/// (ETag, meta.lastModified, sorted member ids) of a group as a client reads it.
async fn state(s: &ScimServer, gid: &str) -> (String, String, Vec<String>) {
    let r = get(s, &format!("/Groups/{gid}")).send().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut members: Vec<String> = r.body["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    members.sort();
    (
        r.header("etag").unwrap().to_string(),
        r.body["meta"]["lastModified"].as_str().unwrap().to_string(),
        members,
    )
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

async fn send_patch(s: &ScimServer, gid: &str, ops: Value) -> http_support::Reply {
    patch(s, &format!("/Groups/{gid}"), patch_ops(ops))
        .send()
        .await
}

async fn same_answer_on_both_paths(s: ScimServer, storage: Arc<dyn Storage>) {
    let tenant = TenantId::default_tenant();
    let u1 = create_user(&s, "alice").await;
    let u2 = create_user(&s, "bob").await;
    let gid = create_group(&s, "Staff", &[&u1]).await;
    // Let the clock move, so a wrongly set lastModified would differ.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let before = state(&s, &gid).await;
    assert_eq!(before.2, sorted(&[&u1]));
    let head = storage.last_change(&tenant).await.unwrap();

    let no_ops = [
        // Fast path: re-add a member that is there.
        json!([{"op": "add", "path": "members", "value": [{"value": u1}]}]),
        json!([{"op": "Add", "path": "members", "value": [{"value": u1, "display": "Alice"}]}]),
        // General engine: the same, path-less.
        json!([{"op": "add", "value": {"members": [{"value": u1}]}}]),
        // Entra: value-array removal of a member that is already gone (fast path).
        json!([{"op": "Remove", "path": "members", "value": [{"value": u2}]}]),
        // Fast path: replace the membership with itself.
        json!([{"op": "replace", "path": "members", "value": [{"value": u1, "type": "User"}]}]),
    ];
    for ops in no_ops {
        let r = send_patch(&s, &gid, ops.clone()).await;
        assert!(
            r.status == 200 || r.status == 204,
            "{ops}: {} {}",
            r.status,
            r.body
        );
        let after = state(&s, &gid).await;
        assert_eq!(after, before, "{ops}: nothing may change");
        assert_eq!(
            r.header("etag"),
            Some(before.0.as_str()),
            "{ops}: the ETag stays"
        );
        assert_eq!(
            storage.last_change(&tenant).await.unwrap(),
            head,
            "{ops}: a PATCH that changes nothing leaves no change in the feed"
        );
    }

    // The filter form of removing an absent member: 400 noTarget on the fast path (alone)
    // and in the general engine (with another operation).
    let upper = u1.to_uppercase();
    assert_ne!(upper, u1, "the test needs an id with letters");
    for absent in [u2.as_str(), upper.as_str()] {
        let path = format!("members[value eq \"{absent}\"]");
        for ops in [
            json!([{"op": "remove", "path": path}]),
            json!([
                {"op": "replace", "path": "displayName", "value": "Renamed"},
                {"op": "remove", "path": path}
            ]),
        ] {
            send_patch(&s, &gid, ops.clone())
                .await
                .assert_error(400, Some("noTarget"));
            assert_eq!(state(&s, &gid).await, before, "{ops}: nothing may change");
        }
    }
    assert_eq!(storage.last_change(&tenant).await.unwrap(), head);

    // And real changes still change the version, lastModified and the feed, on both paths.
    let r = send_patch(
        &s,
        &gid,
        json!([{"op": "add", "path": "members", "value": [{"value": u2}]}]),
    )
    .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    let added = state(&s, &gid).await;
    assert_eq!(added.2, sorted(&[&u1, &u2]));
    assert_ne!(added.0, before.0);
    assert_ne!(added.1, before.1);
    let path = format!("members[value eq \"{u2}\"]");
    let r = send_patch(
        &s,
        &gid,
        json!([
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "remove", "path": path}
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let removed = state(&s, &gid).await;
    assert_eq!(removed.2, sorted(&[&u1]));
    assert_ne!(removed.0, added.0);
    let feed = storage.changes_since(&tenant, head, 10).await.unwrap();
    let kinds: Vec<&str> = feed.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["members", "modified"]);
    assert!(feed.iter().all(|c| c.id == gid));
}

#[tokio::test]
async fn membership_patch_same_answer_on_memory() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    same_answer_on_both_paths(server_on(Arc::clone(&storage)), storage).await;
}

#[tokio::test]
async fn membership_patch_same_answer_on_sqlite() {
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open_in_memory().unwrap());
    same_answer_on_both_paths(server_on(Arc::clone(&storage)), storage).await;
}

/// A PATCH with `If-Match` that re-adds a present member succeeds and keeps the ETag.
#[tokio::test]
async fn conditional_no_op_keeps_the_etag() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let s = server_on(Arc::clone(&storage));
    let u1 = create_user(&s, "carol").await;
    let gid = create_group(&s, "Ops", &[&u1]).await;
    let (etag, _, _) = state(&s, &gid).await;
    let r = Call::new(&s, http::Method::PATCH, &format!("/Groups/{gid}"))
        .header("if-match", &etag)
        .json(patch_ops(
            json!([{"op": "add", "path": "members", "value": [{"value": u1}]}]),
        ))
        .send()
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    assert_eq!(state(&s, &gid).await.0, etag);
}
