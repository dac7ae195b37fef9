//! Fixtures and the add-member benchmark shared by the SQL backend benchmarks
//! (`storage_sqlite.rs`, `storage_postgres.rs`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use scim_core::Resource;
use scim_core::builtin::user_resource_schema;
use scim_core::schema::ResourceSchema;
use scim_server::storage::unique::UniquenessPolicy;
use scim_server::storage::{Member, MembersChange, NewResource, Scope, Storage};
use serde_json::json;

/// The benchmarks' runtime: two workers, like the machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// User number `i` (id `id-{i}`, userName `user{i}@example.com`).
pub fn user(i: u64) -> NewResource {
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

/// One group per size `n` (id `g{n}`) with `n` members.
pub fn groups_of_sizes(schema: &ResourceSchema, sizes: &[u64]) -> Vec<NewResource> {
    sizes
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
                unique: UniquenessPolicy::for_schema(schema).keys(schema, &resource),
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
        .collect()
}

/// Benchmark group `name`: adding one member to each group `g{n}` of `sizes` (made with
/// [`groups_of_sizes`]).
pub fn bench_add_member<S: Storage>(
    c: &mut Criterion,
    name: &str,
    rt: &tokio::runtime::Runtime,
    storage: &S,
    scope: Scope<'_>,
    sizes: &[u64],
) {
    let mut group = c.benchmark_group(name);
    group.sample_size(50);
    for &n in sizes {
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
}
