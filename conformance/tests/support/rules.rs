//! Small rules of the fake that the checks of unindexed filters, Entra's email lookup and
//! PATCH noTarget on members rely on.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The current time as an RFC 3339 `xsd:dateTime` with milliseconds (RFC 7643 §2.3.5).
pub fn now() -> String {
    DateTime::<Utc>::from(std::time::SystemTime::now()).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Whether a filter names none of the attributes a typical server indexes (what a server
/// that refuses "filters it cannot evaluate efficiently" would refuse).
pub fn unindexed(filter: &str) -> bool {
    let f = filter.to_ascii_lowercase();
    !["username", "externalid", "displayname", "id eq"]
        .iter()
        .any(|a| f.contains(a))
}

/// Entra's `attr[filter].sub op value` read as `attr[filter and sub op value]`, which is what
/// it means; any other filter is returned unchanged.
pub fn entra_value_path(filter: &str) -> String {
    let Some(close) = filter.find("].") else {
        return filter.to_string();
    };
    let (head, rest) = (&filter[..close], &filter[close + 2..]);
    if !head.contains('[') || rest.contains('[') || rest.contains(']') {
        return filter.to_string();
    }
    format!("{head} and {rest}]")
}

/// A PATCH `replace` of `members[value eq "x"]` or `members[value eq "x"].sub` where the group
/// has no member `x`: the missing id and the member a server that invents it would add.
pub fn absent_member_replace(group: &Value, body: &Value) -> Option<(String, Value)> {
    let members: Vec<&str> = group
        .get("members")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(|m| m["value"].as_str()).collect())
        .unwrap_or_default();
    for op in body.get("Operations")?.as_array()? {
        if !op["op"]
            .as_str()
            .is_some_and(|o| o.eq_ignore_ascii_case("replace"))
        {
            continue;
        }
        let Some(path) = op["path"].as_str() else {
            continue;
        };
        let Some(inner) = path
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("members["))
            .and_then(|_| path[8..].strip_prefix("value eq \""))
        else {
            continue;
        };
        let Some((id, after)) = inner.split_once("\"]") else {
            continue;
        };
        if members.contains(&id) {
            continue;
        }
        let mut member = json!({"value": id});
        if let Some(sub) = after.strip_prefix('.') {
            member[sub] = op["value"].clone();
        }
        return Some((id.to_string(), member));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entra_value_paths_and_absent_members() {
        assert_eq!(
            entra_value_path(r#"emails[type eq "work"].value eq "a@b""#),
            r#"emails[type eq "work" and value eq "a@b"]"#
        );
        assert_eq!(entra_value_path("title pr"), "title pr");
        let group = json!({"members": [{"value": "u1"}]});
        let body = json!({"Operations": [{"op": "Replace",
            "path": "members[value eq \"nobody\"].display", "value": "X"}]});
        assert_eq!(
            absent_member_replace(&group, &body),
            Some(("nobody".into(), json!({"value": "nobody", "display": "X"})))
        );
        let body = json!({"Operations": [{"op": "replace",
            "path": "members[value eq \"u1\"].display", "value": "X"}]});
        assert_eq!(absent_member_replace(&group, &body), None);
        assert!(unindexed("title eq \"x\""));
        assert!(!unindexed("userName sw \"x\" and title eq \"y\""));
    }
}
