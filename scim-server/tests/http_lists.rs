//! Lists and searches (RFC 7644 §3.4.2, §3.4.3; RFC 9865 cursors), Entra's Test Connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use http::StatusCode;
use http_support::*;
use serde_json::json;

#[tokio::test]
async fn entra_test_connection_is_an_empty_200() {
    // Entra ID's Test Connection (RFC 7644 §3.4.2): GET /Users?filter=<attr> eq "<random guid>" must be 200 with an empty list.
    let s = server();
    let r = get(
        &s,
        "/Users?filter=userName%20eq%20%22f0b7c2a6-55c3-4f8e-9a4c-3b1d2e0a9c11%22",
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
}

#[tokio::test]
async fn filter_sort_and_index_paging() {
    let s = server();
    for name in ["carol", "alice", "bob", "dave"] {
        create_user(&s, name).await;
    }
    let r = get(&s, "/Users?filter=userName+eq+%22BOB%22").send().await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "bob");
    assert!(
        r.body["Resources"][0]["meta"]["location"]
            .as_str()
            .unwrap()
            .starts_with("http://scim.example.com/Users/")
    );

    // Okta: startIndex=1&count=100; sortBy across the set; totalResults counts all matches.
    let r = get(&s, "/Users?sortBy=userName&startIndex=2&count=2")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["startIndex"], 2);
    assert_eq!(r.body["itemsPerPage"], 2);
    let names: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "carol"]);

    let r = get(
        &s,
        "/Users?sortBy=userName&sortOrder=descending&count=1&attributes=userName",
    )
    .send()
    .await;
    assert_eq!(r.body["Resources"][0]["userName"], "dave");
    assert!(r.body["Resources"][0].get("emails").is_none());

    // A filter the in-memory index cannot answer goes through the planner's fallback.
    let r = get(
        &s,
        "/Users?filter=userName+eq+%22alice%22+and+active+eq+true",
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    let r = get(
        &s,
        "/Users?filter=userName+eq+%22alice%22+and+active+eq+false",
    )
    .send()
    .await;
    assert_eq!(r.body["totalResults"], 0);
    // ... and one with no indexed clause is answered too (RFC 7644 §3.4.2.2: a client may
    // filter on any attribute), by evaluating the filter over the users.
    let r = get(&s, "/Users?filter=active+eq+true").send().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let found = r.body["Resources"].as_array().cloned().unwrap_or_default();
    assert_eq!(r.body["totalResults"], found.len());
    assert!(
        found.iter().all(|u| u["active"] == json!(true)),
        "{}",
        r.body
    );
    // count=0 returns only totalResults (RFC 7644 §3.4.2.4).
    let r = get(&s, "/Users?count=0").send().await;
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["Resources"], json!([]));
}

#[tokio::test]
async fn cursor_paging_walks_everything_once() {
    let s = server();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create_user(&s, &format!("user{i}")).await);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let r = get(&s, &format!("/Users?count=2&cursor={cursor}"))
            .send()
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["totalResults"], 5);
        for u in r.body["Resources"].as_array().unwrap() {
            seen.push(u["id"].as_str().unwrap().to_string());
        }
        match r.body.get("nextCursor").and_then(|c| c.as_str()) {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    let r = get(&s, "/Users?cursor=not-a-cursor-we-issued").send().await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

#[tokio::test]
async fn invalid_filters_are_400_invalid_filter() {
    let s = server();
    get(&s, "/Users?filter=userName%20eq")
        .send()
        .await
        .assert_error(400, Some("invalidFilter"));
    get(&s, "/Users?filter=(userName%20eq%20%22x%22")
        .send()
        .await
        .assert_error(400, Some("invalidFilter"));
    let r = post(&s, "/Users/.search", json!({"filter": "userName zz \"x\""}))
        .send()
        .await;
    r.assert_error(400, Some("invalidFilter"));
    get(&s, "/Users?sortOrder=up&sortBy=userName")
        .send()
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn post_search_per_type_and_at_root() {
    let s = server();
    let a = create_user(&s, "alice").await;
    create_user(&s, "bob").await;
    create_group(&s, "Admins", &[&a]).await;

    let r = post(
        &s,
        "/Users/.search",
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["userName"],
            "filter": "userName eq \"alice\"",
            "startIndex": 1,
            "count": 10
        }),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "alice");

    // Root search spans every resource type.
    let r = post(
        &s,
        "/.search",
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 3);
    let r = post(&s, "/.search", json!({"startIndex": 3, "count": 1}))
        .send()
        .await;
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(r.body["Resources"][0]["displayName"], "Admins");
    let r = post(&s, "/.search", json!({"sortBy": "userName"}))
        .send()
        .await;
    r.assert_error(400, Some("invalidValue"));

    // A filter naming an attribute only groups define: users simply do not match (without
    // the skip, the User part would fail to compile and the search would be 400).
    let r = post(
        &s,
        "/.search",
        json!({"filter": "externalId eq \"none\" and members pr"}),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 0);
    // A filter on an attribute without an index is applied to all resources (RFC 7644
    // §3.4.3), users included: only the group matches.
    let r = post(
        &s,
        "/.search",
        json!({"filter": "displayName eq \"Admins\""}),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["displayName"], "Admins");

    // A body that is not a SearchRequest.
    post(&s, "/Users/.search", json!({"count": "ten"}))
        .send()
        .await
        .assert_error(400, Some("invalidSyntax"));
}
