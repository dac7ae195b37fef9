//! Bulk (RFC 7644 §3.7), run when the server announces bulk.supported.

use serde_json::{Value, json};

use super::{expect_status, filter, ids};
use crate::check::{Check, Feature, Level};
use crate::context::{CheckContext, random_guid};
use crate::discovery::{GROUP_SCHEMA, USER_SCHEMA};
use crate::ensure;
use crate::json::{get_ci, has_schema, str_at};
use crate::outcome::{CheckResult, Stop};
use crate::run_fn;

/// The BulkRequest message URI.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The BulkResponse message URI.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The Bulk checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "bulk.create-returns-bulk-response",
            title: "POST /Bulk with a POST operation answers 200 with a BulkResponse whose operation has status \"201\" and a location",
            section: "RFC 7644 §3.7, §3.7.3",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Bulk],
            run: run_fn!(create_returns_response),
        },
        Check {
            id: "bulk.bulk-id-reference-resolved",
            title: "\"bulkId:<id>\" in a later operation is replaced by the id of the resource created earlier",
            section: "RFC 7644 §3.7.2",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Groups, Feature::Bulk],
            run: run_fn!(bulk_id_reference),
        },
        Check {
            id: "bulk.fail-on-errors-stops",
            title: "With failOnErrors=1 the server stops after the first error and performs no later operation",
            section: "RFC 7644 §3.7.3",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Bulk, Feature::Filter],
            run: run_fn!(fail_on_errors),
        },
        Check {
            id: "bulk.max-operations-413",
            title: "A request with more operations than bulk.maxOperations answers 413",
            section: "RFC 7644 §3.7.4",
            level: Level::Must,
            requires: &[Feature::Bulk],
            run: run_fn!(max_operations),
        },
    ]
}

fn request(operations: Value, fail_on_errors: Option<u64>) -> Value {
    let mut body = json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations});
    if let (Some(n), Some(obj)) = (fail_on_errors, body.as_object_mut()) {
        obj.insert("failOnErrors".into(), json!(n));
    }
    body
}

/// Registers the resources a BulkResponse says were created, for clean-up.
fn register_created(ctx: &mut CheckContext, response: &Value) {
    let ops = get_ci(response, "Operations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for op in ops {
        if let Some(location) = str_at(&op, "location") {
            ctx.cleanup_later(location.to_string());
        }
    }
}

async fn send(ctx: &mut CheckContext, body: &Value) -> Result<crate::client::Response, Stop> {
    let resp = ctx.post("/Bulk", body).await?;
    if let Some(json) = &resp.json {
        register_created(ctx, json);
    }
    Ok(resp)
}

fn user(ctx: &CheckContext, stem: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": ctx.unique(stem)})
}

async fn create_returns_response(ctx: &mut CheckContext) -> CheckResult {
    let users = ctx.users();
    let body = request(
        json!([{"method": "POST", "path": users, "bulkId": "u1", "data": user(ctx, "bulk")}]),
        None,
    );
    let resp = send(ctx, &body).await?;
    expect_status(&resp, &[200], "POST /Bulk")?;
    let b = resp.body_json();
    ensure!(
        has_schema(b, BULK_RESPONSE_SCHEMA),
        "the response does not list {BULK_RESPONSE_SCHEMA}"
    );
    let ops = get_ci(b, "Operations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    ensure!(
        ops.len() == 1,
        "the BulkResponse has {} operations, expected 1",
        ops.len()
    );
    let op = ops.first().cloned().unwrap_or(Value::Null);
    ensure!(
        str_at(&op, "status") == Some("201"),
        "the operation's status is {:?}, expected \"201\"",
        get_ci(&op, "status")
    );
    ensure!(
        str_at(&op, "location").is_some(),
        "the operation has no location"
    );
    ensure!(
        str_at(&op, "bulkId") == Some("u1"),
        "the operation does not echo bulkId u1"
    );
    Ok(())
}

async fn bulk_id_reference(ctx: &mut CheckContext) -> CheckResult {
    let users = ctx.users();
    let groups = ctx.groups();
    let body = request(
        json!([
            {"method": "POST", "path": users, "bulkId": "member", "data": user(ctx, "bulk-member")},
            {"method": "POST", "path": groups, "bulkId": "group", "data": {
                "schemas": [GROUP_SCHEMA],
                "displayName": ctx.unique("bulk-group"),
                "members": [{"type": "User", "value": "bulkId:member"}]
            }}
        ]),
        None,
    );
    let resp = send(ctx, &body).await?;
    expect_status(&resp, &[200], "POST /Bulk")?;
    let ops = get_ci(resp.body_json(), "Operations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let location = |bulk: &str| {
        ops.iter()
            .find(|o| str_at(o, "bulkId") == Some(bulk))
            .and_then(|o| str_at(o, "location"))
            .map(str::to_string)
    };
    let (Some(user_loc), Some(group_loc)) = (location("member"), location("group")) else {
        return Err(Stop::fail(
            "the BulkResponse lacks the location of the user or the group",
        ));
    };
    let user_id = user_loc.rsplit('/').next().unwrap_or_default().to_string();
    let group = super::fetch(ctx, &group_loc).await?;
    let members = super::values_of(&group, "members");
    ensure!(
        members == vec![user_id.clone()],
        "the group's members are {members:?}, expected [{user_id}] (bulkId:member resolved)"
    );
    Ok(())
}

async fn fail_on_errors(ctx: &mut CheckContext) -> CheckResult {
    let users = ctx.users();
    let valid = user(ctx, "bulk-after-error");
    let name = str_at(&valid, "userName").unwrap_or_default().to_string();
    let body = request(
        json!([
            {"method": "POST", "path": users, "bulkId": "bad", "data": {"schemas": [USER_SCHEMA], "displayName": "no userName"}},
            {"method": "POST", "path": users, "bulkId": "good", "data": valid}
        ]),
        Some(1),
    );
    let resp = send(ctx, &body).await?;
    expect_status(&resp, &[200, 400], "POST /Bulk with failOnErrors=1")?;
    let found = filter(ctx, &users, &format!("userName eq \"{name}\""), "").await?;
    ensure!(
        ids(&found).is_empty(),
        "the operation after the first error was performed although failOnErrors=1"
    );
    Ok(())
}

async fn max_operations(ctx: &mut CheckContext) -> CheckResult {
    let Some(max) = ctx
        .features
        .bulk
        .max_operations
        .filter(|m| *m > 0 && *m <= 1000)
    else {
        return Err(Stop::skip(
            "bulk.maxOperations is not announced or too large to exceed cheaply",
        ));
    };
    let users = ctx.users();
    let ops: Vec<Value> = (0..=max)
        .map(|_| json!({"method": "DELETE", "path": format!("{users}/{}", random_guid())}))
        .collect();
    let resp = send(ctx, &request(Value::Array(ops), None)).await?;
    super::expect_error(
        &resp,
        413,
        None,
        &format!("POST /Bulk with {} operations", max + 1),
    )
}
