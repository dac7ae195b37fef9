//! Projection: the `attributes` and `excludedAttributes` request parameters (RFC 7644
//! §3.4.2.5, §3.9) combined with the `returned` characteristic of every attribute (RFC 7643
//! §7).
//!
//! RFC 7644 §3.4.2.5:
//!
//! > `attributes` A multi-valued list of strings indicating the names of resource attributes
//! > to return in the response, overriding the set of attributes that would be returned by
//! > default. Attribute names MUST be in standard attribute notation (Section 3.10) form.
//!
//! > `excludedAttributes` A multi-valued list of strings indicating the names of resource
//! > attributes to be removed from the default set of attributes to return. This parameter
//! > SHALL have no effect on attributes whose schema "returned" setting is "always".
//!
//! RFC 7644 §3.9: "When specified, the default list of attributes SHALL be overridden, and
//! each resource returned MUST contain the minimum set of resource attributes and any
//! attributes or sub-attributes explicitly requested by the "attributes" parameter."
//!
//! RFC 7643 §7 `returned`: `always` ("always returned, regardless of the contents of the
//! "attributes" parameter"), `never` ("never returned"), `default` ("returned by default in
//! all SCIM operation responses where attribute values are returned"), `request` ("returned
//! in response to any PUT, POST, or PATCH operations if the attribute was specified by the
//! client ... returned in a SCIM query operation only if specified in the "attributes"
//! parameter").
//!
//! Decisions this module makes where the RFCs are silent:
//! - `schemas` is always returned (RFC 7643 §3 makes it REQUIRED in every representation and
//!   the RFC 7644 §3.9 example `?attributes=userName` answers with `schemas`, `id` and
//!   `userName`).
//! - `meta` is `returned: default` (RFC 7643 §3.1), so `attributes=userName` drops it and
//!   `excludedAttributes=meta` removes it.
//! - `writeOnly` attributes ("Attribute values SHALL NOT be returned", RFC 7643 §7) are
//!   treated like `returned: never`.
//! - Both parameters may be given together: `attributes` picks the set, then
//!   `excludedAttributes` removes from it (never touching `always` attributes). RFC 7644 does
//!   not forbid the combination.
//! - A malformed name in either parameter is 400 `invalidValue` (RFC 7644 §3.12 lists
//!   `invalidValue` for GET and `.search`; `invalidPath` is PATCH-only). A well-formed name
//!   that the schema does not know selects nothing; [`Projection::validate`] rejects it for
//!   servers that want to be strict.
//! - An extension object left empty by projection is dropped; a complex value left empty is
//!   dropped; a multi-valued complex attribute keeps only the elements that still hold a
//!   sub-attribute.
//!
//! ```
//! use scim_core::projection::{Projection, project};
//! use scim_core::{Resource, builtin};
//!
//! let schema = builtin::user_resource_schema();
//! let user = Resource::from_value(serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223-7f76-453a-919d-413861904646",
//!     "userName": "bjensen",
//!     "password": "t1meMa$heen",
//!     "name": {"givenName": "Barbara", "familyName": "Jensen"},
//!     "meta": {"resourceType": "User"}
//! })).unwrap();
//! let projection = Projection::from_params(Some("userName"), None).unwrap();
//! let out = project(&user, &schema, &projection);
//! assert_eq!(out.into_value(), serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223-7f76-453a-919d-413861904646",
//!     "userName": "bjensen"
//! }));
//! ```

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::resource::Resource;
use crate::schema::{Attribute, ResourceSchema, Returned};

/// The `attributes` / `excludedAttributes` request parameters, parsed.
///
/// An empty `attributes` list means "the default set" (the parameter was absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// Attributes to return instead of the default set (`attributes`).
    pub attributes: Vec<AttrPath>,
    /// Attributes to remove from the returned set (`excludedAttributes`).
    pub excluded_attributes: Vec<AttrPath>,
}

/// Parses a comma-separated list of attribute names in standard attribute notation
/// (RFC 7644 §3.10), e.g. `userName, name.givenName,
/// urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`.
///
/// Whitespace around names is ignored and empty items are skipped. A malformed name is
/// 400 `invalidValue` naming the parameter and the item.
///
/// ```
/// let names = scim_core::projection::parse_attribute_list("attributes", " userName ,emails.value").unwrap();
/// assert_eq!(names.len(), 2);
/// assert_eq!(names[1].to_string(), "emails.value");
/// ```
pub fn parse_attribute_list(param: &str, list: &str) -> ScimResult<Vec<AttrPath>> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| parse_attribute_name(param, item))
        .collect()
}

fn parse_attribute_name(param: &str, item: &str) -> ScimResult<AttrPath> {
    AttrPath::parse(item).map_err(|e| {
        ScimError::invalid_value(format!(
            "'{param}' contains an invalid attribute name {item:?}: {}",
            e.detail()
        ))
    })
}

impl Projection {
    /// No projection: every `always` and `default` attribute is returned.
    pub fn all() -> Self {
        Projection::default()
    }

    /// Projection from the (already URL-decoded) `attributes` and `excludedAttributes` query
    /// parameters. An absent or blank parameter means "not given".
    ///
    /// ```
    /// use scim_core::projection::Projection;
    ///
    /// let p = Projection::from_params(
    ///     Some("userName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
    ///     Some("emails"),
    /// ).unwrap();
    /// assert_eq!(p.attributes.len(), 2);
    /// assert_eq!(p.excluded_attributes[0].name, "emails");
    /// assert!(Projection::from_params(Some("user Name"), None).is_err());
    /// ```
    pub fn from_params(attributes: Option<&str>, excluded: Option<&str>) -> ScimResult<Self> {
        Ok(Projection {
            attributes: match attributes {
                Some(list) => parse_attribute_list("attributes", list)?,
                None => Vec::new(),
            },
            excluded_attributes: match excluded {
                Some(list) => parse_attribute_list("excludedAttributes", list)?,
                None => Vec::new(),
            },
        })
    }

    /// Projection from the JSON arrays of a `SearchRequest` (RFC 7644 §3.4.3). Each item may
    /// itself be a comma-separated list (some clients send one string).
    pub fn from_lists<S: AsRef<str>>(attributes: &[S], excluded: &[S]) -> ScimResult<Self> {
        let mut p = Projection::default();
        for a in attributes {
            p.attributes
                .extend(parse_attribute_list("attributes", a.as_ref())?);
        }
        for e in excluded {
            p.excluded_attributes
                .extend(parse_attribute_list("excludedAttributes", e.as_ref())?);
        }
        Ok(p)
    }

    /// Is this the default projection (neither parameter given)?
    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded_attributes.is_empty()
    }

    /// Strict check: every name must resolve against `schema` (an attribute, a sub-attribute,
    /// or a whole schema URN). Unknown names are 400 `invalidValue`.
    pub fn validate(&self, schema: &ResourceSchema) -> ScimResult<()> {
        for (param, list) in [
            ("attributes", &self.attributes),
            ("excludedAttributes", &self.excluded_attributes),
        ] {
            for path in list {
                if let Target::Unknown { .. } = Target::resolve(schema, path) {
                    return Err(ScimError::invalid_value(format!(
                        "'{param}' names '{path}', which is not an attribute of {}",
                        schema.name()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Would the attribute (or sub-attribute) `path` be returned under this projection in a
    /// query or GET response? Useful to a storage layer deciding what to load: with
    /// `excludedAttributes=members`, `includes(schema, members)` is `false`.
    ///
    /// ```
    /// use scim_core::projection::Projection;
    /// use scim_core::{AttrPath, builtin};
    ///
    /// let schema = builtin::group_resource_schema();
    /// let p = Projection::from_params(None, Some("members")).unwrap();
    /// assert!(p.excludes(&schema, &AttrPath::new("members")));
    /// assert!(p.includes(&schema, &AttrPath::new("displayName")));
    /// assert!(p.includes(&schema, &AttrPath::new("id")));
    /// ```
    pub fn includes(&self, schema: &ResourceSchema, path: &AttrPath) -> bool {
        self.includes_with(schema, path, &RequestedAttrs::none())
    }

    /// Like [`Projection::includes`] for a POST/PUT/PATCH response, where `returned: request`
    /// attributes the client supplied are returned too.
    pub fn includes_with(
        &self,
        schema: &ResourceSchema,
        path: &AttrPath,
        supplied: &RequestedAttrs,
    ) -> bool {
        let plan = Plan::new(schema, self, supplied);
        let (urn, name, def, sub) = match Target::resolve(schema, path) {
            Target::Attr {
                urn,
                attr,
                sub,
                def,
            } => (urn, attr, Some(def), sub),
            Target::Unknown { name, sub } => (schema.core.id.as_str(), name, None, sub),
            Target::Schema(urn) => {
                // A whole schema is included when any of its attributes is.
                let attrs = match schema.extension(urn) {
                    Some(ext) => &ext.attributes,
                    None => &schema.core.attributes,
                };
                return attrs
                    .iter()
                    .any(|a| plan.select(urn, &a.name, Some(a)).is_some());
            }
        };
        let Some(selection) = plan.select(urn, name, def) else {
            return false;
        };
        match sub {
            None => true,
            Some(sub) => {
                let sub_def = def.and_then(|d| d.sub_attribute(sub));
                selection.keeps(sub, sub_def)
            }
        }
    }

    /// `!self.includes(schema, path)`.
    pub fn excludes(&self, schema: &ResourceSchema, path: &AttrPath) -> bool {
        !self.includes(schema, path)
    }

    /// Applies the projection to one resource (see [`project`]).
    pub fn apply(&self, resource: &Resource, schema: &ResourceSchema) -> Resource {
        project(resource, schema, self)
    }
}

/// The attributes a client specified in a POST, PUT or PATCH request; RFC 7643 §7 returns
/// `returned: request` attributes in the response to such a request when the client
/// specified them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestedAttrs {
    paths: Vec<AttrPath>,
}

impl RequestedAttrs {
    /// Nothing specified (a GET or query).
    pub fn none() -> Self {
        RequestedAttrs::default()
    }

    /// The given paths (e.g. the `path`s of PATCH operations).
    pub fn from_paths(paths: impl IntoIterator<Item = AttrPath>) -> Self {
        RequestedAttrs {
            paths: paths.into_iter().collect(),
        }
    }

    /// Every attribute present in a POST/PUT body: the top-level members and the members of
    /// each extension object (as URN-qualified paths).
    pub fn from_body(body: &Resource, schema: &ResourceSchema) -> Self {
        let mut paths = Vec::new();
        for (key, value) in body.as_map() {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            match (schema.extension(key), value) {
                (Some(ext), Value::Object(obj)) => {
                    for k in obj.keys() {
                        paths.push(AttrPath::new(k.clone()).with_uri(ext.id.clone()));
                    }
                }
                _ => paths.push(AttrPath::new(key.clone())),
            }
        }
        RequestedAttrs { paths }
    }

    /// Adds a path.
    pub fn push(&mut self, path: AttrPath) {
        self.paths.push(path);
    }

    /// The paths.
    pub fn paths(&self) -> &[AttrPath] {
        &self.paths
    }
}

/// Returns a copy of `resource` holding only what `projection` and the `returned`
/// characteristics allow, for a GET or query response.
///
/// - `returned: never` (e.g. `password`) and `writeOnly` attributes are never returned;
/// - `returned: always` (e.g. `id`) are always returned, even if excluded or not requested;
/// - `returned: default` are returned unless excluded, or unless `attributes` is given and
///   does not name them;
/// - `returned: request` are returned only when named in `attributes`;
/// - `schemas` is always kept; sub-attribute names (`name.givenName`) keep the parent with
///   just those sub-attributes (plus its `always` sub-attributes).
pub fn project(resource: &Resource, schema: &ResourceSchema, projection: &Projection) -> Resource {
    project_with(resource, schema, projection, &RequestedAttrs::none())
}

/// [`project`] for the response to a POST, PUT or PATCH: `returned: request` attributes that
/// the client `supplied` are returned as well (RFC 7643 §7).
pub fn project_with(
    resource: &Resource,
    schema: &ResourceSchema,
    projection: &Projection,
    supplied: &RequestedAttrs,
) -> Resource {
    let plan = Plan::new(schema, projection, supplied);
    let mut out = Map::with_capacity(resource.as_map().len());
    for (key, value) in resource.as_map() {
        if let Some(v) = plan.project_member(schema, key, Cow::Borrowed(value)) {
            out.insert(key.clone(), v);
        }
    }
    Resource::from(out)
}

/// [`project_with`] that consumes `resource`: what is returned whole moves into the result
/// instead of being copied (a response rendered from a resource read for it).
///
/// ```
/// use scim_core::projection::{Projection, RequestedAttrs, project_into, project_with};
/// use scim_core::{Resource, builtin};
///
/// let schema = builtin::user_resource_schema();
/// let user = Resource::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "id": "2819c223", "userName": "bjensen", "password": "t1meMa$heen",
///     "name": {"givenName": "Barbara", "familyName": "Jensen"}
/// })).unwrap();
/// let projection = Projection::default();
/// let expected = project_with(&user, &schema, &projection, &RequestedAttrs::none());
/// let projected = project_into(user, &schema, &projection, &RequestedAttrs::none());
/// assert_eq!(projected, expected);
/// // RFC 7643 §4.1.1: password is `returned: never`.
/// assert!(projected.get("password").is_none());
/// assert_eq!(projected.get("userName").unwrap(), "bjensen");
/// ```
pub fn project_into(
    resource: Resource,
    schema: &ResourceSchema,
    projection: &Projection,
    supplied: &RequestedAttrs,
) -> Resource {
    let plan = Plan::new(schema, projection, supplied);
    let mut map = resource.into_map();
    // In place: a member returned whole keeps its slot, and the map is never rebuilt (a
    // rebuild hashes every key again).
    map.retain(
        |key, value| match plan.project_member(schema, key, Cow::Owned(value.take())) {
            Some(v) => {
                *value = v;
                true
            }
            None => false,
        },
    );
    Resource::from(map)
}

fn common_attribute<'s>(schema: &'s ResourceSchema, name: &str) -> Option<&'s Attribute> {
    schema
        .common_attributes()
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A projection name resolved against the schema.
#[derive(Debug, Clone)]
enum Target<'a> {
    /// A whole schema (the core schema or an extension URN).
    Schema(&'a str),
    /// An attribute (and maybe a sub-attribute) defined in schema `urn`.
    Attr {
        urn: &'a str,
        attr: &'a str,
        def: &'a Attribute,
        sub: Option<&'a str>,
    },
    /// A name the schema does not define; it matches core-level members by name.
    Unknown { name: &'a str, sub: Option<&'a str> },
}

impl<'a> Target<'a> {
    fn resolve(schema: &'a ResourceSchema, path: &'a AttrPath) -> Target<'a> {
        if let Some(ext) = schema.extension_for_path(path) {
            return Target::Schema(&ext.id);
        }
        if let (Some(uri), None) = (path.uri.as_deref(), &path.sub_attr) {
            let core = schema.core.id.as_str();
            if core.len() == uri.len() + 1 + path.name.len()
                && core[..uri.len()].eq_ignore_ascii_case(uri)
                && core.as_bytes()[uri.len()] == b':'
                && core[uri.len() + 1..].eq_ignore_ascii_case(&path.name)
            {
                return Target::Schema(core);
            }
        }
        let top = AttrPath {
            uri: path.uri.clone(),
            name: path.name.clone(),
            sub_attr: None,
        };
        match schema.resolve(&top) {
            Some(r) => Target::Attr {
                urn: r.schema_urn,
                attr: &r.attribute.name,
                def: r.attribute,
                sub: path.sub_attr.as_deref().map(|s| {
                    r.attribute
                        .sub_attribute(s)
                        .map(|d| d.name.as_str())
                        .unwrap_or(s)
                }),
            },
            None => Target::Unknown {
                name: &path.name,
                sub: path.sub_attr.as_deref(),
            },
        }
    }

    /// Does this target name the attribute `name` of schema `urn` as a whole (`Some(None)`),
    /// one of its sub-attributes (`Some(Some(sub))`), or not at all (`None`)?
    fn matches(&self, urn: &str, name: &str) -> Option<Option<&'a str>> {
        match self {
            Target::Schema(s) => s.eq_ignore_ascii_case(urn).then_some(None),
            Target::Attr {
                urn: u, attr, sub, ..
            } => (u.eq_ignore_ascii_case(urn) && attr.eq_ignore_ascii_case(name)).then_some(*sub),
            Target::Unknown { name: n, sub } => n.eq_ignore_ascii_case(name).then_some(*sub),
        }
    }
}

/// Which sub-attributes of a selected attribute survive.
#[derive(Debug)]
struct Selection<'a> {
    /// `None`: every default/always sub-attribute; `Some`: only these (plus always ones).
    only: Option<Vec<&'a str>>,
    /// Sub-attributes removed by `excludedAttributes`.
    minus: Vec<&'a str>,
}

impl Selection<'_> {
    fn keeps(&self, sub: &str, def: Option<&Attribute>) -> bool {
        let returned = def
            .map(Attribute::effective_returned)
            .unwrap_or(Returned::Default);
        match returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Default | Returned::Request => {
                let named = self
                    .only
                    .as_ref()
                    .map(|only| only.iter().any(|o| o.eq_ignore_ascii_case(sub)));
                let selected = match (returned, named) {
                    (_, Some(named)) => named,
                    (Returned::Request, None) => false,
                    _ => true,
                };
                selected && !self.minus.iter().any(|m| m.eq_ignore_ascii_case(sub))
            }
        }
    }
}

/// A projection resolved against a schema, ready to apply to many resources.
struct Plan<'a> {
    schema: &'a ResourceSchema,
    attributes: Vec<Target<'a>>,
    excluded: Vec<Target<'a>>,
    /// Resolved only for a `returned: request` attribute (few schemas have one), not for
    /// every response to a write.
    supplied: &'a [AttrPath],
}

impl<'a> Plan<'a> {
    fn new(
        schema: &'a ResourceSchema,
        projection: &'a Projection,
        supplied: &'a RequestedAttrs,
    ) -> Self {
        let resolve = |paths: &'a [AttrPath]| {
            paths
                .iter()
                .map(|p| Target::resolve(schema, p))
                .collect::<Vec<_>>()
        };
        Plan {
            schema,
            attributes: resolve(&projection.attributes),
            excluded: resolve(&projection.excluded_attributes),
            supplied: supplied.paths(),
        }
    }

    /// Decides whether the top-level attribute `name` of schema `urn` is returned and which of
    /// its sub-attributes survive.
    fn select(&self, urn: &str, name: &str, def: Option<&Attribute>) -> Option<Selection<'a>> {
        let returned = def
            .map(Attribute::effective_returned)
            .unwrap_or(Returned::Default);
        if returned == Returned::Never {
            return None;
        }
        if returned == Returned::Always {
            return Some(Selection {
                only: None,
                minus: Vec::new(),
            });
        }
        let named = |targets: &mut dyn Iterator<Item = Target<'a>>| -> (bool, Vec<&'a str>) {
            let mut whole = false;
            let mut subs = Vec::new();
            for t in targets {
                match t.matches(urn, name) {
                    Some(None) => whole = true,
                    Some(Some(sub)) => subs.push(sub),
                    None => {}
                }
            }
            (whole, subs)
        };
        let only = if !self.attributes.is_empty() || returned == Returned::Request {
            let (whole, subs) = named(&mut self.attributes.iter().cloned());
            let (s_whole, s_subs) = if returned == Returned::Request {
                named(
                    &mut self
                        .supplied
                        .iter()
                        .map(|p| Target::resolve(self.schema, p)),
                )
            } else {
                (false, Vec::new())
            };
            if whole || s_whole {
                None
            } else if subs.is_empty() && s_subs.is_empty() {
                return None;
            } else {
                Some(subs.into_iter().chain(s_subs).collect())
            }
        } else {
            None
        };
        let (ex_whole, minus) = named(&mut self.excluded.iter().cloned());
        if ex_whole {
            return None;
        }
        Some(Selection { only, minus })
    }

    /// The top-level member `key` of a resource as returned (`None`: not returned).
    fn project_member(
        &self,
        schema: &ResourceSchema,
        key: &str,
        value: Cow<'_, Value>,
    ) -> Option<Value> {
        if key.eq_ignore_ascii_case("schemas") {
            return Some(value.into_owned());
        }
        if let (Some(ext), Value::Object(obj)) = (schema.extension(key), value.as_ref()) {
            let mut ext_out = Map::new();
            for (k, v) in obj {
                if let Some(v) = self.project_attr(&ext.id, k, ext.attribute(k), Cow::Borrowed(v)) {
                    ext_out.insert(k.clone(), v);
                }
            }
            return (!ext_out.is_empty()).then_some(Value::Object(ext_out));
        }
        let def = schema
            .core
            .attribute(key)
            .or_else(|| common_attribute(schema, key));
        self.project_attr(&schema.core.id, key, def, value)
    }

    fn project_attr(
        &self,
        urn: &str,
        name: &str,
        def: Option<&Attribute>,
        value: Cow<'_, Value>,
    ) -> Option<Value> {
        let selection = self.select(urn, name, def)?;
        let complex = def.is_some_and(Attribute::is_complex)
            || match value.as_ref() {
                Value::Object(_) => true,
                Value::Array(items) => items.first().is_some_and(Value::is_object),
                _ => false,
            };
        if !complex {
            // A simple attribute survives only when selected as a whole.
            return match selection.only {
                Some(_) => None,
                None => Some(value.into_owned()),
            };
        }
        let trivial = selection.only.is_none()
            && selection.minus.is_empty()
            && def.is_none_or(|d| {
                d.sub_attributes
                    .iter()
                    .all(|s| s.effective_returned() == Returned::Default)
            });
        if trivial {
            return Some(value.into_owned());
        }
        let project_obj = |obj: &Map<String, Value>| -> Option<Value> {
            let mut out = Map::new();
            for (k, v) in obj {
                let sub_def = def.and_then(|d| d.sub_attribute(k));
                if selection.keeps(k, sub_def) {
                    out.insert(k.clone(), v.clone());
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        };
        match value.as_ref() {
            Value::Object(obj) => project_obj(obj),
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter_map(|item| match item {
                        Value::Object(obj) => project_obj(obj),
                        other => selection.only.is_none().then(|| other.clone()),
                    })
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            other => selection.only.is_none().then(|| other.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttributeType, Mutability, ResourceType, Schema, SchemaExtension};
    use serde_json::json;

    const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn attr(name: &str, t: AttributeType) -> Attribute {
        Attribute::new(name, t)
    }

    /// A small hand-built user schema (independent of the built-ins).
    fn schema() -> ResourceSchema {
        let mut password = attr("password", AttributeType::String);
        password.mutability = Mutability::WriteOnly;
        password.returned = Returned::Never;
        let mut name = attr("name", AttributeType::Complex);
        name.sub_attributes = vec![
            attr("givenName", AttributeType::String),
            attr("familyName", AttributeType::String),
        ];
        let mut emails = attr("emails", AttributeType::Complex);
        emails.multi_valued = true;
        emails.sub_attributes = vec![
            attr("value", AttributeType::String),
            attr("type", AttributeType::String),
            attr("primary", AttributeType::Boolean),
        ];
        let mut secret = attr("secretQuestion", AttributeType::String);
        secret.returned = Returned::Request;
        let core = Schema {
            schemas: vec![],
            id: CORE.into(),
            name: Some("User".into()),
            description: None,
            attributes: vec![
                attr("userName", AttributeType::String),
                name,
                emails,
                password,
                secret,
            ],
            meta: None,
        };
        let mut manager = attr("manager", AttributeType::Complex);
        manager.sub_attributes = vec![
            attr("value", AttributeType::String),
            attr("displayName", AttributeType::String),
        ];
        let ext = Schema {
            schemas: vec![],
            id: EXT.into(),
            name: Some("EnterpriseUser".into()),
            description: None,
            attributes: vec![attr("employeeNumber", AttributeType::String), manager],
            meta: None,
        };
        let rt = ResourceType {
            schemas: vec![],
            id: Some("User".into()),
            name: "User".into(),
            endpoint: "/Users".into(),
            description: None,
            schema: CORE.into(),
            schema_extensions: vec![SchemaExtension {
                schema: EXT.into(),
                required: false,
            }],
            meta: None,
        };
        ResourceSchema::new(rt, core, vec![ext])
    }

    fn user() -> Resource {
        Resource::from_value(json!({
            "schemas": [CORE, EXT],
            "id": "42",
            "userName": "bjensen",
            "password": "secret",
            "secretQuestion": "pet?",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@x", "type": "work", "primary": true}, {"value": "b@x"}],
            "meta": {"resourceType": "User"},
            EXT: {"employeeNumber": "7", "manager": {"value": "9", "displayName": "Boss"}}
        }))
        .unwrap()
    }

    fn p(attrs: &[AttrPath], excl: &[AttrPath]) -> Projection {
        Projection {
            attributes: attrs.to_vec(),
            excluded_attributes: excl.to_vec(),
        }
    }

    /// The consuming projection returns what the copying one returns, for every kind of
    /// projection: none, `attributes` (whole, sub-attribute, extension, `returned: request`),
    /// `excludedAttributes`, and `returned: request` attributes the client supplied.
    #[test]
    fn project_into_equals_project_with() {
        let path = |s: &str| s.parse::<AttrPath>().unwrap();
        let projections = [
            p(&[], &[]),
            p(&[path("userName")], &[]),
            p(&[path("name.givenName"), path("emails.value")], &[]),
            p(&[path(&format!("{EXT}:manager.value"))], &[]),
            p(&[path("secretQuestion")], &[]),
            p(&[], &[path("emails"), path("name.familyName")]),
            p(&[], &[path(EXT)]),
        ];
        let mut supplied = RequestedAttrs::none();
        supplied.push(path("secretQuestion"));
        for projection in &projections {
            for asked in [&RequestedAttrs::none(), &supplied] {
                assert_eq!(
                    project_into(user(), &schema(), projection, asked),
                    project_with(&user(), &schema(), projection, asked),
                    "{projection:?} {asked:?}"
                );
            }
        }
    }

    #[test]
    fn default_projection_drops_never_and_request() {
        let out = project(&user(), &schema(), &Projection::all()).into_value();
        assert!(out.get("password").is_none());
        assert!(out.get("secretQuestion").is_none());
        assert_eq!(out["userName"], "bjensen");
        assert_eq!(out["meta"]["resourceType"], "User");
        assert_eq!(out[EXT]["manager"]["displayName"], "Boss");
    }

    #[test]
    fn attributes_keep_always_and_schemas() {
        let out = project(&user(), &schema(), &p(&[AttrPath::new("USERNAME")], &[]));
        assert_eq!(
            out.into_value(),
            json!({"schemas": [CORE, EXT], "id": "42", "userName": "bjensen"})
        );
    }

    #[test]
    fn excluded_cannot_remove_always() {
        let out = project(&user(), &schema(), &p(&[], &[AttrPath::new("id")])).into_value();
        assert_eq!(out["id"], "42");
    }

    #[test]
    fn sub_attribute_selection_and_exclusion() {
        let out = project(
            &user(),
            &schema(),
            &p(
                &[
                    AttrPath::with_sub("name", "givenname"),
                    AttrPath::with_sub("emails", "value"),
                ],
                &[],
            ),
        )
        .into_value();
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
        assert_eq!(out["emails"], json!([{"value": "a@x"}, {"value": "b@x"}]));
        let out = project(
            &user(),
            &schema(),
            &p(&[], &[AttrPath::with_sub("name", "familyName")]),
        )
        .into_value();
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
    }

    #[test]
    fn extension_by_urn_and_whole_extension() {
        let manager = AttrPath::new("manager").with_uri(EXT);
        let out = project(&user(), &schema(), &p(&[manager], &[])).into_value();
        assert_eq!(
            out[EXT],
            json!({"manager": {"value": "9", "displayName": "Boss"}})
        );
        // The whole extension, as the grammar splits it: uri `...:2.0`, name `User`.
        let whole =
            AttrPath::new("User").with_uri("urn:ietf:params:scim:schemas:extension:enterprise:2.0");
        let out = project(&user(), &schema(), &p(&[], std::slice::from_ref(&whole))).into_value();
        assert!(out.get(EXT).is_none());
        let out = project(&user(), &schema(), &p(&[whole], &[])).into_value();
        assert_eq!(out[EXT]["employeeNumber"], "7");
        assert!(out.get("userName").is_none());
        // Emptied extension objects are dropped.
        let out = project(&user(), &schema(), &p(&[AttrPath::new("userName")], &[])).into_value();
        assert!(out.get(EXT).is_none());
    }

    #[test]
    fn request_attributes_need_naming_or_supplying() {
        let s = schema();
        let named = project(&user(), &s, &p(&[AttrPath::new("secretQuestion")], &[])).into_value();
        assert_eq!(named["secretQuestion"], "pet?");
        let supplied = RequestedAttrs::from_paths([AttrPath::new("secretQuestion")]);
        let out = project_with(&user(), &s, &Projection::all(), &supplied).into_value();
        assert_eq!(out["secretQuestion"], "pet?");
        assert_eq!(out["userName"], "bjensen");
        let body = Resource::from_value(json!({"secretQuestion": "x"})).unwrap();
        let out = project_with(
            &user(),
            &s,
            &Projection::all(),
            &RequestedAttrs::from_body(&body, &s),
        );
        assert_eq!(out.into_value()["secretQuestion"], "pet?");
    }

    #[test]
    fn never_is_never_returned_even_when_named() {
        let out = project(&user(), &schema(), &p(&[AttrPath::new("password")], &[])).into_value();
        assert!(out.get("password").is_none());
    }

    #[test]
    fn includes_for_storage() {
        let s = schema();
        let pr = p(&[], &[AttrPath::new("emails")]);
        assert!(pr.excludes(&s, &AttrPath::new("emails")));
        assert!(pr.includes(&s, &AttrPath::new("userName")));
        assert!(pr.excludes(&s, &AttrPath::new("password")));
        let pr = p(&[AttrPath::with_sub("name", "givenName")], &[]);
        assert!(pr.includes(&s, &AttrPath::new("name")));
        assert!(pr.includes(&s, &AttrPath::with_sub("name", "givenName")));
        assert!(pr.excludes(&s, &AttrPath::with_sub("name", "familyName")));
        assert!(pr.includes(&s, &AttrPath::new("id")));
        let whole =
            AttrPath::new("User").with_uri("urn:ietf:params:scim:schemas:extension:enterprise:2.0");
        assert!(pr.excludes(&s, &whole));
        assert!(Projection::all().includes(&s, &whole));
        assert!(p(&[], std::slice::from_ref(&whole)).excludes(&s, &whole));
    }

    #[test]
    fn validate_rejects_unknown_names() {
        let s = schema();
        assert!(p(&[AttrPath::new("userName")], &[]).validate(&s).is_ok());
        let err = p(&[AttrPath::new("nope")], &[]).validate(&s).unwrap_err();
        assert_eq!(err.scim_type(), Some(crate::ScimType::InvalidValue));
    }
}
