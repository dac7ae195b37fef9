//! PATCH `remove` (RFC 7644 §3.5.2.2), and the removals that a `replace` with null or an
//! empty value causes.

use serde_json::Value;

use super::apply::{Engine, Obj, Touched};
use super::helpers::*;
use super::target::{AttrTarget, Target};
use crate::error::{ScimError, ScimResult};
use crate::resource::{get_ci, remove_ci};
use crate::schema::{Attribute, Mutability};

impl<'a> Engine<'a> {
    // ----- remove ----------------------------------------------------------------------

    pub(super) fn remove(
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
    pub(super) fn remove_attr(
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
    pub(super) fn drop_elements(
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
    pub(super) fn remove_sub_of(
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
}
