//! Attribute definitions with every RFC 7643 §7 characteristic.

use serde::{Deserialize, Serialize};

/// RFC 7643 §2.3 data types (`type` characteristic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AttributeType {
    /// §2.3.1 String.
    String,
    /// §2.3.2 Boolean.
    Boolean,
    /// §2.3.3 Decimal.
    Decimal,
    /// §2.3.4 Integer.
    Integer,
    /// §2.3.5 DateTime (xsd:dateTime, e.g. `2008-01-23T04:56:22Z`).
    DateTime,
    /// §2.3.6 Binary (base64).
    Binary,
    /// §2.3.7 Reference (a URI).
    Reference,
    /// §2.3.8 Complex.
    Complex,
}

/// RFC 7643 §7 `mutability`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// "The attribute SHALL NOT be modified."
    ReadOnly,
    /// "The attribute MAY be updated and read at any time." (the default)
    #[default]
    ReadWrite,
    /// "The attribute MAY be defined at resource creation ... or at record replacement via a
    /// PUT operation ... Once set, the attribute SHALL NOT be updated."
    Immutable,
    /// "The attribute MAY be updated at any time. Attribute values SHALL NOT be returned."
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// "The attribute is always returned, regardless of the contents of the `attributes`
    /// parameter."
    Always,
    /// "The attribute is never returned."
    Never,
    /// "The attribute is returned by default ... unless it is excluded." (the default)
    #[default]
    Default,
    /// "The attribute is returned in response to any PUT, POST, or PATCH operations if the
    /// attribute was specified by the client ... or [in] the `attributes` parameter."
    Request,
}

/// RFC 7643 §7 `uniqueness`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// "The values are not intended to be unique in any way." (the default)
    #[default]
    None,
    /// "The value SHOULD be unique within the context of the current SCIM endpoint."
    Server,
    /// "The value SHOULD be globally unique."
    Global,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One attribute definition (RFC 7643 §7), possibly with sub-attributes.
///
/// ```
/// use scim_core::schema::{Attribute, AttributeType};
///
/// let a: Attribute = serde_json::from_value(serde_json::json!({
///     "name": "userName", "type": "string", "multiValued": false, "required": true,
///     "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "server"
/// })).unwrap();
/// assert_eq!(a.attr_type, AttributeType::String);
/// assert!(a.required);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    /// The attribute's name (case-insensitive when matched).
    pub name: String,
    /// The data type.
    #[serde(rename = "type")]
    pub attr_type: AttributeType,
    /// Sub-attributes of a complex attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<Attribute>,
    /// Whether the attribute holds an array of values.
    #[serde(default)]
    pub multi_valued: bool,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the attribute is required.
    #[serde(default)]
    pub required: bool,
    /// Suggested canonical values (e.g. `work`, `home`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// Whether string comparison is case-sensitive.
    #[serde(default, skip_serializing_if = "is_false")]
    pub case_exact: bool,
    /// Mutability.
    #[serde(default)]
    pub mutability: Mutability,
    /// When the attribute is returned.
    #[serde(default)]
    pub returned: Returned,
    /// Uniqueness.
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// For `reference` attributes: the resource types that may be referenced
    /// (`User`, `Group`, `external`, `uri`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
}

impl Attribute {
    /// A single-valued, optional, readWrite attribute of the given type with RFC 7643 §2.2
    /// defaults; adjust the public fields for anything else.
    pub fn new(name: impl Into<String>, attr_type: AttributeType) -> Self {
        Attribute {
            name: name.into(),
            attr_type,
            sub_attributes: Vec::new(),
            multi_valued: false,
            description: None,
            required: false,
            canonical_values: Vec::new(),
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
        }
    }

    /// Finds a sub-attribute by name, case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Is this a complex attribute?
    pub fn is_complex(&self) -> bool {
        self.attr_type == AttributeType::Complex
    }
}
