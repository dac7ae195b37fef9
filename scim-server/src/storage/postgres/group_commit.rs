//! Group commit of creates: the creates of one tenant and resource type that arrive while
//! another batch of them is being written share the next transaction.
//!
//! Every write of a tenant updates the tenant's row of `change_heads` just before it
//! commits and holds that row's lock until the commit (see `changes.rs`): the change feed
//! needs its numbers in commit order. So the tenant's writes commit one after the other,
//! each paying a transaction's round trips and a WAL flush while the others wait for the
//! lock. Batched, a burst of creates (a provisioning cycle) pays those once per batch, and
//! writes each table's rows with one statement for the whole batch.
//!
//! A create queues itself ([`Batches`]); a task per tenant and type (started by a create
//! that finds fewer than [`MAX_WRITERS`] running) takes every queued create, up to
//! [`MAX_BATCH`], and writes them in one transaction; the creates that arrive meanwhile
//! wait for the next one.
//!
//! A batch is written with one statement per table, without a savepoint (two round trips
//! and a subtransaction fewer); when a statement fails (a `userName` taken, an id taken, or
//! two creates of the batch claiming one value), the transaction, which holds nothing but
//! the batch, is rolled back and each create is written again in a new one, in a savepoint
//! of its own, so the one that conflicts gets its own error and the others are written.
//! Then the changes of the written creates are appended to the feed and the transaction
//! commits. A create is answered only after the commit that holds it returned; when that
//! commit fails, every create of the batch gets the error (none of them is written).
//! A create alone in its batch is written without savepoints, as before batching.

use std::sync::Arc;

use deadpool_postgres::Transaction;

use super::batches::{Answer, Batches, fail_all};
use super::rows::{BatchError, created_resource, insert_batch, insert_resource};
use super::{PostgresStorage, changes, pg_err};
use crate::storage::changes::NewChange;
use crate::storage::sql::Ctx;
use crate::storage::sql::prepared::PreparedCreate;
use crate::storage::{ChangeKind, StorageError, StoredResource};

/// The most creates one transaction takes (the rest wait for the next one).
const MAX_BATCH: usize = 100;

/// The most tasks writing batches of one tenant and type at once. One: two writing at once
/// gave fewer creates per second in every alternating pair measured (`loadtest/README.md`),
/// their batches overlapping only while one waited for the feed's counter row.
const MAX_WRITERS: usize = 1;

/// The creates waiting, per tenant and resource type, and the tasks writing them.
pub(super) type Creates = Batches<(String, String), PreparedCreate, StoredResource>;

/// The queue of creates of a new storage.
pub(super) fn creates() -> Arc<Creates> {
    Arc::new(Batches::new(MAX_BATCH, MAX_WRITERS))
}

impl PostgresStorage {
    /// Queues `new` for the next batch of its tenant and type, starting a task that
    /// writes them when fewer than [`MAX_WRITERS`] are running, and waits for its answer.
    pub(super) async fn create_grouped(
        &self,
        ctx: Ctx,
        new: PreparedCreate,
    ) -> Answer<StoredResource> {
        let key = (ctx.tenant.clone(), ctx.rtype.clone());
        self.creates
            .submit(key, new, || {
                let this = self.clone();
                move |news| {
                    let this = this.clone();
                    let ctx = ctx.clone();
                    async move { this.write_batch(&ctx, news).await }
                }
            })
            .await
    }

    /// Writes `news` in one transaction and returns each create's answer, in order.
    async fn write_batch(
        &self,
        ctx: &Ctx,
        news: Vec<PreparedCreate>,
    ) -> Vec<Answer<StoredResource>> {
        let n = news.len();
        let fail_all = |e: StorageError| fail_all(&e, n);
        let mut client = match self.client().await {
            Ok(c) => c,
            Err(e) => return fail_all(e),
        };
        let mut tx = match client.transaction().await {
            Ok(tx) => tx,
            Err(e) => return fail_all(pg_err(e)),
        };
        let mut results: Vec<Answer<StoredResource>> = match <[PreparedCreate; 1]>::try_from(news) {
            Ok([new]) => match insert_resource(&tx, ctx, new).await {
                Ok(stored) => vec![Ok(stored)],
                // Nothing of the refused create stays: the transaction ends with it.
                Err(e) => return vec![Err(e)],
            },
            Err(news) => match insert_batch(&tx, ctx, &news).await {
                Ok(()) => news
                    .into_iter()
                    .map(|new| Ok(created_resource(ctx, new)))
                    .collect(),
                Err(BatchError::Conflict | BatchError::Other(_)) => {
                    // The failed statement ended the transaction, which held nothing else:
                    // each create is written again in a new one, in a savepoint of its own.
                    if let Err(e) = tx.rollback().await {
                        return fail_all(pg_err(e));
                    }
                    tx = match client.transaction().await {
                        Ok(tx) => tx,
                        Err(e) => return fail_all(pg_err(e)),
                    };
                    let mut each = Vec::with_capacity(n);
                    for new in news {
                        match write_alone(&mut tx, ctx, new).await {
                            Ok(answer) => each.push(answer),
                            Err(e) => return fail_all(e),
                        }
                    }
                    each
                }
            },
        };
        let written: Vec<NewChange> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|s| NewChange::new(&ctx.rtype, &s.id, ChangeKind::Created, 1))
            .collect();
        if written.is_empty() {
            return results;
        }
        let committed = match changes::append(&tx, &ctx.tenant, &written).await {
            Ok(()) => tx.commit().await.map_err(pg_err),
            Err(e) => Err(e),
        };
        match committed {
            Ok(()) => {
                self.created(written.len() as u64);
                results
            }
            Err(e) => {
                for r in results.iter_mut().filter(|r| r.is_ok()) {
                    *r = Err(StorageError::backend(format!(
                        "the transaction of this create failed: {e}"
                    )));
                }
                results
            }
        }
    }
}

/// Writes one create in a savepoint of `tx`: its answer (a refused create rolls back its
/// savepoint alone), or the error that ended the transaction.
async fn write_alone(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    new: PreparedCreate,
) -> Result<Answer<StoredResource>, StorageError> {
    let sp = tx.savepoint("scim_one").await.map_err(pg_err)?;
    match insert_resource(&sp, ctx, new).await {
        Ok(stored) => {
            sp.commit().await.map_err(pg_err)?;
            Ok(Ok(stored))
        }
        Err(e) => {
            sp.rollback().await.map_err(pg_err)?;
            Ok(Err(e))
        }
    }
}
