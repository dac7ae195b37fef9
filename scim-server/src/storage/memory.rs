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
//! - `co`, `ew` (non-empty operand): every key of that attribute's index is tested (the
//!   folded value contains / ends with the folded operand, which is the evaluator's test);
//!   this reads the index, not the resources, but costs one test per distinct value;
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
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use rustc_hash::FxBuildHasher;
use scim_core::filter::CompiledFilter;
use scim_core::schema::{AttributeType, Mutability, ResourceSchema, Returned};
use scim_core::sort::SortSpec;
use scim_core::{AttrPath, CompValue, CompareOp, Filter, Resource};
use serde_json::{Map, Value};

mod changes;

use super::changes::NewChange;
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
    /// The tenant's change feed, appended under the same write lock as each change.
    feed: changes::Feed,
}

#[derive(Default)]
struct Shard {
    resources: HashMap<String, Entry>,
    order: BTreeMap<u64, String>,
    unique: HashMap<UniqueKey, String>,
    /// indexed path (canonical, e.g. `emails.value`) → its ordered index.
    index: HashMap<String, Column>,
}

/// The ordered index of one attribute.
#[derive(Default)]
struct Column {
    /// Normalised string value → the ids holding it.
    by_value: BTreeMap<String, BTreeSet<String>>,
    /// The ids holding a non-empty value that is not a string (a number, say), which `pr`
    /// counts as present and no string comparison matches.
    non_string: BTreeSet<String>,
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

/// An attribute the backend indexes.
struct IndexSpec {
    /// The canonical path (`id`, `userName`, `emails.value`).
    key: String,
    /// Where the values are; `None` for `id`, whose value is the store's id.
    path: Option<AttrPath>,
    case_exact: bool,
    /// `returned: never` / `writeOnly`: the evaluator allows only `eq` / `ne` (and `pr`).
    eq_only: bool,
    /// For the `value` sub-attribute of a complex attribute (`emails.value`): the index
    /// (`emails[]`) of the attribute's primitive elements, which a value path reads as their
    /// `value` (`emails[value eq "a@b"]` matches `"emails": ["a@b"]`; `emails.value eq
    /// "a@b"` does not).
    element_key: Option<String>,
}

/// The index key of the primitive elements of the complex attribute `attribute` (as the
/// schema spells it): `emails[]`.
fn element_key_of(attribute: &str) -> String {
    format!("{attribute}[]")
}

/// Only string-like attributes are indexed: their filters compare the (folded) text, which
/// the index orders the same way. Binary (always compared exactly, never ordered), dateTime
/// (compared chronologically), numbers and booleans are left to the planner.
fn indexable(t: AttributeType) -> bool {
    matches!(t, AttributeType::String | AttributeType::Reference)
}

fn spec_of(key: String, path: Option<AttrPath>, a: &scim_core::schema::Attribute) -> IndexSpec {
    IndexSpec {
        key,
        path,
        case_exact: a.case_exact,
        eq_only: a.returned == Returned::Never || a.mutability == Mutability::WriteOnly,
        element_key: None,
    }
}

/// The indexed attributes of a resource type: `id`, the unique ones, `emails.value` and
/// `emails.type`.
fn index_specs(schema: &ResourceSchema) -> Vec<IndexSpec> {
    let mut specs = Vec::new();
    if let Some(r) = schema.resolve(&AttrPath::new("id")) {
        if !r.in_extension && !r.attribute.multi_valued && indexable(r.attribute.attr_type) {
            specs.push(spec_of("id".into(), None, r.attribute));
        }
    }
    for path in UniquenessPolicy::for_schema(schema).attributes() {
        if let Some(r) = schema.resolve(path) {
            if r.in_extension
                || r.attribute.multi_valued
                || !indexable(r.attribute.attr_type)
                || specs.iter().any(|s| s.key == r.attribute.name)
            {
                continue;
            }
            let name = r.attribute.name.clone();
            specs.push(spec_of(
                name.clone(),
                Some(AttrPath::new(name)),
                r.attribute,
            ));
        }
    }
    for sub_name in ["value", "type"] {
        let emails = AttrPath::with_sub("emails", sub_name);
        let Some(r) = schema.resolve(&emails) else {
            continue;
        };
        if let (false, Some(sub)) = (r.in_extension, r.sub_attribute) {
            if indexable(sub.attr_type) {
                let mut spec = spec_of(
                    format!("{}.{}", r.attribute.name, sub.name),
                    Some(AttrPath::with_sub(
                        r.attribute.name.clone(),
                        sub.name.clone(),
                    )),
                    sub,
                );
                if sub.name.eq_ignore_ascii_case("value") {
                    spec.element_key = Some(element_key_of(&r.attribute.name));
                }
                specs.push(spec);
            }
        }
    }
    specs
}

/// What one supported leaf filter reads from the index of the attribute `key`.
#[derive(Debug, PartialEq, Eq)]
enum Probe {
    /// `eq`, `sw`, `gt`, `ge`, `lt` or `le` with the normalised operand.
    Compare {
        key: String,
        op: CompareOp,
        operand: String,
    },
    /// `pr`.
    Present { key: String },
}

/// The index probe answering `filter` exactly, if there is one.
fn probe_of(schema: &ResourceSchema, filter: &Filter) -> Option<Probe> {
    let find = |path: &AttrPath| -> Option<IndexSpec> {
        let r = schema.resolve(path)?;
        if r.in_extension {
            return None;
        }
        let key = match r.sub_attribute {
            Some(sub) => format!("{}.{}", r.attribute.name, sub.name),
            None => r.attribute.name.clone(),
        };
        index_specs(schema).into_iter().find(|s| s.key == key)
    };
    match filter {
        Filter::Present(path) => Some(Probe::Present {
            key: find(path)?.key,
        }),
        Filter::Compare {
            path,
            op,
            value: CompValue::String(value),
        } => {
            // `co` / `ew` walk the keys of the index; an empty operand (which every string
            // satisfies) is left to the planner.
            let ordered = matches!(
                op,
                CompareOp::Sw | CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
            ) || (matches!(op, CompareOp::Co | CompareOp::Ew) && !value.is_empty());
            if !(ordered || *op == CompareOp::Eq) {
                return None;
            }
            let spec = find(path)?;
            if ordered && spec.eq_only {
                return None;
            }
            Some(Probe::Compare {
                operand: index_norm(value, spec.case_exact),
                key: spec.key,
                op: *op,
            })
        }
        _ => None,
    }
}

/// The indexed form of a value: as is when caseExact, else case-folded with
/// [`scim_core::casefold::fold`], the folding uniqueness, filters, the SQL indexes and
/// sorting use (RFC 7643 §2.1 `caseExact: false`). Folding never produces context-dependent
/// forms (`Σ`, `σ` and `ς` all fold to `σ`), and `str` order on the folded forms is
/// code-point order.
fn index_norm(value: &str, case_exact: bool) -> String {
    super::unique::normalise(value, case_exact)
}

/// The computed attributes (RFC 7643 §4.1.2 `groups` of a User) and the members kept apart
/// from the resource (§4.2 `members` of a Group) that `filter` names: such a filter is
/// evaluated over the resource as the server returns it, with them.
fn mentions_computed(filter: &Filter) -> bool {
    let computed = |p: &AttrPath| {
        p.name.eq_ignore_ascii_case("members") || p.name.eq_ignore_ascii_case("groups")
    };
    match filter {
        Filter::Present(p)
        | Filter::Compare { path: p, .. }
        | Filter::ValuePath { path: p, .. } => computed(p),
        Filter::And(a, b) | Filter::Or(a, b) => mentions_computed(a) || mentions_computed(b),
        Filter::Not(f) => mentions_computed(f),
    }
}

fn supported(schema: &ResourceSchema, filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => supported(schema, a) && supported(schema, b),
        Filter::ValuePath {
            path,
            filter: inner,
        } => {
            value_path_parent(schema, path).is_some_and(|p| element_supported(schema, &p, inner))
                && filter.compile(schema).is_ok()
        }
        other => probe_of(schema, other).is_some(),
    }
}

/// The attribute (as the schema spells it) of a value path `path[...]` the indexes can
/// answer: a complex core attribute.
fn value_path_parent(schema: &ResourceSchema, path: &AttrPath) -> Option<String> {
    if path.sub_attr.is_some() || schema.extension_for_path(path).is_some() {
        return None;
    }
    let r = schema.resolve(path)?;
    (!r.in_extension && r.sub_attribute.is_none() && r.attribute.is_complex())
        .then(|| r.attribute.name.clone())
}

/// Is the value filter (inside the brackets) over `parent` an `and` / `or` of leaves with
/// [`element_probes`]?
fn element_supported(schema: &ResourceSchema, parent: &str, filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            element_supported(schema, parent, a) && element_supported(schema, parent, b)
        }
        leaf => element_probes(schema, parent, leaf).is_some(),
    }
}

/// The probes whose union holds every resource with an element of `parent` satisfying the
/// leaf `filter` of a value filter (a superset: the element is not checked): the leaf on
/// `parent.sub` (any element), plus for `value` the index of primitive elements.
fn element_probes(schema: &ResourceSchema, parent: &str, filter: &Filter) -> Option<Vec<Probe>> {
    let full = |path: &AttrPath| -> Option<AttrPath> {
        (path.uri.is_none() && path.sub_attr.is_none())
            .then(|| AttrPath::with_sub(parent.to_string(), path.name.clone()))
    };
    let (leaf, sub) = match filter {
        Filter::Present(path) => (Filter::Present(full(path)?), &path.name),
        Filter::Compare { path, op, value } => (
            Filter::Compare {
                path: full(path)?,
                op: *op,
                value: value.clone(),
            },
            &path.name,
        ),
        _ => return None,
    };
    let probe = probe_of(schema, &leaf)?;
    let mut probes = vec![];
    // `parent.value` is indexed (the probe exists), so its primitive elements are too.
    if sub.eq_ignore_ascii_case("value") {
        probes.push(probe.with_key(element_key_of(parent)));
    }
    probes.push(probe);
    Some(probes)
}

impl Probe {
    /// The index this probe reads.
    fn key(&self) -> &String {
        match self {
            Probe::Compare { key, .. } | Probe::Present { key } => key,
        }
    }

    /// The same probe on another index.
    fn with_key(&self, key: String) -> Probe {
        match self {
            Probe::Compare { op, operand, .. } => Probe::Compare {
                key,
                op: *op,
                operand: operand.clone(),
            },
            Probe::Present { .. } => Probe::Present { key },
        }
    }
}

/// The resources a filter node selects during one query: id → entry (so that checking a
/// candidate or ordering the matches needs no second lookup). Keyed with rustc's Fx hash:
/// the keys are ids already stored and a collision only slows that query down, so SipHash's
/// resistance to chosen keys buys nothing here, while its cost dominated the intersection
/// of large candidate sets.
type Hits<'s> = HashMap<&'s str, &'s Entry, FxBuildHasher>;

/// Does a supported filter walk every key of an index (a `co` / `ew` leaf below it), rather
/// than only a range of keys ("cheap": `eq`, `sw`, `gt`, `ge`, `lt`, `le`, `pr`, and `and` /
/// `or` / value paths of those)?
fn scans(filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => scans(a) || scans(b),
        Filter::ValuePath { filter, .. } | Filter::Not(filter) => scans(filter),
        Filter::Compare { op, .. } => matches!(op, CompareOp::Co | CompareOp::Ew),
        Filter::Present(_) => false,
    }
}

/// The conjuncts of nested `and`s, left to right.
fn conjuncts<'f>(filter: &'f Filter, out: &mut Vec<&'f Filter>) {
    match filter {
        Filter::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other),
    }
}

/// RFC 7644 §3.4.2.2 `pr` as scim-core's evaluator reads it: "a non-empty or non-null
/// value, or ... a non-empty node for complex attributes".
fn is_non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_non_empty),
        Value::Object(members) => members.values().any(is_non_empty),
        Value::Bool(_) | Value::Number(_) => true,
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

/// The index entries of a resource: per indexed attribute, each distinct normalised string
/// value and, once, [`IndexValue::NonString`] if it holds a non-empty non-string value. The
/// values are read as the evaluator reads them (arrays flattened, nulls skipped).
fn index_keys(schema: &ResourceSchema, id: &str, resource: &Resource) -> Vec<(String, IndexValue)> {
    let mut keys = Vec::new();
    let mut push = |k: (String, IndexValue)| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    for spec in index_specs(schema) {
        let Some(path) = &spec.path else {
            push((spec.key, IndexValue::Str(index_norm(id, spec.case_exact))));
            continue;
        };
        for v in resource.values(schema, path) {
            match v {
                Value::String(s) => push((
                    spec.key.clone(),
                    IndexValue::Str(index_norm(s, spec.case_exact)),
                )),
                other if is_non_empty(other) => push((spec.key.clone(), IndexValue::NonString)),
                _ => {}
            }
        }
        // The primitive elements of the attribute (`"emails": ["a@b"]`), for value paths.
        let Some(element_key) = &spec.element_key else {
            continue;
        };
        let top = scim_core::resource::get_ci(resource.as_map(), &path.name);
        let elements: &[Value] = match top {
            Some(Value::Array(items)) => items,
            Some(other) => std::slice::from_ref(other),
            None => &[],
        };
        for e in elements {
            match e {
                Value::String(s) => push((
                    element_key.clone(),
                    IndexValue::Str(index_norm(s, spec.case_exact)),
                )),
                Value::Number(_) | Value::Bool(_) => {
                    push((element_key.clone(), IndexValue::NonString));
                }
                Value::Null | Value::Array(_) | Value::Object(_) => {}
            }
        }
    }
    keys
}

impl Shard {
    fn add_index(&mut self, id: &str, keys: &[(String, IndexValue)]) {
        for (path, value) in keys {
            let column = self.index.entry(path.clone()).or_default();
            match value {
                IndexValue::Str(v) => {
                    column
                        .by_value
                        .entry(v.clone())
                        .or_default()
                        .insert(id.to_string());
                }
                IndexValue::NonString => {
                    column.non_string.insert(id.to_string());
                }
            }
        }
    }

    fn remove_index(&mut self, id: &str, keys: &[(String, IndexValue)]) {
        for (path, value) in keys {
            let Some(column) = self.index.get_mut(path) else {
                continue;
            };
            match value {
                IndexValue::Str(v) => {
                    if let Some(ids) = column.by_value.get_mut(v) {
                        ids.remove(id);
                        if ids.is_empty() {
                            column.by_value.remove(v);
                        }
                    }
                }
                IndexValue::NonString => {
                    column.non_string.remove(id);
                }
            }
        }
    }

    /// The ids matching a supported filter, `None` for an unsupported one.
    ///
    /// An `and` (nested `and`s flattened) with both cheap conjuncts (index ranges, see
    /// [`scans`]) and scanning ones (`co` / `ew` below) takes its candidates from the cheap
    /// ones and checks the scanning ones on each candidate with scim-core's evaluator (whose
    /// answer the pushdown must give anyway), so a narrow lookup AND-ed with a substring
    /// test never walks every key of the substring's index.
    fn eval<'s>(&'s self, schema: &ResourceSchema, filter: &Filter) -> Option<Hits<'s>> {
        match filter {
            Filter::And(..) => {
                let mut all = Vec::new();
                conjuncts(filter, &mut all);
                let (scanning, cheap): (Vec<&Filter>, Vec<&Filter>) =
                    all.iter().partition(|f| scans(f));
                if !cheap.is_empty() && !scanning.is_empty() {
                    let checks: Option<Vec<CompiledFilter>> =
                        scanning.iter().map(|f| f.compile(schema).ok()).collect();
                    if let Some(checks) = checks {
                        let candidates = self.intersect(schema, &cheap)?;
                        return Some(self.retain_matching(candidates, &checks));
                    }
                }
                self.intersect(schema, &all)
            }
            Filter::Or(a, b) => {
                let mut a = self.eval(schema, a)?;
                a.extend(self.eval(schema, b)?);
                Some(a)
            }
            Filter::ValuePath {
                path,
                filter: inner,
            } => {
                // The candidates the indexes give for the leaves (any element), then the
                // value path itself (the same element) checked on each candidate.
                let parent = value_path_parent(schema, path)?;
                let candidates = self.eval_element(schema, &parent, inner)?;
                let compiled = filter.compile(schema).ok()?;
                Some(self.retain_matching(candidates, std::slice::from_ref(&compiled)))
            }
            other => Some(self.probe(&probe_of(schema, other)?)),
        }
    }

    /// The resources matching the valid filter `filter` (`compiled` is its compiled form):
    /// from the indexes when they answer it ([`supported`]); else the candidates of its
    /// indexed conjuncts (or, when none narrows, every resource of the type) checked with
    /// the compiled filter. A filter naming `members` or the computed `groups` is checked on
    /// the resource with them (as the server returns it: RFC 7643 §4.1.2, §4.2), so
    /// `members[value eq "<uid>"]` and `groups.value eq "<gid>"` are answered from the
    /// membership.
    fn matching<'s>(
        &'s self,
        data: &TenantData,
        scope: Scope<'_>,
        filter: &Filter,
        compiled: &CompiledFilter,
    ) -> Hits<'s> {
        let computed = mentions_computed(filter);
        if !computed {
            if let Some(hits) = self.eval(scope.schema, filter) {
                return hits;
            }
        }
        let mut parts = Vec::new();
        conjuncts(filter, &mut parts);
        let narrowing: Vec<&Filter> = parts
            .into_iter()
            .filter(|c| !mentions_computed(c) && supported(scope.schema, c))
            .collect();
        let mut candidates = if narrowing.is_empty() {
            self.hits(&mut self.resources.keys())
        } else {
            self.intersect(scope.schema, &narrowing).unwrap_or_default()
        };
        if computed {
            candidates.retain(|id, e| compiled.matches(&data.view(id, e)));
        } else {
            candidates.retain(|_, e| compiled.matches(&e.resource));
        }
        candidates
    }

    /// The ids in every set of `parts` (evaluated), intersected smallest first.
    fn intersect<'s>(&'s self, schema: &ResourceSchema, parts: &[&Filter]) -> Option<Hits<'s>> {
        let mut sets = parts
            .iter()
            .map(|f| self.eval(schema, f))
            .collect::<Option<Vec<_>>>()?;
        sets.sort_by_key(Hits::len);
        let mut sets = sets.into_iter();
        let mut out = sets.next().unwrap_or_default();
        for other in sets {
            out.retain(|id, _| other.contains_key(id));
        }
        Some(out)
    }

    /// The `candidates` whose resource every filter of `checks` matches.
    fn retain_matching<'s>(
        &'s self,
        mut candidates: Hits<'s>,
        checks: &[CompiledFilter],
    ) -> Hits<'s> {
        candidates.retain(|_, e| checks.iter().all(|c| c.matches(&e.resource)));
        candidates
    }

    /// A superset of the ids with an element of `parent` satisfying the value filter
    /// `filter` (see [`element_probes`]). The caller checks the value path on each, so an
    /// `and` with a cheap side gives the cheap side's ids alone (no walk of a `co` / `ew`
    /// index).
    fn eval_element<'s>(
        &'s self,
        schema: &ResourceSchema,
        parent: &str,
        filter: &Filter,
    ) -> Option<Hits<'s>> {
        match filter {
            Filter::And(a, b) => match (scans(a), scans(b)) {
                (false, true) => self.eval_element(schema, parent, a),
                (true, false) => self.eval_element(schema, parent, b),
                _ => {
                    let (a, b) = (
                        self.eval_element(schema, parent, a)?,
                        self.eval_element(schema, parent, b)?,
                    );
                    let (mut small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
                    small.retain(|id, _| large.contains_key(id));
                    Some(small)
                }
            },
            Filter::Or(a, b) => {
                let mut a = self.eval_element(schema, parent, a)?;
                a.extend(self.eval_element(schema, parent, b)?);
                Some(a)
            }
            leaf => {
                let mut ids = Hits::default();
                for p in element_probes(schema, parent, leaf)? {
                    ids.extend(self.probe(&p));
                }
                Some(ids)
            }
        }
    }

    /// The resources of `ids` (as [`Hits`]).
    fn hits<'s>(&'s self, ids: &mut dyn Iterator<Item = &'s String>) -> Hits<'s> {
        let mut hits = Hits::with_capacity_and_hasher(ids.size_hint().0, Default::default());
        hits.extend(
            ids.filter_map(|id| self.resources.get_key_value(id.as_str()))
                .map(|(id, e)| (id.as_str(), e)),
        );
        hits
    }

    /// The ids an index probe selects, read from the index alone.
    fn probe<'s>(&'s self, probe: &Probe) -> Hits<'s> {
        let Some(column) = self.index.get(probe.key()) else {
            return Hits::default();
        };
        let collect = |entries: &mut dyn Iterator<Item = (&'s String, &'s BTreeSet<String>)>| {
            self.hits(&mut entries.flat_map(|(_, ids)| ids.iter()))
        };
        match probe {
            Probe::Present { .. } => {
                let mut ids = collect(
                    &mut column
                        .by_value
                        .range::<str, _>((Bound::Excluded(""), Bound::Unbounded)),
                );
                ids.extend(self.hits(&mut column.non_string.iter()));
                ids
            }
            Probe::Compare { op, operand, .. } => {
                let o = operand.as_str();
                let range =
                    |lo: Bound<&str>, hi: Bound<&str>| column.by_value.range::<str, _>((lo, hi));
                match op {
                    CompareOp::Eq => column
                        .by_value
                        .get(o)
                        .map(|ids| self.hits(&mut ids.iter()))
                        .unwrap_or_default(),
                    CompareOp::Sw => collect(
                        &mut range(Bound::Included(o), Bound::Unbounded)
                            .take_while(|(k, _)| k.starts_with(o)),
                    ),
                    CompareOp::Gt => collect(&mut range(Bound::Excluded(o), Bound::Unbounded)),
                    CompareOp::Ge => collect(&mut range(Bound::Included(o), Bound::Unbounded)),
                    CompareOp::Lt => collect(&mut range(Bound::Unbounded, Bound::Excluded(o))),
                    CompareOp::Le => collect(&mut range(Bound::Unbounded, Bound::Included(o))),
                    // Every key of the index: the folded value contains / ends with the
                    // folded operand exactly when the evaluator's `co` / `ew` holds.
                    CompareOp::Co => {
                        collect(&mut column.by_value.iter().filter(|(k, _)| k.contains(o)))
                    }
                    CompareOp::Ew => {
                        collect(&mut column.by_value.iter().filter(|(k, _)| k.ends_with(o)))
                    }
                    // Never built by `probe_of`.
                    CompareOp::Ne => Hits::default(),
                }
            }
        }
    }
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
                    .and_then(|s| s.resources.get(gid))
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
        data.feed.append(
            scope.tenant,
            vec![NewChange::new(&rt, &new.id, ChangeKind::Created, 1)],
        );
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
            if shard.unique.get(k).is_some_and(|owner| owner == id) {
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
                    .and_then(|s| s.resources.get_mut(&gid))
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
        let compiled = match query.filter {
            Some(f) => Some(f.compile(scope.schema).map_err(|e| {
                StorageError::new(StorageErrorKind::UnsupportedFilter, e.detail().to_string())
            })?),
            None => None,
        };
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
        let matches: Vec<(u64, &str)> = {
            {
                let hits = match &compiled {
                    Some(c) => shard.matching(&data, scope, f, c),
                    None => Hits::default(),
                };
                let mut v: Vec<(u64, &str)> = hits.into_iter().map(|(id, e)| (e.seq, id)).collect();
                v.sort_unstable_by_key(|(s, _)| *s);
                v
            }
        };
        let total = matches.len() as u64;
        let stored =
            |(_, id): &(u64, &str)| shard.resources.get(*id).map(|e| e.stored(id, query.load));
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
    fn can_filter_every_valid_filter_and_the_indexes_answer_some() {
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
            r#"userName sw "a""#,
            r#"userName SW "Ä""#,
            r#"userName gt "a""#,
            r#"userName ge "a""#,
            r#"userName lt "a""#,
            r#"userName le "a""#,
            r#"userName pr"#,
            r#"externalId sw "A""#,
            r#"externalId pr"#,
            r#"id sw "u""#,
            r#"id gt "u""#,
            r#"id pr"#,
            r#"emails.value sw "a@""#,
            r#"emails.value le "a@""#,
            r#"emails.value pr"#,
            r#"userName sw "a" and externalId pr"#,
            r#"userName sw "a" or (emails.value gt "m" and id lt "x")"#,
            r#"userName co "a""#,
            r#"userName ew "a""#,
            r#"emails.value co "@x""#,
            r#"emails.type eq "work""#,
            r#"emails.type ew "K""#,
            r#"emails[value eq "a@b"]"#,
            r#"emails[type eq "work" and value co "x"]"#,
            r#"emails[type eq "work" or (value ew "x" and value pr)] and userName sw "a""#,
        ] {
            assert!(s.can_filter(&users, &f(yes)), "{yes}");
            assert!(supported(&users, &f(yes)), "from the indexes: {yes}");
        }
        for no in [
            r#"userName ne "a""#,
            r#"userName co """#,
            r#"userName ew """#,
            r#"emails[value co ""]"#,
            r#"emails[not (value eq "a")]"#,
            r#"emails[display eq "a"]"#,
            r#"emails[primary eq true]"#,
            r#"emails[type eq "work" and display eq "a"]"#,
            r#"emails[type ne "work"]"#,
            r#"emails[value eq null]"#,
            r#"name[givenName eq "a"]"#,
            r#"phoneNumbers[value eq "1"]"#,
            r#"userName eq null"#,
            r#"userName gt 5"#,
            r#"userName sw true"#,
            r#"not (userName sw "a")"#,
            r#"userName sw "a" and not (externalId pr)"#,
            r#"title eq "a""#,
            r#"title pr"#,
            r#"title sw "a""#,
            r#"emails pr"#,
            r#"emails sw "a""#,
            r#"meta.created gt "2011-05-13T04:42:34Z""#,
            r#"displayName eq "a""#, // not unique for Users
            r#"not (userName eq "a")"#,
            r#"userName eq "a" or title eq "b""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
        ] {
            // Answered by evaluating the compiled filter, not from the indexes; refused only
            // when it does not compile (RFC 7644 §3.12 invalidFilter).
            assert!(!supported(&users, &f(no)), "{no}");
            let valid = f(no).compile(&users).is_ok();
            assert_eq!(s.can_filter(&users, &f(no)), valid, "{no}");
        }
        assert!(!s.can_filter(&users, &f("userName gt 5")));
        assert!(s.can_filter(&groups, &f(r#"displayName eq "Admins""#)));
        assert!(s.can_filter(&groups, &f(r#"displayName sw "Ad""#)));
        assert!(s.can_filter(&groups, &f(r#"displayName pr"#)));
        assert!(s.can_filter(&groups, &f(r#"displayName co "dm""#)));
        assert!(s.can_filter(&groups, &f(r#"members.value eq "u1""#)));
        assert!(!s.can_sort(
            &users,
            &SortSpec::new(AttrPath::new("userName"), Default::default())
        ));
    }

    #[test]
    fn index_case_folds() {
        // Greek capital sigma: `str::to_lowercase` would give a final sigma (ς) at the end
        // of a word; Unicode case folding maps Σ, σ and ς alike, for uniqueness, filters
        // and indexes (scim_core::casefold).
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
                let expected = fold_filter(&filter).matches(&fold_view(&resource), &schema);
                assert_eq!(r.total_results, u64::from(expected), "{q}");
            }
        });
    }

    /// The resource with the values of its caseExact=false indexed attributes (`userName`,
    /// `emails.value`) case-folded, for the evaluator as an oracle of folded comparisons.
    fn fold_view(r: &Resource) -> Resource {
        fn fold_all(v: &mut Value) {
            match v {
                Value::String(s) => *s = scim_core::casefold::fold(s).into_owned(),
                Value::Array(items) => items.iter_mut().for_each(fold_all),
                Value::Object(o) => {
                    if let Some(x) = o.get_mut("value") {
                        fold_all(x);
                    }
                }
                _ => {}
            }
        }
        let mut out = r.clone();
        for key in ["userName", "emails"] {
            if let Some(v) = out.as_map_mut().get_mut(key) {
                fold_all(v);
            }
        }
        out
    }

    /// The filter with the string operands on `userName` and `emails` case-folded.
    fn fold_filter(filter: &Filter) -> Filter {
        match filter {
            Filter::Compare {
                path,
                op,
                value: CompValue::String(s),
            } if ["userName", "emails"]
                .iter()
                .any(|n| path.name.eq_ignore_ascii_case(n)) =>
            {
                Filter::Compare {
                    path: path.clone(),
                    op: *op,
                    value: CompValue::String(scim_core::casefold::fold(s).into_owned()),
                }
            }
            Filter::And(a, b) => fold_filter(a).and(fold_filter(b)),
            Filter::Or(a, b) => fold_filter(a).or(fold_filter(b)),
            Filter::Not(a) => fold_filter(a).not(),
            Filter::ValuePath {
                path,
                filter: inner,
            } if path.name.eq_ignore_ascii_case("emails") => {
                Filter::value_path(path.clone(), fold_value_filter(inner))
            }
            other => other.clone(),
        }
    }

    /// Inside `emails[...]`: the `value` operands folded.
    fn fold_value_filter(filter: &Filter) -> Filter {
        match filter {
            Filter::Compare {
                path,
                op,
                value: CompValue::String(s),
            } if path.name.eq_ignore_ascii_case("value") => Filter::Compare {
                path: path.clone(),
                op: *op,
                value: CompValue::String(scim_core::casefold::fold(s).into_owned()),
            },
            Filter::And(a, b) => fold_value_filter(a).and(fold_value_filter(b)),
            Filter::Or(a, b) => fold_value_filter(a).or(fold_value_filter(b)),
            Filter::Not(a) => fold_value_filter(a).not(),
            other => other.clone(),
        }
    }

    /// Users with mixed case, non-ASCII text (Ä/ä, ß, Greek sigma, the Kelvin sign, dotted
    /// capital I, a character beyond the BMP, U+10FFFF), empty strings, nulls, a non-string
    /// value and missing attributes.
    fn tricky_users() -> Vec<(&'static str, Value)> {
        vec![
            (
                "u1",
                json!({"userName": "Ärger", "externalId": "Ä1",
                          "emails": [{"value": "ÄRGER@Example.com"}, {"value": "second@x.org"}]}),
            ),
            (
                "u2",
                json!({"userName": "ärgerlich", "externalId": "ä1",
                          "emails": [{"value": "aerger@example.com"}]}),
            ),
            ("u3", json!({"userName": "straße", "externalId": "STRASSE"})),
            (
                "u4",
                json!({"userName": "STRASSE", "emails": [{"value": ""}]}),
            ),
            ("u5", json!({"userName": "ΟΔΟΣ", "externalId": ""})),
            ("u6", json!({"userName": "οδος", "externalId": "οδος"})),
            (
                "u7",
                json!({"userName": "", "emails": [{"value": null}, {"value": 42}]}),
            ),
            ("u8", json!({"emails": []})),
            (
                "u9",
                json!({"userName": "bjensen", "emails": {"value": "Obj@X.org"}}),
            ),
            ("u10", json!({"userName": "BJensen2", "externalId": "b"})),
            (
                "u11",
                json!({"userName": "\u{212A}elvin", "externalId": "\u{212A}"}),
            ),
            (
                "u12",
                json!({"userName": "kelvin2", "emails": [{"value": "k@x"}, {"value": "K@X"}]}),
            ),
            ("u13", json!({"userName": "İstanbul"})),
            (
                "u14",
                json!({"userName": "a\u{10FFFF}x", "externalId": "a\u{10FFFF}"}),
            ),
            ("u15", json!({"userName": "𝔸bc", "externalId": "𝔸"})),
            ("u16", json!({"userName": null, "externalId": null})),
        ]
    }

    const OPERANDS: &[&str] = &[
        "",
        "a",
        "A",
        "ä",
        "Ä",
        "ÄR",
        "är",
        "ärger",
        "b",
        "BJ",
        "bjensen",
        "k",
        "K",
        "\u{212A}",
        "kelvin",
        "str",
        "STRA",
        "straß",
        "STRASS",
        "strasse",
        "ο",
        "οδοσ",
        "ΟΔΟΣ",
        "οδος",
        "i",
        "i\u{307}",
        "İ",
        "z",
        "a\u{10FFFF}",
        "\u{10FFFF}",
        "𝔸",
        "u1",
        "U1",
        "u10",
        "second@",
        "k@x",
        "obj@x.org",
        "@",
    ];

    /// Every filter the test claims is pushed down and compares with the evaluator.
    fn pushed_filters() -> Vec<Filter> {
        let mut out = Vec::new();
        for path in ["userName", "externalId", "emails.value", "id"] {
            let ap: AttrPath = match path.split_once('.') {
                Some((a, b)) => AttrPath::with_sub(a, b),
                None => AttrPath::new(path),
            };
            out.push(Filter::Present(ap.clone()));
            for op in [
                CompareOp::Eq,
                CompareOp::Sw,
                CompareOp::Gt,
                CompareOp::Ge,
                CompareOp::Lt,
                CompareOp::Le,
                CompareOp::Co,
                CompareOp::Ew,
            ] {
                for operand in OPERANDS {
                    if operand.is_empty() && matches!(op, CompareOp::Co | CompareOp::Ew) {
                        continue;
                    }
                    out.push(Filter::Compare {
                        path: ap.clone(),
                        op,
                        value: CompValue::String((*operand).to_string()),
                    });
                }
            }
        }
        for text in [
            r#"userName sw "str" and externalId pr"#,
            r#"userName sw "ä" or emails.value sw "aer""#,
            r#"(userName ge "b" and userName lt "o") or id eq "u7""#,
            r#"emails.value pr and not_a_leaf eq "x""#,
            r#"emails[value co "ä"]"#,
            r#"emails[value ew "x.org" or value eq "k@x"]"#,
            r#"emails[value pr]"#,
            r#"emails[value co "@" and value sw "second"]"#,
            r#"userName co "Σ" or emails[value ew "COM"]"#,
        ] {
            out.push(f(text));
        }
        out
    }

    /// Queries every filter of [`pushed_filters`] and compares the ids with what
    /// `Filter::matches` says over `all`.
    async fn assert_pushdown_matches_evaluator(
        s: &MemoryStorage,
        t: &TenantId,
        schema: &ResourceSchema,
        all: &[StoredResource],
    ) {
        let mut claimed = 0;
        for filter in pushed_filters() {
            let must = !filter.to_string().contains("not_a_leaf");
            assert_eq!(s.can_filter(schema, &filter), must, "can_filter `{filter}`");
            if !must {
                continue;
            }
            claimed += 1;
            // The evaluator over the case-folded values (scim_core::casefold): the
            // indexes compare folded forms.
            let folded = fold_filter(&filter);
            let expected: BTreeSet<String> = all
                .iter()
                .filter(|r| folded.matches(&fold_view(&r.resource), schema))
                .map(|r| r.id.clone())
                .collect();
            let page = StoragePage::Offset {
                offset: 0,
                limit: 1000,
            };
            let got = s
                .query(
                    Scope::new(t, schema),
                    StorageQuery {
                        filter: Some(&filter),
                        sort: None,
                        page: &page,
                        load: Load::ALL,
                    },
                )
                .await
                .unwrap();
            let ids: BTreeSet<String> = got.resources.iter().map(|r| r.id.clone()).collect();
            assert_eq!(ids, expected, "`{filter}`");
            assert_eq!(got.total_results, expected.len() as u64, "`{filter}`");
        }
        assert!(claimed > 900, "{claimed}");
    }

    #[test]
    fn ordered_pushdown_matches_the_evaluator() {
        let s = MemoryStorage::new();
        let t = TenantId::default_tenant();
        let schema = builtin::user_resource_schema();
        rt().block_on(async {
            let mut all = Vec::new();
            for (id, mut v) in tricky_users() {
                v["id"] = json!(id);
                all.push(
                    s.create(Scope::new(&t, &schema), user(id, v))
                        .await
                        .unwrap(),
                );
            }
            // Spot checks of the folding, independent of the evaluator.
            let ids = |q: &str| {
                let filter = f(q);
                let page = StoragePage::Offset {
                    offset: 0,
                    limit: 100,
                };
                let s = s.clone();
                let (t, schema) = (t.clone(), schema.clone());
                async move {
                    s.query(
                        Scope::new(&t, &schema),
                        StorageQuery {
                            filter: Some(&filter),
                            sort: None,
                            page: &page,
                            load: Load::ALL,
                        },
                    )
                    .await
                    .unwrap()
                    .resources
                    .into_iter()
                    .map(|r| r.id)
                    .collect::<BTreeSet<_>>()
                }
            };
            let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
            assert_eq!(ids(r#"userName sw "ÄR""#).await, set(&["u1", "u2"]));
            // Unicode case folding (scim_core::casefold): ß folds to "ss", and Σ, σ and ς
            // all fold to σ.
            assert_eq!(ids(r#"userName sw "STRAß""#).await, set(&["u3", "u4"]));
            assert_eq!(ids(r#"userName sw "STRASS""#).await, set(&["u3", "u4"]));
            assert_eq!(ids(r#"userName eq "οδοσ""#).await, set(&["u5", "u6"]));
            assert_eq!(ids(r#"userName sw "ΟΔΟς""#).await, set(&["u5", "u6"]));
            assert_eq!(ids(r#"userName sw "a""#).await, set(&["u14"]));
            assert_eq!(ids(r#"externalId sw "ä""#).await, set(&["u2"])); // caseExact
            assert_eq!(ids(r#"userName pr"#).await.len(), 13); // not "", null or missing
            assert!(ids(r#"emails.value pr"#).await.contains("u7")); // 42 is present
            assert!(!ids(r#"emails.value pr"#).await.contains("u4")); // "" is not
            assert_pushdown_matches_evaluator(&s, &t, &schema, &all).await;

            // The indexes follow replacements and deletions.
            let replaced = s
                .replace(
                    Scope::new(&t, &schema),
                    "u3",
                    Replacement {
                        resource: Resource::from_value(
                            json!({"id": "u3", "userName": "Zürich", "emails": [{"value": 7}]}),
                        )
                        .unwrap(),
                        members: None,
                        unique: vec![],
                    },
                    None,
                )
                .await
                .unwrap();
            s.delete(Scope::new(&t, &schema), "u1", None).await.unwrap();
            all.retain(|r| r.id != "u1" && r.id != "u3");
            all.push(replaced);
            assert_eq!(ids(r#"userName sw "ÄR""#).await, set(&["u2"]));
            assert_eq!(ids(r#"userName sw "zü""#).await, set(&["u3"]));
            assert_pushdown_matches_evaluator(&s, &t, &schema, &all).await;
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
