//! The ListResponse message (RFC 7644 §3.4.2, RFC 9865 §2).
//!
//! RFC 7644 §3.4.2: "Responses MUST be identified using the following URI:
//! "urn:ietf:params:scim:api:messages:2.0:ListResponse"."
//!
//! > `totalResults` The total number of results returned by the list or query operation.
//! > ... REQUIRED.
//! > `Resources` A multi-valued list of complex objects containing the requested resources.
//! > ... REQUIRED if "totalResults" is non-zero.
//! > `startIndex` The 1-based index of the first result in the current set of list results.
//! > REQUIRED when partial results are returned due to pagination.
//! > `itemsPerPage` The number of resources returned in a list response page. REQUIRED when
//! > partial results are returned due to pagination.
//!
//! RFC 9865 §2 adds `nextCursor` ("MUST include nextCursor in all paged query responses
//! except when returning the last page") and `previousCursor` (OPTIONAL, "MUST not be
//! returned with the first page"), and lets cursor-paging providers "that are unable to
//! estimate totalResults ... omit the totalResults attribute" — so `total_results` is an
//! `Option` here, though every constructor sets it.
//!
//! `Resources` is always serialised, as `[]` when empty (Microsoft Entra's Test Connection
//! expects an empty list response to carry it).

use serde::{Deserialize, Serialize};

use super::paging::IndexPage;
use crate::resource::Resource;

/// `urn:ietf:params:scim:api:messages:2.0:ListResponse`.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

fn list_response_schemas() -> Vec<String> {
    vec![LIST_RESPONSE_SCHEMA.to_owned()]
}

/// A list or query response.
///
/// ```
/// use scim_core::messages::{IndexPage, ListResponse};
/// use serde_json::json;
///
/// let all = vec![json!({"id": "1"}), json!({"id": "2"}), json!({"id": "3"})];
/// let page = IndexPage::new(2, Some(1));
/// let list = ListResponse::from_index_page(&all, page);
/// assert_eq!(serde_json::to_value(&list).unwrap(), json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
///     "totalResults": 3,
///     "itemsPerPage": 1,
///     "startIndex": 2,
///     "Resources": [{"id": "2"}]
/// }));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T = Resource> {
    /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
    #[serde(default = "list_response_schemas")]
    pub schemas: Vec<String>,
    /// The total number of results matching the query (over all pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_results: Option<usize>,
    /// The number of resources in this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<usize>,
    /// The 1-based index of the first resource in this page (index paging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<usize>,
    /// RFC 9865: the cursor for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// RFC 9865: the cursor for the previous page; never on the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_cursor: Option<String>,
    /// The resources of this page.
    #[serde(rename = "Resources", alias = "resources", default)]
    pub resources: Vec<T>,
}

impl<T> Default for ListResponse<T> {
    fn default() -> Self {
        ListResponse {
            schemas: list_response_schemas(),
            total_results: Some(0),
            items_per_page: None,
            start_index: None,
            next_cursor: None,
            previous_cursor: None,
            resources: Vec::new(),
        }
    }
}

impl<T> ListResponse<T> {
    /// A complete (unpaged) response: `totalResults` is the number of resources.
    pub fn new(resources: Vec<T>) -> Self {
        ListResponse {
            total_results: Some(resources.len()),
            resources,
            ..ListResponse::default()
        }
    }

    /// One page of an index-paged result: `total_results` matches over all pages,
    /// `resources` is the page, `start_index` its 1-based position.
    pub fn page(total_results: usize, start_index: usize, resources: Vec<T>) -> Self {
        ListResponse {
            total_results: Some(total_results),
            items_per_page: Some(resources.len()),
            start_index: Some(start_index.max(1)),
            resources,
            ..ListResponse::default()
        }
    }

    /// Pages `all` (the full filtered and sorted result) with `page`.
    pub fn from_index_page(all: &[T], page: IndexPage) -> Self
    where
        T: Clone,
    {
        Self::page(all.len(), page.start_index, page.apply(all).to_vec())
    }

    /// One page of a cursor-paged result (RFC 9865): `total_results` when known.
    pub fn cursor_page(
        total_results: Option<usize>,
        resources: Vec<T>,
        next_cursor: Option<String>,
        previous_cursor: Option<String>,
    ) -> Self {
        ListResponse {
            total_results,
            items_per_page: Some(resources.len()),
            next_cursor,
            previous_cursor,
            resources,
            ..ListResponse::default()
        }
    }

    /// Maps every resource (e.g. projects it, or turns it into JSON).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> ListResponse<U> {
        ListResponse {
            schemas: self.schemas,
            total_results: self.total_results,
            items_per_page: self.items_per_page,
            start_index: self.start_index,
            next_cursor: self.next_cursor,
            previous_cursor: self.previous_cursor,
            resources: self.resources.into_iter().map(f).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_response_keeps_resources() {
        let list: ListResponse<Resource> = ListResponse::new(Vec::new());
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 0, "Resources": []})
        );
    }

    #[test]
    fn cursor_members_are_skipped_when_absent() {
        let list =
            ListResponse::cursor_page(None, vec![json!({"id": "1"})], Some("abc".into()), None);
        let v = serde_json::to_value(&list).unwrap();
        assert_eq!(v["nextCursor"], "abc");
        assert!(v.get("previousCursor").is_none());
        assert!(v.get("totalResults").is_none());
        assert!(v.get("startIndex").is_none());
        let back: ListResponse<serde_json::Value> = serde_json::from_value(v).unwrap();
        assert_eq!(back, list);
    }

    #[test]
    fn map_keeps_paging() {
        let list = ListResponse::page(10, 3, vec![1, 2]).map(|n| n * 10);
        assert_eq!(list.resources, [10, 20]);
        assert_eq!(list.start_index, Some(3));
        assert_eq!(list.items_per_page, Some(2));
    }
}
