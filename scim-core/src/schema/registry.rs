//! A registry of schemas and resource types (RFC 7643 §6, §7): what a service provider
//! serves from `/Schemas` and `/ResourceTypes`, and the resolved [`ResourceSchema`] of each
//! resource type that filters, PATCH, projection and validation work against.

use super::attribute::{Attribute, AttributeType};
use super::builtin;
use super::definition::{ResourceSchema, ResourceType, Schema, SchemaExtension};
use crate::error::{ScimError, ScimResult};

/// Schemas and resource types, looked up case-insensitively by URN, name or endpoint.
///
/// Custom schemas and extensions load from the RFC 7643 §7 JSON representation and are
/// checked on the way in ([`SchemaRegistry::add_schema`]); resource types may only name
/// schemas that are registered.
///
/// ```
/// use scim_core::schema::{SchemaRegistry, Schema};
/// use scim_core::AttrPath;
///
/// let mut registry = SchemaRegistry::with_builtins();
/// let ext: Schema = serde_json::from_value(serde_json::json!({
///     "id": "urn:example:params:scim:schemas:extension:acme:2.0:User",
///     "name": "AcmeUser",
///     "attributes": [{
///         "name": "badge", "type": "complex", "multiValued": false,
///         "subAttributes": [{"name": "number", "type": "integer"}]
///     }]
/// })).unwrap();
/// registry.add_schema(ext).unwrap();
/// registry
///     .add_extension("User", "urn:example:params:scim:schemas:extension:acme:2.0:User", false)
///     .unwrap();
///
/// let users = registry.by_endpoint("/Users").unwrap();
/// let path = AttrPath::with_sub("badge", "number")
///     .with_uri("urn:example:params:scim:schemas:extension:acme:2.0:User");
/// let resolved = users.resolve(&path).unwrap();
/// assert!(resolved.in_extension);
/// assert_eq!(resolved.target().name, "number");
/// ```
#[derive(Debug, Clone, Default)]
pub struct SchemaRegistry {
    schemas: Vec<Schema>,
    resource_schemas: Vec<ResourceSchema>,
}

impl SchemaRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        SchemaRegistry::default()
    }

    /// The six built-in schemas of RFC 7643 §8.7 (User, Group, EnterpriseUser,
    /// ServiceProviderConfig, ResourceType, Schema) and the two resource types of §8.6:
    /// User at `/Users` with the EnterpriseUser extension (not required), Group at `/Groups`.
    pub fn with_builtins() -> Self {
        // The built-ins are RFC text, not checked by `add_schema`: the RFC's own Schema
        // schema nests `subAttributes` two levels deep (RFC 7643 §8.7.2), which §2.3.8
        // forbids for resource schemas.
        SchemaRegistry {
            schemas: builtin::all_schemas(),
            resource_schemas: vec![
                builtin::user_resource_schema(),
                builtin::group_resource_schema(),
            ],
        }
    }

    /// Registers a schema document (a core schema or an extension).
    ///
    /// Rejected with 400 `invalidValue`: an empty or duplicate `id` (URNs compare
    /// case-insensitively), and attribute definitions that break RFC 7643 §2: a name that is
    /// not `ALPHA *(ALPHA / DIGIT / "-" / "_")` (or `$ref`, §2.1), two attributes with the
    /// same name (case-insensitively), a complex attribute without `subAttributes`,
    /// `subAttributes` on a non-complex attribute, and a complex sub-attribute (§2.3.8: "A
    /// complex attribute MUST NOT contain sub-attributes that have sub-attributes").
    pub fn add_schema(&mut self, schema: Schema) -> ScimResult<()> {
        if schema.id.trim().is_empty() {
            return Err(ScimError::invalid_value(
                "a schema needs a non-empty \"id\" (its URN, RFC 7643 §7)",
            ));
        }
        if self.schema(&schema.id).is_some() {
            return Err(ScimError::invalid_value(format!(
                "schema {} is already registered",
                schema.id
            )));
        }
        check_attributes(&schema.id, "", &schema.attributes, 0)?;
        self.schemas.push(schema);
        Ok(())
    }

    /// Registers a resource type. Its `schema` and every `schemaExtensions` entry must
    /// already be registered; its name and endpoint must be new (case-insensitively) and the
    /// endpoint must start with `/` (RFC 7643 §6: "relative to the Base URL, e.g.,
    /// '/Users'"). Rejected with 400 `invalidValue` otherwise.
    pub fn add_resource_type(&mut self, resource_type: ResourceType) -> ScimResult<()> {
        if resource_type.name.trim().is_empty() {
            return Err(ScimError::invalid_value(
                "a resource type needs a non-empty \"name\" (RFC 7643 §6)",
            ));
        }
        if self.resource_schema(&resource_type.name).is_some() {
            return Err(ScimError::invalid_value(format!(
                "resource type {} is already registered",
                resource_type.name
            )));
        }
        if !resource_type.endpoint.starts_with('/') {
            return Err(ScimError::invalid_value(format!(
                "resource type {}: endpoint {:?} must start with \"/\"",
                resource_type.name, resource_type.endpoint
            )));
        }
        if self.by_endpoint(&resource_type.endpoint).is_some() {
            return Err(ScimError::invalid_value(format!(
                "resource type {}: endpoint {} is already used",
                resource_type.name, resource_type.endpoint
            )));
        }
        let resolved = self.resolve_resource_type(resource_type)?;
        self.resource_schemas.push(resolved);
        Ok(())
    }

    /// Adds the registered schema `schema_urn` as an extension of the registered resource
    /// type `resource_type_name`, `required` or not (RFC 7643 §6 `schemaExtensions`).
    /// Errors (400 `invalidValue`, 404 for an unknown resource type): unknown schema, or a
    /// schema the resource type already has as core or extension.
    pub fn add_extension(
        &mut self,
        resource_type_name: &str,
        schema_urn: &str,
        required: bool,
    ) -> ScimResult<()> {
        let index = self
            .resource_schemas
            .iter()
            .position(|r| r.name().eq_ignore_ascii_case(resource_type_name))
            .ok_or_else(|| {
                ScimError::not_found(format!("no resource type named {resource_type_name}"))
            })?;
        let schema = self.schema(schema_urn).ok_or_else(|| {
            ScimError::invalid_value(format!("extension {schema_urn} is not a registered schema"))
        })?;
        let current = &self.resource_schemas[index];
        if current.knows_schema(schema_urn) {
            return Err(ScimError::invalid_value(format!(
                "resource type {} already has schema {schema_urn}",
                current.name()
            )));
        }
        let mut resource_type = ResourceType::clone(&current.resource_type);
        resource_type.schema_extensions.push(SchemaExtension {
            schema: schema.id.clone(),
            required,
        });
        let resolved = self.resolve_resource_type(resource_type)?;
        self.resource_schemas[index] = resolved;
        Ok(())
    }

    /// The schema with this URN (case-insensitive).
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The resolved resource type with this name (case-insensitive), e.g. `User`.
    pub fn resource_schema(&self, name: &str) -> Option<&ResourceSchema> {
        self.resource_schemas
            .iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }

    /// The resolved resource type served at `endpoint`, e.g. `/Users`. Matched
    /// case-insensitively and with or without the leading and a trailing `/`.
    pub fn by_endpoint(&self, endpoint: &str) -> Option<&ResourceSchema> {
        let want = endpoint.trim_matches('/');
        self.resource_schemas.iter().find(|r| {
            r.resource_type
                .endpoint
                .trim_matches('/')
                .eq_ignore_ascii_case(want)
        })
    }

    /// The resource type whose core schema is `urn` (case-insensitive).
    pub fn by_core_schema(&self, urn: &str) -> Option<&ResourceSchema> {
        self.resource_schemas
            .iter()
            .find(|r| r.core.id.eq_ignore_ascii_case(urn))
    }

    /// Every registered schema, in registration order: what `/Schemas` lists.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.iter()
    }

    /// Every registered resource type, in registration order: what `/ResourceTypes` lists.
    pub fn resource_types(&self) -> impl Iterator<Item = &ResourceType> {
        self.resource_schemas
            .iter()
            .map(|r| r.resource_type.as_ref())
    }

    /// Every resolved resource type, in registration order.
    pub fn resource_schemas(&self) -> impl Iterator<Item = &ResourceSchema> {
        self.resource_schemas.iter()
    }

    fn resolve_resource_type(&self, resource_type: ResourceType) -> ScimResult<ResourceSchema> {
        let core = self.schema(&resource_type.schema).cloned().ok_or_else(|| {
            ScimError::invalid_value(format!(
                "resource type {}: schema {} is not registered",
                resource_type.name, resource_type.schema
            ))
        })?;
        let mut extensions = Vec::with_capacity(resource_type.schema_extensions.len());
        for (i, ext) in resource_type.schema_extensions.iter().enumerate() {
            let schema = self.schema(&ext.schema).ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "resource type {}: extension {} is not registered",
                    resource_type.name, ext.schema
                ))
            })?;
            let duplicate = core.id.eq_ignore_ascii_case(&ext.schema)
                || resource_type.schema_extensions[..i]
                    .iter()
                    .any(|e| e.schema.eq_ignore_ascii_case(&ext.schema));
            if duplicate {
                return Err(ScimError::invalid_value(format!(
                    "resource type {}: schema {} is listed twice",
                    resource_type.name, ext.schema
                )));
            }
            extensions.push(schema.clone());
        }
        Ok(ResourceSchema::new(resource_type, core, extensions))
    }
}

/// RFC 7643 §2.1 `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`, plus
/// `$ref`, which the RFC's own schemas use for reference sub-attributes.
fn valid_attr_name(name: &str) -> bool {
    if name == "$ref" {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_attributes(
    schema_id: &str,
    parent: &str,
    attributes: &[Attribute],
    depth: usize,
) -> ScimResult<()> {
    for (i, a) in attributes.iter().enumerate() {
        let path = if parent.is_empty() {
            a.name.clone()
        } else {
            format!("{parent}.{}", a.name)
        };
        let err = |what: &str| {
            ScimError::invalid_value(format!("schema {schema_id}, attribute {path:?}: {what}"))
        };
        if !valid_attr_name(&a.name) {
            return Err(err(
                "not a valid attribute name (RFC 7643 §2.1: a letter, then letters, digits, \"-\" or \"_\")",
            ));
        }
        if attributes[..i]
            .iter()
            .any(|b| b.name.eq_ignore_ascii_case(&a.name))
        {
            return Err(err("defined twice (attribute names are case-insensitive)"));
        }
        match (a.attr_type, a.sub_attributes.is_empty(), depth) {
            (AttributeType::Complex, _, 1..) => {
                return Err(err(
                    "a sub-attribute cannot be complex (RFC 7643 §2.3.8: sub-attributes have no sub-attributes)",
                ));
            }
            (AttributeType::Complex, true, _) => {
                return Err(err(
                    "a complex attribute needs \"subAttributes\" (RFC 7643 §2.3.8, §7)",
                ));
            }
            (AttributeType::Complex, false, _) => {
                check_attributes(schema_id, &path, &a.sub_attributes, depth + 1)?;
            }
            (_, false, _) => {
                return Err(err(
                    "only a complex attribute may have \"subAttributes\" (RFC 7643 §7)",
                ));
            }
            (_, true, _) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::AttrPath;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

    fn schema(v: serde_json::Value) -> Schema {
        serde_json::from_value(v).unwrap()
    }

    fn acme() -> Schema {
        schema(json!({
            "id": ACME,
            "name": "AcmeUser",
            "description": "Acme extension",
            "attributes": [
                {"name": "badge", "type": "complex", "multiValued": false,
                 "subAttributes": [
                    {"name": "number", "type": "integer"},
                    {"name": "issuedAt", "type": "dateTime"}
                 ]},
                {"name": "clearance", "type": "string", "canonicalValues": ["low", "high"]}
            ]
        }))
    }

    #[test]
    fn builtins_are_registered() {
        let r = SchemaRegistry::with_builtins();
        assert_eq!(r.schemas().count(), 6);
        assert_eq!(
            r.resource_types()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["User", "Group"]
        );
        let users = r.by_endpoint("/Users").unwrap();
        assert_eq!(users.core.id, USER_SCHEMA);
        assert!(users.extension(ENTERPRISE_USER_SCHEMA).is_some());
        assert_eq!(r.by_endpoint("groups").unwrap().core.id, GROUP_SCHEMA);
        assert!(r.by_endpoint("/Nope").is_none());
        assert_eq!(r.resource_schema("user").unwrap().name(), "User");
        assert_eq!(r.by_core_schema(GROUP_SCHEMA).unwrap().name(), "Group");
    }

    #[test]
    fn schema_lookup_is_case_insensitive() {
        let r = SchemaRegistry::with_builtins();
        let s = r
            .schema("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER")
            .unwrap();
        assert_eq!(s.id, ENTERPRISE_USER_SCHEMA);
    }

    #[test]
    fn custom_extension_resolves_urn_attr_sub() {
        let mut r = SchemaRegistry::with_builtins();
        r.add_schema(acme()).unwrap();
        r.add_extension("user", ACME, true).unwrap();
        let users = r.resource_schema("User").unwrap();
        assert_eq!(users.extensions.len(), 2);
        assert!(users.extensions.iter().any(|(s, req)| s.id == ACME && *req));
        let path = AttrPath::with_sub("badge", "NUMBER").with_uri(ACME.to_uppercase());
        let resolved = users.resolve(&path).unwrap();
        assert_eq!(resolved.schema_urn, ACME);
        assert!(resolved.in_extension);
        assert_eq!(resolved.target().attr_type, AttributeType::Integer);
        // The resource type served from /ResourceTypes lists the new extension.
        let rt = serde_json::to_value(&*r.resource_schema("User").unwrap().resource_type).unwrap();
        assert_eq!(
            rt["schemaExtensions"][1],
            json!({"schema": ACME, "required": true})
        );
    }

    #[test]
    fn duplicate_schema_ids_are_rejected() {
        let mut r = SchemaRegistry::with_builtins();
        r.add_schema(acme()).unwrap();
        let mut again = acme();
        again.id = ACME.to_uppercase();
        let e = r.add_schema(again).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.detail().contains("already registered"));
        let e = r.add_schema(crate::builtin::user_schema()).unwrap_err();
        assert!(e.detail().contains("already registered"));
    }

    #[test]
    fn invalid_attribute_definitions_are_rejected() {
        let cases = [
            (
                json!([{"name": "c", "type": "complex"}]),
                "needs \"subAttributes\"",
            ),
            (
                json!([{"name": "c", "type": "complex", "subAttributes": []}]),
                "needs \"subAttributes\"",
            ),
            (
                json!([{"name": "s", "type": "string", "subAttributes": [{"name": "x", "type": "string"}]}]),
                "only a complex attribute",
            ),
            (
                json!([{"name": "c", "type": "complex", "subAttributes": [
                    {"name": "d", "type": "complex", "subAttributes": [{"name": "x", "type": "string"}]}
                ]}]),
                "cannot be complex",
            ),
            (
                json!([{"name": "1abc", "type": "string"}]),
                "not a valid attribute name",
            ),
            (
                json!([{"name": "a.b", "type": "string"}]),
                "not a valid attribute name",
            ),
            (
                json!([{"name": "", "type": "string"}]),
                "not a valid attribute name",
            ),
            (
                json!([{"name": "abc", "type": "string"}, {"name": "ABC", "type": "integer"}]),
                "defined twice",
            ),
            (
                json!([{"name": "c", "type": "complex", "subAttributes": [
                    {"name": "x", "type": "string"}, {"name": "X", "type": "string"}
                ]}]),
                "defined twice",
            ),
        ];
        for (attributes, expected) in cases {
            let mut r = SchemaRegistry::new();
            let s = schema(json!({"id": "urn:example:bad", "attributes": attributes}));
            let e = r.add_schema(s).unwrap_err();
            assert_eq!(e.status(), 400, "{attributes}");
            assert!(
                e.detail().contains(expected),
                "{attributes}: {} does not say {expected}",
                e.detail()
            );
            assert_eq!(r.schemas().count(), 0);
        }
    }

    #[test]
    fn dollar_ref_sub_attribute_is_accepted() {
        let mut r = SchemaRegistry::new();
        r.add_schema(schema(json!({
            "id": "urn:example:owner",
            "attributes": [{"name": "owner", "type": "complex", "subAttributes": [
                {"name": "value", "type": "string"},
                {"name": "$ref", "type": "reference", "referenceTypes": ["User"]}
            ]}]
        })))
        .unwrap();
    }

    #[test]
    fn empty_schema_id_is_rejected() {
        let mut r = SchemaRegistry::new();
        let e = r
            .add_schema(schema(json!({"id": " ", "attributes": []})))
            .unwrap_err();
        assert!(e.detail().contains("non-empty"));
    }

    fn device_type() -> ResourceType {
        serde_json::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Device",
            "name": "Device",
            "endpoint": "/Devices",
            "schema": "urn:example:device",
            "schemaExtensions": [{"schema": ACME, "required": false}]
        }))
        .unwrap()
    }

    #[test]
    fn resource_type_needs_registered_schemas() {
        let mut r = SchemaRegistry::with_builtins();
        let e = r.add_resource_type(device_type()).unwrap_err();
        assert!(e.detail().contains("urn:example:device is not registered"));
        r.add_schema(schema(json!({
            "id": "urn:example:device",
            "name": "Device",
            "attributes": [{"name": "serial", "type": "string", "required": true}]
        })))
        .unwrap();
        let e = r.add_resource_type(device_type()).unwrap_err();
        assert!(e.detail().contains("extension"), "{}", e.detail());
        r.add_schema(acme()).unwrap();
        r.add_resource_type(device_type()).unwrap();
        let devices = r.by_endpoint("/devices/").unwrap();
        assert_eq!(devices.name(), "Device");
        assert!(devices.extension(ACME).is_some());
        assert_eq!(r.resource_types().count(), 3);
    }

    #[test]
    fn resource_type_duplicates_and_bad_endpoints_are_rejected() {
        let mut r = SchemaRegistry::with_builtins();
        let mut dup = crate::builtin::group_resource_type();
        let e = r.add_resource_type(dup.clone()).unwrap_err();
        assert!(e.detail().contains("already registered"));
        dup.name = "Team".into();
        let e = r.add_resource_type(dup.clone()).unwrap_err();
        assert!(e.detail().contains("already used"));
        dup.endpoint = "Teams".into();
        let e = r.add_resource_type(dup.clone()).unwrap_err();
        assert!(e.detail().contains("must start with"));
        dup.endpoint = "/Teams".into();
        dup.schema_extensions = vec![
            SchemaExtension {
                schema: ENTERPRISE_USER_SCHEMA.into(),
                required: false,
            },
            SchemaExtension {
                schema: ENTERPRISE_USER_SCHEMA.to_lowercase(),
                required: false,
            },
        ];
        let e = r.add_resource_type(dup.clone()).unwrap_err();
        assert!(e.detail().contains("listed twice"));
        dup.schema_extensions.pop();
        r.add_resource_type(dup).unwrap();
    }

    #[test]
    fn add_extension_errors() {
        let mut r = SchemaRegistry::with_builtins();
        let e = r
            .add_extension("Printer", ENTERPRISE_USER_SCHEMA, false)
            .unwrap_err();
        assert_eq!(e.status(), 404);
        let e = r.add_extension("User", ACME, false).unwrap_err();
        assert!(e.detail().contains("not a registered schema"));
        let e = r
            .add_extension("User", ENTERPRISE_USER_SCHEMA, false)
            .unwrap_err();
        assert!(e.detail().contains("already has"));
        let e = r.add_extension("User", USER_SCHEMA, false).unwrap_err();
        assert!(e.detail().contains("already has"));
    }
}
