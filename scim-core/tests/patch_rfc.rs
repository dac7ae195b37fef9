//! Every PATCH example of RFC 7644 §3.5.2 applied to the RFC 7643 §8 example resources, with
//! the full resulting JSON asserted, plus one test per `scimType` a PATCH can fail with.
//!
//! Where the RFC prints a truncated id (`"2819c223...413861904646"`) the full id of the same
//! user from RFC 7643 §8.2/§8.4 is used, so that the example applies to the §8.4 group.
//! The RFC 7643 §8 resources are the fixtures of `tests/fixtures/rfc7643/` (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::patch::{PatchOptions, PatchOutcome, PatchRequest, apply_patch};
use scim_core::{AttrPath, Resource, ScimError, ScimType, builtin};
use serde_json::{Value, json};

use common::{resource, rfc7643_8_1_user, rfc7643_8_2_user, rfc7643_8_4_group};

mod common;

const BABS: &str = "2819c223-7f76-453a-919d-413861904646";
const MANDY: &str = "902c246b-6245-4190-8e05-00816be7344a";
const JAMES: &str = "08e1d05d-121c-4561-8b96-473d93df9210";

fn request(body: Value) -> PatchRequest {
    serde_json::from_value(body).unwrap()
}

fn patch_user(user: &mut Resource, body: Value) -> Result<PatchOutcome, ScimError> {
    let schema = builtin::user_resource_schema();
    apply_patch(user, &schema, &request(body), &PatchOptions::strict())
}

fn patch_group(group: &mut Resource, body: Value) -> Result<PatchOutcome, ScimError> {
    let schema = builtin::group_resource_schema();
    apply_patch(group, &schema, &request(body), &PatchOptions::strict())
}

fn member(id: &str, display: &str) -> Value {
    json!({
        "value": id,
        "$ref": format!("https://example.com/v2/Users/{id}"),
        "display": display
    })
}

fn group_with_members(members: Value) -> Value {
    let mut g = rfc7643_8_4_group();
    match members {
        Value::Null => {
            g.as_object_mut().unwrap().shift_remove("members");
        }
        m => g["members"] = m,
    }
    g
}

// ----- §3.5.2.1 Add Operation ----------------------------------------------------------------

/// §3.5.2.1: "The following example shows how to add a member to a group. [...] If the user
/// was already a member of this group, no changes should be made to the resource, and a
/// success response should be returned."
fn rfc_add_member() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "add",
            "path": "members",
            "value": [{
                "display": "Babs Jensen",
                "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                "value": "2819c223-7f76-453a-919d-413861904646"
            }]
        }]
    })
}

#[test]
fn s3_5_2_1_add_member_already_member_changes_nothing() {
    let mut group = resource(rfc7643_8_4_group());
    let outcome = patch_group(&mut group, rfc_add_member()).unwrap();
    assert!(!outcome.changed, "no changes SHOULD be made");
    assert!(outcome.changed_attributes.is_empty());
    assert_eq!(group.into_value(), rfc7643_8_4_group());
}

#[test]
fn s3_5_2_1_add_member_to_group_without_babs() {
    let mut group = Resource::from_value(group_with_members(json!([member(
        MANDY,
        "Mandy Pepperidge"
    )])))
    .unwrap();
    let outcome = patch_group(&mut group, rfc_add_member()).unwrap();
    assert!(outcome.changed);
    assert_eq!(outcome.changed_attributes, vec![AttrPath::new("members")]);
    let expected = group_with_members(json!([
        member(MANDY, "Mandy Pepperidge"),
        member(BABS, "Babs Jensen")
    ]));
    assert_eq!(group.into_value(), expected);
}

/// §3.5.2.1: "The following example shows how to add one or more attributes to a User resource
/// without using a "path" attribute. [...] In the above example, an additional value is added
/// to the multi-valued attribute "emails". The second attribute, "nickname", is added to the
/// User resource. If the resource already had an existing "nickname", the value is replaced per
/// the processing rules above for single-valued attributes."
fn rfc_add_without_path() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "add",
            "value": {
                "emails": [{"value": "babs@jensen.org", "type": "home"}],
                "nickname": "Babs"
            }
        }]
    })
}

#[test]
fn s3_5_2_1_add_attributes_without_path_to_minimal_user() {
    let mut user = resource(rfc7643_8_1_user());
    let outcome = patch_user(&mut user, rfc_add_without_path()).unwrap();
    assert!(outcome.changed);
    assert_eq!(
        outcome.changed_attributes,
        vec![AttrPath::new("emails"), AttrPath::new("nickName")]
    );
    let mut expected = rfc7643_8_1_user();
    let m = expected.as_object_mut().unwrap();
    m.insert(
        "emails".into(),
        json!([{"value": "babs@jensen.org", "type": "home"}]),
    );
    // A new member takes the schema's spelling ("nickName"), not the client's ("nickname").
    m.insert("nickName".into(), json!("Babs"));
    assert_eq!(user.into_value(), expected);
}

#[test]
fn s3_5_2_1_add_attributes_without_path_to_full_user_is_a_no_op() {
    // The RFC 7643 §8.2 user already has that home email and nickName "Babs".
    let mut user = resource(rfc7643_8_2_user());
    let outcome = patch_user(&mut user, rfc_add_without_path()).unwrap();
    assert!(!outcome.changed);
    assert_eq!(user.into_value(), rfc7643_8_2_user());
}

#[test]
fn s3_5_2_1_add_replaces_an_existing_single_value() {
    let mut user = resource(rfc7643_8_2_user());
    let mut body = rfc_add_without_path();
    body["Operations"][0]["value"]["nickname"] = json!("Barbie");
    patch_user(&mut user, body).unwrap();
    let mut expected = rfc7643_8_2_user();
    expected["nickName"] = json!("Barbie");
    assert_eq!(user.into_value(), expected);
}

// ----- §3.5.2.2 Remove Operation -------------------------------------------------------------

#[test]
fn s3_5_2_2_remove_single_member() {
    // "Remove a single member from a group" (the RFC truncates the id).
    let mut group = resource(rfc7643_8_4_group());
    let outcome = patch_group(
        &mut group,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "remove",
                "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"
            }]
        }),
    )
    .unwrap();
    assert!(outcome.changed);
    assert_eq!(
        group.into_value(),
        group_with_members(json!([member(MANDY, "Mandy Pepperidge")]))
    );
}

#[test]
fn s3_5_2_2_remove_all_members() {
    // "If the target location is a multi-valued attribute and no filter is specified, the
    // attribute and all values are removed, and the attribute SHALL be considered unassigned."
    let mut group = resource(rfc7643_8_4_group());
    patch_group(
        &mut group,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "members"}]
        }),
    )
    .unwrap();
    assert_eq!(group.into_value(), group_with_members(Value::Null));
}

#[test]
fn s3_5_2_2_remove_value_from_complex_multi_valued_attribute() {
    // "Removal of a value from a complex multi-valued attribute".
    let mut user = resource(rfc7643_8_2_user());
    patch_user(
        &mut user,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "remove",
                "path": "emails[type eq \"work\" and value ew \"example.com\"]"
            }]
        }),
    )
    .unwrap();
    let mut expected = rfc7643_8_2_user();
    expected["emails"] = json!([{"value": "babs@jensen.org", "type": "home"}]);
    assert_eq!(user.into_value(), expected);
}

#[test]
fn s3_5_2_2_remove_and_add_a_member() {
    // "Example request to remove and add a member" (the RFC prints `eq"...` without the space
    // and truncates both ids).
    let mut group = resource(rfc7643_8_4_group());
    patch_group(
        &mut group,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"},
                {"op": "add", "path": "members", "value": [{
                    "display": "James Smith",
                    "$ref": "https://example.com/v2/Users/08e1d05d-121c-4561-8b96-473d93df9210",
                    "value": "08e1d05d-121c-4561-8b96-473d93df9210"
                }]}
            ]
        }),
    )
    .unwrap();
    assert_eq!(
        group.into_value(),
        group_with_members(json!([
            member(MANDY, "Mandy Pepperidge"),
            member(JAMES, "James Smith")
        ]))
    );
}

fn babs_and_james() -> Value {
    json!([
        {
            "display": "Babs Jensen",
            "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
            "value": "2819c223-7f76-453a-919d-413861904646"
        },
        {
            "display": "James Smith",
            "$ref": "https://example.com/v2/Users/08e1d05d-121c-4561-8b96-473d93df9210",
            "value": "08e1d05d-121c-4561-8b96-473d93df9210"
        }
    ])
}

#[test]
fn s3_5_2_2_replace_all_members_with_remove_then_add() {
    // "The following example shows how to replace all of the members of a group with a
    // different members list."
    let mut group = resource(rfc7643_8_4_group());
    patch_group(
        &mut group,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": babs_and_james()}
            ]
        }),
    )
    .unwrap();
    // "members" was removed and added again, so it now comes after "meta".
    let mut expected = group_with_members(Value::Null);
    expected["members"] = json!([member(BABS, "Babs Jensen"), member(JAMES, "James Smith")]);
    assert_eq!(group.into_value(), expected);
}

#[test]
fn remove_multiple_members_with_or_filter() {
    // Not printed in the RFC; the same rule: "the values matched by the filter are removed.
    // If no other values remain after removal of the selected values, the multi-valued
    // attribute SHALL be considered unassigned."
    let mut group = resource(rfc7643_8_4_group());
    patch_group(
        &mut group,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "remove",
                "path": format!("members[value eq \"{BABS}\" or value eq \"{MANDY}\"]")
            }]
        }),
    )
    .unwrap();
    assert_eq!(group.into_value(), group_with_members(Value::Null));
}

#[test]
fn remove_sub_attribute_of_matching_values() {
    let mut user = resource(rfc7643_8_2_user());
    patch_user(
        &mut user,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "addresses[type eq \"home\"].formatted"}]
        }),
    )
    .unwrap();
    let mut expected = rfc7643_8_2_user();
    expected["addresses"][1]
        .as_object_mut()
        .unwrap()
        .shift_remove("formatted");
    assert_eq!(user.into_value(), expected);
}

// ----- §3.5.2.3 Replace Operation ------------------------------------------------------------

#[test]
fn s3_5_2_3_replace_all_members_in_one_operation() {
    let mut group = resource(rfc7643_8_4_group());
    patch_group(
        &mut group,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "members", "value": babs_and_james()}]
        }),
    )
    .unwrap();
    assert_eq!(
        group.into_value(),
        group_with_members(json!([
            member(BABS, "Babs Jensen"),
            member(JAMES, "James Smith")
        ]))
    );
}

#[test]
fn s3_5_2_3_replace_work_address() {
    // "The following example shows how to change a User's entire "work" address, using a
    // "valuePath" filter." "all matching record values SHALL be replaced."
    let new_address = json!({
        "type": "work",
        "streetAddress": "911 Universal City Plaza",
        "locality": "Hollywood",
        "region": "CA",
        "postalCode": "91608",
        "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": true
    });
    let mut user = resource(rfc7643_8_2_user());
    let outcome = patch_user(
        &mut user,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "replace",
                "path": "addresses[type eq \"work\"]",
                "value": new_address.clone()
            }]
        }),
    )
    .unwrap();
    assert_eq!(outcome.changed_attributes, vec![AttrPath::new("addresses")]);
    let mut expected = rfc7643_8_2_user();
    expected["addresses"][0] = new_address;
    assert_eq!(user.into_value(), expected);
}

#[test]
fn s3_5_2_3_replace_street_address_of_work_address() {
    // "the matching sub-attribute of all matching records SHALL be replaced."
    let mut user = resource(rfc7643_8_2_user());
    patch_user(
        &mut user,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "replace",
                "path": "addresses[type eq \"work\"].streetAddress",
                "value": "1010 Broadway Ave"
            }]
        }),
    )
    .unwrap();
    let mut expected = rfc7643_8_2_user();
    expected["addresses"][0]["streetAddress"] = json!("1010 Broadway Ave");
    assert_eq!(user.into_value(), expected);
}

#[test]
fn s3_5_2_3_replace_multiple_attributes_without_path() {
    // "The following example shows how to replace all values of one or more specific
    // attributes of a User resource."
    let mut user = resource(rfc7643_8_2_user());
    let outcome = patch_user(
        &mut user,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "replace",
                "value": {
                    "emails": [
                        {"value": "bjensen@example.com", "type": "work", "primary": true},
                        {"value": "babs@jensen.org", "type": "home"}
                    ],
                    "nickname": "Babs"
                }
            }]
        }),
    )
    .unwrap();
    // The §8.2 user already has exactly these values.
    assert!(!outcome.changed);
    assert_eq!(user.clone().into_value(), rfc7643_8_2_user());

    let mut minimal = resource(rfc7643_8_1_user());
    patch_user(
        &mut minimal,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "replace",
                "value": {
                    "emails": [
                        {"value": "bjensen@example.com", "type": "work", "primary": true},
                        {"value": "babs@jensen.org", "type": "home"}
                    ],
                    "nickname": "Babs"
                }
            }]
        }),
    )
    .unwrap();
    let mut expected = rfc7643_8_1_user();
    expected["emails"] = rfc7643_8_2_user()["emails"].clone();
    expected["nickName"] = json!("Babs");
    assert_eq!(minimal.into_value(), expected);
}

#[test]
fn replace_missing_attribute_is_an_add_and_complex_replace_merges() {
    // §3.5.2.3: "If the target location path specifies an attribute that does not exist, the
    // service provider SHALL treat the operation as an "add"." and for a complex attribute
    // "Sub-attributes that are not specified in the "value" parameter are left unchanged."
    let mut user = resource(rfc7643_8_2_user());
    patch_user(
        &mut user,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "name", "value": {"givenName": "Barb"}},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "701984"}
            ]
        }),
    )
    .unwrap();
    let mut expected = rfc7643_8_2_user();
    expected["name"]["givenName"] = json!("Barb");
    expected["schemas"] = json!([
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]);
    expected["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"employeeNumber": "701984"});
    assert_eq!(user.into_value(), expected);
}

#[test]
fn primary_true_demotes_the_other_values() {
    // §3.5.2: "For multi-valued attributes, a PATCH operation that sets a value's "primary"
    // sub-attribute to "true" SHALL cause the server to automatically set "primary" to "false"
    // for any other values in the array."
    let mut user = resource(rfc7643_8_2_user());
    patch_user(
        &mut user,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "emails", "value": [
                {"value": "barbara@example.org", "type": "other", "primary": true}
            ]}]
        }),
    )
    .unwrap();
    let mut expected = rfc7643_8_2_user();
    expected["emails"][0]["primary"] = json!(false);
    expected["emails"]
        .as_array_mut()
        .unwrap()
        .push(json!({"value": "barbara@example.org", "type": "other", "primary": true}));
    assert_eq!(user.clone().into_value(), expected);

    patch_user(
        &mut user,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]
        }),
    )
    .unwrap();
    let emails = user.get("emails").unwrap().as_array().unwrap();
    let primaries: Vec<&Value> = emails
        .iter()
        .filter(|e| e["primary"] == json!(true))
        .collect();
    assert_eq!(
        primaries,
        vec![&json!({"value": "babs@jensen.org", "type": "home", "primary": true})]
    );
}

#[test]
fn extension_becomes_empty_and_leaves_schemas() {
    let schema = builtin::user_resource_schema();
    let mut user = resource(rfc7643_8_2_user());
    let add = request(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"costCenter": "4130"}}]
    }));
    let out = apply_patch(&mut user, &schema, &add, &PatchOptions::strict()).unwrap();
    assert_eq!(
        out.changed_attributes,
        vec![
            AttrPath::new("costCenter")
                .with_uri("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            AttrPath::new("schemas")
        ]
    );
    let remove = request(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"}]
    }));
    apply_patch(&mut user, &schema, &remove, &PatchOptions::strict()).unwrap();
    assert_eq!(user.into_value(), rfc7643_8_2_user());
}

// ----- errors: each scimType with its status ---------------------------------------------------

fn user_error(ops: Value) -> ScimError {
    let mut user = resource(rfc7643_8_2_user());
    let err = patch_user(
        &mut user,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
    )
    .unwrap_err();
    // All or nothing: the resource is untouched.
    assert_eq!(user.into_value(), rfc7643_8_2_user());
    err
}

fn assert_error(err: &ScimError, scim_type: ScimType) {
    assert_eq!(err.scim_type(), Some(scim_type), "{err}");
    assert_eq!(err.status(), 400, "{err}");
}

#[test]
fn no_target_when_remove_has_no_path() {
    // §3.5.2.2: "If "path" is unspecified, the operation fails with HTTP status code 400 and a
    // "scimType" error code of "noTarget"."
    let err = user_error(json!([{"op": "remove"}]));
    assert_error(&err, ScimType::NoTarget);
}

#[test]
fn no_target_when_a_value_filter_matches_nothing() {
    // §3.5.2.3: "If the target location is a multi-valued attribute for which a value
    // selection filter ("valuePath") has been supplied and no record match was made, the
    // service provider SHALL indicate failure by returning HTTP status code 400 and a
    // "scimType" error code of "noTarget"."
    for op in [
        json!({"op": "replace", "path": "addresses[type eq \"other\"]", "value": {"type": "other"}}),
        json!({"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x@example.com"}),
        json!({"op": "add", "path": "emails[type eq \"other\"].value", "value": "x@example.com"}),
        // §3.12 noTarget: "This occurs when the specified "path" value contains a filter that
        // yields no match."
        json!({"op": "remove", "path": "emails[type eq \"other\"]"}),
    ] {
        let err = user_error(json!([op]));
        assert_error(&err, ScimType::NoTarget);
    }
}

#[test]
fn invalid_path_for_unknown_or_malformed_paths() {
    for path in [
        "nosuchattribute",
        "name.nosuchsub",
        "emails[type eq \"work\"",
        "emails[nosuch eq \"x\"]",
        "displayName[value eq \"x\"]",
        "urn:ietf:params:scim:schemas:extension:nosuch:2.0:User:foo",
    ] {
        let err = user_error(json!([{"op": "replace", "path": path, "value": "x"}]));
        assert_error(&err, ScimType::InvalidPath);
    }
    let err = user_error(json!([{"op": "add", "value": {"nosuchattribute": "x"}}]));
    assert_error(&err, ScimType::InvalidPath);
}

#[test]
fn invalid_value_for_wrong_types_and_missing_values() {
    for op in [
        json!({"op": "replace", "path": "active", "value": "yes"}),
        json!({"op": "replace", "path": "displayName", "value": 42}),
        json!({"op": "replace", "path": "displayName", "value": ["a", "b"]}),
        json!({"op": "replace", "path": "name", "value": "Barbara"}),
        json!({"op": "add", "path": "emails", "value": [{"value": "a@b", "nosuch": 1}]}),
        json!({"op": "add", "path": "emails", "value": [
            {"value": "a@b", "primary": true}, {"value": "c@d", "primary": true}
        ]}),
        json!({"op": "add", "path": "nickName"}),
        json!({"op": "replace", "value": "not an object"}),
    ] {
        let err = user_error(json!([op]));
        assert_error(&err, ScimType::InvalidValue);
    }
}

#[test]
fn mutability_for_read_only_immutable_and_required() {
    for op in [
        // RFC 7644 §3.12: "modification of an "id" attribute".
        json!({"op": "replace", "path": "id", "value": "other"}),
        json!({"op": "add", "path": "groups", "value": [{"value": "x"}]}),
        json!({"op": "remove", "path": "meta"}),
        json!({"op": "replace", "path": "meta.version", "value": "W/\"1\""}),
        // §3.5.2.2: "If an attribute is removed or becomes unassigned and is defined as a
        // required attribute or a read-only attribute, [...] "mutability"."
        json!({"op": "remove", "path": "userName"}),
        json!({"op": "remove", "path": "groups"}),
        json!({"op": "replace", "path": "userName", "value": null}),
    ] {
        let err = user_error(json!([op]));
        assert_error(&err, ScimType::Mutability);
    }
    // Group member "value" is immutable (RFC 7643 §8.7.1).
    let mut group = resource(rfc7643_8_4_group());
    let err = patch_group(
        &mut group,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "replace", "path": format!("members[value eq \"{BABS}\"].value"), "value": "other"}
        ]}),
    )
    .unwrap_err();
    assert_error(&err, ScimType::Mutability);
    assert_eq!(group.into_value(), rfc7643_8_4_group());
}

#[test]
fn writing_a_read_only_attribute_its_own_value_is_not_a_modification() {
    let mut user = resource(rfc7643_8_2_user());
    let out = patch_user(
        &mut user,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "replace", "value": {"id": BABS, "displayName": "Babs Jensen"}}
        ]}),
    )
    .unwrap();
    assert!(!out.changed);
}

#[test]
fn invalid_syntax_for_malformed_messages() {
    let mut user = resource(rfc7643_8_2_user());
    let schema = builtin::user_resource_schema();
    let no_schema = PatchRequest {
        schemas: vec!["urn:example".into()],
        operations: request(
            json!({"schemas": [], "Operations": [{"op": "remove", "path": "nickName"}]}),
        )
        .operations,
    };
    let err = apply_patch(&mut user, &schema, &no_schema, &PatchOptions::strict()).unwrap_err();
    assert_error(&err, ScimType::InvalidSyntax);
    let empty = PatchRequest::new(vec![]);
    let err = apply_patch(&mut user, &schema, &empty, &PatchOptions::strict()).unwrap_err();
    assert_error(&err, ScimType::InvalidSyntax);
    let err = PatchRequest::from_json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "copy", "from": "a", "path": "b"}]
    }))
    .unwrap_err();
    assert_error(&err, ScimType::InvalidSyntax);
    assert_eq!(user.into_value(), rfc7643_8_2_user());
}

#[test]
fn a_failing_operation_restores_the_resource_and_names_itself() {
    // §3.5.2: "If a single operation encounters an error condition, the original SCIM resource
    // MUST be restored, and a failure status SHALL be returned."
    let err = user_error(json!([
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "remove", "path": "emails"},
        {"op": "replace", "path": "id", "value": "x"}
    ]));
    assert_error(&err, ScimType::Mutability);
    assert!(err.detail().starts_with("Operations[2]"), "{err}");
}

#[test]
fn errors_render_as_rfc_7644_3_12_json() {
    let err = user_error(json!([{"op": "remove", "path": "userName"}]));
    let body = err.to_json();
    assert_eq!(body["status"], "400");
    assert_eq!(body["scimType"], "mutability");
}

#[test]
fn failure_after_appends_and_removals_restores_the_exact_original() {
    // The restored resource is the original byte for byte, member order included.
    let mut group = resource(rfc7643_8_4_group());
    let before = serde_json::to_string(&group).unwrap();
    let err = patch_group(
        &mut group,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "add", "path": "members", "value": [member(JAMES, "James Smith")]},
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": "another"}]},
            {"op": "remove", "path": format!("members[value eq \"{MANDY}\"]")},
            {"op": "replace", "path": "id", "value": "x"}
        ]}),
    )
    .unwrap_err();
    assert_error(&err, ScimType::Mutability);
    assert_eq!(serde_json::to_string(&group).unwrap(), before);

    // A request whose operations cancel out reports no change and keeps the original too.
    // (displayName is required, RFC 7643 §4.2, so it cannot be removed even for a moment.)
    let out = patch_group(
        &mut group,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "add", "path": "externalId", "value": "temporary"},
            {"op": "remove", "path": "externalId"}
        ]}),
    )
    .unwrap();
    assert!(!out.changed);
    assert_eq!(serde_json::to_string(&group).unwrap(), before);
}

#[test]
fn immutable_attribute_may_be_added_only_when_unset() {
    // RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly" or
    // "immutable". However, a client MAY "add" a value to an "immutable" attribute if the
    // attribute had no previous value."
    let mut schema = builtin::user_resource_schema();
    let nick = std::sync::Arc::make_mut(&mut schema.core)
        .attributes
        .iter_mut()
        .find(|a| a.name == "nickName")
        .unwrap();
    nick.mutability = scim_core::schema::Mutability::Immutable;
    let run = |user: &mut Resource, op: Value| {
        let req = request(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]}),
        );
        apply_patch(user, &schema, &req, &PatchOptions::strict())
    };
    let mut user = resource(rfc7643_8_1_user());
    assert!(
        run(
            &mut user,
            json!({"op": "add", "path": "nickName", "value": "Babs"})
        )
        .unwrap()
        .changed
    );
    // The same value again is no modification.
    assert!(
        !run(
            &mut user,
            json!({"op": "add", "path": "nickName", "value": "Babs"})
        )
        .unwrap()
        .changed
    );
    for op in [
        json!({"op": "add", "path": "nickName", "value": "Barbie"}),
        json!({"op": "replace", "path": "nickName", "value": "Barbie"}),
        json!({"op": "replace", "value": {"nickName": "Barbie"}}),
        json!({"op": "remove", "path": "nickName"}),
    ] {
        let err = run(&mut user, op).unwrap_err();
        assert_error(&err, ScimType::Mutability);
    }
    assert_eq!(user.get("nickName"), Some(&json!("Babs")));
}

#[test]
fn rfc_7643_2_4_sub_attributes_missing_from_the_schema_are_usable() {
    // RFC 7643 §8.7.1 gives Group.members no "display" and User.addresses no "primary", yet the
    // RFC's own examples use both (§2.4 defines them for every multi-valued attribute).
    let mut group = resource(rfc7643_8_4_group());
    patch_group(
        &mut group,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "remove", "path": "members[display eq \"babs jensen\"]"}
        ]}),
    )
    .unwrap();
    assert_eq!(
        group.into_value(),
        group_with_members(json!([member(MANDY, "Mandy Pepperidge")]))
    );
}
