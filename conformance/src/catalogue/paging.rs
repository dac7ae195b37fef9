//! Index paging (RFC 7644 §3.4.2.4): startIndex, count, itemsPerPage; and cursor paging
//! (RFC 9865) when the ServiceProviderConfig announces `pagination.cursor`.
//!
//! RFC 9865 §2: `cursor` is "The string value of the nextCursor attribute from a previous result
//! page. The cursor value MUST be empty or omitted for the first request of a cursor-paginated
//! query"; a provider "MUST include nextCursor in all paged query responses except when
//! returning the last page"; §2.1 defines the error `invalidCursor` (400) for a cursor value
//! that is invalid.

use serde_json::json;

use super::filters::population;
use super::{expect_status, filter, ids, total_results};
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::ensure;
use crate::json::{as_u64_lenient, get_ci, resources};
use crate::outcome::{CheckResult, Stop};
use crate::run_fn;

const NEEDS: &[Feature] = &[Feature::Users, Feature::Filter];

macro_rules! paging_check {
    ($id:expr, $title:expr, $f:path) => {
        Check {
            id: $id,
            title: $title,
            section: "RFC 7644 §3.4.2.4",
            level: Level::Must,
            requires: NEEDS,
            run: run_fn!($f),
        }
    };
}

/// The paging checks.
pub fn checks() -> Vec<Check> {
    vec![
        paging_check!(
            "paging.count-limits-page",
            "count=2 over 3 matches returns 2 resources and totalResults 3",
            count_limits
        ),
        paging_check!(
            "paging.start-index-offsets",
            "startIndex=3&count=2 over 3 matches returns only the third, with startIndex 3",
            start_index
        ),
        paging_check!(
            "paging.pages-are-disjoint",
            "Walking the pages with startIndex and count returns every match exactly once",
            disjoint
        ),
        paging_check!(
            "paging.items-per-page",
            "itemsPerPage equals the number of resources in the page",
            items_per_page
        ),
        paging_check!(
            "paging.count-zero-only-total",
            "count=0 returns no resources but the totalResults",
            count_zero
        ),
        paging_check!(
            "paging.start-index-below-one",
            "startIndex less than 1 is interpreted as 1",
            start_below_one
        ),
        paging_check!(
            "paging.negative-count-as-zero",
            "A negative count is interpreted as 0",
            negative_count
        ),
        paging_check!(
            "paging.start-index-defaults-to-1",
            "Without startIndex the ListResponse says startIndex 1",
            start_default
        ),
        paging_check!(
            "paging.total-results-stable-across-pages",
            "totalResults is the same on every page of a query",
            total_stable
        ),
        Check {
            id: "paging.cursor.first-page-next-cursor",
            title: "cursor= (empty) with count=2 over 3 matches returns 2 resources and a nextCursor",
            section: "RFC 9865 §2",
            level: Level::Must,
            requires: CURSOR_NEEDS,
            run: run_fn!(cursor_first_page),
        },
        Check {
            id: "paging.cursor.walk-visits-each-once",
            title: "Following nextCursor until it is absent returns every match exactly once",
            section: "RFC 9865 §2",
            level: Level::Must,
            requires: CURSOR_NEEDS,
            run: run_fn!(cursor_walk),
        },
        Check {
            id: "paging.cursor.invalid-cursor-400",
            title: "A cursor the server never issued answers 400 with scimType invalidCursor",
            section: "RFC 9865 §2.1, RFC 7644 §3.12",
            level: Level::Must,
            requires: CURSOR_NEEDS,
            run: run_fn!(cursor_invalid),
        },
    ]
}

const CURSOR_NEEDS: &[Feature] = &[Feature::Users, Feature::Filter, Feature::CursorPaging];

fn next_cursor(r: &crate::client::Response) -> Option<String> {
    get_ci(r.body_json(), "nextCursor")
        .and_then(serde_json::Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

async fn cursor_first_page(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let r = page(ctx, &prefix, "cursor=&count=2").await?;
    let n = resources(r.body_json()).len();
    ensure!(
        n == 2,
        "cursor=&count=2 over 3 matches returned {n} resources"
    );
    ensure!(
        next_cursor(&r).is_some(),
        "cursor=&count=2 over 3 matches returned no nextCursor, though a page remains (RFC 9865 §2: nextCursor MUST be included in all paged query responses except the last page)"
    );
    Ok(())
}

async fn cursor_walk(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, mut want) = three(ctx).await?;
    let mut got = Vec::new();
    let mut cursor = String::new();
    for _ in 0..6 {
        let r = page(
            ctx,
            &prefix,
            &format!("cursor={}&count=2", super::enc(&cursor)),
        )
        .await?;
        got.extend(ids(&r));
        match next_cursor(&r) {
            Some(c) => cursor = c,
            None => {
                got.sort();
                want.sort();
                ensure!(
                    got == want,
                    "walking the cursor pages with count=2 returned {got:?}, expected each of {want:?} exactly once"
                );
                return Ok(());
            }
        }
    }
    Err(Stop::fail(format!(
        "after 6 cursor pages of count=2 over 3 matches there is still a nextCursor (ids so far {got:?})"
    )))
}

async fn cursor_invalid(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let users = ctx.users();
    let f = super::enc(&format!("userName sw \"{prefix}\""));
    let q = format!("{users}?filter={f}&cursor=scimconf-never-issued-cursor&count=2");
    let r = ctx.get(&q).await?;
    super::expect_error(
        &r,
        400,
        Some("invalidCursor"),
        "GET with a cursor the server never issued",
    )
}

async fn three(ctx: &mut CheckContext) -> Result<(String, Vec<String>), Stop> {
    let (prefix, p) = population(
        ctx,
        &[("p1", json!({})), ("p2", json!({})), ("p3", json!({}))],
    )
    .await?;
    Ok((prefix, p.into_iter().map(|(c, _)| c.id).collect()))
}

async fn page(
    ctx: &CheckContext,
    prefix: &str,
    query: &str,
) -> Result<crate::client::Response, Stop> {
    let users = ctx.users();
    filter(ctx, &users, &format!("userName sw \"{prefix}\""), query).await
}

async fn count_limits(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let r = page(ctx, &prefix, "count=2").await?;
    let n = resources(r.body_json()).len();
    ensure!(n == 2, "count=2 returned {n} resources");
    ensure!(
        total_results(&r) == Some(3),
        "totalResults is {:?}, expected 3",
        total_results(&r)
    );
    Ok(())
}

async fn start_index(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let r = page(ctx, &prefix, "startIndex=3&count=2").await?;
    let n = resources(r.body_json()).len();
    ensure!(
        n == 1,
        "startIndex=3&count=2 over 3 matches returned {n} resources, expected 1"
    );
    let si = get_ci(r.body_json(), "startIndex").and_then(as_u64_lenient);
    ensure!(
        si == Some(3),
        "startIndex in the response is {si:?}, expected 3"
    );
    Ok(())
}

async fn disjoint(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, mut want) = three(ctx).await?;
    let mut got = Vec::new();
    for start in [1, 3] {
        let r = page(ctx, &prefix, &format!("startIndex={start}&count=2")).await?;
        got.extend(ids(&r));
    }
    got.sort();
    want.sort();
    ensure!(
        got == want,
        "pages startIndex=1,3 with count=2 returned {got:?}, expected {want:?}"
    );
    Ok(())
}

async fn items_per_page(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let r = page(ctx, &prefix, "count=2").await?;
    let ipp = get_ci(r.body_json(), "itemsPerPage").and_then(as_u64_lenient);
    let n = resources(r.body_json()).len() as u64;
    ensure!(
        ipp == Some(n),
        "itemsPerPage is {ipp:?} but the page holds {n} resources"
    );
    Ok(())
}

async fn count_zero(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let r = page(ctx, &prefix, "count=0").await?;
    let n = resources(r.body_json()).len();
    ensure!(n == 0, "count=0 returned {n} resources");
    ensure!(
        total_results(&r) == Some(3),
        "totalResults is {:?}, expected 3",
        total_results(&r)
    );
    Ok(())
}

async fn start_below_one(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let users = ctx.users();
    let q = format!(
        "filter={}&startIndex=0",
        super::enc(&format!("userName sw \"{prefix}\""))
    );
    let r = ctx.get(&format!("{users}?{q}")).await?;
    expect_status(&r, &[200], "GET with startIndex=0")?;
    let n = resources(r.body_json()).len();
    ensure!(
        n == 3,
        "startIndex=0 returned {n} resources, expected all 3 (as startIndex=1)"
    );
    Ok(())
}

async fn negative_count(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let users = ctx.users();
    let q = format!(
        "filter={}&count=-1",
        super::enc(&format!("userName sw \"{prefix}\""))
    );
    let r = ctx.get(&format!("{users}?{q}")).await?;
    expect_status(&r, &[200], "GET with count=-1")?;
    let n = resources(r.body_json()).len();
    ensure!(n == 0, "count=-1 returned {n} resources, expected 0");
    Ok(())
}

async fn start_default(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let r = page(ctx, &prefix, "count=2").await?;
    let si = get_ci(r.body_json(), "startIndex").and_then(as_u64_lenient);
    ensure!(
        si == Some(1),
        "startIndex is {si:?}, expected 1 (the default)"
    );
    Ok(())
}

async fn total_stable(ctx: &mut CheckContext) -> CheckResult {
    let (prefix, _) = three(ctx).await?;
    let first = page(ctx, &prefix, "startIndex=1&count=2").await?;
    let second = page(ctx, &prefix, "startIndex=3&count=2").await?;
    ensure!(
        total_results(&first) == Some(3) && total_results(&second) == Some(3),
        "totalResults is {:?} on page 1 and {:?} on page 2, expected 3 on both",
        total_results(&first),
        total_results(&second)
    );
    Ok(())
}
