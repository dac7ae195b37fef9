//! A resource ready to be written: what can be computed from it alone, its stored JSON and
//! its `attr_index` rows, computed on the request's task. A SQL backend writes its creates
//! from one place at a time (SQLite's writer thread, PostgreSQL's batch of a tenant and
//! type), which every other write waits for, so that place only writes.

use std::collections::BTreeSet;

use scim_core::Resource;

use super::index::{IndexRow, index_rows};
use super::path_key::row_keys;
use super::{Ctx, dedupe, strip_members, to_json};
use crate::storage::{Member, NewResource, StorageError, UniqueKey};

/// A resource without its members, its JSON and its index rows.
pub(crate) struct Prepared {
    /// The resource without its members (the JSON stored).
    pub resource: Resource,
    /// The stored JSON of `resource`.
    pub json: String,
    /// Its `attr_index` rows.
    pub rows: BTreeSet<IndexRow>,
    /// The path key of each of `rows`, in order ([`row_keys`]), hashed here, on the
    /// request's task, rather than by the writer.
    pub keys: Vec<i64>,
}

impl Prepared {
    /// Strips `resource`'s members and computes its JSON and index rows for `ctx`'s type.
    pub fn new(ctx: &Ctx, resource: Resource) -> Result<Prepared, StorageError> {
        let resource = strip_members(resource, ctx);
        let rows = index_rows(&ctx.paths, &ctx.schema, &resource);
        Ok(Prepared {
            json: to_json(&resource)?,
            keys: row_keys(ctx.keys(), &rows),
            rows,
            resource,
        })
    }
}

/// A create ready to be written (see [`Prepared`]), its members deduplicated.
pub(crate) struct PreparedCreate {
    /// The new resource's id.
    pub id: String,
    /// The resource, its JSON and rows.
    pub prepared: Prepared,
    /// The unique values it claims.
    pub unique: Vec<UniqueKey>,
    /// Its members (a group's), each once.
    pub members: Vec<Member>,
}

impl PreparedCreate {
    /// Prepares `new` for `ctx`'s type.
    pub fn new(ctx: &Ctx, new: NewResource) -> Result<PreparedCreate, StorageError> {
        Ok(PreparedCreate {
            prepared: Prepared::new(ctx, new.resource)?,
            id: new.id,
            unique: new.unique,
            members: dedupe(new.members),
        })
    }
}
