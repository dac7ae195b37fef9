//! Resource endpoints over the tower::Service: POST, GET, PUT, PATCH, DELETE, ETags,
//! uniqueness, groups and members (RFC 7644 §3.3–§3.6, §3.14).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use http::StatusCode;
use http_support::*;
use serde_json::json;

#[tokio::test]
async fn create_returns_201_location_etag_and_meta() {
    let s = server();
    let r = post(&s, "/Users", user("bjensen")).send().await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "server-assigned uuid");
    let location = format!("http://{HOST}/Users/{id}");
    // RFC 7644 §3.3: "the Location header SHALL contain the resource's URI" and meta.location.
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.body["meta"]["location"], location.as_str());
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    assert!(r.body["meta"]["created"].is_string());
    assert_eq!(r.body["meta"]["created"], r.body["meta"]["lastModified"]);
    assert_eq!(r.body["userName"], "bjensen");
    // As RFC 7643 §8.1 prints a User: `schemas`, `id`, the attributes, `meta` last.
    let keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys[..2], ["schemas", "id"], "{keys:?}");
    assert_eq!(keys.last(), Some(&"meta"), "{keys:?}");
}

/// `meta.location` and `Location` (RFC 7644 §3.3, RFC 7643 §3.1 `location`: "the URI of the
/// resource being returned") behind a TLS-terminating proxy (`X-Forwarded-Proto: https`,
/// any case), and with a configured public URL under a tenant's path prefix, where `Host`
/// is not used at all.
#[tokio::test]
async fn locations_follow_the_forwarded_scheme_and_the_public_url() {
    let s = server();
    let r = post(&s, "/Users", user("proxied"))
        .header("x-forwarded-proto", " HTTPS ")
        .send()
        .await;
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("https://{HOST}/Users/{id}").as_str())
    );

    let tokens = scim_server::auth::BearerTokens::new();
    tokens
        .add(
            scim_server::TenantId::new("a").unwrap(),
            "token-of-tenant-a-0123456789",
        )
        .unwrap();
    let s = scim_server::ScimServer::builder()
        .storage(std::sync::Arc::new(
            scim_server::storage::memory::MemoryStorage::new(),
        ))
        .authenticator(tokens)
        .tenant_resolver(scim_server::PathPrefixTenants)
        .base_path("/scim/v2")
        .public_url("https://id.example.org/scim/v2/")
        .build()
        .unwrap();
    let r = post(&s, "/scim/v2/a/Users", user("tenant-user"))
        .no_auth()
        .header("authorization", "Bearer token-of-tenant-a-0123456789")
        .host("internal:8080")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    let location = format!("https://id.example.org/scim/v2/a/Users/{id}");
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.body["meta"]["location"], location.as_str());
}

/// Server-assigned ids are version 7 UUIDs (RFC 9562 §5.7), so resources created one after
/// the other have ids in that order (what keeps a backend's id index growing at its end);
/// each is still unique (RFC 7643 §3.1).
#[tokio::test]
async fn ids_are_time_ordered_uuids() {
    let s = server();
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(create_user(&s, &format!("ordered{i}")).await);
    }
    for id in &ids {
        let parsed = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(parsed.get_version_num(), 7, "{id}");
        assert_eq!(
            parsed.hyphenated().to_string(),
            *id,
            "the canonical lower-case form"
        );
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids, "created in this order, each once");
}

#[tokio::test]
async fn client_id_and_meta_are_ignored_and_password_never_returned() {
    let s = server();
    let mut body = user("pw");
    body["id"] = json!("client-chosen");
    body["password"] = json!("t1meMa$heen");
    body["meta"] = json!({"version": "W/\"99\""});
    let r = post(&s, "/Users", body).send().await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_ne!(r.body["id"], "client-chosen");
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    assert!(r.body.get("password").is_none(), "returned: never");
}

#[tokio::test]
async fn get_with_projection_and_if_none_match() {
    let s = server();
    let id = create_user(&s, "bjensen").await;
    let r = get(&s, &format!("/Users/{id}?attributes=userName"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["userName"], "bjensen");
    assert_eq!(r.body["id"], id.as_str());
    assert!(r.body.get("emails").is_none());
    assert_eq!(r.header("etag"), Some("W/\"1\""));

    let r = get(&s, &format!("/Users/{id}"))
        .header("if-none-match", "W/\"1\"")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.raw.is_empty());
    let r = get(&s, &format!("/Users/{id}"))
        .header("if-none-match", "W/\"7\"")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);

    get(&s, "/Users/does-not-exist")
        .send()
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn put_replaces_and_if_match_guards() {
    let s = server();
    let id = create_user(&s, "bjensen").await;
    let uri = format!("/Users/{id}");
    let mut body = user("bjensen");
    body["displayName"] = json!("Babs");
    body.as_object_mut().unwrap().remove("emails");

    let r = put(&s, &uri, body.clone())
        .header("if-match", "W/\"5\"")
        .send()
        .await;
    r.assert_error(412, None);

    let r = put(&s, &uri, body.clone())
        .header("if-match", "W/\"1\"")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Babs");
    assert!(
        r.body.get("emails").is_none(),
        "PUT replaces: omitted attributes are cleared"
    );
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.body["id"], id.as_str());

    put(&s, "/Users/nope", body)
        .send()
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn patch_entra_style_and_if_match() {
    let s = server();
    let id = create_user(&s, "bjensen").await;
    let uri = format!("/Users/{id}");
    let ops = patch_ops(json!([
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "b@home.example"}
    ]));
    let r = patch(&s, &uri, ops.clone()).send().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["emails"].as_array().unwrap().len(), 2);
    assert_eq!(r.header("etag"), Some("W/\"2\""));

    // The same PATCH again changes nothing: the version stays.
    let r = patch(&s, &uri, ops).send().await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("etag"), Some("W/\"2\""));

    let stale = patch_ops(json!([{"op": "replace", "path": "displayName", "value": "X"}]));
    patch(&s, &uri, stale.clone())
        .header("if-match", "W/\"1\"")
        .send()
        .await
        .assert_error(412, None);
    let r = patch(&s, &uri, stale)
        .header("if-match", "W/\"2\"")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["displayName"], "X");

    // Prefer: return=minimal → 204 with the new ETag.
    let r = patch(
        &s,
        &uri,
        patch_ops(json!([{"op": "replace", "path": "title", "value": "T"}])),
    )
    .header("prefer", "return=minimal")
    .send()
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("etag"), Some("W/\"4\""));

    let bad = patch_ops(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]));
    let r = patch(&s, &uri, bad).send().await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    patch(
        &s,
        "/Users/nope",
        patch_ops(json!([{"op": "replace", "path": "title", "value": "T"}])),
    )
    .send()
    .await
    .assert_error(404, None);
}

#[tokio::test]
async fn delete_then_404() {
    let s = server();
    let id = create_user(&s, "gone").await;
    let uri = format!("/Users/{id}");
    delete(&s, &uri)
        .header("if-match", "W/\"9\"")
        .send()
        .await
        .assert_error(412, None);
    let r = delete(&s, &uri).send().await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    get(&s, &uri).send().await.assert_error(404, None);
    delete(&s, &uri).send().await.assert_error(404, None);
}

#[tokio::test]
async fn uniqueness_is_409() {
    let s = server();
    create_user(&s, "bjensen").await;
    // userName is caseExact=false (RFC 7643 §4.1): "BJENSEN" collides.
    post(&s, "/Users", user("BJENSEN"))
        .send()
        .await
        .assert_error(409, Some("uniqueness"));
    create_group(&s, "Admins", &[]).await;
    post(
        &s,
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Admins"}),
    )
    .send()
    .await
    .assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn groups_members_and_computed_user_groups() {
    groups_flow(&server()).await;
}

#[tokio::test]
async fn groups_members_and_computed_user_groups_on_sqlite() {
    let storage = scim_server::storage::sqlite::SqliteStorage::open_in_memory().unwrap();
    let s = scim_server::ScimServer::builder()
        .storage(std::sync::Arc::new(storage))
        .authenticator(scim_server::auth::BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap();
    groups_flow(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_lose_no_update() {
    // Each PATCH reads, applies and writes back with the read version; a lost race is
    // retried, so every successful PATCH is visible in the end (no lost update).
    let storage = scim_server::storage::sqlite::SqliteStorage::open_in_memory().unwrap();
    let s = scim_server::ScimServer::builder()
        .storage(std::sync::Arc::new(storage))
        .authenticator(scim_server::auth::BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap();
    let id = create_user(&s, "busy").await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = s.clone();
        let uri = format!("/Users/{id}");
        tasks.push(tokio::spawn(async move {
            let op = patch_ops(json!([{"op": "add", "path": "emails", "value": [{"value": format!("e{i}@x.example"), "type": "other"}]}]));
            patch(&s, &uri, op).send().await.status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::CONFLICT,
            "{status}"
        );
        if status == StatusCode::OK {
            ok += 1;
        }
    }
    let r = get(&s, &format!("/Users/{id}")).send().await;
    assert_eq!(
        r.body["emails"].as_array().unwrap().len(),
        1 + ok,
        "{}",
        r.body
    );
    assert_eq!(r.header("etag"), Some(format!("W/\"{}\"", 1 + ok).as_str()));
}

async fn groups_flow(s: &scim_server::ScimServer) {
    let s = s.clone();
    let alice = create_user(&s, "alice").await;
    let bob = create_user(&s, "bob").await;
    let carol = create_user(&s, "carol").await;
    // Entra lists its own schema URI in group creates.
    let r = post(
        &s,
        "/Groups",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "displayName": "Tour Guides",
            "externalId": "8e9f1c2a",
            "members": [{"value": alice, "type": "User"}, {"value": bob}]
        }),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    let guri = format!("/Groups/{gid}");

    // User.groups is computed (readOnly).
    let r = get(&s, &format!("/Users/{alice}")).send().await;
    assert_eq!(r.body["groups"][0]["value"], gid.as_str());
    assert_eq!(r.body["groups"][0]["display"], "Tour Guides");

    // excludedAttributes=members (Entra) returns no members.
    let r = get(&s, &format!("{guri}?excludedAttributes=members"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "Tour Guides");

    // Member add: applied through modify_members, answered 204 (see the server docs).
    let r = patch(
        &s,
        &guri,
        patch_ops(json!([{"op": "Add", "path": "members", "value": [{"value": carol}]}])),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    // Entra's removal forms: members[value eq "id"] and path members with a value list.
    let r = patch(
        &s,
        &guri,
        patch_ops(json!([{"op": "Remove", "path": format!("members[value eq \"{alice}\"]")}])),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = patch(
        &s,
        &guri,
        patch_ops(json!([{"op": "Remove", "path": "members", "value": [{"value": bob}]}])),
    )
    .header("prefer", "return=representation")
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let members = r.body["members"].as_array().unwrap();
    assert_eq!(
        members.len(),
        1,
        "removing one member keeps the others: {}",
        r.body
    );
    assert_eq!(members[0]["value"], carol.as_str());
    assert_eq!(r.header("etag"), Some("W/\"4\""));

    // Okta mixes remove and add in one PATCH; the general path applies it atomically.
    let r = patch(
        &s,
        &guri,
        patch_ops(json!([
            {"op": "remove", "path": format!("members[value eq \"{carol}\"]")},
            {"op": "add", "path": "members", "value": [{"value": alice}]},
            {"op": "replace", "path": "displayName", "value": "Guides"}
        ])),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Guides");
    let values: Vec<&str> = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, [alice.as_str()]);

    // A displayName-only PATCH does not read the members, so it answers 204.
    let r = patch(
        &s,
        &guri,
        patch_ops(json!([{"op": "replace", "path": "displayName", "value": "G2"}])),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // ... unless the client asks for attributes.
    let r = patch(
        &s,
        &format!("{guri}?attributes=displayName"),
        patch_ops(json!([{"op": "replace", "path": "displayName", "value": "G3"}])),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["displayName"], "G3");
    assert!(r.body.get("members").is_none());

    // Deleting a user removes it from its groups.
    delete(&s, &format!("/Users/{alice}")).send().await;
    let r = get(&s, &guri).send().await;
    assert!(
        r.body
            .get("members")
            .is_none_or(|m| m.as_array().unwrap().is_empty()),
        "{}",
        r.body
    );

    // Member PATCH on a missing group is 404.
    patch(
        &s,
        "/Groups/nope",
        patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": bob}]}])),
    )
    .send()
    .await
    .assert_error(404, None);
}

#[tokio::test]
async fn group_put_replaces_members() {
    let s = server();
    let a = create_user(&s, "a").await;
    let b = create_user(&s, "b").await;
    let gid = create_group(&s, "G", &[&a]).await;
    let r = put(
        &s,
        &format!("/Groups/{gid}"),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G", "members": [{"value": b}]}),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["members"][0]["value"], b.as_str());
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
    let r = get(&s, &format!("/Users/{a}")).send().await;
    assert!(r.body.get("groups").is_none(), "{}", r.body);
}
