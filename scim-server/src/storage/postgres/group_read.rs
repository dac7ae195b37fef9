//! Group reads: the GETs by id, and the lookups by a unique value (`userName eq "..."`),
//! of one tenant and resource type that arrive while other reads of them are running share
//! the next statement.
//!
//! A GET by id is one short statement, and most of its cost on both sides is the
//! statement's own: a round trip, a message to parse and answer, an executor to start.
//! Under load (a client reading back the users it provisions, many at once), the GETs that
//! queue behind a busy reader are answered by ONE statement (`r.id = ANY($3)`), each with
//! its own row. A GET that finds a reader free runs at once, alone, as before ([`Batches`]).
//! A lookup by a unique value (what a provisioning client asks before every create) is the
//! same: its matches, their versions and their groups in one statement, shared with the
//! lookups queued with it (`a.value_norm = ANY($4)` over the attribute's index key).
//!
//! Each read still sees every write committed before it was asked for: the statement that
//! answers it starts after the read was queued.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use tokio_postgres::Row;

use super::batches::{Answer, Batches, fail_all};
use super::rows::{
    LOOKUP_VERSIONS_WITH_GROUPS, LOOKUP_WITH_GROUPS, RESOURCE_WITH_GROUPS, RESOURCES_WITH_GROUPS,
    VERSION_WITH_GROUPS, VERSIONS_WITH_GROUPS, aggregated_groups, get, row_data,
};
use super::{Param, PostgresStorage, pg_err, to_version};
use crate::storage::sql::{Ctx, UniqueLookup};
use crate::storage::{
    GroupRef, Load, QueryPage, Scope, StorageError, StorageQuery, StoredResource,
};

/// The most GETs one statement answers.
const MAX_BATCH: usize = 64;

/// The most statements answering GETs (or lookups) of one tenant, type and load at once.
/// One: the reads that arrive while it runs wait for the next, which answers them all. A
/// statement's fixed cost (a round trip, an executor to start, a wake-up on each side) is
/// then paid once per batch; two at once gave fewer GETs and lookups per second in every
/// alternating pair measured (`loadtest/README.md`).
const MAX_READERS: usize = 1;

/// What a batch of GETs reads: the tenant, the resource type and whether the resources'
/// attributes are read (or their versions alone).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct ReadKey {
    tenant: String,
    rtype: String,
    attributes: bool,
}

/// A resource and the groups it is a direct member of.
type Found = (StoredResource, Vec<GroupRef>);

/// The GETs waiting, per [`ReadKey`], and the tasks answering them.
pub(super) type Reads = Batches<ReadKey, String, Found>;

/// The queue of GETs of a new storage.
pub(super) fn reads() -> Arc<Reads> {
    Arc::new(Batches::new(MAX_BATCH, MAX_READERS))
}

impl PostgresStorage {
    /// The resource `id` of `scope` and its groups, read with the GETs queued with it.
    /// `load` decides whether the attributes are read; members are not (see the caller).
    pub(super) async fn get_grouped(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Answer<Found> {
        let key = ReadKey {
            tenant: scope.tenant.as_str().to_string(),
            rtype: scope.resource_type().to_string(),
            attributes: load.attributes,
        };
        self.reads
            .submit(key.clone(), id.to_string(), || {
                let this = self.clone();
                move |ids| {
                    let this = this.clone();
                    let key = key.clone();
                    async move { this.read_batch(&key, ids).await }
                }
            })
            .await
    }

    /// Answers the GETs of `ids`, in order: one statement for them all (a lone id is read
    /// with the one-row statement).
    async fn read_batch(&self, key: &ReadKey, ids: Vec<String>) -> Vec<Answer<Found>> {
        let n = ids.len();
        match self.read_rows(key, &ids).await {
            Ok(rows) => answers(ids, rows),
            Err(e) => fail_all(&e, n),
        }
    }

    /// The rows of `ids` that exist: each with its id and row.
    async fn read_rows(
        &self,
        key: &ReadKey,
        ids: &[String],
    ) -> Result<Vec<(String, Row)>, StorageError> {
        let client = self.client().await?;
        let tenant = key.tenant.as_str();
        let rtype = key.rtype.as_str();
        if let [id] = ids {
            let sql = if key.attributes {
                RESOURCE_WITH_GROUPS
            } else {
                VERSION_WITH_GROUPS
            };
            let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
            let args: [Param<'_>; 3] = [&tenant, &rtype, id];
            let row = client.query_opt(&stmt, &args).await.map_err(pg_err)?;
            return Ok(row.map(|row| (id.clone(), row)).into_iter().collect());
        }
        let sql = if key.attributes {
            RESOURCES_WITH_GROUPS
        } else {
            VERSIONS_WITH_GROUPS
        };
        let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
        let args: [Param<'_>; 3] = [&tenant, &rtype, &ids];
        let rows = client.query(&stmt, &args).await.map_err(pg_err)?;
        rows.into_iter()
            .map(|row| Ok((get::<String>(&row, 3)?, row)))
            .collect()
    }
}

/// Each GET's answer, in the order of `ids`, from the rows read: the resource and its
/// groups, or not found. A resource asked for twice in one batch is answered twice.
fn answers(ids: Vec<String>, rows: Vec<(String, Row)>) -> Vec<Answer<Found>> {
    let found: HashMap<String, Answer<Found>> = rows
        .into_iter()
        .map(|(id, row)| {
            let read = found_in(&id, &row);
            (id, read)
        })
        .collect();
    take_each(&ids, found, copy_answer)
        .into_iter()
        .zip(&ids)
        .map(|(answer, id)| answer.unwrap_or_else(|| Err(StorageError::not_found(id))))
        .collect()
}

/// What `found` holds for each of `asked`, in order: moved out for the last asking of a
/// key, a `copy` for an earlier one (a key asked twice in one batch), `None` when absent.
fn take_each<K: Eq + Hash, T>(
    asked: &[K],
    mut found: HashMap<K, T>,
    copy: impl Fn(&T) -> T,
) -> Vec<Option<T>> {
    let mut left: HashMap<&K, usize> = HashMap::new();
    for k in asked {
        *left.entry(k).or_default() += 1;
    }
    asked
        .iter()
        .map(|k| {
            let n = left.get_mut(k).map_or(0, |n| {
                *n -= 1;
                *n
            });
            if n == 0 {
                found.remove(k)
            } else {
                found.get(k).map(&copy)
            }
        })
        .collect()
}

/// The resource and groups in a row of the statements of [`PostgresStorage::read_rows`].
fn found_in(id: &str, row: &Row) -> Answer<Found> {
    let stored = StoredResource {
        id: id.to_string(),
        version: to_version(get(row, 0)?),
        resource: row_data(row, 1)?,
    };
    Ok((stored, aggregated_groups(row, 2)?))
}

fn copy_answer(answer: &Answer<Found>) -> Answer<Found> {
    match answer {
        Ok(found) => Ok(found.clone()),
        Err(e) => Err(StorageError::new(e.kind().clone(), e.to_string())),
    }
}

/// The most lookups by a unique value one statement answers.
const MAX_LOOKUPS: usize = 64;

/// What a batch of lookups by a unique value reads: the tenant, the resource type, the
/// attribute's `attr_index` key and whether the resources' attributes are read.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct LookupKey {
    tenant: String,
    rtype: String,
    /// The key of the path looked up in `attr_index`.
    path_key: i64,
    attributes: bool,
}

/// A resource found by a lookup: its `seq` (the order of a page), the resource and its
/// groups.
type Matched = (i64, StoredResource, Vec<GroupRef>);

/// The lookups by a unique value waiting, per [`LookupKey`], and the tasks answering them.
pub(super) type Lookups = Batches<LookupKey, Vec<u8>, Vec<Matched>>;

/// The queue of lookups of a new storage.
pub(super) fn lookups() -> Arc<Lookups> {
    Arc::new(Batches::new(MAX_LOOKUPS, MAX_READERS))
}

/// A query that is a lookup by a unique value, queued by its [`LookupKey`].
pub(super) struct Lookup {
    pub(super) key: LookupKey,
    /// The value, as the index holds it.
    pub(super) value: Vec<u8>,
    /// The lookup, for the page it cuts from the matches.
    query: UniqueLookup,
}

/// `query` as a lookup by one value of a unique attribute ([`UniqueLookup::of`]).
pub(super) fn unique_lookup(ctx: &Ctx, query: &StorageQuery<'_>) -> Option<Lookup> {
    let query = UniqueLookup::of(ctx, query)?;
    let key = LookupKey {
        tenant: ctx.tenant.clone(),
        rtype: ctx.rtype.clone(),
        path_key: ctx.keys().of(&query.found.key),
        attributes: query.attributes,
    };
    Some(Lookup {
        key,
        value: query.found.value.clone().into_bytes(),
        query,
    })
}

impl PostgresStorage {
    /// The page of a lookup by a unique value ([`unique_lookup`]) and the groups of its
    /// resources, read with the lookups queued with it.
    pub(super) async fn lookup_page(
        &self,
        lookup: Lookup,
    ) -> Result<(QueryPage, HashMap<String, Vec<GroupRef>>), StorageError> {
        let Lookup { key, value, query } = lookup;
        let matched = self
            .lookups
            .submit(key.clone(), value, || {
                let this = self.clone();
                move |values| {
                    let this = this.clone();
                    let key = key.clone();
                    async move { this.lookup_batch(&key, values).await }
                }
            })
            .await?;
        let (resources, total_results, groups) = query.page(matched, |r| r.id.as_str());
        let page = QueryPage {
            resources,
            total_results,
            next_cursor: None,
        };
        Ok((page, groups))
    }

    /// Answers the lookups of `values`, in order: one statement for them all.
    async fn lookup_batch(
        &self,
        key: &LookupKey,
        values: Vec<Vec<u8>>,
    ) -> Vec<Answer<Vec<Matched>>> {
        let n = values.len();
        let rows = match self.lookup_rows(key, &values).await {
            Ok(rows) => rows,
            Err(e) => return fail_all(&e, n),
        };
        let mut by_value: HashMap<Vec<u8>, Vec<Matched>> = HashMap::new();
        for row in &rows {
            let found = get::<Vec<u8>>(row, 4).and_then(|value| {
                let id: String = get(row, 3)?;
                let seq: i64 = get(row, 5)?;
                let (stored, groups) = found_in(&id, row)?;
                Ok((value, (seq, stored, groups)))
            });
            match found {
                Ok((value, m)) => by_value.entry(value).or_default().push(m),
                Err(e) => return fail_all(&e, n),
            }
        }
        take_each(&values, by_value, Clone::clone)
            .into_iter()
            .map(|matched| Ok(matched.unwrap_or_default()))
            .collect()
    }

    async fn lookup_rows(
        &self,
        key: &LookupKey,
        values: &[Vec<u8>],
    ) -> Result<Vec<Row>, StorageError> {
        let client = self.client().await?;
        let sql = if key.attributes {
            LOOKUP_WITH_GROUPS
        } else {
            LOOKUP_VERSIONS_WITH_GROUPS
        };
        let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
        let args: [Param<'_>; 4] = [&key.tenant, &key.rtype, &key.path_key, &values];
        client.query(&stmt, &args).await.map_err(pg_err)
    }
}
