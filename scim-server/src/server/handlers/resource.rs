//! `/{type}` POST and `/{type}/{id}` GET, PUT, PATCH, DELETE (RFC 7644 §3.3, §3.4.1, §3.5,
//! §3.6), with ETags (§3.14).

use http::{Method, StatusCode};
use scim_core::filter::{CompValue, CompareOp};
use scim_core::patch::{PatchOpKind, PatchRequest, apply_patch};
use scim_core::projection::{Projection, RequestedAttrs};
use scim_core::schema::ResourceSchema;
use scim_core::validation::{validate_create, validate_replace};
use scim_core::{AttrPath, Filter, PatchPath, Resource, ScimError};
use serde_json::Value;

use super::members::check_members_exist;
use super::{Ctx, has_members, member_from_json, members_json, now, set_meta, split_members};
use crate::provisioning::{Change, ChangeKind};
use crate::server::Inner;
use crate::server::password::hash_new_password;
use crate::server::request::{
    EtagCondition, ReturnPreference, if_match, parse_json, return_preference,
};
use crate::server::response::{self, ScimResponse, with_etag, with_location};
use crate::storage::{Load, Member, MembersChange, NewResource, Replacement, StoredResource};

/// How often a PATCH or PUT without `If-Match` is retried when another writer changed the
/// resource between our read and our write.
const MAX_ATTEMPTS: usize = 4;

pub(crate) async fn dispatch(
    inner: &Inner,
    ctx: &Ctx,
    resource_type: &str,
    id: &str,
    body: &[u8],
) -> Result<ScimResponse, ScimError> {
    // The writes' futures are boxed: each is kilobytes, and unboxed they would size (and be
    // copied with) every GET's future.
    match ctx.method {
        Method::GET | Method::HEAD => super::get::get(inner, ctx, resource_type, id).await,
        Method::PUT => Box::pin(replace(inner, ctx, resource_type, id, body)).await,
        Method::PATCH => Box::pin(patch(inner, ctx, resource_type, id, body)).await,
        Method::DELETE => delete(inner, ctx, resource_type, id).await,
        _ => Ok(response::method_not_allowed(&[
            "GET", "PUT", "PATCH", "DELETE",
        ])),
    }
}

fn body_resource(body: &[u8]) -> Result<Resource, ScimError> {
    Resource::from_value(parse_json(body)?)
}

/// 201/200 with the rendered resource, `ETag` and (for 201) `Location`.
async fn respond(
    inner: &Inner,
    ctx: &Ctx,
    schema: &ResourceSchema,
    stored: StoredResource,
    status: StatusCode,
    projection: &Projection,
    supplied: &RequestedAttrs,
) -> Result<ScimResponse, ScimError> {
    let version = stored.version;
    let location = ctx.location(schema, &stored.id);
    let body = if status == StatusCode::CREATED {
        // The id was made by this request: no group can have it as a member yet, so its
        // computed `groups` (RFC 7643 §4.1.2) are empty and not read.
        inner.render_with_groups(ctx, schema, stored, projection, supplied, Some(Vec::new()))?
    } else {
        inner
            .render(ctx, schema, stored, projection, supplied)
            .await?
    };
    let mut res = with_etag(response::json(status, &body), version);
    if status == StatusCode::CREATED {
        res = with_location(res, &location);
    }
    Ok(res)
}

/// The answer to a successful PUT or PATCH (see the module documentation of
/// [`crate::server`] for the 204 rule). `members_loaded`: `stored` carries the members.
async fn respond_after_write(
    inner: &Inner,
    ctx: &Ctx,
    schema: &ResourceSchema,
    stored: StoredResource,
    members_loaded: bool,
    supplied: &RequestedAttrs,
) -> Result<ScimResponse, ScimError> {
    let preference = return_preference(&ctx.headers);
    if preference == ReturnPreference::Minimal {
        return Ok(with_etag(
            response::empty(StatusCode::NO_CONTENT),
            stored.version,
        ));
    }
    let projection = ctx.projection()?;
    let mut stored = stored;
    if has_members(schema) && !members_loaded {
        let wants_members = inner.load_for(schema, &projection, supplied).members;
        if wants_members {
            if preference == ReturnPreference::Unspecified && projection.is_default() {
                return Ok(with_etag(
                    response::empty(StatusCode::NO_CONTENT),
                    stored.version,
                ));
            }
            stored = inner
                .storage
                .get(ctx.scope(schema), &stored.id, Load::ALL)
                .await?;
        }
    }
    respond(
        inner,
        ctx,
        schema,
        stored,
        StatusCode::OK,
        &projection,
        supplied,
    )
    .await
}

/// POST /{type} (RFC 7644 §3.3).
pub(crate) async fn create(
    inner: &Inner,
    ctx: &Ctx,
    resource_type: &str,
    body: &[u8],
) -> Result<ScimResponse, ScimError> {
    let schema = inner.schema(resource_type)?;
    let projection = ctx.projection()?;
    let input = body_resource(body)?;
    let supplied = RequestedAttrs::from_body(&input, schema);
    let mut resource = validate_create(input, schema, &inner.validation)?;
    let members = if has_members(schema) {
        split_members(&mut resource)?
    } else {
        Vec::new()
    };
    check_members_exist(inner, ctx, schema, &members).await?;
    hash_new_password(schema, &mut resource, None).await?;
    // RFC 7643 §3.1 leaves the form of `id` to the service provider. A version 7 UUID
    // (RFC 9562 §5.7: a millisecond timestamp, then random bits) is as unique as a random
    // one, and resources created one after the other get ids in that order, so a backend's
    // index on `id` grows at its end instead of at a random place per create: fewer pages
    // written per commit (measured in `loadtest/README.md`). It tells when the resource was
    // created, which `meta.created` says anyway.
    let id = uuid::Uuid::now_v7().to_string();
    let now = now();
    {
        let map = resource.as_map_mut();
        scim_core::resource::remove_ci(map, "id");
        scim_core::resource::remove_ci(map, "meta");
        // `id` right after `schemas` (which `validate_create` puts first), as RFC 7643
        // prints resources: shifted into place, the other members keep their hashes.
        let after_schemas = usize::from(map.keys().next().is_some_and(|k| k == "schemas"));
        map.shift_insert(after_schemas, "id".into(), Value::String(id.clone()));
        map.insert(
            "meta".into(),
            serde_json::json!({
                "resourceType": schema.name(),
                "created": now,
                "lastModified": now,
            }),
        );
    }
    let unique = inner.unique_keys(schema, &resource);
    let members_change = (!members.is_empty()).then(|| MembersChange::Replace(members.clone()));
    let members_change = members_change.as_ref();
    inner
        .before(&created(ctx, schema, &id, &resource, members_change))
        .await?;
    let mut stored = inner
        .storage
        .create(
            ctx.scope(schema),
            NewResource {
                id: id.clone(),
                resource,
                members: members.clone(),
                unique,
            },
        )
        .await?;
    // The hooks after the change see what was stored (the resource the hooks before saw).
    inner
        .after(&created(ctx, schema, &id, &stored.resource, members_change))
        .await;
    if has_members(schema) && stored.resource.get("members").is_none() && !members.is_empty() {
        stored
            .resource
            .as_map_mut()
            .insert("members".into(), members_json(&members));
    }
    respond(
        inner,
        ctx,
        schema,
        stored,
        StatusCode::CREATED,
        &projection,
        &supplied,
    )
    .await
}

/// The [`Change`] of a create, for the provisioning hooks.
fn created<'a>(
    ctx: &'a Ctx,
    schema: &'a ResourceSchema,
    id: &'a str,
    resource: &'a Resource,
    members: Option<&'a MembersChange>,
) -> Change<'a> {
    Change {
        tenant: &ctx.tenant,
        resource_type: schema.name(),
        id,
        kind: ChangeKind::Create,
        resource: Some(resource),
        members,
    }
}

fn precondition_failed(version: u64) -> ScimError {
    ScimError::precondition_failed(format!(
        "If-Match does not match the current version W/\"{version}\" of the resource"
    ))
}

fn lost_race() -> ScimError {
    ScimError::conflict("the resource kept changing while this request was applied; retry it")
}

/// The `expected_version` for a write under `If-Match`: `None` without the header; the
/// version the header names when it names exactly one; else the current version after
/// checking it matches (412 otherwise).
async fn expected_version(
    inner: &Inner,
    ctx: &Ctx,
    schema: &ResourceSchema,
    id: &str,
) -> Result<Option<u64>, ScimError> {
    match if_match(&ctx.headers) {
        None | Some(EtagCondition::Any) => Ok(None),
        Some(EtagCondition::Tags(tags)) if tags.len() == 1 => match tags[0].parse::<u64>() {
            Ok(v) => Ok(Some(v)),
            Err(_) => {
                let current = inner
                    .storage
                    .get(ctx.scope(schema), id, Load::WITHOUT_MEMBERS)
                    .await?;
                Err(precondition_failed(current.version))
            }
        },
        Some(cond) => {
            let current = inner
                .storage
                .get(ctx.scope(schema), id, Load::WITHOUT_MEMBERS)
                .await?;
            if cond.matches(current.version) {
                Ok(Some(current.version))
            } else {
                Err(precondition_failed(current.version))
            }
        }
    }
}

/// Maps a version mismatch to 412 (client sent If-Match) or signals a retry.
fn version_error(
    e: crate::storage::StorageError,
    client_precondition: bool,
) -> Result<(), ScimError> {
    if e.is_version_mismatch() && !client_precondition {
        Ok(())
    } else if e.is_version_mismatch() {
        Err(ScimError::precondition_failed(
            "If-Match does not match the current version of the resource",
        ))
    } else {
        Err(e.into())
    }
}

/// PUT /{type}/{id} (RFC 7644 §3.5.1).
pub(crate) async fn replace(
    inner: &Inner,
    ctx: &Ctx,
    resource_type: &str,
    id: &str,
    body: &[u8],
) -> Result<ScimResponse, ScimError> {
    let schema = inner.schema(resource_type)?;
    ctx.projection()?;
    let input = body_resource(body)?;
    let supplied = RequestedAttrs::from_body(&input, schema);
    let condition = if_match(&ctx.headers);
    for _ in 0..MAX_ATTEMPTS {
        let current = inner
            .storage
            .get(ctx.scope(schema), id, Load::WITHOUT_MEMBERS)
            .await?;
        if let Some(c) = &condition {
            if !c.matches(current.version) {
                return Err(precondition_failed(current.version));
            }
        }
        let mut resource =
            validate_replace(input.clone(), &current.resource, schema, &inner.validation)?;
        // RFC 7644 §3.5.1: PUT replaces; members omitted from the body are cleared.
        let members = if has_members(schema) {
            Some(split_members(&mut resource)?)
        } else {
            None
        };
        if let Some(m) = &members {
            check_members_exist(inner, ctx, schema, m).await?;
        }
        hash_new_password(schema, &mut resource, Some(&current.resource)).await?;
        set_meta(&mut resource, "lastModified", Value::String(now()));
        set_meta(
            &mut resource,
            "resourceType",
            Value::String(schema.name().to_string()),
        );
        let unique = inner.unique_keys(schema, &resource);
        let members_change = members.clone().map(MembersChange::Replace);
        let change = Change {
            tenant: &ctx.tenant,
            resource_type: schema.name(),
            id,
            kind: ChangeKind::Replace,
            resource: Some(&resource),
            members: members_change.as_ref(),
        };
        inner.before(&change).await?;
        let result = inner
            .storage
            .replace(
                ctx.scope(schema),
                id,
                Replacement {
                    resource: resource.clone(),
                    members: members.clone(),
                    unique,
                },
                Some(current.version),
            )
            .await;
        match result {
            Ok(mut stored) => {
                inner.after(&change).await;
                if let Some(m) = &members {
                    if stored.resource.get("members").is_none() && !m.is_empty() {
                        stored
                            .resource
                            .as_map_mut()
                            .insert("members".into(), members_json(m));
                    }
                }
                return respond_after_write(
                    inner,
                    ctx,
                    schema,
                    stored,
                    members.is_some(),
                    &supplied,
                )
                .await;
            }
            Err(e) => version_error(e, condition.is_some())?,
        }
    }
    Err(lost_race())
}

/// Is this path `members` (optionally with the core schema URN)?
fn is_members_attr(schema: &ResourceSchema, path: &AttrPath) -> bool {
    path.name.eq_ignore_ascii_case("members")
        && path.sub_attr.is_none()
        && path
            .uri
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(&schema.core.id))
}

fn member_list(value: &Value) -> Option<Vec<Member>> {
    let items: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![value],
        _ => return None,
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| member_from_json(v, i).ok())
        .collect()
}

/// A PATCH that only adds or only removes members, or replaces the whole membership, as one
/// storage [`MembersChange`] (applied in O(changed members), without reading the group).
/// The forms: `add` path `members` with a value list; `remove` path
/// `members[value eq "id"]`; `remove` path `members` with a value list (Entra); `remove`
/// path `members` without a value (all members); `replace` path `members` with a list.
/// Anything else (or a mix of adds and removes) is `None` and goes the general way.
pub(crate) fn members_fast_path(
    schema: &ResourceSchema,
    req: &PatchRequest,
    remove_by_value: bool,
) -> Option<MembersChange> {
    if !has_members(schema) || req.operations.is_empty() {
        return None;
    }
    let mut result: Option<MembersChange> = None;
    for op in &req.operations {
        let path = PatchPath::parse(op.path.as_deref()?).ok()?;
        if !is_members_attr(schema, &path.attr) || path.sub_attr.is_some() {
            return None;
        }
        let change = match (op.op, &path.filter, &op.value) {
            (PatchOpKind::Add, None, Some(v)) => MembersChange::Add(member_list(v)?),
            (PatchOpKind::Remove, Some(filter), None) => match filter {
                Filter::Compare {
                    path: p,
                    op: CompareOp::Eq,
                    value: CompValue::String(id),
                } if p.name.eq_ignore_ascii_case("value")
                    && p.sub_attr.is_none()
                    && p.uri.is_none() =>
                {
                    MembersChange::Remove(vec![id.clone()])
                }
                _ => return None,
            },
            (PatchOpKind::Remove, None, Some(v)) if remove_by_value => {
                MembersChange::Remove(member_list(v)?.into_iter().map(|m| m.value).collect())
            }
            (PatchOpKind::Remove, None, None) => MembersChange::Replace(Vec::new()),
            (PatchOpKind::Replace, None, Some(v)) => MembersChange::Replace(member_list(v)?),
            _ => return None,
        };
        result = Some(match (result, change) {
            (None, c) => c,
            (Some(MembersChange::Add(mut a)), MembersChange::Add(b)) => {
                a.extend(b);
                MembersChange::Add(a)
            }
            (Some(MembersChange::Remove(mut a)), MembersChange::Remove(b)) => {
                a.extend(b);
                MembersChange::Remove(a)
            }
            _ => return None,
        });
    }
    result
}

/// The member ids named by `remove` operations of the form `members[value eq "id"]`, in
/// order. The general PATCH engine answers such a removal of a member that is not there
/// with 400 `noTarget` (RFC 7644 §3.12: "a filter that yields no match"), so the fast path
/// must check them too. (The value-array form that Entra sends, `path: "members"` with
/// `value: [{"value": "id"}]`, removes what is there and ignores the rest, in both paths.)
fn filtered_removals(req: &PatchRequest) -> Vec<String> {
    req.operations
        .iter()
        .filter(|op| op.op == PatchOpKind::Remove && op.value.is_none())
        .filter_map(
            |op| match PatchPath::parse(op.path.as_deref()?).ok()?.filter {
                Some(Filter::Compare {
                    op: CompareOp::Eq,
                    value: CompValue::String(id),
                    ..
                }) => Some(id),
                _ => None,
            },
        )
        .collect()
}

/// The schema the general PATCH engine applies a membership change with: `members.value`
/// compared exactly, as the storage and the fast path compare member ids. A member's
/// `value` is its `id` (RFC 7643 §4.2), and RFC 7643 §3.1 defines `id` as case-exact (it
/// is looked up exactly: `/Users/ABC` is not `/Users/abc`), though RFC 7643 §8.7.1 prints
/// `members.value` with `"caseExact": false`. `None` when the schema needs no change.
fn exact_member_ids(schema: &ResourceSchema) -> Option<ResourceSchema> {
    let value = schema
        .core
        .attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case("members"))?
        .sub_attribute("value")?;
    if value.case_exact {
        return None;
    }
    let mut exact = schema.clone();
    for a in std::sync::Arc::make_mut(&mut exact.core)
        .attributes
        .iter_mut()
        .filter(|a| a.name.eq_ignore_ascii_case("members"))
    {
        for sub in a
            .sub_attributes
            .iter_mut()
            .filter(|s| s.name.eq_ignore_ascii_case("value"))
        {
            sub.case_exact = true;
        }
    }
    Some(exact)
}

/// Does any operation possibly touch `members`? A path-less operation does when its value
/// object has a `members` key (or is not an object, which `apply_patch` then refuses).
fn touches_members(schema: &ResourceSchema, req: &PatchRequest) -> bool {
    req.operations.iter().any(|op| match op.path.as_deref() {
        None => match &op.value {
            Some(Value::Object(o)) => o.keys().any(|k| {
                k.eq_ignore_ascii_case("members")
                    || k.rsplit_once(':')
                        .is_some_and(|(_, name)| name.eq_ignore_ascii_case("members"))
            }),
            _ => true,
        },
        Some(p) => match PatchPath::parse(p) {
            Ok(pp) => {
                let top = AttrPath {
                    sub_attr: None,
                    ..pp.attr
                };
                is_members_attr(schema, &top)
            }
            Err(_) => true,
        },
    })
}

/// The attributes a PATCH names, for `returned: request` (RFC 7643 §7).
fn patch_supplied(req: &PatchRequest) -> RequestedAttrs {
    RequestedAttrs::from_paths(req.operations.iter().filter_map(|op| {
        let p = PatchPath::parse(op.path.as_deref()?).ok()?;
        Some(AttrPath {
            sub_attr: None,
            ..p.attr
        })
    }))
}

/// PATCH /{type}/{id} (RFC 7644 §3.5.2).
pub(crate) async fn patch(
    inner: &Inner,
    ctx: &Ctx,
    resource_type: &str,
    id: &str,
    body: &[u8],
) -> Result<ScimResponse, ScimError> {
    let schema = inner.schema(resource_type)?;
    ctx.projection()?;
    let req = PatchRequest::from_json(parse_json(body)?)?;
    req.validate_with(&inner.patch)?;
    let supplied = patch_supplied(&req);
    let condition = if_match(&ctx.headers);

    if let Some(change) = members_fast_path(schema, &req, inner.patch.remove_by_value) {
        check_added_members(inner, ctx, schema, &change).await?;
        let expected = expected_version(inner, ctx, schema, id).await?;
        let removals = filtered_removals(&req);
        for (i, member) in removals.iter().enumerate() {
            let listed = inner
                .storage
                .groups_of(&ctx.tenant, member)
                .await?
                .iter()
                .any(|g| g.id == id && g.resource_type == schema.name());
            if !listed || removals[..i].contains(member) {
                return Err(ScimError::no_target(format!(
                    "no value of \"members\" matches the filter [value eq {member:?}]"
                )));
            }
        }
        let hook = Change {
            tenant: &ctx.tenant,
            resource_type: schema.name(),
            id,
            kind: ChangeKind::Patch,
            resource: None,
            members: Some(&change),
        };
        inner.before(&hook).await?;
        let stored = inner
            .storage
            .modify_members(ctx.scope(schema), id, change.clone(), expected)
            .await
            .map_err(|e| match version_error(e, true) {
                Err(e) => e,
                Ok(()) => lost_race(),
            })?;
        inner.after(&hook).await;
        return respond_after_write(inner, ctx, schema, stored, false, &supplied).await;
    }

    let load = if has_members(schema) && touches_members(schema, &req) {
        Load::ALL
    } else {
        Load::WITHOUT_MEMBERS
    };
    for _ in 0..MAX_ATTEMPTS {
        let current = inner.storage.get(ctx.scope(schema), id, load).await?;
        if let Some(c) = &condition {
            if !c.matches(current.version) {
                return Err(precondition_failed(current.version));
            }
        }
        let mut resource = current.resource.clone();
        let exact = load.members.then(|| exact_member_ids(schema)).flatten();
        let outcome = apply_patch(
            &mut resource,
            exact.as_ref().unwrap_or(schema),
            &req,
            &inner.patch,
        )?;
        if !outcome.changed {
            // RFC 7644 §3.5.2.1: no change, no new version or lastModified.
            return respond_after_write(inner, ctx, schema, current, load.members, &supplied).await;
        }
        let members_changed = outcome
            .changed_attributes
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case("members"));
        let all_members = if load.members {
            Some(split_members(&mut resource)?)
        } else {
            None
        };
        let members = if members_changed {
            all_members.clone()
        } else {
            None
        };
        if let Some(m) = &members {
            // Only the ids this PATCH adds are looked up.
            let before: std::collections::HashSet<String> = current
                .resource
                .get("members")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.get("value").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let added: Vec<Member> = m
                .iter()
                .filter(|x| !before.contains(&x.value))
                .cloned()
                .collect();
            check_members_exist(inner, ctx, schema, &added).await?;
        }
        hash_new_password(schema, &mut resource, Some(&current.resource)).await?;
        set_meta(&mut resource, "lastModified", Value::String(now()));
        let unique = inner.unique_keys(schema, &resource);
        let members_change = members.clone().map(MembersChange::Replace);
        let hook = Change {
            tenant: &ctx.tenant,
            resource_type: schema.name(),
            id,
            kind: ChangeKind::Patch,
            resource: Some(&resource),
            members: members_change.as_ref(),
        };
        inner.before(&hook).await?;
        let result = inner
            .storage
            .replace_after_patch(
                ctx.scope(schema),
                id,
                Replacement {
                    resource: resource.clone(),
                    members,
                    unique,
                },
                Some(current.version),
            )
            .await;
        match result {
            Ok(mut stored) => {
                inner.after(&hook).await;
                if let Some(m) = &all_members {
                    if stored.resource.get("members").is_none() && !m.is_empty() {
                        stored
                            .resource
                            .as_map_mut()
                            .insert("members".into(), members_json(m));
                    }
                }
                return respond_after_write(inner, ctx, schema, stored, load.members, &supplied)
                    .await;
            }
            Err(e) => version_error(e, condition.is_some())?,
        }
    }
    Err(lost_race())
}

/// The ids a membership change adds must exist (see [`check_members_exist`]).
async fn check_added_members(
    inner: &Inner,
    ctx: &Ctx,
    schema: &ResourceSchema,
    change: &MembersChange,
) -> Result<(), ScimError> {
    match change {
        MembersChange::Add(m) | MembersChange::Replace(m) => {
            check_members_exist(inner, ctx, schema, m).await
        }
        _ => Ok(()),
    }
}

/// DELETE /{type}/{id} (RFC 7644 §3.6).
pub(crate) async fn delete(
    inner: &Inner,
    ctx: &Ctx,
    resource_type: &str,
    id: &str,
) -> Result<ScimResponse, ScimError> {
    let schema = inner.schema(resource_type)?;
    let expected = expected_version(inner, ctx, schema, id).await?;
    let hook = Change {
        tenant: &ctx.tenant,
        resource_type: schema.name(),
        id,
        kind: ChangeKind::Delete,
        resource: None,
        members: None,
    };
    inner.before(&hook).await?;
    inner
        .storage
        .delete(ctx.scope(schema), id, expected)
        .await
        .map_err(|e| match version_error(e, true) {
            Err(e) => e,
            Ok(()) => lost_race(),
        })?;
    inner.after(&hook).await;
    inner.forget_rendered(ctx, schema, id);
    Ok(response::empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: serde_json::Value) -> PatchRequest {
        PatchRequest::from_json(v).unwrap()
    }

    fn ops(ops: serde_json::Value) -> PatchRequest {
        req(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops
        }))
    }

    #[test]
    fn member_fast_path_forms() {
        let g = scim_core::builtin::group_resource_schema();
        let add = ops(
            serde_json::json!([{"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]),
        );
        assert_eq!(
            members_fast_path(&g, &add, true),
            Some(MembersChange::Add(vec![Member::new("a"), Member::new("b")]))
        );
        let rm = ops(serde_json::json!([{"op": "remove", "path": "members[value eq \"a\"]"}]));
        assert_eq!(
            members_fast_path(&g, &rm, true),
            Some(MembersChange::Remove(vec!["a".into()]))
        );
        let rm2 = ops(
            serde_json::json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}]}]),
        );
        assert_eq!(
            members_fast_path(&g, &rm2, true),
            Some(MembersChange::Remove(vec!["a".into()]))
        );
        assert_eq!(members_fast_path(&g, &rm2, false), None);
        let mixed = ops(serde_json::json!([
            {"op": "remove", "path": "members[value eq \"a\"]"},
            {"op": "add", "path": "members", "value": [{"value": "b"}]}
        ]));
        assert_eq!(members_fast_path(&g, &mixed, true), None);
        let other =
            ops(serde_json::json!([{"op": "replace", "path": "displayName", "value": "x"}]));
        assert_eq!(members_fast_path(&g, &other, true), None);
        let bad =
            ops(serde_json::json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]));
        assert_eq!(members_fast_path(&g, &bad, true), None);
        let u = scim_core::builtin::user_resource_schema();
        assert_eq!(members_fast_path(&u, &add, true), None);
        assert!(touches_members(&g, &add));
        assert!(!touches_members(&g, &other));
        let sub = ops(
            serde_json::json!([{"op": "replace", "path": "members[value eq \"a\"].display", "value": "A"}]),
        );
        assert!(touches_members(&g, &sub));
        assert_eq!(members_fast_path(&g, &sub, true), None);
        let pathless = ops(serde_json::json!([{"op": "replace", "value": {"displayName": "x"}}]));
        assert!(!touches_members(&g, &pathless));
        let pathless = ops(serde_json::json!([{"op": "replace", "value": {"Members": []}}]));
        assert!(touches_members(&g, &pathless));
    }

    #[test]
    fn only_filtered_removals_must_find_their_member() {
        let rm = ops(serde_json::json!([
            {"op": "remove", "path": "members[value eq \"a\"]"},
            {"op": "Remove", "path": "members[value eq \"B\"]"}
        ]));
        assert_eq!(filtered_removals(&rm), ["a", "B"]);
        // Entra's value-array form removes what is there and ignores the rest.
        let by_value = ops(
            serde_json::json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}]}]),
        );
        assert!(filtered_removals(&by_value).is_empty());
    }

    #[test]
    fn the_general_engine_compares_member_ids_exactly() {
        let g = scim_core::builtin::group_resource_schema();
        let value = |s: &ResourceSchema| {
            s.core
                .attributes
                .iter()
                .find(|a| a.name == "members")
                .and_then(|a| a.sub_attribute("value"))
                .map(|v| v.case_exact)
        };
        // RFC 7643 §8.7.1 prints it case-insensitive; the engine gets the exact view.
        assert_eq!(value(&g), Some(false));
        let exact = exact_member_ids(&g).unwrap();
        assert_eq!(value(&exact), Some(true));
        assert!(exact_member_ids(&exact).is_none());
        assert!(exact_member_ids(&scim_core::builtin::user_resource_schema()).is_none());
    }
}
