//! A parsed query: filter, sort, page and projection, from URL query parameters (RFC 7644
//! §3.4.2) or from a `SearchRequest` body (§3.4.3).
//!
//! Parameter names are matched ignoring ASCII case (`startindex` = `startIndex`): RFC 7644
//! does not say whether they are case-sensitive, attribute names are case-insensitive
//! (RFC 7643 §2.1), and clients differ. RFC 7644 §3.4.2: service providers "SHOULD ignore
//! any query parameters they do not recognize instead of rejecting the query for
//! versioning compatibility reasons" — unknown parameters are ignored. A parameter given
//! twice is 400 `invalidValue`, except `attributes` and `excludedAttributes`, whose lists
//! are joined. A blank `filter`, `sortBy`, `startIndex` or `count` counts as absent; a blank
//! `cursor` asks for the first cursor page (RFC 9865 §2).

use super::paging::{PageRequest, both_methods};
use super::search_request::SearchRequest;
use crate::error::{ScimError, ScimResult};
use crate::filter::Filter;
use crate::projection::{Projection, parse_attribute_list};
use crate::sort::SortSpec;

/// Everything a list or search request asks for.
///
/// ```
/// use scim_core::messages::{IndexPage, PageRequest, Query};
///
/// let q = Query::from_params([
///     ("filter", r#"userName eq "bjensen""#),
///     ("startIndex", "1"),
///     ("count", "100"),
///     ("excludedAttributes", "members"),
///     ("aadOptscim062020", ""),
/// ]).unwrap();
/// assert!(q.filter.is_some());
/// assert_eq!(q.page, PageRequest::Index(IndexPage { start_index: 1, count: Some(100) }));
/// assert_eq!(q.projection.excluded_attributes[0].name, "members");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// The parsed `filter`, if any.
    pub filter: Option<Filter>,
    /// The parsed `sortBy` / `sortOrder`, if `sortBy` was given.
    pub sort: Option<SortSpec>,
    /// The paging request.
    pub page: PageRequest,
    /// The parsed `attributes` / `excludedAttributes`.
    pub projection: Projection,
}

#[derive(Default)]
struct Raw<'a> {
    filter: Option<&'a str>,
    sort_by: Option<&'a str>,
    sort_order: Option<&'a str>,
    start_index: Option<&'a str>,
    count: Option<&'a str>,
    cursor: Option<&'a str>,
}

fn set_once<'a>(slot: &mut Option<&'a str>, name: &str, value: &'a str) -> ScimResult<()> {
    if slot.is_some() {
        return Err(ScimError::invalid_value(format!(
            "query parameter '{name}' is given more than once"
        )));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_filter(filter: Option<&str>) -> ScimResult<Option<Filter>> {
    match filter.map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Filter::parse(f).map(Some),
        None => Ok(None),
    }
}

impl Query {
    /// From URL query parameters, already split and percent-decoded by the caller.
    ///
    /// Errors: a malformed filter is 400 `invalidFilter`; a malformed attribute name,
    /// `sortBy`, `sortOrder`, `startIndex` or `count` is 400 `invalidValue`; a cursor outside
    /// the RFC 3986 unreserved characters is 400 `invalidCursor`; `startIndex` with `cursor`
    /// is 400 `invalidValue`.
    pub fn from_params<'a, I>(params: I) -> ScimResult<Query>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut raw = Raw::default();
        let mut projection = Projection::default();
        for (name, value) in params {
            let n = name.trim();
            let is = |k: &str| n.eq_ignore_ascii_case(k);
            if is("filter") {
                set_once(&mut raw.filter, "filter", value)?;
            } else if is("sortBy") {
                set_once(&mut raw.sort_by, "sortBy", value)?;
            } else if is("sortOrder") {
                set_once(&mut raw.sort_order, "sortOrder", value)?;
            } else if is("startIndex") {
                set_once(&mut raw.start_index, "startIndex", value)?;
            } else if is("count") {
                set_once(&mut raw.count, "count", value)?;
            } else if is("cursor") {
                set_once(&mut raw.cursor, "cursor", value)?;
            } else if is("attributes") {
                projection
                    .attributes
                    .extend(parse_attribute_list("attributes", value)?);
            } else if is("excludedAttributes") {
                projection
                    .excluded_attributes
                    .extend(parse_attribute_list("excludedAttributes", value)?);
            }
        }
        Ok(Query {
            filter: parse_filter(raw.filter)?,
            sort: SortSpec::from_params(raw.sort_by, raw.sort_order)?,
            page: PageRequest::from_params(raw.start_index, raw.cursor, raw.count)?,
            projection,
        })
    }

    /// From a `POST /.search` body (RFC 7644 §3.4.3), with the same rules as
    /// [`Query::from_params`].
    ///
    /// ```
    /// use scim_core::messages::{CursorPage, PageRequest, Query, SearchRequest};
    ///
    /// let req = SearchRequest::from_value(serde_json::json!({
    ///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
    ///     "attributes": ["displayName", "userName"],
    ///     "filter": "displayName sw \"smith\"",
    ///     "cursor": "",
    ///     "count": 10
    /// })).unwrap();
    /// let q = Query::from_search_request(&req).unwrap();
    /// assert_eq!(q.page, PageRequest::Cursor(CursorPage { cursor: None, count: Some(10) }));
    /// assert_eq!(q.projection.attributes.len(), 2);
    /// ```
    pub fn from_search_request(req: &SearchRequest) -> ScimResult<Query> {
        let projection = Projection::from_lists(
            req.attributes.as_deref().unwrap_or_default(),
            req.excluded_attributes.as_deref().unwrap_or_default(),
        )?;
        let start_index = req.start_index.map(|n| n.to_string());
        let count = req.count.map(|n| n.to_string());
        if req.start_index.is_some() && req.cursor.is_some() {
            return Err(both_methods());
        }
        Ok(Query {
            filter: parse_filter(req.filter.as_deref())?,
            sort: SortSpec::from_params(req.sort_by.as_deref(), req.sort_order.as_deref())?,
            page: PageRequest::from_params(
                start_index.as_deref(),
                req.cursor.as_deref(),
                count.as_deref(),
            )?,
            projection,
        })
    }
}

impl TryFrom<&SearchRequest> for Query {
    type Error = ScimError;
    fn try_from(req: &SearchRequest) -> ScimResult<Query> {
        Query::from_search_request(req)
    }
}

impl TryFrom<SearchRequest> for Query {
    type Error = ScimError;
    fn try_from(req: SearchRequest) -> ScimResult<Query> {
        Query::from_search_request(&req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScimType;
    use crate::messages::{CursorPage, IndexPage};
    use crate::path::AttrPath;

    #[test]
    fn names_are_case_insensitive_and_unknown_ignored() {
        let q = Query::from_params([
            ("STARTINDEX", "0"),
            ("Count", "-4"),
            ("sortorder", "DESCENDING"),
            ("whatever", "x"),
        ])
        .unwrap();
        assert_eq!(q.page, PageRequest::Index(IndexPage::new(1, Some(0))));
        // sortOrder without sortBy orders nothing.
        assert_eq!(q.sort, None);
        assert_eq!(q.filter, None);
    }

    #[test]
    fn duplicates_and_conflicts() {
        let e = Query::from_params([("count", "1"), ("count", "2")]).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        let e = Query::from_params([("startIndex", "1"), ("cursor", "")]).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        let q = Query::from_params([("attributes", "a"), ("ATTRIBUTES", "b,c")]).unwrap();
        assert_eq!(
            q.projection.attributes,
            [AttrPath::new("a"), AttrPath::new("b"), AttrPath::new("c")]
        );
    }

    #[test]
    fn blank_values_are_absent_except_cursor() {
        let q = Query::from_params([("filter", " "), ("count", ""), ("cursor", "")]).unwrap();
        assert_eq!(q.filter, None);
        assert_eq!(q.page, PageRequest::Cursor(CursorPage::default()));
    }

    #[test]
    fn bad_sort_order_is_invalid_value() {
        let e = Query::from_params([("sortBy", "userName"), ("sortOrder", "up")]).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue));
        let e = Query::from_params([("cursor", "%%%")]).unwrap_err();
        assert_eq!(e.scim_type(), Some(ScimType::InvalidCursor));
    }

    #[test]
    fn search_request_page_modes() {
        let req = SearchRequest {
            start_index: Some(-3),
            count: Some(5),
            sort_order: Some("descending".into()),
            ..SearchRequest::default()
        };
        let q = Query::try_from(&req).unwrap();
        assert_eq!(q.page, PageRequest::Index(IndexPage::new(1, Some(5))));
        let both = SearchRequest {
            start_index: Some(1),
            cursor: Some(String::new()),
            ..SearchRequest::default()
        };
        assert!(Query::try_from(both).is_err());
    }
}
