//! The built-in schemas and resource types of RFC 7643 §8.7 (User, Group, EnterpriseUser,
//! ServiceProviderConfig, ResourceType, Schema) and §8.6 (the User and Group resource types).
//!
//! The schema documents are the JSON of RFC 7643 §8.7.1 ("Resource Schema Representation")
//! and §8.7.2 ("Service Provider Schema Representation"), transcribed into
//! `schema/json/rfc7643_8_7_1.json` and `schema/json/rfc7643_8_7_2.json`, embedded with
//! `include_str!` and parsed once. Departures from the printed RFC text:
//!
//! - Description strings that the RFC wraps across lines are joined with one space (a JSON
//!   string cannot hold a raw line break); the RFC's own double spaces after a full stop are
//!   kept.
//! - Verified errata to the §8.7 JSON are applied:
//!   - 5606 (§8.7.2): the Schema schema's `attributes.type` lists `binary` in its
//!     description and `canonicalValues`.
//!   - 8415 (§8.7.2): the nested `attributes.subAttributes.type` lists `binary` and not
//!     `complex` (a sub-attribute cannot be complex, §2.3.8). The erratum's text as
//!     available here was cut off after the description; the `canonicalValues` are made to
//!     match it.
//!   - 7522 (§8.7.2): `schemaExtensions` of the ResourceType schema is
//!     `"multiValued" : true` (the RFC prints `false`, contradicting §6 and its own
//!     description "A list of URIs").
//!   - 8417 (§8.7.2): the ServiceProviderConfig, ResourceType and Schema schema documents
//!     carry `"schemas"` and `"meta"` like the §8.7.1 ones.
//! - Group `displayName` is `"required" : true`. RFC 7643 §4.2 says "displayName  A
//!   human-readable name for the Group. REQUIRED.", and so does the attribute's own
//!   description in §8.7.1, while the §8.7.1 listing prints `"required" : false` (verified
//!   erratum 5368 corrects it). The server enforces exactly what `/Schemas` publishes, so the
//!   schema says what §4.2 says. Likewise Group `members.value` is `"required" : true`: §4.2
//!   defines it as the `id` of the member, and a member without one refers to nothing. The
//!   embedded JSON keeps the printed text; the corrections are applied when it is parsed.
//!
//! Everything else, including the RFC's own gaps (no `display` sub-attribute of
//! `Group.members`, no `primary` sub-attribute of `User.addresses`, no `etag` attribute in the
//! ServiceProviderConfig schema, `"canonicalValues" : []` on `roles.type`), is kept as printed.
//!
//! ```
//! use scim_core::builtin;
//!
//! let user = builtin::user_schema();
//! assert_eq!(user.id, "urn:ietf:params:scim:schemas:core:2.0:User");
//! assert!(user.attribute("USERNAME").is_some_and(|a| a.required));
//! let rs = builtin::user_resource_schema();
//! assert!(rs.extension("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").is_some());
//! ```

use std::sync::OnceLock;

use super::definition::{ResourceSchema, ResourceType, Schema, SchemaExtension};
use super::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA,
    SERVICE_PROVIDER_CONFIG_SCHEMA, USER_SCHEMA,
};

/// RFC 7643 §8.7.1: the User, Group and EnterpriseUser schema documents, as printed.
pub const RFC7643_8_7_1_JSON: &str = include_str!("json/rfc7643_8_7_1.json");
/// RFC 7643 §8.7.2: the ServiceProviderConfig, ResourceType and Schema schema documents, as
/// printed with verified errata 5606, 7522, 8415 and 8417 applied.
pub const RFC7643_8_7_2_JSON: &str = include_str!("json/rfc7643_8_7_2.json");

/// Parses one of the embedded arrays. The embedded JSON is a fixed part of the crate and its
/// parse is proven by the tests below (`embedded_json_parses`), so the empty fallback is never
/// taken; it exists only so that no code path can panic.
fn parse(json: &str) -> Vec<Schema> {
    serde_json::from_str(json).unwrap_or_default()
}

fn all() -> &'static [Schema] {
    static CACHE: OnceLock<Vec<Schema>> = OnceLock::new();
    CACHE.get_or_init(|| {
        let mut v = parse(RFC7643_8_7_1_JSON);
        apply_erratum_5368(&mut v);
        v.extend(parse(RFC7643_8_7_2_JSON));
        v
    })
}

/// RFC 7643 §4.2 (and erratum 5368 to §8.7.1): Group `displayName` is REQUIRED.
fn apply_erratum_5368(schemas: &mut [Schema]) {
    let display_name = schemas
        .iter_mut()
        .filter(|s| s.id == GROUP_SCHEMA)
        .flat_map(|s| s.attributes.iter_mut())
        .filter(|a| a.name == "displayName");
    for a in display_name {
        a.required = true;
    }
    // A member is a reference: RFC 7643 §4.2, members: "The "value" sub-attribute contains
    // the value of an "id" attribute of a SCIM resource". A member without one refers to
    // nothing and is refused, so the schema publishes `members.value` as required.
    let member_value = schemas
        .iter_mut()
        .filter(|s| s.id == GROUP_SCHEMA)
        .flat_map(|s| s.attributes.iter_mut())
        .filter(|a| a.name == "members")
        .flat_map(|a| a.sub_attributes.iter_mut())
        .filter(|a| a.name == "value");
    for a in member_value {
        a.required = true;
    }
}

fn by_id(urn: &str) -> Schema {
    all()
        .iter()
        .find(|s| s.id == urn)
        .cloned()
        .unwrap_or_else(|| Schema {
            schemas: vec![SCHEMA_SCHEMA.to_owned()],
            id: urn.to_owned(),
            name: None,
            description: None,
            attributes: Vec::new(),
            meta: None,
        })
}

/// The User schema (`urn:ietf:params:scim:schemas:core:2.0:User`), RFC 7643 §4.1 / §8.7.1.
pub fn user_schema() -> Schema {
    by_id(USER_SCHEMA)
}

/// The Group schema (`urn:ietf:params:scim:schemas:core:2.0:Group`), RFC 7643 §4.2 / §8.7.1.
pub fn group_schema() -> Schema {
    by_id(GROUP_SCHEMA)
}

/// The Enterprise User extension
/// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`), RFC 7643 §4.3 / §8.7.1.
pub fn enterprise_user_schema() -> Schema {
    by_id(ENTERPRISE_USER_SCHEMA)
}

/// The ServiceProviderConfig schema, RFC 7643 §5 / §8.7.2.
pub fn service_provider_config_schema() -> Schema {
    by_id(SERVICE_PROVIDER_CONFIG_SCHEMA)
}

/// The ResourceType schema, RFC 7643 §6 / §8.7.2.
pub fn resource_type_schema() -> Schema {
    by_id(RESOURCE_TYPE_SCHEMA)
}

/// The Schema schema, RFC 7643 §7 / §8.7.2.
pub fn schema_schema() -> Schema {
    by_id(SCHEMA_SCHEMA)
}

/// All six built-in schema documents, in RFC order: User, Group, EnterpriseUser,
/// ServiceProviderConfig, ResourceType, Schema.
pub fn all_schemas() -> Vec<Schema> {
    all().to_vec()
}

fn resource_type_meta(name: &str) -> serde_json::Value {
    serde_json::json!({
        "location": format!("https://example.com/v2/ResourceTypes/{name}"),
        "resourceType": "ResourceType"
    })
}

/// The User resource type of RFC 7643 §8.6: endpoint `/Users`, schema User, the enterprise
/// extension with `"required": false`.
///
/// `meta.location` is the RFC's example URL; a server rewrites it for its own base URL.
pub fn user_resource_type() -> ResourceType {
    ResourceType {
        schemas: vec![RESOURCE_TYPE_SCHEMA.to_owned()],
        id: Some("User".to_owned()),
        name: "User".to_owned(),
        endpoint: "/Users".to_owned(),
        description: Some("User Account".to_owned()),
        schema: USER_SCHEMA.to_owned(),
        schema_extensions: vec![SchemaExtension {
            schema: ENTERPRISE_USER_SCHEMA.to_owned(),
            required: false,
        }],
        meta: Some(resource_type_meta("User")),
    }
}

/// The Group resource type of RFC 7643 §8.6: endpoint `/Groups`, schema Group, no extensions.
///
/// `meta.location` is the RFC's example URL; a server rewrites it for its own base URL.
pub fn group_resource_type() -> ResourceType {
    ResourceType {
        schemas: vec![RESOURCE_TYPE_SCHEMA.to_owned()],
        id: Some("Group".to_owned()),
        name: "Group".to_owned(),
        endpoint: "/Groups".to_owned(),
        description: Some("Group".to_owned()),
        schema: GROUP_SCHEMA.to_owned(),
        schema_extensions: Vec::new(),
        meta: Some(resource_type_meta("Group")),
    }
}

/// The resolved User resource: the User schema with the EnterpriseUser extension.
pub fn user_resource_schema() -> ResourceSchema {
    ResourceSchema::new(
        user_resource_type(),
        user_schema(),
        vec![enterprise_user_schema()],
    )
}

/// The resolved Group resource: the Group schema, no extensions.
pub fn group_resource_schema() -> ResourceSchema {
    ResourceSchema::new(group_resource_type(), group_schema(), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn embedded_json_parses() {
        let a: Vec<Schema> = serde_json::from_str(RFC7643_8_7_1_JSON).unwrap();
        let b: Vec<Schema> = serde_json::from_str(RFC7643_8_7_2_JSON).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(b.len(), 3);
        assert_eq!(all_schemas().len(), 6);
    }

    #[test]
    fn every_builtin_serialises_back_to_the_rfc_json() {
        for (json, schemas) in [
            (
                RFC7643_8_7_1_JSON,
                vec![user_schema(), group_schema(), enterprise_user_schema()],
            ),
            (
                RFC7643_8_7_2_JSON,
                vec![
                    service_provider_config_schema(),
                    resource_type_schema(),
                    schema_schema(),
                ],
            ),
        ] {
            let mut rfc: Value = serde_json::from_str(json).unwrap();
            // The one correction applied on parse: erratum 5368 (RFC 7643 §4.2).
            for s in rfc.as_array_mut().unwrap() {
                if s["id"] == GROUP_SCHEMA {
                    for a in s["attributes"].as_array_mut().unwrap() {
                        if a["name"] == "displayName" {
                            assert_eq!(a["required"], false, "as §8.7.1 prints it");
                            a["required"] = Value::Bool(true);
                        }
                        if a["name"] == "members" {
                            for sub in a["subAttributes"].as_array_mut().unwrap() {
                                if sub["name"] == "value" {
                                    sub["required"] = Value::Bool(true);
                                }
                            }
                        }
                    }
                }
            }
            let ours = serde_json::to_value(&schemas).unwrap();
            assert_eq!(ours, rfc);
        }
    }

    #[test]
    fn group_display_name_is_required_as_rfc_7643_4_2_says() {
        let g = group_schema();
        assert!(g.attribute("displayName").unwrap().required);
        // Nothing else changed: members stays optional.
        assert!(!g.attribute("members").unwrap().required);
    }

    #[test]
    fn attribute_json_form_keeps_what_was_written() {
        use super::super::{Attribute, AttributeType};
        // Omitted characteristics stay omitted, explicit defaults stay explicit.
        let sparse = serde_json::json!({"name": "a", "type": "boolean", "required": false});
        let a: Attribute = serde_json::from_value(sparse.clone()).unwrap();
        assert_eq!(serde_json::to_value(&a).unwrap(), sparse);
        let empty = serde_json::json!({
            "name": "t", "type": "string", "canonicalValues": [], "referenceTypes": [],
            "caseExact": false, "uniqueness": "none"
        });
        let t: Attribute = serde_json::from_value(empty.clone()).unwrap();
        assert_eq!(serde_json::to_value(&t).unwrap(), empty);
        // A value changed away from its default is written even where the source omitted it.
        let mut changed = a.clone();
        changed.case_exact = true;
        changed.mutability = super::super::Mutability::ReadOnly;
        let v = serde_json::to_value(&changed).unwrap();
        assert_eq!(v["caseExact"], true);
        assert_eq!(v["mutability"], "readOnly");
        // The form is formatting only: it does not affect equality.
        let mut built = Attribute::new("a", AttributeType::Boolean);
        assert_eq!(built, a);
        built.description = Some("x".into());
        assert_ne!(built, a);
        // An attribute built in code writes every characteristic out.
        let full = serde_json::to_value(Attribute::new("n", AttributeType::String)).unwrap();
        assert_eq!(
            full,
            serde_json::json!({
                "name": "n", "type": "string", "multiValued": false, "required": false,
                "caseExact": false, "mutability": "readWrite", "returned": "default",
                "uniqueness": "none"
            })
        );
    }

    #[test]
    fn user_characteristics_match_rfc_7643_4_1() {
        let u = user_schema();
        let user_name = u.attribute("userName").unwrap();
        assert!(user_name.required);
        assert!(!user_name.case_exact);
        assert_eq!(user_name.uniqueness, super::super::Uniqueness::Server);
        let password = u.attribute("password").unwrap();
        assert_eq!(password.mutability, super::super::Mutability::WriteOnly);
        assert_eq!(password.returned, super::super::Returned::Never);
        let groups = u.attribute("groups").unwrap();
        assert_eq!(groups.mutability, super::super::Mutability::ReadOnly);
        assert!(groups.multi_valued);
        assert_eq!(
            groups.sub_attribute("$ref").unwrap().reference_types,
            ["User", "Group"]
        );
        assert_eq!(u.attributes.len(), 21);
    }

    #[test]
    fn enterprise_manager_resolves_by_full_urn() {
        let rs = user_resource_schema();
        let path =
            crate::path::AttrPath::with_sub("manager", "value").with_uri(ENTERPRISE_USER_SCHEMA);
        let r = rs.resolve(&path).unwrap();
        assert!(r.in_extension);
        assert_eq!(r.target().name, "value");
    }

    #[test]
    fn resource_types_match_rfc_7643_8_6() {
        let v = serde_json::to_value(user_resource_type()).unwrap();
        assert_eq!(v["endpoint"], "/Users");
        assert_eq!(
            v["schemaExtensions"],
            serde_json::json!([{
                "schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "required": false
            }])
        );
        let g = serde_json::to_value(group_resource_type()).unwrap();
        assert_eq!(g["endpoint"], "/Groups");
        assert!(g.get("schemaExtensions").is_none());
    }
}
