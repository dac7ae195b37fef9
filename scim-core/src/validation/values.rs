//! Lexical checks for the RFC 7643 §2.3 data types that JSON does not carry natively
//! (dateTime, binary), and value comparison for `immutable` attributes.

use chrono::NaiveDate;
use serde_json::Value;

use crate::error::{ScimError, ScimResult};
use crate::resource::get_ci;
use crate::schema::{Attribute, AttributeType, Mutability};

/// Is `s` a valid `xsd:dateTime` (RFC 7643 §2.3.5: "The attribute value MUST be encoded as
/// a valid xsd:dateTime as specified in Section 3.3.7 of \[XML-Schema\] and MUST include both
/// a date and a time.")?
///
/// The lexical form is `-?YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)?`: a year of at least four
/// digits, a real calendar date (checked with chrono, so `2015-02-29` fails), `24:00:00` only
/// as the end of a day, and an optional time zone up to `±14:00`.
///
/// ```
/// use scim_core::validation::is_xsd_date_time;
///
/// assert!(is_xsd_date_time("2008-01-23T04:56:22Z"));
/// assert!(is_xsd_date_time("2011-05-13T04:42:34.123+02:00"));
/// assert!(is_xsd_date_time("2011-05-13T04:42:34")); // no time zone is allowed
/// assert!(!is_xsd_date_time("2011-05-13"));          // a date alone is not
/// assert!(!is_xsd_date_time("2015-02-29T00:00:00Z"));
/// ```
pub fn is_xsd_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let (negative, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    // Year: four or more digits, no leading zero when longer than four.
    let year_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if year_len < 4 || (year_len > 4 && b[0] == b'0') {
        return false;
    }
    let Some(year) = digits(&b[..year_len]) else {
        return false;
    };
    let rest = &b[year_len..];
    // "-MM-DDThh:mm:ss" is 15 bytes.
    if rest.len() < 15
        || rest[0] != b'-'
        || rest[3] != b'-'
        || rest[6] != b'T'
        || rest[9] != b':'
        || rest[12] != b':'
    {
        return false;
    }
    let (Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(&rest[1..3]),
        digits(&rest[4..6]),
        digits(&rest[7..9]),
        digits(&rest[10..12]),
        digits(&rest[13..15]),
    ) else {
        return false;
    };
    let mut tail = &rest[15..];
    let mut fraction_is_zero = true;
    if let Some(after_dot) = tail.strip_prefix(b".") {
        let n = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        fraction_is_zero = after_dot[..n].iter().all(|&c| c == b'0');
        tail = &after_dot[n..];
    }
    if !is_time_zone(tail) {
        return false;
    }
    let year = match i32::try_from(year) {
        Ok(y) if negative => -y,
        Ok(y) => y,
        Err(_) => return false,
    };
    // Year 0000 is not allowed in XML Schema 1.0.
    if year == 0 || NaiveDate::from_ymd_opt(year, month, day).is_none() {
        return false;
    }
    let end_of_day = hour == 24 && minute == 0 && second == 0 && fraction_is_zero;
    (hour < 24 || end_of_day) && minute < 60 && second < 60
}

/// `Z`, `+hh:mm`, `-hh:mm` (up to 14:00) or nothing.
fn is_time_zone(b: &[u8]) -> bool {
    match b {
        [] | [b'Z'] => true,
        [sign, h1, h2, b':', m1, m2] if *sign == b'+' || *sign == b'-' => {
            match (digits(&[*h1, *h2]), digits(&[*m1, *m2])) {
                (Some(h), Some(m)) => m < 60 && (h < 14 || (h == 14 && m == 0)),
                _ => false,
            }
        }
        _ => false,
    }
}

/// The unsigned decimal value of an all-digit slice (at most nine digits).
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Is `s` base64 as RFC 7643 §2.3.6 requires ("The attribute value MUST be base64 encoded
/// as specified in Section 4 of \[RFC4648\].")? That is the standard alphabet `A-Z a-z 0-9 + /`,
/// a length that is a multiple of four, and at most two `=` of padding at the end. RFC 4648
/// §3.3: "Implementations MUST reject the encoded data if it contains characters outside the
/// base alphabet", so line breaks and the URL-safe alphabet are rejected.
///
/// ```
/// use scim_core::validation::is_base64;
///
/// assert!(is_base64("TWFu"));
/// assert!(is_base64("TWE="));
/// assert!(is_base64(""));
/// assert!(!is_base64("TWE"));      // missing padding
/// assert!(!is_base64("T=Ea"));     // padding in the middle
/// assert!(!is_base64("TW-_"));     // base64url alphabet
/// ```
pub fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() % 4 != 0 {
        return false;
    }
    let padding = b.iter().rev().take_while(|&&c| c == b'=').count();
    padding <= 2
        && b[..b.len() - padding]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// The lexical check of a string value of a dateTime or binary attribute, with the one error
/// that POST, PUT and PATCH all answer (400 `invalidValue`, RFC 7644 §3.12: "the value
/// specified was not compatible with the operation or attribute type"). Other types pass.
/// `path` names the attribute in the error detail.
pub(crate) fn check_lexical(
    attr_type: AttributeType,
    s: &str,
    path: &dyn std::fmt::Display,
) -> ScimResult<()> {
    match attr_type {
        AttributeType::DateTime if !is_xsd_date_time(s) => Err(ScimError::invalid_value(format!(
            "'{path}' must be an xsd:dateTime such as 2008-01-23T04:56:22Z (RFC 7643 §2.3.5), \
             not \"{s}\""
        ))),
        AttributeType::Binary if !is_base64(s) => Err(ScimError::invalid_value(format!(
            "'{path}' must be base64 encoded as in RFC 4648 §4 (RFC 7643 §2.3.6)"
        ))),
        _ => Ok(()),
    }
}

/// RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array (in the case of a
/// multi-valued attribute) SHALL be considered to be equivalent in "state"."
pub(crate) fn is_assigned(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => a.iter().any(is_assigned),
        Value::Object(o) => o.values().any(is_assigned),
        _ => true,
    }
}

/// Do two values of `attr` match, for the `immutable` rule of RFC 7644 §3.5.1? Strings
/// compare case-insensitively unless `caseExact`; numbers by value; multi-valued attributes
/// as sets (order does not matter); complex values by their non-readOnly sub-attributes.
pub(crate) fn values_match(attr: &Attribute, a: &Value, b: &Value) -> bool {
    if attr.multi_valued {
        let (Some(a), Some(b)) = (as_items(a), as_items(b)) else {
            return false;
        };
        if a.len() != b.len() {
            return false;
        }
        let mut used = vec![false; b.len()];
        return a.iter().all(|x| {
            let hit = b
                .iter()
                .enumerate()
                .find(|(i, y)| !used[*i] && single_matches(attr, x, y));
            match hit {
                Some((i, _)) => {
                    used[i] = true;
                    true
                }
                None => false,
            }
        });
    }
    single_matches(attr, a, b)
}

fn as_items(v: &Value) -> Option<Vec<&Value>> {
    match v {
        Value::Array(items) => Some(items.iter().filter(|i| is_assigned(i)).collect()),
        Value::Null => None,
        other => Some(vec![other]),
    }
}

fn single_matches(attr: &Attribute, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if attr.case_exact {
                x == y
            } else {
                x.eq_ignore_ascii_case(y)
            }
        }
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Object(x), Value::Object(y)) if attr.is_complex() => attr
            .sub_attributes
            .iter()
            .filter(|s| s.mutability != Mutability::ReadOnly)
            .all(|sub| {
                let xv = get_ci(x, &sub.name).filter(|v| is_assigned(v));
                let yv = get_ci(y, &sub.name).filter(|v| is_assigned(v));
                match (xv, yv) {
                    (None, None) => true,
                    (Some(xv), Some(yv)) => values_match(sub, xv, yv),
                    _ => false,
                }
            }),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::AttributeType;

    #[test]
    fn date_times() {
        for ok in [
            "2008-01-23T04:56:22Z",
            "2010-01-23T04:56:22.5Z",
            "2010-01-23T04:56:22+14:00",
            "2010-01-23T04:56:22-05:30",
            "2010-01-23T24:00:00Z",
            "2016-02-29T00:00:00Z",
            "-0044-03-15T12:00:00",
            "12010-01-23T04:56:22Z",
        ] {
            assert!(is_xsd_date_time(ok), "{ok}");
        }
        for bad in [
            "",
            "2008-01-23",
            "2008-01-23 04:56:22Z",
            "2008-1-23T04:56:22Z",
            "2008-01-23T4:56:22Z",
            "2008-13-23T04:56:22Z",
            "2015-02-29T00:00:00Z",
            "2010-01-23T24:00:01Z",
            "2010-01-23T23:60:00Z",
            "2010-01-23T23:00:60Z",
            "2010-01-23T04:56:22.Z",
            "2010-01-23T04:56:22+15:00",
            "2010-01-23T04:56:22+0100",
            "2010-01-23T04:56:22z",
            "0000-01-23T04:56:22Z",
            "02010-01-23T04:56:22Z",
            "2010-01-23T04:56:22Zjunk",
            "１２３４-01-23T04:56:22Z",
        ] {
            assert!(!is_xsd_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn base64() {
        assert!(is_base64("TWFuTWE="));
        assert!(is_base64("TQ=="));
        assert!(is_base64("ab+/"));
        assert!(!is_base64("TQ==="));
        assert!(!is_base64("T==="));
        assert!(!is_base64("TWFu\nTWE="));
        assert!(!is_base64("TWFu TWE="));
        assert!(!is_base64("TQ=a"));
    }

    #[test]
    fn matching_respects_case_exact_and_order() {
        let mut a = Attribute::new("x", AttributeType::String);
        assert!(values_match(&a, &"Abc".into(), &"abc".into()));
        a.case_exact = true;
        assert!(!values_match(&a, &"Abc".into(), &"abc".into()));
        a.multi_valued = true;
        assert!(values_match(
            &a,
            &serde_json::json!(["a", "b"]),
            &serde_json::json!(["b", "a"])
        ));
        assert!(!values_match(
            &a,
            &serde_json::json!(["a", "a"]),
            &serde_json::json!(["a", "b"])
        ));
        let n = Attribute::new("n", AttributeType::Decimal);
        assert!(values_match(
            &n,
            &serde_json::json!(1),
            &serde_json::json!(1.0)
        ));
    }
}
