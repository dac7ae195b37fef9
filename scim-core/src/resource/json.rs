//! Case-insensitive access to JSON object members (RFC 7643 §2.1: "Attribute names are
//! case insensitive").

use serde_json::{Map, Value};

/// The member whose key equals `key` ignoring ASCII case (an exact match wins).
///
/// ```
/// let m = serde_json::json!({"userName": "bjensen"});
/// assert_eq!(scim_core::resource::get_ci(m.as_object().unwrap(), "USERNAME"),
///            Some(&serde_json::json!("bjensen")));
/// ```
pub fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    get_ci_entry(map, key).map(|(_, v)| v)
}

/// The actual key stored for `key` ignoring ASCII case.
pub fn get_ci_key<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    get_ci_entry(map, key).map(|(k, _)| k.as_str())
}

/// Objects of at most this many members are searched by comparing keys, without hashing:
/// SCIM resources and their complex values are small, and most lookups of an attribute the
/// object lacks (a schema's attribute the resource does not hold) would hash the key and
/// then compare every key anyway.
const SCANNED_MEMBERS: usize = 12;

/// The member (key and value) whose key equals `key` exactly or, failing that, ignoring
/// ASCII case (the first such member).
fn get_ci_entry<'a>(map: &'a Map<String, Value>, key: &str) -> Option<(&'a String, &'a Value)> {
    let exact = if map.len() <= SCANNED_MEMBERS {
        map.iter().find(|(k, _)| k.as_str() == key)
    } else {
        map.get_key_value(key)
    };
    exact.or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
}

/// Mutable access to the member whose key equals `key` ignoring ASCII case.
pub fn get_ci_mut<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    let actual = get_ci_key(map, key)?.to_owned();
    map.get_mut(&actual)
}

/// Removes (preserving the order of the others) the member whose key equals `key` ignoring
/// ASCII case, returning its value.
pub fn remove_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let actual = get_ci_key(map, key)?.to_owned();
    map.shift_remove(&actual)
}

/// Reads a boolean sent as a string, `"true"` / `"false"` in any ASCII case. Microsoft Entra
/// ID sends booleans as `"True"` / `"False"` (Microsoft's "Known issues and resolutions with
/// SCIM 2.0 protocol compliance"); every lenient path that accepts such strings goes through
/// here.
///
/// ```
/// use scim_core::resource::bool_from_str;
/// assert_eq!(bool_from_str("True"), Some(true));
/// assert_eq!(bool_from_str("FALSE"), Some(false));
/// assert_eq!(bool_from_str("yes"), None);
/// ```
pub fn bool_from_str(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Reads an RFC 7643 §2.3.5 dateTime ("an xsd:dateTime", RFC 3339 `date-time`); a value
/// without a zone offset is read as UTC. Filters compare dateTimes and `sortBy` orders them
/// through here, so both agree on which strings are dateTimes.
///
/// ```
/// use scim_core::resource::datetime_from_str;
/// let a = datetime_from_str("2011-05-13T04:42:34Z").unwrap();
/// assert_eq!(datetime_from_str("2011-05-13T06:42:34+02:00"), Some(a));
/// assert_eq!(datetime_from_str("2011-05-13T04:42:34"), Some(a));
/// assert_eq!(datetime_from_str("2011-05-13"), None);
/// ```
pub fn datetime_from_str(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|n| n.and_utc().fixed_offset())
    })
}

/// A short name for a JSON value's kind, for error messages (`a string`, `an object`, ...).
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An object with `keys` (in this order, each valued by its position) and, to make it
    /// larger than the scanned size when `padding` is set, 20 other members.
    fn object(keys: &[&str], padding: bool) -> Map<String, Value> {
        let mut map = Map::new();
        if padding {
            for i in 0..20 {
                map.insert(format!("pad{i}"), json!(-1));
            }
        }
        for (i, k) in keys.iter().enumerate() {
            map.insert((*k).to_string(), json!(i));
        }
        map
    }

    #[test]
    fn an_exact_match_wins_over_an_earlier_match_ignoring_case_at_every_size() {
        for padding in [false, true] {
            let map = object(&["USERNAME", "userName", "UserName"], padding);
            assert!(padding == (map.len() > SCANNED_MEMBERS));
            assert_eq!(get_ci(&map, "userName"), Some(&json!(1)));
            assert_eq!(get_ci(&map, "UserName"), Some(&json!(2)));
            assert_eq!(get_ci(&map, "USERNAME"), Some(&json!(0)));
            // No exact match: the first member equal ignoring case.
            assert_eq!(get_ci(&map, "username"), Some(&json!(0)));
            assert_eq!(get_ci_key(&map, "username"), Some("USERNAME"));
            assert_eq!(get_ci_key(&map, "userName"), Some("userName"));
            assert_eq!(get_ci(&map, "displayName"), None);
            assert_eq!(get_ci_key(&map, "user"), None);
        }
    }
}
