//! Storage errors: a kind that maps to a SCIM status (as sqlx maps a unique violation), plus a
//! message for logs. The Display text is not API; match on [`StorageErrorKind`].

use scim_core::{ScimError, ScimType};

/// What went wrong in a storage call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// No resource with that id exists in this tenant and resource type (404).
    NotFound,
    /// The caller's expected version does not match the stored one (412 for `If-Match`, or a
    /// lost race in a read-modify-write that the server may retry).
    VersionMismatch {
        /// The version currently stored.
        current: u64,
    },
    /// A unique attribute value is already taken in this tenant and resource type (409
    /// `uniqueness`).
    Uniqueness {
        /// The attribute whose value collides (e.g. `userName`).
        attribute: String,
    },
    /// A resource with this id already exists (409).
    IdTaken,
    /// The query cannot be answered by this backend (400 `invalidFilter`).
    UnsupportedFilter,
    /// The query matches more resources than the backend will evaluate (400 `tooMany`).
    TooMany,
    /// A cursor (RFC 9865) that this backend or the planner did not issue, or that belongs to
    /// another query (400 `invalidCursor`).
    InvalidCursor,
    /// The backend failed (I/O, database, corruption). Maps to 500 without leaking details.
    Backend,
    /// The backend does not offer this operation (e.g. a custom backend without a change
    /// feed, see [`Storage::changes_since`](super::Storage::changes_since)). Maps to 501.
    Unsupported,
    /// A change feed read from a position whose following changes were already pruned
    /// ([`Storage::prune_changes`](super::Storage::prune_changes)): reading on would skip
    /// them, so the consumer must resynchronise (read every resource) and restart from
    /// [`Storage::last_change`](super::Storage::last_change).
    ChangesPruned {
        /// The feed holds no change at or below this `seq` any more.
        pruned_through: u64,
    },
}

/// An error from a [`Storage`](super::Storage) backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StorageError {
    kind: StorageErrorKind,
    message: String,
}

impl StorageError {
    /// An error of the given kind.
    pub fn new(kind: StorageErrorKind, message: impl Into<String>) -> Self {
        StorageError {
            kind,
            message: message.into(),
        }
    }
    /// 404: no such resource.
    pub fn not_found(id: &str) -> Self {
        Self::new(
            StorageErrorKind::NotFound,
            format!("resource {id} not found"),
        )
    }
    /// The expected version did not match `current`.
    pub fn version_mismatch(current: u64) -> Self {
        Self::new(
            StorageErrorKind::VersionMismatch { current },
            format!("version mismatch: the resource is at version {current}"),
        )
    }
    /// A unique attribute value is taken.
    pub fn uniqueness(attribute: &str) -> Self {
        Self::new(
            StorageErrorKind::Uniqueness {
                attribute: attribute.to_string(),
            },
            format!("the value of '{attribute}' is already in use"),
        )
    }
    /// A backend failure; `message` is for logs only and never reaches a client.
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::Backend, message)
    }
    /// The backend does not offer this operation.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::Unsupported, message)
    }
    /// The change feed was pruned past the position read from.
    pub fn changes_pruned(since: u64, pruned_through: u64) -> Self {
        Self::new(
            StorageErrorKind::ChangesPruned { pruned_through },
            format!(
                "the change feed holds no changes at or below {pruned_through} any more; \
                 reading since {since} would skip some"
            ),
        )
    }
    /// The kind.
    pub fn kind(&self) -> &StorageErrorKind {
        &self.kind
    }
    /// The message (for logs).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// Is this a not-found error?
    pub fn is_not_found(&self) -> bool {
        self.kind == StorageErrorKind::NotFound
    }
    /// Is this a uniqueness violation?
    pub fn is_uniqueness(&self) -> bool {
        matches!(self.kind, StorageErrorKind::Uniqueness { .. })
    }
    /// Is this a version mismatch?
    pub fn is_version_mismatch(&self) -> bool {
        matches!(self.kind, StorageErrorKind::VersionMismatch { .. })
    }
}

impl From<StorageError> for ScimError {
    /// Maps a storage error to the SCIM error a client sees (RFC 7644 §3.12). Backend
    /// failures become a generic 500 whose detail carries no internals.
    fn from(e: StorageError) -> Self {
        match e.kind {
            StorageErrorKind::NotFound => ScimError::not_found(e.message),
            StorageErrorKind::VersionMismatch { .. } => ScimError::precondition_failed(e.message),
            StorageErrorKind::Uniqueness { .. } => ScimError::uniqueness(e.message),
            StorageErrorKind::IdTaken => ScimError::conflict(e.message),
            StorageErrorKind::UnsupportedFilter => ScimError::invalid_filter(e.message),
            StorageErrorKind::TooMany => ScimError::with_type(ScimType::TooMany, e.message),
            StorageErrorKind::InvalidCursor => {
                ScimError::with_type(ScimType::InvalidCursor, e.message)
            }
            StorageErrorKind::Backend | StorageErrorKind::ChangesPruned { .. } => {
                ScimError::internal("the storage backend failed")
            }
            StorageErrorKind::Unsupported => ScimError::not_implemented(e.message),
        }
    }
}
