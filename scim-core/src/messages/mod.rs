//! SCIM protocol messages (RFC 7644): ListResponse, SearchRequest, Bulk, paging (index and
//! RFC 9865 cursors) and the parsed [`Query`] of a list or search request.
//!
//! The PatchOp message lives in [`crate::patch`]; the Error message in [`crate::error`].

mod bulk;
mod list_response;
mod paging;
mod query;
mod search_request;

pub use bulk::{
    BULK_ID_PREFIX, BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, BulkMethod, BulkOperation,
    BulkOperationResponse, BulkPlan, BulkRequest, BulkResponse, UnresolvedOperation, bulk_id_refs,
    substitute_bulk_ids,
};
pub use list_response::{LIST_RESPONSE_SCHEMA, ListResponse};
pub use paging::{
    CursorDirection, CursorPage, IndexPage, OpaqueCursor, PageRequest, PaginationConfig,
    PaginationMethod, base64url_decode, base64url_encode, is_unreserved, parse_count,
};
pub use query::Query;
pub use search_request::{SEARCH_REQUEST_SCHEMA, SearchRequest};
