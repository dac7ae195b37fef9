//! The rendering of a translated filter ([`Node`], built by the walk in the parent module) as
//! SQL: a set of matching `seq`s ([`set`]), or a condition on one candidate ([`check`]). The
//! module documentation of the parent says what each form costs.

use super::{Dialect, Level};

/// A translated filter node, before it is rendered: leaves hold their SQL conditions (with
/// the parameters already bound), so that a node can be rendered as a set (a SELECT of the
/// matching `seq`s, or `(seq, elem)` pairs inside a value path) or as a condition on one
/// candidate (correlated).
pub(super) enum Node {
    /// A comparison or `pr` on one indexed path.
    Leaf {
        /// The placeholders of the path keys (`attr_index.path_key`) the leaf reads.
        keys: Vec<String>,
        /// The condition on `value_norm` / `value_num`.
        cond: String,
        /// `co` / `ew`: the condition cannot use the order of `value_norm`.
        scans: bool,
        /// `eq` / `sw` on an attribute without `canonicalValues`: expected to select few
        /// rows (see [`Node::narrows`]).
        narrows: bool,
        /// One key of a single-valued attribute at the resource level: at most one row per
        /// resource ([`SetSql::distinct`](super::SetSql::distinct)).
        single: bool,
        /// A `co` / `ew` leaf of a [`translate_probing`](super::translate_probing)
        /// translation: per key (its placeholder), the placeholder of the candidate `seq`s
        /// (read by [`Dialect::candidates`]: a superset of its matches under that key, from
        /// the scope), so its set is the candidates' rows under their key that satisfy
        /// `cond`.
        given: Option<Vec<(String, String)>>,
    },
    /// `ne` at the resource level: a row whose value satisfies `cond` (not equal), or no
    /// row at all under `keys`.
    Ne {
        /// The placeholders of the path keys (`attr_index.path_key`).
        keys: Vec<String>,
        /// The "not equal" condition on a row.
        cond: String,
    },
    /// `not` at the resource level: every resource of the scope except the inner set.
    Not(Box<Node>),
    /// A set given as SQL (the membership lookups), at the resource level.
    Set {
        /// A SELECT of the `seq`s, parameters bound.
        sql: String,
    },
    /// `and`.
    And(Box<Node>, Box<Node>),
    /// `or`.
    Or(Box<Node>, Box<Node>),
    /// A value path; the node is at the element level.
    ValuePath(Box<Node>),
    /// A comparison or `pr` on `id`, a condition on the column `id` of `resources` (at the
    /// resource level).
    Id {
        /// The condition on `id`.
        cond: String,
        /// `ne`, `co`, `ew`: the condition cannot use the order of `id`.
        scans: bool,
        /// `eq`, `sw` with an operand: expected to select few resources.
        narrows: bool,
    },
    /// A filter that holds for every resource of the scope or for none (a comparison on
    /// `meta.resourceType`, the resource type's name), at the resource level. The walk
    /// folds it into the `and` / `or` / `not` around it, so it stands alone only as the
    /// whole filter.
    Const(bool),
}

impl Node {
    /// Does the node read every index row of some path (a `co` / `ew` leaf, `ne`, `not`),
    /// rather than only ranges of the covering index (see "# Cost" in the module docs)?
    fn scans(&self) -> bool {
        match self {
            Node::Leaf { scans, .. } | Node::Id { scans, .. } => *scans,
            Node::Ne { .. } | Node::Not(_) => true,
            Node::Set { .. } | Node::Const(_) => false,
            Node::And(a, b) | Node::Or(a, b) => a.scans() || b.scans(),
            Node::ValuePath(inner) => inner.scans(),
        }
    }

    /// Is the node expected to select few resources (elements), so that checking a
    /// scanning conjunct per candidate beats reading every row of its path? True for `eq` and
    /// `sw` on a string attribute without `canonicalValues` (`userName eq "x"`,
    /// `emails[value sw "bj"]`), `eq` on a number or dateTime, a membership lookup, for an
    /// `and` with such a side, an `or` of two such sides, and a value path over such a
    /// filter. Not for `pr`, booleans, `gt` / `ge` / `lt` / `le` (open ranges), nor for a
    /// comparison on an attribute with `canonicalValues` (RFC 7643 §2.4: a small set of
    /// values, like `emails.type`'s "work", "home", "other" in §8.7.1, each typically held by
    /// a large share of the resources): then the candidates would be about as many as the
    /// rows of the scanning path, and one probe per candidate costs more than one pass.
    fn narrows(&self) -> bool {
        match self {
            Node::Leaf { narrows, .. } | Node::Id { narrows, .. } => *narrows,
            Node::Set { .. } | Node::Const(false) => true,
            Node::Ne { .. } | Node::Not(_) | Node::Const(true) => false,
            Node::And(a, b) => a.narrows() || b.narrows(),
            Node::Or(a, b) => a.narrows() && b.narrows(),
            Node::ValuePath(inner) => inner.narrows(),
        }
    }

    /// The conjuncts of nested `and`s, left to right.
    fn conjuncts<'n>(&'n self, out: &mut Vec<&'n Node>) {
        match self {
            Node::And(a, b) => {
                a.conjuncts(out);
                b.conjuncts(out);
            }
            other => out.push(other),
        }
    }

    /// The disjuncts of nested `or`s, left to right.
    fn disjuncts<'n>(&'n self, out: &mut Vec<&'n Node>) {
        match self {
            Node::Or(a, b) => {
                a.disjuncts(out);
                b.disjuncts(out);
            }
            other => out.push(other),
        }
    }

    /// The placeholders of every path key the leaves below read.
    fn keys<'n>(&'n self, out: &mut Vec<&'n str>) {
        match self {
            Node::Leaf { keys, .. } | Node::Ne { keys, .. } => {
                out.extend(keys.iter().map(String::as_str));
            }
            Node::And(a, b) | Node::Or(a, b) => {
                a.keys(out);
                b.keys(out);
            }
            Node::ValuePath(inner) | Node::Not(inner) => inner.keys(out),
            Node::Set { .. } | Node::Const(_) | Node::Id { .. } => {}
        }
    }
}

/// The condition on `path` (of the table `alias`, if any) of a leaf reading `keys`.
fn path_cond(alias: &str, keys: &[String]) -> String {
    match keys {
        [one] => format!("{alias}path_key = {one}"),
        many => format!("{alias}path_key IN ({})", many.join(", ")),
    }
}

/// Every resource of the scope (parameters 1 and 2).
fn scope_set<D: Dialect>() -> String {
    format!(
        "SELECT seq FROM resources WHERE tenant = {} AND rtype = {}",
        D::placeholder(1),
        D::placeholder(2)
    )
}

/// The node as a SELECT of the matching `seq`s (`seq, elem` at the element level) of the
/// scope (parameters 1 and 2).
///
/// An `and` whose conjuncts (nested `and`s flattened) include both range scans and `co` /
/// `ew` scans is driven from the range scans when one of them [narrows](Node::narrows) the
/// candidates, else from the scans (where the dialect lets them, [`Dialect::SCANS_DRIVE`]):
/// the intersection of the driving conjuncts gives the candidates, and the others are
/// checked per candidate ([`check`]), reading only the index rows of that resource (by
/// `seq`). Conjuncts all of one kind are intersected.
pub(super) fn set<D: Dialect>(node: &Node, level: Level<'_>) -> String {
    let cols = level.cols();
    let rows = |keys: &[String], cond: Option<&str>| {
        let cond = cond.map_or(String::new(), |c| format!(" AND {c}"));
        format!(
            "SELECT {cols} FROM attr_index WHERE tenant = {} AND rtype = {} AND {}{cond}",
            D::placeholder(1),
            D::placeholder(2),
            path_cond("", keys)
        )
    };
    match node {
        // The candidates drive (SQLite's CROSS JOIN keeps them the outer loop): a search
        // of the rows of each, by the key `(seq, path_key, ...)`.
        Node::Leaf {
            cond,
            given: Some(given),
            ..
        } => {
            let cols = match level {
                Level::Resource => "a.seq AS seq",
                Level::Element(_) => "a.seq AS seq, a.elem AS elem",
            };
            let parts: Vec<String> = given
                .iter()
                .map(|(key, cands)| {
                    format!(
                        "SELECT {cols} FROM {} {} attr_index AS a \
                         ON a.seq = g.value WHERE a.path_key = {key} AND {cond}",
                        D::candidates(cands, "g"),
                        D::CANDIDATES_JOIN,
                    )
                })
                .collect();
            // The keys' rows are distinct rows: no duplicates to remove.
            parts.join(" UNION ALL ")
        }
        Node::Leaf { keys, cond, .. } => rows(keys, Some(cond)),
        Node::Ne { keys, cond } => D::union(
            cols,
            &[
                rows(keys, Some(cond)),
                D::except(cols, &scope_set::<D>(), &rows(keys, None)),
            ],
        ),
        Node::Not(inner) => D::except(cols, &scope_set::<D>(), &set::<D>(inner, level)),
        Node::Set { sql } => sql.clone(),
        Node::Id { cond, .. } => format!("{} AND {cond}", scope_set::<D>()),
        Node::Const(true) => scope_set::<D>(),
        Node::Const(false) => format!("{} AND 1 = 0", scope_set::<D>()),
        Node::And(..) => {
            let mut all = Vec::new();
            node.conjuncts(&mut all);
            let (scanning, cheap): (Vec<&Node>, Vec<&Node>) =
                all.into_iter().partition(|n| n.scans());
            let intersect = |parts: &[&Node]| match parts {
                [one] => set::<D>(one, level),
                many => {
                    let sets: Vec<String> = many.iter().map(|n| set::<D>(n, level)).collect();
                    D::intersect(cols, &sets)
                }
            };
            // Leaves with given candidates are the fewest rows: they drive, and every
            // other conjunct is checked per candidate.
            let (given, others): (Vec<&Node>, Vec<&Node>) = cheap
                .iter()
                .chain(&scanning)
                .partition(|n| matches!(n, Node::Leaf { given: Some(_), .. }));
            let narrowed = cheap.iter().any(|n| n.narrows());
            let (drive, checked) = if !given.is_empty() && !others.is_empty() {
                (given, others)
            } else if scanning.is_empty() || cheap.is_empty() || !(narrowed || D::SCANS_DRIVE) {
                let mut both = cheap;
                both.extend(scanning);
                return intersect(&both);
            } else if narrowed {
                // Driven from the conjuncts that narrow: the range scans when one does, else
                // the scans (a substring is rarer than a canonical value or `pr`).
                (cheap, scanning)
            } else {
                (scanning, cheap)
            };
            let on = match level {
                Level::Resource => Cand::Resource("c.seq"),
                Level::Element(_) => Cand::Element("c.seq", "c.elem"),
            };
            let checks: Vec<String> = checked.iter().map(|n| check::<D>(n, on)).collect();
            format!(
                "SELECT {cols} FROM ({}) AS c WHERE {}",
                intersect(&drive),
                checks.join(" AND ")
            )
        }
        Node::Or(..) => {
            let mut all = Vec::new();
            node.disjuncts(&mut all);
            let sets: Vec<String> = all.iter().map(|n| set::<D>(n, level)).collect();
            D::union(cols, &sets)
        }
        Node::ValuePath(inner) => format!(
            "SELECT seq FROM ({}) AS vp",
            set::<D>(inner, Level::Element(""))
        ),
    }
}

/// The candidate a correlated condition is about: the resource (`seq`), or inside a value
/// path one of its elements (`seq`, `elem`), as SQL expressions of the enclosing query.
#[derive(Clone, Copy)]
enum Cand<'a> {
    Resource(&'a str),
    Element(&'a str, &'a str),
}

/// The node as a condition on one candidate: true exactly when the candidate is in
/// [`set`]`(node)`. Each leaf is an `EXISTS` over the index rows of the candidate's `seq`
/// (and `elem`), a search by `(seq, path_key, elem)` (PostgreSQL's `attr_index_seq`, SQLite's
/// primary key). The tenant and
/// the resource type need no test: a `seq` is one resource (the candidates come from the
/// scope). A value path checks, for each element of the resource that has a row under one
/// of its keys, the value filter on that SAME element (a value filter of `and` / `or` of
/// leaves holds on an element only if a leaf does, so the elements without such a row
/// cannot match).
fn check<D: Dialect>(node: &Node, on: Cand<'_>) -> String {
    let at = match on {
        Cand::Resource(seq) => format!("seq = {seq}"),
        Cand::Element(seq, elem) => format!("seq = {seq} AND elem = {elem}"),
    };
    let seq = match on {
        Cand::Resource(seq) | Cand::Element(seq, _) => seq,
    };
    let f = D::PER_CANDIDATE;
    match node {
        // Checked, a leaf with given candidates still reads them (a superset of its
        // matches, so the test is the same), which also uses their parameters.
        Node::Leaf {
            cond,
            given: Some(given),
            ..
        } => {
            let rows = D::checked_rows(None);
            let parts: Vec<String> = given
                .iter()
                .map(|(key, cands)| {
                    format!(
                        "EXISTS (SELECT 1 FROM {rows} WHERE {at} AND path_key = {key} AND \
                         {cond} AND {seq} IN (SELECT value FROM {}){f})",
                        D::candidates(cands, "k")
                    )
                })
                .collect();
            format!("({})", parts.join(" OR "))
        }
        Node::Leaf { keys, cond, .. } => format!(
            "EXISTS (SELECT 1 FROM {} WHERE {at} AND {} AND {cond}{f})",
            D::checked_rows(None),
            path_cond("", keys)
        ),
        Node::Ne { keys, cond } => format!(
            "(EXISTS (SELECT 1 FROM {rows} WHERE {at} AND {p} AND {cond}{f}) OR NOT EXISTS \
             (SELECT 1 FROM {rows} WHERE {at} AND {p}{f}))",
            rows = D::checked_rows(None),
            p = path_cond("", keys)
        ),
        Node::Not(inner) => format!("NOT ({})", check::<D>(inner, on)),
        Node::Set { sql } => format!("{seq} IN ({sql})"),
        Node::Id { cond, .. } => {
            format!("EXISTS (SELECT 1 FROM resources WHERE seq = {seq} AND {cond}{f})")
        }
        Node::Const(true) => "1 = 1".to_string(),
        Node::Const(false) => "1 = 0".to_string(),
        Node::And(a, b) => format!("({} AND {})", check::<D>(a, on), check::<D>(b, on)),
        Node::Or(a, b) => format!("({} OR {})", check::<D>(a, on), check::<D>(b, on)),
        Node::ValuePath(inner) => {
            let mut keys = Vec::new();
            inner.keys(&mut keys);
            keys.dedup();
            let keys: Vec<String> = keys.into_iter().map(str::to_string).collect();
            format!(
                "EXISTS (SELECT 1 FROM {} WHERE x.seq = {seq} AND {} AND {}{f})",
                D::checked_rows(Some("x")),
                path_cond("x.", &keys),
                check::<D>(inner, Cand::Element("x.seq", "x.elem"))
            )
        }
    }
}
