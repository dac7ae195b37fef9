//! Lone filters on attributes that servers do not index by default (RFC 7644 §3.4.2.2): `title`,
//! `name.familyName`, `active`, an enterprise extension attribute, `meta.lastModified`, `ne` and
//! `not (...)`, each the whole filter, with no `userName`, `id` or `externalId` clause a server
//! could narrow by. RFC 7644 §3.4.2.2 lets a client filter on any attribute; a server that says
//! `filter.supported: true` and answers 400 to one of these fails.
//!
//! Every check creates its own users with values nobody else uses (a unique `title`,
//! `familyName` or `employeeNumber`), so the expected result is exact even on a server that
//! holds other data. Where a lone filter cannot be exact on a shared server (`active eq false`,
//! `meta.lastModified gt`, `ne`, `not`: other resources match too), the check asks two things:
//! - the lone filter: every resource it returns satisfies it (read from the returned
//!   attribute), this check's users that do not match are absent, `totalResults` counts at
//!   least this check's matching users, and when the whole result fits on the page they are in it;
//! - the same condition `and`-ed with the check's unique `title` (itself unindexed): exactly this
//!   check's matching users.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::filters::population;
use super::{enc, expect_ids, filter, ids, total_results};
use crate::check::{Check, Feature, Level};
use crate::context::{CheckContext, Created};
use crate::discovery::ENTERPRISE_SCHEMA;
use crate::ensure;
use crate::json::{get_path, resources, str_at};
use crate::outcome::{CheckResult, Stop};
use crate::run_fn;

const NEEDS: &[Feature] = &[Feature::Users, Feature::Filter];
const SECTION: &str = "RFC 7644 §3.4.2.2";

/// How long the `meta.lastModified` check waits between the user created before its point in
/// time and the users created after it, so that a server whose timestamps have whole seconds
/// still tells them apart.
const CLOCK_GAP_MS: u64 = 1_200;

/// The lone-filter checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "filters.lone.title-eq",
            title: "A lone title eq \"<unique>\" answers exactly the users with that title (never 400)",
            section: SECTION,
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(title_eq),
        },
        Check {
            id: "filters.lone.family-name-eq",
            title: "A lone name.familyName eq \"<unique>\" answers exactly the users with that family name (never 400)",
            section: SECTION,
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(family_name_eq),
        },
        Check {
            id: "filters.lone.enterprise-employee-number-eq",
            title: "A lone urn:...:enterprise:2.0:User:employeeNumber eq \"<unique>\" answers exactly the users with that number (never 400)",
            section: "RFC 7644 §3.4.2.2, RFC 7643 §4.3",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Filter, Feature::EnterpriseUser],
            run: run_fn!(enterprise_eq),
        },
        Check {
            id: "filters.lone.active-eq",
            title: "Lone active eq false / active eq true return only users with that active value; with title eq \"<unique>\" and ... the result is exact",
            section: SECTION,
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(active_eq),
        },
        Check {
            id: "filters.lone.last-modified-gt",
            title: "A lone meta.lastModified gt \"<a time just before the check's creates>\" returns the users modified after it and not the one before",
            section: "RFC 7644 §3.4.2.2, RFC 7643 §2.3.5, §3.1",
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(last_modified_gt),
        },
        Check {
            id: "filters.lone.ne",
            title: "A lone title ne \"<unique>\" never returns the user with that title; with title sw \"<unique prefix>\" the result is exact",
            section: SECTION,
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(lone_ne),
        },
        Check {
            id: "filters.lone.not",
            title: "A lone not (title eq \"<unique>\") never returns the user with that title; with title sw \"<unique prefix>\" the result is exact",
            section: SECTION,
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!(lone_not),
        },
    ]
}

fn id(p: &[(Created, String)], i: usize) -> &str {
    p.get(i).map_or("", |(c, _)| c.id.as_str())
}

async fn expect_exact(ctx: &CheckContext, f: &str, expected: &[&str]) -> CheckResult {
    let users = ctx.users();
    let resp = filter(ctx, &users, f, "").await?;
    expect_ids(&resp, expected, f)
}

/// A lone filter on a server that may hold other data (see the module docs): every returned
/// resource satisfies `holds`, nothing in `absent` is returned, `totalResults` counts at least
/// `present`, and when the whole result is on the page every id in `present` is.
async fn expect_lone(
    ctx: &CheckContext,
    f: &str,
    attribute: &str,
    holds: impl Fn(Option<&Value>) -> bool,
    present: &[&str],
    absent: &[&str],
) -> CheckResult {
    let users = ctx.users();
    let resp = filter(ctx, &users, f, &format!("attributes={}", enc(attribute))).await?;
    let items = resources(resp.body_json());
    for r in &items {
        let value = get_path(r, attribute);
        ensure!(
            holds(value),
            "filter {f} returned {} whose {attribute} is {}, which does not satisfy the filter",
            str_at(r, "id").unwrap_or("(no id)"),
            value.map_or_else(|| "absent".to_string(), Value::to_string)
        );
    }
    let got = ids(&resp);
    for a in absent {
        ensure!(
            !got.iter().any(|g| g == a),
            "filter {f} returned {a}, one of this check's users that does not match it"
        );
    }
    let total = total_results(&resp);
    let at_least = u64::try_from(present.len()).unwrap_or(u64::MAX);
    ensure!(
        total.is_some_and(|t| t >= at_least),
        "filter {f}: totalResults is {total:?}, but at least {at_least} of this check's users match it"
    );
    let whole = total.is_some_and(|t| usize::try_from(t).is_ok_and(|t| t <= items.len()));
    if whole {
        for p in present {
            ensure!(
                got.iter().any(|g| g == p),
                "filter {f} did not return {p}, one of this check's users that matches it (the whole result, {total:?} resources, was on the page)"
            );
        }
    }
    Ok(())
}

/// A string attribute compared as `caseExact: false` (RFC 7643 §4.1.1 `title`).
fn same_text(value: Option<&Value>, want: &str) -> bool {
    value
        .and_then(Value::as_str)
        .is_some_and(|v| v.to_lowercase() == want.to_lowercase())
}

async fn unique_eq(ctx: &mut CheckContext, path: &str, make: fn(&str) -> Value) -> CheckResult {
    let value = ctx.unique("lone");
    let other = format!("{value}-other");
    let (_, p) = population(ctx, &[("match", make(&value)), ("other", make(&other))]).await?;
    expect_exact(ctx, &format!("{path} eq \"{value}\""), &[id(&p, 0)]).await
}

async fn title_eq(ctx: &mut CheckContext) -> CheckResult {
    unique_eq(ctx, "title", |v| json!({"title": v})).await
}

async fn family_name_eq(ctx: &mut CheckContext) -> CheckResult {
    unique_eq(
        ctx,
        "name.familyName",
        |v| json!({"name": {"givenName": "Lone", "familyName": v}}),
    )
    .await
}

async fn enterprise_eq(ctx: &mut CheckContext) -> CheckResult {
    let path = format!("{ENTERPRISE_SCHEMA}:employeeNumber");
    unique_eq(ctx, &path, |v| {
        json!({
            "schemas": [crate::discovery::USER_SCHEMA, ENTERPRISE_SCHEMA],
            ENTERPRISE_SCHEMA: {"employeeNumber": v}
        })
    })
    .await
}

/// A lone `active eq` cannot be exact on a shared server (other users are active or not too),
/// so the lone form is checked for what it returns and the exact form adds the unique `title`.
async fn active_eq(ctx: &mut CheckContext) -> CheckResult {
    let title = ctx.unique("lone-active");
    let (_, p) = population(
        ctx,
        &[
            ("on", json!({"title": title, "active": true})),
            ("off", json!({"title": title, "active": false})),
        ],
    )
    .await?;
    let (on, off) = (id(&p, 0).to_string(), id(&p, 1).to_string());
    for (value, yes, no) in [(false, &off, &on), (true, &on, &off)] {
        expect_lone(
            ctx,
            &format!("active eq {value}"),
            "active",
            |v| v.and_then(boolean) == Some(value),
            &[yes],
            &[no],
        )
        .await?;
        expect_exact(
            ctx,
            &format!("title eq \"{title}\" and active eq {value}"),
            &[yes],
        )
        .await?;
    }
    Ok(())
}

/// A JSON boolean (or the string a lenient server might send).
fn boolean(v: &Value) -> Option<bool> {
    v.as_bool()
        .or_else(|| match v.as_str()?.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
}

fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// RFC 7644 §3.4.2.2 `gt` on a dateTime compares in time order; RFC 7643 §3.1: `lastModified`
/// is when the resource was last updated. The point in time is taken from the server's own
/// clock (half a second after the `lastModified` of a user created before it), so a client
/// whose clock differs from the server's gets the same answer.
async fn last_modified_gt(ctx: &mut CheckContext) -> CheckResult {
    let title = ctx.unique("lone-modified");
    let (_, before) = population(ctx, &[("before", json!({"title": title}))]).await?;
    let stamp =
        |c: &Created| str_at(c.response.body_json(), "meta.lastModified").map(str::to_string);
    let Some(first) = before.first().and_then(|(c, _)| stamp(c)) else {
        return Err(Stop::skip(
            "the created user has no meta.lastModified to take a point in time from",
        ));
    };
    let Some(first_time) = parse_time(&first) else {
        return Err(Stop::fail(format!(
            "meta.lastModified {first:?} is not an xsd:dateTime (RFC 7643 §2.3.5)"
        )));
    };
    let point = first_time.with_timezone(&Utc) + Duration::milliseconds(500);
    let point_text = point.to_rfc3339_opts(SecondsFormat::Millis, true);
    tokio::time::sleep(std::time::Duration::from_millis(CLOCK_GAP_MS)).await;
    let (_, after) = population(
        ctx,
        &[
            ("after1", json!({"title": title})),
            ("after2", json!({"title": title})),
        ],
    )
    .await?;
    for (c, _) in &after {
        let got = stamp(c).and_then(|s| parse_time(&s));
        ensure!(
            got.is_none_or(|t| t > point),
            "user {} was created {CLOCK_GAP_MS} ms after a user whose meta.lastModified is {first}, yet its own meta.lastModified {:?} is not later than {point_text}",
            c.id,
            stamp(c)
        );
    }
    let old = id(&before, 0).to_string();
    let new = [id(&after, 0).to_string(), id(&after, 1).to_string()];
    let new: Vec<&str> = new.iter().map(String::as_str).collect();
    expect_lone(
        ctx,
        &format!("meta.lastModified gt \"{point_text}\""),
        "meta.lastModified",
        |v| {
            v.and_then(Value::as_str)
                .and_then(parse_time)
                .is_none_or(|t| t > point)
        },
        &new,
        &[&old],
    )
    .await?;
    expect_exact(
        ctx,
        &format!("title eq \"{title}\" and meta.lastModified gt \"{point_text}\""),
        &new,
    )
    .await
}

/// Two users with unique titles `<u>-a` and `<u>-b`; `negated` is the lone filter that must
/// exclude `<u>-a`, given that title.
async fn excludes_a(ctx: &mut CheckContext, negated: fn(&str) -> String) -> CheckResult {
    let prefix = ctx.unique("lone-neg");
    let (a, b) = (format!("{prefix}-a"), format!("{prefix}-b"));
    let (_, p) = population(
        ctx,
        &[("a", json!({"title": a})), ("b", json!({"title": b}))],
    )
    .await?;
    let f = negated(&a);
    expect_lone(
        ctx,
        &f,
        "title",
        |v| !same_text(v, &a),
        &[id(&p, 1)],
        &[id(&p, 0)],
    )
    .await?;
    expect_exact(ctx, &format!("title sw \"{prefix}\" and {f}"), &[id(&p, 1)]).await
}

async fn lone_ne(ctx: &mut CheckContext) -> CheckResult {
    excludes_a(ctx, |a| format!("title ne \"{a}\"")).await
}

async fn lone_not(ctx: &mut CheckContext) -> CheckResult {
    excludes_a(ctx, |a| format!("not (title eq \"{a}\")")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_booleans_and_times() {
        assert_eq!(boolean(&json!(false)), Some(false));
        assert_eq!(boolean(&json!("True")), Some(true));
        assert_eq!(boolean(&json!(1)), None);
        let t = parse_time("2011-05-13T04:42:34Z");
        assert!(t.is_some_and(|t| t < parse_time("2011-05-13T04:42:34.5Z").unwrap_or(t)));
        assert!(same_text(Some(&json!("Tour Guide")), "tour guide"));
        assert!(!same_text(None, "x"));
    }
}
