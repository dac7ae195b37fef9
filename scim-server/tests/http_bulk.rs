//! `POST /Bulk` (RFC 7644 §3.7) over the tower::Service on MemoryStorage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::sync::Arc;

use http::{Method, StatusCode};
use http_support::*;
use scim_server::PathPrefixTenants;
use scim_server::ScimServer;
use scim_server::TenantId;
use scim_server::auth::BearerTokens;
use scim_server::storage::memory::MemoryStorage;
use serde_json::{Value, json};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

fn bulk_request(ops: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": ops})
}

fn results(r: &Reply) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["schemas"], json!([BULK_RESPONSE]));
    r.body["Operations"].as_array().unwrap().clone()
}

fn id_of(location: &Value) -> String {
    location
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

/// RFC 7644 §3.7.2: "The following example creates a User with the "userName" 'Alice' and
/// a "Group" with "displayName" 'Tour Guides' with Alice as a member" — "The service
/// provider MUST replace the string "bulkId:qwerty" with the permanent resource id once
/// created."
#[tokio::test]
async fn rfc_3_7_2_example_resolves_bulk_id() {
    let s = server();
    let r = post(
        &s,
        "/Bulk",
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "qwerty",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": "Alice"
                    }
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "ytrewq",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Tour Guides",
                        "members": [{"type": "User", "value": "bulkId:qwerty"}]
                    }
                }
            ]
        }),
    )
    .send()
    .await;
    let ops = results(&r);
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0]["method"], "POST");
    assert_eq!(ops[0]["bulkId"], "qwerty");
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[0]["version"], "W/\"1\"");
    assert!(ops[0].get("response").is_none(), "{}", ops[0]);
    assert_eq!(ops[1]["bulkId"], "ytrewq");
    assert_eq!(ops[1]["status"], "201");
    let user_id = id_of(&ops[0]["location"]);
    assert_eq!(ops[0]["location"], format!("http://{HOST}/Users/{user_id}"));
    let group_location = ops[1]["location"].as_str().unwrap();
    assert!(group_location.starts_with(&format!("http://{HOST}/Groups/")));

    let group = get(&s, &format!("/Groups/{}", id_of(&ops[1]["location"])))
        .send()
        .await;
    assert_eq!(group.status, StatusCode::OK);
    assert_eq!(group.body["displayName"], "Tour Guides");
    assert_eq!(group.body["members"][0]["value"], user_id.as_str());
    let user = get(&s, &format!("/Users/{user_id}")).send().await;
    assert_eq!(user.body["userName"], "Alice");
    assert_eq!(user.body["groups"][0]["display"], "Tour Guides");
}

/// References run after the POST they name even when they come first in the request, and
/// `bulkId:` in the path is replaced too (RFC 7644 §3.7.2).
#[tokio::test]
async fn reference_before_definition_and_in_path() {
    let s = server();
    let r = post(
        &s,
        "/Bulk",
        bulk_request(json!([
            {"method": "PATCH", "path": "/Groups/bulkId:g", "data": patch_ops(json!([
                {"op": "add", "path": "members", "value": [{"value": "bulkId:u", "type": "User"}]}
            ]))},
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": user("early")}
        ])),
    )
    .send()
    .await;
    let ops = results(&r);
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "200"], "{}", r.body);
    assert_eq!(ops[2]["method"], "PATCH");
    let group_id = id_of(&ops[0]["location"]);
    let user_id = id_of(&ops[1]["location"]);
    assert_eq!(
        ops[2]["location"],
        format!("http://{HOST}/Groups/{group_id}")
    );
    assert_eq!(ops[2]["version"], "W/\"2\"");
    let group = get(&s, &format!("/Groups/{group_id}")).send().await;
    assert_eq!(group.body["members"][0]["value"], user_id.as_str());
}

/// RFC 7644 §3.7.3: "failOnErrors ... The service provider returns the results of all
/// operations processed until the limit was reached"; later operations are not performed.
#[tokio::test]
async fn fail_on_errors_stops_processing() {
    let s = server();
    let mut req = bulk_request(json!([
        {"method": "POST", "path": "/Users", "bulkId": "bad",
         "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "no userName"}},
        {"method": "POST", "path": "/Users", "bulkId": "good", "data": user("after-error")}
    ]));
    req["failOnErrors"] = json!(1);
    let r = post(&s, "/Bulk", req.clone()).send().await;
    let ops = results(&r);
    assert_eq!(ops.len(), 1, "{}", r.body);
    assert_eq!(ops[0]["bulkId"], "bad");
    assert_eq!(ops[0]["status"], "400");
    assert!(
        ops[0].get("location").is_none(),
        "a failed POST has no location"
    );
    let list = get(&s, "/Users?filter=userName%20eq%20%22after-error%22")
        .send()
        .await;
    assert_eq!(list.body["totalResults"], 0, "{}", list.body);

    // Without failOnErrors every operation is attempted.
    req.as_object_mut().unwrap().remove("failOnErrors");
    let r = post(&s, "/Bulk", req).send().await;
    let ops = results(&r);
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["400", "201"]);
}

/// RFC 7644 §3.7.4: "If the number of operations exceeds the "maxOperations" ... the
/// service provider returns HTTP response code 413 (Payload Too Large)"; likewise
/// "maxPayloadSize".
#[tokio::test]
async fn limits_give_413_and_are_announced() {
    let s = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .bulk_max_operations(2)
        .bulk_max_payload_size(4096)
        .build()
        .unwrap();
    let spc = get(&s, "/ServiceProviderConfig").send().await;
    assert_eq!(
        spc.body["bulk"],
        json!({"supported": true, "maxOperations": 2, "maxPayloadSize": 4096})
    );
    let three: Vec<Value> = (0..3)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/missing-{i}")}))
        .collect();
    let r = post(&s, "/Bulk", bulk_request(Value::Array(three)))
        .send()
        .await;
    r.assert_error(413, None);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("\"maxOperations\": 2"),
        "{}",
        r.body
    );
    let big = user(&"x".repeat(5000));
    let r = post(
        &s,
        "/Bulk",
        bulk_request(json!([{"method": "POST", "path": "/Users", "bulkId": "a", "data": big}])),
    )
    .send()
    .await;
    r.assert_error(413, None);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("\"maxPayloadSize\": 4096")
    );
    // Within the limits the same shape is accepted.
    let two: Vec<Value> = (0..2)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/missing-{i}")}))
        .collect();
    let r = post(&s, "/Bulk", bulk_request(Value::Array(two)))
        .send()
        .await;
    assert_eq!(results(&r).len(), 2);
}

#[tokio::test]
async fn defaults_announced_and_bulk_can_be_turned_off() {
    let s = server();
    let spc = get(&s, "/ServiceProviderConfig").send().await;
    assert_eq!(
        spc.body["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576})
    );
    let off = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .bulk_max_operations(0)
        .build()
        .unwrap();
    let spc = get(&off, "/ServiceProviderConfig").send().await;
    assert_eq!(spc.body["bulk"]["supported"], false);
    post(&off, "/Bulk", bulk_request(json!([])))
        .send()
        .await
        .assert_error(501, None);
}

/// RFC 7644 §3.7.1's circular example (two groups naming each other): "The service
/// provider MUST try to resolve circular cross-references between resources in a single bulk
/// job"; the RFC's response creates both (201). What depends on the cycle runs afterwards;
/// an undefined `bulkId` is 409 inside the BulkResponse.
#[tokio::test]
async fn circular_reference_is_resolved() {
    let s = server();
    let r = post(
        &s,
        "/Bulk",
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "qwerty",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Group A",
                        "members": [{"type": "Group", "value": "bulkId:ytrewq"}]
                    }
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "ytrewq",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Group B",
                        "members": [{"type": "Group", "value": "bulkId:qwerty"}]
                    }
                },
                {"method": "PATCH", "path": "/Groups/bulkId:qwerty", "data": patch_ops(json!([
                    {"op": "add", "path": "members", "value": [{"value": "bulkId:ok", "type": "User"}]}
                ]))},
                {"method": "POST", "path": "/Users", "bulkId": "ok", "data": user("independent")},
                {"method": "DELETE", "path": "/Users/bulkId:undefined"}
            ]
        }),
    )
    .send()
    .await;
    let ops = results(&r);
    let summary: Vec<(&str, &str)> = ops
        .iter()
        .map(|o| (o["method"].as_str().unwrap(), o["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "201"),
            ("POST", "201"),
            ("POST", "201"),
            ("PATCH", "200"),
            ("DELETE", "409")
        ],
        "{}",
        r.body
    );
    assert_eq!(ops[0]["bulkId"], "ok");
    assert_eq!(ops[1]["bulkId"], "qwerty");
    assert_eq!(ops[2]["bulkId"], "ytrewq");
    let user_id = id_of(&ops[0]["location"]);
    let a = id_of(&ops[1]["location"]);
    let b = id_of(&ops[2]["location"]);
    // Created, then completed: version 2 (the PUT that filled the references in).
    assert_eq!(ops[1]["version"], "W/\"2\"");
    let group_a = get(&s, &format!("/Groups/{a}")).send().await;
    let members_a: Vec<&str> = group_a.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        members_a,
        [b.as_str(), user_id.as_str()],
        "{}",
        group_a.body
    );
    let group_b = get(&s, &format!("/Groups/{b}")).send().await;
    assert_eq!(group_b.body["displayName"], "Group B");
    assert_eq!(group_b.body["members"][0]["value"], a.as_str());
    assert_eq!(group_b.body["members"].as_array().unwrap().len(), 1);

    assert_eq!(ops[4]["response"]["status"], "409");
    assert!(
        ops[4]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("no POST operation"),
        "{}",
        ops[4]
    );
}

/// A cycle that cannot be completed (here: one of its POSTs fails) is 409 for what depends
/// on it, and nothing half-made stays behind.
#[tokio::test]
async fn failed_cycle_is_409() {
    let s = server();
    create_group(&s, "Taken", &[]).await;
    let r = post(
        &s,
        "/Bulk",
        bulk_request(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "a",
             "data": {"displayName": "A", "members": [{"type": "Group", "value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b",
             "data": {"displayName": "Taken", "members": [{"type": "Group", "value": "bulkId:a"}]}}
        ])),
    )
    .send()
    .await;
    let ops = results(&r);
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    // b fails (displayName is unique), so a cannot be completed: it is deleted again.
    assert_eq!(statuses, ["409", "409"], "{}", r.body);
    assert_eq!(ops[0]["bulkId"], "b");
    assert_eq!(ops[0]["response"]["scimType"], "uniqueness");
    assert_eq!(ops[1]["bulkId"], "a");
    assert!(ops[1].get("location").is_none());
    let groups = get(&s, "/Groups").send().await;
    assert_eq!(groups.body["totalResults"], 1, "{}", groups.body);
}

/// DELETE and PATCH in a bulk, with `version` as the precondition (RFC 7644 §3.7: "version
/// The current resource version. Version MAY be used if the service provider supports
/// entity-tags (ETags)").
#[tokio::test]
async fn delete_and_patch_with_versions() {
    let s = server();
    let keep = create_user(&s, "keep").await;
    let gone = create_user(&s, "gone").await;
    let r = post(
        &s,
        "/Bulk",
        bulk_request(json!([
            {"method": "PATCH", "path": format!("/Users/{keep}"), "version": "W/\"1\"",
             "data": patch_ops(json!([{"op": "replace", "path": "displayName", "value": "Kept"}]))},
            {"method": "DELETE", "path": format!("/Users/{gone}"), "version": "W/\"1\""},
            {"method": "PUT", "path": format!("/Users/{keep}"), "version": "W/\"1\"",
             "data": user("keep")},
            {"method": "DELETE", "path": format!("/Users/{gone}")}
        ])),
    )
    .send()
    .await;
    let ops = results(&r);
    assert_eq!(ops[0]["method"], "PATCH");
    assert_eq!(ops[0]["status"], "200");
    assert_eq!(ops[0]["version"], "W/\"2\"");
    assert_eq!(ops[0]["location"], format!("http://{HOST}/Users/{keep}"));
    assert_eq!(ops[1]["method"], "DELETE");
    assert_eq!(ops[1]["status"], "204");
    assert_eq!(ops[1]["location"], format!("http://{HOST}/Users/{gone}"));
    // The PUT names version 1, which the PATCH replaced: 412.
    assert_eq!(ops[2]["status"], "412");
    assert_eq!(ops[2]["response"]["status"], "412");
    assert_eq!(ops[2]["location"], format!("http://{HOST}/Users/{keep}"));
    // Deleting again: the single-resource DELETE's 404, inside the response.
    assert_eq!(ops[3]["status"], "404");
    assert_eq!(
        ops[3]["response"]["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );

    let kept = get(&s, &format!("/Users/{keep}")).send().await;
    assert_eq!(kept.body["displayName"], "Kept");
    get(&s, &format!("/Users/{gone}"))
        .send()
        .await
        .assert_error(404, None);
}

/// A bad operation reports its SCIM error (RFC 7644 §3.12) in `response`; the others still
/// run (RFC 7644 §3.7: "The service provider MUST continue performing as many changes as
/// possible and disregard partial failures").
#[tokio::test]
async fn bad_operation_reports_its_scim_error() {
    let s = server();
    create_user(&s, "taken").await;
    let r = post(
        &s,
        "/Bulk",
        bulk_request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user("taken")},
            {"method": "PATCH", "path": "/Users/bulkId:dup",
             "data": patch_ops(json!([{"op": "replace", "path": "active", "value": false}]))},
            {"method": "PATCH", "path": "/Users/whatever", "data": {"schemas": ["x"], "Operations": "no"}},
            {"method": "POST", "path": "/Nope", "bulkId": "nope", "data": {}},
            {"method": "POST", "path": "/Users/123", "bulkId": "wrong", "data": user("w")},
            {"method": "POST", "path": "/Users", "bulkId": "fine", "data": user("fine")}
        ])),
    )
    .send()
    .await;
    let ops = results(&r);
    assert_eq!(ops.len(), 6, "{}", r.body);
    assert_eq!(ops[0]["status"], "409");
    assert_eq!(ops[0]["response"]["scimType"], "uniqueness");
    assert_eq!(ops[0]["bulkId"], "dup");
    // The PATCH references the failed POST: 409, its reference cannot be resolved.
    assert_eq!(ops[1]["status"], "409");
    assert!(
        ops[1]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("dup")
    );
    assert_eq!(ops[2]["status"], "400");
    assert_eq!(ops[2]["location"], format!("http://{HOST}/Users/whatever"));
    assert_eq!(ops[3]["status"], "404");
    assert_eq!(ops[4]["status"], "400");
    assert_eq!(ops[4]["response"]["scimType"], "invalidPath");
    assert_eq!(ops[5]["status"], "201");
}

#[tokio::test]
async fn malformed_requests_are_400() {
    let s = server();
    Call::new(&s, Method::POST, "/Bulk")
        .header("content-type", "application/scim+json")
        .raw("{not json")
        .send()
        .await
        .assert_error(400, Some("invalidSyntax"));
    post(&s, "/Bulk", json!({"schemas": [BULK_REQUEST]}))
        .send()
        .await
        .assert_error(400, Some("invalidSyntax"));
    post(
        &s,
        "/Bulk",
        bulk_request(json!([{"method": "GET", "path": "/Users"}])),
    )
    .send()
    .await
    .assert_error(400, Some("invalidSyntax"));
    // RFC 7644 §3.7: bulkId is "REQUIRED when "method" is "POST"".
    post(
        &s,
        "/Bulk",
        bulk_request(json!([{"method": "POST", "path": "/Users", "data": user("x")}])),
    )
    .send()
    .await
    .assert_error(400, Some("invalidSyntax"));
    get(&s, "/Bulk").send().await.assert_error(405, None);
}

#[tokio::test]
async fn bulk_under_a_tenant_prefix() {
    let tokens = BearerTokens::new();
    tokens
        .add(TenantId::new("a").unwrap(), "token-of-tenant-a-0123456789")
        .unwrap();
    let s = ScimServer::builder()
        .storage(Arc::new(MemoryStorage::new()))
        .authenticator(tokens)
        .tenant_resolver(PathPrefixTenants)
        .base_path("/scim/v2")
        .build()
        .unwrap();
    let r = Call::new(&s, Method::POST, "/scim/v2/a/Bulk")
        .no_auth()
        .header("authorization", "Bearer token-of-tenant-a-0123456789")
        .json(bulk_request(
            json!([{"method": "POST", "path": "/Users", "bulkId": "t", "data": user("tenant-user")}]),
        ))
        .send()
        .await;
    let ops = results(&r);
    assert_eq!(ops[0]["status"], "201");
    let location = ops[0]["location"].as_str().unwrap();
    assert!(
        location.starts_with(&format!("http://{HOST}/scim/v2/a/Users/")),
        "{location}"
    );
    let r = Call::new(
        &s,
        Method::GET,
        location.trim_start_matches(&format!("http://{HOST}")),
    )
    .no_auth()
    .header("authorization", "Bearer token-of-tenant-a-0123456789")
    .send()
    .await;
    assert_eq!(r.body["userName"], "tenant-user");
}

/// `failOnErrors` reached inside a cycle: processing stops and the cycle's resources that
/// were created without their references are deleted again (RFC 7644 §3.7.3).
#[tokio::test]
async fn fail_on_errors_inside_a_cycle_leaves_nothing_half_made() {
    let s = server();
    create_group(&s, "Taken", &[]).await;
    let mut req = bulk_request(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "a",
         "data": {"displayName": "A", "members": [{"type": "Group", "value": "bulkId:b"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "b",
         "data": {"displayName": "Taken", "members": [{"type": "Group", "value": "bulkId:a"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "late", "data": user("late")}
    ]));
    req["failOnErrors"] = json!(1);
    let r = post(&s, "/Bulk", req).send().await;
    let ops = results(&r);
    assert_eq!(ops.len(), 2, "{}", r.body);
    assert_eq!(ops[0]["bulkId"], "late");
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[1]["bulkId"], "b");
    assert_eq!(ops[1]["status"], "409");
    let groups = get(&s, "/Groups").send().await;
    assert_eq!(groups.body["totalResults"], 1, "{}", groups.body);
    assert_eq!(groups.body["Resources"][0]["displayName"], "Taken");
}
