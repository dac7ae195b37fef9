//! Applying a PATCH request to a resource (RFC 7644 §3.5.2.1 add, §3.5.2.2 remove, §3.5.2.3
//! replace).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::compat::{PatchOptions, creates_on_no_match, eq_conjunction};
pub(super) use super::helpers::Obj;
use super::helpers::*;
use super::request::{PatchOpKind, PatchOperation, PatchRequest};
use super::target::{AttrTarget, Target, parse_path, resolve, sub_attribute_of};
use crate::error::{ScimError, ScimResult};
use crate::path::AttrPath;
use crate::resource::{Resource, get_ci, get_ci_key, get_ci_mut, remove_ci};
use crate::schema::{Attribute, Mutability, ResourceSchema, Schema};
use crate::validation::check_required as check_required_value;

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
    let mut changed_attributes = match result {
        Ok(()) => engine.changes(&work),
        Err(_) => Vec::new(),
    };
    if let Err(e) = engine.check_required(&work, &changed_attributes) {
        result = Err(e);
        changed_attributes.clear();
    }
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
pub(super) enum Touched {
    /// A core or common attribute (schema spelling).
    Core(String),
    /// An extension object (schema URN).
    Ext(String),
    /// `schemas`.
    Schemas,
}

/// The state of a top-level member before the request first changed it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Original {
    /// The member's value (`None`: absent).
    Value(Option<Value>),
    /// The member was an array of this length and has only been appended to since.
    Prefix(usize),
}

pub(super) struct Engine<'a> {
    pub(super) schema: &'a ResourceSchema,
    pub(super) options: &'a PatchOptions,
    pub(super) saved: Vec<(Touched, Original)>,
}

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
    pub(super) fn touch(&mut self, work: &Obj, key: Touched) {
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
    pub(super) fn touch_append(&mut self, work: &Obj, key: Touched) {
        if self.saved.iter().any(|(k, _)| *k == key) {
            return;
        }
        match member(work, &key) {
            Some(Value::Array(a)) => self.saved.push((key, Original::Prefix(a.len()))),
            _ => self.touch(work, key),
        }
    }

    pub(super) fn attr_key(t: &AttrTarget<'_>) -> Touched {
        match t.ext_urn {
            Some(urn) => Touched::Ext(urn.to_owned()),
            None => Touched::Core(t.attribute.name.clone()),
        }
    }

    pub(super) fn touch_attr(&mut self, work: &Obj, t: &AttrTarget<'_>) {
        self.touch(work, Self::attr_key(t));
    }

    /// Puts every saved member back and restores the original member order.
    pub(super) fn rollback(&mut self, work: &mut Obj, order: &[String]) {
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

    pub(super) fn operation(&mut self, work: &mut Obj, op: &PatchOperation) -> ScimResult<()> {
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
    pub(super) fn pathless(
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
            if scope.is_some() && key.eq_ignore_ascii_case("schemas") {
                // The value of a whole extension (`"path": "urn:...:enterprise:2.0:User"`)
                // may carry its own `"schemas"`, as a resource body does; the path already
                // names the extension, so that key says nothing more and is ignored.
                continue;
            }
            let target = resolve(self.schema, parse_path(key)?, scope)?;
            self.dispatch(work, kind, &target, Some(v))?;
        }
        Ok(())
    }

    pub(super) fn dispatch(
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
    pub(super) fn set_schemas(
        &mut self,
        work: &mut Obj,
        kind: PatchOpKind,
        value: &Value,
    ) -> ScimResult<()> {
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
    pub(super) fn tidy_extensions(&mut self, work: &mut Obj) {
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
    pub(super) fn changes(&self, after: &Obj) -> Vec<AttrPath> {
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

    /// The required attributes among those the request changed must still have a value
    /// (RFC 7643 §7 `required`, as `/Schemas` publishes it). RFC 7644 §3.5.2.2: "If an
    /// attribute is removed or becomes unassigned and is defined as a required attribute or a
    /// read-only attribute, the server SHALL return an HTTP response status code and a JSON
    /// detail error response as defined in Section 3.12, with a "scimType" error code of
    /// "mutability"." A required string set to `""` (or white space only) is 400
    /// `invalidValue`, as it is on POST and PUT; so is a complex value that lacks a required
    /// sub-attribute.
    pub(super) fn check_required(&self, work: &Obj, changed: &[AttrPath]) -> ScimResult<()> {
        for path in changed {
            let (container, attr) = match &path.uri {
                None => match self.schema.core.attribute(&path.name) {
                    Some(a) => (Some(work), a),
                    None => continue,
                },
                Some(urn) => match self
                    .schema
                    .extension(urn)
                    .and_then(|e| e.attribute(&path.name))
                {
                    Some(a) => (get_ci(work, urn).and_then(Value::as_object), a),
                    None => continue,
                },
            };
            if attr.mutability == Mutability::ReadOnly {
                continue;
            }
            let value = container
                .and_then(|c| get_ci(c, &attr.name))
                .filter(|v| !is_unassigned(v));
            let shown = match &path.uri {
                Some(urn) => format!("{urn}:{}", attr.name),
                None => attr.name.clone(),
            };
            if attr.required {
                let Some(value) = value else {
                    return Err(required_error(&shown));
                };
                check_required_value(Some(value), &shown)?;
            }
            if let Some(v) = value.filter(|_| attr.is_complex()) {
                let items: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for (i, item) in items.into_iter().enumerate() {
                    let Value::Object(o) = item else { continue };
                    for sub in attr
                        .sub_attributes
                        .iter()
                        .filter(|s| s.required && s.mutability != Mutability::ReadOnly)
                    {
                        let at = if attr.multi_valued {
                            format!("{shown}[{i}].{}", sub.name)
                        } else {
                            format!("{shown}.{}", sub.name)
                        };
                        check_required_value(get_ci(o, &sub.name), &at)?;
                    }
                }
            }
        }
        Ok(())
    }

    // ----- add / replace ---------------------------------------------------------------

    pub(super) fn set_attr(
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

    pub(super) fn set_attr_inner(
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
                        if elems.iter().any(is_primary) {
                            // A new primary value demotes the existing ones (RFC 7644
                            // §3.5.2), which changes more than the appended tail: save the
                            // whole original array, so that a later failing operation restores
                            // it exactly ("If a single operation encounters an error condition,
                            // the original SCIM resource MUST be restored", §3.5.2).
                            self.touch(work, Self::attr_key(t));
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
    /// returning HTTP status code 400 and a "scimType" error code of "noTarget"."
    ///
    /// With [`PatchOptions::filter_add_creates`], and only where Microsoft Entra ID relies on
    /// it (a sub-attribute of a User's `emails`, `phoneNumbers` or `addresses` under a filter
    /// of `eq` comparisons naming `type`: `emails[type eq "work"].value`), the value the filter
    /// describes is created instead. Never for `members` or any other attribute: a filter that
    /// matches nothing there is `noTarget`, so a PATCH never invents a group member.
    pub(super) fn create_from_filter(
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
        if !self.options.filter_add_creates || sub.is_none() || !creates_on_no_match(self.schema, t)
        {
            return Err(no_target());
        }
        let Some(pairs) = eq_conjunction(filter) else {
            return Err(no_target());
        };
        if !pairs
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("type"))
        {
            return Err(no_target());
        }
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
}
