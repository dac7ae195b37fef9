//! Queries: filtered, sorted and paged reads, cursors, and the exact `totalResults` count.

use super::*;

/// The tag of this backend's cursors (so that another backend's cursor is not taken for one).
pub(super) const CURSOR_TAG: &str = "sq1";

// ---------------------------------------------------------------------------------------
// Queries

/// How a query's filter reaches its SQL.
pub(super) enum Filtering {
    /// No filter.
    None,
    /// The filter translated to SQL.
    Plain(SetSql),
    /// The filter with its `co` / `ew` leaves read from substring candidates (`probed`,
    /// whose `probes` parameters take them, see `substrings.rs`); the filter itself, to be
    /// translated plainly when the indexes cannot serve the query.
    Probing {
        probed: SetSql,
        probes: Vec<Probe>,
        filter: Filter,
    },
}

/// A query ready to run in a read transaction, with what runs on its page after it (see
/// `SqliteStorage::query_then`).
pub(super) struct QueryJob<F> {
    pub(super) ctx: Ctx,
    pub(super) filtering: Filtering,
    pub(super) sort: Option<SortPlan>,
    pub(super) page: StoragePage,
    pub(super) load: Load,
    pub(super) fingerprint: u64,
    pub(super) and_then: F,
}

impl<T, F: FnOnce(&Connection, &RawPage) -> Result<T, StorageError>> QueryJob<F> {
    /// Runs the query in `tx`, from the substring candidates when the indexes can serve
    /// it, else with the plain SQL.
    pub(super) fn run(
        self,
        tx: &Connection,
        values: &mut SnapshotValues,
        indexes: &SubstringIndexes,
    ) -> Result<(RawPage, T), StorageError> {
        let lists = self.candidates(tx, values, indexes, Effort::Full)?;
        self.finish(tx, lists)
    }

    /// Runs the query in `tx` only if its substring candidates are at hand and few (see
    /// [`Effort::Light`]): a query cheap enough for a point read. Otherwise hands the job
    /// back.
    pub(super) fn run_light(
        self,
        tx: &Connection,
        values: &mut SnapshotValues,
        indexes: &SubstringIndexes,
    ) -> Result<Result<(RawPage, T), Self>, StorageError> {
        match self.candidates(tx, values, indexes, Effort::Light)? {
            Some(lists) => self.finish(tx, Some(lists)).map(Ok),
            None => Ok(Err(self)),
        }
    }

    /// The candidates of the probes, when the filter has some and the indexes serve them.
    fn candidates(
        &self,
        tx: &Connection,
        values: &mut SnapshotValues,
        indexes: &SubstringIndexes,
        effort: Effort,
    ) -> Result<Option<Vec<Vec<i64>>>, StorageError> {
        match &self.filtering {
            Filtering::Probing { probes, .. } => {
                indexes.candidates(tx, values, &self.ctx, probes, effort)
            }
            Filtering::None | Filtering::Plain(_) => Ok(None),
        }
    }

    fn finish(
        self,
        tx: &Connection,
        lists: Option<Vec<Vec<i64>>>,
    ) -> Result<(RawPage, T), StorageError> {
        let set = match (self.filtering, lists) {
            (Filtering::None, _) => None,
            (Filtering::Plain(set), _) => Some(set),
            (
                Filtering::Probing {
                    mut probed, probes, ..
                },
                Some(lists),
            ) => {
                for (probe, list) in probes.iter().zip(lists) {
                    if let Some(p) = probed.params.get_mut(probe.param) {
                        *p = Param::integers(&list);
                    }
                }
                Some(probed)
            }
            (Filtering::Probing { filter, .. }, None) => Some(translate_or_refuse::<Sqlite>(
                &self.ctx.schema,
                &self.ctx.paths,
                self.ctx.keys(),
                &filter,
            )?),
        };
        let found = run_query(
            tx,
            &self.ctx,
            set.as_ref(),
            self.sort.as_ref(),
            &self.page,
            self.load,
            self.fingerprint,
        )?;
        let more = (self.and_then)(tx, &found)?;
        Ok((found, more))
    }
}

/// The WHERE condition of a query over `resources r`. With a filter, the unary `+` keeps
/// SQLite from walking the scope index: the matches come from the `attr_index` set and are
/// looked up by rowid.
pub(super) fn condition(set: Option<&SetSql>) -> String {
    match set {
        Some(s) => format!("+r.tenant = ?1 AND +r.rtype = ?2 AND r.seq IN ({})", s.sql),
        None => "r.tenant = ?1 AND r.rtype = ?2".to_string(),
    }
}

/// A query's page, read inside the caller's read transaction (see [`read_tx`]): the count
/// and the page see the same snapshot. The JSON is parsed later, by [`RawPage::parse`].
pub(super) fn run_query(
    tx: &Connection,
    ctx: &Ctx,
    set: Option<&SetSql>,
    sort: Option<&SortPlan>,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<RawPage, StorageError> {
    let mut args: Vec<Param> = vec![ctx.tenant.clone().into(), ctx.rtype.clone().into()];
    if let Some(s) = set {
        args.extend(s.params.iter().cloned());
    }
    let (rows, next_cursor) = match sort {
        Some(sort) => sorted_rows(tx, set, &args, sort, page, load, fingerprint)?,
        None => unsorted_rows(tx, set, args, page, load, fingerprint)?,
    };
    let mut resources = Vec::with_capacity(rows.page.len());
    for (seq, id, version, json) in rows.page {
        let members = if load.members && ctx.has_members {
            Some(load_members(tx, seq)?)
        } else {
            None
        };
        resources.push(RawResource {
            id,
            version: to_version(version),
            json,
            members,
        });
    }
    Ok(RawPage {
        resources,
        total_results: to_version(rows.total),
        next_cursor,
    })
}

/// A page as read from the database, its resources' JSON not yet parsed.
///
/// Queries run on a blocking thread; the page is parsed by the task that awaited it, so
/// the values of the parsed resources are allocated on the thread that renders and drops
/// them (parsed on the blocking thread, every one of their allocations was freed across
/// threads: a third of a page's CPU in a profile of an 11-resource page).
pub(super) struct RawPage {
    pub(super) resources: Vec<RawResource>,
    pub(super) total_results: u64,
    pub(super) next_cursor: Option<String>,
}

/// One resource of a [`RawPage`].
pub(super) struct RawResource {
    pub(super) id: String,
    pub(super) version: u64,
    /// `None` when the page was read with [`Load::VERSION`] (no JSON read).
    pub(super) json: Option<String>,
    /// The members, when the query loads them and the resource type has them.
    pub(super) members: Option<Vec<Member>>,
}

impl RawPage {
    /// The ids of the page's resources, in order.
    pub(super) fn ids(&self) -> Vec<&str> {
        self.resources.iter().map(|r| r.id.as_str()).collect()
    }

    /// The page, its resources parsed (empty when read with [`Load::VERSION`]).
    pub(super) fn parse(self) -> Result<QueryPage, StorageError> {
        let resources = self
            .resources
            .into_iter()
            .map(RawResource::parse)
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(QueryPage {
            resources,
            total_results: self.total_results,
            next_cursor: self.next_cursor,
        })
    }
}

impl RawResource {
    /// The resource, parsed (empty when its JSON was not read).
    pub(super) fn parse(self) -> Result<StoredResource, StorageError> {
        let mut resource = parse_or_empty(self.json.as_deref())?;
        if let Some(members) = &self.members {
            resource = with_members(resource, members);
        }
        Ok(StoredResource {
            id: self.id,
            version: self.version,
            resource,
        })
    }
}

/// The rows of a query in creation order (`seq`), and the next cursor.
pub(super) fn unsorted_rows(
    tx: &Connection,
    set: Option<&SetSql>,
    mut args: Vec<Param>,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<(Rows, Option<String>), StorageError> {
    let after = match page {
        StoragePage::Cursor { after, .. } => Some(match after {
            Some(c) => decode_cursor(CURSOR_TAG, c, fingerprint)?,
            None => 0,
        }),
        StoragePage::Offset { .. } => None,
    };
    let limit = match page {
        StoragePage::Offset { limit, .. } | StoragePage::Cursor { limit, .. } => *limit,
    };
    let mut rows = match set {
        Some(s) => filtered_rows(tx, s, &args, page, after, load)?,
        None => unfiltered_rows(tx, &mut args, page, after, load)?,
    };
    let mut next_cursor = None;
    if let Some(after_seq) = after {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if rows.page.len() > limit {
            rows.page.truncate(limit);
            let last = rows.page.last().map_or(after_seq, |r| r.0);
            next_cursor = Some(encode_cursor(CURSOR_TAG, last, fingerprint));
        }
    }
    Ok((rows, next_cursor))
}

/// The rows of a sorted query (see [`crate::storage::sql::sort`]): the count of the
/// matches and of those with a sort key, then the page read from the keyed segment and the
/// segment without keys in the order of `sortOrder`, each an ordered `LIMIT` / `OFFSET`
/// (or keyset, with a cursor) over the index: the sort keys' (`attr_index_sort`), or for a
/// single-valued path the values' (see [`crate::storage::sql::value_order`]). A
/// single-valued path with resources whose rows do not imply their key is ordered in
/// memory instead ([`positions_in_memory`]).
pub(super) fn sorted_rows(
    tx: &Connection,
    set: Option<&SetSql>,
    base: &[Param],
    sort: &SortPlan,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<(Rows, Option<String>), StorageError> {
    use rusqlite::types::Value as V;
    let set_sql = set.map(|s| s.sql.as_str());
    let count = |sql: &str, args: &[Param]| -> Result<i64, StorageError> {
        tx.prepare_cached(sql)
            .and_then(|mut st| st.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0)))
            .map_err(backend_err)
    };
    let pos = match page {
        StoragePage::Cursor { after: Some(c), .. } => {
            Some(sort_cursor::decode_cursor(CURSOR_TAG, c, fingerprint)?)
        }
        _ => None,
    };
    let first = base.len() + 1;
    let path_key = Param::from(sort.key);
    let mut with_path = base.to_vec();
    with_path.push(path_key.clone());
    let src = match sort.by_value {
        None => KeySource::SortKeys,
        Some(order) => {
            let scope = [base[0].clone(), base[1].clone(), path_key.clone()];
            let irregular = count(&has_sort_keys_sql::<Sqlite>(sort.rows::<Sqlite>()), &scope)? > 0;
            if irregular || !order.continues_after(pos.as_ref()) {
                let (total, out, next) =
                    positions_in_memory(tx, set, base, sort, order, page, pos.as_ref())?;
                let next_cursor =
                    next.map(|p| sort_cursor::encode_cursor(CURSOR_TAG, &p, fingerprint));
                let seqs: Vec<i64> = out.iter().map(|p| p.seq).collect();
                let page = rows_by_seq(tx, &seqs, load)?;
                return Ok((Rows { total, page }, next_cursor));
            }
            KeySource::Values(order)
        }
    };
    let total = match set {
        Some(s) => count(&format!("SELECT count(*) FROM ({})", matches_sql(s)), base)?,
        None => count_all(tx, &base[..2])?,
    };
    // The size of the keyed segment, counted only when needed (a count visits every key of
    // the scope): to know whether the segment without keys has any (it is read by an
    // anti-join over the matches), or how much of an offset past its end it takes. A page
    // that the keyed segment fills (the usual first pages of an ascending sort) needs none.
    let keyed_sql = count_keyed_sql::<Sqlite>(sort.rows::<Sqlite>(), set_sql, first, src);
    let mut keyed: Option<i64> = None;
    let keyed_count = |known: &mut Option<i64>| -> Result<i64, StorageError> {
        match *known {
            Some(k) => Ok(k),
            None => {
                let k = count(&keyed_sql, &with_path)?;
                *known = Some(k);
                Ok(k)
            }
        }
    };
    let segments = sort.segments();
    // (segment index, seq, key)
    let fetch = |i: usize, limit: i64, offset: i64, after: Option<&Position>| {
        let mut args = with_path.clone();
        args.push(limit.into());
        args.push(offset.into());
        let sql = match segments[i] {
            Segment::Keyed => {
                if let Some(a) = after {
                    let key = a.key.clone().unwrap_or_default();
                    args.push(Param::Value(match src {
                        KeySource::SortKeys => V::Blob(key),
                        KeySource::Values(order) => match order.column_value(&key) {
                            Some(ColumnValue::Text(t)) => V::Text(t),
                            Some(ColumnValue::Num(n)) => V::Real(n),
                            None => V::Null,
                        },
                    }));
                    args.push(a.seq.into());
                }
                keyed_page_sql::<Sqlite>(
                    sort.rows::<Sqlite>(),
                    set_sql,
                    sort.desc,
                    after.is_some(),
                    first,
                    src,
                )
            }
            Segment::Missing => {
                if let Some(a) = after {
                    args.push(a.seq.into());
                }
                missing_page_sql::<Sqlite>(
                    sort.rows::<Sqlite>(),
                    set_sql,
                    after.is_some(),
                    first,
                    src,
                )
            }
        };
        let mut stmt = tx.prepare_cached(&sql).map_err(backend_err)?;
        let keyed = segments[i] == Segment::Keyed;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                let key = match (keyed, src) {
                    (false, _) => None,
                    (true, KeySource::SortKeys) => r.get(1)?,
                    (true, KeySource::Values(order)) => {
                        let v = if order.numeric() {
                            ColumnValue::Num(r.get(1)?)
                        } else {
                            ColumnValue::Text(r.get(1)?)
                        };
                        order.key_of(&v)
                    }
                };
                Ok(Position {
                    segment: i,
                    seq: r.get(0)?,
                    key,
                })
            })
            .map_err(backend_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend_err)
    };
    let mut out: Vec<Position> = Vec::new();
    let mut next_cursor = None;
    match page {
        StoragePage::Offset { offset, limit } => {
            let mut skip = clamp(*offset);
            let mut need = clamp(*limit);
            for (i, seg) in segments.iter().enumerate() {
                if need <= 0 {
                    break;
                }
                if *seg == Segment::Missing {
                    let n = total - keyed_count(&mut keyed)?;
                    if skip >= n {
                        skip -= n;
                        continue;
                    }
                }
                let got = fetch(i, need, skip, None)?;
                let n = i64::try_from(got.len()).unwrap_or(i64::MAX);
                if *seg == Segment::Keyed && n < need {
                    // The keyed segment ended inside this page (it holds `skip + n`), or
                    // the offset passed its end: then it is counted and takes its size
                    // off the offset.
                    if n > 0 || skip == 0 {
                        keyed = Some(skip + n);
                        skip = 0;
                    } else {
                        skip = (skip - keyed_count(&mut keyed)?).max(0);
                    }
                } else {
                    skip = 0;
                }
                need -= n;
                out.extend(got);
            }
        }
        StoragePage::Cursor { limit, .. } => {
            let start = pos.as_ref().map_or(0, |p| p.segment);
            let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
            let mut need = limit.saturating_add(1);
            for (i, seg) in segments.iter().enumerate().skip(start) {
                if need == 0 {
                    break;
                }
                if *seg == Segment::Missing && total - keyed_count(&mut keyed)? <= 0 {
                    continue;
                }
                let after = pos.as_ref().filter(|p| p.segment == i);
                let got = fetch(i, clamp(need as u64), 0, after)?;
                need -= got.len().min(need);
                out.extend(got);
            }
            if out.len() > limit {
                out.truncate(limit);
                next_cursor = out
                    .last()
                    .map(|p| sort_cursor::encode_cursor(CURSOR_TAG, p, fingerprint));
            }
        }
    }
    let seqs: Vec<i64> = out.iter().map(|p| p.seq).collect();
    let page = rows_by_seq(tx, &seqs, load)?;
    Ok((Rows { total, page }, next_cursor))
}

/// The number of matches of a sorted query over a single-valued path, the positions of its
/// page and the position of the next page's cursor, ordered in memory from the path's rows
/// of the matches (see [`crate::storage::sql::value_order::order_in_memory`]).
fn positions_in_memory(
    tx: &Connection,
    set: Option<&SetSql>,
    base: &[Param],
    sort: &SortPlan,
    order: ValueOrder,
    page: &StoragePage,
    after: Option<&Position>,
) -> Result<(i64, Vec<Position>, Option<Position>), StorageError> {
    let args = rusqlite::params_from_iter(base.iter());
    let matches: Vec<i64> = tx
        .prepare_cached(&format!(
            "SELECT r.seq FROM resources r WHERE {} ORDER BY r.seq",
            condition(set)
        ))
        .and_then(|mut st| {
            st.query_map(args, |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()
        })
        .map_err(backend_err)?;
    let path_key = Param::from(sort.key);
    let mut with_path = base.to_vec();
    with_path.push(path_key.clone());
    let sql = value_rows_sql::<Sqlite>(
        sort.rows::<Sqlite>(),
        set.map(|s| s.sql.as_str()),
        base.len() + 1,
    );
    let rows: Vec<ValueRow> = tx
        .prepare_cached(&sql)
        .and_then(|mut st| {
            st.query_map(rusqlite::params_from_iter(with_path.iter()), |r| {
                Ok(ValueRow {
                    seq: r.get(0)?,
                    norm: r.get(1)?,
                    num: r.get(2)?,
                    skey: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(backend_err)?;
    let total = i64::try_from(matches.len()).unwrap_or(i64::MAX);
    let ordered = order_in_memory(order, sort.segments(), sort.desc, &matches, &rows);
    let (out, next) = page_in_memory(ordered, page, after, sort.desc);
    Ok((total, out, next))
}

/// The count of a query's matches and its page (`(seq, id, version, json)`, the JSON `None`
/// for [`Load::VERSION`]; with cursor paging, one row more than the page when there is a
/// next page).
pub(super) struct Rows {
    total: i64,
    page: Vec<PageRow>,
}

/// `(seq, id, version, json)` of one resource of a page.
type PageRow = (i64, String, i64, Option<String>);

/// The column of a page's JSON: none read for [`Load::VERSION`].
fn json_column(load: Load) -> &'static str {
    if load.attributes { "r.json" } else { "NULL" }
}

/// The rows of the resources `seqs` (distinct), in that order: one statement, the `seq`s
/// bound as an array (see [`Param::Array`]) driving a lookup of each (a statement per
/// resource cost a bind, a step and a reset each), its rows put back in the order of
/// `seqs`.
fn rows_by_seq(tx: &Connection, seqs: &[i64], load: Load) -> Result<Vec<PageRow>, StorageError> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = if load.attributes {
        "SELECT r.seq, r.id, r.version, r.json FROM rarray(?1) AS g \
         CROSS JOIN resources r ON r.seq = g.value"
    } else {
        "SELECT r.seq, r.id, r.version, NULL FROM rarray(?1) AS g \
         CROSS JOIN resources r ON r.seq = g.value"
    };
    let mut stmt = tx.prepare_cached(sql).map_err(backend_err)?;
    let list = Param::integers(seqs);
    let mut found: HashMap<i64, (String, i64, Option<String>)> = HashMap::with_capacity(seqs.len());
    let mut rows = stmt.query([list]).map_err(backend_err)?;
    while let Some(r) = rows.next().map_err(backend_err)? {
        let seq: i64 = r.get(0).map_err(backend_err)?;
        let row = (
            r.get(1).map_err(backend_err)?,
            r.get(2).map_err(backend_err)?,
            r.get(3).map_err(backend_err)?,
        );
        found.insert(seq, row);
    }
    seqs.iter()
        .map(|&seq| match found.remove(&seq) {
            Some((id, version, json)) => Ok((seq, id, version, json)),
            // The matches and their rows are read in one snapshot.
            None => Err(StorageError::backend(format!(
                "sqlite: the resource of seq {seq} is missing from its own snapshot"
            ))),
        })
        .collect()
}

/// The page size as a `usize`, plus one with cursor paging (to tell whether there is a
/// next page).
pub(super) fn fetch_size(page: &StoragePage) -> usize {
    match page {
        StoragePage::Offset { limit, .. } => usize::try_from(*limit).unwrap_or(usize::MAX),
        StoragePage::Cursor { limit, .. } => usize::try_from(*limit)
            .unwrap_or(usize::MAX)
            .saturating_add(1),
    }
}

/// The statement listing the distinct matching `seq`s of a filter in order. It reads
/// `attr_index` only: its rows of the scope (tenant and resource type, parameters 1 and 2)
/// are written with their resource, in the same transaction, and go with it (deleted in the
/// transaction that deletes it, `delete_children` in `rows.rs`), so each `seq` is a
/// resource of the scope and a join with `resources` (one lookup per match) would change
/// nothing.
pub(super) fn matches_sql(set: &SetSql) -> String {
    let distinct = if set.distinct { "" } else { "DISTINCT " };
    format!("SELECT {distinct}seq FROM ({}) ORDER BY seq", set.sql)
}

/// A filtered query: the matching `seq`s are computed ONCE, in order (the translated set,
/// whatever it costs, is evaluated by one statement, not once for the count and again for
/// the page); the count is their number and the page a slice of them, read by `seq`.
pub(super) fn filtered_rows(
    tx: &Connection,
    set: &SetSql,
    args: &[Param],
    page: &StoragePage,
    after: Option<i64>,
    load: Load,
) -> Result<Rows, StorageError> {
    let seqs: Vec<i64> = {
        let mut stmt = tx.prepare_cached(&matches_sql(set)).map_err(backend_err)?;
        let it = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))
            .map_err(backend_err)?;
        it.collect::<Result<_, _>>().map_err(backend_err)?
    };
    let start = match (page, after) {
        (_, Some(after_seq)) => seqs.partition_point(|s| *s <= after_seq),
        (StoragePage::Offset { offset, .. }, None) => usize::try_from(*offset)
            .unwrap_or(usize::MAX)
            .min(seqs.len()),
        (StoragePage::Cursor { .. }, None) => 0,
    };
    let end = start.saturating_add(fetch_size(page)).min(seqs.len());
    let page = rows_by_seq(tx, seqs.get(start..end).unwrap_or_default(), load)?;
    Ok(Rows {
        total: i64::try_from(seqs.len()).unwrap_or(i64::MAX),
        page,
    })
}

/// The number of resources of the scope (`args`: the tenant and the resource type), kept in
/// `resource_counts` by the writes (see `schema.rs`): one row read, not a count over the
/// scope index.
pub(super) fn count_all(tx: &Connection, args: &[Param]) -> Result<i64, StorageError> {
    let n: Option<i64> = tx
        .prepare_cached("SELECT n FROM resource_counts WHERE tenant = ?1 AND rtype = ?2")
        .and_then(|mut s| {
            s.query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))
                .optional()
        })
        .map_err(backend_err)?;
    Ok(n.unwrap_or(0))
}

/// A query without a filter: the count of the scope ([`count_all`]) and `LIMIT` over the
/// scope index.
pub(super) fn unfiltered_rows(
    tx: &Connection,
    args: &mut Vec<Param>,
    page: &StoragePage,
    after: Option<i64>,
    load: Load,
) -> Result<Rows, StorageError> {
    let cond = condition(None);
    let json = json_column(load);
    let total = count_all(tx, &args[..2])?;
    let n = args.len();
    let sql = match (page, after) {
        (StoragePage::Offset { offset, .. }, _) => {
            args.push(clamp(fetch_size(page) as u64).into());
            args.push(clamp(*offset).into());
            format!(
                "SELECT r.seq, r.id, r.version, {json} FROM resources r WHERE {cond} \
                 ORDER BY r.seq LIMIT ?{} OFFSET ?{}",
                n + 1,
                n + 2
            )
        }
        (StoragePage::Cursor { .. }, after_seq) => {
            args.push(after_seq.unwrap_or(0).into());
            args.push(clamp(fetch_size(page) as u64).into());
            format!(
                "SELECT r.seq, r.id, r.version, {json} FROM resources r WHERE {cond} \
                 AND r.seq > ?{} ORDER BY r.seq LIMIT ?{}",
                n + 1,
                n + 2
            )
        }
    };
    let mut stmt = tx.prepare_cached(&sql).map_err(backend_err)?;
    let it = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(backend_err)?;
    let page = it.collect::<Result<Vec<_>, _>>().map_err(backend_err)?;
    Ok(Rows { total, page })
}
