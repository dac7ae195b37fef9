//! Regression tests for PATCH defects found by independent clients: a value filter that matches
//! nothing never invents a value (outside Entra's typed User attributes), an extension value
//! may carry its own `schemas`, binary and dateTime values are checked as on POST, a failing
//! operation leaves the resource exactly as it was, and required attributes stay assigned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::patch::{PatchOptions, PatchRequest, apply_patch};
use scim_core::schema::{
    Attribute, AttributeType, ResourceSchema, ResourceType, Schema, SchemaExtension,
};
use scim_core::validation::{ValidationOptions, validate_create};
use scim_core::{Resource, ScimError, ScimType, builtin};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn ops(ops: Value) -> PatchRequest {
    serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops
    }))
    .unwrap()
}

/// Applies `ops`; on error, also checks that the resource is unchanged.
fn run(
    resource: &Value,
    schema: &ResourceSchema,
    operations: Value,
    options: PatchOptions,
) -> Result<Value, ScimError> {
    let mut r = Resource::from_value(resource.clone()).unwrap();
    match apply_patch(&mut r, schema, &ops(operations), &options) {
        Ok(_) => Ok(r.into_value()),
        Err(e) => {
            assert_eq!(
                &r.into_value(),
                resource,
                "a failed PATCH must leave the resource exactly as it was"
            );
            Err(e)
        }
    }
}

fn both() -> [PatchOptions; 2] {
    [PatchOptions::lenient(), PatchOptions::strict()]
}

fn assert_scim(e: &ScimError, status: u16, t: ScimType) {
    assert_eq!((e.status(), e.scim_type()), (status, Some(t)), "{e}");
}

/// RFC 7643 §8.4's group.
fn tour_guides() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ]
    })
}

fn bjensen() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ]
    })
}

#[test]
fn replace_under_a_filter_that_matches_no_member_is_no_target_and_adds_no_member() {
    let group = tour_guides();
    let schema = builtin::group_resource_schema();
    for options in both() {
        for op in ["replace", "add"] {
            let e = run(
                &group,
                &schema,
                json!([{"op": op, "path": "members[value eq \"not-a-member\"].display", "value": "X"}]),
                options,
            )
            .unwrap_err();
            // RFC 7644 §3.5.2.3: "no record match was made [...] "noTarget"."
            assert_scim(&e, 400, ScimType::NoTarget);
        }
    }
    // A member that is there is still updated.
    let out = run(
        &group,
        &schema,
        json!([{"op": "replace",
                "path": "members[value eq \"902c246b-6245-4190-8e05-00816be7344a\"].display",
                "value": "Mandy P."}]),
        PatchOptions::lenient(),
    )
    .unwrap();
    assert_eq!(out["members"][1]["display"], "Mandy P.");
    assert_eq!(out["members"].as_array().unwrap().len(), 2);
}

#[test]
fn entra_typed_value_paths_still_create_on_user_emails_phone_numbers_and_addresses() {
    let user = bjensen();
    let schema = builtin::user_resource_schema();
    for (path, value, attr) in [
        (
            "emails[type eq \"other\"].value",
            json!("b@other.org"),
            "emails",
        ),
        (
            "phoneNumbers[type eq \"mobile\"].value",
            json!("+1 555 0100"),
            "phoneNumbers",
        ),
        (
            "addresses[type eq \"work\"].streetAddress",
            json!("100 Universal City Plaza"),
            "addresses",
        ),
    ] {
        let out = run(
            &user,
            &schema,
            json!([{"op": "Replace", "path": path, "value": value}]),
            PatchOptions::lenient(),
        )
        .unwrap();
        let created = out[attr].as_array().unwrap().last().unwrap().clone();
        assert!(
            created.as_object().unwrap().values().any(|v| v == &value),
            "{created}"
        );
        // Strict: RFC 7644 §3.5.2.3 noTarget.
        let e = run(
            &user,
            &schema,
            json!([{"op": "replace", "path": path, "value": value}]),
            PatchOptions::strict(),
        )
        .unwrap_err();
        assert_scim(&e, 400, ScimType::NoTarget);
    }
    // Other multi-valued User attributes never invent a value.
    for path in [
        "ims[type eq \"aim\"].value",
        "roles[type eq \"x\"].value",
        "x509Certificates[value eq \"TWFu\"].display",
        // Not a typed selection: Entra writes under `type` filters only.
        "emails[value eq \"nobody@example.com\"].type",
    ] {
        let e = run(
            &user,
            &schema,
            json!([{"op": "replace", "path": path, "value": "x"}]),
            PatchOptions::lenient(),
        )
        .unwrap_err();
        assert_scim(&e, 400, ScimType::NoTarget);
    }
}

#[test]
fn extension_value_may_carry_its_own_schemas_key() {
    let user = bjensen();
    let schema = builtin::user_resource_schema();
    for options in both() {
        for op in ["add", "replace"] {
            let out = run(
                &user,
                &schema,
                json!([{"op": op, "path": ENTERPRISE, "value": {
                    "schemas": [ENTERPRISE],
                    "employeeNumber": "701984",
                    "department": "Tour Operations"
                }}]),
                options,
            )
            .unwrap();
            assert_eq!(
                out[ENTERPRISE],
                json!({"employeeNumber": "701984", "department": "Tour Operations"})
            );
            assert!(
                out["schemas"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(ENTERPRISE))
            );
        }
    }
}

/// A resource type with a dateTime and a binary attribute (the RFC 7643 §8.7.1 User has no
/// writable dateTime).
fn typed_schema() -> ResourceSchema {
    let core = Schema {
        schemas: Vec::new(),
        id: "urn:example:params:scim:schemas:core:2.0:Badge".into(),
        name: Some("Badge".into()),
        description: None,
        attributes: vec![
            Attribute::new("validFrom", AttributeType::DateTime),
            Attribute::new("photo", AttributeType::Binary),
        ],
        meta: None,
    };
    let rt = ResourceType {
        schemas: Vec::new(),
        id: Some("Badge".into()),
        name: "Badge".into(),
        endpoint: "/Badges".into(),
        description: None,
        schema: core.id.clone(),
        schema_extensions: Vec::<SchemaExtension>::new(),
        meta: None,
    };
    ResourceSchema::new(rt, core, Vec::new())
}

#[test]
fn binary_and_date_time_values_are_checked_as_on_post() {
    let schema = typed_schema();
    let urn = schema.core.id.clone();
    let stored = json!({"schemas": [urn], "id": "b1"});
    for (attr, bad) in [
        ("photo", "not base64!"),
        ("photo", "TWE"),
        ("validFrom", "2010-01-23T04:56:22+15:00"),
        ("validFrom", "2015-02-29T00:00:00Z"),
        ("validFrom", "2010-01-23"),
    ] {
        let post = validate_create(
            Resource::from_value(json!({"schemas": [urn], attr: bad})).unwrap(),
            &schema,
            &ValidationOptions::strict(),
        )
        .unwrap_err();
        for options in both() {
            let e = run(
                &stored,
                &schema,
                json!([{"op": "add", "path": attr, "value": bad}]),
                options,
            )
            .unwrap_err();
            assert_eq!(
                (e.status(), e.scim_type()),
                (post.status(), post.scim_type())
            );
            assert_scim(&e, 400, ScimType::InvalidValue);
            assert!(
                e.detail().ends_with(post.detail()),
                "PATCH {:?} vs POST {:?}",
                e.detail(),
                post.detail()
            );
            // Path-less too.
            let e = run(
                &stored,
                &schema,
                json!([{"op": "replace", "value": {attr: bad}}]),
                options,
            )
            .unwrap_err();
            assert_scim(&e, 400, ScimType::InvalidValue);
        }
    }
    for (attr, good) in [("photo", "TWFu"), ("validFrom", "2008-01-23T04:56:22Z")] {
        let out = run(
            &stored,
            &schema,
            json!([{"op": "add", "path": attr, "value": good}]),
            PatchOptions::strict(),
        )
        .unwrap();
        assert_eq!(out[attr], good);
    }
}

#[test]
fn a_failing_later_operation_restores_the_demoted_primary() {
    let user = bjensen();
    let schema = builtin::user_resource_schema();
    for options in both() {
        // The add demotes the existing primary email; the second operation fails; the
        // resource must be exactly as it was (RFC 7644 §3.5.2: "the original SCIM resource
        // MUST be restored").
        let e = run(
            &user,
            &schema,
            json!([
                {"op": "add", "path": "emails",
                 "value": [{"value": "new@example.com", "type": "other", "primary": true}]},
                {"op": "replace", "path": "userName", "value": 42}
            ]),
            options,
        )
        .unwrap_err();
        assert_scim(&e, 400, ScimType::InvalidValue);
    }
    // Without the failing operation the demotion happens.
    let out = run(
        &user,
        &schema,
        json!([{"op": "add", "path": "emails",
                "value": [{"value": "new@example.com", "type": "other", "primary": true}]}]),
        PatchOptions::strict(),
    )
    .unwrap();
    assert_eq!(out["emails"][0]["primary"], false);
    assert_eq!(out["emails"][2]["primary"], true);
}

#[test]
fn required_attributes_cannot_be_removed_or_emptied() {
    let group = tour_guides();
    let gs = builtin::group_resource_schema();
    let user = bjensen();
    let us = builtin::user_resource_schema();
    for options in both() {
        // RFC 7644 §3.5.2.2: "If an attribute is removed or becomes unassigned and is defined
        // as a required attribute [...] "mutability"."
        for operations in [
            json!([{"op": "remove", "path": "displayName"}]),
            json!([{"op": "replace", "path": "displayName", "value": null}]),
            json!([{"op": "replace", "value": {"displayName": null}}]),
        ] {
            let e = run(&group, &gs, operations, options).unwrap_err();
            assert_scim(&e, 400, ScimType::Mutability);
        }
        for operations in [
            json!([{"op": "remove", "path": "userName"}]),
            json!([{"op": "replace", "path": "userName", "value": null}]),
        ] {
            let e = run(&user, &us, operations, options).unwrap_err();
            assert_scim(&e, 400, ScimType::Mutability);
        }
        // An empty required string is a missing value: 400 invalidValue, as on POST.
        for (resource, schema, attr) in [(&group, &gs, "displayName"), (&user, &us, "userName")] {
            for v in ["", "   "] {
                let e = run(
                    resource,
                    schema,
                    json!([{"op": "replace", "path": attr, "value": v}]),
                    options,
                )
                .unwrap_err();
                assert_scim(&e, 400, ScimType::InvalidValue);
            }
        }
    }
}
