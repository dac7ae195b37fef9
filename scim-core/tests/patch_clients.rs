//! The PATCH forms Microsoft Entra ID and Okta send (Microsoft's "Develop and plan
//! provisioning for a SCIM endpoint" and "Known issues and resolutions with SCIM 2.0 protocol
//! compliance" pages, Okta's SCIM guide), accepted with the default [`PatchOptions`], and each compatibility switch turned off on its own to show the strict
//! RFC 7644 §3.5.2 behaviour or error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::patch::{PatchOptions, PatchOutcome, PatchRequest, apply_patch};
use scim_core::{AttrPath, Resource, ScimError, ScimType, builtin};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const MANAGER_ID: &str = "26118915-6090-4610-87e4-49d8ca9f808d";

/// A user as Entra creates it: no work email yet, no enterprise data.
fn entra_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "48af03ac28ad4fb88478",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
        "active": true,
        "displayName": "Test User",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"type": "home", "value": "test.user@example.org", "primary": true}],
        "meta": {"resourceType": "User"}
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "40734ae655284ad3abcc",
        "displayName": "Group1DisplayName",
        "members": [
            {"value": "f648f8d5ea4e4cd38e9c", "display": "A"},
            {"value": "89bb1940-b905-4575-9e7f-6f887cfb368e", "display": "B"},
            {"value": "0fd1cfa5-bbd6-4f02-9c4e-20b9c6bfa56d", "display": "C"}
        ],
        "meta": {"resourceType": "Group"}
    })
}

fn body(ops: Value) -> PatchRequest {
    serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops
    }))
    .unwrap()
}

fn on_user(
    user: &Value,
    ops: Value,
    options: PatchOptions,
) -> Result<(Value, PatchOutcome), ScimError> {
    let mut r = Resource::from_value(user.clone()).unwrap();
    let out = apply_patch(
        &mut r,
        &builtin::user_resource_schema(),
        &body(ops),
        &options,
    );
    match out {
        Ok(o) => Ok((r.into_value(), o)),
        Err(e) => {
            assert_eq!(
                r.into_value(),
                *user,
                "a failed PATCH must leave the resource untouched"
            );
            Err(e)
        }
    }
}

fn on_group(ops: Value, options: PatchOptions) -> Result<Value, ScimError> {
    let mut r = Resource::from_value(group()).unwrap();
    let out = apply_patch(
        &mut r,
        &builtin::group_resource_schema(),
        &body(ops),
        &options,
    );
    match out {
        Ok(_) => Ok(r.into_value()),
        Err(e) => {
            assert_eq!(r.into_value(), group());
            Err(e)
        }
    }
}

fn lenient() -> PatchOptions {
    PatchOptions::default()
}

fn assert_error(err: &ScimError, scim_type: ScimType) {
    assert_eq!(err.scim_type(), Some(scim_type), "{err}");
    assert_eq!(err.status(), 400);
}

fn members(v: &Value) -> Vec<&str> {
    v["members"]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

// ----- switch 1: op in any case ------------------------------------------------------------

#[test]
fn entra_capitalised_ops() {
    let ops = json!([
        {"op": "Replace", "path": "displayName", "value": "Renamed"},
        {"op": "Add", "path": "nickName", "value": "Tess"},
        {"op": "Remove", "path": "name.familyName"}
    ]);
    let (user, out) = on_user(&entra_user(), ops.clone(), lenient()).unwrap();
    assert_eq!(user["displayName"], "Renamed");
    assert_eq!(user["nickName"], "Tess");
    assert_eq!(user["name"], json!({"givenName": "Test"}));
    assert_eq!(
        out.changed_attributes,
        vec![
            AttrPath::new("displayName"),
            AttrPath::new("nickName"),
            AttrPath::new("name")
        ]
    );

    let strict = PatchOptions {
        op_any_case: false,
        ..lenient()
    };
    let err = on_user(&entra_user(), ops, strict).unwrap_err();
    assert_error(&err, ScimType::InvalidSyntax);
}

// ----- switch 2: booleans as strings ---------------------------------------------------------

#[test]
fn entra_boolean_strings() {
    let ops = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    let (user, _) = on_user(&entra_user(), ops.clone(), lenient()).unwrap();
    assert_eq!(user["active"], json!(false));
    let (user, _) = on_user(
        &user,
        json!([{"op": "Replace", "path": "active", "value": "TRUE"}]),
        lenient(),
    )
    .unwrap();
    assert_eq!(user["active"], json!(true));

    // Inside a path-less value object and inside a complex value.
    let (user, _) = on_user(
        &entra_user(),
        json!([
            {"op": "Replace", "value": {"active": "false"}},
            {"op": "Add", "path": "roles", "value": [{"value": "admin", "primary": "True"}]}
        ]),
        lenient(),
    )
    .unwrap();
    assert_eq!(user["active"], json!(false));
    assert_eq!(user["roles"], json!([{"value": "admin", "primary": true}]));

    let strict = PatchOptions {
        boolean_strings: false,
        ..lenient()
    };
    let err = on_user(&entra_user(), ops, strict).unwrap_err();
    assert_error(&err, ScimType::InvalidValue);
    let err = on_user(
        &entra_user(),
        json!([{"op": "add", "path": "roles", "value": [{"value": "admin", "primary": "True"}]}]),
        strict,
    )
    .unwrap_err();
    assert_error(&err, ScimType::InvalidValue);
}

// ----- switch 3: remove members by value -----------------------------------------------------

#[test]
fn entra_remove_members_with_value_array() {
    let ops = json!([{
        "op": "Remove",
        "path": "members",
        "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]
    }]);
    let g = on_group(ops.clone(), lenient()).unwrap();
    assert_eq!(
        members(&g),
        [
            "89bb1940-b905-4575-9e7f-6f887cfb368e",
            "0fd1cfa5-bbd6-4f02-9c4e-20b9c6bfa56d"
        ]
    );
    // Removing someone who is not a member changes nothing and succeeds.
    let g2 = on_group(
        json!([{"op": "Remove", "path": "members", "value": [{"value": "not-a-member"}]}]),
        lenient(),
    )
    .unwrap();
    assert_eq!(g2, group());

    // Strict RFC 7644 §3.5.2.2: "If the target location is a multi-valued attribute and no
    // filter is specified, the attribute and all values are removed".
    let strict = PatchOptions {
        remove_by_value: false,
        ..lenient()
    };
    let g = on_group(ops, strict).unwrap();
    assert!(g.get("members").is_none());
}

#[test]
fn remove_member_with_value_filter_in_both_modes() {
    let ops = json!([{"op": "remove", "path": "members[value eq \"f648f8d5ea4e4cd38e9c\"]"}]);
    for options in [lenient(), PatchOptions::strict()] {
        let g = on_group(ops.clone(), options).unwrap();
        assert_eq!(members(&g).len(), 2);
        assert!(!members(&g).contains(&"f648f8d5ea4e4cd38e9c"));
    }
}

#[test]
fn entra_add_members_with_null_ref() {
    let g = on_group(
        json!([{"op": "Add", "path": "members", "value": [
            {"$ref": null, "value": "f648f8d5ea4e4cd38e9c"},
            {"$ref": null, "value": "new-member"}
        ]}]),
        lenient(),
    )
    .unwrap();
    assert_eq!(
        members(&g).len(),
        4,
        "the existing member is not added twice"
    );
    assert_eq!(g["members"][3], json!({"value": "new-member"}));
}

// ----- switch 4: value path creates the value ------------------------------------------------

#[test]
fn entra_work_email_value_path_creates_the_email() {
    let ops = json!([{
        "op": "Replace",
        "path": "emails[type eq \"work\"].value",
        "value": "test.user@contoso.com"
    }]);
    let (user, _) = on_user(&entra_user(), ops.clone(), lenient()).unwrap();
    assert_eq!(
        user["emails"],
        json!([
            {"type": "home", "value": "test.user@example.org", "primary": true},
            {"type": "work", "value": "test.user@contoso.com"}
        ])
    );
    // Applied again it updates the email it created.
    let (again, out) = on_user(&user, ops.clone(), lenient()).unwrap();
    assert_eq!(again, user);
    assert!(!out.changed);
    // With "Add" and a primary in the filter.
    let (user, _) = on_user(
        &entra_user(),
        json!([{"op": "Add", "path": "emails[type eq \"work\" and primary eq true].value", "value": "w@contoso.com"}]),
        lenient(),
    )
    .unwrap();
    assert_eq!(
        user["emails"],
        json!([
            {"type": "home", "value": "test.user@example.org", "primary": false},
            {"type": "work", "primary": true, "value": "w@contoso.com"}
        ])
    );

    let strict = PatchOptions {
        filter_add_creates: false,
        ..lenient()
    };
    let err = on_user(&entra_user(), ops, strict).unwrap_err();
    assert_error(&err, ScimType::NoTarget);
    // A filter that is not a conjunction of eq comparisons never creates.
    let err = on_user(
        &entra_user(),
        json!([{"op": "Replace", "path": "emails[type co \"work\"].value", "value": "x@y"}]),
        lenient(),
    )
    .unwrap_err();
    assert_error(&err, ScimType::NoTarget);
}

// ----- switch 5 and 6: manager shorthand, one-element arrays ---------------------------------

#[test]
fn entra_manager_as_string_and_as_array() {
    let path = format!("{ENTERPRISE}:manager");
    let expected_schemas = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    for value in [
        json!(MANAGER_ID),
        json!([{"$ref": null, "value": MANAGER_ID}]),
        json!({"value": MANAGER_ID}),
    ] {
        let (user, out) = on_user(
            &entra_user(),
            json!([{"op": "Add", "path": path, "value": value}]),
            lenient(),
        )
        .unwrap();
        assert_eq!(
            user[ENTERPRISE],
            json!({"manager": {"value": MANAGER_ID}}),
            "{value}"
        );
        assert_eq!(user["schemas"], expected_schemas);
        assert_eq!(
            out.changed_attributes,
            vec![
                AttrPath::new("manager").with_uri(ENTERPRISE),
                AttrPath::new("schemas")
            ]
        );
    }

    // Switch 5 off: the plain string is not a complex value.
    let no_shorthand = PatchOptions {
        manager_shorthand: false,
        ..lenient()
    };
    let err = on_user(
        &entra_user(),
        json!([{"op": "Add", "path": path, "value": MANAGER_ID}]),
        no_shorthand,
    )
    .unwrap_err();
    assert_error(&err, ScimType::InvalidValue);
    // ... while the one-element array is still unwrapped by switch 6;
    let array = json!([{"op": "Add", "path": path, "value": [{"value": MANAGER_ID}]}]);
    assert!(on_user(&entra_user(), array.clone(), no_shorthand).is_ok());
    // with both off it is rejected.
    let neither = PatchOptions {
        manager_shorthand: false,
        unwrap_single_arrays: false,
        ..lenient()
    };
    let err = on_user(&entra_user(), array, neither).unwrap_err();
    assert_error(&err, ScimType::InvalidValue);
}

#[test]
fn single_element_array_for_single_valued_attribute() {
    let ops = json!([{"op": "replace", "path": "displayName", "value": ["Renamed"]}]);
    let (user, _) = on_user(&entra_user(), ops.clone(), lenient()).unwrap();
    assert_eq!(user["displayName"], "Renamed");
    let (user, _) = on_user(
        &entra_user(),
        json!([{"op": "replace", "value": {"name.givenName": ["Tess"]}}]),
        lenient(),
    )
    .unwrap();
    assert_eq!(user["name"]["givenName"], "Tess");

    let strict = PatchOptions {
        unwrap_single_arrays: false,
        ..lenient()
    };
    let err = on_user(&entra_user(), ops, strict).unwrap_err();
    assert_error(&err, ScimType::InvalidValue);
}

// ----- path-less replace with dotted and URN keys (Entra, aadOptscim062020) -------------------

#[test]
fn entra_pathless_replace_with_dotted_and_urn_keys() {
    let ops = json!([{
        "op": "replace",
        "value": {
            "displayName": "Pat Doe",
            "name.givenName": "Pat",
            "name.familyName": "Doe",
            "emails[type eq \"work\"].value": "pat.doe@contoso.com",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "1234",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": MANAGER_ID},
            "active": false
        }
    }]);
    let (user, out) = on_user(&entra_user(), ops.clone(), lenient()).unwrap();
    let mut expected = entra_user();
    expected["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    expected["displayName"] = json!("Pat Doe");
    expected["name"] = json!({"givenName": "Pat", "familyName": "Doe"});
    expected["emails"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "work", "value": "pat.doe@contoso.com"}));
    expected["active"] = json!(false);
    expected[ENTERPRISE] = json!({"employeeNumber": "1234", "manager": {"value": MANAGER_ID}});
    assert_eq!(user, expected);
    assert!(
        out.changed_attributes
            .contains(&AttrPath::new("employeeNumber").with_uri(ENTERPRISE))
    );

    // The whole extension as one key, in the RFC's nested form, works too.
    let (nested, _) = on_user(
        &entra_user(),
        json!([{"op": "replace", "value": {ENTERPRISE: {"employeeNumber": "1234", "manager": {"value": MANAGER_ID}}}}]),
        lenient(),
    )
    .unwrap();
    assert_eq!(nested[ENTERPRISE], expected[ENTERPRISE]);

    // Strict mode still reads dotted and URN keys (they are unambiguous); only the creation of
    // the work email needs switch 4.
    let strict = PatchOptions::strict();
    let err = on_user(&entra_user(), ops, strict).unwrap_err();
    assert_error(&err, ScimType::NoTarget);
}

// ----- several operations, all or nothing --------------------------------------------------------

#[test]
fn entra_several_operations_all_or_nothing() {
    let good = json!([
        {"op": "Replace", "path": "displayName", "value": "New Name"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"},
        {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": MANAGER_ID}
    ]);
    let (user, out) = on_user(&entra_user(), good.clone(), lenient()).unwrap();
    assert!(out.changed);
    assert_eq!(user["displayName"], "New Name");
    assert_eq!(user[ENTERPRISE]["manager"]["value"], MANAGER_ID);

    // Same request with a failing last operation: nothing is applied (on_user checks the
    // resource is untouched).
    let mut bad = good.clone();
    bad.as_array_mut()
        .unwrap()
        .push(json!({"op": "Replace", "path": "id", "value": "hijack"}));
    let err = on_user(&entra_user(), bad, lenient()).unwrap_err();
    assert_error(&err, ScimType::Mutability);
    assert!(err.detail().starts_with("Operations[3]"), "{err}");
}

// ----- Okta ----------------------------------------------------------------------------------------

#[test]
fn okta_deactivate_with_pathless_replace() {
    let ops = json!([{"op": "replace", "value": {"active": false}}]);
    for options in [lenient(), PatchOptions::strict()] {
        let (user, out) = on_user(&entra_user(), ops.clone(), options).unwrap();
        assert_eq!(user["active"], json!(false));
        assert_eq!(out.changed_attributes, vec![AttrPath::new("active")]);
        let (_, again) = on_user(&user, ops.clone(), options).unwrap();
        assert!(!again.changed, "a no-op PATCH must not bump the version");
    }
}

#[test]
fn okta_group_patch_mixing_remove_and_add() {
    let ops = json!([
        {"op": "remove", "path": "members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},
        {"op": "add", "path": "members", "value": [
            {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}
        ]}
    ]);
    for options in [lenient(), PatchOptions::strict()] {
        let g = on_group(ops.clone(), options).unwrap();
        assert_eq!(
            members(&g),
            [
                "f648f8d5ea4e4cd38e9c",
                "0fd1cfa5-bbd6-4f02-9c4e-20b9c6bfa56d",
                "23a35c27-23d3-4c03-b4c5-6443c09e7173"
            ]
        );
    }
}

#[test]
fn okta_group_rename_repeats_the_id() {
    let g = on_group(
        json!([{"op": "replace", "value": {"id": "40734ae655284ad3abcc", "displayName": "Renamed"}}]),
        PatchOptions::strict(),
    )
    .unwrap();
    assert_eq!(g["displayName"], "Renamed");
    let err = on_group(
        json!([{"op": "replace", "value": {"id": "other", "displayName": "Renamed"}}]),
        lenient(),
    )
    .unwrap_err();
    assert_error(&err, ScimType::Mutability);
}

#[test]
fn attribute_names_are_case_insensitive() {
    let (user, _) = on_user(
        &entra_user(),
        json!([
            {"op": "replace", "path": "DISPLAYNAME", "value": "X"},
            {"op": "replace", "path": "Name.GivenName", "value": "Y"},
            {"op": "replace", "path": "EMAILS[TYPE eq \"home\"].VALUE", "value": "z@example.org"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:DEPARTMENT", "value": "Tours"}
        ]),
        lenient(),
    )
    .unwrap();
    assert_eq!(user["displayName"], "X");
    assert_eq!(user["name"]["givenName"], "Y");
    assert_eq!(user["emails"][0]["value"], "z@example.org");
    assert_eq!(user[ENTERPRISE], json!({"department": "Tours"}));
}

#[test]
fn entra_batched_membership_changes() {
    // Entra batches membership changes; many values in one operation take the indexed path.
    let mut adds: Vec<Value> = (0..10)
        .map(|i| json!({"value": format!("batch-{i}")}))
        .collect();
    adds.push(json!({"value": "F648F8D5EA4E4CD38E9C"})); // already a member (ids are caseExact=false)
    adds.push(json!({"value": "batch-3"})); // repeated within the request
    let g = on_group(
        json!([{"op": "Add", "path": "members", "value": adds}]),
        lenient(),
    )
    .unwrap();
    assert_eq!(members(&g).len(), 13);
    assert_eq!(
        members(&g)[3..],
        (0..10).map(|i| format!("batch-{i}")).collect::<Vec<_>>()
    );

    let mut removes: Vec<Value> = (0..9)
        .map(|i| json!({"value": format!("nobody-{i}")}))
        .collect();
    removes.push(json!({"$ref": null, "value": "89BB1940-B905-4575-9E7F-6F887CFB368E"}));
    removes.push(json!("0fd1cfa5-bbd6-4f02-9c4e-20b9c6bfa56d"));
    let g = on_group(
        json!([{"op": "Remove", "path": "members", "value": removes}]),
        lenient(),
    )
    .unwrap();
    assert_eq!(members(&g), ["f648f8d5ea4e4cd38e9c"]);
}
