//! The values of PATCH operations: type checks and normalisation against the schema.

use serde_json::{Map, Value};

use super::apply::Engine;
use super::compat::{takes_value_shorthand, value_shorthand};
use super::helpers::*;
use super::target::sub_attribute_of;
use crate::error::{ScimError, ScimResult};
use crate::schema::{Attribute, AttributeType, Mutability};
use crate::validation::check_lexical;

impl Engine<'_> {
    // ----- values ----------------------------------------------------------------------

    /// The values for a multi-valued attribute: an array's elements, or one value.
    pub(super) fn normalize_multi(
        &self,
        attr: &Attribute,
        value: &Value,
    ) -> ScimResult<Vec<Value>> {
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
    pub(super) fn normalize_single(&self, attr: &Attribute, value: &Value) -> ScimResult<Value> {
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
    pub(super) fn normalize_sub(&self, sub: &Attribute, value: &Value) -> ScimResult<Value> {
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
    pub(super) fn normalize_element(&self, attr: &Attribute, value: &Value) -> ScimResult<Value> {
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

    pub(super) fn normalize_scalar(&self, attr: &Attribute, value: &Value) -> ScimResult<Value> {
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
            (AttributeType::String | AttributeType::Reference, Value::String(_)) => {
                Ok(value.clone())
            }
            // The same lexical checks and errors as POST and PUT (RFC 7643 §2.3.5, §2.3.6).
            (AttributeType::Binary | AttributeType::DateTime, Value::String(s)) => {
                check_lexical(attr.attr_type, s, &attr.name)?;
                Ok(value.clone())
            }
            (AttributeType::String, _) => Err(bad("a string")),
            (AttributeType::Reference, _) => Err(bad("a reference (a URI string)")),
            (AttributeType::Binary, _) => Err(bad("binary (a base64 string)")),
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
