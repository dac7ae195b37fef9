//! [`Storage`] for [`PostgresStorage`]: each call of the trait as PostgreSQL runs it (the
//! module documentation of the parent says how reads and writes are scheduled).

use super::*;

#[async_trait]
impl Storage for PostgresStorage {
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        let paths = self.layouts.paths(schema);
        crate::storage::sql::filter::can_filter_with::<Postgres>(schema, &paths, filter)
    }

    /// The filter is translated as the first step of a query ([`crate::storage::sql::push_down`]),
    /// which refuses what [`Storage::can_filter`] rejects.
    fn refuses_unsupported_filters(&self) -> bool {
        true
    }

    fn can_sort(&self, schema: &ResourceSchema, sort: &SortSpec) -> bool {
        crate::storage::sql::can_sort(schema, sort)
    }

    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.layouts.ctx(scope);
        self.ensure_index(&ctx).await?;
        // Its JSON and index rows are computed here, not in the batch every create of the
        // tenant and type waits for.
        let new = PreparedCreate::new(&ctx, new)?;
        self.create_grouped(ctx, new).await
    }

    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.layouts.ctx(scope);
        let mut client = self.client().await?;
        let args: [Param<'_>; 3] = [&ctx.tenant, &ctx.rtype, &id];
        if !(load.attributes && load.members && ctx.has_members) {
            // One statement; the version only (no JSON sent or parsed) for `Load::VERSION`.
            let sql = if load.attributes {
                GET_RESOURCE
            } else {
                GET_VERSION
            };
            let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
            let row = client.query_opt(&stmt, &args).await.map_err(pg_err)?;
            let Some(row) = row else {
                return Err(StorageError::not_found(id));
            };
            return Ok(StoredResource {
                id: id.to_string(),
                version: to_version(get(&row, 1)?),
                resource: row_data(&row, 2)?,
            });
        }
        // With members: one snapshot for the resource and its members.
        let tx = read_snapshot(&mut client).await?;
        let stmt = tx.prepare_cached(GET_RESOURCE).await.map_err(pg_err)?;
        let row = tx.query_opt(&stmt, &args).await.map_err(pg_err)?;
        let Some(row) = row else {
            return Err(StorageError::not_found(id));
        };
        let seq: i64 = get(&row, 0)?;
        let members = load_members(&tx, &[seq]).await?;
        tx.commit().await.map_err(pg_err)?;
        let mut resource = row_data(&row, 2)?;
        if let Some(m) = members.get(&seq) {
            resource = with_members(resource, m);
        }
        Ok(StoredResource {
            id: id.to_string(),
            version: to_version(get(&row, 1)?),
            resource,
        })
    }

    /// One statement (`id = ANY($3)`); with members, one REPEATABLE READ snapshot for the
    /// resources and their members. The attributes come whatever `load` says (the server
    /// calls it for them).
    async fn get_many(
        &self,
        scope: Scope<'_>,
        ids: &[&str],
        load: Load,
    ) -> Result<Vec<StoredResource>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ctx = self.layouts.ctx(scope);
        let mut client = self.client().await?;
        let args: [Param<'_>; 3] = [&ctx.tenant, &ctx.rtype, &ids];
        let (rows, mut members) = if load.members && ctx.has_members {
            let tx = read_snapshot(&mut client).await?;
            let stmt = tx.prepare_cached(GET_MANY).await.map_err(pg_err)?;
            let rows = tx.query(&stmt, &args).await.map_err(pg_err)?;
            let seqs = rows
                .iter()
                .map(|r| get::<i64>(r, 0))
                .collect::<Result<Vec<i64>, StorageError>>()?;
            let members = load_members(&tx, &seqs).await?;
            tx.commit().await.map_err(pg_err)?;
            (rows, members)
        } else {
            let stmt = client.prepare_cached(GET_MANY).await.map_err(pg_err)?;
            let rows = client.query(&stmt, &args).await.map_err(pg_err)?;
            (rows, HashMap::new())
        };
        rows.iter()
            .map(|row| {
                let mut resource = row_data(row, 3)?;
                if let Some(m) = members.remove(&get::<i64>(row, 0)?) {
                    resource = with_members(resource, &m);
                }
                Ok(StoredResource {
                    id: get(row, 1)?,
                    version: to_version(get(row, 2)?),
                    resource,
                })
            })
            .collect()
    }

    async fn replace(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.replace_as(
            scope,
            id,
            replacement,
            expected_version,
            ChangeKind::Replaced,
        )
        .await
    }

    async fn replace_after_patch(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.replace_as(
            scope,
            id,
            replacement,
            expected_version,
            ChangeKind::Modified,
        )
        .await
    }

    async fn changes_since(
        &self,
        tenant: &TenantId,
        since: u64,
        limit: usize,
    ) -> Result<Vec<ChangeRecord>, StorageError> {
        let mut client = self.client().await?;
        changes::since(&mut client, tenant, since, limit).await
    }

    async fn last_change(&self, tenant: &TenantId) -> Result<u64, StorageError> {
        let client = self.client().await?;
        Ok(changes::head(&client, tenant.as_str()).await?.0)
    }

    async fn prune_changes(&self, tenant: &TenantId, through: u64) -> Result<u64, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let n = changes::prune(&tx, tenant.as_str(), through).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(n)
    }

    async fn delete(
        &self,
        scope: Scope<'_>,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StorageError> {
        let ctx = self.layouts.ctx(scope);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let deleted = match expected_version.map(clamp) {
            None => {
                let stmt = tx
                    .prepare_cached(
                        "DELETE FROM resources WHERE tenant = $1 AND rtype = $2 AND id = $3 \
                         RETURNING version",
                    )
                    .await
                    .map_err(pg_err)?;
                tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id]).await
            }
            Some(v) => {
                let stmt = tx
                    .prepare_cached(
                        "DELETE FROM resources WHERE tenant = $1 AND rtype = $2 AND id = $3 \
                         AND version = $4 RETURNING version",
                    )
                    .await
                    .map_err(pg_err)?;
                tx.query_opt(&stmt, &[&ctx.tenant, &ctx.rtype, &id, &v])
                    .await
            }
        }
        .map_err(pg_err)?;
        let Some(deleted) = deleted else {
            return Err(not_found_or_mismatch(&tx, &ctx, id).await?);
        };
        let mut feed = vec![NewChange::new(
            &ctx.rtype,
            id,
            ChangeKind::Deleted,
            to_version(get(&deleted, 0)?),
        )];
        // unique_values, attr_index and the resource's own members went with it (ON DELETE
        // CASCADE). Now its membership in every group of the tenant.
        // Those groups change: version and meta.lastModified (JSON, not JSONB, keeps the
        // attribute order, so the new JSON is written whole; the rows are locked first).
        let groups_stmt = tx
            .prepare_cached(
                "SELECT seq, data, rtype, id FROM resources WHERE seq IN \
                 (SELECT group_seq FROM members WHERE tenant = $1 AND member_id = $2) \
                 ORDER BY seq FOR UPDATE",
            )
            .await
            .map_err(pg_err)?;
        let groups = tx
            .query(&groups_stmt, &[&ctx.tenant, &id])
            .await
            .map_err(pg_err)?;
        if !groups.is_empty() {
            let now = last_modified_now();
            let touch = tx
                .prepare_cached(
                    "UPDATE resources SET version = version + 1, data = $2 WHERE seq = $1 \
                     RETURNING version",
                )
                .await
                .map_err(pg_err)?;
            for row in &groups {
                let seq: i64 = get(row, 0)?;
                let mut group = row_data(row, 1)?;
                touch_last_modified(&mut group, &now);
                let updated = tx
                    .query_one(&touch, &[&seq, &Json(group.as_map())])
                    .await
                    .map_err(pg_err)?;
                feed.push(NewChange::new(
                    get::<String>(row, 2)?,
                    get::<String>(row, 3)?,
                    ChangeKind::Members,
                    to_version(get(&updated, 0)?),
                ));
            }
        }
        let unlink = tx
            .prepare_cached("DELETE FROM members WHERE tenant = $1 AND member_id = $2")
            .await
            .map_err(pg_err)?;
        tx.execute(&unlink, &[&ctx.tenant, &id])
            .await
            .map_err(pg_err)?;
        changes::append(&tx, &ctx.tenant, &feed).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        self.query_in(&self.layouts.ctx(scope), query).await
    }

    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        change: MembersChange,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.layouts.ctx(scope);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let (seq, version, resource) = locked_row(&tx, &ctx, id, expected_version).await?;
        if !apply_members_change(&tx, &ctx, seq, change).await? {
            // RFC 7644 §3.5.2.1: nothing changed, so no new version or lastModified.
            tx.commit().await.map_err(pg_err)?;
            return Ok(StoredResource {
                id: id.to_string(),
                version,
                resource,
            });
        }
        // The membership is part of the group: its meta.lastModified changes too.
        let mut resource = resource;
        touch_last_modified(&mut resource, &last_modified_now());
        let (_, version, _) = bump(&tx, &ctx, id, Some(&resource), Some(version)).await?;
        let change = NewChange::new(&ctx.rtype, id, ChangeKind::Members, version);
        changes::append(&tx, &ctx.tenant, &[change]).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(StoredResource {
            id: id.to_string(),
            version,
            resource,
        })
    }

    /// One query: `member_id = ANY($2)` over the members index, joined to the groups.
    async fn groups_of_many(
        &self,
        tenant: &TenantId,
        member_ids: &[&str],
    ) -> Result<HashMap<String, Vec<GroupRef>>, StorageError> {
        let mut out = no_groups(member_ids);
        if member_ids.is_empty() {
            return Ok(out);
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(GROUPS_OF_MANY)
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(&stmt, &[&tenant.as_str(), &member_ids])
            .await
            .map_err(pg_err)?;
        for row in &rows {
            let member: String = get(row, 3)?;
            out.entry(member).or_default().push(group_ref(row, 0)?);
        }
        Ok(out)
    }

    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StorageError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(GROUPS_OF).await.map_err(pg_err)?;
        let rows = client
            .query(&stmt, &[&tenant.as_str(), &member_id])
            .await
            .map_err(pg_err)?;
        group_refs(&rows)
    }

    /// A lookup by a unique value (`userName eq "..."`, what a provisioning client asks
    /// before every create) is one statement for the page and its groups, shared with the
    /// lookups queued with it (`group_read.rs`); any other query is the page, then its
    /// groups.
    async fn query_with_groups(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<(QueryPage, HashMap<String, Vec<GroupRef>>), StorageError> {
        let ctx = self.layouts.ctx(scope);
        if let Some(lookup) = group_read::unique_lookup(&ctx, &query) {
            self.ensure_index(&ctx).await?;
            return self.lookup_page(lookup).await;
        }
        let page = self.query_in(&ctx, query).await?;
        let groups = crate::storage::groups_of_page(self, scope.tenant, &page).await?;
        Ok((page, groups))
    }

    async fn get_with_groups(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<(StoredResource, Vec<GroupRef>), StorageError> {
        if load.attributes && load.members && has_members(scope.schema) {
            // Members need their own snapshot (see `get`); a type with members rarely has
            // computed groups, so the two steps are fine here.
            let stored = self.get(scope, id, load).await?;
            let groups = self.groups_of(scope.tenant, &stored.id).await?;
            return Ok((stored, groups));
        }
        // One statement, shared with the GETs queued with it.
        self.get_grouped(scope, id, load).await
    }
}
