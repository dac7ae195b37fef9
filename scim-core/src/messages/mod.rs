//! SCIM protocol messages (RFC 7644): ListResponse, SearchRequest, Bulk, cursors.
