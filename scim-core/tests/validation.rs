//! Validation on write (RFC 7643 §2, §3, §7; RFC 7644 §3.3 POST, §3.5.1 PUT) against the
//! built-in User and Group resource types, with the RFC 7643 §8 examples as fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::schema::{ResourceSchema, ResourceType, Schema};
use scim_core::validation::{
    ValidationMode, ValidationOptions, strip_never_returned, unique_attributes, validate_create,
    validate_replace,
};
use scim_core::{AttrPath, Resource, ScimError, ScimType, builtin};
use serde_json::{Value, json};

use common::{rfc7643_8_1_user, rfc7643_8_2_user, rfc7643_8_3_user, rfc7643_8_4_group};

mod common;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ENTRA_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

fn user() -> ResourceSchema {
    builtin::user_resource_schema()
}

fn group() -> ResourceSchema {
    builtin::group_resource_schema()
}

fn modes() -> [ValidationOptions; 2] {
    [ValidationOptions::strict(), ValidationOptions::lenient()]
}

fn create(body: Value, schema: &ResourceSchema, o: &ValidationOptions) -> Result<Value, ScimError> {
    validate_create(Resource::from_value(body)?, schema, o).map(Resource::into_value)
}

fn remove(v: &mut Value, key: &str) {
    if let Some(m) = v.as_object_mut() {
        m.shift_remove(key);
    }
}

#[track_caller]
fn assert_scim_err(r: Result<Value, ScimError>, status: u16, t: ScimType, detail_has: &str) {
    let e = r.expect_err("expected an error");
    assert_eq!(e.status(), status, "{e}");
    assert_eq!(e.scim_type(), Some(t), "{e}");
    assert!(e.detail().contains(detail_has), "{e} lacks {detail_has:?}");
}

// ---------------------------------------------------------------------------------------
// The RFC 7643 §8 examples are valid POST bodies in both modes.
// RFC 7644 §3.3: "In the request body, attributes whose mutability is "readOnly" (see
// Sections 2.2 and 7 of [RFC7643]) SHALL be ignored." So id, meta, groups and
// manager.displayName are dropped, and nothing else changes.
// ---------------------------------------------------------------------------------------

#[test]
fn rfc_8_1_minimal_user() {
    for o in modes() {
        let out = create(rfc7643_8_1_user(), &user(), &o).unwrap();
        assert_eq!(
            out,
            json!({"schemas": [USER], "userName": "bjensen@example.com"})
        );
    }
}

#[test]
fn rfc_8_2_full_user() {
    let mut expected = rfc7643_8_2_user();
    for k in ["id", "meta", "groups"] {
        remove(&mut expected, k);
    }
    for o in modes() {
        let out = create(rfc7643_8_2_user(), &user(), &o).unwrap();
        assert_eq!(out, expected);
        // writeOnly is stored (returned: never is the response side's business).
        assert_eq!(out["password"], json!("t1meMa$heen"));
        // RFC 7643 §2.4 default sub-attribute `primary` on addresses (not in §8.7.1).
        assert_eq!(out["addresses"][0]["primary"], json!(true));
    }
}

#[test]
fn rfc_8_3_enterprise_user() {
    let mut expected = rfc7643_8_3_user();
    for k in ["id", "meta", "groups"] {
        remove(&mut expected, k);
    }
    // manager.displayName is readOnly in §8.7.1.
    remove(&mut expected[ENTERPRISE]["manager"], "displayName");
    for o in modes() {
        let out = create(rfc7643_8_3_user(), &user(), &o).unwrap();
        assert_eq!(out, expected);
    }
}

#[test]
fn rfc_8_4_group() {
    let mut expected = rfc7643_8_4_group();
    for k in ["id", "meta"] {
        remove(&mut expected, k);
    }
    for o in modes() {
        // members[].display is the RFC 7643 §2.4 default sub-attribute ("display  A
        // human-readable name, primarily used for display purposes and having a mutability of
        // "immutable"."), which §8.7.1 does not list for Group.members.
        let out = create(rfc7643_8_4_group(), &group(), &o).unwrap();
        assert_eq!(out, expected);
    }
}

#[test]
fn validation_is_idempotent() {
    for (body, schema) in [
        (rfc7643_8_1_user(), user()),
        (rfc7643_8_2_user(), user()),
        (rfc7643_8_3_user(), user()),
        (rfc7643_8_4_group(), group()),
    ] {
        for o in modes() {
            let once = create(body.clone(), &schema, &o).unwrap();
            let twice = create(once.clone(), &schema, &ValidationOptions::strict()).unwrap();
            assert_eq!(once, twice);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Each rule violated once, with the exact status and scimType (RFC 7644 §3.12, Table 9).
// ---------------------------------------------------------------------------------------

#[test]
fn wrong_type_is_invalid_value() {
    // RFC 7643 §2.3.2: "A boolean has no case sensitivity or uniqueness." - JSON true/false.
    let mut body = rfc7643_8_1_user();
    body["active"] = json!(1);
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &user(), &o),
            400,
            ScimType::InvalidValue,
            "'active'",
        );
    }
    let mut body = rfc7643_8_1_user();
    body["name"] = json!({"givenName": 7});
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &user(), &o),
            400,
            ScimType::InvalidValue,
            "'name.givenName' must be a string",
        );
    }
    // RFC 7643 §2.3.6: "The attribute value MUST be base64 encoded as specified in Section 4
    // of [RFC4648]."
    let mut body = rfc7643_8_1_user();
    body["x509Certificates"] = json!([{"value": "not base64!"}]);
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &user(), &o),
            400,
            ScimType::InvalidValue,
            "'x509Certificates[0].value' must be base64",
        );
    }
    // Extension attributes carry their URN in the detail.
    let mut body = rfc7643_8_3_user();
    body[ENTERPRISE]["manager"]["value"] = json!(26118915);
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &user(), &o),
            400,
            ScimType::InvalidValue,
            &format!("'{ENTERPRISE}:manager.value' must be a string"),
        );
    }
}

#[test]
fn missing_required_attribute_is_invalid_value() {
    // RFC 7643 §8.7.1: userName has "required" : true.
    let mut body = rfc7643_8_1_user();
    remove(&mut body, "userName");
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &user(), &o),
            400,
            ScimType::InvalidValue,
            "required attribute 'userName' is missing",
        );
    }
    // RFC 7643 §4.2: "displayName  A human-readable name for the Group. REQUIRED."
    let mut body = rfc7643_8_4_group();
    body["displayName"] = Value::Null;
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &group(), &o),
            400,
            ScimType::InvalidValue,
            "'displayName'",
        );
    }
    // What is enforced is what the schema publishes: a Group schema as §8.7.1 prints it
    // ("required" : false) does not require displayName.
    let mut printed = group();
    let display_name = std::sync::Arc::make_mut(&mut printed.core)
        .attributes
        .iter_mut()
        .find(|a| a.name == "displayName")
        .unwrap();
    display_name.required = false;
    for o in modes() {
        assert!(create(body.clone(), &printed, &o).is_ok());
    }
}

#[test]
fn malformed_structure_is_invalid_syntax() {
    let e = Resource::from_value(json!(["not", "an", "object"])).unwrap_err();
    assert_eq!(
        (e.status(), e.scim_type()),
        (400, Some(ScimType::InvalidSyntax))
    );
    let mut body = rfc7643_8_3_user();
    body[ENTERPRISE] = json!("Tour Operations");
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &user(), &o),
            400,
            ScimType::InvalidSyntax,
            ENTERPRISE,
        );
    }
}

#[test]
fn unknown_attribute_is_invalid_syntax_in_strict_and_dropped_in_lenient() {
    // RFC 7644 §3.12: invalidSyntax "The request body message structure was invalid or did
    // not conform to the request schema."
    let mut body = rfc7643_8_1_user();
    body["favouriteColour"] = json!("blue");
    body["emails"] = json!([{"value": "b@example.com", "verified": true}]);
    assert_scim_err(
        create(body.clone(), &user(), &ValidationOptions::strict()),
        400,
        ScimType::InvalidSyntax,
        "'favouriteColour'",
    );
    let out = create(body, &user(), &ValidationOptions::lenient()).unwrap();
    assert!(out.get("favouriteColour").is_none());
    assert_eq!(out["emails"], json!([{"value": "b@example.com"}]));
}

#[test]
fn two_primary_values_are_invalid_value() {
    // RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."
    let mut body = rfc7643_8_2_user();
    body["emails"][1]["primary"] = json!(true);
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &user(), &o),
            400,
            ScimType::InvalidValue,
            "'emails'",
        );
    }
}

#[test]
fn canonical_values_are_enforced_only_in_strict() {
    // RFC 7643 §7: canonicalValues "A collection of suggested canonical values that MAY be
    // used (e.g., "work" and "home"). In some cases, service providers MAY choose to ignore
    // unsupported values."
    let mut body = rfc7643_8_1_user();
    body["emails"] = json!([{"value": "b@example.com", "type": "office"}]);
    assert_scim_err(
        create(body.clone(), &user(), &ValidationOptions::strict()),
        400,
        ScimType::InvalidValue,
        "'emails[0].type'",
    );
    assert!(create(body, &user(), &ValidationOptions::lenient()).is_ok());
    // Matching is case-insensitive for caseExact=false attributes.
    let mut body = rfc7643_8_1_user();
    body["emails"] = json!([{"value": "b@example.com", "type": "Work"}]);
    assert!(create(body, &user(), &ValidationOptions::strict()).is_ok());
}

#[test]
fn schemas_rules() {
    // RFC 7643 §3: "The "schemas" attribute for a resource MUST only contain values defined
    // as "schema" and "schemaExtensions" for the resource's defined "resourceType".
    // Duplicate values MUST NOT be included."
    // RFC 7643 §3.3: "The "schemas" attribute MUST contain at least one value, which SHALL
    // be the base schema for the resource."
    let strict = ValidationOptions::strict();
    let mut body = rfc7643_8_1_user();
    body["schemas"] = json!([ENTERPRISE]);
    assert_scim_err(
        create(body.clone(), &user(), &strict),
        400,
        ScimType::InvalidValue,
        USER,
    );
    let out = create(body, &user(), &ValidationOptions::lenient()).unwrap();
    assert_eq!(out["schemas"], json!([USER, ENTERPRISE]));

    let mut body = rfc7643_8_1_user();
    body["schemas"] = json!([USER, GROUP]);
    assert_scim_err(
        create(body.clone(), &user(), &strict),
        400,
        ScimType::InvalidValue,
        GROUP,
    );
    // Another resource type's core schema is never repaired away, not even in lenient.
    assert_scim_err(
        create(body, &user(), &ValidationOptions::lenient()),
        400,
        ScimType::InvalidValue,
        GROUP,
    );
    let mut body = rfc7643_8_1_user();
    body["schemas"] = json!([USER, "urn:example:unknown:2.0:User"]);
    let out = create(body, &user(), &ValidationOptions::lenient()).unwrap();
    assert_eq!(out["schemas"], json!([USER]));

    let mut body = rfc7643_8_1_user();
    body["schemas"] = json!([USER, USER.to_uppercase()]);
    assert_scim_err(
        create(body, &user(), &strict),
        400,
        ScimType::InvalidValue,
        "more than once",
    );

    let mut body = rfc7643_8_1_user();
    remove(&mut body, "schemas");
    assert_scim_err(
        create(body.clone(), &user(), &strict),
        400,
        ScimType::InvalidValue,
        "'schemas'",
    );
    let out = create(body, &user(), &ValidationOptions::lenient()).unwrap();
    assert_eq!(out["schemas"], json!([USER]));

    // The extension URN is written the way the schema spells it.
    let mut body = rfc7643_8_3_user();
    body["schemas"] = json!([USER.to_uppercase(), ENTERPRISE.to_lowercase()]);
    let v = body[ENTERPRISE].clone();
    remove(&mut body, ENTERPRISE);
    body[ENTERPRISE.to_uppercase()] = v;
    let out = create(body, &user(), &strict).unwrap();
    assert_eq!(out["schemas"], json!([USER, ENTERPRISE]));
    assert_eq!(out[ENTERPRISE]["department"], json!("Tour Operations"));
}

#[test]
fn a_single_value_for_a_multi_valued_attribute() {
    let mut body = rfc7643_8_1_user();
    body["emails"] = json!({"value": "b@example.com", "type": "work"});
    assert_scim_err(
        create(body.clone(), &user(), &ValidationOptions::strict()),
        400,
        ScimType::InvalidValue,
        "'emails' is multi-valued",
    );
    let out = create(body, &user(), &ValidationOptions::lenient()).unwrap();
    assert_eq!(
        out["emails"],
        json!([{"value": "b@example.com", "type": "work"}])
    );
}

#[test]
fn attribute_names_are_normalised() {
    // RFC 7643 §2.1: "Attribute names are case insensitive".
    let body = json!({
        "SCHEMAS": [USER], "USERNAME": "bjensen", "Name": {"GIVENNAME": "Barbara"},
        "EMAILS": [{"VALUE": "b@example.com", "Primary": true}]
    });
    for o in modes() {
        let out = create(body.clone(), &user(), &o).unwrap();
        assert_eq!(
            out,
            json!({"schemas": [USER], "userName": "bjensen", "name": {"givenName": "Barbara"},
                   "emails": [{"value": "b@example.com", "primary": true}]})
        );
    }
    let dup = json!({"schemas": [USER], "userName": "a", "USERNAME": "b"});
    for o in modes() {
        assert_scim_err(
            create(dup.clone(), &user(), &o),
            400,
            ScimType::InvalidSyntax,
            "userName",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Microsoft Entra ID. The bodies are the ones Entra's provisioning service sends
// (learn.microsoft.com, "Tutorial: Develop and plan provisioning for a SCIM endpoint").
// ---------------------------------------------------------------------------------------

fn entra_user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
        }],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

#[test]
fn entra_user_create_is_valid_in_both_modes() {
    for o in modes() {
        let out = create(entra_user(), &user(), &o).unwrap();
        assert!(out.get("meta").is_none());
        assert!(
            out.get("roles").is_none(),
            "[] is unassigned (RFC 7643 §2.5)"
        );
        assert_eq!(out["schemas"], json!([USER, ENTERPRISE]));
    }
}

#[test]
fn entra_string_booleans() {
    let mut body = entra_user();
    body["active"] = json!("False");
    body["emails"][0]["primary"] = json!("True");
    let out = create(body.clone(), &user(), &ValidationOptions::lenient()).unwrap();
    assert_eq!(out["active"], json!(false));
    assert_eq!(out["emails"][0]["primary"], json!(true));
    assert_scim_err(
        create(body, &user(), &ValidationOptions::strict()),
        400,
        ScimType::InvalidValue,
        "'active' must be a boolean",
    );
}

#[test]
fn entra_group_schema_uri_is_accepted_and_dropped() {
    let body = json!({
        "schemas": [GROUP, ENTRA_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"}
    });
    for o in modes() {
        let out = create(body.clone(), &group(), &o).unwrap();
        assert_eq!(
            out,
            json!({"schemas": [GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                   "displayName": "displayName"})
        );
    }
    // Only for groups: on a User it is an unknown schema.
    let mut body = rfc7643_8_1_user();
    body["schemas"] = json!([USER, ENTRA_GROUP]);
    assert_scim_err(
        create(body, &user(), &ValidationOptions::strict()),
        400,
        ScimType::InvalidValue,
        ENTRA_GROUP,
    );
}

#[test]
fn enterprise_extension_without_its_urn_in_schemas() {
    let mut body = entra_user();
    body["schemas"] = json!([USER]);
    body[ENTERPRISE] = json!({"department": "Sales", "manager": {"value": "26118915"}});
    let out = create(body.clone(), &user(), &ValidationOptions::lenient()).unwrap();
    assert_eq!(out["schemas"], json!([USER, ENTERPRISE]));
    assert_eq!(
        out[ENTERPRISE],
        json!({"department": "Sales", "manager": {"value": "26118915"}})
    );
    assert_scim_err(
        create(body, &user(), &ValidationOptions::strict()),
        400,
        ScimType::InvalidValue,
        ENTERPRISE,
    );
}

#[test]
fn entra_manager_shapes_in_lenient() {
    for manager in [json!("26118915"), json!([{"value": "26118915"}])] {
        let mut body = entra_user();
        body[ENTERPRISE] = json!({"manager": manager});
        let out = create(body.clone(), &user(), &ValidationOptions::lenient()).unwrap();
        assert_eq!(out[ENTERPRISE]["manager"], json!({"value": "26118915"}));
        assert_scim_err(
            create(body, &user(), &ValidationOptions::strict()),
            400,
            ScimType::InvalidValue,
            "manager",
        );
    }
    // Fully qualified keys at the top level are moved into the extension in lenient mode.
    let mut body = entra_user();
    body[format!("{ENTERPRISE}:employeeNumber")] = json!("701984");
    let out = create(body.clone(), &user(), &ValidationOptions::lenient()).unwrap();
    assert_eq!(out[ENTERPRISE], json!({"employeeNumber": "701984"}));
    assert_scim_err(
        create(body, &user(), &ValidationOptions::strict()),
        400,
        ScimType::InvalidSyntax,
        "employeeNumber",
    );
}

#[test]
fn numbers_as_strings_are_not_coerced_even_in_lenient() {
    // The built-in schemas have no integer attribute; a custom extension does.
    let schema = custom_schema();
    let body = json!({"schemas": [CUSTOM], "badge": "b1", "serial": "S", "level": "3"});
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &schema, &o),
            400,
            ScimType::InvalidValue,
            "'level' must be an integer",
        );
    }
}

// ---------------------------------------------------------------------------------------
// PUT (RFC 7644 §3.5.1).
// ---------------------------------------------------------------------------------------

fn stored_bjensen() -> Resource {
    let mut v = rfc7643_8_3_user();
    v[ENTERPRISE]["manager"]["displayName"] = json!("John Smith");
    Resource::from_value(v).unwrap()
}

#[test]
fn put_ignores_read_only_input_and_keeps_stored_read_only_values() {
    // readOnly: "Any values provided SHALL be ignored."
    let body = json!({
        "schemas": [USER, ENTERPRISE],
        "id": "a-different-id",
        "userName": "bjensen@example.com",
        "groups": [{"value": "forged"}],
        "meta": {"resourceType": "Forged"},
        ENTERPRISE: {"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "Forged"}}
    });
    for o in modes() {
        let out = validate_replace(
            Resource::from_value(body.clone()).unwrap(),
            &stored_bjensen(),
            &user(),
            &o,
        )
        .unwrap()
        .into_value();
        let stored = stored_bjensen().into_value();
        assert_eq!(out["id"], stored["id"]);
        assert_eq!(out["meta"], stored["meta"]);
        assert_eq!(out["groups"], stored["groups"]);
        assert_eq!(
            out[ENTERPRISE]["manager"]["displayName"],
            json!("John Smith")
        );
        // readWrite attributes the body omits are gone: the body is the new resource.
        assert!(out.get("displayName").is_none());
        assert!(out[ENTERPRISE].get("department").is_none());
        // writeOnly password: omitted, so kept (keep_omitted_write_only).
        assert_eq!(out["password"], json!("t1meMa$heen"));
    }
}

#[test]
fn put_requires_required_attributes() {
    // "If an attribute is "required", clients MUST specify the attribute in the PUT request."
    let body = json!({"schemas": [USER], "displayName": "Babs"});
    let e = validate_replace(
        Resource::from_value(body).unwrap(),
        &stored_bjensen(),
        &user(),
        &ValidationOptions::lenient(),
    )
    .unwrap_err();
    assert_eq!(
        (e.status(), e.scim_type()),
        (400, Some(ScimType::InvalidValue))
    );
}

#[test]
fn put_replaces_group_members() {
    // members[].value is immutable, but the elements of a multi-valued attribute have no
    // identity: replacing the member list is what PUT of a Group does.
    let stored = Resource::from_value(rfc7643_8_4_group()).unwrap();
    let body = json!({"schemas": [GROUP], "displayName": "Tour Guides", "members": [{"value": "new-member"}]});
    let out = validate_replace(
        Resource::from_value(body).unwrap(),
        &stored,
        &group(),
        &ValidationOptions::strict(),
    )
    .unwrap()
    .into_value();
    assert_eq!(out["members"], json!([{"value": "new-member"}]));
    assert_eq!(out["id"], json!("e9e30dba-f08f-4109-8486-d5c6a331660a"));
}

const CUSTOM: &str = "urn:example:params:scim:schemas:core:2.0:Badge";

/// A custom resource type loaded from the RFC 7643 §7 JSON representation, with an
/// immutable attribute (the built-ins have none at the top level).
fn custom_schema() -> ResourceSchema {
    let schema: Schema = serde_json::from_value(json!({
        "id": CUSTOM,
        "name": "Badge",
        "attributes": [
            {"name": "badge", "type": "string", "multiValued": false, "required": true,
             "caseExact": true, "mutability": "readWrite", "returned": "default", "uniqueness": "global"},
            {"name": "serial", "type": "string", "multiValued": false, "required": false,
             "caseExact": false, "mutability": "immutable", "returned": "default", "uniqueness": "none"},
            {"name": "level", "type": "integer", "multiValued": false, "required": false,
             "mutability": "readWrite", "returned": "default"}
        ]
    }))
    .unwrap();
    let rt: ResourceType = serde_json::from_value(json!({
        "name": "Badge", "endpoint": "/Badges", "schema": CUSTOM
    }))
    .unwrap();
    ResourceSchema::new(rt, schema, Vec::new())
}

#[test]
fn put_immutable_values_must_match() {
    // immutable: "If one or more values are already set for the attribute, the input
    // value(s) MUST match, or HTTP status code 400 SHOULD be returned with a "scimType" error
    // code of "mutability". If the service provider has no existing values, the new value(s)
    // SHALL be applied."
    let schema = custom_schema();
    let stored = Resource::from_value(
        json!({"schemas": [CUSTOM], "id": "1", "badge": "b1", "serial": "S-1"}),
    )
    .unwrap();
    let put = |body: Value| {
        validate_replace(
            Resource::from_value(body).unwrap(),
            &stored,
            &schema,
            &ValidationOptions::strict(),
        )
        .map(Resource::into_value)
    };
    // Same value (caseExact=false, so case does not matter): accepted.
    assert_eq!(
        put(json!({"schemas": [CUSTOM], "badge": "b2", "serial": "s-1"})).unwrap()["badge"],
        json!("b2")
    );
    // Omitted: not asserted, the stored value stays.
    assert_eq!(
        put(json!({"schemas": [CUSTOM], "badge": "b2"})).unwrap()["serial"],
        json!("S-1")
    );
    // Different or explicitly cleared: 400 mutability.
    assert_scim_err(
        put(json!({"schemas": [CUSTOM], "badge": "b1", "serial": "S-2"})),
        400,
        ScimType::Mutability,
        "'serial'",
    );
    assert_scim_err(
        put(json!({"schemas": [CUSTOM], "badge": "b1", "serial": null})),
        400,
        ScimType::Mutability,
        "'serial'",
    );
    // No stored value: the new value is applied.
    let fresh =
        Resource::from_value(json!({"schemas": [CUSTOM], "id": "2", "badge": "b1"})).unwrap();
    let out = validate_replace(
        Resource::from_value(json!({"schemas": [CUSTOM], "badge": "b1", "serial": "S-9"})).unwrap(),
        &fresh,
        &schema,
        &ValidationOptions::strict(),
    )
    .unwrap();
    assert_eq!(out.get("serial"), Some(&json!("S-9")));
}

// ---------------------------------------------------------------------------------------
// Responses and uniqueness.
// ---------------------------------------------------------------------------------------

#[test]
fn strip_never_returned_removes_the_password() {
    // RFC 7643 §8.7.1: password has "returned" : "never".
    let mut r = Resource::from_value(rfc7643_8_2_user()).unwrap();
    strip_never_returned(&mut r, &user());
    let v = r.into_value();
    assert!(v.get("password").is_none());
    assert_eq!(v["userName"], json!("bjensen@example.com"));
}

#[test]
fn unique_attributes_of_the_built_ins() {
    assert_eq!(
        unique_attributes(&user()),
        vec![AttrPath::new("userName"), AttrPath::new("id")]
    );
    assert_eq!(unique_attributes(&group()), vec![AttrPath::new("id")]);
    assert_eq!(
        unique_attributes(&custom_schema()),
        vec![AttrPath::new("badge"), AttrPath::new("id")]
    );
}

#[test]
fn presets() {
    assert_eq!(ValidationOptions::default(), ValidationOptions::lenient());
    assert_eq!(ValidationMode::default(), ValidationMode::Lenient);
    let s = ValidationOptions::from(ValidationMode::Strict);
    assert!(s.reject_unknown_attributes && s.enforce_canonical_values && !s.coerce_string_booleans);
}

// ---------------------------------------------------------------------------------------
// What the schema publishes as `required` is what validation enforces, for every attribute
// of every built-in resource schema (RFC 7643 §7 "required"; RFC 7643 §4.2 makes Group
// displayName REQUIRED).
// ---------------------------------------------------------------------------------------

/// A valid value for an attribute of any type (the first canonical value when there are
/// some, so that strict mode accepts it); complex values carry every sub-attribute the client
/// may write. `n` keeps unique values apart.
fn sample(attr: &scim_core::schema::Attribute, n: usize) -> Value {
    use scim_core::schema::{AttributeType as T, Mutability};
    let one = match attr.attr_type {
        T::String => match attr.canonical_values.first() {
            Some(c) => json!(c),
            None => json!(format!("{}-{n}", attr.name)),
        },
        T::Boolean => json!(attr.name != "primary"),
        T::Decimal => json!(1.5),
        T::Integer => json!(7),
        T::DateTime => json!("2008-01-23T04:56:22Z"),
        T::Binary => json!("TWFu"),
        T::Reference => json!(format!("https://example.com/v2/Users/{n}")),
        T::Complex => Value::Object(
            attr.sub_attributes
                .iter()
                .filter(|s| s.mutability != Mutability::ReadOnly)
                .map(|s| (s.name.clone(), sample(s, n)))
                .collect(),
        ),
    };
    if attr.multi_valued { json!([one]) } else { one }
}

/// Every writable attribute of a resource schema, core and extensions, with a value.
fn full_body(schema: &ResourceSchema) -> Value {
    use scim_core::schema::Mutability;
    let mut body = serde_json::Map::new();
    let mut schemas = vec![json!(schema.core.id)];
    for a in schema.core.attributes.iter() {
        if a.mutability != Mutability::ReadOnly {
            body.insert(a.name.clone(), sample(a, 1));
        }
    }
    for (ext, _) in &schema.extensions {
        schemas.push(json!(ext.id));
        let attrs: serde_json::Map<String, Value> = ext
            .attributes
            .iter()
            .filter(|a| a.mutability != Mutability::ReadOnly)
            .map(|a| (a.name.clone(), sample(a, 1)))
            .collect();
        body.insert(ext.id.clone(), Value::Object(attrs));
    }
    body.insert("schemas".into(), Value::Array(schemas));
    Value::Object(body)
}

#[test]
fn published_required_is_enforced_required_for_every_builtin_attribute() {
    use scim_core::schema::Mutability;
    for schema in [user(), group()] {
        let full = full_body(&schema);
        for o in modes() {
            create(full.clone(), &schema, &o)
                .unwrap_or_else(|e| panic!("{}: the full body fails: {e}", schema.name()));
        }
        // (container key or None for core, attribute, sub-attribute)
        let mut cases: Vec<(
            Option<String>,
            &scim_core::schema::Attribute,
            Option<&scim_core::schema::Attribute>,
        )> = Vec::new();
        let containers = std::iter::once((None, &schema.core)).chain(
            schema
                .extensions
                .iter()
                .map(|(e, _)| (Some(e.id.clone()), e)),
        );
        for (key, s) in containers {
            for a in s
                .attributes
                .iter()
                .filter(|a| a.mutability != Mutability::ReadOnly)
            {
                cases.push((key.clone(), a, None));
                for sub in a
                    .sub_attributes
                    .iter()
                    .filter(|s| s.mutability != Mutability::ReadOnly)
                {
                    cases.push((key.clone(), a, Some(sub)));
                }
            }
        }
        for (key, attr, sub) in cases {
            let mut body = full.clone();
            let container = match &key {
                Some(k) => &mut body[k.as_str()],
                None => &mut body,
            };
            let (required, what) = match sub {
                None => {
                    remove(container, &attr.name);
                    (attr.required, attr.name.clone())
                }
                Some(sub) => {
                    let v = &mut container[attr.name.as_str()];
                    match v {
                        Value::Array(items) => remove(&mut items[0], &sub.name),
                        other => remove(other, &sub.name),
                    }
                    (sub.required, format!("{}.{}", attr.name, sub.name))
                }
            };
            for o in modes() {
                let r = create(body.clone(), &schema, &o);
                if required {
                    assert_scim_err(
                        r,
                        400,
                        ScimType::InvalidValue,
                        &sub.map_or(attr.name.clone(), |s| s.name.clone()),
                    );
                } else {
                    assert!(
                        r.is_ok(),
                        "{} {what} is not required, yet: {r:?}",
                        schema.name()
                    );
                }
            }
        }
    }
    // The attributes RFC 7643 marks REQUIRED are among them.
    assert!(user().core.attribute("userName").unwrap().required);
    assert!(group().core.attribute("displayName").unwrap().required);
}

#[test]
fn empty_user_name_and_display_name_are_invalid_value_in_both_presets() {
    for o in modes() {
        for v in ["", " ", "\t"] {
            assert_scim_err(
                create(json!({"schemas": [USER], "userName": v}), &user(), &o),
                400,
                ScimType::InvalidValue,
                "'userName'",
            );
            assert_scim_err(
                create(json!({"schemas": [GROUP], "displayName": v}), &group(), &o),
                400,
                ScimType::InvalidValue,
                "'displayName'",
            );
        }
        // A PUT too.
        let e = validate_replace(
            Resource::from_value(json!({"schemas": [USER], "userName": ""})).unwrap(),
            &stored_bjensen(),
            &user(),
            &o,
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    }
}

#[test]
fn lenient_never_turns_a_group_body_into_a_user() {
    // A body that declares itself a Group, sent to /Users.
    let body = json!({
        "schemas": [GROUP],
        "displayName": "Tour Guides",
        "userName": "tour-guides"
    });
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &user(), &o),
            400,
            ScimType::InvalidValue,
            GROUP,
        );
    }
    // Listing both is no better, and neither is a message URN.
    for schemas in [
        json!([USER, GROUP]),
        json!(["urn:ietf:params:scim:api:messages:2.0:PatchOp"]),
    ] {
        let body = json!({"schemas": schemas, "userName": "bjensen"});
        for o in modes() {
            assert_scim_err(
                create(body.clone(), &user(), &o),
                400,
                ScimType::InvalidValue,
                "",
            );
        }
    }
    // And a User body sent to /Groups.
    let body = json!({"schemas": [USER], "displayName": "Tour Guides"});
    for o in modes() {
        assert_scim_err(
            create(body.clone(), &group(), &o),
            400,
            ScimType::InvalidValue,
            USER,
        );
    }
    // What lenient does repair is still repaired: a missing `schemas`, and an unknown
    // extension URN (Entra lists custom extensions the server may not define).
    let lenient = ValidationOptions::lenient();
    assert!(create(json!({"userName": "bjensen"}), &user(), &lenient).is_ok());
    let custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
    let out = create(
        json!({"schemas": [USER, custom], "userName": "bjensen", custom: {"x": 1}}),
        &user(),
        &lenient,
    )
    .unwrap();
    assert_eq!(out["schemas"], json!([USER]));
}

#[test]
fn validation_mode_parses_from_a_flag() {
    assert_eq!(
        "strict".parse::<ValidationMode>().unwrap(),
        ValidationMode::Strict
    );
    assert_eq!(
        "LENIENT".parse::<ValidationMode>().unwrap(),
        ValidationMode::Lenient
    );
    assert!("relaxed".parse::<ValidationMode>().is_err());
    for m in [ValidationMode::Strict, ValidationMode::Lenient] {
        assert_eq!(m.to_string().parse::<ValidationMode>().unwrap(), m);
    }
}
