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

/// RFC 7643 §8.3, "Enterprise User Extension Representation".
const RFC7643_8_3: &str = r#"{
  "schemas":
    ["urn:ietf:params:scim:schemas:core:2.0:User",
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "701984",
  "userName": "bjensen@example.com",
  "name": {
    "formatted": "Ms. Barbara J Jensen, III",
    "familyName": "Jensen",
    "givenName": "Barbara",
    "middleName": "Jane",
    "honorificPrefix": "Ms.",
    "honorificSuffix": "III"
  },
  "displayName": "Babs Jensen",
  "nickName": "Babs",
  "profileUrl": "https://login.example.com/bjensen",
  "emails": [
    {
      "value": "bjensen@example.com",
      "type": "work",
      "primary": true
    },
    {
      "value": "babs@jensen.org",
      "type": "home"
    }
  ],
  "addresses": [
    {
      "streetAddress": "100 Universal City Plaza",
      "locality": "Hollywood",
      "region": "CA",
      "postalCode": "91608",
      "country": "USA",
      "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
      "type": "work",
      "primary": true
    },
    {
      "streetAddress": "456 Hollywood Blvd",
      "locality": "Hollywood",
      "region": "CA",
      "postalCode": "91608",
      "country": "USA",
      "formatted": "456 Hollywood Blvd\nHollywood, CA 91608 USA",
      "type": "home"
    }
  ],
  "phoneNumbers": [
    {
      "value": "555-555-5555",
      "type": "work"
    },
    {
      "value": "555-555-4444",
      "type": "mobile"
    }
  ],
  "ims": [
    {
      "value": "someaimhandle",
      "type": "aim"
    }
  ],
  "photos": [
    {
      "value":
        "https://photos.example.com/profilephoto/72930000000Ccne/F",
      "type": "photo"
    },
    {
      "value":
        "https://photos.example.com/profilephoto/72930000000Ccne/T",
      "type": "thumbnail"
    }
  ],
  "userType": "Employee",
  "title": "Tour Guide",
  "preferredLanguage": "en-US",
  "locale": "en-US",
  "timezone": "America/Los_Angeles",
  "active":true,
  "password": "t1meMa$heen",
  "groups": [
    {
      "value": "e9e30dba-f08f-4109-8486-d5c6a331660a",
      "$ref":
"https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
      "display": "Tour Guides"
    },
    {
      "value": "fc348aa8-3835-40eb-a20b-c726e15c55b5",
      "$ref":
"https://example.com/v2/Groups/fc348aa8-3835-40eb-a20b-c726e15c55b5",
      "display": "Employees"
    },
    {
      "value": "71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7",
      "$ref":
"https://example.com/v2/Groups/71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7",
      "display": "US Employees"
    }
  ],
  "x509Certificates": [
    {
      "value":
       "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMxEzARBgNVBAgMCkNhbGlmb3JuaWExFDASBgNVBAoMC2V4YW1wbGUuY29tMRQwEgYDVQQDDAtleGFtcGxlLmNvbTAeFw0xMTEwMjIwNjI0MzFaFw0xMjEwMDQwNjI0MzFaMH8xCzAJBgNVBAYTAlVTMRMwEQYDVQQIDApDYWxpZm9ybmlhMRQwEgYDVQQKDAtleGFtcGxlLmNvbTEhMB8GA1UEAwwYTXMuIEJhcmJhcmEgSiBKZW5zZW4gSUlJMSIwIAYJKoZIhvcNAQkBFhNiamVuc2VuQGV4YW1wbGUuY29tMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7Kr+Dcds/JQ5GwejJFcBIP682X3xpjis56AK02bc1FLgzdLI8auoR+cC9/Vrh5t66HkQIOdA4unHh0AaZ4xL5PhVbXIPMB5vAPKpzz5iPSi8xO8SL7I7SDhcBVJhqVqr3HgllEG6UClDdHO7nkLuwXq8HcISKkbT5WFTVfFZzidPl8HZ7DhXkZIRtJwBweq4bvm3hM1Os7UQH05ZS6cVDgweKNwdLLrT51ikSQG3DYrl+ft781UQRIqxgwqCfXEuDiinPh0kkvIi5jivVu1Z9QiwlYEdRbLJ4zJQBmDrSGTMYn4lRc2HgHO4DqB/bnMVorHB0CC6AV1QoFK4GPe1LwIDAQABo3sweTAJBgNVHRMEAjAAMCwGCWCGSAGG+EIBDQQfFh1PcGVuU1NMIEdlbmVyYXRlZCBDZXJ0aWZpY2F0ZTAdBgNVHQ4EFgQU8pD0U0vsZIsaA16lL8En8bx0F/gwHwYDVR0jBBgwFoAUdGeKitcaF7gnzsNwDx708kqaVt0wDQYJKoZIhvcNAQEFBQADgYEAA81SsFnOdYJtNg5Tcq+/ByEDrBgnusx0jloUhByPMEVkoMZ3J7j1ZgI8rAbOkNngX8+pKfTiDz1RC4+dx8oU6Za+4NJXUjlL5CvV6BEYb1+QAEJwitTVvxB/A67g42/vzgAtoRUeDov1+GFiBZ+GNF/cAYKcMtGcrs2i97ZkJMo="
    }
  ],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984",
    "costCenter": "4130",
    "organization": "Universal Studios",
    "division": "Theme Park",
    "department": "Tour Operations",
    "manager": {
      "value": "26118915-6090-4610-87e4-49d8ca9f808d",
      "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
      "displayName": "John Smith"
    }
  },
  "meta": {
    "resourceType": "User",
    "created": "2010-01-23T04:56:22Z",
    "lastModified": "2011-05-13T04:42:34Z",
    "version": "W\/\"3694e05e9dff591\"",
    "location":
"https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
  }
}"#;

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
