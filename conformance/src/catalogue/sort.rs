//! Sorting (RFC 7644 §3.4.2.3), run when the server announces sort.supported.

use serde_json::json;

use super::filter;
use super::filters::population;
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::ensure;
use crate::json::{resources, str_at};
use crate::outcome::{CheckResult, Stop};
use crate::run_fn;

const NEEDS: &[Feature] = &[Feature::Users, Feature::Filter, Feature::Sort];

/// The sorting checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "sort.sort-by-ascending",
            title: "sortBy=userName returns the users in ascending order of userName",
            section: "RFC 7644 §3.4.2.3",
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(ascending),
        },
        Check {
            id: "sort.sort-order-descending",
            title: "sortOrder=descending reverses the order",
            section: "RFC 7644 §3.4.2.3",
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(descending),
        },
        Check {
            id: "sort.case-insensitive-for-username",
            title: "userName (caseExact false) sorts without regard to case",
            section: "RFC 7644 §3.4.2.3, RFC 7643 §4.1.1",
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(case_insensitive),
        },
        Check {
            id: "sort.password-refused",
            title: "sortBy=password is refused with 400: a returned-never attribute does not order results",
            section: "RFC 7643 §4.1.1, §2.2, RFC 7644 §3.4.2.3",
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(password_refused),
        },
    ]
}

/// RFC 7643 §4.1.1: password is `"mutability": "writeOnly"`, `"returned": "never"`; §2.2:
/// returned "never" means "The attribute is never returned", and writeOnly "Attribute values
/// SHALL NOT be returned (e.g., because the value is a stored hash)". An order by it discloses
/// how the secrets compare (and needs the plain text at rest), so `sortBy=password` is refused
/// with 400 rather than sorting by the secret.
async fn password_refused(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = population(
        ctx,
        &[
            ("b", json!({"password": "a-Secret-1"})),
            ("c", json!({"password": "c-Secret-3"})),
            ("a", json!({"password": "b-Secret-2"})),
        ],
    )
    .await?;
    let users = ctx.users();
    let f = format!("userName sw \"{prefix}\"");
    let query = format!("filter={}&sortBy=password", super::enc(&f));
    let resp = ctx.get(&format!("{users}?{query}")).await?;
    let order: Vec<String> = resources(resp.body_json())
        .into_iter()
        .filter_map(|r| str_at(r, "userName"))
        .map(|n| n.rsplit('-').next().unwrap_or_default().to_string())
        .collect();
    ensure!(
        resp.status == 400,
        "GET {users}?{query} answered {} (users in the order {order:?}; by password it would be [b, a, c]) instead of 400: password is returned never, and sorting by it discloses the secrets' order",
        resp.status
    );
    super::expect_error(&resp, 400, None, &format!("GET {users}?{query}"))
}

/// Creates users whose userNames end in the given suffixes (created in that order) and lists
/// them with `query`, returning the suffixes in the order the server answered.
async fn sorted(
    ctx: &mut CheckContext,
    suffixes: &[&str],
    query: &str,
) -> Result<Vec<String>, Stop> {
    let members: Vec<(&str, serde_json::Value)> =
        suffixes.iter().map(|s| (*s, json!({}))).collect();
    let (prefix, _) = population(ctx, &members).await?;
    let users = ctx.users();
    let resp = filter(ctx, &users, &format!("userName sw \"{prefix}\""), query).await?;
    Ok(resources(resp.body_json())
        .into_iter()
        .filter_map(|r| str_at(r, "userName"))
        .map(|n| n.rsplit('-').next().unwrap_or_default().to_string())
        .collect())
}

async fn ascending(ctx: &mut CheckContext) -> CheckResult {
    let got = sorted(ctx, &["b", "c", "a"], "sortBy=userName").await?;
    ensure!(
        got == ["a", "b", "c"],
        "sortBy=userName returned the order {got:?}, expected [a, b, c]"
    );
    Ok(())
}

async fn descending(ctx: &mut CheckContext) -> CheckResult {
    let got = sorted(
        ctx,
        &["b", "a", "c"],
        "sortBy=userName&sortOrder=descending",
    )
    .await?;
    ensure!(
        got == ["c", "b", "a"],
        "sortOrder=descending returned the order {got:?}, expected [c, b, a]"
    );
    Ok(())
}

async fn case_insensitive(ctx: &mut CheckContext) -> CheckResult {
    let got = sorted(ctx, &["B", "a", "C"], "sortBy=userName").await?;
    let lower: Vec<String> = got.iter().map(|s| s.to_lowercase()).collect();
    ensure!(
        lower == ["a", "b", "c"],
        "sortBy=userName returned the order {got:?}, expected [a, B, C]"
    );
    Ok(())
}
