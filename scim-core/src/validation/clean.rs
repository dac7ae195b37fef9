//! The walk over a request body: schemas, containers, attributes and values.

use std::collections::HashSet;
use std::fmt::{self, Display};

use serde_json::{Map, Value};

use super::options::ValidationOptions;
use super::values::check_lexical;
use crate::error::{ScimError, ScimResult};
use crate::resource::{Resource, bool_from_str, json_kind};
use crate::schema::{
    Attribute, AttributeType, ENTRA_GROUP_SCHEMA, GROUP_SCHEMA, Mutability, ResourceSchema,
};

/// A request body after the walk: canonical names, no readOnly input, no nulls.
pub(super) struct Cleaned {
    /// The final `schemas` list: the core URN first, then listed extension URNs.
    pub(super) schemas: Vec<String>,
    /// Core and common attributes.
    pub(super) core: Map<String, Value>,
    /// One container per extension of the resource type, in its order; empty = absent.
    pub(super) extensions: Vec<Map<String, Value>>,
    /// `(schema URN, attribute name)`, both lower-cased, of the attributes the body set to
    /// `null` or `[]` explicitly (RFC 7644 §3.5.1: clients "MAY specify "null" for a
    /// single-valued attribute, or an empty array "[]" for a multi-valued attribute, to clear
    /// all values").
    pub(super) cleared: HashSet<(String, String)>,
}

impl Cleaned {
    pub(super) fn is_cleared(&self, urn: &str, name: &str) -> bool {
        self.cleared
            .contains(&(urn.to_ascii_lowercase(), name.to_ascii_lowercase()))
    }

    pub(super) fn into_resource(self, schema: &ResourceSchema) -> Resource {
        // `schemas` first, as RFC 7643's examples show it; shifting the core attributes
        // keeps their hashes, which moving them into a new map would compute again.
        let mut out = self.core;
        out.shift_insert(
            0,
            "schemas".to_owned(),
            Value::Array(self.schemas.into_iter().map(Value::String).collect()),
        );
        for ((ext, _), map) in schema.extensions.iter().zip(self.extensions) {
            if !map.is_empty() {
                out.insert(ext.id.clone(), Value::Object(map));
            }
        }
        Resource::from(out)
    }
}

/// The validator: a resource schema and the options.
pub(super) struct Cleaner<'a> {
    pub(super) schema: &'a ResourceSchema,
    pub(super) options: &'a ValidationOptions,
}

impl<'a> Cleaner<'a> {
    /// A core or common attribute by name (case-insensitive).
    fn core_attribute(&self, name: &str) -> Option<&'a Attribute> {
        self.schema.core.attribute(name).or_else(|| {
            self.schema
                .common_attributes()
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
        })
    }

    fn extension_index(&self, urn: &str) -> Option<usize> {
        self.schema
            .extensions
            .iter()
            .position(|(s, _)| s.id.eq_ignore_ascii_case(urn))
    }

    fn is_group(&self) -> bool {
        self.schema.core.id.eq_ignore_ascii_case(GROUP_SCHEMA)
    }

    fn values(&self) -> Values<'a> {
        Values {
            options: self.options,
            type_name: self.schema.name(),
        }
    }

    fn unknown(&self, what: &str) -> ScimResult<()> {
        self.values().unknown(what)
    }

    /// Where a misplaced top-level key belongs: `(slot, attribute name)` where slot 0 is the
    /// core container and `i + 1` the extension `i`.
    fn relocate(&self, key: &str) -> Option<(usize, String)> {
        let schemas = std::iter::once(&self.schema.core)
            .chain(self.schema.extensions.iter().map(|(s, _)| s))
            .enumerate();
        for (slot, s) in schemas {
            let qualified = key
                .get(..s.id.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(&s.id))
                && key.as_bytes().get(s.id.len()) == Some(&b':');
            if !qualified {
                continue;
            }
            let name = key.get(s.id.len() + 1..)?;
            let known = if slot == 0 {
                self.core_attribute(name).is_some()
            } else {
                s.attribute(name).is_some()
            };
            if known {
                return Some((slot, name.to_owned()));
            }
        }
        let mut hits = self
            .schema
            .extensions
            .iter()
            .enumerate()
            .filter(|(_, (s, _))| s.attribute(key).is_some());
        let (i, _) = hits.next()?;
        hits.next().is_none().then(|| (i + 1, key.to_owned()))
    }

    /// Validates and normalises a whole request body.
    pub(super) fn clean(&self, input: Resource) -> ScimResult<Cleaned> {
        let n_ext = self.schema.extensions.len();
        let mut schemas_value: Option<Value> = None;
        let mut schemas_seen = false;
        let mut pending: Vec<Vec<(String, Value)>> = vec![Vec::new(); n_ext + 1];
        let mut container_given = vec![false; n_ext];
        for (key, value) in input.into_map() {
            if key.eq_ignore_ascii_case("schemas") {
                if schemas_seen {
                    return Err(ScimError::invalid_syntax(
                        "'schemas' appears more than once in the request body",
                    ));
                }
                schemas_seen = true;
                schemas_value = Some(value);
                continue;
            }
            if let Some(i) = self.extension_index(&key) {
                let urn = &self.schema.extensions[i].0.id;
                if container_given[i] {
                    return Err(ScimError::invalid_syntax(format!(
                        "the extension '{urn}' appears more than once in the request body"
                    )));
                }
                container_given[i] = true;
                match value {
                    Value::Null => {}
                    Value::Object(map) => pending[i + 1].extend(map),
                    other => {
                        return Err(ScimError::invalid_syntax(format!(
                            "'{urn}' must be a JSON object holding the extension's attributes, \
                             not {}",
                            json_kind(&other)
                        )));
                    }
                }
                continue;
            }
            if self.core_attribute(&key).is_some() {
                pending[0].push((key, value));
                continue;
            }
            if self.options.relocate_extension_attributes {
                if let Some((slot, name)) = self.relocate(&key) {
                    pending[slot].push((name, value));
                    continue;
                }
            }
            self.unknown(&key)?;
        }

        let mut schemas = self.listed_schemas(schemas_value)?;
        let mut cleared = HashSet::new();

        let mut pending = pending.into_iter();
        let core_entries = pending.next().unwrap_or_default();
        let core_urn = self.schema.core.id.as_str();
        let core = self.clean_container(
            core_entries,
            |name| self.core_attribute(name),
            core_urn,
            "",
            &mut cleared,
        )?;
        for attr in self
            .schema
            .core
            .attributes
            .iter()
            .chain(self.schema.common_attributes())
        {
            // What the schema publishes (`required`, RFC 7643 §7) is what is enforced, no
            // more and no less.
            if attr.required && attr.mutability != Mutability::ReadOnly {
                check_required(core.get(&attr.name), &attr.name)?;
            }
        }

        let mut extensions = Vec::with_capacity(n_ext);
        for (((ext, required), entries), given) in self
            .schema
            .extensions
            .iter()
            .zip(pending)
            .zip(container_given)
        {
            let prefix = format!("{}:", ext.id);
            let map = self.clean_container(
                entries,
                |name| ext.attribute(name),
                &ext.id,
                &prefix,
                &mut cleared,
            )?;
            let listed = schemas.iter().any(|s| s == &ext.id);
            if *required && !given && map.is_empty() && !listed {
                // RFC 7643 §6: "If true, a resource of this type MUST include this schema
                // extension and also include any attributes declared as required in this
                // schema extension."
                return Err(ScimError::invalid_value(format!(
                    "the {} resource type requires the extension '{}'",
                    self.schema.name(),
                    ext.id
                )));
            }
            if *required || !map.is_empty() {
                for attr in &ext.attributes {
                    if attr.required && attr.mutability != Mutability::ReadOnly {
                        check_required(map.get(&attr.name), &At::Attr(&prefix, &attr.name))?;
                    }
                }
            }
            if !map.is_empty() && !listed {
                if self.options.repair_schemas {
                    schemas.push(ext.id.clone());
                } else {
                    // RFC 7643 §3: "The "schemas" attribute for a resource MUST only contain
                    // values defined as "schema" and "schemaExtensions" for the resource's
                    // defined "resourceType"." and §3.3: the attribute "MAY contain
                    // additional values indicating extended schemas that are in use".
                    return Err(ScimError::invalid_value(format!(
                        "the body has attributes of the extension '{}' but 'schemas' does not \
                         list it",
                        ext.id
                    )));
                }
            }
            extensions.push(map);
        }

        // `listed_schemas` has failed already if the core URN is missing and may not be added.
        let mut all = Vec::with_capacity(schemas.len() + 1);
        all.push(self.schema.core.id.clone());
        all.extend(schemas);
        Ok(Cleaned {
            schemas: all,
            core,
            extensions,
            cleared,
        })
    }

    /// The extension URNs `schemas` lists (canonical spelling, no duplicates, without the
    /// core URN). Fails on a missing core URN, an unknown URN or a duplicate unless the
    /// options allow repairs.
    fn listed_schemas(&self, value: Option<Value>) -> ScimResult<Vec<String>> {
        let repair = self.options.repair_schemas;
        let core = &self.schema.core.id;
        let raw: Vec<Value> = match value {
            None | Some(Value::Null) => {
                if !repair {
                    // RFC 7643 §3: "schemas ... REQUIRED."
                    return Err(ScimError::invalid_value(format!(
                        "'schemas' is required and must list '{core}'"
                    )));
                }
                Vec::new()
            }
            Some(Value::Array(items)) => items,
            Some(s @ Value::String(_)) if self.options.wrap_single_values => vec![s],
            Some(other) => {
                return Err(ScimError::invalid_syntax(format!(
                    "'schemas' must be an array of URI strings, not {}",
                    json_kind(&other)
                )));
            }
        };
        let mut listed: Vec<String> = Vec::new();
        let mut core_listed = false;
        for item in raw {
            let Value::String(urn) = item else {
                return Err(ScimError::invalid_syntax(format!(
                    "'schemas' must be an array of URI strings; it contains {}",
                    json_kind(&item)
                )));
            };
            let duplicate = if urn.eq_ignore_ascii_case(core) {
                std::mem::replace(&mut core_listed, true)
            } else if let Some(i) = self.extension_index(&urn) {
                let id = &self.schema.extensions[i].0.id;
                let dup = listed.contains(id);
                if !dup {
                    listed.push(id.clone());
                }
                dup
            } else if self.is_group() && urn.eq_ignore_ascii_case(ENTRA_GROUP_SCHEMA) {
                // Microsoft Entra ID lists its own schema in group creates; it defines no
                // attributes, so it is accepted and dropped in every mode.
                continue;
            } else if declares_other_type(&urn) {
                // A body that declares itself another kind of resource (a Group sent to
                // /Users) or a protocol message is not a damaged body of this type: no
                // preset repairs it into one. RFC 7643 §3: "The "schemas" attribute for a
                // resource MUST only contain values defined as "schema" and
                // "schemaExtensions" for the resource's defined "resourceType"."
                return Err(ScimError::invalid_value(format!(
                    "'schemas' lists '{urn}', which is not a schema of the {} resource type \
                     (its core schema is '{core}'); the body is not a {}",
                    self.schema.name(),
                    self.schema.name()
                )));
            } else if repair {
                continue;
            } else {
                return Err(ScimError::invalid_value(format!(
                    "'schemas' lists '{urn}', which is neither the core schema '{core}' nor an \
                     extension of the {} resource type",
                    self.schema.name()
                )));
            };
            if duplicate && !repair {
                // RFC 7643 §3: "Duplicate values MUST NOT be included."
                return Err(ScimError::invalid_value(format!(
                    "'schemas' lists '{urn}' more than once"
                )));
            }
        }
        if !core_listed && !repair {
            // RFC 7643 §3.3: "The "schemas" attribute MUST contain at least one value, which
            // SHALL be the base schema for the resource."
            return Err(ScimError::invalid_value(format!(
                "'schemas' must list the core schema '{core}'"
            )));
        }
        Ok(listed)
    }

    /// Validates the attributes of one container (core or one extension).
    fn clean_container(
        &self,
        entries: Vec<(String, Value)>,
        lookup: impl Fn(&str) -> Option<&'a Attribute>,
        urn: &str,
        prefix: &str,
        cleared: &mut HashSet<(String, String)>,
    ) -> ScimResult<Map<String, Value>> {
        let mut out = Map::with_capacity(entries.len() + 1);
        // The attributes met so far (a body names each at most once, case-insensitively): a
        // schema has tens of attributes, so a scan by identity beats hashing lower-cased names.
        let mut seen: Vec<&Attribute> = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Some(attr) = lookup(&key) else {
                self.unknown(&format!("{prefix}{key}"))?;
                continue;
            };
            if seen.iter().any(|a| std::ptr::eq(*a, attr)) {
                return Err(ScimError::invalid_syntax(format!(
                    "attribute '{prefix}{}' appears more than once (attribute names are case \
                     insensitive)",
                    attr.name
                )));
            }
            seen.push(attr);
            if attr.mutability == Mutability::ReadOnly {
                // RFC 7644 §3.3: "In the request body, attributes whose mutability is
                // "readOnly" (see Sections 2.2 and 7 of [RFC7643]) SHALL be ignored."
                continue;
            }
            match self
                .values()
                .clean_value(value, attr, &At::Attr(prefix, &attr.name))?
            {
                Some(v) => {
                    out.insert(canonical_key(key, &attr.name), v);
                }
                None => {
                    cleared.insert((urn.to_ascii_lowercase(), attr.name.to_ascii_lowercase()));
                }
            }
        }
        Ok(out)
    }
}

/// Where a value sits in a request body, for error details (`emails[0].value`): written
/// out only when a detail is. Built as a string for every value checked, the paths were a
/// twentieth of the cost of creating a user.
#[derive(Clone, Copy)]
pub(crate) enum At<'a> {
    /// An attribute: the prefix of its container (`urn:...:` in an extension) and its name.
    Attr(&'a str, &'a str),
    /// The `index`th element of a multi-valued attribute.
    Item(&'a dyn Display, usize),
    /// A sub-attribute of a complex value.
    Sub(&'a dyn Display, &'a str),
}

impl Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Attr(prefix, name) => write!(f, "{prefix}{name}"),
            At::Item(parent, index) => write!(f, "{parent}[{index}]"),
            At::Sub(parent, name) => write!(f, "{parent}.{name}"),
        }
    }
}

/// The value checks, which need only the options (and the resource type's name for
/// messages).
pub(super) struct Values<'a> {
    pub(super) options: &'a ValidationOptions,
    pub(super) type_name: &'a str,
}

impl Values<'_> {
    /// An attribute the schema does not define: an error when unknown attributes are
    /// rejected, otherwise `Ok` (the caller drops it).
    pub(super) fn unknown(&self, what: &str) -> ScimResult<()> {
        if !self.options.reject_unknown_attributes {
            return Ok(());
        }
        Err(ScimError::invalid_syntax(if self.type_name.is_empty() {
            format!("'{what}' is not defined by the schema")
        } else {
            format!(
                "'{what}' is not an attribute of the {} resource type",
                self.type_name
            )
        }))
    }

    /// Validates one attribute value; `None` means unassigned (RFC 7643 §2.5).
    pub(super) fn clean_value(
        &self,
        value: Value,
        attr: &Attribute,
        path: &dyn Display,
    ) -> ScimResult<Option<Value>> {
        match value {
            // RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array (in the
            // case of a multi-valued attribute) SHALL be considered to be equivalent in
            // "state"."
            Value::Null => Ok(None),
            Value::Array(items) if attr.multi_valued => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let item_path = At::Item(path, i);
                    if item.is_array() {
                        return Err(ScimError::invalid_value(format!(
                            "'{item_path}' is an array inside a multi-valued attribute"
                        )));
                    }
                    if let Some(v) = self.clean_single(item, attr, &item_path)? {
                        out.push(v);
                    }
                }
                if out.is_empty() {
                    return Ok(None);
                }
                if attr.is_complex() {
                    check_primary(&out, path)?;
                }
                Ok(Some(Value::Array(out)))
            }
            other if attr.multi_valued => {
                if self.options.wrap_single_values {
                    self.clean_value(Value::Array(vec![other]), attr, path)
                } else {
                    Err(ScimError::invalid_value(format!(
                        "'{path}' is multi-valued and must be a JSON array, not {}",
                        json_kind(&other)
                    )))
                }
            }
            Value::Array(mut items) => {
                if self.options.unwrap_single_element_arrays && items.len() <= 1 {
                    match items.pop() {
                        None => Ok(None),
                        Some(item) if item.is_array() => Err(ScimError::invalid_value(format!(
                            "'{path}' is single-valued and must not be an array"
                        ))),
                        Some(item) => self.clean_single(item, attr, path),
                    }
                } else {
                    Err(ScimError::invalid_value(format!(
                        "'{path}' is single-valued and must not be an array"
                    )))
                }
            }
            other => self.clean_single(other, attr, path),
        }
    }

    /// Validates one (non-array) value against the attribute's type.
    fn clean_single(
        &self,
        value: Value,
        attr: &Attribute,
        path: &dyn Display,
    ) -> ScimResult<Option<Value>> {
        let wrong = |v: &Value, expected: &str| {
            ScimError::invalid_value(format!(
                "'{path}' must be {expected} (RFC 7643 §2.3), not {}",
                json_kind(v)
            ))
        };
        match attr.attr_type {
            AttributeType::Complex => match value {
                Value::Null => Ok(None),
                Value::Object(map) => self.clean_complex(map, attr, path),
                scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_))
                    if self.options.wrap_scalar_in_complex =>
                {
                    match attr.sub_attribute("value") {
                        Some(sub) => {
                            let mut map = Map::new();
                            map.insert(sub.name.clone(), scalar);
                            self.clean_complex(map, attr, path)
                        }
                        None => Err(wrong(&scalar, "a JSON object (a complex value)")),
                    }
                }
                other => Err(wrong(&other, "a JSON object (a complex value)")),
            },
            AttributeType::String => match value {
                Value::String(s) => {
                    self.check_canonical(&s, attr, path)?;
                    Ok(Some(Value::String(s)))
                }
                other => Err(wrong(&other, "a string")),
            },
            AttributeType::Boolean => match value {
                Value::Bool(b) => Ok(Some(Value::Bool(b))),
                Value::String(s) if self.options.coerce_string_booleans => {
                    match bool_from_str(&s) {
                        Some(b) => Ok(Some(Value::Bool(b))),
                        None => Err(ScimError::invalid_value(format!(
                            "'{path}' must be a boolean; the string \"{s}\" is neither \"true\" \
                             nor \"false\""
                        ))),
                    }
                }
                other => Err(wrong(&other, "a boolean (true or false)")),
            },
            AttributeType::Decimal => match value {
                Value::Number(n) => Ok(Some(Value::Number(n))),
                other => Err(wrong(&other, "a decimal number")),
            },
            AttributeType::Integer => match value {
                Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(Value::Number(n))),
                Value::Number(n) => Err(ScimError::invalid_value(format!(
                    "'{path}' must be an integer (RFC 7643 §2.3.4: \"A decimal number with no \
                     fractional digits.\"), not {n}"
                ))),
                other => Err(wrong(&other, "an integer")),
            },
            AttributeType::DateTime => match value {
                Value::String(s) => {
                    check_lexical(AttributeType::DateTime, &s, path)?;
                    Ok(Some(Value::String(s)))
                }
                other => Err(wrong(&other, "a dateTime string")),
            },
            AttributeType::Binary => match value {
                Value::String(s) => {
                    check_lexical(AttributeType::Binary, &s, path)?;
                    Ok(Some(Value::String(s)))
                }
                other => Err(wrong(&other, "a base64 string")),
            },
            AttributeType::Reference => match value {
                Value::String(s) => Ok(Some(Value::String(s))),
                other => Err(wrong(&other, "a reference (a URI string)")),
            },
        }
    }

    fn check_canonical(&self, s: &str, attr: &Attribute, path: &dyn Display) -> ScimResult<()> {
        if !self.options.enforce_canonical_values || attr.canonical_values.is_empty() {
            return Ok(());
        }
        let ok = attr.canonical_values.iter().any(|c| {
            if attr.case_exact {
                c == s
            } else {
                c.eq_ignore_ascii_case(s)
            }
        });
        if ok {
            Ok(())
        } else {
            Err(ScimError::invalid_value(format!(
                "'{path}' is \"{s}\", which is not one of its canonical values [{}]",
                attr.canonical_values.join(", ")
            )))
        }
    }

    /// Validates the sub-attributes of one complex value.
    fn clean_complex(
        &self,
        map: Map<String, Value>,
        attr: &Attribute,
        path: &dyn Display,
    ) -> ScimResult<Option<Value>> {
        let mut out = Map::with_capacity(map.len());
        for (key, value) in map {
            let sub = attr
                .sub_attribute(&key)
                .or_else(|| crate::schema::default_sub_attribute(attr, &key));
            let Some(sub) = sub else {
                self.unknown(&format!("{path}.{key}"))?;
                continue;
            };
            if out.contains_key(&sub.name) {
                return Err(ScimError::invalid_syntax(format!(
                    "sub-attribute '{path}.{}' appears more than once (attribute names are case \
                     insensitive)",
                    sub.name
                )));
            }
            if sub.mutability == Mutability::ReadOnly {
                // RFC 7644 §3.3: readOnly values "SHALL be ignored".
                continue;
            }
            let v = self.clean_value(value, sub, &At::Sub(path, &sub.name))?;
            // Kept as `null` when cleared, so that a second, differently cased key is
            // still caught.
            out.insert(canonical_key(key, &sub.name), v.unwrap_or(Value::Null));
        }
        out.retain(|_, v| !v.is_null());
        if out.is_empty() {
            return Ok(None);
        }
        for sub in &attr.sub_attributes {
            if sub.required && sub.mutability != Mutability::ReadOnly {
                check_required(out.get(&sub.name), &At::Sub(path, &sub.name))?;
            }
        }
        Ok(Some(Value::Object(out)))
    }
}

/// The schema's spelling of an attribute name, reusing the body's key when it is spelled so
/// already (as real clients send it) instead of allocating a copy.
fn canonical_key(key: String, name: &str) -> String {
    if key == name { key } else { name.to_owned() }
}

/// Is `urn` the core schema of a resource type (RFC 7643 §8.7's
/// `urn:ietf:params:scim:schemas:core:2.0:...`) or a protocol message (RFC 7644 §3.1
/// `urn:ietf:params:scim:api:messages:2.0:...`)? Listed in the `schemas` of a body for another
/// resource type, it says the body is something else, which the lenient preset never repairs
/// (real clients list the core schema of the endpoint they write to; the only foreign URN they
/// are known to list is Entra's own Group schema, handled apart).
fn declares_other_type(urn: &str) -> bool {
    [
        "urn:ietf:params:scim:schemas:core:",
        "urn:ietf:params:scim:api:messages:",
    ]
    .iter()
    .any(|p| {
        urn.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    })
}

/// 400 `invalidValue` for a missing required attribute, or one whose value is a string that
/// is empty or only white space (`"userName": ""` names no one). RFC 7644 §3.12: invalidValue
/// is for "A required value was missing, or the value specified was not compatible with the
/// operation or attribute type".
pub(crate) fn check_required(value: Option<&Value>, path: &dyn Display) -> ScimResult<()> {
    match value {
        None | Some(Value::Null) => Err(ScimError::invalid_value(format!(
            "required attribute '{path}' is missing"
        ))),
        Some(Value::Array(a)) if a.is_empty() => Err(ScimError::invalid_value(format!(
            "required attribute '{path}' is missing"
        ))),
        Some(Value::String(s)) if s.trim().is_empty() => Err(ScimError::invalid_value(format!(
            "required attribute '{path}' is empty"
        ))),
        Some(_) => Ok(()),
    }
}

/// RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."
fn check_primary(items: &[Value], path: &dyn Display) -> ScimResult<()> {
    let primaries = items
        .iter()
        .filter(|v| {
            v.as_object()
                .and_then(|o| crate::resource::get_ci(o, "primary"))
                == Some(&Value::Bool(true))
        })
        .count();
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "'{path}' has {primaries} values with \"primary\": true; RFC 7643 §2.4 allows at most \
             one"
        )));
    }
    Ok(())
}
