//! The typed User resource (RFC 7643 §4.1) with the Enterprise User extension (§4.3).

use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::Resource;
use crate::error::{ScimError, ScimResult};
use crate::schema::{Attribute, ENTERPRISE_USER_SCHEMA, Meta, ResourceSchema, USER_SCHEMA};

fn user_schemas() -> Vec<String> {
    vec![USER_SCHEMA.to_owned()]
}

/// A User (RFC 7643 §4.1), with the common attributes of §3.1 and the optional Enterprise
/// User extension of §4.3 under its full URN key.
///
/// Every attribute is optional here (a response projected with `attributes=` may leave any
/// out); validation against the schema is a separate step. Members the type does not know,
/// such as other extensions, are kept in [`User::extra`] and written back unchanged.
/// [`User::try_from`] a [`Resource`] matches attribute names case-insensitively.
///
/// ```
/// use scim_core::resource::User;
///
/// let user: User = serde_json::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
///                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
///     "userName": "bjensen@example.com",
///     "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
///         "employeeNumber": "701984",
///         "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
///     },
///     "urn:example:params:scim:schemas:extension:acme:2.0:User": {"badge": 7}
/// })).unwrap();
/// assert_eq!(user.user_name.as_deref(), Some("bjensen@example.com"));
/// assert_eq!(user.primary_email(), Some("bjensen@example.com"));
/// let enterprise = user.enterprise.as_ref().unwrap();
/// assert_eq!(enterprise.employee_number.as_deref(), Some("701984"));
/// assert!(user.extra.contains_key("urn:example:params:scim:schemas:extension:acme:2.0:User"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The schema URNs of the representation: the User schema and any extensions.
    #[serde(default = "user_schemas")]
    pub schemas: Vec<String>,
    /// The service provider's identifier (§3.1, readOnly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The provisioning client's identifier (§3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// "Unique identifier for the User, typically used by the user to directly authenticate
    /// to the service provider." REQUIRED by the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// "The components of the user's real name."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// "The name of the User, suitable for display to end-users."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// "The casual way to address the user in real life."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// "A fully qualified URL pointing to a page representing the User's online profile."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    /// "The user's title, such as 'Vice President.'"
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// "Used to identify the relationship between the organization and the user."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// "Indicates the User's preferred written or spoken language."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// "Used to indicate the User's default location for purposes of localizing items."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// "The User's time zone, in IANA Time Zone database format."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// "A Boolean value indicating the User's administrative status." The strings `"True"`
    /// and `"False"` (any case), which Microsoft Entra ID sends, are read as booleans.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_bool"
    )]
    pub active: Option<bool>,
    /// "The User's cleartext password" (writeOnly, returned never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// "Email addresses for the User."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<MultiValue>,
    /// "Phone numbers for the User."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<MultiValue>,
    /// "Instant messaging address for the User."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ims: Vec<MultiValue>,
    /// "URL of a photo of the User."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<MultiValue>,
    /// "A physical mailing address for this User."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// "A list of groups to which the user belongs" (readOnly, computed by the provider).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupMembership>,
    /// "A list of entitlements for the User that represent a thing the User has."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<MultiValue>,
    /// "A list of roles for the User that collectively represent who the User is."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<MultiValue>,
    /// "A list of certificates issued to the User" (base64 DER in `value`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x509_certificates: Vec<MultiValue>,
    /// The Enterprise User extension (RFC 7643 §4.3), under
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    #[serde(
        default,
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        skip_serializing_if = "Option::is_none"
    )]
    pub enterprise: Option<EnterpriseUser>,
    /// Resource metadata (§3.1, readOnly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Members this type does not know (other extensions, custom attributes), kept as they
    /// are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for User {
    fn default() -> Self {
        User {
            schemas: user_schemas(),
            id: None,
            external_id: None,
            user_name: None,
            name: None,
            display_name: None,
            nick_name: None,
            profile_url: None,
            title: None,
            user_type: None,
            preferred_language: None,
            locale: None,
            timezone: None,
            active: None,
            password: None,
            emails: Vec::new(),
            phone_numbers: Vec::new(),
            ims: Vec::new(),
            photos: Vec::new(),
            addresses: Vec::new(),
            groups: Vec::new(),
            entitlements: Vec::new(),
            roles: Vec::new(),
            x509_certificates: Vec::new(),
            enterprise: None,
            meta: None,
            extra: Map::new(),
        }
    }
}

impl User {
    /// A User with this `userName` and nothing else.
    ///
    /// ```
    /// let u = scim_core::resource::User::new("bjensen");
    /// assert_eq!(
    ///     serde_json::to_value(&u).unwrap(),
    ///     serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///                        "userName": "bjensen"})
    /// );
    /// ```
    pub fn new(user_name: impl Into<String>) -> Self {
        User {
            user_name: Some(user_name.into()),
            ..User::default()
        }
    }

    /// The `value` of the email marked `primary`, else of the first email.
    pub fn primary_email(&self) -> Option<&str> {
        primary_value(&self.emails)
    }

    /// Sets the Enterprise User extension and lists its URN in `schemas`.
    pub fn set_enterprise(&mut self, enterprise: EnterpriseUser) {
        if !self
            .schemas
            .iter()
            .any(|s| s.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA))
        {
            self.schemas.push(ENTERPRISE_USER_SCHEMA.to_owned());
        }
        self.enterprise = Some(enterprise);
    }

    /// Reads a User from JSON, matching attribute names case-insensitively. Errors: 400
    /// `invalidSyntax` for a non-object, 400 `invalidValue` when `schemas` does not list the
    /// User schema or a value has the wrong JSON type.
    pub fn from_value(value: Value) -> ScimResult<Self> {
        User::try_from(Resource::from_value(value)?)
    }

    /// The User as JSON.
    pub fn to_value(&self) -> Value {
        Resource::from(self.clone()).into_value()
    }
}

/// The `value` of the element marked `primary`, else of the first element.
pub(crate) fn primary_value(values: &[MultiValue]) -> Option<&str> {
    values
        .iter()
        .find(|v| v.primary == Some(true))
        .or_else(|| values.first())
        .and_then(|v| v.value.as_deref())
}

impl TryFrom<Resource> for User {
    type Error = ScimError;

    /// Converts a generic resource, matching attribute names (and the extension URN)
    /// case-insensitively against the built-in User schema.
    fn try_from(resource: Resource) -> ScimResult<Self> {
        static SCHEMA: OnceLock<ResourceSchema> = OnceLock::new();
        let schema = SCHEMA.get_or_init(crate::builtin::user_resource_schema);
        from_resource(resource, schema, "User")
    }
}

impl From<User> for Resource {
    fn from(user: User) -> Self {
        to_resource(&user)
    }
}

/// Serialises a typed resource into a generic one. Serialising these types cannot fail (all
/// map keys are strings and no field has a fallible `Serialize`), so the empty fallback is
/// never taken; it only keeps the conversion panic-free.
pub(crate) fn to_resource<T: Serialize>(typed: &T) -> Resource {
    match serde_json::to_value(typed) {
        Ok(Value::Object(map)) => Resource::from(map),
        _ => Resource::new(),
    }
}

/// Converts a generic resource into a typed one: checks `schemas` names the core schema,
/// renames members to the schema's spelling (names are case-insensitive, RFC 7643 §2.1),
/// then deserialises.
pub(crate) fn from_resource<T: serde::de::DeserializeOwned>(
    resource: Resource,
    schema: &ResourceSchema,
    kind: &str,
) -> ScimResult<T> {
    let map = resource.into_map();
    if let Some(schemas) = super::get_ci(&map, "schemas").and_then(Value::as_array) {
        let listed = schemas
            .iter()
            .filter_map(Value::as_str)
            .any(|s| s.eq_ignore_ascii_case(&schema.core.id));
        if !listed {
            return Err(ScimError::invalid_value(format!(
                "not a {kind}: \"schemas\" does not list {}",
                schema.core.id
            )));
        }
    }
    let map = canonical_keys(map, schema);
    serde_json::from_value(Value::Object(map))
        .map_err(|e| ScimError::invalid_value(format!("invalid {kind}: {e}")))
}

/// Renames top-level members, extension objects and sub-attributes to the spelling the
/// schema uses.
fn canonical_keys(map: Map<String, Value>, schema: &ResourceSchema) -> Map<String, Value> {
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert("schemas".to_owned(), value);
        } else if let Some(ext) = schema.extension(&key) {
            let value = match value {
                Value::Object(inner) => Value::Object(canonical_members(inner, &ext.attributes)),
                other => other,
            };
            out.insert(ext.id.clone(), value);
        } else if let Some(attr) = schema.core.attribute(&key).or_else(|| {
            schema
                .common_attributes()
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(&key))
        }) {
            out.insert(attr.name.clone(), canonical_value(value, attr));
        } else {
            out.insert(key, value);
        }
    }
    out
}

fn canonical_members(map: Map<String, Value>, attributes: &[Attribute]) -> Map<String, Value> {
    map.into_iter()
        .map(|(key, value)| {
            match attributes
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(&key))
            {
                Some(attr) => (attr.name.clone(), canonical_value(value, attr)),
                None => (key, value),
            }
        })
        .collect()
}

fn canonical_value(value: Value, attr: &Attribute) -> Value {
    if attr.sub_attributes.is_empty() {
        return value;
    }
    match value {
        Value::Object(m) => Value::Object(canonical_members(m, &attr.sub_attributes)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| match v {
                    Value::Object(m) => Value::Object(canonical_members(m, &attr.sub_attributes)),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

/// Reads `true`/`false`, the strings `"true"`/`"false"` in any case, or `null`.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) if super::json::bool_from_str(&s).is_some() => {
            Ok(super::json::bool_from_str(&s))
        }
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a boolean, found {other}"
        ))),
    }
}

/// The `name` complex attribute (RFC 7643 §4.1.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// "The full name, including all middle names, titles, and suffixes as appropriate,
    /// formatted for display."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// "The family name of the User, or last name in most Western languages."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// "The given name of the User, or first name in most Western languages."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// "The middle name(s) of the User."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// "The honorific prefix(es) of the User, or title in most Western languages."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    /// "The honorific suffix(es) of the User, or suffix in most Western languages."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
    /// Members this type does not know, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One value of a multi-valued attribute with the RFC 7643 §2.4 default sub-attributes:
/// `emails`, `phoneNumbers`, `ims`, `photos`, `entitlements`, `roles`, `x509Certificates`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MultiValue {
    /// "The attribute's significant value, e.g., email address, phone number."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// "A human-readable name, primarily used for display purposes."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// "A label indicating the attribute's function", e.g. `work`, `home`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    /// "A Boolean value indicating the 'primary' or preferred attribute value." Strings
    /// `"True"`/`"False"` are read as booleans.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_bool"
    )]
    pub primary: Option<bool>,
    /// Members this type does not know (e.g. `$ref`), kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MultiValue {
    /// A value with a `type` label, e.g. `MultiValue::typed("bjensen@example.com", "work")`.
    pub fn typed(value: impl Into<String>, value_type: impl Into<String>) -> Self {
        MultiValue {
            value: Some(value.into()),
            value_type: Some(value_type.into()),
            ..MultiValue::default()
        }
    }
}

/// One value of `addresses` (RFC 7643 §4.1.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// "The full mailing address, formatted for display or use with a mailing label."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// "The full street address component."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// "The city or locality component."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// "The state or region component."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// "The zip code or postal code component."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// "The country name component", ISO 3166-1 alpha-2 (e.g. `US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `work`, `home` or `other`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub address_type: Option<String>,
    /// Whether this is the primary address.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_bool"
    )]
    pub primary: Option<bool>,
    /// Members this type does not know, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One value of the readOnly `groups` attribute (RFC 7643 §4.1.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GroupMembership {
    /// "The identifier of the User's group."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// "The URI of the corresponding 'Group' resource to which the user belongs."
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The group's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// `direct` or `indirect`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub membership_type: Option<String>,
    /// Members this type does not know, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The Enterprise User extension (RFC 7643 §4.3,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// "Numeric or alphanumeric identifier assigned to a person, typically based on order of
    /// hire or association with an organization."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// "Identifies the name of a cost center."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// "Identifies the name of an organization."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// "Identifies the name of a division."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    /// "Identifies the name of a department."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// "The User's manager." Also read from a bare id string or a one-element array
    /// (`[{"value": id}]`), forms Microsoft Entra ID sends.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_manager"
    )]
    pub manager: Option<Manager>,
    /// Members this type does not know, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `manager` attribute of the Enterprise User extension.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Manager {
    /// "The id of the SCIM resource representing the User's manager."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// "The URI of the SCIM resource representing the User's manager."
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// "The displayName of the User's manager" (readOnly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Members this type does not know, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn lenient_manager<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Manager>, D::Error> {
    let value = match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => {
            return Ok(Some(Manager {
                value: Some(s),
                ..Manager::default()
            }));
        }
        Some(Value::Array(mut items)) if items.len() <= 1 => match items.pop() {
            None => return Ok(None),
            Some(v) => v,
        },
        Some(other) => other,
    };
    Manager::deserialize(value)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_matched_case_insensitively_from_a_resource() {
        let r = Resource::from_value(json!({
            "SCHEMAS": ["urn:ietf:params:scim:schemas:core:2.0:user"],
            "USERNAME": "bjensen",
            "Name": {"GIVENNAME": "Barbara"},
            "Emails": [{"VALUE": "b@example.com", "Primary": "True"}],
            "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:user": {"EmployeeNumber": "7"},
            "Custom": 1
        }))
        .unwrap();
        let u = User::try_from(r).unwrap();
        assert_eq!(u.user_name.as_deref(), Some("bjensen"));
        assert_eq!(u.name.unwrap().given_name.as_deref(), Some("Barbara"));
        assert_eq!(u.emails[0].primary, Some(true));
        assert_eq!(u.enterprise.unwrap().employee_number.as_deref(), Some("7"));
        assert_eq!(u.extra["Custom"], json!(1));
    }

    #[test]
    fn a_group_is_not_a_user() {
        let r = Resource::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "x"
        }))
        .unwrap();
        let e = User::try_from(r).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.detail().contains("not a User"));
    }

    #[test]
    fn wrong_types_are_errors() {
        let e = User::from_value(json!({"userName": 42})).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.detail().contains("invalid User"), "{}", e.detail());
        assert!(User::from_value(json!({"active": "yes"})).is_err());
        assert!(User::from_value(json!([1])).is_err());
    }

    #[test]
    fn string_booleans_are_read() {
        let u = User::from_value(json!({"userName": "a", "active": "False"})).unwrap();
        assert_eq!(u.active, Some(false));
        assert_eq!(u.to_value()["active"], json!(false));
    }

    #[test]
    fn manager_forms() {
        for (manager, expected) in [
            (json!("m1"), Some("m1")),
            (json!([{"value": "m2"}]), Some("m2")),
            (json!({"value": "m3", "displayName": "Boss"}), Some("m3")),
            (json!(null), None),
            (json!(""), None),
            (json!([]), None),
        ] {
            let e: EnterpriseUser = serde_json::from_value(json!({ "manager": manager })).unwrap();
            assert_eq!(e.manager.and_then(|m| m.value).as_deref(), expected);
        }
        assert!(serde_json::from_value::<EnterpriseUser>(json!({"manager": 5})).is_err());
    }

    #[test]
    fn set_enterprise_lists_the_schema_once() {
        let mut u = User::new("a");
        u.set_enterprise(EnterpriseUser::default());
        u.set_enterprise(EnterpriseUser {
            department: Some("Ops".into()),
            ..EnterpriseUser::default()
        });
        assert_eq!(u.schemas, [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        assert_eq!(
            u.to_value()[ENTERPRISE_USER_SCHEMA],
            json!({"department": "Ops"})
        );
    }

    #[test]
    fn json_schema_describes_the_wire_names() {
        let schema = serde_json::to_value(schemars::schema_for!(User)).unwrap();
        let props = &schema["properties"];
        for key in [
            "userName",
            "emails",
            "x509Certificates",
            ENTERPRISE_USER_SCHEMA,
        ] {
            assert!(props.get(key).is_some(), "{key} missing from {props}");
        }
    }

    #[test]
    fn primary_email_falls_back_to_the_first() {
        let mut u = User::new("a");
        assert_eq!(u.primary_email(), None);
        u.emails
            .push(MultiValue::typed("first@example.com", "home"));
        u.emails.push(MultiValue::typed("work@example.com", "work"));
        assert_eq!(u.primary_email(), Some("first@example.com"));
        u.emails[1].primary = Some(true);
        assert_eq!(u.primary_email(), Some("work@example.com"));
    }
}
