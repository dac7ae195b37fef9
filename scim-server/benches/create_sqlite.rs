//! The write path alone: `Storage::create` of users on a SQLite file (10,000 users preloaded)
//! and on memory, from `CREATE_TASKS` concurrent tasks (default 4) on a 2-worker runtime,
//! without HTTP. Each user is the body `benches/load.rs` POSTs (userName, name, displayName,
//! active, one work email) with `id` and `meta`, as the server stores it.
//!
//! ```text
//! cargo bench -p scim-server --bench create_sqlite
//! CREATE_N=3000 CREATE_TASKS=1 CREATE_BACKENDS=sqlite cargo bench -p scim-server --bench create_sqlite
//! ```
//!
//! Environment: `CREATE_N` (timed creates, default 3000), `CREATE_TASKS`, `CREATE_PRELOAD`
//! (users loaded before, default 10000), `CREATE_BACKENDS` (`memory,sqlite` by default).
//! Under `cargo test` (no `--bench` argument) it does nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::time::Instant;

use scim_core::Resource;
use scim_core::builtin::user_resource_schema;
use scim_core::schema::ResourceSchema;
use scim_server::TenantId;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::sqlite::SqliteStorage;
use scim_server::storage::unique::UniquenessPolicy;
use scim_server::storage::{NewResource, Scope, Storage};
use serde_json::json;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// User number `n`, as the server stores a POSTed user.
fn posted(schema: &ResourceSchema, n: u64) -> NewResource {
    let id = format!("p-{n}");
    let resource = Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": format!("posted{n}@example.com"),
        "name": {"givenName": "Posted", "familyName": format!("User {n}")},
        "displayName": format!("Posted User {n}"),
        "active": true,
        "emails": [{"value": format!("posted{n}@example.com"), "type": "work", "primary": true}],
        "meta": {"resourceType": "User", "created": "2026-12-03T22:00:00.123Z",
                 "lastModified": "2026-12-03T22:00:00.123Z"}
    }))
    .unwrap();
    let unique = UniquenessPolicy::for_schema(schema).keys(schema, &resource);
    NewResource {
        id,
        resource,
        members: vec![],
        unique,
    }
}

async fn run<S: Storage + Clone + 'static>(name: &str, storage: S, n: u64, tasks: u64) {
    let schema = user_resource_schema();
    let tenant = TenantId::new("bench").unwrap();
    for i in 0..200 {
        let user = posted(&schema, 1_000_000_000 + i);
        storage
            .create(Scope::new(&tenant, &schema), user)
            .await
            .unwrap();
    }
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let storage = storage.clone();
            tokio::spawn(async move {
                let schema = user_resource_schema();
                let tenant = TenantId::new("bench").unwrap();
                for i in 0..n / tasks {
                    let user = posted(&schema, t * 10_000_000 + i);
                    storage
                        .create(Scope::new(&tenant, &schema), user)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let elapsed = start.elapsed();
    let done = n / tasks * tasks;
    println!(
        "{name}, {tasks} tasks: {done} creates in {:.2} s: {:.0}/s, {:.0} us each",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / done as f64
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_u64("CREATE_N", 3000);
    let tasks = env_u64("CREATE_TASKS", 4).max(1);
    let preload = env_u64("CREATE_PRELOAD", 10_000);
    let backends = std::env::var("CREATE_BACKENDS").unwrap_or_else(|_| "memory,sqlite".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if backends.contains("memory") {
            run("memory", MemoryStorage::new(), n, tasks).await;
        }
        if backends.contains("sqlite") {
            let path: PathBuf =
                std::env::temp_dir().join(format!("scim-create-bench-{}.db", std::process::id()));
            let storage = SqliteStorage::open(&path).unwrap();
            let schema = user_resource_schema();
            let tenant = TenantId::new("bench").unwrap();
            let users: Vec<NewResource> = (0..preload)
                .map(|i| posted(&schema, 2_000_000_000 + i))
                .collect();
            storage
                .create_many(Scope::new(&tenant, &schema), users)
                .await
                .unwrap();
            run("sqlite", storage, n, tasks).await;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    });
}
