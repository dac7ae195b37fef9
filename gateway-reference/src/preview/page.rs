//! Filtering and paging a [`Preview`].

use serde::{Deserialize, Serialize};

use super::{Preview, PreviewRow};

/// Which rows of a preview to return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewQuery {
    /// Only rows whose `userName` or `displayName` contains this, ignoring case.
    #[serde(default)]
    pub search: Option<String>,
    /// Only synced (`true`) or only not synced (`false`) rows.
    #[serde(default)]
    pub synced: Option<bool>,
    /// The 1-based index of the first row (as SCIM's `startIndex`; 0 counts as 1).
    #[serde(default = "one")]
    pub start_index: usize,
    /// At most this many rows.
    #[serde(default = "hundred")]
    pub count: usize,
}

fn one() -> usize {
    1
}

fn hundred() -> usize {
    100
}

impl Default for PreviewQuery {
    fn default() -> Self {
        PreviewQuery {
            search: None,
            synced: None,
            start_index: 1,
            count: 100,
        }
    }
}

/// One page of a filtered preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewPage {
    /// Rows matching the query, all pages together.
    pub total: usize,
    /// This page's rows.
    pub rows: Vec<PreviewRow>,
}

impl PreviewQuery {
    fn selects(&self, row: &PreviewRow, needle: Option<&str>) -> bool {
        if self.synced.is_some_and(|s| s != row.synced) {
            return false;
        }
        needle.is_none_or(|n| {
            row.user_name.to_lowercase().contains(n)
                || row
                    .display_name
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains(n))
        })
    }
}

impl Preview {
    /// The rows `q` selects, paged.
    pub fn page(&self, q: &PreviewQuery) -> PreviewPage {
        let needle = q.search.as_deref().map(str::to_lowercase);
        let needle = needle.as_deref().filter(|n| !n.is_empty());
        let mut total = 0;
        let mut rows = Vec::new();
        let skip = q.start_index.saturating_sub(1);
        for row in self.rows.iter().filter(|r| q.selects(r, needle)) {
            if total >= skip && rows.len() < q.count {
                rows.push(row.clone());
            }
            total += 1;
        }
        PreviewPage { total, rows }
    }
}
