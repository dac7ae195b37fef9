//! Error responses (RFC 7644 §3.12).

use super::{expect_error, expect_status};
use crate::check::{Check, Feature, Level};
use crate::context::{CheckContext, random_guid};
use crate::ensure;
use crate::json::get_ci;
use crate::outcome::CheckResult;
use crate::run_fn;

/// The error checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "errors.body.schema-and-status-string",
            title: "An error body lists the Error schema and carries status as a JSON string",
            section: "RFC 7644 §3.12",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(error_body_shape),
        },
        Check {
            id: "errors.body.status-matches-http",
            title: "The status in an error body equals the HTTP status code",
            section: "RFC 7644 §3.12",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(error_status_matches),
        },
        Check {
            id: "errors.malformed-json-400",
            title: "A POST whose body is not JSON is refused with 400 (scimType invalidSyntax)",
            section: "RFC 7644 §3.12",
            level: Level::Must,
            requires: &[Feature::Users],
            run: run_fn!(malformed_json_400),
        },
        Check {
            id: "errors.content-type-scim-json",
            title: "Error responses carry Content-Type application/scim+json",
            section: "RFC 7644 §3.1, §3.12",
            level: Level::Should,
            requires: &[Feature::Users],
            run: run_fn!(error_content_type),
        },
    ]
}

async fn error_body_shape(ctx: &mut CheckContext) -> CheckResult {
    let url = format!("{}/{}", ctx.users(), random_guid());
    let resp = ctx.get(&url).await?;
    expect_error(&resp, 404, None, &format!("GET {url}"))?;
    let status = get_ci(resp.body_json(), "status");
    ensure!(
        status.is_some_and(serde_json::Value::is_string),
        "status in the error body is {}, expected the string \"404\"",
        status.map_or_else(|| "missing".to_string(), ToString::to_string)
    );
    Ok(())
}

async fn error_status_matches(ctx: &mut CheckContext) -> CheckResult {
    let url = format!("{}/{}", ctx.users(), random_guid());
    let resp = ctx.get(&url).await?;
    expect_status(&resp, &[404], &format!("GET {url}"))?;
    let status = get_ci(resp.body_json(), "status");
    let text = status.and_then(|s| {
        s.as_str()
            .map(str::to_string)
            .or_else(|| s.as_u64().map(|n| n.to_string()))
    });
    ensure!(
        text.as_deref() == Some("404"),
        "the error body says status {text:?}, the HTTP status is 404"
    );
    Ok(())
}

async fn malformed_json_400(ctx: &mut CheckContext) -> CheckResult {
    let users = ctx.users();
    let resp = ctx
        .client
        .send_raw(
            reqwest::Method::POST,
            &users,
            Some(
                "{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"], \"userName\": "
                    .into(),
            ),
            &[],
        )
        .await;
    let resp = CheckContext::answered(resp)?;
    expect_error(
        &resp,
        400,
        Some("invalidSyntax"),
        "POST with a truncated JSON body",
    )
}

async fn error_content_type(ctx: &mut CheckContext) -> CheckResult {
    let url = format!("{}/{}", ctx.users(), random_guid());
    let resp = ctx.get(&url).await?;
    expect_status(&resp, &[404], &format!("GET {url}"))?;
    ensure!(
        resp.media_type().as_deref() == Some("application/scim+json"),
        "the error's Content-Type is {:?}",
        resp.header("content-type").unwrap_or("(none)")
    );
    Ok(())
}
