//! [`Storage`] for [`SqliteStorage`]: each call of the trait as SQLite runs it (the
//! module documentation of the parent says how reads and writes are scheduled).

use super::recent_reads::VersionAndGroups;
use super::*;
use crate::storage::sql::UniqueLookup;

#[async_trait]
impl Storage for SqliteStorage {
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        let paths = self.inner.layouts.paths(schema);
        crate::storage::sql::filter::can_filter_with::<Sqlite>(schema, &paths, filter)
    }

    /// The filter is translated as the first step of a query
    /// ([`crate::storage::sql::push_down`]), which refuses what [`Storage::can_filter`]
    /// rejects.
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
        let ctx = self.inner.layouts.ctx(scope);
        self.ensure_index(&ctx).await?;
        let new = PreparedCreate::new(&ctx, new)?;
        self.inner
            .write(move |tx| {
                let out = insert_resource(tx, &ctx, new)?;
                let change = NewChange::new(&ctx.rtype, &out.id, ChangeKind::Created, 1);
                changes::append(tx, &ctx.tenant, &[change])?;
                Ok(out)
            })
            .await
    }

    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError> {
        let key = ResourceKey::new(scope, id, load);
        let with_members = key.with_members;
        let read = move |inner: &Inner| {
            inner.read_with_values(|conn, values| {
                if key.with_attributes {
                    read_resource(conn, &key)
                } else {
                    version_with_groups(inner, conn, values, &key).map(|(stored, _)| stored)
                }
            })
        };
        if with_members {
            self.blocking(read).await
        } else {
            self.point_read(read).await
        }
    }

    /// One statement (`id IN` the ids, an array: [`Param::texts`]); with members, in one read
    /// transaction. The JSON is parsed on the calling task, as a query's page is. The
    /// attributes come whatever `load` says (the server calls it for them).
    async fn get_many(
        &self,
        scope: Scope<'_>,
        ids: &[&str],
        load: Load,
    ) -> Result<Vec<StoredResource>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let key = ResourceKey::new(scope, "", load);
        let list = Param::texts(ids.iter().copied());
        let read = move |inner: &Inner| {
            inner.read(|conn| {
                if key.with_members {
                    read_tx(conn, |tx| read_many(tx, &key, &list))
                } else {
                    read_many(conn, &key, &list)
                }
            })
        };
        let raw = if ids.len() <= POINT_READ_IDS && !load.members {
            self.point_read(read).await?
        } else {
            self.blocking(read).await?
        };
        raw.into_iter().map(RawResource::parse).collect()
    }

    async fn get_with_groups(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<(StoredResource, Vec<GroupRef>), StorageError> {
        let key = ResourceKey::new(scope, id, load);
        // One call and one snapshot: without members, one statement (no transaction around
        // it); with them, one read transaction over the resource, its members and its groups.
        if !key.with_members {
            return self
                .point_read(move |inner| {
                    inner.read_with_values(|conn, values| {
                        if key.with_attributes {
                            read_resource_with_groups(conn, &key)
                        } else {
                            version_with_groups(inner, conn, values, &key)
                        }
                    })
                })
                .await;
        }
        self.blocking(move |inner| {
            inner.read(|conn| {
                read_tx(conn, |tx| {
                    let stored = read_resource(tx, &key)?;
                    let groups = read_groups_of(tx, &key.tenant, &key.id)?;
                    Ok((stored, groups))
                })
            })
        })
        .await
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
        let tenant = tenant.clone();
        self.blocking(move |inner| inner.read(|conn| changes::since(conn, &tenant, since, limit)))
            .await
    }

    async fn last_change(&self, tenant: &TenantId) -> Result<u64, StorageError> {
        let tenant = tenant.as_str().to_string();
        self.point_read(move |inner| inner.read(|conn| changes::last(conn, &tenant)))
            .await
    }

    async fn prune_changes(&self, tenant: &TenantId, through: u64) -> Result<u64, StorageError> {
        let tenant = tenant.as_str().to_string();
        self.inner
            .write(move |tx| changes::prune(tx, &tenant, through))
            .await
    }

    async fn delete(
        &self,
        scope: Scope<'_>,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StorageError> {
        let ctx = self.inner.layouts.ctx(scope);
        let id = id.to_string();
        self.inner
            .write(move |tx| {
                let expected = expected_version.map(clamp);
                let deleted: Option<(i64, i64)> = tx
                    .prepare_cached(
                        "DELETE FROM resources WHERE tenant = ?1 AND rtype = ?2 AND id = ?3 \
                     AND (?4 IS NULL OR version = ?4) RETURNING version, seq",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![ctx.tenant, ctx.rtype, id, expected], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .optional()
                    })
                    .map_err(backend_err)?;
                let Some((version, seq)) = deleted else {
                    return Err(not_found_or_mismatch(tx, &ctx, &id)?);
                };
                delete_children(tx, seq)?;
                tx.counters().add_resources(&ctx.tenant, &ctx.rtype, -1);
                let mut feed = vec![NewChange::new(
                    &ctx.rtype,
                    &id,
                    ChangeKind::Deleted,
                    to_version(version),
                )];
                // Its membership in every group of the tenant. Those groups change:
                // version and meta.lastModified.
                let groups = tx
                    .prepare_cached(
                        "SELECT seq, json, rtype, id FROM resources WHERE seq IN \
                     (SELECT group_seq FROM members WHERE tenant = ?1 AND member_id = ?2) \
                     ORDER BY seq",
                    )
                    .and_then(|mut s| {
                        s.query_map(params![ctx.tenant, id], |r| {
                            Ok((
                                r.get::<_, i64>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, String>(3)?,
                            ))
                        })?
                        .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(backend_err)?;
                if !groups.is_empty() {
                    let now = last_modified_now();
                    let mut touch = tx
                        .prepare_cached(
                            "UPDATE resources SET version = version + 1, json = ?2 WHERE seq = ?1 \
                         RETURNING version",
                        )
                        .map_err(backend_err)?;
                    for (seq, json, grtype, gid) in groups {
                        let mut group = parse_json(&json)?;
                        touch_last_modified(&mut group, &now);
                        let version: i64 = touch
                            .query_row(params![seq, to_json(&group)?], |r| r.get(0))
                            .map_err(backend_err)?;
                        feed.push(NewChange::new(
                            grtype,
                            gid,
                            ChangeKind::Members,
                            to_version(version),
                        ));
                    }
                }
                tx.prepare_cached("DELETE FROM members WHERE tenant = ?1 AND member_id = ?2")
                    .and_then(|mut s| s.execute(params![ctx.tenant, id]))
                    .map_err(backend_err)?;
                changes::append(tx, &ctx.tenant, &feed)
            })
            .await
    }

    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        let ctx = self.inner.layouts.ctx(scope);
        self.query_then(ctx, query, |_, _| Ok(()))
            .await
            .map(|(page, ())| page)
    }

    /// The page and the groups of its resources in one read transaction (one snapshot, one
    /// lock of the database); a lookup by a unique value (`userName eq "x"`), in one
    /// statement (see `lookup.rs`).
    async fn query_with_groups(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<(QueryPage, HashMap<String, Vec<GroupRef>>), StorageError> {
        let ctx = self.inner.layouts.ctx(scope);
        if let Some(lookup) = UniqueLookup::of(&ctx, &query) {
            self.ensure_index(&ctx).await?;
            let (page, groups) = self
                .point_read(move |inner| {
                    inner.read_with_values(|conn, values| {
                        lookup::read_lookup(conn, values, &inner.recent, &ctx, &lookup)
                    })
                })
                .await?;
            return Ok((page.parse()?, groups));
        }
        let tenant = scope.tenant.as_str().to_string();
        self.query_then(ctx, query, move |conn, page| {
            read_groups_of_many(conn, &tenant, &page.ids())
        })
        .await
    }

    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        change: MembersChange,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        let ctx = self.inner.layouts.ctx(scope);
        let id = id.to_string();
        self.inner
            .write(move |tx| {
                let (seq, version, json) = current_row(tx, &ctx, &id, expected_version)?;
                if !apply_members_change(tx, &ctx, seq, change)? {
                    // RFC 7644 §3.5.2.1: nothing changed, so no new version or lastModified.
                    return Ok(StoredResource {
                        id,
                        version,
                        resource: parse_json(&json)?,
                    });
                }
                // The membership is part of the group: its meta.lastModified changes too.
                let mut resource = parse_json(&json)?;
                touch_last_modified(&mut resource, &last_modified_now());
                let (_, version, _) =
                    bump(tx, &ctx, &id, Some(&to_json(&resource)?), Some(version))?;
                let change = NewChange::new(&ctx.rtype, &id, ChangeKind::Members, version);
                changes::append(tx, &ctx.tenant, &[change])?;
                Ok(StoredResource {
                    id,
                    version,
                    resource,
                })
            })
            .await
    }

    /// One query: the members index probed for every id (an array of them, so one cached
    /// statement serves every page size), joined to the groups.
    async fn groups_of_many(
        &self,
        tenant: &TenantId,
        member_ids: &[&str],
    ) -> Result<HashMap<String, Vec<GroupRef>>, StorageError> {
        if member_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let tenant = tenant.as_str().to_string();
        let ids: Vec<String> = member_ids.iter().map(|id| (*id).to_string()).collect();
        let read = move |inner: &Inner| {
            inner.read(|conn| {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                read_groups_of_many(conn, &tenant, &ids)
            })
        };
        // The groups of a few members (the page of a lookup) are a few index probes: a point
        // read.
        if member_ids.len() <= POINT_READ_IDS {
            self.point_read(read).await
        } else {
            self.blocking(read).await
        }
    }

    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StorageError> {
        let tenant = tenant.as_str().to_string();
        let member_id = member_id.to_string();
        self.point_read(move |inner| inner.read(|conn| read_groups_of(conn, &tenant, &member_id)))
            .await
    }
}

/// The version and the groups of `key`'s resource without its attributes: remembered with
/// the tenant's change head, or read (see `recent_reads.rs`).
fn version_with_groups(
    inner: &Inner,
    conn: &Connection,
    values: &mut SnapshotValues,
    key: &ResourceKey,
) -> Result<(StoredResource, Vec<GroupRef>), StorageError> {
    let scope = (key.tenant.as_str(), key.rtype.as_str(), key.id.as_str());
    let answer = inner.recent.resource(conn, values, scope, |conn| {
        let (stored, groups) = read_resource_with_groups(conn, key)?;
        Ok(VersionAndGroups {
            version: stored.version,
            groups,
        })
    })?;
    let stored = StoredResource {
        id: key.id.clone(),
        version: answer.version,
        resource: Resource::new(),
    };
    Ok((stored, answer.groups))
}
