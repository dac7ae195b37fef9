//! The translation of filters over the indexed paths ([`super::index`]) into SQL over
//! `attr_index`, shared by the SQL backends; a [`Dialect`] renders what differs between
//! them (placeholders, parameter types, set operations, the "present" condition).
//!
//! A filter is pushed down only when the SQL gives exactly the answer of scim-core's
//! evaluator (`Filter::compile` + `CompiledFilter::matches`). Supported: `eq`, `sw`, `gt`,
//! `ge`, `lt`, `le` with a string operand and `pr` on an indexed path, and `and` / `or` of
//! supported filters. Values are compared as UTF-8 bytes (SQLite's BINARY collation on
//! `TEXT`, PostgreSQL's `BYTEA`), and UTF-8 byte order is code-point order, the order the
//! evaluator uses for strings, so ranges are exact. Everything else (`ne`, `co`, `ew`, `not`,
//! value paths, other attributes) is left to the planner. Both dialects accept exactly the
//! same filters: the walk below is the only place that decides.

use scim_core::AttrPath;
use scim_core::Filter;
use scim_core::filter::{CompValue, CompareOp};
use scim_core::schema::ResourceSchema;

use super::index::{IndexedPath, key_of, normalise};

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
    /// An indexed path key (`attr_index.path`) as a parameter.
    fn key(key: String) -> Self::Param;
    /// A normalised value (`attr_index.value_norm`) as a parameter.
    fn value(value: String) -> Self::Param;
    /// The `seq`s in both sets (`and`).
    fn intersect(a: &str, b: &str) -> String;
    /// The `seq`s in either set (`or`).
    fn union(a: &str, b: &str) -> String;
    /// The condition on `value_norm` of a row that makes the attribute present
    /// (RFC 7644 §3.4.2.2 `pr`): a present non-string value (NULL) or a non-empty string.
    const PRESENT: &'static str;
}

/// A filter translated to SQL: `sql` is a SELECT yielding the `seq`s of matching resources
/// of the scope; parameter 1 is the tenant and 2 the resource type; `params` bind 3, 4, ...
/// in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetSql<P> {
    /// The SELECT statement.
    pub sql: String,
    /// The parameters from 3 on.
    pub params: Vec<P>,
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

/// Translates `filter` to SQL over `attr_index`, or `None` when it cannot be evaluated
/// exactly there.
pub(crate) fn translate<D: Dialect>(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    filter: &Filter,
) -> Option<SetSql<D::Param>> {
    let mut params = Vec::new();
    let sql = node::<D>(schema, paths, filter, &mut params)?;
    Some(SetSql { sql, params })
}

/// [`crate::storage::Storage::can_filter`] of a SQL backend: the filter compiles (one that
/// does not is left to the planner, which reports the error) and translates.
pub(crate) fn can_filter<D: Dialect>(schema: &ResourceSchema, filter: &Filter) -> bool {
    filter.compile(schema).is_ok()
        && translate::<D>(schema, &super::index::indexed_paths(schema), filter).is_some()
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

fn node<D: Dialect>(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    filter: &Filter,
    params: &mut Vec<D::Param>,
) -> Option<String> {
    let head = |params: &mut Vec<D::Param>, ip: &IndexedPath| {
        let p = bind::<D>(params, D::key(ip.key.clone()));
        format!(
            "SELECT seq FROM attr_index WHERE tenant = {} AND rtype = {} AND path = {p} AND ",
            D::placeholder(1),
            D::placeholder(2)
        )
    };
    match filter {
        Filter::And(a, b) => {
            let a = node::<D>(schema, paths, a, params)?;
            let b = node::<D>(schema, paths, b, params)?;
            Some(D::intersect(&a, &b))
        }
        Filter::Or(a, b) => {
            let a = node::<D>(schema, paths, a, params)?;
            let b = node::<D>(schema, paths, b, params)?;
            Some(D::union(&a, &b))
        }
        Filter::Present(path) => {
            let ip = lookup(schema, paths, path)?;
            Some(format!("{}{}", head(params, ip), D::PRESENT))
        }
        Filter::Compare {
            path,
            op,
            value: CompValue::String(s),
        } => {
            let ip = lookup(schema, paths, path)?;
            let operand = normalise(s, ip.case_exact);
            let head = head(params, ip);
            let mut value = |v: String| bind::<D>(params, D::value(v));
            let cond = match op {
                CompareOp::Eq => format!("value_norm = {}", value(operand)),
                CompareOp::Gt => format!("value_norm > {}", value(operand)),
                CompareOp::Ge => format!("value_norm >= {}", value(operand)),
                CompareOp::Lt => format!("value_norm < {}", value(operand)),
                CompareOp::Le => format!("value_norm <= {}", value(operand)),
                CompareOp::Sw => {
                    let upper = prefix_upper_bound(&operand);
                    let lo = value(operand);
                    match upper {
                        Some(hi) => format!("value_norm >= {lo} AND value_norm < {}", value(hi)),
                        None => format!("value_norm >= {lo}"),
                    }
                }
                CompareOp::Ne | CompareOp::Co | CompareOp::Ew => return None,
            };
            Some(format!("{head}{cond}"))
        }
        Filter::Compare { .. } | Filter::ValuePath { .. } | Filter::Not(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sql::index::indexed_paths;
    use scim_core::builtin::user_resource_schema;

    /// A dialect for tests: `:n` placeholders, `&` / `|` set operations.
    struct Test;

    impl Dialect for Test {
        const NAME: &'static str = "test";
        type Param = String;
        fn placeholder(n: usize) -> String {
            format!(":{n}")
        }
        fn key(key: String) -> String {
            format!("k:{key}")
        }
        fn value(value: String) -> String {
            format!("v:{value}")
        }
        fn intersect(a: &str, b: &str) -> String {
            format!("({a}) & ({b})")
        }
        fn union(a: &str, b: &str) -> String {
            format!("({a}) | ({b})")
        }
        const PRESENT: &'static str = "PRESENT";
    }

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_upper_bound("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }

    #[test]
    fn translation_is_conservative() {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        let ok = |f: &str| {
            let f = f.parse::<Filter>().unwrap();
            let translated = translate::<Test>(&schema, &paths, &f).is_some();
            assert_eq!(translated, can_filter::<Test>(&schema, &f));
            translated
        };
        assert!(ok(r#"userName eq "bjensen""#));
        assert!(ok(
            r#"userName sw "bj" and (externalId eq "x" or emails.value pr)"#
        ));
        assert!(ok(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName gt "a""#
        ));
        assert!(!ok(r#"userName co "bj""#));
        assert!(!ok(r#"userName ne "bj""#));
        assert!(!ok(r#"not (userName eq "bj")"#));
        assert!(!ok(r#"emails eq "bj""#));
        assert!(!ok(r#"emails[value eq "bj"]"#));
        assert!(!ok(r#"title eq "bj""#));
        assert!(!ok("userName eq null"));
        assert!(!ok(r#"userName eq "a" and title eq "b""#));
        assert!(!ok(r#"password eq "a""#));
    }

    #[test]
    fn parameters_are_numbered_in_order_after_tenant_and_type() {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        let f: Filter = r#"userName sw "BJ" and (externalId eq "X" or emails.value pr)"#
            .parse()
            .unwrap();
        let set = translate::<Test>(&schema, &paths, &f).unwrap();
        let head = |p: usize| {
            format!(
                "SELECT seq FROM attr_index WHERE tenant = :1 AND rtype = :2 AND path = :{p} AND "
            )
        };
        assert_eq!(
            set.sql,
            format!(
                "({}value_norm >= :4 AND value_norm < :5) & (({}value_norm = :7) | ({}PRESENT))",
                head(3),
                head(6),
                head(8)
            )
        );
        assert_eq!(
            set.params,
            [
                "k:username",
                "v:bj",
                "v:bk",
                "k:externalid",
                "v:X",
                "k:emails.value"
            ]
        );
    }
}
