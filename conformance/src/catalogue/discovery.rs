//! Discovery documents: `/ServiceProviderConfig` (RFC 7643 §5), `/ResourceTypes` (§6),
//! `/Schemas` (§7), served as RFC 7644 §4 describes.

use serde_json::Value;

use super::expect_status;
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::discovery::{LIST_RESPONSE_SCHEMA, RESOURCE_TYPE_SCHEMA, SPC_SCHEMA};
use crate::ensure;
use crate::json::{get_ci, has_schema, resources, str_at};
use crate::outcome::CheckResult;
use crate::run_fn;

/// The discovery checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "discovery.spc.returns-200-scim-json",
            title: "GET /ServiceProviderConfig answers 200 with Content-Type application/scim+json",
            section: "RFC 7644 §4, §3.1",
            level: Level::Must,
            requires: &[],
            run: run_fn!(spc_returns_200),
        },
        Check {
            id: "discovery.spc.required-attributes",
            title: "The ServiceProviderConfig lists its schema and every REQUIRED attribute (patch, bulk, filter, changePassword, sort, etag, authenticationSchemes)",
            section: "RFC 7643 §5",
            level: Level::Must,
            requires: &[],
            run: run_fn!(spc_required_attributes),
        },
        Check {
            id: "discovery.spc.supported-flags-boolean",
            title: "Every `supported` flag of the ServiceProviderConfig is a JSON boolean",
            section: "RFC 7643 §5",
            level: Level::Must,
            requires: &[],
            run: run_fn!(spc_flags_boolean),
        },
        Check {
            id: "discovery.resource-types.list-response",
            title: "GET /ResourceTypes answers 200 with a ListResponse of ResourceType resources",
            section: "RFC 7644 §4",
            level: Level::Must,
            requires: &[],
            run: run_fn!(resource_types_list),
        },
        Check {
            id: "discovery.resource-types.required-attributes",
            title: "Every ResourceType has its schema URI and the REQUIRED name, endpoint and schema",
            section: "RFC 7643 §6",
            level: Level::Must,
            requires: &[],
            run: run_fn!(resource_types_required),
        },
        Check {
            id: "discovery.schemas.list-covers-resource-types",
            title: "GET /Schemas answers 200 and lists the schema of every resource type and extension",
            section: "RFC 7644 §4",
            level: Level::Must,
            requires: &[],
            run: run_fn!(schemas_cover_resource_types),
        },
        Check {
            id: "discovery.schemas.attribute-characteristics",
            title: "Every schema has an id and attributes, and every attribute a name and a type",
            section: "RFC 7643 §7",
            level: Level::Must,
            requires: &[],
            run: run_fn!(schemas_attribute_characteristics),
        },
        Check {
            id: "discovery.spc.authentication-schemes",
            title: "Each authenticationSchemes entry has the REQUIRED type, name and description",
            section: "RFC 7643 §5",
            level: Level::Must,
            requires: &[],
            run: run_fn!(spc_auth_schemes),
        },
        Check {
            id: "discovery.spc.bulk-and-filter-limits",
            title: "bulk.maxOperations, bulk.maxPayloadSize and filter.maxResults are present (REQUIRED)",
            section: "RFC 7643 §5",
            level: Level::Must,
            requires: &[],
            run: run_fn!(spc_limits),
        },
        Check {
            id: "discovery.resource-types.schema-extensions-shape",
            title: "Each schemaExtensions entry has the REQUIRED schema and required",
            section: "RFC 7643 §6",
            level: Level::Must,
            requires: &[],
            run: run_fn!(resource_types_extensions),
        },
        Check {
            id: "discovery.schemas.user-username-characteristics",
            title: "The User schema's userName is required, caseExact false and uniqueness server",
            section: "RFC 7643 §4.1.1, §8.7.1",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(user_name_characteristics),
        },
    ]
}

async fn spc_returns_200(ctx: &mut CheckContext) -> CheckResult {
    let r = ctx.get("/ServiceProviderConfig").await?;
    expect_status(&r, &[200], "GET /ServiceProviderConfig")?;
    let media = r.media_type();
    ensure!(
        media.as_deref() == Some("application/scim+json"),
        "Content-Type is {:?}, expected application/scim+json",
        r.header("content-type").unwrap_or("(none)")
    );
    Ok(())
}

async fn spc(ctx: &CheckContext) -> Result<Value, crate::outcome::Stop> {
    let r = ctx.get("/ServiceProviderConfig").await?;
    expect_status(&r, &[200], "GET /ServiceProviderConfig")?;
    let body = r.json.unwrap_or(Value::Null);
    ensure!(
        body.is_object(),
        "the ServiceProviderConfig body is not a JSON object"
    );
    Ok(body)
}

const SPC_REQUIRED: [&str; 7] = [
    "patch",
    "bulk",
    "filter",
    "changePassword",
    "sort",
    "etag",
    "authenticationSchemes",
];

async fn spc_required_attributes(ctx: &mut CheckContext) -> CheckResult {
    let body = spc(ctx).await?;
    ensure!(
        has_schema(&body, SPC_SCHEMA),
        "schemas does not contain {SPC_SCHEMA}"
    );
    let missing: Vec<&str> = SPC_REQUIRED
        .iter()
        .copied()
        .filter(|a| get_ci(&body, a).is_none())
        .collect();
    ensure!(
        missing.is_empty(),
        "REQUIRED attributes missing: {}",
        missing.join(", ")
    );
    Ok(())
}

async fn spc_flags_boolean(ctx: &mut CheckContext) -> CheckResult {
    let body = spc(ctx).await?;
    for name in ["patch", "bulk", "filter", "changePassword", "sort", "etag"] {
        let flag = get_ci(&body, name).and_then(|v| get_ci(v, "supported"));
        ensure!(
            flag.is_some_and(Value::is_boolean),
            "{name}.supported is {}, expected true or false",
            flag.map_or_else(|| "missing".to_string(), Value::to_string)
        );
    }
    Ok(())
}

async fn resource_types_list(ctx: &mut CheckContext) -> CheckResult {
    let r = ctx.get("/ResourceTypes").await?;
    expect_status(&r, &[200], "GET /ResourceTypes")?;
    let body = r.body_json();
    ensure!(
        has_schema(body, LIST_RESPONSE_SCHEMA),
        "the body is not a ListResponse (schemas lacks {LIST_RESPONSE_SCHEMA})"
    );
    ensure!(
        !resources(body).is_empty(),
        "the ListResponse has no Resources"
    );
    Ok(())
}

async fn resource_types_required(ctx: &mut CheckContext) -> CheckResult {
    let r = ctx.get("/ResourceTypes").await?;
    expect_status(&r, &[200], "GET /ResourceTypes")?;
    let body = r.body_json();
    let items: Vec<&Value> = match body {
        Value::Array(a) => a.iter().collect(),
        other => resources(other),
    };
    ensure!(!items.is_empty(), "no resource types listed");
    for rt in items {
        let name = str_at(rt, "name").unwrap_or("(unnamed)");
        ensure!(
            has_schema(rt, RESOURCE_TYPE_SCHEMA),
            "resource type {name}: schemas does not contain {RESOURCE_TYPE_SCHEMA}"
        );
        for attr in ["name", "endpoint", "schema"] {
            ensure!(
                str_at(rt, attr).is_some_and(|s| !s.is_empty()),
                "resource type {name}: REQUIRED attribute {attr} is missing"
            );
        }
    }
    Ok(())
}

async fn schemas_list(ctx: &CheckContext) -> Result<Vec<Value>, crate::outcome::Stop> {
    let r = ctx.get("/Schemas").await?;
    expect_status(&r, &[200], "GET /Schemas")?;
    let body = r.body_json();
    let items: Vec<Value> = match body {
        Value::Array(a) => a.clone(),
        other => resources(other).into_iter().cloned().collect(),
    };
    Ok(items)
}

async fn schemas_cover_resource_types(ctx: &mut CheckContext) -> CheckResult {
    let items = schemas_list(ctx).await?;
    let ids: Vec<&str> = items.iter().filter_map(|s| str_at(s, "id")).collect();
    let mut wanted: Vec<String> = Vec::new();
    for rt in &ctx.features.resource_types {
        wanted.push(rt.schema.clone());
        wanted.extend(rt.extensions.iter().cloned());
    }
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|w| !ids.iter().any(|id| id.eq_ignore_ascii_case(w)))
        .collect();
    ensure!(
        missing.is_empty(),
        "/Schemas does not list {missing:?} (named by /ResourceTypes)"
    );
    Ok(())
}

async fn schemas_attribute_characteristics(ctx: &mut CheckContext) -> CheckResult {
    let items = schemas_list(ctx).await?;
    ensure!(!items.is_empty(), "/Schemas lists no schema");
    for schema in &items {
        let id = str_at(schema, "id");
        ensure!(id.is_some(), "a schema has no id");
        let id = id.unwrap_or_default();
        let attrs = get_ci(schema, "attributes").and_then(Value::as_array);
        ensure!(attrs.is_some(), "schema {id} has no attributes array");
        for a in attrs.into_iter().flatten() {
            let name = str_at(a, "name");
            ensure!(name.is_some(), "schema {id}: an attribute has no name");
            ensure!(
                str_at(a, "type").is_some(),
                "schema {id}: attribute {} has no type",
                name.unwrap_or_default()
            );
        }
    }
    Ok(())
}

async fn spc_auth_schemes(ctx: &mut CheckContext) -> CheckResult {
    let body = spc(ctx).await?;
    let schemes = get_ci(&body, "authenticationSchemes").and_then(Value::as_array);
    ensure!(
        schemes.is_some(),
        "authenticationSchemes is missing or not an array"
    );
    for (i, s) in schemes.into_iter().flatten().enumerate() {
        for attr in ["type", "name", "description"] {
            ensure!(
                str_at(s, attr).is_some(),
                "authenticationSchemes[{i}] has no {attr}"
            );
        }
    }
    Ok(())
}

async fn spc_limits(ctx: &mut CheckContext) -> CheckResult {
    let body = spc(ctx).await?;
    for path in [
        "bulk.maxOperations",
        "bulk.maxPayloadSize",
        "filter.maxResults",
    ] {
        ensure!(
            crate::json::get_path(&body, path).is_some_and(Value::is_number),
            "{path} is missing or not a number"
        );
    }
    Ok(())
}

async fn resource_types_extensions(ctx: &mut CheckContext) -> CheckResult {
    let r = ctx.get("/ResourceTypes").await?;
    expect_status(&r, &[200], "GET /ResourceTypes")?;
    let body = r.body_json();
    let items: Vec<&Value> = match body {
        Value::Array(a) => a.iter().collect(),
        other => resources(other),
    };
    for rt in items {
        let name = str_at(rt, "name").unwrap_or("(unnamed)");
        for ext in get_ci(rt, "schemaExtensions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            ensure!(
                str_at(ext, "schema").is_some(),
                "resource type {name}: a schemaExtensions entry has no schema"
            );
            ensure!(
                get_ci(ext, "required").is_some_and(Value::is_boolean),
                "resource type {name}: schemaExtensions entry {} has no boolean required",
                str_at(ext, "schema").unwrap_or_default()
            );
        }
    }
    Ok(())
}

async fn user_name_characteristics(ctx: &mut CheckContext) -> CheckResult {
    let items = schemas_list(ctx).await?;
    let user = items.iter().find(|s| {
        str_at(s, "id").is_some_and(|id| id.eq_ignore_ascii_case(crate::discovery::USER_SCHEMA))
    });
    let Some(user) = user else {
        return Err(crate::outcome::Stop::fail(
            "/Schemas does not list the User schema",
        ));
    };
    let attr = get_ci(user, "attributes")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|x| str_at(x, "name").is_some_and(|n| n.eq_ignore_ascii_case("userName")))
        });
    let Some(attr) = attr else {
        return Err(crate::outcome::Stop::fail(
            "the User schema has no userName attribute",
        ));
    };
    ensure!(
        get_ci(attr, "required") == Some(&Value::Bool(true)),
        "userName.required is {:?}, expected true",
        get_ci(attr, "required")
    );
    ensure!(
        get_ci(attr, "caseExact") == Some(&Value::Bool(false)),
        "userName.caseExact is {:?}, expected false",
        get_ci(attr, "caseExact")
    );
    ensure!(
        str_at(attr, "uniqueness") == Some("server"),
        "userName.uniqueness is {:?}, expected \"server\"",
        str_at(attr, "uniqueness")
    );
    Ok(())
}
