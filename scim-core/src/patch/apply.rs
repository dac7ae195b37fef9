//! Applying a PATCH request to a resource (RFC 7644 §3.5.2.1 add, §3.5.2.2 remove, §3.5.2.3
//! replace).

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::compat::{PatchOptions, eq_conjunction, takes_value_shorthand, value_shorthand};
use super::request::{PatchOpKind, PatchOperation, PatchRequest};
use super::target::{
    AttrTarget, Target, parse_path, resolve, sub_attribute_of, with_well_known_subs,
};
use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::resource::{Resource, get_ci, get_ci_key, get_ci_mut, remove_ci};
use crate::schema::{Attribute, AttributeType, Mutability, ResourceSchema, Schema};

/// What a successful PATCH did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatchOutcome {
    /// Whether the resource changed. RFC 7644 §3.5.2.1: "If the target location already
    /// contains the value specified, no changes SHOULD be made to the resource [...] this
    /// operation SHALL NOT change the modify timestamp of the resource": when this is `false`
    /// the server must not bump `meta.version` or `meta.lastModified`.
    pub changed: bool,
    /// The top-level attributes whose value changed, in the schema's spelling; extension
    /// attributes carry their schema URN (`urn:...:enterprise:2.0:User:manager`), and a change
    /// of `schemas` is reported as `schemas`.
    pub changed_attributes: Vec<AttrPath>,
}

/// Applies a PATCH request to `resource` (RFC 7644 §3.5.2).
///
/// "A PATCH request, regardless of the number of operations, SHALL be treated as atomic. If a
/// single operation encounters an error condition, the original SCIM resource MUST be
/// restored, and a failure status SHALL be returned." Operations apply in order to a working
/// copy, which replaces `resource` only when every operation succeeded and something changed;
/// on error `resource` is untouched. Errors name the failing operation (`Operations[1]`).
///
/// The request is first checked with [`PatchRequest::validate_with`]. `options` chooses which
/// client-compatibility forms are accepted (see [`PatchOptions`]).
///
/// ```
/// use scim_core::patch::{PatchOptions, PatchRequest, apply_patch};
/// use scim_core::{Resource, builtin};
///
/// let schema = builtin::user_resource_schema();
/// let mut user = Resource::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "id": "2819c223", "userName": "bjensen", "active": true
/// })).unwrap();
/// // Okta deactivates with a path-less replace.
/// let req: PatchRequest = serde_json::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "replace", "value": {"active": false}}]
/// })).unwrap();
/// let outcome = apply_patch(&mut user, &schema, &req, &PatchOptions::default()).unwrap();
/// assert!(outcome.changed);
/// assert_eq!(user.get("active"), Some(&serde_json::json!(false)));
/// // The same request again changes nothing.
/// assert!(!apply_patch(&mut user, &schema, &req, &PatchOptions::default()).unwrap().changed);
/// ```
pub fn apply_patch(
    resource: &mut Resource,
    schema: &ResourceSchema,
    request: &PatchRequest,
    options: &PatchOptions,
) -> ScimResult<PatchOutcome> {
    request.validate_with(options)?;
    let mut engine = Engine {
        schema,
        options,
        saved: Vec::new(),
    };
    // The operations work on the resource's own map; before an operation first changes a
    // top-level member, its original state is saved (a clone, or for a pure append to an array
    // just the array's length), so that a failure or a no-op restores the original exactly
    // without copying the whole resource.
    let mut work = std::mem::take(resource.as_map_mut());
    let order: Vec<String> = work.keys().cloned().collect();
    let mut result = Ok(());
    for (i, op) in request.operations.iter().enumerate() {
        if let Err(e) = engine.operation(&mut work, op) {
            result = Err(in_operation(e, i, op));
            break;
        }
    }
    if result.is_ok() {
        engine.tidy_extensions(&mut work);
    }
    let changed_attributes = match result {
        Ok(()) => engine.changes(&work),
        Err(_) => Vec::new(),
    };
    if changed_attributes.is_empty() {
        engine.rollback(&mut work, &order);
    }
    *resource.as_map_mut() = work;
    result.map(|()| PatchOutcome {
        changed: !changed_attributes.is_empty(),
        changed_attributes,
    })
}

/// Prefixes an error's detail with the operation it came from.
pub(crate) fn in_operation(e: ScimError, index: usize, op: &PatchOperation) -> ScimError {
    let path = op
        .path
        .as_deref()
        .map(|p| format!(" {p:?}"))
        .unwrap_or_default();
    ScimError::new(
        e.status(),
        e.scim_type(),
        format!("Operations[{index}] ({}{path}): {}", op.op, e.detail()),
    )
}

/// A top-level key an operation may have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Touched {
    /// A core or common attribute (schema spelling).
    Core(String),
    /// An extension object (schema URN).
    Ext(String),
    /// `schemas`.
    Schemas,
}

/// The state of a top-level member before the request first changed it.
#[derive(Debug, Clone, PartialEq)]
enum Original {
    /// The member's value (`None`: absent).
    Value(Option<Value>),
    /// The member was an array of this length and has only been appended to since.
    Prefix(usize),
}

struct Engine<'a> {
    schema: &'a ResourceSchema,
    options: &'a PatchOptions,
    saved: Vec<(Touched, Original)>,
}

type Obj = Map<String, Value>;

/// The member of `work` a [`Touched`] key names.
fn member<'w>(work: &'w Obj, key: &Touched) -> Option<&'w Value> {
    match key {
        Touched::Core(name) => get_ci(work, name),
        Touched::Ext(urn) => get_ci(work, urn),
        Touched::Schemas => get_ci(work, "schemas"),
    }
}

fn member_name(key: &Touched) -> &str {
    match key {
        Touched::Core(name) | Touched::Ext(name) => name,
        Touched::Schemas => "schemas",
    }
}

impl<'a> Engine<'a> {
    /// Saves the original state of `key` before its first change.
    fn touch(&mut self, work: &Obj, key: Touched) {
        if let Some((_, original)) = self.saved.iter_mut().find(|(k, _)| *k == key) {
            if let Original::Prefix(len) = *original {
                // A change other than an append after appends: keep the original prefix.
                let old = member(work, &key)
                    .and_then(Value::as_array)
                    .map(|a| Value::Array(a[..len.min(a.len())].to_vec()));
                *original = Original::Value(old);
            }
            return;
        }
        let old = member(work, &key).cloned();
        self.saved.push((key, Original::Value(old)));
    }

    /// Saves the original state of `key` before appending to it: only the length, when the
    /// member is already an array.
    fn touch_append(&mut self, work: &Obj, key: Touched) {
        if self.saved.iter().any(|(k, _)| *k == key) {
            return;
        }
        match member(work, &key) {
            Some(Value::Array(a)) => self.saved.push((key, Original::Prefix(a.len()))),
            _ => self.touch(work, key),
        }
    }

    fn attr_key(t: &AttrTarget<'_>) -> Touched {
        match t.ext_urn {
            Some(urn) => Touched::Ext(urn.to_owned()),
            None => Touched::Core(t.attribute.name.clone()),
        }
    }

    fn touch_attr(&mut self, work: &Obj, t: &AttrTarget<'_>) {
        self.touch(work, Self::attr_key(t));
    }

    /// Puts every saved member back and restores the original member order.
    fn rollback(&mut self, work: &mut Obj, order: &[String]) {
        for (key, original) in self.saved.drain(..).rev() {
            let name = member_name(&key).to_owned();
            match original {
                Original::Prefix(len) => {
                    if let Some(Value::Array(a)) = get_ci_mut(work, &name) {
                        a.truncate(len);
                    }
                }
                Original::Value(old) => {
                    let existing = get_ci_key(work, &name).map(str::to_owned);
                    let original_key = order
                        .iter()
                        .find(|k| k.eq_ignore_ascii_case(&name))
                        .cloned();
                    if let Some(k) = &existing {
                        work.shift_remove(k);
                    }
                    if let Some(v) = old {
                        work.insert(original_key.or(existing).unwrap_or(name), v);
                    }
                }
            }
        }
        let in_order = work.len() == order.len() && work.keys().zip(order).all(|(a, b)| a == b);
        if !in_order {
            let mut rebuilt = Map::new();
            for k in order {
                if let Some(v) = work.shift_remove(k) {
                    rebuilt.insert(k.clone(), v);
                }
            }
            rebuilt.append(work);
            *work = rebuilt;
        }
    }

    fn operation(&mut self, work: &mut Obj, op: &PatchOperation) -> ScimResult<()> {
        match &op.path {
            None => match op.op {
                PatchOpKind::Remove => Err(ScimError::no_target(
                    "\"If 'path' is unspecified, the operation fails with HTTP status code 400 \
                     and a 'scimType' error code of 'noTarget'\" (RFC 7644 §3.5.2.2)",
                )),
                kind => self.pathless(work, kind, op.value.as_ref(), None),
            },
            Some(text) => {
                let target = resolve(self.schema, parse_path(text)?, None)?;
                self.dispatch(work, op.op, &target, op.value.as_ref())
            }
        }
    }

    /// RFC 7644 §3.5.2.1: "If omitted, the target location is assumed to be the resource
    /// itself. The "value" parameter contains a set of attributes to be added to the
    /// resource." §3.5.2.3: "If the "path" parameter is omitted, the target is assumed to be
    /// the resource itself. In this case, the "value" attribute SHALL contain a list of one or
    /// more attributes that are to be replaced."
    ///
    /// Each key is read as an attribute path, so plain names, dotted `name.givenName`,
    /// URN-prefixed `urn:...:enterprise:2.0:User:employeeNumber` and whole extension URNs
    /// (whose value is an object of the extension's attributes) all work (Entra sends the
    /// dotted and URN forms). With `scope`, the keys are attributes of that extension.
    fn pathless(
        &mut self,
        work: &mut Obj,
        kind: PatchOpKind,
        value: Option<&Value>,
        scope: Option<&'a Schema>,
    ) -> ScimResult<()> {
        let what = match scope {
            Some(ext) => format!("the value of extension {:?}", ext.id),
            None => "a PATCH without \"path\"".to_owned(),
        };
        let Some(Value::Object(attrs)) = value else {
            return Err(ScimError::invalid_value(format!(
                "{what} needs an object of attributes as \"value\", not {}",
                value.map_or_else(|| "nothing".to_owned(), kind_of)
            )));
        };
        if attrs.is_empty() && kind == PatchOpKind::Replace && scope.is_none() {
            return Err(ScimError::invalid_value(
                "a path-less replace \"SHALL contain a list of one or more attributes that are \
                 to be replaced\" (RFC 7644 §3.5.2.3); the value object is empty",
            ));
        }
        for (key, v) in attrs {
            let target = resolve(self.schema, parse_path(key)?, scope)?;
            self.dispatch(work, kind, &target, Some(v))?;
        }
        Ok(())
    }

    fn dispatch(
        &mut self,
        work: &mut Obj,
        kind: PatchOpKind,
        target: &Target<'a>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        if kind == PatchOpKind::Remove {
            return self.remove(work, target, value);
        }
        let Some(value) = value else {
            return Err(ScimError::invalid_value(format!(
                "a PATCH \"{kind}\" operation MUST contain a \"value\" member"
            )));
        };
        if value.is_null() {
            // RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array (in the
            // case of a multi-valued attribute) SHALL be considered to be equivalent in
            // "state"." Adding null adds nothing; replacing with null unassigns.
            return match kind {
                PatchOpKind::Replace => self.remove(work, target, None),
                _ => Ok(()),
            };
        }
        match target {
            Target::Schemas => self.set_schemas(work, kind, value),
            Target::Extension(ext) => self.pathless(work, kind, Some(value), Some(ext)),
            Target::Attr(t) => self.set_attr(work, kind, t, value),
        }
    }

    // ----- schemas and extensions ------------------------------------------------------

    /// RFC 7644 §3.5.2: "If one of the PATCH operations modifies the "schemas" attribute,
    /// subsequent operations SHALL assume the modified state of the "schemas" attribute."
    fn set_schemas(&mut self, work: &mut Obj, kind: PatchOpKind, value: &Value) -> ScimResult<()> {
        let items: Vec<&Value> = match value {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut urns = Vec::new();
        for item in items {
            let Some(urn) = item.as_str() else {
                return Err(ScimError::invalid_value(format!(
                    "\"schemas\" holds schema URIs (strings), not {}",
                    kind_of(item)
                )));
            };
            let canonical = if self.schema.core.id.eq_ignore_ascii_case(urn) {
                self.schema.core.id.clone()
            } else if let Some(ext) = self.schema.extension(urn) {
                ext.id.clone()
            } else {
                return Err(ScimError::invalid_value(format!(
                    "schema {urn:?} is neither the core schema nor an extension of resource \
                     type {:?}",
                    self.schema.name()
                )));
            };
            if !urns
                .iter()
                .any(|u: &String| u.eq_ignore_ascii_case(&canonical))
            {
                urns.push(canonical);
            }
        }
        self.touch(work, Touched::Schemas);
        let current: Vec<String> = get_ci(work, "schemas")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let next = match kind {
            PatchOpKind::Add => {
                let mut next = current.clone();
                for u in urns {
                    if !next.iter().any(|c| c.eq_ignore_ascii_case(&u)) {
                        next.push(u);
                    }
                }
                next
            }
            _ => {
                if !urns
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(&self.schema.core.id))
                {
                    return Err(ScimError::invalid_value(format!(
                        "\"schemas\" must keep the core schema {:?}",
                        self.schema.core.id
                    )));
                }
                // Extensions dropped from "schemas" lose their attributes.
                for (ext, required) in &self.schema.extensions {
                    let dropped = current.iter().any(|c| c.eq_ignore_ascii_case(&ext.id))
                        && !urns.iter().any(|u| u.eq_ignore_ascii_case(&ext.id));
                    if dropped {
                        if *required {
                            return Err(ScimError::mutability(format!(
                                "extension {:?} is required by resource type {:?}",
                                ext.id,
                                self.schema.name()
                            )));
                        }
                        self.touch(work, Touched::Ext(ext.id.clone()));
                        remove_ci(work, &ext.id);
                    }
                }
                urns
            }
        };
        set_ci(
            work,
            "schemas",
            Value::Array(next.into_iter().map(Value::String).collect()),
        );
        Ok(())
    }

    /// Keeps `schemas` consistent with the extension objects the request touched: an
    /// extension with attributes is listed; an extension object left empty is removed, and an
    /// extension whose attributes were all removed is unlisted.
    fn tidy_extensions(&mut self, work: &mut Obj) {
        let exts: Vec<(String, bool)> = self
            .saved
            .iter()
            .filter_map(|(k, original)| match (k, original) {
                (Touched::Ext(urn), Original::Value(old)) => {
                    Some((urn.clone(), old.as_ref().is_some_and(has_data)))
                }
                (Touched::Ext(urn), Original::Prefix(_)) => Some((urn.clone(), true)),
                _ => None,
            })
            .collect();
        for (urn, had_data) in exts {
            let listed = |m: &Obj| {
                get_ci(m, "schemas")
                    .and_then(Value::as_array)
                    .is_some_and(|a| {
                        a.iter()
                            .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&urn)))
                    })
            };
            if get_ci(work, &urn).is_some_and(has_data) {
                if !listed(work) {
                    self.touch(work, Touched::Schemas);
                    match get_ci_mut(work, "schemas") {
                        Some(Value::Array(a)) => a.push(Value::String(urn.clone())),
                        _ => {
                            let list = vec![
                                Value::String(self.schema.core.id.clone()),
                                Value::String(urn.clone()),
                            ];
                            set_ci(work, "schemas", Value::Array(list));
                        }
                    }
                }
            } else {
                if get_ci(work, &urn).is_some() {
                    remove_ci(work, &urn);
                }
                if had_data && listed(work) {
                    self.touch(work, Touched::Schemas);
                    if let Some(Value::Array(a)) = get_ci_mut(work, "schemas") {
                        a.retain(|v| !v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&urn)));
                    }
                }
            }
        }
    }

    /// The top-level attributes the request changed.
    fn changes(&self, after: &Obj) -> Vec<AttrPath> {
        let mut out = Vec::new();
        for (key, original) in &self.saved {
            let now = member(after, key);
            match (key, original) {
                (Touched::Core(name), Original::Prefix(len)) => {
                    if now.and_then(Value::as_array).map_or(0, Vec::len) != *len {
                        out.push(AttrPath::new(name.clone()));
                    }
                }
                (Touched::Core(name), Original::Value(old)) => {
                    if !same(old.as_ref(), now) {
                        out.push(AttrPath::new(name.clone()));
                    }
                }
                (Touched::Schemas, original) => {
                    if *original != Original::Value(now.cloned()) {
                        out.push(AttrPath::new("schemas"));
                    }
                }
                (Touched::Ext(urn), original) => {
                    let empty = Map::new();
                    let b = match original {
                        Original::Value(Some(Value::Object(o))) => o,
                        _ => &empty,
                    };
                    let a = now.and_then(Value::as_object).unwrap_or(&empty);
                    let ext = self.schema.extension(urn);
                    let mut names: Vec<&String> = b.keys().collect();
                    names.extend(a.keys().filter(|k| get_ci(b, k).is_none()));
                    for name in names {
                        if !same(get_ci(b, name), get_ci(a, name)) {
                            let name = ext
                                .and_then(|s| s.attribute(name))
                                .map_or_else(|| name.clone(), |at| at.name.clone());
                            let path = AttrPath::new(name).with_uri(urn.clone());
                            if !out.contains(&path) {
                                out.push(path);
                            }
                        }
                    }
                }
            }
        }
        // `schemas` is reported last, after the attributes that caused it to change.
        if let Some(i) = out
            .iter()
            .position(|p| p.uri.is_none() && p.name == "schemas")
        {
            let p = out.remove(i);
            out.push(p);
        }
        out
    }

    // ----- add / replace ---------------------------------------------------------------

    fn set_attr(
        &mut self,
        work: &mut Obj,
        kind: PatchOpKind,
        t: &AttrTarget<'a>,
        value: &Value,
    ) -> ScimResult<()> {
        let append = kind == PatchOpKind::Add
            && t.filter.is_none()
            && t.sub.is_none()
            && t.attribute.multi_valued
            && t.ext_urn.is_none();
        if append {
            self.touch_append(work, Self::attr_key(t));
        } else {
            self.touch_attr(work, t);
        }
        let mutability = t.write_mutability();
        // RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability
        // "readOnly" or "immutable". However, a client MAY "add" a value to an "immutable"
        // attribute if the attribute had no previous value." Writing the value an attribute
        // already has modifies nothing (Okta repeats "id" in path-less replaces), so the
        // operation is applied and its effect checked.
        let snapshot = matches!(mutability, Mutability::ReadOnly | Mutability::Immutable)
            .then(|| current(work, t).cloned());
        self.set_attr_inner(work, kind, t, value)?;
        if let Some(before) = snapshot {
            let after = current(work, t);
            if !same(before.as_ref(), after) {
                if mutability == Mutability::ReadOnly {
                    return Err(ScimError::mutability(format!(
                        "attribute {:?} is readOnly: \"The attribute SHALL NOT be modified\" \
                         (RFC 7643 §7)",
                        shown(t)
                    )));
                }
                if before.as_ref().is_some_and(|v| !is_unassigned(v)) {
                    return Err(ScimError::mutability(format!(
                        "attribute {:?} is immutable and already has a value (RFC 7644 §3.5.2: \
                         a client MAY \"add\" a value to an \"immutable\" attribute only if the \
                         attribute had no previous value)",
                        shown(t)
                    )));
                }
            }
        }
        Ok(())
    }

    fn set_attr_inner(
        &mut self,
        work: &mut Obj,
        kind: PatchOpKind,
        t: &AttrTarget<'a>,
        value: &Value,
    ) -> ScimResult<()> {
        let attr = t.attribute;
        match (&t.filter, &t.sub) {
            (None, None) if attr.multi_valued => {
                let elems = self.normalize_multi(attr, value)?;
                check_one_primary(&elems, attr)?;
                match kind {
                    PatchOpKind::Add => {
                        // §3.5.2.1: "If the target location specifies a multi-valued
                        // attribute, a new value is added to the attribute." and "If the
                        // target location already contains the value specified, no changes
                        // SHOULD be made to the resource".
                        if elems.is_empty() {
                            return Ok(());
                        }
                        let arr = existing_array_mut(work, t)?;
                        let mut added = Vec::new();
                        // Many values at once (Entra batches members): index the existing
                        // identities once instead of scanning the array per value.
                        let mut index = (elems.len() >= 4)
                            .then(|| identity_attr(attr))
                            .flatten()
                            .map(|id| {
                                let keys: HashSet<String> =
                                    arr.iter().filter_map(|e| identity_key(id, e)).collect();
                                (id, keys)
                            });
                        for e in elems {
                            let present = match &mut index {
                                Some((id, keys)) => match identity_key(id, &e) {
                                    Some(k) => !keys.insert(k),
                                    None => already_present(attr, arr, &e),
                                },
                                None => already_present(attr, arr, &e),
                            };
                            if !present {
                                arr.push(e);
                                added.push(arr.len() - 1);
                            }
                        }
                        demote_other_primaries(arr, &added, attr)
                    }
                    _ => {
                        // §3.5.2.3: "If the target location is a multi-valued attribute and
                        // no filter is specified, the attribute and all values are replaced."
                        if elems.is_empty() {
                            return self.remove_attr(work, t, None);
                        }
                        let container = container_mut(work, t)?;
                        let key = key_for(container, &attr.name);
                        container.insert(key, Value::Array(elems));
                        Ok(())
                    }
                }
            }
            (None, None) => {
                // Single-valued. §3.5.2.1: "If the target location specifies a
                // single-valued attribute, the existing value is replaced." For a complex
                // attribute (§3.5.2.3): "a set of sub-attributes SHALL be specified in the
                // "value" parameter, which replaces any existing values or adds where an
                // attribute did not previously exist. Sub-attributes that are not specified in
                // the "value" parameter are left unchanged."
                let v = self.normalize_single(attr, value)?;
                let container = container_mut(work, t)?;
                let key = key_for(container, &attr.name);
                if let Value::Object(sub_values) = v {
                    let slot = container
                        .entry(key.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    if let Value::Object(obj) = slot {
                        merge(obj, sub_values, kind, attr)?;
                        if obj.is_empty() {
                            container.shift_remove(&key);
                        }
                    }
                } else {
                    container.insert(key, v);
                }
                Ok(())
            }
            (None, Some(sub)) => {
                let v = self.normalize_sub(sub, value)?;
                if attr.multi_valued {
                    // `emails.value`: the sub-attribute of every value.
                    let arr = existing_array_mut(work, t)?;
                    if arr.is_empty() {
                        return Err(ScimError::no_target(format!(
                            "{:?} has no values whose {:?} could be set",
                            shown(t),
                            sub.name
                        )));
                    }
                    let all: Vec<usize> = (0..arr.len()).collect();
                    for e in arr.iter_mut() {
                        set_sub(e, sub, v.clone(), kind)?;
                    }
                    demote_other_primaries(arr, &all, attr)
                } else {
                    let container = container_mut(work, t)?;
                    let key = key_for(container, &attr.name);
                    let slot = container
                        .entry(key)
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    set_sub(slot, sub, v, kind)
                }
            }
            (Some(filter), sub) => {
                let matches = matching(work, t, filter)?;
                if matches.is_empty() {
                    return self.create_from_filter(work, kind, t, filter, sub.as_deref(), value);
                }
                match sub {
                    None => {
                        let elem = self.normalize_element(attr, value)?;
                        let arr = existing_array_mut(work, t)?;
                        for &i in &matches {
                            match kind {
                                // §3.5.2.3: "all matching record values SHALL be replaced".
                                PatchOpKind::Replace => arr[i] = strip_nulls(elem.clone()),
                                // §3.5.2.1: add to a complex value sets its sub-attributes.
                                _ => {
                                    if let (Value::Object(target), Value::Object(src)) =
                                        (&mut arr[i], &elem)
                                    {
                                        merge(target, src.clone(), kind, attr)?;
                                    } else {
                                        arr[i] = strip_nulls(elem.clone());
                                    }
                                }
                            }
                        }
                        demote_other_primaries(arr, &matches, attr)
                    }
                    Some(sub) => {
                        // §3.5.2.3: "the matching sub-attribute of all matching records SHALL
                        // be replaced."
                        let v = self.normalize_sub(sub, value)?;
                        let arr = existing_array_mut(work, t)?;
                        for &i in &matches {
                            set_sub(&mut arr[i], sub, v.clone(), kind)?;
                        }
                        demote_other_primaries(arr, &matches, attr)
                    }
                }
            }
        }
    }

    /// A value path that matched nothing. §3.5.2.3: "If the target location is a
    /// multi-valued attribute for which a value selection filter ("valuePath") has been
    /// supplied and no record match was made, the service provider SHALL indicate failure by
    /// returning HTTP status code 400 and a "scimType" error code of "noTarget"." With
    /// [`PatchOptions::filter_add_creates`], a filter of `eq` comparisons instead creates the
    /// value it describes (Entra's `emails[type eq "work"].value`).
    fn create_from_filter(
        &mut self,
        work: &mut Obj,
        kind: PatchOpKind,
        t: &AttrTarget<'a>,
        filter: &crate::filter::Filter,
        sub: Option<&Attribute>,
        value: &Value,
    ) -> ScimResult<()> {
        let no_target = || {
            ScimError::no_target(format!(
                "no value of {:?} matches the filter [{filter}]",
                t.attribute.name
            ))
        };
        if !self.options.filter_add_creates || !t.attribute.is_complex() {
            return Err(no_target());
        }
        let Some(pairs) = eq_conjunction(filter) else {
            return Err(no_target());
        };
        let mut raw = Map::new();
        for (name, v) in pairs {
            let Some(sub_attr) = sub_attribute_of(t.attribute, name) else {
                return Err(no_target());
            };
            raw.insert(sub_attr.name.clone(), v);
        }
        match sub {
            Some(sub) => {
                raw.insert(sub.name.clone(), value.clone());
            }
            None => {
                let Value::Object(given) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "a value of {:?} must be an object, not {}",
                        t.attribute.name,
                        kind_of(value)
                    )));
                };
                for (k, v) in given {
                    if let Some(existing) = get_ci_key(&raw, k).map(str::to_owned) {
                        raw.shift_remove(&existing);
                    }
                    raw.insert(k.clone(), v.clone());
                }
            }
        }
        let elem = strip_nulls(self.normalize_element(t.attribute, &Value::Object(raw))?);
        let _ = kind;
        let container = container_mut(work, t)?;
        let key = key_for(container, &t.attribute.name);
        let slot = container
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()));
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        if let Value::Array(arr) = slot {
            arr.push(elem);
            let new = [arr.len() - 1];
            demote_other_primaries(arr, &new, t.attribute)?;
        }
        Ok(())
    }

    // ----- remove ----------------------------------------------------------------------

    fn remove(
        &mut self,
        work: &mut Obj,
        target: &Target<'a>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        match target {
            Target::Schemas => Err(ScimError::mutability(
                "\"schemas\" is required and cannot be removed (RFC 7643 §3)",
            )),
            Target::Extension(ext) => {
                let required = self
                    .schema
                    .extensions
                    .iter()
                    .any(|(s, r)| *r && s.id.eq_ignore_ascii_case(&ext.id));
                let present = get_ci(work, &ext.id)
                    .and_then(Value::as_object)
                    .is_some_and(|o| o.values().any(|v| !is_unassigned(v)));
                if present {
                    if required {
                        return Err(ScimError::mutability(format!(
                            "extension {:?} is required by resource type {:?}",
                            ext.id,
                            self.schema.name()
                        )));
                    }
                    if let Some(a) = ext.attributes.iter().find(|a| {
                        a.required
                            && get_ci(work, &ext.id)
                                .and_then(Value::as_object)
                                .and_then(|o| get_ci(o, &a.name))
                                .is_some_and(|v| !is_unassigned(v))
                    }) {
                        return Err(required_error(&a.name));
                    }
                }
                self.touch(work, Touched::Ext(ext.id.clone()));
                remove_ci(work, &ext.id);
                Ok(())
            }
            Target::Attr(t) => {
                self.touch_attr(work, t);
                self.remove_attr(work, t, value)
            }
        }
    }

    /// RFC 7644 §3.5.2.2.
    fn remove_attr(
        &mut self,
        work: &mut Obj,
        t: &AttrTarget<'a>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let attr = t.attribute;
        // "If an attribute is removed or becomes unassigned and is defined as a required
        // attribute or a read-only attribute, the server SHALL return an HTTP response status
        // code and a JSON detail error response as defined in Section 3.12, with a "scimType"
        // error code of "mutability"."
        if t.write_mutability() == Mutability::ReadOnly {
            return Err(ScimError::mutability(format!(
                "attribute {:?} is readOnly and cannot be removed (RFC 7644 §3.5.2.2)",
                shown(t)
            )));
        }
        match (&t.filter, &t.sub) {
            (None, None) => {
                let Some(present) = current(work, t).filter(|v| !is_unassigned(v)) else {
                    return Ok(());
                };
                let listed = value.filter(|v| !v.is_null());
                if let (true, true, Some(listed)) =
                    (attr.multi_valued, self.options.remove_by_value, listed)
                {
                    // Compatibility (Entra): remove only the listed values.
                    let Value::Array(items) = present else {
                        return Ok(());
                    };
                    let doomed: Vec<usize> = match listed_identities(attr, listed) {
                        Some((id, keys)) => items
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| identity_key(id, e).is_some_and(|k| keys.contains(&k)))
                            .map(|(i, _)| i)
                            .collect(),
                        None => items
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| listed_matches(attr, listed, e))
                            .map(|(i, _)| i)
                            .collect(),
                    };
                    if doomed.is_empty() {
                        return Ok(());
                    }
                    if attr.mutability == Mutability::Immutable {
                        return Err(immutable_error(t));
                    }
                    return self.drop_elements(work, t, &doomed);
                }
                if attr.mutability == Mutability::Immutable {
                    return Err(immutable_error(t));
                }
                if attr.required {
                    return Err(required_error(&attr.name));
                }
                // "If the target location is a single-value attribute, the attribute and its
                // associated value is removed [...] If the target location is a multi-valued
                // attribute and no filter is specified, the attribute and all values are
                // removed, and the attribute SHALL be considered unassigned."
                if let Some(c) = container_mut_existing(work, t) {
                    remove_ci(c, &attr.name);
                }
                Ok(())
            }
            (None, Some(sub)) => {
                let Some(present) = current(work, t) else {
                    return Ok(());
                };
                let any = match present {
                    Value::Array(items) => items.iter().any(|e| has_sub(e, &sub.name)),
                    other => has_sub(other, &sub.name),
                };
                if !any {
                    return Ok(());
                }
                check_sub_removable(t, sub)?;
                if attr.multi_valued {
                    let n = existing_array_mut(work, t)?.len();
                    let all: Vec<usize> = (0..n).collect();
                    self.remove_sub_of(work, t, sub, &all)
                } else {
                    let c = container_mut(work, t)?;
                    let key = key_for(c, &attr.name);
                    let now_empty = match c.get_mut(&key) {
                        Some(Value::Object(o)) => {
                            remove_ci(o, &sub.name);
                            o.values().all(is_unassigned)
                        }
                        _ => false,
                    };
                    if now_empty {
                        if attr.required {
                            return Err(required_error(&attr.name));
                        }
                        c.shift_remove(&key);
                    }
                    Ok(())
                }
            }
            (Some(filter), sub) => {
                let matches = matching(work, t, filter)?;
                if matches.is_empty() {
                    // RFC 7644 §3.12, noTarget: "The specified "path" did not yield an
                    // attribute or attribute value that could be operated on. This occurs
                    // when the specified "path" value contains a filter that yields no match."
                    return Err(ScimError::no_target(format!(
                        "no value of {:?} matches the filter [{filter}]",
                        attr.name
                    )));
                }
                match sub {
                    // "If the target location is a multi-valued attribute and a complex filter
                    // is specified comparing a "value", the values matched by the filter are
                    // removed. If no other values remain after removal of the selected values,
                    // the multi-valued attribute SHALL be considered unassigned."
                    None => {
                        if attr.mutability == Mutability::Immutable {
                            return Err(immutable_error(t));
                        }
                        self.drop_elements(work, t, &matches)
                    }
                    Some(sub) => {
                        check_sub_removable(t, sub)?;
                        self.remove_sub_of(work, t, sub, &matches)
                    }
                }
            }
        }
    }

    /// Removes the elements at `indices`; an attribute left with no values is removed.
    fn drop_elements(
        &mut self,
        work: &mut Obj,
        t: &AttrTarget<'a>,
        indices: &[usize],
    ) -> ScimResult<()> {
        let arr = existing_array_mut(work, t)?;
        let mut doomed = vec![false; arr.len()];
        for &i in indices {
            if let Some(d) = doomed.get_mut(i) {
                *d = true;
            }
        }
        let mut doomed = doomed.into_iter();
        arr.retain(|_| !doomed.next().unwrap_or(false));
        if arr.is_empty() {
            if t.attribute.required {
                return Err(required_error(&t.attribute.name));
            }
            if let Some(c) = container_mut_existing(work, t) {
                remove_ci(c, &t.attribute.name);
            }
        }
        Ok(())
    }

    /// Removes `sub` from the elements at `indices`; elements left empty are dropped, and an
    /// attribute left with no values is removed. "Sub-attributes whose values have been
    /// removed SHALL be considered unassigned."
    fn remove_sub_of(
        &mut self,
        work: &mut Obj,
        t: &AttrTarget<'a>,
        sub: &Attribute,
        indices: &[usize],
    ) -> ScimResult<()> {
        let arr = existing_array_mut(work, t)?;
        let mut empty = Vec::new();
        for &i in indices {
            if let Some(Value::Object(o)) = arr.get_mut(i) {
                remove_ci(o, &sub.name);
                if o.values().all(is_unassigned) {
                    empty.push(i);
                }
            }
        }
        if empty.is_empty() {
            Ok(())
        } else {
            self.drop_elements(work, t, &empty)
        }
    }

    // ----- values ----------------------------------------------------------------------

    /// The values for a multi-valued attribute: an array's elements, or one value.
    fn normalize_multi(&self, attr: &Attribute, value: &Value) -> ScimResult<Vec<Value>> {
        let items: Vec<&Value> = match value {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        items
            .into_iter()
            .filter(|v| !v.is_null())
            .map(|v| self.normalize_element(attr, v).map(strip_nulls))
            .collect()
    }

    /// The value for a single-valued attribute, unwrapping a one-element array when
    /// [`PatchOptions::unwrap_single_arrays`] allows.
    fn normalize_single(&self, attr: &Attribute, value: &Value) -> ScimResult<Value> {
        if let Value::Array(items) = value {
            let shorthand = self.options.manager_shorthand && takes_value_shorthand(attr);
            if !shorthand {
                return match items.as_slice() {
                    [one] if self.options.unwrap_single_arrays => self.normalize_element(attr, one),
                    _ => Err(ScimError::invalid_value(format!(
                        "attribute {:?} is single-valued; got an array",
                        attr.name
                    ))),
                };
            }
        }
        self.normalize_element(attr, value)
    }

    /// The value for a sub-attribute.
    fn normalize_sub(&self, sub: &Attribute, value: &Value) -> ScimResult<Value> {
        if sub.multi_valued {
            Ok(Value::Array(self.normalize_multi(sub, value)?))
        } else {
            self.normalize_single(sub, value)
        }
    }

    /// One value of `attr` (an element of a multi-valued attribute, or the value of a
    /// single-valued one): type-checked, sub-attribute names in the schema's spelling,
    /// readOnly sub-attributes dropped (as RFC 7644 §3.3 ignores them on input), nulls kept
    /// for the caller to interpret.
    fn normalize_element(&self, attr: &Attribute, value: &Value) -> ScimResult<Value> {
        if !attr.is_complex() {
            return self.normalize_scalar(attr, value);
        }
        let shorthand;
        let value = if self.options.manager_shorthand && takes_value_shorthand(attr) {
            shorthand = value_shorthand(value);
            shorthand.as_ref().unwrap_or(value)
        } else {
            value
        };
        let Value::Object(given) = value else {
            return Err(ScimError::invalid_value(format!(
                "attribute {:?} is complex; its value must be an object of sub-attributes, not {}",
                attr.name,
                kind_of(value)
            )));
        };
        let mut out = Map::new();
        for (k, v) in given {
            let Some(sub) = sub_attribute_of(attr, k) else {
                return Err(ScimError::invalid_value(format!(
                    "{k:?} is not a sub-attribute of {:?}",
                    attr.name
                )));
            };
            if sub.mutability == Mutability::ReadOnly && attr.mutability != Mutability::ReadOnly {
                continue;
            }
            let nv = if v.is_null() {
                Value::Null
            } else if sub.multi_valued {
                Value::Array(self.normalize_multi(&sub, v)?)
            } else {
                self.normalize_single(&sub, v)?
            };
            out.insert(sub.name.clone(), nv);
        }
        Ok(Value::Object(out))
    }

    fn normalize_scalar(&self, attr: &Attribute, value: &Value) -> ScimResult<Value> {
        let bad = |expected: &str| {
            ScimError::invalid_value(format!(
                "attribute {:?} is {expected}; got {}",
                attr.name,
                kind_of(value)
            ))
        };
        match (attr.attr_type, value) {
            (_, Value::Array(items)) if items.len() == 1 && self.options.unwrap_single_arrays => {
                self.normalize_scalar(attr, &items[0])
            }
            (AttributeType::Boolean, Value::Bool(_)) => Ok(value.clone()),
            (AttributeType::Boolean, Value::String(s)) if self.options.boolean_strings => {
                crate::resource::bool_from_str(s)
                    .map(Value::Bool)
                    .ok_or_else(|| bad("a boolean"))
            }
            (AttributeType::Boolean, _) => Err(bad("a boolean")),
            (
                AttributeType::String | AttributeType::Reference | AttributeType::Binary,
                Value::String(_),
            ) => Ok(value.clone()),
            (AttributeType::String, _) => Err(bad("a string")),
            (AttributeType::Reference, _) => Err(bad("a reference (a URI string)")),
            (AttributeType::Binary, _) => Err(bad("binary (a base64 string)")),
            (AttributeType::DateTime, Value::String(s)) if is_date_time(s) => Ok(value.clone()),
            (AttributeType::DateTime, _) => Err(bad("a dateTime (xsd:dateTime string)")),
            (AttributeType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
                Ok(value.clone())
            }
            (AttributeType::Integer, _) => Err(bad("an integer")),
            (AttributeType::Decimal, Value::Number(_)) => Ok(value.clone()),
            (AttributeType::Decimal, _) => Err(bad("a decimal")),
            (AttributeType::Complex, Value::Object(_)) => Ok(value.clone()),
            (AttributeType::Complex, _) => Err(bad("complex")),
        }
    }
}

// ----- helpers ---------------------------------------------------------------------------

fn shown(t: &AttrTarget<'_>) -> String {
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

fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn required_error(name: &str) -> ScimError {
    ScimError::mutability(format!(
        "attribute {name:?} is required and cannot be removed or unassigned (RFC 7644 §3.5.2.2)"
    ))
}

fn immutable_error(t: &AttrTarget<'_>) -> ScimError {
    ScimError::mutability(format!(
        "attribute {:?} is immutable: \"Once set, the attribute SHALL NOT be updated\" \
         (RFC 7643 §7)",
        shown(t)
    ))
}

fn check_sub_removable(t: &AttrTarget<'_>, sub: &Attribute) -> ScimResult<()> {
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
fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Does an extension object hold any assigned attribute?
fn has_data(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.values().any(|v| !is_unassigned(v)))
}

/// Equal "state": absent, null and `[]` are all unassigned.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (
        a.filter(|v| !is_unassigned(v)),
        b.filter(|v| !is_unassigned(v)),
    ) {
        (None, None) => true,
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn has_sub(e: &Value, name: &str) -> bool {
    e.as_object()
        .and_then(|o| get_ci(o, name))
        .is_some_and(|v| !is_unassigned(v))
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(o.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

fn is_date_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

/// The key to write `name` under: the existing spelling if the member exists, else `name`
/// (the schema's spelling).
fn key_for(map: &Obj, name: &str) -> String {
    get_ci_key(map, name).unwrap_or(name).to_owned()
}

fn set_ci(map: &mut Obj, name: &str, value: Value) {
    let key = key_for(map, name);
    map.insert(key, value);
}

/// The current value of the target's top-level attribute.
fn current<'w>(work: &'w Obj, t: &AttrTarget<'_>) -> Option<&'w Value> {
    let container = match t.ext_urn {
        None => work,
        Some(urn) => get_ci(work, urn)?.as_object()?,
    };
    get_ci(container, &t.attribute.name)
}

/// The object holding the target's attribute, creating the extension object if needed.
fn container_mut<'w>(work: &'w mut Obj, t: &AttrTarget<'_>) -> ScimResult<&'w mut Obj> {
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

fn container_mut_existing<'w>(work: &'w mut Obj, t: &AttrTarget<'_>) -> Option<&'w mut Obj> {
    match t.ext_urn {
        None => Some(work),
        Some(urn) => get_ci_mut(work, urn)?.as_object_mut(),
    }
}

/// The existing array of a multi-valued target (empty when absent).
fn existing_array_mut<'w>(work: &'w mut Obj, t: &AttrTarget<'_>) -> ScimResult<&'w mut Vec<Value>> {
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
fn matching(
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
fn set_sub(target: &mut Value, sub: &Attribute, v: Value, kind: PatchOpKind) -> ScimResult<()> {
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
fn merge(target: &mut Obj, given: Obj, kind: PatchOpKind, attr: &Attribute) -> ScimResult<()> {
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

fn is_primary(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| get_ci(o, "primary"))
        .is_some_and(|p| p == &Value::Bool(true))
}

/// RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."
fn check_one_primary(values: &[Value], attr: &Attribute) -> ScimResult<()> {
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
fn demote_other_primaries(arr: &mut [Value], set: &[usize], attr: &Attribute) -> ScimResult<()> {
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
fn values_equal(attr: Option<&Attribute>, a: &Value, b: &Value) -> bool {
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
fn eq_ignore_case(x: &str, y: &str) -> bool {
    if x.is_ascii() && y.is_ascii() {
        x.eq_ignore_ascii_case(y)
    } else {
        x.chars()
            .flat_map(char::to_lowercase)
            .eq(y.chars().flat_map(char::to_lowercase))
    }
}

/// Does `existing` hold every (non-null) sub-attribute value of `given`?
fn contains_all(attr: Option<&Attribute>, given: &Obj, existing: &Obj) -> bool {
    given.iter().filter(|(_, v)| !v.is_null()).all(|(k, v)| {
        let sub = attr.and_then(|a| sub_attribute_of(a, k));
        get_ci(existing, k).is_some_and(|e| values_equal(sub.as_deref(), e, v))
    })
}

/// Is `new` already present in `existing` (§3.5.2.1, "If the target location already
/// contains the value specified, no changes SHOULD be made")? A complex value is present when
/// an existing value holds every sub-attribute value given. When the attribute's `value`
/// sub-attribute is immutable (group `members`), `value` alone identifies the element.
fn already_present(attr: &Attribute, existing: &[Value], new: &Value) -> bool {
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
fn duplicate(attr: &Attribute, existing: &Value, new: &Value) -> bool {
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
fn identity_attr(attr: &Attribute) -> Option<&Attribute> {
    attr.sub_attribute("value")
        .filter(|s| s.mutability == Mutability::Immutable && attr.is_complex())
}

/// The identity of a value for hashing: its `value`, lower-cased unless caseExact.
fn identity_key(id: &Attribute, v: &Value) -> Option<String> {
    let s = v.as_object().and_then(|o| get_ci(o, "value"))?.as_str()?;
    Some(if id.case_exact {
        s.to_owned()
    } else {
        s.to_lowercase()
    })
}

/// For many listed values that are all plain identities (`{"value": id}` or `id`), their
/// identity set.
fn listed_identities<'x>(
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
fn listed_matches(attr: &Attribute, listed: &Value, e: &Value) -> bool {
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
    use crate::builtin;
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
    fn date_times() {
        assert!(is_date_time("2010-01-23T04:56:22Z"));
        assert!(is_date_time("2011-05-13T04:42:34.5+02:00"));
        assert!(is_date_time("2011-05-13T04:42:34"));
        assert!(!is_date_time("yesterday"));
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
