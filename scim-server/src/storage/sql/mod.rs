//! What the SQL backends (SQLite, PostgreSQL) share, independent of the SQL dialect and of
//! the database driver: the indexed attribute paths and the `attr_index` rows of a resource
//! ([`index`]), the translation of filters over them ([`filter`], rendered by a
//! [`filter::Dialect`]), the owned call context, a resource prepared for writing
//! ([`prepared`]), group membership as resource JSON, and the paging cursors.

pub(crate) mod filter;
pub(crate) mod index;
pub(crate) mod path_grams;
pub(crate) mod path_key;
pub(crate) mod prepared;
pub(crate) mod sort;
#[cfg(test)]
pub(crate) mod upgrade_check;
pub(crate) mod value_order;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use scim_core::filter::{CompValue, CompareOp};
use scim_core::resource::remove_ci;
use scim_core::schema::ResourceSchema;
use scim_core::schema::Uniqueness;
use scim_core::{AttrPath, Filter, Resource};
use serde_json::{Map, Value};

use self::filter::{Dialect, EqLookup, SetSql};
use self::index::{IndexedPath, indexed_paths, layout};
use self::path_key::{KeyGuard, PathKeys};
use self::sort::SortPlan;
use super::per_schema::PerSchema;
use super::{GroupRef, Member, Scope, StorageError, StorageErrorKind, StoragePage, StorageQuery};

/// The `attr_index` layouts ([`index::layout`]) a storage handle knows to be current in its
/// database, per resource type, so that each backend's `ensure_layout` (a read of
/// `index_layouts`, and a rebuild when it differs) runs once per type and handle; and the
/// per-type part of every call's [`Ctx`] (indexed paths, schema, layout), computed once per
/// resource type and schema instead of on every call (every attribute of the schema is
/// indexed, so deriving the paths costs more than a point read); and the path keys it has
/// seen recorded in `path_keys` for their own paths ([`KeyGuard`], shared by every `Ctx`).
#[derive(Debug, Default)]
pub(crate) struct KnownLayouts {
    current: Mutex<HashMap<String, String>>,
    shapes: PerSchema<Shape>,
    guard: Arc<KeyGuard>,
}

/// What a [`Ctx`] derives from its resource type's schema.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    paths: Arc<Vec<IndexedPath>>,
    schema: Arc<ResourceSchema>,
    layout: Arc<str>,
    has_members: bool,
}

impl Shape {
    fn of(schema: &ResourceSchema) -> Self {
        let paths = indexed_paths(schema);
        Shape {
            layout: Arc::from(layout(&paths)),
            paths: Arc::new(paths),
            schema: Arc::new(schema.clone()),
            has_members: has_members(schema),
        }
    }
}

impl KnownLayouts {
    /// The context of `scope`, its per-type part taken from the cache when the resource
    /// type's schema is the one it was computed for (compared by value, so a changed schema
    /// is never served a stale shape; a clone of the same schema compares in a few pointer
    /// comparisons, since its schemas are shared `Arc`s).
    pub fn ctx(&self, scope: Scope<'_>) -> Ctx {
        Ctx::with_shape(scope, self.shape(scope.schema), Arc::clone(&self.guard))
    }

    /// The indexed paths of `schema`, from the same cache as [`KnownLayouts::ctx`] (keyed by
    /// the resource type's name, checked against the schema by value).
    pub fn paths(&self, schema: &ResourceSchema) -> Arc<Vec<IndexedPath>> {
        self.shape(schema).paths
    }

    /// The cached per-type part of `schema` (a clone shares its `Arc`s), computed and cached
    /// when missing or computed for another schema.
    fn shape(&self, schema: &ResourceSchema) -> Shape {
        self.shapes.get(schema, Shape::of)
    }

    /// `None` when the layout of `ctx`'s resource type is known to be current; else the
    /// layout to ensure (then [`KnownLayouts::mark_current`]).
    pub fn stale(&self, ctx: &Ctx) -> Option<String> {
        let known = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        (known.get(&ctx.rtype).map(String::as_str) != Some(&*ctx.layout))
            .then(|| ctx.layout.to_string())
    }

    /// Records that the rows of `rtype` follow `layout`.
    pub fn mark_current(&self, rtype: &str, layout: String) {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(rtype.to_string(), layout);
    }
}

/// What a read snapshot sees of a tenant's change feed and of a resource type's layout:
/// what a substring index (`path_grams.rs`) and SQLite's remembered reads check before they
/// serve a query. Each backend reads it in its own snapshot (`changes::head_in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// The `seq` of the tenant's latest change (0 before the first).
    pub last: i64,
    /// The changes up to this `seq` were pruned (`change_heads.pruned_through`).
    pub pruned: i64,
    /// Whether the layout recorded in `index_layouts` for the resource type is the query's
    /// (`ctx.layout`): the type's `attr_index` rows were written with it. Another process
    /// with another schema for the type rewrites every row (`ensure_layout`) and records no
    /// change.
    pub layout_current: bool,
}

/// What a call needs from its scope, owned (so that it can move to a blocking task).
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The tenant.
    pub tenant: String,
    /// The resource type's name.
    pub rtype: String,
    /// The indexed paths of the resource type.
    pub paths: Arc<Vec<IndexedPath>>,
    /// The resource type's schema (the sort keys of the rows are computed with it).
    pub schema: Arc<ResourceSchema>,
    /// The `attr_index` layout of the paths ([`index::layout`]).
    pub layout: Arc<str>,
    /// Whether the resource type has `members` (kept in the `members` table).
    pub has_members: bool,
    /// The path keys the storage handle has seen recorded for their own paths.
    pub guard: Arc<KeyGuard>,
}

impl Ctx {
    /// The keys of the scope's paths in `attr_index` ([`PathKeys`]).
    pub fn keys(&self) -> PathKeys<'_> {
        PathKeys::new(&self.tenant, &self.rtype)
    }

    /// The context of `scope`.
    ///
    /// Derives the per-type part anew; the backends use [`KnownLayouts::ctx`], which caches it.
    #[cfg(all(test, feature = "postgres"))]
    pub fn new(scope: Scope<'_>) -> Self {
        Ctx::with_shape(scope, Shape::of(scope.schema), Arc::default())
    }

    fn with_shape(scope: Scope<'_>, shape: Shape, guard: Arc<KeyGuard>) -> Self {
        Ctx {
            tenant: scope.tenant.as_str().to_string(),
            rtype: scope.resource_type().to_string(),
            paths: shape.paths,
            schema: shape.schema,
            layout: shape.layout,
            has_members: shape.has_members,
            guard,
        }
    }
}

/// Whether the resource type defines `members`.
pub(crate) fn has_members(schema: &ResourceSchema) -> bool {
    schema.resolve(&AttrPath::new("members")).is_some()
}

// ---------------------------------------------------------------------------------------
// Rows

/// The resource without a `members` key (membership lives in the `members` table).
pub(crate) fn strip_members(mut resource: Resource, ctx: &Ctx) -> Resource {
    if ctx.has_members {
        remove_ci(resource.as_map_mut(), "members");
    }
    resource
}

/// Members as RFC 7643 §4.2 `members` values.
pub(crate) fn members_value(members: &[Member]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| {
                let mut o = Map::new();
                o.insert("value".into(), Value::String(m.value.clone()));
                if let Some(d) = &m.display {
                    o.insert("display".into(), Value::String(d.clone()));
                }
                if let Some(k) = &m.kind {
                    o.insert("type".into(), Value::String(k.clone()));
                }
                Value::Object(o)
            })
            .collect(),
    )
}

/// Puts `members` into the resource (omitted when empty, like any empty multi-valued
/// attribute).
pub(crate) fn with_members(mut resource: Resource, members: &[Member]) -> Resource {
    if !members.is_empty() {
        resource
            .as_map_mut()
            .insert("members".into(), members_value(members));
    }
    resource
}

/// The JSON stored for `resource`.
pub(crate) fn to_json(resource: &Resource) -> Result<String, StorageError> {
    serde_json::to_string(resource.as_map())
        .map_err(|e| StorageError::backend(format!("cannot serialise a resource: {e}")))
}

/// Dedupes members by id, keeping the first (a member is present at most once).
pub(crate) fn dedupe(members: Vec<Member>) -> Vec<Member> {
    let mut seen = BTreeSet::new();
    members
        .into_iter()
        .filter(|m| seen.insert(m.value.clone()))
        .collect()
}

/// The answer of `groups_of_many` before any group is read: one empty list per distinct
/// member id.
pub(crate) fn no_groups(member_ids: &[&str]) -> HashMap<String, Vec<GroupRef>> {
    member_ids
        .iter()
        .map(|id| ((*id).to_string(), Vec::new()))
        .collect()
}

/// A stored (non-negative) version or count as `u64`.
pub(crate) fn to_version(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A `u64` (count, index) as a SQL integer, saturating.
pub(crate) fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The error for a filter or sort order the backend `backend` cannot evaluate.
fn unsupported(backend: &str, what: &str) -> StorageError {
    StorageError::new(
        StorageErrorKind::UnsupportedFilter,
        format!("the {backend} backend cannot evaluate {what}"),
    )
}

/// The error for a filter the backend `backend` cannot evaluate.
fn refused_filter(backend: &str, f: &Filter) -> StorageError {
    unsupported(backend, &format!("the filter '{f}'"))
}

/// `f` translated to SQL in dialect `D`, or the `UnsupportedFilter` error of [`push_down`].
pub(crate) fn translate_or_refuse<D: Dialect>(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    keys: PathKeys<'_>,
    f: &Filter,
) -> Result<SetSql<D::Param>, StorageError> {
    filter::translate::<D>(schema, paths, keys, f).ok_or_else(|| refused_filter(D::NAME, f))
}

/// What a SQL backend pushes down of a query.
#[derive(Debug)]
pub(crate) struct PushDown<P> {
    /// The filter translated to SQL (`None` without a filter).
    pub set: Option<SetSql<P>>,
    /// The sort order (`None`: creation order).
    pub sort: Option<SortPlan>,
    /// The fingerprint the query's cursors are bound to (0 for an offset page).
    pub fingerprint: u64,
}

/// What a SQL backend pushes down of `query`: the filter translated to SQL in dialect `D`,
/// and the fingerprint of the query.
///
/// The planner only hands a backend what [`filter::can_filter_with`] and [`can_sort`] accept;
/// anything else is refused with an `UnsupportedFilter` error, never answered by a scan.
/// The filter is translated only with `translate` (a backend may translate it otherwise,
/// see [`filter::translate_probing`]); it is checked either way.
pub(crate) fn push_down<D: Dialect>(
    schema: &ResourceSchema,
    ctx: &Ctx,
    query: &StorageQuery<'_>,
    translate: bool,
) -> Result<PushDown<D::Param>, StorageError> {
    let sort = match query.sort {
        Some(s) if orders_nothing(schema, s) => None,
        Some(s) => Some(
            sort::plan(schema, &ctx.paths, ctx.keys(), s)
                .ok_or_else(|| unsupported(D::NAME, &format!("sortBy '{}'", s.by)))?,
        ),
        None => None,
    };
    let set = match query.filter {
        Some(f) => {
            if f.compile(schema).is_err() {
                return Err(refused_filter(D::NAME, f));
            }
            if !translate {
                None
            } else {
                Some(translate_or_refuse::<D>(schema, &ctx.paths, ctx.keys(), f)?)
            }
        }
        None => None,
    };
    // Only cursors carry the fingerprint: an offset page issues and reads none, and skips
    // writing the filter out to hash it.
    let fingerprint = match query.page {
        StoragePage::Cursor { .. } => query_fingerprint(ctx, query.filter, sort.as_ref()),
        StoragePage::Offset { .. } => 0,
    };
    Ok(PushDown {
        set,
        fingerprint,
        sort,
    })
}

/// [`crate::storage::Storage::can_sort`] of a SQL backend: the path is indexed (anything
/// but a never-returned attribute, `members` and the computed `groups`).
pub(crate) fn can_sort(schema: &ResourceSchema, sort: &scim_core::sort::SortSpec) -> bool {
    orders_nothing(schema, sort)
        || sort::plan(
            schema,
            &index::indexed_paths(schema),
            PathKeys::new("", ""),
            sort,
        )
        .is_some()
}

/// Whether `sort` is by `meta.resourceType`, which every resource of the type holds alike
/// ([`index::resource_type_path`]): all ties, so the order is the order of ties, creation
/// order (`seq`), in either direction (see [`sort`]): an unsorted query's.
fn orders_nothing(schema: &ResourceSchema, sort: &scim_core::sort::SortSpec) -> bool {
    sort.validate(schema).is_ok() && index::resource_type_path(schema, &sort.by)
}

// ---------------------------------------------------------------------------------------
// Cursors

/// FNV-1a, to bind a cursor to the query that issued it.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The fingerprint of a query (scope, filter and sort) its cursors are bound to.
fn query_fingerprint(ctx: &Ctx, filter: Option<&Filter>, sort: Option<&SortPlan>) -> u64 {
    let mut text = match filter {
        Some(f) => format!("{}\n{}\n{f}", ctx.tenant, ctx.rtype),
        None => format!("{}\n{}\n", ctx.tenant, ctx.rtype),
    };
    if let Some(s) = sort {
        text.push_str(&format!("\n{}\n{}", s.path, s.desc));
    }
    fnv1a(&text)
}

/// An RFC 9865 cursor: "after `seq`", for the query `fingerprint`, tagged with the
/// backend's `tag` (so one backend's cursor is not another's).
pub(crate) fn encode_cursor(tag: &str, seq: i64, fingerprint: u64) -> String {
    scim_core::messages::base64url_encode(format!("{tag}.{seq}.{fingerprint:x}").as_bytes())
}

/// The `seq` of a cursor [`encode_cursor`] issued with `tag` for the query `fingerprint`,
/// or an `InvalidCursor` error.
pub(crate) fn decode_cursor(
    tag: &str,
    cursor: &str,
    fingerprint: u64,
) -> Result<i64, StorageError> {
    let invalid = || {
        StorageError::new(
            StorageErrorKind::InvalidCursor,
            "the cursor was not issued for this query (RFC 9865 invalidCursor)",
        )
    };
    let bytes = scim_core::messages::base64url_decode(cursor).ok_or_else(invalid)?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split('.');
    let (Some(t), Some(seq), Some(fp), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if t != tag {
        return Err(invalid());
    }
    let seq: i64 = seq.parse().map_err(|_| invalid())?;
    let fp = u64::from_str_radix(fp, 16).map_err(|_| invalid())?;
    if fp != fingerprint || seq < 0 {
        return Err(invalid());
    }
    Ok(seq)
}

/// Is `query` a lookup by one value of a unique attribute (`userName eq "x"`, `id eq "x"`:
/// RFC 7643 §2.1 `uniqueness` `server` or `global`, single-valued) without a sort? It then
/// reads at most a handful of rows through one index probe, so a backend may run it as a
/// point read (SQLite runs it on the calling task).
#[cfg(feature = "sqlite")]
pub(crate) fn is_unique_lookup(schema: &ResourceSchema, query: &StorageQuery<'_>) -> bool {
    query.sort.is_none() && query.filter.is_some_and(|f| unique_eq(schema, f).is_some())
}

/// The path and operand of `filter` when it is `eq` one string value of a unique,
/// single-valued attribute (see [`is_unique_lookup`]).
pub(crate) fn unique_eq<'f>(
    schema: &ResourceSchema,
    filter: &'f Filter,
) -> Option<(&'f AttrPath, &'f str)> {
    let Filter::Compare {
        path,
        op: CompareOp::Eq,
        value: CompValue::String(operand),
    } = filter
    else {
        return None;
    };
    let resolved = schema.resolve(path)?;
    (resolved.sub_attribute.is_none()
        && !resolved.attribute.multi_valued
        && resolved.attribute.uniqueness != Uniqueness::None)
        .then_some((path, operand.as_str()))
}

/// A query that is a lookup by a unique value ([`filter::eq_lookup`]) paged by offset,
/// without members to read: the SQL backends answer it with a statement of their own, the
/// matches and their groups at once, instead of the translated filter's.
pub(crate) struct UniqueLookup {
    /// The `attr_index` key and the operand as the index holds it.
    pub found: EqLookup,
    /// The page's offset.
    pub offset: u64,
    /// The page's count.
    pub limit: u64,
    /// Whether the resources' attributes are read (else their versions alone).
    pub attributes: bool,
}

impl UniqueLookup {
    /// `query` as a lookup, or `None` when it takes the general path: another filter, a
    /// sort, a cursor, or members to read.
    pub(crate) fn of(ctx: &Ctx, query: &StorageQuery<'_>) -> Option<UniqueLookup> {
        let StoragePage::Offset { offset, limit } = *query.page else {
            return None;
        };
        if query.sort.is_some() || (query.load.members && ctx.has_members) {
            return None;
        }
        Some(UniqueLookup {
            found: filter::eq_lookup(&ctx.schema, &ctx.paths, query.filter?)?,
            offset,
            limit,
            attributes: query.load.attributes,
        })
    }

    /// The page of the lookup cut from every match (`(seq, resource, groups)`, in any
    /// order; a handful at most): the page's resources in creation order, the number of
    /// matches (`totalResults`) and the groups of the page's resources by id.
    pub(crate) fn page<T>(
        &self,
        mut matched: Vec<(i64, T, Vec<GroupRef>)>,
        id: impl Fn(&T) -> &str,
    ) -> (Vec<T>, u64, HashMap<String, Vec<GroupRef>>) {
        matched.sort_by_key(|(seq, ..)| *seq);
        let total = matched.len() as u64;
        let mut groups = HashMap::new();
        let resources = matched
            .into_iter()
            .skip(usize::try_from(self.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(self.limit).unwrap_or(usize::MAX))
            .map(|(_, resource, of)| {
                groups.insert(id(&resource).to_string(), of);
                resource
            })
            .collect();
        (resources, total, groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bind_to_their_query_and_backend() {
        let c = encode_cursor("sq1", 42, 7);
        assert!(scim_core::messages::is_unreserved(&c));
        assert_eq!(decode_cursor("sq1", &c, 7).unwrap(), 42);
        assert_eq!(
            decode_cursor("sq1", &c, 8).unwrap_err().kind(),
            &StorageErrorKind::InvalidCursor
        );
        assert!(decode_cursor("sq1", "", 7).is_err());
        assert!(decode_cursor("sq1", "%%%", 7).is_err());
        // One backend's cursor is not another's.
        assert!(decode_cursor("pg1", &c, 7).is_err());
        let negative = scim_core::messages::base64url_encode(b"sq1.-1.7");
        assert!(decode_cursor("sq1", &negative, 7).is_err());
    }

    #[test]
    fn members_round_trip_as_json() {
        let m = |v: &str, d: Option<&str>| Member {
            value: v.into(),
            display: d.map(str::to_string),
            kind: None,
        };
        let members = dedupe(vec![m("a", Some("A")), m("b", None), m("a", None)]);
        assert_eq!(members.len(), 2);
        assert_eq!(
            members_value(&members),
            serde_json::json!([{"value": "a", "display": "A"}, {"value": "b"}])
        );
        let r = with_members(Resource::new(), &[]);
        assert!(r.as_map().is_empty());
    }
}
