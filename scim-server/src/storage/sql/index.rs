//! The indexed attribute paths of a resource type and the `attr_index` rows of a resource,
//! shared by the SQL backends (SQLite and PostgreSQL index exactly the same rows).
//!
//! EVERY attribute value is indexed (RFC 7644 §3.4.2.2 lets a client filter on any
//! attribute): each leaf path of the core schema, the common attributes (`id`, `externalId`,
//! `meta.*`) and every extension, whatever its type, except values that are never returned
//! (`returned: never` / `writeOnly`, e.g. `password`), the membership kept in the `members`
//! table (`members`), the computed `groups` of a User (both answered from `members`),
//! `id`, which the `resources` table holds in its own column under its unique key
//! `(tenant, rtype, id)` ([`id_path`]: filters and sorts on it read that column), and
//! `meta.resourceType`, which is the name of the resource type for every resource of it
//! (RFC 7643 §3.1; the rows are kept per resource type), so a filter on it is answered
//! without rows ([`resource_type_path`]). Each of the two was a row per resource, a tenth
//! of a user's rows.
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
//! * each value gives ONE row (so "the attribute has a value" is "it has a row", which `ne`
//!   needs), typed by the attribute's `type` ([`Kind`]):
//!   - string, reference, binary: `value_norm` is the value itself for caseExact (and
//!     binary) attributes, else its case folding ([`scim_core::casefold::fold`], the folding
//!     of uniqueness, filters and sorting);
//!   - boolean: `value_norm` `true` / `false` (also for the strings the evaluator reads as
//!     booleans);
//!   - integer, decimal: `value_num`, the number (compared numerically);
//!   - dateTime (RFC 7643 §2.3.5): `value_norm`, the instant in UTC with nanoseconds at a
//!     fixed width, so that byte order is chronological order and `2011-05-13T06:42:34+02:00`
//!     equals `2011-05-13T04:42:34Z`;
//!   - an empty string gives `value_norm` `''` (a value, but not present: `pr` is false);
//!     a value of another JSON type than the attribute's, or one that does not parse, gives
//!     a row with both NULL: present, and only `ne` holds for it, as in the evaluator;
//! * every row carries `elem`, the element it comes from: 0 for a single-valued attribute,
//!   and for a sub-attribute of a multi-valued complex attribute (`emails.type`) the position
//!   of the element in the array, so that a value path (`emails[type eq "work" and value co
//!   "x"]`, RFC 7644 §3.4.2.2 "valuePath") can require both conditions of the SAME element;
//! * inside a value path the evaluator reads a primitive element (`"emails": ["a@b.c"]`) as
//!   the element's `value` (but `emails.value` outside a value path skips it): such elements
//!   give rows under the parent's key ([`IndexedPath::element_key`], `emails`), which only
//!   value paths and the implicit `value` of `emails eq "..."` read.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use scim_core::resource::{bool_from_str, datetime_from_str, get_ci};
use scim_core::schema::{
    Attribute, AttributeType, Mutability, ResourceSchema, Returned, common_attributes,
};
use scim_core::sort::sort_key;
use scim_core::{AttrPath, Resource};
use serde_json::{Map, Value};

use super::sort::encode_key;
use super::value_order::{ValueOrder, irregular_key};

/// The version of the row format; part of [`layout`], so that a change of the format
/// rebuilds the rows like a change of the indexed paths does. Version 3: every attribute,
/// typed columns, case folding. Version 4: a single-valued path's sort key only where its
/// value rows do not imply it (see [`super::value_order`]), a multi-valued path's on the
/// row of the value it comes from instead of a row of its own.
const ROW_FORMAT: u32 = 4;

/// How the values of an indexed path are stored and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// String, reference, binary: `value_norm`, folded unless `case_exact`.
    Str {
        /// Compare exactly (caseExact, or binary).
        case_exact: bool,
    },
    /// Boolean: `value_norm` `true` / `false`.
    Bool,
    /// Integer, decimal: `value_num`.
    Num,
    /// DateTime: `value_norm`, the UTC instant at a fixed width.
    DateTime,
}

impl Kind {
    fn of(a: &Attribute) -> Option<Kind> {
        Some(match a.attr_type {
            AttributeType::String | AttributeType::Reference => Kind::Str {
                case_exact: a.case_exact,
            },
            AttributeType::Binary => Kind::Str { case_exact: true },
            AttributeType::Boolean => Kind::Bool,
            AttributeType::Integer | AttributeType::Decimal => Kind::Num,
            AttributeType::DateTime => Kind::DateTime,
            AttributeType::Complex => return None,
        })
    }

    fn tag(self) -> &'static str {
        match self {
            Kind::Str { case_exact: true } => "=",
            Kind::Str { case_exact: false } => "~",
            Kind::Bool => "b",
            Kind::Num => "n",
            Kind::DateTime => "d",
        }
    }
}

/// One indexed attribute path of a resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexedPath {
    /// The path's name in the index (lower-cased canonical path); its rows hold its
    /// [`PathKeys::of`](super::path_key::PathKeys::of) in `attr_index.path_key`.
    pub key: String,
    /// The extension URN whose object holds the attribute, for extension attributes.
    pub ext: Option<String>,
    /// The attribute name as the schema spells it.
    pub name: String,
    /// The sub-attribute name, if any.
    pub sub: Option<String>,
    /// How values are stored and compared.
    pub kind: Kind,
    /// The attribute (or, for a sub-attribute, its parent) is multi-valued: the sort key
    /// sits on the row of the value it comes from (see [`super::sort`]).
    pub multi_valued: bool,
    /// The path, as a filter or `sortBy` names it.
    pub path: AttrPath,
    /// For the `value` sub-attribute of a complex attribute: the key (the attribute's own,
    /// e.g. `emails`) of the rows of its primitive elements, which a value path reads as
    /// their `value` (scim-core's evaluator: "a primitive element is the `value` of the
    /// element").
    pub element_key: Option<String>,
}

/// Is this attribute's membership or value kept outside the resource JSON (`members` in
/// the `members` table, the computed `groups` of a User)?
fn kept_apart(name: &str) -> bool {
    name.eq_ignore_ascii_case("members") || name.eq_ignore_ascii_case("groups")
}

/// Does `path` name `meta.resourceType`, "the name of the resource type of the resource"
/// (RFC 7643 §3.1): the same value for every resource of a resource type, so it needs no
/// rows (a filter on it holds for all of them or for none).
pub(crate) fn resource_type_path(schema: &ResourceSchema, path: &AttrPath) -> bool {
    // The names first: this runs for every leaf of a filter.
    path.name.eq_ignore_ascii_case("meta")
        && path
            .sub_attr
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("resourceType"))
        && schema.extension_for_path(path).is_none()
        && schema.resolve(path).is_some_and(|r| {
            !r.in_extension
                && r.attribute.name.eq_ignore_ascii_case("meta")
                && r.sub_attribute
                    .is_some_and(|s| s.name.eq_ignore_ascii_case("resourceType"))
        })
}

/// Does `path` name the common attribute `id` (RFC 7643 §3.1: caseExact), which the
/// `resources` table holds in its column `id`, compared exactly in byte order (SQLite's
/// BINARY collation, PostgreSQL's `COLLATE "C"`)? Only a caseExact `id` is read there.
pub(crate) fn id_path(schema: &ResourceSchema, path: &AttrPath) -> bool {
    path.sub_attr.is_none()
        && path.name.eq_ignore_ascii_case("id")
        && schema.extension_for_path(path).is_none()
        && schema.resolve(path).is_some_and(|r| {
            !r.in_extension
                && r.sub_attribute.is_none()
                && r.attribute.name == "id"
                && r.attribute.case_exact
        })
}

/// The canonical key of a resolved path, and the indexed path, when it is indexed.
pub(crate) fn key_of(schema: &ResourceSchema, path: &AttrPath) -> Option<(String, IndexedPath)> {
    if schema.extension_for_path(path).is_some()
        || resource_type_path(schema, path)
        || id_path(schema, path)
    {
        return None;
    }
    let r = schema.resolve(path)?;
    let target = r.target();
    let never =
        |a: &Attribute| a.returned == Returned::Never || a.mutability == Mutability::WriteOnly;
    if never(target) || never(r.attribute) || kept_apart(&r.attribute.name) {
        return None;
    }
    if r.sub_attribute.is_none() && r.attribute.is_complex() {
        return None;
    }
    let kind = Kind::of(target)?;
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
        Some(sub) if sub.name.eq_ignore_ascii_case("value") && r.attribute.multi_valued => {
            key.rsplit_once('.').map(|(parent, _)| parent.to_string())
        }
        _ => None,
    };
    let ip = IndexedPath {
        key: key.clone(),
        ext: r.in_extension.then(|| r.schema_urn.to_string()),
        name: r.attribute.name.clone(),
        sub: r.sub_attribute.map(|s| s.name.clone()),
        kind,
        multi_valued: r.attribute.multi_valued,
        path: {
            let mut p = match r.sub_attribute {
                Some(sub) => AttrPath::with_sub(r.attribute.name.clone(), sub.name.clone()),
                None => AttrPath::new(r.attribute.name.clone()),
            };
            p.uri = r.in_extension.then(|| r.schema_urn.to_string());
            p
        },
        element_key,
    };
    Some((key, ip))
}

/// The indexed paths of a resource type: every leaf path (an attribute, or a sub-attribute
/// of a complex one) of the core schema, the common attributes and every extension, except
/// those [`key_of`] leaves out.
pub(crate) fn indexed_paths(schema: &ResourceSchema) -> Vec<IndexedPath> {
    let mut candidates: Vec<AttrPath> = Vec::new();
    let mut add = |uri: Option<&str>, a: &Attribute| {
        let make = |sub: Option<&str>| {
            let mut p = match sub {
                Some(s) => AttrPath::with_sub(a.name.clone(), s.to_string()),
                None => AttrPath::new(a.name.clone()),
            };
            p.uri = uri.map(str::to_string);
            p
        };
        if a.is_complex() {
            for sub in &a.sub_attributes {
                candidates.push(make(Some(&sub.name)));
            }
        } else {
            candidates.push(make(None));
        }
    };
    for a in common_attributes().iter().chain(&schema.core.attributes) {
        add(None, a);
    }
    for (ext, _) in &schema.extensions {
        for a in &ext.attributes {
            add(Some(&ext.id), a);
        }
    }
    let mut out: Vec<IndexedPath> = Vec::new();
    for path in candidates {
        if let Some((key, ip)) = key_of(schema, &path) {
            if !out.iter().any(|p| p.key == key) {
                out.push(ip);
            }
        }
    }
    out
}

/// The `value_norm` of a string value: itself for caseExact paths, else case-folded
/// ([`scim_core::casefold::fold`]).
pub(crate) fn normalise(s: &str, case_exact: bool) -> String {
    crate::storage::unique::normalise(s, case_exact)
}

/// The `value_norm` of a dateTime: the instant in UTC, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, so
/// that byte order is chronological order.
///
/// Written by chrono's RFC 3339 writer (`SecondsFormat::Nanos`, `Z`), which gives those
/// bytes without reading a `strftime` string on every call (3,700 instructions per date,
/// two per created user); a test holds it to that format, leap seconds and years past
/// 9999 included.
pub(crate) fn datetime_norm(d: &DateTime<FixedOffset>) -> String {
    d.with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A number as stored in `value_num`, ordered by [`f64::total_cmp`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Num(pub f64);

impl PartialEq for Num {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// `(value_norm, value_num)` of one value at a path of `kind`; `None` for a value that
/// gives no row (an empty object or array at a simple path).
fn typed(kind: Kind, v: &Value) -> Option<(Option<String>, Option<Num>)> {
    let empty = matches!(v, Value::String(s) if s.is_empty());
    if empty {
        return Some((Some(String::new()), None));
    }
    let incomparable = if is_non_empty(v) {
        Some((None, None))
    } else {
        None
    };
    match (kind, v) {
        (Kind::Str { case_exact }, Value::String(s)) => {
            Some((Some(normalise(s, case_exact)), None))
        }
        (Kind::Bool, Value::Bool(b)) => Some((Some(b.to_string()), None)),
        (Kind::Bool, Value::String(s)) => match bool_from_str(s) {
            Some(b) => Some((Some(b.to_string()), None)),
            None => incomparable,
        },
        (Kind::Num, Value::Number(n)) => Some((None, n.as_f64().map(Num))),
        (Kind::DateTime, Value::String(s)) => match datetime_from_str(s) {
            Some(d) => Some((Some(datetime_norm(&d)), None)),
            None => incomparable,
        },
        _ => incomparable,
    }
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
/// them (see the module docs). `tops` remembers the attribute the previous path of the same
/// resource found (see [`Tops`]).
fn values_at<'a>(
    path: &'a IndexedPath,
    map: &'a Map<String, Value>,
    tops: &mut Tops<'a>,
    f: &mut impl FnMut(&'a str, i64, &'a Value),
) {
    let Some(top) = tops.top(path, map) else {
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

/// The attribute (its value in the resource, if any) that the last path looked up names.
/// The indexed paths of an attribute come one after the other (`emails.value`,
/// `emails.type`, ...; see [`indexed_paths`]), so a resource's paths look up each attribute
/// once: the lookups ignore case (RFC 7643 §2.1), and an attribute the resource lacks costs
/// a scan of its members each time.
#[derive(Default)]
struct Tops<'a> {
    last: Option<(&'a IndexedPath, Option<&'a Value>)>,
}

impl<'a> Tops<'a> {
    /// The value of `path`'s attribute (in its extension's object, for an extension
    /// attribute) in `map`.
    fn top(&mut self, path: &'a IndexedPath, map: &'a Map<String, Value>) -> Option<&'a Value> {
        if let Some((last, found)) = self.last
            && last.ext == path.ext
            && last.name == path.name
        {
            return found;
        }
        let found = match &path.ext {
            None => get_ci(map, &path.name),
            Some(urn) => match get_ci(map, urn) {
                Some(Value::Object(o)) => get_ci(o, &path.name),
                _ => None,
            },
        };
        self.last = Some((path, found));
        found
    }
}

/// One `attr_index` row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IndexRow {
    /// The indexed path ([`IndexedPath::key`]); the row's `path_key` is its
    /// [`PathKeys::of`](super::path_key::PathKeys::of).
    pub key: String,
    /// `elem`: the element of a multi-valued attribute (0 otherwise).
    pub elem: i64,
    /// `value_norm`.
    pub norm: Option<String>,
    /// `value_num`.
    pub num: Option<Num>,
    /// `skey`: the sort key (rows under a [`sort_key_path`]).
    pub skey: Option<Vec<u8>>,
}

/// The `attr_index` rows of a resource of the resource type `schema`: its values, and its
/// sort keys (scim-core's [`sort_key`], encoded by [`encode_key`]) in `skey`: for a
/// multi-valued path on the row of the value it comes from; for a single-valued path, only
/// when its value rows do not imply the key ([`irregular_key`]), on its first value row.
/// Distinct.
pub(crate) fn index_rows(
    paths: &[IndexedPath],
    schema: &ResourceSchema,
    resource: &Resource,
) -> BTreeSet<IndexRow> {
    let mut rows = BTreeSet::new();
    let mut tops = Tops::default();
    for p in paths {
        let mut mine: Vec<IndexRow> = Vec::new();
        values_at(p, resource.as_map(), &mut tops, &mut |key, elem, v| {
            if let Some((norm, num)) = typed(p.kind, v) {
                mine.push(IndexRow {
                    key: key.to_string(),
                    elem,
                    norm,
                    num,
                    skey: None,
                });
            }
        });
        if mine.is_empty() {
            // No row to write, and none for a sort key to sit on (see below).
            continue;
        }
        mine.sort();
        mine.dedup();
        let key = sort_key(resource, schema, &p.path);
        if p.multi_valued {
            // On the row of the value the key comes from (the primary or else first value,
            // RFC 7644 §3.4.2.3), or when none stands for it (a value of another type), on
            // the path's first row. The key's value always gives a row (only an empty
            // object or array gives none, and those have no key).
            if let Some(k) = key {
                let order = ValueOrder { kind: p.kind };
                let at = mine
                    .iter()
                    .position(|r| {
                        r.key == p.key
                            && order.stands_for(r.norm.as_deref(), r.num.map(|n| n.0), &k)
                    })
                    .or_else(|| mine.iter().position(|r| r.key == p.key));
                if let Some(row) = at.and_then(|i| mine.get_mut(i)) {
                    row.skey = Some(encode_key(&k));
                }
            }
        } else if let Some(skey) =
            irregular_key(ValueOrder { kind: p.kind }, &mine, &p.key, key.as_ref())
            && let Some(row) = mine.iter_mut().find(|r| r.key == p.key)
        {
            row.skey = Some(skey);
        }
        rows.extend(mine);
    }
    rows
}

/// A description of the rows [`index_rows`] writes for these paths (keys, types, case
/// folding, the row format). The SQL backends store it per resource type and rebuild the
/// rows of a type whose stored layout differs (see `ensure_layout` in each backend).
pub(crate) fn layout(paths: &[IndexedPath]) -> String {
    let mut out = format!("v{ROW_FORMAT}");
    for p in paths {
        out.push(';');
        out.push_str(&p.key);
        out.push_str(p.kind.tag());
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
    fn datetime_norm_is_the_utc_instant_with_nine_fraction_digits() {
        let reference = |d: &DateTime<FixedOffset>| {
            d.with_timezone(&Utc)
                .format("%Y-%m-%dT%H:%M:%S%.9fZ")
                .to_string()
        };
        for s in [
            "2026-12-06T17:03:00Z",
            "2026-12-06T17:03:00.5Z",
            "2026-12-06T17:03:00.123456789+02:00",
            "2011-08-01T18:29:49.793Z",
            "0001-01-01T00:00:00Z",
            "0000-01-01T00:30:00+01:00",
            "9999-12-31T23:59:59.999999999Z",
            "9999-12-31T23:30:00-01:00",
            "1998-12-31T23:59:60Z",
            "1998-12-31T23:59:60.25Z",
        ] {
            let d = datetime_from_str(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(datetime_norm(&d), reference(&d), "{s}");
        }
        let far = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z").unwrap()
            + chrono::Duration::days(400);
        assert_eq!(datetime_norm(&far), reference(&far));
        let before = DateTime::parse_from_rfc3339("0000-01-01T00:00:00Z").unwrap()
            - chrono::Duration::days(400);
        assert_eq!(datetime_norm(&before), reference(&before));
    }

    fn keys(schema: &ResourceSchema) -> Vec<String> {
        indexed_paths(schema).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn every_attribute_is_indexed_except_never_returned_and_membership() {
        let user = keys(&user_resource_schema());
        for k in [
            "externalid",
            "meta.created",
            "meta.lastmodified",
            "username",
            "name.familyname",
            "displayname",
            "title",
            "usertype",
            "active",
            "emails.value",
            "emails.type",
            "emails.primary",
            "x509certificates.value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager.value",
        ] {
            assert!(user.contains(&k.to_string()), "{k}: {user:?}");
        }
        // Never returned, the membership, and what the resource's own row holds.
        for k in [
            "password",
            "groups.value",
            "groups.display",
            "id",
            "meta.resourcetype",
        ] {
            assert!(!user.contains(&k.to_string()), "{k}");
        }
        let group = keys(&group_resource_schema());
        assert!(group.contains(&"displayname".to_string()));
        assert!(!group.iter().any(|k| k.starts_with("members")), "{group:?}");
    }

    fn row(key: &str, elem: i64, norm: Option<&str>, num: Option<f64>) -> IndexRow {
        IndexRow {
            key: key.into(),
            elem,
            norm: norm.map(str::to_string),
            num: num.map(Num),
            skey: None,
        }
    }

    /// The value rows (sort keys aside) of `json` under the keys `only`.
    fn rows_of(json: serde_json::Value, only: &[&str]) -> Vec<IndexRow> {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        let user = Resource::from_value(json).unwrap();
        index_rows(&paths, &schema, &user)
            .into_iter()
            .filter(|r| only.contains(&r.key.as_str()))
            .map(|mut r| {
                r.skey = None;
                r
            })
            .collect()
    }

    #[test]
    fn rows_follow_the_evaluator() {
        let rows = rows_of(
            serde_json::json!({
                "id": "A1", "USERNAME": "BJensen", "displayName": "",
                "emails": [{"value": "B@X.org", "type": "Work"}, "plain@String.org", null,
                           {"VALUE": ["Two@x.org", 5]}, {"type": "home"}, [{"value": "nested"}]],
                "externalId": 42
            }),
            &[
                "id",
                "username",
                "displayname",
                "emails",
                "emails.value",
                "emails.type",
                "externalid",
            ],
        );
        assert_eq!(
            rows,
            vec![
                row("displayname", 0, Some(""), None),
                // The primitive element, for value paths only.
                row("emails", 1, Some("plain@string.org"), None),
                row("emails.type", 0, Some("work"), None),
                row("emails.type", 4, Some("home"), None),
                row("emails.value", 0, Some("b@x.org"), None),
                row("emails.value", 3, None, None),
                row("emails.value", 3, Some("two@x.org"), None),
                row("externalid", 0, None, None),
                row("username", 0, Some("bjensen"), None),
            ]
        );
    }

    #[test]
    fn typed_rows() {
        let rows = rows_of(
            serde_json::json!({
                "active": "True",
                "meta": {"created": "2011-05-13T06:42:34+02:00", "lastModified": "yesterday"},
                "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": ""}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}
            }),
            &[
                "active",
                "meta.created",
                "meta.lastmodified",
                "emails.primary",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber",
            ],
        );
        assert_eq!(
            rows,
            vec![
                row("active", 0, Some("true"), None),
                row("emails.primary", 0, Some("true"), None),
                row("emails.primary", 1, Some(""), None),
                // RFC 7643 §2.3.5: the instant, in UTC.
                row(
                    "meta.created",
                    0,
                    Some("2011-05-13T04:42:34.000000000Z"),
                    None
                ),
                // Not a dateTime: present, only `ne` holds.
                row("meta.lastmodified", 0, None, None),
                row(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber",
                    0,
                    Some("7"),
                    None
                ),
            ]
        );
    }

    /// The `(path, skey)` of the rows of `user` that carry a sort key.
    fn keyed_rows(user: serde_json::Value) -> Vec<(String, Vec<u8>)> {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        let user = Resource::from_value(user).unwrap();
        index_rows(&paths, &schema, &user)
            .into_iter()
            .filter_map(|r| Some((r.key, r.skey?)))
            .collect()
    }

    fn string_key(s: &str) -> Vec<u8> {
        encode_key(&scim_core::sort::SortKey::String(s.into()))
    }

    #[test]
    fn sort_keys_sit_on_the_primary_value_row_for_multi_valued_paths_only() {
        let keyed = keyed_rows(serde_json::json!({
            "userName": "Zed",
            "active": "True",
            "meta": {"created": "2011-05-13T06:42:34+02:00"},
            "emails": [{"value": "b@x"}, {"value": "A@x", "primary": true}]
        }));
        // Multi-valued: the primary value (RFC 7644 §3.4.2.3), on its row. The
        // single-valued paths' rows imply their keys (the folded string, the boolean Entra
        // ID sends as a string, the instant): none of their own.
        let primary = encode_key(&scim_core::sort::SortKey::Bool(true));
        assert_eq!(
            keyed,
            vec![
                ("emails.primary".to_string(), primary),
                ("emails.value".to_string(), string_key("a@x"))
            ],
            "{keyed:?}"
        );
    }

    #[test]
    fn single_valued_rows_that_do_not_imply_their_key_carry_it() {
        let number = encode_key(&scim_core::sort::SortKey::Number(7.0));
        let keyed = |user| {
            keyed_rows(user)
                .into_iter()
                .filter(|(k, _)| !k.starts_with("emails"))
                .collect::<Vec<_>>()
        };
        // A value of another JSON type than the attribute's.
        assert_eq!(
            keyed(serde_json::json!({"userName": 7})),
            vec![("username".to_string(), number)]
        );
        // A string that is no dateTime sorts as a string; the empty string of a boolean.
        assert_eq!(
            keyed(serde_json::json!({"userName": "a", "meta": {"lastModified": "Yesterday"}})),
            vec![("meta.lastmodified".to_string(), string_key("yesterday"))]
        );
        assert_eq!(
            keyed(serde_json::json!({"userName": "a", "active": ""})),
            vec![("active".to_string(), string_key(""))]
        );
        // Several values at a single-valued path: the first one's key.
        assert_eq!(
            keyed(serde_json::json!({"userName": ["b", "A"]})),
            vec![("username".to_string(), string_key("b"))]
        );
        // A year past 9999 has a wider text than the order of the column holds.
        let far = keyed(
            serde_json::json!({"userName": "a", "meta": {"created": "+12345-01-01T00:00:00"}}),
        );
        assert_eq!(far.len(), 1, "{far:?}");
        assert_eq!(far[0].0, "meta.created");
    }

    #[test]
    fn layouts_change_with_paths_and_folding() {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        assert!(
            layout(&paths).starts_with("v4;externalid="),
            "{}",
            layout(&paths)
        );
        let mut exact = paths.clone();
        let user_name = exact.iter().position(|p| p.key == "username").unwrap();
        exact[user_name].kind = Kind::Str { case_exact: true };
        assert_ne!(layout(&exact), layout(&paths));
    }

    #[test]
    fn case_folding_is_unicode_folding() {
        // str::to_lowercase maps a final Σ to ς; folding maps every sigma alike.
        assert_eq!(normalise("ΟΔΟΣ", false), normalise("οδος", false));
        assert_eq!(normalise("\u{212A}elvin", false), "kelvin");
    }
}
