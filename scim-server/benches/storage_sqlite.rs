//! SQLite backend benchmarks: `userName eq` at 10k, 100k and 1M users (an index lookup, so
//! the latency should barely grow), and adding one member to a group of 10 versus 100,000
//! members (one indexed row either way).
//!
//! Run with `cargo bench -p scim-server --bench storage_sqlite`. Fixtures are bulk-loaded
//! once per size in one transaction ([`SqliteStorage::create_many`]) outside the timed loop;
//! the 1M fixture takes about a minute to build.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use scim_core::builtin::{group_resource_schema, user_resource_schema};
use scim_core::{Filter, Resource};
use scim_server::storage::sqlite::SqliteStorage;
use scim_server::storage::unique::UniquenessPolicy;
use scim_server::storage::{
    Load, Member, MembersChange, NewResource, Scope, Storage, StoragePage, StorageQuery,
};
use scim_server::tenant::TenantId;
use serde_json::json;

/// A database file in the temp dir, removed (with its -wal and -shm) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new(tag: &str) -> TempDb {
        TempDb(
            std::env::temp_dir().join(format!("scim-sqlite-bench-{}-{tag}.db", std::process::id())),
        )
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn user(i: u64) -> NewResource {
    let schema = user_resource_schema();
    let resource = Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": format!("id-{i}"),
        "userName": format!("user{i}@example.com"),
        "externalId": format!("ext-{i}"),
        "displayName": format!("User Number {i}"),
        "active": true,
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                 "lastModified": "2024-01-01T00:00:00Z"}
    }))
    .unwrap();
    let unique = UniquenessPolicy::for_schema(&schema).keys(&schema, &resource);
    NewResource {
        id: format!("id-{i}"),
        resource,
        members: vec![],
        unique,
    }
}

fn user_name_eq(c: &mut Criterion) {
    let rt = runtime();
    let tenant = TenantId::new("bench").unwrap();
    let schema = user_resource_schema();
    let mut group = c.benchmark_group("sqlite_user_name_eq");
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(5));
    for size in [10_000u64, 100_000, 1_000_000] {
        // Loaded on first use, so a benchmark filtered out on the command line costs nothing.
        let mut fixture: Option<(SqliteStorage, TempDb)> = None;
        // Look up a spread of users (a multiplicative walk over the key space).
        let filters: Vec<Filter> = (0..1024u64)
            .map(|k| {
                let i = (k * 2_654_435_761) % size;
                format!("userName eq \"USER{i}@example.com\"")
                    .parse()
                    .unwrap()
            })
            .collect();
        let page = StoragePage::Offset {
            offset: 0,
            limit: 100,
        };
        let mut k = 0usize;
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            let (storage, _) = fixture.get_or_insert_with(|| {
                let db = TempDb::new(&format!("users-{size}"));
                let storage = SqliteStorage::open(&db.0).unwrap();
                let started = Instant::now();
                let n = rt
                    .block_on(
                        storage.create_many(Scope::new(&tenant, &schema), (0..size).map(user)),
                    )
                    .unwrap();
                assert_eq!(n, size);
                eprintln!("loaded {size} users in {:.1?}", started.elapsed());
                (storage, db)
            });
            b.iter(|| {
                let filter = &filters[k % filters.len()];
                k += 1;
                let q = StorageQuery {
                    filter: Some(filter),
                    sort: None,
                    page: &page,
                    load: Load::WITHOUT_MEMBERS,
                };
                let out = rt
                    .block_on(storage.query(Scope::new(&tenant, &schema), q))
                    .unwrap();
                assert_eq!(out.total_results, 1);
                black_box(out)
            })
        });
        // Closes the database and removes its files before the next size.
        drop(fixture);
    }
    group.finish();
}

fn add_member(c: &mut Criterion) {
    let rt = runtime();
    let tenant = TenantId::new("bench").unwrap();
    let schema = group_resource_schema();
    let db = TempDb::new("groups");
    let storage = SqliteStorage::open(&db.0).unwrap();
    let scope = Scope::new(&tenant, &schema);
    let sizes = [10u64, 100_000];
    let groups: Vec<NewResource> = sizes
        .iter()
        .map(|&n| {
            let resource = Resource::from_value(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "id": format!("g{n}"),
                "displayName": format!("Group of {n}"),
            }))
            .unwrap();
            NewResource {
                id: format!("g{n}"),
                unique: UniquenessPolicy::for_schema(&schema).keys(&schema, &resource),
                resource,
                members: (0..n)
                    .map(|i| Member {
                        value: format!("member-{i}"),
                        kind: Some("User".into()),
                        display: None,
                    })
                    .collect(),
            }
        })
        .collect();
    rt.block_on(storage.create_many(scope, groups)).unwrap();
    let mut group = c.benchmark_group("sqlite_add_member");
    group.sample_size(50);
    for n in sizes {
        let id = format!("g{n}");
        let mut counter = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            // Only the add is timed; removing the member again (untimed) keeps the group at
            // its size.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    counter += 1;
                    let member = format!("new-{counter}");
                    let start = Instant::now();
                    let out = rt
                        .block_on(storage.modify_members(
                            scope,
                            &id,
                            MembersChange::Add(vec![Member::new(member.clone())]),
                            None,
                        ))
                        .unwrap();
                    total += start.elapsed();
                    black_box(out);
                    rt.block_on(storage.modify_members(
                        scope,
                        &id,
                        MembersChange::Remove(vec![member]),
                        None,
                    ))
                    .unwrap();
                }
                total
            })
        });
    }
    group.finish();
    drop(storage);
    drop(db);
}

criterion_group!(benches, user_name_eq, add_member);
criterion_main!(benches);
