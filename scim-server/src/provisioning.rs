//! Provisioning hooks: code that runs before a change is stored (and may refuse it) and
//! after it was stored (to push it downstream).
//!
//! A server has zero or more [`Provisioning`] backends, called in the order they were added:
//! every `before_change` first (the first refusal wins and nothing is stored), then, once the
//! store has accepted the change, every `after_change`. A PUT or PATCH that loses a race with
//! another writer is re-applied to the new state (without `If-Match`), so `before_change` may
//! see the same request more than once; `after_change` is called once per stored change.
//!
//! ```
//! use async_trait::async_trait;
//! use scim_core::ScimError;
//! use scim_server::provisioning::{Change, ChangeKind, Provisioning};
//!
//! /// Refuses to delete anything.
//! struct NoDeletes;
//!
//! #[async_trait]
//! impl Provisioning for NoDeletes {
//!     async fn before_change(&self, change: &Change<'_>) -> Result<(), ScimError> {
//!         if change.kind == ChangeKind::Delete {
//!             return Err(ScimError::new(403, None, "deletes are disabled here"));
//!         }
//!         Ok(())
//!     }
//! }
//! ```

use async_trait::async_trait;
use scim_core::{Resource, ScimError};

use crate::storage::MembersChange;
use crate::tenancy::TenantId;

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// POST: a new resource.
    Create,
    /// PUT: a full replacement.
    Replace,
    /// PATCH: a partial modification.
    Patch,
    /// DELETE.
    Delete,
}

/// One change to a resource, as the provisioning hooks see it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The resource type name (`User`, `Group`, ...).
    pub resource_type: &'a str,
    /// The resource id.
    pub id: &'a str,
    /// The kind of change.
    pub kind: ChangeKind,
    /// The resource as it will be (before) or was (after) stored, without `members`; `None`
    /// for a delete and for a PATCH that only changed a group's membership.
    pub resource: Option<&'a Resource>,
    /// The membership change, when the change sets or changes members: the initial members
    /// of a create and the members of a PUT (as [`MembersChange::Replace`]), the added or
    /// removed members of a membership-only PATCH ([`MembersChange::Add`] /
    /// [`MembersChange::Remove`], applied without rewriting the group), and the new
    /// membership of any other PATCH that changed it.
    pub members: Option<&'a MembersChange>,
}

/// A provisioning backend.
#[async_trait]
pub trait Provisioning: Send + Sync + 'static {
    /// Called before the change is stored; an error refuses the change and is sent to the
    /// client as it is (a SCIM error with its status).
    async fn before_change(&self, change: &Change<'_>) -> Result<(), ScimError> {
        let _ = change;
        Ok(())
    }

    /// Called after the change was stored. It cannot fail the request: the change has
    /// happened; a backend that must not lose it queues it durably.
    async fn after_change(&self, change: &Change<'_>) {
        let _ = change;
    }
}

#[async_trait]
impl<T: Provisioning + ?Sized> Provisioning for std::sync::Arc<T> {
    async fn before_change(&self, change: &Change<'_>) -> Result<(), ScimError> {
        (**self).before_change(change).await
    }
    async fn after_change(&self, change: &Change<'_>) {
        (**self).after_change(change).await
    }
}
