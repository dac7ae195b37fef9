//! The query planner: pushdown where the backend can, a bounded scan where it cannot.
//!
//! RFC 7644 §3.4.2.2 lets a client filter on any attribute; a backend can evaluate only some
//! filters itself ([`Storage::can_filter`]). [`execute`] answers every valid filter exactly:
//! indexes decide how fast, never whether. The only refusal is 400 `tooMany` when answering
//! would mean loading more than [`PlannerLimits::max_scanned`] resources.
//!
//! 1. When the whole filter and the sort are supported (or absent), the query goes to the
//!    backend as it is ([`Storage::query`]), with the page size capped at
//!    [`PlannerLimits::max_page_size`]. Cursors are then the backend's own. A backend that
//!    refuses what it cannot evaluate ([`Storage::refuses_unsupported_filters`]) gets the
//!    query without being asked about the filter; refused, the query is planned again,
//!    asking.
//! 2. Otherwise the filter is split into its top-level `and` conjuncts. The conjuncts the
//!    backend supports, AND-ed back together, select a bounded candidate set (at most
//!    [`PlannerLimits::max_scanned`], else 400 `tooMany`); the other conjuncts are
//!    compiled once ([`Filter::compile`]) and evaluated in memory; the matches are sorted
//!    (RFC 7644 §3.4.2.3, via [`scim_core::sort`]) and paged in memory. `totalResults` counts
//!    the matches after the in-memory filter (RFC 7644 §3.4.2: "The total number of results
//!    returned by the list or query operation").
//! 3. When no conjunct narrows (or a sort the backend cannot do has no filter to narrow
//!    it), the resource type's resources of the tenant are read in pages of
//!    [`SCAN_PAGE`] (the backend's own cursor order) and the compiled filter is evaluated on
//!    each; more than [`PlannerLimits::max_scanned`] resources is 400 `tooMany` naming the
//!    bound. A valid filter is never refused with `invalidFilter`; one that does not
//!    compile against the schema is (RFC 7644 §3.12).
//!
//! An `or` is one conjunct: it is pushed down only when the backend says it can evaluate the
//! whole `or`.
//!
//! In the fallback, results without a `sortBy` are ordered by `id`; with one, by the sort key
//! (missing values last when ascending, first when descending) and then by `id`. Cursors the
//! planner issues (RFC 9865) encode the position after the last returned `(sort key, id)`, so
//! a walk over every page returns every resource that exists throughout the walk exactly
//! once, even when other resources are created or deleted between pages.

use std::cmp::Ordering;
use std::collections::HashMap;

use scim_core::Filter;
use scim_core::messages::{base64url_decode, base64url_encode};
use scim_core::sort::{SortKey, SortOrder, SortSpec, compare_keys, sort_key};
use serde_json::Value;

use super::{
    GroupRef, Load, QueryPage, Scope, Storage, StorageError, StorageErrorKind, StoragePage,
    StorageQuery, StoredResource, groups_of_page,
};

/// Bounds on what the planner evaluates in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannerLimits {
    /// The most resources the planner reads in one request to evaluate a filter (or a sort)
    /// the backend cannot: the candidates a pushed-down clause selects, or every resource of
    /// the type when nothing narrows. More is 400 `tooMany`, naming this bound. Default
    /// 100,000.
    pub max_scanned: usize,
    /// The most resources one page returns, whatever the page asks for. Default 1,000.
    pub max_page_size: u64,
}

impl Default for PlannerLimits {
    fn default() -> Self {
        PlannerLimits {
            max_scanned: 100_000,
            max_page_size: 1_000,
        }
    }
}

/// How many resources one page of a scan reads (see the module documentation).
pub const SCAN_PAGE: u64 = 1_000;

/// The prefix (and version) of the cursors the planner issues. Base64url never contains a
/// `.`, so a planner cursor is never confused with a backend's.
const CURSOR_PREFIX: &str = "p1.";

/// Answers a query over `scope`, pushing down what the backend supports and evaluating the
/// rest over a bounded candidate set (see the module documentation).
///
/// * `filter`: the parsed filter (`None`: every resource).
/// * `sort`: `sortBy` / `sortOrder` (`None`: the backend's default order, or `id` order in
///   the fallback).
/// * `page`: offset or cursor paging; the limit is capped at `limits.max_page_size`.
/// * `load`: whether to load group members.
///
/// Errors: `UnsupportedFilter` (400 `invalidFilter`) when the in-memory part does not
/// compile against the schema (unknown attribute, invalid comparison: RFC 7644 §3.12); never
/// for a valid filter. `TooMany` (400 `tooMany`) when more than `limits.max_scanned`
/// resources would have to be read; `InvalidCursor` for a cursor the planner did not issue
/// for this query; and whatever the backend returns.
///
/// ```
/// # #[cfg(feature = "memory")] {
/// use scim_server::storage::memory::MemoryStorage;
/// use scim_server::storage::planner::{PlannerLimits, execute};
/// use scim_server::storage::{Load, Scope, StoragePage};
/// use scim_server::TenantId;
///
/// let storage = MemoryStorage::new();
/// let tenant = TenantId::default_tenant();
/// let schema = scim_core::builtin::user_resource_schema();
/// let filter: scim_core::Filter = r#"title eq "Tour Guide" and not (userType pr)"#.parse().unwrap();
/// let page = StoragePage::Offset { offset: 0, limit: 100 };
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let result = rt.block_on(execute(
///     &storage, Scope::new(&tenant, &schema), Some(&filter), None, &page, Load::ALL,
///     &PlannerLimits::default(),
/// )).unwrap();
/// assert_eq!(result.total_results, 0); // no such user: an empty page, never a 404
/// # }
/// ```
pub async fn execute(
    storage: &dyn Storage,
    scope: Scope<'_>,
    filter: Option<&Filter>,
    sort: Option<&SortSpec>,
    page: &StoragePage,
    load: Load,
    limits: &PlannerLimits,
) -> Result<QueryPage, StorageError> {
    let mut plan = plan(storage, scope, filter, sort, page, limits, Asking::Later);
    if plan.direct {
        let answer = storage.query(scope, plan.query(filter, sort, load)).await;
        let asking = || self::plan(storage, scope, filter, sort, page, limits, Asking::First);
        match plan.settle(answer, asking) {
            Ok(answer) => return answer,
            Err(asked) => plan = asked,
        }
    }
    fallback(storage, scope, filter, sort, &plan, load, limits).await
}

/// [`execute`], and the computed `User.groups` (RFC 7643 §4.1.2) of the page's resources
/// as [`Storage::groups_of_many`] returns them: when the query goes to the backend as it is,
/// both come from one [`Storage::query_with_groups`] call (one read on SQLite); after the
/// fallback, from one `groups_of_many` call.
pub async fn execute_with_groups(
    storage: &dyn Storage,
    scope: Scope<'_>,
    filter: Option<&Filter>,
    sort: Option<&SortSpec>,
    page: &StoragePage,
    load: Load,
    limits: &PlannerLimits,
) -> Result<(QueryPage, HashMap<String, Vec<GroupRef>>), StorageError> {
    let mut plan = plan(storage, scope, filter, sort, page, limits, Asking::Later);
    if plan.direct {
        let answer = storage
            .query_with_groups(scope, plan.query(filter, sort, load))
            .await;
        let asking = || self::plan(storage, scope, filter, sort, page, limits, Asking::First);
        match plan.settle(answer, asking) {
            Ok(answer) => return answer,
            Err(asked) => plan = asked,
        }
    }
    let found = fallback(storage, scope, filter, sort, &plan, load, limits).await?;
    let groups = groups_of_page(storage, scope.tenant, &found).await?;
    Ok((found, groups))
}

/// How a query runs (see [`plan`]).
struct Plan {
    /// The page, capped at `limits.max_page_size`.
    page: StoragePage,
    /// The backend evaluates the whole filter.
    filter_ok: bool,
    /// The query goes to the backend as it is (filter and sort supported, and not a cursor
    /// the planner issued).
    direct: bool,
    /// `filter_ok` was assumed, not asked: the backend refuses the filters it cannot
    /// evaluate itself ([`Storage::refuses_unsupported_filters`]).
    unasked: bool,
}

/// When the planner asks [`Storage::can_filter`] about a query's filter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asking {
    /// Before sending the query, unless the backend refuses what it cannot evaluate.
    Later,
    /// Before sending the query.
    First,
}

impl Plan {
    /// What the `answer` of this direct plan's query settles: the answer itself (`Ok`),
    /// unless it is the backend refusing a filter it was not asked about (see
    /// [`Plan::unasked`]); then the plan `asking` makes, asking [`Storage::can_filter`], is
    /// the one to follow (`Err`), or, should it still be direct, the refusal is the answer.
    fn settle<T>(
        self,
        answer: Result<T, StorageError>,
        asking: impl FnOnce() -> Plan,
    ) -> Result<Result<T, StorageError>, Plan> {
        let refused = matches!(&answer, Err(e) if *e.kind() == StorageErrorKind::UnsupportedFilter);
        if !(self.unasked && refused) {
            return Ok(answer);
        }
        let asked = asking();
        if asked.direct { Ok(answer) } else { Err(asked) }
    }

    /// The query the backend gets when it goes there as it is.
    fn query<'q>(
        &'q self,
        filter: Option<&'q Filter>,
        sort: Option<&'q SortSpec>,
        load: Load,
    ) -> StorageQuery<'q> {
        StorageQuery {
            filter,
            sort,
            page: &self.page,
            load,
        }
    }
}

fn plan(
    storage: &dyn Storage,
    scope: Scope<'_>,
    filter: Option<&Filter>,
    sort: Option<&SortSpec>,
    page: &StoragePage,
    limits: &PlannerLimits,
    asking: Asking,
) -> Plan {
    let page = cap_page(page, limits.max_page_size);
    let sort_ok = sort.is_none_or(|s| storage.can_sort(scope.schema, s));
    let planner_cursor =
        matches!(&page, StoragePage::Cursor { after: Some(c), .. } if c.starts_with(CURSOR_PREFIX));
    // Assumed only for a query that then goes to the backend as it is: the fallback needs
    // the answer.
    let unasked = filter.is_some()
        && asking == Asking::Later
        && sort_ok
        && !planner_cursor
        && storage.refuses_unsupported_filters();
    let filter_ok = unasked || filter.is_none_or(|f| storage.can_filter(scope.schema, f));
    Plan {
        direct: filter_ok && sort_ok && !planner_cursor,
        page,
        filter_ok,
        unasked,
    }
}

fn cap_page(page: &StoragePage, max: u64) -> StoragePage {
    match page {
        StoragePage::Offset { offset, limit } => StoragePage::Offset {
            offset: *offset,
            limit: (*limit).min(max),
        },
        StoragePage::Cursor { after, limit } => StoragePage::Cursor {
            after: after.clone(),
            limit: (*limit).min(max),
        },
    }
}

/// The top-level `and` conjuncts of `filter`, left to right.
fn conjuncts(filter: &Filter) -> Vec<&Filter> {
    let mut out = Vec::new();
    let mut stack = vec![filter];
    while let Some(f) = stack.pop() {
        match f {
            Filter::And(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            other => out.push(other),
        }
    }
    out
}

fn and_all(parts: &[&Filter]) -> Option<Filter> {
    let mut iter = parts.iter();
    let first = (*iter.next()?).clone();
    Some(iter.fold(first, |acc, f| acc.and((*f).clone())))
}

/// Does the filter (or sort) name the `members` attribute, so that candidates must be loaded
/// with their members to be evaluated?
fn mentions_members(filter: &Filter) -> bool {
    match filter {
        Filter::Present(p) | Filter::Compare { path: p, .. } => {
            p.name.eq_ignore_ascii_case("members")
        }
        Filter::ValuePath { path, .. } => path.name.eq_ignore_ascii_case("members"),
        Filter::And(a, b) | Filter::Or(a, b) => mentions_members(a) || mentions_members(b),
        Filter::Not(f) => mentions_members(f),
    }
}

/// Runs a query that does not go to the backend as it is ([`Plan::direct`] false).
async fn fallback(
    storage: &dyn Storage,
    scope: Scope<'_>,
    filter: Option<&Filter>,
    sort: Option<&SortSpec>,
    plan: &Plan,
    load: Load,
    limits: &PlannerLimits,
) -> Result<QueryPage, StorageError> {
    let (filter_ok, page) = (plan.filter_ok, &plan.page);
    let (pushed, residual): (Vec<&Filter>, Vec<&Filter>) = match filter {
        // The backend evaluates the whole filter; only the sort (or the cursor) is ours.
        Some(f) if filter_ok => (vec![f], Vec::new()),
        Some(f) => conjuncts(f)
            .into_iter()
            .partition(|c| storage.can_filter(scope.schema, c)),
        None => (Vec::new(), Vec::new()),
    };
    let residual_filter = and_all(&residual);
    let compiled = match &residual_filter {
        Some(f) => Some(f.compile(scope.schema).map_err(|e| {
            StorageError::new(StorageErrorKind::UnsupportedFilter, e.detail().to_string())
        })?),
        None => None,
    };
    let needs_members = residual_filter.as_ref().is_some_and(mentions_members)
        || sort.is_some_and(|s| s.by.name.eq_ignore_ascii_case("members"));
    let candidate_filter = and_all(&pushed);
    let max = limits.max_scanned;
    // The residual filter and the sort read the attributes, whatever the caller loads.
    let candidate_load = Load {
        members: load.members || needs_members,
        attributes: true,
    };
    let too_many = |what: String| {
        let evaluated: Vec<String> = residual.iter().map(ToString::to_string).collect();
        let rest = if evaluated.is_empty() {
            String::new()
        } else {
            format!(" to evaluate `{}`", evaluated.join(" and "))
        };
        let sorting = sort.map_or(String::new(), |s| format!(" and sort by '{}'", s.by));
        StorageError::new(
            StorageErrorKind::TooMany,
            format!(
                "{what}: answering would read more than {max} resources{rest}{sorting} (the \
                 server's bound on resources scanned per request); narrow the query with a \
                 more selective clause, e.g. an indexed `eq` such as userName eq \"...\""
            ),
        )
    };
    let keep = |r: &StoredResource| compiled.as_ref().is_none_or(|c| c.matches(&r.resource));
    let mut matched: Vec<StoredResource> = Vec::new();
    match &candidate_filter {
        Some(c) => {
            // The pushed-down clauses narrow: one query, bounded.
            let candidate_page = StoragePage::Offset {
                offset: 0,
                limit: u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1),
            };
            let candidates = storage
                .query(
                    scope,
                    StorageQuery {
                        filter: Some(c),
                        sort: None,
                        page: &candidate_page,
                        load: candidate_load,
                    },
                )
                .await?;
            if candidates.resources.len() > max
                || usize::try_from(candidates.total_results).unwrap_or(usize::MAX) > max
            {
                return Err(too_many(format!("more than {max} resources match `{c}`")));
            }
            matched.extend(candidates.resources.into_iter().filter(|r| keep(r)));
        }
        None => {
            // Nothing narrows: scan the type's resources in pages (the backend's cursor
            // order, so a concurrent create or delete skips no survivor).
            let mut after: Option<String> = None;
            let mut scanned: usize = 0;
            loop {
                let scan_page = StoragePage::Cursor {
                    after: after.take(),
                    limit: SCAN_PAGE,
                };
                let batch = storage
                    .query(
                        scope,
                        StorageQuery {
                            filter: None,
                            sort: None,
                            page: &scan_page,
                            load: candidate_load,
                        },
                    )
                    .await?;
                scanned = scanned.saturating_add(batch.resources.len());
                if scanned > max || usize::try_from(batch.total_results).unwrap_or(usize::MAX) > max
                {
                    return Err(too_many(format!(
                        "no clause of the query narrows the {} resources",
                        scope.resource_type()
                    )));
                }
                let empty = batch.resources.is_empty();
                matched.extend(batch.resources.into_iter().filter(|r| keep(r)));
                match batch.next_cursor {
                    Some(next) if !empty => after = Some(next),
                    _ => break,
                }
            }
        }
    }
    if needs_members && !load.members {
        for r in &mut matched {
            strip_members(r);
        }
    }
    let total = matched.len() as u64;
    let order = sort.map(|s| s.order).unwrap_or_default();
    let mut keyed: Vec<(Option<SortKey>, StoredResource)> = matched
        .into_iter()
        .map(|r| {
            (
                sort.and_then(|s| sort_key(&r.resource, scope.schema, &s.by)),
                r,
            )
        })
        .collect();
    keyed.sort_by(|(ka, a), (kb, b)| position_cmp(ka.as_ref(), &a.id, kb.as_ref(), &b.id, order));
    let fingerprint = query_fingerprint(filter, sort);
    let (window, next_cursor) = sorted_window(
        &keyed,
        |(k, r)| (k.as_ref(), r.id.as_str()),
        page,
        order,
        CURSOR_PREFIX,
        fingerprint,
    )?;
    Ok(QueryPage {
        resources: keyed
            .into_iter()
            .skip(window.start)
            .take(window.len())
            .map(|(_, r)| r)
            .collect(),
        total_results: total,
        next_cursor,
    })
}

/// The part of `keyed` (ordered by [`position_cmp`] in `order`; `position` gives each
/// item's key and id) that `page` asks for, and with cursor paging the cursor of the next
/// page when there is one (issued with `prefix` for `fingerprint`, see [`encode_cursor`]).
/// The planner's fallback and the memory backend page their sorted matches with it.
pub(crate) fn sorted_window<T>(
    keyed: &[T],
    position: impl Fn(&T) -> (Option<&SortKey>, &str),
    page: &StoragePage,
    order: SortOrder,
    prefix: &str,
    fingerprint: u32,
) -> Result<(std::ops::Range<usize>, Option<String>), StorageError> {
    let len = keyed.len();
    match page {
        StoragePage::Offset { offset, limit } => {
            let start = usize::try_from(*offset).unwrap_or(usize::MAX).min(len);
            let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
            Ok((start..start.saturating_add(limit).min(len), None))
        }
        StoragePage::Cursor { after, limit } => {
            let start = match after {
                None => 0,
                Some(token) => {
                    let (key, id) = decode_cursor(prefix, token, fingerprint)?;
                    keyed.partition_point(|item| {
                        let (k, rid) = position(item);
                        position_cmp(k, rid, key.as_ref(), &id, order) != Ordering::Greater
                    })
                }
            };
            let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
            let end = start.saturating_add(limit).min(len);
            let next_cursor = if end > start && end < len {
                keyed.get(end - 1).map(|item| {
                    let (k, id) = position(item);
                    encode_cursor(prefix, k, id, fingerprint)
                })
            } else {
                None
            };
            Ok((start..end, next_cursor))
        }
    }
}

fn strip_members(r: &mut StoredResource) {
    let map = r.resource.as_map_mut();
    let keys: Vec<String> = map
        .keys()
        .filter(|k| k.eq_ignore_ascii_case("members"))
        .cloned()
        .collect();
    for k in keys {
        map.remove(&k);
    }
}

/// The planner's total order: by sort key in `order` (missing last when ascending), then by
/// id. The memory backend sorts by it too.
pub(crate) fn position_cmp(
    ka: Option<&SortKey>,
    ida: &str,
    kb: Option<&SortKey>,
    idb: &str,
    order: SortOrder,
) -> Ordering {
    compare_keys(ka, kb, order).then_with(|| ida.cmp(idb))
}

/// FNV-1a over the query's filter and sort, so that a cursor of one query is refused by
/// another.
pub(crate) fn query_fingerprint(filter: Option<&Filter>, sort: Option<&SortSpec>) -> u32 {
    let text = format!(
        "{}|{}|{}",
        filter.map(ToString::to_string).unwrap_or_default(),
        sort.map(|s| s.by.to_string().to_ascii_lowercase())
            .unwrap_or_default(),
        sort.map(|s| s.order.as_str()).unwrap_or_default()
    );
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A cursor (RFC 9865) naming the position after `(key, id)` in the order of
/// [`position_cmp`], for the query `fingerprint`, with `prefix` naming who issued it.
fn encode_cursor(prefix: &str, key: Option<&SortKey>, id: &str, fingerprint: u32) -> String {
    let (tag, value) = match key {
        None => ("-", Value::Null),
        Some(SortKey::Bool(b)) => ("b", Value::Bool(*b)),
        Some(SortKey::Number(n)) => (
            "n",
            serde_json::Number::from_f64(*n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        ),
        Some(SortKey::DateTime(d)) => ("d", Value::String(d.to_rfc3339())),
        Some(SortKey::String(s)) => ("s", Value::String(s.clone())),
    };
    let json = Value::Array(vec![
        Value::from(fingerprint),
        Value::String(tag.into()),
        value,
        Value::String(id.into()),
    ]);
    format!("{prefix}{}", base64url_encode(json.to_string().as_bytes()))
}

fn invalid_cursor() -> StorageError {
    StorageError::new(
        StorageErrorKind::InvalidCursor,
        "the cursor was not issued for this query; start again with an empty cursor",
    )
}

/// The position of a cursor [`encode_cursor`] issued with `prefix` for `fingerprint`.
fn decode_cursor(
    prefix: &str,
    token: &str,
    fingerprint: u32,
) -> Result<(Option<SortKey>, String), StorageError> {
    let body = token.strip_prefix(prefix).ok_or_else(invalid_cursor)?;
    let bytes = base64url_decode(body).ok_or_else(invalid_cursor)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    let Value::Array(parts) = value else {
        return Err(invalid_cursor());
    };
    let [fp, tag, key, id] = parts.as_slice() else {
        return Err(invalid_cursor());
    };
    if fp.as_u64() != Some(u64::from(fingerprint)) {
        return Err(invalid_cursor());
    }
    let id = id.as_str().ok_or_else(invalid_cursor)?.to_string();
    let key = match (tag.as_str(), key) {
        (Some("-"), Value::Null) => None,
        (Some("b"), Value::Bool(b)) => Some(SortKey::Bool(*b)),
        (Some("n"), Value::Number(n)) => {
            Some(SortKey::Number(n.as_f64().ok_or_else(invalid_cursor)?))
        }
        (Some("d"), Value::String(s)) => Some(SortKey::DateTime(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| invalid_cursor())?
                .with_timezone(&chrono::Utc),
        )),
        (Some("s"), Value::String(s)) => Some(SortKey::String(s.clone())),
        _ => return Err(invalid_cursor()),
    };
    Ok((key, id))
}

#[cfg(test)]
#[cfg(feature = "memory")]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryStorage;
    use crate::storage::suite::eq_only;
    use crate::storage::{Member, NewResource, UniqueKey};
    use crate::tenancy::TenantId;
    use scim_core::schema::ResourceSchema;
    use scim_core::{AttrPath, Resource, builtin};
    use serde_json::json;

    fn f(s: &str) -> Filter {
        s.parse().unwrap()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    async fn add_user(s: &MemoryStorage, t: &TenantId, id: &str, name: &str, title: &str) {
        let schema = builtin::user_resource_schema();
        let resource =
            Resource::from_value(json!({"id": id, "userName": name, "title": title})).unwrap();
        s.create(
            Scope::new(t, &schema),
            NewResource {
                id: id.into(),
                resource,
                members: vec![],
                unique: vec![UniqueKey {
                    attribute: "userName".into(),
                    value: name.to_lowercase(),
                }],
            },
        )
        .await
        .unwrap();
    }

    async fn run(
        s: &dyn Storage,
        schema: &ResourceSchema,
        filter: Option<&str>,
        sort: Option<&SortSpec>,
        page: StoragePage,
        load: Load,
        limits: PlannerLimits,
    ) -> Result<QueryPage, StorageError> {
        let t = TenantId::default_tenant();
        let filter = filter.map(f);
        execute(
            s,
            Scope::new(&t, schema),
            filter.as_ref(),
            sort,
            &page,
            load,
            &limits,
        )
        .await
    }

    #[test]
    fn conjuncts_flatten_left_to_right() {
        let filter = f(r#"a eq "1" and (b eq "2" and c eq "3") and d pr"#);
        let parts: Vec<String> = conjuncts(&filter).iter().map(|c| c.to_string()).collect();
        assert_eq!(parts, [r#"a eq "1""#, r#"b eq "2""#, r#"c eq "3""#, "d pr"]);
        // An `or` is one conjunct.
        let filter = f(r#"a eq "1" or b eq "2" and c eq "3""#);
        assert_eq!(conjuncts(&filter).len(), 1);
    }

    #[test]
    fn cursor_round_trips_every_key_kind_and_rejects_others() {
        let date = chrono::DateTime::parse_from_rfc3339("2024-05-06T07:08:09Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        for key in [
            None,
            Some(SortKey::Bool(true)),
            Some(SortKey::Number(-2.5)),
            Some(SortKey::DateTime(date)),
            Some(SortKey::String("jensen".into())),
        ] {
            let c = encode_cursor(CURSOR_PREFIX, key.as_ref(), "id-1", 42);
            assert!(c.starts_with(CURSOR_PREFIX));
            assert!(scim_core::messages::is_unreserved(&c), "{c}");
            assert_eq!(
                decode_cursor(CURSOR_PREFIX, &c, 42).unwrap(),
                (key.clone(), "id-1".into())
            );
            // Another query's fingerprint.
            assert_eq!(
                decode_cursor(CURSOR_PREFIX, &c, 43).unwrap_err().kind(),
                &StorageErrorKind::InvalidCursor
            );
        }
        for bad in ["", "p1.", "p1.!!", "xyz", "p1.W10"] {
            assert_eq!(
                decode_cursor(CURSOR_PREFIX, bad, 42).unwrap_err().kind(),
                &StorageErrorKind::InvalidCursor,
                "{bad}"
            );
        }
    }

    #[test]
    fn fingerprint_depends_on_filter_and_sort() {
        let a = f(r#"userName eq "a""#);
        let s1 = SortSpec::new(AttrPath::new("title"), SortOrder::Ascending);
        let s2 = SortSpec::new(AttrPath::new("title"), SortOrder::Descending);
        let base = query_fingerprint(Some(&a), Some(&s1));
        assert_eq!(base, query_fingerprint(Some(&a), Some(&s1)));
        assert_ne!(base, query_fingerprint(Some(&a), Some(&s2)));
        assert_ne!(base, query_fingerprint(None, Some(&s1)));
        assert_ne!(base, query_fingerprint(Some(&a), None));
    }

    #[test]
    fn mentions_members_finds_nested_paths() {
        assert!(mentions_members(&f(r#"not (members.value eq "x")"#)));
        assert!(mentions_members(&f(r#"a pr or members[value eq "x"]"#)));
        assert!(!mentions_members(&f(r#"displayName eq "x""#)));
    }

    #[test]
    fn pushdown_page_is_capped_at_max_page_size() {
        let s = MemoryStorage::new();
        let t = TenantId::default_tenant();
        let schema = builtin::user_resource_schema();
        rt().block_on(async {
            for i in 0..5 {
                add_user(&s, &t, &format!("u{i}"), &format!("n{i}"), "x").await;
            }
            let limits = PlannerLimits {
                max_scanned: 10,
                max_page_size: 2,
            };
            let page = StoragePage::Offset {
                offset: 0,
                limit: 100,
            };
            let r = run(&s, &schema, None, None, page, Load::ALL, limits)
                .await
                .unwrap();
            assert_eq!(r.resources.len(), 2);
            assert_eq!(r.total_results, 5);
        });
    }

    #[test]
    fn or_claimed_by_backend_is_pushed_down_whole() {
        let s = MemoryStorage::new();
        let t = TenantId::default_tenant();
        let schema = builtin::user_resource_schema();
        rt().block_on(async {
            for i in 0..3 {
                add_user(&s, &t, &format!("u{i}"), &format!("n{i}"), "x").await;
            }
            let page = StoragePage::Cursor {
                after: None,
                limit: 1,
            };
            let q = r#"userName eq "N0" or userName eq "n2""#;
            let r = run(
                &s,
                &schema,
                Some(q),
                None,
                page,
                Load::ALL,
                Default::default(),
            )
            .await
            .unwrap();
            assert_eq!(r.total_results, 2);
            // Cursors of a pushed-down query are the backend's, not the planner's.
            let cursor = r.next_cursor.unwrap();
            assert!(!cursor.starts_with(CURSOR_PREFIX));
        });
    }

    #[test]
    fn members_in_the_residual_are_loaded_then_dropped() {
        let s = MemoryStorage::new();
        let t = TenantId::default_tenant();
        let schema = builtin::group_resource_schema();
        rt().block_on(async {
            for (id, name, members) in [("g1", "One", vec!["u1"]), ("g2", "Two", vec!["u2"])] {
                let resource =
                    Resource::from_value(json!({"id": id, "displayName": name})).unwrap();
                s.create(
                    Scope::new(&t, &schema),
                    NewResource {
                        id: id.into(),
                        resource,
                        members: members.into_iter().map(Member::new).collect(),
                        unique: vec![],
                    },
                )
                .await
                .unwrap();
            }
            let s = eq_only(s);
            let q = r#"(displayName eq "one" or displayName eq "two") and members.value eq "u2""#;
            let page = StoragePage::Offset {
                offset: 0,
                limit: 10,
            };
            let r = run(
                &s,
                &schema,
                Some(q),
                None,
                page.clone(),
                Load::WITHOUT_MEMBERS,
                Default::default(),
            )
            .await
            .unwrap();
            assert_eq!(r.resources.len(), 1);
            assert_eq!(r.resources[0].id, "g2");
            assert!(r.resources[0].resource.get("members").is_none());
            let r = run(
                &s,
                &schema,
                Some(q),
                None,
                page,
                Load::ALL,
                Default::default(),
            )
            .await
            .unwrap();
            assert!(r.resources[0].resource.get("members").is_some());
        });
    }

    #[test]
    fn errors_say_what_to_do() {
        let s = MemoryStorage::new();
        let t = TenantId::default_tenant();
        let schema = builtin::user_resource_schema();
        rt().block_on(async {
            for i in 0..3 {
                add_user(&s, &t, &format!("u{i}"), &format!("n{i}"), "x").await;
            }
            let page = StoragePage::Offset {
                offset: 0,
                limit: 10,
            };
            // Nothing narrows `title eq "x"`: the type is scanned, within the bound ...
            let s = eq_only(s);
            let r = run(
                &s,
                &schema,
                Some(r#"title eq "x""#),
                None,
                page.clone(),
                Load::ALL,
                Default::default(),
            )
            .await
            .unwrap();
            assert_eq!(r.total_results, 3);
            // ... and beyond it, 400 tooMany naming the bound (never invalidFilter).
            let limits = PlannerLimits {
                max_scanned: 2,
                max_page_size: 10,
            };
            let e = run(
                &s,
                &schema,
                Some(r#"title eq "x""#),
                None,
                page.clone(),
                Load::ALL,
                limits,
            )
            .await
            .unwrap_err();
            assert_eq!(e.kind(), &StorageErrorKind::TooMany);
            assert!(
                e.message().contains("more than 2 resources"),
                "{}",
                e.message()
            );
            let limits = PlannerLimits {
                max_scanned: 1,
                max_page_size: 10,
            };
            let q = r#"(userName eq "n0" or userName eq "n1") and title eq "x""#;
            let e = run(&s, &schema, Some(q), None, page.clone(), Load::ALL, limits)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), &StorageErrorKind::TooMany);
            assert!(e.message().contains("more than 1"), "{}", e.message());
            assert!(e.message().contains(r#"title eq "x""#), "{}", e.message());
            let scim: scim_core::ScimError = e.into();
            assert_eq!(scim.status(), 400);
            let q = r#"userName eq "n0" and nickname co 3"#;
            let e = run(
                &s,
                &schema,
                Some(q),
                None,
                page,
                Load::ALL,
                Default::default(),
            )
            .await
            .unwrap_err();
            assert_eq!(e.kind(), &StorageErrorKind::UnsupportedFilter);
            let scim: scim_core::ScimError = e.into();
            assert!(scim.is_invalid_filter());
        });
    }
}
