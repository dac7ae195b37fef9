//! Sorting (RFC 7644 §3.4.2.3): `sortBy` and `sortOrder`.
//!
//! RFC 7644 §3.4.2.3:
//!
//! > `sortBy` The "sortBy" parameter specifies the attribute whose value SHALL be used to
//! > order the returned responses. If the "sortBy" attribute corresponds to a singular
//! > attribute, resources are sorted according to that attribute's value; if it's a
//! > multi-valued attribute, resources are sorted by the value of the primary attribute (see
//! > Section 2.4 of [RFC7643]), if any, or else the first value in the list, if any. If the
//! > attribute is complex, the attribute name must be a path to a sub-attribute in standard
//! > attribute notation (Section 3.10), e.g., "sortBy=name.givenName". For all attribute
//! > types, if there is no data for the specified "sortBy" value, they are sorted via the
//! > "sortOrder" parameter, i.e., they are ordered last if ascending and first if
//! > descending.
//!
//! > `sortOrder` The order in which the "sortBy" parameter is applied. Allowed values are
//! > "ascending" and "descending". If a value for "sortBy" is provided and no "sortOrder" is
//! > specified, "sortOrder" SHALL default to ascending. String type attributes are case
//! > insensitive by default, unless the attribute type is defined as a case-exact string.
//! > "sortOrder" MUST sort according to the attribute type; i.e., for case-insensitive
//! > attributes, sort the result using case-insensitive Unicode alphabetic sort order with no
//! > specific locale implied, and for case-exact attribute types, sort the result using
//! > case-sensitive Unicode alphabetic sort order.
//!
//! So resources without a value come last when ascending and first when descending: the
//! missing value sorts as if greater than every value, and descending reverses everything.
//! Strings compare by Unicode code point, after Unicode default case folding
//! ([`crate::casefold::fold`], the mapping filters, uniqueness and the indexes use) when
//! `caseExact` is false (so `ΟΔΟΣ` and `οδος` sort as equals); numbers compare numerically,
//! dateTimes chronologically, booleans `false < true`. Sorting is stable. A multi-valued complex attribute named without a sub-attribute (`sortBy=emails`)
//! sorts by the `value` sub-attribute of the primary (or first) element.
//!
//! A `returned: never` (or `writeOnly`) attribute such as User `password` cannot be sorted
//! by: [`SortSpec::validate`] refuses it with 400 `invalidValue` (the order would disclose
//! the stored values, RFC 7643 §7), and [`sort_key`] gives it no key.
//!
//! ```
//! use scim_core::sort::{SortOrder, SortSpec, sort_resources};
//! use scim_core::{AttrPath, Resource, builtin};
//!
//! let schema = builtin::user_resource_schema();
//! let mut users: Vec<Resource> = ["carol", "Alice", "bob"].iter().map(|n| {
//!     Resource::from_value(serde_json::json!({"userName": n})).unwrap()
//! }).collect();
//! let spec = SortSpec::new(AttrPath::new("userName"), SortOrder::Ascending);
//! sort_resources(&mut users, &schema, &spec);
//! let names: Vec<_> = users.iter().map(|u| u.get("userName").unwrap().as_str().unwrap()).collect();
//! assert_eq!(names, ["Alice", "bob", "carol"]); // userName is caseExact=false
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::casefold::fold;
use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::resource::bool_from_str;
use crate::resource::{Resource, get_ci};
use crate::schema::{
    Attribute, AttributeType, Mutability, ResolvedAttribute, ResourceSchema, Returned,
};

/// `sortOrder` (RFC 7644 §3.4.2.3): `ascending` (the default) or `descending`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// `ascending`.
    #[default]
    Ascending,
    /// `descending`.
    Descending,
}

impl SortOrder {
    /// The keyword on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }

    /// Parses `ascending` / `descending`, ignoring ASCII case and surrounding whitespace.
    /// Anything else is 400 `invalidValue` ("Allowed values are "ascending" and
    /// "descending"").
    ///
    /// ```
    /// use scim_core::sort::SortOrder;
    /// assert_eq!(SortOrder::parse("Descending").unwrap(), SortOrder::Descending);
    /// assert!(SortOrder::parse("down").is_err());
    /// ```
    pub fn parse(s: &str) -> ScimResult<SortOrder> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("ascending") {
            Ok(SortOrder::Ascending)
        } else if t.eq_ignore_ascii_case("descending") {
            Ok(SortOrder::Descending)
        } else {
            Err(ScimError::invalid_value(format!(
                "sortOrder must be \"ascending\" or \"descending\", not {s:?}"
            )))
        }
    }
}

impl FromStr for SortOrder {
    type Err = ScimError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SortOrder::parse(s)
    }
}

impl fmt::Display for SortOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `sortBy` / `sortOrder` pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortSpec {
    /// The attribute to sort by.
    pub by: AttrPath,
    /// The direction.
    pub order: SortOrder,
}

impl SortSpec {
    /// A sort specification.
    pub fn new(by: AttrPath, order: SortOrder) -> Self {
        SortSpec { by, order }
    }

    /// From the (URL-decoded) `sortBy` and `sortOrder` parameters. `None` when `sortBy` is
    /// absent or blank (a `sortOrder` alone has nothing to order, but is still checked).
    /// A malformed `sortBy` or an unknown `sortOrder` is 400 `invalidValue`.
    ///
    /// ```
    /// use scim_core::sort::{SortOrder, SortSpec};
    /// let spec = SortSpec::from_params(Some("name.givenName"), Some("descending")).unwrap().unwrap();
    /// assert_eq!(spec.order, SortOrder::Descending);
    /// assert_eq!(SortSpec::from_params(None, Some("ascending")).unwrap(), None);
    /// ```
    pub fn from_params(
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> ScimResult<Option<Self>> {
        let order = match sort_order.map(str::trim).filter(|s| !s.is_empty()) {
            Some(o) => SortOrder::parse(o)?,
            None => SortOrder::Ascending,
        };
        let Some(by) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let by = AttrPath::parse(by).map_err(|e| {
            ScimError::invalid_value(format!("invalid sortBy {by:?}: {}", e.detail()))
        })?;
        Ok(Some(SortSpec { by, order }))
    }

    /// Strict check against `schema`: the attribute must exist (a sub-attribute of a
    /// multi-valued attribute may be one of the RFC 7643 §2.4 defaults), must not be
    /// `returned: never` / `writeOnly` (RFC 7643 §7; e.g. `password`), and a complex
    /// attribute must be named with a sub-attribute (except a multi-valued one with a
    /// `value` sub-attribute). Errors are 400 `invalidValue`.
    ///
    /// ```
    /// use scim_core::sort::{SortOrder, SortSpec};
    /// use scim_core::{AttrPath, ScimType, builtin};
    ///
    /// let users = builtin::user_resource_schema();
    /// let by = |p: &str| SortSpec::new(AttrPath::parse(p).unwrap(), SortOrder::Ascending);
    /// assert!(by("name.familyName").validate(&users).is_ok());
    /// let e = by("password").validate(&users).unwrap_err();
    /// assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
    /// ```
    pub fn validate(&self, schema: &ResourceSchema) -> ScimResult<()> {
        let Some(resolved) = schema.resolve(&self.by) else {
            return Err(ScimError::invalid_value(format!(
                "sortBy '{}' is not an attribute of {}",
                self.by,
                schema.name()
            )));
        };
        if let Some(a) = never_returned(&resolved) {
            return Err(ScimError::invalid_value(format!(
                "sortBy '{}': '{}' is never returned (RFC 7643 §7: \"returned\": \"never\" / \
                 \"mutability\": \"writeOnly\"), so results cannot be sorted by it",
                self.by, a.name
            )));
        }
        let target = resolved.target();
        if target.is_complex() && !(target.multi_valued && target.sub_attribute("value").is_some())
        {
            return Err(ScimError::invalid_value(format!(
                "sortBy '{}' is complex; name one of its sub-attributes (e.g. '{}.{}')",
                self.by,
                self.by,
                target
                    .sub_attributes
                    .first()
                    .map(|a| a.name.as_str())
                    .unwrap_or("value")
            )));
        }
        Ok(())
    }
}

/// The value a resource is sorted by, normalised for comparison.
///
/// Values of different kinds (which only happens when data disagrees with the schema)
/// order `Bool < Number < DateTime < String`.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    /// A boolean (`false < true`).
    Bool(bool),
    /// A number (integer or decimal).
    Number(f64),
    /// A dateTime, compared chronologically.
    DateTime(chrono::DateTime<chrono::Utc>),
    /// A string: case-folded ([`crate::casefold::fold`]) when the attribute is not
    /// `caseExact`.
    String(String),
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            SortKey::Bool(_) => 0,
            SortKey::Number(_) => 1,
            SortKey::DateTime(_) => 2,
            SortKey::String(_) => 3,
        }
    }

    /// Total order between two present keys (ascending).
    pub fn cmp_key(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::DateTime(a), SortKey::DateTime(b)) => a.cmp(b),
            (SortKey::String(a), SortKey::String(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    /// The key as JSON (for cursor encoding): booleans, numbers and strings as themselves,
    /// dateTimes as RFC 3339 strings.
    pub fn to_json(&self) -> Value {
        match self {
            SortKey::Bool(b) => Value::Bool(*b),
            SortKey::Number(n) => serde_json::Number::from_f64(*n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            SortKey::DateTime(d) => Value::String(d.to_rfc3339()),
            SortKey::String(s) => Value::String(s.clone()),
        }
    }
}

/// Compares two optional keys in `order`: a missing key sorts last when ascending and first
/// when descending (RFC 7644 §3.4.2.3).
pub fn compare_keys(a: Option<&SortKey>, b: Option<&SortKey>, order: SortOrder) -> Ordering {
    let asc = match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => a.cmp_key(b),
    };
    match order {
        SortOrder::Ascending => asc,
        SortOrder::Descending => asc.reverse(),
    }
}

/// The sort key of `resource` for the attribute `by`: the attribute's value; for a
/// multi-valued attribute the primary value, or else the first value. `None` when there is
/// no data, when the path does not resolve, and for a never-returned attribute (see the
/// module docs).
pub fn sort_key(resource: &Resource, schema: &ResourceSchema, by: &AttrPath) -> Option<SortKey> {
    let resolved = schema.resolve(by)?;
    key_for(resource, &resolved, by)
}

/// [`sort_key`] with the path already resolved (so sorting many resources resolves once).
fn key_for(
    resource: &Resource,
    resolved: &ResolvedAttribute<'_>,
    by: &AttrPath,
) -> Option<SortKey> {
    if never_returned(resolved).is_some() {
        return None;
    }
    let container = if resolved.in_extension {
        get_ci(resource.as_map(), resolved.schema_urn)?.as_object()?
    } else {
        resource.as_map()
    };
    let top = get_ci(container, &by.name)?;
    let attribute = resolved.attribute;
    // For `emails` (multi-valued complex) without a sub-attribute, sort by `value`.
    let sub_name: Option<&str> = match (&by.sub_attr, resolved.sub_attribute) {
        (Some(_), Some(def)) => Some(def.name.as_str()),
        (Some(raw), None) => Some(raw.as_str()),
        (None, _) if attribute.is_complex() => Some("value"),
        (None, _) => None,
    };
    let target: &Attribute = match (resolved.sub_attribute, sub_name) {
        (Some(def), _) => def,
        (None, Some(sub)) => attribute.sub_attribute(sub).unwrap_or(attribute),
        (None, None) => attribute,
    };
    let element = match top {
        Value::Array(items) => primary_or_first(items, sub_name)?,
        other => other,
    };
    let value = match sub_name {
        Some(sub) => match element {
            Value::Object(obj) => get_ci(obj, sub)?,
            _ => return None,
        },
        None => element,
    };
    key_of(value, target)
}

/// RFC 7643 §2.4: the element with `"primary": true`, else the first element that has data.
fn primary_or_first<'a>(items: &'a [Value], sub: Option<&str>) -> Option<&'a Value> {
    let has_data = |v: &Value| match (v, sub) {
        (Value::Null, _) => false,
        (Value::Object(o), Some(sub)) => get_ci(o, sub).is_some_and(|x| !x.is_null()),
        _ => true,
    };
    items
        .iter()
        .find(|v| {
            v.as_object()
                .and_then(|o| get_ci(o, "primary"))
                .is_some_and(is_true)
                && has_data(v)
        })
        .or_else(|| items.iter().find(|v| has_data(v)))
}

fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => bool_from_str(s) == Some(true),
        _ => false,
    }
}

fn key_of(value: &Value, attribute: &Attribute) -> Option<SortKey> {
    match value {
        Value::Null | Value::Object(_) => None,
        Value::Array(items) => items.iter().find_map(|v| key_of(v, attribute)),
        Value::Bool(b) => Some(SortKey::Bool(*b)),
        Value::Number(n) => n.as_f64().map(SortKey::Number),
        Value::String(s) => Some(match attribute.attr_type {
            AttributeType::DateTime => match crate::resource::datetime_from_str(s) {
                Some(d) => SortKey::DateTime(d.with_timezone(&chrono::Utc)),
                None => string_key(s, attribute.case_exact),
            },
            AttributeType::Boolean if bool_from_str(s).is_some() => {
                SortKey::Bool(bool_from_str(s) == Some(true))
            }
            AttributeType::Integer | AttributeType::Decimal => match s.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => SortKey::Number(n),
                _ => string_key(s, attribute.case_exact),
            },
            _ => string_key(s, attribute.case_exact),
        }),
    }
}

fn string_key(s: &str, case_exact: bool) -> SortKey {
    if case_exact {
        SortKey::String(s.to_owned())
    } else {
        SortKey::String(fold(s).into_owned())
    }
}

/// The `returned: never` / `writeOnly` attribute among the resolved attribute and its
/// sub-attribute, if any.
fn never_returned<'a>(resolved: &ResolvedAttribute<'a>) -> Option<&'a Attribute> {
    [Some(resolved.attribute), resolved.sub_attribute]
        .into_iter()
        .flatten()
        .find(|a| a.returned == Returned::Never || a.mutability == Mutability::WriteOnly)
}

/// Compares two resources by `spec` (missing values last when ascending, first when
/// descending). Computes both keys; to sort many resources use [`sort_resources`], which
/// computes each key once.
pub fn compare(a: &Resource, b: &Resource, schema: &ResourceSchema, spec: &SortSpec) -> Ordering {
    let ka = sort_key(a, schema, &spec.by);
    let kb = sort_key(b, schema, &spec.by);
    compare_keys(ka.as_ref(), kb.as_ref(), spec.order)
}

/// Sorts `resources` in place by `spec`; stable (resources with equal keys keep their
/// order).
pub fn sort_resources(resources: &mut [Resource], schema: &ResourceSchema, spec: &SortSpec) {
    let Some(resolved) = schema.resolve(&spec.by) else {
        return; // every key is missing: a stable sort changes nothing
    };
    let mut keyed: Vec<(Option<SortKey>, usize)> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| (key_for(r, &resolved, &spec.by), i))
        .collect();
    keyed.sort_by(|(ka, ia), (kb, ib)| {
        compare_keys(ka.as_ref(), kb.as_ref(), spec.order).then(ia.cmp(ib))
    });
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    apply_permutation(resources, order);
}

/// Reorders `items` so that position `k` receives the element formerly at `order[k]`.
fn apply_permutation<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        if order[start] == start {
            continue;
        }
        // Follow the cycle starting at `start`.
        let mut current = start;
        loop {
            let next = order[current];
            order[current] = current;
            if next == start {
                break;
            }
            items.swap(current, next);
            current = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ResourceType, Schema};
    use serde_json::json;

    fn schema() -> ResourceSchema {
        let mut user_name = Attribute::new("userName", AttributeType::String);
        user_name.case_exact = false;
        let mut code = Attribute::new("code", AttributeType::String);
        code.case_exact = true;
        let mut emails = Attribute::new("emails", AttributeType::Complex);
        emails.multi_valued = true;
        emails.sub_attributes = vec![
            Attribute::new("value", AttributeType::String),
            Attribute::new("primary", AttributeType::Boolean),
        ];
        let mut name = Attribute::new("name", AttributeType::Complex);
        name.sub_attributes = vec![Attribute::new("givenName", AttributeType::String)];
        let core = Schema {
            schemas: vec![],
            id: "urn:t".into(),
            name: None,
            description: None,
            attributes: vec![
                user_name,
                code,
                emails,
                name,
                Attribute::new("age", AttributeType::Integer),
                Attribute::new("active", AttributeType::Boolean),
                Attribute::new("born", AttributeType::DateTime),
            ],
            meta: None,
        };
        let rt = ResourceType {
            schemas: vec![],
            id: None,
            name: "T".into(),
            endpoint: "/T".into(),
            description: None,
            schema: "urn:t".into(),
            schema_extensions: vec![],
            meta: None,
        };
        ResourceSchema::new(rt, core, vec![])
    }

    fn res(v: Value) -> Resource {
        Resource::from_value(v).unwrap()
    }

    fn ids(rs: &[Resource]) -> Vec<&str> {
        rs.iter().map(|r| r.id().unwrap()).collect()
    }

    fn sorted(rs: &[Resource], by: AttrPath, order: SortOrder) -> Vec<Resource> {
        let mut v = rs.to_vec();
        sort_resources(&mut v, &schema(), &SortSpec::new(by, order));
        v
    }

    #[test]
    fn missing_last_ascending_first_descending() {
        let rs = vec![
            res(json!({"id": "none"})),
            res(json!({"id": "b", "userName": "b"})),
            res(json!({"id": "null", "userName": null})),
            res(json!({"id": "a", "userName": "A"})),
        ];
        let asc = sorted(&rs, AttrPath::new("userName"), SortOrder::Ascending);
        assert_eq!(ids(&asc), ["a", "b", "none", "null"]);
        let desc = sorted(&rs, AttrPath::new("userName"), SortOrder::Descending);
        assert_eq!(ids(&desc), ["none", "null", "b", "a"]);
    }

    #[test]
    fn case_exact_orders_by_code_point() {
        let rs = vec![
            res(json!({"id": "1", "code": "b"})),
            res(json!({"id": "2", "code": "B"})),
            res(json!({"id": "3", "code": "a"})),
        ];
        assert_eq!(
            ids(&sorted(&rs, AttrPath::new("code"), SortOrder::Ascending)),
            ["2", "3", "1"]
        );
        let rs2: Vec<Resource> = rs
            .iter()
            .map(|r| {
                let mut m = r.as_map().clone();
                let v = m.remove("code").unwrap();
                m.insert("userName".into(), v);
                Resource::from(m)
            })
            .collect();
        // Case-insensitive: "b" and "B" tie and keep their order (stable).
        assert_eq!(
            ids(&sorted(
                &rs2,
                AttrPath::new("userName"),
                SortOrder::Ascending
            )),
            ["3", "1", "2"]
        );
    }

    #[test]
    fn numbers_dates_booleans() {
        let rs = vec![
            res(json!({"id": "1", "age": 10, "active": true, "born": "2010-01-01T00:00:00Z"})),
            res(json!({"id": "2", "age": 9, "active": false, "born": "2010-01-01T01:00:00+02:00"})),
            res(json!({"id": "3", "age": 100.5, "active": "True", "born": "2009-12-31T23:30:00Z"})),
        ];
        assert_eq!(
            ids(&sorted(&rs, AttrPath::new("age"), SortOrder::Ascending)),
            ["2", "1", "3"]
        );
        assert_eq!(
            ids(&sorted(&rs, AttrPath::new("active"), SortOrder::Ascending)),
            ["2", "1", "3"]
        );
        assert_eq!(
            ids(&sorted(&rs, AttrPath::new("born"), SortOrder::Ascending)),
            ["2", "3", "1"]
        );
    }

    #[test]
    fn datetimes_sort_as_filters_read_them() {
        // Without a zone offset a dateTime is read as UTC (as `born gt "..."` reads it);
        // a string that is no dateTime sorts as a string, after every dateTime.
        let rs = vec![
            res(json!({"id": "1", "born": "2010-01-01T00:30:00"})),
            res(json!({"id": "2", "born": " 2009-01-01T00:00:00Z"})),
            res(json!({"id": "3", "born": "2010-01-01T00:00:00Z"})),
        ];
        assert_eq!(
            ids(&sorted(&rs, AttrPath::new("born"), SortOrder::Ascending)),
            ["3", "1", "2"]
        );
    }

    #[test]
    fn multi_valued_uses_primary_then_first() {
        let rs = vec![
            res(
                json!({"id": "1", "emails": [{"value": "a@x"}, {"value": "z@x", "primary": true}]}),
            ),
            res(json!({"id": "2", "emails": [{"value": "m@x"}, {"value": "b@x"}]})),
            res(json!({"id": "3", "emails": []})),
        ];
        assert_eq!(
            ids(&sorted(
                &rs,
                AttrPath::with_sub("emails", "value"),
                SortOrder::Ascending
            )),
            ["2", "1", "3"]
        );
        assert_eq!(
            ids(&sorted(&rs, AttrPath::new("emails"), SortOrder::Ascending)),
            ["2", "1", "3"]
        );
    }

    #[test]
    fn complex_sub_attribute() {
        let rs = vec![
            res(json!({"id": "1", "name": {"givenName": "Zed"}})),
            res(json!({"id": "2", "name": {"givenName": "amy"}})),
        ];
        assert_eq!(
            ids(&sorted(
                &rs,
                AttrPath::with_sub("NAME", "GIVENNAME"),
                SortOrder::Ascending
            )),
            ["2", "1"]
        );
        let s = schema();
        assert!(
            SortSpec::new(AttrPath::new("name"), SortOrder::Ascending)
                .validate(&s)
                .is_err()
        );
        assert!(
            SortSpec::new(AttrPath::new("emails"), SortOrder::Ascending)
                .validate(&s)
                .is_ok()
        );
        assert!(
            SortSpec::new(AttrPath::new("nope"), SortOrder::Ascending)
                .validate(&s)
                .is_err()
        );
    }

    #[test]
    fn sort_order_parsing() {
        assert_eq!(
            SortOrder::parse(" ASCENDING ").unwrap(),
            SortOrder::Ascending
        );
        let e = SortOrder::parse("asc").unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidValue));
        assert_eq!(
            serde_json::to_value(SortOrder::Descending).unwrap(),
            json!("descending")
        );
    }

    #[test]
    fn permutation_is_applied() {
        let mut v = vec!['a', 'b', 'c', 'd'];
        apply_permutation(&mut v, vec![2, 0, 3, 1]);
        assert_eq!(v, ['c', 'a', 'd', 'b']);
    }
}
