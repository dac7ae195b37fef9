//! Schema documents (RFC 7643 §7), resource types (RFC 7643 §6) and the resolved view of a
//! resource type's schemas that filters, PATCH, projection and validation work against.

use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attribute::{Attribute, AttributeType, Mutability, Returned, Uniqueness};
use crate::path::AttrPath;

/// A schema document (RFC 7643 §7): an id (URN), a name, a description and attribute
/// definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// `["urn:ietf:params:scim:schemas:core:2.0:Schema"]` when served from `/Schemas`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The schema URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub id: String,
    /// Human-readable name, e.g. `User`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The attribute definitions.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    /// Resource metadata (`resourceType`, `location`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

impl Schema {
    /// Finds a top-level attribute by name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// An extension a resource type allows (RFC 7643 §6 `schemaExtensions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SchemaExtension {
    /// The extension schema URN.
    pub schema: String,
    /// Whether resources of this type must carry the extension.
    pub required: bool,
}

/// A resource type (RFC 7643 §6), as served from `/ResourceTypes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    /// `["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The resource type's id (e.g. `User`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The resource type's name (e.g. `User`).
    pub name: String,
    /// The endpoint relative to the base URL (e.g. `/Users`).
    pub endpoint: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The core schema URN.
    pub schema: String,
    /// Allowed extensions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_extensions: Vec<SchemaExtension>,
    /// Resource metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Where a resolved attribute lives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedAttribute<'a> {
    /// The URN of the schema that defines the attribute (the core schema for common
    /// attributes such as `id`, `externalId` and `meta`).
    pub schema_urn: &'a str,
    /// `true` when the attribute belongs to an extension schema, so its values live under the
    /// extension URN key of the resource (`"urn:...:enterprise:2.0:User": {"manager": ...}`).
    pub in_extension: bool,
    /// The top-level attribute.
    pub attribute: &'a Attribute,
    /// The sub-attribute, when the path names one.
    pub sub_attribute: Option<&'a Attribute>,
}

impl ResolvedAttribute<'_> {
    /// The attribute the path finally designates: the sub-attribute if any, else the attribute.
    pub fn target(&self) -> &Attribute {
        self.sub_attribute.unwrap_or(self.attribute)
    }
}

/// A resource type with its schemas resolved: the core schema, the extensions, and the
/// common attributes of RFC 7643 §3.1 (`id`, `externalId`, `meta`). Filters, PATCH,
/// projection, sorting and validation all work against it.
///
/// The resource type and the schemas are shared (`Arc`): a clone costs a few reference
/// counts, and two clones compare equal in a few pointer comparisons, without walking the
/// attributes or the resource type's `meta` (`Arc` of a type that is `Eq` compares the
/// pointers first). To change the resource type or a schema of a `ResourceSchema`, use
/// [`Arc::make_mut`], which copies it first when it is shared, so a clone never sees the
/// change:
///
/// ```
/// use std::sync::Arc;
/// use scim_core::builtin;
/// use scim_core::schema::{Attribute, AttributeType};
///
/// let original = builtin::user_resource_schema();
/// let mut changed = original.clone();
/// assert_eq!(changed, original);
/// Arc::make_mut(&mut changed.core)
///     .attributes
///     .push(Attribute::new("badgeNumber", AttributeType::String));
/// assert!(changed.core.attribute("badgeNumber").is_some());
/// assert!(original.core.attribute("badgeNumber").is_none());
/// assert_ne!(changed, original);
///
/// let mut described = original.clone();
/// Arc::make_mut(&mut described.resource_type).description = Some("Staff".into());
/// assert_eq!(original.resource_type.description.as_deref(), Some("User Account"));
/// assert_ne!(described, original);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSchema {
    /// The resource type (name, endpoint, schema URNs).
    pub resource_type: Arc<ResourceType>,
    /// The core schema.
    pub core: Arc<Schema>,
    /// Extension schemas with their `required` flag.
    pub extensions: Vec<(Arc<Schema>, bool)>,
    common: Arc<Vec<Attribute>>,
}

impl ResourceSchema {
    /// Builds the resolved view from a resource type and the schema documents it names.
    /// Extensions listed by the resource type but missing from `extensions` are ignored.
    pub fn new(resource_type: ResourceType, core: Schema, extensions: Vec<Schema>) -> Self {
        let extensions = resource_type
            .schema_extensions
            .iter()
            .filter_map(|ext| {
                extensions
                    .iter()
                    .find(|s| s.id.eq_ignore_ascii_case(&ext.schema))
                    .map(|s| (Arc::new(s.clone()), ext.required))
            })
            .collect();
        ResourceSchema {
            resource_type: Arc::new(resource_type),
            core: Arc::new(core),
            extensions,
            common: Arc::new(common_attributes()),
        }
    }

    /// The resource type's name (`User`, `Group`, ...).
    pub fn name(&self) -> &str {
        &self.resource_type.name
    }

    /// The common attributes of RFC 7643 §3.1 (`id`, `externalId`, `meta`).
    pub fn common_attributes(&self) -> &[Attribute] {
        &self.common
    }

    /// The extension schema with this URN (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .map(|(s, _)| &**s)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Is `urn` the core schema or one of the extensions?
    pub fn knows_schema(&self, urn: &str) -> bool {
        self.core.id.eq_ignore_ascii_case(urn) || self.extension(urn).is_some()
    }

    /// If `path` names a whole extension (`urn:...:enterprise:2.0:User`, which the grammar
    /// splits into URI `urn:...:enterprise:2.0` and name `User`), returns that extension.
    pub fn extension_for_path(&self, path: &AttrPath) -> Option<&Schema> {
        if path.sub_attr.is_some() {
            return None;
        }
        let uri = path.uri.as_deref()?;
        self.extensions.iter().map(|(s, _)| &**s).find(|s| {
            s.id.len() == uri.len() + 1 + path.name.len()
                && s.id[..uri.len()].eq_ignore_ascii_case(uri)
                && s.id.as_bytes()[uri.len()] == b':'
                && s.id[uri.len() + 1..].eq_ignore_ascii_case(&path.name)
        })
    }

    /// Resolves an attribute path against the core schema, the common attributes and the
    /// extensions.
    ///
    /// A path with a URI resolves only in the schema with that URN. A path without one
    /// resolves in the core schema or the common attributes, and then, leniently, in the one
    /// extension that defines the name (clients often omit the URN). A sub-attribute of a
    /// multi-valued complex attribute resolves in its schema, else among the RFC 7643 §2.4
    /// defaults ([`default_sub_attribute`]): `members.display` and `addresses.primary`
    /// resolve although RFC 7643 §8.7.1 does not list them.
    pub fn resolve(&self, path: &AttrPath) -> Option<ResolvedAttribute<'_>> {
        let (schema_urn, in_extension, attribute) = match path.uri.as_deref() {
            Some(uri) if self.core.id.eq_ignore_ascii_case(uri) => {
                let a = self
                    .core
                    .attribute(&path.name)
                    .or_else(|| self.common_attribute(&path.name))?;
                (self.core.id.as_str(), false, a)
            }
            Some(uri) => {
                let ext = self.extension(uri)?;
                (ext.id.as_str(), true, ext.attribute(&path.name)?)
            }
            None => {
                if let Some(a) = self
                    .core
                    .attribute(&path.name)
                    .or_else(|| self.common_attribute(&path.name))
                {
                    (self.core.id.as_str(), false, a)
                } else {
                    let mut found = self
                        .extensions
                        .iter()
                        .filter_map(|(s, _)| s.attribute(&path.name).map(|a| (s, a)));
                    let (s, a) = found.next()?;
                    if found.next().is_some() {
                        return None;
                    }
                    (s.id.as_str(), true, a)
                }
            }
        };
        let sub_attribute = match &path.sub_attr {
            Some(sub) => Some(
                attribute
                    .sub_attribute(sub)
                    .or_else(|| default_sub_attribute(attribute, sub))?,
            ),
            None => None,
        };
        Some(ResolvedAttribute {
            schema_urn,
            in_extension,
            attribute,
            sub_attribute,
        })
    }

    fn common_attribute(&self, name: &str) -> Option<&Attribute> {
        self.common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// The common attributes of RFC 7643 §3.1, which every resource has but no schema document
/// lists: `id` (readOnly, returned always, caseExact), `externalId` (caseExact) and `meta`
/// (readOnly complex).
pub fn common_attributes() -> Vec<Attribute> {
    let mut id = Attribute::new("id", AttributeType::String);
    id.case_exact = true;
    id.mutability = Mutability::ReadOnly;
    id.returned = Returned::Always;
    id.uniqueness = Uniqueness::Server;
    id.description =
        Some("A unique identifier for a SCIM resource as defined by the service provider.".into());

    let mut external_id = Attribute::new("externalId", AttributeType::String);
    external_id.case_exact = true;
    external_id.description = Some(
        "A String that is an identifier for the resource as defined by the provisioning client."
            .into(),
    );

    let ro = |name: &str, t: AttributeType, case_exact: bool| {
        let mut a = Attribute::new(name, t);
        a.mutability = Mutability::ReadOnly;
        a.case_exact = case_exact;
        a
    };
    let mut meta = ro("meta", AttributeType::Complex, false);
    meta.description = Some("A complex attribute containing resource metadata.".into());
    meta.sub_attributes = vec![
        ro("resourceType", AttributeType::String, true),
        ro("created", AttributeType::DateTime, false),
        ro("lastModified", AttributeType::DateTime, false),
        ro("location", AttributeType::Reference, true),
        ro("version", AttributeType::String, true),
    ];
    vec![id, external_id, meta]
}

/// The default sub-attribute `name` (`type`, `primary`, `display`, `value` or `$ref`,
/// matched case-insensitively) of the multi-valued complex attribute `parent`, for a name
/// its schema does not define; `None` for any other name or attribute.
///
/// RFC 7643 §2.4: "The predefined sub-attributes listed in this section can be used with
/// multi-valued attribute objects, but these sub-attributes MUST be used with the meanings
/// defined here. If not otherwise defined, the default set of sub-attributes for a
/// multi-valued attribute is as follows: type ... primary ... display ... value ... $ref".
/// RFC 7643's own examples rely on them: §8.4 sends `members[].display` and §8.2
/// `addresses[].primary`, which the §8.7.1 schema does not list. `type`, `display` and
/// `value` are strings (`display` immutable, as §2.4 says), `primary` a boolean and `$ref`
/// a case-exact reference.
///
/// ```
/// use scim_core::builtin;
/// use scim_core::schema::default_sub_attribute;
///
/// let group = builtin::group_schema();
/// let members = group.attribute("members").unwrap();
/// assert!(members.sub_attribute("display").is_none());
/// assert_eq!(default_sub_attribute(members, "Display").unwrap().name, "display");
/// // Not for a name the schema defines, nor for single-valued attributes.
/// assert!(default_sub_attribute(members, "value").is_none());
/// let user = builtin::user_schema();
/// assert!(default_sub_attribute(user.attribute("name").unwrap(), "display").is_none());
/// ```
pub fn default_sub_attribute(parent: &Attribute, name: &str) -> Option<&'static Attribute> {
    static DEFAULTS: LazyLock<[Attribute; 5]> = LazyLock::new(|| {
        let mut display = Attribute::new("display", AttributeType::String);
        display.mutability = Mutability::Immutable;
        let mut reference = Attribute::new("$ref", AttributeType::Reference);
        reference.case_exact = true;
        [
            Attribute::new("type", AttributeType::String),
            Attribute::new("primary", AttributeType::Boolean),
            display,
            Attribute::new("value", AttributeType::String),
            reference,
        ]
    });
    if !(parent.multi_valued && parent.is_complex()) || parent.sub_attribute(name).is_some() {
        return None;
    }
    DEFAULTS.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}
