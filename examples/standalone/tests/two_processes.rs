//! Two server PROCESSES sharing one PostgreSQL database serve the same tenant correctly: this
//! starts the `example-standalone` binary twice, on one fresh database, and talks to both
//! over HTTP.
//!
//! - Both start at the same moment on an empty database: the schema migrations of one wait
//!   for the other's (an advisory lock), neither fails.
//! - 20 concurrent `POST /Users` of one `userName`, split across both processes: exactly one
//!   201 and 19 409 with scimType `uniqueness` (RFC 7644 §3.3: "If the service provider
//!   determines that the creation of the requested resource conflicts with existing
//!   resources (e.g., a "User" resource with a duplicate "userName"), the service provider
//!   MUST return HTTP status code 409 (Conflict) with a "scimType" error code of
//!   "uniqueness"").
//! - What one process writes, the other reads and changes; after a change through one
//!   process, the ETag the other handed out before it is a stale `If-Match` there: 412
//!   (RFC 7644 §3.14).
//!
//! Needs a PostgreSQL server: set `SCIM_TEST_POSTGRES_URL` (`scripts/test.sh` starts a
//! throwaway cluster and sets it). Without it the test prints a skip notice and passes,
//! unless `SCIM_REQUIRE_POSTGRES=1`, in which case it fails. It creates its own database and
//! drops it at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;

use support::Process;

const TOKEN: &str = "two-processes-token-0123456789";

/// The test database URL, or `None` (skip) when none is configured and none is required.
fn database_url() -> Option<String> {
    match std::env::var("SCIM_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("SCIM_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "SCIM_REQUIRE_POSTGRES=1 but SCIM_TEST_POSTGRES_URL is not set"
            );
            eprintln!(
                "SKIPPED two-processes test: set SCIM_TEST_POSTGRES_URL (scripts/test.sh does)"
            );
            None
        }
    }
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(q) => url.split_at(q),
        None => (url, ""),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_end..]
        .find('/')
        .map_or(base.len(), |i| authority_end + i);
    format!("{}/{db}{query}", &base[..path_start])
}

/// A fresh database on the test server, dropped (with its connections) on `drop_database`.
struct Database {
    admin: tokio_postgres::Client,
    name: String,
}

impl Database {
    async fn create(url: &str) -> Database {
        let (admin, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect to SCIM_TEST_POSTGRES_URL");
        tokio::spawn(conn);
        let name = format!("scim_two_proc_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        Database { admin, name }
    }

    async fn drop_database(self) {
        self.admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .unwrap();
    }
}

/// Starts the binary on `storage` and checks that its startup line names the storage
/// and hides the URL.
async fn start(storage: &str) -> Process {
    let p = Process::start(storage, TOKEN).await;
    // "SCIM server on http://127.0.0.1:PORT (storage: postgres)"
    assert!(
        p.startup_line.ends_with("(storage: postgres)"),
        "the startup line names the storage and hides the URL: {:?}",
        p.startup_line
    );
    p
}

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": true
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgresql_database() {
    let Some(url) = database_url() else {
        return;
    };
    let db = Database::create(&url).await;
    let storage = with_database(&url, &db.name);
    // Both start together on the empty database: concurrent migrations.
    let (mut a, mut b) = tokio::join!(start(&storage), start(&storage));
    let http = reqwest::Client::new();

    // 20 concurrent creates of one userName, alternating between the processes.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let target = if i % 2 == 0 {
                a.url("/Users")
            } else {
                b.url("/Users")
            };
            let http = http.clone();
            tokio::spawn(async move {
                let r = http
                    .post(target)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/scim+json")
                    .body(user("Same.Person@example.com").to_string())
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body: Value = r.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created.push(body),
            StatusCode::CONFLICT => {
                assert_eq!(body["scimType"], "uniqueness", "{body}");
                assert_eq!(body["status"], "409", "{body}");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one create wins: {created:?}");
    assert_eq!(conflicts, 19);
    let id = created[0]["id"].as_str().unwrap().to_string();

    // userName is unique case-insensitively (RFC 7643 §4.1.1) across processes too.
    let r = http
        .post(b.url("/Users"))
        .bearer_auth(TOKEN)
        .json(&user("same.person@EXAMPLE.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Read through the other process; change through it; the first sees the change.
    let r = http
        .get(b.url(&format!("/Users/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let deactivate = |process: &Process| {
        http.patch(process.url(&format!("/Users/{id}")))
            .bearer_auth(TOKEN)
            .header("if-match", &etag)
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]
            }))
            .send()
    };
    assert_eq!(deactivate(&a).await.unwrap().status(), StatusCode::OK);
    // The change made through A makes the ETag B handed out stale in B too.
    assert_eq!(
        deactivate(&b).await.unwrap().status(),
        StatusCode::PRECONDITION_FAILED
    );
    let r: Value = http
        .get(b.url("/Users?filter=userName%20eq%20%22SAME.person@example.com%22"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["totalResults"], 1, "{r}");
    assert_eq!(r["Resources"][0]["active"], false, "{r}");

    a.child.kill().await.unwrap();
    b.child.kill().await.unwrap();
    db.drop_database().await;
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://scim@127.0.0.1:5432/scim_test", "x"),
        "postgres://scim@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgresql://u:p@h/db?sslmode=disable", "y"),
        "postgresql://u:p@h/y?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:1", "z"), "postgres://h:1/z");
}
