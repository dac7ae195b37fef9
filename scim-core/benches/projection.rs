//! Criterion benchmark: projection (RFC 7644 §3.4.2.5 / §3.9 with RFC 7643 §7 `returned`)
//! of the full RFC 7643 §8.3 enterprise user, parsing the parameters, and sorting.
//!
//! Run with `cargo bench -p scim-core --bench projection`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scim_core::projection::{Projection, project};
use scim_core::sort::{SortSpec, sort_resources};
use scim_core::{Resource, builtin};

/// RFC 7643 §8.3, "Enterprise User Extension Representation" (the integration tests'
/// fixture, erratum 5991 applied).
const RFC7643_8_3: &str = include_str!("../tests/fixtures/rfc7643/8.3-enterprise-user.json");

const PROJECTIONS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("default", None, None),
    ("attributes=userName", Some("userName"), None),
    (
        "excludedAttributes=emails,groups",
        None,
        Some("emails,groups"),
    ),
    (
        "attributes=name.givenName,emails.value",
        Some("name.givenName,emails.value"),
        None,
    ),
    (
        "attributes=enterprise:manager",
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        None,
    ),
];

fn bench(c: &mut Criterion) {
    let schema = builtin::user_resource_schema();
    let user = Resource::from_value(serde_json::from_str(RFC7643_8_3).unwrap()).unwrap();

    let mut group = c.benchmark_group("project_rfc7643_8_3_user");
    // Baseline: a deep copy of the resource, which the default projection cannot avoid.
    group.bench_function("baseline_clone", |b| b.iter(|| black_box(&user).clone()));
    for (name, attributes, excluded) in PROJECTIONS {
        let projection = Projection::from_params(*attributes, *excluded).unwrap();
        // Guard against benchmarking something that returns nothing.
        assert!(project(&user, &schema, &projection).id().is_some());
        group.bench_function(*name, |b| {
            b.iter(|| project(black_box(&user), black_box(&schema), black_box(&projection)))
        });
    }
    group.finish();

    c.bench_function("projection_from_params", |b| {
        b.iter(|| {
            Projection::from_params(
                black_box(Some(
                    "userName,name.givenName,emails.value,\
                     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                )),
                black_box(Some("meta")),
            )
        })
    });

    let users: Vec<Resource> = (0..10_000u32)
        .map(|i| {
            let n = i.wrapping_mul(2_654_435_761) % 100_000;
            Resource::from_value(serde_json::json!({
                "id": format!("{i}"),
                "userName": format!("User{n:05}@example.com"),
                "emails": [{"value": format!("u{n}@example.com"), "primary": true}]
            }))
            .unwrap()
        })
        .collect();
    let spec = SortSpec::from_params(Some("userName"), Some("ascending"))
        .unwrap()
        .unwrap();
    c.bench_function("sort_10000_users_by_userName", |b| {
        b.iter_batched(
            || users.clone(),
            |mut v| {
                sort_resources(&mut v, &schema, &spec);
                v // dropped outside the measurement
            },
            criterion::BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
