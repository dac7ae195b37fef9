//! Two server processes sharing one PostgreSQL database serve the same tenant correctly.
//!
//! Two `ScimServer`s, each with its OWN `PostgresStorage` (its own connection pool; same URL
//! and schema, as two processes would have), each served by hyper on its own loopback socket.
//! Checked over HTTP:
//! - 20 concurrent `POST /Users` of one `userName`, split across both servers: exactly one
//!   201 and 19 409 with scimType `uniqueness` (RFC 7644 §3.3: "If the service provider
//!   determines that the creation of the requested resource conflicts with existing
//!   resources (e.g., a "User" resource with a duplicate "userName"), the service provider
//!   MUST return HTTP status code 409 (Conflict) with a "scimType" error code of
//!   "uniqueness""); the store, not either process, enforces it;
//! - a user created through A is readable and patchable through B, and ETag preconditions
//!   hold across them (RFC 7644 §3.14: a stale `If-Match` is 412 Precondition Failed).
//!
//! Needs a PostgreSQL server, exactly like `tests/postgres_backend.rs`: set
//! `SCIM_TEST_POSTGRES_URL` (e.g. `postgres://scim@127.0.0.1:55432/scim_test`). Without it
//! the tests print a skip notice and pass, unless `SCIM_REQUIRE_POSTGRES=1`, in which case
//! they fail. Each test works in its own fresh PostgreSQL schema, dropped when it ends.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "two-servers-token-0123456789";

mod pg_support;

use pg_support::SchemaGuard;

const WHAT: &str = "the two-servers PostgreSQL tests (tests/http_postgres_two_servers.rs)";

/// One "process": its own pool on the shared schema, its own server, its own socket.
async fn process(url: &str, schema: &str) -> SocketAddr {
    let storage =
        PostgresStorage::connect_with(PostgresConfig::new(url).schema(schema).max_connections(8))
            .await
            .unwrap();
    let scim = ScimServer::builder()
        .storage(Arc::new(storage))
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Serves until the test's runtime shuts down.
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let svc = TowerToHyperService::new(scim.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// Two servers on one fresh schema (the first one creates it; the second finds it current).
async fn two_servers() -> Option<(SchemaGuard, SocketAddr, SocketAddr)> {
    let url = pg_support::postgres_url(WHAT)?;
    let schema = pg_support::fresh_schema("scim_2srv");
    let guard = SchemaGuard {
        url: url.clone(),
        schema: schema.clone(),
    };
    let a = process(&url, &schema).await;
    let b = process(&url, &schema).await;
    Some((guard, a, b))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn etag(&self) -> String {
        self.headers
            .get("etag")
            .unwrap_or_else(|| panic!("no ETag in {} {}", self.status, self.body))
            .to_str()
            .unwrap()
            .to_string()
    }
}

/// One request over a fresh TCP connection to `addr`.
async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {TOKEN}"));
    if body.is_some() {
        req = req.header("content-type", "application/scim+json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(serde_json::to_vec(&b).unwrap()));
    let req = req.body(Full::new(bytes)).unwrap();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let res = sender.send_request(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    drop(sender);
    let _ = conn.await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

fn user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "displayName": "Before"
    })
}

fn patch_display_name(value: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": value}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_across_two_servers_one_wins() {
    let Some((_guard, a, b)) = two_servers().await else {
        return;
    };
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let addr = if i % 2 == 0 { a } else { b };
            // Case variants too: userName is caseExact false (RFC 7643 §4.1.1).
            let name = if i % 3 == 0 { "Racer" } else { "racer" };
            tokio::spawn(
                async move { send(addr, Method::POST, "/Users", Some(user(name)), &[]).await },
            )
        })
        .collect();
    let mut created = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::CREATED => created.push(r.body),
            StatusCode::CONFLICT => {
                assert_eq!(r.body["scimType"], "uniqueness", "{}", r.body);
                assert_eq!(r.body["status"], "409", "{}", r.body);
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(created.len(), 1, "exactly one create wins: {created:?}");
    assert_eq!(conflicts, 19);
    // Both servers see the one user.
    for addr in [a, b] {
        let r = send(
            addr,
            Method::GET,
            "/Users?filter=userName%20eq%20%22RACER%22",
            None,
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["totalResults"], 1, "{}", r.body);
        assert_eq!(r.body["Resources"][0]["id"], created[0]["id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn created_on_a_read_and_patched_on_b_with_etags() {
    let Some((_guard, a, b)) = two_servers().await else {
        return;
    };
    let created = send(a, Method::POST, "/Users", Some(user("bjensen")), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let v1 = created.etag();

    // Readable through B, with the same version.
    let got = send(b, Method::GET, &path, None, &[]).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body["userName"], "bjensen");
    assert_eq!(got.etag(), v1);
    // If-None-Match with the current version on B: not modified (RFC 7644 §3.14).
    let same = send(b, Method::GET, &path, None, &[("if-none-match", &v1)]).await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);

    // Patched through B with A's ETag.
    let patched = send(
        b,
        Method::PATCH,
        &path,
        Some(patch_display_name("Via B")),
        &[("if-match", &v1)],
    )
    .await;
    assert!(
        patched.status == StatusCode::OK || patched.status == StatusCode::NO_CONTENT,
        "{} {}",
        patched.status,
        patched.body
    );
    let v2 = patched.etag();
    assert_ne!(v2, v1, "a change makes a new version");

    // A sees B's change and its version.
    let got = send(a, Method::GET, &path, None, &[]).await;
    assert_eq!(got.body["displayName"], "Via B");
    assert_eq!(got.etag(), v2);

    // A stale If-Match on A (the version B replaced) is 412, and changes nothing.
    let stale = send(
        a,
        Method::PATCH,
        &path,
        Some(patch_display_name("Stale")),
        &[("if-match", &v1)],
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    let stale_put = send(
        a,
        Method::PUT,
        &path,
        Some(user("bjensen")),
        &[("if-match", &v1)],
    )
    .await;
    assert_eq!(stale_put.status, StatusCode::PRECONDITION_FAILED);
    let got = send(b, Method::GET, &path, None, &[]).await;
    assert_eq!(got.body["displayName"], "Via B");
    assert_eq!(got.etag(), v2);

    // The current version works on A; then B's copy of it is stale for a delete.
    let patched = send(
        a,
        Method::PATCH,
        &path,
        Some(patch_display_name("Via A")),
        &[("if-match", &v2)],
    )
    .await;
    assert!(patched.status.is_success(), "{}", patched.body);
    let v3 = patched.etag();
    let stale_delete = send(b, Method::DELETE, &path, None, &[("if-match", &v2)]).await;
    assert_eq!(stale_delete.status, StatusCode::PRECONDITION_FAILED);
    let deleted = send(b, Method::DELETE, &path, None, &[("if-match", &v3)]).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = send(a, Method::GET, &path, None, &[]).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}
