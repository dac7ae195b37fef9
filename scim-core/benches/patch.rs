//! Criterion benchmark: PATCH application (RFC 7644 §3.5.2).
//!
//! - `patch/entra_user_3_ops`: a typical Entra user PATCH (replace `displayName`, replace
//!   `emails[type eq "work"].value`, add the enterprise `manager`) on the RFC 7643 §8.3 user.
//! - `patch/group_add_member/N`: add one new member to a group of N = 10, 1,000 and 100,000
//!   members. With members in a JSON array, the duplicate check of RFC 7644 §3.5.2.1 ("If the
//!   target location already contains the value specified, no changes SHOULD be made") and the
//!   all-or-nothing working copy are both O(N); a server keeps members in a set or table and
//!   applies membership PATCHes there.
//!
//! Run with `cargo bench -p scim-core --bench patch`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use scim_core::patch::{PatchOptions, PatchRequest, apply_patch};
use scim_core::{Resource, builtin};
use serde_json::json;

/// RFC 7643 §8.3 "Enterprise User Extension Representation" (the integration tests'
/// fixture, erratum 5991 applied).
const RFC7643_8_3: &str = include_str!("../tests/fixtures/rfc7643/8.3-enterprise-user.json");

fn full_user() -> Resource {
    Resource::from_value(serde_json::from_str(RFC7643_8_3).unwrap()).unwrap()
}

fn group(members: usize) -> Resource {
    let members: Vec<_> = (0..members)
        .map(|i| {
            json!({
                "value": format!("{i:08x}-6245-4190-8e05-00816be7344a"),
                "$ref": format!("https://example.com/v2/Users/{i:08x}-6245-4190-8e05-00816be7344a"),
                "display": format!("User {i}")
            })
        })
        .collect();
    Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": members,
        "meta": {"resourceType": "Group", "version": "W/\"1\""}
    }))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let options = PatchOptions::default();

    let user_schema = builtin::user_resource_schema();
    let entra: PatchRequest = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Barbara Jensen"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "barbara.jensen@example.com"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
             "value": [{"$ref": null, "value": "08e1d05d-121c-4561-8b96-473d93df9210"}]}
        ]
    }))
    .unwrap();
    let user = full_user();
    {
        // The request must really change the user.
        let mut probe = user.clone();
        let out = apply_patch(&mut probe, &user_schema, &entra, &options).unwrap();
        assert_eq!(out.changed_attributes.len(), 3);
    }
    let mut g = c.benchmark_group("patch");
    g.bench_function("entra_user_3_ops", |b| {
        b.iter_batched_ref(
            || user.clone(),
            |u| apply_patch(u, &user_schema, black_box(&entra), &options).unwrap(),
            BatchSize::SmallInput,
        )
    });

    let group_schema = builtin::group_resource_schema();
    let add: PatchRequest = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "members",
                        "value": [{"value": "new-member-5b50642d", "display": "New Member"}]}]
    }))
    .unwrap();
    for n in [10usize, 1_000, 100_000] {
        let base = group(n);
        {
            let mut probe = base.clone();
            assert!(
                apply_patch(&mut probe, &group_schema, &add, &options)
                    .unwrap()
                    .changed
            );
        }
        if n >= 100_000 {
            g.sample_size(20).measurement_time(Duration::from_secs(10));
        }
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("group_add_member", n), &base, |b, base| {
            b.iter_batched_ref(
                || base.clone(),
                |grp| apply_patch(grp, &group_schema, black_box(&add), &options).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
