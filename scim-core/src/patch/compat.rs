//! Client-compatibility switches for PATCH.
//!
//! Microsoft Entra ID and Okta send PATCH requests that RFC 7644 does not define or defines
//! differently. Each switch below accepts one such form; all are on by default and each can be
//! switched off on its own, and [`PatchOptions::strict`] switches all of them off for exact RFC
//! 7644 §3.5.2 behaviour.

use serde_json::{Map, Value};

use super::target::AttrTarget;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::schema::{Attribute, ResourceSchema, USER_SCHEMA};

/// The User attributes whose value paths Microsoft Entra ID writes to before the value exists
/// (`emails[type eq "work"].value`, `phoneNumbers[type eq "mobile"].value`,
/// `addresses[type eq "work"].streetAddress`): Microsoft's "Known issues and resolutions with
/// SCIM 2.0 protocol compliance" lists this form as what the provisioning service sends for
/// attribute mappings of typed multi-valued attributes.
const ENTRA_TYPED_USER_ATTRIBUTES: [&str; 3] = ["emails", "phoneNumbers", "addresses"];

/// Switch 4: may a value path that matches nothing create the value it describes? Only for a
/// core attribute of [`ENTRA_TYPED_USER_ATTRIBUTES`] of the User schema.
pub(crate) fn creates_on_no_match(schema: &ResourceSchema, t: &AttrTarget<'_>) -> bool {
    t.ext_urn.is_none()
        && schema.core.id.eq_ignore_ascii_case(USER_SCHEMA)
        && ENTRA_TYPED_USER_ATTRIBUTES
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&t.attribute.name))
}

/// Compatibility switches for [`apply_patch`](super::apply_patch). `Default` turns every switch
/// on; [`PatchOptions::strict`] turns every switch off. It (de)serialises with snake_case
/// field names, a missing field taking its default (on), for server configuration files.
///
/// ```
/// use scim_core::patch::PatchOptions;
///
/// let lenient = PatchOptions::default();
/// assert!(lenient.op_any_case && lenient.boolean_strings);
/// let strict = PatchOptions::strict();
/// assert!(!strict.op_any_case && !strict.remove_by_value);
/// let mostly = PatchOptions { boolean_strings: false, ..PatchOptions::default() };
/// assert!(mostly.manager_shorthand && !mostly.boolean_strings);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PatchOptions {
    /// Switch 1: Accept `op` in any letter case (`"Add"`, `"Replace"`, `"Remove"`, as Entra sends).
    /// Off: an `op` not spelled `add`/`replace`/`remove` is 400 `invalidSyntax`.
    pub op_any_case: bool,
    /// Switch 2: Accept the strings `"True"`/`"False"` (any case) for boolean attributes and
    /// sub-attributes (`active`, `emails[...].primary`), also inside path-less value objects
    /// and complex values, and store JSON booleans. Off: 400 `invalidValue`.
    pub boolean_strings: bool,
    /// Switch 3: A `remove` whose path names a multi-valued attribute without a filter but which
    /// carries a `value` (Entra: `{"op":"Remove","path":"members","value":[{"value":"id"}]}`)
    /// removes only the values listed (a listed value that is absent is ignored). Off: the
    /// RFC rule applies, "If the target location is a multi-valued attribute and no filter is
    /// specified, the attribute and all values are removed" (RFC 7644 §3.5.2.2).
    pub remove_by_value: bool,
    /// Switch 4: An `add` or `replace` of a sub-attribute under a value path that matches no
    /// value, whose filter is a conjunction of `eq` comparisons naming `type`
    /// (`emails[type eq "work"].value`), creates the element `{"type": "work", "value": ...}`
    /// on a User's `emails`, `phoneNumbers` or `addresses` (what Entra ID sends), and nowhere
    /// else: `members[value eq "x"].display` matching nothing stays 400 `noTarget`.
    /// Off: 400 `noTarget` everywhere (RFC 7644 §3.5.2.3).
    pub filter_add_creates: bool,
    /// Switch 5: A single-valued complex attribute with a `value` sub-attribute (the enterprise
    /// `manager`) given as a plain string `"id"` or as `[{"value": "id"}]` (Entra) is stored as
    /// `{"value": "id"}`. Off: 400 `invalidValue` (but see `unwrap_single_arrays` for the
    /// array form).
    pub manager_shorthand: bool,
    /// Switch 6: A value wrapped in a one-element array for a single-valued attribute
    /// (`"displayName": ["Babs"]`) is unwrapped. Off: 400 `invalidValue`.
    pub unwrap_single_arrays: bool,
}

impl Default for PatchOptions {
    fn default() -> Self {
        PatchOptions {
            op_any_case: true,
            boolean_strings: true,
            remove_by_value: true,
            filter_add_creates: true,
            manager_shorthand: true,
            unwrap_single_arrays: true,
        }
    }
}

impl PatchOptions {
    /// Every switch on (the same as `Default`): accept the Entra and Okta forms.
    pub fn lenient() -> Self {
        Self::default()
    }

    /// Every switch off: exactly RFC 7644 §3.5.2.
    pub fn strict() -> Self {
        PatchOptions {
            op_any_case: false,
            boolean_strings: false,
            remove_by_value: false,
            filter_add_creates: false,
            manager_shorthand: false,
            unwrap_single_arrays: false,
        }
    }
}

impl From<crate::validation::ValidationMode> for PatchOptions {
    /// The PATCH switches of a validation preset: [`PatchOptions::strict`] for
    /// [`Strict`](crate::validation::ValidationMode::Strict), every switch on for
    /// [`Lenient`](crate::validation::ValidationMode::Lenient).
    fn from(mode: crate::validation::ValidationMode) -> Self {
        match mode {
            crate::validation::ValidationMode::Strict => Self::strict(),
            crate::validation::ValidationMode::Lenient => Self::lenient(),
        }
    }
}

/// Switch 5: is `attribute` shaped like `manager` (single-valued complex with a `value`
/// sub-attribute)?
pub(crate) fn takes_value_shorthand(attribute: &Attribute) -> bool {
    attribute.is_complex() && !attribute.multi_valued && attribute.sub_attribute("value").is_some()
}

/// Switch 5: `"id"`, `["id"]` and `[{"value": "id"}]` as `{"value": "id"}` (other shapes are
/// returned unchanged).
pub(crate) fn value_shorthand(value: &Value) -> Option<Value> {
    match value {
        Value::String(s) => {
            let mut m = Map::new();
            m.insert("value".to_owned(), Value::String(s.clone()));
            Some(Value::Object(m))
        }
        Value::Array(items) if items.len() == 1 => match &items[0] {
            Value::Object(_) => Some(items[0].clone()),
            Value::String(_) => value_shorthand(&items[0]),
            _ => None,
        },
        _ => None,
    }
}

/// Switch 4: the `(sub-attribute, value)` pairs of a filter that is a conjunction of `eq`
/// comparisons on plain sub-attribute names, e.g. `type eq "work" and primary eq true`.
/// `None` for any other filter (an `or`, a `co`, a `null` comparison, a nested path).
pub(crate) fn eq_conjunction(filter: &Filter) -> Option<Vec<(&str, Value)>> {
    let mut out = Vec::new();
    collect_eq(filter, &mut out)?;
    Some(out)
}

fn collect_eq<'f>(filter: &'f Filter, out: &mut Vec<(&'f str, Value)>) -> Option<()> {
    match filter {
        Filter::And(a, b) => {
            collect_eq(a, out)?;
            collect_eq(b, out)
        }
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.uri.is_none() && path.sub_attr.is_none() => {
            let v = match value {
                CompValue::Null => return None,
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::String(s) => Value::String(s.clone()),
            };
            out.push((path.name.as_str(), v));
            Some(())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::AttrPath;
    use serde_json::json;

    #[test]
    fn strict_is_all_off_and_default_all_on() {
        let s = PatchOptions::strict();
        let d = PatchOptions::default();
        assert_eq!(d, PatchOptions::lenient());
        for (on, off) in [
            (d.op_any_case, s.op_any_case),
            (d.boolean_strings, s.boolean_strings),
            (d.remove_by_value, s.remove_by_value),
            (d.filter_add_creates, s.filter_add_creates),
            (d.manager_shorthand, s.manager_shorthand),
            (d.unwrap_single_arrays, s.unwrap_single_arrays),
        ] {
            assert!(on && !off);
        }
    }

    #[test]
    fn manager_shorthands() {
        assert_eq!(value_shorthand(&json!("m1")), Some(json!({"value": "m1"})));
        assert_eq!(
            value_shorthand(&json!([{"value": "m1"}])),
            Some(json!({"value": "m1"}))
        );
        assert_eq!(
            value_shorthand(&json!(["m1"])),
            Some(json!({"value": "m1"}))
        );
        assert_eq!(value_shorthand(&json!(["a", "b"])), None);
        assert_eq!(value_shorthand(&json!(3)), None);
    }

    #[test]
    fn options_load_from_configuration() {
        let o: PatchOptions = serde_json::from_value(json!({"boolean_strings": false})).unwrap();
        assert_eq!(
            o,
            PatchOptions {
                boolean_strings: false,
                ..PatchOptions::default()
            }
        );
    }

    #[test]
    fn eq_conjunctions() {
        let f = Filter::eq_str(AttrPath::new("type"), "work").and(Filter::compare(
            AttrPath::new("primary"),
            CompareOp::Eq,
            CompValue::Bool(true),
        ));
        assert_eq!(
            eq_conjunction(&f),
            Some(vec![("type", json!("work")), ("primary", json!(true))])
        );
        let or = Filter::eq_str(AttrPath::new("type"), "work")
            .or(Filter::eq_str(AttrPath::new("type"), "home"));
        assert_eq!(eq_conjunction(&or), None);
        let co = Filter::compare(
            AttrPath::new("value"),
            CompareOp::Co,
            CompValue::String("x".into()),
        );
        assert_eq!(eq_conjunction(&co), None);
        let null = Filter::compare(AttrPath::new("type"), CompareOp::Eq, CompValue::Null);
        assert_eq!(eq_conjunction(&null), None);
    }
}
