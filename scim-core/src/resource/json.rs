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
    if let Some(v) = map.get(key) {
        return Some(v);
    }
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The actual key stored for `key` ignoring ASCII case.
pub fn get_ci_key<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    if let Some((k, _)) = map.get_key_value(key) {
        return Some(k.as_str());
    }
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .map(String::as_str)
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
