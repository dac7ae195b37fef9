//! The translation of filters over the indexed paths ([`super::index`]) into SQL over
//! `attr_index`, shared by the SQL backends; a [`Dialect`] renders what differs between
//! them (placeholders, parameter types, set operations, the "present" condition, substring
//! tests).
//!
//! A filter is pushed down only when the SQL gives exactly the answer of scim-core's
//! evaluator (`Filter::compile` + `CompiledFilter::matches`, with the one case folding of
//! `scim_core::casefold`). Supported, on every indexed path (every attribute, see
//! [`super::index`]), typed: `eq`, `ne`, `sw`, `gt`, `ge`, `lt`, `le`, `co` and `ew` (the
//! last two with a non-empty operand) on strings, `eq` / `ne` on booleans, the ordering
//! operators on numbers (`value_num`) and dateTimes (instants); `pr` (also on a complex
//! attribute); `eq null` / `ne null`; `not`, `and` / `or`; value paths (RFC 7644 §3.4.2.2
//! "valuePath") with `and` / `or` of comparisons inside the brackets; the implicit `value`
//! of a multi-valued attribute (`emails co "x"`); and the membership lookups
//! `members[value eq "<id>"]`, `members.value eq`, `groups.value eq`, `groups[value eq]`
//! (through the `members` table); comparisons on `id` as conditions on the column `id` of
//! `resources` (its unique key `(tenant, rtype, id)` serves `eq`, `sw` and the ranges);
//! comparisons on `meta.resourceType`, the resource type's
//! name for all its resources (RFC 7643 §3.1), decided once by the evaluator and folded
//! into the `and` / `or` / `not` around them. `ne` matches a value that is not equal or no
//! value at all (the evaluator's reading), `not` is the scope minus the inner set. Left to the
//! planner: `co` / `ew` with an empty operand, `not` / `ne` / `null` inside brackets, and
//! paths that are not indexed (never returned, other `groups` / `members` comparisons, a
//! whole extension). Both dialects accept exactly the same filters: the walk below is the
//! only place that decides.
//!
//! # Exactness
//! - Values are compared as UTF-8 bytes (SQLite's BINARY collation on `TEXT`, PostgreSQL's
//!   `BYTEA`); UTF-8 byte order is code-point order, the order the evaluator uses for
//!   strings, so ranges are exact.
//! - `value_norm` and the operand are folded alike (`char::to_lowercase` char by char, the
//!   evaluator's mapping, unless the attribute is caseExact); the evaluator's `co` / `ew` on
//!   a caseExact=false attribute test the folded value against the folded operand
//!   (`lowercase(value).contains(operand)`; `ew` compares the folded chars from the end), so
//!   a byte-exact substring / suffix test on `value_norm` gives its answer. A UTF-8 needle
//!   found in UTF-8 text always starts on a char boundary, so bytes and chars agree.
//! - Outside brackets, a path matches if ANY value matches (RFC 7644 §3.4.2.2): each leaf
//!   yields the `seq`s with a matching row. Inside brackets, each leaf yields `(seq, elem)`
//!   pairs, `and` / `or` intersect / unite pairs, so both sides of an `and` hold for the SAME
//!   element, and the value path selects the distinct `seq`s. A leaf on `value` also reads
//!   the rows of primitive elements (see [`super::index`]).
//!
//! # Cost
//! `eq`, `sw`, `gt`, `ge`, `lt`, `le` and `pr` are range scans of the covering index
//! `attr_index_lookup (path_key, value_norm, seq, elem, ...)` ("cheap"). `co` and
//! `ew` cannot use the order of `value_norm`: on their own they read EVERY index row of
//! that path in the tenant and resource type (one per email, say), through the covering
//! index and never the `resources` table, and test each row: linear in the number of
//! values of that path ("scanning"). A node is scanning when any leaf below it is. A
//! backend with a substring index translates with [`translate_probing`] instead: such a
//! leaf then reads only the rows of the candidates the index gives, and drives its `and`.
//!
//! An `and` (nested `and`s flattened into one list of conjuncts) with both cheap and
//! scanning conjuncts, whose cheap conjuncts narrow the candidates (an `eq` or `sw` on an
//! attribute without `canonicalValues`, see `Node::narrows`), is driven from the cheap
//! ones: their intersection gives the candidates, and each scanning conjunct is checked per
//! candidate by a correlated condition (`SELECT seq FROM (<cheap>) AS c WHERE EXISTS
//! (SELECT 1 FROM attr_index WHERE seq = c.seq AND path_key = ... AND <co test>)`), a
//! search of the rows of that one resource by `(seq, path_key, elem)` (PostgreSQL's index
//! `attr_index_seq`, SQLite's primary key). So `userName eq "x" and emails[type eq "work"
//! and value co "y"]` costs one range scan plus the index rows of the resources it finds,
//! whatever the number of emails in the tenant. A value path in correlated form walks the
//! candidate's rows under its keys and checks the value filter on each such element (the
//! SAME element for every leaf).
//! Inside brackets the same rule applies to `(seq, elem)` candidates.
//!
//! When no cheap conjunct narrows (`pr`, open ranges, a canonical value:
//! `emails[type eq "work" and value co "y"]`, where most elements are "work"), the scanning
//! conjuncts drive instead: one pass over the rows of their paths gives the candidates (a
//! substring is rarer than a canonical value), and the cheap conjuncts are checked per
//! candidate. That reads the rows of the scanned path once plus one probe per match,
//! instead of every row of both paths and their intersection (measured on SQLite, 11
//! matches among 1,000 users: 240 µs of the server's CPU per request against 500). A substring that most values contain costs one
//! probe per row of its path, more than the intersection did (one probe per candidate was
//! measured 2.5 times slower than one pass over both paths): linear in the rows of the
//! paths either way. Conjuncts that are all cheap or all scanning are intersected, and
//! `or` unites its sides (an `or` with a scanning side scans, unless it is itself checked
//! per candidate under a driven `and`). Set operations cost what their inputs return:
//! `emails[type eq "work" and display eq "x"]` reads every `work` email row of the tenant.

use scim_core::AttrPath;
use scim_core::Filter;
use scim_core::filter::{CompValue, CompareOp};
use scim_core::resource::bool_from_str;
use scim_core::schema::ResourceSchema;

use super::index::{
    IndexedPath, Kind, datetime_norm, id_path, key_of, normalise, resource_type_path,
};
use super::path_key::PathKeys;
use scim_core::resource::datetime_from_str;

mod render;

use self::render::{Node, set};

/// What differs between the SQL dialects in a translated filter. Every translated SELECT
/// has the tenant as parameter 1 and the resource type as parameter 2; the filter's own
/// parameters follow from 3 on.
pub(crate) trait Dialect {
    /// The database's name, for error messages ("the SQLite backend cannot evaluate ...").
    const NAME: &'static str;
    /// A bound parameter of a translated filter.
    type Param;
    /// The placeholder of the 1-based parameter `n` (`?n`, `$n`).
    fn placeholder(n: usize) -> String;
    /// A text compared exactly (an `id`, a member's id) as a parameter.
    fn key(key: String) -> Self::Param;
    /// The key of an indexed path (`attr_index.path_key`, see [`PathKeys`]) as a parameter.
    fn path_key(key: i64) -> Self::Param;
    /// A normalised value (`attr_index.value_norm`) as a parameter.
    fn value(value: String) -> Self::Param;
    /// A number (`attr_index.value_num`) as a parameter.
    fn num(value: f64) -> Self::Param;
    /// The rows (of the columns `cols`: `seq`, or `seq, elem` inside a value path) in every
    /// set of `parts` (`and`), as ONE compound statement (not nested: a filter of 100
    /// clauses stays within the databases' nesting limits).
    fn intersect(cols: &str, parts: &[String]) -> String;
    /// The rows (of the columns `cols`) in any set of `parts` (`or`), as one compound
    /// statement.
    fn union(cols: &str, parts: &[String]) -> String;
    /// The rows (of the columns `cols`) in `a` but not in `b` (`not`, `ne`).
    fn except(cols: &str, a: &str, b: &str) -> String;
    /// The condition on `value_norm` of a row that makes the attribute present
    /// (RFC 7644 §3.4.2.2 `pr`): a present non-string value (NULL) or a non-empty string.
    const PRESENT: &'static str;
    /// Whether the scanning conjuncts of an `and` drive when no cheap one narrows (see
    /// [`set`]). SQLite runs the correlated checks as written: one probe per candidate of
    /// the scan. PostgreSQL turns them into a semi-join planned from its estimate of the
    /// scan's matches (a third of the rows for a substring), and then hashes every row of
    /// the checked path (measured with `EXPLAIN ANALYZE`: 54 to 63 ms for 11 matches among
    /// 16,000 users, where the intersection of the two passes took 18 to 26): it
    /// intersects instead.
    const SCANS_DRIVE: bool;
    /// The condition "`value_norm` contains the (non-empty) value bound at the placeholder
    /// `p`", comparing bytes exactly (`co`).
    fn contains(p: &str) -> String;
    /// The condition "`value_norm` ends with the (non-empty) value bound at the placeholder
    /// `p`", comparing bytes exactly (`ew`).
    fn ends_with(p: &str) -> String;
    /// The condition "the column `id` of `resources` contains the (non-empty) key bound at
    /// the placeholder `p`" (see [`Dialect::key`]), comparing exactly.
    fn id_contains(p: &str) -> String;
    /// The condition "the column `id` ends with the (non-empty) key bound at `p`".
    fn id_ends_with(p: &str) -> String;
    /// The candidate `seq`s of a [`translate_probing`] leaf, bound as one array at the
    /// placeholder `p`, as a FROM item named `alias` with one column, `value`.
    fn candidates(p: &str, alias: &str) -> String;
    /// The join by which a leaf's candidates ([`Dialect::candidates`], on the left) drive
    /// the search of their rows in `attr_index` (`ON a.seq = g.value`).
    const CANDIDATES_JOIN: &'static str;
    /// `attr_index` (named `alias`) as the FROM item of a condition checked per candidate
    /// (see `render::check`), whose rows are those of one `seq`: SQLite's names the
    /// table's own key (`INDEXED BY`), which holds them together; its planner chose the
    /// lookup index when the value was given too, one entry either way, but each
    /// comparison of that descent passes the path key and the value before the `seq`.
    fn checked_rows(alias: Option<&str>) -> String;
    /// What ends the subquery of a condition checked per candidate (see `render::check`) so
    /// that it stays a search of the candidate's rows, run per candidate, whatever the
    /// planner estimates: PostgreSQL's `OFFSET 0`, which keeps it from turning the
    /// `EXISTS` into a join. Without it, a generic plan (a prepared statement's, which
    /// knows no parameter) joined the candidates with every index entry of
    /// `emails.type = "work"`: 500,000 entries read for 11 candidates at 1,000,000 users.
    /// Empty where the dialect runs a correlated `EXISTS` per row anyway (SQLite).
    const PER_CANDIDATE: &'static str;
    /// The resources as `attr_index` rows of the path `id` (a FROM item with the columns
    /// `tenant`, `rtype`, `path_key` ([`ID_KEY`](super::path_key::ID_KEY)), `seq`,
    /// `value_norm` (the `id` as the index would hold it), `value_num` and `skey` (NULL)),
    /// which a sort by `id` reads its keys from.
    fn id_rows() -> &'static str;
}

/// A filter translated to SQL: `sql` is a SELECT yielding the `seq`s of matching resources
/// of the scope; parameter 1 is the tenant and 2 the resource type; `params` bind 3, 4, ...
/// in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SetSql<P> {
    /// The SELECT statement.
    pub sql: String,
    /// The parameters from 3 on.
    pub params: Vec<P>,
    /// `sql` is one range scan of `attr_index` (a single comparison or `pr`, not `co` /
    /// `ew`): reading it twice (to count, and for a page, which an equality delivers in
    /// `seq` order) costs less than materialising it once.
    pub one_scan: bool,
    /// `sql` yields each `seq` at most once (a comparison or `pr` on one single-valued,
    /// non-complex attribute has at most one `attr_index` row per resource), so its `seq`s
    /// need no `DISTINCT`: counting 50,000 matches then reads the index and nothing else.
    pub distinct: bool,
    /// How many of `params` take the candidates of a [`translate_probing`] leaf (the
    /// backend's, not the filter's: the same filter has the same statement whatever its
    /// candidates).
    pub candidate_params: usize,
}

impl<P> SetSql<P> {
    /// The parameters that come from the filter itself (its operands and path keys), not
    /// from a substring index's candidates: what a backend's statement cache counts.
    // Only PostgreSQL's statement cache counts parameters (rusqlite's is an LRU).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn filter_params(&self) -> usize {
        self.params.len() - self.candidate_params
    }
}

/// The smallest string greater than every string that starts with `prefix`, or `None` when
/// there is none (an empty prefix, or one made only of `char::MAX`).
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Translates `filter` to SQL over `attr_index` (and `members` for the membership), or
/// `None` when it cannot be evaluated exactly there.
pub(crate) fn translate<D: Dialect>(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    keys_of: PathKeys<'_>,
    filter: &Filter,
) -> Option<SetSql<D::Param>> {
    let (root, params) = walk::<D>(schema, paths, keys_of, filter, &mut None)?;
    Some(finish::<D>(&root, params))
}

/// The translated tree of `filter` and its parameters (the one walk behind [`translate`],
/// [`translate_probing`] and [`can_filter_with`]). `probing` collects a
/// [`translate_probing`] walk's probes; `None` for a plain translation.
fn walk<D: Dialect>(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    keys_of: PathKeys<'_>,
    filter: &Filter,
    probing: &mut Option<Vec<Probe>>,
) -> Option<(Node, Vec<D::Param>)> {
    let mut params = Vec::new();
    let root = node::<D>(
        schema,
        paths,
        keys_of,
        filter,
        Level::Resource,
        &mut params,
        probing,
    )?;
    Some((root, params))
}

fn finish<D: Dialect>(root: &Node, params: Vec<D::Param>) -> SetSql<D::Param> {
    SetSql {
        sql: set::<D>(root, Level::Resource),
        params,
        one_scan: matches!(
            root,
            Node::Leaf {
                scans: false,
                given: None,
                ..
            }
        ),
        distinct: matches!(
            root,
            Node::Leaf { single: true, .. } | Node::Const(_) | Node::Id { .. }
        ),
        candidate_params: 0,
    }
}

/// One path key of a `co` / `ew` leaf of a [`translate_probing`] translation, whose
/// candidates the backend supplies from a substring index before it runs the statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Probe {
    /// The indexed path ([`IndexedPath::key`]; its rows' `path_key` is its
    /// [`PathKeys::of`]).
    pub key: String,
    /// `co` or `ew`.
    pub op: CompareOp,
    /// The operand, normalised as the path's `value_norm` is (never empty).
    pub operand: String,
    /// The index in [`SetSql::params`] of the parameter that receives the candidates.
    pub param: usize,
}

/// [`translate`], with every `co` / `ew` leaf on a string path (non-empty operand) read
/// from tables of candidate `seq`s, one per path key the leaf reads, instead of from every
/// index row of its path: the leaf becomes a search of each candidate's rows under that key
/// plus its own condition, so the SQL stays exact whenever the candidates include every
/// resource with a matching row (a superset is fine). An `and` with such a leaf is driven
/// from it and checks its other conjuncts per candidate.
///
/// The candidates of each [`Probe`] are bound at its parameter (an empty value here) as one
/// array, which [`Dialect::candidates`] reads as a table; the caller fills it. Without such
/// a leaf the probes are empty and the SQL is [`translate`]'s. `None` when the filter does
/// not translate.
pub(crate) fn translate_probing<D: Dialect>(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    keys_of: PathKeys<'_>,
    filter: &Filter,
) -> Option<(SetSql<D::Param>, Vec<Probe>)> {
    let mut probing = Some(Vec::new());
    let (root, params) = walk::<D>(schema, paths, keys_of, filter, &mut probing)?;
    let probes = probing.unwrap_or_default();
    let mut set = finish::<D>(&root, params);
    set.candidate_params = probes.len();
    Some((set, probes))
}

/// A lookup by one string value of a unique attribute (`userName eq "x"`: see
/// [`super::unique_eq`]) as the one range scan [`translate`] gives it, `value_norm =` the
/// operand on one `attr_index` path, without the SQL text: the backends run it with a
/// statement of their own (see `eq_lookup_is_the_translated_leaf` in the tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EqLookup {
    /// The indexed path ([`IndexedPath::key`]; its rows' `path_key` is its
    /// [`PathKeys::of`]).
    pub key: String,
    /// The operand, normalised as the path's `value_norm` is.
    pub value: String,
}

/// `filter` as an [`EqLookup`], or `None` when it is not a lookup by one string value of a
/// unique, single-valued attribute indexed in `paths`. Such a filter compiles and
/// translates ([`can_filter_with`] holds), so a backend may accept it without either.
pub(crate) fn eq_lookup(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    filter: &Filter,
) -> Option<EqLookup> {
    let (path, operand) = super::unique_eq(schema, filter)?;
    let ip = lookup(schema, paths, path)?;
    let Kind::Str { case_exact } = ip.kind else {
        return None;
    };
    if ip.multi_valued {
        return None;
    }
    Some(EqLookup {
        key: ip.key.clone(),
        value: normalise(operand, case_exact),
    })
}

/// [`crate::storage::Storage::can_filter`] of a SQL backend: the filter compiles (one that
/// does not is left to the planner, which reports the error) and translates, given the
/// resource type's indexed paths (cached per type by `KnownLayouts::paths`).
pub(crate) fn can_filter_with<D: Dialect>(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    filter: &Filter,
) -> bool {
    eq_lookup(schema, paths, filter).is_some()
        || (filter.compile(schema).is_ok()
            && walk::<D>(schema, paths, PathKeys::new("", ""), filter, &mut None).is_some())
}

fn lookup<'p>(
    schema: &ResourceSchema,
    paths: &'p [IndexedPath],
    path: &AttrPath,
) -> Option<&'p IndexedPath> {
    let (key, _) = key_of(schema, path)?;
    paths.iter().find(|p| p.key == key)
}

fn bind<D: Dialect>(params: &mut Vec<D::Param>, value: D::Param) -> String {
    params.push(value);
    D::placeholder(params.len() + 2)
}

/// Where a filter node is: at the top of the resource, or inside the brackets of a value
/// path over the attribute named (as the schema spells it).
#[derive(Clone, Copy)]
enum Level<'a> {
    Resource,
    Element(&'a str),
}

impl Level<'_> {
    /// The columns a node at this level selects.
    fn cols(self) -> &'static str {
        match self {
            Level::Resource => "seq",
            Level::Element(_) => "seq, elem",
        }
    }
}

/// The indexed paths ([`IndexedPath::key`]) a leaf on `path` at `level` reads, and the
/// indexed path, or `None` when `path` is not indexed there. At the resource level, a
/// multi-valued complex attribute named without a sub-attribute (`emails co "x"`) stands
/// for each element's `value` (RFC 7644 §3.4.2.2, as the evaluator reads it); `implicit`
/// allows that.
fn leaf_keys<'p>(
    schema: &ResourceSchema,
    paths: &'p [IndexedPath],
    path: &AttrPath,
    level: Level<'_>,
    implicit: bool,
) -> Option<(Vec<String>, &'p IndexedPath)> {
    match level {
        Level::Resource => {
            if let Some(ip) = lookup(schema, paths, path) {
                return Some((vec![ip.key.clone()], ip));
            }
            let r = schema.resolve(path)?;
            if !implicit
                || r.sub_attribute.is_some()
                || !r.attribute.is_complex()
                || !r.attribute.multi_valued
            {
                return None;
            }
            let mut value = AttrPath::with_sub(r.attribute.name.clone(), "value");
            if r.in_extension {
                value.uri = Some(r.schema_urn.to_string());
            }
            let ip = lookup(schema, paths, &value)?;
            let mut keys = vec![ip.key.clone()];
            keys.extend(ip.element_key.clone());
            Some((keys, ip))
        }
        Level::Element(parent) => {
            // A value filter names sub-attributes of its attribute: nothing else compiles.
            if path.uri.is_some() || path.sub_attr.is_some() {
                return None;
            }
            let ip = lookup(
                schema,
                paths,
                &AttrPath::with_sub(parent.to_string(), path.name.clone()),
            )?;
            let mut keys = vec![ip.key.clone()];
            keys.extend(ip.element_key.clone());
            Some((keys, ip))
        }
    }
}

/// The condition on a row's value for `op value` on a path of `kind`, with its parameters
/// bound, and whether it narrows (see [`Node::narrows`]); `None` when the operand does not
/// fit (the evaluator would refuse the filter) or the case is left to the planner.
fn condition<D: Dialect>(
    kind: Kind,
    op: CompareOp,
    value: &CompValue,
    params: &mut Vec<D::Param>,
) -> Option<(String, bool)> {
    let text = |params: &mut Vec<D::Param>, v: String| bind::<D>(params, D::value(v));
    let ordered = |col: &str, p: String| match op {
        CompareOp::Eq => Some(format!("{col} = {p}")),
        CompareOp::Ne => Some(format!("({col} IS NULL OR {col} <> {p})")),
        CompareOp::Gt => Some(format!("{col} > {p}")),
        CompareOp::Ge => Some(format!("{col} >= {p}")),
        CompareOp::Lt => Some(format!("{col} < {p}")),
        CompareOp::Le => Some(format!("{col} <= {p}")),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => None,
    };
    match (kind, value) {
        (Kind::Str { case_exact }, CompValue::String(s)) => {
            let operand = normalise(s, case_exact);
            let empty = operand.is_empty();
            let cond = match op {
                CompareOp::Sw => {
                    let upper = prefix_upper_bound(&operand);
                    let lo = text(params, operand);
                    match upper {
                        Some(hi) => {
                            format!("value_norm >= {lo} AND value_norm < {}", text(params, hi))
                        }
                        None => format!("value_norm >= {lo}"),
                    }
                }
                // An empty operand is left to the planner (every string would match).
                CompareOp::Co if !empty => D::contains(&text(params, operand)),
                CompareOp::Ew if !empty => D::ends_with(&text(params, operand)),
                CompareOp::Co | CompareOp::Ew => return None,
                _ => ordered("value_norm", text(params, operand))?,
            };
            let narrows = op == CompareOp::Eq || (op == CompareOp::Sw && !empty);
            Some((cond, narrows))
        }
        (Kind::Bool, CompValue::Bool(_) | CompValue::String(_)) => {
            let b = match value {
                CompValue::Bool(b) => *b,
                CompValue::String(s) => bool_from_str(s)?,
                _ => return None,
            };
            if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                return None;
            }
            Some((ordered("value_norm", text(params, b.to_string()))?, false))
        }
        (Kind::Num, CompValue::Number(n)) => {
            let p = bind::<D>(params, D::num(n.as_f64()?));
            Some((ordered("value_num", p)?, op == CompareOp::Eq))
        }
        (Kind::DateTime, CompValue::String(s)) => {
            let operand = datetime_norm(&datetime_from_str(s)?);
            let cond = ordered("value_norm", text(params, operand))?;
            // An empty string (`''`, not a dateTime) is below every instant: only `ne`
            // holds for it.
            let cond = match op {
                CompareOp::Lt | CompareOp::Le => format!("{cond} AND {}", D::PRESENT),
                _ => cond,
            };
            Some((cond, op == CompareOp::Eq))
        }
        _ => None,
    }
}

/// The membership lookups answered from the `members` table (RFC 7643 §4.2 `members`,
/// §4.1.2 the computed `groups`): `members.value eq "<id>"` / `members[value eq "<id>"]` on
/// a resource type with members, and `groups.value eq "<id>"` / `groups[value eq "<id>"]`
/// on one with the computed `groups`. The id is the `id` of a resource, which RFC 7643
/// §3.1 makes caseExact, so it is compared exactly.
fn membership<D: Dialect>(
    schema: &ResourceSchema,
    filter: &Filter,
    params: &mut Vec<D::Param>,
) -> Option<Node> {
    let (attr, id) = match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(id),
        } if path
            .sub_attr
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("value")) =>
        {
            (path, id)
        }
        Filter::ValuePath { path, filter } if path.sub_attr.is_none() => match &**filter {
            Filter::Compare {
                path: inner,
                op: CompareOp::Eq,
                value: CompValue::String(id),
            } if inner.uri.is_none()
                && inner.sub_attr.is_none()
                && inner.name.eq_ignore_ascii_case("value") =>
            {
                (path, id)
            }
            _ => return None,
        },
        _ => return None,
    };
    let r = schema.resolve(&AttrPath::new(attr.name.clone()))?;
    if r.in_extension
        || attr
            .uri
            .as_deref()
            .is_some_and(|u| !u.eq_ignore_ascii_case(&schema.core.id))
    {
        return None;
    }
    let (p1, p2) = (D::placeholder(1), D::placeholder(2));
    let sql = if r.attribute.name.eq_ignore_ascii_case("members") {
        let id = bind::<D>(params, D::key(id.clone()));
        format!(
            "SELECT m.group_seq AS seq FROM members m JOIN resources g ON g.seq = m.group_seq \
             WHERE m.tenant = {p1} AND m.member_id = {id} AND g.tenant = {p1} AND g.rtype = {p2}"
        )
    } else if r.attribute.name.eq_ignore_ascii_case("groups") {
        let id = bind::<D>(params, D::key(id.clone()));
        format!(
            "SELECT u.seq AS seq FROM resources u WHERE u.tenant = {p1} AND u.rtype = {p2} AND \
             u.id IN (SELECT m.member_id FROM members m JOIN resources g ON g.seq = \
             m.group_seq WHERE m.tenant = {p1} AND g.tenant = {p1} AND g.id = {id})"
        )
    } else {
        return None;
    };
    Some(Node::Set { sql })
}

fn node<D: Dialect>(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    keys_of: PathKeys<'_>,
    filter: &Filter,
    level: Level<'_>,
    params: &mut Vec<D::Param>,
    probing: &mut Option<Vec<Probe>>,
) -> Option<Node> {
    if let Level::Resource = level {
        if let Some(n) = membership::<D>(schema, filter, params) {
            return Some(n);
        }
        // Decided before any side binds a parameter: a side left out binds none.
        if let Some(holds) = constant(schema, filter) {
            return Some(Node::Const(holds?));
        }
        if let Some(id) = on_id::<D>(schema, filter, params) {
            return id;
        }
    }
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            // A constant side (`true` under `and`, `false` under `or`; the other constant
            // decided the whole above) leaves the other side alone.
            if let Level::Resource = level {
                if constant(schema, a).is_some() {
                    return node::<D>(schema, paths, keys_of, b, level, params, probing);
                }
                if constant(schema, b).is_some() {
                    return node::<D>(schema, paths, keys_of, a, level, params, probing);
                }
            }
            let a = Box::new(node::<D>(
                schema, paths, keys_of, a, level, params, probing,
            )?);
            let b = Box::new(node::<D>(
                schema, paths, keys_of, b, level, params, probing,
            )?);
            Some(match filter {
                Filter::And(..) => Node::And(a, b),
                _ => Node::Or(a, b),
            })
        }
        // `not` needs every resource of the scope; inside brackets, every element (left to
        // the planner).
        Filter::Not(inner) => match level {
            Level::Resource => Some(Node::Not(Box::new(node::<D>(
                schema, paths, keys_of, inner, level, params, probing,
            )?))),
            Level::Element(_) => None,
        },
        Filter::Present(path) => {
            let (keys, single) = match leaf_keys(schema, paths, path, level, false) {
                Some((keys, ip)) => {
                    let single = single_row(level, &keys, ip);
                    (keys, single)
                }
                None => (complex_keys(schema, paths, path, level)?, false),
            };
            let keys = bind_keys::<D>(keys_of, keys, params);
            Some(Node::Leaf {
                keys,
                cond: D::PRESENT.to_string(),
                scans: false,
                narrows: false,
                single,
                given: None,
            })
        }
        Filter::Compare {
            path,
            op,
            value: CompValue::Null,
        } => {
            // `eq null` is "not present", `ne null` is "present" (as the evaluator reads it).
            let present = Filter::Present(path.clone());
            match op {
                CompareOp::Eq => node::<D>(
                    schema,
                    paths,
                    keys_of,
                    &present.not(),
                    level,
                    params,
                    probing,
                ),
                CompareOp::Ne => {
                    node::<D>(schema, paths, keys_of, &present, level, params, probing)
                }
                _ => None,
            }
        }
        Filter::Compare { path, op, value } => {
            let (keys, ip) = leaf_keys(schema, paths, path, level, true)?;
            let single = single_row(level, &keys, ip);
            // The raw keys, for a probing walk's probes only.
            let raw_keys = probing.is_some().then(|| keys.clone());
            let keys = bind_keys::<D>(keys_of, keys, params);
            let (cond, narrows) = condition::<D>(ip.kind, *op, value, params)?;
            let full = match level {
                Level::Resource => path.clone(),
                Level::Element(parent) => AttrPath::with_sub(parent.to_string(), path.name.clone()),
            };
            let enumerated = schema
                .resolve(&full)
                .is_some_and(|r| !r.target().canonical_values.is_empty());
            if *op == CompareOp::Ne {
                // Some value is not equal, or there is no value at all (the evaluator's `ne`).
                return match level {
                    Level::Resource => Some(Node::Ne { keys, cond }),
                    Level::Element(_) => None,
                };
            }
            let scans = matches!(op, CompareOp::Co | CompareOp::Ew);
            // One candidate table per key: each candidate is searched under the key it
            // was found under only.
            let given = match (probing.as_mut(), raw_keys, ip.kind, value) {
                (Some(p), Some(raw_keys), Kind::Str { case_exact }, CompValue::String(s))
                    if scans =>
                {
                    let operand = normalise(s, case_exact);
                    let mut tables = Vec::with_capacity(keys.len());
                    for (key, placeholder) in raw_keys.into_iter().zip(&keys) {
                        params.push(D::value(String::new()));
                        p.push(Probe {
                            key,
                            op: *op,
                            operand: operand.clone(),
                            param: params.len() - 1,
                        });
                        tables.push((placeholder.clone(), D::placeholder(params.len() + 2)));
                    }
                    Some(tables)
                }
                _ => None,
            };
            Some(Node::Leaf {
                keys,
                cond,
                scans: scans && given.is_none(),
                narrows: (narrows && !enumerated) || given.is_some(),
                single,
                given,
            })
        }
        Filter::ValuePath { path, filter } => {
            let Level::Resource = level else {
                return None;
            };
            if path.sub_attr.is_some() || schema.extension_for_path(path).is_some() {
                return None;
            }
            let r = schema.resolve(path)?;
            if r.in_extension || r.sub_attribute.is_some() || !r.attribute.is_complex() {
                return None;
            }
            let inner = node::<D>(
                schema,
                paths,
                keys_of,
                filter,
                Level::Element(&r.attribute.name),
                params,
                probing,
            )?;
            Some(Node::ValuePath(Box::new(inner)))
        }
    }
}

/// A comparison or `pr` on `id` (see [`id_path`]) as a condition on the column `id`
/// (`Some(None)` when the SQL cannot give the evaluator's answer: another operand than a
/// string, an empty `co` / `ew` operand); `None` for any other filter. Every resource has an `id` (RFC 7643 §3.1: "Each representation of the
/// resource MUST include a non-empty "id" value"), so `ne` is "not equal" and `pr` holds
/// for a non-empty one. The operand is bound as a key (text), compared in byte order.
fn on_id<D: Dialect>(
    schema: &ResourceSchema,
    filter: &Filter,
    params: &mut Vec<D::Param>,
) -> Option<Option<Node>> {
    let (path, op, value) = match filter {
        Filter::Present(path) => (path, None, None),
        Filter::Compare { path, op, value } => (path, Some(*op), Some(value)),
        _ => return None,
    };
    if !id_path(schema, path) {
        return None;
    }
    let node = |cond: String, scans: bool, narrows: bool| Node::Id {
        cond,
        scans,
        narrows,
    };
    let (op, operand) = match (op, value) {
        (None, _) => return Some(Some(node("id > ''".to_string(), false, false))),
        (Some(op), Some(CompValue::String(s))) => (op, s.clone()),
        // `eq null` / `ne null`: "not present" / "present", below.
        (Some(_), Some(CompValue::Null)) => return None,
        _ => return Some(None),
    };
    let empty = operand.is_empty();
    let upper = prefix_upper_bound(&operand);
    let p = bind::<D>(params, D::key(operand));
    Some(Some(match op {
        CompareOp::Eq => node(format!("id = {p}"), false, true),
        CompareOp::Ne => node(format!("id <> {p}"), true, false),
        CompareOp::Gt => node(format!("id > {p}"), false, false),
        CompareOp::Ge => node(format!("id >= {p}"), false, false),
        CompareOp::Lt => node(format!("id < {p}"), false, false),
        CompareOp::Le => node(format!("id <= {p}"), false, false),
        CompareOp::Sw => match upper {
            Some(hi) => node(
                format!("id >= {p} AND id < {}", bind::<D>(params, D::key(hi))),
                false,
                !empty,
            ),
            None => node(format!("id >= {p}"), false, false),
        },
        CompareOp::Co | CompareOp::Ew if empty => return Some(None),
        CompareOp::Co => node(D::id_contains(&p), true, false),
        CompareOp::Ew => node(D::id_ends_with(&p), true, false),
    }))
}

/// Whether a filter at the resource level holds for every resource of the type or for
/// none, whatever they hold: a comparison or `pr` on `meta.resourceType` (see
/// [`resource_type_path`]), and `and` / `or` / `not` over such filters as far as they
/// decide (`false and x`, `true or x`). `Some(None)` when the evaluator refuses such a
/// comparison; `None` when the resources decide.
fn constant(schema: &ResourceSchema, filter: &Filter) -> Option<Option<bool>> {
    match filter {
        Filter::Present(_) | Filter::Compare { .. } => on_resource_type(schema, filter),
        Filter::Not(inner) => constant(schema, inner).map(|holds| holds.map(|h| !h)),
        Filter::And(a, b) | Filter::Or(a, b) => {
            // `false` decides an `and` alone, `true` an `or`.
            let absorbing = matches!(filter, Filter::Or(..));
            match (constant(schema, a), constant(schema, b)) {
                (Some(None), _) | (_, Some(None)) => Some(None),
                (x, y) if x == Some(Some(absorbing)) || y == Some(Some(absorbing)) => {
                    Some(Some(absorbing))
                }
                (Some(Some(_)), Some(Some(_))) => Some(Some(!absorbing)),
                _ => None,
            }
        }
        Filter::ValuePath { .. } => None,
    }
}

/// For a comparison or `pr` on `meta.resourceType` (see [`resource_type_path`]): whether it
/// holds for the resources of this type, as scim-core's evaluator answers it on a resource
/// whose `meta.resourceType` is the type's name (`Some(None)` when the evaluator refuses
/// the filter); `None` for any other filter.
fn on_resource_type(schema: &ResourceSchema, filter: &Filter) -> Option<Option<bool>> {
    let path = match filter {
        Filter::Present(path) | Filter::Compare { path, .. } => path,
        _ => return None,
    };
    if !resource_type_path(schema, path) {
        return None;
    }
    let resource = scim_core::Resource::from_value(serde_json::json!({
        "schemas": [schema.core.id],
        "meta": {"resourceType": schema.name()},
    }));
    Some(
        resource
            .ok()
            .and_then(|r| Some(filter.compile(schema).ok()?.matches(&r))),
    )
}

/// Whether a leaf reading `keys` at `level` has at most one `attr_index` row per resource:
/// one key, at the resource level, of an attribute that is not multi-valued (nor a
/// sub-attribute of a multi-valued one).
fn single_row(level: Level<'_>, keys: &[String], ip: &IndexedPath) -> bool {
    matches!(level, Level::Resource) && keys.len() == 1 && !ip.multi_valued
}

/// The keys of every indexed sub-attribute (and of the primitive elements) of the complex
/// attribute `path` names without a sub-attribute: `name pr`, `emails pr` (RFC 7644
/// §3.4.2.2: "a non-empty node for complex attributes"), present when one of them is.
fn complex_keys(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    path: &AttrPath,
    level: Level<'_>,
) -> Option<Vec<String>> {
    let Level::Resource = level else {
        return None;
    };
    let r = schema.resolve(path)?;
    if r.sub_attribute.is_some() || !r.attribute.is_complex() {
        return None;
    }
    let ext = r.in_extension.then_some(r.schema_urn);
    let mut keys: Vec<String> = Vec::new();
    for p in paths
        .iter()
        .filter(|p| p.name == r.attribute.name && p.sub.is_some() && p.ext.as_deref() == ext)
    {
        for k in std::iter::once(&p.key).chain(p.element_key.as_ref()) {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    (!keys.is_empty()).then_some(keys)
}

/// Binds the keys of the paths `keys` ([`PathKeys::of`]); their placeholders.
fn bind_keys<D: Dialect>(
    keys_of: PathKeys<'_>,
    keys: Vec<String>,
    params: &mut Vec<D::Param>,
) -> Vec<String> {
    keys.into_iter()
        .map(|k| bind::<D>(params, D::path_key(keys_of.of(&k))))
        .collect()
}

#[cfg(test)]
mod tests;
