//! The indexed attribute paths of a resource type and the `attr_index` rows of a resource,
//! shared by the SQL backends (SQLite and PostgreSQL index exactly the same rows).
//!
//! The rows are extracted the way scim-core's evaluator (`Filter::compile` +
//! `CompiledFilter::matches`) walks a resource (RFC 7644 §3.4.2.2: "If the specified
//! attribute in a filter expression is a multi-valued attribute, the filter matches if any of
//! the values of the specified attribute match the specified criterion"):
//!
//! * the attribute is looked up case-insensitively (an exact match wins), under the
//!   extension object when it belongs to an extension;
//! * arrays are flattened and nulls skipped; with a sub-attribute (`emails.value`) each
//!   object element's sub-attribute is taken, non-object elements are skipped;
//! * each string value gives a row whose `value_norm` is the value itself for caseExact
//!   attributes and the value lower-cased char by char (`char::to_lowercase`, the evaluator's
//!   mapping, not the database's ASCII-only or collation-dependent `lower()`) otherwise;
//! * a non-string value that is "present" (RFC 7644 §3.4.2.2 `pr`: "a non-empty or non-null
//!   value") gives one row with a NULL `value_norm`; a non-empty string is present too;
//! * every row carries `elem`, the element it comes from: 0 for a single-valued attribute,
//!   and for a sub-attribute of a multi-valued complex attribute (`emails.type`) the position
//!   of the element in the array, so that a value path (`emails[type eq "work" and value co
//!   "x"]`, RFC 7644 §3.4.2.2 "valuePath") can require both conditions of the SAME element;
//! * inside a value path the evaluator reads a primitive element (`"emails": ["a@b.c"]`) as
//!   the element's `value` (but `emails.value` outside a value path skips it): such elements
//!   give rows under the parent's key ([`IndexedPath::element_key`], `emails`), which only
//!   value paths read.

use std::collections::BTreeSet;

use scim_core::resource::get_ci;
use scim_core::schema::{AttributeType, Mutability, ResourceSchema, Returned};
use scim_core::{AttrPath, Resource};
use serde_json::{Map, Value};

/// The attribute paths indexed when the resource type defines them (as string attributes).
const CANDIDATES: &[(&str, Option<&str>)] = &[
    ("id", None),
    ("externalId", None),
    ("userName", None),
    ("displayName", None),
    ("emails", Some("value")),
    ("emails", Some("type")),
];

/// The version of the row format; part of [`layout`], so that a change of the format
/// rebuilds the rows like a change of the indexed paths does.
const ROW_FORMAT: u32 = 2;

/// One indexed attribute path of a resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexedPath {
    /// The key stored in `attr_index.path` (lower-cased canonical path).
    pub key: String,
    /// The extension URN whose object holds the attribute, for extension attributes.
    pub ext: Option<String>,
    /// The attribute name as the schema spells it.
    pub name: String,
    /// The sub-attribute name, if any.
    pub sub: Option<String>,
    /// Compare exactly (caseExact, or binary).
    pub case_exact: bool,
    /// For the `value` sub-attribute of a complex attribute: the key (the attribute's own,
    /// e.g. `emails`) of the rows of its primitive elements, which a value path reads as
    /// their `value` (scim-core's evaluator: "a primitive element is the `value` of the
    /// element").
    pub element_key: Option<String>,
}

/// The canonical key of a resolved path.
pub(crate) fn key_of(schema: &ResourceSchema, path: &AttrPath) -> Option<(String, IndexedPath)> {
    if schema.extension_for_path(path).is_some() {
        return None;
    }
    let r = schema.resolve(path)?;
    let target = r.target();
    let string_like = matches!(
        target.attr_type,
        AttributeType::String | AttributeType::Reference | AttributeType::Binary
    );
    let never = target.returned == Returned::Never || target.mutability == Mutability::WriteOnly;
    if !string_like || never || (r.sub_attribute.is_none() && r.attribute.is_complex()) {
        return None;
    }
    let mut key = String::new();
    if r.in_extension {
        key.push_str(r.schema_urn);
        key.push(':');
    }
    key.push_str(&r.attribute.name);
    if let Some(sub) = r.sub_attribute {
        key.push('.');
        key.push_str(&sub.name);
    }
    let key = key.to_lowercase();
    let element_key = match r.sub_attribute {
        Some(sub) if sub.name.eq_ignore_ascii_case("value") => {
            key.rsplit_once('.').map(|(parent, _)| parent.to_string())
        }
        _ => None,
    };
    let ip = IndexedPath {
        key: key.clone(),
        ext: r.in_extension.then(|| r.schema_urn.to_string()),
        name: r.attribute.name.clone(),
        sub: r.sub_attribute.map(|s| s.name.clone()),
        case_exact: target.case_exact || target.attr_type == AttributeType::Binary,
        element_key,
    };
    Some((key, ip))
}

/// The indexed paths of a resource type.
pub(crate) fn indexed_paths(schema: &ResourceSchema) -> Vec<IndexedPath> {
    let mut out: Vec<IndexedPath> = Vec::new();
    for (name, sub) in CANDIDATES {
        let path = match sub {
            Some(s) => AttrPath::with_sub(*name, *s),
            None => AttrPath::new(*name),
        };
        if let Some((key, ip)) = key_of(schema, &path) {
            if !out.iter().any(|p| p.key == key) {
                out.push(ip);
            }
        }
    }
    out
}

/// Lower-cases char by char, exactly as scim-core's evaluator does.
pub(crate) fn lower(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// The `value_norm` of a string value: itself for caseExact paths, else [`lower`]ed.
pub(crate) fn normalise(s: &str, case_exact: bool) -> String {
    if case_exact { s.to_string() } else { lower(s) }
}

/// `v` itself, or each element of an array; nulls skipped (the evaluator's `each`).
fn each<'a>(v: &'a Value, f: &mut impl FnMut(&'a Value)) {
    match v {
        Value::Null => {}
        Value::Array(items) => items.iter().filter(|i| !i.is_null()).for_each(f),
        other => f(other),
    }
}

/// RFC 7644 §3.4.2.2 `pr`: "a non-empty or non-null value, or ... a non-empty node for
/// complex attributes".
fn is_non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_non_empty),
        Value::Object(members) => members.values().any(is_non_empty),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// Calls `f(key, elem, value)` for each value at `path` in `map`, as the evaluator sees
/// them (see the module docs).
fn values_at<'a>(
    path: &'a IndexedPath,
    map: &'a Map<String, Value>,
    f: &mut impl FnMut(&'a str, i64, &'a Value),
) {
    let container = match &path.ext {
        None => map,
        Some(urn) => match get_ci(map, urn) {
            Some(Value::Object(o)) => o,
            _ => return,
        },
    };
    let Some(top) = get_ci(container, &path.name) else {
        return;
    };
    let Some(sub) = &path.sub else {
        each(top, &mut |v| f(&path.key, 0, v));
        return;
    };
    // The elements as the evaluator's `each` yields them, numbered by array position.
    let elements: Vec<(i64, &Value)> = match top {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.is_null())
            .map(|(i, e)| (i64::try_from(i).unwrap_or(i64::MAX), e))
            .collect(),
        other => vec![(0, other)],
    };
    for (i, e) in elements {
        match e {
            Value::Object(o) => {
                if let Some(x) = get_ci(o, sub) {
                    each(x, &mut |v| f(&path.key, i, v));
                }
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                if let Some(k) = &path.element_key {
                    f(k, i, e);
                }
            }
            Value::Null | Value::Array(_) => {}
        }
    }
}

/// One `attr_index` row: `(path key, elem, value_norm)`, `None` marking a present
/// non-string value.
pub(crate) type IndexRow = (String, i64, Option<String>);

/// The `attr_index` rows of a resource. Distinct.
pub(crate) fn index_rows(paths: &[IndexedPath], resource: &Resource) -> BTreeSet<IndexRow> {
    let mut rows = BTreeSet::new();
    for p in paths {
        values_at(p, resource.as_map(), &mut |key, elem, v| match v {
            Value::String(s) => {
                rows.insert((key.to_string(), elem, Some(normalise(s, p.case_exact))));
            }
            other if is_non_empty(other) => {
                rows.insert((key.to_string(), elem, None));
            }
            _ => {}
        });
    }
    rows
}

/// A description of the rows [`index_rows`] writes for these paths (keys, case folding, the
/// row format). The SQL backends store it per resource type and rebuild the rows of a type
/// whose stored layout differs (see `ensure_layout` in each backend).
pub(crate) fn layout(paths: &[IndexedPath]) -> String {
    let mut out = format!("v{ROW_FORMAT}");
    for p in paths {
        out.push(';');
        out.push_str(&p.key);
        out.push(if p.case_exact { '=' } else { '~' });
        if let Some(k) = &p.element_key {
            out.push('+');
            out.push_str(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_core::builtin::{group_resource_schema, user_resource_schema};

    #[test]
    fn user_and_group_index_the_lookup_attributes() {
        let keys: Vec<String> = indexed_paths(&user_resource_schema())
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "externalid",
                "username",
                "displayname",
                "emails.value",
                "emails.type"
            ]
        );
        let keys: Vec<String> = indexed_paths(&group_resource_schema())
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(keys, ["id", "externalid", "displayname"]);
    }

    #[test]
    fn rows_follow_the_evaluator() {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        let user = Resource::from_value(serde_json::json!({
            "id": "A1", "USERNAME": "BJensen", "displayName": "",
            "emails": [{"value": "B@X.org", "type": "Work"}, "plain@String.org", null,
                       {"VALUE": ["Two@x.org", 5]}, {"type": "home"}, [{"value": "nested"}]],
            "externalId": 42
        }))
        .unwrap();
        let rows: Vec<IndexRow> = index_rows(&paths, &user).into_iter().collect();
        let s = |p: &str, e: i64, v: Option<&str>| (p.to_string(), e, v.map(str::to_string));
        assert_eq!(
            rows,
            vec![
                s("displayname", 0, Some("")),
                // The primitive element, for value paths only.
                s("emails", 1, Some("plain@string.org")),
                s("emails.type", 0, Some("work")),
                s("emails.type", 4, Some("home")),
                s("emails.value", 0, Some("b@x.org")),
                s("emails.value", 3, None),
                s("emails.value", 3, Some("two@x.org")),
                s("externalid", 0, None),
                s("id", 0, Some("A1")),
                s("username", 0, Some("bjensen")),
            ]
        );
        // A single complex value (not an array) is element 0.
        let single =
            Resource::from_value(serde_json::json!({"emails": {"value": "a", "type": "b"}}))
                .unwrap();
        let rows: Vec<IndexRow> = index_rows(&paths, &single).into_iter().collect();
        assert_eq!(
            rows,
            vec![
                s("emails.type", 0, Some("b")),
                s("emails.value", 0, Some("a"))
            ]
        );
    }

    #[test]
    fn layouts_change_with_paths_and_folding() {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        assert_eq!(
            layout(&paths),
            "v2;id=;externalid=;username~;displayname~;emails.value~+emails;emails.type~"
        );
        let mut exact = paths.clone();
        exact[2].case_exact = true;
        assert_ne!(layout(&exact), layout(&paths));
    }

    #[test]
    fn unicode_lowercasing_is_char_wise() {
        // str::to_lowercase maps a final Σ to ς; the evaluator (char-wise) maps it to σ.
        assert_eq!(lower("ΟΔΟΣ"), "οδοσ");
        assert_eq!(lower("\u{212A}elvin"), "kelvin");
    }
}
