//! A provisioning consumer of scim-server's change feed: it mirrors every change of one
//! tenant to a JSON-lines file ([`JsonLinesFile`]) or a webhook ([`Webhook`]) and keeps its
//! position in a file ([`PositionFile`]), so it resumes after a crash or an outage with
//! nothing lost and nothing reordered.
//!
//! # The change feed, for an embedder
//! Every successful write to a [`Storage`](scim_server::storage::Storage) (a create,
//! replace, PATCH, delete, membership change, and a group losing a deleted member) appends
//! a [`ChangeRecord`](scim_server::storage::ChangeRecord) to its tenant's feed **in the
//! same transaction as the change**, numbered `seq` = 1, 2, 3, ... per tenant. So, unlike
//! a provisioning hook that runs after the commit (`Provisioning::after_change`, lost if
//! the process dies between the commit and the hook), the feed holds exactly the writes
//! that committed: every one a client saw acknowledged, none that failed.
//!
//! A consumer:
//! 1. loads its position (the `seq` it processed last; 0 at first, or
//!    [`Storage::last_change`](scim_server::storage::Storage::last_change) to skip the
//!    history);
//! 2. reads [`Storage::changes_since`](scim_server::storage::Storage::changes_since) its
//!    position, a page at a time, in `seq` order;
//! 3. processes the page (here: reads each resource's current state and delivers it);
//! 4. records the `seq` of the last change of the page durably, and goes back to 2; an
//!    empty page means it is up to date: wait and poll again.
//!
//! Because the position is recorded AFTER the page is processed, a crash in between
//! processes that page again after the restart: delivery is **at-least-once**. Make the
//! effect idempotent (this consumer sends the current state of each resource, and a
//! receiver can deduplicate by `(tenant, seq)`). Exactly-once needs the position stored
//! in the same transaction as the effect (e.g. both in the receiver's database).
//!
//! Retention: call [`Storage::prune_changes`](scim_server::storage::Storage::prune_changes)
//! with the lowest position every consumer has recorded. A consumer whose position was
//! pruned past gets `ChangesPruned` and must rebuild its mirror from a full read.
//!
//! ```no_run
//! use std::sync::Arc;
//! use example_change_feed::{Consumer, JsonLinesFile, PositionFile};
//! use scim_server::storage::sqlite::SqliteStorage;
//! use scim_server::TenantId;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let storage = Arc::new(SqliteStorage::open("scim.db")?);
//! let mut consumer = Consumer::new(
//!     storage,
//!     TenantId::default_tenant(),
//!     PositionFile::new("mirror.position"),
//!     Box::new(JsonLinesFile::new("mirror.jsonl")),
//! );
//! let delivered = consumer.catch_up().await?;
//! println!("{delivered} changes mirrored");
//! # Ok(())
//! # }
//! ```

mod consumer;
mod position;
mod sink;

pub use consumer::{Consumer, ConsumerError};
pub use position::PositionFile;
pub use sink::{JsonLinesFile, Sink, SinkError, Webhook};
