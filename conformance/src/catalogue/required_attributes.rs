//! What `/Schemas` publishes and what the server enforces agree: a create that carries only the
//! attributes the server's own schema marks `"required": true` succeeds (RFC 7643 §2.2,
//! "required: A Boolean value that specifies whether or not the attribute is required"; §7,
//! the schema's attribute definitions). A server that publishes an attribute as
//! `required: false` and then refuses a resource without it misleads every client that builds
//! its requests from `/Schemas`.

use serde_json::{Map, Value, json};

use super::expect_status;
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::discovery::{GROUP_SCHEMA, USER_SCHEMA};
use crate::json::{get_ci, resources, str_at};
use crate::outcome::{CheckResult, Stop};
use crate::run_fn;

/// The checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "users.create.only-required-attributes",
            title: "POST /Users with only the attributes /Schemas marks required (and the required extensions) answers 201",
            section: "RFC 7643 §2.2, §7",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(user_only_required),
        },
        Check {
            id: "groups.create.only-required-attributes",
            title: "POST /Groups with only the attributes /Schemas marks required answers 201",
            section: "RFC 7643 §2.2, §7",
            level: Level::Must,
            requires: &[Feature::Groups],
            run: run_fn!(group_only_required),
        },
    ]
}

async fn user_only_required(ctx: &mut CheckContext) -> CheckResult {
    let endpoint = ctx.users();
    only_required(ctx, USER_SCHEMA, &endpoint).await
}

async fn group_only_required(ctx: &mut CheckContext) -> CheckResult {
    let endpoint = ctx.groups();
    only_required(ctx, GROUP_SCHEMA, &endpoint).await
}

/// Builds the body from `/Schemas` (and the required `schemaExtensions` from `/ResourceTypes`)
/// and creates it.
async fn only_required(ctx: &mut CheckContext, core: &str, endpoint: &str) -> CheckResult {
    let resp = ctx.get("/Schemas").await?;
    expect_status(&resp, &[200], "GET /Schemas")?;
    let schemas: Vec<Value> = listed(resp.body_json());
    let find = |uri: &str| {
        schemas
            .iter()
            .find(|s| str_at(s, "id").is_some_and(|id| id.eq_ignore_ascii_case(uri)))
            .cloned()
    };
    let Some(core_schema) = find(core) else {
        return Err(Stop::skip(format!(
            "/Schemas does not list {core} (discovery.schemas.list-covers-resource-types reports that)"
        )));
    };
    let resp = ctx.get("/ResourceTypes").await?;
    expect_status(&resp, &[200], "GET /ResourceTypes")?;
    let required_extensions: Vec<String> = listed(resp.body_json())
        .iter()
        .filter(|rt| str_at(rt, "schema").is_some_and(|s| s.eq_ignore_ascii_case(core)))
        .flat_map(|rt| {
            get_ci(rt, "schemaExtensions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter(|e| get_ci(e, "required").and_then(Value::as_bool) == Some(true))
        .filter_map(|e| str_at(&e, "schema").map(str::to_string))
        .collect();
    let unique = ctx.unique("required");
    let mut body = required_values(&core_schema, &unique);
    let mut uris = vec![json!(core)];
    for uri in &required_extensions {
        let Some(ext) = find(uri) else {
            return Err(Stop::skip(format!(
                "/Schemas does not list the required extension {uri}"
            )));
        };
        body.insert(uri.clone(), Value::Object(required_values(&ext, &unique)));
        uris.push(json!(uri));
    }
    body.insert("schemas".into(), Value::Array(uris));
    let names: Vec<String> = body.keys().filter(|k| *k != "schemas").cloned().collect();
    let body = Value::Object(body);
    let resp = ctx.post(endpoint, &body).await?;
    if let Some(id) = str_at(resp.body_json(), "id").filter(|_| resp.status < 300) {
        ctx.cleanup_later(format!("{endpoint}/{id}"));
    }
    crate::ensure!(
        resp.status == 201,
        "POST {endpoint} with only the attributes /Schemas marks required ({names:?}) answered {} instead of 201{}: an attribute published as \"required\": false must be optional (RFC 7643 §2.2)",
        resp.status,
        str_at(resp.body_json(), "detail").map_or_else(String::new, |d| format!(" ({d})"))
    );
    Ok(())
}

/// The resources of a ListResponse, or the items of a bare array.
fn listed(body: &Value) -> Vec<Value> {
    match body {
        Value::Array(a) => a.clone(),
        other => resources(other).into_iter().cloned().collect(),
    }
}

/// A value for every attribute of `schema` (an RFC 7643 §7 schema or a complex attribute's
/// `subAttributes`) that is required and that a client may write (not `readOnly`).
fn required_values(schema: &Value, unique: &str) -> Map<String, Value> {
    let list = get_ci(schema, "attributes")
        .or_else(|| get_ci(schema, "subAttributes"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    list.iter()
        .filter(|a| get_ci(a, "required").and_then(Value::as_bool) == Some(true))
        .filter(|a| !str_at(a, "mutability").is_some_and(|m| m.eq_ignore_ascii_case("readOnly")))
        .filter_map(|a| {
            let name = str_at(a, "name")?;
            if ["id", "schemas", "meta"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                return None;
            }
            Some((name.to_string(), sample(a, &format!("{unique}-{name}"))))
        })
        .collect()
}

/// A value of the attribute's type (RFC 7643 §2.3), a one-element array when multi-valued.
fn sample(attribute: &Value, unique: &str) -> Value {
    let canonical = get_ci(attribute, "canonicalValues")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .cloned();
    let ty = str_at(attribute, "type")
        .unwrap_or("string")
        .to_ascii_lowercase();
    let one = match ty.as_str() {
        "boolean" => json!(true),
        "integer" => json!(1),
        "decimal" => json!(1.5),
        "datetime" => json!("2011-05-13T04:42:34Z"),
        "binary" => json!("c2NpbS1jb25mb3JtYW5jZQ=="),
        "reference" => json!(format!("https://example.com/{unique}")),
        "complex" => {
            let mut sub = required_values(attribute, unique);
            if sub.is_empty() {
                sub.insert("value".into(), json!(unique));
            }
            Value::Object(sub)
        }
        _ => canonical.unwrap_or_else(|| json!(unique)),
    };
    if get_ci(attribute, "multiValued").and_then(Value::as_bool) == Some(true) {
        json!([one])
    } else {
        one
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7643 §8.7.1's User schema marks only userName required; id is readOnly.
    #[test]
    fn takes_only_required_writable_attributes() {
        let schema = json!({"id": USER_SCHEMA, "attributes": [
            {"name": "id", "type": "string", "required": true, "mutability": "readOnly"},
            {"name": "userName", "type": "string", "required": true, "mutability": "readWrite"},
            {"name": "displayName", "type": "string", "required": false},
            {"name": "emails", "type": "complex", "multiValued": true, "required": true,
             "subAttributes": [{"name": "value", "type": "string", "required": true},
                               {"name": "type", "type": "string", "canonicalValues": ["work"]}]},
            {"name": "active", "type": "boolean", "required": true}
        ]});
        let got = Value::Object(required_values(&schema, "u"));
        assert_eq!(
            got,
            json!({"userName": "u-userName", "emails": [{"value": "u-emails-value"}], "active": true})
        );
    }
}
