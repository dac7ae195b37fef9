//! The in-memory indexes: which attributes are indexed, the probes a filter becomes, and
//! how a shard answers them.

use std::sync::LazyLock;

use super::*;
use crate::storage::per_schema::PerSchema;

/// An attribute the backend indexes.
#[derive(Debug, Clone)]
pub(super) struct IndexSpec {
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

impl IndexSpec {
    /// Is this the index of `attribute` (as the schema spells it), or of its sub-attribute
    /// `sub`: is the key `attribute` or `attribute.sub`?
    fn is_key_of(&self, attribute: &str, sub: Option<&str>) -> bool {
        match sub {
            None => self.key == attribute,
            Some(sub) => {
                self.key
                    .strip_prefix(attribute)
                    .and_then(|k| k.strip_prefix('.'))
                    == Some(sub)
            }
        }
    }
}

/// The key of the index of the core attribute `attribute` (as the schema spells it) that
/// orders its values: an index of the attribute's values (not the store's ids) that
/// answers more than `eq`.
pub(super) fn ordered_index_of(schema: &ResourceSchema, attribute: &str) -> Option<String> {
    index_specs(schema)
        .iter()
        .find(|s| s.is_key_of(attribute, None) && s.path.is_some() && !s.eq_only)
        .map(|s| s.key.clone())
}

/// Is `value` of `keys` (one resource's index keys) a string, and the resource's only value
/// in the index of `path`?
fn sole_string(keys: &[(String, IndexValue)], path: &str, value: &IndexValue) -> bool {
    matches!(value, IndexValue::Str(_)) && keys.iter().filter(|(p, _)| p == path).count() == 1
}

/// Does the (normalised) `value` hold the operand of a `co` (or, for `ew`, end with it)?
pub(super) fn holds_substring(op: CompareOp, value: &str, operand: &str) -> bool {
    if op == CompareOp::Ew {
        value.ends_with(operand)
    } else {
        value.contains(operand)
    }
}

/// The index key of the primitive elements of the complex attribute `attribute` (as the
/// schema spells it): `emails[]`.
pub(super) fn element_key_of(attribute: &str) -> String {
    format!("{attribute}[]")
}

/// Only string-like attributes are indexed: their filters compare the (folded) text, which
/// the index orders the same way. Binary (always compared exactly, never ordered), dateTime
/// (compared chronologically), numbers and booleans are left to the planner.
pub(super) fn indexable(t: AttributeType) -> bool {
    matches!(t, AttributeType::String | AttributeType::Reference)
}

pub(super) fn spec_of(
    key: String,
    path: Option<AttrPath>,
    a: &scim_core::schema::Attribute,
) -> IndexSpec {
    IndexSpec {
        key,
        path,
        case_exact: a.case_exact,
        eq_only: a.returned == Returned::Never || a.mutability == Mutability::WriteOnly,
        element_key: None,
    }
}

/// The index specs of every resource type this process has seen (derived once per schema:
/// every create and every filter needs them).
static SPECS: LazyLock<PerSchema<Arc<Vec<IndexSpec>>>> = LazyLock::new(PerSchema::default);

/// The indexed attributes of a resource type: `id`, the unique ones, `emails.value` and
/// `emails.type`.
pub(super) fn index_specs(schema: &ResourceSchema) -> Arc<Vec<IndexSpec>> {
    SPECS.get(schema, |s| Arc::new(derive_index_specs(s)))
}

fn derive_index_specs(schema: &ResourceSchema) -> Vec<IndexSpec> {
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
pub(super) enum Probe {
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
pub(super) fn probe_of(schema: &ResourceSchema, filter: &Filter) -> Option<Probe> {
    let specs = index_specs(schema);
    let find = |path: &AttrPath| -> Option<&IndexSpec> {
        let r = schema.resolve(path)?;
        if r.in_extension {
            return None;
        }
        let sub = r.sub_attribute.map(|s| s.name.as_str());
        specs.iter().find(|s| s.is_key_of(&r.attribute.name, sub))
    };
    match filter {
        Filter::Present(path) => Some(Probe::Present {
            key: find(path)?.key.clone(),
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
                key: spec.key.clone(),
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
pub(super) fn index_norm(value: &str, case_exact: bool) -> String {
    crate::storage::unique::normalise(value, case_exact)
}

/// The computed attributes (RFC 7643 §4.1.2 `groups` of a User) and the members kept apart
/// from the resource (§4.2 `members` of a Group) that `filter` names: such a filter is
/// evaluated over the resource as the server returns it, with them.
pub(super) fn mentions_computed(filter: &Filter) -> bool {
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

pub(super) fn supported(schema: &ResourceSchema, filter: &Filter) -> bool {
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
pub(super) fn value_path_parent(schema: &ResourceSchema, path: &AttrPath) -> Option<String> {
    if path.sub_attr.is_some() || schema.extension_for_path(path).is_some() {
        return None;
    }
    let r = schema.resolve(path)?;
    (!r.in_extension && r.sub_attribute.is_none() && r.attribute.is_complex())
        .then(|| r.attribute.name.clone())
}

/// Is the value filter (inside the brackets) over `parent` an `and` / `or` of leaves with
/// [`element_probes`]?
pub(super) fn element_supported(schema: &ResourceSchema, parent: &str, filter: &Filter) -> bool {
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
pub(super) fn element_probes(
    schema: &ResourceSchema,
    parent: &str,
    filter: &Filter,
) -> Option<Vec<Probe>> {
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
    pub(super) fn key(&self) -> &String {
        match self {
            Probe::Compare { key, .. } | Probe::Present { key } => key,
        }
    }

    /// The same probe on another index.
    pub(super) fn with_key(&self, key: String) -> Probe {
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
pub(super) type Hits<'s> = HashMap<&'s str, &'s Entry, FxBuildHasher>;

/// Does a supported filter walk every key of an index (a `co` / `ew` leaf below it), rather
/// than only a range of keys ("cheap": `eq`, `sw`, `gt`, `ge`, `lt`, `le`, `pr`, and `and` /
/// `or` / value paths of those)?
pub(super) fn scans(filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => scans(a) || scans(b),
        Filter::ValuePath { filter, .. } | Filter::Not(filter) => scans(filter),
        Filter::Compare { op, .. } => matches!(op, CompareOp::Co | CompareOp::Ew),
        Filter::Present(_) => false,
    }
}

/// The conjuncts of nested `and`s, left to right.
pub(super) fn conjuncts<'f>(filter: &'f Filter, out: &mut Vec<&'f Filter>) {
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
pub(super) fn is_non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_non_empty),
        Value::Object(members) => members.values().any(is_non_empty),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

pub(super) fn poisoned<T>(_: PoisonError<T>) -> StorageError {
    StorageError::backend("a lock of the in-memory store was poisoned by a panic")
}

pub(super) fn strip_members(resource: &mut Resource) {
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

pub(super) fn member_json(m: &Member) -> Value {
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
    pub(super) fn stored(&self, id: &str, load: Load) -> StoredResource {
        if !load.attributes {
            return StoredResource {
                id: id.to_string(),
                version: self.version,
                resource: Resource::new(),
            };
        }
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
pub(super) fn index_keys(
    schema: &ResourceSchema,
    id: &str,
    resource: &Resource,
) -> Vec<(String, IndexValue)> {
    let mut keys = Vec::new();
    let mut push = |k: (String, IndexValue)| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    for spec in index_specs(schema).iter() {
        let Some(path) = &spec.path else {
            push((
                spec.key.clone(),
                IndexValue::Str(index_norm(id, spec.case_exact)),
            ));
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
    /// Puts the index `keys` of resource `id` (created `seq`th) in the indexes.
    pub(super) fn add_index(&mut self, id: &Id, seq: u64, keys: &[(String, IndexValue)]) {
        for (path, value) in keys {
            // The column and the value usually exist already: look them up before cloning a
            // key to insert.
            let column = match self.index.get_mut(path) {
                Some(column) => column,
                None => self.index.entry(path.clone()).or_default(),
            };
            if sole_string(keys, path, value) {
                column.sole_strings += 1;
            }
            match value {
                IndexValue::Str(v) => {
                    if let Some(grams) = column
                        .grams
                        .get_mut()
                        .unwrap_or_else(PoisonError::into_inner)
                    {
                        grams.add(seq, v.as_bytes());
                    }
                    let id = Id::clone(id);
                    match column.by_value.get_mut(v) {
                        Some(ids) => {
                            ids.insert(id);
                        }
                        None => {
                            column.by_value.insert(v.clone(), IdSet::One(id));
                        }
                    }
                }
                IndexValue::NonString => {
                    column.non_string.insert(Id::clone(id));
                }
            }
        }
    }

    pub(super) fn remove_index(&mut self, id: &str, keys: &[(String, IndexValue)]) {
        for (path, value) in keys {
            let Some(column) = self.index.get_mut(path) else {
                continue;
            };
            if sole_string(keys, path, value) {
                column.sole_strings = column.sole_strings.saturating_sub(1);
            }
            match value {
                IndexValue::Str(v) => {
                    if let Some(ids) = column.by_value.get_mut(v)
                        && ids.remove(id)
                    {
                        column.by_value.remove(v);
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
    pub(super) fn eval<'s>(&'s self, schema: &ResourceSchema, filter: &Filter) -> Option<Hits<'s>> {
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
    pub(super) fn matching<'s>(
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
    pub(super) fn intersect<'s>(
        &'s self,
        schema: &ResourceSchema,
        parts: &[&Filter],
    ) -> Option<Hits<'s>> {
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
    pub(super) fn retain_matching<'s>(
        &'s self,
        mut candidates: Hits<'s>,
        checks: &[CompiledFilter],
    ) -> Hits<'s> {
        candidates.retain(|_, e| checks.iter().all(|c| c.matches(&e.resource)));
        candidates
    }

    /// A superset of the ids with an element of `parent` satisfying the value filter
    /// `filter` (see [`element_probes`]). The caller checks the value path on each, so an
    /// `and` of a cheap and a scanning side gives the ids of one side alone
    /// ([`Shard::narrower`]).
    pub(super) fn eval_element<'s>(
        &'s self,
        schema: &ResourceSchema,
        parent: &str,
        filter: &Filter,
    ) -> Option<Hits<'s>> {
        match filter {
            Filter::And(a, b) => match (scans(a), scans(b)) {
                (false, true) => self.narrower(schema, parent, a, b),
                (true, false) => self.narrower(schema, parent, b, a),
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

    /// The candidates of `cheap and scanning` inside the value path on `parent`: those of one
    /// side alone (the value path is checked on each candidate afterwards), the fewer. The
    /// scan's are computed (one walk over the keys of its index, no resource read); the
    /// cheap side's only when the index tells that they are fewer (an `eq` is one key's
    /// set): `emails[type eq "work" and value co "x"]` takes the few resources with an
    /// address containing "x", not every resource with a work address.
    fn narrower<'s>(
        &'s self,
        schema: &ResourceSchema,
        parent: &str,
        cheap: &Filter,
        scanning: &Filter,
    ) -> Option<Hits<'s>> {
        let Some(scanned) = self.eval_element(schema, parent, scanning) else {
            return self.eval_element(schema, parent, cheap);
        };
        let known = element_probes(schema, parent, cheap).and_then(|p| self.size(&p));
        match known {
            Some(n) if n < scanned.len() => self.eval_element(schema, parent, cheap),
            _ => Some(scanned),
        }
    }

    /// How many ids `probes` select at most, when the index tells without walking it (each
    /// an `eq`: its key's set).
    fn size(&self, probes: &[Probe]) -> Option<usize> {
        probes.iter().try_fold(0usize, |n, p| match p {
            Probe::Compare {
                key,
                op: CompareOp::Eq,
                operand,
            } => Some(
                n.saturating_add(
                    self.index
                        .get(key.as_str())
                        .and_then(|c| c.by_value.get(operand.as_str()))
                        .map_or(0, IdSet::len),
                ),
            ),
            _ => None,
        })
    }

    /// The resources of `ids` (as [`Hits`]).
    pub(super) fn hits<'s>(&'s self, ids: &mut dyn Iterator<Item = &'s Id>) -> Hits<'s> {
        let mut hits = Hits::with_capacity_and_hasher(ids.size_hint().0, Default::default());
        hits.extend(
            ids.filter_map(|id| self.resources.get_key_value(&**id))
                .map(|(id, e)| (&**id, &**e)),
        );
        hits
    }

    /// The ids an index probe selects, read from the index alone.
    pub(super) fn probe<'s>(&'s self, probe: &Probe) -> Hits<'s> {
        let Some(column) = self.index.get(probe.key()) else {
            return Hits::default();
        };
        let collect = |entries: &mut dyn Iterator<Item = (&'s String, &'s IdSet)>| {
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
                    // From the 4-gram lists, else every key of the index: the folded value
                    // contains / ends with the folded operand exactly when the evaluator's
                    // `co` / `ew` holds.
                    CompareOp::Co | CompareOp::Ew => {
                        match self.substring_hits(probe.key(), column, *op, o) {
                            Some(hits) => hits,
                            None => collect(
                                &mut column
                                    .by_value
                                    .iter()
                                    .filter(|(k, _)| holds_substring(*op, k, o)),
                            ),
                        }
                    }
                    // Never built by `probe_of`.
                    CompareOp::Ne => Hits::default(),
                }
            }
        }
    }
}
