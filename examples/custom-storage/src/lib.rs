//! A storage backend written by a scim-server user: every resource in one
//! `Mutex<HashMap>`, implementing [`scim_server::storage::Storage`].
//!
//! It shows the least a backend must do:
//! - keep a version per resource and check `expected_version` ([`StorageError::version_mismatch`]);
//! - claim the [`UniqueKey`]s the server computes, atomically with the write (here: under the
//!   one lock), so `userName` stays unique under concurrent requests (409 `uniqueness`);
//! - answer `eq` on `id` and on the unique attributes (`userName`, `externalId`, a Group's
//!   `displayName`) exactly, through the unique-value index. That is all [`can_filter`] claims.
//!   The server's query planner evaluates any other clause in memory over the resources those
//!   `eq` clauses select, and a filter without such a clause over every user of the type,
//!   read in pages (up to `PlannerLimits::max_scanned`, 100,000 by default; beyond it 400
//!   `tooMany`);
//! - keep group members apart from the resource, so `excludedAttributes=members` reads none.
//!
//! It is a teaching example: small, not tuned (deleting a user walks the tenant's groups).
//!
//! [`can_filter`]: Storage::can_filter

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use scim_core::messages::{base64url_decode, base64url_encode};
use scim_core::schema::ResourceSchema;
use scim_core::{CompValue, CompareOp, Filter, Resource};
use scim_server::TenantId;
use scim_server::storage::unique::{UniquenessPolicy, normalise};
use scim_server::storage::{
    GroupRef, Load, Member, MembersChange, NewResource, QueryPage, Replacement, Scope, Storage,
    StorageError, StorageErrorKind, StoragePage, StorageQuery, StoredResource, UniqueKey,
    last_modified_now, touch_last_modified,
};
use serde_json::{Map, Value};

/// A store in one `Mutex<HashMap>`. Cheap to create; share it as `Arc<HashMapStorage>`.
#[derive(Debug, Default)]
pub struct HashMapStorage {
    inner: Mutex<Store>,
}

/// One table per (tenant, resource type), plus the unique values claimed in it.
type TableKey = (TenantId, String);

#[derive(Debug, Default)]
struct Store {
    /// The resources of each table, by id (a `BTreeMap`, so listing order is stable and a
    /// cursor can resume after an id).
    tables: HashMap<TableKey, BTreeMap<String, Entry>>,
    /// The unique values claimed in each table, and by which id. Also the index for `eq`.
    unique: HashMap<(TableKey, UniqueKey), String>,
}

#[derive(Debug)]
struct Entry {
    version: u64,
    /// The JSON, without `members`.
    resource: Resource,
    /// The unique values this resource claims (released on delete and replace).
    unique: Vec<UniqueKey>,
    /// The members, by id: adding or removing one is one map operation.
    members: BTreeMap<String, Member>,
}

impl HashMapStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Store>, StorageError> {
        self.inner
            .lock()
            .map_err(|_| StorageError::backend("the store's lock was poisoned by a panic"))
    }
}

fn table_key(scope: Scope<'_>) -> TableKey {
    (scope.tenant.clone(), scope.resource_type().to_string())
}

/// What an `eq` lookup this store can answer looks for.
enum Lookup {
    /// `id eq "..."` (`id` is caseExact).
    Id(String),
    /// `<unique attribute> eq "..."`: the normalised key in the unique-value index.
    Unique(UniqueKey),
}

/// The filters this store evaluates itself: `eq` with a string value on `id` or on an
/// attribute the server keeps unique for this resource type (`userName`, `externalId`, a
/// Group's `displayName`). Nothing else: no `or`, no `and`, no other operator.
fn lookup(schema: &ResourceSchema, filter: &Filter) -> Option<Lookup> {
    let Filter::Compare {
        path,
        op: CompareOp::Eq,
        value: CompValue::String(value),
    } = filter
    else {
        return None;
    };
    if path.sub_attr.is_some() {
        return None;
    }
    let attribute = schema.resolve(path)?.attribute;
    if attribute.name == "id" {
        return Some(Lookup::Id(value.clone()));
    }
    // The same policy the server used to compute the `UniqueKey`s it hands us, so the
    // normalised value below is exactly the one stored in the index.
    let unique = UniquenessPolicy::for_schema(schema)
        .attributes()
        .any(|p| p.uri.is_none() && p.sub_attr.is_none() && p.name == attribute.name);
    unique.then(|| {
        Lookup::Unique(UniqueKey {
            attribute: attribute.name.clone(),
            value: normalise(value, attribute.case_exact),
        })
    })
}

fn member_json(m: &Member) -> Value {
    let mut o = Map::new();
    o.insert("value".into(), Value::String(m.value.clone()));
    if let Some(kind) = &m.kind {
        o.insert("type".into(), Value::String(kind.clone()));
    }
    if let Some(display) = &m.display {
        o.insert("display".into(), Value::String(display.clone()));
    }
    Value::Object(o)
}

impl Entry {
    fn stored(&self, id: &str, load: Load) -> StoredResource {
        let mut resource = self.resource.clone();
        if load.members && !self.members.is_empty() {
            let members = self.members.values().map(member_json).collect();
            resource
                .as_map_mut()
                .insert("members".into(), Value::Array(members));
        }
        StoredResource {
            id: id.to_string(),
            version: self.version,
            resource,
        }
    }

    fn check_version(&self, expected: Option<u64>) -> Result<(), StorageError> {
        match expected {
            Some(v) if v != self.version => Err(StorageError::version_mismatch(self.version)),
            _ => Ok(()),
        }
    }
}

fn members_by_id(members: Vec<Member>) -> BTreeMap<String, Member> {
    members.into_iter().map(|m| (m.value.clone(), m)).collect()
}

impl Store {
    /// Fails with `Uniqueness` when one of `keys` is claimed by another resource than `id`.
    fn check_unique(
        &self,
        table: &TableKey,
        id: &str,
        keys: &[UniqueKey],
    ) -> Result<(), StorageError> {
        for key in keys {
            if let Some(owner) = self.unique.get(&(table.clone(), key.clone())) {
                if owner != id {
                    return Err(StorageError::uniqueness(&key.attribute));
                }
            }
        }
        Ok(())
    }

    fn claim(&mut self, table: &TableKey, id: &str, keys: &[UniqueKey]) {
        for key in keys {
            self.unique
                .insert((table.clone(), key.clone()), id.to_string());
        }
    }

    fn release(&mut self, table: &TableKey, keys: &[UniqueKey]) {
        for key in keys {
            self.unique.remove(&(table.clone(), key.clone()));
        }
    }
}

#[async_trait]
impl Storage for HashMapStorage {
    fn can_filter(&self, schema: &ResourceSchema, filter: &Filter) -> bool {
        lookup(schema, filter).is_some()
    }

    // `can_sort` keeps its default (no): the planner sorts a bounded candidate set itself.

    async fn create(
        &self,
        scope: Scope<'_>,
        new: NewResource,
    ) -> Result<StoredResource, StorageError> {
        let key = table_key(scope);
        let mut store = self.lock()?;
        if store
            .tables
            .get(&key)
            .is_some_and(|t| t.contains_key(&new.id))
        {
            return Err(StorageError::new(
                StorageErrorKind::IdTaken,
                format!("resource {} already exists", new.id),
            ));
        }
        store.check_unique(&key, &new.id, &new.unique)?;
        store.claim(&key, &new.id, &new.unique);
        let entry = Entry {
            version: 1,
            resource: new.resource,
            unique: new.unique,
            members: members_by_id(new.members),
        };
        let stored = entry.stored(&new.id, Load::ALL);
        store.tables.entry(key).or_default().insert(new.id, entry);
        Ok(stored)
    }

    async fn get(
        &self,
        scope: Scope<'_>,
        id: &str,
        load: Load,
    ) -> Result<StoredResource, StorageError> {
        let store = self.lock()?;
        store
            .tables
            .get(&table_key(scope))
            .and_then(|t| t.get(id))
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
        let key = table_key(scope);
        let mut store = self.lock()?;
        let entry = store
            .tables
            .get(&key)
            .and_then(|t| t.get(id))
            .ok_or_else(|| StorageError::not_found(id))?;
        entry.check_version(expected_version)?;
        let old_keys = entry.unique.clone();
        store.check_unique(&key, id, &replacement.unique)?;
        store.release(&key, &old_keys);
        store.claim(&key, id, &replacement.unique);
        let entry = store
            .tables
            .get_mut(&key)
            .and_then(|t| t.get_mut(id))
            .ok_or_else(|| StorageError::not_found(id))?;
        entry.version += 1;
        entry.resource = replacement.resource;
        entry.unique = replacement.unique;
        let load = Load {
            members: replacement.members.is_some(),
            attributes: true,
        };
        if let Some(members) = replacement.members {
            entry.members = members_by_id(members);
        }
        Ok(entry.stored(id, load))
    }

    async fn delete(
        &self,
        scope: Scope<'_>,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StorageError> {
        let key = table_key(scope);
        let mut store = self.lock()?;
        let table = store
            .tables
            .get_mut(&key)
            .ok_or_else(|| StorageError::not_found(id))?;
        table
            .get(id)
            .ok_or_else(|| StorageError::not_found(id))?
            .check_version(expected_version)?;
        let Some(removed) = table.remove(id) else {
            return Err(StorageError::not_found(id));
        };
        store.release(&key, &removed.unique);
        // The resource leaves every group of the tenant; those groups change (version and
        // meta.lastModified, as the Storage contract asks).
        let now = last_modified_now();
        for ((tenant, _), table) in store.tables.iter_mut() {
            if tenant != scope.tenant {
                continue;
            }
            for group in table.values_mut() {
                if group.members.remove(id).is_some() {
                    group.version += 1;
                    touch_last_modified(&mut group.resource, &now);
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
        if query.sort.is_some() {
            return Err(StorageError::new(
                StorageErrorKind::UnsupportedFilter,
                "this store does not sort",
            ));
        }
        let store = self.lock()?;
        let key = table_key(scope);
        let empty = BTreeMap::new();
        let table = store.tables.get(&key).unwrap_or(&empty);
        // The matches, in id order.
        let matches: Vec<(&String, &Entry)> = match query.filter {
            None => table.iter().collect(),
            Some(filter) => {
                let id = match lookup(scope.schema, filter) {
                    Some(Lookup::Id(id)) => Some(id),
                    Some(Lookup::Unique(k)) => store.unique.get(&(key.clone(), k)).cloned(),
                    None => {
                        return Err(StorageError::new(
                            StorageErrorKind::UnsupportedFilter,
                            format!("this store cannot evaluate `{filter}`"),
                        ));
                    }
                };
                id.and_then(|id| table.get_key_value(&id))
                    .into_iter()
                    .collect()
            }
        };
        let total_results = matches.len() as u64;
        let (page, next_cursor): (Vec<(&String, &Entry)>, Option<String>) = match query.page {
            StoragePage::Offset { offset, limit } => {
                let skip = usize::try_from(*offset).unwrap_or(usize::MAX);
                let take = usize::try_from(*limit).unwrap_or(usize::MAX);
                (matches.into_iter().skip(skip).take(take).collect(), None)
            }
            StoragePage::Cursor { after, limit } => {
                // The cursor is the last returned id (base64url, so it is URL-safe): the next
                // page starts after it, whatever was created or deleted in between.
                let after = match after {
                    None => None,
                    Some(c) => Some(
                        base64url_decode(c)
                            .and_then(|b| String::from_utf8(b).ok())
                            .ok_or_else(|| {
                                StorageError::new(StorageErrorKind::InvalidCursor, "unknown cursor")
                            })?,
                    ),
                };
                let take = usize::try_from(*limit).unwrap_or(usize::MAX);
                let mut rest = matches
                    .into_iter()
                    .filter(|(id, _)| after.as_ref().is_none_or(|a| id.as_str() > a.as_str()));
                let page: Vec<_> = rest.by_ref().take(take).collect();
                let next = match (rest.next(), page.last()) {
                    (Some(_), Some((last, _))) => Some(base64url_encode(last.as_bytes())),
                    _ => None,
                };
                (page, next)
            }
        };
        Ok(QueryPage {
            resources: page
                .into_iter()
                .map(|(id, e)| e.stored(id, query.load))
                .collect(),
            total_results,
            next_cursor,
        })
    }

    async fn modify_members(
        &self,
        scope: Scope<'_>,
        id: &str,
        change: MembersChange,
        expected_version: Option<u64>,
    ) -> Result<StoredResource, StorageError> {
        let mut store = self.lock()?;
        let entry = store
            .tables
            .get_mut(&table_key(scope))
            .and_then(|t| t.get_mut(id))
            .ok_or_else(|| StorageError::not_found(id))?;
        entry.check_version(expected_version)?;
        match change {
            MembersChange::Add(members) => {
                for m in members {
                    entry.members.entry(m.value.clone()).or_insert(m);
                }
            }
            MembersChange::Remove(ids) => {
                for member_id in ids {
                    entry.members.remove(&member_id);
                }
            }
            MembersChange::Replace(members) => entry.members = members_by_id(members),
        }
        entry.version += 1;
        // A membership change changes the group: RFC 7643 §3.1 meta.lastModified.
        touch_last_modified(&mut entry.resource, &last_modified_now());
        Ok(entry.stored(id, Load::WITHOUT_MEMBERS))
    }

    async fn groups_of(
        &self,
        tenant: &TenantId,
        member_id: &str,
    ) -> Result<Vec<GroupRef>, StorageError> {
        let store = self.lock()?;
        let mut groups = Vec::new();
        for ((t, resource_type), table) in &store.tables {
            if t != tenant {
                continue;
            }
            for (id, entry) in table {
                if entry.members.contains_key(member_id) {
                    groups.push(GroupRef {
                        id: id.clone(),
                        resource_type: resource_type.clone(),
                        display: entry
                            .resource
                            .get("displayName")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    });
                }
            }
        }
        Ok(groups)
    }
}
