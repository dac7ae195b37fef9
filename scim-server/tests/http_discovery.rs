//! Discovery (RFC 7644 §4), Bulk, provisioning hooks and panic safety.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::StatusCode;
use http_support::*;
use scim_core::ScimError;
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::provisioning::{Change, ChangeKind, Provisioning};
use scim_server::storage::MembersChange;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::testing::{self, Delegating, Hooks};
use serde_json::json;

#[tokio::test]
async fn service_provider_config_tells_the_truth() {
    let s = server();
    let r = get(&s, "/ServiceProviderConfig").send().await;
    assert_eq!(r.status, StatusCode::OK);
    let b = &r.body;
    assert_eq!(
        b["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    assert_eq!(b["patch"]["supported"], true);
    assert_eq!(b["bulk"]["supported"], true);
    assert_eq!(b["bulk"]["maxOperations"], 1000);
    assert_eq!(b["bulk"]["maxPayloadSize"], 1_048_576);
    assert_eq!(b["filter"]["supported"], true);
    assert_eq!(b["filter"]["maxResults"], 1000);
    assert_eq!(b["sort"]["supported"], true);
    assert_eq!(b["etag"]["supported"], true);
    assert_eq!(b["changePassword"]["supported"], false);
    assert_eq!(b["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(b["pagination"]["cursor"], true);
    assert_eq!(b["pagination"]["index"], true);
    assert_eq!(b["pagination"]["maxPageSize"], 1000);
    assert_eq!(
        b["meta"]["location"],
        format!("http://{HOST}/ServiceProviderConfig")
    );
    // RFC 7644 §4: a filter on a discovery endpoint SHOULD be 403.
    get(
        &s,
        "/ServiceProviderConfig?filter=patch.supported%20eq%20true",
    )
    .send()
    .await
    .assert_error(403, None);
    // Bulk is supported (tests/http_bulk.rs); a body that is no BulkRequest is 400.
    post(&s, "/Bulk", json!({}))
        .send()
        .await
        .assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn resource_types_and_schemas() {
    let s = server();
    let r = get(&s, "/ResourceTypes").send().await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(r.body["totalResults"], 2);
    let user = &r.body["Resources"][0];
    assert_eq!(user["name"], "User");
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(
        user["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
    );
    assert_eq!(
        user["meta"]["location"],
        format!("http://{HOST}/ResourceTypes/User")
    );
    assert_eq!(user["meta"]["resourceType"], "ResourceType");

    let r = get(&s, "/ResourceTypes/Group").send().await;
    assert_eq!(r.body["endpoint"], "/Groups");
    get(&s, "/ResourceTypes/Nope")
        .send()
        .await
        .assert_error(404, None);

    let r = get(&s, "/Schemas").send().await;
    assert!(r.body["totalResults"].as_u64().unwrap() >= 3);
    let urn = "urn:ietf:params:scim:schemas:core:2.0:User";
    let r = get(&s, &format!("/Schemas/{urn}")).send().await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["id"], urn);
    assert_eq!(
        r.body["meta"]["location"],
        format!("http://{HOST}/Schemas/{urn}")
    );
    assert!(
        r.body["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "userName")
    );
    get(&s, "/Schemas/urn:nope")
        .send()
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn custom_resource_types_are_routed_by_endpoint() {
    let mut registry = scim_core::schema::SchemaRegistry::with_builtins();
    let schema: scim_core::schema::Schema = serde_json::from_value(json!({
        "id": "urn:example:scim:schemas:Device",
        "name": "Device",
        "attributes": [{"name": "serial", "type": "string", "required": true, "uniqueness": "server"}]
    }))
    .unwrap();
    registry.add_schema(schema).unwrap();
    registry
        .add_resource_type(
            serde_json::from_value(json!({
                "name": "Device", "endpoint": "/Devices", "schema": "urn:example:scim:schemas:Device"
            }))
            .unwrap(),
        )
        .unwrap();
    let s = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .registry(registry)
        .build()
        .unwrap();
    let r = post(
        &s,
        "/Devices",
        json!({"schemas": ["urn:example:scim:schemas:Device"], "serial": "SN-1"}),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["meta"]["resourceType"], "Device");
    let id = r.body["id"].as_str().unwrap();
    let r = get(&s, &format!("/Devices/{id}")).send().await;
    assert_eq!(r.body["serial"], "SN-1");
    post(
        &s,
        "/Devices",
        json!({"schemas": ["urn:example:scim:schemas:Device"], "serial": "SN-1"}),
    )
    .send()
    .await
    .assert_error(409, Some("uniqueness"));
}

#[derive(Default)]
struct Recorder {
    log: Mutex<Vec<String>>,
}

#[async_trait]
impl Provisioning for Recorder {
    async fn before_change(&self, change: &Change<'_>) -> Result<(), ScimError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("before {:?} {}", change.kind, change.resource_type));
        if let Some(r) = change.resource {
            if r.get("userName").and_then(|v| v.as_str()) == Some("forbidden") {
                return Err(ScimError::new(
                    403,
                    None,
                    "this user may not be provisioned",
                ));
            }
        }
        Ok(())
    }
    async fn after_change(&self, change: &Change<'_>) {
        let members = change.members.map(|m| match m {
            MembersChange::Add(v) => format!(" +{}", v.len()),
            MembersChange::Remove(v) => format!(" -{}", v.len()),
            MembersChange::Replace(v) => format!(" ={}", v.len()),
        });
        self.log.lock().unwrap().push(format!(
            "after {:?} {}{}",
            change.kind,
            change.resource_type,
            members.unwrap_or_default()
        ));
    }
}

#[tokio::test]
async fn provisioning_hooks_run_in_order_and_may_refuse() {
    let first = Arc::new(Recorder::default());
    let second = Arc::new(Recorder::default());
    let s = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .provisioning(first.clone())
        .provisioning(second.clone())
        .build()
        .unwrap();
    post(&s, "/Users", user("forbidden"))
        .send()
        .await
        .assert_error(403, None);
    let r = get(&s, "/Users?filter=userName%20eq%20%22forbidden%22")
        .send()
        .await;
    assert_eq!(r.body["totalResults"], 0, "a refused change is not stored");
    assert_eq!(
        *second.log.lock().unwrap(),
        Vec::<String>::new(),
        "the first refusal wins"
    );

    let id = create_user(&s, "fine").await;
    let gid = create_group(&s, "G", &[]).await;
    patch(
        &s,
        &format!("/Groups/{gid}"),
        patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])),
    )
    .send()
    .await;
    patch(
        &s,
        &format!("/Users/{id}"),
        patch_ops(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .send()
    .await;
    delete(&s, &format!("/Users/{id}")).send().await;
    let log = second.log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "before Create User",
            "after Create User",
            "before Create Group",
            "after Create Group",
            "before Patch Group",
            "after Patch Group +1",
            "before Patch User",
            "after Patch User",
            "before Delete User",
            "after Delete User",
        ]
    );
    assert_eq!(first.log.lock().unwrap().len(), log.len() + 1);
    let _ = ChangeKind::Replace;
}

/// Records what `get` (or `get_with_groups`) and `query` were asked to load, and can panic
/// in `get` to simulate a bug.
struct LoadLog {
    panic_on_get: bool,
    loads: Mutex<Vec<bool>>,
}

impl Hooks for LoadLog {
    fn before(&self, call: &testing::Call<'_>) {
        match call {
            testing::Call::Get { load, .. } | testing::Call::GetWithGroups { load, .. } => {
                assert!(!self.panic_on_get, "simulated bug");
                self.loads.lock().unwrap().push(load.members);
            }
            testing::Call::Query { load, .. } | testing::Call::QueryWithGroups { load, .. } => {
                self.loads.lock().unwrap().push(load.members)
            }
            _ => {}
        }
    }
}

/// A MemoryStorage with a [`LoadLog`].
type SpyStorage = Delegating<MemoryStorage, LoadLog>;

fn spy_storage(panic_on_get: bool) -> SpyStorage {
    Delegating::with_hooks(
        MemoryStorage::new(),
        LoadLog {
            panic_on_get,
            loads: Mutex::new(Vec::new()),
        },
    )
}

fn spy_server(spy: Arc<SpyStorage>) -> ScimServer {
    ScimServer::builder()
        .storage(spy)
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_panic_becomes_a_500_scim_error() {
    let s = spy_server(Arc::new(spy_storage(true)));
    let r = get(&s, "/Users/x").send().await;
    r.assert_error(500, None);
    assert!(!r.body["detail"].as_str().unwrap().contains("simulated"));
}

#[tokio::test]
async fn excluded_members_are_never_loaded() {
    let spy = Arc::new(spy_storage(false));
    let s = spy_server(spy.clone());
    let u = create_user(&s, "m").await;
    let gid = create_group(&s, "Big", &[&u]).await;
    let u2 = create_user(&s, "m2").await;
    let take = || std::mem::take(&mut *spy.hooks.loads.lock().unwrap());
    take();
    get(&s, &format!("/Groups/{gid}?excludedAttributes=members"))
        .send()
        .await;
    get(
        &s,
        "/Groups?filter=displayName%20eq%20%22Big%22&excludedAttributes=members",
    )
    .send()
    .await;
    get(&s, &format!("/Groups/{gid}?attributes=displayName"))
        .send()
        .await;
    // A membership PATCH reads no group, only (without members) whether the new member
    // exists; a displayName PATCH reads without members.
    patch(
        &s,
        &format!("/Groups/{gid}"),
        patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": u2}]}])),
    )
    .send()
    .await;
    patch(
        &s,
        &format!("/Groups/{gid}"),
        patch_ops(json!([{"op": "replace", "path": "displayName", "value": "Bigger"}])),
    )
    .send()
    .await;
    // Entra's path-less replace of displayName does not read members either.
    let r = patch(
        &s,
        &format!("/Groups/{gid}"),
        patch_ops(json!([{"op": "Replace", "value": {"id": gid, "displayName": "Biggest"}}])),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(take(), [false, false, false, false, false, false]);
    // The default projection does load them.
    let r = get(&s, &format!("/Groups/{gid}")).send().await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    assert_eq!(take(), [true]);
}
