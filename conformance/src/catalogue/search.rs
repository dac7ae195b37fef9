//! Searching with HTTP POST (RFC 7644 §3.4.3): `POST /.search` at the root and
//! `POST /{resource type}/.search`.
//!
//! RFC 7644 §3.4.3: "Clients MAY execute queries without passing parameters on the URL by using
//! the HTTP POST verb combined with the "/.search" path extension. The inclusion of "/.search"
//! on the end of a valid SCIM endpoint SHALL be used to indicate that the HTTP POST verb is
//! intended to be a query operation." The SearchRequest body carries the parameters of §3.4.2
//! (so a bad filter in the body is the 400 `invalidFilter` of §3.4.2.2, as in a query string),
//! and "if the search is performed at the root, it is applied to all resources". Offering POST
//! search is the client's MAY, so the checks that depend on the endpoint existing are SHOULD or
//! skip when it answers 404, 405 or 501.

use serde_json::{Value, json};

use super::{expect_error, expect_status, total_results};
use crate::check::{Check, Feature, Level};
use crate::context::CheckContext;
use crate::discovery::LIST_RESPONSE_SCHEMA;
use crate::ensure;
use crate::json::{get_ci, has_schema, resources, str_at};
use crate::outcome::CheckResult;
use crate::run_fn;

/// The SearchRequest message URI (RFC 7644 §3.4.3).
const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The POST search checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "search.root.all-resource-types",
            title: "POST /.search applies the SearchRequest to all resource types: totalResults counts the matching User and Group, count and attributes apply",
            section: "RFC 7644 §3.4.3",
            level: Level::Should,
            requires: &[Feature::Users, Feature::Groups, Feature::Filter],
            run: run_fn!(root_all_resource_types),
        },
        Check {
            id: "search.root.content-type-scim-json",
            title: "The answer to POST /.search has Content-Type application/scim+json",
            section: "RFC 7644 §3.1, §3.4.3, §8.1",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Filter],
            run: run_fn!(root_content_type),
        },
        Check {
            id: "search.users.count-and-total-results",
            title: "POST /Users/.search with filter, attributes and count answers a ListResponse whose totalResults counts every match and whose page holds count resources",
            section: "RFC 7644 §3.4.3, §3.4.2.4",
            level: Level::Should,
            requires: &[Feature::Users, Feature::Filter],
            run: run_fn!(users_count_and_total),
        },
        Check {
            id: "search.invalid-filter-400",
            title: "An invalid filter in a SearchRequest body answers 400 with scimType invalidFilter, as for GET",
            section: "RFC 7644 §3.4.3, §3.4.2.2, §3.12",
            level: Level::Must,
            requires: &[Feature::Users, Feature::Filter],
            run: run_fn!(invalid_filter),
        },
    ]
}

fn search_request(filter: &str, attributes: &[&str], count: Option<u64>) -> Value {
    let mut body = json!({
        "schemas": [SEARCH_REQUEST_SCHEMA],
        "filter": filter,
    });
    if !attributes.is_empty() {
        body["attributes"] = json!(attributes);
    }
    if let Some(c) = count {
        body["count"] = json!(c);
    }
    body
}

/// A search endpoint that is missing altogether: the server does not offer POST search.
fn search_missing(status: u16) -> bool {
    matches!(status, 404 | 405 | 501)
}

async fn root_all_resource_types(ctx: &mut CheckContext) -> CheckResult {
    // A User and a Group share one unique externalId (a common attribute of every resource
    // type, RFC 7643 §3.1), so one filter matches one of each.
    let shared = ctx.unique("root-search");
    let mut user = ctx.user_body("root-search");
    user["externalId"] = json!(shared);
    let users = ctx.users();
    let created_user = ctx.create(&users, &user).await?;
    let mut group = ctx.group_body("root-search", &[]);
    group["externalId"] = json!(shared);
    let groups = ctx.groups();
    let created_group = ctx.create(&groups, &group).await?;

    let filter = format!("externalId eq \"{shared}\"");
    let resp = ctx
        .post("/.search", &search_request(&filter, &["displayName"], None))
        .await?;
    expect_status(&resp, &[200], "POST /.search")?;
    ensure!(
        has_schema(resp.body_json(), LIST_RESPONSE_SCHEMA),
        "the POST /.search answer is not a ListResponse (schemas lacks {LIST_RESPONSE_SCHEMA})"
    );
    ensure!(
        total_results(&resp) == Some(2),
        "filter {filter} at the root matches one User and one Group, but totalResults is {:?}: a search at the root \"is applied to all resources\"",
        total_results(&resp)
    );
    let mut got = super::ids(&resp);
    got.sort();
    let mut want = vec![created_user.id.clone(), created_group.id.clone()];
    want.sort();
    ensure!(
        got == want,
        "POST /.search returned ids {got:?}, expected the User and the Group {want:?}"
    );
    ensure!(
        resources(resp.body_json())
            .iter()
            .all(|r| get_ci(r, "emails").is_none() && get_ci(r, "members").is_none()),
        "the SearchRequest asked for attributes [\"displayName\"], but emails or members were returned"
    );

    // count limits the page; totalResults still counts both.
    let resp = ctx
        .post("/.search", &search_request(&filter, &[], Some(1)))
        .await?;
    expect_status(&resp, &[200], "POST /.search with count 1")?;
    let page = resources(resp.body_json()).len();
    ensure!(
        page == 1 && total_results(&resp) == Some(2),
        "POST /.search with count 1 returned {page} resources and totalResults {:?}, expected 1 and 2",
        total_results(&resp)
    );
    Ok(())
}

async fn root_content_type(ctx: &mut CheckContext) -> CheckResult {
    let created = ctx.create_user("root-search-ct").await?;
    let name = str_at(created.response.body_json(), "userName")
        .unwrap_or_default()
        .to_string();
    let resp = ctx
        .post(
            "/.search",
            &search_request(&format!("userName eq \"{name}\""), &[], None),
        )
        .await?;
    if search_missing(resp.status) {
        // Not offering the root search is allowed ("Clients MAY"); its error is still SCIM.
        ensure!(
            resp.media_type().as_deref() == Some("application/scim+json"),
            "POST /.search answered {} with Content-Type {:?}, not application/scim+json",
            resp.status,
            resp.header("content-type")
        );
        return Ok(());
    }
    expect_status(&resp, &[200], "POST /.search")?;
    ensure!(
        resp.media_type().as_deref() == Some("application/scim+json"),
        "POST /.search answered 200 with Content-Type {:?}, not application/scim+json",
        resp.header("content-type")
    );
    Ok(())
}

async fn users_count_and_total(ctx: &mut CheckContext) -> CheckResult {
    let stem = ctx.unique("users-search");
    let users = ctx.users();
    for i in 0..3 {
        let mut body = ctx.user_body("users-search");
        body["userName"] = json!(format!("{stem}-{i}"));
        ctx.create(&users, &body).await?;
    }
    let filter = format!("userName sw \"{stem}-\"");
    let resp = ctx
        .post(
            &format!("{users}/.search"),
            &search_request(&filter, &["userName"], Some(2)),
        )
        .await?;
    expect_status(&resp, &[200], &format!("POST {users}/.search"))?;
    ensure!(
        has_schema(resp.body_json(), LIST_RESPONSE_SCHEMA),
        "the POST {users}/.search answer is not a ListResponse"
    );
    let items = resources(resp.body_json());
    ensure!(
        total_results(&resp) == Some(3),
        "filter {filter} matches 3 users, but totalResults is {:?}",
        total_results(&resp)
    );
    ensure!(
        items.len() == 2,
        "the SearchRequest had count 2, but the page holds {} resources",
        items.len()
    );
    ensure!(
        items.iter().all(|r| get_ci(r, "emails").is_none()),
        "the SearchRequest asked for attributes [\"userName\"], but emails were returned"
    );
    Ok(())
}

async fn invalid_filter(ctx: &mut CheckContext) -> CheckResult {
    let users = ctx.users();
    let resp = ctx
        .post(
            &format!("{users}/.search"),
            &search_request("userName eq", &[], None),
        )
        .await?;
    if search_missing(resp.status) {
        return Err(crate::outcome::Stop::skip(format!(
            "POST {users}/.search answered {}: the server does not offer POST search (RFC 7644 §3.4.3 \"Clients MAY\")",
            resp.status
        )));
    }
    expect_error(
        &resp,
        400,
        Some("invalidFilter"),
        &format!("POST {users}/.search with filter \"userName eq\""),
    )
}
