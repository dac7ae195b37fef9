//! The SearchRequest message: the body of `POST /.search` (RFC 7644 §3.4.3, RFC 9865 §3).
//!
//! RFC 7644 §3.4.3: "Clients MAY execute queries without passing parameters on the URL by
//! using the HTTP POST verb combined with the "/.search" path extension. ... The body of the
//! POST request MAY include any of the parameters defined in Section 3.4.2. ... Query
//! requests MUST be identified using the following URI:
//! "urn:ietf:params:scim:api:messages:2.0:SearchRequest"." Its members: `attributes` and
//! `excludedAttributes` ("A multi-valued list of strings"), `filter`, `sortBy`, `sortOrder`,
//! `startIndex`, `count` — and, with RFC 9865 §3, `cursor`.
//!
//! Leniency: `attributes` / `excludedAttributes` are also accepted as one comma-separated
//! string (they are always written back as arrays).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::{ScimError, ScimResult};

/// `urn:ietf:params:scim:api:messages:2.0:SearchRequest`.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

fn search_request_schemas() -> Vec<String> {
    vec![SEARCH_REQUEST_SCHEMA.to_owned()]
}

/// A `POST /.search` body. Convert it into a [`Query`](super::Query) with
/// [`Query::from_search_request`](super::Query::from_search_request).
///
/// ```
/// use scim_core::messages::SearchRequest;
///
/// let req = SearchRequest::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
///     "attributes": ["displayName", "userName"],
///     "filter": "displayName sw \"smith\"",
///     "startIndex": 1,
///     "count": 10
/// })).unwrap();
/// assert_eq!(req.count, Some(10));
/// assert_eq!(req.attributes.as_deref(), Some(&["displayName".to_string(), "userName".to_string()][..]));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`.
    #[serde(default = "search_request_schemas")]
    pub schemas: Vec<String>,
    /// Attributes to return instead of the default set.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_list"
    )]
    pub attributes: Option<Vec<String>>,
    /// Attributes to remove from the default set.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_list"
    )]
    pub excluded_attributes: Option<Vec<String>>,
    /// The filter (RFC 7644 §3.4.2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The attribute to sort by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// `ascending` or `descending` (kept as sent; checked when converted to a query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
    /// The 1-based index of the first result (values below 1 mean 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<i64>,
    /// The page size (negative means 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// RFC 9865: `""` for the first page, then a `nextCursor` / `previousCursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            schemas: search_request_schemas(),
            attributes: None,
            excluded_attributes: None,
            filter: None,
            sort_by: None,
            sort_order: None,
            start_index: None,
            count: None,
            cursor: None,
        }
    }
}

impl SearchRequest {
    /// Reads a request body; a body that is not a SearchRequest is 400 `invalidSyntax`.
    pub fn from_value(value: Value) -> ScimResult<Self> {
        serde_json::from_value(value).map_err(|e| {
            ScimError::invalid_syntax(format!("the body is not a valid SearchRequest: {e}"))
        })
    }

    /// Does `schemas` name the SearchRequest URN (RFC 7644 §3.4.3 "MUST be identified")?
    pub fn has_schema(&self) -> bool {
        self.schemas
            .iter()
            .any(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
    }
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        None => None,
        Some(Either::Many(v)) => Some(v),
        Some(Either::One(s)) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comma_string_is_accepted() {
        let r = SearchRequest::from_value(json!({"attributes": "userName, emails"})).unwrap();
        assert_eq!(r.attributes.clone().unwrap(), ["userName", "emails"]);
        assert!(r.has_schema()); // defaulted
    }

    #[test]
    fn wrong_types_are_invalid_syntax() {
        let e = SearchRequest::from_value(json!({"count": "ten"})).unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidSyntax));
        let e = SearchRequest::from_value(json!(["x"])).unwrap_err();
        assert_eq!(e.status(), 400);
    }
}
