//! Every JSON example of RFC 7643 §8 round-trips through the typed model and the generic
//! [`Resource`] to an equal `serde_json::Value`.
//!
//! The fixtures in `tests/fixtures/rfc7643/` are the RFC's JSON as printed, with the verified
//! errata applied: 5990 (§8.2) and 5991 (§8.3) write `"country": "US"` (ISO 3166-1 alpha-2,
//! as §4.1.2 requires) instead of `"USA"`. The §8.7 schema documents are the crate's embedded
//! copies (`src/schema/json/`), whose departures from the printed text (verified errata 5606,
//! 7522, 8415 and 8417) are listed in `scim_core::schema::builtin`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::Resource;
use scim_core::builtin;
use scim_core::resource::{Group, User};
use scim_core::schema::{
    AttributeType, Mutability, ResourceType, Returned, Schema, SchemaRegistry,
    ServiceProviderConfig, Uniqueness,
};
use serde_json::{Value, json};

mod common;

const SERVICE_PROVIDER_CONFIG: &str =
    include_str!("fixtures/rfc7643/8.5-service-provider-config.json");
const RESOURCE_TYPES: &str = include_str!("fixtures/rfc7643/8.6-resource-types.json");
const RESOURCE_SCHEMAS: &str = include_str!("../src/schema/json/rfc7643_8_7_1.json");
const SERVICE_PROVIDER_SCHEMAS: &str = include_str!("../src/schema/json/rfc7643_8_7_2.json");

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is valid JSON")
}

/// `value` survives deserialising into `T` and serialising back.
fn round_trips<T>(value: &Value) -> T
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let typed: T = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(&serde_json::to_value(&typed).unwrap(), value);
    typed
}

/// `value` survives the generic resource unchanged.
fn resource_round_trips(value: &Value) -> Resource {
    let resource = Resource::from_value(value.clone()).unwrap();
    assert_eq!(&resource.clone().into_value(), value);
    let reparsed: Resource = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(&serde_json::to_value(&reparsed).unwrap(), value);
    resource
}

#[test]
fn section_8_1_minimal_user() {
    let json = common::rfc7643_8_1_user();
    let user: User = round_trips(&json);
    assert_eq!(
        user.id.as_deref(),
        Some("2819c223-7f76-453a-919d-413861904646")
    );
    assert_eq!(user.user_name.as_deref(), Some("bjensen@example.com"));
    let meta = user.meta.as_ref().unwrap();
    assert_eq!(meta.version.as_deref(), Some("W/\"3694e05e9dff590\""));
    assert_eq!(
        meta.created.unwrap().to_rfc3339(),
        "2010-01-23T04:56:22+00:00"
    );
    assert!(user.extra.is_empty());

    let resource = resource_round_trips(&json);
    let back = User::try_from(resource).unwrap();
    assert_eq!(back, user);
    assert_eq!(Resource::from(back).into_value(), json);
}

#[test]
fn section_8_2_full_user() {
    let json = common::rfc7643_8_2_user();
    let user: User = round_trips(&json);
    // Every member is a typed field: nothing fell through to `extra`.
    assert!(user.extra.is_empty(), "{:?}", user.extra.keys());
    let name = user.name.as_ref().unwrap();
    assert_eq!(name.given_name.as_deref(), Some("Barbara"));
    assert_eq!(name.honorific_suffix.as_deref(), Some("III"));
    assert!(name.extra.is_empty());
    assert_eq!(user.primary_email(), Some("bjensen@example.com"));
    assert_eq!(user.emails.len(), 2);
    assert_eq!(user.addresses[0].primary, Some(true));
    assert_eq!(user.addresses[0].country.as_deref(), Some("US"));
    assert_eq!(
        user.addresses[1].formatted.as_deref(),
        Some("456 Hollywood Blvd\nHollywood, CA 91608 USA")
    );
    assert_eq!(user.phone_numbers[1].value_type.as_deref(), Some("mobile"));
    assert_eq!(user.ims[0].value.as_deref(), Some("someaimhandle"));
    assert_eq!(user.photos[1].value_type.as_deref(), Some("thumbnail"));
    assert_eq!(user.active, Some(true));
    assert_eq!(user.password.as_deref(), Some("t1meMa$heen"));
    assert_eq!(user.groups.len(), 3);
    assert_eq!(user.groups[2].display.as_deref(), Some("US Employees"));
    assert_eq!(
        user.groups[0].reference.as_deref(),
        Some("https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a")
    );
    assert!(
        user.x509_certificates[0]
            .value
            .as_deref()
            .unwrap()
            .starts_with("MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw")
    );
    assert!(user.enterprise.is_none());

    let resource = resource_round_trips(&json);
    let back = User::try_from(resource).unwrap();
    assert_eq!(Resource::from(back).into_value(), json);
}

#[test]
fn section_8_3_enterprise_user() {
    let json = common::rfc7643_8_3_user();
    let user: User = round_trips(&json);
    assert!(user.extra.is_empty(), "{:?}", user.extra.keys());
    let enterprise = user.enterprise.as_ref().unwrap();
    assert_eq!(enterprise.employee_number.as_deref(), Some("701984"));
    assert_eq!(enterprise.cost_center.as_deref(), Some("4130"));
    assert_eq!(
        enterprise.organization.as_deref(),
        Some("Universal Studios")
    );
    assert_eq!(enterprise.division.as_deref(), Some("Theme Park"));
    assert_eq!(enterprise.department.as_deref(), Some("Tour Operations"));
    let manager = enterprise.manager.as_ref().unwrap();
    assert_eq!(
        manager.value.as_deref(),
        Some("26118915-6090-4610-87e4-49d8ca9f808d")
    );
    assert_eq!(
        manager.reference.as_deref(),
        Some("../Users/26118915-6090-4610-87e4-49d8ca9f808d")
    );
    assert_eq!(manager.display_name.as_deref(), Some("John Smith"));
    assert!(enterprise.extra.is_empty());

    // The generic resource reaches the extension through its full URN, `2.0` included.
    let resource = resource_round_trips(&json);
    let schema = builtin::user_resource_schema();
    let path = scim_core::AttrPath::with_sub("manager", "displayName")
        .with_uri("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    assert_eq!(resource.values(&schema, &path), vec![&json!("John Smith")]);
    let back = User::try_from(resource).unwrap();
    assert_eq!(back, user);
    assert_eq!(back.to_value(), json);
}

#[test]
fn section_8_4_group() {
    let json = common::rfc7643_8_4_group();
    let group: Group = round_trips(&json);
    assert!(group.extra.is_empty());
    assert_eq!(group.display_name.as_deref(), Some("Tour Guides"));
    assert_eq!(group.members.len(), 2);
    assert_eq!(
        group.members[1].display.as_deref(),
        Some("Mandy Pepperidge")
    );
    assert_eq!(
        group.members[0].reference.as_deref(),
        Some("https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646")
    );
    assert_eq!(
        group.meta.as_ref().unwrap().resource_type.as_deref(),
        Some("Group")
    );

    let resource = resource_round_trips(&json);
    let back = Group::try_from(resource).unwrap();
    assert_eq!(back, group);
    assert_eq!(back.to_value(), json);
}

#[test]
fn section_8_5_service_provider_configuration() {
    let json = parse(SERVICE_PROVIDER_CONFIG);
    let spc: ServiceProviderConfig = round_trips(&json);
    assert!(spc.extra.is_empty());
    assert!(spc.patch.supported && spc.change_password.supported);
    assert!(spc.sort.supported && spc.etag.supported);
    assert!(spc.bulk.supported);
    assert_eq!(spc.bulk.max_operations, 1000);
    assert_eq!(spc.bulk.max_payload_size, 1_048_576);
    assert!(spc.filter.supported);
    assert_eq!(spc.filter.max_results, 200);
    assert_eq!(spc.authentication_schemes.len(), 2);
    let oauth = &spc.authentication_schemes[0];
    assert_eq!(oauth.scheme_type.as_deref(), Some("oauthbearertoken"));
    assert_eq!(oauth.primary, Some(true));
    assert!(oauth.extra.is_empty());
    assert_eq!(
        spc.authentication_schemes[1].spec_uri.as_deref(),
        Some("http://www.rfc-editor.org/info/rfc2617")
    );
    assert!(spc.pagination.is_none());
    resource_round_trips(&json);
}

#[test]
fn section_8_6_resource_types() {
    let json = parse(RESOURCE_TYPES);
    let types: Vec<ResourceType> = round_trips(&json);
    assert_eq!(types.len(), 2);
    assert_eq!(types[0].endpoint, "/Users");
    assert_eq!(
        types[0].schema_extensions[0].schema,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    // The RFC's example marks the extension required; the built-in User resource type
    // does not (most users carry no enterprise data), and otherwise matches it.
    assert!(types[0].schema_extensions[0].required);
    let mut ours = serde_json::to_value(builtin::user_resource_type()).unwrap();
    ours["schemaExtensions"][0]["required"] = json!(true);
    assert_eq!(ours, json[0]);
    assert_eq!(
        serde_json::to_value(builtin::group_resource_type()).unwrap(),
        json[1]
    );
    for item in json.as_array().unwrap() {
        resource_round_trips(item);
    }
}

#[test]
fn section_8_7_1_resource_schemas() {
    let json = parse(RESOURCE_SCHEMAS);
    let schemas: Vec<Schema> = round_trips(&json);
    assert_eq!(
        schemas.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ]
    );
    let builtins = vec![
        builtin::user_schema(),
        builtin::group_schema(),
        builtin::enterprise_user_schema(),
    ];
    // The built-ins are the listing with one correction: Group displayName is required, as
    // RFC 7643 §4.2 says ("displayName  A human-readable name for the Group. REQUIRED.") and
    // verified erratum 5368 corrects §8.7.1 to say.
    let mut corrected = schemas.clone();
    let display_name = corrected[1]
        .attributes
        .iter_mut()
        .find(|a| a.name == "displayName")
        .unwrap();
    assert!(!display_name.required, "§8.7.1 prints \"required\" : false");
    display_name.required = true;
    // And members.value, the member's id (§4.2), without which a member refers to nothing.
    corrected[1]
        .attributes
        .iter_mut()
        .find(|a| a.name == "members")
        .unwrap()
        .sub_attributes
        .iter_mut()
        .find(|a| a.name == "value")
        .unwrap()
        .required = true;
    assert_eq!(builtins, corrected);
    let mut corrected_json = json.clone();
    corrected_json[1]["attributes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .for_each(|a| {
            if a["name"] == "displayName" {
                a["required"] = serde_json::Value::Bool(true);
            }
            if a["name"] == "members" {
                for sub in a["subAttributes"].as_array_mut().unwrap() {
                    if sub["name"] == "value" {
                        sub["required"] = serde_json::Value::Bool(true);
                    }
                }
            }
        });
    assert_eq!(serde_json::to_value(&builtins).unwrap(), corrected_json);
    for item in json.as_array().unwrap() {
        resource_round_trips(item);
    }
}

#[test]
fn section_8_7_2_service_provider_schemas() {
    let json = parse(SERVICE_PROVIDER_SCHEMAS);
    let schemas: Vec<Schema> = round_trips(&json);
    let builtins = vec![
        builtin::service_provider_config_schema(),
        builtin::resource_type_schema(),
        builtin::schema_schema(),
    ];
    assert_eq!(builtins, schemas);
    assert_eq!(serde_json::to_value(&builtins).unwrap(), json);
    // Erratum 7522: schemaExtensions is multi-valued.
    let extensions = builtins[1].attribute("schemaExtensions").unwrap();
    assert!(extensions.multi_valued);
    // Errata 5606 and 8415: `binary` is a valid type; sub-attributes cannot be complex.
    let attributes = builtins[2].attribute("attributes").unwrap();
    let types = &attributes.sub_attribute("type").unwrap().canonical_values;
    assert!(types.iter().any(|t| t == "binary") && types.iter().any(|t| t == "complex"));
    let nested = attributes.sub_attribute("subAttributes").unwrap();
    let types = &nested.sub_attribute("type").unwrap().canonical_values;
    assert!(types.iter().any(|t| t == "binary") && !types.iter().any(|t| t == "complex"));
    for item in json.as_array().unwrap() {
        resource_round_trips(item);
    }
}

/// Spot checks of characteristics against the attribute definitions of RFC 7643 §4 and §5, so
/// that a transcription slip in the embedded JSON is caught by prose it must agree with.
#[test]
fn builtin_characteristics_agree_with_the_prose() {
    let user = builtin::user_schema();
    let a = |name: &str| user.attribute(name).unwrap();
    // §4.1.1: userName "REQUIRED", uniqueness server, case-insensitive.
    assert!(a("userName").required);
    assert_eq!(a("userName").uniqueness, Uniqueness::Server);
    assert!(!a("userName").case_exact);
    // §4.1.1: password "writeOnly" and "never" returned.
    assert_eq!(a("password").mutability, Mutability::WriteOnly);
    assert_eq!(a("password").returned, Returned::Never);
    // §4.1.2: groups is readOnly; x509Certificates values are binary.
    assert_eq!(a("groups").mutability, Mutability::ReadOnly);
    let cert = a("x509Certificates").sub_attribute("value").unwrap();
    assert_eq!(cert.attr_type, AttributeType::Binary);
    // §4.1.2: photo values are references to external resources.
    let photo = a("photos").sub_attribute("value").unwrap();
    assert_eq!(photo.attr_type, AttributeType::Reference);
    assert_eq!(photo.reference_types, ["external"]);
    assert_eq!(
        user.attributes
            .iter()
            .map(|x| x.name.as_str())
            .collect::<Vec<_>>(),
        [
            "userName",
            "name",
            "displayName",
            "nickName",
            "profileUrl",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
            "active",
            "password",
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "groups",
            "entitlements",
            "roles",
            "x509Certificates",
        ]
    );

    // §4.2: "displayName  A human-readable name for the Group. REQUIRED." (§8.7.1 prints
    // "required" : false; erratum 5368 corrects it.) members value/$ref/type are immutable.
    let group = builtin::group_schema();
    assert!(group.attribute("displayName").unwrap().required);
    let members = group.attribute("members").unwrap();
    for sub in ["value", "$ref", "type"] {
        assert_eq!(
            members.sub_attribute(sub).unwrap().mutability,
            Mutability::Immutable
        );
    }

    // §4.3: manager.displayName is readOnly; manager.$ref references Users.
    let ent = builtin::enterprise_user_schema();
    let manager = ent.attribute("manager").unwrap();
    assert_eq!(
        manager.sub_attribute("displayName").unwrap().mutability,
        Mutability::ReadOnly
    );
    assert_eq!(
        manager.sub_attribute("$ref").unwrap().reference_types,
        ["User"]
    );

    // §5: every service provider configuration attribute is readOnly.
    let spc = builtin::service_provider_config_schema();
    assert!(
        spc.attributes
            .iter()
            .all(|x| x.mutability == Mutability::ReadOnly)
    );
}

/// The §8.7 schema documents load through the registry like any custom schema would (apart
/// from the Schema schema, whose two-level nesting §2.3.8 forbids for resource schemas).
#[test]
fn rfc_schemas_load_into_a_registry() {
    let mut registry = SchemaRegistry::new();
    let mut all: Vec<Schema> = serde_json::from_str(RESOURCE_SCHEMAS).unwrap();
    all.extend(serde_json::from_str::<Vec<Schema>>(SERVICE_PROVIDER_SCHEMAS).unwrap());
    for schema in all {
        let id = schema.id.clone();
        let result = registry.add_schema(schema);
        if id == "urn:ietf:params:scim:schemas:core:2.0:Schema" {
            let e = result.unwrap_err();
            assert!(e.detail().contains("cannot be complex"), "{}", e.detail());
        } else {
            result.unwrap();
        }
    }
    let types: Vec<ResourceType> = serde_json::from_str(RESOURCE_TYPES).unwrap();
    for t in types {
        registry.add_resource_type(t).unwrap();
    }
    let users = registry.by_endpoint("/Users").unwrap();
    assert_eq!(users.extensions.len(), 1);
    assert!(users.extensions[0].1);
    assert_eq!(registry.resource_types().count(), 2);
}
