//! Endpoint handlers and what they share: the request context, rendering a stored resource
//! (meta, computed `groups`, projection), members, provisioning hooks.

pub(crate) mod bulk;
pub(crate) mod defaults;
pub(crate) mod discovery;
pub(crate) mod get;
pub(crate) mod list;
pub(crate) mod me;
pub(crate) mod members;
pub(crate) mod query;
pub(crate) mod resource;

use std::sync::Arc;

use http::{HeaderMap, Method};
use scim_core::projection::{Projection, RequestedAttrs, project_into};
use scim_core::resource::get_ci_mut;
use scim_core::schema::ResourceSchema;
use scim_core::{Resource, ScimError};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::Inner;
use super::rendered::{Rendered, RenderedCache, RenderedKey, with_attribute, without_groups};
use super::request::query_param;
use super::response::etag;
use crate::auth::AuthContext;
use crate::provisioning::Change;
use crate::storage::{GroupRef, Load, Member, Scope, StoredResource, UniqueKey};
use crate::tenancy::TenantId;

/// What a handler knows about the request.
pub(crate) struct Ctx {
    pub(crate) tenant: TenantId,
    pub(crate) auth: AuthContext,
    /// The absolute URL of the tenant's SCIM base, without a trailing `/`.
    pub(crate) base_url: String,
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) query: Vec<(String, String)>,
}

impl Ctx {
    pub(crate) fn scope<'a>(&'a self, schema: &'a ResourceSchema) -> Scope<'a> {
        Scope::new(&self.tenant, schema)
    }

    /// `attributes` / `excludedAttributes` of the query string.
    pub(crate) fn projection(&self) -> Result<Projection, ScimError> {
        Projection::from_params(
            query_param(&self.query, "attributes"),
            query_param(&self.query, "excludedAttributes"),
        )
    }

    /// The URL of a resource.
    pub(crate) fn location(&self, schema: &ResourceSchema, id: &str) -> String {
        format!(
            "{}/{}/{}",
            self.base_url,
            schema.resource_type.endpoint.trim_matches('/'),
            id
        )
    }
}

impl Inner {
    pub(crate) fn schema(&self, resource_type: &str) -> Result<&ResourceSchema, ScimError> {
        self.registry
            .resource_schema(resource_type)
            .ok_or_else(|| ScimError::not_found(format!("no resource type {resource_type}")))
    }

    pub(crate) fn unique_keys(
        &self,
        schema: &ResourceSchema,
        resource: &Resource,
    ) -> Vec<UniqueKey> {
        self.uniqueness
            .get(&schema.name().to_ascii_lowercase())
            .map(|p| p.keys(schema, resource))
            .unwrap_or_default()
    }

    /// Runs every `before_change` hook in order; the first refusal wins.
    pub(crate) async fn before(&self, change: &Change<'_>) -> Result<(), ScimError> {
        for p in &self.provisioning {
            p.before_change(change).await?;
        }
        Ok(())
    }

    /// Runs every `after_change` hook in order.
    pub(crate) async fn after(&self, change: &Change<'_>) {
        for p in &self.provisioning {
            p.after_change(change).await;
        }
    }

    /// A stored resource as a client sees it: `meta.location`, `meta.version` and
    /// `meta.resourceType` filled in, `groups` computed when the schema has it and the
    /// projection returns it, then projected (RFC 7644 §3.9, RFC 7643 §7 `returned`).
    pub(crate) async fn render(
        &self,
        ctx: &Ctx,
        schema: &ResourceSchema,
        stored: StoredResource,
        projection: &Projection,
        supplied: &RequestedAttrs,
    ) -> Result<Value, ScimError> {
        let groups = if self.wants_groups(schema, projection, supplied) {
            Some(self.storage.groups_of(&ctx.tenant, &stored.id).await?)
        } else {
            None
        };
        self.render_with_groups(ctx, schema, stored, projection, supplied, groups)
    }

    /// [`Inner::render`] with the resource's groups already read (`None`: the projection
    /// does not return `groups`, or the schema has none).
    pub(crate) fn render_with_groups(
        &self,
        ctx: &Ctx,
        schema: &ResourceSchema,
        stored: StoredResource,
        projection: &Projection,
        supplied: &RequestedAttrs,
        groups: Option<Vec<GroupRef>>,
    ) -> Result<Value, ScimError> {
        let StoredResource {
            id,
            version,
            mut resource,
        } = stored;
        let map = resource.as_map_mut();
        if get_ci_mut(map, "id").is_none() {
            map.insert("id".into(), Value::String(id.clone()));
        }
        let meta = match get_ci_mut(map, "meta") {
            Some(Value::Object(m)) => m,
            _ => {
                map.insert("meta".into(), Value::Object(Map::new()));
                match map.get_mut("meta") {
                    Some(Value::Object(m)) => m,
                    _ => return Err(ScimError::internal("meta could not be written")),
                }
            }
        };
        meta.entry("resourceType")
            .or_insert_with(|| Value::String(schema.name().to_string()));
        meta.insert("location".into(), Value::String(ctx.location(schema, &id)));
        meta.insert("version".into(), Value::String(etag(version)));
        if let (Some(groups_attr), Some(groups)) = (schema.core.attribute("groups"), groups) {
            let list = self.groups_json(ctx, groups);
            let map = resource.as_map_mut();
            scim_core::resource::remove_ci(map, "groups");
            if !list.is_empty() {
                map.insert(groups_attr.name.clone(), Value::Array(list));
            }
        }
        if let Some(Value::Array(members)) = get_ci_mut(resource.as_map_mut(), "members") {
            for m in members.iter_mut() {
                add_member_ref(self, ctx, m);
            }
        }
        Ok(project_into(resource, schema, projection, supplied).into_value())
    }
}

impl Inner {
    /// Renders `stored` as a GET without projection returns it, but without its computed
    /// `groups`, and keeps the rendering in `cache` under `key`.
    pub(crate) fn render_and_keep(
        &self,
        cache: &RenderedCache,
        key: RenderedKey,
        ctx: &Ctx,
        schema: &ResourceSchema,
        stored: StoredResource,
        projection: &Projection,
    ) -> Result<Arc<Rendered>, ScimError> {
        let version = stored.version;
        let stored = without_groups(schema, stored);
        let value = self.render_with_groups(
            ctx,
            schema,
            stored,
            projection,
            &RequestedAttrs::none(),
            None,
        )?;
        let body = serde_json::value::to_raw_value(&value)
            .map_err(|e| ScimError::internal(format!("rendering a resource: {e}")))?;
        Ok(cache.insert(
            key,
            Rendered {
                version,
                base_url: ctx.base_url.clone(),
                body,
            },
        ))
    }

    /// A cached rendering with the resource's computed `groups` added at its end; `None`
    /// when there are none to add (the rendering is then the answer as it is).
    pub(crate) fn with_groups(
        &self,
        ctx: &Ctx,
        schema: &ResourceSchema,
        raw: &RawValue,
        groups: Option<Vec<GroupRef>>,
    ) -> Result<Option<String>, ScimError> {
        // Most resources are in no group: nothing to look up then.
        let Some(groups) = groups.filter(|g| !g.is_empty()) else {
            return Ok(None);
        };
        let Some(attr) = schema.core.attribute("groups") else {
            return Ok(None);
        };
        let list = Value::Array(self.groups_json(ctx, groups));
        with_attribute(raw.get(), &attr.name, &list)
            .map(Some)
            .ok_or_else(|| ScimError::internal("a rendered resource is not a JSON object"))
    }

    /// The computed `groups` of a resource as they are returned (RFC 7643 §4.1.2: `value`,
    /// `$ref`, `display`, `type` "direct").
    pub(crate) fn groups_json(&self, ctx: &Ctx, groups: Vec<GroupRef>) -> Vec<Value> {
        groups
            .into_iter()
            .map(|g| {
                let mut o = Map::new();
                if let Some(s) = self.registry.resource_schema(&g.resource_type) {
                    o.insert("$ref".into(), Value::String(ctx.location(s, &g.id)));
                }
                o.insert("value".into(), Value::String(g.id));
                if let Some(d) = g.display {
                    o.insert("display".into(), Value::String(d));
                }
                o.insert("type".into(), Value::String("direct".into()));
                Value::Object(o)
            })
            .collect()
    }

    /// Does a response under `projection` return the computed `groups` (the schema has it and
    /// the projection includes it)? When not, no storage call computes it.
    pub(crate) fn wants_groups(
        &self,
        schema: &ResourceSchema,
        projection: &Projection,
        supplied: &RequestedAttrs,
    ) -> bool {
        self.returns(schema, "groups", projection, supplied, |d| d.groups)
    }

    /// What to load for a response under `projection`: members only when they are returned.
    pub(crate) fn load_for(
        &self,
        schema: &ResourceSchema,
        projection: &Projection,
        supplied: &RequestedAttrs,
    ) -> Load {
        Load {
            members: self.returns(schema, "members", projection, supplied, |d| d.members),
            ..Load::ALL
        }
    }

    /// Does a response under `projection` return the core attribute `name`? The type's
    /// [`defaults::Defaults`] (`by_default`) answer for a request that names no attributes.
    fn returns(
        &self,
        schema: &ResourceSchema,
        name: &str,
        projection: &Projection,
        supplied: &RequestedAttrs,
        by_default: fn(defaults::Defaults) -> bool,
    ) -> bool {
        if defaults::is_default(projection, supplied) {
            by_default(self.defaults.of(&self.registry, schema))
        } else {
            defaults::returns(schema, name, projection, supplied)
        }
    }

    /// The cache of rendered resources when it may answer a response under `projection`:
    /// no `attributes` or `excludedAttributes` (nor attributes supplied by the request), and
    /// the schema's computed `groups` returned whole ([`groups_are_whole`]).
    pub(crate) fn rendered_for(
        &self,
        schema: &ResourceSchema,
        projection: &Projection,
        supplied: &RequestedAttrs,
    ) -> Option<&RenderedCache> {
        self.rendered.as_ref().filter(|_| {
            defaults::is_default(projection, supplied)
                && self.defaults.of(&self.registry, schema).groups_whole
        })
    }

    /// Drops the cached rendering of a deleted resource (a stale one is never served, see
    /// [`crate::server::rendered`], but it would hold memory until evicted).
    pub(crate) fn forget_rendered(&self, ctx: &Ctx, schema: &ResourceSchema, id: &str) {
        if let Some(cache) = &self.rendered {
            cache.remove(&RenderedKey::new(&ctx.tenant, schema.name(), id));
        }
    }
}

fn add_member_ref(inner: &Inner, ctx: &Ctx, member: &mut Value) {
    let Value::Object(o) = member else { return };
    if o.contains_key("$ref") {
        return;
    }
    let (Some(Value::String(id)), Some(Value::String(kind))) = (o.get("value"), o.get("type"))
    else {
        return;
    };
    if let Some(s) = inner.registry.resource_schema(kind) {
        let r = ctx.location(s, id);
        o.insert("$ref".into(), Value::String(r));
    }
}

/// Does this resource type keep members apart (RFC 7643 §4.2 `members`)?
pub(crate) fn has_members(schema: &ResourceSchema) -> bool {
    schema.core.attribute("members").is_some()
}

/// One `members` element as a storage [`Member`]; `value` is required.
pub(crate) fn member_from_json(v: &Value, index: usize) -> Result<Member, ScimError> {
    let Value::Object(o) = v else {
        return Err(ScimError::invalid_value(format!(
            "members[{index}] must be an object with a \"value\""
        )));
    };
    let get = |k: &str| scim_core::resource::get_ci(o, k);
    let value = match get("value") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(ScimError::invalid_value(format!(
                "members[{index}].value is required and must be a non-empty string"
            )));
        }
    };
    let text = |k: &str| get(k).and_then(Value::as_str).map(str::to_string);
    Ok(Member {
        value,
        kind: text("type"),
        display: text("display"),
    })
}

/// Removes `members` from a resource and returns them as storage members.
pub(crate) fn split_members(resource: &mut Resource) -> Result<Vec<Member>, ScimError> {
    match scim_core::resource::remove_ci(resource.as_map_mut(), "members") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| member_from_json(v, i))
            .collect(),
        Some(other) => Err(ScimError::invalid_value(format!(
            "members must be an array, not {other}"
        ))),
    }
}

/// Storage members as `members` JSON.
pub(crate) fn members_json(members: &[Member]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| {
                let mut o = Map::new();
                o.insert("value".into(), json!(m.value));
                if let Some(d) = &m.display {
                    o.insert("display".into(), json!(d));
                }
                if let Some(k) = &m.kind {
                    o.insert("type".into(), json!(k));
                }
                Value::Object(o)
            })
            .collect(),
    )
}

/// Now, as RFC 3339 in UTC.
pub(crate) fn now() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Sets `meta.<key>` on a resource.
pub(crate) fn set_meta(resource: &mut Resource, key: &str, value: Value) {
    let map = resource.as_map_mut();
    match get_ci_mut(map, "meta") {
        Some(Value::Object(m)) => {
            m.insert(key.to_string(), value);
        }
        _ => {
            scim_core::resource::remove_ci(map, "meta");
            let mut m = Map::new();
            m.insert(key.to_string(), value);
            map.insert("meta".into(), Value::Object(m));
        }
    }
}
