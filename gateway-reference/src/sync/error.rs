//! The sync's error type.

use crate::crm::CrmError;
use crate::db::DbError;

/// Why a sync step failed. Every variant keeps its cause.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The gateway's database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The SCIM storage (the change feed, a resource read) failed.
    #[error("SCIM storage: {0}")]
    Storage(#[from] scim_server::StorageError),
    /// The CRM failed.
    #[error(transparent)]
    Crm(#[from] CrmError),
    /// The tenant's saved rules do not compile (they were valid when saved, so this means a
    /// newer or hand-edited document).
    #[error("the saved rules do not compile: {0}")]
    Rules(String),
    /// Something the gateway holds is not what it wrote (a corrupt row).
    #[error("inconsistent state: {0}")]
    State(String),
}
