//! The consumer loop: read a page since the recorded position, deliver it, record the
//! position, repeat.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use scim_core::schema::ResourceSchema;
use scim_server::TenantId;
use scim_server::storage::{ChangeKind, ChangeRecord, Load, Scope, Storage, StorageError};
use serde_json::Value;

use crate::position::PositionFile;
use crate::sink::{Sink, SinkError};

/// Why the consumer stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// Reading the feed (or a resource) failed; `ChangesPruned` means the feed was pruned
    /// past the recorded position and the mirror must be rebuilt from a full read.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// Delivering failed; the position was not advanced.
    #[error("delivery: {0}")]
    Sink(#[from] SinkError),
    /// Reading or writing the position file failed.
    #[error("position file: {0}")]
    Position(#[from] std::io::Error),
}

/// Mirrors one tenant's change feed into a [`Sink`].
///
/// Each delivered change is the [`ChangeRecord`] as JSON (`seq`, `tenant`, `resourceType`,
/// `id`, `kind`, `version`, `at`) plus `resource`: the resource as it is NOW (for Users and
/// Groups, members included), or `null` when it no longer exists. A change says that
/// something changed; reading the current state makes the consumer level-triggered, so a
/// change delivered twice (at-least-once, see the crate docs) or several changes of one
/// resource coalesced lead to the same mirror.
pub struct Consumer {
    storage: Arc<dyn Storage>,
    tenant: TenantId,
    position: PositionFile,
    sink: Box<dyn Sink>,
    page_size: usize,
    schemas: HashMap<String, ResourceSchema>,
}

impl Consumer {
    /// A consumer of `tenant`'s feed in `storage`, delivering to `sink` and keeping its
    /// position in `position`. Reads pages of 100 changes.
    pub fn new(
        storage: Arc<dyn Storage>,
        tenant: TenantId,
        position: PositionFile,
        sink: Box<dyn Sink>,
    ) -> Self {
        let schemas = [
            scim_core::builtin::user_resource_schema(),
            scim_core::builtin::group_resource_schema(),
        ]
        .into_iter()
        .map(|s| (s.name().to_string(), s))
        .collect();
        Consumer {
            storage,
            tenant,
            position,
            sink,
            page_size: 100,
            schemas,
        }
    }

    /// Reads pages of `n` changes (at least 1).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Delivers every change after the recorded position, page by page, recording the
    /// position after each delivered page. Returns how many changes it delivered; stops at
    /// the first error (the changes of that page are delivered again next time).
    pub async fn catch_up(&mut self) -> Result<u64, ConsumerError> {
        let mut delivered = 0;
        let mut position = self.position.load()?;
        loop {
            let page = self
                .storage
                .changes_since(&self.tenant, position, self.page_size)
                .await?;
            let Some(last) = page.last().map(|c| c.seq) else {
                return Ok(delivered);
            };
            let mut events = Vec::with_capacity(page.len());
            for change in &page {
                events.push(self.event(change).await?);
            }
            self.sink.deliver(&events).await?;
            // Only now: a crash before this line delivers the page again after a restart.
            self.position.store(last)?;
            position = last;
            delivered += page.len() as u64;
        }
    }

    /// [`Consumer::catch_up`], then again every `poll` until `shutdown` completes. A failed
    /// delivery is retried on the next poll; a storage or position error stops it.
    pub async fn run(
        &mut self,
        poll: Duration,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ConsumerError> {
        tokio::pin!(shutdown);
        loop {
            match self.catch_up().await {
                Ok(_) => {}
                Err(ConsumerError::Sink(e)) => eprintln!("delivery failed, will retry: {e}"),
                Err(e) => return Err(e),
            }
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    async fn event(&self, change: &ChangeRecord) -> Result<Value, ConsumerError> {
        let mut event = change.to_json();
        let resource = match self.schemas.get(&change.resource_type) {
            Some(schema) if change.kind != ChangeKind::Deleted => {
                match self
                    .storage
                    .get(Scope::new(&self.tenant, schema), &change.id, Load::ALL)
                    .await
                {
                    Ok(stored) => Value::Object(stored.resource.as_map().clone()),
                    Err(e) if e.is_not_found() => Value::Null,
                    Err(e) => return Err(e.into()),
                }
            }
            _ => Value::Null,
        };
        if let Value::Object(o) = &mut event {
            o.insert("resource".into(), resource);
        }
        Ok(event)
    }
}
