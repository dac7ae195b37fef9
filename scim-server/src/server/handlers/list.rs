//! Lists and searches: `GET /{type}?filter=...` (RFC 7644 §3.4.2), `POST /{type}/.search`
//! and `POST /.search` (§3.4.3), with index and cursor paging (RFC 9865).

use scim_core::ScimError;
use scim_core::messages::{ListResponse, PageRequest, PaginationMethod, Query, SearchRequest};
use scim_core::projection::RequestedAttrs;
use scim_core::schema::ResourceSchema;

use super::Ctx;
use super::query::{PageQuery, RenderedResource};
use crate::server::Inner;
use crate::server::request::parse_json;
use crate::server::response::{self, ScimResponse};
use crate::storage::StoragePage;

/// GET /{type}.
pub(crate) async fn list(
    inner: &Inner,
    ctx: &Ctx,
    resource_type: &str,
) -> Result<ScimResponse, ScimError> {
    let schema = inner.schema(resource_type)?;
    let query = Query::from_params(ctx.query.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let list = run(inner, ctx, schema, &query).await?;
    Ok(response::list_json(&list))
}

fn search_query(body: &[u8]) -> Result<Query, ScimError> {
    let req = SearchRequest::from_value(parse_json(body)?)?;
    Query::from_search_request(&req)
}

/// POST /{type}/.search.
pub(crate) async fn search(
    inner: &Inner,
    ctx: &Ctx,
    resource_type: &str,
    body: &[u8],
) -> Result<ScimResponse, ScimError> {
    let schema = inner.schema(resource_type)?;
    let query = search_query(body)?;
    let list = run(inner, ctx, schema, &query).await?;
    Ok(response::list_json(&list))
}

impl Inner {
    fn page_size(&self, count: Option<usize>) -> u64 {
        count
            .map_or(self.default_page_size, |c| c as u64)
            .min(self.limits.max_page_size)
    }
}

/// Runs a query against one resource type and renders the ListResponse.
async fn run(
    inner: &Inner,
    ctx: &Ctx,
    schema: &ResourceSchema,
    query: &Query,
) -> Result<ListResponse<RenderedResource>, ScimError> {
    if let Some(sort) = &query.sort {
        sort.validate(schema)?;
    }
    if let Some(filter) = &query.filter {
        // The filter's own errors (an unknown attribute, a never-returned one) are answered
        // as scim-core states them, before any backend sees the filter.
        filter.compile(schema)?;
    }
    let page = query.page.clone().resolve(PaginationMethod::Index);
    let storage_page = match &page {
        PageRequest::Cursor(c) => {
            c.check_count(usize::try_from(inner.limits.max_page_size).unwrap_or(usize::MAX))?;
            StoragePage::Cursor {
                after: c.cursor.clone(),
                limit: inner.page_size(c.count),
            }
        }
        PageRequest::Index(p) => StoragePage::Offset {
            offset: p.offset() as u64,
            limit: inner.page_size(p.count),
        },
        PageRequest::Unspecified { count } => StoragePage::Offset {
            offset: 0,
            limit: inner.page_size(*count),
        },
    };
    let supplied = RequestedAttrs::none();
    let found = inner
        .query_rendered(
            ctx,
            schema,
            PageQuery {
                filter: query.filter.as_ref(),
                sort: query.sort.as_ref(),
                page: &storage_page,
                projection: &query.projection,
                supplied: &supplied,
            },
        )
        .await?;
    let total = usize::try_from(found.total_results).unwrap_or(usize::MAX);
    let resources = found.resources;
    let list = match page {
        PageRequest::Cursor(_) => {
            ListResponse::cursor_page(Some(total), resources, found.next_cursor, None)
        }
        PageRequest::Index(p) => ListResponse::page(total, p.start_index, resources),
        PageRequest::Unspecified { .. } => ListResponse::page(total, 1, resources),
    };
    Ok(list)
}

/// POST /.search: a search over every resource type (RFC 7644 §3.4.3: "If the search is
/// performed at the root, it is applied to all resources").
///
/// Results are listed type by type in registry order, each type in its own default order,
/// with index paging over the concatenation. `sortBy` and cursor paging are refused (400
/// `invalidValue`): results of different types have no common order. A filter that names
/// attributes one resource type does not have matches nothing of that type; it is 400
/// `invalidFilter` only when it is invalid for every type.
pub(crate) async fn root_search(
    inner: &Inner,
    ctx: &Ctx,
    body: &[u8],
) -> Result<ScimResponse, ScimError> {
    let query = search_query(body)?;
    if query.sort.is_some() {
        return Err(ScimError::invalid_value(
            "sortBy is not supported for a search at the root; search one resource type (POST /{type}/.search)",
        ));
    }
    let (start_index, count) = match &query.page {
        PageRequest::Cursor(_) => {
            return Err(ScimError::invalid_value(
                "cursor paging is not supported for a search at the root; use startIndex",
            ));
        }
        PageRequest::Index(p) => (p.start_index, p.count),
        PageRequest::Unspecified { count } => (1, *count),
    };
    let mut skip = start_index.saturating_sub(1) as u64;
    let mut need = inner.page_size(count);
    let mut total: u64 = 0;
    let mut resources = Vec::new();
    let mut last_filter_error = None;
    let mut any_ok = false;
    let supplied = RequestedAttrs::none();
    for schema in inner.registry.resource_schemas() {
        // A type whose schema cannot even express the filter (it names an attribute the type
        // does not define) has no matches. Every other failure, including a backend that
        // cannot evaluate the filter, is the client's answer: RFC 7644 §3.4.3 applies a root
        // search "to all resources", so silently dropping a type would be a wrong result.
        if let Some(Err(e)) = query.filter.as_ref().map(|f| f.compile(schema)) {
            last_filter_error = Some(e);
            continue;
        }
        let page = StoragePage::Offset {
            offset: skip,
            limit: need,
        };
        let result = inner
            .query_rendered(
                ctx,
                schema,
                PageQuery {
                    filter: query.filter.as_ref(),
                    sort: None,
                    page: &page,
                    projection: &query.projection,
                    supplied: &supplied,
                },
            )
            .await?;
        any_ok = true;
        total += result.total_results;
        skip = skip.saturating_sub(result.total_results);
        need = need.saturating_sub(result.resources.len() as u64);
        resources.extend(result.resources);
    }
    if !any_ok {
        if let Some(e) = last_filter_error {
            return Err(e);
        }
    }
    let list = ListResponse::page(
        usize::try_from(total).unwrap_or(usize::MAX),
        start_index,
        resources,
    );
    Ok(response::list_json(&list))
}
