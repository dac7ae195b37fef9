//! Rows: reading and writing resources, their index rows, uniqueness claims and members.

use std::sync::OnceLock;

use super::*;

pub(super) fn parse_json(json: &str) -> Result<Resource, StorageError> {
    let map: Map<String, Value> = serde_json::from_str(json)
        .map_err(|e| StorageError::backend(format!("sqlite: corrupt resource JSON: {e}")))?;
    Ok(Resource::from(map))
}

/// The most ids a batch read ([`Storage::groups_of_many`], [`Storage::get_many`]) runs as a
/// point read (see [`SqliteStorage::inline_point_reads`]): one index probe each.
pub(super) const POINT_READ_IDS: usize = 10;

/// What [`read_resource`] reads: one resource of one tenant and type, owned so that it can
/// move to a blocking thread.
pub(super) struct ResourceKey {
    pub(super) tenant: String,
    pub(super) rtype: String,
    pub(super) id: String,
    pub(super) with_members: bool,
    /// Read and parse the attributes ([`Load::attributes`]); when false the resource is
    /// returned empty and its JSON is never read.
    pub(super) with_attributes: bool,
}

impl ResourceKey {
    pub(super) fn new(scope: Scope<'_>, id: &str, load: Load) -> Self {
        ResourceKey {
            tenant: scope.tenant.as_str().to_string(),
            rtype: scope.resource_type().to_string(),
            id: id.to_string(),
            with_members: load.members && load.attributes && has_members(scope.schema),
            with_attributes: load.attributes,
        }
    }
}

/// One resource (with its members when asked and the type has them); `NotFound` when absent.
pub(super) fn read_resource(
    conn: &Connection,
    key: &ResourceKey,
) -> Result<StoredResource, StorageError> {
    let sql = if key.with_attributes {
        "SELECT seq, version, json FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3"
    } else {
        "SELECT seq, version, NULL FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3"
    };
    let row: Option<(i64, i64, Option<String>)> = conn
        .prepare_cached(sql)
        .and_then(|mut s| {
            s.query_row(params![key.tenant, key.rtype, key.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(backend_err)?;
    let Some((seq, version, json)) = row else {
        return Err(StorageError::not_found(&key.id));
    };
    let mut resource = parse_or_empty(json.as_deref())?;
    if key.with_members {
        resource = with_members(resource, &load_members(conn, seq)?);
    }
    Ok(StoredResource {
        id: key.id.clone(),
        version: to_version(version),
        resource,
    })
}

/// The resources of `ids` (an array of texts, [`Param::texts`]) that exist in the scope of
/// `key` (its `id` unused), each once, JSON unparsed, in one statement; with their members
/// when `key.with_members` (call it in a read transaction then, for one snapshot).
pub(super) fn read_many(
    conn: &Connection,
    key: &ResourceKey,
    ids: &Param,
) -> Result<Vec<RawResource>, StorageError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, id, version, json FROM resources WHERE tenant = ?1 AND rtype = ?2 \
             AND id IN (SELECT value FROM rarray(?3))",
        )
        .map_err(backend_err)?;
    let rows = stmt
        .query_map(params![key.tenant, key.rtype, ids], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .map_err(backend_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, id, version, json) = row.map_err(backend_err)?;
        let members = if key.with_members {
            Some(load_members(conn, seq)?)
        } else {
            None
        };
        out.push(RawResource {
            id,
            version: to_version(version),
            json,
            members,
        });
    }
    Ok(out)
}

/// A resource from its stored JSON; empty when the statement selected NULL instead
/// ([`Load::VERSION`]).
pub(super) fn parse_or_empty(json: Option<&str>) -> Result<Resource, StorageError> {
    json.map_or_else(|| Ok(Resource::new()), parse_json)
}

/// The `displayName` of the group row `g`, when it is a string: taken out of the stored
/// JSON by SQLite, so a group is not parsed into a Rust value to render a member's `groups`.
macro_rules! group_display {
    () => {
        "CASE json_type(g.json, '$.displayName') WHEN 'text' \
         THEN json_extract(g.json, '$.displayName') END"
    };
}

/// The joins of [`RESOURCE_WITH_GROUPS`]: the resource and the groups that have it as a member.
macro_rules! resource_groups_from {
    () => {
        " FROM resources r \
         LEFT JOIN members m ON m.tenant = r.tenant AND m.member_id = r.id \
         LEFT JOIN resources g ON g.seq = m.group_seq AND g.tenant = r.tenant \
         WHERE r.tenant = ?1 AND r.rtype = ?2 AND r.id = ?3"
    };
}

/// The joins of [`LOOKUP_WITH_GROUPS`]: the resources of the scope with one value on one
/// path (the range scan [`crate::storage::sql::filter::translate`] gives an `eq` on a
/// single-valued attribute) and the groups that have them as a member.
macro_rules! lookup_groups_from {
    () => {
        " FROM attr_index a JOIN resources r ON r.seq = a.seq \
         LEFT JOIN members m ON m.tenant = r.tenant AND m.member_id = r.id \
         LEFT JOIN resources g ON g.seq = m.group_seq AND g.tenant = r.tenant \
         WHERE a.tenant = ?1 AND a.rtype = ?2 AND a.path_key = ?3 AND a.value_norm = ?4"
    };
}

/// The resources a lookup by a unique value finds and their groups, one row per group (one
/// row with no group for a resource in none): see `lookup.rs`.
pub(super) const LOOKUP_WITH_GROUPS: &str = concat!(
    "SELECT r.seq, r.id, r.version, r.json, g.seq, g.id, g.rtype, ",
    group_display!(),
    lookup_groups_from!()
);

/// [`LOOKUP_WITH_GROUPS`] without the resources' JSON ([`Load::VERSION`]).
pub(super) const LOOKUP_VERSIONS_WITH_GROUPS: &str = concat!(
    "SELECT r.seq, r.id, r.version, NULL, g.seq, g.id, g.rtype, ",
    group_display!(),
    lookup_groups_from!()
);

/// A group of a member, with the group's `seq` (its creation order).
pub(super) type SeqGroup = (i64, GroupRef);

/// A `(seq, id, rtype, display)` row of the group statements below.
pub(super) fn seq_group(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<SeqGroup> {
    Ok((
        r.get(first)?,
        GroupRef {
            id: r.get(first + 1)?,
            resource_type: r.get(first + 2)?,
            display: r.get(first + 3)?,
        },
    ))
}

/// The groups oldest first. The statements leave out `ORDER BY`: a member is in a few
/// groups, and sorting them here spares SQLite a temporary B-tree per read.
pub(super) fn oldest_first(mut groups: Vec<SeqGroup>) -> Vec<GroupRef> {
    groups.sort_unstable_by_key(|(seq, _)| *seq);
    groups.into_iter().map(|(_, g)| g).collect()
}

/// The groups of the tenant that have `member_id` as a direct member, oldest first.
pub(super) fn read_groups_of(
    conn: &Connection,
    tenant: &str,
    member_id: &str,
) -> Result<Vec<GroupRef>, StorageError> {
    let mut stmt = conn
        .prepare_cached(concat!(
            "SELECT g.seq, g.id, g.rtype, ",
            group_display!(),
            " FROM members m JOIN resources g ON g.seq = m.group_seq \
             WHERE m.tenant = ?1 AND m.member_id = ?2 AND g.tenant = ?1"
        ))
        .map_err(backend_err)?;
    let groups = stmt
        .query_map(params![tenant, member_id], |r| seq_group(r, 0))
        .map_err(backend_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend_err)?;
    Ok(oldest_first(groups))
}

/// The statement of [`read_resource_with_groups`].
pub(super) const RESOURCE_WITH_GROUPS: &str = concat!(
    "SELECT r.version, r.json, g.seq, g.id, g.rtype, ",
    group_display!(),
    resource_groups_from!()
);

/// [`RESOURCE_WITH_GROUPS`] without the resource's JSON ([`Load::VERSION`]).
pub(super) const VERSION_WITH_GROUPS: &str = concat!(
    "SELECT r.version, NULL, g.seq, g.id, g.rtype, ",
    group_display!(),
    resource_groups_from!()
);

/// One resource without its members and the groups that have it as a direct member (as
/// [`read_groups_of`]) in ONE statement: one snapshot without a `BEGIN`/`COMMIT` around it,
/// one row per group (one row with no group when it is in none). `NotFound` when absent.
pub(super) fn read_resource_with_groups(
    conn: &Connection,
    key: &ResourceKey,
) -> Result<(StoredResource, Vec<GroupRef>), StorageError> {
    let sql = if key.with_attributes {
        RESOURCE_WITH_GROUPS
    } else {
        VERSION_WITH_GROUPS
    };
    let mut stmt = conn.prepare_cached(sql).map_err(backend_err)?;
    let mut rows = stmt
        .query(params![key.tenant, key.rtype, key.id])
        .map_err(backend_err)?;
    let mut found: Option<(i64, Resource)> = None;
    let mut groups = Vec::new();
    while let Some(row) = rows.next().map_err(backend_err)? {
        if found.is_none() {
            let json = row
                .get_ref(1)
                .map_err(backend_err)?
                .as_str_or_null()
                .map_err(|e| StorageError::backend(format!("sqlite: resource JSON: {e}")))?;
            found = Some((row.get(0).map_err(backend_err)?, parse_or_empty(json)?));
        }
        // No group: the LEFT JOIN's one row of NULLs.
        if row.get_ref(2).map_err(backend_err)? != rusqlite::types::ValueRef::Null {
            groups.push(seq_group(row, 2).map_err(backend_err)?);
        }
    }
    let Some((version, resource)) = found else {
        return Err(StorageError::not_found(&key.id));
    };
    let stored = StoredResource {
        id: key.id.clone(),
        version: to_version(version),
        resource,
    };
    Ok((stored, oldest_first(groups)))
}

pub(super) fn load_members(conn: &Connection, seq: i64) -> Result<Vec<Member>, StorageError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT member_id, kind, display FROM members WHERE group_seq = ?1 ORDER BY rowid",
        )
        .map_err(backend_err)?;
    let rows = stmt
        .query_map([seq], |r| {
            Ok(Member {
                value: r.get(0)?,
                kind: r.get(1)?,
                display: r.get(2)?,
            })
        })
        .map_err(backend_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend_err)
}

pub(super) fn insert_members(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    members: &[Member],
) -> Result<usize, StorageError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO members (group_seq, tenant, member_id, kind, display) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (group_seq, member_id) DO NOTHING",
        )
        .map_err(backend_err)?;
    let mut inserted = 0;
    for m in members {
        inserted += stmt
            .execute(params![seq, ctx.tenant, m.value, m.kind, m.display])
            .map_err(backend_err)?;
    }
    Ok(inserted)
}

/// Fails with `Uniqueness` when a resource other than `own` (a `seq`) holds one of `keys`:
/// the check a write makes before its first change (see `Undo::Statement` in
/// `group_commit.rs`), reading the claims of the writes before it in the transaction too.
pub(super) fn check_unique(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    own: Option<i64>,
    keys: &[UniqueKey],
) -> Result<(), StorageError> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT seq FROM unique_values \
             WHERE tenant = ?1 AND rtype = ?2 AND attribute = ?3 AND value = ?4",
        )
        .map_err(backend_err)?;
    for k in keys {
        let holder: Option<i64> = stmt
            .query_row(params![ctx.tenant, ctx.rtype, k.attribute, k.value], |r| {
                r.get(0)
            })
            .optional()
            .map_err(backend_err)?;
        if holder.is_some() && holder != own {
            return Err(StorageError::uniqueness(&k.attribute));
        }
    }
    Ok(())
}

/// Claims `keys` for the resource at `seq`; [`check_unique`] has checked them.
pub(super) fn insert_unique(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    keys: &[UniqueKey],
) -> Result<(), StorageError> {
    let keys: BTreeSet<&UniqueKey> = keys.iter().collect();
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO unique_values (tenant, rtype, attribute, value, seq) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(backend_err)?;
    for k in keys {
        match stmt.execute(params![ctx.tenant, ctx.rtype, k.attribute, k.value, seq]) {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StorageError::uniqueness(&k.attribute));
            }
            Err(e) => return Err(backend_err(e)),
        }
    }
    Ok(())
}

/// The most `attr_index` rows one `INSERT` statement writes.
pub(super) const ROWS_PER_INSERT: usize = 16;

/// The columns (parameters) of one `attr_index` row in [`insert_rows_sql`].
const ROW_COLUMNS: usize = 9;

/// `INSERT OR FAIL INTO attr_index ... VALUES` with `rows` rows of parameters (1 to
/// [`ROWS_PER_INSERT`]), made once per count.
fn insert_rows_sql(rows: usize) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (1..=ROWS_PER_INSERT)
            .map(|count| {
                let values: Vec<String> = (0..count)
                    .map(|r| {
                        let params: Vec<String> = (1..=ROW_COLUMNS)
                            .map(|c| format!("?{}", r * ROW_COLUMNS + c))
                            .collect();
                        format!("({})", params.join(", "))
                    })
                    .collect();
                format!(
                    "INSERT OR FAIL INTO attr_index (tenant, rtype, path_key, value_norm, \
                     value_num, skey, seq, elem, n) VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    });
    &all[rows.clamp(1, ROWS_PER_INSERT) - 1]
}

/// Inserts the `attr_index` rows of one resource of `tenant` (and `ctx`'s resource type),
/// `keys` their path keys in order ([`row_keys`]), up to [`ROWS_PER_INSERT`] rows per
/// statement: each statement opens its cursors on the table and its indexes once, where a
/// statement per row (a user has about ten) paid that per row, with a bind and a reset.
///
/// `OR FAIL`: a statement that writes several rows and may abort (undo its own rows on a
/// constraint error, the default `ABORT`) makes SQLite copy every page it changes to a
/// statement journal first, which cost more than the statements saved. With `FAIL` a
/// constraint error keeps the rows written before it; none is expected (the key
/// `(seq, path_key, elem, n)` is the resource's own and `n` is distinct), and should one
/// come, the write fails after changing rows, which fails its transaction
/// (`Undo::Statement` in `group_commit.rs`). An enforced foreign key would make the
/// statement abortable again: see `configure` in `pool.rs`.
pub(super) fn insert_rows(
    tx: &Transaction<'_>,
    tenant: &str,
    ctx: &Ctx,
    seq: i64,
    rows: &BTreeSet<IndexRow>,
    keys: &[i64],
) -> Result<(), StorageError> {
    record_keys(
        tx,
        PathKeys::new(tenant, &ctx.rtype),
        &ctx.guard,
        rows,
        keys,
    )?;
    let mut left = rows.len();
    let mut rows = rows.iter().zip(keys);
    let mut n: i64 = 0;
    while left > 0 {
        let count = left.min(ROWS_PER_INSERT);
        let mut stmt = tx
            .prepare_cached(insert_rows_sql(count))
            .map_err(backend_err)?;
        for (r, (row, key)) in rows.by_ref().take(count).enumerate() {
            let at = (tenant, ctx.rtype.as_str(), *key, seq, n);
            bind_row(&mut stmt, r * ROW_COLUMNS, at, row).map_err(backend_err)?;
            n += 1;
        }
        stmt.raw_execute().map_err(backend_err)?;
        left -= count;
    }
    Ok(())
}

/// Records in `path_keys` the path of each key of `rows` that `guard` has not seen
/// recorded, and refuses the write when a key is recorded for another path (see
/// `sql::path_key`).
///
/// Its insert is a change, so it runs with the rows, after every check a write makes for
/// the client's reasons (`Undo::Statement` in `group_commit.rs`): a create refused as a
/// conflict has changed nothing. A key recorded for another path fails the write after
/// its first changes, which fails its batch (that takes a SHA-256 collision).
fn record_keys(
    tx: &Transaction<'_>,
    scope: PathKeys<'_>,
    guard: &KeyGuard,
    rows: &BTreeSet<IndexRow>,
    keys: &[i64],
) -> Result<(), StorageError> {
    for (key, path) in guard.unchecked(keyed(rows, keys)) {
        tx.prepare_cached(
            "INSERT INTO path_keys (path_key, tenant, rtype, path) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (path_key) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![key, scope.tenant(), scope.rtype(), path]))
        .map_err(backend_err)?;
        let owner: (String, String, String) = tx
            .prepare_cached("SELECT tenant, rtype, path FROM path_keys WHERE path_key = ?1")
            .and_then(|mut s| s.query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .map_err(backend_err)?;
        check_owner(scope, path, key, (&owner.0, &owner.1, &owner.2))?;
        guard.checked(key);
    }
    Ok(())
}

/// Binds the row `row` of the resource `(tenant, rtype, seq)`, its path key and its `n`,
/// to the parameters after `at` of an [`insert_rows_sql`] statement, in its column order.
fn bind_row(
    stmt: &mut rusqlite::CachedStatement<'_>,
    at: usize,
    (tenant, rtype, key, seq, n): (&str, &str, i64, i64, i64),
    row: &IndexRow,
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(at + 1, tenant)?;
    stmt.raw_bind_parameter(at + 2, rtype)?;
    stmt.raw_bind_parameter(at + 3, key)?;
    stmt.raw_bind_parameter(at + 4, &row.norm)?;
    stmt.raw_bind_parameter(at + 5, row.num.map(|n| n.0))?;
    stmt.raw_bind_parameter(at + 6, &row.skey)?;
    stmt.raw_bind_parameter(at + 7, seq)?;
    stmt.raw_bind_parameter(at + 8, row.elem)?;
    stmt.raw_bind_parameter(at + 9, n)
}

/// Makes the `attr_index` rows of `ctx`'s resource type (in every tenant) follow `layout`
/// (see `index_layouts` in `schema.rs`): when the recorded layout differs or is missing
/// (a database migrated from version 1, or a schema whose indexed paths or `caseExact`
/// changed), the rows are rebuilt from the stored JSON, in this one write transaction.
/// Returns whether it rebuilt.
pub(super) fn ensure_layout(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    layout: &str,
) -> Result<bool, StorageError> {
    let current: Option<String> = tx
        .prepare_cached("SELECT layout FROM index_layouts WHERE rtype = ?1")
        .and_then(|mut s| s.query_row([&ctx.rtype], |r| r.get(0)).optional())
        .map_err(backend_err)?;
    if current.as_deref() == Some(layout) {
        return Ok(false);
    }
    tx.execute("DELETE FROM attr_index WHERE rtype = ?1", [&ctx.rtype])
        .map_err(backend_err)?;
    {
        let mut select = tx
            .prepare("SELECT seq, tenant, json FROM resources WHERE rtype = ?1")
            .map_err(backend_err)?;
        let mut rows = select.query([&ctx.rtype]).map_err(backend_err)?;
        while let Some(row) = rows.next().map_err(backend_err)? {
            let seq: i64 = row.get(0).map_err(backend_err)?;
            let tenant: String = row.get(1).map_err(backend_err)?;
            let json: String = row.get(2).map_err(backend_err)?;
            let rows = index_rows(&ctx.paths, &ctx.schema, &parse_json(&json)?);
            let keys = row_keys(PathKeys::new(&tenant, &ctx.rtype), &rows);
            insert_rows(tx, &tenant, ctx, seq, &rows, &keys)?;
        }
    }
    tx.execute(
        "INSERT INTO index_layouts (rtype, layout) VALUES (?1, ?2) \
         ON CONFLICT (rtype) DO UPDATE SET layout = excluded.layout",
        params![ctx.rtype, layout],
    )
    .map_err(backend_err)?;
    Ok(true)
}

pub(super) fn insert_resource(
    tx: &WriteTx<'_>,
    ctx: &Ctx,
    new: PreparedCreate,
) -> Result<StoredResource, StorageError> {
    let PreparedCreate {
        id,
        prepared,
        unique,
        members,
    } = new;
    if let Err(taken) = check_unique(tx, ctx, None, &unique) {
        // A taken id is the error when both are (as the row's insert would have said).
        return Err(if id_exists(tx, ctx, &id)? {
            id_taken(&id)
        } else {
            taken
        });
    }
    let inserted = tx
        .prepare_cached(
            "INSERT INTO resources (tenant, rtype, id, version, json) VALUES (?1, ?2, ?3, 1, ?4)",
        )
        .and_then(|mut s| s.execute(params![ctx.tenant, ctx.rtype, id, prepared.json]));
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(id_taken(&id)),
        Err(e) => return Err(backend_err(e)),
    }
    let seq = tx.last_insert_rowid();
    tx.counters().add_resources(&ctx.tenant, &ctx.rtype, 1);
    insert_unique(tx, ctx, seq, &unique)?;
    insert_rows(tx, &ctx.tenant, ctx, seq, &prepared.rows, &prepared.keys)?;
    insert_members(tx, ctx, seq, &members)?;
    let resource = if ctx.has_members {
        with_members(prepared.resource, &members)
    } else {
        prepared.resource
    };
    Ok(StoredResource {
        id,
        version: 1,
        resource,
    })
}

/// Deletes the rows that belong to the resource at `seq` (its claims, index rows and, for a
/// group, its members), in the transaction that deleted it. The schema declares them
/// `REFERENCES resources (seq) ON DELETE CASCADE`, but the connections do not enforce
/// foreign keys (see `configure` in `pool.rs`), so the cascade is this.
pub(super) fn delete_children(tx: &Transaction<'_>, seq: i64) -> Result<(), StorageError> {
    for sql in [
        "DELETE FROM unique_values WHERE seq = ?1",
        "DELETE FROM attr_index WHERE seq = ?1",
        "DELETE FROM members WHERE group_seq = ?1",
    ] {
        tx.prepare_cached(sql)
            .and_then(|mut s| s.execute([seq]))
            .map_err(backend_err)?;
    }
    Ok(())
}

fn id_taken(id: &str) -> StorageError {
    StorageError::new(
        StorageErrorKind::IdTaken,
        format!("a resource with id {id} already exists"),
    )
}

/// Whether `ctx`'s scope holds a resource with `id`.
fn id_exists(tx: &Transaction<'_>, ctx: &Ctx, id: &str) -> Result<bool, StorageError> {
    tx.prepare_cached("SELECT 1 FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3")
        .and_then(|mut s| s.exists(params![ctx.tenant, ctx.rtype, id]))
        .map_err(backend_err)
}

/// Bumps the version of `id` (checking `expected` in the same statement) and optionally sets
/// its JSON; returns `(seq, new version, json)`. `NotFound` / `VersionMismatch` otherwise.
pub(super) fn bump(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
    json: Option<&str>,
    expected: Option<u64>,
) -> Result<(i64, u64, String), StorageError> {
    let expected = expected.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    let row = tx
        .prepare_cached(
            "UPDATE resources SET version = version + 1, json = coalesce(?4, json) \
             WHERE tenant = ?1 AND rtype = ?2 AND id = ?3 AND (?5 IS NULL OR version = ?5) \
             RETURNING seq, version, json",
        )
        .and_then(|mut s| {
            s.query_row(params![ctx.tenant, ctx.rtype, id, json, expected], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()
        })
        .map_err(backend_err)?;
    match row {
        Some((seq, v, json)) => Ok((seq, to_version(v), json)),
        None => Err(not_found_or_mismatch(tx, ctx, id)?),
    }
}

/// The row of `id` as `(seq, version, json)`, checking `expected` (in the write's
/// transaction). `NotFound` / `VersionMismatch` otherwise.
pub(super) fn current_row(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
    expected: Option<u64>,
) -> Result<(i64, u64, String), StorageError> {
    let row = tx
        .prepare_cached(
            "SELECT seq, version, json FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![ctx.tenant, ctx.rtype, id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()
        })
        .map_err(backend_err)?;
    let Some((seq, version, json)) = row else {
        return Err(StorageError::not_found(id));
    };
    Ok((seq, checked_version(version, expected)?, json))
}

/// The `seq` of `id`, checking `expected` (in the write's transaction), without reading its
/// JSON: the check a replace makes before its first change. `NotFound` / `VersionMismatch`
/// otherwise.
pub(super) fn current_seq(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
    expected: Option<u64>,
) -> Result<i64, StorageError> {
    let row: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT seq, version FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![ctx.tenant, ctx.rtype, id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(backend_err)?;
    let Some((seq, version)) = row else {
        return Err(StorageError::not_found(id));
    };
    checked_version(version, expected)?;
    Ok(seq)
}

/// The stored `version`, or `VersionMismatch` when it is not the `expected` one.
fn checked_version(version: i64, expected: Option<u64>) -> Result<u64, StorageError> {
    let version = to_version(version);
    match expected {
        Some(v) if v != version => Err(StorageError::version_mismatch(version)),
        _ => Ok(version),
    }
}

/// Applies a membership change to the group at `seq`; returns whether it changed anything
/// (member ids compare exactly, as the `members` key does).
pub(super) fn apply_members_change(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    change: MembersChange,
) -> Result<bool, StorageError> {
    Ok(match change {
        MembersChange::Add(members) => insert_members(tx, ctx, seq, &members)? > 0,
        MembersChange::Remove(ids) => {
            let mut stmt = tx
                .prepare_cached("DELETE FROM members WHERE group_seq = ?1 AND member_id = ?2")
                .map_err(backend_err)?;
            let mut removed = 0;
            for m in ids {
                removed += stmt.execute(params![seq, m]).map_err(backend_err)?;
            }
            removed > 0
        }
        MembersChange::Replace(members) => {
            let members = dedupe(members);
            if load_members(tx, seq)? == members {
                false
            } else {
                tx.prepare_cached("DELETE FROM members WHERE group_seq = ?1")
                    .and_then(|mut s| s.execute([seq]))
                    .map_err(backend_err)?;
                insert_members(tx, ctx, seq, &members)?;
                true
            }
        }
    })
}

/// The groups of many members at once: `?1` the tenant, `?2` the (distinct) member ids as an
/// array ([`Param::texts`]). The `members_member` index is probed once per id, the ids
/// driving (`CROSS JOIN`: no temporary table of the ids, as `IN (SELECT ...)` builds).
pub(super) const GROUPS_OF_MANY: &str = concat!(
    "SELECT m.member_id, g.seq, g.id, g.rtype, ",
    group_display!(),
    " FROM rarray(?2) AS j CROSS JOIN members m ON m.tenant = ?1 AND m.member_id = j.value \
     JOIN resources g ON g.seq = m.group_seq WHERE g.tenant = ?1"
);

/// The groups of each of `member_ids` as [`read_groups_of`] reads them, one entry per
/// distinct id (an empty list for a member of no group).
pub(super) fn read_groups_of_many(
    conn: &Connection,
    tenant: &str,
    member_ids: &[&str],
) -> Result<HashMap<String, Vec<GroupRef>>, StorageError> {
    let mut out = no_groups(member_ids);
    if out.len() <= 1 {
        // One member (the page of a lookup such as `userName eq`): the single-member
        // statement, without the `rarray` table of the batch statement.
        for (id, groups) in &mut out {
            *groups = read_groups_of(conn, tenant, id)?;
        }
        return Ok(out);
    }
    // The distinct ids (the keys of `out`): each id's groups are read once.
    let ids = Param::texts(out.keys().map(String::as_str));
    let mut stmt = conn.prepare_cached(GROUPS_OF_MANY).map_err(backend_err)?;
    let mut rows = stmt.query(params![tenant, ids]).map_err(backend_err)?;
    let mut found: HashMap<String, Vec<SeqGroup>> = HashMap::new();
    while let Some(row) = rows.next().map_err(backend_err)? {
        let member: String = row.get(0).map_err(backend_err)?;
        let group = seq_group(row, 1).map_err(backend_err)?;
        found.entry(member).or_default().push(group);
    }
    for (member, groups) in found {
        out.insert(member, oldest_first(groups));
    }
    Ok(out)
}

pub(super) fn not_found_or_mismatch(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
) -> Result<StorageError, StorageError> {
    let current: Option<i64> = tx
        .prepare_cached(
            "SELECT version FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![ctx.tenant, ctx.rtype, id], |r| r.get(0))
                .optional()
        })
        .map_err(backend_err)?;
    Ok(match current {
        Some(v) => StorageError::version_mismatch(to_version(v)),
        None => StorageError::not_found(id),
    })
}
