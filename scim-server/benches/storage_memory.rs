//! In-memory backend benchmarks: `userName eq` through the planner at 10k, 100k and 1M users
//! (an index lookup: the time must not grow with the number of users), and adding one member
//! to a group of 10 vs 100,000 members (O(1) in the group's size).
//!
//! `cargo bench -p scim-server --bench storage_memory`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use scim_core::{Filter, Resource, builtin};
use scim_server::TenantId;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::planner::{PlannerLimits, execute};
use scim_server::storage::{
    Load, Member, MembersChange, NewResource, Scope, Storage, StoragePage, UniqueKey,
};
use serde_json::json;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A store with `n` small users `user{i}` (ids `u{i}`).
fn users_store(rt: &tokio::runtime::Runtime, tenant: &TenantId, n: usize) -> MemoryStorage {
    let storage = MemoryStorage::new();
    let schema = builtin::user_resource_schema();
    rt.block_on(async {
        for i in 0..n {
            let name = format!("user{i}");
            let resource =
                Resource::from_value(json!({"id": format!("u{i}"), "userName": name})).unwrap();
            storage
                .create(
                    Scope::new(tenant, &schema),
                    NewResource {
                        id: format!("u{i}"),
                        resource,
                        members: vec![],
                        unique: vec![UniqueKey {
                            attribute: "userName".into(),
                            value: name,
                        }],
                    },
                )
                .await
                .unwrap();
        }
    });
    storage
}

fn bench_user_name_eq(c: &mut Criterion) {
    let rt = runtime();
    let tenant = TenantId::default_tenant();
    let schema = builtin::user_resource_schema();
    let limits = PlannerLimits::default();
    let page = StoragePage::Offset {
        offset: 0,
        limit: 100,
    };
    let mut group = c.benchmark_group("memory_userName_eq");
    for n in [10_000usize, 100_000, 1_000_000] {
        let storage = users_store(&rt, &tenant, n);
        let filter: Filter = format!("userName eq \"USER{}\"", n / 2).parse().unwrap();
        group.bench_function(format!("{n}_users"), |b| {
            b.iter(|| {
                let result = rt
                    .block_on(execute(
                        &storage,
                        Scope::new(&tenant, &schema),
                        Some(black_box(&filter)),
                        None,
                        &page,
                        Load::WITHOUT_MEMBERS,
                        &limits,
                    ))
                    .unwrap();
                assert_eq!(result.total_results, 1);
                result
            })
        });
    }
    group.finish();
}

fn bench_add_member(c: &mut Criterion) {
    let rt = runtime();
    let tenant = TenantId::default_tenant();
    let schema = builtin::group_resource_schema();
    let mut group = c.benchmark_group("memory_add_one_member");
    for size in [10usize, 100_000] {
        let storage = MemoryStorage::new();
        let members: Vec<Member> = (0..size).map(|i| Member::new(format!("m{i}"))).collect();
        rt.block_on(storage.create(
            Scope::new(&tenant, &schema),
            NewResource {
                id: "g1".into(),
                resource: Resource::from_value(json!({"id": "g1", "displayName": "G"})).unwrap(),
                members,
                unique: vec![],
            },
        ))
        .unwrap();
        group.bench_function(format!("group_of_{size}"), |b| {
            // The timed routine adds one new member; the untimed setup removes it again, so
            // every iteration adds to a group of exactly `size` members.
            b.iter_batched(
                || {
                    rt.block_on(storage.modify_members(
                        Scope::new(&tenant, &schema),
                        "g1",
                        MembersChange::Remove(vec!["new-member".into()]),
                        None,
                    ))
                    .unwrap();
                },
                |()| {
                    rt.block_on(storage.modify_members(
                        Scope::new(&tenant, &schema),
                        "g1",
                        MembersChange::Add(vec![Member::new(black_box("new-member"))]),
                        None,
                    ))
                    .unwrap()
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench_user_name_eq, bench_add_member
}
criterion_main!(benches);
