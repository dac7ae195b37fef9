//! Typed comparisons for one attribute value (RFC 7644 §3.4.2.2, Table 3), baked at compile
//! time from the attribute's `type` and `caseExact` characteristics.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::{Number, Value};

use crate::casefold::fold;
use crate::error::{ScimError, ScimResult};
use crate::filter::ast::{CompValue, CompareOp};
use crate::resource::{bool_from_str, datetime_from_str};
use crate::schema::{Attribute, AttributeType};

/// One comparison, ready to test attribute values.
#[derive(Debug, Clone)]
pub(super) enum Matcher {
    /// String, reference and binary attributes.
    Str(StrMatcher),
    /// Integer and decimal attributes.
    Num { op: CompareOp, operand: Number },
    /// Boolean attributes (`eq` / `ne` only).
    Bool { op: CompareOp, operand: bool },
    /// DateTime attributes, compared chronologically.
    DateTime {
        op: CompareOp,
        operand: DateTime<FixedOffset>,
    },
}

/// A string comparison. When `case_exact` is false the operand is stored case-folded
/// ([`fold`], Unicode default case folding) and attribute values are compared folded: ASCII
/// values byte by byte without allocating, other values by folding them first (full folding
/// can change the length, `ß` folds to `ss`, so it is not done char by char).
#[derive(Debug, Clone)]
pub(super) struct StrMatcher {
    op: CompareOp,
    operand: Box<str>,
    case_exact: bool,
    ascii: bool,
}

impl Matcher {
    /// Builds the comparison of `op value` for an attribute of `target`'s type, or 400
    /// `invalidFilter` when the RFC does not allow it. `what` names the expression in errors.
    pub(super) fn new(
        op: CompareOp,
        value: &CompValue,
        target: &Attribute,
        what: &dyn Fn() -> String,
    ) -> ScimResult<Matcher> {
        let ordering = matches!(
            op,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        );
        let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
        let type_name = type_name(target.attr_type);
        let wrong_value = || {
            ScimError::invalid_filter(format!(
                "{}: the comparison value {} does not fit the {} attribute '{}'",
                what(),
                comp_value_kind(value),
                type_name,
                target.name
            ))
        };
        let wrong_op = |why: &str| {
            ScimError::invalid_filter(format!(
                "{}: operator '{}' is not supported for the {} attribute '{}'{}",
                what(),
                op.as_str(),
                type_name,
                target.name,
                why
            ))
        };
        match target.attr_type {
            AttributeType::String | AttributeType::Reference | AttributeType::Binary => {
                if target.attr_type == AttributeType::Binary && ordering {
                    return Err(wrong_op(
                        " (RFC 7644 §3.4.2.2: \"Boolean and Binary attributes SHALL cause a \
                         failed response (HTTP status code 400) with \"scimType\" of \
                         \"invalidFilter\"\")",
                    ));
                }
                let CompValue::String(s) = value else {
                    return Err(wrong_value());
                };
                // RFC 7643 §2.3.6: binary values are base64 text, compared exactly.
                let case_exact = target.case_exact || target.attr_type == AttributeType::Binary;
                let operand: Box<str> = if case_exact {
                    s.as_str().into()
                } else {
                    fold(s).into()
                };
                Ok(Matcher::Str(StrMatcher {
                    op,
                    ascii: operand.is_ascii(),
                    operand,
                    case_exact,
                }))
            }
            AttributeType::Boolean => {
                if ordering || substring {
                    return Err(wrong_op(
                        " (RFC 7644 §3.4.2.2: \"Boolean and Binary attributes SHALL cause a \
                         failed response (HTTP status code 400) with \"scimType\" of \
                         \"invalidFilter\"\")",
                    ));
                }
                let operand = match value {
                    CompValue::Bool(b) => *b,
                    // Lenient: some clients quote booleans ("True"/"False").
                    CompValue::String(s) => bool_from_str(s).ok_or_else(wrong_value)?,
                    _ => return Err(wrong_value()),
                };
                Ok(Matcher::Bool { op, operand })
            }
            AttributeType::Integer | AttributeType::Decimal => {
                if substring {
                    return Err(wrong_op(""));
                }
                let CompValue::Number(n) = value else {
                    return Err(wrong_value());
                };
                Ok(Matcher::Num {
                    op,
                    operand: n.clone(),
                })
            }
            AttributeType::DateTime => {
                if substring {
                    return Err(wrong_op(""));
                }
                let CompValue::String(s) = value else {
                    return Err(wrong_value());
                };
                let operand = datetime_from_str(s).ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "{}: \"{}\" is not a valid dateTime (RFC 7643 §2.3.5, xsd:dateTime such \
                         as \"2011-05-13T04:42:34Z\")",
                        what(),
                        s
                    ))
                })?;
                Ok(Matcher::DateTime { op, operand })
            }
            AttributeType::Complex => Err(ScimError::invalid_filter(format!(
                "{}: '{}' is a complex attribute; name one of its sub-attributes (RFC 7644 \
                 §3.4.2.2: \"For complex attributes, a fully qualified sub-attribute MUST be \
                 specified\")",
                what(),
                target.name
            ))),
        }
    }

    /// The operator.
    pub(super) fn op(&self) -> CompareOp {
        match self {
            Matcher::Str(m) => m.op,
            Matcher::Num { op, .. } | Matcher::Bool { op, .. } | Matcher::DateTime { op, .. } => {
                *op
            }
        }
    }

    /// Does the comparison hold for this one (non-null) value? For `ne` this is "the value is
    /// not equal"; a value of the wrong JSON type is never equal and never ordered.
    #[inline]
    pub(super) fn holds(&self, v: &Value) -> bool {
        match self {
            Matcher::Str(m) => match v {
                Value::String(s) => m.holds(s),
                _ => m.op == CompareOp::Ne,
            },
            Matcher::Num { op, operand } => {
                let ord = match v {
                    Value::Number(n) => cmp_numbers(n, operand),
                    _ => None,
                };
                apply(*op, ord)
            }
            Matcher::Bool { op, operand } => {
                let b = match v {
                    Value::Bool(b) => Some(*b),
                    Value::String(s) => bool_from_str(s),
                    _ => None,
                };
                apply(*op, b.map(|b| b.cmp(operand)))
            }
            Matcher::DateTime { op, operand } => {
                let ord = match v {
                    Value::String(s) => datetime_from_str(s).map(|d| d.cmp(operand)),
                    _ => None,
                };
                apply(*op, ord)
            }
        }
    }
}

impl StrMatcher {
    #[inline]
    fn holds(&self, s: &str) -> bool {
        let o = &*self.operand;
        if self.case_exact {
            return match self.op {
                CompareOp::Eq => s == o,
                CompareOp::Ne => s != o,
                CompareOp::Co => s.contains(o),
                CompareOp::Sw => s.starts_with(o),
                CompareOp::Ew => s.ends_with(o),
                op => apply(op, Some(s.cmp(o))),
            };
        }
        if self.ascii && s.is_ascii() {
            let (sb, ob) = (s.as_bytes(), o.as_bytes());
            return match self.op {
                CompareOp::Eq => sb.eq_ignore_ascii_case(ob),
                CompareOp::Ne => !sb.eq_ignore_ascii_case(ob),
                CompareOp::Co => contains_ascii_ci(sb, ob),
                CompareOp::Sw => sb.len() >= ob.len() && sb[..ob.len()].eq_ignore_ascii_case(ob),
                CompareOp::Ew => {
                    sb.len() >= ob.len() && sb[sb.len() - ob.len()..].eq_ignore_ascii_case(ob)
                }
                op => apply(
                    op,
                    Some(
                        sb.iter()
                            .map(u8::to_ascii_lowercase)
                            .cmp(ob.iter().copied()),
                    ),
                ),
            };
        }
        // Unicode: compare the folded value with the folded operand.
        let folded = fold(s);
        let f = &*folded;
        match self.op {
            CompareOp::Eq => f == o,
            CompareOp::Ne => f != o,
            CompareOp::Co => f.contains(o),
            CompareOp::Sw => f.starts_with(o),
            CompareOp::Ew => f.ends_with(o),
            op => apply(op, Some(f.cmp(o))),
        }
    }
}

/// Maps an ordering of `attribute value` versus `operand` to the operator's verdict; `None`
/// (incomparable) satisfies only `ne`.
#[inline]
fn apply(op: CompareOp, ord: Option<Ordering>) -> bool {
    match op {
        CompareOp::Eq => ord == Some(Ordering::Equal),
        CompareOp::Ne => ord != Some(Ordering::Equal),
        CompareOp::Gt => ord == Some(Ordering::Greater),
        CompareOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Lt => ord == Some(Ordering::Less),
        CompareOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        // Substring operators are only compiled for strings.
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Numeric comparison of two JSON numbers: exact for integers, by value across integer and
/// decimal (`3` equals `3.0`).
pub(super) fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    // One is a negative i64 and the other a u64 above i64::MAX.
    match (a.as_i64(), b.as_u64(), a.as_u64(), b.as_i64()) {
        (Some(_), Some(_), None, None) => return Some(Ordering::Less),
        (None, None, Some(_), Some(_)) => return Some(Ordering::Greater),
        _ => {}
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// ASCII case-insensitive substring search; `needle` is already lower-case.
fn contains_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if needle.len() > hay.len() {
        return false;
    }
    let last_start = hay.len() - needle.len();
    (0..=last_start).any(|i| {
        hay[i].to_ascii_lowercase() == first
            && hay[i + 1..i + needle.len()].eq_ignore_ascii_case(rest)
    })
}

fn type_name(t: AttributeType) -> &'static str {
    match t {
        AttributeType::String => "string",
        AttributeType::Boolean => "boolean",
        AttributeType::Decimal => "decimal",
        AttributeType::Integer => "integer",
        AttributeType::DateTime => "dateTime",
        AttributeType::Binary => "binary",
        AttributeType::Reference => "reference",
        AttributeType::Complex => "complex",
    }
}

fn comp_value_kind(v: &CompValue) -> &'static str {
    match v {
        CompValue::Null => "null",
        CompValue::Bool(_) => "(a boolean)",
        CompValue::Number(_) => "(a number)",
        CompValue::String(_) => "(a string)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str_matcher(op: CompareOp, operand: &str, case_exact: bool) -> Matcher {
        let mut a = Attribute::new("a", AttributeType::String);
        a.case_exact = case_exact;
        Matcher::new(op, &CompValue::String(operand.into()), &a, &|| "t".into()).unwrap()
    }

    #[test]
    fn ascii_case_insensitive_operators() {
        let s = Value::from("BJensen@Example.COM");
        assert!(str_matcher(CompareOp::Eq, "bjensen@example.com", false).holds(&s));
        assert!(str_matcher(CompareOp::Co, "EXAMPLE", false).holds(&s));
        assert!(str_matcher(CompareOp::Sw, "bjEN", false).holds(&s));
        assert!(str_matcher(CompareOp::Ew, ".com", false).holds(&s));
        assert!(!str_matcher(CompareOp::Ew, "example", false).holds(&s));
        assert!(str_matcher(CompareOp::Gt, "bjensen@a", false).holds(&s));
        assert!(str_matcher(CompareOp::Lt, "BJENSEN@Z", false).holds(&s));
        assert!(!str_matcher(CompareOp::Ne, "BJENSEN@EXAMPLE.COM", false).holds(&s));
    }

    #[test]
    fn case_exact_operators() {
        let s = Value::from("BJensen");
        assert!(!str_matcher(CompareOp::Eq, "bjensen", true).holds(&s));
        assert!(str_matcher(CompareOp::Eq, "BJensen", true).holds(&s));
        assert!(!str_matcher(CompareOp::Co, "jen", true).holds(&s));
        assert!(str_matcher(CompareOp::Co, "Jen", true).holds(&s));
        // 'B' (0x42) < 'b' (0x62) in code point order.
        assert!(str_matcher(CompareOp::Lt, "b", true).holds(&s));
    }

    #[test]
    fn unicode_fallback() {
        let s = Value::from("ÅSA Ölund");
        assert!(str_matcher(CompareOp::Eq, "åsa ölund", false).holds(&s));
        assert!(str_matcher(CompareOp::Eq, "ÅSA ÖLUND", false).holds(&s));
        assert!(str_matcher(CompareOp::Co, "a ö", false).holds(&s));
        assert!(str_matcher(CompareOp::Sw, "åS", false).holds(&s));
        assert!(str_matcher(CompareOp::Ew, "ÖLUnd", false).holds(&s));
        assert!(!str_matcher(CompareOp::Ew, "Åsa", false).holds(&s));
        // An ASCII operand against a non-ASCII value goes through the Unicode path: the
        // Kelvin sign folds to 'k'.
        assert!(str_matcher(CompareOp::Eq, "k", false).holds(&Value::from("\u{212A}")));
    }

    #[test]
    fn case_folding_not_lower_casing() {
        // A word-final sigma: `str::to_lowercase("ΟΔΟΣ")` is "οδος" but char-wise lower-casing
        // gives "οδοσ"; folding maps Σ, σ and ς to one letter.
        let odos = Value::from("οδος");
        assert!(str_matcher(CompareOp::Eq, "ΟΔΟΣ", false).holds(&odos));
        assert!(!str_matcher(CompareOp::Ne, "ΟΔΟΣ", false).holds(&odos));
        assert!(str_matcher(CompareOp::Ew, "ΔΟΣ", false).holds(&odos));
        assert!(str_matcher(CompareOp::Le, "ΟΔΟΣ", false).holds(&odos));
        assert!(str_matcher(CompareOp::Eq, "οδος", false).holds(&Value::from("ΟΔΟΣ")));
        // Full folding changes lengths: ß is "ss", in both directions and across the ASCII
        // fast path (an ASCII value against an operand that folded to ASCII).
        assert!(str_matcher(CompareOp::Eq, "STRASSE", false).holds(&Value::from("Straße")));
        assert!(str_matcher(CompareOp::Eq, "straße", false).holds(&Value::from("STRASSE")));
        assert!(str_matcher(CompareOp::Sw, "STRASS", false).holds(&Value::from("straße")));
        assert!(str_matcher(CompareOp::Co, "ss", false).holds(&Value::from("Maß")));
        // caseExact=true does not fold.
        assert!(!str_matcher(CompareOp::Eq, "ΟΔΟΣ", true).holds(&odos));
    }

    #[test]
    fn ascii_contains_edges() {
        assert!(contains_ascii_ci(b"abc", b""));
        assert!(!contains_ascii_ci(b"ab", b"abc"));
        assert!(contains_ascii_ci(b"xxABC", b"abc"));
        assert!(contains_ascii_ci(b"ABC", b"abc"));
        assert!(!contains_ascii_ci(b"ABxC", b"abc"));
    }

    #[test]
    fn numbers_compare_by_value() {
        let n = |v: Value| match v {
            Value::Number(n) => n,
            _ => unreachable!(),
        };
        assert_eq!(
            cmp_numbers(&n(3.into()), &n(serde_json::json!(3.0))),
            Some(Ordering::Equal)
        );
        assert_eq!(
            cmp_numbers(&n((-1).into()), &n(u64::MAX.into())),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_numbers(&n(u64::MAX.into()), &n((-1).into())),
            Some(Ordering::Greater)
        );
        assert_eq!(
            cmp_numbers(&n(serde_json::json!(2.5)), &n(2.into())),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn datetimes_compare_by_instant() {
        let a = datetime_from_str("2011-05-13T04:42:34Z").unwrap();
        let b = datetime_from_str("2011-05-13T06:42:34+02:00").unwrap();
        assert_eq!(a, b);
        let c = datetime_from_str("2011-05-13T04:42:34").unwrap();
        assert_eq!(a, c);
        assert!(datetime_from_str("2011-05-13").is_none());
        assert!(datetime_from_str("yesterday").is_none());
    }

    #[test]
    fn boolean_and_binary_reject_ordering() {
        let b = Attribute::new("active", AttributeType::Boolean);
        for op in [
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
            CompareOp::Co,
        ] {
            let e = Matcher::new(op, &CompValue::Bool(true), &b, &|| "t".into()).unwrap_err();
            assert!(e.is_invalid_filter());
        }
        let bin = Attribute::new("cert", AttributeType::Binary);
        let e = Matcher::new(
            CompareOp::Gt,
            &CompValue::String("AA==".into()),
            &bin,
            &|| "t".into(),
        )
        .unwrap_err();
        assert!(e.is_invalid_filter());
    }
}
