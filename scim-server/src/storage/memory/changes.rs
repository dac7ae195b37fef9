//! The in-memory backend's change feed: one log per tenant, appended under the tenant's
//! write lock together with the change itself, so the order of `seq` is the order of the
//! writes and a reader (under the read lock) sees a change only with every earlier one.

use std::collections::VecDeque;

use crate::storage::changes::NewChange;
use crate::storage::{ChangeRecord, StorageError, last_modified_now};
use crate::tenancy::TenantId;

/// One tenant's feed.
#[derive(Default)]
pub(super) struct Feed {
    /// The retained changes, in `seq` order. Boxed: growing the log moves a pointer per
    /// change, not the record, while the tenant's write lock is held.
    log: VecDeque<Box<ChangeRecord>>,
    /// The `seq` of the latest change (0 before the first).
    last: u64,
    /// Every change with `seq <= pruned` was pruned.
    pruned: u64,
}

impl Feed {
    /// Appends the changes of one write (call it under the tenant's write lock, after every
    /// check of the write passed).
    pub(super) fn append(&mut self, tenant: &TenantId, changes: Vec<NewChange>) {
        if changes.is_empty() {
            return;
        }
        let at = last_modified_now();
        for c in changes {
            self.last += 1;
            self.log.push_back(Box::new(ChangeRecord {
                seq: self.last,
                tenant: tenant.clone(),
                resource_type: c.resource_type,
                id: c.id,
                kind: c.kind,
                version: c.version,
                at: at.clone(),
            }));
        }
    }

    pub(super) fn since(
        &self,
        since: u64,
        limit: usize,
    ) -> Result<Vec<ChangeRecord>, StorageError> {
        if since < self.pruned {
            return Err(StorageError::changes_pruned(since, self.pruned));
        }
        let start = self.log.partition_point(|c| c.seq <= since);
        Ok(self
            .log
            .range(start..)
            .take(limit)
            .map(|c| ChangeRecord::clone(c))
            .collect())
    }

    pub(super) fn last(&self) -> u64 {
        self.last
    }

    pub(super) fn prune(&mut self, through: u64) -> u64 {
        let through = through.min(self.last);
        let n = self.log.partition_point(|c| c.seq <= through);
        self.log.drain(..n);
        self.pruned = self.pruned.max(through);
        n as u64
    }
}
