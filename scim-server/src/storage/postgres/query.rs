//! Queries: filtered, sorted and paged reads, cursors, and the exact `totalResults` count.

use super::*;

/// The tag of this backend's cursors (so that another backend's cursor is not taken for one).
pub(super) const CURSOR_TAG: &str = "pg1";

// ---------------------------------------------------------------------------------------
// Queries

/// The number of resources of the scope (`$1` tenant, `$2` type), kept in `resource_counts`
/// by triggers (see `schema.rs`, version 7): one row read, not a count of the rows.
const KEPT_COUNT: &str = "COALESCE((SELECT n FROM resource_counts \
                          WHERE tenant = $1 AND rtype = $2), 0)";

/// Statements with at most this many filter parameters are prepared once per connection;
/// longer (rarer, client-shaped) filters are prepared per call, so that the per-connection
/// statement cache stays bounded. The parameters that carry a substring index's
/// candidates do not count ([`SetSql::filter_params`]): they change no statement's text,
/// and a `co` filter read from an index is cached exactly when its plain translation is
/// (otherwise PostgreSQL parses and plans it on every request: 0.5 ms of planning for
/// 0.14 ms of execution for the `emails[type eq "work" and value co "u50"]` page).
pub(super) const MAX_CACHED_FILTER_PARAMS: usize = 6;

/// The count and one page, in ONE statement (so one snapshot, without a transaction): the
/// first column is the count; a page with no rows gives one row of NULLs after it.
pub(super) async fn page_rows<C: deadpool_postgres::GenericClient + Sync>(
    client: &C,
    set: Option<&SetSql>,
    args: &[Param<'_>],
    cursor: bool,
    load: Load,
) -> Result<Vec<Row>, StorageError> {
    let (fetch, skip) = (args.len() - 1, args.len());
    let data = data_column(load);
    let sql = match set {
        Some(s) => filtered_page_sql(s, fetch, skip, cursor, data),
        None => unfiltered_page_sql(fetch, skip, cursor, data),
    };
    let cached = set.is_none_or(|s| s.filter_params() <= MAX_CACHED_FILTER_PARAMS);
    if cached {
        let stmt = client.prepare_cached(&sql).await.map_err(pg_err)?;
        client.query(&stmt, args).await.map_err(pg_err)
    } else {
        client.query(sql.as_str(), args).await.map_err(pg_err)
    }
}

/// The column of a page's JSON: none sent for [`Load::VERSION`] (the caller needs the
/// versions only).
fn data_column(load: Load) -> &'static str {
    if load.attributes {
        "r.data"
    } else {
        "NULL::json"
    }
}

/// The distinct `seq`s of a set's SQL, as a parenthesised subquery.
fn distinct_seqs(set_sql: &str) -> String {
    format!("(SELECT DISTINCT seq FROM ({set_sql}) AS s)")
}

/// The `seq`s of a set to count, as a parenthesised subquery: without `DISTINCT` when the
/// set yields each `seq` once ([`SetSql::distinct`]), so that counting is an index-only scan
/// and nothing else. (Pages keep [`distinct_seqs`]: with it, the plan of a prepared range
/// comparison reads the range and sorts it, without it the planner may walk every row in
/// `seq` order instead.)
fn counted_seqs(set: &SetSql) -> String {
    if set.distinct {
        format!("(SELECT seq FROM ({}) AS s)", set.sql)
    } else {
        distinct_seqs(&set.sql)
    }
}

/// The statement of [`page_rows`] for a filter. Both the count and the page read the
/// distinct matching `seq`s. The set reads `attr_index` only: its rows of the scope are
/// written with their resource, in the same transaction, and go with it (deleted by a
/// trigger on `resources`), so each `seq` is a resource of the scope. `data` is the
/// column of the JSON ([`data_column`]).
///
/// A set that is one range scan ([`SetSql::one_scan`]) is read twice: the count is an
/// index-only scan of the range, and the page reads the range again, in `seq` order for
/// an equality (the covering index `attr_index_lookup` is ordered by `seq` after the value),
/// stopping after the page, so nothing is materialised or sorted. Any other set is
/// computed ONCE, in a `MATERIALIZED` CTE that the count and the page both read, rather
/// than evaluated once for each.
pub(super) fn filtered_page_sql(
    set: &SetSql,
    fetch: usize,
    skip: usize,
    cursor: bool,
    data: &str,
) -> String {
    let distinct = distinct_seqs(&set.sql);
    let (with, m, counted) = if set.one_scan {
        (String::new(), distinct, counted_seqs(set))
    } else {
        (
            format!("WITH m AS MATERIALIZED {distinct} "),
            "m".to_string(),
            "m".to_string(),
        )
    };
    // The page of `seq`s first, then only those resources are read, by `seq = ANY` of the
    // page as an array: an index scan of `resources_seq_key` whatever the planner estimates
    // of the set (a prepared statement's generic plan, which knows neither the values nor
    // the limit, would otherwise hash-join the page with every resource of the scope).
    let seqs = if cursor {
        format!("SELECT seq FROM {m} AS pm WHERE seq > ${skip} ORDER BY seq LIMIT ${fetch}")
    } else {
        format!("SELECT seq FROM {m} AS pm ORDER BY seq LIMIT ${fetch} OFFSET ${skip}")
    };
    let page = format!(
        "SELECT r.seq, r.id, r.version, {data} AS data FROM resources r \
         WHERE r.seq = ANY(ARRAY({seqs})) AND r.tenant = $1 AND r.rtype = $2"
    );
    format!(
        "{with}SELECT (SELECT count(*) FROM {counted} AS c), p.seq, p.id, p.version, p.data FROM \
         (VALUES (1)) AS one (x) LEFT JOIN ({page}) AS p ON true ORDER BY p.seq"
    )
}

/// The statement of [`page_rows`] without a filter: the kept count and the page over the
/// scope.
///
/// The scope is written as a range of rows of `(tenant, rtype, seq)` and the page ordered
/// by those three columns, not as `tenant = $1 AND rtype = $2 ... ORDER BY seq`: in that
/// form the generic plan of the prepared statement (which PostgreSQL settles on after five
/// executions) walked `resources` in `seq` order through `resources_seq_key` and filtered
/// the tenant, reading every row of every tenant created before this one (measured with
/// `EXPLAIN ANALYZE` under `plan_cache_mode = force_generic_plan`: 7.7 ms for a page of a
/// tenant created after one of 17,583 users, 0.3 ms in this form). Only the scope index
/// `resources_scope (tenant, rtype, seq)` answers this range in this order.
pub(super) fn unfiltered_page_sql(fetch: usize, skip: usize, cursor: bool, data: &str) -> String {
    // A cursor's page starts after the `seq` bound at `skip`; an offset page skips `skip`.
    let (after, offset) = if cursor {
        (format!("${skip}"), String::new())
    } else {
        ("0".to_string(), format!(" OFFSET ${skip}"))
    };
    let page = format!(
        "SELECT r.seq, r.id, r.version, {data} AS data FROM resources r \
         WHERE (r.tenant, r.rtype, r.seq) > ($1, $2, {after}) \
         AND (r.tenant, r.rtype, r.seq) <= ($1, $2, 9223372036854775807) \
         ORDER BY r.tenant, r.rtype, r.seq LIMIT ${fetch}{offset}"
    );
    format!(
        "SELECT {KEPT_COUNT}, p.seq, p.id, p.version, p.data \
         FROM (VALUES (1)) AS one (x) LEFT JOIN ({page}) AS p ON true ORDER BY p.seq"
    )
}

/// One page of a query, sorted ([`sorted_in`]) or in creation order ([`page_in`]). An
/// unsorted page without members is one statement; anything else runs its statements in
/// one REPEATABLE READ snapshot.
pub(super) async fn run_query(
    client: &mut deadpool_postgres::Client,
    ctx: &Ctx,
    set: Option<&SetSql>,
    sort: Option<&SortPlan>,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<QueryPage, StorageError> {
    if sort.is_none() && !(load.members && ctx.has_members) {
        return page_in(&*client, ctx, set, page, load, fingerprint).await;
    }
    let tx = read_snapshot(client).await?;
    let found = page_of(&tx, ctx, set, sort, page, load, fingerprint).await?;
    tx.commit().await.map_err(pg_err)?;
    Ok(found)
}

/// [`run_query`]'s page in the snapshot `tx`.
async fn page_of(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    set: Option<&SetSql>,
    sort: Option<&SortPlan>,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<QueryPage, StorageError> {
    match sort {
        Some(sort) => sorted_in(tx, ctx, set, sort, page, load, fingerprint).await,
        None => page_in(tx, ctx, set, page, load, fingerprint).await,
    }
}

/// The count and one page of an unsorted query through `client`, then the members of its
/// groups if `load` asks for them (`client` is then a snapshot: see [`run_query`]).
async fn page_in<C: deadpool_postgres::GenericClient + Sync>(
    client: &C,
    ctx: &Ctx,
    set: Option<&SetSql>,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<QueryPage, StorageError> {
    let after_seq = match page {
        StoragePage::Cursor { after: Some(c), .. } => {
            Some(decode_cursor(CURSOR_TAG, c, fingerprint)?)
        }
        StoragePage::Cursor { after: None, .. } => Some(0),
        StoragePage::Offset { .. } => None,
    };
    let (limit, offset_or_after) = match page {
        StoragePage::Offset { offset, limit } => (*limit, clamp(*offset)),
        StoragePage::Cursor { limit, .. } => (*limit, after_seq.unwrap_or(0)),
    };
    // Cursor paging asks for one more row than the page, to tell whether there is a next.
    let fetch = if after_seq.is_some() {
        clamp(limit).saturating_add(1)
    } else {
        clamp(limit)
    };
    let mut args: Vec<Param<'_>> = vec![&ctx.tenant, &ctx.rtype];
    if let Some(s) = set {
        args.extend(s.params.iter().map(|p| p.as_sql()));
    }
    args.push(&fetch);
    args.push(&offset_or_after);
    let cursor = after_seq.is_some();
    let rows = page_rows(client, set, &args, cursor, load).await?;
    let members = if load.members && ctx.has_members {
        let mut seqs = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(seq) = get::<Option<i64>>(row, 1)? {
                seqs.push(seq);
            }
        }
        load_members(client, &seqs).await?
    } else {
        HashMap::new()
    };
    build_page(&rows, after_seq, limit, fingerprint, members)
}

/// A filtered query whose `co` / `ew` leaves read the candidates of the substring indexes
/// (`substrings.rs`): its snapshot (a REPEATABLE READ read-only transaction) is opened
/// first, the indexes of its probes locked and caught up to it, then the page runs in it,
/// with the candidates or, when an index cannot serve it, with the plain translation of
/// `filter`. Either way the page reads the one snapshot the candidates were taken in.
pub(super) async fn run_probing(
    client: &mut deadpool_postgres::Client,
    indexes: &SubstringIndexes,
    ctx: &Ctx,
    probing: Probing<'_>,
    sort: Option<&SortPlan>,
    page: &StoragePage,
    load: Load,
) -> Result<QueryPage, StorageError> {
    let Probing {
        mut probed,
        probes,
        filter,
        fingerprint,
    } = probing;
    let mut tx = read_snapshot(client).await?;
    let mut head = head_planning_generically(&tx, ctx).await?;
    let mut locked = indexes.lock(ctx, &probes).await;
    if locked.ahead_of(&head) {
        // Another query caught an index up past this snapshot while this one waited for
        // the lock: a snapshot taken now, under the locks, is at least as new.
        tx.rollback().await.map_err(pg_err)?;
        tx = read_snapshot(client).await?;
        head = head_planning_generically(&tx, ctx).await?;
    }
    let lists = locked.candidates(&tx, ctx, &head, &probes).await?;
    drop(locked);
    let set = match lists {
        Some(lists) => {
            for (probe, list) in probes.iter().zip(lists) {
                if let Some(p) = probed.params.get_mut(probe.param) {
                    *p = filter_sql::Param::Seqs(list);
                }
            }
            probed
        }
        None => translate_or_refuse::<Postgres>(&ctx.schema, &ctx.paths, ctx.keys(), filter)?,
    };
    let found = page_of(&tx, ctx, Some(&set), sort, page, load, fingerprint).await?;
    tx.commit().await.map_err(pg_err)?;
    Ok(found)
}

/// A filter translated with its `co` / `ew` leaves read from substring candidates (see
/// [`run_probing`]).
pub(super) struct Probing<'f> {
    /// The translation whose `probes` parameters take the candidates.
    pub(super) probed: SetSql,
    pub(super) probes: Vec<Probe>,
    /// The filter itself, translated plainly when the indexes cannot serve the query.
    pub(super) filter: &'f Filter,
    /// The query's fingerprint (its cursors are bound to it).
    pub(super) fingerprint: u64,
}

/// A sorted query (see [`crate::storage::sql::sort`]) in the snapshot `tx`: the count of
/// the matches, the page read from the keyed segment and the segment without keys in the
/// order of `sortOrder` (each an ordered `LIMIT` / `OFFSET`, or keyset with a cursor, over
/// the index; the keyed segment is counted only when the page reaches past it, or the
/// segment without keys comes first), then those resources.
async fn sorted_in(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    set: Option<&SetSql>,
    sort: &SortPlan,
    page: &StoragePage,
    load: Load,
    fingerprint: u64,
) -> Result<QueryPage, StorageError> {
    let set_sql = set.map(|s| s.sql.as_str());
    let mut base: Vec<Param<'_>> = vec![&ctx.tenant, &ctx.rtype];
    if let Some(s) = set {
        base.extend(s.params.iter().map(|p| p.as_sql()));
    }
    let cached = set.is_none_or(|s| s.filter_params() <= MAX_CACHED_FILTER_PARAMS);
    let first = base.len() + 1;
    let mut with_path = base.clone();
    with_path.push(&sort.key);
    let pos = match page {
        StoragePage::Cursor { after: Some(c), .. } => {
            Some(sort_cursor::decode_cursor(CURSOR_TAG, c, fingerprint)?)
        }
        _ => None,
    };
    // Where the order comes from: the sort keys' index, the values' index, or (a
    // single-valued path with resources whose rows do not imply their key) memory.
    let (src, in_memory) = match sort.by_value {
        None => (KeySource::SortKeys, None),
        Some(order) => {
            let scope: [Param<'_>; 3] = [&ctx.tenant, &ctx.rtype, &sort.key];
            let irregular = count_of(
                tx,
                &has_sort_keys_sql::<Postgres>(sort.rows::<Postgres>()),
                &scope,
                true,
            )
            .await?
                > 0;
            (
                KeySource::Values(order),
                (irregular || !order.continues_after(pos.as_ref())).then_some(order),
            )
        }
    };
    let (out, next_cursor, total) = match in_memory {
        Some(order) => {
            let matches_sql = match set {
                Some(s) => format!("SELECT seq FROM {} AS m", counted_seqs(s)),
                None => "SELECT seq FROM resources WHERE tenant = $1 AND rtype = $2".to_string(),
            };
            let matches: Vec<i64> = tx
                .query(matches_sql.as_str(), &base)
                .await
                .map_err(pg_err)?
                .iter()
                .map(|r| get(r, 0))
                .collect::<Result<_, _>>()?;
            let rows_sql = value_rows_sql::<Postgres>(sort.rows::<Postgres>(), set_sql, first);
            let mut rows = Vec::new();
            for r in tx
                .query(rows_sql.as_str(), &with_path)
                .await
                .map_err(pg_err)?
            {
                let norm: Option<Vec<u8>> = get(&r, 1)?;
                rows.push(ValueRow {
                    seq: get(&r, 0)?,
                    norm: norm.map(|b| String::from_utf8_lossy(&b).into_owned()),
                    num: get(&r, 2)?,
                    skey: get(&r, 3)?,
                });
            }
            let ordered = order_in_memory(order, sort.segments(), sort.desc, &matches, &rows);
            let (out, next) = page_in_memory(ordered, page, pos.as_ref(), sort.desc);
            let next_cursor = next.map(|p| sort_cursor::encode_cursor(CURSOR_TAG, &p, fingerprint));
            let total = i64::try_from(matches.len()).unwrap_or(i64::MAX);
            (out, next_cursor, total)
        }
        None => {
            let total: i64 = match set {
                Some(s) => {
                    let sql = format!("SELECT count(*) FROM {} AS m", counted_seqs(s));
                    count_of(tx, &sql, &base, cached).await?
                }
                None => count_of(tx, &format!("SELECT {KEPT_COUNT}"), &base[..2], true).await?,
            };
            let read = IndexRead {
                set_sql,
                sort,
                src,
                total,
                fingerprint,
            };
            let (out, next_cursor) = read.positions(tx, page, pos, &with_path, cached).await?;
            (out, next_cursor, total)
        }
    };
    let seqs: Vec<i64> = out.iter().map(|p| p.seq).collect();
    let sql = if load.attributes {
        "SELECT seq, id, version, data FROM resources WHERE seq = ANY($1)"
    } else {
        "SELECT seq, id, version, NULL::json FROM resources WHERE seq = ANY($1)"
    };
    let stmt = tx.prepare_cached(sql).await.map_err(pg_err)?;
    let mut by_seq: HashMap<i64, Row> = HashMap::new();
    for row in tx.query(&stmt, &[&seqs]).await.map_err(pg_err)? {
        by_seq.insert(get(&row, 0)?, row);
    }
    let mut members = if load.members && ctx.has_members {
        load_members(tx, &seqs).await?
    } else {
        HashMap::new()
    };
    let mut resources = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let Some(row) = by_seq.get(&seq) else {
            continue;
        };
        let mut resource = row_data(row, 3)?;
        if let Some(m) = members.remove(&seq) {
            resource = with_members(resource, &m);
        }
        resources.push(StoredResource {
            id: get(row, 1)?,
            version: to_version(get(row, 2)?),
            resource,
        });
    }
    Ok(QueryPage {
        resources,
        total_results: to_version(total),
        next_cursor,
    })
}

/// A sorted query's page read from an index: the sort keys' or the values' (`src`).
struct IndexRead<'a> {
    set_sql: Option<&'a str>,
    sort: &'a SortPlan,
    src: KeySource,
    /// The number of matches.
    total: i64,
    fingerprint: u64,
}

impl IndexRead<'_> {
    /// The positions of the page (after `pos`, with a cursor), and the next cursor.
    async fn positions(
        &self,
        tx: &Transaction<'_>,
        page: &StoragePage,
        pos: Option<Position>,
        with_path: &[Param<'_>],
        cached: bool,
    ) -> Result<(Vec<Position>, Option<String>), StorageError> {
        let IndexRead {
            set_sql,
            sort,
            src,
            total,
            fingerprint,
        } = *self;
        let first = with_path.len();
        // The size of the keyed segment is counted only when it is needed: to skip the segment
        // without keys when it is empty (it is read by an anti-join over the scope, which would
        // visit every match), and to know how much of an offset the keyed segment takes. A
        // page that the keyed segment fills (the usual first page of an ascending sort) needs
        // only `total`.
        let count_keyed = count_keyed_sql::<Postgres>(sort.rows::<Postgres>(), set_sql, first, src);
        let mut keyed: Option<i64> = None;
        let segments = sort.segments();
        let mut out: Vec<Position> = Vec::new();
        let mut next_cursor = None;
        let (offset_mode, skip0, limit) = match page {
            StoragePage::Offset { offset, limit } => (true, clamp(*offset), *limit),
            StoragePage::Cursor { limit, .. } => (false, 0, *limit),
        };
        let mut skip = skip0;
        let mut need = if offset_mode {
            clamp(limit)
        } else {
            clamp(limit).saturating_add(1)
        };
        let start = pos.as_ref().map_or(0, |p| p.segment);
        for (i, seg) in segments.iter().enumerate().skip(start) {
            if need <= 0 {
                break;
            }
            let keyed_seg = *seg == Segment::Keyed;
            if !keyed_seg {
                let k = match keyed {
                    Some(k) => k,
                    None => count_of(tx, &count_keyed, with_path, cached).await?,
                };
                keyed = Some(k);
                let n = total - k;
                if n <= 0 {
                    continue;
                }
                if offset_mode && skip >= n {
                    skip -= n;
                    continue;
                }
            }
            let after = pos.as_ref().filter(|p| p.segment == i);
            let after_seq = after.map_or(0, |a| a.seq);
            let key = after.and_then(|a| a.key.clone()).unwrap_or_default();
            // The key to continue after, as the key column holds it.
            let (after_bytes, after_num): (Vec<u8>, f64) = match src {
                KeySource::SortKeys => (key, 0.0),
                KeySource::Values(order) => match order.column_value(&key) {
                    Some(ColumnValue::Text(t)) => (t.into_bytes(), 0.0),
                    Some(ColumnValue::Num(n)) => (Vec::new(), n),
                    None => (Vec::new(), 0.0),
                },
            };
            let numeric = matches!(src, KeySource::Values(o) if o.numeric());
            let mut args = with_path.to_vec();
            args.push(&need);
            args.push(&skip);
            let sql = if keyed_seg {
                if after.is_some() {
                    if numeric {
                        args.push(&after_num);
                    } else {
                        args.push(&after_bytes);
                    }
                    args.push(&after_seq);
                }
                keyed_page_sql::<Postgres>(
                    sort.rows::<Postgres>(),
                    set_sql,
                    sort.desc,
                    after.is_some(),
                    first,
                    src,
                )
            } else {
                if after.is_some() {
                    args.push(&after_seq);
                }
                missing_page_sql::<Postgres>(
                    sort.rows::<Postgres>(),
                    set_sql,
                    after.is_some(),
                    first,
                    src,
                )
            };
            // The segment without keys is an anti-join whose plan depends on the path (a
            // generic plan may hash every row of the scope): planned for its values.
            let rows = rows_of(tx, &sql, &args, cached && keyed_seg).await?;
            let got = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            if keyed_seg && offset_mode && got < need {
                // The keyed segment ended inside this page (it holds `skip + got` resources), or
                // the offset passed its end: then it is counted and takes its size off the offset.
                if got > 0 || skip == 0 {
                    keyed = Some(skip + got);
                    skip = 0;
                } else {
                    let k = count_of(tx, &count_keyed, with_path, cached).await?;
                    keyed = Some(k);
                    skip = (skip - k).max(0);
                }
            } else {
                skip = 0;
            }
            need -= got;
            for row in rows {
                let key = match (keyed_seg, src) {
                    (false, _) => None,
                    (true, KeySource::SortKeys) => get(&row, 1)?,
                    (true, KeySource::Values(order)) => {
                        let v = if numeric {
                            ColumnValue::Num(get(&row, 1)?)
                        } else {
                            let b: Vec<u8> = get(&row, 1)?;
                            ColumnValue::Text(String::from_utf8_lossy(&b).into_owned())
                        };
                        order.key_of(&v)
                    }
                };
                out.push(Position {
                    segment: i,
                    seq: get(&row, 0)?,
                    key,
                });
            }
        }
        if !offset_mode {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            if out.len() > limit {
                out.truncate(limit);
                next_cursor = out
                    .last()
                    .map(|p| sort_cursor::encode_cursor(CURSOR_TAG, p, fingerprint));
            }
        }
        Ok((out, next_cursor))
    }
}

/// The rows `sql` selects; with `cached`, through the connection's prepared statement of
/// `sql` (one round trip instead of two, and no parsing or planning after the first
/// executions). Statements whose text depends on a client's filter are cached only when
/// they have at most [`MAX_CACHED_FILTER_PARAMS`], so that the cache stays bounded.
async fn rows_of(
    tx: &Transaction<'_>,
    sql: &str,
    args: &[Param<'_>],
    cached: bool,
) -> Result<Vec<Row>, StorageError> {
    if cached {
        let stmt = tx.prepare_cached(sql).await.map_err(pg_err)?;
        tx.query(&stmt, args).await.map_err(pg_err)
    } else {
        tx.query(sql, args).await.map_err(pg_err)
    }
}

/// The `count(*)` that `sql` selects, through [`rows_of`].
async fn count_of(
    tx: &Transaction<'_>,
    sql: &str,
    args: &[Param<'_>],
    cached: bool,
) -> Result<i64, StorageError> {
    let rows = rows_of(tx, sql, args, cached).await?;
    match rows.first() {
        Some(row) => get(row, 0),
        None => Err(StorageError::backend("postgres: a count returned no row")),
    }
}

/// A [`QueryPage`] from the rows of [`page_rows`] (and the members of its groups).
pub(super) fn build_page(
    rows: &[Row],
    after_seq: Option<i64>,
    limit: u64,
    fingerprint: u64,
    mut members: HashMap<i64, Vec<Member>>,
) -> Result<QueryPage, StorageError> {
    let total: i64 = match rows.first() {
        Some(r) => get(r, 0)?,
        None => 0,
    };
    let mut page: Vec<(i64, &Row)> = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(seq) = get::<Option<i64>>(row, 1)? {
            page.push((seq, row));
        }
    }
    let mut next_cursor = None;
    if let Some(after) = after_seq {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if page.len() > limit {
            page.truncate(limit);
            let last = page.last().map_or(after, |(seq, _)| *seq);
            next_cursor = Some(encode_cursor(CURSOR_TAG, last, fingerprint));
        }
    }
    let mut resources = Vec::with_capacity(page.len());
    for (seq, row) in page {
        let mut resource = row_data(row, 4)?;
        if let Some(m) = members.remove(&seq) {
            resource = with_members(resource, &m);
        }
        resources.push(StoredResource {
            id: get(row, 2)?,
            version: to_version(get(row, 3)?),
            resource,
        });
    }
    Ok(QueryPage {
        resources,
        total_results: to_version(total),
        next_cursor,
    })
}
