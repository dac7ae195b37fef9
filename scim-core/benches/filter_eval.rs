//! Criterion benchmark: compiled filter evaluation (RFC 7644 §3.4.2.2) over in-memory users.
//!
//! Target (this crate's issue): a 3-clause filter over 1,000,000 in-memory users in < 200 ms
//! on one core. Run with `cargo bench -p scim-core --bench filter_eval`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use scim_core::{Filter, Resource, builtin};
use serde_json::json;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A realistic user: core attributes, two emails, meta and the enterprise extension.
fn make_user(i: usize) -> Resource {
    let work_domain = if i % 4 == 0 {
        "example.org"
    } else {
        "example.com"
    };
    Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "id": format!("{i:08x}-7f76-453a-919d-413861904646"),
        "externalId": format!("ext-{i}"),
        "userName": format!("User{i}@example.com"),
        "name": {"familyName": format!("Family{i}"), "givenName": "Barbara", "formatted": format!("Barbara Family{i}")},
        "displayName": format!("Barbara Family{i}"),
        "title": "Tour Guide",
        "userType": if i % 10 == 0 { "Contractor" } else { "Employee" },
        "active": i % 3 != 0,
        "emails": [
            {"value": format!("user{i}@{work_domain}"), "type": "work", "primary": true},
            {"value": format!("user{i}@home.example"), "type": "home"}
        ],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": format!("W/\"{i:x}\"")
        },
        ENT: {"employeeNumber": i.to_string(), "department": "Tour Operations"}
    }))
    .unwrap()
}

/// The 3-clause filter of the target, clauses in the order a client would write them.
const THREE_CLAUSE: &str = r#"userName sw "user1" and active eq true and emails[type eq "work" and value co "example.org"]"#;

/// The same clauses ordered so that nothing short-circuits early for most users: every user
/// is read past the first clause (2/3 are active) and half of those into the value filter's
/// second clause; a quarter of the work emails are at example.org.
const THREE_CLAUSE_NO_SHORTCUT: &str = r#"active eq true and emails[type eq "work" and value co "example.org"] and userName sw "user1""#;

fn bench(c: &mut Criterion) {
    let schema = builtin::user_resource_schema();
    let compiled = Filter::parse(THREE_CLAUSE)
        .unwrap()
        .compile(&schema)
        .unwrap();
    let compiled_all = Filter::parse(THREE_CLAUSE_NO_SHORTCUT)
        .unwrap()
        .compile(&schema)
        .unwrap();

    // One resource.
    let one = make_user(1);
    assert!(!compiled.matches(&one)); // user1's work email is at example.com
    let four = make_user(16); // user16: active, work email at example.org
    assert!(compiled.matches(&four));
    c.bench_function("filter_eval/single_resource/3_clause", |b| {
        b.iter(|| black_box(&compiled).matches(black_box(&four)))
    });
    c.bench_function("filter_eval/single_resource/compile_and_match", |b| {
        let f = Filter::parse(THREE_CLAUSE).unwrap();
        b.iter(|| black_box(&f).matches(black_box(&four), &schema))
    });

    let all: Vec<Resource> = (0..1_000_000).map(make_user).collect();
    let mut group = c.benchmark_group("filter_eval/scan");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for n in [10_000usize, 100_000, 1_000_000] {
        let users = &all[..n];
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("3_clause", n), users, |b, users| {
            b.iter(|| users.iter().filter(|u| compiled.matches(u)).count())
        });
        group.bench_with_input(
            BenchmarkId::new("3_clause_no_shortcut", n),
            users,
            |b, users| b.iter(|| users.iter().filter(|u| compiled_all.matches(u)).count()),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
