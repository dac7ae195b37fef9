//! The `attr_index` layout of a resource type: its rows rebuilt from the stored JSON when
//! the recorded layout differs from the schema's (see `index_layouts` in `schema.rs`).

use super::*;

/// Makes the `attr_index` rows of `ctx`'s resource type (in every tenant) follow `layout`
/// (see `index_layouts` in `schema.rs`): when the recorded layout differs or is missing (a
/// schema migrated from version 1, or a resource schema whose indexed paths or `caseExact`
/// changed), the rows are rebuilt from the stored JSON in one transaction. Returns whether
/// it rebuilt.
///
/// Concurrency: an advisory lock per resource type serialises the check across processes;
/// a rebuild then locks `resources` and `attr_index` in SHARE ROW EXCLUSIVE mode (in the
/// order writers take their locks), so it waits for the writes in flight and holds new ones
/// back until it commits (reads go on): no write can interleave with it and leave rows of an
/// old version behind.
pub(super) async fn ensure_layout(
    pool: &Pool,
    schema: &str,
    ctx: &Ctx,
    layout: &str,
) -> Result<bool, StorageError> {
    let mut client = pool.get().await.map_err(pool_err)?;
    let tx = client.transaction().await.map_err(pg_err)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&schema::layout_lock_key(schema, &ctx.rtype)],
    )
    .await
    .map_err(pg_err)?;
    let current: Option<String> = match tx
        .query_opt(
            "SELECT layout FROM index_layouts WHERE rtype = $1",
            &[&ctx.rtype],
        )
        .await
        .map_err(pg_err)?
    {
        Some(row) => Some(get(&row, 0)?),
        None => None,
    };
    if current.as_deref() == Some(layout) {
        tx.commit().await.map_err(pg_err)?;
        return Ok(false);
    }
    tx.batch_execute("LOCK TABLE resources, attr_index IN SHARE ROW EXCLUSIVE MODE")
        .await
        .map_err(pg_err)?;
    tx.execute("DELETE FROM attr_index WHERE rtype = $1", &[&ctx.rtype])
        .await
        .map_err(pg_err)?;
    let select = tx
        .prepare("SELECT seq, tenant, data FROM resources WHERE rtype = $1")
        .await
        .map_err(pg_err)?;
    let insert = tx
        .prepare(
            "INSERT INTO attr_index (tenant, rtype, path_key, value_norm, value_num, skey, \
             seq, elem) SELECT t, $1, p, v, n, k, s, e \
             FROM unnest($2::text[], $3::int8[], $4::bytea[], $5::float8[], $6::bytea[], \
             $7::bigint[], $8::int4[]) AS x (t, p, v, n, k, s, e)",
        )
        .await
        .map_err(pg_err)?;
    let portal = tx.bind(&select, &[&ctx.rtype]).await.map_err(pg_err)?;
    loop {
        let rows = tx.query_portal(&portal, 1000).await.map_err(pg_err)?;
        if rows.is_empty() {
            break;
        }
        let mut cols = RowColumns::default();
        for row in &rows {
            let seq: i64 = get(row, 0)?;
            let tenant: String = get(row, 1)?;
            let rows = index_rows(&ctx.paths, &ctx.schema, &row_data(row, 2)?);
            let scope = PathKeys::new(&tenant, &ctx.rtype);
            let keys = row_keys(scope, &rows);
            let unchecked = ctx.guard.unchecked(keyed(&rows, &keys));
            record_keys(&tx, scope, &ctx.guard, unchecked).await?;
            cols.push(&tenant, seq, rows, &keys);
        }
        if !cols.seq.is_empty() {
            tx.execute(
                &insert,
                &[
                    &ctx.rtype,
                    &cols.tenant,
                    &cols.path_key,
                    &cols.value,
                    &cols.num,
                    &cols.skey,
                    &cols.seq,
                    &cols.elem,
                ],
            )
            .await
            .map_err(pg_err)?;
        }
    }
    tx.execute(
        "INSERT INTO index_layouts (rtype, layout) VALUES ($1, $2) \
         ON CONFLICT (rtype) DO UPDATE SET layout = excluded.layout",
        &[&ctx.rtype, &layout],
    )
    .await
    .map_err(pg_err)?;
    tx.commit().await.map_err(pg_err)?;
    Ok(true)
}

/// `attr_index` rows as column arrays, for one multi-row `INSERT ... SELECT FROM unnest`.
#[derive(Default)]
pub(super) struct RowColumns {
    pub(super) tenant: Vec<String>,
    pub(super) path_key: Vec<i64>,
    pub(super) value: Vec<Option<Vec<u8>>>,
    pub(super) num: Vec<Option<f64>>,
    pub(super) skey: Vec<Option<Vec<u8>>>,
    pub(super) seq: Vec<i64>,
    pub(super) elem: Vec<i32>,
}

impl RowColumns {
    /// Adds the rows of the resource `seq` of `tenant`, `keys` their path keys in order.
    pub(super) fn push(
        &mut self,
        tenant: &str,
        seq: i64,
        rows: impl IntoIterator<Item = IndexRow>,
        keys: &[i64],
    ) {
        for (row, key) in rows.into_iter().zip(keys) {
            self.tenant.push(tenant.to_string());
            self.path_key.push(*key);
            self.value.push(row.norm.map(String::into_bytes));
            self.num.push(row.num.map(|n| n.0));
            self.skey.push(row.skey);
            self.seq.push(seq);
            self.elem.push(i32::try_from(row.elem).unwrap_or(i32::MAX));
        }
    }
}
