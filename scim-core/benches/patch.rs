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

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// RFC 7643 §8.3 "Enterprise User Extension Representation" (certificate shortened).
fn full_user() -> Resource {
    Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
            "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {"streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA",
             "postalCode": "91608", "country": "USA",
             "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "type": "work", "primary": true},
            {"streetAddress": "456 Hollywood Blvd", "locality": "Hollywood", "region": "CA",
             "postalCode": "91608", "country": "USA",
             "formatted": "456 Hollywood Blvd\nHollywood, CA 91608 USA", "type": "home"}
        ],
        "phoneNumbers": [
            {"value": "555-555-5555", "type": "work"},
            {"value": "555-555-4444", "type": "mobile"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [
            {"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"},
            {"value": "https://photos.example.com/profilephoto/72930000000Ccne/T", "type": "thumbnail"}
        ],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "password": "t1meMa$heen",
        "groups": [
            {"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "$ref": "../Groups/e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"},
            {"value": "fc348aa8-3835-40eb-a20b-c726e15c55b5", "$ref": "../Groups/fc348aa8-3835-40eb-a20b-c726e15c55b5", "display": "Employees"},
            {"value": "71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7", "$ref": "../Groups/71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7", "display": "US Employees"}
        ],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        ENT: {
            "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
            "division": "Theme Park", "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        },
        "meta": {
            "resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        }
    }))
    .unwrap()
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
