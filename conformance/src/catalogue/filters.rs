//! Filtering (RFC 7644 §3.4.2.2): operators, precedence, grouping, value paths, case rules,
//! invalid filters, and `totalResults` counted after filtering.

use serde_json::{Value, json};

use super::{enc, expect_error, expect_ids, filter, total_results};
use crate::check::{Check, Feature, Level};
use crate::context::{CheckContext, Created, random_guid};
use crate::ensure;
use crate::json::resources;
use crate::outcome::{CheckResult, Stop};
use crate::run_fn;

const NEEDS: &[Feature] = &[Feature::Users, Feature::Filter];

macro_rules! filter_check {
    ($id:expr, $title:expr, $section:expr, $f:path) => {
        Check {
            id: $id,
            title: $title,
            section: $section,
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!($f),
        }
    };
}

/// The filter checks.
pub fn checks() -> Vec<Check> {
    vec![
        filter_check!(
            "filters.eq.username-case-insensitive",
            "userName eq matches regardless of case (userName is caseExact false)",
            "RFC 7644 §3.4.2.2, RFC 7643 §4.1.1",
            eq_case_insensitive
        ),
        filter_check!(
            "filters.no-match.empty-list-200",
            "A filter that matches nothing answers 200 with a ListResponse and totalResults 0, never 404",
            "RFC 7644 §3.4.2",
            no_match_empty_list
        ),
        filter_check!(
            "filters.list-response.shape",
            "A filtered query answers a ListResponse with totalResults and the matching Resources",
            "RFC 7644 §3.4.2",
            list_response_shape
        ),
        filter_check!(
            "filters.total-results-after-filtering",
            "totalResults counts the resources that match the filter, not every resource",
            "RFC 7644 §3.4.2",
            total_after_filtering
        ),
        filter_check!(
            "filters.attribute-names-case-insensitive",
            "Attribute names in filters are case-insensitive (USERNAME eq ...)",
            "RFC 7644 §3.4.2.2",
            attribute_names_case_insensitive
        ),
        filter_check!(
            "filters.operators-case-insensitive",
            "Filter operators are case-insensitive (userName EQ ...)",
            "RFC 7644 §3.4.2.2",
            operators_case_insensitive
        ),
        filter_check!(
            "filters.op.sw",
            "sw matches values that start with the operand",
            "RFC 7644 §3.4.2.2",
            op_sw
        ),
        filter_check!(
            "filters.op.co",
            "co matches values that contain the operand",
            "RFC 7644 §3.4.2.2",
            op_co
        ),
        filter_check!(
            "filters.op.ew",
            "ew matches values that end with the operand",
            "RFC 7644 §3.4.2.2",
            op_ew
        ),
        filter_check!(
            "filters.op.ne",
            "ne matches values that differ from the operand",
            "RFC 7644 §3.4.2.2",
            op_ne
        ),
        filter_check!(
            "filters.op.pr",
            "pr matches only resources where the attribute has a value",
            "RFC 7644 §3.4.2.2",
            op_pr
        ),
        filter_check!(
            "filters.logic.not",
            "not (...) negates the inner filter",
            "RFC 7644 §3.4.2.2",
            logic_not
        ),
        filter_check!(
            "filters.logic.and-binds-tighter-than-or",
            "a or b and c means a or (b and c): and has higher precedence",
            "RFC 7644 §3.4.2.2",
            precedence
        ),
        filter_check!(
            "filters.logic.grouping",
            "Parentheses group: (a or b) and c",
            "RFC 7644 §3.4.2.2",
            grouping
        ),
        filter_check!(
            "filters.value-path.emails",
            "A value path emails[type eq \"work\" and value eq \"...\"] matches on one email",
            "RFC 7644 §3.4.2.2",
            value_path
        ),
        filter_check!(
            "filters.invalid-400-invalid-filter",
            "A malformed filter answers 400 with scimType invalidFilter",
            "RFC 7644 §3.4.2.2, §3.12",
            invalid_filter
        ),
        filter_check!(
            "filters.op.gt",
            "gt on a string compares lexicographically and excludes equal values",
            "RFC 7644 §3.4.2.2",
            op_gt
        ),
        filter_check!(
            "filters.op.ge",
            "ge includes equal values",
            "RFC 7644 §3.4.2.2",
            op_ge
        ),
        filter_check!(
            "filters.op.lt",
            "lt excludes equal values",
            "RFC 7644 §3.4.2.2",
            op_lt
        ),
        filter_check!(
            "filters.op.le",
            "le includes equal values",
            "RFC 7644 §3.4.2.2",
            op_le
        ),
        filter_check!(
            "filters.boolean.active-eq-false",
            "active eq false matches only inactive users",
            "RFC 7644 §3.4.2.2",
            boolean_false
        ),
        filter_check!(
            "filters.multi-valued-sub-attribute",
            "emails.value eq \"...\" matches a user with that email among its emails",
            "RFC 7644 §3.4.2.2",
            multi_valued_sub
        ),
        filter_check!(
            "filters.logic.or",
            "a or b matches both",
            "RFC 7644 §3.4.2.2",
            logic_or
        ),
        filter_check!(
            "filters.logic.and",
            "a and b matches only resources where both hold",
            "RFC 7644 §3.4.2.2",
            logic_and
        ),
        filter_check!(
            "filters.boolean.active-eq-true",
            "active eq true matches only active users",
            "RFC 7644 §3.4.2.2",
            boolean_true
        ),
        filter_check!(
            "filters.datetime.last-modified-gt",
            "meta.lastModified gt/lt compare dateTime values chronologically, and gt excludes the equal value",
            "RFC 7644 §3.4.2.2, RFC 7643 §2.3.5",
            datetime_last_modified
        ),
        filter_check!(
            "filters.external-id-case-exact",
            "externalId eq is case-sensitive (externalId is caseExact true): a value in another case does not match",
            "RFC 7643 §3.1, RFC 7644 §3.4.2.2",
            external_id_case_exact
        ),
    ]
}

/// Creates users from (stem, extra attributes) pairs, all sharing a fresh unique prefix.
/// Returns the prefix and the created users (with their userNames).
pub(crate) async fn population(
    ctx: &mut CheckContext,
    members: &[(&str, Value)],
) -> Result<(String, Vec<(Created, String)>), Stop> {
    let prefix = ctx.unique("f");
    let users = ctx.users();
    let mut out = Vec::new();
    for (stem, extra) in members {
        let user_name = format!("{prefix}-{stem}");
        let mut body = json!({
            "schemas": [crate::discovery::USER_SCHEMA],
            "userName": user_name,
            "displayName": format!("Filter {stem}"),
            "emails": [{"value": format!("{user_name}@example.com"), "type": "work"}]
        });
        if let (Some(obj), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        let created = ctx.create(&users, &body).await?;
        out.push((created, user_name));
    }
    Ok((prefix, out))
}

fn id(p: &[(Created, String)], i: usize) -> &str {
    p.get(i).map_or("", |(c, _)| c.id.as_str())
}

fn name(p: &[(Created, String)], i: usize) -> &str {
    p.get(i).map_or("", |(_, n)| n.as_str())
}

async fn expect_filter(ctx: &CheckContext, f: &str, expected: &[&str]) -> CheckResult {
    let users = ctx.users();
    let resp = filter(ctx, &users, f, "").await?;
    expect_ids(&resp, expected, f)
}

async fn eq_case_insensitive(ctx: &mut CheckContext) -> CheckResult {
    let (_, p) = population(ctx, &[("alice", json!({}))]).await?;
    let f = format!("userName eq \"{}\"", name(&p, 0).to_uppercase());
    expect_filter(ctx, &f, &[id(&p, 0)]).await
}

async fn no_match_empty_list(ctx: &mut CheckContext) -> CheckResult {
    let users = ctx.users();
    let f = format!("userName eq \"{}\"", random_guid());
    let resp = ctx.get(&format!("{users}?filter={}", enc(&f))).await?;
    super::expect_status(&resp, &[200], &format!("GET {users}?filter={f}"))?;
    let resp = filter(ctx, &users, &f, "").await?;
    ensure!(
        total_results(&resp) == Some(0),
        "totalResults is {:?}, expected 0",
        total_results(&resp)
    );
    ensure!(
        resources(resp.body_json()).is_empty(),
        "Resources is not empty"
    );
    Ok(())
}

async fn list_response_shape(ctx: &mut CheckContext) -> CheckResult {
    let (_, p) = population(ctx, &[("shape", json!({}))]).await?;
    let users = ctx.users();
    let f = format!("userName eq \"{}\"", name(&p, 0));
    let resp = filter(ctx, &users, &f, "").await?;
    ensure!(
        total_results(&resp) == Some(1),
        "totalResults is {:?}, expected the number 1",
        crate::json::get_ci(resp.body_json(), "totalResults")
    );
    ensure!(
        crate::json::get_ci(resp.body_json(), "Resources").is_some_and(Value::is_array),
        "Resources is missing or not an array although totalResults is 1"
    );
    expect_ids(&resp, &[id(&p, 0)], &f)
}

async fn total_after_filtering(ctx: &mut CheckContext) -> CheckResult {
    // A user outside the filter, so that counting before filtering gives a different number
    // even on an otherwise empty server.
    ctx.create_user("decoy").await?;
    let (prefix, p) = population(ctx, &[("t1", json!({})), ("t2", json!({}))]).await?;
    let users = ctx.users();
    let f = format!("userName sw \"{prefix}\"");
    let resp = filter(ctx, &users, &f, "").await?;
    ensure!(
        total_results(&resp) == Some(2),
        "filter {f} matches 2 users but totalResults is {:?}",
        total_results(&resp)
    );
    expect_ids(&resp, &[id(&p, 0), id(&p, 1)], &f)
}

async fn attribute_names_case_insensitive(ctx: &mut CheckContext) -> CheckResult {
    let (_, p) = population(ctx, &[("attrcase", json!({}))]).await?;
    let f = format!("USERNAME eq \"{}\"", name(&p, 0));
    expect_filter(ctx, &f, &[id(&p, 0)]).await
}

async fn operators_case_insensitive(ctx: &mut CheckContext) -> CheckResult {
    let (_, p) = population(ctx, &[("opcase", json!({}))]).await?;
    let f = format!("userName EQ \"{}\"", name(&p, 0));
    expect_filter(ctx, &f, &[id(&p, 0)]).await
}

async fn op_sw(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(ctx, &[("sw1", json!({})), ("sw2", json!({}))]).await?;
    let f = format!("userName sw \"{prefix}-sw\"");
    expect_filter(ctx, &f, &[id(&p, 0), id(&p, 1)]).await
}

async fn op_co(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) =
        population(ctx, &[("co-needle-a", json!({})), ("co-other", json!({}))]).await?;
    let f = format!("userName sw \"{prefix}\" and userName co \"needle\"");
    expect_filter(ctx, &f, &[id(&p, 0)]).await
}

async fn op_ew(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(ctx, &[("ew-tail", json!({})), ("ew-other", json!({}))]).await?;
    let f = format!("userName sw \"{prefix}\" and userName ew \"-tail\"");
    expect_filter(ctx, &f, &[id(&p, 0)]).await
}

async fn op_ne(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(ctx, &[("ne1", json!({})), ("ne2", json!({}))]).await?;
    let f = format!(
        "userName sw \"{prefix}\" and userName ne \"{}\"",
        name(&p, 0)
    );
    expect_filter(ctx, &f, &[id(&p, 1)]).await
}

async fn op_pr(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(
        ctx,
        &[("pr1", json!({"title": "Engineer"})), ("pr2", json!({}))],
    )
    .await?;
    let f = format!("userName sw \"{prefix}\" and title pr");
    expect_filter(ctx, &f, &[id(&p, 0)]).await
}

async fn logic_not(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(ctx, &[("not1", json!({})), ("not2", json!({}))]).await?;
    let f = format!(
        "userName sw \"{prefix}\" and not (userName eq \"{}\")",
        name(&p, 0)
    );
    expect_filter(ctx, &f, &[id(&p, 1)]).await
}

async fn precedence(ctx: &mut CheckContext) -> CheckResult {
    let (_, p) = population(
        ctx,
        &[("pa", json!({})), ("pb", json!({})), ("pc", json!({}))],
    )
    .await?;
    // a or (b and c) = a, because b and c never both hold; (a or b) and c would be empty.
    let f = format!(
        "userName eq \"{}\" or userName eq \"{}\" and userName eq \"{}\"",
        name(&p, 0),
        name(&p, 1),
        name(&p, 2)
    );
    expect_filter(ctx, &f, &[id(&p, 0)]).await
}

async fn grouping(ctx: &mut CheckContext) -> CheckResult {
    let (_, p) = population(
        ctx,
        &[("ga", json!({})), ("gb", json!({"title": "Grouped"}))],
    )
    .await?;
    // (a or b) and title eq "Grouped" = b; without the parentheses it would be a and b.
    let f = format!(
        "(userName eq \"{}\" or userName eq \"{}\") and title eq \"Grouped\"",
        name(&p, 0),
        name(&p, 1)
    );
    expect_filter(ctx, &f, &[id(&p, 1)]).await
}

async fn value_path(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(ctx, &[("vp1", json!({})), ("vp2", json!({}))]).await?;
    let f = format!(
        "userName sw \"{prefix}\" and emails[type eq \"work\" and value eq \"{}@example.com\"]",
        name(&p, 1)
    );
    expect_filter(ctx, &f, &[id(&p, 1)]).await
}

async fn invalid_filter(ctx: &mut CheckContext) -> CheckResult {
    let users = ctx.users();
    let f = "userName eq";
    let resp = ctx.get(&format!("{users}?filter={}", enc(f))).await?;
    expect_error(
        &resp,
        400,
        Some("invalidFilter"),
        &format!("GET {users}?filter={f}"),
    )
}

async fn ordered(ctx: &mut CheckContext, op: &str, expected: &[usize]) -> CheckResult {
    let (prefix, p) =
        population(ctx, &[("a", json!({})), ("b", json!({})), ("c", json!({}))]).await?;
    let f = format!(
        "userName sw \"{prefix}\" and userName {op} \"{}\"",
        name(&p, 1)
    );
    let want: Vec<&str> = expected.iter().map(|i| id(&p, *i)).collect();
    expect_filter(ctx, &f, &want).await
}

async fn op_gt(ctx: &mut CheckContext) -> CheckResult {
    ordered(ctx, "gt", &[2]).await
}

async fn op_ge(ctx: &mut CheckContext) -> CheckResult {
    ordered(ctx, "ge", &[1, 2]).await
}

async fn op_lt(ctx: &mut CheckContext) -> CheckResult {
    ordered(ctx, "lt", &[0]).await
}

async fn op_le(ctx: &mut CheckContext) -> CheckResult {
    ordered(ctx, "le", &[0, 1]).await
}

async fn boolean_false(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(
        ctx,
        &[
            ("on", json!({"active": true})),
            ("off", json!({"active": false})),
        ],
    )
    .await?;
    let f = format!("userName sw \"{prefix}\" and active eq false");
    expect_filter(ctx, &f, &[id(&p, 1)]).await
}

async fn multi_valued_sub(ctx: &mut CheckContext) -> CheckResult {
    let (_, p) = population(ctx, &[("mv1", json!({})), ("mv2", json!({}))]).await?;
    let f = format!("emails.value eq \"{}@example.com\"", name(&p, 1));
    expect_filter(ctx, &f, &[id(&p, 1)]).await
}

async fn logic_or(ctx: &mut CheckContext) -> CheckResult {
    let (_, p) = population(
        ctx,
        &[("or1", json!({})), ("or2", json!({})), ("or3", json!({}))],
    )
    .await?;
    let f = format!(
        "userName eq \"{}\" or userName eq \"{}\"",
        name(&p, 0),
        name(&p, 2)
    );
    expect_filter(ctx, &f, &[id(&p, 0), id(&p, 2)]).await
}

async fn logic_and(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(
        ctx,
        &[("and1", json!({"title": "Both"})), ("and2", json!({}))],
    )
    .await?;
    let f = format!("userName sw \"{prefix}\" and title eq \"Both\"");
    expect_filter(ctx, &f, &[id(&p, 0)]).await
}

async fn boolean_true(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(
        ctx,
        &[
            ("on", json!({"active": true})),
            ("off", json!({"active": false})),
        ],
    )
    .await?;
    let f = format!("userName sw \"{prefix}\" and active eq true");
    expect_filter(ctx, &f, &[id(&p, 0)]).await
}

/// RFC 7644 §3.4.2.2: for `gt`, "If the attribute value is a [...] DateTime [...] the attribute
/// value is greater than the operand" in time order; RFC 7643 §2.3.5: dateTime values are
/// xsd:dateTime (RFC 3339 `Z` form here).
async fn datetime_last_modified(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, p) = population(ctx, &[("dt", json!({}))]).await?;
    let me = id(&p, 0).to_string();
    let base = format!("userName sw \"{prefix}\"");
    expect_filter(
        ctx,
        &format!("{base} and meta.lastModified gt \"2000-01-01T00:00:00Z\""),
        &[&me],
    )
    .await?;
    expect_filter(
        ctx,
        &format!("{base} and meta.lastModified gt \"9999-12-31T23:59:59Z\""),
        &[],
    )
    .await?;
    expect_filter(
        ctx,
        &format!("{base} and meta.lastModified lt \"9999-12-31T23:59:59Z\""),
        &[&me],
    )
    .await?;
    let url = format!("{}/{me}", ctx.users());
    let user = super::fetch(ctx, &url).await?;
    if let Some(modified) = crate::json::str_at(&user, "meta.lastModified") {
        expect_filter(
            ctx,
            &format!("{base} and meta.lastModified gt \"{modified}\""),
            &[],
        )
        .await?;
    }
    Ok(())
}

/// RFC 7643 §3.1: externalId has "caseExact" true; RFC 7644 §3.4.2.2: "Attribute names and
/// attribute operators used in filters are case insensitive" but values compare per the
/// attribute's caseExact.
async fn external_id_case_exact(ctx: &mut CheckContext) -> CheckResult {
    let external = format!("{}-MiXeD", ctx.unique("ext"));
    let (_, p) = population(ctx, &[("ext", json!({"externalId": external}))]).await?;
    let me = id(&p, 0).to_string();
    expect_filter(ctx, &format!("externalId eq \"{external}\""), &[&me]).await?;
    expect_filter(
        ctx,
        &format!("externalId eq \"{}\"", external.to_uppercase()),
        &[],
    )
    .await
}
