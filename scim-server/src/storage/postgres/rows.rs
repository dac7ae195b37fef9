//! Rows: reading and writing resources, their index rows, uniqueness claims and members.

use super::*;

use deadpool_postgres::GenericClient;

/// One resource by id (`$1` tenant, `$2` type, `$3` id).
pub(super) const GET_RESOURCE: &str = "SELECT seq, version, data FROM resources \
                            WHERE tenant = $1 AND rtype = $2 AND id = $3";

/// The `displayName` of the group row `g`, when it is a string: taken out by the server, so
/// a group's JSON is neither sent nor parsed to render a member's `groups`.
macro_rules! group_display {
    () => {
        "CASE json_typeof(g.data -> 'displayName') WHEN 'string' \
         THEN g.data ->> 'displayName' END"
    };
}

/// The groups of the resource `r` as one JSON array column, oldest first.
macro_rules! groups_of_r {
    () => {
        concat!(
            "(SELECT json_agg(json_build_array(g.id, g.rtype, ",
            group_display!(),
            ") ORDER BY g.seq) FROM members m JOIN resources g ON g.seq = m.group_seq \
             WHERE m.tenant = $1 AND m.member_id = r.id AND g.tenant = $1)"
        )
    };
}

/// The resource `r` of a tenant (`$1`) and type (`$2`) with the id `$3`.
macro_rules! r_by_id {
    () => {
        " FROM resources r WHERE r.tenant = $1 AND r.rtype = $2 AND r.id = $3"
    };
}

/// The resources `r` of a tenant (`$1`) and type (`$2`) with an id among `$3` (an array).
macro_rules! r_by_ids {
    () => {
        " FROM resources r WHERE r.tenant = $1 AND r.rtype = $2 AND r.id = ANY($3)"
    };
}

/// The groups of a tenant (`$1`) with a direct member (`$2`), oldest first.
pub(super) const GROUPS_OF: &str = concat!(
    "SELECT g.id, g.rtype, ",
    group_display!(),
    " FROM members m JOIN resources g ON g.seq = m.group_seq \
     WHERE m.tenant = $1 AND m.member_id = $2 AND g.tenant = $1 ORDER BY g.seq"
);

/// The groups of a tenant (`$1`) with a direct member among `$2` (an array), oldest first.
pub(super) const GROUPS_OF_MANY: &str = concat!(
    "SELECT g.id, g.rtype, ",
    group_display!(),
    ", m.member_id FROM members m JOIN resources g ON g.seq = m.group_seq \
     WHERE m.tenant = $1 AND m.member_id = ANY($2) AND g.tenant = $1 ORDER BY g.seq"
);

/// One resource (`$1` tenant, `$2` type, `$3` id) and its groups in one statement and one
/// row: the groups, oldest first, as a JSON array of `[id, type, display]` (NULL for none),
/// so the resource's JSON is sent once however many groups it is in.
pub(super) const RESOURCE_WITH_GROUPS: &str =
    concat!("SELECT r.version, r.data, ", groups_of_r!(), r_by_id!());

/// [`RESOURCE_WITH_GROUPS`] without the resource's JSON (a NULL in its place), for
/// [`Load::VERSION`](crate::storage::Load::VERSION).
pub(super) const VERSION_WITH_GROUPS: &str =
    concat!("SELECT r.version, NULL::json, ", groups_of_r!(), r_by_id!());

/// The resources `r` of a tenant (`$1`) and type (`$2`) whose `attr_index` row under the
/// key `$3` holds one of the values `$4` (an array), as `a`.
macro_rules! r_by_values {
    () => {
        " FROM attr_index a JOIN resources r ON r.seq = a.seq \
         WHERE a.tenant = $1 AND a.rtype = $2 AND a.path_key = $3 AND a.value_norm = ANY($4) \
         AND r.tenant = $1 AND r.rtype = $2"
    };
}

/// The resources (and their groups) with one of several values (`$4`) of one attribute
/// (`$3`): [`RESOURCE_WITH_GROUPS`]'s columns, then the id, the value and the `seq`.
pub(super) const LOOKUP_WITH_GROUPS: &str = concat!(
    "SELECT r.version, r.data, ",
    groups_of_r!(),
    ", r.id, a.value_norm, r.seq",
    r_by_values!()
);

/// [`LOOKUP_WITH_GROUPS`] without the resources' JSON (a NULL in its place).
pub(super) const LOOKUP_VERSIONS_WITH_GROUPS: &str = concat!(
    "SELECT r.version, NULL::json, ",
    groups_of_r!(),
    ", r.id, a.value_norm, r.seq",
    r_by_values!()
);

/// [`RESOURCE_WITH_GROUPS`] of several ids (`$3`, an array), with each row's id last.
pub(super) const RESOURCES_WITH_GROUPS: &str = concat!(
    "SELECT r.version, r.data, ",
    groups_of_r!(),
    ", r.id",
    r_by_ids!()
);

/// [`VERSION_WITH_GROUPS`] of several ids (`$3`, an array), with each row's id last.
pub(super) const VERSIONS_WITH_GROUPS: &str = concat!(
    "SELECT r.version, NULL::json, ",
    groups_of_r!(),
    ", r.id",
    r_by_ids!()
);

/// The resources of a list of ids ([`Storage::get_many`](crate::storage::Storage::get_many)).
pub(super) const GET_MANY: &str = "SELECT seq, id, version, data FROM resources \
                            WHERE tenant = $1 AND rtype = $2 AND id = ANY($3)";

/// [`GET_RESOURCE`] without the resource's JSON (a NULL in its place), for
/// [`Load::VERSION`](crate::storage::Load::VERSION).
pub(super) const GET_VERSION: &str = "SELECT seq, version, NULL::json FROM resources \
                            WHERE tenant = $1 AND rtype = $2 AND id = $3";

/// The groups of a row of [`RESOURCE_WITH_GROUPS`] (column `idx`).
pub(super) fn aggregated_groups(row: &Row, idx: usize) -> Result<Vec<GroupRef>, StorageError> {
    type Agg = Vec<(String, String, Option<String>)>;
    let groups: Option<Json<Agg>> = row
        .try_get(idx)
        .map_err(|e| StorageError::backend(format!("postgres: groups of a resource: {e}")))?;
    Ok(groups
        .map(|Json(groups)| groups)
        .unwrap_or_default()
        .into_iter()
        .map(|(id, resource_type, display)| GroupRef {
            id,
            resource_type,
            display,
        })
        .collect())
}

/// The [`GroupRef`] of a row of [`GROUPS_OF`] or [`GROUPS_OF_MANY`] (id, type and display
/// from column `first` on).
pub(super) fn group_ref(row: &Row, first: usize) -> Result<GroupRef, StorageError> {
    Ok(GroupRef {
        id: get(row, first)?,
        resource_type: get(row, first + 1)?,
        display: get(row, first + 2)?,
    })
}

/// [`GroupRef`]s from rows of [`GROUPS_OF`].
pub(super) fn group_refs(rows: &[Row]) -> Result<Vec<GroupRef>, StorageError> {
    rows.iter().map(|row| group_ref(row, 0)).collect()
}

/// The resource in column `idx`; empty when the statement selected a NULL there instead of
/// the (NOT NULL) `data` column ([`Load::VERSION`](crate::storage::Load::VERSION)).
pub(super) fn row_data(row: &Row, idx: usize) -> Result<Resource, StorageError> {
    let data: Option<Json<Map<String, Value>>> = row
        .try_get(idx)
        .map_err(|e| StorageError::backend(format!("postgres: corrupt resource JSON: {e}")))?;
    Ok(data.map_or_else(Resource::new, |Json(map)| Resource::from(map)))
}

/// A read-only REPEATABLE READ transaction: one snapshot for several statements.
pub(super) async fn read_snapshot(
    client: &mut deadpool_postgres::Client,
) -> Result<Transaction<'_>, StorageError> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg_err)
}

pub(super) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: usize,
) -> Result<T, StorageError> {
    row.try_get(idx).map_err(pg_err)
}

/// Loads the members of the groups `seqs`, each group's in the order they were added.
pub(super) async fn load_members<C: deadpool_postgres::GenericClient + Sync>(
    client: &C,
    seqs: &[i64],
) -> Result<HashMap<i64, Vec<Member>>, StorageError> {
    let mut out: HashMap<i64, Vec<Member>> = HashMap::new();
    if seqs.is_empty() {
        return Ok(out);
    }
    let stmt = client
        .prepare_cached(
            "SELECT group_seq, member_id, kind, display FROM members \
             WHERE group_seq = ANY($1) ORDER BY group_seq, ord",
        )
        .await
        .map_err(pg_err)?;
    for row in client.query(&stmt, &[&seqs]).await.map_err(pg_err)? {
        out.entry(get(&row, 0)?).or_default().push(Member {
            value: get(&row, 1)?,
            kind: get(&row, 2)?,
            display: get(&row, 3)?,
        });
    }
    Ok(out)
}

pub(super) async fn insert_members(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    members: &[Member],
) -> Result<u64, StorageError> {
    if members.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = members.iter().map(|m| m.value.as_str()).collect();
    let kinds: Vec<Option<&str>> = members.iter().map(|m| m.kind.as_deref()).collect();
    let displays: Vec<Option<&str>> = members.iter().map(|m| m.display.as_deref()).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO members (group_seq, tenant, member_id, kind, display) \
             SELECT $1, $2, m, k, d FROM unnest($3::text[], $4::text[], $5::text[]) \
             WITH ORDINALITY AS x (m, k, d, o) ORDER BY o \
             ON CONFLICT (group_seq, member_id) DO NOTHING",
        )
        .await
        .map_err(pg_err)?;
    tx.execute(&stmt, &[&seq, &ctx.tenant, &ids, &kinds, &displays])
        .await
        .map_err(pg_err)
}

pub(super) async fn insert_unique(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    keys: &[UniqueKey],
) -> Result<(), StorageError> {
    // A fixed order (sorted) keeps concurrent writers from deadlocking on each other's keys.
    let keys: BTreeSet<&UniqueKey> = keys.iter().collect();
    if keys.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO unique_values (tenant, rtype, attribute, value, seq) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(pg_err)?;
    for k in keys {
        let value = k.value.as_bytes();
        match tx
            .execute(
                &stmt,
                &[&ctx.tenant, &ctx.rtype, &k.attribute, &value, &seq],
            )
            .await
        {
            Ok(_) => {}
            Err(e) if unique_violation(&e).is_some() => {
                return Err(StorageError::uniqueness(&k.attribute));
            }
            Err(e) => return Err(pg_err(e)),
        }
    }
    Ok(())
}

/// Inserts the `attr_index` rows of the resource `seq` of `ctx`'s scope, `keys` their
/// path keys in order.
pub(super) async fn insert_index(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    rows: BTreeSet<IndexRow>,
    keys: &[i64],
) -> Result<(), StorageError> {
    if rows.is_empty() {
        return Ok(());
    }
    let unchecked = ctx.guard.unchecked(keyed(&rows, keys));
    record_keys(tx, ctx.keys(), &ctx.guard, unchecked).await?;
    let mut cols = RowColumns::default();
    cols.push(&ctx.tenant, seq, rows, keys);
    let stmt = tx
        .prepare_cached(
            "INSERT INTO attr_index (tenant, rtype, path_key, value_norm, value_num, skey, seq, \
             elem) SELECT $1, $2, p, v, n, k, $3, e FROM unnest($4::int8[], $5::bytea[], \
             $6::float8[], $7::bytea[], $8::int4[]) AS x (p, v, n, k, e)",
        )
        .await
        .map_err(pg_err)?;
    tx.execute(
        &stmt,
        &[
            &ctx.tenant,
            &ctx.rtype,
            &seq,
            &cols.path_key,
            &cols.value,
            &cols.num,
            &cols.skey,
            &cols.elem,
        ],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

/// Records in `path_keys` the path of each `(key, path)` of `unchecked` (paths of
/// `scope` that `guard` has not seen recorded: [`KeyGuard::unchecked`]), in key order (two
/// transactions recording the same keys wait for each other in one order, never in a
/// cycle), and refuses the write when a key is recorded for another path (see
/// `sql::path_key`).
pub(super) async fn record_keys<C: GenericClient + Sync>(
    client: &C,
    scope: PathKeys<'_>,
    guard: &KeyGuard,
    mut unchecked: Vec<(i64, &str)>,
) -> Result<(), StorageError> {
    if unchecked.is_empty() {
        return Ok(());
    }
    unchecked.sort_unstable();
    let insert = client
        .prepare_cached(
            "INSERT INTO path_keys (path_key, tenant, rtype, path) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (path_key) DO NOTHING",
        )
        .await
        .map_err(pg_err)?;
    let owner = client
        .prepare_cached("SELECT tenant, rtype, path FROM path_keys WHERE path_key = $1")
        .await
        .map_err(pg_err)?;
    for (key, path) in unchecked {
        client
            .execute(&insert, &[&key, &scope.tenant(), &scope.rtype(), &path])
            .await
            .map_err(pg_err)?;
        let row = client.query_one(&owner, &[&key]).await.map_err(pg_err)?;
        let (tenant, rtype, recorded): (String, String, String) =
            (get(&row, 0)?, get(&row, 1)?, get(&row, 2)?);
        check_owner(scope, path, key, (&tenant, &rtype, &recorded))?;
        guard.checked(key);
    }
    Ok(())
}

pub(super) async fn insert_resource(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    mut new: PreparedCreate,
) -> Result<StoredResource, StorageError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO resources (tenant, rtype, id, version, data) \
             VALUES ($1, $2, $3, 1, $4::text::json) RETURNING seq",
        )
        .await
        .map_err(pg_err)?;
    let data: &str = &new.prepared.json;
    let seq: i64 = match tx
        .query_one(&stmt, &[&ctx.tenant, &ctx.rtype, &new.id, &data])
        .await
    {
        Ok(row) => get(&row, 0)?,
        Err(e) if unique_violation(&e) == Some("resources_pkey") => {
            return Err(StorageError::new(
                StorageErrorKind::IdTaken,
                format!("a resource with id {} already exists", new.id),
            ));
        }
        Err(e) => return Err(pg_err(e)),
    };
    insert_unique(tx, ctx, seq, &new.unique).await?;
    let rows = std::mem::take(&mut new.prepared.rows);
    insert_index(tx, ctx, seq, rows, &new.prepared.keys).await?;
    insert_members(tx, ctx, seq, &new.members).await?;
    Ok(created_resource(ctx, new))
}

/// What a create written by [`insert_batch`] returns: as [`insert_resource`] returns it.
pub(super) fn created_resource(ctx: &Ctx, new: PreparedCreate) -> StoredResource {
    created(ctx, new.id, new.prepared.resource, new.members)
}

/// A created resource at version 1, with its members when its type has them.
fn created(ctx: &Ctx, id: String, resource: Resource, members: Vec<Member>) -> StoredResource {
    let resource = if ctx.has_members {
        with_members(resource, &members)
    } else {
        resource
    };
    StoredResource {
        id,
        version: 1,
        resource,
    }
}

/// Bumps the version of `id` (checking `expected` in the same statement) and, with `data`,
/// sets its JSON. Returns `(seq, new version, the stored JSON when data was None)`;
/// `NotFound` / `VersionMismatch` otherwise.
pub(super) async fn bump(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
    data: Option<&Resource>,
    expected: Option<u64>,
) -> Result<(i64, u64, Option<Resource>), StorageError> {
    let expected = expected.map(clamp);
    let row = match (data, expected) {
        (Some(r), None) => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1, data = $4 \
                     WHERE tenant = $1 AND rtype = $2 AND id = $3 RETURNING seq, version",
                )
                .await
                .map_err(pg_err)?;
            let data = Json(r.as_map());
            tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id, &data])
                .await
        }
        (Some(r), Some(v)) => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1, data = $4 \
                     WHERE tenant = $1 AND rtype = $2 AND id = $3 AND version = $5 \
                     RETURNING seq, version",
                )
                .await
                .map_err(pg_err)?;
            let data = Json(r.as_map());
            tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id, &data, &v])
                .await
        }
        (None, None) => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1 \
                     WHERE tenant = $1 AND rtype = $2 AND id = $3 RETURNING seq, version, data",
                )
                .await
                .map_err(pg_err)?;
            tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id]).await
        }
        (None, Some(v)) => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1 \
                     WHERE tenant = $1 AND rtype = $2 AND id = $3 AND version = $4 \
                     RETURNING seq, version, data",
                )
                .await
                .map_err(pg_err)?;
            tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id, &v])
                .await
        }
    }
    .map_err(pg_err)?;
    match row {
        Some(row) => {
            let stored = if data.is_none() {
                Some(row_data(&row, 2)?)
            } else {
                None
            };
            Ok((get(&row, 0)?, to_version(get(&row, 1)?), stored))
        }
        None => Err(not_found_or_mismatch(tx, ctx, id).await?),
    }
}

/// The row of `id` as `(seq, version, data)`, locked for the rest of the transaction, with
/// `expected` checked. `NotFound` / `VersionMismatch` otherwise.
pub(super) async fn locked_row(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
    expected: Option<u64>,
) -> Result<(i64, u64, Resource), StorageError> {
    let stmt = tx
        .prepare_cached(
            "SELECT seq, version, data FROM resources \
             WHERE tenant = $1 AND rtype = $2 AND id = $3 FOR UPDATE",
        )
        .await
        .map_err(pg_err)?;
    let Some(row) = tx
        .query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id])
        .await
        .map_err(pg_err)?
    else {
        return Err(StorageError::not_found(id));
    };
    let version = to_version(get(&row, 1)?);
    match expected {
        Some(v) if v != version => Err(StorageError::version_mismatch(version)),
        _ => Ok((get(&row, 0)?, version, row_data(&row, 2)?)),
    }
}

/// Applies a membership change to the group at `seq`; returns whether it changed anything
/// (member ids compare exactly, as the `members` key does).
pub(super) async fn apply_members_change(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    seq: i64,
    change: MembersChange,
) -> Result<bool, StorageError> {
    Ok(match change {
        MembersChange::Add(members) => insert_members(tx, ctx, seq, &dedupe(members)).await? > 0,
        MembersChange::Remove(ids) => {
            if ids.is_empty() {
                return Ok(false);
            }
            let stmt = tx
                .prepare_cached("DELETE FROM members WHERE group_seq = $1 AND member_id = ANY($2)")
                .await
                .map_err(pg_err)?;
            tx.execute(&stmt, &[&seq, &ids]).await.map_err(pg_err)? > 0
        }
        MembersChange::Replace(members) => {
            let members = dedupe(members);
            let current = load_members(tx, &[seq])
                .await?
                .remove(&seq)
                .unwrap_or_default();
            if current == members {
                false
            } else {
                let stmt = tx
                    .prepare_cached("DELETE FROM members WHERE group_seq = $1")
                    .await
                    .map_err(pg_err)?;
                tx.execute(&stmt, &[&seq]).await.map_err(pg_err)?;
                insert_members(tx, ctx, seq, &members).await?;
                true
            }
        }
    })
}

pub(super) async fn not_found_or_mismatch(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: &str,
) -> Result<StorageError, StorageError> {
    let stmt = tx
        .prepare_cached(
            "SELECT version FROM resources WHERE tenant = $1 AND rtype = $2 AND id = $3",
        )
        .await
        .map_err(pg_err)?;
    let row = tx
        .query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id])
        .await
        .map_err(pg_err)?;
    Ok(match row {
        Some(row) => StorageError::version_mismatch(to_version(get(&row, 0)?)),
        None => StorageError::not_found(id),
    })
}
