//! Queries handed to a backend: a typed filter, a sort and a page.

use scim_core::Filter;
use scim_core::sort::SortSpec;

use super::types::{Load, StoredResource};

/// Which page of the matches to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoragePage {
    /// Index paging: skip `offset` matches (RFC 7644 `startIndex` - 1), return at most `limit`.
    Offset {
        /// Matches to skip.
        offset: u64,
        /// Matches to return at most.
        limit: u64,
    },
    /// Cursor paging (RFC 9865): continue after an opaque cursor the backend issued (`None`
    /// for the first page), return at most `limit`. A backend's cursor must stay correct while
    /// resources are created and deleted between pages (no skipped survivors).
    Cursor {
        /// The cursor from the previous page's `next_cursor`.
        after: Option<String>,
        /// Matches to return at most.
        limit: u64,
    },
}

/// A query. The backend answers it exactly or refuses it; it never answers a query it cannot
/// evaluate with a wrong result. The server only passes filters and sorts for which
/// [`Storage::can_filter`](super::Storage::can_filter) and
/// [`Storage::can_sort`](super::Storage::can_sort) said yes.
#[derive(Debug, Clone, Copy)]
pub struct StorageQuery<'a> {
    /// Only resources matching this filter (all resources when `None`).
    pub filter: Option<&'a Filter>,
    /// The order; without one, the backend's stable default order (e.g. creation order).
    pub sort: Option<&'a SortSpec>,
    /// The page.
    pub page: &'a StoragePage,
    /// What to load with each resource.
    pub load: Load,
}

/// One page of a query's matches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryPage {
    /// The resources of this page, in order.
    pub resources: Vec<StoredResource>,
    /// How many resources match the filter in all (RFC 7644 §3.4.2: `totalResults`, counted
    /// after filtering).
    pub total_results: u64,
    /// For cursor paging: the cursor of the next page, `None` on the last page.
    pub next_cursor: Option<String>,
}
