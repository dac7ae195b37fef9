//! Filters and `sortBy` on attributes no lookup index was built for, on 100,000 users, with
//! the SQL backends' full attribute index (RFC 7644 §3.4.2.2: any attribute; §3.4.2.3):
//!
//! - selective filters on non-unique attributes: `name.familyName eq`, the enterprise
//!   `employeeNumber eq`, `meta.lastModified gt <recent>` (target p50 < 5 ms);
//! - `active eq true` with `count=100` (half the users match; target < 20 ms);
//! - `sortBy=name.familyName` with `count=100` (target < 50 ms);
//! - the write path: one create (POST) on SQLite with the full index.
//!
//! Run (SQLite; PostgreSQL too when `SCIM_BENCH_POSTGRES_URL` is set, with
//! `SCIM_TEST_POSTGRES_CA` for TLS):
//!
//! ```text
//! cargo bench -p scim-server --features sqlite,postgres --bench filters
//! ```
//!
//! The fixture is bulk-loaded once per backend outside the timed loops. With
//! `SCIM_BENCH_KEEP_SCHEMA=<name>` the PostgreSQL fixture goes to that schema and is kept
//! afterwards (for `EXPLAIN` in psql), and a later run reuses it when it holds the users.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use scim_core::builtin::user_resource_schema;
use scim_core::sort::{SortOrder, SortSpec};
use scim_core::{AttrPath, Filter, Resource};
use scim_server::TenantId;
use scim_server::storage::planner::{PlannerLimits, execute};
use scim_server::storage::unique::UniquenessPolicy;
use scim_server::storage::{Load, NewResource, Scope, Storage, StoragePage};
use serde_json::json;

#[allow(dead_code)]
mod common;

const USERS: u64 = 100_000;

/// User `i`: 1,000 family names, employee numbers shared by 10 users, `active` on every
/// other user, `meta.lastModified` one second apart (the last 10 are "recent").
fn user(i: u64) -> NewResource {
    let schema = user_resource_schema();
    let modified = chrono::DateTime::from_timestamp(1_600_000_000 + i as i64, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let resource = Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": format!("id-{i}"),
        "userName": format!("user{i}@example.com"),
        "externalId": format!("ext-{i}"),
        "displayName": format!("User Number {i}"),
        "name": {"familyName": format!("Family{}", (i * 7919) % 1000), "givenName": format!("Given{i}")},
        "title": if i % 3 == 0 { "Engineer" } else { "Manager" },
        "active": i % 2 == 0,
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{}", i / 10), "department": "Sales"
        },
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                 "lastModified": modified}
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

/// A database file in the temp dir, removed (with its -wal and -shm) on drop.
struct TempDb(PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

fn query_benches<S: Storage>(c: &mut Criterion, name: &str, storage: &S) {
    let rt = common::runtime();
    let tenant = TenantId::new("bench").unwrap();
    let schema = user_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    let limits = PlannerLimits::default();
    let mut group = c.benchmark_group(format!("filters_{name}"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_secs(1));
    let recent = chrono::DateTime::from_timestamp(1_600_000_000 + USERS as i64 - 10, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let cases: Vec<(&str, Vec<Filter>, Option<SortSpec>, u64)> = vec![
        (
            "familyName_eq",
            (0..64)
                .map(|k| format!(r#"name.familyName eq "family{}""#, (k * 37) % 1000))
                .map(|f| f.parse().unwrap())
                .collect(),
            None,
            100,
        ),
        (
            "employeeNumber_eq",
            (0..64)
                .map(|k| {
                    format!(
                        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "{}""#,
                        (k * 997) % (USERS / 10)
                    )
                })
                .map(|f| f.parse().unwrap())
                .collect(),
            None,
            100,
        ),
        (
            "lastModified_gt_recent",
            vec![
                format!(r#"meta.lastModified gt "{recent}""#)
                    .parse()
                    .unwrap(),
            ],
            None,
            100,
        ),
        (
            "active_eq_true_count100",
            vec!["active eq true".parse().unwrap()],
            None,
            100,
        ),
    ];
    for (label, filters, sort, count) in cases {
        let mut k = 0usize;
        let page = StoragePage::Offset {
            offset: 0,
            limit: count,
        };
        group.bench_function(label, |b| {
            b.iter(|| {
                let f = &filters[k % filters.len()];
                k += 1;
                let out = rt
                    .block_on(execute(
                        storage,
                        scope,
                        Some(f),
                        sort.as_ref(),
                        &page,
                        Load::WITHOUT_MEMBERS,
                        &limits,
                    ))
                    .unwrap();
                assert!(out.total_results > 0, "{label}: {f}");
                black_box(out)
            })
        });
    }
    let sort = SortSpec::new(
        AttrPath::with_sub("name", "familyName"),
        SortOrder::Ascending,
    );
    let page = StoragePage::Offset {
        offset: 0,
        limit: 100,
    };
    group.bench_function("sortBy_familyName_count100", |b| {
        b.iter(|| {
            let out = rt
                .block_on(execute(
                    storage,
                    scope,
                    None,
                    Some(&sort),
                    &page,
                    Load::WITHOUT_MEMBERS,
                    &limits,
                ))
                .unwrap();
            assert_eq!(out.resources.len(), 100);
            black_box(out)
        })
    });
    group.finish();
}

fn sqlite(c: &mut Criterion) {
    use scim_server::storage::sqlite::SqliteStorage;
    let rt = common::runtime();
    let tenant = TenantId::new("bench").unwrap();
    let schema = user_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    let db =
        TempDb(std::env::temp_dir().join(format!("scim-filters-bench-{}.db", std::process::id())));
    let storage = SqliteStorage::open(&db.0).unwrap();
    let started = Instant::now();
    rt.block_on(storage.create_many(scope, (0..USERS).map(user)))
        .unwrap();
    eprintln!("sqlite: loaded {USERS} users in {:.1?}", started.elapsed());
    query_benches(c, "sqlite", &storage);
    // The write path: one create (what a POST stores), with the full attribute index.
    let mut group = c.benchmark_group("filters_sqlite_write");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    let mut next = USERS;
    group.bench_function("create_user", |b| {
        b.iter(|| {
            next += 1;
            black_box(rt.block_on(storage.create(scope, user(next))).unwrap())
        })
    });
    group.finish();
    drop(storage);
    drop(db);
}

#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion) {
    use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
    let Ok(url) = std::env::var("SCIM_BENCH_POSTGRES_URL") else {
        eprintln!("SCIM_BENCH_POSTGRES_URL is not set: the PostgreSQL benchmarks are skipped");
        return;
    };
    let rt = common::runtime();
    let tenant = TenantId::new("bench").unwrap();
    let schema = user_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    let keep = std::env::var("SCIM_BENCH_KEEP_SCHEMA").ok();
    let name = keep
        .clone()
        .unwrap_or_else(|| format!("scim_filters_bench_{}", std::process::id()));
    let mut config = PostgresConfig::new(url).schema(name.clone());
    if let Ok(ca) = std::env::var("SCIM_TEST_POSTGRES_CA") {
        config = config.ca_file(ca);
    }
    let storage = rt.block_on(PostgresStorage::connect_with(config)).unwrap();
    let page = StoragePage::Offset {
        offset: 0,
        limit: 1,
    };
    let stored = rt
        .block_on(execute(
            &storage,
            scope,
            None,
            None,
            &page,
            Load::WITHOUT_MEMBERS,
            &PlannerLimits::default(),
        ))
        .unwrap()
        .total_results;
    if stored == USERS {
        eprintln!("postgres: reusing the {USERS} users of the schema {name}");
    } else {
        assert_eq!(stored, 0, "the schema {name} holds another fixture");
        let started = Instant::now();
        rt.block_on(storage.create_many(scope, (0..USERS).map(user)))
            .unwrap();
        rt.block_on(storage.analyze()).unwrap();
        eprintln!(
            "postgres: loaded {USERS} users in {:.1?}",
            started.elapsed()
        );
    }
    query_benches(c, "postgres", &storage);
    if keep.is_none() {
        rt.block_on(storage.drop_schema()).unwrap();
    }
}

#[cfg(not(feature = "postgres"))]
fn postgres(_c: &mut Criterion) {}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
