//! Criterion benchmark: parsing filters and PATCH paths (RFC 7644 §3.4.2.2, §3.5.2).
//!
//! Targets on the 2-core reference machine: `userName eq "bjensen"` < 1 µs; a 10-clause
//! filter < 5 µs. Run with `cargo bench -p scim-core --bench filter_parse`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scim_core::{AttrPath, Filter, PatchPath};

const SIMPLE: &str = r#"userName eq "bjensen""#;

/// Ten attribute expressions: value path, URN path, `not`, grouping, every value kind.
const TEN_CLAUSES: &str = concat!(
    r#"userName eq "bjensen" and title pr"#,
    r#" or emails[type eq "work" and value co "@example.com"]"#,
    r#" and meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#" and not (active eq false)"#,
    r#" or urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
    r#" and (name.familyName sw "J" or displayName ew "son")"#,
    r#" and userType ne "Intern""#,
);

const RFC_VALUE_PATHS: &str = r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#;

fn bench(c: &mut Criterion) {
    // Guard against benchmarking an error path.
    Filter::parse(SIMPLE).unwrap();
    let ten = Filter::parse(TEN_CLAUSES).unwrap();
    assert_eq!(count_clauses(&ten), 10);
    Filter::parse(RFC_VALUE_PATHS).unwrap();

    let mut g = c.benchmark_group("filter_parse");
    g.bench_function("simple: userName eq \"bjensen\"", |b| {
        b.iter(|| Filter::parse(black_box(SIMPLE)).unwrap())
    });
    g.bench_function("ten clauses", |b| {
        b.iter(|| Filter::parse(black_box(TEN_CLAUSES)).unwrap())
    });
    g.bench_function("RFC two value paths", |b| {
        b.iter(|| Filter::parse(black_box(RFC_VALUE_PATHS)).unwrap())
    });
    g.bench_function("unquoted (Entra) value", |b| {
        b.iter(|| {
            Filter::parse(black_box(
                "externalId eq 7bd1c1b5-1b3f-4c3f-9d8e-2b0a5c1d7e9f",
            ))
            .unwrap()
        })
    });
    g.bench_function("Entra emails[type eq \"work\"].value eq", |b| {
        b.iter(|| {
            Filter::parse(black_box(
                r#"emails[type eq "work"].value eq "bjensen@example.com""#,
            ))
            .unwrap()
        })
    });
    let widest = (0..scim_core::filter::MAX_FILTER_ATTR_EXPRESSIONS)
        .map(|k| format!(r#"userName co "{k}""#))
        .collect::<Vec<_>>()
        .join(" or ");
    g.bench_function("100 clauses (the limit)", |b| {
        b.iter(|| Filter::parse(black_box(&widest)).unwrap())
    });
    let over = format!("{widest} or title pr");
    g.bench_function("error: 101 clauses", |b| {
        b.iter(|| Filter::parse(black_box(&over)).unwrap_err())
    });
    g.bench_function("error: bad operator", |b| {
        b.iter(|| Filter::parse(black_box(r#"userName xx "bjensen""#)).unwrap_err())
    });
    let deep = "(".repeat(60_000);
    g.bench_function("error: 60,000 open parentheses", |b| {
        b.iter(|| Filter::parse(black_box(&deep)).unwrap_err())
    });
    g.bench_function("print ten clauses", |b| {
        b.iter(|| black_box(&ten).to_string())
    });
    g.finish();

    let mut g = c.benchmark_group("path_parse");
    g.bench_function("attr path: enterprise URN", |b| {
        b.iter(|| {
            AttrPath::parse(black_box(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            ))
            .unwrap()
        })
    });
    g.bench_function("patch path: emails[type eq \"work\"].value", |b| {
        b.iter(|| PatchPath::parse(black_box(r#"emails[type eq "work"].value"#)).unwrap())
    });
    g.finish();
}

fn count_clauses(f: &Filter) -> usize {
    match f {
        Filter::Present(_) | Filter::Compare { .. } => 1,
        Filter::ValuePath { filter, .. } | Filter::Not(filter) => count_clauses(filter),
        Filter::And(a, b) | Filter::Or(a, b) => count_clauses(a) + count_clauses(b),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
