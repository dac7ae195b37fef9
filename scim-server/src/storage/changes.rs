//! The change feed: what every write leaves behind, in order, per tenant.
//!
//! Every successful write of a [`Storage`](super::Storage) (create, replace, PATCH, delete,
//! a membership change, and a group losing a deleted member) appends one [`ChangeRecord`]
//! per resource it changed, **in the same transaction as the change**, with a per-tenant
//! sequence number (`seq`) one higher than the tenant's previous change. A write that fails
//! (a 409 uniqueness, a 412 version mismatch, a missing resource) or that changes nothing (a
//! PATCH re-adding a member that is already there, RFC 7644 §3.5.2.1) leaves no change.
//!
//! A consumer reads [`Storage::changes_since`](super::Storage::changes_since) its recorded
//! position, processes the page, records the `seq` of the last change it processed, and
//! repeats. See the trait for the guarantees and the delivery semantics.

use serde_json::{Value, json};

use crate::tenancy::TenantId;

/// What a change did to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Created (POST, or a bulk import).
    Created,
    /// Replaced as a whole (PUT, RFC 7644 §3.5.1).
    Replaced,
    /// Modified by a PATCH that went through the general PATCH engine (RFC 7644 §3.5.2).
    Modified,
    /// Deleted (RFC 7644 §3.6).
    Deleted,
    /// Only its membership changed: a membership PATCH applied without rewriting the group
    /// ([`Storage::modify_members`](super::Storage::modify_members)), or the group lost a
    /// member that was deleted.
    Members,
}

impl ChangeKind {
    /// The kind as stored and serialised: `created`, `replaced`, `modified`, `deleted`,
    /// `members`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Replaced => "replaced",
            ChangeKind::Modified => "modified",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Members => "members",
        }
    }

    /// The kind named by [`ChangeKind::as_str`]; `None` for anything else.
    ///
    /// ```
    /// use scim_server::storage::ChangeKind;
    /// assert_eq!(ChangeKind::parse("members"), Some(ChangeKind::Members));
    /// assert_eq!(ChangeKind::parse("Members"), None);
    /// ```
    pub fn parse(s: &str) -> Option<ChangeKind> {
        Some(match s {
            "created" => ChangeKind::Created,
            "replaced" => ChangeKind::Replaced,
            "modified" => ChangeKind::Modified,
            "deleted" => ChangeKind::Deleted,
            "members" => ChangeKind::Members,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a tenant's change feed.
///
/// It says THAT a resource changed, not what it now holds: a consumer that needs the
/// resource reads it (which may return a newer version, or 404 when a later change deleted
/// it). Consumers that act on the current state of each resource (level-triggered) are
/// correct however many changes they coalesce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// The position in the tenant's feed: 1 for the first change, then one higher for each
    /// change, never reused (pruning does not reset it).
    pub seq: u64,
    /// The tenant.
    pub tenant: TenantId,
    /// The resource type name (`User`, `Group`, ...).
    pub resource_type: String,
    /// The resource id.
    pub id: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The resource's version after the change (the one its ETag carries); for
    /// [`ChangeKind::Deleted`], the version it had when it was deleted.
    pub version: u64,
    /// When the change was written: RFC 3339 in UTC with milliseconds, as
    /// `meta.lastModified` (RFC 7643 §3.1).
    pub at: String,
}

impl ChangeRecord {
    /// The record as a JSON object (`seq`, `tenant`, `resourceType`, `id`, `kind`,
    /// `version`, `at`), e.g. for a JSON-lines file or a webhook body.
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "tenant": self.tenant.as_str(),
            "resourceType": self.resource_type,
            "id": self.id,
            "kind": self.kind.as_str(),
            "version": self.version,
            "at": self.at,
        })
    }
}

/// A change a backend is about to append (it assigns `seq`, `tenant` and `at`).
#[cfg_attr(
    not(any(feature = "memory", feature = "sqlite", feature = "postgres")),
    allow(dead_code)
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewChange {
    pub(crate) resource_type: String,
    pub(crate) id: String,
    pub(crate) kind: ChangeKind,
    pub(crate) version: u64,
}

#[cfg_attr(
    not(any(feature = "memory", feature = "sqlite", feature = "postgres")),
    allow(dead_code)
)]
impl NewChange {
    pub(crate) fn new(
        resource_type: impl Into<String>,
        id: impl Into<String>,
        kind: ChangeKind,
        version: u64,
    ) -> Self {
        NewChange {
            resource_type: resource_type.into(),
            id: id.into(),
            kind,
            version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in [
            ChangeKind::Created,
            ChangeKind::Replaced,
            ChangeKind::Modified,
            ChangeKind::Deleted,
            ChangeKind::Members,
        ] {
            assert_eq!(ChangeKind::parse(k.as_str()), Some(k));
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!(ChangeKind::parse(""), None);
    }

    /// The suite's feed cases skip a backend that answers `Unsupported`; the built-in
    /// backends must not be skipped.
    #[cfg(all(feature = "memory", feature = "sqlite"))]
    #[test]
    fn built_in_backends_have_a_feed() {
        use crate::storage::Storage;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let t = TenantId::default_tenant();
        let memory = crate::storage::memory::MemoryStorage::new();
        let sqlite = crate::storage::sqlite::SqliteStorage::open_in_memory().unwrap();
        assert_eq!(rt.block_on(memory.last_change(&t)).unwrap(), 0);
        assert_eq!(rt.block_on(sqlite.last_change(&t)).unwrap(), 0);
        assert!(
            rt.block_on(memory.changes_since(&t, 0, 1))
                .unwrap()
                .is_empty()
        );
        assert!(
            rt.block_on(sqlite.changes_since(&t, 0, 1))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn records_serialise_with_every_field() {
        let r = ChangeRecord {
            seq: 7,
            tenant: TenantId::default_tenant(),
            resource_type: "Group".into(),
            id: "g1".into(),
            kind: ChangeKind::Members,
            version: 3,
            at: "2026-12-03T16:00:00.000Z".into(),
        };
        let j = r.to_json();
        assert_eq!(j["seq"], 7);
        assert_eq!(j["tenant"], TenantId::default_tenant().as_str());
        assert_eq!(j["resourceType"], "Group");
        assert_eq!(j["id"], "g1");
        assert_eq!(j["kind"], "members");
        assert_eq!(j["version"], 3);
        assert_eq!(j["at"], "2026-12-03T16:00:00.000Z");
    }
}
