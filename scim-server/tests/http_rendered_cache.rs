//! The cache of rendered resources (`ScimServerBuilder::rendered_cache_bytes`) never changes
//! what a GET or a list returns: two servers over ONE store, one with the cache and one
//! without, are asked the same GETs and lists after every kind of change made through either
//! of them, and must answer the same status, ETag and JSON. The changes include those that change a User's
//! computed `groups` without changing the User (RFC 7643 §4.1.2: "groups ... read-only ...
//! changes to group membership ... made via the Group resource"), and a second `Host`
//! (`meta.location`, RFC 7643 §3.1: "the URI of the resource being returned").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;
#[cfg(feature = "postgres")]
mod pg_support;

use std::sync::Arc;

use http::StatusCode;
use http_support::*;
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::storage::Storage;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::sqlite::SqliteStorage;
use serde_json::json;

fn over(storage: Arc<dyn Storage>, cache_bytes: u64) -> ScimServer {
    ScimServer::builder()
        .storage(storage)
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .rendered_cache_bytes(cache_bytes)
        .build()
        .unwrap()
}

/// `cached` and `plain` answer `uri` alike (twice from `cached`: a miss, then a hit).
async fn same_answer(cached: &ScimServer, plain: &ScimServer, uri: &str, host: &str) -> Reply {
    let want = get(plain, uri).host(host).send().await;
    for round in ["first", "second"] {
        let got = get(cached, uri).host(host).send().await;
        assert_eq!(got.status, want.status, "{round} GET {uri}: {}", got.body);
        assert_eq!(got.header("etag"), want.header("etag"), "{round} GET {uri}");
        assert_eq!(got.header("content-type"), want.header("content-type"));
        assert_eq!(got.body, want.body, "{round} GET {uri}");
    }
    want
}

/// The lists a change can show in: every User, a filter, a page, a projection, Groups.
const LISTS: [&str; 6] = [
    "/Users",
    "/Users?filter=userName%20eq%20%22alice%22",
    "/Users?filter=userName%20sw%20%22a%22&startIndex=1&count=1",
    "/Users?sortBy=userName&sortOrder=descending",
    "/Users?attributes=userName,groups",
    "/Groups",
];

/// [`same_answer`] for one resource and every list of [`LISTS`].
async fn all_alike(cached: &ScimServer, plain: &ScimServer, uri: &str, host: &str) -> Reply {
    for list in LISTS {
        let r = same_answer(cached, plain, list, host).await;
        assert_eq!(r.status, StatusCode::OK, "{list}: {}", r.body);
    }
    same_answer(cached, plain, uri, host).await
}

/// `cached_store` and `plain_store` are one store: the same handle, or two handles (two
/// connection pools, as two processes would have) on one database.
async fn every_change_is_seen(cached_store: Arc<dyn Storage>, plain_store: Arc<dyn Storage>) {
    let cached = over(cached_store, 1 << 20);
    let plain = over(plain_store, 0);
    let alice = create_user(&plain, "alice").await;
    let bob = create_user(&cached, "bob").await;
    let ua = format!("/Users/{alice}");
    let r = all_alike(&cached, &plain, &ua, HOST).await;
    assert_eq!(r.body["userName"], "alice");
    assert!(r.body.get("groups").is_none());
    same_answer(&cached, &plain, &format!("/Users/{bob}"), HOST).await;

    // A change through the server without the cache is seen by the one with it.
    let r = patch(
        &plain,
        &ua,
        patch_ops(json!([{"op": "replace", "path": "displayName", "value": "Alice A"}])),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = all_alike(&cached, &plain, &ua, HOST).await;
    assert_eq!(r.body["displayName"], "Alice A");
    assert_eq!(r.header("etag"), Some("W/\"2\""));

    // Membership changes alice's computed groups, not alice.
    let gid = create_group(&plain, "Tour Guides", &[&alice]).await;
    let gu = format!("/Groups/{gid}");
    let r = all_alike(&cached, &plain, &ua, HOST).await;
    assert_eq!(r.body["groups"][0]["value"], gid.as_str());
    assert_eq!(r.body["groups"][0]["display"], "Tour Guides");
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    same_answer(&cached, &plain, &gu, HOST).await;
    let r = patch(
        &plain,
        &gu,
        patch_ops(json!([
            {"op": "replace", "path": "displayName", "value": "Guides"},
            {"op": "add", "path": "members", "value": [{"value": bob}]}
        ])),
    )
    .send()
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = all_alike(&cached, &plain, &ua, HOST).await;
    assert_eq!(r.body["groups"][0]["display"], "Guides");
    let r = same_answer(&cached, &plain, &gu, HOST).await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    let r = patch(
        &cached,
        &gu,
        patch_ops(json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}])),
    )
    .send()
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = all_alike(&cached, &plain, &ua, HOST).await;
    assert!(r.body.get("groups").is_none(), "{}", r.body);
    same_answer(&cached, &plain, &gu, HOST).await;

    // Another Host: another meta.location.
    let r = all_alike(&cached, &plain, &ua, "other.example.org").await;
    assert_eq!(
        r.body["meta"]["location"],
        format!("http://other.example.org/Users/{alice}")
    );
    all_alike(&cached, &plain, &ua, HOST).await;

    // PUT through the cached server, then the projections (never cached) and 304.
    let mut body = user("alice");
    body["title"] = json!("Tour Guide");
    let r = put(&cached, &ua, body).send().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = all_alike(&cached, &plain, &ua, HOST).await;
    assert_eq!(r.body["title"], "Tour Guide");
    assert!(r.body.get("displayName").is_none(), "PUT replaced it");
    same_answer(&cached, &plain, &format!("{ua}?attributes=userName"), HOST).await;
    same_answer(
        &cached,
        &plain,
        &format!("{ua}?excludedAttributes=emails"),
        HOST,
    )
    .await;
    let etag = r.header("etag").unwrap().to_string();
    let r = get(&cached, &ua)
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);

    // Deleted through either server: 404 from both.
    let r = delete(&plain, &ua).send().await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = all_alike(&cached, &plain, &ua, HOST).await;
    r.assert_error(404, None);
    let r = delete(&cached, &gu).send().await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    same_answer(&cached, &plain, &gu, HOST)
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn every_change_is_seen_on_memory() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    every_change_is_seen(storage.clone(), storage).await;
}

#[tokio::test]
async fn every_change_is_seen_on_sqlite() {
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open_in_memory().unwrap());
    every_change_is_seen(storage.clone(), storage).await;
}

/// Two handles on one PostgreSQL schema, as two server processes have: the one with the
/// cache learns of every change the other makes from the versions in the database. Needs
/// `SCIM_TEST_POSTGRES_URL`, as `tests/postgres_backend.rs` (skipped with a notice without
/// it, unless `SCIM_REQUIRE_POSTGRES=1`).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_seen_across_two_postgres_handles() {
    use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
    let Some(url) = pg_support::postgres_url("the rendered-cache PostgreSQL test") else {
        return;
    };
    let schema = pg_support::fresh_schema("scim_cache");
    let _guard = pg_support::SchemaGuard {
        url: url.clone(),
        schema: schema.clone(),
    };
    let config = PostgresConfig::new(url.clone())
        .schema(schema.clone())
        .max_connections(4);
    let first = PostgresStorage::connect_with(config.clone()).await.unwrap();
    let second = PostgresStorage::connect_with(config).await.unwrap();
    let (first, second): (Arc<dyn Storage>, Arc<dyn Storage>) = (Arc::new(first), Arc::new(second));
    every_change_is_seen(first, second).await;
}

/// A cache too small for the resources still answers right (entries are evicted and
/// rendered again).
#[tokio::test]
async fn a_small_cache_still_answers_right() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let cached = over(storage.clone(), 2048);
    let plain = over(storage, 0);
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(create_user(&plain, &format!("user{i}")).await);
    }
    for id in ids.iter().chain(ids.iter()) {
        same_answer(&cached, &plain, &format!("/Users/{id}"), HOST).await;
    }
}
