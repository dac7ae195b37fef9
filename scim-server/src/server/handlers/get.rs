//! GET /{type}/{id} (RFC 7644 §3.4.1), with `If-None-Match` (§3.14), served from the cache
//! of rendered resources when no projection applies.

use bytes::Bytes;
use http::StatusCode;
use scim_core::ScimError;
use scim_core::projection::{Projection, RequestedAttrs};
use scim_core::schema::ResourceSchema;

use super::Ctx;
use crate::server::Inner;
use crate::server::rendered::{RenderedCache, RenderedKey};
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
    match inner.rendered_for(schema, &projection, &RequestedAttrs::none()) {
        Some(cache) => get_cached(inner, cache, ctx, schema, id, &projection).await,
        None => get_rendered(inner, ctx, schema, id, &projection).await,
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
    let load = inner.load_for(schema, projection, &supplied);
    let with_groups = inner.wants_groups(schema, projection, &supplied);
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
    let full = inner.load_for(schema, projection, &supplied);
    let load = if cached.is_some() {
        Load::VERSION
    } else {
        full
    };
    let with_groups = inner.wants_groups(schema, projection, &supplied);
    let (stored, groups) = read(inner, ctx, schema, id, load, with_groups).await?;
    if if_none_match(&ctx.headers).is_some_and(|c| c.matches(stored.version)) {
        return Ok(not_modified(stored.version));
    }
    let kept = match cached.filter(|c| c.is_current(stored.version, &ctx.base_url)) {
        Some(hit) => hit,
        None => {
            // A miss, or a rendering of another version: read the attributes (again, when
            // only the version was read) and render them.
            let stored = if load == full {
                stored
            } else {
                inner.storage.get(ctx.scope(schema), id, full).await?
            };
            inner.render_and_keep(cache, key, ctx, schema, stored, projection)?
        }
    };
    let body = inner
        .with_groups(ctx, schema, &kept.body, groups)?
        .map_or_else(
            || Bytes::copy_from_slice(kept.body.get().as_bytes()),
            Bytes::from,
        );
    Ok(with_etag(
        response::json_bytes(StatusCode::OK, body),
        kept.version,
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
