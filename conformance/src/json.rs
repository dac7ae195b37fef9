//! Small helpers for reading SCIM JSON: attribute names are case-insensitive (RFC 7643 §2.1).

use serde_json::Value;

/// The member `name` of a JSON object, compared case-insensitively.
pub fn get_ci<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let obj = value.as_object()?;
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Follows a dotted path of case-insensitive names (`meta.location`).
pub fn get_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, name| get_ci(v, name))
}

/// A string at a dotted path.
pub fn str_at<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    get_path(value, path).and_then(Value::as_str)
}

/// The `Resources` array of a ListResponse (empty when absent).
pub fn resources(value: &Value) -> Vec<&Value> {
    get_ci(value, "Resources")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// Whether the `schemas` array contains `uri` (compared case-insensitively, as URIs of
/// schemas are in practice).
pub fn has_schema(value: &Value, uri: &str) -> bool {
    get_ci(value, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|s| s.eq_ignore_ascii_case(uri))
        })
}

/// A number that may have been sent as a JSON number or (wrongly, but commonly) a string.
pub fn as_u64_lenient(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn case_insensitive_paths() {
        let v = json!({"Meta": {"Location": "x"}, "schemas": ["urn:A"]});
        assert_eq!(str_at(&v, "meta.location"), Some("x"));
        assert!(has_schema(&v, "urn:a"));
        assert!(resources(&v).is_empty());
        assert_eq!(as_u64_lenient(&json!("3")), Some(3));
    }
}
