//! PostgreSQL backend benchmarks: `userName eq` through the query planner at 10k, 100k and 1M
//! users (an index lookup, so the latency should barely grow), and adding one member to a
//! group of 10 versus 100,000 members (one indexed row either way).
//!
//! Needs a PostgreSQL server: `SCIM_BENCH_POSTGRES_URL=postgres://scim@127.0.0.1:55432/scim_test
//! cargo bench -p scim-server --features postgres --bench storage_postgres` (it exits with a
//! message when the variable is unset). Set `SCIM_BENCH_MAX_USERS=100000` to skip the 1M
//! size. The fixture grows in place (10k, then +90k, then +900k users, bulk-loaded with
//! `create_many` and `ANALYZE`d, outside the timed loops) in a schema of its own that is
//! dropped at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use scim_core::Filter;
use scim_core::builtin::{group_resource_schema, user_resource_schema};
use scim_server::TenantId;
use scim_server::storage::planner::{PlannerLimits, execute};
use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
use scim_server::storage::{Load, Scope, StoragePage};

use common::{runtime, user};

mod common;

fn user_name_eq(c: &mut Criterion, rt: &tokio::runtime::Runtime, storage: &PostgresStorage) {
    let tenant = TenantId::new("bench").unwrap();
    let schema = user_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    let max: u64 = std::env::var("SCIM_BENCH_MAX_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut group = c.benchmark_group("postgres_user_name_eq");
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(5));
    let page = StoragePage::Offset {
        offset: 0,
        limit: 100,
    };
    let limits = PlannerLimits::default();
    let mut loaded = 0u64;
    for size in [10_000u64, 100_000, 1_000_000] {
        if size > max {
            break;
        }
        let started = Instant::now();
        rt.block_on(storage.create_many(scope, (loaded..size).map(user)))
            .unwrap();
        rt.block_on(storage.analyze()).unwrap();
        eprintln!("loaded users {loaded}..{size} in {:.1?}", started.elapsed());
        loaded = size;
        // Look up a spread of users (a multiplicative walk over the key space), in a
        // different case than stored (userName is caseExact=false).
        let filters: Vec<Filter> = (0..1024u64)
            .map(|k| {
                let i = (k * 2_654_435_761) % size;
                format!("userName eq \"USER{i}@example.com\"")
                    .parse()
                    .unwrap()
            })
            .collect();
        let mut k = 0usize;
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                let filter = &filters[k % filters.len()];
                k += 1;
                let out = rt
                    .block_on(execute(
                        storage,
                        scope,
                        Some(filter),
                        None,
                        &page,
                        Load::WITHOUT_MEMBERS,
                        &limits,
                    ))
                    .unwrap();
                assert_eq!(out.total_results, 1);
                black_box(out)
            })
        });
    }
    group.finish();
}

fn add_member(c: &mut Criterion, rt: &tokio::runtime::Runtime, storage: &PostgresStorage) {
    let tenant = TenantId::new("bench").unwrap();
    let schema = group_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    let sizes = [10u64, 100_000];
    rt.block_on(storage.create_many(scope, common::groups_of_sizes(&schema, &sizes)))
        .unwrap();
    rt.block_on(storage.analyze()).unwrap();
    common::bench_add_member(c, "postgres_add_member", rt, storage, scope, &sizes);
}

fn main() {
    let Some(url) = std::env::var("SCIM_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        eprintln!(
            "storage_postgres: SCIM_BENCH_POSTGRES_URL is not set; nothing to benchmark. Set it \
             to a PostgreSQL database, e.g. postgres://scim@127.0.0.1:55432/scim_test"
        );
        return;
    };
    let rt = runtime();
    let schema = format!("scim_bench_{}", std::process::id());
    let storage = rt
        .block_on(PostgresStorage::connect_with(
            PostgresConfig::new(url).schema(schema),
        ))
        .unwrap();
    let mut c = Criterion::default().configure_from_args();
    add_member(&mut c, &rt, &storage);
    user_name_eq(&mut c, &rt, &storage);
    c.final_summary();
    rt.block_on(storage.drop_schema()).unwrap();
}
