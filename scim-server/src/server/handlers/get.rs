//! GET /{type}/{id} (RFC 7644 §3.4.1), with `If-None-Match` (§3.14), served from the cache
//! of rendered resources when no projection applies.

use bytes::Bytes;
use http::StatusCode;
use scim_core::projection::{Projection, RequestedAttrs};
use scim_core::schema::{Attribute, ResourceSchema, Returned};
use scim_core::{ScimError, resource::remove_ci};
use serde_json::Value;

use super::{Ctx, load_for, wants_groups};
use crate::server::Inner;
use crate::server::rendered::{Rendered, RenderedCache, RenderedKey, with_attribute};
use crate::server::request::if_none_match;
use crate::server::response::{self, ScimResponse, with_etag};
use crate::storage::{GroupRef, Load, StoredResource};

pub(crate) async fn get(
    inner: &Inner,
    ctx: &Ctx,
    resource_type: &str,
    id: &str,
) -> Result<ScimResponse, ScimError> {
    let schema = inner.schema(resource_type)?;
    let projection = ctx.projection()?;
    match &inner.rendered {
        Some(cache) if projection.is_default() && groups_are_whole(schema) => {
            get_cached(inner, cache, ctx, schema, id, &projection).await
        }
        _ => get_rendered(inner, ctx, schema, id, &projection).await,
    }
}

/// Reads the resource (and its computed `groups` when the projection returns them) and
/// renders it.
async fn get_rendered(
    inner: &Inner,
    ctx: &Ctx,
    schema: &ResourceSchema,
    id: &str,
    projection: &Projection,
) -> Result<ScimResponse, ScimError> {
    let supplied = RequestedAttrs::none();
    let load = load_for(schema, projection, &supplied);
    let with_groups = wants_groups(schema, projection, &supplied);
    let (stored, groups) = read(inner, ctx, schema, id, load, with_groups).await?;
    if if_none_match(&ctx.headers).is_some_and(|c| c.matches(stored.version)) {
        return Ok(not_modified(stored.version));
    }
    let version = stored.version;
    let body = inner.render_with_groups(ctx, schema, stored, projection, &supplied, groups)?;
    Ok(with_etag(response::json(StatusCode::OK, &body), version))
}

/// [`get_rendered`] without parsing, projecting and serialising the resource again while
/// its version is the one the cache rendered: the storage is asked for the version only
/// (and the computed `groups`, which are not part of the cached body and are added to it).
async fn get_cached(
    inner: &Inner,
    cache: &RenderedCache,
    ctx: &Ctx,
    schema: &ResourceSchema,
    id: &str,
    projection: &Projection,
) -> Result<ScimResponse, ScimError> {
    let supplied = RequestedAttrs::none();
    let key = RenderedKey::new(&ctx.tenant, schema.name(), id);
    let cached = cache.get(&key);
    let full = load_for(schema, projection, &supplied);
    let load = if cached.is_some() {
        Load::VERSION
    } else {
        full
    };
    let with_groups = wants_groups(schema, projection, &supplied);
    let (stored, groups) = read(inner, ctx, schema, id, load, with_groups).await?;
    if if_none_match(&ctx.headers).is_some_and(|c| c.matches(stored.version)) {
        return Ok(not_modified(stored.version));
    }
    let (version, body) = match cached.filter(|c| c.is_current(stored.version, &ctx.base_url)) {
        Some(hit) => (hit.version, hit.body.clone()),
        None => {
            // A miss, or a rendering of another version: read the attributes (again, when
            // only the version was read) and render them.
            let stored = if load == full {
                stored
            } else {
                inner.storage.get(ctx.scope(schema), id, full).await?
            };
            let version = stored.version;
            let value = inner.render_with_groups(
                ctx,
                schema,
                without_groups(schema, stored),
                projection,
                &supplied,
                None,
            )?;
            let body = Bytes::from(
                serde_json::to_vec(&value)
                    .map_err(|e| ScimError::internal(format!("rendering a resource: {e}")))?,
            );
            cache.insert(
                key,
                Rendered {
                    version,
                    base_url: ctx.base_url.clone(),
                    body: body.clone(),
                },
            );
            (version, body)
        }
    };
    let body = match (schema.core.attribute("groups"), groups) {
        (Some(attr), Some(groups)) if !groups.is_empty() => {
            let list = Value::Array(inner.groups_json(ctx, groups));
            with_attribute(&body, &attr.name, &list)
                .ok_or_else(|| ScimError::internal("a rendered resource is not a JSON object"))?
        }
        _ => body,
    };
    Ok(with_etag(
        response::json_bytes(StatusCode::OK, body),
        version,
    ))
}

/// The resource, with its computed `groups` (read in the same storage call) when asked.
async fn read(
    inner: &Inner,
    ctx: &Ctx,
    schema: &ResourceSchema,
    id: &str,
    load: Load,
    with_groups: bool,
) -> Result<(StoredResource, Option<Vec<GroupRef>>), ScimError> {
    let scope = ctx.scope(schema);
    Ok(if with_groups {
        let (stored, groups) = inner.storage.get_with_groups(scope, id, load).await?;
        (stored, Some(groups))
    } else {
        (inner.storage.get(scope, id, load).await?, None)
    })
}

fn not_modified(version: u64) -> ScimResponse {
    with_etag(response::empty(StatusCode::NOT_MODIFIED), version)
}

/// The stored resource without a `groups` attribute of its own: the cached body leaves the
/// computed `groups` out, and they are added on every request.
fn without_groups(schema: &ResourceSchema, mut stored: StoredResource) -> StoredResource {
    if schema.core.attribute("groups").is_some() {
        remove_ci(stored.resource.as_map_mut(), "groups");
    }
    stored
}

/// Does the default projection return the computed `groups` whole (the attribute and each of
/// its sub-attributes returned by default or always, as RFC 7643 §4.1.2 defines them)? Only
/// then are they added to a cached body as they are; a schema that hides part of them is
/// rendered on every request.
fn groups_are_whole(schema: &ResourceSchema) -> bool {
    let shown = |a: &Attribute| matches!(a.returned, Returned::Default | Returned::Always);
    schema
        .core
        .attribute("groups")
        .is_none_or(|g| shown(g) && g.sub_attributes.iter().all(shown))
}
