//! The change feed survives `kill -9`: a client writes to a real `example-standalone` process
//! as fast as it can (POST, PATCH of a user, membership PATCH, PUT, DELETE), the process is
//! killed with SIGKILL in the middle of that, restarted on the same storage, killed again,
//! restarted again; meanwhile a consumer in THIS process reads the feed from the same
//! storage in small pages and keeps its position, across the outages.
//!
//! Then: every write the client saw acknowledged (a 2xx) is in the feed, in the order the
//! client saw them acknowledged, with the version its ETag carried; the feed is numbered
//! 1, 2, 3, ... without a gap; and the consumer, which resumed from its position after each
//! outage, saw exactly the feed, in order, each change once. A write cut off by the kill
//! (no response) may or may not be in the feed: the client does not know, and neither
//! outcome is lost or reordered.
//!
//! On SQLite always; on PostgreSQL when `SCIM_TEST_POSTGRES_URL` is set (a fresh database
//! is created and dropped), failing without it when `SCIM_REQUIRE_POSTGRES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scim_server::TenantId;
use scim_server::storage::{ChangeKind, ChangeRecord, Storage};
use serde_json::{Value, json};

mod support;

use support::Process;

const TOKEN: &str = "change-feed-kill-token-0123456789";

/// A write the client saw acknowledged: resource type, id, the change it must leave, and
/// the version its ETag carried (`None` for a DELETE, which has no ETag).
#[derive(Debug, Clone, PartialEq)]
struct Acked {
    resource_type: &'static str,
    id: String,
    kind: ChangeKind,
    version: Option<u64>,
}

fn etag_version(r: &reqwest::Response) -> Option<u64> {
    r.headers()
        .get("etag")?
        .to_str()
        .ok()?
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()
}

/// The client: writes until a request fails (the server was killed) or `stop`; records
/// every acknowledged write. `n` numbers the users across restarts.
async fn write_until_failure(
    base: String,
    group: String,
    n: Arc<Mutex<usize>>,
    acked: Arc<Mutex<Vec<Acked>>>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        req.send()
    };
    let ack = |a: Acked| acked.lock().unwrap().push(a);
    let patch = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    while !stop.load(Ordering::SeqCst) {
        let i = {
            let mut n = n.lock().unwrap();
            *n += 1;
            *n
        };
        let name = format!("user{i}@example.com");
        let Ok(r) = send(
            reqwest::Method::POST,
            "/Users".into(),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true})),
        )
        .await
        else {
            return;
        };
        if !r.status().is_success() {
            // A retried POST after a kill may meet its own earlier, committed attempt.
            assert_eq!(r.status(), 409, "POST {name}");
            continue;
        }
        let version = etag_version(&r);
        let Ok(body) = r.json::<Value>().await else {
            return;
        };
        let id = body["id"].as_str().unwrap().to_string();
        ack(Acked {
            resource_type: "User",
            id: id.clone(),
            kind: ChangeKind::Created,
            version,
        });
        // Each step below is one request; a failure means the server is gone.
        let steps: Vec<(
            reqwest::Method,
            String,
            Option<Value>,
            &'static str,
            ChangeKind,
        )> = vec![
            (
                reqwest::Method::PATCH,
                format!("/Users/{id}"),
                Some(patch(
                    json!([{"op": "replace", "path": "active", "value": false}]),
                )),
                "User",
                ChangeKind::Modified,
            ),
            (
                reqwest::Method::PATCH,
                format!("/Groups/{group}"),
                Some(patch(
                    json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
                )),
                "Group",
                ChangeKind::Members,
            ),
            (
                reqwest::Method::PUT,
                format!("/Users/{id}"),
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "displayName": format!("User {i}")}),
                ),
                "User",
                ChangeKind::Replaced,
            ),
        ];
        for (method, path, body, resource_type, kind) in steps {
            let Ok(r) = send(method, path.clone(), body).await else {
                return;
            };
            assert!(r.status().is_success(), "{path}: {}", r.status());
            let target = if resource_type == "Group" {
                group.clone()
            } else {
                id.clone()
            };
            ack(Acked {
                resource_type,
                id: target,
                kind,
                version: etag_version(&r),
            });
        }
        if i % 3 == 0 {
            let Ok(r) = send(reqwest::Method::DELETE, format!("/Users/{id}"), None).await else {
                return;
            };
            assert_eq!(r.status(), 204);
            ack(Acked {
                resource_type: "User",
                id: id.clone(),
                kind: ChangeKind::Deleted,
                version: None,
            });
        }
    }
}

/// The consumer: reads the feed in pages of 5 since its position and keeps the position
/// (here in memory; the example crate keeps it in a file), until `stop` and caught up.
async fn consume(storage: Arc<dyn Storage>, stop: Arc<AtomicBool>) -> Vec<ChangeRecord> {
    let tenant = TenantId::default_tenant();
    let mut seen: Vec<ChangeRecord> = Vec::new();
    loop {
        let finished = stop.load(Ordering::SeqCst);
        let position = seen.last().map_or(0, |c| c.seq);
        let page = storage.changes_since(&tenant, position, 5).await.unwrap();
        for (k, c) in page.iter().enumerate() {
            assert_eq!(
                c.seq,
                position + 1 + k as u64,
                "the consumer skipped a change"
            );
        }
        let empty = page.is_empty();
        seen.extend(page);
        if empty {
            if finished {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn kill_restart_and_consume(storage_spec: &str, consumer_storage: Arc<dyn Storage>) {
    let http = reqwest::Client::new();
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let n: Arc<Mutex<usize>> = Arc::default();
    let consumer_stop = Arc::new(AtomicBool::new(false));
    let consumer = tokio::spawn(consume(
        Arc::clone(&consumer_storage),
        Arc::clone(&consumer_stop),
    ));

    let mut process = Process::start(storage_spec, TOKEN).await;
    let r = http
        .post(format!("{}/Groups", process.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let version = etag_version(&r);
    let group = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    acked.lock().unwrap().push(Acked {
        resource_type: "Group",
        id: group.clone(),
        kind: ChangeKind::Created,
        version,
    });

    for round in 0..3 {
        let stop = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn(write_until_failure(
            process.base.clone(),
            group.clone(),
            Arc::clone(&n),
            Arc::clone(&acked),
            Arc::clone(&stop),
        ));
        let target = acked.lock().unwrap().len() + 40 + 7 * round;
        while acked.lock().unwrap().len() < target {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if round < 2 {
            // kill -9 while the client is writing, then restart on the same storage.
            process.kill9().await;
            writer.await.unwrap();
            process = Process::start(storage_spec, TOKEN).await;
        } else {
            stop.store(true, Ordering::SeqCst);
            writer.await.unwrap();
        }
    }
    process.kill9().await;
    consumer_stop.store(true, Ordering::SeqCst);
    let seen = consumer.await.unwrap();

    // The feed as a fresh reader sees it, from the start.
    let tenant = TenantId::default_tenant();
    let feed = consumer_storage
        .changes_since(&tenant, 0, usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        feed.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (1..=feed.len() as u64).collect::<Vec<_>>(),
        "the feed is numbered without a gap"
    );
    assert_eq!(
        seen, feed,
        "the resuming consumer saw the whole feed, in order, once"
    );

    // Every acknowledged write is in the feed, in acknowledgement order.
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 120, "the client wrote {} times", acked.len());
    let mut rest = feed.iter();
    for a in &acked {
        let found = rest
            .by_ref()
            .find(|c| c.resource_type == a.resource_type && c.id == a.id && c.kind == a.kind);
        let c = found.unwrap_or_else(|| {
            panic!("acknowledged write {a:?} is missing from the feed, or out of order")
        });
        if let Some(v) = a.version {
            assert_eq!(c.version, v, "{a:?}: the version its ETag carried");
        }
    }
    // At most one unacknowledged (cut-off) write per kill, plus the groups that lost a
    // deleted member, which the client did not write itself.
    let deletes = acked
        .iter()
        .filter(|a| a.kind == ChangeKind::Deleted)
        .count();
    assert!(
        feed.len() <= acked.len() + deletes + 2 * 4,
        "feed {} vs acknowledged {} (+{} group changes by deletes)",
        feed.len(),
        acked.len(),
        deletes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_feed_survives_kill_9() {
    let dir =
        std::env::temp_dir().join(format!("scim-feed-kill-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scim.db");
    // Open (and migrate) the file first, then let the server and the consumer share it.
    let consumer: Arc<dyn Storage> =
        Arc::new(scim_server::storage::sqlite::SqliteStorage::open(&path).unwrap());
    kill_restart_and_consume(&format!("sqlite:{}", path.display()), consumer).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_feed_survives_kill_9() {
    let url = match std::env::var("SCIM_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            assert!(
                std::env::var("SCIM_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "SCIM_REQUIRE_POSTGRES=1 but SCIM_TEST_POSTGRES_URL is not set"
            );
            eprintln!("SKIPPED: set SCIM_TEST_POSTGRES_URL");
            return;
        }
    };
    let (admin, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to SCIM_TEST_POSTGRES_URL");
    tokio::spawn(conn);
    let name = format!("scim_feed_kill_{}", uuid::Uuid::new_v4().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let db_url = with_database(&url, &name);
    let consumer = scim_server::storage::postgres::PostgresStorage::connect(&db_url)
        .await
        .unwrap();
    let consumer: Arc<dyn Storage> = Arc::new(consumer);
    kill_restart_and_consume(&db_url, Arc::clone(&consumer)).await;
    drop(consumer);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
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
