//! Helpers of the PATCH engine: locating targets in a resource, comparing values, the
//! `primary` rule, error constructors.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::request::PatchOpKind;
use super::target::{AttrTarget, sub_attribute_of, with_well_known_subs};
use crate::error::{ScimError, ScimResult};
use crate::resource::{get_ci, get_ci_key, get_ci_mut, remove_ci};
use crate::schema::{Attribute, Mutability};

/// A JSON object.
pub(super) type Obj = Map<String, Value>;

// ----- helpers ---------------------------------------------------------------------------

pub(super) fn shown(t: &AttrTarget<'_>) -> String {
    let mut s = match t.ext_urn {
        Some(urn) => format!("{urn}:{}", t.attribute.name),
        None => t.attribute.name.clone(),
    };
    if let Some(f) = &t.filter {
        s.push_str(&format!("[{f}]"));
    }
    if let Some(sub) = &t.sub {
        s.push('.');
        s.push_str(&sub.name);
    }
    s
}

pub(super) fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

pub(super) fn required_error(name: &str) -> ScimError {
    ScimError::mutability(format!(
        "attribute {name:?} is required and cannot be removed or unassigned (RFC 7644 §3.5.2.2)"
    ))
}

pub(super) fn immutable_error(t: &AttrTarget<'_>) -> ScimError {
    ScimError::mutability(format!(
        "attribute {:?} is immutable: \"Once set, the attribute SHALL NOT be updated\" \
         (RFC 7643 §7)",
        shown(t)
    ))
}

pub(super) fn check_sub_removable(t: &AttrTarget<'_>, sub: &Attribute) -> ScimResult<()> {
    match sub.mutability {
        Mutability::ReadOnly | Mutability::Immutable => Err(immutable_error(t)),
        _ if sub.required => Err(required_error(&format!(
            "{}.{}",
            t.attribute.name, sub.name
        ))),
        _ => Ok(()),
    }
}

/// RFC 7643 §2.5: null and an empty array are "unassigned".
pub(super) fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Does an extension object hold any assigned attribute?
pub(super) fn has_data(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.values().any(|v| !is_unassigned(v)))
}

/// Equal "state": absent, null and `[]` are all unassigned.
pub(super) fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (
        a.filter(|v| !is_unassigned(v)),
        b.filter(|v| !is_unassigned(v)),
    ) {
        (None, None) => true,
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

pub(super) fn has_sub(e: &Value, name: &str) -> bool {
    e.as_object()
        .and_then(|o| get_ci(o, name))
        .is_some_and(|v| !is_unassigned(v))
}

pub(super) fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(o.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

/// The key to write `name` under: the existing spelling if the member exists, else `name`
/// (the schema's spelling).
pub(super) fn key_for(map: &Obj, name: &str) -> String {
    get_ci_key(map, name).unwrap_or(name).to_owned()
}

pub(super) fn set_ci(map: &mut Obj, name: &str, value: Value) {
    let key = key_for(map, name);
    map.insert(key, value);
}

/// The current value of the target's top-level attribute.
pub(super) fn current<'w>(work: &'w Obj, t: &AttrTarget<'_>) -> Option<&'w Value> {
    let container = match t.ext_urn {
        None => work,
        Some(urn) => get_ci(work, urn)?.as_object()?,
    };
    get_ci(container, &t.attribute.name)
}

/// The object holding the target's attribute, creating the extension object if needed.
pub(super) fn container_mut<'w>(work: &'w mut Obj, t: &AttrTarget<'_>) -> ScimResult<&'w mut Obj> {
    let Some(urn) = t.ext_urn else {
        return Ok(work);
    };
    let key = key_for(work, urn);
    let slot = work.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().ok_or_else(|| {
        ScimError::invalid_value(format!(
            "the resource's extension member {urn:?} is not an object"
        ))
    })
}

pub(super) fn container_mut_existing<'w>(
    work: &'w mut Obj,
    t: &AttrTarget<'_>,
) -> Option<&'w mut Obj> {
    match t.ext_urn {
        None => Some(work),
        Some(urn) => get_ci_mut(work, urn)?.as_object_mut(),
    }
}

/// The existing array of a multi-valued target (empty when absent).
pub(super) fn existing_array_mut<'w>(
    work: &'w mut Obj,
    t: &AttrTarget<'_>,
) -> ScimResult<&'w mut Vec<Value>> {
    let container = container_mut(work, t)?;
    let key = key_for(container, &t.attribute.name);
    let slot = container
        .entry(key)
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(if slot.is_null() {
            Vec::new()
        } else {
            vec![slot.take()]
        });
    }
    match slot {
        Value::Array(a) => Ok(a),
        _ => Err(ScimError::internal(
            "multi-valued attribute is not an array",
        )),
    }
}

/// Indices of the values of a multi-valued target that satisfy its filter. The filter is
/// compiled once against the attribute (with the RFC 7643 §2.4 sub-attributes its schema may
/// omit).
pub(super) fn matching(
    work: &Obj,
    t: &AttrTarget<'_>,
    filter: &crate::filter::Filter,
) -> ScimResult<Vec<usize>> {
    let compiled = match filter.compile_value_filter(t.attribute) {
        Ok(c) => c,
        Err(first) => filter
            .compile_value_filter(&with_well_known_subs(t.attribute))
            .map_err(|_| {
                ScimError::invalid_path(format!(
                    "value filter [{filter}] of {:?}: {}",
                    t.attribute.name,
                    first.detail()
                ))
            })?,
    };
    Ok(match current(work, t) {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter(|(_, e)| compiled.matches(e))
            .map(|(i, _)| i)
            .collect(),
        Some(other) if !other.is_null() && compiled.matches(other) => vec![0],
        _ => Vec::new(),
    })
}

/// Sets a sub-attribute of one complex value.
pub(super) fn set_sub(
    target: &mut Value,
    sub: &Attribute,
    v: Value,
    kind: PatchOpKind,
) -> ScimResult<()> {
    let Value::Object(obj) = target else {
        return Err(ScimError::invalid_value(format!(
            "cannot set sub-attribute {:?} of a value that is not an object",
            sub.name
        )));
    };
    let key = key_for(obj, &sub.name);
    if sub.multi_valued && kind == PatchOpKind::Add {
        let slot = obj.entry(key).or_insert_with(|| Value::Array(Vec::new()));
        if let (Value::Array(arr), Value::Array(new)) = (slot, v) {
            for e in new {
                if !arr.iter().any(|x| values_equal(Some(sub), x, &e)) {
                    arr.push(e);
                }
            }
        }
        return Ok(());
    }
    if sub.mutability == Mutability::Immutable {
        if let Some(old) = obj.get(&key).filter(|o| !is_unassigned(o)) {
            if !values_equal(Some(sub), old, &v) {
                return Err(ScimError::mutability(format!(
                    "sub-attribute {:?} is immutable and already has a value",
                    sub.name
                )));
            }
            return Ok(());
        }
    }
    obj.insert(key, v);
    Ok(())
}

/// Merges sub-attribute values into a complex value. For replace, a null sub-attribute is
/// unassigned; for add, it is ignored.
pub(super) fn merge(
    target: &mut Obj,
    given: Obj,
    kind: PatchOpKind,
    attr: &Attribute,
) -> ScimResult<()> {
    for (k, v) in given {
        let sub = sub_attribute_of(attr, &k);
        if v.is_null() {
            if kind == PatchOpKind::Replace {
                if let Some(sub) = &sub {
                    if (sub.required || sub.mutability == Mutability::Immutable)
                        && get_ci(target, &sub.name).is_some_and(|v| !is_unassigned(v))
                    {
                        return Err(ScimError::mutability(format!(
                            "sub-attribute {:?} of {:?} cannot be unassigned",
                            sub.name, attr.name
                        )));
                    }
                }
                remove_ci(target, &k);
            }
            continue;
        }
        match &sub {
            Some(sub) => {
                let mut holder = Value::Object(std::mem::take(target));
                let r = set_sub(&mut holder, sub, v, kind);
                if let Value::Object(o) = holder {
                    *target = o;
                }
                r?;
            }
            None => {
                let key = key_for(target, &k);
                target.insert(key, v);
            }
        }
    }
    Ok(())
}

pub(super) fn is_primary(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| get_ci(o, "primary"))
        .is_some_and(|p| p == &Value::Bool(true))
}

/// RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."
pub(super) fn check_one_primary(values: &[Value], attr: &Attribute) -> ScimResult<()> {
    if values.iter().filter(|v| is_primary(v)).count() > 1 {
        return Err(ScimError::invalid_value(format!(
            "more than one value of {:?} has \"primary\": true; \"The primary attribute value \
             'true' MUST appear no more than once\" (RFC 7643 §2.4)",
            attr.name
        )));
    }
    Ok(())
}

/// RFC 7644 §3.5.2: "For multi-valued attributes, a PATCH operation that sets a value's
/// "primary" sub-attribute to "true" SHALL cause the server to automatically set "primary" to
/// "false" for any other values in the array."
pub(super) fn demote_other_primaries(
    arr: &mut [Value],
    set: &[usize],
    attr: &Attribute,
) -> ScimResult<()> {
    let primaries: Vec<usize> = set
        .iter()
        .copied()
        .filter(|&i| arr.get(i).is_some_and(is_primary))
        .collect();
    match primaries.as_slice() {
        [] => Ok(()),
        [keep] => {
            for (i, e) in arr.iter_mut().enumerate() {
                if i != *keep && is_primary(e) {
                    if let Some(o) = e.as_object_mut() {
                        let key = key_for(o, "primary");
                        o.insert(key, Value::Bool(false));
                    }
                }
            }
            Ok(())
        }
        _ => Err(ScimError::invalid_value(format!(
            "the operation would give {} values of {:?} \"primary\": true; \"The primary \
             attribute value 'true' MUST appear no more than once\" (RFC 7643 §2.4)",
            primaries.len(),
            attr.name
        ))),
    }
}

/// Attribute-aware equality: strings compare case-insensitively unless `caseExact`; complex
/// values compare sub-attribute by sub-attribute with names case-insensitive.
pub(super) fn values_equal(attr: Option<&Attribute>, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if attr.is_some_and(|a| a.case_exact) {
                x == y
            } else {
                eq_ignore_case(x, y)
            }
        }
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            let xs = x.iter().filter(|(_, v)| !v.is_null()).count();
            let ys = y.iter().filter(|(_, v)| !v.is_null()).count();
            xs == ys && contains_all(attr, x, y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(attr, p, q))
        }
        _ => a == b,
    }
}

/// Case-insensitive string equality without allocating (full Unicode lower-casing for
/// non-ASCII text).
pub(super) fn eq_ignore_case(x: &str, y: &str) -> bool {
    if x.is_ascii() && y.is_ascii() {
        x.eq_ignore_ascii_case(y)
    } else {
        x.chars()
            .flat_map(char::to_lowercase)
            .eq(y.chars().flat_map(char::to_lowercase))
    }
}

/// Does `existing` hold every (non-null) sub-attribute value of `given`?
pub(super) fn contains_all(attr: Option<&Attribute>, given: &Obj, existing: &Obj) -> bool {
    given.iter().filter(|(_, v)| !v.is_null()).all(|(k, v)| {
        let sub = attr.and_then(|a| sub_attribute_of(a, k));
        get_ci(existing, k).is_some_and(|e| values_equal(sub.as_deref(), e, v))
    })
}

/// Is `new` already present in `existing` (§3.5.2.1, "If the target location already
/// contains the value specified, no changes SHOULD be made")? A complex value is present when
/// an existing value holds every sub-attribute value given. When the attribute's `value`
/// sub-attribute is immutable (group `members`), `value` alone identifies the element.
pub(super) fn already_present(attr: &Attribute, existing: &[Value], new: &Value) -> bool {
    let identity = attr
        .sub_attribute("value")
        .filter(|s| s.mutability == Mutability::Immutable);
    if let (Some(id_attr), Value::Object(n)) = (identity, new) {
        if let Some(nv) = get_ci(n, "value") {
            return existing.iter().any(|e| {
                e.as_object()
                    .and_then(|eo| get_ci(eo, "value"))
                    .is_some_and(|ev| values_equal(Some(id_attr), ev, nv))
            });
        }
    }
    existing.iter().any(|e| duplicate(attr, e, new))
}

/// One existing value against a new one (see [`already_present`]).
pub(super) fn duplicate(attr: &Attribute, existing: &Value, new: &Value) -> bool {
    match (existing, new) {
        (Value::Object(e), Value::Object(n)) => {
            let identity = attr
                .sub_attribute("value")
                .is_some_and(|s| s.mutability == Mutability::Immutable);
            if identity {
                if let (Some(ev), Some(nv)) = (get_ci(e, "value"), get_ci(n, "value")) {
                    return values_equal(attr.sub_attribute("value"), ev, nv);
                }
            }
            contains_all(Some(attr), n, e)
        }
        _ => values_equal(Some(attr), existing, new),
    }
}

/// The `value` sub-attribute of an attribute whose values it identifies (immutable `value`, as
/// in group `members`).
pub(super) fn identity_attr(attr: &Attribute) -> Option<&Attribute> {
    attr.sub_attribute("value")
        .filter(|s| s.mutability == Mutability::Immutable && attr.is_complex())
}

/// The identity of a value for hashing: its `value`, lower-cased unless caseExact.
pub(super) fn identity_key(id: &Attribute, v: &Value) -> Option<String> {
    let s = v.as_object().and_then(|o| get_ci(o, "value"))?.as_str()?;
    Some(if id.case_exact {
        s.to_owned()
    } else {
        s.to_lowercase()
    })
}

/// For many listed values that are all plain identities (`{"value": id}` or `id`), their
/// identity set.
pub(super) fn listed_identities<'x>(
    attr: &'x Attribute,
    listed: &Value,
) -> Option<(&'x Attribute, HashSet<String>)> {
    let id = identity_attr(attr)?;
    let Value::Array(items) = listed else {
        return None;
    };
    if items.len() < 8 {
        return None;
    }
    let mut keys = HashSet::new();
    for item in items {
        let key = match item {
            Value::String(_) => {
                let mut o = Map::new();
                o.insert("value".to_owned(), item.clone());
                identity_key(id, &Value::Object(o))?
            }
            Value::Object(o) => {
                let only_value = o
                    .iter()
                    .all(|(k, v)| v.is_null() || k.eq_ignore_ascii_case("value"));
                if !only_value {
                    return None;
                }
                identity_key(id, item)?
            }
            _ => return None,
        };
        keys.insert(key);
    }
    Some((id, keys))
}

/// Compatibility remove-by-value: does element `e` match one of the `listed` values?
pub(super) fn listed_matches(attr: &Attribute, listed: &Value, e: &Value) -> bool {
    let one = |l: &Value| match (l, e) {
        (Value::Object(lo), Value::Object(eo)) => {
            lo.values().any(|v| !v.is_null()) && contains_all(Some(attr), lo, eo)
        }
        (Value::Object(_), _) => false,
        (scalar, Value::Object(eo)) => {
            let sub: Option<Cow<'_, Attribute>> = sub_attribute_of(attr, "value");
            get_ci(eo, "value").is_some_and(|v| values_equal(sub.as_deref(), v, scalar))
        }
        (scalar, simple) => values_equal(Some(attr), simple, scalar),
    };
    match listed {
        Value::Array(items) => items.iter().any(one),
        other => one(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::builtin;
    use crate::patch::{PatchOperation, PatchOptions, PatchOutcome, PatchRequest, apply_patch};
    use crate::schema::AttributeType;
    use serde_json::json;

    fn members() -> Attribute {
        builtin::group_schema()
            .attribute("members")
            .unwrap()
            .clone()
    }

    fn emails() -> Attribute {
        builtin::user_schema().attribute("emails").unwrap().clone()
    }

    #[test]
    fn equality_follows_case_exact() {
        let mut a = Attribute::new("x", AttributeType::String);
        assert!(values_equal(Some(&a), &json!("ABC"), &json!("abc")));
        a.case_exact = true;
        assert!(!values_equal(Some(&a), &json!("ABC"), &json!("abc")));
        assert!(values_equal(None, &json!(1), &json!(1.0)));
        assert!(values_equal(
            Some(&emails()),
            &json!({"Value": "A@x", "type": "work", "display": null}),
            &json!({"value": "a@x", "TYPE": "Work"})
        ));
    }

    #[test]
    fn members_are_identified_by_value() {
        let m = members();
        assert!(duplicate(
            &m,
            &json!({"value": "id1", "display": "Babs"}),
            &json!({"value": "ID1", "display": "Babs Jensen"})
        ));
        assert!(!duplicate(
            &m,
            &json!({"value": "id1"}),
            &json!({"value": "id2"})
        ));
        // Other attributes: present when every given sub-attribute matches.
        let e = emails();
        assert!(duplicate(
            &e,
            &json!({"value": "a@x", "type": "work", "primary": true}),
            &json!({"value": "a@x"})
        ));
        assert!(!duplicate(
            &e,
            &json!({"value": "a@x", "type": "work"}),
            &json!({"value": "a@x", "type": "home"})
        ));
    }

    #[test]
    fn unassigned_states_are_equal() {
        assert!(same(None, Some(&json!(null))));
        assert!(same(Some(&json!([])), None));
        assert!(!same(Some(&json!("a")), None));
    }

    #[test]
    fn listed_values_match_by_value_or_by_sub_attributes() {
        let m = members();
        let e = json!({"value": "id1", "display": "Babs"});
        assert!(listed_matches(
            &m,
            &json!([{"value": "id1", "$ref": null}]),
            &e
        ));
        assert!(listed_matches(&m, &json!("id1"), &e));
        assert!(!listed_matches(&m, &json!([{"value": "id2"}]), &e));
        assert!(!listed_matches(&m, &json!([{"$ref": null}]), &e));
    }

    #[test]
    fn primaries_are_demoted_or_rejected() {
        let e = emails();
        let mut arr = vec![
            json!({"value": "a", "primary": true}),
            json!({"value": "b"}),
            json!({"value": "c", "primary": true}),
        ];
        demote_other_primaries(&mut arr, &[2], &e).unwrap();
        assert_eq!(arr[0]["primary"], json!(false));
        assert_eq!(arr[1].get("primary"), None);
        assert_eq!(arr[2]["primary"], json!(true));
        arr[0]["primary"] = json!(true);
        let err = demote_other_primaries(&mut arr, &[0, 2], &e).unwrap_err();
        assert_eq!(err.scim_type(), Some(crate::ScimType::InvalidValue));
        assert!(check_one_primary(&arr[..2], &e).is_ok());
    }

    #[test]
    fn no_op_patch_reports_no_change_and_keeps_the_resource() {
        let schema = builtin::user_resource_schema();
        let mut user = Resource::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen", "nickName": "Babs"
        }))
        .unwrap();
        let before = user.clone();
        let req = PatchRequest::new(vec![
            PatchOperation::replace("nickName", json!("Babs")),
            PatchOperation::remove("title"),
        ]);
        let out = apply_patch(&mut user, &schema, &req, &PatchOptions::strict()).unwrap();
        assert_eq!(out, PatchOutcome::default());
        assert_eq!(user, before);
    }
}
