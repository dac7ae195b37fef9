//! Lists and searches: filters, sorting, paging, projection, and POST /.search.
use scim_core::projection::Projection;
use scim_core::{Filter, Resource, ScimError};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::*;

impl Handler {
    pub(super) fn break_filter(&self, f: &str) -> String {
        let mut f = f.to_string();
        if self.has(Break::SwAsEq) {
            f = f.replace(" sw ", " eq ");
        }
        if self.has(Break::CoAsSw) {
            f = f.replace(" co ", " sw ");
        }
        if self.has(Break::EwAsSw) {
            f = f.replace(" ew ", " sw ");
        }
        if self.has(Break::NeAsEq) {
            f = f.replace(" ne ", " eq ");
        }
        for (b, from, to) in [
            (Break::GtAsGe, " gt ", " ge "),
            (Break::GeAsGt, " ge ", " gt "),
            (Break::LtAsLe, " lt ", " le "),
            (Break::LeAsLt, " le ", " lt "),
            (Break::BooleanFilterIgnored, "active eq false", "active pr"),
            (Break::BooleanTrueIgnored, "active eq true", "active pr"),
            (
                Break::DateFilterIgnored,
                "meta.lastModified gt",
                "meta.lastModified pr and userName gt",
            ),
            (Break::DottedPathIgnored, "emails.value", "userName"),
            (Break::OrAsAnd, " or ", " and "),
            (Break::AndAsOr, " and ", " or "),
        ] {
            if self.has(b) {
                f = f.replace(from, to);
            }
        }
        if self.has(Break::PrAlwaysTrue) {
            f = f.replace("title pr", "id pr");
        }
        if self.has(Break::MemberFilterIgnored)
            && let Some(a) = f.find("members[")
            && let Some(b) = f[a..].find(']')
        {
            f = format!("{}members pr{}", &f[..a], &f[a + b + 1..]);
        }
        if self.has(Break::NotIgnored) {
            f = f.replace("not (", "(");
        }
        if self.has(Break::ParenthesesIgnored) {
            f = f.replace(['(', ')'], "");
        }
        if self.has(Break::LeftToRightPrecedence)
            && !f.contains('(')
            && let Some(i) = f.find(" and ")
            && f[..i].contains(" or ")
        {
            f = format!("({}){}", &f[..i], &f[i..]);
        }
        if self.has(Break::ValuePathFilterIgnored)
            && let (Some(a), Some(b)) = (f.find("emails["), f.find(']'))
        {
            f = format!("{}emails pr{}", &f[..a], &f[b + 1..]);
        }
        f
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn list(
        &self,
        kind: Kind,
        filter: Option<String>,
        start: Option<String>,
        count: Option<String>,
        attributes: Option<String>,
        excluded: Option<String>,
        sort: (Option<String>, Option<String>),
        cursor: Option<String>,
    ) -> ResponseTemplate {
        let all: Vec<Value> = {
            let store = self.state.lock().unwrap();
            match kind {
                Kind::User => store.users.clone(),
                Kind::Group => store.groups.clone(),
            }
        };
        // Filters see the computed User.groups (RFC 7643 §4.1.2) as clients do.
        let all: Vec<Value> = all.iter().map(|r| self.with_groups(kind, r)).collect();
        let schema = self.schema(kind);
        if filter.is_none() && self.has(Break::ListRequiresFilter) {
            return self.error(&ScimError::invalid_filter("a filter is required"));
        }
        if let Some(by) = &sort.0
            && by.eq_ignore_ascii_case("password")
            && !self.has(Break::SortByPasswordAccepted)
        {
            return self.error(&ScimError::invalid_value(
                "password is returned never (RFC 7643 §4.1.1); it cannot order results",
            ));
        }
        if let Some(f) = &filter {
            if self.has(Break::UnindexedFilter400) && unindexed(f) {
                return self.error(&ScimError::invalid_filter(
                    "the filter cannot be evaluated efficiently",
                ));
            }
            if self.has(Break::ValuePathSubAttrRejected) && f.contains("].") {
                return self.error(&ScimError::invalid_filter(
                    "a value path cannot be followed by a sub-attribute",
                ));
            }
        }
        let filter = filter.map(|f| entra_value_path(&f));
        let mut matched: Vec<Value> = all.clone();
        if let Some(f) = filter.clone().filter(|_| !self.has(Break::FilterIgnored)) {
            if self.has(Break::FilterAttrCaseSensitive) && f.contains("USERNAME") {
                return self.error(&ScimError::invalid_filter("unknown attribute USERNAME"));
            }
            if self.has(Break::FilterOpCaseSensitive) && f.contains(" EQ ") {
                return self.error(&ScimError::invalid_filter("unknown operator EQ"));
            }
            let f = self.break_filter(&f);
            let parsed = f.parse::<Filter>().and_then(|p| p.compile(schema));
            match parsed {
                Ok(compiled) => {
                    matched.retain(|r| {
                        let Ok(res) = Resource::from_value(r.clone()) else {
                            return false;
                        };
                        if self.has(Break::ExternalIdCaseInsensitive)
                            && let Some(rest) = f.strip_prefix("externalId eq \"")
                        {
                            return r["externalId"].as_str().is_some_and(|x| {
                                x.eq_ignore_ascii_case(rest.trim_end_matches('"'))
                            });
                        }
                        if self.has(Break::FilterCaseSensitive)
                            && let Some(rest) = f.strip_prefix("userName eq \"")
                        {
                            return r["userName"].as_str() == Some(rest.trim_end_matches('"'));
                        }
                        compiled.matches(&res)
                    });
                }
                Err(e) => {
                    if self.has(Break::InvalidFilterAccepted) {
                        matched.clear();
                    } else {
                        return self.error(&e);
                    }
                }
            }
        }
        if matched.is_empty() && filter.is_some() && self.has(Break::NoMatch404) {
            return self.error(&ScimError::not_found("no such user"));
        }
        let total = if self.has(Break::TotalBeforeFilter) {
            all.len()
        } else {
            matched.len()
        };
        let mut start_index: i64 = start.and_then(|s| s.parse().ok()).unwrap_or(1);
        if start_index < 1 {
            if self.has(Break::StartIndexZero400) {
                return self.error(&ScimError::bad_request("startIndex must be 1 or more"));
            }
            start_index = 1;
        }
        if self.has(Break::IgnoreStartIndex) {
            start_index = 1;
        }
        let mut count: Option<i64> = count.and_then(|c| c.parse().ok());
        if let Some(c) = count {
            if c < 0 {
                if self.has(Break::NegativeCount400) {
                    return self.error(&ScimError::bad_request("count must not be negative"));
                }
                count = Some(0);
            }
            if c > 50 && self.has(Break::CountOver50Rejected) {
                return self.error(&ScimError::too_many("count above 50"));
            }
            if c == 0 && self.has(Break::CountZeroReturnsAll) {
                count = None;
            }
        }
        if self.has(Break::IgnoreCount) {
            count = None;
        }
        let (sort_by, sort_order) = sort;
        let descending = sort_order.is_some_and(|o| o.eq_ignore_ascii_case("descending"))
            && !self.has(Break::SortOrderIgnored);
        let sort_key = |r: &Value, by: &str| -> String {
            let v = by
                .split('.')
                .try_fold(r, |v, name| get_ci(v, name))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if self.has(Break::SortCaseSensitive) {
                v.to_string()
            } else {
                v.to_lowercase()
            }
        };
        if let Some(by) = sort_by.as_deref().filter(|_| !self.has(Break::SortIgnored)) {
            matched.sort_by(|a, b| {
                let o = sort_key(a, by).cmp(&sort_key(b, by));
                if descending { o.reverse() } else { o }
            });
        }
        let mut skip = usize::try_from(start_index - 1).unwrap_or(0);
        // Cursor paging (RFC 9865 §2): the fake's cursors are "off<offset>".
        if let Some(c) = &cursor {
            skip = if c.is_empty() {
                0
            } else if let Some(off) = c.strip_prefix("off").and_then(|o| o.parse().ok()) {
                off
            } else if self.has(Break::InvalidCursorAccepted) {
                0
            } else {
                return self.error(&ScimError::with_type(
                    scim_core::error::ScimType::InvalidCursor,
                    format!("cursor {c} was not issued by this server"),
                ));
            };
        }
        let page: Vec<Value> = matched
            .iter()
            .skip(skip)
            .take(count.map_or(usize::MAX, |c| usize::try_from(c).unwrap_or(0)))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for r in &page {
            match self.output(kind, r, attributes.clone(), excluded.clone(), true) {
                Ok(v) => out.push(v),
                Err(e) => return self.error(&e),
            }
        }
        let total = if self.has(Break::TotalIsPageSize) {
            out.len()
        } else {
            total
        };
        let shown_start = if self.has(Break::StartIndexZeroBased) {
            start_index - 1
        } else {
            start_index
        };
        let end = skip + out.len();
        let mut body = list_response(total, usize::try_from(shown_start).unwrap_or(1), out);
        if cursor.is_some() {
            body.as_object_mut().unwrap().remove("startIndex");
            if end < matched.len() && !self.has(Break::CursorNoNext) {
                let next = if self.has(Break::CursorOverlaps) {
                    end - 1
                } else {
                    end
                };
                body["nextCursor"] = json!(format!("off{next}"));
            }
        }
        if self.has(Break::ItemsPerPageWrong) {
            body["itemsPerPage"] = json!(total);
        }
        if self.has(Break::ListOmitsTotalResults) {
            body.as_object_mut().unwrap().remove("totalResults");
        }
        scim(200, &body)
    }
}

/// A SearchRequest parameter (RFC 7644 §3.4.3) as the query-string text it stands for.
pub(super) fn search_param(b: &Value, k: &str) -> Option<String> {
    get_ci(b, k).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    })
}

impl Handler {
    /// POST /.search at the root (RFC 7644 §3.4.3): the search applies to all resource types.
    pub(super) fn root_search(&self, body: &Value) -> ResponseTemplate {
        let filter = search_param(body, "filter");
        let kinds: &[Kind] = if self.has(Break::RootSearchUsersOnly) {
            &[Kind::User]
        } else {
            &[Kind::User, Kind::Group]
        };
        let mut matched: Vec<(Kind, Value)> = Vec::new();
        let mut failures = Vec::new();
        for &kind in kinds {
            let all = {
                let store = self.state.lock().unwrap();
                match kind {
                    Kind::User => store.users.clone(),
                    Kind::Group => store.groups.clone(),
                }
            };
            match &filter {
                None => matched.extend(all.into_iter().map(|r| (kind, r))),
                Some(f) => match f
                    .parse::<Filter>()
                    .and_then(|p| p.compile(self.schema(kind)))
                {
                    Ok(c) => matched.extend(
                        all.into_iter()
                            .filter(|r| {
                                Resource::from_value(r.clone()).is_ok_and(|res| c.matches(&res))
                            })
                            .map(|r| (kind, r)),
                    ),
                    Err(e) => failures.push(e),
                },
            }
        }
        if failures.len() == kinds.len()
            && let Some(e) = failures.pop()
        {
            return self.error(&e);
        }
        let total = matched.len();
        let start: usize = search_param(body, "startIndex")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .max(1);
        let count: usize = search_param(body, "count")
            .and_then(|s| s.parse().ok())
            .unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for (kind, r) in matched.iter().skip(start - 1).take(count) {
            match self.output(
                *kind,
                r,
                search_param(body, "attributes"),
                search_param(body, "excludedAttributes"),
                true,
            ) {
                Ok(v) => out.push(v),
                Err(e) => return self.error(&e),
            }
        }
        let body = list_response(total, start, out);
        if self.has(Break::RootSearchJsonContentType) {
            return ResponseTemplate::new(200)
                .set_body_raw(serde_json::to_vec(&body).unwrap(), "application/json");
        }
        scim(200, &body)
    }
}

pub(super) fn attributes_requested(p: &Projection) -> bool {
    !p.attributes.is_empty()
}

pub(super) fn list_response(total: usize, start: usize, items: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": items.len(),
        "Resources": items
    })
}
