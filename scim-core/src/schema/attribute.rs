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
/// Serialisation round-trips the JSON an attribute was read from: RFC 7643 §8.7 spells some
/// characteristics out and leaves others to their §2.2 defaults (e.g. `caseExact` on booleans,
/// `uniqueness` on most complex attributes, `"canonicalValues" : []` on `roles.type`), and
/// [`JsonForm`] remembers which, so the built-in schemas serialise exactly as the RFC prints
/// them. An attribute built in code writes every characteristic out.
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
#[derive(Debug, Clone, PartialEq, Eq, schemars::JsonSchema)]
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
    /// Which characteristics the JSON this definition was read from left out (formatting only:
    /// it never affects equality or behaviour).
    #[serde(skip)]
    pub json_form: JsonForm,
}

/// Which optional characteristics an attribute definition's JSON form leaves out, so that a
/// definition read from JSON is written back the same way. The default writes everything out.
///
/// Only formatting: two `JsonForm`s always compare equal, so attributes that differ only in
/// how their JSON was spelled are equal.
#[derive(Debug, Clone, Copy, Default, Eq)]
pub struct JsonForm {
    /// `multiValued` was absent (default `false`).
    pub omit_multi_valued: bool,
    /// `required` was absent (default `false`).
    pub omit_required: bool,
    /// `caseExact` was absent (default `false`).
    pub omit_case_exact: bool,
    /// `mutability` was absent (default `readWrite`).
    pub omit_mutability: bool,
    /// `returned` was absent (default `default`).
    pub omit_returned: bool,
    /// `uniqueness` was absent (default `none`).
    pub omit_uniqueness: bool,
    /// `canonicalValues` was present as an empty array.
    pub empty_canonical_values: bool,
    /// `referenceTypes` was present as an empty array.
    pub empty_reference_types: bool,
    /// `subAttributes` was present as an empty array.
    pub empty_sub_attributes: bool,
}

impl PartialEq for JsonForm {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl std::hash::Hash for JsonForm {
    fn hash<H: std::hash::Hasher>(&self, _state: &mut H) {}
}

/// The JSON shape of an attribute definition (RFC 7643 §7), with every characteristic
/// optional so that absence can be told from an explicit default.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttributeRepr {
    name: String,
    #[serde(rename = "type")]
    attr_type: AttributeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    multi_valued: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    case_exact: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    canonical_values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mutability: Option<Mutability>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    returned: Option<Returned>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uniqueness: Option<Uniqueness>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub_attributes: Option<Vec<Attribute>>,
}

/// Some(value) unless the source left it out and it still has its default value.
fn written<T: PartialEq + Default>(value: T, omitted: bool) -> Option<T> {
    if omitted && value == T::default() {
        None
    } else {
        Some(value)
    }
}

fn written_list(list: &[String], empty_written: bool) -> Option<Vec<String>> {
    (!list.is_empty() || empty_written).then(|| list.to_vec())
}

impl Serialize for Attribute {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let f = &self.json_form;
        AttributeRepr {
            name: self.name.clone(),
            attr_type: self.attr_type,
            reference_types: written_list(&self.reference_types, f.empty_reference_types),
            multi_valued: written(self.multi_valued, f.omit_multi_valued),
            description: self.description.clone(),
            required: written(self.required, f.omit_required),
            case_exact: written(self.case_exact, f.omit_case_exact),
            canonical_values: written_list(&self.canonical_values, f.empty_canonical_values),
            mutability: written(self.mutability, f.omit_mutability),
            returned: written(self.returned, f.omit_returned),
            uniqueness: written(self.uniqueness, f.omit_uniqueness),
            sub_attributes: (!self.sub_attributes.is_empty() || f.empty_sub_attributes)
                .then(|| self.sub_attributes.clone()),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = AttributeRepr::deserialize(deserializer)?;
        let json_form = JsonForm {
            omit_multi_valued: r.multi_valued.is_none(),
            omit_required: r.required.is_none(),
            omit_case_exact: r.case_exact.is_none(),
            omit_mutability: r.mutability.is_none(),
            omit_returned: r.returned.is_none(),
            omit_uniqueness: r.uniqueness.is_none(),
            empty_canonical_values: r.canonical_values.as_ref().is_some_and(Vec::is_empty),
            empty_reference_types: r.reference_types.as_ref().is_some_and(Vec::is_empty),
            empty_sub_attributes: r.sub_attributes.as_ref().is_some_and(Vec::is_empty),
        };
        Ok(Attribute {
            name: r.name,
            attr_type: r.attr_type,
            sub_attributes: r.sub_attributes.unwrap_or_default(),
            multi_valued: r.multi_valued.unwrap_or_default(),
            description: r.description,
            required: r.required.unwrap_or_default(),
            canonical_values: r.canonical_values.unwrap_or_default(),
            case_exact: r.case_exact.unwrap_or_default(),
            mutability: r.mutability.unwrap_or_default(),
            returned: r.returned.unwrap_or_default(),
            uniqueness: r.uniqueness.unwrap_or_default(),
            reference_types: r.reference_types.unwrap_or_default(),
            json_form,
        })
    }
}

impl Attribute {
    /// Is the attribute in a response when the client names no attributes (no `attributes`
    /// or `excludedAttributes`, RFC 7644 §3.9, and none supplied in the request)? Its
    /// `returned` is `always` or `default` (RFC 7643 §7), and it is not `writeOnly`, whose
    /// "values SHALL NOT be returned".
    ///
    /// ```
    /// use scim_core::schema::{Attribute, AttributeType, Mutability, Returned};
    /// let mut password = Attribute::new("password", AttributeType::String);
    /// assert!(password.returned_by_default());
    /// password.mutability = Mutability::WriteOnly;
    /// assert!(!password.returned_by_default());
    /// let mut groups = Attribute::new("groups", AttributeType::Complex);
    /// groups.returned = Returned::Request;
    /// assert!(!groups.returned_by_default());
    /// ```
    pub fn returned_by_default(&self) -> bool {
        matches!(
            self.effective_returned(),
            Returned::Always | Returned::Default
        )
    }

    /// When the attribute is returned: its `returned`, except that a `writeOnly` attribute is
    /// never returned (RFC 7643 §7: writeOnly values "SHALL NOT be returned").
    ///
    /// ```
    /// use scim_core::schema::{Attribute, AttributeType, Mutability, Returned};
    /// let mut password = Attribute::new("password", AttributeType::String);
    /// assert_eq!(password.effective_returned(), Returned::Default);
    /// password.mutability = Mutability::WriteOnly;
    /// assert_eq!(password.effective_returned(), Returned::Never);
    /// ```
    pub fn effective_returned(&self) -> Returned {
        if self.mutability == Mutability::WriteOnly {
            Returned::Never
        } else {
            self.returned
        }
    }

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
            json_form: JsonForm::default(),
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
