//! Queries of the memory backend: the matches of a filter (from the ordered indexes, see
//! `index.rs`), in creation order or sorted (RFC 7644 §3.4.2.3), and paged.

use super::*;
use crate::storage::planner::{position_cmp, query_fingerprint, sorted_window};
use scim_core::sort::{SortKey, SortOrder, sort_key};

impl MemoryStorage {
    /// [`Storage::query`]: the page, the total and the next cursor.
    pub(super) fn run_query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        let compiled = match query.filter {
            Some(f) => Some(f.compile(scope.schema).map_err(|e| {
                StorageError::new(StorageErrorKind::UnsupportedFilter, e.detail().to_string())
            })?),
            None => None,
        };
        if let Some(spec) = query.sort {
            return self.sorted(scope, &query, compiled.as_ref(), spec);
        }
        let after = match query.page {
            StoragePage::Cursor {
                after: Some(token), ..
            } => Some(decode_cursor(token)?),
            _ => None,
        };
        let Some(tenant) = self.tenant(scope.tenant)? else {
            return Ok(QueryPage::default());
        };
        let data = tenant.read().map_err(poisoned)?;
        let Some(shard) = data.types.get(scope.resource_type()) else {
            return Ok(QueryPage::default());
        };
        let stored = |id: &Id| shard.resources.get(&**id).map(|e| e.stored(id, query.load));
        // Without a filter: walk the creation order lazily (no copy of every id).
        let Some(f) = query.filter else {
            let total = shard.order.len() as u64;
            return Ok(match query.page {
                StoragePage::Offset { offset, limit } => QueryPage {
                    resources: shard
                        .order
                        .values()
                        .skip(usize::try_from(*offset).unwrap_or(usize::MAX))
                        .take(usize::try_from(*limit).unwrap_or(usize::MAX))
                        .filter_map(stored)
                        .collect(),
                    total_results: total,
                    next_cursor: None,
                },
                StoragePage::Cursor { limit, .. } => {
                    let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                    let from = after.map_or(0, |a| a.saturating_add(1));
                    let mut page: Vec<(u64, &Id)> = shard
                        .order
                        .range(from..)
                        .take(limit.saturating_add(1))
                        .map(|(s, id)| (*s, id))
                        .collect();
                    let more = page.len() > limit;
                    page.truncate(limit);
                    let next_cursor = if more && limit > 0 {
                        page.last().map(|(s, _)| encode_cursor(*s))
                    } else {
                        None
                    };
                    QueryPage {
                        resources: page.into_iter().filter_map(|(_, id)| stored(id)).collect(),
                        total_results: total,
                        next_cursor,
                    }
                }
            });
        };
        // The matches, in creation order, as (seq, id).
        let matches: Vec<(u64, &str)> = {
            {
                let hits = match &compiled {
                    Some(c) => shard.matching(&data, scope, f, c),
                    None => Hits::default(),
                };
                let mut v: Vec<(u64, &str)> = hits.into_iter().map(|(id, e)| (e.seq, id)).collect();
                v.sort_unstable_by_key(|(s, _)| *s);
                v
            }
        };
        let total = matches.len() as u64;
        let stored =
            |(_, id): &(u64, &str)| shard.resources.get(*id).map(|e| e.stored(id, query.load));
        match query.page {
            StoragePage::Offset { offset, limit } => {
                let offset = usize::try_from(*offset).unwrap_or(usize::MAX);
                let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                Ok(QueryPage {
                    resources: matches
                        .iter()
                        .skip(offset)
                        .take(limit)
                        .filter_map(stored)
                        .collect(),
                    total_results: total,
                    next_cursor: None,
                })
            }
            StoragePage::Cursor { limit, .. } => {
                let start = after.map_or(0, |a| matches.partition_point(|(s, _)| *s <= a));
                let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                let end = start.saturating_add(limit).min(matches.len());
                let next_cursor = (limit > 0 && end > start && end < matches.len())
                    .then(|| matches.get(end - 1).map(|(s, _)| encode_cursor(*s)))
                    .flatten();
                Ok(QueryPage {
                    resources: matches
                        .get(start..end)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(stored)
                        .collect(),
                    total_results: total,
                    next_cursor,
                })
            }
        }
    }

    /// A sorted query (RFC 7644 §3.4.2.3): the matches ordered by their scim-core sort keys
    /// (missing values last when ascending, first when descending), ties by id, as the
    /// planner orders them ([`position_cmp`]); only the page is copied out of the store.
    fn sorted(
        &self,
        scope: Scope<'_>,
        query: &StorageQuery<'_>,
        compiled: Option<&CompiledFilter>,
        spec: &SortSpec,
    ) -> Result<QueryPage, StorageError> {
        let Some(tenant) = self.tenant(scope.tenant)? else {
            return Ok(QueryPage::default());
        };
        let data = tenant.read().map_err(poisoned)?;
        let Some(shard) = data.types.get(scope.resource_type()) else {
            return Ok(QueryPage::default());
        };
        if let (None, StoragePage::Offset { offset, limit }) = (query.filter, query.page) {
            let (offset, limit) = (
                usize::try_from(*offset).unwrap_or(usize::MAX),
                usize::try_from(*limit).unwrap_or(usize::MAX),
            );
            if let Some(page) = shard.in_index_order(scope.schema, spec, offset, limit) {
                return Ok(QueryPage {
                    resources: page
                        .into_iter()
                        .map(|(id, e)| e.stored(id, query.load))
                        .collect(),
                    total_results: shard.resources.len() as u64,
                    next_cursor: None,
                });
            }
        }
        let entries: Vec<(&str, &Entry)> = match (query.filter, compiled) {
            (Some(f), Some(c)) => shard.matching(&data, scope, f, c).into_iter().collect(),
            _ => shard
                .resources
                .iter()
                .map(|(id, e)| (&**id, &**e))
                .collect(),
        };
        let mut keyed: Vec<(Option<SortKey>, &str, &Entry)> = entries
            .into_iter()
            .map(|(id, e)| (sort_key(&e.resource, scope.schema, &spec.by), id, e))
            .collect();
        keyed.sort_by(|(ka, a, _), (kb, b, _)| {
            position_cmp(ka.as_ref(), a, kb.as_ref(), b, spec.order)
        });
        let total = keyed.len() as u64;
        let fingerprint = query_fingerprint(query.filter, Some(spec));
        let (window, next_cursor) = sorted_window(
            &keyed,
            |(k, id, _)| (k.as_ref(), id),
            query.page,
            spec.order,
            SORTED_CURSOR_PREFIX,
            fingerprint,
        )?;
        Ok(QueryPage {
            resources: keyed
                .get(window)
                .unwrap_or_default()
                .iter()
                .map(|(_, id, e)| e.stored(id, query.load))
                .collect(),
            total_results: total,
            next_cursor,
        })
    }
}

/// The prefix of this backend's cursors of sorted queries (the planner's are `p1.`, so that
/// it hands them back here).
const SORTED_CURSOR_PREFIX: &str = "m1s.";

impl Shard {
    /// A page of every resource of the type sorted by `spec` (RFC 7644 §3.4.2.3, in the
    /// order of the planner's [`position_cmp`](crate::storage::planner::position_cmp)),
    /// read from the index of the sort attribute in its order, without a sort key per
    /// resource or a sort: from the `offset`th resource, `limit` of them, each with its
    /// id. `None` when that order is not the index's: the attribute is not an indexed,
    /// single-valued core attribute, or some resource of the type has no value there, more
    /// than one, or one that is not a string.
    ///
    /// The sort key of a single string value is the value as the index normalises it
    /// ([`index_norm`]: case-folded unless `caseExact`, scim-core's `sort_key` folds the
    /// same way), so ascending, the index's order is the keys' order, and each key's ids
    /// (ascending) break its ties; descending, the keys are walked backwards and the ids of
    /// each still ascending, as `position_cmp` orders them.
    pub(super) fn in_index_order(
        &self,
        schema: &ResourceSchema,
        spec: &SortSpec,
        offset: usize,
        limit: usize,
    ) -> Option<Vec<(&str, &Entry)>> {
        let by = &spec.by;
        let r = schema.resolve(by)?;
        if by.sub_attr.is_some()
            || r.in_extension
            || r.sub_attribute.is_some()
            || r.attribute.multi_valued
        {
            return None;
        }
        let key = ordered_index_of(schema, &r.attribute.name)?;
        let column = self.index.get(&key)?;
        if column.sole_strings != self.resources.len() {
            return None;
        }
        let keys: Box<dyn Iterator<Item = &IdSet>> = match spec.order {
            SortOrder::Ascending => Box::new(column.by_value.values()),
            SortOrder::Descending => Box::new(column.by_value.values().rev()),
        };
        Some(
            keys.flat_map(IdSet::iter)
                .skip(offset)
                .take(limit)
                .filter_map(|id| self.resources.get(&**id).map(|e| (&**id, &**e)))
                .collect(),
        )
    }
}
