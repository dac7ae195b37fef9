//! The values that cross the storage boundary.

use scim_core::Resource;
use scim_core::schema::ResourceSchema;

use crate::tenancy::TenantId;

/// Where a storage call acts: one tenant and one resource type. Every call is scoped; a
/// backend never reads or writes outside its scope.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The resource type (its name, e.g. `User`, is [`ResourceSchema::name`]); backends use
    /// the schema to translate filters and sort keys.
    pub schema: &'a ResourceSchema,
}

impl<'a> Scope<'a> {
    /// A scope.
    pub fn new(tenant: &'a TenantId, schema: &'a ResourceSchema) -> Self {
        Scope { tenant, schema }
    }
    /// The resource type name (`User`, `Group`, ...).
    pub fn resource_type(&self) -> &'a str {
        self.schema.name()
    }
}

/// A resource as stored: its id, its version (the ETag is derived from it) and its JSON.
///
/// The JSON holds `id`, `schemas`, the attributes and `meta` (`resourceType`, `created`,
/// `lastModified`); `meta.location` and `meta.version` are added by the server on the way out.
/// For a resource with members (a Group), `members` is present only when the call asked for
/// them ([`Load::members`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    /// The resource id (unique within tenant and resource type).
    pub id: String,
    /// Starts at 1 on create and grows by one with every change, membership changes included.
    pub version: u64,
    /// The resource.
    pub resource: Resource,
}

/// What to load with a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Load `members`. When false (e.g. `excludedAttributes=members`) the backend must not
    /// read membership at all.
    pub members: bool,
    /// Load the attributes. When false the caller needs only the id and the version (the
    /// server asks so when it holds a rendering of the resource and checks that it is still
    /// current): a backend may then return an empty [`Resource`] and skip reading or
    /// parsing the stored attributes; one that returns them anyway is correct too.
    pub attributes: bool,
}

impl Load {
    /// Everything, members included.
    pub const ALL: Load = Load {
        members: true,
        attributes: true,
    };
    /// The resource without its members.
    pub const WITHOUT_MEMBERS: Load = Load {
        members: false,
        attributes: true,
    };
    /// The id and the version only (see [`Load::attributes`]).
    pub const VERSION: Load = Load {
        members: false,
        attributes: false,
    };
}

impl Default for Load {
    /// [`Load::WITHOUT_MEMBERS`].
    fn default() -> Self {
        Load::WITHOUT_MEMBERS
    }
}

/// One member of a group (RFC 7643 §4.2 `members`): the member's id, its resource type and an
/// optional display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    /// The member's `id` (`members.value`).
    pub value: String,
    /// `User` or `Group` (`members.type`), when known.
    pub kind: Option<String>,
    /// `members.display`, when given.
    pub display: Option<String>,
}

impl Member {
    /// A member with only its id.
    pub fn new(value: impl Into<String>) -> Self {
        Member {
            value: value.into(),
            kind: None,
            display: None,
        }
    }
}

/// A change to a group's membership. Adding or removing one member costs O(1) in the size of
/// the group (an indexed row, never a rewrite of the member list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembersChange {
    /// Adds members; a member already present is left as it is (no duplicates).
    Add(Vec<Member>),
    /// Removes the members with these ids; absent ids are ignored.
    Remove(Vec<String>),
    /// Replaces the whole membership.
    Replace(Vec<Member>),
}

/// A group a member belongs to (for the computed, readOnly `User.groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The group's id.
    pub id: String,
    /// The group's resource type (normally `Group`).
    pub resource_type: String,
    /// The group's `displayName`, if it has one.
    pub display: Option<String>,
}

/// A value that must be unique within a tenant and resource type, normalised by the server
/// (lower-cased when the attribute is not caseExact). The store enforces it atomically, so it
/// holds under concurrent requests and across server processes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueKey {
    /// The attribute's canonical path, e.g. `userName`, `externalId`.
    pub attribute: String,
    /// The normalised value.
    pub value: String,
}

/// A resource to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResource {
    /// The id the server chose.
    pub id: String,
    /// The resource JSON, without `members` (those are in `members`).
    pub resource: Resource,
    /// The initial members (empty for resource types without members).
    pub members: Vec<Member>,
    /// The unique values to claim.
    pub unique: Vec<UniqueKey>,
}

/// A full replacement of a stored resource (PUT, or the result of a PATCH).
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    /// The new resource JSON, without `members`.
    pub resource: Resource,
    /// The new membership, or `None` to leave it unchanged.
    pub members: Option<Vec<Member>>,
    /// The unique values the resource now claims (the old ones are released).
    pub unique: Vec<UniqueKey>,
}
