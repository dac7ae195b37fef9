//! The indexed in-memory backend.
//!
//! [`MemoryStorage`] keeps every tenant's resources in process memory, with:
//! - per tenant and resource type: the resources by id (JSON without members, version,
//!   creation sequence), the creation order (`BTreeMap<seq, id>`, the default order and the
//!   position of cursors), the claimed [`UniqueKey`]s, and secondary indexes for `eq`
//!   pushdown on `id`, every unique attribute (`userName`, `externalId`, Group
//!   `displayName`) and `emails.value`, keyed by the normalised value (lower-cased unless the
//!   attribute is caseExact, as RFC 7644 §3.4.2.2 compares);
//! - group members in a hash map per group, plus a reverse index member → groups per
//!   tenant, so adding or removing one member, `groups_of` and deleting a member cost
//!   O(1) in the size of the groups involved.
//!
//! One `RwLock` per tenant guards that tenant's data; it is held only for the in-memory
//! operation, never across an `.await`, so uniqueness checks and writes are one atomic step.
//! Tenants never share data. `can_filter` says yes to `eq` (string value) on the indexed
//! attributes and to `and` / `or` of such filters, which the backend answers by intersecting
//! and uniting index entries; everything else is left to the [planner](super::planner).
//!
//! ```
//! use scim_server::storage::memory::MemoryStorage;
//! use scim_server::storage::{Load, NewResource, Scope, Storage};
//! use scim_server::tenant::TenantId;
//!
//! let storage = MemoryStorage::new();
//! let tenant = TenantId::default_tenant();
//! let schema = scim_core::builtin::user_resource_schema();
//! let user = scim_core::Resource::from_value(serde_json::json!({"id": "u1", "userName": "bjensen"})).unwrap();
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let stored = rt.block_on(storage.create(
//!     Scope::new(&tenant, &schema),
//!     NewResource { id: "u1".into(), resource: user, members: vec![], unique: vec![] },
//! )).unwrap();
//! assert_eq!(stored.version, 1);
//! let got = rt.block_on(storage.get(Scope::new(&tenant, &schema), "u1", Load::ALL)).unwrap();
//! assert_eq!(got.resource.get("userName").unwrap(), "bjensen");
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use scim_core::schema::ResourceSchema;
use scim_core::sort::SortSpec;
use scim_core::{AttrPath, CompValue, CompareOp, Filter, Resource};
use serde_json::{Map, Value};

use super::unique::UniquenessPolicy;
use super::{
    GroupRef, Load, Member, MembersChange, NewResource, QueryPage, Replacement, Scope, Storage,
    StorageError, StorageErrorKind, StoragePage, StorageQuery, StoredResource, UniqueKey,
};
use crate::tenant::TenantId;
use scim_core::messages::{base64url_decode, base64url_encode};

/// The indexed in-memory backend (Cargo feature `memory`). Cloning is cheap and clones share
/// the data.
#[derive(Clone, Default)]
pub struct MemoryStorage {
    tenants: Arc<RwLock<HashMap<TenantId, Arc<RwLock<TenantData>>>>>,
}

impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStorage").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct TenantData {
    /// Per resource type name.
    types: HashMap<String, Shard>,
    /// member id → the groups (resource type, group id) that list it.
    member_of: HashMap<String, HashSet<(String, String)>>,
    /// The next creation sequence number (tenant-wide, monotonically increasing).
    next_seq: u64,
}

#[derive(Default)]
struct Shard {
    resources: HashMap<String, Entry>,
    order: BTreeMap<u64, String>,
    unique: HashMap<UniqueKey, String>,
    /// indexed path (canonical, e.g. `emails.value`) → normalised value → ids.
    index: HashMap<String, HashMap<String, BTreeSet<String>>>,
}

struct Entry {
    seq: u64,
    version: u64,
    resource: Resource,
    unique: Vec<UniqueKey>,
    index_keys: Vec<(String, String)>,
    /// member id → (insertion number, member).
    members: HashMap<String, (u64, Member)>,
    next_member: u64,
}

/// An attribute the backend indexes for `eq` pushdown.
struct IndexSpec {
    /// The canonical path (`userName`, `emails.value`).
    key: String,
    path: AttrPath,
    case_exact: bool,
}

/// The indexed attributes of a resource type: the unique ones and `emails.value`.
fn index_specs(schema: &ResourceSchema) -> Vec<IndexSpec> {
    let mut specs = Vec::new();
    for path in UniquenessPolicy::for_schema(schema).attributes() {
        if let Some(r) = schema.resolve(path) {
            if r.in_extension || r.attribute.multi_valued {
                continue;
            }
            specs.push(IndexSpec {
                key: r.attribute.name.clone(),
                path: AttrPath::new(r.attribute.name.clone()),
                case_exact: r.attribute.case_exact,
            });
        }
    }
    let emails = AttrPath::with_sub("emails", "value");
    if let Some(r) = schema.resolve(&emails) {
        if !r.in_extension {
            if let Some(sub) = r.sub_attribute {
                specs.push(IndexSpec {
                    key: format!("{}.{}", r.attribute.name, sub.name),
                    path: AttrPath::with_sub(r.attribute.name.clone(), sub.name.clone()),
                    case_exact: sub.case_exact,
                });
            }
        }
    }
    specs
}

/// What an `eq` filter looks up: `Id(value)` or `Index(key, normalised value)`.
enum Lookup {
    Id(String),
    Index(String, String),
}

fn lookup_of(schema: &ResourceSchema, filter: &Filter) -> Option<Lookup> {
    let Filter::Compare {
        path,
        op: CompareOp::Eq,
        value: CompValue::String(value),
    } = filter
    else {
        return None;
    };
    let r = schema.resolve(path)?;
    if r.in_extension {
        return None;
    }
    if r.sub_attribute.is_none() && r.attribute.name == "id" && !r.attribute.multi_valued {
        return Some(Lookup::Id(value.clone()));
    }
    let key = match r.sub_attribute {
        Some(sub) => format!("{}.{}", r.attribute.name, sub.name),
        None => r.attribute.name.clone(),
    };
    let spec = index_specs(schema).into_iter().find(|s| s.key == key)?;
    Some(Lookup::Index(key, index_norm(value, spec.case_exact)))
}

/// The indexed form of a value: as is when caseExact, else lower-cased character by
/// character, exactly as scim-core's filter evaluator compares (so pushdown answers what the
/// evaluator would).
fn index_norm(value: &str, case_exact: bool) -> String {
    if case_exact {
        value.to_string()
    } else {
        value.chars().flat_map(char::to_lowercase).collect()
    }
}

fn supported(schema: &ResourceSchema, filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => supported(schema, a) && supported(schema, b),
        other => lookup_of(schema, other).is_some(),
    }
}

fn poisoned<T>(_: PoisonError<T>) -> StorageError {
    StorageError::backend("a lock of the in-memory store was poisoned by a panic")
}

fn strip_members(resource: &mut Resource) {
    let map = resource.as_map_mut();
    let keys: Vec<String> = map
        .keys()
        .filter(|k| k.eq_ignore_ascii_case("members"))
        .cloned()
        .collect();
    for k in keys {
        map.remove(&k);
    }
}

fn member_json(m: &Member) -> Value {
    let mut o = Map::new();
    o.insert("value".into(), Value::String(m.value.clone()));
    if let Some(k) = &m.kind {
        o.insert("type".into(), Value::String(k.clone()));
    }
    if let Some(d) = &m.display {
        o.insert("display".into(), Value::String(d.clone()));
    }
    Value::Object(o)
}

impl Entry {
    fn stored(&self, id: &str, load: Load) -> StoredResource {
        let mut resource = self.resource.clone();
        if load.members && !self.members.is_empty() {
            let mut ms: Vec<&(u64, Member)> = self.members.values().collect();
            ms.sort_by_key(|(n, _)| *n);
            resource.as_map_mut().insert(
                "members".into(),
                Value::Array(ms.into_iter().map(|(_, m)| member_json(m)).collect()),
            );
        }
        StoredResource {
            id: id.to_string(),
            version: self.version,
            resource,
        }
    }
}

fn index_keys(schema: &ResourceSchema, id: &str, resource: &Resource) -> Vec<(String, String)> {
    let mut keys = vec![("id".to_string(), id.to_string())];
    for spec in index_specs(schema) {
        for v in resource.values(schema, &spec.path) {
            if let Value::String(s) = v {
                let k = (spec.key.clone(), index_norm(s, spec.case_exact));
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    keys
}

impl Shard {
    fn add_index(&mut self, id: &str, keys: &[(String, String)]) {
        for (path, value) in keys {
            self.index
                .entry(path.clone())
                .or_default()
                .entry(value.clone())
                .or_default()
                .insert(id.to_string());
        }
    }

    fn remove_index(&mut self, id: &str, keys: &[(String, String)]) {
        for (path, value) in keys {
            if let Some(values) = self.index.get_mut(path) {
                if let Some(ids) = values.get_mut(value) {
                    ids.remove(id);
                    if ids.is_empty() {
                        values.remove(value);
                    }
                }
            }
        }
    }

    /// The ids matching a supported filter.
    fn eval(&self, schema: &ResourceSchema, filter: &Filter) -> Option<HashSet<String>> {
        match filter {
            Filter::And(a, b) => {
                let (a, b) = (self.eval(schema, a)?, self.eval(schema, b)?);
                let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
                Some(small.into_iter().filter(|id| large.contains(id)).collect())
            }
            Filter::Or(a, b) => {
                let mut a = self.eval(schema, a)?;
                a.extend(self.eval(schema, b)?);
                Some(a)
            }
            other => match lookup_of(schema, other)? {
                Lookup::Id(id) => Some(
                    self.resources
                        .contains_key(&id)
                        .then_some(id)
                        .into_iter()
                        .collect(),
                ),
                Lookup::Index(path, value) => Some(
                    self.index
                        .get(&path)
                        .and_then(|m| m.get(&value))
                        .map(|ids| ids.iter().cloned().collect())
                        .unwrap_or_default(),
                ),
            },
        }
    }
}

impl TenantData {
    fn add_members(&mut self, rt: &str, group_id: &str, members: Vec<Member>) {
        let Some(entry) = self
            .types
            .get_mut(rt)
            .and_then(|s| s.resources.get_mut(group_id))
        else {
            return;
        };
        for m in members {
            if entry.members.contains_key(&m.value) {
                continue;
            }
            self.member_of
                .entry(m.value.clone())
                .or_default()
                .insert((rt.to_string(), group_id.to_string()));
            let n = entry.next_member;
            entry.next_member += 1;
            entry.members.insert(m.value.clone(), (n, m));
        }
    }

    fn unlink_member(&mut self, member_id: &str, rt: &str, group_id: &str) {
        if let Some(groups) = self.member_of.get_mut(member_id) {
            groups.remove(&(rt.to_string(), group_id.to_string()));
            if groups.is_empty() {
                self.member_of.remove(member_id);
            }
        }
    }

    fn remove_members(&mut self, rt: &str, group_id: &str, ids: &[String]) {
        let mut removed = Vec::new();
        if let Some(entry) = self
            .types
            .get_mut(rt)
            .and_then(|s| s.resources.get_mut(group_id))
        {
            for id in ids {
                if entry.members.remove(id).is_some() {
                    removed.push(id.clone());
                }
            }
        }
        for id in removed {
            self.unlink_member(&id, rt, group_id);
        }
    }

    fn clear_members(&mut self, rt: &str, group_id: &str) {
        let ids: Vec<String> = self
            .types
            .get(rt)
            .and_then(|s| s.resources.get(group_id))
            .map(|e| e.members.keys().cloned().collect())
            .unwrap_or_default();
        self.remove_members(rt, group_id, &ids);
    }
}

fn check_version(current: u64, expected: Option<u64>) -> Result<(), StorageError> {
    match expected {
        Some(v) if v != current => Err(StorageError::version_mismatch(current)),
        _ => Ok(()),
    }
}

fn check_unique(shard: &Shard, id: &str, keys: &[UniqueKey]) -> Result<(), StorageError> {
    for k in keys {
        if let Some(owner) = shard.unique.get(k) {
            if owner != id {
                return Err(StorageError::uniqueness(&k.attribute));
            }
        }
    }
    Ok(())
}

const CURSOR_PREFIX: &str = "m1";

fn encode_cursor(seq: u64) -> String {
    base64url_encode(format!("{CURSOR_PREFIX}:{seq}").as_bytes())
}

fn decode_cursor(token: &str) -> Result<u64, StorageError> {
    let invalid = || {
        StorageError::new(
            StorageErrorKind::InvalidCursor,
            "the cursor was not issued by this server; start again with an empty cursor",
        )
    };
    let bytes = base64url_decode(token).ok_or_else(invalid)?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let seq = text
        .strip_prefix(CURSOR_PREFIX)
        .and_then(|s| s.strip_prefix(':'))
        .ok_or_else(invalid)?;
    seq.parse().map_err(|_| invalid())
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn tenant(&self, tenant: &TenantId) -> Result<Option<Arc<RwLock<TenantData>>>, StorageError> {
        Ok(self.tenants.read().map_err(poisoned)?.get(tenant).cloned())
    }

    fn tenant_or_create(&self, tenant: &TenantId) -> Result<Arc<RwLock<TenantData>>, StorageError> {
        if let Some(t) = self.tenant(tenant)? {
            return Ok(t);
        }
        let mut all = self.tenants.write().map_err(poisoned)?;
        Ok(Arc::clone(all.entry(tenant.clone()).or_default()))
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        supported(schema, filter)
    }

    fn can_sort(&self, _schema: &ResourceSchema, _sort: &SortSpec) -> bool {
        false
    }

    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError> {
        let tenant = self.tenant_or_create(scope.tenant)?;
        let mut data = tenant.write().map_err(poisoned)?;
        let rt = scope.resource_type().to_string();
        let seq = data.next_seq;
        let shard = data.types.entry(rt.clone()).or_default();
        if shard.resources.contains_key(&new.id) {
            return Err(StorageError::new(
                StorageErrorKind::IdTaken,
                format!("a resource with id {} already exists", new.id),
            ));
        }
        check_unique(shard, &new.id, &new.unique)?;
        let mut resource = new.resource;
        strip_members(&mut resource);
        let keys = index_keys(scope.schema, &new.id, &resource);
        for k in &new.unique {
            shard.unique.insert(k.clone(), new.id.clone());
        }
        shard.add_index(&new.id, &keys);
        shard.order.insert(seq, new.id.clone());
        shard.resources.insert(
            new.id.clone(),
            Entry {
                seq,
                version: 1,
                resource,
                unique: new.unique,
                index_keys: keys,
                members: HashMap::new(),
                next_member: 0,
            },
        );
        data.next_seq += 1;
        data.add_members(&rt, &new.id, new.members);
        let entry = data
            .types
            .get(&rt)
            .and_then(|s| s.resources.get(&new.id))
            .ok_or_else(|| StorageError::backend("a created resource vanished"))?;
        Ok(entry.stored(&new.id, Load::ALL))
    }

    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError> {
        let tenant = self
            .tenant(scope.tenant)?
            .ok_or_else(|| StorageError::not_found(id))?;
        let data = tenant.read().map_err(poisoned)?;
        data.types
            .get(scope.resource_type())
            .and_then(|s| s.resources.get(id))
            .map(|e| e.stored(id, load))
            .ok_or_else(|| StorageError::not_found(id))
    }

    async fn replace(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        let tenant = self
            .tenant(scope.tenant)?
            .ok_or_else(|| StorageError::not_found(id))?;
        let mut data = tenant.write().map_err(poisoned)?;
        let rt = scope.resource_type().to_string();
        let shard = data
            .types
            .get_mut(&rt)
            .ok_or_else(|| StorageError::not_found(id))?;
        let entry = shard
            .resources
            .get(id)
            .ok_or_else(|| StorageError::not_found(id))?;
        check_version(entry.version, expected_version)?;
        check_unique(shard, id, &replacement.unique)?;
        let old_unique = entry.unique.clone();
        let old_keys = entry.index_keys.clone();
        let mut resource = replacement.resource;
        strip_members(&mut resource);
        let keys = index_keys(scope.schema, id, &resource);
        for k in &old_unique {
            if shard.unique.get(k).is_some_and(|owner| owner == id) {
                shard.unique.remove(k);
            }
        }
        for k in &replacement.unique {
            shard.unique.insert(k.clone(), id.to_string());
        }
        shard.remove_index(id, &old_keys);
        shard.add_index(id, &keys);
        if let Some(entry) = shard.resources.get_mut(id) {
            entry.resource = resource;
            entry.unique = replacement.unique;
            entry.index_keys = keys;
            entry.version += 1;
        }
        let load = Load {
            members: replacement.members.is_some(),
        };
        if let Some(members) = replacement.members {
            data.clear_members(&rt, id);
            data.add_members(&rt, id, members);
        }
        data.types
            .get(&rt)
            .and_then(|s| s.resources.get(id))
            .map(|e| e.stored(id, load))
            .ok_or_else(|| StorageError::backend("a replaced resource vanished"))
    }

    async fn delete(
        &self,
        scope: Scope<'_>,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StorageError> {
        let tenant = self
            .tenant(scope.tenant)?
            .ok_or_else(|| StorageError::not_found(id))?;
        let mut data = tenant.write().map_err(poisoned)?;
        let rt = scope.resource_type().to_string();
        let shard = data
            .types
            .get_mut(&rt)
            .ok_or_else(|| StorageError::not_found(id))?;
        let current = shard
            .resources
            .get(id)
            .map(|e| e.version)
            .ok_or_else(|| StorageError::not_found(id))?;
        check_version(current, expected_version)?;
        let Some(entry) = shard.resources.remove(id) else {
            return Err(StorageError::not_found(id));
        };
        shard.order.remove(&entry.seq);
        for k in &entry.unique {
            if shard.unique.get(k).is_some_and(|owner| owner == id) {
                shard.unique.remove(k);
            }
        }
        shard.remove_index(id, &entry.index_keys);
        // Its own members no longer belong to it.
        for member_id in entry.members.keys() {
            data.unlink_member(member_id, &rt, id);
        }
        // It leaves every group of the tenant that lists it; those groups change.
        if let Some(groups) = data.member_of.remove(id) {
            for (grt, gid) in groups {
                if let Some(g) = data
                    .types
                    .get_mut(&grt)
                    .and_then(|s| s.resources.get_mut(&gid))
                {
                    if g.members.remove(id).is_some() {
                        g.version += 1;
                    }
                }
            }
        }
        Ok(())
    }

    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        if let Some(f) = query.filter {
            if !supported(scope.schema, f) {
                return Err(StorageError::new(
                    StorageErrorKind::UnsupportedFilter,
                    format!("the in-memory backend cannot evaluate `{f}` by itself"),
                ));
            }
        }
        if let Some(s) = query.sort {
            return Err(StorageError::new(
                StorageErrorKind::UnsupportedFilter,
                format!("the in-memory backend does not sort (sortBy {})", s.by),
            ));
        }
        let after = match query.page {
            StoragePage::Cursor {
                after: Some(token), ..
            } => Some(decode_cursor(token)?),
            _ => None,
        };
        let Some(tenant) = self.tenant(scope.tenant)? else {
            return Ok(QueryPage::default());
        };
        let data = tenant.read().map_err(poisoned)?;
        let Some(shard) = data.types.get(scope.resource_type()) else {
            return Ok(QueryPage::default());
        };
        let stored = |id: &String| shard.resources.get(id).map(|e| e.stored(id, query.load));
        // Without a filter: walk the creation order lazily (no copy of every id).
        let Some(f) = query.filter else {
            let total = shard.order.len() as u64;
            return Ok(match query.page {
                StoragePage::Offset { offset, limit } => QueryPage {
                    resources: shard
                        .order
                        .values()
                        .skip(usize::try_from(*offset).unwrap_or(usize::MAX))
                        .take(usize::try_from(*limit).unwrap_or(usize::MAX))
                        .filter_map(stored)
                        .collect(),
                    total_results: total,
                    next_cursor: None,
                },
                StoragePage::Cursor { limit, .. } => {
                    let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                    let from = after.map_or(0, |a| a.saturating_add(1));
                    let mut page: Vec<(u64, &String)> = shard
                        .order
                        .range(from..)
                        .take(limit.saturating_add(1))
                        .map(|(s, id)| (*s, id))
                        .collect();
                    let more = page.len() > limit;
                    page.truncate(limit);
                    let next_cursor = if more && limit > 0 {
                        page.last().map(|(s, _)| encode_cursor(*s))
                    } else {
                        None
                    };
                    QueryPage {
                        resources: page.into_iter().filter_map(|(_, id)| stored(id)).collect(),
                        total_results: total,
                        next_cursor,
                    }
                }
            });
        };
        // The matches, in creation order, as (seq, id).
        let matches: Vec<(u64, &String)> = {
            {
                let ids = shard.eval(scope.schema, f).unwrap_or_default();
                let mut v: Vec<(u64, &String)> = ids
                    .iter()
                    .filter_map(|id| shard.resources.get_key_value(id))
                    .map(|(id, e)| (e.seq, id))
                    .collect();
                v.sort_unstable_by_key(|(s, _)| *s);
                v
            }
        };
        let total = matches.len() as u64;
        let stored = |(_, id): &(u64, &String)| stored(id);
        match query.page {
            StoragePage::Offset { offset, limit } => {
                let offset = usize::try_from(*offset).unwrap_or(usize::MAX);
                let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                Ok(QueryPage {
                    resources: matches
                        .iter()
                        .skip(offset)
                        .take(limit)
                        .filter_map(stored)
                        .collect(),
                    total_results: total,
                    next_cursor: None,
                })
            }
            StoragePage::Cursor { limit, .. } => {
                let start = after.map_or(0, |a| matches.partition_point(|(s, _)| *s <= a));
                let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
                let end = start.saturating_add(limit).min(matches.len());
                let next_cursor = (limit > 0 && end > start && end < matches.len())
                    .then(|| matches.get(end - 1).map(|(s, _)| encode_cursor(*s)))
                    .flatten();
                Ok(QueryPage {
                    resources: matches
                        .get(start..end)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(stored)
                        .collect(),
                    total_results: total,
                    next_cursor,
                })
            }
        }
    }

    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        change: MembersChange,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        let tenant = self
            .tenant(scope.tenant)?
            .ok_or_else(|| StorageError::not_found(id))?;
        let mut data = tenant.write().map_err(poisoned)?;
        let rt = scope.resource_type().to_string();
        let current = data
            .types
            .get(&rt)
            .and_then(|s| s.resources.get(id))
            .map(|e| e.version)
            .ok_or_else(|| StorageError::not_found(id))?;
        check_version(current, expected_version)?;
        match change {
            MembersChange::Add(members) => data.add_members(&rt, id, members),
            MembersChange::Remove(ids) => data.remove_members(&rt, id, &ids),
            MembersChange::Replace(members) => {
                data.clear_members(&rt, id);
                data.add_members(&rt, id, members);
            }
        }
        let entry = data
            .types
            .get_mut(&rt)
            .and_then(|s| s.resources.get_mut(id))
            .ok_or_else(|| StorageError::not_found(id))?;
        entry.version += 1;
        Ok(entry.stored(id, Load::WITHOUT_MEMBERS))
    }

    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StorageError> {
        let Some(tenant) = self.tenant(tenant)? else {
            return Ok(Vec::new());
        };
        let data = tenant.read().map_err(poisoned)?;
        let mut out: Vec<GroupRef> = data
            .member_of
            .get(member_id)
            .into_iter()
            .flatten()
            .map(|(rt, gid)| GroupRef {
                id: gid.clone(),
                resource_type: rt.clone(),
                display: data
                    .types
                    .get(rt)
                    .and_then(|s| s.resources.get(gid))
                    .and_then(|e| e.resource.get("displayName"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
            .collect();
        out.sort_by(|a, b| (&a.resource_type, &a.id).cmp(&(&b.resource_type, &b.id)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_core::builtin;
    use serde_json::json;

    fn f(s: &str) -> Filter {
        s.parse().unwrap()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn user(id: &str, v: Value) -> NewResource {
        NewResource {
            id: id.into(),
            resource: Resource::from_value(v).unwrap(),
            members: vec![],
            unique: vec![],
        }
    }

    #[test]
    fn can_filter_only_what_the_indexes_answer_exactly() {
        let s = MemoryStorage::new();
        let users = builtin::user_resource_schema();
        let groups = builtin::group_resource_schema();
        for yes in [
            r#"userName eq "a""#,
            r#"USERNAME eq "a""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
            r#"externalId eq "a""#,
            r#"id eq "a""#,
            r#"emails.value eq "a@b""#,
            r#"userName eq "a" and (externalId eq "b" or id eq "c")"#,
        ] {
            assert!(s.can_filter(&users, &f(yes)), "{yes}");
        }
        for no in [
            r#"userName ne "a""#,
            r#"userName sw "a""#,
            r#"userName eq null"#,
            r#"userName pr"#,
            r#"title eq "a""#,
            r#"displayName eq "a""#, // not unique for Users
            r#"emails.type eq "work""#,
            r#"emails[value eq "a@b"]"#,
            r#"not (userName eq "a")"#,
            r#"userName eq "a" or title eq "b""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
        ] {
            assert!(!s.can_filter(&users, &f(no)), "{no}");
        }
        assert!(s.can_filter(&groups, &f(r#"displayName eq "Admins""#)));
        assert!(!s.can_filter(&groups, &f(r#"members.value eq "u1""#)));
        assert!(!s.can_sort(
            &users,
            &SortSpec::new(AttrPath::new("userName"), Default::default())
        ));
    }

    #[test]
    fn index_folds_case_like_the_evaluator() {
        // Greek capital sigma: `str::to_lowercase` would give a final sigma (ς) at the end
        // of a word; the filter evaluator lower-cases char by char (σ). The index must
        // agree with the evaluator, or pushdown would answer differently.
        let s = MemoryStorage::new();
        let t = TenantId::default_tenant();
        let schema = builtin::user_resource_schema();
        let stored = json!({"id": "u1", "userName": "ΟΔΟΣ", "externalId": "Ext",
                            "emails": [{"value": "A@Example.COM"}]});
        rt().block_on(async {
            s.create(Scope::new(&t, &schema), user("u1", stored.clone()))
                .await
                .unwrap();
            let resource = Resource::from_value(stored).unwrap();
            for q in [
                r#"userName eq "οδοσ""#,
                r#"userName eq "οδος""#,
                r#"userName eq "ΟΔΟΣ""#,
                r#"externalId eq "Ext""#,
                r#"externalId eq "ext""#,
                r#"emails.value eq "a@example.com""#,
            ] {
                let filter = f(q);
                let page = StoragePage::Offset {
                    offset: 0,
                    limit: 10,
                };
                let r = s
                    .query(
                        Scope::new(&t, &schema),
                        StorageQuery {
                            filter: Some(&filter),
                            sort: None,
                            page: &page,
                            load: Load::ALL,
                        },
                    )
                    .await
                    .unwrap();
                let expected = filter.matches(&resource, &schema);
                assert_eq!(r.total_results, u64::from(expected), "{q}");
            }
        });
    }

    #[test]
    fn members_keep_insertion_order_and_shape() {
        let s = MemoryStorage::new();
        let t = TenantId::default_tenant();
        let schema = builtin::group_resource_schema();
        rt().block_on(async {
            let members = vec![
                Member {
                    value: "z".into(),
                    kind: Some("User".into()),
                    display: Some("Zed".into()),
                },
                Member::new("a"),
                Member::new("z"), // duplicate: ignored
            ];
            let created = s
                .create(
                    Scope::new(&t, &schema),
                    NewResource {
                        id: "g".into(),
                        resource: Resource::from_value(
                            json!({"id": "g", "members": [{"value": "stale"}]}),
                        )
                        .unwrap(),
                        members,
                        unique: vec![],
                    },
                )
                .await
                .unwrap();
            let expected =
                json!([{"value": "z", "type": "User", "display": "Zed"}, {"value": "a"}]);
            assert_eq!(created.resource.get("members"), Some(&expected));
            let got = s
                .get(Scope::new(&t, &schema), "g", Load::ALL)
                .await
                .unwrap();
            assert_eq!(got.resource.get("members"), Some(&expected));
        });
    }

    #[test]
    fn cursor_tokens_are_checked() {
        assert_eq!(decode_cursor(&encode_cursor(17)).unwrap(), 17);
        for bad in ["", "!!", "bTE6", "bTE6eA", "p1.abc"] {
            assert_eq!(
                decode_cursor(bad).unwrap_err().kind(),
                &StorageErrorKind::InvalidCursor,
                "{bad}"
            );
        }
        let s = MemoryStorage::new();
        let t = TenantId::default_tenant();
        let schema = builtin::user_resource_schema();
        let page = StoragePage::Cursor {
            after: Some("garbage!".into()),
            limit: 1,
        };
        let e = rt()
            .block_on(s.query(
                Scope::new(&t, &schema),
                StorageQuery {
                    filter: None,
                    sort: None,
                    page: &page,
                    load: Load::ALL,
                },
            ))
            .unwrap_err();
        assert_eq!(e.kind(), &StorageErrorKind::InvalidCursor);
    }

    #[test]
    fn clones_share_data() {
        let a = MemoryStorage::new();
        let b = a.clone();
        let t = TenantId::default_tenant();
        let schema = builtin::user_resource_schema();
        rt().block_on(async {
            a.create(Scope::new(&t, &schema), user("u1", json!({"id": "u1"})))
                .await
                .unwrap();
            assert_eq!(
                b.get(Scope::new(&t, &schema), "u1", Load::ALL)
                    .await
                    .unwrap()
                    .version,
                1
            );
        });
    }
}
