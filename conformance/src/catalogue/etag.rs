//! Versioning with ETags (RFC 7644 §3.14), run when the server announces etag.supported.

use serde_json::json;

use super::{expect_status, fetch};
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::ensure;
use crate::json::str_at;
use crate::outcome::CheckResult;
use crate::run_fn;

/// The ETag checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "etag.read.header-matches-version",
            title: "GET /Users/{id} carries an ETag header equal to meta.version",
            section: "RFC 7644 §3.14",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Etag],
            run: run_fn!(header_matches_version),
        },
        Check {
            id: "etag.if-none-match-304",
            title: "GET with If-None-Match set to the current ETag answers 304 Not Modified",
            section: "RFC 7644 §3.14",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Etag],
            run: run_fn!(if_none_match),
        },
        Check {
            id: "etag.if-match-mismatch-412",
            title: "PUT with If-Match set to a stale ETag answers 412 Precondition Failed",
            section: "RFC 7644 §3.14",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Etag],
            run: run_fn!(if_match_mismatch),
        },
        Check {
            id: "etag.version-changes-on-update",
            title: "meta.version changes when the resource changes",
            section: "RFC 7644 §3.14, RFC 7643 §3.1",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Etag],
            run: run_fn!(version_changes),
        },
        Check {
            id: "etag.if-match-current-succeeds",
            title: "PUT with If-Match set to the current ETag succeeds",
            section: "RFC 7644 §3.14",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Etag],
            run: run_fn!(if_match_current),
        },
        Check {
            id: "etag.header-is-quoted-entity-tag",
            title: "The ETag header is an entity-tag: a quoted string, optionally weak (W/\"...\")",
            section: "RFC 7644 §3.14, RFC 7232 §2.3",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Etag],
            run: run_fn!(quoted),
        },
    ]
}

async fn header_matches_version(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("etag").await?;
    let resp = ctx.get(&u.url).await?;
    expect_status(&resp, &[200], "GET")?;
    let etag = resp.header("etag");
    ensure!(etag.is_some(), "the response has no ETag header");
    let version = str_at(resp.body_json(), "meta.version");
    ensure!(
        etag == version,
        "ETag {:?} differs from meta.version {:?}",
        etag,
        version
    );
    Ok(())
}

async fn current_etag(ctx: &CheckContext, url: &str) -> Result<String, crate::outcome::Stop> {
    let resp = ctx.get(url).await?;
    expect_status(&resp, &[200], "GET")?;
    resp.header("etag")
        .map(str::to_string)
        .or_else(|| str_at(resp.body_json(), "meta.version").map(str::to_string))
        .ok_or_else(|| {
            crate::outcome::Stop::fail("the resource has neither an ETag header nor meta.version")
        })
}

async fn if_none_match(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("etag-inm").await?;
    let tag = current_etag(ctx, &u.url).await?;
    let resp = ctx
        .client
        .send(
            reqwest::Method::GET,
            &u.url,
            None,
            &[("If-None-Match", tag.as_str())],
        )
        .await;
    let resp = CheckContext::answered(resp)?;
    expect_status(&resp, &[304], &format!("GET with If-None-Match: {tag}"))
}

async fn if_match_mismatch(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("etag-im").await?;
    let mut body = fetch(ctx, &u.url).await?;
    if let Some(obj) = body.as_object_mut() {
        obj.remove("meta");
        obj.insert("displayName".into(), json!("Stale Write"));
    }
    let resp = ctx
        .client
        .send(
            reqwest::Method::PUT,
            &u.url,
            Some(&body),
            &[("If-Match", "W/\"stale-conformance-tag\"")],
        )
        .await;
    let resp = CheckContext::answered(resp)?;
    expect_status(&resp, &[412], "PUT with a stale If-Match")?;
    let got = fetch(ctx, &u.url).await?;
    ensure!(
        str_at(&got, "displayName") != Some("Stale Write"),
        "the stale PUT was applied"
    );
    Ok(())
}

async fn version_changes(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("etag-ver").await?;
    let before = current_etag(ctx, &u.url).await?;
    let mut body = fetch(ctx, &u.url).await?;
    if let Some(obj) = body.as_object_mut() {
        obj.remove("meta");
        obj.insert("displayName".into(), json!("Version Two"));
    }
    let resp = ctx.put(&u.url, &body).await?;
    expect_status(&resp, &[200], "PUT")?;
    let after = current_etag(ctx, &u.url).await?;
    ensure!(
        before != after,
        "the version stayed {before} after a change"
    );
    Ok(())
}

async fn if_match_current(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("etag-current").await?;
    let tag = current_etag(ctx, &u.url).await?;
    let mut body = fetch(ctx, &u.url).await?;
    if let Some(obj) = body.as_object_mut() {
        obj.remove("meta");
        obj.insert("displayName".into(), json!("Fresh Write"));
    }
    let resp = ctx
        .client
        .send(
            reqwest::Method::PUT,
            &u.url,
            Some(&body),
            &[("If-Match", tag.as_str())],
        )
        .await;
    let resp = CheckContext::answered(resp)?;
    expect_status(&resp, &[200], &format!("PUT with If-Match: {tag}"))
}

async fn quoted(ctx: &mut CheckContext) -> CheckResult {
    let u = ctx.create_user("etag-quoted").await?;
    let resp = ctx.get(&u.url).await?;
    expect_status(&resp, &[200], "GET")?;
    let tag = resp.header("etag").unwrap_or_default().to_string();
    let opaque = tag.strip_prefix("W/").unwrap_or(&tag);
    ensure!(
        opaque.len() >= 2 && opaque.starts_with('"') && opaque.ends_with('"'),
        "ETag {tag:?} is not a quoted entity-tag"
    );
    Ok(())
}
