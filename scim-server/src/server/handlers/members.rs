//! No dangling member references: every id a write adds to a Group's `members` must name a
//! resource of this tenant.
//!
//! RFC 7643 §4.2, members: "A list of members of the Group. [...] The "value" sub-attribute
//! contains the value of an "id" attribute of a SCIM resource". An id that names nothing is a
//! value "not compatible with the [...] resource schema" (RFC 7644 §3.12), so the write is
//! 400 `invalidValue`, in both validation presets and on POST, PUT, PATCH and Bulk alike.
//!
//! The ids are looked up in batches: one query `id eq "a" or id eq "b" or ...` per
//! [`LOOKUP_BATCH`] ids and member resource type, through the query planner, never one round
//! trip per member (Entra adds members in batches). A backend that cannot answer such a
//! filter is asked id by id instead.

use std::collections::HashSet;

use scim_core::schema::ResourceSchema;
use scim_core::{AttrPath, Filter, ScimError};

use super::Ctx;
use crate::server::Inner;
use crate::storage::planner;
use crate::storage::{Load, Member, Scope, StorageErrorKind, StoragePage};

/// The most ids one lookup query names.
pub(crate) const LOOKUP_BATCH: usize = 100;

/// Fails with 400 `invalidValue` unless every member id names a resource of a type that may
/// be a member (the `referenceTypes` of `members.$ref`, User and Group for the built-in
/// Group) in this tenant.
pub(crate) async fn check_members_exist(
    inner: &Inner,
    ctx: &Ctx,
    schema: &ResourceSchema,
    members: &[Member],
) -> Result<(), ScimError> {
    let mut seen = HashSet::with_capacity(members.len());
    let mut missing: Vec<&str> = members
        .iter()
        .map(|m| m.value.as_str())
        .filter(|id| seen.insert(*id))
        .collect();
    for target in member_types(inner, schema) {
        if missing.is_empty() {
            return Ok(());
        }
        let found = existing_ids(inner, ctx, target, &missing).await?;
        missing.retain(|id| !found.contains(*id));
    }
    match missing.as_slice() {
        [] => Ok(()),
        [one] => Err(ScimError::invalid_value(format!(
            "members: no resource with id \"{one}\" exists; a member's \"value\" must be the \
             \"id\" of an existing resource (RFC 7643 §4.2)"
        ))),
        [first, rest @ ..] => Err(ScimError::invalid_value(format!(
            "members: no resource with id \"{first}\" (and {} more) exists; a member's \
             \"value\" must be the \"id\" of an existing resource (RFC 7643 §4.2)",
            rest.len()
        ))),
    }
}

/// The resource types a member may be: the `referenceTypes` of `members.$ref` that this
/// server serves, or every resource type when the schema names none.
fn member_types<'a>(inner: &'a Inner, schema: &ResourceSchema) -> Vec<&'a ResourceSchema> {
    let named: Vec<&ResourceSchema> = schema
        .core
        .attribute("members")
        .and_then(|m| m.sub_attribute("$ref"))
        .map(|r| {
            r.reference_types
                .iter()
                .filter_map(|t| inner.registry.resource_schema(t))
                .collect()
        })
        .unwrap_or_default();
    if named.is_empty() {
        inner.registry.resource_schemas().collect()
    } else {
        named
    }
}

/// Which of `ids` exist as resources of `target` in the tenant: one query per
/// [`LOOKUP_BATCH`] ids.
async fn existing_ids(
    inner: &Inner,
    ctx: &Ctx,
    target: &ResourceSchema,
    ids: &[&str],
) -> Result<HashSet<String>, ScimError> {
    let scope = Scope::new(&ctx.tenant, target);
    let mut found = HashSet::with_capacity(ids.len());
    for batch in ids.chunks(LOOKUP_BATCH) {
        let filter = batch
            .iter()
            .map(|id| Filter::eq_str(AttrPath::new("id"), *id))
            .reduce(Filter::or);
        let page = StoragePage::Offset {
            offset: 0,
            limit: batch.len() as u64,
        };
        let answer = planner::execute(
            inner.storage.as_ref(),
            scope,
            filter.as_ref(),
            None,
            &page,
            Load::WITHOUT_MEMBERS,
            &inner.limits,
        )
        .await;
        match answer {
            Ok(p) => found.extend(p.resources.into_iter().map(|r| r.id)),
            Err(e)
                if matches!(
                    e.kind(),
                    StorageErrorKind::UnsupportedFilter | StorageErrorKind::TooMany
                ) =>
            {
                for id in batch {
                    match inner.storage.get(scope, id, Load::WITHOUT_MEMBERS).await {
                        Ok(r) => {
                            found.insert(r.id);
                        }
                        Err(e) if e.is_not_found() => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(found)
}
