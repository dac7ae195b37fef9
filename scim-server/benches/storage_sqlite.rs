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
use scim_core::Filter;
use scim_core::builtin::{group_resource_schema, user_resource_schema};
use scim_server::TenantId;
use scim_server::storage::sqlite::SqliteStorage;
use scim_server::storage::{Load, Scope, Storage, StoragePage, StorageQuery};

use common::{runtime, user};

mod common;

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
    rt.block_on(storage.create_many(scope, common::groups_of_sizes(&schema, &sizes)))
        .unwrap();
    common::bench_add_member(c, "sqlite_add_member", &rt, &storage, scope, &sizes);
    drop(storage);
    drop(db);
}

criterion_group!(benches, user_name_eq, add_member);
criterion_main!(benches);
