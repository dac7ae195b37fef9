//! The indexed in-memory backend.
//!
//! [`MemoryStorage`] keeps every tenant's resources in process memory, with:
//! - per tenant and resource type: the resources by id (JSON without members, version,
//!   creation sequence), the creation order (`BTreeMap<seq, id>`, the default order and the
//!   position of cursors), the claimed [`UniqueKey`]s, and ordered secondary indexes on
//!   `id`, every unique string attribute (`userName`, `externalId`, Group `displayName`),
//!   `emails.value` and `emails.type` (plus the primitive elements of `emails`, for value
//!   paths): per attribute a `BTreeMap` from the normalised value (lower-cased char
//!   by char unless the attribute is caseExact, exactly as scim-core's filter evaluator
//!   compares, RFC 7644 §3.4.2.2) to the ids holding it;
//! - group members in a hash map per group, plus a reverse index member → groups per
//!   tenant, so adding or removing one member, `groups_of` and deleting a member cost
//!   O(1) in the size of the groups involved.
//!
//! One `RwLock` per tenant guards that tenant's data; it is held only for the in-memory
//! operation, never across an `.await`, so uniqueness checks and writes are one atomic step.
//! Tenants never share data.
//!
//! `can_filter` says yes to exactly what the ordered indexes answer without looking at any
//! resource (RFC 7644 §3.4.2.2, Table 3), on an indexed attribute with a string operand:
//! - `eq`: one key;
//! - `sw`: the keys in `[operand, …)` that start with the operand (a contiguous range,
//!   since byte order on UTF-8 is code-point order);
//! - `gt`, `ge`, `lt`, `le`: a key range; the evaluator orders strings by code point on the
//!   same folded form, which is the order of the `BTreeMap`;
//! - `pr`: every non-empty key, plus the ids holding a non-string non-empty value;
//! - `co`, `ew` (non-empty operand): the folded values that contain / end with the folded
//!   operand (the evaluator's test), found from the index's 4-gram lists (`substrings.rs`,
//!   an operand of three bytes or more with few candidates) or else by testing every key
//!   of the index (the index, not the resources, one test per distinct value);
//! - value paths over `emails` (`emails[type eq "work" and value co "@x"]`, RFC 7644
//!   §3.4.2.2) with `and` / `or` of the comparisons above on indexed sub-attributes inside
//!   the brackets: the leaves' index entries give the candidates (resources with SOME
//!   element matching each leaf), and the compiled value path is checked on each candidate
//!   (the SAME element must match);
//! - `and` (intersection, smallest set first) and `or` (union) of supported filters. An
//!   `and` (nested `and`s flattened) mixing cheap conjuncts (`eq`, `sw`, ranges, `pr`, and
//!   value paths and `and` / `or` of those) with `co` / `ew` ones takes its candidates from
//!   the cheap conjuncts' indexes and checks the others on each candidate with scim-core's
//!   evaluator, so `userName eq "x" and emails[type eq "work" and value co "y"]` never walks
//!   the keys of `emails.value`; likewise inside brackets, where the candidates are checked
//!   against the whole value path anyway.
//!
//! An unfiltered query sorted by an indexed single-valued attribute that every resource
//! holds once, as a string (`sortBy=userName`), reads that index in its order
//! (`Shard::in_index_order` in `query.rs`); other sorted queries sort their matches.
//!
//! Every other valid filter (`ne`, `not`, attributes without an index, `members`, the
//! computed `groups`) is answered too (`can_filter` is true for every filter that
//! compiles): the indexed conjuncts of a top-level `and` select the candidates, or, when
//! none narrows, every resource of the tenant and type is a candidate, and scim-core's
//! compiled filter is evaluated on each. Indexes decide how fast, never whether.
//!
//! ```
//! use scim_server::storage::memory::MemoryStorage;
//! use scim_server::storage::{Load, NewResource, Scope, Storage};
//! use scim_server::TenantId;
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
//! let prefix: scim_core::Filter = r#"userName sw "BJ""#.parse().unwrap();
//! assert!(storage.can_filter(&schema, &prefix)); // answered from the ordered index
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use async_trait::async_trait;
use rustc_hash::{FxBuildHasher, FxHashMap};
use scim_core::filter::CompiledFilter;
use scim_core::schema::{AttributeType, Mutability, ResourceSchema, Returned};
use scim_core::sort::SortSpec;
use scim_core::{AttrPath, CompValue, CompareOp, Filter, Resource};
use serde_json::{Map, Value};

mod changes;
mod id_set;
mod index;
mod query;
mod substrings;

use id_set::IdSet;
use index::*;

use super::changes::NewChange;
use super::grams::Grams;
use super::unique::UniquenessPolicy;
use super::{
    ChangeKind, ChangeRecord, GroupRef, Load, Member, MembersChange, NewResource, QueryPage,
    Replacement, Scope, Storage, StorageError, StorageErrorKind, StoragePage, StorageQuery,
    StoredResource, UniqueKey, last_modified_now, touch_last_modified,
};
use crate::tenancy::TenantId;
use scim_core::messages::{base64url_decode, base64url_encode};

/// The indexed in-memory backend (Cargo feature `memory`). Cloning is cheap and clones share
/// the data.
#[derive(Clone, Default)]
pub struct MemoryStorage {
    /// Keyed by tenant, resource type, id and indexed path with FxHash (no per-map state, a
    /// few instructions per key): every request looks up a tenant, a type and usually an id,
    /// and none of these keys is chosen by a client (ids are the server's). The maps keyed by
    /// client data (unique values, member ids) keep the standard library's keyed SipHash.
    tenants: Arc<RwLock<FxHashMap<TenantId, Arc<RwLock<TenantData>>>>>,
}

impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStorage").finish_non_exhaustive()
    }
}

/// A resource's id as the store holds it: one allocation per resource, shared by its key in
/// `resources`, its place in `order`, its claims in `unique` and every index entry of its
/// values. As a `String` in each of those (about a dozen for a user), a created user added
/// about 4,640 bytes to the process's resident memory; shared, about 4,350.
type Id = Arc<str>;

#[derive(Default)]
struct TenantData {
    /// Per resource type name.
    types: FxHashMap<String, Shard>,
    /// member id → the groups (resource type, group id) that list it.
    member_of: HashMap<String, HashSet<(String, String)>>,
    /// The next creation sequence number (tenant-wide, monotonically increasing).
    next_seq: u64,
    /// The tenant's change feed, appended under the same write lock as each change.
    feed: changes::Feed,
}

#[derive(Default)]
struct Shard {
    /// Boxed: growing the table moves a pointer per resource, not the entry, while the
    /// tenant's write lock is held (unboxed, at 300,000 users, an estimated 70 MB at once:
    /// about 230 bytes of key and entry each).
    resources: FxHashMap<Id, Box<Entry>>,
    order: BTreeMap<u64, Id>,
    unique: HashMap<UniqueKey, Id>,
    /// indexed path (canonical, e.g. `emails.value`) → its ordered index.
    index: FxHashMap<String, Column>,
}

/// The ordered index of one attribute.
#[derive(Default)]
struct Column {
    /// Normalised string value → the ids holding it.
    by_value: BTreeMap<String, IdSet>,
    /// The ids holding a non-empty value that is not a string (a number, say), which `pr`
    /// counts as present and no string comparison matches.
    non_string: BTreeSet<Id>,
    /// The resources whose one value here is a string: when they are all the resources of
    /// the type, the index's order is the order of a sort by the attribute (see
    /// `Shard::in_index_order`).
    sole_strings: usize,
    /// The 4-gram lists of the string values, each with its resource's `seq`: built on the
    /// first `co` / `ew` probe of the index, then added to by every write (see
    /// `Shard::substring_hits`).
    grams: Mutex<Option<Grams<u64>>>,
}

/// One entry a resource puts in an index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum IndexValue {
    /// A string value, normalised.
    Str(String),
    /// A non-empty value that is not a string.
    NonString,
}

struct Entry {
    seq: u64,
    version: u64,
    resource: Resource,
    unique: Vec<UniqueKey>,
    index_keys: Vec<(String, IndexValue)>,
    /// member id → (insertion number, member).
    members: HashMap<String, (u64, Member)>,
    next_member: u64,
}

impl TenantData {
    /// The resource `id` (of type `rt`) as the server returns it, for a filter naming
    /// `members` or the computed `groups`: with its members, and with `groups` (each
    /// `{"value", "display", "type": "direct"}`) when it is a member of any group.
    fn view(&self, id: &str, entry: &Entry) -> Resource {
        let mut resource = entry.stored(id, Load::ALL).resource;
        let groups = self.groups_of(id);
        if !groups.is_empty() {
            let list = groups
                .into_iter()
                .map(|g| {
                    let mut o = Map::new();
                    o.insert("value".into(), Value::String(g.id));
                    if let Some(d) = g.display {
                        o.insert("display".into(), Value::String(d));
                    }
                    o.insert("type".into(), Value::String("direct".into()));
                    Value::Object(o)
                })
                .collect();
            scim_core::resource::remove_ci(resource.as_map_mut(), "groups");
            resource
                .as_map_mut()
                .insert("groups".into(), Value::Array(list));
        }
        resource
    }

    /// The direct groups of `member_id` (reverse index), ordered by resource type and id.
    fn groups_of(&self, member_id: &str) -> Vec<GroupRef> {
        let mut out: Vec<GroupRef> = self
            .member_of
            .get(member_id)
            .into_iter()
            .flatten()
            .map(|(rt, gid)| GroupRef {
                id: gid.clone(),
                resource_type: rt.clone(),
                display: self
                    .types
                    .get(rt)
                    .and_then(|s| s.resources.get(gid.as_str()))
                    .and_then(|e| e.resource.get("displayName"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
            .collect();
        out.sort_by(|a, b| (&a.resource_type, &a.id).cmp(&(&b.resource_type, &b.id)));
        out
    }

    /// Adds the members not yet present (ids compare exactly); returns how many it added.
    fn add_members(&mut self, rt: &str, group_id: &str, members: Vec<Member>) -> usize {
        let Some(entry) = self
            .types
            .get_mut(rt)
            .and_then(|s| s.resources.get_mut(group_id))
        else {
            return 0;
        };
        let mut added = 0;
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
            added += 1;
        }
        added
    }

    fn unlink_member(&mut self, member_id: &str, rt: &str, group_id: &str) {
        if let Some(groups) = self.member_of.get_mut(member_id) {
            groups.remove(&(rt.to_string(), group_id.to_string()));
            if groups.is_empty() {
                self.member_of.remove(member_id);
            }
        }
    }

    /// Removes the members with these ids (exact); returns how many were present.
    fn remove_members(&mut self, rt: &str, group_id: &str, ids: &[String]) -> usize {
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
        let n = removed.len();
        for id in removed {
            self.unlink_member(&id, rt, group_id);
        }
        n
    }

    /// The members of a group in the order they were added.
    fn members_in_order(&self, rt: &str, group_id: &str) -> Vec<Member> {
        let mut v: Vec<&(u64, Member)> = self
            .types
            .get(rt)
            .and_then(|s| s.resources.get(group_id))
            .map(|e| e.members.values().collect())
            .unwrap_or_default();
        v.sort_unstable_by_key(|(n, _)| *n);
        v.into_iter().map(|(_, m)| m.clone()).collect()
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

/// The members with the first occurrence of each id kept, as `add_members` keeps them.
fn first_of_each(members: &[Member]) -> Vec<Member> {
    let mut seen = HashSet::new();
    members
        .iter()
        .filter(|m| seen.insert(m.value.as_str()))
        .cloned()
        .collect()
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
            if **owner != *id {
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

    /// [`Storage::replace`], recording `kind` in the change feed.
    fn replace_as(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
        kind: ChangeKind,
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
        let (shared_id, entry) = shard
            .resources
            .get_key_value(id)
            .ok_or_else(|| StorageError::not_found(id))?;
        let shared_id = Id::clone(shared_id);
        check_version(entry.version, expected_version)?;
        check_unique(shard, id, &replacement.unique)?;
        let old_unique = entry.unique.clone();
        let old_keys = entry.index_keys.clone();
        let seq = entry.seq;
        let mut resource = replacement.resource;
        strip_members(&mut resource);
        let keys = index_keys(scope.schema, id, &resource);
        for k in &old_unique {
            if shard.unique.get(k).is_some_and(|owner| **owner == *id) {
                shard.unique.remove(k);
            }
        }
        for k in &replacement.unique {
            shard.unique.insert(k.clone(), Id::clone(&shared_id));
        }
        shard.remove_index(id, &old_keys);
        shard.add_index(&shared_id, seq, &keys);
        if let Some(entry) = shard.resources.get_mut(id) {
            entry.resource = resource;
            entry.unique = replacement.unique;
            entry.index_keys = keys;
            entry.version += 1;
        }
        let load = Load {
            members: replacement.members.is_some(),
            attributes: true,
        };
        if let Some(members) = replacement.members {
            data.clear_members(&rt, id);
            data.add_members(&rt, id, members);
        }
        let version = data
            .types
            .get(&rt)
            .and_then(|s| s.resources.get(id))
            .map_or(0, |e| e.version);
        data.feed
            .append(scope.tenant, vec![NewChange::new(&rt, id, kind, version)]);
        data.types
            .get(&rt)
            .and_then(|s| s.resources.get(id))
            .map(|e| e.stored(id, load))
            .ok_or_else(|| StorageError::backend("a replaced resource vanished"))
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    /// Every valid filter: what the indexes answer ([`supported`]) is answered from them,
    /// the rest over the candidates of the indexed conjuncts, or over every resource of the
    /// type, with the compiled filter (see [`Shard::matching`]).
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        filter.compile(schema).is_ok()
    }

    /// A query compiles its filter as its first step and refuses one that does not compile,
    /// which is what [`Storage::can_filter`] rejects: asking first would compile it twice.
    fn refuses_unsupported_filters(&self) -> bool {
        true
    }

    /// Every valid `sortBy` but the membership (`members`, and a User's computed `groups`),
    /// which the store keeps apart from the resources: sorted by the query itself
    /// by the keys of the stored resources, without copying them.
    fn can_sort(&self, schema: &ResourceSchema, sort: &SortSpec) -> bool {
        let kept_apart = ["members", "groups"]
            .iter()
            .any(|n| sort.by.name.eq_ignore_ascii_case(n));
        !kept_apart && sort.validate(schema).is_ok()
    }

    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError> {
        // What needs no lock is done before taking the tenant's: its creates queue on it.
        let mut resource = new.resource;
        strip_members(&mut resource);
        let keys = index_keys(scope.schema, &new.id, &resource);
        let id = Id::from(new.id.as_str());
        let rt = scope.resource_type().to_string();
        // The caller's copy, made before the lock too (a group's, with its members, after).
        let returned = new.members.is_empty().then(|| resource.clone());
        let tenant = self.tenant_or_create(scope.tenant)?;
        let mut data = tenant.write().map_err(poisoned)?;
        let seq = data.next_seq;
        let shard = data.types.entry(rt.clone()).or_default();
        if shard.resources.contains_key(new.id.as_str()) {
            return Err(StorageError::new(
                StorageErrorKind::IdTaken,
                format!("a resource with id {} already exists", new.id),
            ));
        }
        check_unique(shard, &new.id, &new.unique)?;
        for k in &new.unique {
            shard.unique.insert(k.clone(), Id::clone(&id));
        }
        shard.add_index(&id, seq, &keys);
        shard.order.insert(seq, Id::clone(&id));
        shard.resources.insert(
            id,
            Box::new(Entry {
                seq,
                version: 1,
                resource,
                unique: new.unique,
                index_keys: keys,
                members: HashMap::new(),
                next_member: 0,
            }),
        );
        data.next_seq += 1;
        data.feed.append(
            scope.tenant,
            vec![NewChange::new(&rt, &new.id, ChangeKind::Created, 1)],
        );
        if let Some(resource) = returned {
            return Ok(StoredResource {
                id: new.id,
                version: 1,
                resource,
            });
        }
        // A group's members as the store holds them (each once, in the order given).
        data.add_members(&rt, &new.id, new.members);
        let entry = data
            .types
            .get(&rt)
            .and_then(|s| s.resources.get(new.id.as_str()))
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

    /// Under one read lock of the tenant.
    async fn get_many(
        &self,
        scope: Scope<'_>,
        ids: &[&str],
        load: Load,
    ) -> Result<Vec<StoredResource>, StorageError> {
        let Some(tenant) = self.tenant(scope.tenant)? else {
            return Ok(Vec::new());
        };
        let data = tenant.read().map_err(poisoned)?;
        let Some(shard) = data.types.get(scope.resource_type()) else {
            return Ok(Vec::new());
        };
        let mut seen = HashSet::with_capacity(ids.len());
        Ok(ids
            .iter()
            .filter(|id| seen.insert(**id))
            .filter_map(|id| shard.resources.get(*id).map(|e| e.stored(id, load)))
            .collect())
    }

    async fn replace(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.replace_as(
            scope,
            id,
            replacement,
            expected_version,
            ChangeKind::Replaced,
        )
    }

    async fn replace_after_patch(
        &self,
        scope: Scope<'_>,
        id: &str,
        replacement: Replacement,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        self.replace_as(
            scope,
            id,
            replacement,
            expected_version,
            ChangeKind::Modified,
        )
    }

    async fn changes_since(
        &self,
        tenant: &TenantId,
        since: u64,
        limit: usize,
    ) -> Result<Vec<ChangeRecord>, StorageError> {
        match self.tenant(tenant)? {
            Some(t) => t.read().map_err(poisoned)?.feed.since(since, limit),
            None => Ok(Vec::new()),
        }
    }

    async fn last_change(&self, tenant: &TenantId) -> Result<u64, StorageError> {
        match self.tenant(tenant)? {
            Some(t) => Ok(t.read().map_err(poisoned)?.feed.last()),
            None => Ok(0),
        }
    }

    async fn prune_changes(&self, tenant: &TenantId, through: u64) -> Result<u64, StorageError> {
        match self.tenant(tenant)? {
            Some(t) => Ok(t.write().map_err(poisoned)?.feed.prune(through)),
            None => Ok(0),
        }
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
            if shard.unique.get(k).is_some_and(|owner| **owner == *id) {
                shard.unique.remove(k);
            }
        }
        shard.remove_index(id, &entry.index_keys);
        // Its own members no longer belong to it.
        for member_id in entry.members.keys() {
            data.unlink_member(member_id, &rt, id);
        }
        let mut changes = vec![NewChange::new(&rt, id, ChangeKind::Deleted, entry.version)];
        // It leaves every group of the tenant that lists it; those groups change (version and
        // meta.lastModified).
        if let Some(groups) = data.member_of.remove(id) {
            let now = last_modified_now();
            let mut groups: Vec<(String, String)> = groups.into_iter().collect();
            groups.sort_unstable();
            for (grt, gid) in groups {
                if let Some(g) = data
                    .types
                    .get_mut(&grt)
                    .and_then(|s| s.resources.get_mut(gid.as_str()))
                {
                    if g.members.remove(id).is_some() {
                        g.version += 1;
                        touch_last_modified(&mut g.resource, &now);
                        changes.push(NewChange::new(&grt, &gid, ChangeKind::Members, g.version));
                    }
                }
            }
        }
        data.feed.append(scope.tenant, changes);
        Ok(())
    }

    async fn query(
        &self,
        scope: Scope<'_>,
        query: StorageQuery<'_>,
    ) -> Result<QueryPage, StorageError> {
        self.run_query(scope, query)
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
        let changed = match change {
            MembersChange::Add(members) => data.add_members(&rt, id, members) > 0,
            MembersChange::Remove(ids) => data.remove_members(&rt, id, &ids) > 0,
            MembersChange::Replace(members) => {
                if data.members_in_order(&rt, id) == first_of_each(&members) {
                    false
                } else {
                    data.clear_members(&rt, id);
                    data.add_members(&rt, id, members);
                    true
                }
            }
        };
        let entry = data
            .types
            .get_mut(&rt)
            .and_then(|s| s.resources.get_mut(id))
            .ok_or_else(|| StorageError::not_found(id))?;
        if !changed {
            // RFC 7644 §3.5.2.1: nothing changed, so no new version or lastModified.
            return Ok(entry.stored(id, Load::WITHOUT_MEMBERS));
        }
        entry.version += 1;
        touch_last_modified(&mut entry.resource, &last_modified_now());
        let version = entry.version;
        let stored = entry.stored(id, Load::WITHOUT_MEMBERS);
        data.feed.append(
            scope.tenant,
            vec![NewChange::new(&rt, id, ChangeKind::Members, version)],
        );
        Ok(stored)
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
        Ok(data.groups_of(member_id))
    }

    /// One read lock and one reverse-index lookup per member.
    async fn groups_of_many(
        &self,
        tenant: &TenantId,
        member_ids: &[&str],
    ) -> Result<HashMap<String, Vec<GroupRef>>, StorageError> {
        let Some(tenant) = self.tenant(tenant)? else {
            return Ok(member_ids
                .iter()
                .map(|id| ((*id).to_string(), Vec::new()))
                .collect());
        };
        let data = tenant.read().map_err(poisoned)?;
        Ok(member_ids
            .iter()
            .map(|id| ((*id).to_string(), data.groups_of(id)))
            .collect())
    }
}

#[cfg(test)]
mod tests;
