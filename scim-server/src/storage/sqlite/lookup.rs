//! Lookups by a unique value: `userName eq "x"`, the query Microsoft Entra ID and Okta send
//! before they create or match a user, answered with its groups by ONE statement.
//!
//! The general path translates the filter to SQL, runs its set of matches, reads each match
//! by `seq` and then the groups of the page: three statements and the translation, for a
//! page of at most one resource. A lookup ([`unique_lookup`]) skips the translation (the
//! filter is one `value_norm =` probe of `attr_index_lookup`, see
//! [`crate::storage::sql::filter::eq_lookup`]) and reads the matches, their versions, their
//! JSON and their groups in one statement ([`LOOKUP_WITH_GROUPS`]), one snapshot without a
//! `BEGIN`/`COMMIT` around it.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use super::*;
use crate::storage::sql::filter::{EqLookup, eq_lookup};

/// A query that is a lookup by a unique value, paged by offset, without members to read.
pub(super) struct Lookup {
    found: EqLookup,
    offset: u64,
    limit: u64,
    attributes: bool,
}

/// `query` as a [`Lookup`], or `None` when it takes the general path: another filter, a
/// sort, a cursor, or members to read.
pub(super) fn unique_lookup(ctx: &Ctx, query: &StorageQuery<'_>) -> Option<Lookup> {
    let StoragePage::Offset { offset, limit } = *query.page else {
        return None;
    };
    if query.sort.is_some() || (query.load.members && ctx.has_members) {
        return None;
    }
    let found = eq_lookup(&ctx.schema, &ctx.paths, query.filter?)?;
    Some(Lookup {
        found,
        offset,
        limit,
        attributes: query.load.attributes,
    })
}

/// The page of `lookup` (every match, a handful at most, counted as `totalResults`; the
/// page the offset and count cut from them, in creation order) and the groups of its
/// resources, oldest first.
pub(super) fn read_lookup(
    conn: &Connection,
    ctx: &Ctx,
    lookup: &Lookup,
) -> Result<(RawPage, HashMap<String, Vec<GroupRef>>), StorageError> {
    let sql = if lookup.attributes {
        LOOKUP_WITH_GROUPS
    } else {
        LOOKUP_VERSIONS_WITH_GROUPS
    };
    let mut stmt = conn.prepare_cached(sql).map_err(backend_err)?;
    let mut rows = stmt
        .query(params![
            ctx.tenant,
            ctx.rtype,
            lookup.found.key,
            lookup.found.value
        ])
        .map_err(backend_err)?;
    // By `seq`: the statement's rows of one resource need not come together.
    let mut matches: BTreeMap<i64, (RawResource, Vec<SeqGroup>)> = BTreeMap::new();
    while let Some(row) = rows.next().map_err(backend_err)? {
        let seq: i64 = row.get(0).map_err(backend_err)?;
        let (_, groups) = match matches.entry(seq) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let resource = RawResource {
                    id: row.get(1).map_err(backend_err)?,
                    version: to_version(row.get(2).map_err(backend_err)?),
                    json: row.get(3).map_err(backend_err)?,
                    members: None,
                };
                e.insert((resource, Vec::new()))
            }
        };
        // No group: the LEFT JOIN's one row of NULLs.
        if row.get_ref(4).map_err(backend_err)? != rusqlite::types::ValueRef::Null {
            groups.push(seq_group(row, 4).map_err(backend_err)?);
        }
    }
    let total_results = matches.len() as u64;
    let skip = usize::try_from(lookup.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(lookup.limit).unwrap_or(usize::MAX);
    let mut resources = Vec::new();
    let mut groups = HashMap::new();
    for (resource, of) in matches.into_values().skip(skip).take(take) {
        groups.insert(resource.id.clone(), oldest_first(of));
        resources.push(resource);
    }
    let page = RawPage {
        resources,
        total_results,
        next_cursor: None,
    };
    Ok((page, groups))
}
