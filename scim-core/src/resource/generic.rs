//! A schema-aware generic resource.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::json::{get_ci, get_ci_mut, json_kind};
use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::schema::ResourceSchema;

/// A SCIM resource as a JSON object, read through its [`ResourceSchema`]: attribute names are
/// matched case-insensitively and extension attributes live under their schema URN.
///
/// ```
/// use scim_core::{AttrPath, Resource, builtin};
///
/// let user = Resource::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
///                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
///     "userName": "bjensen",
///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
///         "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
///     }
/// })).unwrap();
/// let schema = builtin::user_resource_schema();
/// let path: AttrPath =
///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".parse().unwrap();
/// assert_eq!(user.values(&schema, &path), vec![&serde_json::json!("26118915-6090-4610-87e4-49d8ca9f808d")]);
/// assert_eq!(user.values(&schema, &"USERNAME".parse().unwrap()), vec![&serde_json::json!("bjensen")]);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Resource(Map<String, Value>);

impl Resource {
    /// An empty resource.
    pub fn new() -> Self {
        Resource(Map::new())
    }

    /// Wraps a JSON object; anything else is 400 `invalidSyntax`.
    pub fn from_value(value: Value) -> ScimResult<Self> {
        match value {
            Value::Object(map) => Ok(Resource(map)),
            other => Err(ScimError::invalid_syntax(format!(
                "a SCIM resource must be a JSON object, not {}",
                json_kind(&other)
            ))),
        }
    }

    /// The JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The JSON object, mutably.
    pub fn as_map_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.0
    }

    /// The resource as a JSON value.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    /// The JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// The `id`, if it is a string.
    pub fn id(&self) -> Option<&str> {
        get_ci(&self.0, "id").and_then(Value::as_str)
    }

    /// The `schemas` URNs.
    pub fn schemas(&self) -> Vec<&str> {
        get_ci(&self.0, "schemas")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// A top-level member by name (case-insensitive), ignoring schemas.
    pub fn get(&self, name: &str) -> Option<&Value> {
        get_ci(&self.0, name)
    }

    /// The JSON object that holds the attribute `path` resolves to: the resource itself for
    /// core and common attributes, or the extension object under its URN.
    pub fn container(
        &self,
        schema: &ResourceSchema,
        path: &AttrPath,
    ) -> Option<&Map<String, Value>> {
        let resolved = schema.resolve(path)?;
        if resolved.in_extension {
            get_ci(&self.0, resolved.schema_urn).and_then(Value::as_object)
        } else {
            Some(&self.0)
        }
    }

    /// Mutable access to the container of `path`, creating the extension object if needed.
    pub fn container_mut(
        &mut self,
        schema: &ResourceSchema,
        path: &AttrPath,
    ) -> Option<&mut Map<String, Value>> {
        let resolved = schema.resolve(path)?;
        if !resolved.in_extension {
            return Some(&mut self.0);
        }
        let urn = resolved.schema_urn.to_owned();
        if get_ci(&self.0, &urn).is_none() {
            self.0.insert(urn.clone(), Value::Object(Map::new()));
        }
        get_ci_mut(&mut self.0, &urn).and_then(Value::as_object_mut)
    }

    /// The attribute value `path` designates (without flattening sub-attributes of
    /// multi-valued attributes). `None` when the path does not resolve or the value is absent.
    pub fn value(&self, schema: &ResourceSchema, path: &AttrPath) -> Option<&Value> {
        let container = self.container(schema, path)?;
        let top = get_ci(container, &path.name)?;
        match &path.sub_attr {
            None => Some(top),
            Some(sub) => top.as_object().and_then(|o| get_ci(o, sub)),
        }
    }

    /// Every value `path` designates, flattened: a multi-valued attribute yields each
    /// element; `emails.value` yields the `value` of every email. Nulls are skipped.
    pub fn values<'a>(&'a self, schema: &ResourceSchema, path: &AttrPath) -> Vec<&'a Value> {
        let mut out = Vec::new();
        let Some(container) = self.container(schema, path) else {
            return out;
        };
        let Some(top) = get_ci(container, &path.name) else {
            return out;
        };
        let push = |v: &'a Value, out: &mut Vec<&'a Value>| match &path.sub_attr {
            None => {
                if !v.is_null() {
                    out.push(v)
                }
            }
            Some(sub) => {
                if let Some(s) = v.as_object().and_then(|o| get_ci(o, sub)) {
                    match s {
                        Value::Null => {}
                        Value::Array(items) => out.extend(items.iter().filter(|i| !i.is_null())),
                        other => out.push(other),
                    }
                }
            }
        };
        match top {
            Value::Array(items) => items.iter().for_each(|v| push(v, &mut out)),
            v => push(v, &mut out),
        }
        out
    }
}

impl From<Map<String, Value>> for Resource {
    fn from(map: Map<String, Value>) -> Self {
        Resource(map)
    }
}

impl From<Resource> for Value {
    fn from(r: Resource) -> Self {
        r.into_value()
    }
}
