//! Storage errors: a kind that maps to a SCIM status (as sqlx maps a unique violation), plus a
//! message for logs. The Display text is not API; match on [`StorageErrorKind`].

use std::sync::Arc;

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

/// The cause of a [`StorageError`] (the database driver's error, an I/O error).
pub type StorageErrorSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// An error from a [`Storage`](super::Storage) backend.
///
/// It keeps its cause: [`StorageError::with_source`] attaches the database error, which
/// [`std::error::Error::source`] then returns, and the server logs the whole chain when it
/// answers a backend failure with a plain 500 (the client never sees it).
///
/// ```
/// use std::error::Error;
/// use scim_server::storage::StorageError;
///
/// let io = std::io::Error::other("disk on fire");
/// let e = StorageError::backend("writing the resource failed").with_source(io);
/// assert_eq!(e.source().unwrap().to_string(), "disk on fire");
/// let client_sees = scim_core::ScimError::from(e);
/// assert_eq!(client_sees.status(), 500);
/// assert!(!client_sees.detail().contains("disk"));
/// ```
#[derive(Debug, Clone)]
pub struct StorageError {
    kind: StorageErrorKind,
    message: String,
    cause: Option<StorageErrorSource>,
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StorageError {
    /// The cause itself (the database driver's error), so callers can downcast it.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Errors compare by kind and message; the source is not compared.
impl PartialEq for StorageError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for StorageError {}

impl StorageError {
    /// An error of the given kind.
    pub fn new(kind: StorageErrorKind, message: impl Into<String>) -> Self {
        StorageError {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    /// The same error with `source` as its cause (returned by
    /// [`std::error::Error::source`]).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.cause = Some(Arc::from(source.into()));
        self
    }

    /// A backend failure caused by `source`: [`StorageError::backend`] plus
    /// [`StorageError::with_source`].
    pub fn backend_caused_by(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::backend(message).with_source(source)
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
                log_backend_failure(&e);
                ScimError::internal("the storage backend failed")
            }
            StorageErrorKind::Unsupported => ScimError::not_implemented(e.message),
        }
    }
}

/// Logs a backend failure at error level with its whole cause chain (the client gets a
/// plain 500).
fn log_backend_failure(e: &StorageError) {
    let mut causes = Vec::new();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        causes.push(cause.to_string());
        next = cause.source();
    }
    tracing::error!(
        error = %e.message,
        causes = ?causes,
        "storage backend failure: {}{}",
        e.message,
        causes.iter().map(|c| format!(": {c}")).collect::<String>()
    );
}
