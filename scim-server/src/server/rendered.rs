//! The cache of rendered resources: the JSON body a GET of one resource returns when no
//! `attributes` or `excludedAttributes` apply, kept by tenant, resource type and id, with the
//! version it renders.
//!
//! An entry is served only after the storage confirmed, on the same request, that the
//! resource's version is still the entry's (`Load::VERSION`: no attributes read or parsed).
//! Every change bumps the version (the storage contract), so an entry can never be served
//! stale, with one server process or many over one database. The computed `groups` of a User
//! (RFC 7643 §4.1.2) change without the User's version: they are never cached, but read with
//! the version and added to the cached body on every request ([`with_attribute`]).

use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;
use scim_core::resource::remove_ci;
use scim_core::schema::{Attribute, ResourceSchema, Returned};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::storage::StoredResource;
use crate::tenancy::TenantId;

/// Joins the parts of a key. A tenant id cannot hold it (`TenantId::new`) and a resource
/// type's name does not, so the first two separators always split a key back into its parts.
const SEPARATOR: char = '\u{1f}';

/// Bytes of bookkeeping counted for each entry beside its key and body.
const ENTRY_OVERHEAD: u64 = 96;

/// The rendered resources of one server, bounded by the bytes they hold.
pub(crate) struct RenderedCache {
    entries: Cache<RenderedKey, Arc<Rendered>, ByBytes>,
}

/// Which resource an entry renders.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RenderedKey(String);

impl RenderedKey {
    pub(crate) fn new(tenant: &TenantId, resource_type: &str, id: &str) -> Self {
        let mut key =
            String::with_capacity(tenant.as_str().len() + resource_type.len() + id.len() + 2);
        key.push_str(tenant.as_str());
        key.push(SEPARATOR);
        key.push_str(resource_type);
        key.push(SEPARATOR);
        key.push_str(id);
        RenderedKey(key)
    }
}

/// One resource as rendered for one version and one base URL (`meta.location`), without
/// its computed `groups`.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub(crate) version: u64,
    pub(crate) base_url: String,
    /// The JSON text; a list page embeds it as it is.
    pub(crate) body: Box<RawValue>,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<RenderedKey, Arc<Rendered>> for ByBytes {
    fn weight(&self, key: &RenderedKey, value: &Arc<Rendered>) -> u64 {
        (key.0.len() + value.base_url.len() + value.body.get().len()) as u64 + ENTRY_OVERHEAD
    }
}

impl RenderedCache {
    /// A cache of at most `capacity_bytes` (keys, bodies and bookkeeping); `None` for 0.
    pub(crate) fn new(capacity_bytes: u64) -> Option<Self> {
        if capacity_bytes == 0 {
            return None;
        }
        // quick_cache sizes its tables from the expected number of entries: about 1 KiB each.
        let items = usize::try_from(capacity_bytes / 1024)
            .unwrap_or(usize::MAX)
            .max(16);
        Some(RenderedCache {
            entries: Cache::with_weighter(items, capacity_bytes, ByBytes),
        })
    }

    /// The entry of `key`, of whatever version.
    pub(crate) fn get(&self, key: &RenderedKey) -> Option<Arc<Rendered>> {
        self.entries.get(key)
    }

    /// The rendering of `key` at `version` under `base_url`, when kept.
    pub(crate) fn current(
        &self,
        key: &RenderedKey,
        version: u64,
        base_url: &str,
    ) -> Option<Arc<Rendered>> {
        self.get(key).filter(|r| r.is_current(version, base_url))
    }

    /// Keeps `rendered` under `key` and returns it, shared with the cache.
    pub(crate) fn insert(&self, key: RenderedKey, rendered: Rendered) -> Arc<Rendered> {
        let rendered = Arc::new(rendered);
        self.entries.insert(key, Arc::clone(&rendered));
        rendered
    }

    pub(crate) fn remove(&self, key: &RenderedKey) {
        self.entries.remove(key);
    }
}

impl Rendered {
    /// Is this the rendering of `version` under `base_url`?
    pub(crate) fn is_current(&self, version: u64, base_url: &str) -> bool {
        self.version == version && self.base_url == base_url
    }
}

/// Does the default projection return the computed `groups` whole (the attribute and each of
/// its sub-attributes returned by default or always, as RFC 7643 §4.1.2 defines them)? Only
/// then may a cached rendering be used: the groups are added to it as they are. A schema
/// that hides part of them is rendered on every request.
pub(crate) fn groups_are_whole(schema: &ResourceSchema) -> bool {
    let shown = |a: &Attribute| matches!(a.returned, Returned::Default | Returned::Always);
    schema
        .core
        .attribute("groups")
        .is_none_or(|g| shown(g) && g.sub_attributes.iter().all(shown))
}

/// The stored resource without a `groups` attribute of its own: a cached rendering leaves
/// the computed `groups` out; they are added on every request.
pub(crate) fn without_groups(
    schema: &ResourceSchema,
    mut stored: StoredResource,
) -> StoredResource {
    if schema.core.attribute("groups").is_some() {
        remove_ci(stored.resource.as_map_mut(), "groups");
    }
    stored
}

/// A rendered JSON object with one more member, `name: value`, at its end; `None` when
/// `body` is not a JSON object's text (it always is: the server rendered it).
pub(crate) fn with_attribute(body: &str, name: &str, value: &Value) -> Option<String> {
    let inner = body.strip_prefix('{')?.strip_suffix('}')?;
    let name = serde_json::to_string(name).ok()?;
    let value = serde_json::to_string(value).ok()?;
    let mut out = String::with_capacity(body.len() + name.len() + value.len() + 2);
    out.push('{');
    out.push_str(inner);
    if !inner.trim_ascii().is_empty() {
        out.push(',');
    }
    out.push_str(&name);
    out.push(':');
    out.push_str(&value);
    out.push('}');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_attribute_is_added_at_the_end_of_the_object() {
        let body = serde_json::to_string(&json!({"id": "1", "userName": "bjensen"})).unwrap();
        let groups = json!([{"value": "g1", "display": "Tour \"Guides\""}]);
        let out = with_attribute(&body, "groups", &groups).unwrap();
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            parsed,
            json!({"id": "1", "userName": "bjensen", "groups": groups})
        );
        let empty = with_attribute("{}", "groups", &json!([])).unwrap();
        assert_eq!(empty, r#"{"groups":[]}"#);
        assert!(with_attribute("[1]", "groups", &json!([])).is_none());
        assert!(with_attribute("", "groups", &json!([])).is_none());
    }

    #[test]
    fn entries_are_kept_by_key_and_bounded_by_bytes() {
        let tenant = TenantId::new("t1").unwrap();
        let cache = RenderedCache::new(64 * 1024).unwrap();
        let key = RenderedKey::new(&tenant, "User", "1");
        cache.insert(
            key.clone(),
            Rendered {
                version: 3,
                base_url: "http://h/scim".into(),
                body: RawValue::from_string("{}".into()).unwrap(),
            },
        );
        let hit = cache.get(&key).unwrap();
        assert!(hit.is_current(3, "http://h/scim"));
        assert!(!hit.is_current(4, "http://h/scim"));
        assert!(!hit.is_current(3, "http://other/scim"));
        assert!(
            cache
                .get(&RenderedKey::new(&tenant, "Group", "1"))
                .is_none()
        );
        assert!(
            cache
                .get(&RenderedKey::new(
                    &TenantId::new("t2").unwrap(),
                    "User",
                    "1"
                ))
                .is_none()
        );
        cache.remove(&key);
        assert!(cache.get(&key).is_none());
        // 1,000 bodies of 1 KiB do not fit in 64 KiB.
        for i in 0..1000 {
            cache.insert(
                RenderedKey::new(&tenant, "User", &i.to_string()),
                Rendered {
                    version: 1,
                    base_url: String::new(),
                    body: RawValue::from_string(format!(r#"{{"x":"{}"}}"#, "a".repeat(1024)))
                        .unwrap(),
                },
            );
        }
        let kept = (0..1000)
            .filter(|i| {
                cache
                    .get(&RenderedKey::new(&tenant, "User", &i.to_string()))
                    .is_some()
            })
            .count();
        assert!(kept > 0 && kept <= 64, "{kept} entries kept");
        assert!(RenderedCache::new(0).is_none());
    }
}
