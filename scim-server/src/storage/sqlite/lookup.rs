//! Lookups by a unique value: `userName eq "x"`, the query Microsoft Entra ID and Okta send
//! before they create or match a user, answered with its groups by ONE statement.
//!
//! The general path translates the filter to SQL, runs its set of matches, reads each match
//! by `seq` and then the groups of the page: three statements and the translation, for a
//! page of at most one resource. A lookup ([`UniqueLookup`]) skips the translation (the
//! filter is one `value_norm =` probe of `attr_index_lookup`, see
//! [`crate::storage::sql::filter::eq_lookup`]) and reads the matches, their versions, their
//! JSON and their groups in one statement ([`LOOKUP_WITH_GROUPS`]), one snapshot without a
//! `BEGIN`/`COMMIT` around it. Without the JSON, the matches are remembered with the
//! tenant's change head (`recent_reads.rs`).

use std::collections::hash_map::Entry;

use super::recent_reads::{Found, RecentReads};
use super::*;
use crate::storage::sql::UniqueLookup;

/// The page of `lookup` (every match, a handful at most, counted as `totalResults`; the
/// page the offset and count cut from them, in creation order) and the groups of its
/// resources, oldest first. Without the attributes, the matches are remembered with the
/// tenant's change head (see `recent_reads.rs`).
pub(super) fn read_lookup(
    conn: &Connection,
    values: &mut SnapshotValues,
    recent: &RecentReads,
    ctx: &Ctx,
    lookup: &UniqueLookup,
) -> Result<(RawPage, HashMap<String, Vec<GroupRef>>), StorageError> {
    let matched = if lookup.attributes {
        read_matches(conn, ctx, lookup, LOOKUP_WITH_GROUPS)?
    } else {
        let found = (lookup.found.key.as_str(), lookup.found.value.as_str());
        recent
            .lookup(conn, values, ctx, found, |conn| {
                Ok(
                    read_matches(conn, ctx, lookup, LOOKUP_VERSIONS_WITH_GROUPS)?
                        .into_iter()
                        .map(|(seq, r, groups)| Found {
                            seq,
                            id: r.id,
                            version: r.version,
                            groups,
                        })
                        .collect(),
                )
            })?
            .into_iter()
            .map(|f| {
                let resource = RawResource {
                    id: f.id,
                    version: f.version,
                    json: None,
                    members: None,
                };
                (f.seq, resource, f.groups)
            })
            .collect()
    };
    let (resources, total_results, groups) = lookup.page(matched, |r| r.id.as_str());
    let page = RawPage {
        resources,
        total_results,
        next_cursor: None,
    };
    Ok((page, groups))
}

/// Every match of `lookup` by `sql` ([`LOOKUP_WITH_GROUPS`] or
/// [`LOOKUP_VERSIONS_WITH_GROUPS`]), in any order, with its groups oldest first.
fn read_matches(
    conn: &Connection,
    ctx: &Ctx,
    lookup: &UniqueLookup,
    sql: &str,
) -> Result<Vec<(i64, RawResource, Vec<GroupRef>)>, StorageError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend_err)?;
    let mut rows = stmt
        .query(params![
            ctx.tenant,
            ctx.rtype,
            ctx.keys().of(&lookup.found.key),
            lookup.found.value
        ])
        .map_err(backend_err)?;
    // By `seq`: the statement's rows of one resource need not come together.
    let mut matches: HashMap<i64, (RawResource, Vec<SeqGroup>)> = HashMap::new();
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
    Ok(matches
        .into_iter()
        .map(|(seq, (resource, groups))| (seq, resource, oldest_first(groups)))
        .collect())
}
