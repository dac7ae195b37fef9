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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use http::StatusCode;
use http_support::*;
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::storage::Storage;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::sqlite::SqliteStorage;
use scim_server::storage::testing::{Call as StorageCall, Delegating, Hooks};
use serde_json::{Value, json};

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

/// Runs one PATCH through `server` just before the first [`Storage::get_many`]: the change
/// lands between a list's read of the page (ids and versions) and the read of the
/// attributes the cache lacks.
struct ChangeBeforeGetMany {
    server: Arc<OnceLock<ScimServer>>,
    uri: String,
    patch: Value,
    fired: AtomicBool,
}

impl Hooks for ChangeBeforeGetMany {
    fn before(&self, call: &StorageCall<'_>) {
        if !matches!(call, StorageCall::GetMany { .. }) || self.fired.swap(true, Ordering::SeqCst) {
            return;
        }
        let server = self.server.get().unwrap().clone();
        let r = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current()
                .block_on(patch(&server, &self.uri, self.patch.clone()).send())
        });
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

/// A list whose resource changes between the read of the page and the read of its
/// attributes answers as the page after the change: the change shows (a new `meta.version`
/// and `title`), or the resource is gone from the page when it no longer matches the
/// filter (RFC 7644 §3.4.2: the resources returned are those that match the filter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_between_the_two_reads_of_a_list_is_not_half_seen() {
    let changes = [
        (
            json!({"op": "replace", "path": "title", "value": "Boss"}),
            1,
        ),
        (
            json!({"op": "replace", "path": "userName", "value": "alicia"}),
            0,
        ),
    ];
    for (op, matches) in changes {
        let store = MemoryStorage::new();
        let plain = over(Arc::new(store.clone()), 0);
        let id = create_user(&plain, "alice").await;
        let hook = ChangeBeforeGetMany {
            server: Arc::new(OnceLock::new()),
            uri: format!("/Users/{id}"),
            patch: patch_ops(json!([op])),
            fired: AtomicBool::new(false),
        };
        let changer = Arc::clone(&hook.server);
        let cached = over(Arc::new(Delegating::with_hooks(store, hook)), 1 << 20);
        changer.set(plain.clone()).ok().unwrap();
        let uri = "/Users?filter=userName%20eq%20%22alice%22";
        let got = get(&cached, uri).send().await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        assert_eq!(got.body["totalResults"], matches, "{}", got.body);
        if matches == 1 {
            let user = &got.body["Resources"][0];
            assert_eq!(user["title"], "Boss", "{}", got.body);
            assert_eq!(user["meta"]["version"], "W/\"2\"", "{}", got.body);
        }
        // And the cache holds nothing stale: the same answers as without it, from now on.
        same_answer(&cached, &plain, uri, HOST).await;
        same_answer(&cached, &plain, &format!("/Users/{id}"), HOST).await;
    }
}
