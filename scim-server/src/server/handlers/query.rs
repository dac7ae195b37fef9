//! A query's page, rendered (RFC 7644 §3.4.2): read through the planner and rendered as a
//! GET renders each resource, from the cache of rendered resources when no projection
//! applies.
//!
//! With the cache, the page is read twice over at most: first the ids and versions alone
//! (no attributes read or parsed), then, in one call ([`Storage::get_many`]), the attributes
//! of the resources whose rendering at that version the cache does not hold. A page whose
//! renderings are all kept (a client looking up the users it provisions) costs the first
//! read only.
//!
//! [`Storage::get_many`]: crate::storage::Storage::get_many

use std::collections::HashMap;
use std::sync::Arc;

use scim_core::projection::{Projection, RequestedAttrs};
use scim_core::schema::ResourceSchema;
use scim_core::sort::SortSpec;
use scim_core::{Filter, ScimError};
use serde_json::Value;
use serde_json::value::RawValue;

use super::Ctx;
use crate::server::Inner;
use crate::server::rendered::{Rendered, RenderedCache, RenderedKey};
use crate::storage::planner;
use crate::storage::{GroupRef, Load, QueryPage, Scope, StoragePage, StoredResource};

/// One resource of a list page: rendered for this request, or JSON text embedded as it is
/// (a rendering kept in the cache of rendered resources, shared with it, or one with the
/// computed `groups` added).
#[derive(Debug)]
pub(crate) enum RenderedResource {
    Value(Value),
    Raw(Box<RawValue>),
    Kept(Arc<Rendered>),
}

impl serde::Serialize for RenderedResource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RenderedResource::Value(value) => value.serialize(serializer),
            RenderedResource::Raw(raw) => raw.serialize(serializer),
            RenderedResource::Kept(kept) => kept.body.serialize(serializer),
        }
    }
}

/// A page of a query, rendered ([`Inner::query_rendered`]).
pub(crate) struct RenderedPage {
    /// The resources as the client sees them.
    pub resources: Vec<RenderedResource>,
    /// The number of matches (`totalResults`).
    pub total_results: u64,
    /// The cursor of the next page, with cursor paging.
    pub next_cursor: Option<String>,
}

/// What a query asks, as the handlers received it.
#[derive(Clone, Copy)]
pub(crate) struct PageQuery<'a> {
    pub filter: Option<&'a Filter>,
    pub sort: Option<&'a SortSpec>,
    pub page: &'a StoragePage,
    pub projection: &'a Projection,
    pub supplied: &'a RequestedAttrs,
}

/// A page as the storage returned it, with the computed `groups` of its resources when the
/// response returns them.
struct Found {
    page: QueryPage,
    groups: Option<HashMap<String, Vec<GroupRef>>>,
}

impl Found {
    /// The computed `groups` of `id` (`None` when the response does not return them).
    fn groups_of(&mut self, id: &str) -> Option<Vec<GroupRef>> {
        self.groups
            .as_mut()
            .map(|g| g.remove(id).unwrap_or_default())
    }
}

impl Inner {
    /// Runs a query through the planner and renders its page as [`Inner::render`] renders
    /// each resource. The computed `groups` of the whole page come with the page from ONE
    /// storage call ([`planner::execute_with_groups`]), not one per resource (a page of N
    /// users must not cost N queries), and are not read at all when the projection leaves
    /// `groups` out.
    pub(crate) async fn query_rendered(
        &self,
        ctx: &Ctx,
        schema: &ResourceSchema,
        request: PageQuery<'_>,
    ) -> Result<RenderedPage, ScimError> {
        let cache = self.rendered_for(schema, request.projection, request.supplied);
        let load = self.load_for(schema, request.projection, request.supplied);
        let Some(cache) = cache else {
            let mut found = self.find(ctx, schema, &request, load).await?;
            let resources = std::mem::take(&mut found.page.resources)
                .into_iter()
                .map(|stored| {
                    let groups = found.groups_of(&stored.id);
                    self.render_with_groups(
                        ctx,
                        schema,
                        stored,
                        request.projection,
                        request.supplied,
                        groups,
                    )
                    .map(RenderedResource::Value)
                })
                .collect::<Result<Vec<_>, ScimError>>()?;
            return Ok(rendered_page(found.page, resources));
        };
        let found = self.find(ctx, schema, &request, Load::VERSION).await?;
        let first = self.render_from_cache(cache, ctx, schema, &request, load, false, found);
        if let Some(page) = first.await? {
            return Ok(page);
        }
        // A resource of the page changed between the two reads: read the page again, whole
        // (its attributes with it), and render what the cache does not hold.
        let found = self.find(ctx, schema, &request, load).await?;
        self.render_from_cache(cache, ctx, schema, &request, load, true, found)
            .await?
            .ok_or_else(|| ScimError::internal("a page read with its attributes lacks them"))
    }

    /// The page through the planner, with the computed `groups` when the response returns
    /// them.
    async fn find(
        &self,
        ctx: &Ctx,
        schema: &ResourceSchema,
        r: &PageQuery<'_>,
        load: Load,
    ) -> Result<Found, ScimError> {
        let (storage, scope, limits) = (self.storage.as_ref(), ctx.scope(schema), &self.limits);
        Ok(if self.wants_groups(schema, r.projection, r.supplied) {
            let (page, groups) = planner::execute_with_groups(
                storage, scope, r.filter, r.sort, r.page, load, limits,
            )
            .await?;
            Found {
                page,
                groups: Some(groups),
            }
        } else {
            let page =
                planner::execute(storage, scope, r.filter, r.sort, r.page, load, limits).await?;
            Found { page, groups: None }
        })
    }

    /// The page rendered from the cache and, for the resources whose rendering at their
    /// version it does not hold, from their attributes: those of `found` when it was read
    /// with them (`read_whole`), else read in one [`Storage::get_many`] with `load`. `None`
    /// when one of those resources changed (or went) after `found` was read.
    #[allow(clippy::too_many_arguments)]
    async fn render_from_cache(
        &self,
        cache: &RenderedCache,
        ctx: &Ctx,
        schema: &ResourceSchema,
        request: &PageQuery<'_>,
        load: Load,
        read_whole: bool,
        mut found: Found,
    ) -> Result<Option<RenderedPage>, ScimError> {
        let stored = std::mem::take(&mut found.page.resources);
        let key = |id: &str| RenderedKey::new(&ctx.tenant, schema.name(), id);
        let hits: Vec<Option<Arc<Rendered>>> = stored
            .iter()
            .map(|s| cache.current(&key(&s.id), s.version, &ctx.base_url))
            .collect();
        let missing: Vec<&str> = stored
            .iter()
            .zip(&hits)
            .filter(|(_, hit)| hit.is_none())
            .map(|(s, _)| s.id.as_str())
            .collect();
        let mut read: HashMap<String, StoredResource> = HashMap::new();
        if !read_whole && !missing.is_empty() {
            let scope = Scope::new(&ctx.tenant, schema);
            for s in self.storage.get_many(scope, &missing, load).await? {
                read.insert(s.id.clone(), s);
            }
        }
        let mut resources = Vec::with_capacity(stored.len());
        for (s, hit) in stored.into_iter().zip(hits) {
            let groups = found.groups_of(&s.id);
            let kept = match hit {
                Some(hit) => hit,
                None => {
                    let whole = if read_whole {
                        s
                    } else {
                        match read.remove(&s.id) {
                            Some(r) if r.version == s.version => r,
                            _ => return Ok(None),
                        }
                    };
                    let k = key(&whole.id);
                    self.render_and_keep(cache, k, ctx, schema, whole, request.projection)?
                }
            };
            resources.push(match self.with_groups(ctx, schema, &kept.body, groups)? {
                None => RenderedResource::Kept(kept),
                Some(body) => RenderedResource::Raw(
                    RawValue::from_string(body)
                        .map_err(|e| ScimError::internal(format!("a rendered resource: {e}")))?,
                ),
            });
        }
        Ok(Some(rendered_page(found.page, resources)))
    }
}

fn rendered_page(page: QueryPage, resources: Vec<RenderedResource>) -> RenderedPage {
    RenderedPage {
        resources,
        total_results: page.total_results,
        next_cursor: page.next_cursor,
    }
}
