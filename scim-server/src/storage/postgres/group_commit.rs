//! Group commit of creates: the creates of one tenant and resource type that arrive while
//! another batch of them is being written share the next transaction.
//!
//! Every write of a tenant updates the tenant's row of `change_heads` just before it
//! commits and holds that row's lock until the commit (see `changes.rs`): the change feed
//! needs its numbers in commit order. So the tenant's writes commit one after the other,
//! each paying a transaction's round trips and a WAL flush while the others wait for the
//! lock. Batched, a burst of creates (a provisioning cycle) pays those once per batch, and
//! writes the rows of the whole batch with one statement.
//!
//! A create queues itself ([`Batches`]); a task per tenant and type (started by a create
//! that finds fewer than [`MAX_WRITERS`] running) takes every queued create, up to
//! [`MAX_BATCH`], and writes them in one transaction; the creates that arrive meanwhile
//! wait for the next one.
//!
//! A batch is one transaction sent to PostgreSQL as one pipeline (`BEGIN`, one statement
//! writing every row of the batch, see `batch_rows.rs`, the change feed's statement,
//! `COMMIT`): one round trip and one WAL flush, however many creates it holds, a lone one
//! included. When the batch statement fails (a `userName` taken, an id taken, or two
//! creates of the batch claiming one value), PostgreSQL rolls the transaction back, and
//! each create is written again in a new one, in a savepoint of its own, so the one that
//! conflicts gets its own error and the others are written. A create is answered only
//! after the commit that holds it returned; when that commit fails, every create of the
//! batch gets the error (none of them is written).

use std::sync::Arc;

use deadpool_postgres::Transaction;

use super::batch_rows::{self, BatchRows};
use super::batches::{Answer, Batches, fail_all};
use super::changes::ChangeRows;
use super::rows::{created_resource, insert_resource, record_keys};
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
        let client = match self.client().await {
            Ok(c) => c,
            Err(e) => return fail_all(&e, n),
        };
        let feed: Vec<NewChange> = news
            .iter()
            .map(|new| NewChange::new(&ctx.rtype, &new.id, ChangeKind::Created, 1))
            .collect();
        match commit_batch(&client, ctx, &news, &feed).await {
            Ok(()) => {
                self.created(n as u64);
                news.into_iter()
                    .map(|new| Ok(created_resource(ctx, new)))
                    .collect()
            }
            // Rolled back: each create is written again, in a savepoint of its own.
            Err(Failed::Insert) => self.write_each(client, ctx, news).await,
            Err(Failed::Transaction(e)) => fail_all(&e, n),
        }
    }

    /// Writes each of `news` in a savepoint of one transaction, so that the one that
    /// conflicts gets its own error and the others are written.
    async fn write_each(
        &self,
        mut client: deadpool_postgres::Client,
        ctx: &Ctx,
        news: Vec<PreparedCreate>,
    ) -> Vec<Answer<StoredResource>> {
        let n = news.len();
        let mut tx = match client.transaction().await {
            Ok(tx) => tx,
            Err(e) => return fail_all(&pg_err(e), n),
        };
        let mut results = Vec::with_capacity(n);
        for new in news {
            match write_alone(&mut tx, ctx, new).await {
                Ok(answer) => results.push(answer),
                Err(e) => return fail_all(&e, n),
            }
        }
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

/// Why [`commit_batch`] wrote nothing.
enum Failed {
    /// The batch statement failed (a conflict, or a create PostgreSQL refused): the
    /// transaction rolled back, and writing the creates one by one tells which.
    Insert,
    /// The transaction failed otherwise: every create of the batch fails with it.
    Transaction(StorageError),
}

/// Writes `news` and their changes `feed` in one transaction sent as one pipeline:
/// `BEGIN`, the batch statement, the change feed's statement and `COMMIT` leave together
/// and PostgreSQL answers them together, one round trip and one WAL flush per batch.
/// (tokio-postgres sends a request when its future is first polled, and keeps the order of
/// the requests of futures polled in order: `join!` with `biased;`.) When a statement
/// fails, PostgreSQL skips the rest of the transaction and answers its `COMMIT` by
/// rolling it back, so the batch is committed only when every statement succeeded.
async fn commit_batch(
    client: &deadpool_postgres::Client,
    ctx: &Ctx,
    news: &[PreparedCreate],
    feed: &[NewChange],
) -> Result<(), Failed> {
    // Prepared once per connection (cached): nothing below waits for a round trip alone.
    let insert = batch_rows::statement(client)
        .await
        .map_err(Failed::Transaction)?;
    let append = client
        .prepare_cached(changes::APPEND)
        .await
        .map_err(|e| Failed::Transaction(pg_err(e)))?;
    let rows = BatchRows::new(news);
    let changes = ChangeRows::new(&ctx.tenant, feed);
    let (insert_params, append_params) = (rows.params(ctx), changes.params());
    // Path keys this process has not seen recorded (once per key and process) are
    // recorded before the batch, each insert committed on its own: the batch's pipeline
    // keeps its one round trip, and a recorded key stays recorded whatever the batch's fate.
    let unchecked = ctx.guard.unchecked(batch_rows::keyed(news));
    record_keys(client, ctx.keys(), &ctx.guard, unchecked)
        .await
        .map_err(Failed::Transaction)?;
    let (begin, inserted, appended, commit) = tokio::join!(
        biased;
        client.batch_execute("BEGIN"),
        client.query_one(&insert, &insert_params),
        client.execute(&append, &append_params),
        client.batch_execute("COMMIT"),
    );
    begin.map_err(|e| Failed::Transaction(pg_err(e)))?;
    let row = inserted.map_err(|_| Failed::Insert)?;
    rows.check(&row).map_err(Failed::Transaction)?;
    appended.map_err(|e| Failed::Transaction(pg_err(e)))?;
    commit.map_err(|e| Failed::Transaction(pg_err(e)))
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
