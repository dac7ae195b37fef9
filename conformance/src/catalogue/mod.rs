//! The catalogue of checks, one module per area. Ids are stable: a check's id never changes
//! meaning, and a retired id is never reused.

pub mod bulk;
pub mod discovery;
pub mod entra;
pub mod errors;
pub mod etag;
pub mod filters;
pub mod groups;
pub mod lone_filters;
pub mod me;
pub mod membership_filters;
pub mod okta;
pub mod paging;
pub mod patch;
pub mod projection;
pub mod required_attributes;
pub mod search;
pub mod sort;
pub mod users;

use serde_json::Value;

use crate::check::Check;
use crate::client::Response;
use crate::context::CheckContext;
use crate::discovery::{ERROR_SCHEMA, LIST_RESPONSE_SCHEMA};
use crate::json::{as_u64_lenient, get_ci, has_schema, resources, str_at};
use crate::outcome::{CheckResult, Stop};

/// Every check, in catalogue order (discovery first).
pub fn all() -> Vec<Check> {
    let mut checks = Vec::new();
    checks.extend(discovery::checks());
    checks.extend(users::checks());
    checks.extend(required_attributes::checks());
    checks.extend(search::checks());
    checks.extend(me::checks());
    checks.extend(errors::checks());
    checks.extend(filters::checks());
    checks.extend(lone_filters::checks());
    checks.extend(membership_filters::checks());
    checks.extend(paging::checks());
    checks.extend(projection::checks());
    checks.extend(sort::checks());
    checks.extend(patch::checks());
    checks.extend(groups::checks());
    checks.extend(etag::checks());
    checks.extend(bulk::checks());
    checks.extend(entra::checks());
    checks.extend(okta::checks());
    checks
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Fails unless the response status is one of `expected`.
pub fn expect_status(resp: &Response, expected: &[u16], what: &str) -> CheckResult {
    if expected.contains(&resp.status) {
        Ok(())
    } else {
        let want: Vec<String> = expected.iter().map(u16::to_string).collect();
        Err(Stop::fail(format!(
            "{what}: expected status {}, got {}",
            want.join(" or "),
            resp.status
        )))
    }
}

/// Fails unless the response is a SCIM error (RFC 7644 §3.12) with this status and, when
/// given, this `scimType`.
pub fn expect_error(
    resp: &Response,
    status: u16,
    scim_type: Option<&str>,
    what: &str,
) -> CheckResult {
    expect_status(resp, &[status], what)?;
    let body = resp.body_json();
    crate::ensure!(
        has_schema(body, ERROR_SCHEMA),
        "{what}: the {status} error body does not list the schema {ERROR_SCHEMA} (RFC 7644 §3.12)"
    );
    if let Some(t) = scim_type {
        let got = str_at(body, "scimType");
        crate::ensure!(
            got == Some(t),
            "{what}: expected scimType \"{t}\", got {}",
            got.map_or_else(|| "none".to_string(), |g| format!("\"{g}\""))
        );
    }
    Ok(())
}

/// `GET {endpoint}?{query}`; fails unless it is 200 with a ListResponse body.
pub async fn list(ctx: &CheckContext, endpoint: &str, query: &str) -> Result<Response, Stop> {
    let resp = ctx.get(&format!("{endpoint}?{query}")).await?;
    expect_list(resp, endpoint, query)
}

/// Fails unless `resp` (to `GET {endpoint}?{query}`) is 200 with a ListResponse body.
fn expect_list(resp: Response, endpoint: &str, query: &str) -> Result<Response, Stop> {
    expect_status(&resp, &[200], &format!("GET {endpoint}?{query}"))?;
    let body = resp.body_json();
    crate::ensure!(
        has_schema(body, LIST_RESPONSE_SCHEMA),
        "the response is not a ListResponse: schemas does not contain {LIST_RESPONSE_SCHEMA} (RFC 7644 §3.4.2)"
    );
    Ok(resp)
}

/// `GET {endpoint}?filter=...` (plus `extra` query parameters, `&`-separated) with a valid
/// filter; fails unless it is 200 with a ListResponse body. When the server announces
/// `filter.supported`, a 400 is reported as the refusal of a valid filter, which RFC 7644
/// §3.4.2.2 does not allow: a client may filter on any attribute, and an unindexed one is
/// slower, not refused.
pub async fn filter(
    ctx: &CheckContext,
    endpoint: &str,
    filter: &str,
    extra: &str,
) -> Result<Response, Stop> {
    let mut query = format!("filter={}", enc(filter));
    if !extra.is_empty() {
        query.push('&');
        query.push_str(extra);
    }
    let resp = ctx.get(&format!("{endpoint}?{query}")).await?;
    if resp.status == 400 && ctx.features.filter.supported {
        let body = resp.body_json();
        let why = [str_at(body, "scimType"), str_at(body, "detail")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        return Err(Stop::fail(format!(
            "GET {endpoint}?{query} (filter: {filter}) answered 400 ({why}) to a valid filter although /ServiceProviderConfig says filter.supported=true; RFC 7644 §3.4.2.2 lets a client filter on any attribute"
        )));
    }
    expect_list(resp, endpoint, &query)
}

/// The ids of a ListResponse's resources.
pub fn ids(resp: &Response) -> Vec<String> {
    resources(resp.body_json())
        .into_iter()
        .filter_map(|r| str_at(r, "id").map(str::to_string))
        .collect()
}

/// `totalResults` of a ListResponse.
pub fn total_results(resp: &Response) -> Option<u64> {
    get_ci(resp.body_json(), "totalResults").and_then(as_u64_lenient)
}

/// Fails unless the filter's result holds exactly the ids in `expected` (any order).
pub fn expect_ids(resp: &Response, expected: &[&str], filter: &str) -> CheckResult {
    let mut got = ids(resp);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    crate::ensure!(
        got == want,
        "filter {filter} returned ids {got:?}, expected {want:?}"
    );
    Ok(())
}

/// The resource after a change: `GET url` answered 200.
pub async fn fetch(ctx: &CheckContext, url: &str) -> Result<Value, Stop> {
    let resp = ctx.get(url).await?;
    expect_status(&resp, &[200], &format!("GET {url}"))?;
    Ok(resp.json.unwrap_or(Value::Null))
}

/// The `value`s of a multi-valued attribute (`members`, `emails`).
pub fn values_of(resource: &Value, attr: &str) -> Vec<String> {
    get_ci(resource, attr)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| str_at(m, "value").map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A PatchOp request body.
pub fn patch_op(operations: Value) -> Value {
    serde_json::json!({
        "schemas": [crate::discovery::PATCH_OP_SCHEMA],
        "Operations": operations
    })
}

/// Sends a PATCH and fails unless it is answered 200 or 204 (RFC 7644 §3.5.2).
pub async fn patch_ok(ctx: &CheckContext, url: &str, operations: Value) -> Result<Response, Stop> {
    let resp = ctx.patch(url, &patch_op(operations)).await?;
    expect_status(&resp, &[200, 204], &format!("PATCH {url}"))?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let checks = all();
        let mut seen = HashSet::new();
        for c in &checks {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(
                c.id.chars().all(|ch| ch.is_ascii_lowercase()
                    || ch.is_ascii_digit()
                    || ch == '.'
                    || ch == '-'),
                "bad id {}",
                c.id
            );
            assert!(
                c.section.starts_with("RFC ")
                    || c.section.starts_with("Microsoft")
                    || c.section.starts_with("Okta"),
                "{}",
                c.id
            );
        }
    }

    /// What the CLI prints (`--list`, reports) names public sources only: an RFC section or
    /// a client's own documentation, never a file the suite's users do not have.
    #[test]
    fn sections_and_titles_cite_public_sources() {
        for c in all() {
            for text in [c.section, c.title] {
                assert!(
                    !text.contains(".md") && !text.contains("DESIGN"),
                    "{}: {text}",
                    c.id
                );
            }
        }
    }

    #[test]
    fn encodes_filters() {
        assert_eq!(enc(r#"userName eq "a b""#), "userName%20eq%20%22a%20b%22");
    }
}
